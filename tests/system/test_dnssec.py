# SPDX-License-Identifier: MIT
# DNSSEC ([zone] dnssec = on, docs/dnssec.md): BIND's delv, with the DS that
# `nameplatectl zone ds` prints as its only trust anchor, validates positive answers,
# NXDOMAIN and NODATA (compact denial, RFC 9824) for both algorithms, and a dyndns2 update's
# new answer at once; kdig shows signatures only with DO; a transfer of the zone carries
# every RRSIG (the NSEC3 chain's too), each of which dnspython verifies; private keys are
# sealed in the store.

import os
import signal
import sqlite3
import stat
import subprocess
import time

import dns.dnssec
import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.xfr
import dns.zone
import pytest

from conftest import ZONE, wait_for

HOME = "home." + ZONE
V4 = "192.0.2.77"
V6 = "2001:db8::77"


WILD = "wild." + ZONE


def start_signed(np_factory, alg=13, zone=None, env=None):
    """A signed zone with home (A, AAAA) and the wildcard host wild (A); nameplated runs
    with env as its environment (None: the tests')."""
    n = np_factory()
    z = {"dnssec": "on", "dnssec_algorithm": alg}
    z.update(zone or {})
    n.write_config(zone=z)
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOME, "alice")
    n.ctl("host", "set", HOME, "A", V4)
    n.ctl("host", "set", HOME, "AAAA", V6)
    n.add_host(WILD, "alice", wildcard=True)
    n.ctl("host", "set", WILD, "A", "192.0.2.99")
    n.start(env=env)
    return n


@pytest.fixture
def signed(np_factory):
    return start_signed(np_factory)


def anchor_file(n, tmp_path):
    """delv's trust anchor: the DS records nameplatectl prints for the parent."""
    lines = n.ctl("zone", "ds", ZONE).stdout.strip().splitlines()
    assert lines, "zone ds printed nothing"
    anchors = []
    for ln in lines:
        owner, cls, typ, tag, alg, dtype, digest = ln.split()
        assert (owner, cls, typ, dtype) == (ZONE + ".", "IN", "DS", "2"), ln
        anchors.append('%s static-ds %s %s %s "%s";' % (owner, tag, alg, dtype, digest))
    path = tmp_path / "anchor.conf"
    path.write_text("trust-anchors {\n%s\n};\n" % "\n".join(anchors))
    return str(path)


def delv(n, anchor, name, rdtype):
    r = subprocess.run(["delv", "-a", anchor, "@127.0.0.1", "-p", str(n.dns_port),
                        "+root=" + ZONE, "+nomultiline", name, rdtype],
                       capture_output=True, text=True, timeout=20)
    return r.stdout + r.stderr


def assert_validated(out, negative=False):
    first = out.strip().splitlines()[0] if out.strip() else ""
    want = "; negative response, fully validated" if negative else "; fully validated"
    assert first == want, out


@pytest.mark.parametrize("alg", [13, 15])
def test_delv_validates_answers_and_denials(np_factory, tmp_path, alg):
    n = start_signed(np_factory, alg)
    anchor = anchor_file(n, tmp_path)
    out = delv(n, anchor, HOME, "A")
    assert_validated(out)
    assert V4 in out and "RRSIG\tA %d 3 60" % alg in out, out
    out = delv(n, anchor, HOME, "AAAA")
    assert_validated(out)
    assert V6 in out, out
    # NXDOMAIN and NODATA: both a compact denial, validated.
    out = delv(n, anchor, "nothere." + ZONE, "A")
    assert_validated(out, negative=True)
    out = delv(n, anchor, HOME, "MX")
    assert_validated(out, negative=True)
    # An empty non-terminal and the apex's own records.
    out = delv(n, anchor, "b.a." + ZONE, "A")
    assert_validated(out, negative=True)
    out = delv(n, anchor, ZONE, "SOA")
    assert_validated(out)
    out = delv(n, anchor, ZONE, "CDS")
    assert_validated(out)
    # A wildcard host: its own name, names below it (one and two labels down) and NODATA
    # below it, each proven with the NSEC at "*.wild".
    for name in (WILD, "x." + WILD, "a.b." + WILD):
        out = delv(n, anchor, name, "A")
        assert_validated(out)
        assert "192.0.2.99" in out, out
    out = delv(n, anchor, "x." + WILD, "MX")
    assert_validated(out, negative=True)


def test_update_validates_within_a_second(signed, tmp_path):
    anchor = anchor_file(signed, tmp_path)
    assert_validated(delv(signed, anchor, HOME, "A"))
    st, _, lines = signed.update(HOME, "198.51.100.23", user="alice", secret=signed.secret)
    assert st == 200 and lines == ["good 198.51.100.23"], (st, lines)
    t0 = time.monotonic()
    out = delv(signed, anchor, HOME, "A")
    took = time.monotonic() - t0
    assert_validated(out)
    assert "198.51.100.23" in out, out
    assert took < 1.0, took


def query(n, name, rdtype, do, payload=1232):
    q = dns.message.make_query(name, rdtype, want_dnssec=do, use_edns=0, payload=payload)
    q.flags &= ~0x0100  # no RD
    return dns.query.udp(q, "127.0.0.1", port=n.dns_port, timeout=2)


def nsec_types(rd):
    """The types of an NSEC rdata's bitmap, by name (128: RFC 9824's NXNAME)."""
    out = set()
    for window, bits in rd.windows:
        for i, byte in enumerate(bits):
            for b in range(8):
                if byte & (0x80 >> b):
                    t = window * 256 + i * 8 + b
                    out.add("NXNAME" if t == 128 else dns.rdatatype.to_text(t))
    return out


def test_signatures_only_with_do(signed):
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(signed.dns_port), "+dnssec",
                        "+norec", HOME, "A"], capture_output=True, text=True, timeout=10)
    assert "RRSIG" in r.stdout and V4 in r.stdout, r.stdout
    r = subprocess.run(["kdig", "@127.0.0.1", "-p", str(signed.dns_port), "+norec", HOME,
                        "A"], capture_output=True, text=True, timeout=10)
    assert "RRSIG" not in r.stdout and V4 in r.stdout, r.stdout

    # Without DO: the answers of an unsigned zone (NXDOMAIN, NODATA with the SOA only).
    a = query(signed, "nothere." + ZONE, "A", do=False)
    assert a.rcode() == dns.rcode.NXDOMAIN
    assert [rr.rdtype for rr in a.authority] == [dns.rdatatype.SOA]
    # With DO: RFC 9824 NOERROR, the NSEC at the name with NXNAME, signed, and the SOA's
    # RRSIG.
    a = query(signed, "nothere." + ZONE, "A", do=True)
    assert a.rcode() == dns.rcode.NOERROR
    types = sorted((rr.name.to_text(), rr.rdtype, getattr(rr, "covers", 0)) for rr in a.authority)
    assert (ZONE + ".", dns.rdatatype.SOA, 0) in types
    assert (ZONE + ".", dns.rdatatype.RRSIG, dns.rdatatype.SOA) in types
    assert ("nothere." + ZONE + ".", dns.rdatatype.RRSIG, dns.rdatatype.NSEC) in types
    nsec = a.find_rrset(a.authority, dns.name.from_text("nothere." + ZONE),
                        dns.rdataclass.IN, dns.rdatatype.NSEC)
    assert nsec[0].next == dns.name.from_text("\\000.nothere." + ZONE)
    assert nsec_types(nsec[0]) == {"RRSIG", "NSEC", "NXNAME"}
    # NODATA: the node's real types; no name of the zone other than the one asked.
    a = query(signed, HOME, "TXT", do=True)
    assert a.rcode() == dns.rcode.NOERROR and not a.answer
    nsec = a.find_rrset(a.authority, dns.name.from_text(HOME), dns.rdataclass.IN,
                        dns.rdatatype.NSEC)
    assert nsec_types(nsec[0]) == {"A", "AAAA", "RRSIG", "NSEC"}


def test_signed_answer_too_big_for_udp_is_truncated(signed):
    texts = ["t%02d-%s" % (i, "x" * 40) for i in range(8)]
    signed.ctl("host", "set", HOME, "TXT", *texts)
    # nameplatectl writes the store; the server rebuilds when it notices.
    assert wait_for(lambda: query(signed, HOME, "TXT", do=False, payload=1232).answer, 5)
    plain = query(signed, HOME, "TXT", do=False, payload=512)
    assert not plain.flags & 0x0200 and len(plain.answer[0]) == 8
    big = query(signed, HOME, "TXT", do=True, payload=512)
    assert big.flags & 0x0200, big  # TC: the client retries over TCP
    q = dns.message.make_query(HOME, "TXT", want_dnssec=True)
    full = dns.query.tcp(q, "127.0.0.1", port=signed.dns_port, timeout=3)
    assert any(rr.rdtype == dns.rdatatype.RRSIG for rr in full.answer), full


def test_transfer_carries_every_signature(np_factory):
    n = start_signed(np_factory, zone={"allow_transfer": "127.0.0.1"})
    n.ctl("host", "add", "mail." + ZONE, "--user", "alice")
    n.ctl("host", "set", "mail." + ZONE, "MX", "10 " + HOME)
    assert wait_for(lambda: query(n, "mail." + ZONE, "MX", do=False).answer, 5)
    xfr = dns.query.xfr("127.0.0.1", ZONE + ".", port=n.dns_port, timeout=5, relativize=False)
    z = dns.zone.from_xfr(xfr, relativize=False, check_origin=True)
    origin = dns.name.from_text(ZONE)
    keys = {origin: z.find_rrset(origin, dns.rdatatype.DNSKEY)}
    checked = 0
    for name, node in z.nodes.items():
        sigs = {rds.covers: rds for rds in node.rdatasets if rds.rdtype == dns.rdatatype.RRSIG}
        for rds in node.rdatasets:
            if rds.rdtype == dns.rdatatype.RRSIG:
                continue
            assert rds.rdtype in sigs, "%s %s has no RRSIG" % (name, rds.rdtype)
            rrset = dns.rrset.RRset(name, rds.rdclass, rds.rdtype)
            rrset.update(rds)
            sigset = dns.rrset.RRset(name, rds.rdclass, dns.rdatatype.RRSIG, rds.rdtype)
            sigset.update(sigs[rds.rdtype])
            dns.dnssec.validate(rrset, sigset, keys)  # raises when bogus
            checked += 1
    # SOA, NS, DNSKEY, CDS, CDNSKEY and NSEC3PARAM at the apex, A and AAAA of home, MX of
    # mail, A of wild and at *.wild, and the NSEC3 of the apex, home, mail, wild and *.wild.
    assert checked == 16, checked
    # The NSEC at "*.wild" is the primary's own (its wildcard answers); secondaries deny
    # with the NSEC3 chain and do not get it.
    star = z.find_node(dns.name.from_text("*." + WILD))
    assert star.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC) is None, star


def test_private_keys_sealed(signed):
    path = os.path.join(signed.data_dir, "dnssec-seal.key")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32
    keys = signed.ctl("zone", "keys", ZONE).stdout.splitlines()
    assert keys[0].split() == ["id", "role", "algorithm", "tag", "state", "since", "created"]
    roles = sorted(ln.split()[1] for ln in keys[1:])
    assert roles == ["ksk", "zsk"], keys
    # What the store holds cannot be read without the seal: no PKCS#8 in the clear.
    db = sqlite3.connect(os.path.join(signed.data_dir, "nameplate.db"))
    rows = db.execute("SELECT sealed FROM dnssec_keys").fetchall()
    db.close()
    assert len(rows) == 2
    for (blob,) in rows:
        # nonce (24), MAC (16), then a sealed PKCS#8 DER key: its header never shows.
        assert len(blob) > 40 and b"\x30\x81\x87\x02\x01\x00" not in blob


def test_zone_keys_and_ds_before_the_zone_is_signed(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    r = n.ctl("zone", "ds", ZONE, check=False)
    assert r.returncode != 0 and "no DNSSEC keys yet" in r.stderr, r.stderr
    r = n.ctl("zone", "keys", ZONE)
    assert "dnssec is off" in r.stderr
    ds = n.ctl("zone", "ds", ZONE).stdout.split()
    assert ds[:4] == [ZONE + ".", "IN", "DS", ds[3]] and ds[4:6] == ["13", "2"]
    # Made twice? No: the second run lists the same keys.
    assert n.ctl("zone", "keys", ZONE).stdout == n.ctl("zone", "keys", ZONE).stdout
    r = n.ctl("zone", "keys", "other.example", check=False)
    assert r.returncode != 0 and "no configured zone" in r.stderr


def rrsig_times(n, name, rdtype):
    a = query(n, name, rdtype, do=True)
    sigs = [rr for rr in a.answer if rr.rdtype == dns.rdatatype.RRSIG]
    assert sigs, a
    return sigs[0][0].inception, sigs[0][0].expiration


def test_start_signs_anew(signed):
    """A stop never leaves old signatures served: every start signs the zone again."""
    before = rrsig_times(signed, HOME, "A")
    serial_before = signed.serial()
    now = time.time()
    assert before[0] <= now - 3000 and before[1] >= now + 13 * 86400, before
    time.sleep(1.1)
    signed.restart()
    serial_after = signed.serial()
    after = rrsig_times(signed, HOME, "A")
    assert after[0] > before[0] and after[1] > before[1], (before, after)
    # A new serial, so that secondaries fetch the new signatures.
    assert serial_after > serial_before, (serial_before, serial_after)
    # The keys stay: the same DS, the same key tag in the signatures.
    assert query(signed, ZONE, "DNSKEY", do=True).answer


def test_denials_do_not_reveal_other_names(signed):
    """Zone walking: no negative answer names another host of the zone."""
    seen = set()
    for probe in ("a", "hom", "homd", "home-", "homf", "mai", "zzz", "0", "_x", "b.a"):
        for rdtype in ("A", "TXT"):
            a = query(signed, probe + "." + ZONE, rdtype, do=True)
            for rrset in a.authority:
                if rrset.rdtype == dns.rdatatype.NSEC:
                    seen.add(rrset.name.to_text())
                    seen.update(rd.next.to_text() for rd in rrset)
    a = query(signed, HOME, "TXT", do=True)
    assert any(r.rdtype == dns.rdatatype.NSEC for r in a.authority)
    assert seen, "no NSEC seen"
    # Every name an NSEC held is a name asked for, or "\\000." + it: nothing else.
    probes = {p + "." + ZONE + "." for p in
              ("a", "hom", "homd", "home-", "homf", "mai", "zzz", "0", "_x", "b.a")}
    probes |= {"\\000." + p for p in probes}
    assert seen <= probes, sorted(seen - probes)


def zsk_tags(n):
    """The key tags of the ZSKs in DNSKEY, and the one the A RRSIG of home is made with."""
    a = query(n, ZONE, "DNSKEY", do=True)
    keys = {dns.dnssec.key_id(rd) for rr in a.answer if rr.rdtype == dns.rdatatype.DNSKEY
            for rd in rr if rd.flags == 256}
    b = query(n, HOME, "A", do=True)
    signer = [rd.key_tag for rr in b.answer if rr.rdtype == dns.rdatatype.RRSIG for rd in rr]
    return keys, signer[0]


@pytest.mark.solo
def test_zsk_roll_never_bogus(np_factory, tmp_path):
    """A ZSK roll by pre-publication, with TTLs of 1 s and a lifetime of 6 s: the next ZSK
    is published, then signs, then the old one goes; delv validates all along, and every
    signature is made with a key the DNSKEY RRset holds. Only the step that makes another
    ZSK sign signs the zone anew: a host left alone keeps its signature through the
    others."""
    n = start_signed(np_factory, zone={"soa_ttl": 1, "ttl": 1, "negative_ttl": 1,
                                       "dnssec_zsk_lifetime": 6})
    anchor = anchor_file(n, tmp_path)
    first_keys, first_signer = zsk_tags(n)
    assert first_keys == {first_signer}
    seen_keys, seen_signers = set(), set()
    states = set()
    wild_sigs = {}  # key tag -> the signatures of wild's A made with it
    addr = 1
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        keys, signer = zsk_tags(n)
        assert signer in keys, (signer, keys)
        seen_keys |= keys
        seen_signers.add(signer)
        for rr in query(n, WILD, "A", do=True).answer:
            for rd in rr if rr.rdtype == dns.rdatatype.RRSIG else ():
                wild_sigs.setdefault(rd.key_tag, set()).add(rd.signature)
        # Changes go on meanwhile, each answer signed with the key of the moment.
        st, _, lines = n.update(HOME, "198.51.100.%d" % addr, user="alice", secret=n.secret)
        assert st == 200, lines
        out = delv(n, anchor, HOME, "A")
        assert_validated(out)
        assert "198.51.100.%d" % addr in out, out
        assert_validated(delv(n, anchor, "nothere." + ZONE, "A"), negative=True)
        states.add(tuple(sorted(ln.split()[4] for ln in
                                n.ctl("zone", "keys", ZONE).stdout.splitlines()[1:]
                                if ln.split()[1] == "zsk")))
        addr += 1
        if len(seen_signers) >= 2 and keys == {signer} and signer != first_signer:
            break
        time.sleep(0.3)
    # The roll went through: a new key signs, and for a while it stands alone (the next
    # roll pre-publishes another 4 s after it began to sign).
    assert len(seen_signers) >= 2, (seen_signers, states)
    assert signer != first_signer and keys == {signer}, (keys, signer, states)
    # Pre-published, then active beside the retired one.
    assert ("active", "published") in states and ("active", "retired") in states, states
    assert all(len(sigs) == 1 for sigs in wild_sigs.values()), wild_sigs


def test_secondaries_carry_the_signed_zone(np_factory, tmp_path):
    """NSD and Knot as secondaries get the signed zone by AXFR and then IXFR: each serves
    a host's A record with an RRSIG that verifies with the zone's DNSKEY, also after an
    update. (delv against NSD, Knot and BIND: test_dnssec_secondaries.py.)"""
    from test_xfr import Knot, Nsd
    n = start_signed(np_factory, zone={"allow_transfer": "127.0.0.1"})
    secs = [cls(tmp_path / "sec", n.dns_port) for cls in (Nsd, Knot)]
    n.stop()
    with open(n.conf, "a") as f:
        f.write("".join("notify = 127.0.0.1@%d\n" % s.port for s in secs))
    n.start()
    origin = dns.name.from_text(ZONE)
    keys = {origin: query(n, ZONE, "DNSKEY", do=True).find_rrset(
        dns.message.ANSWER, origin, dns.rdataclass.IN, dns.rdatatype.DNSKEY)}
    try:
        for s in secs:
            s.start()
        for ip in (V4, "198.51.100.42"):
            if ip != V4:
                st, _, lines = n.update(HOME, ip, user="alice", secret=n.secret)
                assert lines == ["good " + ip], lines
            serial = n.serial()
            for s in secs:
                assert wait_for(lambda: s.serial() == serial, 15), \
                    "%s did not load serial %d:\n%s" % (s.name, serial, s.log()[-3000:])
                # NSD loads a transfer in a new server process: for a moment after one
                # answers the new serial, the old one may still answer a query. The same
                # answer that carries the new address is the one validated.
                got = {}

                def new_address():
                    q = dns.message.make_query(HOME, "A", want_dnssec=True)
                    try:  # a query lost in the handover, or no A yet: not yet
                        got["a"] = a = dns.query.udp(q, "127.0.0.1", port=s.port, timeout=2)
                        rrset = a.find_rrset(a.answer, dns.name.from_text(HOME),
                                             dns.rdataclass.IN, dns.rdatatype.A)
                    except (dns.exception.Timeout, KeyError):
                        return False
                    return {rd.to_text() for rd in rrset} == {ip}
                assert wait_for(new_address, 5), (s.name, got.get("a"))
                a = got["a"]
                name = dns.name.from_text(HOME)
                rrset = a.find_rrset(a.answer, name, dns.rdataclass.IN, dns.rdatatype.A)
                sigs = a.find_rrset(a.answer, name, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                                    dns.rdatatype.A)
                dns.dnssec.validate(rrset, sigs, keys)  # raises when bogus
    finally:
        for s in secs:
            s.stop()


def test_a_rebuild_keeps_the_signatures_of_what_did_not_change(np_factory):
    """A change by nameplatectl (or a reload) rebuilds the zone: what did not change keeps
    its signatures. With nothing of the zone changed the zone stays as it was, serial and
    all (no transfer for secondaries); one host changed moves the serial once, and an IXFR
    from the old serial holds that host's records and signatures and the apex's (its SOA
    changed), and for a name that joins the chain its NSEC3 and its predecessor's. Never
    two sets of signatures under one serial."""
    n = start_signed(np_factory, zone={"allow_transfer": "127.0.0.1"})
    for i in range(8):  # the difference must be smaller than the zone to be sent as one
        n.ctl("host", "add", "h%d.%s" % (i, ZONE), "--user", "alice")
        n.ctl("host", "set", "h%d.%s" % (i, ZONE), "A", "192.0.2.%d" % (100 + i))

    def axfr():
        xfr = dns.query.xfr("127.0.0.1", ZONE + ".", port=n.dns_port, timeout=5,
                            relativize=False)
        return dns.zone.from_xfr(xfr, relativize=False, check_origin=True)

    def rebuilt(before):
        assert wait_for(lambda: n.stderr().count("loaded 1 zones") > before, 5), n.stderr()

    def ixfr_names(z):
        """Applies an IXFR from z's serial to z, as a secondary does; the names it held."""
        before = n.stderr().count("incremental")
        names = set()
        for m in dns.query.xfr("127.0.0.1", ZONE + ".", port=n.dns_port, timeout=5,
                               rdtype=dns.rdatatype.IXFR, serial=z.get_soa().serial,
                               relativize=False):
            names |= {(r.name.to_text(), r.rdtype, getattr(r, "covers", 0)) for r in m.answer}
        query, _ = dns.xfr.make_query(z)
        dns.query.inbound_xfr("127.0.0.1", z, query=query, port=n.dns_port, timeout=5)
        assert n.stderr().count("incremental") == before + 2, n.stderr()[-2000:]
        return names

    def same(a, b):
        def records(z):
            return {(name, rds.rdtype, rds.covers, rds.ttl, rd.to_text())
                    for name, node in z.nodes.items() for rds in node.rdatasets for rd in rds}
        return records(a) == records(b)

    assert wait_for(lambda: "loaded 1 zones" in n.stderr() and
                    axfr().get_node("h7." + ZONE + ".") is not None, 5)
    z = axfr()
    loads = n.stderr().count("loaded 1 zones")
    signs = n.stderr().count("signed those")
    n.ctl("user", "add", "bob")  # nothing of the zone
    rebuilt(loads)
    assert same(axfr(), z), "the zone changed (re-signed?) without a change"
    n.proc.send_signal(signal.SIGHUP)  # a reload without a change
    rebuilt(loads + 1)
    assert same(axfr(), z), "a reload re-signed the zone"
    assert n.stderr().count("signed those") == signs

    # One host changes: one new serial, an IXFR of that host (A and its RRSIG) and the
    # apex (signed with its new SOA); the chain does not change.
    serial = z.get_soa().serial
    n.ctl("host", "set", HOME, "A", "198.51.100.9")
    assert wait_for(lambda: axfr().get_soa().serial != serial, 5)
    names = ixfr_names(z)
    assert z.get_soa().serial != serial
    apex = ZONE + "."
    assert {x[0] for x in names} == {apex, HOME + "."}, names
    assert {(HOME + ".", dns.rdatatype.A, 0),
            (HOME + ".", dns.rdatatype.RRSIG, dns.rdatatype.A)} <= names, names
    assert not any(x[1] == dns.rdatatype.NSEC3 for x in names), names
    assert same(z, axfr())
    # A new name with an address joins the chain: its NSEC3 and its predecessor's.
    n.ctl("host", "add", "new." + ZONE, "--user", "alice")
    n.ctl("host", "set", "new." + ZONE, "A", "192.0.2.44")
    assert wait_for(lambda: axfr().get_rdataset("new." + apex, "A") is not None, 5)
    names = ixfr_names(z)
    assert ("new." + apex, dns.rdatatype.A, 0) in names
    assert sum(1 for x in names if x[1] == dns.rdatatype.NSEC3) == 2, names
    assert not {x[0] for x in names} & {"h%d.%s" % (i, apex) for i in range(8)}
    assert same(z, axfr())

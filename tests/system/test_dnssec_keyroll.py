# SPDX-License-Identifier: MIT
# DNSSEC key rollovers and edges (docs/dnssec.md): the KSK roll started with
# `nameplatectl zone ksk-roll` and driven by CDS (double-KSK), validated by BIND's delv with
# the old DS, both, and the new DS; the "delete" CDS of `dnssec = retire` (RFC 8078); the
# compact denial of names too long for "\000." + qname (RFC 9824 3.1, RFC 4471 3.1.2); and
# names below a wildcard host whose first label sorts before "*".

import signal
import time

import dns.dnssec
import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import pytest

from conftest import ZONE, wait_for
from test_dnssec import (HOME, WILD, anchor_file, assert_validated, delv, nsec_types, query,
                         start_signed)


def validate_authority(a, keys):
    """Every RRset of the authority section verifies with keys (raises when bogus)."""
    sigs = {(r.name, r.covers): r for r in a.authority if r.rdtype == dns.rdatatype.RRSIG}
    for r in a.authority:
        if r.rdtype != dns.rdatatype.RRSIG:
            dns.dnssec.validate(r, sigs[(r.name, r.rdtype)], keys)


def zone_keys(n):
    origin = dns.name.from_text(ZONE)
    a = query(n, ZONE, "DNSKEY", do=True)
    return {origin: a.find_rrset(a.answer, origin, dns.rdataclass.IN, dns.rdatatype.DNSKEY)}


def long_name(total):
    """A name below ZONE of exactly total octets in wire form."""
    suffix = len(dns.name.from_text(ZONE).to_wire())
    labels, room = [], total - suffix
    while room > 0:
        n = min(63, room - 1)
        if room - (n + 1) == 1:  # a last label of length 0 is not possible: split
            n -= 1
        labels.append("a" * n)
        room -= n + 1
    name = ".".join(reversed(labels)) + "." + ZONE + "."  # the short label first
    assert len(dns.name.from_text(name).to_wire()) == total, name
    return name


@pytest.mark.parametrize("total", [253, 254, 255])
def test_denial_of_longest_names_is_signed(signed, tmp_path, total):
    """RFC 9824 3.1: the next name is the qname's immediate successor. "\\000." + a name
    of 254 or 255 octets is not a name; the successor is then its first label with a 0
    octet appended (254), or with its last octet incremented (255)."""
    name = long_name(total)
    a = query(signed, name, "A", do=True)
    nsec = [r for r in a.authority if r.rdtype == dns.rdatatype.NSEC]
    assert nsec, a
    nxt = nsec[0][0].next
    qn = dns.name.from_text(name)
    assert nsec[0].name == qn and qn < nxt, (qn, nxt)
    assert len(nxt.to_wire()) <= 255
    if total == 253:
        assert nxt == dns.name.from_text("\\000." + name)
    elif total == 254:
        assert nxt.labels[0] == qn.labels[0] + b"\x00"
    else:
        assert nxt.labels[0] == qn.labels[0][:-1] + b"b"
    assert nsec_types(nsec[0][0]) == {"RRSIG", "NSEC", "NXNAME"}
    validate_authority(a, zone_keys(signed))
    out = delv(signed, anchor_file(signed, tmp_path), name, "A")
    assert_validated(out, negative=True)


@pytest.fixture
def signed(np_factory):
    return start_signed(np_factory)


@pytest.mark.parametrize("label", ["!x", "\\001", "\\000", ")", "!\\000", "(b"])
def test_odd_names_below_a_wildcard_validate(signed, tmp_path, label):
    """A name below the wildcard host whose label sorts before "*": the NSEC at "*.wild"
    does not cover it, so an NSEC that covers only that label's subtree comes with it."""
    anchor = anchor_file(signed, tmp_path)
    for name in (label + "." + WILD, "y." + label + "." + WILD):
        out = delv(signed, anchor, name, "A")
        assert_validated(out)
        assert "192.0.2.99" in out, out
        out = delv(signed, anchor, name, "MX")
        assert_validated(out, negative=True)
        # What the cover names: nothing but the subtree of the label asked for.
        a = query(signed, name, "A", do=True)
        covers = [r for r in a.authority if r.rdtype == dns.rdatatype.NSEC
                  and not r.name.labels[0] == b"*"]
        assert len(covers) == 1, a
        nc = dns.name.from_text(label + "." + WILD)
        assert covers[0].name < nc < covers[0][0].next
        assert covers[0][0].next == dns.name.from_text(
            dns.name.from_text(label, None).to_text() + "\\000." + WILD)


def test_names_after_star_need_no_cover(signed):
    a = query(signed, "x." + WILD, "A", do=True)
    assert [r.name.to_text() for r in a.authority if r.rdtype == dns.rdatatype.NSEC] == \
        ["*." + WILD + "."]


# ---- the KSK roll ----

ROLL_ZONE = {"soa_ttl": 1, "ttl": 1, "negative_ttl": 1, "dnssec_zsk_lifetime": 0,
             "dnssec_parent_ds_ttl": 1}


def ksks(n):
    """The KSKs in the DNSKEY RRset by tag, the tags that sign it, and the tag CDS names."""
    a = query(n, ZONE, "DNSKEY", do=True)
    keys = {dns.dnssec.key_id(rd): rd for rr in a.answer if rr.rdtype == dns.rdatatype.DNSKEY
            for rd in rr if rd.flags == 257}
    signers = sorted(rd.key_tag for rr in a.answer if rr.rdtype == dns.rdatatype.RRSIG
                     for rd in rr)
    c = query(n, ZONE, "CDS", do=True)
    cds = [rd.key_tag for rr in c.answer if rr.rdtype == dns.rdatatype.CDS for rd in rr]
    return keys, signers, cds


def ds_anchor(path, dnskeys):
    """A delv trust anchor file with the DS (SHA-256) of each DNSKEY given."""
    lines = []
    for rd in dnskeys:
        ds = dns.dnssec.make_ds(ZONE + ".", rd, "SHA256")
        lines.append('%s. static-ds %d %d %d "%s";' % (ZONE, ds.key_tag, ds.algorithm,
                                                      ds.digest_type, ds.digest.hex().upper()))
    path.write_text("trust-anchors {\n%s\n};\n" % "\n".join(lines))
    return str(path)


def key_states(n):
    out = n.ctl("zone", "keys", ZONE).stdout.splitlines()
    rows = [ln.split() for ln in out[1:] if not ln.startswith("waiting:")]
    return {(r[1], int(r[3])): r[4] for r in rows}, [ln for ln in out if ln.startswith("waiting:")]


def validates_all(n, anchors, addr):
    """A dyndns2 update, then delv with each anchor: the new answer and a denial validate."""
    st, _, lines = n.update(HOME, "198.51.100.%d" % addr, user="alice", secret=n.secret)
    assert st == 200, lines
    for anchor in anchors:
        out = delv(n, anchor, HOME, "A")
        assert_validated(out)
        assert "198.51.100.%d" % addr in out, out
        assert_validated(delv(n, anchor, "nothere." + ZONE, "A"), negative=True)


def test_ksk_roll_end_to_end(np_factory, tmp_path):
    """nameplatectl zone ksk-roll: the new KSK is published and signs DNSKEY beside the old
    one; 2 x the DNSKEY TTL later CDS names it; after --ds-seen it is active and the old one
    goes once the DS TTL has passed twice. delv validates with the old DS before and during,
    with both and with the new one during, and with the new one after; a restart in the
    middle resumes where the roll was."""
    # A DNSKEY TTL of 3 s: the published state lasts 6 s, long enough to look at it even
    # on a loaded machine.
    n = start_signed(np_factory, zone=dict(ROLL_ZONE, soa_ttl=3))
    keys, signers, cds = ksks(n)
    assert len(keys) == 1 and signers == list(keys) and cds == list(keys)
    (old_tag, old_key), = keys.items()
    old = ds_anchor(tmp_path / "old.conf", [old_key])
    addr = 1
    validates_all(n, [old], addr)

    # Nothing to confirm before a roll; then the roll starts.
    r = n.ctl("zone", "ksk-roll", ZONE, "--ds-seen", check=False)
    assert r.returncode != 0 and "no KSK roll waits" in r.stderr, r.stderr
    r = n.ctl("zone", "ksk-roll", ZONE)
    assert "KSK roll started" in r.stdout, r.stdout
    r = n.ctl("zone", "ksk-roll", ZONE, check=False)
    assert r.returncode != 0 and "under way" in r.stderr, r.stderr
    assert wait_for(lambda: len(ksks(n)[0]) == 2, 5)
    keys, signers, cds = ksks(n)
    new_tag = (set(keys) - {old_tag}).pop()
    new = ds_anchor(tmp_path / "new.conf", [keys[new_tag]])
    both = ds_anchor(tmp_path / "both.conf", [old_key, keys[new_tag]])
    # Published: DNSKEY signed by both KSKs, CDS still the old one.
    assert signers == sorted([old_tag, new_tag]) and cds == [old_tag], (signers, cds)
    states, waits = key_states(n)
    assert states[("ksk", new_tag)] == "published", states
    assert any("KSK %d: CDS and CDNSKEY name it from" % new_tag in w for w in waits), waits
    r = n.ctl("zone", "ksk-roll", ZONE, "--ds-seen", check=False)
    assert r.returncode != 0 and "cannot have its DS yet" in r.stderr, r.stderr
    serial = n.serial()

    # A restart in the middle: the roll goes on from the stored state.
    n.restart()
    addr += 1
    validates_all(n, [old, both], addr)
    assert wait_for(lambda: ksks(n)[2] == [new_tag], 20), ksks(n)
    assert n.serial() > serial
    states, waits = key_states(n)
    assert states[("ksk", new_tag)] == "ready" and states[("ksk", old_tag)] == "active"
    assert any("for the parent's DS to name it" in w for w in waits), waits
    # zone ds prints what the parent should have now: the new KSK's DS.
    ds = n.ctl("zone", "ds", ZONE).stdout.split()
    assert int(ds[3]) == new_tag, ds
    # Until the parent changes its DS, every DS set validates: old, both, new.
    addr += 1
    validates_all(n, [old, both, new], addr)
    n.restart()
    assert key_states(n)[0][("ksk", new_tag)] == "ready"
    addr += 1
    validates_all(n, [old, both, new], addr)

    # The parent's DS names the new KSK: it becomes active, the old one retired (still
    # signing DNSKEY), then removed.
    r = n.ctl("zone", "ksk-roll", ZONE, "--ds-seen")
    assert "KSK %d is active" % new_tag in r.stdout, r.stdout
    states, waits = key_states(n)
    assert states[("ksk", new_tag)] == "active" and states[("ksk", old_tag)] == "retired"
    assert any("KSK %d: removed at" % old_tag in w for w in waits), waits
    addr += 1
    validates_all(n, [both, new], addr)
    assert wait_for(lambda: list(ksks(n)[0]) == [new_tag], 20), ksks(n)
    keys, signers, cds = ksks(n)
    assert signers == [new_tag] and cds == [new_tag], (signers, cds)
    assert ("ksk", old_tag) not in key_states(n)[0]
    addr += 1
    validates_all(n, [new, both], addr)
    # The old DS alone no longer leads anywhere.
    out = delv(n, old, HOME, "A")
    assert "fully validated" not in out, out
    # A second roll may start now.
    assert "KSK roll started" in n.ctl("zone", "ksk-roll", ZONE).stdout


@pytest.mark.solo
def test_ksk_roll_never_bogus_during_updates(np_factory, tmp_path):
    """Updates go on through every step of the roll; delv with the DS set the parent has at
    each moment (old, then both, then new) validates every answer."""
    n = start_signed(np_factory, zone=ROLL_ZONE)
    (old_tag, old_key), = ksks(n)[0].items()
    old = ds_anchor(tmp_path / "old.conf", [old_key])
    n.ctl("zone", "ksk-roll", ZONE)
    addr, anchors, phase = 1, [old], "published"
    deadline = time.monotonic() + 40
    seen = set()
    while time.monotonic() < deadline:
        keys, signers, cds = ksks(n)
        # Every DNSKEY RRset is signed by a KSK a DS of the moment names.
        assert set(signers) <= set(keys), (signers, keys)
        states = key_states(n)[0]
        seen.add(tuple(sorted(v for (role, _), v in states.items() if role == "ksk")))
        if phase == "published" and len(cds) == 1 and cds[0] != old_tag:
            new_key = keys[cds[0]]
            anchors = [ds_anchor(tmp_path / "both.conf", [old_key, new_key])]
            phase = "ready"
        elif phase == "ready":
            n.ctl("zone", "ksk-roll", ZONE, "--ds-seen")
            phase = "seen"
        elif phase == "seen" and len(keys) == 1:
            anchors = [ds_anchor(tmp_path / "new.conf", [new_key])]
            phase = "done"
        validates_all(n, anchors, addr)
        addr = addr % 250 + 1
        if phase == "done" and addr > 3:
            break
        time.sleep(0.2)
    assert phase == "done", (phase, seen)
    assert {("active", "published"), ("active", "ready"), ("active", "retired"),
            ("active",)} <= seen, seen


# ---- the "delete" CDS (RFC 8078) ----

def test_retire_publishes_the_delete_cds_signed(np_factory, tmp_path):
    """dnssec = retire: still signed (delv validates with the DS the parent still has), CDS
    and CDNSKEY are "0 0 0 00" and "0 3 0 AA==", signed; zone keys says what comes next;
    dnssec = off then serves the zone unsigned."""
    n = start_signed(np_factory)
    anchor = anchor_file(n, tmp_path)
    serial = n.serial()
    # A reload takes it: the serial moves on, so that secondaries fetch the new CDS.
    n.write_config(zone={"dnssec": "retire"})
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: query(n, ZONE, "CDS", do=False).answer[0][0].algorithm == 0, 5)
    assert n.serial() > serial
    for rdtype, want in (("CDS", "0 0 0 00"), ("CDNSKEY", "0 3 0 AA==")):
        out = delv(n, anchor, ZONE, rdtype)
        assert_validated(out)
        assert "%s\t%s" % (rdtype, want) in out or "%s %s" % (rdtype, want) in out, out
        a = query(n, ZONE, rdtype, do=True)
        rrs = [rr for rr in a.answer if rr.rdtype == dns.rdatatype.from_text(rdtype)]
        assert len(rrs) == 1 and len(rrs[0]) == 1, a
    assert_validated(delv(n, anchor, HOME, "A"))
    assert_validated(delv(n, anchor, "nothere." + ZONE, "A"), negative=True)
    _, waits = key_states(n)
    assert any('"delete"' in w and "dnssec = off" in w for w in waits), waits
    r = n.ctl("zone", "ksk-roll", ZONE, check=False)
    assert r.returncode != 0 and "retire" in r.stderr, r.stderr
    # Back on: CDS names the KSK again.
    n.stop()
    n.write_config(zone={"dnssec": "on"})
    n.start()
    assert ksks(n)[2] == list(ksks(n)[0]), ksks(n)
    # Off: no DNSKEY, no CDS, no signatures.
    n.stop()
    n.write_config(zone={"dnssec": "off"})
    n.start()
    a = query(n, ZONE, "CDS", do=True)
    assert not a.answer, a
    a = query(n, HOME, "A", do=True)
    assert [rr.rdtype for rr in a.answer] == [dns.rdatatype.A], a


class ParentStub:
    """The parent zone's server on loopback, as far as a KSK roll needs it: answers DS
    queries for ZONE, authoritatively, with the DS records set in .ds (rdata texts), and
    counts the queries."""

    def __init__(self):
        import socket
        import threading
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.ds = []
        self.queries = 0
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        import dns.rrset
        while not self.stopping:
            try:
                wire, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            q = dns.message.from_wire(wire)
            self.queries += 1
            r = dns.message.make_response(q)
            r.flags |= dns.flags.AA
            if q.question[0].rdtype == dns.rdatatype.DS and self.ds:
                r.answer.append(dns.rrset.from_text_list(ZONE + ".", 1, "IN", "DS",
                                                         list(self.ds)))
            self.sock.sendto(r.to_wire(), peer)

    def stop(self):
        self.stopping = True
        self.thread.join(2)
        self.sock.close()


def ds_text(rd):
    ds = dns.dnssec.make_ds(ZONE + ".", rd, "SHA256")
    return ds.to_text()


def test_ksk_roll_checks_the_parent(np_factory, tmp_path):
    """dnssec_parent: nameplated asks the parent's server for the DS while the new KSK is
    ready, and makes it active once the DS there names it; not before."""
    import dns.flags  # noqa: F401  (the stub uses it)
    parent = ParentStub()
    try:
        zone = dict(ROLL_ZONE, dnssec_parent="127.0.0.1@%d" % parent.port)
        n = start_signed(np_factory, zone=zone)
        (old_tag, old_key), = ksks(n)[0].items()
        parent.ds = [ds_text(old_key)]
        old = ds_anchor(tmp_path / "old.conf", [old_key])
        n.ctl("zone", "ksk-roll", ZONE)
        assert wait_for(lambda: len(ksks(n)[2]) == 1 and ksks(n)[2][0] != old_tag, 10)
        new_tag = ksks(n)[2][0]
        new_key = ksks(n)[0][new_tag]
        # The parent still has the old DS only: asked, and the roll waits.
        assert wait_for(lambda: parent.queries >= 2, 10), parent.queries
        states, waits = key_states(n)
        assert states[("ksk", new_tag)] == "ready", states
        assert any("asks the 1 dnssec_parent servers" in w for w in waits), waits
        validates_all(n, [old], 1)
        # The parent publishes the new DS (as a CDS scanner would): the roll goes on.
        parent.ds = [ds_text(new_key)]
        assert wait_for(lambda: key_states(n)[0].get(("ksk", new_tag)) == "active", 10)
        assert key_states(n)[0].get(("ksk", old_tag)) in ("retired", None)
        validates_all(n, [ds_anchor(tmp_path / "new.conf", [new_key])], 2)
        assert wait_for(lambda: list(ksks(n)[0]) == [new_tag], 10)
        assert "every parent server has the DS of the new KSK %d" % new_tag in n.stderr()
    finally:
        parent.stop()


def test_a_silent_parent_holds_no_update(np_factory, tmp_path):
    """A dnssec_parent server that never answers: the roll waits for it, and the updates
    that go on meanwhile are not held while nameplated waits for its answer (the writer
    sends the DS queries and reads the answers on later wakes)."""
    import socket
    import dns.flags  # noqa: F401  (the stub uses it)
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    parent = ParentStub()
    try:
        zone = dict(ROLL_ZONE, dnssec_parent=["127.0.0.1@%d" % parent.port,
                                              "127.0.0.1@%d" % silent.getsockname()[1]])
        n = start_signed(np_factory, zone=zone)
        (old_tag, _), = ksks(n)[0].items()
        n.ctl("zone", "ksk-roll", ZONE)
        assert wait_for(lambda: len(ksks(n)[2]) == 1 and ksks(n)[2][0] != old_tag, 10)
        new_tag = ksks(n)[2][0]
        parent.ds = [ds_text(ksks(n)[0][new_tag])]
        # Updates for 6 s while rounds of queries go out every 2 s, one server silent.
        asked = parent.queries
        slowest = 0.0
        t_end = time.monotonic() + 6
        i = 0
        while time.monotonic() < t_end:
            i += 1
            t0 = time.monotonic()
            st, _, lines = n.update(HOME, "198.51.100.%d" % (i % 250 + 1), user="alice",
                                    secret=n.secret)
            slowest = max(slowest, time.monotonic() - t0)
            assert st == 200, lines
        assert parent.queries - asked >= 2, parent.queries
        assert slowest < 0.6, "an update took %.2f s" % slowest
        # Without every parent server's word, the new KSK stays ready.
        assert key_states(n)[0][("ksk", new_tag)] == "ready"
        assert "did not answer for the DS" in n.stderr()
    finally:
        parent.stop()
        silent.close()

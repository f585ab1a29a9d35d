# SPDX-License-Identifier: MIT
# A signed zone on secondaries (docs/dnssec.md, "The NSEC3 chain for secondaries"):
# transfers carry an NSEC3 chain (SHA-1, no opt-out, 0 iterations, no salt), so that
# Debian's NSD, Knot and BIND as secondaries serve a zone that BIND's delv validates with
# the zone's DS as its only trust anchor: A and AAAA of a host, NXDOMAIN, NODATA, an empty
# non-terminal, a wildcard host, and after dyndns2 updates (one giving a new name its first
# address) the new answers, by NOTIFY then IXFR. dnssec-verify, ldns-verify-zone and DNSViz
# accept an AXFR of the zone, and the zone an IXFR brings up to date; a walk over a
# secondary's NSEC3 answers yields hashes only. DNSViz finds no error on a secondary, nor on the
# primary with its compact denial.
import base64
import hashlib
import json
import re
import subprocess

import dns.exception
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.xfr
import dns.zone
import pytest

from conftest import ZONE, wait_for
from test_dnssec import HOME, V4, V6, WILD, anchor_file, assert_validated, start_signed
from test_xfr import Bind, Knot, Nsd

NEW = "new." + ZONE
DEEP = "a.b.deep." + ZONE  # brings the empty non-terminals b.deep and deep
B32HEX = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789abcdefghijklmnopqrstuv")


def answers(port, name, rdtype):
    q = dns.message.make_query(name, rdtype)
    r = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
    return {rd.to_text() for rrset in r.answer for rd in rrset}


def exists(port, name):
    """The primary answers NODATA for a host without records, NXDOMAIN for no host."""
    q = dns.message.make_query(name, "A")
    return dns.query.udp(q, "127.0.0.1", port=port, timeout=2).rcode() == dns.rcode.NOERROR


def signed_primary(np_factory):
    """start_signed's zone (home, wild) with a.b.deep, allowing transfers to loopback."""
    n = start_signed(np_factory, zone={"allow_transfer": "127.0.0.1"})
    n.deep_secret = n.add_host(DEEP, "alice")
    n.ctl("host", "set", DEEP, "A", "192.0.2.5")
    assert wait_for(lambda: answers(n.dns_port, DEEP, "A"), 5)
    return n


def notify_to(n, *ports):
    n.stop()
    with open(n.conf, "a") as f:
        f.write("".join("notify = 127.0.0.1@%d\n" % p for p in ports))
    n.start()


def nsec3_hash(name):
    wire = dns.name.from_text(name).canonicalize().to_wire()
    return base64.b32encode(hashlib.sha1(wire).digest()).decode().translate(B32HEX)


def axfr(n):
    xfr = dns.query.xfr("127.0.0.1", ZONE + ".", port=n.dns_port, timeout=10,
                        relativize=False)
    return dns.zone.from_xfr(xfr, relativize=False, check_origin=True)


def verify_zone(z, tmp_path):
    """dnssec-verify and ldns-verify-zone on z, which must pass both."""
    path = tmp_path / "zone.db"
    path.write_text(z.to_text(relativize=False))
    for cmd in (["dnssec-verify", "-o", ZONE, str(path)], ["ldns-verify-zone", str(path)]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "%s:\n%s%s" % (cmd[0], r.stdout, r.stderr)


def chain(z):
    """{owner's first label: NSEC3 rdata} of z; asserts it holds no NSEC."""
    out = {}
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            assert rds.rdtype != dns.rdatatype.NSEC, name
            if rds.rdtype == dns.rdatatype.NSEC3:
                out[name.labels[0].decode()] = rds[0]
    return out


def test_axfr_holds_a_valid_nsec3_chain(np_factory, tmp_path):
    n = signed_primary(np_factory)
    z = axfr(n)
    verify_zone(z, tmp_path)
    origin = dns.name.from_text(ZONE)
    param = z.find_rdataset(origin, dns.rdatatype.NSEC3PARAM)[0]
    assert (param.algorithm, param.flags, param.iterations, param.salt) == (1, 0, 0, b"")
    owners = chain(z)
    # Every name of the transfer, the empty non-terminals and the wildcard owner too.
    names = [ZONE, HOME, WILD, "*." + WILD, DEEP, "b.deep." + ZONE, "deep." + ZONE]
    assert set(owners) == {nsec3_hash(x) for x in names}, owners
    for rd in owners.values():
        assert (rd.algorithm, rd.flags, rd.iterations, rd.salt) == (1, 0, 0, b"")
    ent = owners[nsec3_hash("deep." + ZONE)]
    assert ent.windows == [] or not any(w[1] for w in ent.windows), ent


def delv_at(port, anchor, name, rdtype):
    r = subprocess.run(["delv", "-a", anchor, "@127.0.0.1", "-p", str(port), "+root=" + ZONE,
                        "+nomultiline", name, rdtype], capture_output=True, text=True,
                       timeout=20)
    return r.stdout + r.stderr


def validates_everywhere(port, anchor, home_v4, new_v4=None):
    """delv validates against the server at port: positive answers, denials, a wildcard."""
    out = delv_at(port, anchor, HOME, "A")
    assert_validated(out)
    assert home_v4 in out, out
    out = delv_at(port, anchor, HOME, "AAAA")
    assert_validated(out)
    assert V6 in out, out
    assert_validated(delv_at(port, anchor, "nothere." + ZONE, "A"), negative=True)
    assert_validated(delv_at(port, anchor, HOME, "MX"), negative=True)
    assert_validated(delv_at(port, anchor, "b.deep." + ZONE, "A"), negative=True)
    for name in (WILD, "x." + WILD, "a.b." + WILD):
        out = delv_at(port, anchor, name, "A")
        assert_validated(out)
        assert "192.0.2.99" in out, out
    assert_validated(delv_at(port, anchor, "x." + WILD, "MX"), negative=True)
    if new_v4 is None:
        assert_validated(delv_at(port, anchor, NEW, "A"), negative=True)
    else:
        out = delv_at(port, anchor, NEW, "A")
        assert_validated(out)
        assert new_v4 in out, out


def walk(port, tries=64):
    """What asking for names that do not exist reveals: the owners and next names of the
    NSEC3 records in the answers (first labels), and every other name seen."""
    hashes, others = set(), set()
    for i in range(tries):
        q = dns.message.make_query("nx%d-%d.%s" % (i, port, ZONE), "A", want_dnssec=True)
        a = dns.query.udp(q, "127.0.0.1", port=port, timeout=2)
        assert a.rcode() == dns.rcode.NXDOMAIN, a
        for rrset in a.authority:
            if rrset.rdtype == dns.rdatatype.NSEC3:
                hashes.add(rrset.name.labels[0].decode().lower())
                for rd in rrset:
                    hashes.add(base64.b32encode(rd.next).decode().translate(B32HEX))
            elif rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == dns.rdatatype.NSEC3:
                hashes.add(rrset.name.labels[0].decode().lower())
            else:
                others.add(rrset.name.to_text())
    return hashes, others


@pytest.mark.parametrize("cls", [Nsd, Knot, Bind], ids=["nsd", "knot", "bind"])
def test_secondary_serves_a_zone_delv_validates(np_factory, tmp_path, cls):
    n = signed_primary(np_factory)
    sec = cls(tmp_path / "sec", n.dns_port)
    notify_to(n, sec.port)
    anchor = anchor_file(n, tmp_path)
    try:
        sec.start()
        serial = n.serial()
        assert wait_for(lambda: sec.serial() == serial, 15), sec.log()[-3000:]
        validates_everywhere(sec.port, anchor, V4)
        # A walk over the NSEC3 answers yields hashes (those of the zone's names), no name.
        hashes, others = walk(sec.port)
        names = [ZONE, HOME, WILD, "*." + WILD, DEEP, "b.deep." + ZONE, "deep." + ZONE]
        assert hashes and hashes <= {nsec3_hash(x) for x in names}, hashes
        assert all(re.fullmatch(r"[0-9a-v]{32}", h) for h in hashes), hashes
        assert others == {ZONE + "."}, others  # the SOA
        # A new name (no data yet, so not in the chain), then dyndns2 gives it and home
        # new addresses: the chain is spliced, and the secondary follows by IXFR.
        secrets = {HOME: n.secret, NEW: n.add_host(NEW, "alice")}
        assert wait_for(lambda: exists(n.dns_port, NEW), 5)
        serial = n.serial()
        assert wait_for(lambda: sec.serial() == serial, 15), sec.log()[-3000:]
        before = n.stderr().count("incremental")
        for host, ip in ((NEW, "198.51.100.7"), (HOME, "198.51.100.42")):
            st, _, lines = n.update(host, ip, user="alice", secret=secrets[host])
            assert lines == ["good " + ip], lines
        serial = n.serial()
        assert wait_for(lambda: sec.serial() == serial, 15), sec.log()[-3000:]
        assert n.stderr().count("incremental") > before, n.stderr()[-3000:]
        # NSD loads a transfer in a new server process; its old one may still answer a
        # query for a moment after the new serial shows (test_dnssec.py).
        def new_address():
            try:
                return answers(sec.port, HOME, "A") == {"198.51.100.42"}
            except dns.exception.Timeout:  # a query lost in the handover: not yet
                return False
        assert wait_for(new_address, 5)
        validates_everywhere(sec.port, anchor, "198.51.100.42", "198.51.100.7")
    finally:
        sec.stop()


def records(z):
    return {(name, rds.rdtype, rd.to_text()) for name, node in z.nodes.items()
            for rds in node.rdatasets for rd in rds}


def test_ixfr_splices_the_chain(np_factory, tmp_path):
    """Names joining and leaving the chain through the writer (a first address, a host
    going offline with the empty non-terminals above it, a wildcard flag on, then off): the
    zone an IXFR brings up to date is the zone an AXFR gives, and it verifies. An address
    change alone changes no NSEC3."""
    n = signed_primary(np_factory)
    # Enough names that the difference is smaller than the zone (else: the whole zone).
    for i in range(16):
        n.ctl("host", "add", "h%d.%s" % (i, ZONE), "--user", "alice")
        n.ctl("host", "set", "h%d.%s" % (i, ZONE), "A", "192.0.2.%d" % (100 + i))
    # c.deep keeps deep in the chain when a.b.deep (and with it b.deep) leaves.
    n.ctl("host", "add", "c.deep." + ZONE, "--user", "alice")
    n.ctl("host", "set", "c.deep." + ZONE, "A", "192.0.2.7")
    new_secret = n.add_host(NEW, "alice")  # no data yet: not in the chain
    assert wait_for(lambda: exists(n.dns_port, NEW), 5)  # a rebuild: the history starts anew
    z = axfr(n)
    base = chain(z)
    assert nsec3_hash(NEW) not in base and nsec3_hash("deep." + ZONE) in base
    rounds = [
        [(NEW, new_secret, "198.51.100.7", {}),
         (HOME, n.secret, "198.51.100.42", {}),
         (DEEP, n.deep_secret, None, {"offline": "YES"}),
         (HOME, n.secret, "198.51.100.42", {"wildcard": "ON"})],
        [(HOME, n.secret, "198.51.100.42", {"wildcard": "OFF"}),
         (DEEP, n.deep_secret, "192.0.2.6", {})],
    ]
    for steps in rounds:
        for host, secret, myip, params in steps:
            st, _, lines = n.update(host, myip, user="alice", secret=secret, params=params)
            assert lines and lines[0].startswith("good"), (host, lines)
        before = n.stderr().count("incremental")
        query, _ = dns.xfr.make_query(z)
        dns.query.inbound_xfr("127.0.0.1", z, query=query, port=n.dns_port, timeout=10)
        assert n.stderr().count("incremental") == before + 1, n.stderr()[-2000:]
        fresh = axfr(n)
        assert z.get_soa().serial == fresh.get_soa().serial
        assert records(z) == records(fresh)
        verify_zone(z, tmp_path)
        now = chain(z)
        assert nsec3_hash(NEW) in now
        if steps is rounds[0]:
            assert nsec3_hash("*." + HOME) in now
            assert not {nsec3_hash(x) for x in (DEEP, "b.deep." + ZONE)} & set(now)
            assert nsec3_hash("deep." + ZONE) in now
        else:
            assert nsec3_hash("*." + HOME) not in now and nsec3_hash(DEEP) in now
    # An address change leaves the chain alone: the IXFR holds no NSEC3.
    serial = z.get_soa().serial
    st, _, lines = n.update(HOME, "198.51.100.43", user="alice", secret=n.secret)
    assert lines == ["good 198.51.100.43"], lines
    types = [rrset.rdtype for m in dns.query.xfr("127.0.0.1", ZONE + ".", port=n.dns_port,
                                                  rdtype=dns.rdatatype.IXFR, serial=serial,
                                                  timeout=10, relativize=False)
             for rrset in m.answer]
    assert dns.rdatatype.A in types and dns.rdatatype.NSEC3 not in types, types


# Debian 12's dnsviz 0.9.4 checks pygraphviz's version in pygraphviz.release, a module
# pygraphviz 1.7 no longer has, and so refuses trusted keys ("pygraphviz is required"):
# this runs /usr/bin/dnsviz with that module supplied.
GROK_SHIM = """
import sys, types, pygraphviz
release = types.ModuleType("pygraphviz.release")
release.version = "1.7"
sys.modules["pygraphviz.release"] = pygraphviz.release = release
sys.argv[0] = "/usr/bin/dnsviz"
exec(compile(open(sys.argv[0]).read(), sys.argv[0], "exec"))
"""


def dnsviz(port, tmp_path, anchor_keys):
    """DNSViz's probe of the zone at the server on port, then its grok with the KSK as
    trust anchor: the analysis as JSON, and what grok logged. The probe queries loopback
    only ("+" keeps it from the ancestors, -x names the one server, -b the source); its
    connectivity check connect()s a UDP socket towards a root server's address to learn a
    route, which sends nothing (strace: that one connect, every sendto to 127.0.0.1)."""
    probe = tmp_path / "probe.json"
    r = subprocess.run(["dnsviz", "probe", "-4", "-b", "127.0.0.1", "-A", "-x",
                        "%s+:ns1.%s=127.0.0.1:%d" % (ZONE, ZONE, port), "-o", str(probe),
                        ZONE, HOME, WILD, "x." + WILD, "b.deep." + ZONE],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    r = subprocess.run(["/usr/bin/python3", "-c", GROK_SHIM, "grok", "-t", str(anchor_keys),
                        "-r", str(probe)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout), r.stderr


def dnsviz_findings(out):
    """Every status, error and warning anywhere in grok's analysis."""
    found = {"status": [], "errors": [], "warnings": []}

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k in found:
                    found[k].append(v)
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(out)
    return found


def ksk_file(n, tmp_path):
    q = dns.message.make_query(ZONE, "DNSKEY")
    a = dns.query.udp(q, "127.0.0.1", port=n.dns_port, timeout=2)
    keys = [rd for rrset in a.answer for rd in rrset if rd.flags == 257]
    assert keys, a
    path = tmp_path / "ksk.db"
    path.write_text("".join("%s. 3600 IN DNSKEY %s\n" % (ZONE, rd.to_text()) for rd in keys))
    return path


def test_dnsviz_reports_no_errors_on_a_secondary(np_factory, tmp_path):
    n = signed_primary(np_factory)
    sec = Knot(tmp_path / "sec", n.dns_port)
    notify_to(n, sec.port)
    try:
        sec.start()
        serial = n.serial()
        assert wait_for(lambda: sec.serial() == serial, 15), sec.log()[-3000:]
        out, err = dnsviz(sec.port, tmp_path, ksk_file(n, tmp_path))
    finally:
        sec.stop()
    found = dnsviz_findings(out)
    assert not found["errors"] and not found["warnings"], (found, err)
    # Every name, RRset and signature secure or valid, from the KSK down.
    assert set(found["status"]) == {"NOERROR", "SECURE", "VALID"}, found["status"]


def test_dnsviz_reports_no_errors_on_the_primary(np_factory, tmp_path):
    """The primary answers its denials with compact denial (RFC 9824), not the chain."""
    n = signed_primary(np_factory)
    out, err = dnsviz(n.dns_port, tmp_path, ksk_file(n, tmp_path))
    found = dnsviz_findings(out)
    assert not found["errors"] and not found["warnings"], (found, err)
    assert set(found["status"]) == {"NOERROR", "SECURE", "VALID"}, found["status"]

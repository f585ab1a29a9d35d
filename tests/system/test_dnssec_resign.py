# SPDX-License-Identifier: MIT
# The periodic re-signing of a signed zone (docs/dnssec.md, "Re-signing in slices"), on a
# clock that the test moves: nameplated runs under Debian's libfaketime, whose offset is
# read from a file the test rewrites (the monotonic clock stays real, so the server's
# timers run as always). Signatures made at start are valid for 14 days; past half of that
# the running server signs every node anew, in slices; with the clock put back before the
# signatures' inception it signs the zone whole. Every answer validates at the moved time.

import os
import time

import dns.dnssec
import dns.name
import dns.rdataclass
import dns.rdatatype

from conftest import ZONE, wait_for
from test_dnssec import HOME, WILD, query, start_signed

FAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"
DAY = 86400
VALIDITY = 14 * DAY  # DNSSEC_VALIDITY (src/dnssec/zone.h)


def faked_env(clock_file):
    env = dict(os.environ, LD_PRELOAD=FAKETIME, FAKETIME_TIMESTAMP_FILE=str(clock_file),
               FAKETIME_CACHE_DURATION="1", FAKETIME_DONT_FAKE_MONOTONIC="1")
    # The sanitizer build: its runtime need not be the first library loaded.
    env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"),
                                                "verify_asan_link_order=0") if x)
    return env


def signed_rrset(n, name, rdtype):
    """(rrset, its RRSIG rrset) of the answer to name/rdtype."""
    a = query(n, name, rdtype, do=True)
    owner = dns.name.from_text(name)
    rrset = a.find_rrset(a.answer, owner, dns.rdataclass.IN, dns.rdatatype.from_text(rdtype))
    sigs = a.find_rrset(a.answer, owner, dns.rdataclass.IN, dns.rdatatype.RRSIG,
                        dns.rdatatype.from_text(rdtype))
    return rrset, sigs


def zone_keys(n):
    rrset, _ = signed_rrset(n, ZONE + ".", "DNSKEY")
    return {dns.name.from_text(ZONE + "."): rrset}


def inceptions(n):
    """The RRSIG inception of each checked RRset: the apex SOA, a host, a wildcard host."""
    return [signed_rrset(n, name, t)[1][0].inception
            for name, t in ((ZONE + ".", "SOA"), (HOME + ".", "A"), (WILD + ".", "A"))]


def assert_valid_at(n, when):
    keys = zone_keys(n)
    for name, t in ((ZONE + ".", "SOA"), (HOME + ".", "A"), (HOME + ".", "AAAA"),
                    (WILD + ".", "A"), (ZONE + ".", "DNSKEY")):
        rrset, sigs = signed_rrset(n, name, t)
        dns.dnssec.validate(rrset, sigs, keys, now=when)  # raises when bogus or expired


def test_signatures_renewed_as_they_age_and_when_the_clock_goes_back(np_factory, tmp_path):
    clock = tmp_path / "faketime"
    clock.write_text("+0d\n")
    n = start_signed(np_factory, env=faked_env(clock))
    start = time.time()
    first = inceptions(n)
    assert all(abs(i - start) < 2 * 3600 for i in first), first
    assert_valid_at(n, start)
    # Nine days on: past half of the validity, so the signatures are renewed in slices
    # (and would still have validated until day 14).
    clock.write_text("+9d\n")
    renewed = wait_for(lambda: all(i > start + 8 * DAY for i in inceptions(n)), timeout=60,
                       interval=0.5)
    assert renewed, "not re-signed after 9 days: inceptions %s, log:\n%s" % (
        inceptions(n), n.stderr()[-3000:])
    assert "re-signing the signed zones in slices" in n.stderr()
    assert_valid_at(n, time.time() + 9 * DAY)
    assert_valid_at(n, time.time() + 9 * DAY + VALIDITY - 2 * DAY)
    # Put back to two days before the start: every signature now begins in the future, so
    # the zone is signed whole at once.
    clock.write_text("-2d\n")
    back = wait_for(lambda: all(i < start for i in inceptions(n)), timeout=60, interval=0.5)
    assert back, "not re-signed after the clock went back: %s, log:\n%s" % (
        inceptions(n), n.stderr()[-3000:])
    assert "re-signing the signed zones whole" in n.stderr()
    assert_valid_at(n, time.time() - 2 * DAY)

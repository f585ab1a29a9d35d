# SPDX-License-Identifier: MIT
# DNSSEC key rollovers and edges (docs/dnssec.md): the KSK roll started with
# `nameplatectl zone ksk-roll` and driven by CDS (double-KSK), validated by BIND's delv with
# the old DS, both, and the new DS; the "delete" CDS of `dnssec = retire` (RFC 8078); the
# compact denial of names too long for "\000." + qname (RFC 9824 3.1, RFC 4471 3.1.2); and
# names below a wildcard host whose first label sorts before "*".

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

# SPDX-License-Identifier: MIT
# The budget of compact-denial signatures made on the fly ([zone] dnssec_denial_rate,
# docs/dnssec.md): a random-subdomain flood with DO over loopback (bounded in count and
# time) gets no more signatures than the budget allows, as the metric
# dnssec_denials_total counts them; past it the answers are TC=1 without records (never
# an unsigned denial), and meanwhile delv validates a positive answer, and a denial it
# asks for over UDP (TC=1, then TCP, where the denial is signed).

import http.client
import math
import os
import re
import socket
import threading
import time

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

from conftest import ZONE, free_port
from test_dnssec import HOME, anchor_file, assert_validated, delv

RATE = 50          # signatures per second the zone may make on the fly
FLOOD_MAX = 3000   # queries at most
FLOOD_SECONDS = 3  # and for at most this long


def denials(n):
    """(signed, over_budget) from the metrics endpoint."""
    c = http.client.HTTPConnection("127.0.0.1", n.metrics_port, timeout=10)
    try:
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
    finally:
        c.close()
    out = []
    for result in ("signed", "over_budget"):
        m = re.search(r'^nameplate_dnssec_denials_total\{result="%s"\} (\d+)$' % result, text,
                      re.M)
        assert m, "no dnssec_denials_total{result=%s} in:\n%s" % (result, text[-2000:])
        out.append(int(m.group(1)))
    return out


def flood(n):
    """Random names below the zone, DO set, as fast as one socket goes, bounded by
    FLOOD_MAX and FLOOD_SECONDS. Returns (seconds, queries sent, {name: response})."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(("127.0.0.1", n.dns_port))
    sock.setblocking(False)
    asked, answers = {}, {}

    def drain():
        while True:
            try:
                wire = sock.recv(4096)
            except (BlockingIOError, ConnectionRefusedError):
                return
            r = dns.message.from_wire(wire)
            name = asked.get(r.id)
            if name is not None:
                answers[name] = r

    t0 = time.monotonic()
    sent = 0
    try:
        while sent < FLOOD_MAX and time.monotonic() - t0 < FLOOD_SECONDS:
            for _ in range(20):
                name = "f%s.%s" % (os.urandom(6).hex(), ZONE)
                q = dns.message.make_query(name, "A", want_dnssec=True, payload=1232)
                asked[q.id] = name
                try:
                    sock.send(q.to_wire())
                    sent += 1
                except BlockingIOError:
                    break
            drain()
            time.sleep(0.002)
        elapsed = time.monotonic() - t0
        end = time.monotonic() + 1.0  # late answers
        while time.monotonic() < end and len(answers) < sent:
            drain()
            time.sleep(0.01)
    finally:
        sock.close()
    return elapsed, sent, answers


@pytest.mark.solo
def test_flood_stays_within_the_signing_budget(np_factory, tmp_path):
    n = start_with_budget(np_factory)
    anchor = anchor_file(n, tmp_path)
    signed0, over0 = denials(n)

    during = {}

    def validate():
        time.sleep(0.5)  # the budget of this second is spent by now
        during["positive"] = delv(n, anchor, HOME, "A")
        during["negative"] = delv(n, anchor, "asked-during-the-flood." + ZONE, "A")

    th = threading.Thread(target=validate)
    th.start()
    elapsed, sent, answers = flood(n)
    th.join(60)
    signed1, over1 = denials(n)

    assert sent >= 4 * RATE * math.ceil(elapsed), (sent, elapsed)  # a flood indeed
    assert len(answers) >= 0.9 * sent, (len(answers), sent)
    truncated = full = 0
    for name, r in answers.items():
        assert r.rcode() == dns.rcode.NOERROR, (name, r)
        if r.flags & dns.flags.TC:
            # Over budget: nothing signed, and nothing unsigned either.
            assert not r.answer and not r.authority, r
            truncated += 1
            continue
        types = {rr.rdtype for rr in r.authority}
        covered = {rr[0].type_covered for rr in r.authority if rr.rdtype == dns.rdatatype.RRSIG}
        assert dns.rdatatype.NSEC in types and dns.rdatatype.NSEC in covered, r
        full += 1
    assert truncated > 0 and full > 0, (truncated, full)
    # At most RATE a second over every second the flood touched (a fixed window: the
    # seconds it began and ended in count whole), plus the few delv asked for over TCP.
    seconds = math.ceil(elapsed) + 1
    made = signed1 - signed0
    assert full <= made <= RATE * seconds + 5, (made, full, elapsed)
    assert over1 - over0 >= truncated, (over1 - over0, truncated)

    assert_validated(during["positive"])
    assert_validated(during["negative"], negative=True)
    # Afterwards the answers the flood got truncated are signed when asked over TCP.
    name = next(k for k, v in answers.items() if v.flags & dns.flags.TC)
    q = dns.message.make_query(name, "A", want_dnssec=True)
    r = dns.query.tcp(q, "127.0.0.1", port=n.dns_port, timeout=5)
    assert not r.flags & dns.flags.TC
    assert any(rr.rdtype == dns.rdatatype.NSEC for rr in r.authority), r


def start_with_budget(np_factory):
    """A signed zone with home (A), the budget and a metrics listener."""
    n = np_factory()
    n.metrics_port = free_port()
    n.write_config(zone={"dnssec": "on", "dnssec_denial_rate": RATE},
                   extra="[metrics]\nlisten = 127.0.0.1:%d\n" % n.metrics_port)
    n.init()
    n.add_user("alice")
    n.add_host(HOME, "alice")
    n.ctl("host", "set", HOME, "A", "192.0.2.77")
    n.start()
    return n

# SPDX-License-Identifier: MIT
# Response rate limiting and DNS Cookies on UDP: answers to one client network for one name
# are limited to rrl_rate a second (past it, one in rrl_slip goes out truncated, the rest
# are dropped), so nameplated cannot be made to flood a spoofed victim; a client that
# returns the server cookie we gave it is never limited, so under a tenfold flood "from"
# its own network it is still answered. dig's and kdig's cookie handling agree with ours.

import os
import socket
import struct
import subprocess
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import ZONE

HOST = "home." + ZONE
RATE = 50
COOKIE = 10


@pytest.fixture
def srv(np_factory):
    n = np_factory()
    n.write_config(dns={"rrl_rate": RATE, "rrl_slip": 2})
    n.init()
    n.add_user("alice")
    n.add_host(HOST, "alice")
    n.ctl("host", "set", HOST, "A", "192.0.2.7")
    n.start()
    return n


def query(cookie=None, name=HOST):
    q = dns.message.make_query(name, "A", use_edns=0)
    if cookie is not None:
        q.use_edns(0, options=[dns.edns.GenericOption(COOKIE, cookie)])
    return q


def cookie_of(r):
    for o in r.options:
        if o.otype == COOKIE:
            return bytes(o.data)
    return None


def ask(n, q, source="127.0.0.1", timeout=0.5):
    """The answer to q over UDP from source, or None when none came in time."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((source, 0))
        s.settimeout(timeout)
        s.sendto(q.to_wire(), ("127.0.0.1", n.dns_port))
        try:
            return dns.message.from_wire(s.recv(65535))
        except socket.timeout:
            return None


def test_cookies_are_answered_and_checked_by_dig_and_kdig(srv):
    client = os.urandom(8)
    r = ask(srv, query(client))
    c = cookie_of(r)
    assert c is not None and len(c) == 24 and c[:8] == client, c
    assert c[8] == 1 and c[9:12] == b"\0\0\0"  # RFC 9018: version 1, reserved
    t = struct.unpack("!I", c[12:16])[0]
    assert abs(t - time.time()) < 5
    # Sent back, it is answered with a fresh one for the same client cookie.
    r2 = ask(srv, query(c))
    assert cookie_of(r2)[:8] == client and r2.rcode() == dns.rcode.NOERROR
    # A cookie option of a length RFC 7873 does not allow is FORMERR.
    assert ask(srv, query(b"1234567")).rcode() == dns.rcode.FORMERR
    # dig sends the server cookie back and calls it good; so does kdig.
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(srv.dns_port), HOST, "A", "+cookie",
                          "+tries=1"], capture_output=True, text=True, timeout=10).stdout
    assert "COOKIE:" in out and "192.0.2.7" in out, out
    server = [ln for ln in out.splitlines() if "COOKIE:" in ln][0].split()[-1]
    cookie = [ln for ln in out.splitlines() if "COOKIE:" in ln][0].split()[2]
    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(srv.dns_port), HOST, "A",
                          "+cookie=" + cookie, "+tries=1"], capture_output=True, text=True,
                         timeout=10).stdout
    assert "(good)" in out, (server, out)
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(srv.dns_port), HOST, "A", "+cookie"],
                         capture_output=True, text=True, timeout=10).stdout
    assert "COOKIE:" in out and "192.0.2.7" in out, out
    # Over TCP too.
    q = query(client)
    r = dns.query.tcp(q, "127.0.0.1", port=srv.dns_port, timeout=5)
    assert cookie_of(r)[:8] == client


def flood(n, sources, per_source_rate, seconds, stop):
    """Queries for HOST without cookies from each source at per_source_rate a second."""
    wire = query().to_wire()
    socks = []
    for src in sources:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((src, 0))
        s.setblocking(False)
        socks.append(s)
    end = time.monotonic() + seconds
    interval = 1.0 / per_source_rate
    nxt = time.monotonic()
    while time.monotonic() < end and not stop.is_set():
        for s in socks:
            try:
                s.sendto(wire, ("127.0.0.1", n.dns_port))
            except BlockingIOError:
                pass
            try:
                while True:
                    s.recv(65535)
            except BlockingIOError:
                pass
        nxt += interval
        time.sleep(max(0, nxt - time.monotonic()))
    for s in socks:
        s.close()


def test_rate_limit_drops_and_slips(srv):
    """400 queries for one name in about a second from one address: about RATE answered in
    full, then every second one truncated (TC=1, no records), the rest dropped."""
    full = tc = none = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        wire = query().to_wire()
        t0 = time.monotonic()
        for i in range(400):
            s.sendto(wire, ("127.0.0.1", srv.dns_port))
        end = time.monotonic() + 1.5
        got = 0
        while time.monotonic() < end:
            try:
                r = dns.message.from_wire(s.recv(65535))
            except socket.timeout:
                break
            got += 1
            if r.flags & dns.flags.TC:
                assert r.answer == []
                tc += 1
            else:
                full += 1
        none = 400 - got
        elapsed = time.monotonic() - t0
    seconds = int(elapsed) + 2  # the sends may span a second boundary or two
    assert RATE <= full <= RATE * seconds, (full, tc, none)
    assert tc > 50 and none > 50, (full, tc, none)
    # Another name from the same address has its own limit.
    assert ask(srv, query(name="nohost." + ZONE)) is not None


def test_a_client_with_a_cookie_gets_through_a_tenfold_flood(srv):
    """Spoofed-looking traffic from the client's own /24 at ten times the limit: without a
    cookie the client loses most answers; with the server cookie it got earlier, at least
    90% of its queries are answered."""
    client = os.urandom(8)
    first = ask(srv, query(client), timeout=2)
    good = cookie_of(first)
    assert good is not None
    stop = threading.Event()
    sources = ["127.0.0.%d" % i for i in range(2, 12)]  # 10 sources at RATE each
    t = threading.Thread(target=flood, args=(srv, sources, RATE, 8, stop))
    t.start()
    try:
        time.sleep(1)
        with_cookie = without = 0
        for i in range(60):
            r = ask(srv, query(good), timeout=0.3)
            if r is not None and not (r.flags & dns.flags.TC) and r.answer:
                with_cookie += 1
            r = ask(srv, query(), timeout=0.3)
            if r is not None and not (r.flags & dns.flags.TC) and r.answer:
                without += 1
            time.sleep(0.02)
    finally:
        stop.set()
        t.join()
    assert with_cookie >= 54, (with_cookie, without)
    assert without <= 30, (with_cookie, without)

# SPDX-License-Identifier: MIT
"""Input an attacker or a broken client sends, against the real nameplated: each case once
got a wrong answer, and each must be refused with a clear error that changes nothing.

- A Basic-auth password (or user) with a NUL byte and junk after the secret is badauth: the
  comparison covers the whole decoded credential.
- dyndns2: a hostname list with empty elements is notfqdn; an address with stray
  whitespace, an IPv4-mapped IPv6 address, an unspecified, multicast or broadcast address is
  badip; a loopback address is taken only from a client on the server's own machine.
- A method the server does not know gets 501, one it knows but a route does not take 405.
- DNS over TCP: 256 idle connections from one address leave room for everyone else (a cap
  per IPv4 address or IPv6 /64); a full server closes its idlest connection for a new one,
  never one with a query under way; several threads serve TCP.
- HTTP: a request dripped byte by byte is cut after request_timeout, one network holds at
  most per_net_connections, and slowloris from 63 addresses does not stop updates.
- A query signed with TSIG is verified, never answered as if unsigned: an unknown key gets
  NOTAUTH with BADKEY (unsigned), a TSIG anywhere but last or garbled FORMERR.
"""
import base64
import os
import socket
import subprocess
import threading
import time

import dns.message
import dns.query
import dns.rcode
import pytest

from conftest import ZONE, wait_for

HOME = "home." + ZONE


def basic(user, password):
    return "Basic " + base64.b64encode(user + b":" + password).decode()


def raw_update(np, auth, path="/nic/update?hostname=%s&myip=198.51.100.9" % HOME):
    return np.http(path, headers={"Authorization": auth, "User-Agent": "t/1"})


def test_good_baseline(np):
    st, _, body = raw_update(np, basic(b"alice", np.secret.encode()))
    assert (st, body.split()) == (200, ["good", "198.51.100.9"])


@pytest.mark.parametrize("user,junk", [(b"alice", b"\x00junk"), (b"alice", b"\x00"),
                                       (HOME.encode(), b"\x00junk")])
def test_secret_then_nul_is_badauth(np, user, junk):
    st, _, body = raw_update(np, basic(user, np.secret.encode() + junk))
    assert body.split() == ["badauth"], (st, body)
    assert np.addrs(HOME) == set()


def test_user_with_nul_is_badauth(np):
    st, _, body = raw_update(np, basic(b"alice\x00junk", np.secret.encode()))
    assert body.split() == ["badauth"], (st, body)
    assert np.addrs(HOME) == set()


def raw(np, request, timeout=5):
    s = socket.create_connection(("127.0.0.1", np.http_port), timeout=timeout)
    try:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        s.close()


@pytest.mark.parametrize("hostname", [",%s" % HOME, "%s," % HOME, ",,,%s,,," % HOME,
                                      "%s,,%s" % (HOME, HOME), ","])
def test_hostname_list_with_empty_elements_is_notfqdn(np, hostname):
    st, _, lines = np.update(hostname, "198.51.100.10", user="alice", secret=np.secret)
    assert lines == ["notfqdn"], (hostname, st, lines)
    assert np.addrs(HOME) == set()


def test_thousand_commas_is_notfqdn(np):
    st, _, lines = np.update("," * 500 + HOME + "," * 500, "198.51.100.10", user="alice",
                             secret=np.secret)
    assert lines == ["notfqdn"], (st, lines)
    assert np.addrs(HOME) == set()


@pytest.mark.parametrize("myip", ["198.51.100.11%20", "%20198.51.100.11", "198.51.100.11%09",
                                  "198.51.100.11,%202001:db8::1", "::ffff:198.51.100.11",
                                  "::ffff:c633:640b", "0.0.0.0", "::", "224.0.0.1",
                                  "255.255.255.255", "ff02::1"])
def test_addresses_no_router_means_are_badip(np, myip):
    st, _, lines = np.update(HOME, myip, user="alice", secret=np.secret)
    assert (st, lines[0].split(":")[0]) == (400, "badip"), (myip, st, lines)
    assert np.addrs(HOME) == set() and np.addrs(HOME, "AAAA") == set()


def test_loopback_only_from_the_servers_own_machine(np):
    # A client on the server's machine (ddclient with checkip on loopback) may publish it.
    st, _, lines = np.update(HOME, "127.0.0.1", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["good 127.0.0.1"])
    # From anywhere else it is a mistake: a trusted proxy forwards a remote client.
    for myip in ("127.0.0.2", "::1"):
        st, _, lines = np.update(HOME, myip, user="alice", secret=np.secret,
                                 source="127.0.0.2", headers={"X-Forwarded-For": "198.51.100.99"})
        assert (st, lines[0].split(":")[0]) == (400, "badip"), (myip, st, lines)
    assert np.addrs(HOME) == {"127.0.0.1"}


@pytest.mark.parametrize("method", [b"FOO", b"PROPFIND", b"BREW"])
def test_unknown_method_is_501(np, method):
    out = raw(np, method + b" /nic/update HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 501 "), out


@pytest.mark.parametrize("method,path", [(b"PUT", b"/nic/update"), (b"DELETE", b"/checkip"),
                                         (b"POST", b"/nic/update")])
def test_known_method_on_a_route_that_does_not_take_it_is_405(np, method, path):
    out = raw(np, method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 405 "), out
    assert b"\r\nAllow: " in out, out


def mhd_version():
    out = subprocess.run(["pkg-config", "--modversion", "libmicrohttpd"], capture_output=True,
                         text=True, check=True).stdout.strip()
    return tuple(int(x) for x in out.split("."))


# A request whose headers libmicrohttpd itself refuses (a Content-Length that is not a
# number, or too large for one; an HTTP/1.1 request without Host) is answered by the library
# before any code of ours runs. libmicrohttpd before 1.0.0 (Debian 12 has 0.9.75) writes that
# answer's status line and headers twice, then its body once: its idle loop sets the state
# to HEADERS_PROCESSED after parse_connection_headers() had already queued the error, so the
# headers are built again (fixed upstream by commit f1bfbe71, "fixed handling of various
# errors automatically detected by MHD code", first in 1.0.0). Known, and harmless as pinned
# here: the connection is closed at once, nothing after it on the connection is read, no
# handler of ours runs, and the server goes on serving.
@pytest.mark.parametrize("request_head,status", [
    (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", b"400 Bad Request"),
    (b"GET /nic/update HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", b"400 Bad Request"),
    (b"POST /api/v1/hosts HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
     b"413 "),
    (b"GET /nic/update HTTP/1.1\r\n\r\n", b"400 Bad Request"),
])
def test_requests_libmicrohttpd_refuses_known_double_head(np, request_head, status):
    auth = base64.b64encode(b"alice:" + np.secret.encode())
    # What follows on the same connection: a body, then a whole valid update.
    behind = (b"secret-body\r\nGET /nic/update?hostname=" + HOME.encode() +
              b"&myip=198.51.100.77 HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth +
              b"\r\n\r\n")
    s = socket.create_connection(("127.0.0.1", np.http_port), timeout=5)
    t0 = time.monotonic()
    try:
        s.sendall(request_head + behind)
        out = b""
        while True:             # the server closes: recv() ends before the timeout
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    assert time.monotonic() - t0 < 2, "the connection was not closed at once"
    heads = out.count(b"HTTP/1.1 ")
    want = 1 if mhd_version() >= (1, 0, 0) else 2  # the known double head of 0.9.x
    assert heads == want, (heads, out)
    assert out.startswith(b"HTTP/1.1 " + status), out
    head, _, body = out.rpartition(b"\r\n\r\n")
    assert head.count(b"\r\nConnection: close\r\n") == want, out
    # libmicrohttpd's own short page, once; nothing of what followed the bad head.
    assert body.startswith(b"<html>") and body.endswith(b"</html>") and len(body) < 256, out
    assert b"secret-body" not in out and b"good" not in out and b"nochg" not in out, out
    assert np.addrs(HOME) == set()      # the pipelined update was never read
    st, _, lines = np.update(HOME, "198.51.100.78", user="alice", secret=np.secret)
    assert (st, lines) == (200, ["good 198.51.100.78"])


# ---- DNS over TCP: no few addresses can take every connection ------------------------------

def tcp_server(np_factory, **dns):
    n = np_factory()
    dns.setdefault("tcp_idle_timeout", 30)
    n.write_config(dns=dns)
    n.init()
    n.start()
    return n


def connect_from(port, source, count):
    """count TCP connections from source to 127.0.0.1:port, left open and silent."""
    out = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        out.append(s)
    return out


def open_idle(np, source, count):
    return connect_from(np.dns_port, source, count)


def still_open(socks, settle=0.5):
    """The sockets the server has not closed (a closed one reads EOF or a reset)."""
    time.sleep(settle)
    alive = []
    for s in socks:
        s.setblocking(False)
        try:
            if s.recv(1) == b"":
                continue
        except BlockingIOError:
            alive.append(s)
            continue
        except OSError:
            continue
        alive.append(s)
    return alive


def tcp_soa(np, source, timeout=2.0):
    q = dns.message.make_query(ZONE, "SOA")
    return dns.query.tcp(q, "127.0.0.1", port=np.dns_port, timeout=timeout, source=source)


def test_idle_tcp_from_one_address_does_not_shut_out_others(np_factory):
    np = tcp_server(np_factory)   # tcp_max_connections 256, tcp_max_per_address 32
    socks = open_idle(np, "127.0.0.1", 256)
    try:
        alive = still_open(socks)
        assert len(alive) == 32, len(alive)
        t0 = time.monotonic()
        r = tcp_soa(np, "127.0.0.2")
        assert r.rcode() == dns.rcode.NOERROR and r.answer
        assert time.monotonic() - t0 < 1.0
        # The address that holds its 32 gets no 33rd.
        extra = open_idle(np, "127.0.0.1", 1)
        assert still_open(extra) == []
    finally:
        for s in socks:
            s.close()


def test_full_server_evicts_the_idlest_connection(np_factory):
    np = tcp_server(np_factory, tcp_max_connections=16, tcp_max_per_address=4)
    socks = []
    try:
        for i in range(1, 5):
            socks += open_idle(np, "127.0.0.%d" % i, 4)
        assert len(still_open(socks)) == 16
        r = tcp_soa(np, "127.0.0.5")
        assert r.rcode() == dns.rcode.NOERROR and r.answer
        # Room was made by closing one idle connection, not more.
        assert len(still_open(socks)) == 15
    finally:
        for s in socks:
            s.close()


def test_connections_mid_query_are_not_evicted(np_factory):
    np = tcp_server(np_factory, tcp_max_connections=16, tcp_max_per_address=4)
    socks = []
    try:
        for i in range(1, 5):
            socks += open_idle(np, "127.0.0.%d" % i, 4)
        for s in socks:
            s.sendall(b"\x00")  # the first byte of a length: a query under way
        assert len(still_open(socks)) == 16
        late = open_idle(np, "127.0.0.5", 1)
        assert still_open(late) == []  # refused: nobody idle to make room
        assert len(still_open(socks)) == 16
    finally:
        for s in socks:
            s.close()


def test_tcp_is_served_by_several_threads(np_factory):
    np = tcp_server(np_factory, tcp_workers=3)

    def tcp_threads():
        comms = []
        for task in os.listdir("/proc/%d/task" % np.proc.pid):
            try:
                with open("/proc/%d/task/%s/comm" % (np.proc.pid, task)) as f:
                    comms.append(f.read().strip())
            except FileNotFoundError:
                pass
        return sorted(c for c in comms if c.startswith("dns-tcp"))

    # A thread names itself once it runs, which may come after the server answers.
    assert wait_for(lambda: tcp_threads() == ["dns-tcp0", "dns-tcp1", "dns-tcp2"], 5), \
        tcp_threads()
    # Many clients at once, each answered, whichever thread takes it.
    for i in range(30):
        r = tcp_soa(np, "127.0.0.%d" % (10 + i % 5))
        assert r.rcode() == dns.rcode.NOERROR


# ---- HTTP: slow requests and a few dozen addresses cannot take every connection ------------

def drip(socks, data, seconds, interval=0.3):
    """Sends data one byte per interval on every socket, for at most seconds; returns the
    sockets the server closed, with the time each was found closed."""
    t0 = time.monotonic()
    closed = {}
    i = 0
    while time.monotonic() - t0 < seconds and len(closed) < len(socks):
        for s in socks:
            if s in closed:
                continue
            try:
                s.sendall(data[i % len(data):i % len(data) + 1])
                s.setblocking(False)
                try:
                    if s.recv(4096) == b"":
                        closed[s] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                finally:
                    s.setblocking(True)
            except OSError:
                closed[s] = time.monotonic() - t0
        i += 1
        time.sleep(interval)
    return closed


def http_conns(np, source, count):
    return connect_from(np.http_port, source, count)


SLOW_HEAD = b"GET /nic/update?hostname=x HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 400


def test_a_request_must_arrive_within_request_timeout(np_factory):
    np = np_factory()
    np.write_config(http={"request_timeout": 2, "timeout": 30})
    np.init()
    np.start()
    socks = http_conns(np, "127.0.0.1", 3)
    try:
        closed = drip(socks, SLOW_HEAD, 8)
        assert len(closed) == 3, "a request dripped a byte at a time was never cut"
        assert all(1.5 <= t <= 4.5 for t in closed.values()), closed
    finally:
        for s in socks:
            s.close()


def test_the_next_request_on_a_kept_connection_has_its_own_deadline(np_factory):
    np = np_factory()
    np.write_config(http={"request_timeout": 2, "timeout": 30})
    np.init()
    np.start()
    s = http_conns(np, "127.0.0.1", 1)[0]
    try:
        s.sendall(b"GET /checkip HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200 ")
        closed = drip([s], SLOW_HEAD, 8)
        assert s in closed and 1.5 <= closed[s] <= 4.5, closed
    finally:
        s.close()


def test_slowloris_from_63_addresses_does_not_stop_updates(np_factory):
    """The attack as reproduced: 500 connections from 63 addresses (8 each), each sending a
    header byte every 0.3 s; updates from another address must still be answered."""
    np = np_factory()
    np.write_config()
    np.init()
    np.add_user("alice")
    np.secret = np.add_host(HOME, "alice")
    np.start()
    attackers = ["127.1.%d.1" % i for i in range(63)]
    socks = []
    try:
        for a in attackers:
            socks += http_conns(np, a, 8)
        socks = socks[:500]
        stop = time.monotonic() + 12
        answered = []

        def legit():
            n = 0
            while time.monotonic() < stop - 2:
                n += 1
                t0 = time.monotonic()
                st, _, lines = np.update(HOME, "198.51.100.%d" % (n % 200 + 1), user="alice",
                                         secret=np.secret)
                answered.append((st, lines, time.monotonic() - t0))
                time.sleep(0.5)
        th = threading.Thread(target=legit)
        th.start()
        drip(socks, SLOW_HEAD, 12)
        th.join()
        assert len(answered) >= 10, answered
        assert all(st == 200 and lines[0].startswith(("good", "nochg")) and dt < 3
                   for st, lines, dt in answered), answered
    finally:
        for s in socks:
            s.close()


def test_one_network_cannot_hold_more_than_per_net_connections(np_factory):
    np = np_factory()
    np.write_config(http={"request_timeout": 60, "timeout": 60})
    np.init()
    np.start()
    socks = []
    try:
        for i in range(1, 21):          # 20 addresses of one /24, 5 connections each
            socks += http_conns(np, "127.3.0.%d" % i, 5)
        alive = still_open(socks)
        assert len(alive) == 64, len(alive)
        st, _, body = np.http("/checkip")
        assert st == 200
    finally:
        for s in socks:
            s.close()


# ---- TSIG on queries: verified, never ignored ----------------------------------------------

def signed_query(name="a.example."):
    import dns.tsigkeyring
    q = dns.message.make_query(ZONE, "SOA")
    ring = dns.tsigkeyring.from_text({name: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"})
    q.use_tsig(ring, keyname=name, algorithm="hmac-sha256")
    return q.to_wire()


def udp_raw(np, wire):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(wire, ("127.0.0.1", np.dns_port))
        return s.recv(65535)
    finally:
        s.close()


def test_query_signed_with_an_unknown_key_is_notauth_badkey(np):
    for wire in (signed_query(), signed_query("Other-Key.")):
        resp = udp_raw(np, wire)
        assert resp[3] & 0x0F == 9, resp          # NOTAUTH
        assert resp[10:12] == b"\x00\x01"         # one additional record: the TSIG
        assert resp[-4:-2] == b"\x00\x11", resp   # TSIG error BADKEY (17)
        assert resp[-6:-4] == wire[:2]            # original ID
        # Unsigned (MAC size 0): the two bytes before the original ID are the MAC size.
        assert resp[-8:-6] == b"\x00\x00", resp
    # kdig reads it the same way (it shows the TSIG error as the status).
    out = subprocess.run(["kdig", "@127.0.0.1", "-p", str(np.dns_port), "+notcp",
                          "-y", "hmac-sha256:unknown-key:c2VjcmV0c2VjcmV0", ZONE, "SOA"],
                         capture_output=True, text=True, timeout=10).stdout
    assert "status: BADKEY" in out and "TSIG" in out and "ANSWER: 0" in out, out


def test_tsig_not_last_is_formerr(np):
    wire = bytearray(signed_query())
    # An OPT record after the TSIG, ARCOUNT 2.
    wire += b"\x00" + b"\x00\x29" + b"\x04\xd0" + b"\x00\x00\x00\x00" + b"\x00\x00"
    wire[10:12] = b"\x00\x02"
    resp = udp_raw(np, bytes(wire))
    assert resp[3] & 0x0F == 1, resp              # FORMERR
    # And two TSIG records.
    one = signed_query()
    tsig = one[len(dns.message.make_query(ZONE, "SOA").to_wire()):]
    twice = bytearray(one) + tsig
    twice[10:12] = b"\x00\x02"
    assert udp_raw(np, bytes(twice))[3] & 0x0F == 1


def test_garbled_tsig_is_formerr(np):
    wire = bytearray(signed_query())
    wire[-1] = 0x05                                # other-len says 5, nothing follows
    resp = udp_raw(np, bytes(wire))
    assert resp[3] & 0x0F == 1, resp


# ---- failed authentication: throttled per source and per credential, logged, no lock-out ----

def upd(np, secret, source, user="alice", myip="198.51.100.40"):
    return np.update(HOME, myip, user=user, secret=secret, source=source)


def test_wrong_secrets_from_one_address_are_throttled_and_growing(np):
    src = "127.0.0.5"
    answers = [upd(np, "wrong-%d" % i, src) for i in range(12)]
    codes = [(st, lines[:1]) for st, _, lines in answers]
    assert codes[:9] == [(200, ["badauth"])] * 9, codes
    assert codes[10] == (429, ["911"]), codes   # blocked: the writer is not even asked
    first_wait = int(answers[10][1]["retry-after"])
    assert 1 <= first_wait <= 5, first_wait
    # Blocked means blocked, even for the right secret from that address...
    st, hdrs, _ = upd(np, np.secret, src)
    assert st == 429 and "retry-after" in hdrs
    # ...but the owner elsewhere is not.
    st, _, lines = upd(np, np.secret, "127.0.7.1", myip="198.51.100.41")
    assert (st, lines) == (200, ["good 198.51.100.41"])
    assert np.addrs(HOME) == {"198.51.100.41"}
    time.sleep(first_wait + 0.2)
    for i in range(11):   # the 10th failure starts the next block, the 11th meets it
        st, hdrs, lines = upd(np, "again-%d" % i, src)
    assert st == 429 and int(hdrs["retry-after"]) > first_wait, (st, hdrs)
    assert np.addrs(HOME) == {"198.51.100.41"}


def test_a_credential_under_attack_still_lets_its_owner_in(np):
    # The owner's router updates from its usual network first.
    st, _, lines = upd(np, np.secret, "127.0.0.1", myip="198.51.100.50")
    assert lines == ["good 198.51.100.50"]
    # 30 wrong guesses for alice from 10 addresses of other networks (3 each: no single
    # address is throttled).
    for i in range(30):
        st, _, lines = upd(np, "guess-%d" % i, "127.0.%d.9" % (20 + i % 10))
        assert st == 200 and lines == ["badauth"], (i, st, lines)
    # alice is under attack: a guess from yet another network waits...
    st, hdrs, lines = upd(np, "guess-x", "127.0.40.9")
    assert st == 429 and int(hdrs["retry-after"]) >= 1, (st, lines)
    # ...so does the right secret from a network alice never used...
    st, _, _ = upd(np, np.secret, "127.0.41.9")
    assert st == 429
    # ...but the owner's router, from its known network, goes through at once.
    st, _, lines = upd(np, np.secret, "127.0.0.3", myip="198.51.100.51")
    assert (st, lines) == (200, ["good 198.51.100.51"])
    # Another account is not affected.
    np.add_user("bob")
    bob = np.add_host("bob." + ZONE, "bob")
    st, _, lines = np.update("bob." + ZONE, "198.51.100.52", user="bob", secret=bob,
                             source="127.0.40.9")
    assert (st, lines) == (200, ["good 198.51.100.52"])


def test_failures_are_logged_with_the_source_at_a_bounded_rate(np):
    for i in range(60):
        upd(np, "wrong-%d" % i, "127.0.%d.%d" % (60 + i // 2, 1 + i % 2))
    np.stop()
    log = np.logs[-1]
    lines = [ln for ln in log.splitlines()
             if " auth_failure: interface=dyndns2 " in ln]
    assert lines and "source=127.0.60.1 " in lines[0] and " user=alice " in lines[0], \
        log[-3000:]
    assert len(lines) <= 30, len(lines)
    assert np.secret not in log

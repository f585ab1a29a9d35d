# SPDX-License-Identifier: MIT
# The reachability probe (GET /nic/probe?port=N) against the real nameplated on loopback:
# open / closed / filtered answers, that it connects only to the requesting address (never
# to a target named in the request), Basic auth like dyndns2, the per-address and
# per-account rate limits, the cap on concurrent probes, X-Forwarded-For from trusted
# proxies only, and a clean stop with probes in flight.

import base64
import concurrent.futures
import re
import socket
import threading
import time

import pytest

from conftest import ZONE, free_port, wait_for

HOME = "home." + ZONE


def auth_header(user, secret):
    return "Basic " + base64.b64encode(("%s:%s" % (user, secret)).encode()).decode()


def probe(np, query, user="alice", secret=None, source=None, headers=None, auth=True,
          method="GET", timeout=10):
    """GET /nic/probe?QUERY; returns (status, headers, body)."""
    h = dict(headers or {})
    if auth:
        h["Authorization"] = auth_header(user, np.secret if secret is None else secret)
    return np.http("/nic/probe?" + query, method=method, headers=h, source=source,
                   timeout=timeout)


class Listener:
    """A TCP listener on addr:port that records every connection it accepts and what the
    peer sent before closing."""

    def __init__(self, addr, port, backlog=16):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(backlog)
        self.sock.settimeout(0.1)
        self.accepted = []      # (peer address, bytes received until EOF)
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for _ in range(100000):         # bounded; ends long before via stop()
            if self.stop_ev.is_set():
                return
            try:
                c, peer = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            c.settimeout(2.0)
            data = b""
            try:
                for _ in range(64):
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except OSError:
                pass
            c.close()
            self.accepted.append((peer[0], data))

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)
        self.sock.close()


@pytest.fixture
def listeners():
    made = []

    def make(addr, port, backlog=16):
        lst = Listener(addr, port, backlog)
        made.append(lst)
        return lst

    yield make
    for lst in made:
        lst.stop()


class FullBacklog:
    """A port whose accept queue is full and never drained: Linux drops further SYNs, so a
    connect gets no answer at all (what a firewall's DROP looks like)."""

    def __init__(self, addr, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((addr, port))
        self.sock.listen(0)
        self.fillers = []
        for _ in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((addr, port))
            self.fillers.append(s)
        time.sleep(0.2)
        # the queue is full once a further connect does not complete
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.settimeout(0.5)
        try:
            t.connect((addr, port))
            raise AssertionError("accept queue of %s:%d is not full" % (addr, port))
        except socket.timeout:
            pass
        finally:
            t.close()

    def close(self):
        for s in self.fillers:
            s.close()
        self.sock.close()


@pytest.fixture
def dropping():
    made = []

    def make(addr, port):
        d = FullBacklog(addr, port)
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


# ---- results ----


def test_open_port(np, listeners):
    port = free_port()
    lst = listeners("127.0.0.1", port)
    st, hdrs, body = probe(np, "port=%d" % port)
    assert (st, body) == (200, "open %d\n" % port)
    assert hdrs["content-type"].startswith("text/plain")
    assert wait_for(lambda: len(lst.accepted) == 1, 3)
    # the probe closed at once and sent nothing
    assert lst.accepted == [("127.0.0.1", b"")]
    assert wait_for(lambda: re.search(r"probe: account=alice client=127\.0\.0\.1 port=%d: open"
                                      % port, np.stderr()), 3), np.stderr()


def test_proto_tcp_and_host_as_user(np, listeners):
    port = free_port()
    listeners("127.0.0.1", port)
    st, _, body = probe(np, "port=%d&proto=tcp" % port, user=HOME)
    assert (st, body) == (200, "open %d\n" % port)
    st, _, body = probe(np, "proto=TCP&port=%d" % port)
    assert (st, body) == (200, "open %d\n" % port)


def test_closed_port(np):
    port = free_port()
    st, _, body = probe(np, "port=%d" % port)
    assert (st, body) == (200, "closed %d\n" % port)


def test_filtered_port(np, dropping):
    port = free_port()
    dropping("127.0.0.1", port)
    t0 = time.monotonic()
    st, _, body = probe(np, "port=%d" % port)
    took = time.monotonic() - t0
    assert (st, body) == (200, "filtered %d\n" % port)
    assert 2.5 <= took < 6, took
    # the probe thread kept serving others meanwhile: a closed port still answers at once
    other = free_port()
    assert probe(np, "port=%d" % other)[2] == "closed %d\n" % other


# ---- no other target, ever ----


@pytest.mark.parametrize("key", ["ip", "host", "target", "addr", "address", "myip",
                                 "IP", "Target", "myipv4", "hostname"])
def test_target_parameter_refused(np, listeners, key):
    port = free_port()
    other = listeners("127.0.0.3", port)
    mine = listeners("127.0.0.1", port)
    for q in ("port=%d&%s=127.0.0.3" % (port, key), "%s=127.0.0.3&port=%d" % (key, port),
              "%s=127.0.0.3" % key, "port=%d&%s" % (port, key)):
        st, _, body = probe(np, q)
        assert (st, body) == (400, "the probe only connects back to the requesting address\n"), q
    time.sleep(0.3)
    assert other.accepted == []
    assert mine.accepted == []      # refused outright: no probe at all


def test_target_refused_without_auth_too(np, listeners):
    port = free_port()
    other = listeners("127.0.0.3", port)
    st, _, body = probe(np, "port=%d&target=127.0.0.3:%d" % (port, port), auth=False)
    assert st == 400 and "only connects back" in body
    time.sleep(0.2)
    assert other.accepted == []


@pytest.mark.parametrize("q", ["", "port=", "port=0", "port=65536", "port=-1", "port=abc",
                               "port=80x", "port=+80", "port=080", "port=%201",
                               "port=1&port=2", "proto=tcp"])
def test_bad_port(np, q):
    st, _, body = probe(np, q)
    assert (st, body) == (400, "bad port\n"), q


@pytest.mark.parametrize("q", ["port=80&proto=udp", "port=80&proto=", "port=80&proto"])
def test_bad_proto(np, q):
    st, _, body = probe(np, q)
    assert st == 400 and body.startswith("bad proto"), (q, body)


def test_unknown_parameter(np):
    st, _, body = probe(np, "port=80&foo=1")
    assert st == 400 and body.startswith("unknown parameter"), body


def test_head_not_allowed(np):
    st, hdrs, _ = probe(np, "port=80", method="HEAD")
    assert st == 405 and hdrs["allow"] == "GET"


def test_edge_ports(np):
    for port in (1, 65535):
        st, _, body = probe(np, "port=%d" % port)
        assert st == 200 and body in ("closed %d\n" % port, "open %d\n" % port), body


# ---- authentication ----


def test_no_auth_is_401(np, listeners):
    port = free_port()
    lst = listeners("127.0.0.1", port)
    st, hdrs, body = probe(np, "port=%d" % port, auth=False)
    assert (st, body) == (401, "badauth\n")
    assert hdrs["www-authenticate"].startswith("Basic")
    time.sleep(0.2)
    assert lst.accepted == []


@pytest.mark.parametrize("user,secret", [("alice", "wrong"), ("mallory", None),
                                         (HOME, "wrong"), ("other." + ZONE, None),
                                         ("alice", "")])
def test_badauth(np, listeners, user, secret):
    port = free_port()
    lst = listeners("127.0.0.1", port)
    st, hdrs, body = probe(np, "port=%d" % port, user=user, secret=secret)
    assert (st, body) == (401, "badauth\n"), (user, secret)
    assert hdrs["www-authenticate"].startswith("Basic")
    time.sleep(0.2)
    assert lst.accepted == []


def test_other_accounts_secret_is_badauth(np):
    np.add_user("bob")
    bob_secret = np.add_host("bob." + ZONE, "bob")
    port = free_port()
    assert probe(np, "port=%d" % port, user="alice", secret=bob_secret)[0] == 401
    # but it is bob's
    assert probe(np, "port=%d" % port, user="bob", secret=bob_secret)[2] == "closed %d\n" % port


def test_badauth_user_escaped_in_log(np):
    # (a Basic-auth user name cannot hold ':')
    probe(np, "port=80", user="evil\nprobe account=forged", secret="x")
    assert wait_for(lambda: 'auth_failure: interface=probe source=127.0.0.1 '
                    'user="evil\\nprobe account=forged" action=none' in np.stderr(),
                    3), np.stderr()
    assert "\nprobe account=forged" not in np.stderr()


# ---- X-Forwarded-For ----


def test_xff_from_trusted_proxy(np, listeners):
    port = free_port()
    client = listeners("127.0.0.4", port)
    proxy = listeners("127.0.0.2", port)
    st, _, body = probe(np, "port=%d" % port, source="127.0.0.2",
                        headers={"X-Forwarded-For": "127.0.0.4"})
    assert (st, body) == (200, "open %d\n" % port)
    assert wait_for(lambda: len(client.accepted) == 1, 3)
    assert proxy.accepted == []
    # and a closed port there is closed, not the proxy's open one
    port2 = free_port()
    listeners("127.0.0.2", port2)
    st, _, body = probe(np, "port=%d" % port2, source="127.0.0.2",
                        headers={"X-Forwarded-For": "127.0.0.4"})
    assert (st, body) == (200, "closed %d\n" % port2)


def test_xff_from_untrusted_peer_ignored(np, listeners):
    port = free_port()
    named = listeners("127.0.0.4", port)
    st, _, body = probe(np, "port=%d" % port, source="127.0.0.5",
                        headers={"X-Forwarded-For": "127.0.0.4"})
    # the peer 127.0.0.5 was probed (nothing listens there)
    assert (st, body) == (200, "closed %d\n" % port)
    time.sleep(0.2)
    assert named.accepted == []
    me = listeners("127.0.0.5", port)
    st, _, body = probe(np, "port=%d" % port, source="127.0.0.5",
                        headers={"X-Forwarded-For": "127.0.0.4"})
    assert (st, body) == (200, "open %d\n" % port)
    assert wait_for(lambda: len(me.accepted) == 1, 3)
    assert named.accepted == []


def test_xff_unusable_address_refused(np, listeners):
    port = free_port()
    lst = listeners("127.0.0.1", port)
    for xff in ("0.0.0.0", "255.255.255.255", "224.0.0.1"):
        st, _, body = probe(np, "port=%d" % port, source="127.0.0.2",
                            headers={"X-Forwarded-For": xff})
        assert st == 400, (xff, st, body)
    time.sleep(0.2)
    assert lst.accepted == []


# ---- limits ----


BATCH = ",".join(str(p) for p in range(41000, 41032))     # 32 ports: one full batch


def test_rate_limit_per_address(np):
    # Every port costs a token: four full batches empty the address's burst of 128.
    for i in range(4):
        st, _, body = probe(np, "tcp=" + BATCH)
        assert st == 200 and len(body.splitlines()) == 32, (i, st, body)
    port = free_port()
    st, hdrs, body = probe(np, "port=%d" % port)
    assert st == 429, (st, body)
    retry = int(hdrs["retry-after"])
    assert 1 <= retry <= 10, retry
    # wrong secrets are the authentication throttle's (as for updates): refused before the
    # probe's own limit, then 429 once the address has guessed 10 times in a minute
    statuses = [probe(np, "port=%d" % port, secret="guess %d" % i, source="127.0.0.7")[0]
                for i in range(11)]
    assert statuses[:9] == [401] * 9 and statuses[-1] == 429, statuses
    # another address has its own bucket
    st, _, body = probe(np, "port=%d" % port, source="127.0.0.6")
    assert (st, body) == (200, "closed %d\n" % port)


def test_rate_limit_per_account(np):
    # The account's burst is 256 ports: eight full batches from eight addresses.
    results = []
    for i in range(9):
        st, hdrs, body = probe(np, "tcp=" + BATCH, source="127.0.1.%d" % (i + 1))
        results.append((st, len(body.splitlines()), hdrs.get("retry-after")))
    assert all(r[:2] == (200, 32) for r in results[:8]), results
    st, _, retry = results[8]
    assert st == 429 and retry is not None and int(retry) >= 1, results[8]


# ---- the batch form ----


def test_batch_tcp(np, listeners, dropping):
    p_open, p_closed, p_drop = free_port(), free_port(), free_port()
    lst = listeners("127.0.0.1", p_open)
    dropping("127.0.0.1", p_drop)
    t0 = time.monotonic()
    st, _, body = probe(np, "tcp=%d,%d,%d,%d" % (p_open, p_closed, p_drop, p_open))
    took = time.monotonic() - t0
    # one line per distinct port, in the order asked; the ports are probed at once
    assert (st, body) == (200, "open %d/tcp\nclosed %d/tcp\nfiltered %d/tcp\n"
                          % (p_open, p_closed, p_drop)), body
    assert took < 5, took
    assert wait_for(lambda: len(lst.accepted) == 1, 2)
    assert lst.accepted[0] == ("127.0.0.1", b"")    # connected, sent nothing


class UdpResponder:
    """Answers every datagram on addr:port with reply; records what came."""

    def __init__(self, addr, port, reply):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, port))
        self.sock.settimeout(0.1)
        self.reply = reply
        self.got = []
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        for _ in range(100000):         # bounded; ends long before via stop()
            if self.stop_ev.is_set():
                return
            try:
                data, peer = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                return
            self.got.append(data)
            self.sock.sendto(self.reply, peer)

    def stop(self):
        self.stop_ev.set()
        self.thread.join(5)
        self.sock.close()


def test_batch_udp_ssdp_and_natpmp(np):
    # A "router" that answers SSDP and NAT-PMP on the requester's own address.
    addr = "127.0.0.9"
    ssdp = UdpResponder(addr, 1900, b"HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n\r\n")
    natpmp = UdpResponder(addr, 5351, bytes([0, 128, 0, 0]) + bytes(8))
    try:
        closed = free_port()
        st, _, body = probe(np, "udp=1900,5351,%d&tcp=%d" % (closed, closed), source=addr)
        assert (st, body) == (200, "open 1900/udp\nopen 5351/udp\nclosed %d/udp\n"
                              "closed %d/tcp\n" % (closed, closed)), body
        assert ssdp.got and ssdp.got[0].startswith(b"M-SEARCH * HTTP/1.1\r\n")
        assert b'MAN: "ssdp:discover"' in ssdp.got[0]
        assert natpmp.got == [bytes([0, 0])]
    finally:
        ssdp.stop()
        natpmp.stop()


def test_batch_udp_silent_is_filtered(np):
    # A UDP port that takes datagrams and never answers: no ICMP, no reply.
    addr = "127.0.0.10"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 0))
    try:
        port = s.getsockname()[1]
        st, _, body = probe(np, "udp=%d" % port, source=addr)
        assert (st, body) == (200, "filtered %d/udp\n" % port)
        assert s.recv(16, socket.MSG_DONTWAIT) == b""     # the empty datagram came
    finally:
        s.close()


@pytest.mark.parametrize("q,msg", [
    ("tcp=" + ",".join(str(p) for p in range(41000, 41033)), "too many ports"),
    ("tcp=80&port=81", "bad port"),
    ("tcp=80&proto=tcp", "bad port"),
    ("tcp=80,", "bad port"),
    ("tcp=,80", "bad port"),
    ("tcp=080", "bad port"),
    ("tcp=65536", "bad port"),
    ("tcp=80&tcp=81", "bad port"),
    ("udp=", "bad port"),
    ("tcp=80&ip=192.0.2.1", "only connects back"),
])
def test_batch_refused(np, q, msg):
    st, _, body = probe(np, q)
    assert st == 400 and msg in body, (q, st, body)


def test_batch_duplicates_count_once(np):
    st, _, body = probe(np, "tcp=41000,41000,41000&udp=41000")
    assert (st, body) == (200, "closed 41000/tcp\nclosed 41000/udp\n"), body


def test_concurrency_cap(np, dropping):
    port = free_port()
    n = 8
    for i in range(n + 1):
        dropping("127.0.2.%d" % (i + 1), port)
    with concurrent.futures.ThreadPoolExecutor(n) as ex:
        futs = [ex.submit(probe, np, "port=%d" % port, source="127.0.2.%d" % (i + 1))
                for i in range(n)]
        # wait until all eight are in flight (each waits for its 3 s timeout)
        time.sleep(1.0)
        st, hdrs, body = probe(np, "port=%d" % port, source="127.0.2.%d" % (n + 1))
        assert st == 503, (st, body)
        assert int(hdrs["retry-after"]) >= 1
        res = [f.result() for f in futs]
    assert all((r[0], r[2]) == (200, "filtered %d\n" % port) for r in res), res
    # slots are given back
    other = free_port()
    assert probe(np, "port=%d" % other, source="127.0.2.%d" % (n + 1))[2] == \
        "closed %d\n" % other


def test_stop_with_probe_in_flight(np, dropping):
    port = free_port()
    dropping("127.0.0.1", port)
    out = {}

    def run():
        try:
            out["r"] = probe(np, "port=%d" % port)
        except Exception as e:          # the connection may be closed on the way down
            out["e"] = e

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.5)
    t0 = time.monotonic()
    rc = np.stop()
    took = time.monotonic() - t0
    t.join(10)
    assert rc == 0
    assert took < 2.5, took             # aborted, not waited for
    if "r" in out:
        assert out["r"][0] == 503, out
    assert re.search(r"port=%d: aborted" % port, np.logs[-1]), np.logs[-1]

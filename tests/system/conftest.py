# SPDX-License-Identifier: MIT
# System-test harness: runs the real nameplated and nameplatectl on loopback sockets.
#
# Every test gets fresh binaries' state in its own temporary directory. The server is
# started in the foreground (-f) and is considered up once it answers an SOA query over UDP
# and accepts HTTP connections. Teardown stops it, and fails the test if the server (or a
# nameplatectl run) printed a sanitizer report, so `make SAN=1 test` catches memory errors
# that do not change an answer.

import base64
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import time

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.path.join(ROOT, os.environ.get("NP_BUILD", "build")))
NAMEPLATED = os.path.join(BUILD, "nameplated")
NAMEPLATECTL = os.path.join(BUILD, "nameplatectl")

ZONE = "dyn.example"
UA = "Nameplate system tests - pytest - 1.0"
START_TIMEOUT = 15.0   # SAN builds start slower
DNS_TIMEOUT = 2.0
SANITIZER_RE = re.compile(r"(ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:|"
                          r"SUMMARY: (Address|Undefined|Leak)\w*Sanitizer)")


def _port_free(port):
    """True when port is free for TCP and UDP on 127.0.0.1 and ::1."""
    socks = []
    try:
        for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            for typ in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                s = socket.socket(fam, typ)
                socks.append(s)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


_used_ports = set()
# Ports come from below the kernel's ephemeral range (32768 and up on Linux), so a port
# handed out here is never also a client socket's source port; with pytest-xdist each
# worker takes its own slice, so two tests running at once never get the same port.
_PORT_LOW, _PORT_HIGH = 10000, 32000
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
_workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
_slice = (_PORT_HIGH - _PORT_LOW) // _workers
_slice_low = _PORT_LOW + _slice * (int(_worker[2:]) % _workers)
# Each run starts at a random place in its slice, so that two runs on one machine (two
# checkouts) rarely meet; within a run, _used_ports keeps every port handed out once.
_next_port = _slice_low + random.randrange(_slice)


def free_port():
    """A port free for TCP+UDP on both loopbacks, not handed out before in this run."""
    global _next_port
    for _ in range(_slice):
        port = _next_port
        _next_port = _slice_low + (_next_port + 1 - _slice_low) % _slice
        if port not in _used_ports and _port_free(port):
            _used_ports.add(port)
            return port
    raise RuntimeError("no free loopback port found")


def check_sanitizers(text, what):
    m = SANITIZER_RE.search(text or "")
    if m:
        start = max(0, m.start() - 200)
        pytest.fail("%s printed a sanitizer report:\n%s" % (what, text[start:start + 6000]))


def wait_for(fn, timeout, interval=0.05):
    """Polls fn() until it returns a true value or timeout passes; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


class CtlError(AssertionError):
    pass


class Nameplate:
    """One nameplated instance with its config, data directory and helpers."""

    def __init__(self, tmp, data_dir=None):
        self.tmp = str(tmp)
        self.conf = os.path.join(self.tmp, "nameplate.conf")
        self.data_dir = data_dir or os.path.join(self.tmp, "var")
        self.dns_port = free_port()
        self.http_port = free_port()
        self.proc = None
        self.log_path = os.path.join(self.tmp, "nameplated.stderr")
        self.logs = []          # stderr of every run, for the teardown report
        self.admin_secret = None
        self.options = {}
        self.extra = ""

    # -- config ------------------------------------------------------------------------

    # Abuse protection ([abuse]) refuses a third update of a name in two minutes and holds
    # a name whose address changes look like fast flux: the suite's other tests update far
    # faster than any home line, so unless a test gives its own [abuse] keys (abuse={} for
    # the defaults) the budgets and the automatic states are off.
    ABUSE_OFF = {"host_per_window": 0, "host_per_day": 0, "token_per_window": 0,
                 "token_per_day": 0, "source_per_window": 0, "source_per_day": 0,
                 "watch_score": 0, "hold_score": 0, "quarantine_score": 0,
                 "shared_accounts": 0, "create_per_account_hour": 0,
                 "create_per_source_hour": 0, "reports_per_source_hour": 0}

    def config_text(self, dns=None, http=None, zone=None, server=None, extra=None,
                    abuse=None):
        dns = dict(dns or {})
        http = dict(http or {})
        zone = dict(zone or {})
        lines = ["[server]", "data_dir = %s" % self.data_dir]
        for k, v in (server or {}).items():
            lines.append("%s = %s" % (k, v))
        lines += ["", "[dns]",
                  "listen = 127.0.0.1@%d" % self.dns_port,
                  "listen = ::1@%d" % self.dns_port]
        dns.setdefault("workers", 2)
        # Response rate limiting off: tests ask one name from one address far faster than
        # any resolver would; test_rrl.py turns it on.
        dns.setdefault("rrl_rate", 0)
        dns.setdefault("tcp_idle_timeout", 2)
        for k, v in dns.items():
            lines.append("%s = %s" % (k, v))
        lines += ["", "[http]", "listen = 127.0.0.1:%d" % self.http_port]
        http.setdefault("trusted_proxies", "127.0.0.2/32")
        for k, v in http.items():
            lines.append("%s = %s" % (k, v))
        lines += ["", "[abuse]"]
        for k, v in (self.ABUSE_OFF if abuse is None else abuse).items():
            lines.append("%s = %s" % (k, v))
        # The zone last: a test's extra lines may add keys to it.
        lines += ["", "[zone %s]" % ZONE,
                  "ns = ns1.%s" % ZONE,
                  "ns = ns2.%s" % ZONE,
                  "contact = hostmaster.%s" % ZONE]
        zone.setdefault("ttl", 60)
        zone.setdefault("negative_ttl", 30)
        for k, v in zone.items():
            for one in (v if isinstance(v, list) else [v]):  # a list: a repeated key
                lines.append("%s = %s" % (k, one))
        if extra:
            lines += ["", extra.strip()]
        return "\n".join(lines) + "\n"

    def write_config(self, **kw):
        os.makedirs(self.tmp, exist_ok=True)
        with open(self.conf, "w") as f:
            f.write(self.config_text(**kw))
        return self.conf

    # -- nameplatectl ------------------------------------------------------------------

    def ctl(self, *args, check=True, timeout=30, input=None):
        cmd = [NAMEPLATECTL, "-c", self.conf] + [str(a) for a in args]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL if input is None else None, input=input)
        check_sanitizers(r.stderr, "nameplatectl %s" % " ".join(map(str, args)))
        if check and r.returncode != 0:
            raise CtlError("nameplatectl %s exited %d\nstdout:\n%s\nstderr:\n%s"
                           % (" ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
        return r

    def init(self):
        r = self.ctl("init")
        m = re.search(r"admin secret: (\S+)", r.stdout)
        assert m, "init did not print 'admin secret: SECRET':\n%s" % r.stdout
        self.admin_secret = m.group(1)
        return self.admin_secret

    @staticmethod
    def last_line(text):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
        assert lines, "no output"
        return lines[-1]

    def add_user(self, name):
        self.ctl("user", "add", name)

    def add_host(self, fqdn, user, wildcard=False):
        args = ["host", "add", fqdn, "--user", user]
        if wildcard:
            args.append("--wildcard")
        r = self.ctl(*args)
        secret = self.last_line(r.stdout)
        assert re.fullmatch(r"\S{16,}", secret), "host add: last line %r is no secret" % secret
        return secret

    def import_hosts(self, count, user):
        """Imports hosts h0 .. h<count-1> of ZONE, owned by user, each with one address."""
        zf = os.path.join(self.tmp, "hosts.zone")
        with open(zf, "w") as f:
            f.write("$ORIGIN %s.\n" % ZONE)
            for i in range(count):
                f.write("h%d 60 IN A 10.%d.%d.%d\n" % (i, i >> 16 & 255, i >> 8 & 255, i & 255))
        self.ctl("zone", "import", zf, "--zone", ZONE, "--user", user, timeout=120)

    # -- nameplated --------------------------------------------------------------------

    def start(self, wait=True, args=(), env=None):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.errf = open(self.log_path, "w")
        self.proc = subprocess.Popen([NAMEPLATED, "-c", self.conf, "-f"] + list(args),
                                     stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()
        return self.proc

    def stderr(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        dns_ok = http_ok = False
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("nameplated exited with %s during start:\n%s"
                                     % (self.proc.returncode, self.stderr()))
            if not dns_ok:
                # A fresh ID per try, and stray datagrams ignored: a socket may get the
                # ephemeral port of an earlier try whose late answer is still in flight.
                q = dns.message.make_query(ZONE + ".", "SOA")
                try:
                    r = dns.query.udp(q, "127.0.0.1", port=self.dns_port, timeout=0.2,
                                      ignore_unexpected=True)
                    dns_ok = r.rcode() == dns.rcode.NOERROR
                except (dns.exception.DNSException, OSError):
                    pass
            if dns_ok and not http_ok:
                try:
                    socket.create_connection(("127.0.0.1", self.http_port), timeout=0.2).close()
                    http_ok = True
                except OSError:
                    pass
            if dns_ok and http_ok:
                return
            time.sleep(0.05)
        raise AssertionError("nameplated not ready after %.0fs (dns=%s http=%s):\n%s"
                             % (timeout, dns_ok, http_ok, self.stderr()))

    def _collect(self):
        """Closes the finished run's log and keeps its text (once per run)."""
        if getattr(self, "errf", None):
            self.errf.close()
            self.errf = None
            self.logs.append(self.stderr())

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stops the server; returns its exit status (negative = killed by a signal)."""
        if self.proc is None or self.proc.poll() is not None:
            rc = None if self.proc is None else self.proc.returncode
        else:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._collect()
                raise AssertionError("nameplated did not stop within %ds after signal %d:\n%s"
                                     % (timeout, sig, self.logs[-1]))
        self._collect()
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        rc = self.stop()
        self.start()
        return rc

    # -- DNS ---------------------------------------------------------------------------

    def query(self, name, rdtype="A", tcp=False, addr="127.0.0.1", timeout=DNS_TIMEOUT,
              **kw):
        q = dns.message.make_query(name, rdtype, **kw)
        if tcp:
            return dns.query.tcp(q, addr, port=self.dns_port, timeout=timeout)
        return dns.query.udp(q, addr, port=self.dns_port, timeout=timeout)

    def addrs(self, name, rdtype="A", **kw):
        """The set of addresses (or rdata texts) the server answers for name/rdtype."""
        r = self.query(name, rdtype, **kw)
        out = set()
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rdtype):
                out |= {rd.to_text() for rd in rrset}
        return out

    def serial(self):
        r = self.query(ZONE + ".", "SOA")
        assert r.rcode() == dns.rcode.NOERROR and r.answer, r
        return r.answer[0][0].serial

    def udp_raw(self, wire, addr="127.0.0.1", timeout=1.0):
        """Sends wire in one datagram; returns the reply bytes or None after timeout."""
        fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
        with socket.socket(fam, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(wire, (addr, self.dns_port))
            try:
                return s.recv(65535)
            except socket.timeout:
                return None

    def tcp_connect(self, addr="127.0.0.1", timeout=3.0):
        return socket.create_connection((addr, self.dns_port), timeout=timeout)

    # -- HTTP --------------------------------------------------------------------------

    def http(self, path, method="GET", headers=None, source=None, timeout=10):
        """One HTTP request; returns (status, headers-dict lowercased, body str)."""
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout,
                                       source_address=(source, 0) if source else None)
        try:
            c.request(method, path, headers=headers or {})
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
            return r.status, {k.lower(): v for k, v in r.getheaders()}, body
        finally:
            c.close()

    def update(self, hostname=None, myip=None, user=None, secret=None, ua=UA, params=None,
               source=None, headers=None, auth=True):
        """GET /nic/update; returns (status, headers, body lines)."""
        q = []
        if hostname is not None:
            q.append("hostname=" + hostname)
        if myip is not None:
            q.append("myip=" + myip)
        for k, v in (params or {}).items():
            q.append("%s=%s" % (k, v))
        path = "/nic/update" + ("?" + "&".join(q) if q else "")
        h = dict(headers or {})
        if ua is not None:
            h["User-Agent"] = ua
        if auth:
            cred = "%s:%s" % (user, secret)
            h["Authorization"] = "Basic " + base64.b64encode(cred.encode()).decode()
        status, hdrs, body = self.http(path, headers=h, source=source)
        return status, hdrs, [ln.strip() for ln in body.splitlines() if ln.strip()]

    def finish(self, failed):
        """Teardown: stop, check sanitizers, and print the logs when the test failed."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.stop()
            elif self.proc is not None:
                self._collect()
        finally:
            if failed:
                for i, log in enumerate(self.logs):
                    print("---- nameplated stderr (run %d) ----\n%s" % (i + 1, log[-20000:]))
        for i, log in enumerate(self.logs):
            check_sanitizers(log, "nameplated (run %d)" % (i + 1))


TEST_TIMEOUT = int(os.environ.get("NP_TEST_TIMEOUT", "120"))


def _alarm(signum, frame):
    raise TimeoutError("test took longer than %ds (NP_TEST_TIMEOUT)" % TEST_TIMEOUT)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Bounds every test (setup, call and teardown) so a hung server cannot hang CI."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def _failed(request):
    rep = getattr(request.node, "rep_call", None)
    return rep is None or rep.failed


@pytest.fixture
def np_factory(tmp_path, request):
    """Makes Nameplate instances (each in its own directory); all are stopped at the end."""
    made = []

    def make(name="np", data_dir=None):
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        n = Nameplate(d, data_dir=data_dir)
        made.append(n)
        return n

    yield make
    for n in made:
        n.finish(_failed(request))


@pytest.fixture
def np(np_factory):
    """A configured, initialised, running server with user 'alice' and host
    home.dyn.example (np.secret) owned by her."""
    n = np_factory()
    n.write_config()
    n.init()
    n.add_user("alice")
    n.secret = n.add_host("home.%s" % ZONE, "alice")
    n.start()
    return n


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """`make test` runs the tests in parallel (pytest-xdist, --dist loadgroup). Those that
    build network namespaces add veth pairs and routes to the host's own namespace, so they
    run one after another on one worker; so do those that drive Chromium, the heaviest
    process a test starts. Tests marked `solo` (they measure rates or watch timed state
    changes) are left to a second, serial pass (Makefile: system)."""
    for item in items:
        if getattr(item.module, "netns", None) is not None:
            item.add_marker(pytest.mark.xdist_group("netns"))
        elif "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("browser"))


def pytest_configure(config):
    config.addinivalue_line("markers", "solo: timing-sensitive; run with no other test "
                            "at the same time (the Makefile's second, serial pass)")
    for b in (NAMEPLATED, NAMEPLATECTL):
        if not os.access(b, os.X_OK):
            raise pytest.UsageError("%s is not built (NP_BUILD=%s); run make first" % (b, BUILD))

# SPDX-License-Identifier: MIT
# The client's rfc2136 protocol (RFC 2136 UPDATE signed with TSIG HMAC-SHA256) against a
# real Knot DNS (Debian's knotd) on loopback: A and AAAA published and replaced, seen by
# kdig and dig; a wrong secret is a latched fatal that changes nothing in Knot; a stopped
# knotd is transient and retried. knsupdate and nsupdate against the same knotd check the
# set-up. A small dnspython double checks the TCP fallback after TC=1 and that forged or
# unsigned answers are never taken as success.

import base64
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import threading
import time

import dns.flags
import dns.message
import dns.name
import dns.opcode
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.update
import pytest

from conftest import BUILD, check_sanitizers, free_port, wait_for

NAMEPLATE = os.path.join(BUILD, "nameplate")
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
ZONE = "dyn.example"
HOST = "home." + ZONE
KEY = "nameplate-key"

pytestmark = pytest.mark.skipif(not os.path.exists(KNOTD), reason="knotd not installed")


def new_secret():
    return base64.b64encode(os.urandom(32)).decode()


class Knot:
    """One knotd in the foreground with zone dyn.example, updatable with key KEY."""

    def __init__(self, tmp):
        self.dir = os.path.join(str(tmp), "knot")
        os.makedirs(self.dir)
        self.port = free_port()
        self.secret = new_secret()
        self.conf = os.path.join(self.dir, "knot.conf")
        self.log_path = os.path.join(self.dir, "knotd.log")
        self.proc = None
        with open(os.path.join(self.dir, ZONE + ".zone"), "w") as f:
            f.write("$ORIGIN %s.\n$TTL 300\n"
                    "@ SOA ns1 hostmaster 1 3600 600 86400 60\n"
                    "@ NS ns1\nns1 A 127.0.0.1\n"
                    "home A 192.0.2.1\nhome AAAA 2001:db8::1\n" % ZONE)
        with open(self.conf, "w") as f:
            f.write("server:\n    rundir: %s\n    listen: 127.0.0.1@%d\n"
                    "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n"
                    "log:\n  - target: stderr\n    any: info\n"
                    "database:\n    storage: %s\n"
                    "key:\n  - id: %s\n    algorithm: hmac-sha256\n    secret: %s\n"
                    "acl:\n  - id: upd\n    key: %s\n    action: update\n"
                    "template:\n  - id: default\n    storage: %s\n    file: \"%%s.zone\"\n"
                    "    zonefile-sync: -1\n    journal-content: changes\n"
                    "zone:\n  - domain: %s\n    acl: upd\n"
                    % (self.dir, self.port, self.dir, KEY, self.secret, KEY, self.dir, ZONE))
        self.keyring = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", self.secret)})

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen([KNOTD, "-c", self.conf], stdout=log, stderr=log)
        log.close()
        ok = wait_for(lambda: self.proc.poll() is None and self.soa_ok(), 10)
        assert ok, "knotd did not start:\n" + self.log()

    def soa_ok(self):
        try:
            r = dns.query.udp(dns.message.make_query(ZONE, "SOA"), "127.0.0.1",
                              port=self.port, timeout=0.5)
            return r.rcode() == dns.rcode.NOERROR
        except Exception:
            return False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def addrs(self, name=HOST):
        """The A and AAAA sets as dnspython sees them."""
        out = []
        for t in ("A", "AAAA"):
            r = dns.query.udp(dns.message.make_query(name, t), "127.0.0.1", port=self.port,
                              timeout=2)
            out.append(sorted(rr.to_text() for rrset in r.answer for rr in rrset))
        return out

    def updates_done(self):
        return self.log().count("DDNS, finished")


@pytest.fixture
def knot(tmp_path):
    k = Knot(tmp_path)
    k.start()
    yield k
    k.stop()


def tool_answers(tool, port, name, rtype):
    """kdig or dig +short, sorted."""
    retry = "+retry=0" if tool == "kdig" else "+tries=1"
    p = subprocess.run([tool, "@127.0.0.1", "-p", str(port), name, rtype, "+short",
                        "+time=2", retry], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return sorted(line for line in p.stdout.split() if line)


class Client:
    """A nameplate config with one rfc2136 host, and runs of the binary."""

    def __init__(self, tmp, port, secret, key=KEY, timeout=2, retry_base=1):
        self.dir = os.path.join(str(tmp), "client")
        os.makedirs(self.dir, exist_ok=True)
        self.conf = os.path.join(self.dir, "client.conf")
        self.state = os.path.join(self.dir, "state")
        self.port, self.secret, self.key = port, secret, key
        self.timeout, self.retry_base = timeout, retry_base
        self.outputs = []

    def write(self, v4, v6="none"):
        secret_file = os.path.join(self.dir, "tsig.secret")
        with open(os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(self.secret + "\n")
        text = ("[client]\nstate_dir = %s\ntimeout = %d\nretry_base = %d\nretry_max = 4\n"
                "log_level = debug\n\n"
                "[host %s]\nprotocol = rfc2136\ndns_server = 127.0.0.1@%d\nzone = %s\n"
                "tsig_key = %s\ntsig_secret_file = %s\nttl = 60\nipv4 = %s\nipv6 = %s\n"
                % (self.state, self.timeout, self.retry_base, HOST, self.port, ZONE,
                   self.key, secret_file, v4, v6))
        with open(os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
            f.write(text)

    def run(self, *args, timeout=30):
        p = subprocess.run([NAMEPLATE, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=timeout)
        self.outputs.append(p.stdout + p.stderr)
        check_sanitizers(p.stderr, "nameplate " + " ".join(args))
        return p

    def update(self):
        return self.run("update", "--once")

    def status(self):
        p = self.run("status", "--json")
        assert p.returncode in (0, 1), p.stderr
        doc = json.loads(p.stdout)
        hosts = doc["hosts"] if isinstance(doc, dict) and "hosts" in doc else doc
        for h in hosts:
            if h.get("host", h.get("fqdn")) == HOST:
                return h
        raise AssertionError("no %s in status: %s" % (HOST, p.stdout))


def status_code(st):
    return st.get("last_code", st.get("code"))


def assert_published(knot, v4, v6):
    for tool in ("kdig", "dig"):
        assert tool_answers(tool, knot.port, HOST, "A") == v4, tool
        assert tool_answers(tool, knot.port, HOST, "AAAA") == v6, tool


# -- the set-up itself: stock tools are accepted by this knotd ------------------------------

def test_knsupdate_and_nsupdate_are_accepted(knot):
    script = ("server 127.0.0.1 %d\nzone %s.\nupdate delete tool.%s. TXT\n"
              "update add tool.%s. 60 TXT \"%%s\"\nsend\n" % (knot.port, ZONE, ZONE, ZONE))
    for tool, arg in (("knsupdate", "hmac-sha256:%s:%s"), ("nsupdate", "hmac-sha256:%s:%s")):
        p = subprocess.run([tool, "-y", arg % (KEY, knot.secret)], input=script % tool,
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 0, tool + ": " + p.stdout + p.stderr
        r = dns.query.udp(dns.message.make_query("tool." + ZONE, "TXT"), "127.0.0.1",
                          port=knot.port, timeout=2)
        assert [rr.to_text() for rrset in r.answer for rr in rrset] == ['"%s"' % tool]
    # And the same tool with a wrong secret is refused.
    p = subprocess.run(["knsupdate", "-y", "hmac-sha256:%s:%s" % (KEY, new_secret())],
                       input=script % "wrong", capture_output=True, text=True, timeout=20)
    assert p.returncode != 0
    r = dns.query.udp(dns.message.make_query("tool." + ZONE, "TXT"), "127.0.0.1",
                      port=knot.port, timeout=2)
    assert [rr.to_text() for rrset in r.answer for rr in rrset] == ['"nsupdate"']


# -- nameplate against knotd -------------------------------------------------------------

def test_update_publishes_and_replaces_a_and_aaaa(knot, tmp_path):
    assert_published(knot, ["192.0.2.1"], ["2001:db8::1"])
    c = Client(tmp_path, knot.port, knot.secret)
    c.write("static:198.51.100.10", "static:2001:db8::10")
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + knot.log()
    # The old records are gone: the RRsets were replaced, not added to.
    assert_published(knot, ["198.51.100.10"], ["2001:db8::10"])
    st = c.status()
    assert status_code(st) == "NOERROR"
    assert not st.get("latched")

    # Nothing changed: no second update reaches Knot.
    done = knot.updates_done()
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr
    assert knot.updates_done() == done

    # New addresses: replaced again.
    c.write("static:198.51.100.11", "static:2001:db8::11")
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + knot.log()
    assert_published(knot, ["198.51.100.11"], ["2001:db8::11"])
    assert knot.updates_done() == done + 1

    # The TTL is the configured one.
    r = dns.query.udp(dns.message.make_query(HOST, "A"), "127.0.0.1", port=knot.port,
                      timeout=2)
    assert r.answer[0].ttl == 60


def test_ipv4_only_leaves_aaaa_alone(knot, tmp_path):
    c = Client(tmp_path, knot.port, knot.secret)
    c.write("static:198.51.100.20")
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + knot.log()
    assert_published(knot, ["198.51.100.20"], ["2001:db8::1"])


def test_wrong_secret_is_a_latched_fatal(knot, tmp_path):
    c = Client(tmp_path, knot.port, new_secret())
    c.write("static:198.51.100.30", "static:2001:db8::30")
    p = c.update()
    assert p.returncode == 1, p.stdout + p.stderr
    st = c.status()
    assert st.get("latched") is True, st
    assert status_code(st) == "BADSIG", st
    assert "secret" in st.get("last_message", st.get("message", "")), st
    assert_published(knot, ["192.0.2.1"], ["2001:db8::1"])
    assert knot.updates_done() == 0

    # Latched: the next pass does not try again (Knot sees nothing, the attempt time stays).
    attempt = st.get("last_attempt")
    time.sleep(1.1)
    p = c.update()
    assert p.returncode == 1
    st2 = c.status()
    assert st2.get("latched") is True and st2.get("last_attempt") == attempt, st2
    assert knot.updates_done() == 0

    # A fixed secret is a changed host section: the latch clears and the update goes in.
    c.secret = knot.secret
    c.write("static:198.51.100.30", "static:2001:db8::30")
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + knot.log()
    assert_published(knot, ["198.51.100.30"], ["2001:db8::30"])


def test_unknown_key_is_a_latched_fatal(knot, tmp_path):
    c = Client(tmp_path, knot.port, knot.secret, key="other-key")
    c.write("static:198.51.100.31")
    p = c.update()
    assert p.returncode == 1
    st = c.status()
    assert st.get("latched") is True and status_code(st) == "BADKEY", st
    assert_published(knot, ["192.0.2.1"], ["2001:db8::1"])


def test_knotd_stopped_is_transient_and_retried(knot, tmp_path):
    c = Client(tmp_path, knot.port, knot.secret, timeout=1, retry_base=1)
    c.write("static:198.51.100.40", "static:2001:db8::40")
    knot.stop()
    p = c.update()
    assert p.returncode == 1
    st = c.status()
    assert not st.get("latched"), st
    assert st.get("last_class", "transient") == "transient", st
    assert status_code(st) in ("network", "timeout"), st

    knot.start()
    # retry_base = 1 s (+-20%): the next pass after that publishes.
    time.sleep(1.5)
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + knot.log()
    assert_published(knot, ["198.51.100.40"], ["2001:db8::40"])
    assert status_code(c.status()) == "NOERROR"


# -- a dnspython double: TCP fallback, forged and unsigned answers -------------------------

def recv_exactly(conn, n):
    buf = b""
    for _ in range(n + 1):
        if len(buf) == n:
            return buf
        chunk = conn.recv(n - len(buf))
        if not chunk:
            break
        buf += chunk
    raise AssertionError("short TCP read")


class Double:
    """A UDP+TCP DNS server on loopback that verifies the client's TSIG with dnspython
    and answers per mode:
      tc        UDP: an empty TC=1 answer; TCP: a signed NOERROR
      forged    UDP: first an answer with a broken MAC, then the real one
      unsigned  UDP: an unsigned NOERROR only
      refused   UDP: a signed REFUSED
      badtime   UDP: a signed NOTAUTH/BADTIME saying the server's clock is 1 h ahead"""

    def __init__(self, mode, secret):
        self.mode = mode
        self.keyring = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", secret)})
        self.port = free_port()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", self.port))
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(4)
        self.requests = []  # (transport, parsed message)
        self.errors = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def answer(self, wire, transport):
        q = dns.message.from_wire(wire, keyring=self.keyring)  # raises if the TSIG is bad
        self.requests.append((transport, q))
        r = dns.message.make_response(q)
        if self.mode == "refused":
            r.set_rcode(dns.rcode.REFUSED)
        if self.mode == "badtime":
            # RFC 8945 5.2.3: signed, the server's own clock in other data (here 1 h ahead).
            r.set_rcode(dns.rcode.NOTAUTH)
            r.use_tsig(self.keyring, q.keyname, tsig_error=dns.rcode.BADTIME,
                       other_data=(int(time.time()) + 3600).to_bytes(6, "big"),
                       algorithm=q.keyalgorithm)
            r.request_mac = q.mac
        return q, r

    def serve(self):
        for _ in range(1000):
            if self.stop_flag.is_set():
                return
            ready, _, _ = select.select([self.udp, self.tcp], [], [], 0.1)
            try:
                if self.udp in ready:
                    self.serve_udp()
                if self.tcp in ready:
                    self.serve_tcp()
            except Exception as e:  # reported by the test
                self.errors.append(repr(e))

    def serve_udp(self):
        wire, peer = self.udp.recvfrom(65535)
        q, r = self.answer(wire, "udp")
        if self.mode == "tc":
            t = dns.update.UpdateMessage(ZONE, id=q.id)
            t.flags |= dns.flags.QR | dns.flags.TC
            self.udp.sendto(t.to_wire(), peer)
            return
        if self.mode == "unsigned":
            u = dns.update.UpdateMessage(ZONE, id=q.id)
            u.flags |= dns.flags.QR
            self.udp.sendto(u.to_wire(), peer)
            return
        good = r.to_wire()
        if self.mode == "forged":
            bad = bytearray(good)
            bad[-10] ^= 0xff  # inside the MAC (the last 6 bytes are ID, error, other len)
            self.udp.sendto(bytes(bad), peer)
            time.sleep(0.1)
        self.udp.sendto(good, peer)

    def serve_tcp(self):
        conn, _ = self.tcp.accept()
        with conn:
            conn.settimeout(2)
            n = int.from_bytes(recv_exactly(conn, 2), "big")
            wire = recv_exactly(conn, n)
            q, r = self.answer(wire, "tcp")
            out = r.to_wire()
            conn.sendall(len(out).to_bytes(2, "big") + out)

    def close(self):
        self.stop_flag.set()
        self.thread.join(5)
        self.udp.close()
        self.tcp.close()


@pytest.fixture
def double_factory():
    made = []

    def make(mode, secret):
        d = Double(mode, secret)
        made.append(d)
        return d
    yield make
    for d in made:
        d.close()


def test_update_message_shape(double_factory, tmp_path):
    secret = new_secret()
    d = double_factory("ok", secret)
    c = Client(tmp_path, d.port, secret)
    c.write("static:198.51.100.50", "static:2001:db8::50")
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + repr(d.errors)
    assert not d.errors
    assert len(d.requests) == 1
    transport, q = d.requests[0]
    assert transport == "udp"
    assert q.opcode() == dns.opcode.UPDATE
    assert q.had_tsig and q.keyname == dns.name.from_text(KEY)
    assert [(z.name.to_text(), z.rdtype) for z in q.zone] == [(ZONE + ".", dns.rdatatype.SOA)]
    # dnspython keeps the class of a deletion in .deleting.
    got = [(u.name.to_text(), dns.rdataclass.to_text(u.deleting or u.rdclass),
            dns.rdatatype.to_text(u.rdtype), u.ttl, sorted(r.to_text() for r in u))
           for u in q.update]
    assert got == [(HOST + ".", "ANY", "A", 0, []),
                   (HOST + ".", "IN", "A", 60, ["198.51.100.50"]),
                   (HOST + ".", "ANY", "AAAA", 0, []),
                   (HOST + ".", "IN", "AAAA", 60, ["2001:db8::50"])]


def test_truncated_answer_falls_back_to_tcp(double_factory, tmp_path):
    secret = new_secret()
    d = double_factory("tc", secret)
    c = Client(tmp_path, d.port, secret)
    c.write("static:198.51.100.51")
    p = c.update()
    assert p.returncode == 0, p.stdout + p.stderr + repr(d.errors)
    assert [t for t, _ in d.requests] == ["udp", "tcp"]
    assert status_code(c.status()) == "NOERROR"


def test_forged_answer_is_ignored(double_factory, tmp_path):
    secret = new_secret()
    d = double_factory("forged", secret)
    c = Client(tmp_path, d.port, secret)
    c.write("static:198.51.100.52")
    p = c.update()
    # The broken MAC is discarded; the real answer that follows is taken.
    assert p.returncode == 0, p.stdout + p.stderr + repr(d.errors)
    assert status_code(c.status()) == "NOERROR"


def test_unsigned_noerror_is_never_success(double_factory, tmp_path):
    secret = new_secret()
    d = double_factory("unsigned", secret)
    c = Client(tmp_path, d.port, secret, timeout=1)
    c.write("static:198.51.100.53")
    p = c.update()
    assert p.returncode == 1
    st = c.status()
    assert not st.get("latched"), st
    assert status_code(st) == "timeout", st
    assert "unsigned" in st.get("last_message", st.get("message", "")), st
    assert len(d.requests) == 2  # sent, then retried once


def test_signed_refused_is_fatal(double_factory, tmp_path):
    secret = new_secret()
    d = double_factory("refused", secret)
    c = Client(tmp_path, d.port, secret)
    c.write("static:198.51.100.54")
    p = c.update()
    assert p.returncode == 1
    st = c.status()
    assert st.get("latched") is True and status_code(st) == "REFUSED", st


def test_signed_badtime_is_fatal_with_the_skew(double_factory, tmp_path):
    secret = new_secret()
    d = double_factory("badtime", secret)
    c = Client(tmp_path, d.port, secret)
    c.write("static:198.51.100.55")
    p = c.update()
    assert p.returncode == 1
    st = c.status()
    assert st.get("latched") is True and status_code(st) == "BADTIME", st
    msg = st.get("last_message", "")
    assert "clock" in msg and ("3600" in msg or "3599" in msg or "3601" in msg), msg

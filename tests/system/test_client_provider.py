# SPDX-License-Identifier: MIT
# The client `nameplate` against a provider double: a small HTTP server on 127.0.0.1 that
# answers a scripted sequence of dyndns2 results and records every request with its time.
# Asserts what the client does for each result code: success is recorded and not repeated,
# fatal codes stop the host (latched, persisted, cleared by reset or a config edit),
# transient codes back off exponentially with jitter and honour Retry-After, and the hooks
# get their details in the environment. Sources are static:ADDR, so no root is needed.

import base64
import email.utils
import http.server
import json
import os
import signal
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import BUILD, check_sanitizers, wait_for

NAMEPLATE = os.path.join(BUILD, "nameplate")
HOST = "home.dyn.example"
USER = "alice"
SECRET = "s3cret-Update-Key"
UA = "Nameplate - nameplate client - 0.1"
V4 = "203.0.113.7"
V6 = "2001:db8::7"


class Provider:
    """A dyndns2 provider double. script: a list of answers, each a body string or a tuple
    (status, body, headers); once the script is used up the last answer repeats."""

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        self.lock = threading.Lock()
        provider = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                if u.path == "/api/v1/status":  # `nameplate status` asks for incidents
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with provider.lock:
                    provider.requests.append({
                        "time": time.monotonic(),
                        "path": u.path,
                        "query": urllib.parse.parse_qs(u.query, keep_blank_values=True),
                        "headers": dict(self.headers.items()),
                    })
                    i = min(len(provider.requests) - 1, len(provider.script) - 1)
                    answer = provider.script[i]
                if isinstance(answer, str):
                    answer = (200, answer, {})
                status, body, headers = answer
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/nic/update" % self.port

    def count(self):
        with self.lock:
            return len(self.requests)

    def times(self):
        with self.lock:
            return [r["time"] for r in self.requests]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Client:
    """One client configuration in its own directory, and runs of build/nameplate."""

    def __init__(self, tmp, provider, url=None):
        self.dir = str(tmp)
        self.provider = provider
        self.url = url or provider.url
        self.conf = os.path.join(self.dir, "client.conf")
        self.state_dir = os.path.join(self.dir, "state")
        self.secret_file = os.path.join(self.dir, "home.secret")
        self.client = {"interval": 1, "retry_base": 1, "retry_max": 60, "timeout": 5}
        self.host = {"ipv4": "static:" + V4}
        self.daemon = None
        self.daemon_logs = []
        self.write_secret(SECRET)
        self.write()

    def write_secret(self, secret):
        fd = os.open(self.secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secret + "\n")
        os.chmod(self.secret_file, 0o600)

    def write(self):
        lines = ["[client]", "state_dir = %s" % self.state_dir]
        lines += ["%s = %s" % kv for kv in self.client.items()]
        lines += ["", "[host %s]" % HOST, "server = %s" % self.url,
                  "user = %s" % USER, "secret_file = %s" % self.secret_file]
        lines += ["%s = %s" % kv for kv in self.host.items()]
        fd = os.open(self.conf, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")

    def run(self, *args, timeout=30):
        r = subprocess.run([NAMEPLATE, "-c", self.conf] + list(args), capture_output=True,
                           text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        check_sanitizers(r.stderr, "nameplate %s" % " ".join(args))
        return r

    def status(self):
        r = self.run("status", "--json")
        assert r.returncode == 0, r.stderr
        hosts = json.loads(r.stdout)["hosts"]
        assert [h["host"] for h in hosts] == [HOST]
        return hosts[0]

    def start(self):
        assert self.daemon is None
        log = os.path.join(self.dir, "daemon-%d.log" % len(self.daemon_logs))
        self.daemon_logs.append(log)
        self.daemon = subprocess.Popen([NAMEPLATE, "-c", self.conf, "-v", "run"],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=open(log, "w"))

    def stop(self):
        if self.daemon is None:
            return
        self.daemon.send_signal(signal.SIGTERM)
        try:
            rc = self.daemon.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.daemon.kill()
            self.daemon.wait(timeout=10)
            rc = None
        self.daemon = None
        assert rc == 0, "nameplate run exited with %r:\n%s" % (rc, self.log())

    def log(self):
        text = ""
        for p in self.daemon_logs:
            with open(p) as f:
                text += f.read()
        return text

    def finish(self):
        try:
            if self.daemon is not None:
                self.daemon.kill()
                self.daemon.wait(timeout=10)
                self.daemon = None
        finally:
            check_sanitizers(self.log(), "nameplate run")


@pytest.fixture
def make_client(tmp_path):
    made = []

    def make(script, **host):
        p = Provider(script)
        d = tmp_path / ("c%d" % len(made))
        d.mkdir()
        c = Client(d, p)
        c.host.update(host)
        c.write()
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.finish()
        finally:
            c.provider.close()


def hold(seconds):
    """Lets the daemon run; time is the thing under test here."""
    time.sleep(seconds)


# ---- success ------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["good " + V4, "nochg " + V4])
def test_success_is_recorded_and_not_repeated(make_client, answer):
    c = make_client([answer])
    r = c.run("update", "--once")
    assert r.returncode == 0, r.stderr
    assert c.provider.count() == 1

    req = c.provider.requests[0]
    assert req["path"] == "/nic/update"
    assert req["query"]["hostname"] == [HOST]
    assert req["query"]["myip"] == [V4]
    assert req["headers"]["User-Agent"] == UA
    want = "Basic " + base64.b64encode(("%s:%s" % (USER, SECRET)).encode()).decode()
    assert req["headers"]["Authorization"] == want

    st = c.status()
    assert st["ipv4"] == V4 and st["ipv6"] is None
    assert st["last_code"] == answer.split()[0] and st["last_class"] == "ok"
    assert st["latched"] is False and st["next_attempt"] is None
    mode = os.stat(os.path.join(c.state_dir, HOST + ".state")).st_mode & 0o777
    assert mode == 0o600
    assert os.stat(c.state_dir).st_mode & 0o777 == 0o700

    # Unchanged: another one-shot run does not ask again.
    r = c.run("update", "--once")
    assert r.returncode == 0, r.stderr
    assert c.provider.count() == 1

    # The daemon sends once at start (the protocol's allowed nochg), then not again while
    # nothing changes, although it polls every second.
    c.start()
    hold(2.5)
    c.stop()
    assert c.provider.count() == 2, c.log()
    assert c.provider.requests[1]["query"]["myip"] == [V4]

    # --force does send again.
    r = c.run("update", "--once", "--force")
    assert r.returncode == 0
    assert c.provider.count() == 3


def test_both_families_in_myip(make_client):
    c = make_client(["good %s,%s" % (V4, V6)], ipv6="static:" + V6)
    r = c.run("update", "--once")
    assert r.returncode == 0, r.stderr
    assert c.provider.requests[0]["query"]["myip"] == ["%s,%s" % (V4, V6)]
    st = c.status()
    assert (st["ipv4"], st["ipv6"]) == (V4, V6)


def test_change_is_published(make_client):
    c = make_client(["good " + V4, "good 203.0.113.8"])
    assert c.run("update", "--once").returncode == 0
    c.host["ipv4"] = "static:203.0.113.8"
    c.write()
    assert c.run("update", "--once").returncode == 0
    assert c.provider.count() == 2
    assert c.provider.requests[1]["query"]["myip"] == ["203.0.113.8"]
    assert c.status()["ipv4"] == "203.0.113.8"


def test_good_loopback_is_success_when_asked_for(make_client):
    # "good 127.0.0.1" means "ignored" only when the client asked for another address.
    c = make_client(["good 127.0.0.1"], ipv4="static:127.0.0.1")
    assert c.run("update", "--once").returncode == 0
    st = c.status()
    assert st["latched"] is False and st["last_class"] == "ok"
    assert st["ipv4"] == "127.0.0.1"


# ---- fatal codes latch ------------------------------------------------------------------------

FATAL = ["badauth", "nohost", "notfqdn", "numhost", "abuse", "badagent", "!donator", "badsys",
         "!yours", "good 127.0.0.1", (401, "", {"WWW-Authenticate": 'Basic realm="x"'})]


@pytest.mark.parametrize("answer", FATAL, ids=lambda a: a if isinstance(a, str) else "http401")
def test_fatal_code_latches(make_client, answer):
    c = make_client([answer, "good " + V4])
    code = answer if isinstance(answer, str) else "badauth"

    # The daemon sends once, then never again although interval and retry_base are 1 s.
    c.start()
    assert wait_for(lambda: c.provider.count() >= 1, 10), c.log()
    hold(2.5)
    c.stop()
    assert c.provider.count() == 1, c.log()

    # The latch survives a restart of the daemon, and one-shot runs fail without sending.
    c.start()
    hold(1.5)
    c.stop()
    assert c.provider.count() == 1, c.log()
    r = c.run("update", "--once")
    assert r.returncode == 1
    assert c.provider.count() == 1

    st = c.status()
    assert st["latched"] is True and st["last_class"] == "fatal"
    assert st["last_code"] == code and st["next_attempt"] is None
    assert st["last_message"]
    text = c.run("status").stdout
    assert "STOPPED" in text and code in text and ("nameplate reset %s" % HOST) in text

    # reset clears it: the next pass sends again and succeeds.
    r = c.run("reset", HOST)
    assert r.returncode == 0, r.stderr
    assert c.status()["latched"] is False
    r = c.run("update", "--once")
    assert r.returncode == 0, r.stderr
    assert c.provider.count() == 2
    assert c.status()["last_code"] == "good"


def test_badauth_message_is_plain(make_client):
    c = make_client(["badauth"])
    assert c.run("update", "--once").returncode == 1
    msg = c.status()["last_message"]
    assert "refused the user name or secret" in msg
    assert "nameplate reset %s" % HOST in msg


def test_editing_the_host_section_clears_the_latch(make_client):
    c = make_client(["badauth", "good " + V4])
    assert c.run("update", "--once").returncode == 1
    # A change outside the host's section does not lift the stop...
    c.client["timeout"] = 6
    c.write()
    assert c.run("update", "--once").returncode == 1
    assert c.provider.count() == 1
    # ...a new secret in its secret file does (the user fixed the cause).
    c.write_secret("the-fixed-secret")
    assert c.run("update", "--once").returncode == 0
    assert c.provider.count() == 2
    auth = c.provider.requests[1]["headers"]["Authorization"]
    assert base64.b64decode(auth.split()[1]).decode() == USER + ":the-fixed-secret"


def test_sighup_with_an_edited_section_clears_the_latch(make_client):
    c = make_client(["nohost", "good " + V4])
    c.client["interval"] = 300
    c.write()
    c.start()
    assert wait_for(lambda: c.provider.count() >= 1, 10), c.log()
    hold(1.0)
    assert c.provider.count() == 1
    c.host["ipv6"] = "none"  # a new line, same meaning: the section changed all the same
    c.write()
    t0 = time.monotonic()
    c.daemon.send_signal(signal.SIGHUP)
    assert wait_for(lambda: c.provider.count() >= 2, 5), c.log()
    assert c.provider.times()[1] - t0 < 2.0
    c.stop()
    assert c.status()["last_code"] == "good"


# ---- transient codes back off -------------------------------------------------------------------


def test_backoff_grows_with_jitter(make_client):
    c = make_client(["911", "dnserr", (503, "", {}), "good " + V4])
    c.client.update({"interval": 60, "retry_base": 1, "retry_max": 60})
    c.write()
    c.start()
    assert wait_for(lambda: c.provider.count() >= 4, 20), c.log()
    hold(1.5)
    c.stop()
    t = c.provider.times()
    assert len(t) == 4, c.log()
    gaps = [b - a for a, b in zip(t, t[1:])]
    print("back-off gaps: %s" % ", ".join("%.2f s" % g for g in gaps))
    # retry_base 1 s doubling: 1, 2, 4 s, each within +/-20% (plus scheduling slack).
    for gap, base in zip(gaps, (1, 2, 4)):
        assert base * 0.8 - 0.05 <= gap <= base * 1.2 + 0.5, gaps
    st = c.status()
    assert st["last_code"] == "good" and st["failures"] == 0


def test_backoff_is_capped_by_retry_max(make_client):
    c = make_client(["911"])
    c.client.update({"interval": 60, "retry_base": 1, "retry_max": 2})
    c.write()
    c.start()
    assert wait_for(lambda: c.provider.count() >= 5, 20), c.log()
    c.stop()
    t = c.provider.times()
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert all(g <= 2 * 1.2 + 0.5 for g in gaps), gaps
    st = c.status()
    assert st["last_class"] == "transient" and st["failures"] >= 5
    assert st["latched"] is False and st["next_attempt"] is not None


@pytest.mark.parametrize("status", [503, 429])
def test_retry_after_seconds_is_honoured(make_client, status):
    c = make_client([(status, "", {"Retry-After": "3"}), "good " + V4])
    c.client.update({"interval": 60, "retry_base": 1})
    c.write()
    c.start()
    assert wait_for(lambda: c.provider.count() >= 2, 10), c.log()
    c.stop()
    t = c.provider.times()
    print("gap after Retry-After: 3 -> %.2f s" % (t[1] - t[0]))
    assert 3.0 <= t[1] - t[0] <= 4.5


def test_retry_after_http_date_is_honoured(make_client):
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    c = make_client([(503, "", {"Retry-After": when}), "good " + V4])
    c.client.update({"interval": 60, "retry_base": 1})
    c.write()
    c.start()
    assert wait_for(lambda: c.provider.count() >= 2, 12), c.log()
    c.stop()
    t = c.provider.times()
    # The date has one-second resolution; a plain back-off would retry after ~1 s.
    assert t[1] - t[0] >= 2.5, t[1] - t[0]


def test_one_shot_respects_backoff(make_client):
    c = make_client(["911", "good " + V4])
    c.client["retry_base"] = 30
    c.write()
    assert c.run("update", "--once").returncode == 1
    st = c.status()
    assert st["last_class"] == "transient" and st["failures"] == 1
    assert st["next_attempt"] >= int(time.time()) + 20
    assert c.run("update", "--once").returncode == 1
    assert c.provider.count() == 1


def test_unexpected_answer_is_transient(make_client):
    c = make_client(["<html>hello</html>"])
    assert c.run("update", "--once").returncode == 1
    st = c.status()
    assert st["last_class"] == "transient" and st["latched"] is False


def test_connection_refused_is_transient(make_client):
    c = make_client(["good " + V4])
    c.provider.close()
    r = c.run("update", "--once")
    assert r.returncode == 1
    st = c.status()
    assert st["last_class"] == "transient" and st["last_code"] == "connect"


def test_oversized_answer_is_refused(make_client):
    c = make_client(["good " + V4 + "\n" + "x" * 8000])
    assert c.run("update", "--once").returncode == 1
    assert c.status()["last_code"] == "toolarge"


# ---- hooks ------------------------------------------------------------------------------------


def read_env(path):
    env = {}
    with open(path) as f:
        for line in f.read().splitlines():
            k, _, v = line.partition("=")
            if k.startswith("NAMEPLATE_"):
                env[k] = v
    return env


def test_hooks_get_the_details_in_the_environment(make_client, tmp_path):
    changed = tmp_path / "changed.env"
    failed = tmp_path / "failed.env"
    c = make_client(["good %s,%s" % (V4, V6), "badauth"], ipv6="static:" + V6,
                    on_change="env > %s" % changed, on_error="env > %s" % failed)
    assert c.run("update", "--once").returncode == 0
    env = read_env(changed)
    assert env["NAMEPLATE_HOST"] == HOST
    assert env["NAMEPLATE_IPV4"] == V4 and env["NAMEPLATE_IPV6"] == V6
    assert env["NAMEPLATE_RESULT"] == "good"
    assert env["NAMEPLATE_MESSAGE"]
    assert not failed.exists()

    c.host["ipv4"] = "static:203.0.113.9"
    c.write()
    assert c.run("update", "--once").returncode == 1
    env = read_env(failed)
    assert env["NAMEPLATE_RESULT"] == "badauth"
    assert env["NAMEPLATE_IPV4"] == "203.0.113.9"
    assert "nameplate reset %s" % HOST in env["NAMEPLATE_MESSAGE"]


def test_hooks_run_from_the_daemon(make_client, tmp_path):
    changed = tmp_path / "changed.env"
    script = tmp_path / "hook.sh"
    script.write_text("#!/bin/sh\nenv > %s.tmp && mv %s.tmp %s\n" % (changed, changed, changed))
    script.chmod(0o700)
    c = make_client(["good " + V4], on_change=str(script))
    c.start()
    assert wait_for(changed.exists, 10), c.log()
    c.stop()
    assert read_env(changed)["NAMEPLATE_RESULT"] == "good"


def test_server_text_never_reaches_a_shell(make_client, tmp_path):
    pwned = tmp_path / "pwned"
    failed = tmp_path / "failed.env"
    c = make_client(["$(touch %s) `touch %s`" % (pwned, pwned)],
                    on_error="env > %s" % failed)
    assert c.run("update", "--once").returncode == 1
    assert failed.exists()
    assert not pwned.exists()


# ---- secrets and config -------------------------------------------------------------------------


def test_readable_secret_file_is_refused(make_client):
    c = make_client(["good " + V4])
    os.chmod(c.secret_file, 0o644)
    r = c.run("update", "--once")
    assert r.returncode == 1
    assert "secret file %s is readable by others (chmod 600)" % c.secret_file in r.stderr
    assert r.stderr.startswith(c.conf + ":")
    assert c.provider.count() == 0


def test_inline_secret_needs_a_private_config(make_client):
    c = make_client(["good " + V4])
    with open(c.conf) as f:
        text = f.read().replace("secret_file = %s" % c.secret_file, "secret = %s" % SECRET)
    with open(c.conf, "w") as f:
        f.write(text)
    os.chmod(c.conf, 0o640)
    r = c.run("check-config")
    assert r.returncode == 1 and "readable by others" in r.stderr
    os.chmod(c.conf, 0o600)
    r = c.run("check-config")
    assert r.returncode == 0, r.stderr
    assert c.run("update", "--once").returncode == 0


def test_usage_errors_exit_2(make_client):
    c = make_client(["good " + V4])
    assert c.run("frobnicate").returncode == 2
    assert c.run("reset").returncode == 2
    assert c.run("status", "--bogus").returncode == 2
    assert c.run("reset", "other.dyn.example").returncode == 1


# ---- against the real server --------------------------------------------------------------------


def test_against_nameplated(np, tmp_path):
    """The same client against nameplated itself: DNS answers what it published, a second
    pass sends nothing, and a wrong secret gets a real badauth that stops the host."""
    d = tmp_path / "real"
    d.mkdir()
    c = Client(d, None, url="http://127.0.0.1:%d/nic/update" % np.http_port)
    c.host["ipv6"] = "static:" + V6
    c.write_secret(np.secret)
    c.write()
    try:
        r = c.run("update", "--once")
        assert r.returncode == 0, r.stderr
        assert np.addrs(HOST, "A") == {V4}
        assert np.addrs(HOST, "AAAA") == {V6}
        st = c.status()
        assert st["last_code"] == "good" and (st["ipv4"], st["ipv6"]) == (V4, V6)

        c.host["ipv4"] = "static:203.0.113.99"
        c.write()
        assert c.run("update", "--once").returncode == 0
        assert np.addrs(HOST, "A") == {"203.0.113.99"}

        c.write_secret("wrong-" + np.secret)
        c.host["ipv4"] = "static:203.0.113.100"
        c.write()
        assert c.run("update", "--once").returncode == 1
        st = c.status()
        assert st["latched"] is True and st["last_code"] == "badauth"
        assert np.addrs(HOST, "A") == {"203.0.113.99"}
    finally:
        c.finish()

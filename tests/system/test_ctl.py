# SPDX-License-Identifier: MIT
# nameplatectl against a real store, with and without a running nameplated: init, users,
# hosts, secrets, blocking, zone import/export, and the demo script built on them.

import base64
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time

import dns.rcode
import dns.rdatatype
import dns.zone
import pytest

from conftest import BUILD, NAMEPLATECTL, ROOT, ZONE, check_sanitizers, free_port, wait_for

HOME = "home." + ZONE


@pytest.fixture
def fresh(np_factory):
    n = np_factory()
    n.write_config()
    return n


def test_init_prints_secret_once(fresh):
    r = fresh.ctl("init")
    secrets = re.findall(r"admin secret: (\S+)", r.stdout)
    assert len(secrets) == 1, r.stdout
    assert len(secrets[0]) >= 16
    r2 = fresh.ctl("init", check=False)
    assert r2.returncode == 1
    assert secrets[0] not in r2.stdout + r2.stderr
    assert "admin secret:" not in r2.stdout
    assert r2.stderr.strip(), "second init must say why it refuses"


def test_two_inits_give_different_secrets(np_factory):
    got = []
    for name in ("a", "b"):
        n = np_factory(name)
        n.write_config()
        got.append(n.init())
    assert got[0] != got[1]


def test_secrets_not_stored_in_clear(np):
    np.stop()
    blob = b""
    for root, _, files in os.walk(np.data_dir):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                blob += fh.read()
    assert blob, "no data files found under data_dir"
    assert np.secret.encode() not in blob
    assert np.admin_secret.encode() not in blob


def test_data_dir_not_world_readable(np):
    mode = os.stat(np.data_dir).st_mode & 0o777
    assert mode & 0o077 == 0, "data_dir mode %o" % mode


def test_check_config_ok(fresh):
    r = fresh.ctl("check-config")
    assert r.returncode == 0


def test_users(fresh):
    fresh.init()
    fresh.add_user("alice")
    fresh.add_user("bob")
    out = fresh.ctl("user", "list").stdout
    names = set(re.findall(r"\b(alice|bob|carol)\b", out))
    assert names == {"alice", "bob"}
    r = fresh.ctl("user", "add", "alice", check=False)
    assert r.returncode != 0, "duplicate user must be refused"
    assert fresh.ctl("user", "list").stdout.count("alice") == 1


@pytest.mark.parametrize("name", ["", "a b", "x" * 200, "bad:name", "ümlaut"])
def test_user_bad_names(fresh, name):
    fresh.init()
    r = fresh.ctl("user", "add", name, check=False)
    assert r.returncode != 0


def test_host_add_list_del(np):
    assert np.update(HOME, "198.51.100.1", user="alice", secret=np.secret)[2] == \
        ["good 198.51.100.1"]
    out = np.ctl("host", "list").stdout
    line = [ln for ln in out.splitlines() if HOME in ln]
    assert line and "alice" in line[0], out
    np.ctl("host", "del", HOME)
    assert wait_for(lambda: np.query(HOME, "A").rcode() == dns.rcode.NXDOMAIN, 1.5), \
        "deleted host still served after 1 s"
    assert HOME not in np.ctl("host", "list").stdout
    st, _, lines = np.update(HOME, "198.51.100.2", user="alice", secret=np.secret)
    assert lines in (["nohost"], ["badauth"])
    r = np.ctl("host", "del", HOME, check=False)
    assert r.returncode != 0, "deleting a missing host must fail"


def test_host_add_served_while_running(np):
    s = np.add_host("late." + ZONE, "alice")
    # within 1 s the running daemon knows the host and its secret
    assert wait_for(lambda: np.update("late." + ZONE, "198.51.100.3", user="alice",
                                      secret=s)[2] == ["good 198.51.100.3"], 1.5)
    assert np.addrs("late." + ZONE) == {"198.51.100.3"}


@pytest.mark.parametrize("fqdn,user", [
    ("x.other.example", "alice"),       # outside every zone
    ("nobody." + ZONE, "nosuchuser"),   # unknown user
    ("bad_name!." + ZONE, "alice"),     # not a host name
    ("a..b." + ZONE, "alice"),
    (("l" * 64) + "." + ZONE, "alice"),  # label too long
    (HOME, "alice"),                    # exists already
])
def test_host_add_refused(np, fqdn, user):
    r = np.ctl("host", "add", fqdn, "--user", user, check=False)
    assert r.returncode != 0, "host add %s --user %s accepted:\n%s" % (fqdn, user, r.stdout)
    assert r.stderr.strip()


def test_host_secret_rotation(np):
    assert np.update(HOME, "198.51.100.4", user="alice", secret=np.secret)[2] == \
        ["good 198.51.100.4"]
    r = np.ctl("host", "secret", HOME)
    new = np.last_line(r.stdout)
    assert new != np.secret and len(new) >= 16
    assert wait_for(lambda: np.update(HOME, "198.51.100.5", user="alice",
                                      secret=np.secret)[2] == ["badauth"], 1.5), \
        "old secret still works 1 s after rotation"
    assert np.addrs(HOME) == {"198.51.100.4"}
    st, _, lines = np.update(HOME, "198.51.100.6", user="alice", secret=new)
    assert lines == ["good 198.51.100.6"]


def test_host_block_unblock(np):
    np.ctl("host", "block", HOME)
    assert wait_for(lambda: np.update(HOME, "198.51.100.7", user="alice",
                                      secret=np.secret)[2] == ["abuse"], 1.5)
    np.ctl("host", "unblock", HOME)
    assert wait_for(lambda: np.update(HOME, "198.51.100.8", user="alice",
                                      secret=np.secret)[2] == ["good 198.51.100.8"], 1.5)


IMPORT = """\
; a master file with the usual directives
$ORIGIN dyn.example.
$TTL 600
@        IN TXT  "apex text"
www      IN A    192.0.2.10
www      IN A    192.0.2.11        ; two addresses
www  300 IN AAAA 2001:db8::10
www      IN TXT  "v=spf1 -all" "second string"
www      IN TXT  "with \\"quotes\\" inside"
www      IN MX   10 mail
www      IN MX   20 mail.example.net.
mail.dyn.example. 120 IN A 192.0.2.25
"""


def test_zone_import_directives_and_export(np):
    zf = os.path.join(np.tmp, "in.zone")
    with open(zf, "w") as f:
        f.write(IMPORT)
    np.ctl("zone", "import", zf, "--user", "alice")  # zone taken from $ORIGIN
    www = "www." + ZONE
    assert wait_for(lambda: np.addrs(www) == {"192.0.2.10", "192.0.2.11"}, 1.5)
    r = np.query(www, "A")
    assert r.answer[0].ttl == 600
    r = np.query(www, "AAAA")
    assert r.answer[0].ttl == 300
    assert np.addrs(www, "TXT") == {'"v=spf1 -all" "second string"',
                                    '"with \\"quotes\\" inside"'}
    assert np.addrs(www, "MX") == {"10 mail.dyn.example.", "20 mail.example.net."}
    assert np.addrs("mail." + ZONE) == {"192.0.2.25"}
    assert np.addrs(ZONE + ".", "TXT") == {'"apex text"'}
    # --user alice: the imported hosts are hers
    out = np.ctl("host", "list").stdout
    assert [ln for ln in out.splitlines() if www in ln and "alice" in ln], out

    assert np.update(HOME, "198.51.100.9,2001:db8::9", user="alice", secret=np.secret)[2] \
        == ["good 198.51.100.9,2001:db8::9"]
    text = np.ctl("zone", "export", ZONE).stdout
    z = dns.zone.from_text(text, origin=ZONE + ".", relativize=False, check_origin=False)

    def rd(name, t):
        node = z.get_node(name + ".")
        assert node is not None, "%s missing from export:\n%s" % (name, text)
        rs = node.get_rdataset(1, dns.rdatatype.from_text(t))
        assert rs is not None, "%s %s missing from export:\n%s" % (name, t, text)
        return rs
    assert {x.to_text() for x in rd(www, "A")} == {"192.0.2.10", "192.0.2.11"}
    assert rd(www, "A").ttl == 600
    assert {x.to_text() for x in rd(www, "TXT")} == {'"v=spf1 -all" "second string"',
                                                     '"with \\"quotes\\" inside"'}
    assert {x.to_text() for x in rd(www, "MX")} == {"10 mail.dyn.example.",
                                                    "20 mail.example.net."}
    assert {x.to_text() for x in rd(HOME, "A")} == {"198.51.100.9"}
    assert {x.to_text() for x in rd(HOME, "AAAA")} == {"2001:db8::9"}



def test_zone_export_imports_back(np, np_factory):
    zf = os.path.join(np.tmp, "in.zone")
    with open(zf, "w") as f:
        f.write(IMPORT)
    np.ctl("zone", "import", zf, "--user", "alice")
    assert np.update(HOME, "198.51.100.9,2001:db8::9", user="alice", secret=np.secret)[2] \
        == ["good 198.51.100.9,2001:db8::9"]
    text = np.ctl("zone", "export", ZONE).stdout
    z = dns.zone.from_text(text, origin=ZONE + ".", relativize=False, check_origin=False)

    n2 = np_factory("second")
    n2.write_config()
    n2.init()
    ef = os.path.join(n2.tmp, "export.zone")
    with open(ef, "w") as f:
        f.write(text)
    n2.ctl("zone", "import", ef, "--zone", ZONE)
    text2 = n2.ctl("zone", "export", ZONE).stdout
    z2 = dns.zone.from_text(text2, origin=ZONE + ".", relativize=False, check_origin=False)
    for name in ("www." + ZONE, HOME, "mail." + ZONE, ZONE):
        for t in ("A", "AAAA", "TXT", "MX"):
            a = z.get_node(name + ".").get_rdataset(1, dns.rdatatype.from_text(t))
            b = z2.get_node(name + ".").get_rdataset(1, dns.rdatatype.from_text(t))
            assert (a is None) == (b is None) and (a is None or a == b), (name, t)


@pytest.mark.parametrize("bad,line", [
    ("bad.dyn.example. 60 IN A 192.0.2.300\n", 2),
    ("bad.dyn.example. 60 IN CNAME www.dyn.example.\n", 2),
    ("bad.other.example. 60 IN A 192.0.2.1\n", 2),
    ("bad.dyn.example. 60 IN MX mail.dyn.example.\n", 2),
    ('bad.dyn.example. 60 IN TXT "unterminated\n', 2),
    ("bad.dyn.example. 60 IN AAAA 192.0.2.1\n", 2),
])
def test_zone_import_errors(np, bad, line):
    zf = os.path.join(np.tmp, "bad.zone")
    with open(zf, "w") as f:
        f.write("good.dyn.example. 60 IN A 192.0.2.1\n" + bad)
    r = np.ctl("zone", "import", zf, "--zone", ZONE, check=False)
    assert r.returncode == 1
    assert "%s:%d:" % (zf, line) in r.stderr + r.stdout, \
        "error must name FILE:LINE:\n%s%s" % (r.stdout, r.stderr)
    # nothing of a refused file is imported
    time.sleep(1.2)
    assert np.query("good." + ZONE, "A").rcode() == dns.rcode.NXDOMAIN


def test_zone_import_unknown_zone(np):
    zf = os.path.join(np.tmp, "x.zone")
    with open(zf, "w") as f:
        f.write("a.nozone.example. 60 IN A 192.0.2.1\n")
    r = np.ctl("zone", "import", zf, "--zone", "nozone.example", check=False)
    assert r.returncode != 0
    r = np.ctl("zone", "export", "nozone.example", check=False)
    assert r.returncode != 0


def test_ctl_bad_usage(fresh):
    for args in ([], ["nosuchcommand"], ["host"], ["host", "add"],
                 ["host", "add", HOME, "--user"]):
        r = fresh.ctl(*args, check=False)
        assert r.returncode != 0, args
    r = subprocess.run([NAMEPLATECTL, "-c", os.path.join(fresh.tmp, "missing.conf"),
                        "check-config"], capture_output=True, text=True)
    assert r.returncode != 0 and "missing.conf" in r.stderr


# ---- the demo (make run) ------------------------------------------------------------------

def _run_demo(cwd, dns_port, http_port, smtp_port=None, telnet_port=None):
    env = dict(os.environ, NP_DEMO_DNS_PORT=str(dns_port), NP_DEMO_HTTP_PORT=str(http_port),
               NP_DEMO_SMTP_PORT=str(smtp_port or free_port()),
               NP_DEMO_TELNET_PORT=str(telnet_port or free_port()),
               NP_DEMO_PLAIN_PORT=str(free_port()))
    return subprocess.Popen(["sh", os.path.join(ROOT, "scripts", "run-demo.sh"), BUILD],
                            cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _read_until_started(p, timeout=15):
    out = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = p.stdout.readline()
        if not line:
            break
        out.append(line)
        if "starting nameplated" in line:
            break
    return "".join(out)


def _stop_demo(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    rest = p.stdout.read()
    check_sanitizers(rest, "demo nameplated")
    return p.returncode, rest


def _wait_cmd(cmd, want, timeout=10):
    def ok():
        r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10)
        return want in r.stdout and r
    return wait_for(ok, timeout, 0.2)


def _telnet_login(port, user, password):
    """Tries one login on the demo's telnet honeypot; returns what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        got = b""
        for prompt, send in ((b"login:", user), (b"password:", password)):
            start = len(got)  # the prompt must come after what we sent last
            while prompt not in got[start:].lower():
                chunk = s.recv(4096)
                if not chunk:
                    return got
                got += chunk
            s.sendall(send.encode() + b"\r\n")
        deadline = time.monotonic() + 5
        start = len(got)
        while b"incorrect" not in got[start:].lower() and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got


def _demo_check(http_port, secret):
    cred = base64.b64encode(("demo:%s" % secret).encode()).decode()
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    try:
        c.request("GET", "/api/v1/check", headers={"Authorization": "Basic " + cred})
        r = c.getresponse()
        return r.status, r.read().decode()
    finally:
        c.close()


def _demo_infection_check(tmp_path, http_port, telnet_port, secret):
    """The sensor of the demo records a default-password login on its telnet honeypot, and
    the server's check then finds 127.0.0.1 infected; a check through the page is mailed
    to the demo's mail sink (var/mail.log)."""
    for pair in (("root", "xc3511"), ("root", "vizxv"), ("admin", "admin")):
        answer = wait_for(lambda: _telnet_login(telnet_port, *pair) or None, 10, 0.2)
        assert b"incorrect" in answer.lower(), answer

    def infected():
        st, body = _demo_check(http_port, secret)
        return st == 200 and json.loads(body)["verdict"] == "infected" and body
    body = wait_for(infected, 20, 0.5)
    assert body, "the demo's check never saw the honeypot login: %s" % (
        _demo_check(http_port, secret),)
    pairs = {(c["user"], c["pass"]) for c in json.loads(body)["evidence"]["credentials"]}
    assert ("root", "xc3511") in pairs

    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)
    c.request("GET", "/check")
    r = c.getresponse()
    page = r.read().decode()
    cookie = [v.split(";")[0] for k, v in r.getheaders() if k.lower() == "set-cookie"]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    c.request("POST", "/check", body="email=me%40example.org&consent=yes&csrf=" + csrf,
              headers={"Content-Type": "application/x-www-form-urlencoded",
                       "Cookie": "; ".join(cookie)})
    r = c.getresponse()
    assert r.status == 200, r.read()
    c.close()
    log = tmp_path / "var" / "mail.log"
    assert wait_for(lambda: log.exists() and "/check/" in log.read_text(), 20, 0.3), \
        "no mail in var/mail.log"
    assert "infected" in log.read_text()


def test_demo_script(tmp_path):
    dns_port, http_port = free_port(), free_port()
    telnet_port = free_port()
    p = _run_demo(tmp_path, dns_port, http_port, telnet_port=telnet_port)
    try:
        out = _read_until_started(p)
        assert "admin secret:" in out, out
        m = re.search(r"update secret: (\S+)", out)
        assert m, out
        secret = m.group(1)
        curl = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("curl ")]
        dig = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("dig ")]
        assert len(curl) == 1 and len(dig) == 1, out
        assert secret in curl[0]
        assert "home.dyn.example" in dig[0] and str(dns_port) in dig[0]
        # the printed commands work as pasted
        r = _wait_cmd(curl[0], "203.0.113.10")
        assert r and re.search(r"^(good|nochg) 203\.0\.113\.10", r.stdout, re.M), \
            "pasted curl failed"
        r = subprocess.run(dig[0] + " +short", shell=True, capture_output=True, text=True,
                           timeout=10)
        assert r.stdout.split() == ["203.0.113.10"], r.stdout + r.stderr
        # the printed nsupdate line works as pasted, with the demo's TSIG key file
        nsup = [ln.strip() for ln in out.splitlines() if "| nsupdate -k" in ln]
        assert len(nsup) == 1, out
        r = subprocess.run(nsup[0], shell=True, cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        r = subprocess.run(dig[0] + " +short", shell=True, capture_output=True, text=True,
                           timeout=10)
        assert r.stdout.split() == ["203.0.113.11"], r.stdout + r.stderr
        # the zone is signed, and the printed delv line validates the host's answer
        delv = [ln.strip() for ln in out.splitlines() if ln.strip().startswith("delv ")]
        assert len(delv) == 1, out
        r = subprocess.run(delv[0], shell=True, cwd=tmp_path, capture_output=True, text=True,
                           timeout=30)
        assert r.stdout.startswith("; fully validated") and "203.0.113.11" in r.stdout, \
            r.stdout + r.stderr
        _demo_infection_check(tmp_path, http_port, telnet_port, secret)
        # the web UI password printed once signs in through the API
        m = re.search(r"sign in as demo with the password: (\S+)", out)
        assert m, out
        body = json.dumps({"user": "demo", "password": m.group(1)})
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=15)
        c.request("POST", "/api/v1/auth/login", body=body,
                  headers={"Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200 and "token" in json.loads(r.read()), "demo sign-in failed"
        c.close()
    finally:
        rc, rest = _stop_demo(p)
    assert rc == 0, "demo server exited %s:\n%s" % (rc, rest)
    conf = (tmp_path / "var" / "nameplate.conf").read_text()
    assert (tmp_path / "var" / "data").is_dir(), "the demo store must live in ./var/data"
    assert "127.0.0.1@%d" % dns_port in conf and "127.0.0.1:%d" % http_port in conf

    # second run: no re-init, no secret, but the commands and how to get a new secret
    p = _run_demo(tmp_path, dns_port, http_port)
    try:
        out2 = _read_until_started(p)
        assert "admin secret:" not in out2
        assert secret not in out2
        assert m.group(1) not in out2  # the password was shown once
        assert "host secret" in out2
        assert any(ln.strip().startswith("curl ") for ln in out2.splitlines())
        dig = [ln.strip() for ln in out2.splitlines() if ln.strip().startswith("dig ")][0]
        r = _wait_cmd(dig + " +short", "203.0.113.11")  # the nsupdate line's
        assert r, "the demo host lost its address across a restart"
    finally:
        rc, rest = _stop_demo(p)
    assert rc == 0, rest
    assert (tmp_path / "var" / "nameplate.conf").read_text() == conf

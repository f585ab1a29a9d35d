# SPDX-License-Identifier: MIT
# The configuration file: every documented key is accepted and takes effect, every bad key
# or value is refused with FILE:LINE by both nameplatectl check-config and nameplated, and
# SIGHUP reloads (keeping the old config when the new one is broken).

import os
import re
import signal
import socket
import subprocess
import time

import dns.rcode
import pytest

from conftest import NAMEPLATED, ZONE, free_port, wait_for


def write_with(n, section, line, **kw):
    """Writes n's config with line inserted right after the [section] header; returns the
    1-based line number of the inserted line."""
    lines = n.config_text(**kw).splitlines()
    idx = lines.index(section) + 1
    lines.insert(idx, line)
    with open(n.conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    return idx + 1


BAD = [
    ("[dns]", "bogus = 1"),
    ("[dns]", "workers = abc"),
    ("[dns]", "workers = -1"),
    ("[dns]", "workers = 99999999999999999999"),
    ("[dns]", "listen = 127.0.0.1@70000"),
    ("[dns]", "listen = 999.0.0.1@53"),
    ("[dns]", "edns_udp_size = 100"),
    ("[dns]", "edns_udp_size = 65536"),
    ("[dns]", "tcp_idle_timeout = soon"),
    ("[http]", "trusted_proxies = 10.0.0.0/33"),
    ("[http]", "trusted_proxies = not-an-address"),
    ("[http]", "threads = 0x"),
    ("[http]", "nonsense = yes"),
    ("[server]", "log_level = loud"),
    ("[server]", "data_dir_typo = /tmp"),
    ("[zone dyn.example]", "ttl = abc"),
    ("[zone dyn.example]", "negative_ttl = -5"),
    ("[zone dyn.example]", "ns = bad..name"),
    ("[zone dyn.example]", "colour = blue"),
    ("[zone dyn.example]", "[nosuchsection]"),
]


@pytest.mark.parametrize("section,line", BAD, ids=[b[1] for b in BAD])
def test_bad_line_refused_with_file_line(np_factory, section, line):
    n = np_factory()
    lineno = write_with(n, section, line)
    where = "%s:%d:" % (n.conf, lineno)
    r = n.ctl("check-config", check=False)
    assert r.returncode == 1, "check-config accepted %r:\n%s%s" % (line, r.stdout, r.stderr)
    assert where in r.stderr + r.stdout, \
        "expected %r in the message:\n%s%s" % (where, r.stdout, r.stderr)
    # the server refuses the same file with the same message, before listening
    p = subprocess.run([NAMEPLATED, "-c", n.conf, "-f"], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert where in p.stderr + p.stdout


BAD_CHECK = [
    ("[observe]", "max_addresses = 10"),
    ("[observe]", "retention = 3600"),
    ("[observe]", "research = 10.0.0.0/99"),
    ("[observe]", "checkpoint_interval = 0"),
    ("[check]", "public_url = ftp://x.example"),
    ("[check]", "public_url = http://a b"),
    ("[check]", "per_address_hour = 0"),
    ("[check]", "per_net24_hour = 0"),
    ("[check]", "per_net56_hour = 0"),
    ("[check]", "per_net48_hour = x"),
    ("[check]", "global_per_hour = 0"),
    ("[check]", "outbox_max = 0"),
    ("[mail]", "relay = http://127.0.0.1:25"),
    ("[mail]", "relay = smtp://np:hunter2@127.0.0.1:25"),
    ("[check]", "public_url = https://u:p@ddns.example.net"),
    ("[mail]", "from = not-an-address"),
    ("[mail]", "from = a@b@c.example"),
    ("[mail]", "from = <x@y.example>"),
    ("[mail]", "tls = maybe"),
    ("[mail]", "password_file = relative/path"),
]


@pytest.mark.parametrize("section,line", BAD_CHECK, ids=[b[1] for b in BAD_CHECK])
def test_bad_check_line_refused(np_factory, section, line):
    n = np_factory()
    lineno = write_with(n, section, line,
                        extra="[observe]\n[check]\n[mail]\nfrom = np@dyn.example\n")
    r = n.ctl("check-config", check=False)
    assert r.returncode == 1, "check-config accepted %r:\n%s%s" % (line, r.stdout, r.stderr)
    assert "%s:%d:" % (n.conf, lineno) in r.stderr + r.stdout or \
        "password_file" in r.stderr, r.stderr


@pytest.mark.parametrize("extra,why", [
    ("[mail]\nrelay = smtp://127.0.0.1:25\n", "needs 'from'"),
    ("[mail]\nretry_min = 100\nretry_max = 10\n", "retry_min"),
])
def test_mail_rules_across_keys(np_factory, extra, why):
    n = np_factory()
    n.write_config(extra=extra)
    r = n.ctl("check-config", check=False)
    assert r.returncode == 1 and why in r.stderr, r.stderr


def test_mail_password_file_must_be_private(np_factory):
    """The relay's password_file follows the rule of every secret file: one that group or
    others may read keeps nameplated from starting, with a message naming the file; the
    same file made private (0600) is accepted."""
    n = np_factory()
    pw = os.path.join(n.tmp, "relay.password")
    with open(pw, "w") as f:
        f.write("hunter2\n")
    os.chmod(pw, 0o640)
    n.write_config(extra="[mail]\nrelay = smtp://127.0.0.1:%d\nfrom = np@%s\nusername = np\n"
                         "password_file = %s\ntls = none\n" % (free_port(), ZONE, pw))
    n.init()
    p = subprocess.run([NAMEPLATED, "-c", n.conf, "-f"], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    assert p.returncode != 0
    assert "password_file %s is readable by others (chmod 600)" % pw in p.stderr + p.stdout, \
        p.stdout + p.stderr
    os.chmod(pw, 0o600)
    n.start()
    assert n.stop() == 0


def test_check_sections_accepted(np_factory):
    n = np_factory()
    n.write_config(extra="[observe]\nmax_addresses = 5000\nretention = 172800\n"
                         "checkpoint_interval = 5\nresearch = 192.0.2.0/24 2001:db8::/32\n"
                         "max_clock_skew = 60\n"
                         "[check]\npublic_url = https://ddns.example.net\nresult_ttl = 7200\n"
                         "per_address_hour = 3\nper_email_day = 4\nowner_interval = 60\n"
                         "per_net24_hour = 40\nper_net56_hour = 20\nper_net48_hour = 50\n"
                         "global_per_hour = 600\noutbox_max = 5000\n"
                         "[mail]\nrelay = smtp://127.0.0.1:2525\nfrom = np@dyn.example\n"
                         "username = np\npassword_file = /nonexistent/pw\ntls = none\n"
                         "retry_min = 5\nretry_max = 50\n")
    r = n.ctl("check-config", check=False)
    assert r.returncode == 0, r.stderr


def _no_data_dir(t):
    return re.sub(r"(?m)^data_dir = .*\n", "", t)


def _no_ns(t):
    return re.sub(r"(?m)^ns = .*\n", "", t)


def _bad_zone_name(t):
    return t.replace("[zone dyn.example]", "[zone bad..zone]")


def _dup_zone(t):
    return t + "\n[zone dyn.example]\nns = ns1.dyn.example\ncontact = h.dyn.example\n"


def _broken_header(t):
    return t.replace("[server]", "[server")


def _no_equals(t):
    return re.sub(r"(?m)^data_dir = .*$", "data_dir", t)


@pytest.mark.parametrize("edit", [_no_data_dir, _no_ns, _bad_zone_name, _dup_zone,
                                  _broken_header, _no_equals])
def test_semantic_errors_refused(np_factory, edit):
    n = np_factory()
    with open(n.conf, "w") as f:
        f.write(edit(n.config_text()))
    r = n.ctl("check-config", check=False)
    assert r.returncode == 1, "accepted:\n" + edit(n.config_text())
    assert re.search(re.escape(n.conf) + r":\d+: \S", r.stderr + r.stdout), \
        r.stdout + r.stderr


def test_missing_file(np_factory):
    n = np_factory()
    r = n.ctl("check-config", check=False)
    assert r.returncode == 1
    assert n.conf in r.stderr


def test_every_documented_key(np_factory):
    n = np_factory()
    n.write_config(server={"log_level": "debug"},
                   dns={"workers": 1, "tcp_max_connections": 8, "tcp_idle_timeout": 3,
                        "edns_udp_size": 1400},
                   http={"max_connections": 32, "per_ip_connections": 4, "timeout": 5,
                         "threads": 2, "trusted_proxies": "127.0.0.2/32 ::1/128"},
                   zone={"ttl": 45, "soa_ttl": 900, "refresh": 1800, "retry": 300,
                         "expire": 604800, "negative_ttl": 40})
    assert n.ctl("check-config").returncode == 0
    n.init()
    n.add_user("alice")
    s = n.add_host("home." + ZONE, "alice")
    n.start()
    r = n.query(ZONE + ".", "SOA")
    soa = r.answer[0]
    assert soa.ttl == 900
    assert (soa[0].refresh, soa[0].retry, soa[0].expire, soa[0].minimum) == \
        (1800, 300, 604800, 40)
    r = n.query("nothere." + ZONE, "A")
    assert r.authority[0].ttl == 40
    r = n.query(ZONE + ".", "SOA", use_edns=0, payload=4096)
    assert r.payload == 1400
    assert n.update("home." + ZONE, "198.51.100.1", user="alice", secret=s)[2] == \
        ["good 198.51.100.1"]
    assert n.query("home." + ZONE, "A").answer[0].ttl == 45


def test_sighup_reload_adds_zone(np):
    assert np.update("home." + ZONE, "198.51.100.1", user="alice", secret=np.secret)[2] == \
        ["good 198.51.100.1"]
    assert np.query("two.example.", "SOA").rcode() == dns.rcode.REFUSED
    np.write_config(extra="[zone two.example]\nns = ns1.two.example\n"
                          "contact = hostmaster.two.example\n")
    np.proc.send_signal(signal.SIGHUP)

    def ok():
        r = np.query("two.example.", "SOA")
        return r.rcode() == dns.rcode.NOERROR and r.answer
    assert wait_for(ok, 3.0), "SIGHUP did not load the new zone"
    assert np.addrs("home." + ZONE) == {"198.51.100.1"}
    # a host in the new zone can be added and updated
    s = np.add_host("h.two.example", "alice")
    assert wait_for(lambda: np.update("h.two.example", "198.51.100.2", user="alice",
                                      secret=s)[2] == ["good 198.51.100.2"], 1.5)
    assert np.addrs("h.two.example") == {"198.51.100.2"}
    assert np.proc.poll() is None


def test_sighup_with_broken_config_keeps_running(np):
    assert np.update("home." + ZONE, "198.51.100.3", user="alice", secret=np.secret)[2] == \
        ["good 198.51.100.3"]
    write_with(np, "[dns]", "bogus = 1")
    np.proc.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    assert np.proc.poll() is None, "a broken config on SIGHUP must not stop the server"
    assert np.addrs("home." + ZONE) == {"198.51.100.3"}
    assert np.update("home." + ZONE, "198.51.100.4", user="alice", secret=np.secret)[2] == \
        ["good 198.51.100.4"]
    assert re.search(re.escape(np.conf) + r":\d+:", np.stderr()), \
        "the refused reload must be logged with FILE:LINE"


def test_listen_port_in_use_fails_start(np_factory):
    n = np_factory()
    n.write_config()
    n.init()
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", n.dns_port))
    try:
        p = subprocess.run([NAMEPLATED, "-c", n.conf, "-f"], capture_output=True, text=True,
                           timeout=15, stdin=subprocess.DEVNULL)
        assert p.returncode != 0
        assert str(n.dns_port) in p.stderr + p.stdout
    finally:
        blocker.close()


def test_tcp_connection_limit_keeps_serving(np_factory):
    n = np_factory()
    n.write_config(dns={"tcp_max_connections": 4, "tcp_idle_timeout": 5})
    n.init()
    n.start()
    conns = []
    try:
        for _ in range(40):
            try:
                conns.append(socket.create_connection(("127.0.0.1", n.dns_port), timeout=1))
            except OSError:
                break
        # UDP is not starved by idle TCP connections
        assert n.query(ZONE + ".", "SOA").rcode() == dns.rcode.NOERROR
        # at most tcp_max_connections of them are still open and served
        open_ = 0
        for s in conns:
            s.settimeout(0.2)
            try:
                if s.recv(1) == b"":
                    continue
            except socket.timeout:
                open_ += 1
            except OSError:
                continue
        assert open_ <= 4, "%d idle TCP connections held open with tcp_max_connections = 4" \
            % open_
    finally:
        for s in conns:
            s.close()
    assert wait_for(lambda: n.query(ZONE + ".", "SOA", tcp=True).rcode() ==
                    dns.rcode.NOERROR, 3.0)


def test_http_per_ip_limit_keeps_serving(np_factory):
    n = np_factory()
    n.write_config(http={"per_ip_connections": 2, "timeout": 3})
    n.init()
    n.add_user("alice")
    s = n.add_host("home." + ZONE, "alice")
    n.start()
    conns = []
    try:
        for _ in range(10):
            try:
                conns.append(socket.create_connection(("127.0.0.1", n.http_port), timeout=1))
            except OSError:
                break
        # another source address is not affected by 127.0.0.1's idle connections
        st, _, lines = n.update("home." + ZONE, "198.51.100.5", user="alice", secret=s,
                                source="127.0.0.3")
        assert (st, lines) == (200, ["good 198.51.100.5"])
    finally:
        for c in conns:
            c.close()

    def works():
        try:
            return n.update("home." + ZONE, "198.51.100.6", user="alice",
                            secret=s)[2] == ["good 198.51.100.6"]
        except OSError:
            return False
    assert wait_for(works, 5.0, 0.2)


def test_http_slow_client_times_out(np_factory):
    n = np_factory()
    n.write_config(http={"timeout": 2})
    n.init()
    n.start()
    with socket.create_connection(("127.0.0.1", n.http_port), timeout=8) as c:
        c.sendall(b"GET /checkip HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
        t0 = time.monotonic()
        try:
            data = c.recv(4096)
            while data and time.monotonic() - t0 < 8:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            data = None
        took = time.monotonic() - t0
    assert data is not None and took <= 6, \
        "a half-sent request must be dropped after timeout = 2 (took %.1fs)" % took

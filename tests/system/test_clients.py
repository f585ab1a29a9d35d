# SPDX-License-Identifier: MIT
# The clients people already run, unmodified: ddclient and inadyn update a host in one-shot
# mode over plain HTTP on loopback, and dig and kdig (UDP and TCP) see the new address.

import os
import re
import shutil
import subprocess


from conftest import ZONE, wait_for

HOME = "home." + ZONE
CLIENT_TIMEOUT = 60


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=CLIENT_TIMEOUT,
                       stdin=subprocess.DEVNULL, **kw)
    return r


def dig(np, name, rdtype="A", tcp=False):
    cmd = ["dig", "@127.0.0.1", "-p", str(np.dns_port), name, rdtype, "+norec", "+time=2",
           "+tries=1"]
    if tcp:
        cmd.append("+tcp")
    r = run(cmd)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def kdig(np, name, rdtype="A", tcp=False):
    cmd = ["kdig", "@127.0.0.1", "-p", str(np.dns_port), name, rdtype, "+norec",
           "+time=2", "+retry=0"]
    if tcp:
        cmd.append("+tcp")
    r = run(cmd)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def answers(text, name, rdtype):
    """The rdata of the answer lines 'name. TTL IN TYPE rdata' in dig/kdig output."""
    out = set()
    for ln in text.splitlines():
        f = ln.split()
        if len(f) >= 5 and not ln.startswith(";") and f[0].lower() == name.lower() + "." \
                and f[2] == "IN" and f[3] == rdtype:
            out.add(" ".join(f[4:]))
    return out


def assert_served(np, name, rdtype, want):
    for tool in (dig, kdig):
        for tcp in (False, True):
            out = tool(np, name, rdtype, tcp=tcp)
            assert re.search(r"status: NOERROR", out), out
            assert re.search(r"(?i)flags: qr aa", out), "%s: not authoritative:\n%s" % (
                tool.__name__, out)
            assert answers(out, name, rdtype) == want, "%s tcp=%s:\n%s" % (
                tool.__name__, tcp, out)


# ---- dig / kdig --------------------------------------------------------------------------

def test_dig_kdig_see_update(np):
    assert np.update(HOME, "198.51.100.30,2001:db8::30", user="alice", secret=np.secret)[2] \
        == ["good 198.51.100.30,2001:db8::30"]
    assert_served(np, HOME, "A", {"198.51.100.30"})
    assert_served(np, HOME, "AAAA", {"2001:db8::30"})


def test_dig_kdig_negative_answers(np):
    for tool in (dig, kdig):
        out = tool(np, "nothere." + ZONE)
        assert "status: NXDOMAIN" in out
        assert re.search(r"(?m)^dyn\.example\.\s+30\s+IN\s+SOA\s", out), out
        out = tool(np, "example.com")
        assert "status: REFUSED" in out


def test_dig_edns_and_badvers(np):
    out = dig(np, HOME)
    assert "EDNS: version: 0" in out and "udp: 1232" in out, out
    r = run(["dig", "@127.0.0.1", "-p", str(np.dns_port), HOME, "A", "+edns=1",
             "+noednsnegotiation", "+time=2", "+tries=1"])
    assert "status: BADVERS" in r.stdout, r.stdout


def test_dig_kdig_retry_truncated_over_tcp(np, tmp_path):
    zf = tmp_path / "big.zone"
    zf.write_text("".join('big.dyn.example. 300 IN TXT "big-%02d-%s"\n' % (i, "x" * 120)
                          for i in range(16)))
    np.ctl("zone", "import", str(zf), "--zone", ZONE)
    name = "big." + ZONE
    assert wait_for(lambda: len(np.addrs(name, "TXT", tcp=True)) == 16, 1.5)
    r = run(["dig", "@127.0.0.1", "-p", str(np.dns_port), name, "TXT", "+noedns",
             "+time=2", "+tries=1"])
    assert "Truncated, retrying in TCP mode" in r.stdout, r.stdout
    assert len(answers(r.stdout, name, "TXT")) == 16, r.stdout
    r = run(["kdig", "@127.0.0.1", "-p", str(np.dns_port), name, "TXT", "+noedns",
             "+time=2", "+retry=0"])
    assert "(TCP)" in r.stdout and "truncated" in r.stderr.lower(), r.stdout + r.stderr
    assert len(answers(r.stdout, name, "TXT")) == 16, r.stdout


def test_kdig_ipv6(np):
    r = run(["kdig", "@::1", "-p", str(np.dns_port), ZONE, "SOA", "+time=2", "+retry=0"])
    assert r.returncode == 0 and "status: NOERROR" in r.stdout, r.stdout + r.stderr


# ---- ddclient ----------------------------------------------------------------------------

def ddclient(np, tmp, body):
    conf = os.path.join(tmp, "ddclient.conf")
    with open(conf, "w") as f:
        f.write(body)
    os.chmod(conf, 0o600)
    cache = os.path.join(tmp, "ddclient.cache")
    r = run(["ddclient", "-daemon=0", "-foreground", "-file", conf, "-cache", cache,
             "-verbose", "-noquiet", "-force"])
    return r, r.stdout + r.stderr


def ddclient_conf(np, use):
    return """\
daemon=0
syslog=no
ssl=no
%s
protocol=dyndns2, server=127.0.0.1:%d, login=alice, password='%s' %s
""" % (use, np.http_port, np.secret, HOME)


def test_ddclient_usev4(np, tmp_path):
    r, out = ddclient(np, str(tmp_path),
                      ddclient_conf(np, "usev4=ipv4, ipv4=203.0.113.55"))
    assert r.returncode == 0, out
    assert "SUCCESS" in out and "203.0.113.55" in out, out
    assert_served(np, HOME, "A", {"203.0.113.55"})


def test_ddclient_use_ip(np, tmp_path):
    r, out = ddclient(np, str(tmp_path), ddclient_conf(np, "use=ip, ip=203.0.113.56"))
    assert r.returncode == 0, out
    assert "SUCCESS" in out, out
    assert_served(np, HOME, "A", {"203.0.113.56"})


def test_ddclient_use_web_checkip(np, tmp_path):
    # the address comes from our own /nic/checkip, which sees the client as 127.0.0.1
    web = "use=web, web=http://127.0.0.1:%d/nic/checkip, web-skip='Current IP Address:'" \
        % np.http_port
    r, out = ddclient(np, str(tmp_path), ddclient_conf(np, web))
    assert r.returncode == 0, out
    assert "SUCCESS" in out and "127.0.0.1" in out, out
    assert_served(np, HOME, "A", {"127.0.0.1"})


def test_ddclient_badauth_reported(np, tmp_path):
    np.secret = np.secret[:-2] + ("AA" if not np.secret.endswith("AA") else "BB")
    r, out = ddclient(np, str(tmp_path),
                      ddclient_conf(np, "usev4=ipv4, ipv4=203.0.113.57"))
    assert "SUCCESS" not in out
    assert "badauth" in out, out
    assert answers(dig(np, HOME), HOME, "A") == set()


# ---- inadyn ------------------------------------------------------------------------------

def inadyn(np, tmp, extra_global="", extra=""):
    conf = os.path.join(tmp, "inadyn.conf")
    cache = os.path.join(tmp, "cache")
    os.makedirs(cache, exist_ok=True)
    with open(conf, "w") as f:
        f.write("""\
# The checkip answer is our loopback address: let inadyn accept it.
verify-address = false
%s
custom nameplate {
    username       = alice
    password       = "%s"
    ssl            = false
    ddns-server    = 127.0.0.1:%d
    ddns-path      = "/nic/update?hostname=%%h&myip=%%i"
    checkip-server = 127.0.0.1:%d
    checkip-path   = /checkip
    checkip-ssl    = false
    hostname       = %s
%s
}
""" % (extra_global, np.secret, np.http_port, np.http_port, HOME, extra))
    os.chmod(conf, 0o600)
    r = run(["inadyn", "-1", "--foreground", "-f", conf, "--cache-dir", cache,
             "-P", os.path.join(tmp, "inadyn.pid"), "-l", "debug"])
    return r, r.stdout + r.stderr


def test_inadyn_checkip_server(np, tmp_path):
    # start from another address so that inadyn's update is a visible change
    assert np.update(HOME, "198.51.100.40", user="alice", secret=np.secret)[2] == \
        ["good 198.51.100.40"]
    r, out = inadyn(np, str(tmp_path))
    assert r.returncode == 0, out
    assert "127.0.0.1" in out
    assert re.search(r"(?i)success", out), out
    assert_served(np, HOME, "A", {"127.0.0.1"})


def test_inadyn_checkip_command(np, tmp_path):
    r, out = inadyn(np, str(tmp_path), extra='    checkip-command = "echo 203.0.113.77"')
    assert r.returncode == 0, out
    assert re.search(r"(?i)success", out), out
    assert_served(np, HOME, "A", {"203.0.113.77"})


def test_inadyn_user_agent_and_cache(np, tmp_path):
    r, out = inadyn(np, str(tmp_path), extra='    checkip-command = "echo 203.0.113.78"')
    assert r.returncode == 0, out
    cached = [os.path.join(dp, f) for dp, _, fs in os.walk(os.path.join(tmp_path, "cache"))
              for f in fs]
    assert cached, "inadyn wrote no cache file: the server reply was not taken as success"
    assert any("203.0.113.78" in open(c).read() for c in cached)
    assert_served(np, HOME, "A", {"203.0.113.78"})


def test_tools_present():
    for tool in ("dig", "kdig", "ddclient", "inadyn"):
        assert shutil.which(tool), "%s missing: run make deps" % tool

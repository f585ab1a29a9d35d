# SPDX-License-Identifier: MIT
# The client in network namespaces made by the test (root; CI is root):
#  - `nameplate run` in "home" follows the WAN interface through netlink: a changed address
#    is answered by nameplated's DNS (in "srv") within 2 s; the delay is printed;
#    deprecated, ULA and link-local IPv6 addresses are never published, a stable one is;
#  - a real miniupnpd (Debian) in "rtr": the upnp source reads its external address and
#    `nameplate doctor` tells carrier-grade NAT, double NAT and a plain NAT apart from what
#    it really measures (no verdict is staged: each topology is built so);
#  - `nameplate doctor --port` asks the server to connect back: open and closed ports.
# Addresses: 203.0.113.0/24, 198.18.0.0/15, 2001:db8::/32, fd00::/8, and for the router's
# WAN side the ranges under test (100.64.0.0/10, 192.168.100.0/24), all inside namespaces.

import ipaddress
import itertools
import json
import os
import shutil
import socket
import stat
import subprocess
import time

import dns.message
import dns.rdatatype
import pytest

from conftest import BUILD, ZONE, Nameplate, check_sanitizers, free_port, wait_for
import netns
from netns import PYTHON, Lab

NAMEPLATE = os.path.join(BUILD, "nameplate")
HOST = "home." + ZONE
SRV_ADDR = "203.0.113.1"
SRV_ADDR6 = "2001:db8::1"
MINIUPNPD = shutil.which("miniupnpd") or "/usr/sbin/miniupnpd"
NFT = shutil.which("nft") or "/usr/sbin/nft"
CHANGE_LIMIT = 2.0   # seconds from the address change to the DNS answer

pytestmark = pytest.mark.skipif(not netns.have_root(), reason="needs root (network namespaces)")


class NsNameplate(Nameplate):
    """nameplated inside a namespace: listening on 127.0.0.1 there and on SRV_ADDR."""

    def __init__(self, tmp, ns):
        super().__init__(tmp)
        self.ns = ns
        self._sock = None

    def config(self):
        return self.write_config(
            dns={"listen": "%s@%d" % (SRV_ADDR, self.dns_port)},
            http={"listen": "%s:%d" % (SRV_ADDR, self.http_port)})

    def start(self, wait=True, args=()):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.errf = open(self.log_path, "w")
        # ip netns exec execs nameplated itself: signals reach the server.
        self.proc = subprocess.Popen(self.ns.exec_cmd([self.NAMEPLATED, "-c", self.conf, "-f"]
                                                      + list(args)),
                                     stdin=subprocess.DEVNULL, stdout=self.errf,
                                     stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self.proc

    def wait_ready(self, timeout=15):
        def ready():
            if self.proc.poll() is not None:
                raise AssertionError("nameplated exited %s:\n%s"
                                     % (self.proc.returncode, self.stderr()))
            try:
                r = self.query(ZONE + ".", "SOA", timeout=0.2)
            except OSError:
                return False
            if r is None:
                return False
            s = self.ns.socket(type=socket.SOCK_STREAM)
            s.settimeout(0.5)
            try:
                s.connect((SRV_ADDR, self.http_port))
                return True
            except OSError:
                return False
            finally:
                s.close()
        assert wait_for(ready, timeout, 0.05), "nameplated not ready:\n" + self.stderr()

    def query(self, name, rdtype="A", timeout=0.5, **kw):
        """One UDP query to 127.0.0.1 inside the namespace; the reply or None."""
        if self._sock is None:
            self._sock = self.ns.socket()
        q = dns.message.make_query(name, rdtype)
        self._sock.settimeout(timeout)
        self._sock.sendto(q.to_wire(), ("127.0.0.1", self.dns_port))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self._sock.recv(65535)
            except OSError:
                return None
            r = dns.message.from_wire(data)
            if r.id == q.id:
                return r
        return None

    def addrs(self, name, rdtype="A", **kw):
        r = self.query(name, rdtype)
        if r is None:
            return None
        out = set()
        for rrset in r.answer:
            if rrset.rdtype == dns.rdatatype.from_text(rdtype):
                out |= {rd.to_text() for rd in rrset}
        return out

    def finish(self, failed):
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        super().finish(failed)


NsNameplate.NAMEPLATED = os.path.join(BUILD, "nameplated")


_clients = itertools.count()


class Client:
    """The nameplate client's config and runs inside namespace ns."""

    def __init__(self, lab, ns, server_url, secret, ipv4, ipv6="none", timeout=3):
        self.lab, self.ns = lab, ns
        self.server_url = server_url
        d = os.path.join(lab.tmp, "client-%s-%d" % (ns.role, next(_clients)))
        os.makedirs(d, exist_ok=True)
        self.dir = d
        secret_file = os.path.join(d, "home.secret")
        with open(secret_file, "w") as f:
            f.write(secret + "\n")
        os.chmod(secret_file, stat.S_IRUSR | stat.S_IWUSR)
        self.conf = os.path.join(d, "client.conf")
        with open(self.conf, "w") as f:
            f.write("[client]\nstate_dir = %s\ninterval = 300\ntimeout = %d\n"
                    "retry_base = 1\nretry_max = 2\nlog_level = debug\n\n"
                    "[host %s]\nprotocol = dyndns2\nserver = %s\nuser = alice\n"
                    "secret_file = %s\nipv4 = %s\nipv6 = %s\n"
                    % (os.path.join(d, "state"), timeout, HOST, server_url, secret_file,
                       ipv4, ipv6))
        os.chmod(self.conf, stat.S_IRUSR | stat.S_IWUSR)
        os.makedirs(os.path.join(d, "state"), mode=0o700, exist_ok=True)
        self.proc = None

    def cmd(self, *args, timeout=60):
        t0 = time.monotonic()
        r = self.ns.run([NAMEPLATE, "-c", self.conf] + [str(a) for a in args], check=False,
                        timeout=timeout)
        check_sanitizers(r.stderr, "nameplate %s" % " ".join(map(str, args)))
        print("nameplate %s: exit %d after %.2f s"
              % (" ".join(map(str, args)), r.returncode, time.monotonic() - t0))
        return r

    def run_daemon(self):
        self.proc = self.ns.popen([NAMEPLATE, "-c", self.conf, "run"],
                                  os.path.join(self.dir, "run.log"))
        return self.proc

    def log(self):
        return self.lab.log(self.proc) if self.proc else ""


def server_in(lab, ns, tmp):
    srv = NsNameplate(os.path.join(str(tmp), "server"), ns)
    os.makedirs(srv.tmp, exist_ok=True)
    srv.config()
    srv.init()
    srv.add_user("alice")
    srv.secret = srv.add_host(HOST, "alice")
    srv.start()
    return srv


@pytest.fixture
def lab(tmp_path, request):
    L = Lab(tmp_path)
    L.servers = []
    try:
        yield L
    finally:
        rep = getattr(request.node, "rep_call", None)
        failed = rep is None or rep.failed
        try:
            for s in L.servers:
                s.finish(failed)
        finally:
            if failed:
                for p, f, path in L.procs:
                    print("---- %s ----\n%s" % (path, L.log(p)[-8000:]))
            for p, f, path in L.procs:
                check_sanitizers(L.log(p), path)
            L.close()


def srv_and_home(lab, tmp_path):
    """srv (nameplated) <-> home (the client) on one veth link, no NAT."""
    srv, home = lab.ns("srv"), lab.ns("home")
    lab.veth(srv, "srv0", home, "wan0")
    # Adding a new address of the same subnet, then deleting the old one, must keep the
    # new one (as every distribution configures it).
    home.sysctl("net.ipv4.conf.wan0.promote_secondaries", 1)
    srv.ip("addr", "add", SRV_ADDR + "/24", "dev", "srv0")
    srv.ip("-6", "addr", "add", SRV_ADDR6 + "/64", "dev", "srv0", "nodad")
    home.ip("addr", "add", "203.0.113.10/24", "dev", "wan0")
    home.ip("route", "add", "default", "via", SRV_ADDR)
    server = server_in(lab, srv, tmp_path)
    lab.servers.append(server)
    return srv, home, server


# ---- 1. netlink: a changed WAN address is published within 2 s ----------------------

def test_wan_change_published_within_2s(lab, tmp_path):
    srv, home, server = srv_and_home(lab, tmp_path)
    # IPv6 addresses that must never be published: a deprecated global one, a ULA, and
    # the link-local one the kernel gave wan0.
    home.ip("-6", "addr", "add", "2001:db8::dead/64", "dev", "wan0", "nodad",
            "preferred_lft", "0", "valid_lft", "3600")
    home.ip("-6", "addr", "add", "fd00::10/64", "dev", "wan0", "nodad")
    never = {"2001:db8::dead", "fd00::10"}
    wait_for(lambda: any(a.startswith("fe80:") for a in home.addrs("wan0", "-6")), 5)
    never |= {a for a in home.addrs("wan0", "-6") if a.startswith("fe80:")}

    url = "http://%s:%d/nic/update" % (SRV_ADDR, server.http_port)
    client = Client(lab, home, url, server.secret, "interface:wan0", "interface:wan0")
    client.run_daemon()

    got = wait_for(lambda: server.addrs(HOST, "A") == {"203.0.113.10"}, 10)
    assert got, "the start-up update did not arrive: A=%s\n%s" % (server.addrs(HOST, "A"),
                                                                  client.log())
    time.sleep(0.3)
    aaaa = server.addrs(HOST, "AAAA") or set()
    assert not (aaaa & never), "published an unpublishable IPv6 address: %s" % aaaa

    # Three WAN address changes, each measured from just before the change.
    old = "203.0.113.10"
    delays = []
    for new in ("203.0.113.11", "203.0.113.12", "203.0.113.13"):
        t0 = time.monotonic()
        home.ip("addr", "add", new + "/24", "dev", "wan0")
        home.ip("addr", "del", old + "/24", "dev", "wan0")
        seen = wait_for(lambda: server.addrs(HOST, "A") == {new}, 5, 0.01)
        delay = time.monotonic() - t0
        assert seen, "A still %s after 5 s (wanted %s)\n%s" % (server.addrs(HOST, "A"), new,
                                                                client.log()[-4000:])
        print("WAN %s -> %s: DNS answered the new address after %.3f s" % (old, new, delay))
        delays.append(delay)
        assert delay < CHANGE_LIMIT, "took %.3f s (limit %.1f s)" % (delay, CHANGE_LIMIT)
        old = new
    print("WAN change -> DNS delays: %s (max %.3f s)"
          % (", ".join("%.3f s" % d for d in delays), max(delays)))

    # A stable global IPv6 address appears: it (and only it) is published.
    t0 = time.monotonic()
    home.ip("-6", "addr", "add", "2001:db8::10/64", "dev", "wan0", "nodad")
    ok = wait_for(lambda: server.addrs(HOST, "AAAA") == {"2001:db8::10"}, 5, 0.01)
    delay = time.monotonic() - t0
    assert ok, "AAAA=%s\n%s" % (server.addrs(HOST, "AAAA"), client.log()[-4000:])
    print("stable IPv6 2001:db8::10 added: AAAA answered after %.3f s" % delay)
    assert delay < CHANGE_LIMIT

    # Another deprecated and another ULA address later: still only the stable one.
    home.ip("-6", "addr", "add", "2001:db8::beef/64", "dev", "wan0", "nodad",
            "preferred_lft", "0", "valid_lft", "3600")
    home.ip("-6", "addr", "add", "fd00::20/64", "dev", "wan0", "nodad")
    time.sleep(1.0)
    assert server.addrs(HOST, "AAAA") == {"2001:db8::10"}
    assert server.addrs(HOST, "A") == {old}

    assert client.proc.poll() is None, "nameplate run exited:\n" + client.log()
    assert lab.stop(client.proc) == 0, "nameplate run did not stop cleanly:\n" + client.log()


# ---- 2. miniupnpd: the upnp source and the doctor's NAT verdicts --------------------

MINIUPNPD_CONF = """\
ext_ifname=wan0
listening_ip=lan0
http_port={port}
enable_natpmp=no
enable_upnp=yes
secure_mode=yes
system_uptime=no
lease_file={dir}/upnp.leases
uuid=3f1a2c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b
friendly_name=nameplate test IGD
{stun}
allow 1024-65535 198.18.0.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
"""


def nat_lab(lab, tmp_path, rtr_wan, isp_in, prefix, stun, isp_nat=True):
    """home (198.18.0.2) -- rtr (miniupnpd; NAT to rtr_wan) -- isp (isp_in; NAT to
    203.0.113.20 when isp_nat) -- srv (203.0.113.1, nameplated).

    miniupnpd 2.3.1 answers GetExternalIPAddress with 0.0.0.0 when its WAN address is
    private or reserved (it refuses such an ext_ip too). With stun, it learns its
    external address from a STUN server on the ISP's inner side, which sees the router's
    WAN address itself: what a router that reports its WAN address would answer. Without
    stun the IGD reports no usable address."""
    home, rtr, isp, srv = lab.ns("home"), lab.ns("rtr"), lab.ns("isp"), lab.ns("srv")
    lab.veth(home, "lan0", rtr, "lan0")
    lab.veth(rtr, "wan0", isp, "in0")
    lab.veth(isp, "out0", srv, "srv0")
    home.ip("addr", "add", "198.18.0.2/24", "dev", "lan0")
    home.ip("route", "add", "default", "via", "198.18.0.1")
    rtr.ip("addr", "add", "198.18.0.1/24", "dev", "lan0")
    rtr.ip("addr", "add", "%s/%d" % (rtr_wan, prefix), "dev", "wan0")
    rtr.ip("route", "add", "default", "via", isp_in)
    isp.ip("addr", "add", "%s/%d" % (isp_in, prefix), "dev", "in0")
    isp.ip("addr", "add", "203.0.113.20/24", "dev", "out0")
    srv.ip("addr", "add", SRV_ADDR + "/24", "dev", "srv0")
    if not isp_nat:
        net = ipaddress.ip_interface("%s/%d" % (isp_in, prefix)).network
        srv.ip("route", "add", str(net), "via", "203.0.113.20")
    for ns in (rtr, isp):
        ns.sysctl("net.ipv4.ip_forward", 1)
    nat = [(rtr, "wan0")] + ([(isp, "out0")] if isp_nat else [])
    for ns, dev in nat:
        rules = ("table ip nptest {\n chain post {\n  type nat hook postrouting priority 100;\n"
                 "  oifname \"%s\" masquerade\n }\n}\n" % dev)
        path = os.path.join(lab.tmp, "nat-%s.nft" % ns.role)
        with open(path, "w") as f:
            f.write(rules)
        ns.run([NFT, "-f", path])

    server = server_in(lab, srv, tmp_path)
    lab.servers.append(server)

    stun_conf = ""
    if stun:
        stun_py = os.path.join(lab.tmp, "stun.py")
        with open(stun_py, "w") as f:
            f.write(netns.STUN_SERVER)
        p = isp.popen([PYTHON, stun_py, isp_in, 3478], os.path.join(lab.tmp, "stun.log"))
        assert wait_for(lambda: "stun ready" in lab.log(p), 5), lab.log(p)
        stun_conf = "ext_perform_stun=yes\next_stun_host=%s\next_stun_port=3478" % isp_in

    upnp_port = free_port()
    conf = os.path.join(lab.tmp, "miniupnpd.conf")
    with open(conf, "w") as f:
        f.write(MINIUPNPD_CONF.format(port=upnp_port, dir=lab.tmp, stun=stun_conf))
    mu = rtr.popen([MINIUPNPD, "-f", conf, "-d", "-P", os.path.join(lab.tmp, "miniupnpd.pid")],
                   os.path.join(lab.tmp, "miniupnpd.log"))
    assert wait_for(lambda: "HTTP listening on port" in lab.log(mu) or mu.poll() is not None,
                    10), lab.log(mu)
    assert mu.poll() is None, "miniupnpd exited:\n" + lab.log(mu)
    rootdesc = "http://198.18.0.1:%d/rootDesc.xml" % upnp_port
    url = "http://%s:%d/nic/update" % (SRV_ADDR, server.http_port)
    client = Client(lab, home, url, server.secret, "upnp:" + rootdesc)
    return client, server


def doctor_json(client, *args):
    r = client.cmd("doctor", "--json", *args)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError("doctor --json printed no JSON (exit %d):\n%s\n%s"
                             % (r.returncode, r.stdout, r.stderr))
    return r.returncode, out["hosts"][0], out


@pytest.mark.skipif(not os.path.exists(MINIUPNPD), reason="miniupnpd-nftables not installed")
def test_upnp_cgnat(lab, tmp_path):
    client, server = nat_lab(lab, tmp_path, "100.64.1.2", "100.64.0.1", 10, stun=True)
    rc, h, _ = doctor_json(client)
    print("doctor (router WAN 100.64.1.2):", json.dumps(h, indent=1))
    assert h["wan_interface"] == "lan0" and h["wan_address"] == "198.18.0.2"
    assert h["igd_found"] is True
    assert h["router_address"] == "100.64.1.2"      # read from miniupnpd through UPnP
    assert h["server_seen"] == "203.0.113.20"       # the ISP's NAT, seen by nameplated
    assert h["verdict"] == "cgnat"
    assert h["reachable"] is False and rc == 1
    text = client.cmd("doctor")
    print(text.stdout)
    assert text.returncode == 1
    assert "inbound connections cannot reach you" in text.stdout
    assert "carrier-grade NAT" in text.stdout and "100.64.0.0/10" in text.stdout

    # Without a URL the IGD is found by SSDP discovery (multicast stays in the namespaces).
    disc = Client(lab, client.ns, client.server_url, server.secret, "upnp")
    rc, h, _ = doctor_json(disc)
    assert h["router_address"] == "100.64.1.2" and h["verdict"] == "cgnat", h

    # The upnp source publishes what the IGD says (the engine sends it as myip).
    r = client.cmd("update", "--once")
    print("update --once via upnp:", r.returncode, r.stdout, r.stderr[-2000:])
    assert wait_for(lambda: server.addrs(HOST, "A") == {"100.64.1.2"}, 5), \
        "A=%s\n%s" % (server.addrs(HOST, "A"), r.stderr)


@pytest.mark.skipif(not os.path.exists(MINIUPNPD), reason="miniupnpd-nftables not installed")
def test_upnp_double_nat(lab, tmp_path):
    client, server = nat_lab(lab, tmp_path, "192.168.100.2", "192.168.100.1", 24, stun=True)
    rc, h, _ = doctor_json(client)
    print("doctor (router WAN 192.168.100.2):", json.dumps(h, indent=1))
    assert h["router_address"] == "192.168.100.2"
    assert h["server_seen"] == "203.0.113.20"
    assert h["verdict"] == "double-nat"
    assert rc == 1 and h["reachable"] is False
    text = client.cmd("doctor")
    print(text.stdout)
    assert "double NAT" in text.stdout and "192.168.100.2" in text.stdout


@pytest.mark.skipif(not os.path.exists(MINIUPNPD), reason="miniupnpd-nftables not installed")
def test_upnp_router_without_public_address(lab, tmp_path):
    # No STUN: miniupnpd itself refuses to report its reserved WAN address.
    client, server = nat_lab(lab, tmp_path, "100.64.1.2", "100.64.0.1", 10, stun=False)
    rc, h, _ = doctor_json(client)
    print("doctor (no STUN):", json.dumps(h, indent=1))
    assert h["igd_found"] is True and h["router_address"] is None
    assert h["verdict"] == "router-no-address"
    assert rc == 1
    # The upnp source has nothing to publish: no address reaches the server.
    r = client.cmd("update", "--once")
    assert r.returncode != 0
    assert server.addrs(HOST, "A") == set()


@pytest.mark.skipif(not os.path.exists(MINIUPNPD), reason="miniupnpd-nftables not installed")
def test_upnp_single_nat_public_router(lab, tmp_path):
    # The ISP routes without NAT: the router's WAN address is what the server sees.
    client, server = nat_lab(lab, tmp_path, "198.19.0.2", "198.19.0.1", 24, stun=True,
                             isp_nat=False)
    rc, h, _ = doctor_json(client)
    print("doctor (single NAT):", json.dumps(h, indent=1))
    assert h["router_address"] == "198.19.0.2" and h["server_seen"] == "198.19.0.2"
    assert h["verdict"] == "nat" and h["blocking"] is False
    assert rc == 0


# ---- 3. the server's probe: an open and a closed port -------------------------------

def test_doctor_probe_open_and_closed(lab, tmp_path):
    srv, home, server = srv_and_home(lab, tmp_path)
    p_open, p_closed = free_port(), free_port()
    script = os.path.join(lab.tmp, "listen.py")
    with open(script, "w") as f:
        f.write(netns.tcp_listener_script())
    listener = home.popen([PYTHON, script, p_open], os.path.join(lab.tmp, "listener.log"))
    assert wait_for(lambda: "listening" in lab.log(listener), 5), lab.log(listener)

    url = "http://%s:%d/nic/update" % (SRV_ADDR, server.http_port)
    client = Client(lab, home, url, server.secret, "interface:wan0")
    r = client.cmd("doctor", "--port", p_open, "--port", p_closed)
    print(r.stdout)
    if "no probe endpoint" in r.stdout:
        pytest.fail("the server has no /nic/probe endpoint yet:\n" + r.stdout)
    assert "WAN interface: wan0, address 203.0.113.10" in r.stdout
    assert "server sees: 203.0.113.10" in r.stdout
    assert "port %d: open" % p_open in r.stdout, r.stdout + r.stderr
    assert "port %d: closed" % p_closed in r.stdout, r.stdout + r.stderr
    assert r.returncode == 1    # a port asked for is not reachable

    rc, h, _ = doctor_json(client, "--port", p_open)
    assert h["verdict"] == "public"
    assert h["ports"] == [{"port": p_open, "state": "open",
                           "detail": "the server connected back to it"}]
    assert h["reachable"] is True and rc == 0

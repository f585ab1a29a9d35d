# SPDX-License-Identifier: MIT
# `nameplate audit` in network namespaces made by the test (root; CI is root):
#   home (198.18.0.2, the client and its LAN services) -- rtr (198.18.0.1 / 198.19.0.2: a
#   real miniupnpd as the IGD, or none) -- isp (routes, or NATs for the CGNAT home) -- srv
#   (203.0.113.1: nameplated, the "internet").
#  - the exposed home: telnet and a camera mapped by upnpc; upnp-enabled, upnp-mapping
#    reachable from outside, port-open, default-credentials; grade D or worse; nmap from the
#    internet agrees with every port the audit calls reachable;
#  - --credentials tries only LAN devices (a listener outside hears nothing) and stays within
#    its attempt bound; the password that worked is printed nowhere;
#  - the mapping removed, the finding is gone and the change is shown;
#  - the VPN-only home (UDP 51820 forwarded to a silent listener): vpn-only, grade A;
#  - the clean home and the CGNAT home: nothing above low, nobody accused;
#  - every audit's report is kept by the server (GET /api/v1/hosts/NAME/audit) with what
#    changed since the one before; a re-run after a mapping is removed shows it there;
#  - a router whose SSDP answers on its WAN side: upnp-wan-exposed, reachable, high;
#  - the home behind two NATs (a second router between the router and the ISP): double-nat;
#  - a router's web login form that takes a default pair: found within the bound, the
#    password printed and kept nowhere; one that never lets in is not reported.

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import free_port, wait_for
import netns
from netns import PYTHON, Lab
from test_client_netns import HOST, Client, SRV_ADDR, lab, server_in  # noqa: F401 (lab: fixture)

MINIUPNPD = shutil.which("miniupnpd") or "/usr/sbin/miniupnpd"
UPNPC = shutil.which("upnpc") or "/usr/bin/upnpc"
NMAP = shutil.which("nmap") or "/usr/bin/nmap"
NFT = shutil.which("nft") or "/usr/sbin/nft"
HOME_ADDR = "198.18.0.2"
RTR_WAN = "198.19.0.2"

pytestmark = pytest.mark.skipif(not netns.have_root(), reason="needs root (network namespaces)")
needs_upnp = pytest.mark.skipif(not (os.path.exists(MINIUPNPD) and os.path.exists(UPNPC)),
                                reason="miniupnpd-nftables and miniupnpc not installed")

# The chains miniupnpd fills (its nftables defaults: table inet filter), with the router's
# own NAT; extra: more rules for the prerouting chain (a forward made by hand).
RTR_NFT = """\
table inet filter {{
 chain forward {{
  type filter hook forward priority 0; policy accept;
  jump miniupnpd
 }}
 chain miniupnpd {{
 }}
 chain prerouting {{
  type nat hook prerouting priority -100; policy accept;
  {extra}
  jump prerouting_miniupnpd
 }}
 chain postrouting {{
  type nat hook postrouting priority 100; policy accept;
  jump postrouting_miniupnpd
  oifname "wan0" masquerade
 }}
 chain prerouting_miniupnpd {{
 }}
 chain postrouting_miniupnpd {{
 }}
}}
"""

MINIUPNPD_CONF = """\
ext_ifname=wan0
listening_ip=lan0
http_port={port}
enable_natpmp=yes
enable_upnp=yes
secure_mode=no
system_uptime=no
lease_file={dir}/upnp.leases
uuid=3f1a2c4e-5b6d-4e7f-8a9b-0c1d2e3f4a5c
friendly_name=nameplate audit test IGD
ext_perform_stun=yes
ext_stun_host=198.19.0.1
ext_stun_port=3478
allow 1-65535 198.18.0.0/24 1-65535
allow 1-65535 203.0.113.1/32 1-65535
deny 0-65535 0.0.0.0/0 0-65535
"""

# LAN devices: a telnet service that takes admin/admin, one that takes nothing (it counts
# what is tried), and a camera-like web page behind HTTP Basic (root:vizxv). Each attempt is
# logged as "attempt PORT USER"; the script ends by itself.
LAN_DEVICES = r'''
import base64, socket, sys, threading, time
addr = sys.argv[1]
END = time.monotonic() + 180
def log(*a):
    print(*a, flush=True)
def readline(c):
    data = b""
    while not data.endswith(b"\n") and len(data) < 200:
        ch = c.recv(1)
        if not ch:
            break
        data += ch
    # telnet option replies (IAC ...) are not part of the line
    return "".join(ch for ch in data.decode("latin-1") if 32 <= ord(ch) < 127).strip()
def telnet(port, good):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(8); s.settimeout(0.5)
    while time.monotonic() < END:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(5)
        try:
            c.sendall(b"\xff\xfb\x01BusyBox on camera\r\nlogin: ")
            u = readline(c)
            if not u:
                c.close(); continue
            c.sendall(b"Password: ")
            p = readline(c)
            log("attempt", port, u)
            if (u, p) == good:
                c.sendall(b"\r\nWelcome\r\n# ")
            else:
                c.sendall(b"\r\nLogin incorrect\r\n")
        except OSError:
            pass
        c.close()
def camera(port, good):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(8); s.settimeout(0.5)
    want = "Basic " + base64.b64encode(good.encode()).decode()
    while time.monotonic() < END:
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        c.settimeout(5)
        try:
            req = b""
            while b"\r\n\r\n" not in req and len(req) < 4096:
                ch = c.recv(1024)
                if not ch:
                    break
                req += ch
            auth = [l.split(":", 1)[1].strip() for l in req.decode(errors="replace").split("\r\n")
                    if l.lower().startswith("authorization:")]
            if auth:
                user = base64.b64decode(auth[0].split()[1]).decode(errors="replace").split(":")[0]
                log("attempt", port, user)
            if auth and auth[0] == want:
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 7\r\n\r\ncamera\n")
            else:
                c.sendall(b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n"
                          b"Content-Length: 0\r\n\r\n")
        except OSError:
            pass
        c.close()
threading.Thread(target=telnet, args=(23, ("admin", "admin")), daemon=True).start()
threading.Thread(target=telnet, args=(2323, ("nobody", "never")), daemon=True).start()
threading.Thread(target=camera, args=(8080, "root:vizxv"), daemon=True).start()
log("devices ready")
while time.monotonic() < END:
    time.sleep(0.5)
'''

# Outside: records every connection and any byte sent to it.
RECORDER = r'''
import socket, sys, threading, time
END = time.monotonic() + 180
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port)); s.listen(8); s.settimeout(0.5)
    while time.monotonic() < END:
        try:
            c, peer = s.accept()
        except socket.timeout:
            continue
        c.settimeout(2)
        try:
            c.sendall(b"login: ")
            data = c.recv(200)
        except OSError:
            data = b""
        print("connection", port, peer[0], repr(data), flush=True)
        c.close()
for p in (23, 8080):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("recorder ready", flush=True)
while time.monotonic() < END:
    time.sleep(0.5)
'''

SILENT_UDP = r'''
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2]))); s.settimeout(0.5)
print("silent ready", flush=True)
end = time.monotonic() + 180
while time.monotonic() < end:
    try:
        d, peer = s.recvfrom(2048)
        print("datagram from", peer[0], len(d), flush=True)
    except socket.timeout:
        pass
'''


def script(lab, name, text):
    path = os.path.join(lab.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def home_lab(lab, tmp_path, upnp=False, forward_udp=None, cgnat=False, double_nat=False):
    """home -- rtr -- isp -- srv, as the module comment says. upnp: miniupnpd on rtr;
    forward_udp: a port the router forwards by hand to the home; cgnat: the client runs on
    the router itself, whose WAN address is 100.64.1.2 behind the ISP's NAT; double_nat: a
    second NAT router (rtr2, 192.168.100.1 inside, 198.19.0.2 outside) between rtr (WAN
    192.168.100.2) and the ISP."""
    if cgnat:
        home, isp, srv = lab.ns("home"), lab.ns("isp"), lab.ns("srv")
        lab.veth(home, "wan0", isp, "in0")
        lab.veth(isp, "out0", srv, "srv0")
        home.ip("addr", "add", "100.64.1.2/10", "dev", "wan0")
        home.ip("route", "add", "default", "via", "100.64.0.1")
        isp.ip("addr", "add", "100.64.0.1/10", "dev", "in0")
        isp.ip("addr", "add", "203.0.113.20/24", "dev", "out0")
        srv.ip("addr", "add", SRV_ADDR + "/24", "dev", "srv0")
        isp.sysctl("net.ipv4.ip_forward", 1)
        path = script(lab, "isp.nft", "table ip nptest {\n chain post {\n"
                      "  type nat hook postrouting priority 100;\n"
                      "  oifname \"out0\" masquerade\n }\n}\n")
        isp.run([NFT, "-f", path])
        rtr = None
    else:
        home, rtr, isp, srv = lab.ns("home"), lab.ns("rtr"), lab.ns("isp"), lab.ns("srv")
        lab.veth(home, "lan0", rtr, "lan0")
        if double_nat:
            rtr2 = lab.ns("rtr2")
            lab.veth(rtr, "wan0", rtr2, "in0")
            lab.veth(rtr2, "wan0", isp, "in0")
            rtr.ip("addr", "add", "192.168.100.2/24", "dev", "wan0")
            rtr.ip("route", "add", "default", "via", "192.168.100.1")
            rtr2.ip("addr", "add", "192.168.100.1/24", "dev", "in0")
            rtr2.ip("addr", "add", RTR_WAN + "/24", "dev", "wan0")
            rtr2.ip("route", "add", "default", "via", "198.19.0.1")
            rtr2.sysctl("net.ipv4.ip_forward", 1)
            rtr2.run([NFT, "-f", script(lab, "rtr2.nft", "table ip nptest {\n chain post {\n"
                                        "  type nat hook postrouting priority 100;\n"
                                        "  oifname \"wan0\" masquerade\n }\n}\n")])
        else:
            lab.veth(rtr, "wan0", isp, "in0")
            rtr.ip("addr", "add", RTR_WAN + "/24", "dev", "wan0")
            rtr.ip("route", "add", "default", "via", "198.19.0.1")
        lab.veth(isp, "out0", srv, "srv0")
        home.ip("addr", "add", HOME_ADDR + "/24", "dev", "lan0")
        home.ip("route", "add", "default", "via", "198.18.0.1")
        rtr.ip("addr", "add", "198.18.0.1/24", "dev", "lan0")
        isp.ip("addr", "add", "198.19.0.1/24", "dev", "in0")
        isp.ip("addr", "add", "203.0.113.20/24", "dev", "out0")
        srv.ip("addr", "add", SRV_ADDR + "/24", "dev", "srv0")
        srv.ip("route", "add", "198.19.0.0/24", "via", "203.0.113.20")
        for ns in (rtr, isp):
            ns.sysctl("net.ipv4.ip_forward", 1)
        extra = ""
        if forward_udp:
            extra = "iifname \"wan0\" udp dport %d dnat ip to %s:%d" % (forward_udp, HOME_ADDR,
                                                                      forward_udp)
        rtr.run([NFT, "-f", script(lab, "rtr.nft", RTR_NFT.format(extra=extra))])

    server = server_in(lab, srv, tmp_path)
    lab.servers.append(server)
    url = "http://%s:%d/nic/update" % (SRV_ADDR, server.http_port)
    client = Client(lab, home, url, server.secret, "checkip")
    lab.home, lab.rtr, lab.srv, lab.rootdesc = home, rtr, srv, None
    if upnp:
        stun = isp.popen([PYTHON, script(lab, "stun.py", netns.STUN_SERVER), "198.19.0.1", 3478],
                         os.path.join(lab.tmp, "stun.log"))
        assert wait_for(lambda: "stun ready" in lab.log(stun), 5), lab.log(stun)
        port = free_port()
        conf_text = MINIUPNPD_CONF.format(port=port, dir=lab.tmp)
        if double_nat:
            # Without STUN, as most routers: it reports its own (private) WAN address.
            conf_text = conf_text.replace("ext_perform_stun=yes", "ext_perform_stun=no")
        conf = script(lab, "miniupnpd.conf", conf_text)
        mu = rtr.popen([MINIUPNPD, "-f", conf, "-d", "-P", os.path.join(lab.tmp, "mu.pid")],
                       os.path.join(lab.tmp, "miniupnpd.log"))
        assert wait_for(lambda: "HTTP listening on port" in lab.log(mu) or mu.poll() is not None,
                        10), lab.log(mu)
        assert mu.poll() is None, "miniupnpd exited:\n" + lab.log(mu)
        lab.rootdesc = "http://198.18.0.1:%d/rootDesc.xml" % port
    return client, server


def upnpc(lab, *args):
    return lab.home.run([UPNPC, "-u", lab.rootdesc] + [str(a) for a in args], timeout=30)


def audit(client, *args):
    r = client.cmd("audit", "--json", *args, timeout=120)
    try:
        out = json.loads(r.stdout)
    except ValueError:
        raise AssertionError("audit --json printed no JSON (exit %d):\n%s\n%s"
                             % (r.returncode, r.stdout, r.stderr))
    print("audit %s: exit %d, grade %s: %s" % (" ".join(args), r.returncode, out["grade"],
          ", ".join("%s(%s)" % (f["id"], f["severity"]) for f in out["findings"])))
    return r, out


def server_audit(lab, server):
    """GET /api/v1/hosts/HOST/audit from the internet namespace, with the host's secret."""
    code = ("import sys, urllib.request\n"
            "r = urllib.request.Request(sys.argv[1], headers={'Authorization': 'Token ' + "
            "sys.argv[2]})\n"
            "print(urllib.request.urlopen(r, timeout=10).read().decode())\n")
    r = lab.srv.run([PYTHON, "-c", code, "http://%s:%d/api/v1/hosts/%s/audit"
                     % (SRV_ADDR, server.http_port, HOST), server.secret])
    return json.loads(r.stdout)["audit"]


SEV = ["info", "low", "medium", "high", "critical"]


def above_low(out):
    return [f for f in out["findings"] if SEV.index(f["severity"]) > 1]


def by_id(out, fid):
    return [f for f in out["findings"] if f["id"] == fid]


def reachable_tcp_ports(out):
    ports = set()
    for f in out["findings"]:
        ev = f["evidence"]
        if f["reachable_from_outside"] is True and ev.get("protocol") == "tcp":
            ports.add(ev.get("external_port", ev.get("port")))
    return ports


def check_schema(out):
    assert set(out) >= {"grade", "findings"} and out["grade"] in "ABCDF"
    for f in out["findings"]:
        assert set(f) >= {"id", "severity", "layer", "evidence", "reachable_from_outside",
                          "remedy"}, f
        assert f["severity"] in SEV and f["layer"] in (1, 2, 3)
        assert f["reachable_from_outside"] in (True, False, None)
        assert all(f["remedy"][k] for k in ("found", "why", "what_to_do")), f
    sevs = [SEV.index(f["severity"]) for f in out["findings"]]
    assert sevs == sorted(sevs, reverse=True), "not ordered by severity"


def nmap_open(lab, addr):
    """Debian's nmap from the internet namespace: every TCP port, the open ones."""
    r = lab.srv.run([NMAP, "-Pn", "-n", "-sT", "-p", "1-65535", "-T4", "--max-retries", "1",
                     "-oX", "-", addr], timeout=300)
    root = ET.fromstring(r.stdout)
    return {int(p.get("portid")) for p in root.iter("port")
            if p.find("state").get("state") == "open"}


@needs_upnp
@pytest.mark.skipif(not os.path.exists(NMAP), reason="nmap not installed")
def test_exposed_home(lab, tmp_path):
    client, server = home_lab(lab, tmp_path, upnp=True)
    devices = lab.home.popen([PYTHON, script(lab, "lan.py", LAN_DEVICES), HOME_ADDR],
                             os.path.join(lab.tmp, "lan.log"))
    assert wait_for(lambda: "devices ready" in lab.log(devices), 5), lab.log(devices)
    recorder = lab.srv.popen([PYTHON, script(lab, "rec.py", RECORDER), SRV_ADDR],
                             os.path.join(lab.tmp, "rec.log"))
    assert wait_for(lambda: "recorder ready" in lab.log(recorder), 5), lab.log(recorder)
    upnpc(lab, "-e", "camera telnet", "-a", HOME_ADDR, 23, 23, "TCP", 3600)
    upnpc(lab, "-e", "camera web", "-a", HOME_ADDR, 8080, 8080, "TCP", 3600)
    upnpc(lab, "-e", "dvr telnet", "-a", HOME_ADDR, 2323, 2323, "TCP", 3600)
    # A mapping to an address outside the LAN (the recorder in the internet namespace).
    upnpc(lab, "-e", "outside", "-a", SRV_ADDR, 23, 2424, "TCP", 3600)
    print(upnpc(lab, "-l").stdout)

    r, out = audit(client)
    print(json.dumps(out, indent=1)[:6000])
    check_schema(out)
    assert r.returncode == 1
    assert out["grade"] in ("D", "F"), out["grade"]
    assert by_id(out, "upnp-enabled") and by_id(out, "natpmp-enabled")
    telnet = [f for f in by_id(out, "upnp-mapping") if f["evidence"]["external_port"] == 23]
    assert len(telnet) == 1, out
    ev = telnet[0]["evidence"]
    assert (ev["protocol"], ev["internal_address"], ev["internal_port"]) == ("tcp", HOME_ADDR, 23)
    assert ev["description"] == "camera telnet" and 0 < ev["lease"] <= 3600
    assert telnet[0]["reachable_from_outside"] is True and telnet[0]["severity"] == "high"
    assert any(f["evidence"]["port"] == 23 for f in by_id(out, "port-open"))
    assert not by_id(out, "default-credentials")      # not asked for
    assert not by_id(out, "vpn-only")

    # nmap agrees: what nmap finds open the audit calls reachable, and the other way round.
    found = nmap_open(lab, RTR_WAN)
    print("nmap open:", sorted(found), "audit reachable:", sorted(reachable_tcp_ports(out)))
    assert found, "nmap found nothing open"
    assert found == reachable_tcp_ports(out)

    # --credentials: the LAN devices are tried, the outside one never.
    before = lab.log(devices).count("attempt")
    r, out = audit(client, "--credentials")
    check_schema(out)
    creds = {(f["evidence"]["address"], f["evidence"]["port"]): f
             for f in by_id(out, "default-credentials")}
    assert set(creds) == {(HOME_ADDR, 23), (HOME_ADDR, 8080)}, creds
    assert creds[(HOME_ADDR, 23)]["evidence"]["user"] == "admin"
    assert creds[(HOME_ADDR, 8080)]["evidence"]["user"] == "root"
    assert creds[(HOME_ADDR, 23)]["severity"] == "critical"
    assert creds[(HOME_ADDR, 23)]["reachable_from_outside"] is True
    assert out["grade"] == "F" and r.returncode == 1
    assert out["sent"]["stored"] is True and out["changes"]["from"] == "server"
    kept = server_audit(lab, server)
    assert kept["time"] == out["sent"]["time"] and kept["grade"] == "F"
    assert {f["key"] for f in kept["report"]["findings"]} == {f["key"] for f in out["findings"]}
    assert "vizxv" not in json.dumps(kept)
    log = lab.log(devices)
    attempts = [l for l in log.splitlines() if l.startswith("attempt")]
    print("attempts:", attempts[before:])
    per_port = {p: sum(1 for l in attempts if l.split()[1] == p) for p in ("23", "2323", "8080")}
    assert per_port["23"] == 1                         # admin/admin first
    assert 1 <= per_port["2323"] <= 8                  # the bound
    assert 1 <= per_port["8080"] <= 8
    # the password that worked is printed and kept nowhere
    state = "".join(open(os.path.join(dp, f), errors="replace").read()
                    for dp, _, fs in os.walk(client.dir) for f in fs)
    assert "vizxv" not in r.stdout + r.stderr + state
    rec = lab.log(recorder)
    print("outside recorder:", rec)
    assert "connection 23 %s" % RTR_WAN not in rec or "b''" in rec
    assert not [l for l in rec.splitlines() if l.startswith("connection") and "b''" not in l], \
        "a login was tried outside the LAN:\n" + rec

    # The telnet mapping removed: gone, and the change is shown.
    upnpc(lab, "-d", 23, "TCP")
    r, out = audit(client)
    assert not [f for f in by_id(out, "upnp-mapping") if f["evidence"]["external_port"] == 23]
    assert not [f for f in by_id(out, "port-open") if f["evidence"]["port"] == 23]
    assert "upnp-mapping tcp/23" in out["changes"]["gone"], out["changes"]
    assert "port-open tcp/23" in out["changes"]["gone"], out["changes"]
    # The server's record is the new audit, with the change listed.
    kept = server_audit(lab, server)
    assert kept["time"] == out["sent"]["time"]
    assert not [f for f in kept["report"]["findings"] if f["key"].endswith(" tcp/23")]
    assert {"upnp-mapping tcp/23", "port-open tcp/23"} <= set(kept["changes"]["gone"])
    assert kept["changes"] == {k: v for k, v in out["changes"].items() if k != "from"}
    text = client.cmd("audit", timeout=120)
    print(text.stdout[-3000:])
    assert text.returncode == 1 and "grade " in text.stdout
    assert "changes since the last audit (the server's record): none" in text.stdout
    assert "report kept by the server" in text.stdout


def test_vpn_only_home(lab, tmp_path):
    client, server = home_lab(lab, tmp_path, forward_udp=51820)
    lab.home.ip("tuntap", "add", "wg0", "mode", "tun")     # the VPN's interface
    silent = lab.home.popen([PYTHON, script(lab, "silent.py", SILENT_UDP), HOME_ADDR, 51820],
                            os.path.join(lab.tmp, "silent.log"))
    assert wait_for(lambda: "silent ready" in lab.log(silent), 5), lab.log(silent)
    r, out = audit(client)
    print(json.dumps(out, indent=1)[:4000])
    check_schema(out)
    vpn = by_id(out, "vpn-only")
    assert len(vpn) == 1 and vpn[0]["layer"] == 3 and vpn[0]["severity"] == "info", out
    assert "wg0" in vpn[0]["evidence"]["interfaces"]
    assert vpn[0]["evidence"]["silent_ports"] == "udp/51820"
    assert "datagram from" in lab.log(silent)       # the probe reached the listener
    assert not [f for f in out["findings"] if SEV.index(f["severity"]) > 1], out
    assert out["grade"] == "A" and r.returncode == 0


def test_clean_home(lab, tmp_path):
    client, server = home_lab(lab, tmp_path)
    r, out = audit(client)
    check_schema(out)
    assert out["outside_view"] is True
    assert not above_low(out), out
    assert not by_id(out, "port-open") and not by_id(out, "vpn-only")
    assert by_id(out, "no-igd")
    assert out["grade"] == "A" and r.returncode == 0


def test_cgnat_home(lab, tmp_path):
    client, server = home_lab(lab, tmp_path, cgnat=True)
    r, out = audit(client)
    check_schema(out)
    cg = by_id(out, "cgnat")
    assert len(cg) == 1 and cg[0]["reachable_from_outside"] is False, out
    assert cg[0]["evidence"]["wan_address"] == "100.64.1.2"
    assert not above_low(out), out
    assert not by_id(out, "port-open")
    assert r.returncode == 0


def test_usage_and_unreachable_server(lab, tmp_path):
    client, server = home_lab(lab, tmp_path)
    r = client.cmd("audit", "--bogus")
    assert r.returncode == 2
    r, out = audit(client)
    assert r.returncode == 0 and out["sent"]["stored"] is True and out["changes"] is None
    server.stop()
    r = client.cmd("audit", timeout=120)
    print(r.stdout)
    assert r.returncode == 3
    assert "grade" in r.stdout and "outside view: missing" in r.stdout
    # Without the server, what changed is this machine's own record of the last run.
    assert "changes since the last audit (this machine's record):" in r.stdout
    assert "new:  probe-unavailable" in r.stdout
    assert "report not kept by the server: not sent: the server did not answer" in r.stdout
    r = client.cmd("audit", "--no-probe", timeout=120)
    assert r.returncode == 0 and "outside view" not in r.stdout
    assert "report" not in r.stdout   # --no-probe: nothing is sent


# An SSDP responder on the router's WAN address: what a defective router's miniupnpd does
# (it answers M-SEARCH from the internet). Logs each search it answered.
WAN_SSDP = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 1900)); s.settimeout(0.5)
print("ssdp ready", flush=True)
end = time.monotonic() + 180
while time.monotonic() < end:
    try:
        d, peer = s.recvfrom(2048)
    except socket.timeout:
        continue
    if d.startswith(b"M-SEARCH"):
        s.sendto(b"HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: upnp:rootdevice\r\n"
                 b"USN: uuid:3f1a2c4e::upnp:rootdevice\r\nEXT:\r\nSERVER: Linux UPnP/1.1 "
                 b"MiniUPnPd/2.3\r\nLOCATION: http://%s:5000/rootDesc.xml\r\n\r\n"
                 % sys.argv[1].encode(), peer)
        print("answered", peer[0], flush=True)
"""


def test_upnp_wan_exposed(lab, tmp_path):
    client, server = home_lab(lab, tmp_path)
    ssdp = lab.rtr.popen([PYTHON, script(lab, "wan_ssdp.py", WAN_SSDP), RTR_WAN],
                         os.path.join(lab.tmp, "wan_ssdp.log"))
    assert wait_for(lambda: "ssdp ready" in lab.log(ssdp), 5), lab.log(ssdp)
    r, out = audit(client)
    check_schema(out)
    wan = by_id(out, "upnp-wan-exposed")
    assert len(wan) == 1, out
    assert wan[0]["reachable_from_outside"] is True and wan[0]["severity"] == "high"
    assert wan[0]["layer"] == 1 and wan[0]["evidence"] == {"protocol": "udp", "port": 1900}
    assert "answered %s" % SRV_ADDR in lab.log(ssdp)     # the server's own M-SEARCH
    assert out["grade"] == "D" and r.returncode == 1
    assert [f["key"] for f in server_audit(lab, server)["report"]["findings"]
            if f["id"] == "upnp-wan-exposed"] == ["upnp-wan-exposed udp/1900"]


@needs_upnp
def test_double_nat_home(lab, tmp_path):
    client, server = home_lab(lab, tmp_path, upnp=True, double_nat=True)
    r, out = audit(client)
    print(json.dumps(out, indent=1)[:3000])
    check_schema(out)
    dn = by_id(out, "double-nat")
    assert len(dn) == 1, out
    assert dn[0]["severity"] == "info" and dn[0]["reachable_from_outside"] is False
    assert dn[0]["evidence"]["verdict"] in ("double-nat", "router-no-address")
    assert out["nat"] in ("double-nat", "router-no-address")
    assert out["outside_view"] is True and not by_id(out, "port-open")
    assert not by_id(out, "cgnat")


# A router's web admin page behind a login form (GET / redirects to it; a hidden CSRF field;
# a session cookie on success, the status page only with it). mode "good" takes root:888888
# (the seventh pair); mode "never" takes nothing, yet answers every POST with a redirect and
# a cookie, back to the login form: a login that did not work must not be reported.
FORM_ROUTER = r"""
import http.server, sys, threading, time, urllib.parse
addr, mode = sys.argv[1], sys.argv[2]
FORM = (b"<html><body><h1>Router login</h1><form method='post' action='/cgi-bin/login'>"
        b"<input type=hidden name=csrf value=tok123><label>User <input type='text' "
        b"name='username'></label><label>Password <input type=\"password\" name=\"pwd\">"
        b"</label><input type=submit value=Login></form></body></html>")
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass
    def send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/":
            return self.send(302, headers=[("Location", "/login.html")])
        if self.path == "/login.html":
            return self.send(200, FORM, [("Set-Cookie", "pre=1; Path=/")])
        if self.path == "/status" and "sid=good" in self.headers.get("Cookie", ""):
            return self.send(200, b"<html><body>Router status: online</body></html>")
        return self.send(302, headers=[("Location", "/login.html")])
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        f = urllib.parse.parse_qs(self.rfile.read(min(n, 4096)).decode(), keep_blank_values=True)
        user = f.get("username", [""])[0]
        pair = (user, f.get("pwd", [""])[0])
        print("attempt", user, "csrf" if f.get("csrf") == ["tok123"] else "no-csrf",
              "cookie" if "pre=1" in self.headers.get("Cookie", "") else "no-cookie",
              flush=True)
        if mode == "good" and pair == ("root", "888888") and f.get("csrf") == ["tok123"]:
            return self.send(302, headers=[("Location", "/status"),
                                           ("Set-Cookie", "sid=good; Path=/")])
        return self.send(302, headers=[("Location", "/"), ("Set-Cookie", "sid=bad; Path=/")])
srv = http.server.ThreadingHTTPServer((addr, 80), H)
threading.Thread(target=srv.serve_forever, daemon=True).start()
print("form ready", flush=True)
time.sleep(180)
"""


def test_form_login_default_credentials(lab, tmp_path):
    client, server = home_lab(lab, tmp_path)

    def router(mode):
        p = lab.rtr.popen([PYTHON, script(lab, "form_%s.py" % mode, FORM_ROUTER), "198.18.0.1",
                           mode], os.path.join(lab.tmp, "form_%s.log" % mode))
        assert wait_for(lambda: "form ready" in lab.log(p), 5), lab.log(p)
        return p

    # A form that never lets in: tried within the bound, not reported.
    never = router("never")
    r, out = audit(client, "--credentials")
    attempts = [l for l in lab.log(never).splitlines() if l.startswith("attempt")]
    print("attempts:", attempts)
    assert len(attempts) == 8, attempts
    assert all(l.endswith("csrf cookie") for l in attempts), attempts  # as a browser sends
    assert not by_id(out, "default-credentials"), out
    never.terminate()
    never.wait(10)

    good = router("good")
    r, out = audit(client, "--credentials")
    check_schema(out)
    creds = by_id(out, "default-credentials")
    assert len(creds) == 1, out
    ev = creds[0]["evidence"]
    assert (ev["address"], ev["port"], ev["login"], ev["user"]) == \
        ("198.18.0.1", 80, "http-form", "root"), ev
    assert ev["attempts"] == 7 and creds[0]["severity"] == "critical"
    assert out["grade"] == "F" and r.returncode == 1
    assert len([l for l in lab.log(good).splitlines() if l.startswith("attempt")]) == 7
    # The password is printed, logged and kept nowhere: not here, not on the server.
    text = client.cmd("audit", "--credentials", timeout=120)
    state = "".join(open(os.path.join(dp, f), errors="replace").read()
                    for dp, _, fs in os.walk(client.dir) for f in fs)
    kept = json.dumps(server_audit(lab, server))
    assert "default-credentials" in kept
    for where in (r.stdout, r.stderr, text.stdout, text.stderr, state, kept):
        assert "888888" not in where

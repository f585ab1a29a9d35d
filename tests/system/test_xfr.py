# SPDX-License-Identifier: MIT
# Zone transfers to standard secondaries: Debian's NSD, Knot and BIND each run as a
# secondary of nameplated on loopback (own ports, own directories) and follow a dyndns2
# update within a second (NOTIFY, then IXFR); kdig and dig see the condensed difference;
# IXFR older than the kept history falls back to AXFR; who is not allowed is refused and
# changes nothing; a 100,000-host zone transfers completely with bounded server memory,
# even while updates go on.
import base64
import os
import re
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import time

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype
import dns.rrset
import dns.name
import dns.tsig
import dns.tsigkeyring

from conftest import NAMEPLATED, ZONE, free_port, wait_for

NSD = shutil.which("nsd") or "/usr/sbin/nsd"
KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
NAMED = shutil.which("named") or "/usr/sbin/named"
KDIG = shutil.which("kdig")
DIG = shutil.which("dig")
HOST = "home." + ZONE
KEY = "xfr-key"


def sanitized():
    """An ASAN build keeps freed memory in its quarantine: RSS says nothing there."""
    with open(NAMEPLATED, "rb") as f:
        return b"__asan_init" in f.read()


# -- the secondaries ---------------------------------------------------------------------

class Secondary:
    """One secondary server in the foreground, in its own directory, on its own port."""
    name = "?"

    def __init__(self, tmp, primary_port):
        self.dir = os.path.join(str(tmp), self.name)
        os.makedirs(self.dir)
        self.port = free_port()
        self.primary = primary_port
        self.log_path = os.path.join(self.dir, self.name + ".log")
        self.proc = None
        self.write_config()

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(self.cmd(), stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir)
        log.close()

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
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def query(self, name, rdtype):
        q = dns.message.make_query(name, rdtype)
        return dns.query.udp(q, "127.0.0.1", port=self.port, timeout=0.5)

    def serial(self):
        """The serial the secondary serves, or None (not loaded yet, not running)."""
        try:
            r = self.query(ZONE, "SOA")
        except Exception:
            return None
        if r.rcode() != dns.rcode.NOERROR or not r.answer:
            return None
        return r.answer[0][0].serial

    def addrs(self, name=HOST):
        try:
            r = self.query(name, "A")
        except Exception:
            return None
        return {rd.to_text() for rrset in r.answer for rd in rrset}


class Nsd(Secondary):
    name = "nsd"

    def write_config(self):
        d = self.dir
        with open(os.path.join(d, "nsd.conf"), "w") as f:
            f.write(NSD_CONF % dict(d=d, port=self.port, primary=self.primary, zone=ZONE))

    def cmd(self):
        return [NSD, "-d", "-c", os.path.join(self.dir, "nsd.conf")]


class Knot(Secondary):
    name = "knot"

    def write_config(self):
        d = self.dir
        with open(os.path.join(d, "knot.conf"), "w") as f:
            f.write(KNOT_CONF % dict(d=d, port=self.port, primary=self.primary, zone=ZONE))

    def cmd(self):
        return [KNOTD, "-c", os.path.join(self.dir, "knot.conf")]


class Bind(Secondary):
    name = "bind"

    def write_config(self):
        d = self.dir
        with open(os.path.join(d, "named.conf"), "w") as f:
            f.write(BIND_CONF % dict(d=d, port=self.port, primary=self.primary, zone=ZONE))

    def cmd(self):
        # -g: foreground, log to stderr; as root it stays root (no -u): loopback ports only.
        return [NAMED, "-g", "-c", os.path.join(self.dir, "named.conf")]


# The configurations docs/secondaries.md shows, with the test's directories and ports.
NSD_CONF = """\
server:
  ip-address: 127.0.0.1@%(port)d
  port: %(port)d
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: %(d)s
  pidfile: %(d)s/nsd.pid
  database: ""
  xfrdfile: %(d)s/xfrd.state
  xfrdir: %(d)s
  zonelistfile: %(d)s/zone.list
  verbosity: 2
  # apply a transfer at once, not up to a second later
  xfrd-reload-timeout: 0
remote-control:
  control-enable: no
zone:
  name: %(zone)s
  zonefile: %(zone)s.zone
  # IXFR over TCP, falling back to AXFR (NSD's default for request-xfr)
  request-xfr: 127.0.0.1@%(primary)d NOKEY
  allow-notify: 127.0.0.1 NOKEY
"""

KNOT_CONF = """\
server:
  rundir: %(d)s
  listen: 127.0.0.1@%(port)d
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: info
database:
  storage: %(d)s
remote:
  - id: nameplate
    address: 127.0.0.1@%(primary)d
acl:
  - id: notify-from-nameplate
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: %(d)s
    zonefile-sync: -1
    zonefile-load: none
    journal-content: none
zone:
  - domain: %(zone)s
    master: nameplate
    acl: notify-from-nameplate
"""

BIND_CONF = """\
options {
  directory "%(d)s";
  pid-file "%(d)s/named.pid";
  session-keyfile "%(d)s/session.key";
  managed-keys-directory "%(d)s";
  listen-on port %(port)d { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
zone "%(zone)s" {
  type secondary;
  primaries port %(primary)d { 127.0.0.1; };
  file "%(d)s/%(zone)s.db";
};
"""


# -- nameplated as the primary -----------------------------------------------------------

def primary(np_factory, notify_ports=(), extra_zone=None, dns_opts=None):
    n = np_factory()
    zone = {"allow_transfer": "127.0.0.1"}
    n.write_config(zone=zone, dns=dns_opts)
    # repeatable keys: allow_transfer by key too, and one notify line per secondary
    lines = ["allow_transfer = %s" % KEY]
    lines += ["notify = 127.0.0.1@%d" % p for p in notify_ports]
    lines += extra_zone or []
    with open(n.conf) as f:
        text = f.read()
    with open(n.conf, "w") as f:
        f.write(text + "\n".join(lines) + "\n")
    n.init()
    n.add_user("alice")
    n.secret = n.add_host(HOST, "alice")
    return n


def update(n, ip):
    st, _, lines = n.update(HOST, ip, user="alice", secret=n.secret)
    assert lines == ["good " + ip], lines


def xfr_query(n, rdtype, serial=None, source="127.0.0.1", keyring=None, udp=False):
    """One transfer request; returns the list of response messages."""
    q = dns.message.make_query(ZONE, rdtype)
    if serial is not None:
        soa = dns.rrset.from_text(ZONE + ".", 0, "IN", "SOA",
                                  ". . %d 0 0 0 0" % serial)
        q.authority.append(soa)
    if keyring is not None:
        q.use_tsig(keyring, keyname=KEY)
    if udp:
        return [dns.query.udp(q, "127.0.0.1", port=n.dns_port, timeout=2, source=source)]
    return tcp_messages(n, q.to_wire(), source=source)


def tcp_messages(n, wire, source="127.0.0.1", timeout=10, keyring=None, request=None):
    """Sends one query over TCP and reads answers until the last SOA (or the server ends
    the connection, or a lone error answer). Returns dnspython messages. With keyring (and
    the signed request), every message's TSIG is verified as dnspython's xfr does: the
    first over the request's MAC, each next over the one before."""
    s = socket.create_connection(("127.0.0.1", n.dns_port), timeout=timeout,
                                 source_address=(source, 0))
    out = []
    tsig_ctx = None
    try:
        s.sendall(struct.pack("!H", len(wire)) + wire)
        while True:
            hdr = recv_exact(s, 2)
            if hdr is None:
                break
            body = recv_exact(s, struct.unpack("!H", hdr)[0])
            if keyring is None:
                m = dns.message.from_wire(body, one_rr_per_rrset=True, ignore_trailing=True,
                                          keyring=False)
            else:
                m = dns.message.from_wire(body, one_rr_per_rrset=True, keyring=keyring,
                                          request_mac=request.mac, tsig_ctx=tsig_ctx,
                                          multi=True)
                tsig_ctx = m.tsig_ctx
            out.append(m)
            rrs = records(out)
            if m.rcode() != dns.rcode.NOERROR or soas_done(rrs):
                break
            if len(out) == 1 and len(rrs) == 1 and rrs[0].rdtype == dns.rdatatype.SOA:
                break  # a lone SOA: IXFR up to date
    finally:
        s.close()
    return out


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def soas_done(rrs):
    """Whether the stream of records ended: AXFR ends with its second SOA, a condensed
    IXFR (SOA new, SOA old, ..., SOA new, ..., SOA new) with its fourth."""
    if not rrs:
        return False
    soa = [i for i, rr in enumerate(rrs) if rr.rdtype == dns.rdatatype.SOA]
    new = rrs[0][0].serial
    is_ixfr = len(rrs) > 1 and rrs[1].rdtype == dns.rdatatype.SOA
    if not is_ixfr:
        return len(soa) >= 2 and rrs[-1][0].serial == new
    return len(soa) >= 4


def records(msgs):
    return [rr for m in msgs for rr in m.answer]


def rr_text(rr):
    return "%s %s %s" % (rr.name.to_text(), dns.rdatatype.to_text(rr.rdtype), rr[0].to_text())


# -- the tests ---------------------------------------------------------------------------

def test_nsd_knot_bind_follow_an_update_within_a_second(np_factory, tmp_path):
    for prog in (NSD, KNOTD, NAMED):
        assert os.path.exists(prog), "%s not installed (scripts/deps.sh installs it)" % prog
    # The secondaries need nameplated's port and it theirs: the primary's config first,
    # then them, then its notify lines.
    n = primary(np_factory)
    secs = [cls(tmp_path / "sec", n.dns_port) for cls in (Nsd, Knot, Bind)]
    with open(n.conf, "a") as f:
        f.write("".join("notify = 127.0.0.1@%d\n" % s.port for s in secs))
    n.start()
    update(n, "192.0.2.1")
    try:
        for s in secs:
            s.start()
        serial = n.serial()
        for s in secs:
            assert wait_for(lambda: s.serial() == serial, 15), \
                "%s did not load serial %d:\n%s" % (s.name, serial, s.log()[-3000:])
        for round_, ip in enumerate(("192.0.2.10", "192.0.2.11", "192.0.2.12")):
            # A moment between updates, as between a router's: a secondary that just
            # applied one transfer may hold back the next NOTIFY's refresh a little.
            time.sleep(0.5)
            t0 = time.monotonic()
            update(n, ip)
            delays = {}
            pending = list(secs)
            while pending and time.monotonic() - t0 < 5:
                for s in list(pending):
                    if s.addrs() == {ip}:
                        delays[s.name] = time.monotonic() - t0
                        pending.remove(s)
                time.sleep(0.01)
            print("update %d (%s): %s" % (round_ + 1, ip, ", ".join(
                "%s %.0f ms" % (k, v * 1000) for k, v in sorted(delays.items()))))
            assert not pending, "%s did not serve %s within 5 s:\n%s" % (
                [s.name for s in pending], ip, "\n".join(s.log()[-3000:] for s in pending))
            for name, d in delays.items():
                assert d < 1.0, "%s took %.3f s to serve the new address" % (name, d)
        # A wildcard host: its records stand at "*.home" too, on every secondary.
        time.sleep(0.2)
        st, _, lines = n.update(HOST, "192.0.2.13", user="alice", secret=n.secret,
                                params={"wildcard": "ON"})
        assert lines == ["good 192.0.2.13"], lines
        for s in secs:
            assert wait_for(lambda: s.addrs("x." + HOST) == {"192.0.2.13"}, 2), \
                "%s does not answer for the wildcard:\n%s" % (s.name, s.log()[-3000:])
        # They got there by IXFR: nameplated answered each of them with the difference.
        log = n.stderr()
        incremental = len(re.findall(r"xfr: IXFR of %s from \d+ to \d+ to 127\.0\.0\.1: "
                                     r"incremental" % re.escape(ZONE), log))
        assert incremental >= 3 * len(secs), log
        assert n.serial() == secs[0].serial() == secs[1].serial() == secs[2].serial()
    finally:
        for s in secs:
            s.stop()


def dig_lines(tool, n, serial):
    arg = "IXFR=%d" % serial  # kdig and dig both take the type this way
    cmd = [tool, "@127.0.0.1", "-p", str(n.dns_port), ZONE, arg]
    if tool == DIG:
        cmd = [tool, "@127.0.0.1", "-p", str(n.dns_port), ZONE, arg, "+nocmd", "+nostats"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stdout + r.stderr
    out = []
    for ln in r.stdout.splitlines():
        ln = ln.strip()
        if not ln or ln.startswith(";"):
            continue
        f = ln.split()
        out.append((f[0].lower(), f[3], " ".join(f[4:])))
    return out


def test_ixfr_is_the_condensed_difference(np_factory):
    n = primary(np_factory)
    n.start()
    update(n, "192.0.2.1")
    s0 = n.serial()
    for ip in ("192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"):
        update(n, ip)
    s1 = n.serial()
    assert (s1 - s0) % 2**32 == 4
    for tool in (KDIG, DIG):
        if tool is None:
            continue
        got = dig_lines(tool, n, s0)
        print(os.path.basename(tool), "IXFR=%d:" % s0)
        for ln in got:
            print("   ", *ln)
        soa = [g for g in got if g[1] == "SOA"]
        serials = [int(g[2].split()[2]) for g in soa]
        assert serials == [s1, s0, s1, s1], got
        body = [g for g in got if g[1] != "SOA"]
        # SOA(new) SOA(old) deletions SOA(new) additions SOA(new)
        i_old = got.index(soa[1])
        i_mid = got.index(soa[2], i_old + 1)
        dels = got[i_old + 1:i_mid]
        adds = got[i_mid + 1:-1]
        assert dels == [(HOST + ".", "A", "192.0.2.1")], got
        assert adds == [(HOST + ".", "A", "192.0.2.5")], got
        assert len(body) == 2

    # A wildcard flag turned on: the same records appear at "*.home", in IXFR and AXFR.
    st, _, lines = n.update(HOST, "192.0.2.5", user="alice", secret=n.secret,
                            params={"wildcard": "ON"})
    assert lines == ["nochg 192.0.2.5"] or lines == ["good 192.0.2.5"], lines
    s2 = n.serial()
    assert s2 != s1
    rrs = [rr_text(r) for r in records(xfr_query(n, "IXFR", serial=s1))]
    assert rrs[2:-1] == [rr_text(records(xfr_query(n, "IXFR", serial=s1))[0])] + \
        ["*.%s. A 192.0.2.5" % HOST], rrs
    axfr = [rr_text(r) for r in records(xfr_query(n, "AXFR"))]
    assert "*.%s. A 192.0.2.5" % HOST in axfr and "%s. A 192.0.2.5" % HOST in axfr, axfr

    # The difference is durable: after a restart the journal comes back from the store.
    n.restart()
    msgs = xfr_query(n, "IXFR", serial=s0)
    rrs = [rr_text(rr) for rr in records(msgs)]
    assert rrs[1].startswith(ZONE + ". SOA") and rrs[2] == "%s. A 192.0.2.1" % HOST and \
        rrs[4:6] == ["%s. A 192.0.2.5" % HOST, "*.%s. A 192.0.2.5" % HOST] and \
        len(rrs) == 7, rrs

    # Up to date: the SOA alone.
    msgs = xfr_query(n, "IXFR", serial=s2)
    assert [rr.rdtype for rr in records(msgs)] == [dns.rdatatype.SOA]
    assert records(msgs)[0][0].serial == s2


def is_axfr_form(rrs, serial):
    return (rrs[0].rdtype == dns.rdatatype.SOA and rrs[0][0].serial == serial and
            rrs[1].rdtype != dns.rdatatype.SOA and rrs[-1].rdtype == dns.rdatatype.SOA)


def test_ixfr_older_than_the_history_falls_back_to_axfr(np_factory):
    n = primary(np_factory)
    n.start()
    s_start = n.serial()
    update(n, "192.0.2.1")
    # Before the first journaled serial: the whole zone.
    old = (s_start - 10) % 2**32
    rrs = records(xfr_query(n, "IXFR", serial=old))
    assert is_axfr_form(rrs, n.serial()), [rr_text(r) for r in rrs]
    assert ("%s. A 192.0.2.1" % HOST) in [rr_text(r) for r in rrs]
    # A change nameplatectl made (through its own connection) is not journaled: the
    # history before it is gone, and a serial from before it gets the whole zone too.
    s_before = n.serial()
    zf = os.path.join(n.tmp, "one.zone")
    with open(zf, "w") as f:
        f.write("ctlrec.%s. 60 IN A 192.0.2.77\n" % ZONE)
    n.ctl("zone", "import", zf, "--zone", ZONE)
    assert wait_for(lambda: n.serial() != s_before, 2)
    rrs = records(xfr_query(n, "IXFR", serial=s_before))
    assert is_axfr_form(rrs, n.serial()), [rr_text(r) for r in rrs]
    assert ("ctlrec.%s. A 192.0.2.77" % ZONE) in [rr_text(r) for r in rrs]
    # ... and history starts again with the next update.
    s2 = n.serial()
    update(n, "192.0.2.2")
    rrs = [rr_text(r) for r in records(xfr_query(n, "IXFR", serial=s2))]
    assert len(rrs) == 6 and rrs[1].startswith(ZONE + ". SOA"), rrs
    # The store keeps what the journal keeps: the rows from before the break are gone.
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(n.data_dir, "nameplate.db"),
                         uri=True)
    rows = db.execute("SELECT serial_from, serial_to FROM xfr_journal").fetchall()
    db.close()
    assert rows == [(s2, n.serial())], rows


def test_transfers_refused_unless_allowed(np_factory):
    n = primary(np_factory)
    n.start()
    update(n, "192.0.2.1")
    serial = n.serial()
    # Not an allowed address: REFUSED, AXFR and IXFR alike.
    for rdtype, ser in (("AXFR", None), ("IXFR", serial - 1)):
        msgs = xfr_query(n, rdtype, serial=ser, source="127.0.0.2")
        assert len(msgs) == 1 and msgs[0].rcode() == dns.rcode.REFUSED, msgs
        assert not msgs[0].answer
    # kdig from there too.
    if KDIG:
        r = subprocess.run([KDIG, "@127.0.0.1", "-p", str(n.dns_port), "-b", "127.0.0.2",
                            ZONE, "AXFR"], capture_output=True, text=True, timeout=10)
        assert "REFUSED" in r.stdout + r.stderr, r.stdout + r.stderr
    # AXFR over UDP: REFUSED, even from an allowed address.
    msgs = xfr_query(n, "AXFR", udp=True)
    assert msgs[0].rcode() == dns.rcode.REFUSED and not msgs[0].answer
    # Signed with the key allow_transfer names, but no key can be checked yet: NOTAUTH.
    ring = dns.tsigkeyring.from_text({KEY: ("hmac-sha256", "c2VjcmV0c2VjcmV0c2VjcmV0")})
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(ring, keyname=KEY)
    s = socket.create_connection(("127.0.0.1", n.dns_port), timeout=5)
    wire = q.to_wire()
    s.sendall(struct.pack("!H", len(wire)) + wire)
    body = recv_exact(s, struct.unpack("!H", recv_exact(s, 2))[0])
    s.close()
    flags, qd, an, ns_, ar = struct.unpack("!HHHHH", body[2:12])
    assert flags & 0xF == dns.rcode.NOTAUTH and an == 0, (flags, an)
    assert ar == 1 and body.find(b"\x00\xfa\x00\xff") > 0, "no unsigned TSIG (BADKEY) in it"
    # A name that is not a zone apex: NOTAUTH.
    q = dns.message.make_query(HOST, "AXFR")
    msgs = tcp_messages(n, q.to_wire())
    assert msgs[0].rcode() == dns.rcode.NOTAUTH
    # Nothing changed, and the connection still answers queries after a refusal.
    assert n.serial() == serial
    assert n.addrs(HOST) == {"192.0.2.1"}
    assert "192.0.2.1" in {rr[0].to_text() for rr in records(xfr_query(n, "AXFR"))
                           if rr.rdtype == dns.rdatatype.A}

    # A reload applies a new list at once: now only 127.0.0.2 may transfer.
    with open(n.conf) as f:
        text = f.read()
    with open(n.conf, "w") as f:
        f.write(text.replace("allow_transfer = 127.0.0.1", "allow_transfer = 127.0.0.2/32"))
    n.proc.send_signal(signal.SIGHUP)
    assert wait_for(lambda: xfr_query(n, "AXFR")[0].rcode() == dns.rcode.REFUSED, 3)
    msgs = xfr_query(n, "AXFR", source="127.0.0.2")
    assert msgs[0].rcode() == dns.rcode.NOERROR and len(records(msgs)) > 3


def rss_kib(pid):
    """The process's anonymous resident memory (heap, stacks): what a transfer that built
    the zone would grow. Not VmRSS: the writer reads the store through a memory map, and a
    walk of the store (the owner-alert scan after start) maps the file's pages, which are
    the kernel's page cache, not memory the process holds."""
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("RssAnon:"):
                return int(ln.split()[1])
    return 0


def test_large_zone_streams_in_bounded_memory(np_factory):
    n = primary(np_factory, dns_opts={"tcp_idle_timeout": 10})
    hosts = 100000
    n.import_hosts(hosts, "alice")
    n.start()
    pid = n.proc.pid
    time.sleep(0.3)
    base = rss_kib(pid)
    serial = n.serial()

    # A slow secondary: reads a little at a time while updates go on. What it receives is
    # the zone as of the serial it started at, complete, and the server's memory stays
    # bounded (messages are made as the socket drains, never the whole zone at once).
    q = dns.message.make_query(ZONE, "AXFR")
    wire = q.to_wire()
    s = socket.create_connection(("127.0.0.1", n.dns_port), timeout=10)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    s.sendall(struct.pack("!H", len(wire)) + wire)
    peak = base
    msgs = 0
    sizes = []
    names = set()
    soas = []
    updates = 0
    update_ms = []
    t0 = time.monotonic()
    while True:
        hdr = recv_exact(s, 2)
        assert hdr is not None, "connection closed mid-transfer after %d messages" % msgs
        body = recv_exact(s, struct.unpack("!H", hdr)[0])
        msgs += 1
        sizes.append(len(body))
        m = dns.message.from_wire(body, one_rr_per_rrset=True)
        for rr in m.answer:
            if rr.rdtype == dns.rdatatype.SOA:
                soas.append(rr[0].serial)
            elif rr.rdtype == dns.rdatatype.A:
                names.add(rr.name.to_text())
        if len(soas) == 2:
            break
        if msgs % 10 == 0:
            peak = max(peak, rss_kib(pid))
            if updates < 5:
                t_up = time.monotonic()
                update(n, "192.0.2.%d" % (100 + updates))
                update_ms.append((time.monotonic() - t_up) * 1000)
                updates += 1
            time.sleep(0.05)
        assert time.monotonic() - t0 < 60
    s.close()
    peak = max(peak, rss_kib(pid))
    print("AXFR of %d names: %d messages, mean %.0f bytes, largest %d; anonymous RSS %d KiB "
          "-> peak %d KiB (+%d KiB); %d updates during it, the slowest answered in %.0f ms"
          % (len(names), msgs, sum(sizes) / len(sizes), max(sizes), base, peak, peak - base,
             updates, max(update_ms)))
    # The writer never waits for a transfer: an update during one is as quick as ever.
    assert max(update_ms) < 1000, update_ms
    assert soas == [serial, serial], "the transfer mixed versions: %s" % soas
    assert len(names) == hosts, len(names)
    assert msgs >= 20 and max(sizes) <= 65535 and sum(sizes) / len(sizes) > 16384
    if not sanitized():
        assert peak - base < 16 * 1024, \
            "anonymous RSS grew by %d KiB during the transfer" % (peak - base)
    # The updates made meanwhile are served, and the next transfer has them.
    assert n.addrs(HOST) == {"192.0.2.%d" % (100 + updates - 1)}
    assert n.serial() == (serial + updates) % 2**32
    rrs = records(xfr_query(n, "IXFR", serial=serial))
    assert ("%s. A 192.0.2.%d" % (HOST, 100 + updates - 1)) in [rr_text(r) for r in rrs]
    assert len(rrs) == 5  # SOA, SOA old, SOA, the one addition (no old address), SOA


def test_notify_retried_until_acknowledged(np_factory):
    """A secondary that does not answer is asked again after 1 s, then 2 s (exponential
    back-off); once it answers, no more NOTIFYs. When a NOTIFY arrives, the primary already
    serves its serial (published before anyone is told)."""
    target = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    target.bind(("127.0.0.1", 0))
    target.settimeout(0.2)
    n = primary(np_factory, notify_ports=[target.getsockname()[1]])
    n.start()
    # The start-up NOTIFY: answer it at once.
    def recv_notify(deadline):
        while time.monotonic() < deadline:
            try:
                data, peer = target.recvfrom(512)
            except socket.timeout:
                continue
            m = dns.message.from_wire(data)
            assert m.opcode() == dns.opcode.NOTIFY and m.question[0].name.to_text() == ZONE + "."
            return m, peer
        return None, None

    def ack(m, peer):
        r = dns.message.make_response(m)
        target.sendto(r.to_wire(), peer)

    m, peer = recv_notify(time.monotonic() + 3)
    assert m is not None, "no NOTIFY at start"
    ack(m, peer)
    update(n, "192.0.2.1")
    serial = n.serial()
    times = []
    t0 = time.monotonic()
    while len(times) < 3:
        m, peer = recv_notify(t0 + 6)
        assert m is not None, "only %d NOTIFYs: %s" % (len(times), times)
        times.append(time.monotonic() - t0)
        assert m.answer and m.answer[0][0].serial == serial
        # The serial it announces is what the primary serves already.
        assert n.serial() == serial
    ack(m, peer)
    print("NOTIFY sent at %s s" % ", ".join("%.2f" % t for t in times))
    assert times[0] < 0.5
    assert 0.8 < times[1] - times[0] < 1.5 and 1.8 < times[2] - times[1] < 2.6, times
    m, _ = recv_notify(time.monotonic() + 5)
    assert m is None, "NOTIFY sent again after it was acknowledged"
    target.close()


def test_a_secondary_that_stops_reading_loses_its_transfer(np_factory):
    """Activity is a whole message sent: a reader that trickles (8 KiB every half second,
    so a 64 KiB message takes four seconds) is cut after tcp_idle_timeout (the version
    its transfer pinned is then let go), and the server serves on."""
    n = primary(np_factory, dns_opts={"tcp_idle_timeout": 2})
    n.import_hosts(100000, "alice")
    n.start()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.settimeout(10)
    s.connect(("127.0.0.1", n.dns_port))
    wire = dns.message.make_query(ZONE, "AXFR").to_wire()
    s.sendall(struct.pack("!H", len(wire)) + wire)
    got = 0
    ended = False
    for _ in range(10):
        time.sleep(0.5)
        try:
            chunk = s.recv(8192)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            ended = True
            break
        got += len(chunk)
    while not ended:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            ended = True
            break
        if not chunk:
            ended = True
            break
        got += len(chunk)
    s.close()
    assert ended and got < 5 * 1000 * 1000, "the stalled transfer went on (%d bytes)" % got
    update(n, "192.0.2.7")
    rrs = records(xfr_query(n, "AXFR"))
    assert len([r for r in rrs if r.rdtype == dns.rdatatype.A]) == 100001


def test_transfer_signed_with_an_accounts_tsig_key(np_factory):
    """allow_transfer names a TSIG key made with nameplatectl tsig add: a transfer signed
    with it is answered, every message signed (the first over the request's MAC, each next
    over the one before, which dnspython checks message by message), from an address
    allow_transfer does not list; a wrong secret is NOTAUTH/BADSIG and a key the list does
    not name is REFUSED."""
    n = primary(np_factory)
    hosts = 5000  # more than one 64 KiB message
    n.import_hosts(hosts, "alice")
    out = n.ctl("tsig", "add", KEY, "--user", "alice", "--algorithm", "hmac-sha512").stdout
    secret = re.search(r'secret "([^"]+)"', out).group(1)
    other = re.search(r'secret "([^"]+)"',
                      n.ctl("tsig", "add", "other-key", "--user", "alice").stdout).group(1)
    n.start()
    update(n, "192.0.2.1")
    key = dns.tsig.Key(KEY + ".", secret, "hmac-sha512")
    # dnspython's xfr checks each message's TSIG and raises on any that does not verify.
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(key)
    msgs = tcp_messages(n, q.to_wire(), source="127.0.0.2", keyring={key.name: key},
                        request=q)
    assert len(msgs) >= 2, len(msgs)
    assert all(m.had_tsig for m in msgs)
    names = {rr.name.to_text() for rr in records(msgs)}
    assert len(names) >= hosts + 2
    # dig checks the signatures too.
    r = subprocess.run(["dig", "@127.0.0.1", "-p", str(n.dns_port), "-b", "127.0.0.2", ZONE,
                        "AXFR", "-y", "hmac-sha512:%s:%s" % (KEY, secret)],
                       capture_output=True, text=True, timeout=30)
    assert "192.0.2.1" in r.stdout and "failure" not in r.stdout.lower(), r.stdout[-2000:]
    # A wrong secret: NOTAUTH (BADSIG); another key of the account: REFUSED.
    bad = dns.tsig.Key(KEY + ".", base64.b64encode(b"x" * 64).decode(), "hmac-sha512")
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(bad)
    s = socket.create_connection(("127.0.0.1", n.dns_port), timeout=5)
    wire = q.to_wire()
    s.sendall(struct.pack("!H", len(wire)) + wire)
    body = recv_exact(s, struct.unpack("!H", recv_exact(s, 2))[0])
    s.close()
    assert body[3] & 0xF == dns.rcode.NOTAUTH
    q = dns.message.make_query(ZONE, "AXFR")
    q.use_tsig(dns.tsig.Key("other-key.", other, "hmac-sha256"))
    msgs = tcp_messages(n, q.to_wire(), source="127.0.0.2",
                        keyring={dns.name.from_text("other-key."):
                                 dns.tsig.Key("other-key.", other, "hmac-sha256")}, request=q)
    assert msgs[0].rcode() == dns.rcode.REFUSED and not msgs[0].answer

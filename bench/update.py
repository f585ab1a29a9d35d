# SPDX-License-Identifier: MIT
"""RFC 2136 UPDATE benchmark: acknowledged updates per second with 1 and with 32
outstanding, nameplated vs BIND 9 (named) vs Knot (knotd), the same 100,000-host zone, the
same TSIG key and the same load generator (bench/update_load.c), every server with its
durable defaults; then the time from NOERROR to the new answer at an NSD secondary.
Run through bench/update.sh; bench/README.md ("RFC 2136 UPDATE") says how to read it."""

import argparse
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the server classes, free_port, cpu_ticks, median)
import dnsq  # noqa: E402
import genzone  # noqa: E402

ZONE = genzone.ORIGIN
KEYNAME = "bench-key"
SERVERS = ("nameplated", "bind", "knot", "knot-journal", "np-base")
DEFAULT_SERVERS = "nameplated,bind,knot"
# What each server does with an update before it answers, by default (bench/README.md).
DURABILITY = {
    "nameplated": "acknowledges after the group commit is on disk (SQLite WAL, "
                  "one fdatasync per group by a sync thread while the writer goes on)",
    "bind": "writes the update to the zone's journal (.jnl) and fsyncs it before answering, "
            "one update at a time (default; the zone file is rewritten later)",
    "knot": "journal in LMDB, journal-db-mode: robust (synced commit), updates batched; "
            "zonefile-sync: 0 (the zone file is also rewritten after each change)",
    "knot-journal": "as knot, but zonefile-sync: -1: the journal only (robust, synced), the "
                    "zone file never rewritten (not a default; knot.conf(5) suggests it for "
                    "large zones with frequent updates)",
    "np-base": "as nameplated (--baseline: the build compared with)",
}


def log(*a):
    print("[update]", *a, file=sys.stderr, flush=True)


def log_err(msg):
    print("[update] " + msg, file=sys.stderr, flush=True)


class Primary(bench.Server):
    """A server under test. Ready when ns1 (never updated) answers: the hosts may hold
    addresses of earlier runs when it is restarted."""

    def __init__(self, work, data, key, notify_port=None):
        self.key = key  # (name, base64 secret)
        self.notify_port = notify_port
        super().__init__(work, data, 0, None)
        self.work = os.path.join(work, self.name)

    def prepare(self):
        os.makedirs(self.work, exist_ok=True)

    def wait_ready(self, t0, timeout):
        stub = dnsq.Stub(self.port, timeout=0.2)
        try:
            while time.monotonic() - t0 < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError("%s exited with %d; see %s/server.log" %
                                       (self.name, self.proc.returncode, self.work))
                r = stub.query("ns1." + ZONE, "A")
                if r and r[0] == 0 and "127.0.0.1" in r[1]:
                    return time.monotonic() - t0
                time.sleep(0.05)
        finally:
            stub.close()
        raise RuntimeError("%s not answering after %.0f s" % (self.name, timeout))


class Bind(Primary):
    name = "bind"

    def prepare(self):
        super().prepare()
        w = self.work
        zf = os.path.join(w, "dyn.example.zone")
        if not os.path.exists(zf):
            shutil.copy(self.data["full"], zf)
        if self.notify_port:
            notify = ("notify explicit;\n\t\talso-notify { 127.0.0.1 port %d; };\n"
                      "\t\tallow-transfer { 127.0.0.1; };" % self.notify_port)
        else:
            notify = "notify no;"
        conf = """options {{
	directory "{w}";
	pid-file "{w}/named.pid";
	session-keyfile "{w}/session.key";
	managed-keys-directory "{w}";
	listen-on port {port} {{ 127.0.0.1; }};
	listen-on-v6 {{ none; }};
	recursion no;
	dnssec-validation no;
	allow-query {{ any; }};
}};
controls {{ }};
key "{kn}" {{
	algorithm hmac-sha256;
	secret "{ks}";
}};
zone "{zone}" {{
	type primary;
	file "{zf}";
	update-policy {{ grant {kn} zonesub ANY; }};
	{notify}
}};
""".format(w=w, port=self.port, kn=self.key[0], ks=self.key[1], zone=ZONE, zf=zf,
           notify=notify)
        self.conf = os.path.join(w, "named.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def cmd(self):
        # -g: foreground, log to stderr; the default number of threads (one per CPU).
        return ["named", "-g", "-c", self.conf]


class Knot(Primary):
    name = "knot"
    zonefile_sync = ""

    def prepare(self):
        super().prepare()
        w = self.work
        zf = os.path.join(w, "dyn.example.zone")
        if not os.path.exists(zf):
            shutil.copy(self.data["full"], zf)
        remote = notify = ""
        acls = "update"
        if self.notify_port:
            remote = "remote:\n  - id: secondary\n    address: 127.0.0.1@%d\n" % self.notify_port
            notify = "    notify: secondary\n"
            acls = "[update, transfer]"
        # Only what the bench needs: journal, zone file sync and threads keep their
        # defaults (journal-db-mode: robust, zonefile-sync: 0, one worker per CPU).
        conf = """server:
  rundir: {w}
  listen: 127.0.0.1@{port}
database:
  storage: {w}
log:
  - target: {w}/knot.log
    any: info
key:
  - id: {kn}
    algorithm: hmac-sha256
    secret: {ks}
{remote}acl:
  - id: update
    key: {kn}
    action: update
  - id: transfer
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: {w}
{zfs}zone:
  - domain: {zone}
    file: {zf}
    acl: {acls}
{notify}""".format(w=w, port=self.port, kn=self.key[0], ks=self.key[1], remote=remote,
                   zone=ZONE, zf=zf, acls=acls, notify=notify,
                   zfs=self.zonefile_sync)
        self.conf = os.path.join(w, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def cmd(self):
        return ["knotd", "-c", self.conf]


class KnotJournal(Knot):
    """Knot with the zone file never rewritten: updates live in its (synced) journal."""
    name = "knot-journal"
    zonefile_sync = "    zonefile-sync: -1\n"


class Nameplate(Primary):
    name = "nameplated"

    def __init__(self, work, data, build, notify_port=None):
        self.build = build
        self.xfr_error = None
        super().__init__(work, data, None, notify_port)
        self.datadir = os.path.join(self.work, "data")
        self.http_port = bench.free_port()

    def write_conf(self, xfr):
        extra = ""
        if xfr:
            extra = "allow_transfer = 127.0.0.1\nnotify = 127.0.0.1@%d\n" % self.notify_port
        conf = """[server]
data_dir = {d}

[dns]
listen = 127.0.0.1@{port}

{abuse}
[zone {zone}]
ns = ns1.{zone}
contact = hostmaster.{zone}
ttl = 60
{extra}""".format(d=self.datadir, port=self.port, zone=ZONE, extra=extra,
                  abuse=bench.ABUSE_OFF)
        self.conf = os.path.join(self.work, "nameplate.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def ctl(self, *args, timeout=600):
        return bench.nameplatectl(self.build, self.conf, *args, timeout=timeout)

    def supports_xfr(self):
        """Whether this build takes allow_transfer/notify (zone transfers out): the config
        check of nameplatectl says. Leaves the config without them when not."""
        self.write_conf(True)
        try:
            self.ctl("check-config", timeout=60)
            return True
        except RuntimeError as e:
            m = re.search(r"unknown key '[^']*'", str(e))
            self.xfr_error = m.group(0) if m else (str(e).splitlines() or ["failed"])[-1]
            self.write_conf(False)
            return False

    def prepare(self):
        super().prepare()
        self.write_conf(bool(self.notify_port))
        if os.path.exists(os.path.join(self.datadir, "nameplate.db")):
            return
        os.makedirs(self.datadir, exist_ok=True)
        bench.import_hosts(self.build, self.conf, self.data["hosts_file"])
        self.key = bench.add_tsig_key(self.build, self.conf, KEYNAME)

    def cmd(self):
        return [os.path.join(self.build, "nameplated"), "-c", self.conf, "-f"]


class NameplateBase(Nameplate):
    """--baseline: another build's nameplated (e.g. the commit before a change), with a
    store and key of its own made by its own nameplatectl."""
    name = "np-base"


class NsdSecondary(bench.Server):
    name = "nsd-secondary"

    def __init__(self, work, data, primary_port, tag):
        super().__init__(work, data, 1, None)
        self.work = os.path.join(work, "nsd-of-" + tag)
        self.primary_port = primary_port

    def prepare(self):
        super().prepare()
        w = self.work
        # As in docs/secondaries.md: IXFR with AXFR fallback, NOTIFY from the primary,
        # a transfer served at once (xfrd-reload-timeout: 0).
        conf = """server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: {w}
  pidfile: {w}/nsd.pid
  database: ""
  xfrdfile: {w}/xfrd.state
  xfrdir: {w}
  zonelistfile: {w}/zone.list
  logfile: {w}/nsd.log
  verbosity: 1
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
  xfrd-reload-timeout: 0
remote-control:
  control-enable: no
zone:
  name: {zone}
  zonefile: {zone}.zone
  request-xfr: 127.0.0.1@{pp} NOKEY
  allow-notify: 127.0.0.1 NOKEY
""".format(port=self.port, w=w, zone=ZONE, pp=self.primary_port)
        self.conf = os.path.join(w, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def cmd(self):
        return ["nsd", "-c", self.conf, "-d"]

    wait_ready = Primary.wait_ready


def settle(pids, limit=30.0):
    """Waits (at most limit s) until the servers spend under 5% of a CPU over 0.3 s, so a
    background task of the previous run (Knot's zone file flush) does not fall into the
    next one."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        c0 = bench.cpu_ticks(pids)
        time.sleep(0.3)
        if bench.cpu_ticks(pids) - c0 < 0.015:
            return
    log("note: a server was still busy after %.0f s" % limit)


def load(gen, port, key, args, label, extra, timeout):
    cmd = [gen, "--server", "127.0.0.1:%d" % port, "--key",
           "hmac-sha256:%s:%s" % key, "--zone", ZONE, "--label", label] + extra
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("update_load: exit %d: %s" %
                           (r.returncode, r.stderr.decode(errors="replace").strip()))
    return json.loads(r.stdout)


def children_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def dig_a(port, name):
    r = subprocess.run(["dig", "+short", "+norec", "+time=2", "+tries=2", "-p", str(port),
                        "@127.0.0.1", name, "A"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=30)
    return sorted(r.stdout.decode().split())


SYNC_CALLS = "fsync,fdatasync,sync_file_range,msync,syncfs,sync"


def count_syncs(srv, gen, args, outstanding, n):
    """n updates under strace (counting only, not timed): sync calls per update."""
    pid = srv.proc.pid
    out = os.path.join(srv.work, "strace-c%d.txt" % outstanding)
    st = subprocess.Popen(["strace", "-f", "-qq", "-c", "-o", out, "-e", "trace=" + SYNC_CALLS,
                           "-p", str(pid)], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    time.sleep(1.0)  # attach to every thread
    try:
        res = load(gen, srv.port, srv.key, args, "sync-check",
                   ["--outstanding", str(outstanding), "--count", str(n), "--seconds", "60",
                    "--hosts", str(args.hosts), "--seed", str(90000 + outstanding),
                    "--verify", "1"], 180)
        time.sleep(0.5)  # Knot's flush after the last batch
    finally:
        st.send_signal(signal.SIGINT)
        try:
            st.wait(20)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait(5)
    calls = {}
    try:
        with open(out) as f:
            for line in f:
                p = line.split()
                if len(p) >= 5 and p[-1] in SYNC_CALLS.split(",") and p[3].isdigit():
                    calls[p[-1]] = int(p[3])
    except OSError:
        pass
    total = sum(calls.values())
    return {"updates": res["acked"], "calls": calls,
            "per_update": total / res["acked"] if res["acked"] else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--gen", required=True, help="the built bench/update_load")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--outstanding", default="1,32")
    ap.add_argument("--servers", default=DEFAULT_SERVERS,
                    help="from %s" % ",".join(SERVERS))
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--timeout-ms", type=int, default=1000)
    ap.add_argument("--secondary-updates", type=int, default=20,
                    help="updates timed to the NSD secondary per server; 0 skips the row")
    ap.add_argument("--sync-check", type=int, default=200,
                    help="updates counted under strace per server and outstanding; 0 skips")
    ap.add_argument("--baseline", help="another build (its nameplated and nameplatectl) run as "
                    "the server np-base on the same data, with an np/np-base column")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "out"))
    a = ap.parse_args()
    servers = [s for s in a.servers.split(",") if s]
    if a.baseline and "np-base" not in servers:
        servers.insert(servers.index("nameplated") + 1 if "nameplated" in servers else 0,
                       "np-base")
    if "np-base" in servers and not a.baseline:
        ap.error("np-base needs --baseline BUILD")
    outs = [int(x) for x in a.outstanding.split(",") if x]
    if any(s not in SERVERS for s in servers) or not servers or not outs:
        ap.error("--servers from %s; --outstanding a list of numbers" % ",".join(SERVERS))
    if a.runs < 1 or a.seconds < 1 or a.hosts < 2 * max(outs):
        ap.error("--runs, --seconds >= 1; --hosts at least twice the outstanding")
    for tool in ["dig"] + [{"bind": "named", "knot": "knotd", "knot-journal": "knotd",
                            "nameplated": "dig", "np-base": "dig"}[s]
                           for s in servers]:
        if not shutil.which(tool):
            sys.exit("update.py: needs %s (scripts/deps.sh)" % tool)
    if a.sync_check and not shutil.which("strace"):
        log("no strace: the sync-call count is skipped")
        a.sync_check = 0
    build = os.path.abspath(a.build)
    work = os.path.join(a.out, "update-work")
    shutil.rmtree(work, ignore_errors=True)
    build = bench.private_bin(build, os.path.join(work, "bin"))
    if a.baseline:
        bench.private_bin(os.path.abspath(a.baseline), os.path.join(work, "bin-base"))
    gen = os.path.join(build, "update_load")
    shutil.copy(a.gen, gen)

    log("generating %d hosts" % a.hosts)
    ddir = os.path.join(work, "data")
    genzone.generate(ddir, a.hosts, 1)
    data = {"hosts": a.hosts, "full": os.path.join(ddir, "full.zone"),
            "hosts_file": os.path.join(ddir, "hosts.zone")}

    np_srv = Nameplate(work, data, build)
    np_srv.prepare()  # imports the hosts and makes the key every server shares
    key = np_srv.key
    srvs = {"nameplated": np_srv, "bind": Bind(work, data, key), "knot": Knot(work, data, key),
            "knot-journal": KnotJournal(work, data, key)}
    if a.baseline:
        srvs["np-base"] = NameplateBase(work, data, os.path.join(work, "bin-base"))
    srvs = {s: srvs[s] for s in servers}
    report = {"hosts": a.hosts, "seconds": a.seconds, "runs": a.runs, "outstanding": outs,
              "cpus": os.cpu_count(), "durability": {s: DURABILITY[s] for s in servers},
              "runs_detail": [], "sync_check": {}, "secondary": {},
              "versions": versions(servers)}
    started = []
    t_np = time.monotonic()
    try:
        for s in servers:
            srvs[s].prepare()
            t = srvs[s].start()
            started.append(srvs[s])
            log("%s answering after %.1f s" % (s, t))
        # nameplated's owner-alert scan starts 5 s after start and walks every host (about
        # a CPU-second for 100,000 on the writer); measure the steady state after it.
        time.sleep(max(0.0, 12.0 - (time.monotonic() - t_np)))
        for r in range(a.runs):
            for c in outs:
                # Rotate who goes first, so none always follows the same one.
                order = servers[r % len(servers):] + servers[:r % len(servers)]
                for s in order:
                    srv = srvs[s]
                    # every server quiet: Knot rewrites its zone file after a run
                    settle([p for x in started for p in x.pids()])
                    cpu0 = bench.cpu_ticks(srv.pids())
                    busy0, gen0, t0 = bench.busy_cpu_s(), children_cpu_s(), time.monotonic()
                    seed = 1000 * (r + 1) + 10 * c + SERVERS.index(s)
                    res = load(gen, srv.port, srv.key, a, "%s-c%d-r%d" % (s, c, r + 1),
                               ["--outstanding", str(c), "--seconds", str(a.seconds),
                                "--hosts", str(a.hosts), "--timeout-ms", str(a.timeout_ms),
                                "--seed", str(seed)], a.seconds + 120)
                    cpu = bench.cpu_ticks(srv.pids()) - cpu0
                    wall = time.monotonic() - t0
                    gen_cpu = children_cpu_s() - gen0
                    other = (bench.busy_cpu_s() - busy0 - cpu - gen_cpu) / wall
                    res.update({"server": s, "run": r + 1, "server_cpu_s": cpu,
                                "generator_cpu_s": gen_cpu, "other_cpu_busy": max(0.0, other),
                                "server_cpu_us_per_update":
                                    cpu * 1e6 / res["acked"] if res["acked"] else None})
                    last = res.get("last")
                    if last:
                        got = dig_a(srv.port, last["name"])
                        res["dig_last"] = {"name": last["name"], "want": last["address"],
                                           "got": got, "ok": got == [last["address"]]}
                    report["runs_detail"].append(res)
                    log("%s c=%d run %d: %.0f acked/s, p50 %.2f ms, p99 %.2f ms, errors %s, "
                        "timeouts %d, verify %d/%d, dig %s" %
                        (s, c, r + 1, res["acked_per_s"], res["latency_ms"]["p50"],
                         res["latency_ms"]["p99"], res["errors"] or "none", res["given_up"],
                         res["verify"]["ok"], res["verify"]["checked"],
                         "ok" if res.get("dig_last", {}).get("ok") else "MISMATCH"))
        if a.sync_check:
            for s in servers:
                report["sync_check"][s] = {}
                for c in outs:
                    settle([p for x in started for p in x.pids()])
                    sc = count_syncs(srvs[s], gen, a, c, a.sync_check * (1 if c == 1 else 5))
                    report["sync_check"][s][str(c)] = sc
                    log("%s c=%d: %s sync calls per acknowledged update (%s)" %
                        (s, c, "%.2f" % sc["per_update"] if sc["per_update"] is not None
                         else "n/a", sc["calls"]))
    finally:
        for srv in started:
            srv.stop()

    if a.secondary_updates:
        for s in servers:
            if s != "np-base":
                report["secondary"][s] = secondary(s, work, data, build, key, gen, a)

    text = summary(report, servers, outs)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    os.makedirs(a.out, exist_ok=True)
    for name, body in (("update-summary.txt", text), ("update-summary-%s.txt" % stamp, text),
                       ("update-results.json", json.dumps(report, indent=1)),
                       ("update-results-%s.json" % stamp, json.dumps(report, indent=1))):
        with open(os.path.join(a.out, name), "w") as f:
            f.write(body)
    print(text, end="")
    print("results: %s/update-summary.txt, %s/update-results.json" % (a.out, a.out))
    bad = [r for r in report["runs_detail"]
           if r["verify"]["mismatched"] or not r.get("dig_last", {}).get("ok")]
    return 1 if bad else 0


def secondary(s, work, data, build, key, gen, a):
    """Restarts server s as the primary of an NSD secondary (NOTIFY, IXFR/AXFR) and times
    --secondary-updates updates from NOERROR to the new answer at NSD."""
    port = bench.free_port()
    if s == "nameplated":
        srv = Nameplate(work, data, build, notify_port=port)
        srv.key = key
        if not srv.supports_xfr():
            msg = ("skipped: this nameplated has no zone transfers (check-config: %s)" %
                   srv.xfr_error)
            log("secondary row, nameplated: " + msg)
            return {"skipped": msg}
    else:
        srv = {"bind": Bind, "knot": Knot, "knot-journal": KnotJournal}[s](
            work, data, key, notify_port=port)
    sec = NsdSecondary(work, data, None, s)
    sec.port = port
    try:
        srv.prepare()
        t_start = time.monotonic()
        srv.start()
        sec.primary_port = srv.port
        sec.prepare()
        t = sec.start(timeout=180)
        log("NSD secondary of %s has the zone after %.1f s" % (s, t))
        if s == "nameplated":  # past its owner-alert scan, as in the runs above
            time.sleep(max(0.0, 12.0 - (time.monotonic() - t_start)))
        settle(srv.pids() + sec.pids())
        res = load(gen, srv.port, key, a, "%s-secondary" % s,
                   ["--watch", "127.0.0.1:%d" % sec.port, "--count", str(a.secondary_updates),
                    "--hosts", str(a.hosts), "--seed", str(7000 + SERVERS.index(s)),
                    "--gap-ms", "200", "--poll-ms", "1", "--watch-timeout-ms", "10000",
                    "--verify", "1"], a.secondary_updates * 40 + 120)
        log("%s -> NSD: p50 %.1f ms, p99 %.1f ms, max %.1f ms, missed %d of %d" %
            (s, res["secondary_ms"]["p50"], res["secondary_ms"]["p99"],
             res["secondary_ms"]["max"], res["secondary_missed"], a.secondary_updates))
        return res
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        log("secondary row, %s: %s" % (s, e))
        return {"skipped": "failed: %s" % e}
    finally:
        sec.stop()
        srv.stop()


def versions(servers):
    v = {}
    for s, cmd in (("bind", ["named", "-v"]), ("knot", ["knotd", "-V"]),
                   ("nsd", ["nsd", "-v"])):
        if s != "nsd" and s not in servers and not (s == "knot" and "knot-journal" in servers):
            continue
        try:
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=10)
            v[s] = r.stdout.decode(errors="replace").strip().splitlines()[0]
        except (OSError, subprocess.TimeoutExpired, IndexError):
            v[s] = "?"
    return v


def summary(rep, servers, outs):
    med = bench.median
    rows = rep["runs_detail"]

    def cell(s, c, f):
        return med([f(r) for r in rows if r["server"] == s and r["outstanding"] == c])

    def fmt(v, f="%.0f"):
        return f % v if v is not None else "n/a"

    lines = ["RFC 2136 UPDATE, %d hosts, one TSIG key (hmac-sha256), UDP over loopback, "
             "%d s per run, median of %d runs; %d CPUs, shared with the load generator" %
             (rep["hosts"], rep["seconds"], rep["runs"], rep["cpus"])]
    hdr = "%-34s" % "metric" + "".join("%13s" % s for s in servers)
    ratio_cols = [p for p in ("bind", "knot", "knot-journal", "np-base")
                  if p in servers and "nameplated" in servers]
    hdr += "".join("%16s" % ("np/" + p) for p in ratio_cols)
    lines += [hdr, "-" * len(hdr)]
    metrics = [
        ("acked updates/s", lambda r: r["acked_per_s"], "%.0f", True),
        ("  min of the runs", lambda r: r["acked_per_s"], "min", False),
        ("  max of the runs", lambda r: r["acked_per_s"], "max", False),
        ("latency p50 ms", lambda r: r["latency_ms"]["p50"], "%.2f", True),
        ("latency p99 ms", lambda r: r["latency_ms"]["p99"], "%.2f", True),
        ("server CPU us/update", lambda r: r["server_cpu_us_per_update"], "%.0f", True),
        ("generator CPU %", lambda r: 100 * r["generator_cpu_s"] / r["seconds"], "%.0f",
         False),
        ("other CPU busy (cores)", lambda r: r["other_cpu_busy"], "%.2f", False),
        ("errors+timeouts (sum of runs)", None, "%d", False),
    ]
    for c in outs:
        for label, f, ff, ratio in metrics:
            vals = []
            for s in servers:
                if f is None:
                    rs = [r for r in rows if r["server"] == s and r["outstanding"] == c]
                    vals.append(sum(sum(r["errors"].values()) + r["given_up"] + r["bad_answers"]
                                    for r in rs))
                elif ff in ("min", "max"):
                    xs = [f(r) for r in rows if r["server"] == s and r["outstanding"] == c]
                    vals.append((min if ff == "min" else max)(xs) if xs else None)
                else:
                    vals.append(cell(s, c, f))
            line = "%-34s" % ("%s, %d outstanding" % (label, c))
            line += "".join("%13s" % fmt(v, "%.0f" if ff in ("min", "max") else ff)
                            for v in vals)
            if ratio_cols and ratio:
                npv = vals[servers.index("nameplated")]
                for p in ratio_cols:
                    pv = vals[servers.index(p)]
                    line += "%16s" % (fmt(npv / pv, "%.2f") if npv and pv else "n/a")
            lines.append(line)
        lines.append("")
    if ratio_cols:
        lines.append("acked/s ratio per round (one round's runs follow each other within "
                     "about a minute: they share the machine's state more than the medians):")
        for p in ratio_cols:
            for c in outs:
                rs = []
                for r in range(1, rep["runs"] + 1):
                    v = {x["server"]: x["acked_per_s"] for x in rows
                         if x["run"] == r and x["outstanding"] == c}
                    if v.get("nameplated") and v.get(p):
                        rs.append("%.2f" % (v["nameplated"] / v[p]))
                lines.append("  np/%s, %d outstanding: %s" % (p, c, " ".join(rs) or "n/a"))
    if "nameplated" in servers and "bind" in servers:
        c = max(outs)
        npv = cell("nameplated", c, lambda r: r["acked_per_s"])
        bv = cell("bind", c, lambda r: r["acked_per_s"])
        if npv and bv:
            lines.append("goal: nameplated >= 10 x BIND at %d outstanding: %.1f x -> %s" %
                         (c, npv / bv, "met" if npv >= 10 * bv else "NOT met"))
    if rep["sync_check"]:
        lines.append("sync calls (fsync, fdatasync, msync, ...) per acknowledged update, "
                     "counted under strace in separate runs:")
        for s in servers:
            sc = rep["sync_check"].get(s, {})
            lines.append("  %-12s " % s + ", ".join(
                "%s outstanding: %s" % (c, fmt(v["per_update"], "%.2f")) for c, v in sc.items()))
    lines.append("durability by default:")
    for s in servers:
        lines.append("  %-12s %s" % (s, rep["durability"][s]))
    if rep["secondary"]:
        lines.append("NOERROR -> new answer at an NSD secondary (NOTIFY, then IXFR/AXFR), "
                     "one update at a time, 200 ms apart:")
        for s in servers:
            r = rep["secondary"].get(s)
            if r is None:
                continue
            if "skipped" in r:
                lines.append("  %-12s %s" % (s, r["skipped"]))
            else:
                m = r["secondary_ms"]
                lines.append("  %-12s p50 %.1f ms, p90 %.1f ms, max %.1f ms; %d of %d seen, "
                             "%d not within 10 s" % (s, m["p50"], m["p90"], m["max"], m["n"],
                                                      m["n"] + r["secondary_missed"],
                                                      r["secondary_missed"]))
    lines.append("last update served (dig after each run, generator's check of the last 20): "
                 + ("all ok" if all(r.get("dig_last", {}).get("ok") and not
                                    r["verify"]["mismatched"] for r in rows)
                    else "MISMATCH in some run (see update-results.json)"))
    lines.append("versions: " + "; ".join("%s" % v for v in rep["versions"].values()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())

# SPDX-License-Identifier: MIT
"""Nameplate's side-by-side benchmark: nameplated vs NSD vs Knot on the same 100,000-host
zone over loopback (dnsperf), plus nameplated's durable dyndns2 update rate and the time
from `good` to the new answer in DNS. See bench/README.md for how to read the output."""

import argparse
import base64
import http.client
import json
import multiprocessing
import resource
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dnsq  # noqa: E402
import genzone  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
ZONE = genzone.ORIGIN
# nameplated's abuse checks off: the peers have no update budgets nor flux scores, and a
# benchmark's load (many names from one address, far faster than any home) is no abuse.
ABUSE_OFF = """[abuse]
host_per_window = 0
host_per_day = 0
token_per_window = 0
token_per_day = 0
source_per_window = 0
source_per_day = 0
watch_score = 0
hold_score = 0
quarantine_score = 0
shared_accounts = 0
"""
UA = "nameplate-bench/1.0 (loopback benchmark)"


def log(*a):
    print("[bench]", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- helpers

def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (DNS servers bind both)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """pid and all its descendants (NSD forks; the others are one process)."""
    kids = children_map()
    out, todo = [], [pid]
    while todo and len(out) < 1000:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(pids):
    """utime+stime (all threads) summed over pids, in seconds."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/stat" % p) as f:
                s = f.read()
        except OSError:
            continue
        fields = s[s.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])  # stat fields 14 and 15
    return total / CLK_TCK


def busy_cpu_s():
    """Non-idle CPU seconds of the whole machine (all CPUs) from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: idle and iowait are not busy.
    return (sum(v[:8]) - v[3] - v[4]) / CLK_TCK


def memory(pids):
    """KiB summed over pids: VmRSS, VmHWM (status) and Pss (smaps_rollup)."""
    m = {"rss": 0, "hwm": 0, "pss": 0}
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        m["rss"] += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        m["hwm"] += int(line.split()[1])
            with open("/proc/%d/smaps_rollup" % p) as f:
                for line in f:
                    if line.startswith("Pss:"):
                        m["pss"] += int(line.split()[1])
        except OSError:
            continue
    return m


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def print_medians(results, keys, key_width, col_width, fmt):
    """A table on stdout: a row per key, a column per label of results ({label: [run's
    dict]}), each cell the median over the runs."""
    print("%-*s" % (key_width, "median") + "".join("%*s" % (col_width, label)
                                                   for label in results))
    for k in keys:
        print("%-*s" % (key_width, k) + "".join(fmt % statistics.median(x[k] for x in runs)
                                                for runs in results.values()))


def percentile(sorted_xs, q):
    if not sorted_xs:
        return None
    i = min(len(sorted_xs) - 1, max(0, int(round(q * (len(sorted_xs) - 1)))))
    return sorted_xs[i]


def pin(cpus):
    def fn():
        if cpus is not None:
            os.sched_setaffinity(0, cpus)
    return fn


def split_cpus(server_first=False):
    """(server CPUs, client CPUs): each on a CPU of its own, the server on the last one (the
    first with server_first); (None, None), unpinned, on a machine of one CPU."""
    ncpu = os.cpu_count() or 1
    if ncpu < 2:
        return None, None
    return ({0}, {ncpu - 1}) if server_first else ({ncpu - 1}, {0})


def private_bin(build, dest):
    """A private copy of nameplated and nameplatectl in dest: a rebuild in the tree during
    the run must not change the binary. Returns dest."""
    os.makedirs(dest, exist_ok=True)
    for b in ("nameplated", "nameplatectl"):
        shutil.copy2(os.path.join(build, b), dest)
    return dest


def nameplatectl(build, conf, *args, timeout=900):
    """Runs build's nameplatectl on conf; its output, or RuntimeError with its message."""
    r = subprocess.run([os.path.join(build, "nameplatectl"), "-c", conf] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("nameplatectl %s: exit %d: %s" %
                           (" ".join(args), r.returncode,
                            r.stderr.decode(errors="replace").strip()[-500:]))
    return r.stdout.decode(errors="replace")


def import_hosts(build, conf, hosts_file):
    """A new store for conf with the account "bench" owning the hosts of hosts_file
    (`nameplatectl zone import`); returns the seconds the import took."""
    nameplatectl(build, conf, "init")
    nameplatectl(build, conf, "user", "add", "bench")
    t0 = time.monotonic()
    nameplatectl(build, conf, "zone", "import", hosts_file, "--user", "bench")
    took = time.monotonic() - t0
    log("nameplatectl zone import: %.1f s" % took)
    return took


def add_tsig_key(build, conf, name):
    """A new TSIG key of the account "bench": (name, secret in base64)."""
    out = nameplatectl(build, conf, "tsig", "add", name, "--user", "bench")
    m = re.search(r'secret "([A-Za-z0-9+/=]+)";', out)
    if not m:
        raise RuntimeError("nameplatectl tsig add printed no secret")
    return name, m.group(1)


# ---------------------------------------------------------------- servers

class Server:
    name = "?"
    # Seconds after start before the server is measured: work it does on its own after
    # start (nameplated's owners' scan) must not fall into another server's runs.
    settle_after = 0.0
    # Its answers are checked against the zone: when it is ready, and before it is measured.
    exact = True

    def __init__(self, work, data, workers, cpus, rrl_rate=0, tag=""):
        self.work = os.path.join(work, "%s-w%d%s" % (self.name, workers, tag))
        self.data = data
        self.workers = workers
        self.cpus = cpus
        # Responses per second per bucket; 0 turns rate limiting off.
        self.rrl_rate = rrl_rate
        self.port = free_port()
        self.proc = None
        self.logf = None

    def cmd(self):
        raise NotImplementedError

    def prepare(self):
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)

    def start(self, timeout=180.0):
        self.logf = open(os.path.join(self.work, "server.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(self.cmd(), stdout=self.logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=pin(self.cpus), cwd=self.work)
        self.load_s = self.wait_ready(t0, timeout)
        return self.load_s

    def wait_ready(self, t0, timeout):
        """Seconds from exec until the last host answers with its address (with any NOERROR
        answer, for a server that is not exact)."""
        last = self.data["hosts"] - 1
        want = genzone.host_a(last)
        stub = dnsq.Stub(self.port, timeout=0.2)
        try:
            while time.monotonic() - t0 < timeout:
                if self.proc.poll() is not None:
                    raise RuntimeError("%s exited with %d; see %s/server.log" %
                                       (self.name, self.proc.returncode, self.work))
                r = stub.query("h%d.%s" % (last, ZONE), "A")
                if r and r[0] == 0 and (want in r[1] or not self.exact):
                    return time.monotonic() - t0
                time.sleep(0.05)
        finally:
            stub.close()
        raise RuntimeError("%s not answering after %.0f s" % (self.name, timeout))

    def pids(self):
        return tree(self.proc.pid)

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the session we created
                self.proc.wait(5)
        # NSD's children may outlive the parent by a moment; the group is ours.
        for _ in range(50):
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.proc = None
        if self.logf:
            self.logf.close()


class Nsd(Server):
    name = "nsd"

    def prepare(self):
        super().prepare()
        w = self.work
        conf = """server:
  ip-address: 127.0.0.1@{port}
  port: {port}
  do-ip6: no
  server-count: {n}
  reuseport: {reuse}
  username: ""
  chroot: ""
  pidfile: {w}/nsd.pid
  zonesdir: {w}
  database: ""
  xfrdfile: {w}/xfrd.state
  xfrdir: {w}
  zonelistfile: {w}/zone.list
  logfile: {w}/nsd.log
  verbosity: 1
  # Response rate limiting (Debian builds NSD with it, on by default): the bench's
  # limit is one the load never reaches, or 0 for off (--rrl-rate).
  rrl-ratelimit: {rrl}
  rrl-whitelist-ratelimit: {rrl}
  rrl-slip: 2
  # Answer section only, like Knot and nameplated (compare "resp B" in the output).
  minimal-responses: yes
remote-control:
  control-enable: no
zone:
  name: {zone}
  zonefile: {zf}
""".format(port=self.port, n=self.workers, reuse="yes" if self.workers > 1 else "no", w=w,
           zone=ZONE, zf=self.data["full"], rrl=self.rrl_rate)
        self.conf = os.path.join(w, "nsd.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def cmd(self):
        return ["nsd", "-c", self.conf, "-d"]


class Knot(Server):
    name = "knot"

    def prepare(self):
        super().prepare()
        w = self.work
        conf = """server:
  rundir: {w}
  listen: 127.0.0.1@{port}
  udp-workers: {n}
  tcp-workers: 1
  background-workers: 1
database:
  storage: {w}
log:
  - target: {w}/knot.log
    any: info
{rrl_module}template:
  - id: default
    storage: {w}
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
{rrl_use}zone:
  - domain: {zone}
    file: {zf}
""".format(port=self.port, n=self.workers, w=w, zone=ZONE, zf=self.data["full"],
           rrl_module=("mod-rrl:\n  - id: bench\n    rate-limit: %d\n    slip: 2\n"
                       % self.rrl_rate) if self.rrl_rate else "",
           rrl_use="    global-module: mod-rrl/bench\n" if self.rrl_rate else "")
        self.conf = os.path.join(w, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def cmd(self):
        return ["knotd", "-c", self.conf]


class Nameplate(Server):
    name = "nameplated"
    # The owners' scan runs 5 s after start (src/core/owners.c, OWNERS_FIRST_S) and walks
    # every host, a few hundred ms of CPU with the bench's 100,000.
    settle_after = 6.0
    # One data dir for every nameplated instance of a bench: imported once.
    shared = {}

    def __init__(self, work, data, workers, cpus, build, http_conns=256, http_threads=2,
                 rrl_rate=0, tag=""):
        super().__init__(work, data, workers, cpus, rrl_rate, tag)
        self.http_threads = http_threads
        self.build = build
        self.http_port = free_port()
        self.http_conns = http_conns
        self.datadir = os.path.join(work, "nameplate-data")

    def write_conf(self):
        conf = """[server]
data_dir = {d}
log_level = warning

[dns]
listen = 127.0.0.1@{port}
workers = {n}
# Rate limiting as for the peers (--rrl-rate; 0 is off): the load comes from one address.
rrl_rate = {rrl}

[http]
listen = 127.0.0.1:{hp}
max_connections = {mc}
per_ip_connections = {mc}
per_net_connections = {mc}
threads = {ht}

{abuse}
[zone {zone}]
ns = ns1.{zone}
contact = hostmaster.{zone}
ttl = 60
""".format(d=self.datadir, port=self.port, n=self.workers, hp=self.http_port,
           mc=self.http_conns, ht=self.http_threads, zone=ZONE, abuse=ABUSE_OFF,
           rrl=self.rrl_rate)
        self.conf = os.path.join(self.work, "nameplate.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def ctl(self, *args, timeout=600):
        return nameplatectl(self.build, self.conf, *args, timeout=timeout)

    def prepare(self):
        super().prepare()
        self.write_conf()
        if "import_s" in Nameplate.shared:
            return
        shutil.rmtree(self.datadir, ignore_errors=True)
        os.makedirs(self.datadir)
        Nameplate.shared["import_s"] = import_hosts(self.build, self.conf,
                                                    self.data["hosts_file"])

    def cmd(self):
        return [os.path.join(self.build, "nameplated"), "-c", self.conf, "-f"]

    def secret_for(self, fqdn):
        """A fresh update secret for an imported host: `host secret`, else `host add`."""
        try:
            out = self.ctl("host", "secret", fqdn)
        except RuntimeError:
            out = self.ctl("host", "add", fqdn, "--user", "bench")
        lines = [x.strip() for x in out.splitlines() if x.strip()]
        if not lines:
            raise RuntimeError("nameplatectl printed no secret for %s" % fqdn)
        return lines[-1]


class NameplateBase(Nameplate):
    """Another nameplated build (--baseline: e.g. the commit before a change), on the same
    data, so a change is measured against what it replaces in the same bench run."""
    name = "np-base"


class Floor(Server):
    """bench/udp_floor.c: receives, copies the question, appends one A record, sends; the
    least CPU a UDP server can spend per query here. Not a DNS server: its answers are not
    checked, and it is started after the others with their pinning."""
    name = "floor"
    exact = False

    def __init__(self, work, data, workers, cpus, binary, wait_us, tag=""):
        super().__init__(work, data, workers, cpus, 0, tag)
        self.binary = binary
        self.wait_us = wait_us

    def cmd(self):
        return [self.binary, str(self.port), str(self.wait_us)]


def build_floor(dest):
    """Compiles bench/udp_floor.c into dest; None (and a log line) when it cannot."""
    cmd = ["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-o", dest,
           os.path.join(HERE, "udp_floor.c")]
    try:
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)
        return dest
    except (OSError, subprocess.SubprocessError) as e:
        log("the floor is left out: cannot build bench/udp_floor.c (%s)" % e)
        return None


# ---------------------------------------------------------------- dnsperf

def dnsperf(args, cpus, verbose, outfile):
    """Runs dnsperf; returns parsed statistics (+ latencies when verbose). The output goes
    to a file and is parsed afterwards, so the bench's own parsing takes no CPU from the
    server during the run."""
    cmd = ["dnsperf"] + args + (["-v"] if verbose else [])
    with open(outfile, "w") as f:
        p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, preexec_fn=pin(cpus))
        _pid, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    st = {"lat": [] if verbose else None, "raw": []}
    with open(outfile) as f:
        lines = f.readlines()
    os.unlink(outfile)
    for line in lines:
        if verbose and line.startswith("> "):
            parts = line.split()
            try:
                st["lat"].append(float(parts[-1]))
            except ValueError:
                pass
            continue
        if line.startswith("[Timeout]"):
            continue
        st["raw"].append(line)
        s = line.strip()
        if s.startswith("Queries completed:"):
            st["completed"] = int(s.split()[2])
        elif s.startswith("Queries sent:"):
            st["sent"] = int(s.split()[2])
        elif s.startswith("Queries lost:"):
            st["lost"] = int(s.split()[2])
        elif s.startswith("Queries per second:"):
            st["qps"] = float(s.split()[3])
        elif s.startswith("Average Latency (s):"):
            st["lat_avg"] = float(s.split()[3])
        elif s.startswith("Average packet size:"):
            st["resp_size"] = int(s.split()[-1])
        elif s.startswith("Response codes:"):
            codes = {}
            items = s.split(":", 1)[1].split(",")
            for it in items:
                w = it.split()
                if len(w) >= 2:
                    codes[w[0]] = int(w[1])
            st["rcodes"] = codes
    # dnsperf's own CPU: near 100% of one core means the client, not the server, set the pace.
    st["client_cpu_s"] = ru.ru_utime + ru.ru_stime
    if p.returncode != 0 or "completed" not in st:
        raise RuntimeError("dnsperf failed (%d): %s" % (p.returncode, "".join(st["raw"])[-800:]))
    if verbose:
        lat = sorted(st.pop("lat"))
        st["lat_p50"] = percentile(lat, 0.50)
        st["lat_p99"] = percentile(lat, 0.99)
        st["lat_n"] = len(lat)
    else:
        st.pop("lat")
    return st


def dnsperf_args(port, queries, clients):
    """dnsperf's options for the server on 127.0.0.1 port: the query file, clients source
    sockets, 2 s timeout."""
    return ["-s", "127.0.0.1", "-p", str(port), "-d", queries, "-c", str(clients), "-t", "2"]


def dnsperf_cpu(pids, args, cpus, verbose, outfile):
    """dnsperf (above), with the server's CPU meanwhile: cpu_s over pids, and cpu_us_per_q
    per completed query."""
    c0 = cpu_ticks(pids)
    st = dnsperf(args, cpus, verbose, outfile)
    st["cpu_s"] = cpu_ticks(pids) - c0
    st["cpu_us_per_q"] = st["cpu_s"] * 1e6 / st["completed"] if st["completed"] else None
    return st


def check_answers(srv, data, n=300):
    """Every server must give the same answers: checks n query-file lines."""
    stub = dnsq.Stub(srv.port, timeout=1.0)
    bad = []
    try:
        with open(data["queries"]) as f:
            for i, line in enumerate(f):
                if i >= n:
                    break
                name, qt = line.split()
                host = name.split(".")[0]
                r = stub.query(name, qt)
                if host.startswith("nx"):
                    ok = r is not None and r[0] == 3
                else:
                    k = int(host[1:])
                    want = genzone.host_a(k) if qt == "A" else genzone.host_aaaa(k)
                    ok = r is not None and r[0] == 0 and r[1] == [want]
                if not ok:
                    bad.append("%s %s -> %r" % (name, qt, r))
    finally:
        stub.close()
    if bad:
        raise RuntimeError("%s gives wrong answers, e.g. %s" % (srv.name, "; ".join(bad[:3])))


def open_dns(srv, data):
    """Starts srv and checks its answers; its result record so far."""
    res = {"server": srv.name, "workers": srv.workers, "runs": []}
    srv.prepare()
    res["load_s"] = srv.start()
    res["started"] = time.monotonic() - res["load_s"]
    if srv.exact:
        check_answers(srv, data)
    return res


def settle(opened):
    """Waits until every started server is past its settle_after and idle (under 20 ms of
    CPU in half a second, at most 30 s each): what a server does by itself after start must
    not fall into its own runs nor into another's on the same CPU."""
    for srv, res in opened:
        wait = srv.settle_after - (time.monotonic() - res["started"])
        if wait > 0:
            time.sleep(wait)
        deadline = time.monotonic() + 30
        c = cpu_ticks(srv.pids())
        while time.monotonic() < deadline:
            time.sleep(0.5)
            c, before = cpu_ticks(srv.pids()), c
            if c - before < 0.02:
                break
        res["mem_load"] = memory(srv.pids())


def run_dns(srv, res, data, opt, client_cpus, rawdir):
    """One run of srv: as fast as it goes, then at the fixed rate; appended to res."""
    run = len(res["runs"])
    r = {}
    pids = srv.pids()
    base = dnsperf_args(srv.port, data["queries"], opt.clients)
    tmp = os.path.join(srv.work, "dnsperf.out")
    t0, b0 = time.monotonic(), busy_cpu_s()
    r["max"] = dnsperf_cpu(pids, base + ["-l", str(opt.seconds), "-q",
                                         str(opt.outstanding)], client_cpus, False, tmp)
    r["max"]["wall_s"] = time.monotonic() - t0
    # CPU used by neither the server nor dnsperf (other jobs, ksoftirqd): a
    # busy machine makes every number of the run suspect.
    r["max"]["other_cores"] = (busy_cpu_s() - b0 - r["max"]["cpu_s"] -
                               r["max"]["client_cpu_s"]) / r["max"]["wall_s"]
    b0 = busy_cpu_s()
    r["rate"] = dnsperf_cpu(pids, base + ["-l", str(opt.seconds), "-Q", str(opt.rate)],
                            client_cpus, True, tmp)
    # The whole machine's busy CPU: loopback work the kernel charges to dnsperf
    # or to softirq threads instead of the server shows here, not in cpu_s.
    r["rate"]["machine_cpu_s"] = busy_cpu_s() - b0
    for k in ("max", "rate"):
        with open(os.path.join(rawdir, "%s-run%d-%s.txt" %
                               (os.path.basename(srv.work), run, k)), "w") as f:
            f.write("".join(r[k].pop("raw")))
    q = r["rate"]["completed"]
    r["rate"]["machine_us_per_q"] = r["rate"]["machine_cpu_s"] * 1e6 / q if q else None
    r["rate"]["client_us_per_q"] = r["rate"]["client_cpu_s"] * 1e6 / q if q else None
    log("%s w=%d run %d: %.0f q/s max; %.2f us CPU/q at %d q/s (%.0f done), p99 %.3f ms"
        % (srv.name, srv.workers, run + 1, r["max"]["qps"], r["rate"]["cpu_us_per_q"] or -1,
           opt.rate, r["rate"]["qps"], (r["rate"]["lat_p99"] or 0) * 1e3))
    res["runs"].append(r)


def bench_dns(opened, data, opt, client_cpus, rawdir):
    """The runs of every started server, interleaved: round k runs each server once, the
    order turned by one each round. A machine whose speed drifts over the minutes of a
    bench (a shared VM's does) then weighs on every server alike, instead of on whichever
    ran at the bad moment."""
    live = list(opened)
    for k in range(opt.runs):
        turn = k % len(live) if live else 0
        for srv, res in live[turn:] + live[:turn]:
            try:
                run_dns(srv, res, data, opt, client_cpus, rawdir)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                log("%s failed: %s" % (srv.name, e))
                res["error"] = str(e)
        live = [x for x in live if "error" not in x[1]]
    for srv, res in live:
        res["mem_end"] = memory(srv.pids())


def dns_medians(res):
    """res with the medians over its runs, or its error alone."""
    if "error" in res or not res["runs"]:
        return {"server": res["server"], "workers": res["workers"],
                "error": res.get("error", "no run")}
    res.pop("started", None)
    runs = res["runs"]

    def med(k, f):
        return median([x[k].get(f) for x in runs])
    res["median"] = {
        "qps": med("max", "qps"),
        "client_cpu_pct": median([100.0 * x["max"]["client_cpu_s"] / x["max"]["wall_s"]
                                  for x in runs]),
        "lat_avg_ms_max": (med("max", "lat_avg") or 0) * 1e3,
        "other_cores": med("max", "other_cores"),
        "cpu_us_max": med("max", "cpu_us_per_q"),
        "cpu_us_rate": med("rate", "cpu_us_per_q"),
        "machine_us_rate": med("rate", "machine_us_per_q"),
        "client_us_rate": med("rate", "client_us_per_q"),
        "qps_rate": med("rate", "qps"),
        "lat_avg_ms_rate": (med("rate", "lat_avg") or 0) * 1e3,
        "lat_p99_ms_rate": (med("rate", "lat_p99") or 0) * 1e3,
        "lost": sum(x["max"].get("lost", 0) + x["rate"].get("lost", 0) for x in runs),
        "resp_size": med("max", "resp_size"),
        "nxdomain_pct": median([100.0 * x["max"]["rcodes"].get("NXDOMAIN", 0) /
                                max(1, x["max"]["completed"]) for x in runs]),
    }
    return res


# ---------------------------------------------------------------- dyndns2 updates

def update_url(fqdn, ip):
    return "/nic/update?hostname=%s&myip=%s" % (fqdn, ip)


def auth_header(fqdn, secret):
    return "Basic " + base64.b64encode(("%s:%s" % (fqdn, secret)).encode()).decode()


def ip_for(host_idx, seq):
    # 10.200.0.0/16 + distinct per (host, seq) so every update really changes the address.
    v = (host_idx * 7919 + seq) % 65534 + 1
    return "10.200.%d.%d" % (v >> 8, v & 255)


def update_worker(port, hosts, deadline, max_req, out):
    """One client thread: keep-alive connection, round robin over its hosts."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    good, other, lat = 0, {}, []
    seq = 0
    try:
        while time.monotonic() < deadline and seq < max_req:
            idx, fqdn, secret = hosts[seq % len(hosts)]
            seq += 1
            ip = ip_for(idx, seq)
            t0 = time.monotonic()
            try:
                conn.request("GET", update_url(fqdn, ip),
                             headers={"Authorization": auth_header(fqdn, secret),
                                      "User-Agent": UA})
                resp = conn.getresponse()
                body = resp.read().decode(errors="replace").strip()
            except (OSError, http.client.HTTPException) as e:
                key = "error:" + type(e).__name__
                other[key] = other.get(key, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            lat.append(time.monotonic() - t0)
            first = body.split()[0] if body else "(empty:%d)" % resp.status
            if first == "good":
                good += 1
            else:
                other[first] = other.get(first, 0) + 1
    finally:
        conn.close()
    out.append((good, other, lat))


def update_process(port, hosts, nthreads, start_at, seconds, max_req, q):
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = time.monotonic() + seconds
    out, ths = [], []
    for i in range(nthreads):
        mine = hosts[i::nthreads]
        th = threading.Thread(target=update_worker, args=(port, mine, deadline, max_req, out))
        th.start()
        ths.append(th)
    for th in ths:
        th.join()
    good = sum(o[0] for o in out)
    other = {}
    for o in out:
        for k, v in o[1].items():
            other[k] = other.get(k, 0) + v
    lat = [x for o in out for x in o[2]]
    q.put((good, other, lat))


def bench_updates(np_srv, hosts, clients, seconds, procs):
    """clients concurrent keep-alive clients in procs processes (Python's GIL would
    otherwise cap the client), for seconds. Returns good/s and request latency."""
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    start_at = time.time() + 0.5
    per = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    ps, off = [], 0
    c0 = cpu_ticks(np_srv.pids())
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    for i, n in enumerate(per):
        if n == 0:
            continue
        # Client c owns the hosts j with j % clients == c: no host is updated by two clients.
        mine = [h for j, h in enumerate(hosts) if off <= j % clients < off + n]
        off += n
        p = ctx.Process(target=update_process,
                        args=(np_srv.http_port, mine, n, start_at, seconds, 10 ** 7, q))
        p.start()
        ps.append(p)
    results = [q.get(timeout=seconds + 120) for _ in ps]
    for p in ps:
        p.join(30)
    cpu = cpu_ticks(np_srv.pids()) - c0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The Python clients' CPU: near the number of CPUs means the client is the limit.
    client_cores = (ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime) / seconds
    good = sum(r[0] for r in results)
    other = {}
    for r in results:
        for k, v in r[1].items():
            other[k] = other.get(k, 0) + v
    lat = sorted(x for r in results for x in r[2])
    return {"clients": clients, "seconds": seconds, "good": good, "other": other,
            "good_per_s": good / seconds,
            "req_p50_ms": (percentile(lat, 0.5) or 0) * 1e3,
            "req_p99_ms": (percentile(lat, 0.99) or 0) * 1e3,
            "server_cpu_us_per_update": cpu * 1e6 / good if good else None,
            "server_cores": cpu / seconds, "client_cores": client_cores}


def bench_freshness(np_srv, hosts, n):
    """n sequential updates; after each `good`, polls DNS until the new address shows."""
    conn = http.client.HTTPConnection("127.0.0.1", np_srv.http_port, timeout=30)
    stub = dnsq.Stub(np_srv.port, timeout=0.5)
    delays, polls_list, stale_first, failures = [], [], 0, {}
    try:
        for k in range(n):
            idx, fqdn, secret = hosts[k % len(hosts)]
            ip = ip_for(idx, 100000 + k)
            conn.request("GET", update_url(fqdn, ip),
                         headers={"Authorization": auth_header(fqdn, secret), "User-Agent": UA})
            resp = conn.getresponse()
            body = resp.read().decode(errors="replace").strip()
            t_good = time.monotonic()
            if not body.startswith("good"):
                key = body.split()[0] if body else "(empty:%d)" % resp.status
                failures[key] = failures.get(key, 0) + 1
                continue
            polls = 0
            seen = False
            while time.monotonic() - t_good < 5.0:  # bounded: 5 s per update
                polls += 1
                r = stub.query(fqdn, "A")
                if r and r[0] == 0 and ip in r[1]:
                    seen = True
                    break
            if not seen:
                failures["never-visible-5s"] = failures.get("never-visible-5s", 0) + 1
                continue
            delays.append(time.monotonic() - t_good)
            polls_list.append(polls)
            if polls > 1:
                stale_first += 1
    finally:
        conn.close()
        stub.close()
    delays.sort()
    return {"updates": n, "visible": len(delays),
            "p50_ms": (percentile(delays, 0.5) or 0) * 1e3,
            "p99_ms": (percentile(delays, 0.99) or 0) * 1e3,
            "max_ms": (delays[-1] if delays else 0) * 1e3,
            "stale_first_poll": stale_first, "failures": failures}


# ---------------------------------------------------------------- report

ROWS = [
    # key, label, format, better ("max" or "min")
    ("qps", "max q/s", "%.0f", "max"),
    ("client_cpu_pct", "  dnsperf CPU % at max (100=bound)", "%.0f", None),
    ("other_cores", "  other CPU busy at max (cores)", "%.2f", None),
    ("lat_avg_ms_max", "  avg latency at max (ms)", "%.3f", "min"),
    ("cpu_us_max", "  server CPU us/query at max", "%.2f", "min"),
    ("cpu_us_rate", "server CPU us/query @RATE", "%.2f", "min"),
    ("machine_us_rate", "  whole machine CPU us/q @RATE", "%.2f", "min"),
    ("client_us_rate", "  dnsperf CPU us/q @RATE", "%.2f", "min"),
    ("qps_rate", "  achieved q/s @RATE", "%.0f", "max"),
    ("lat_avg_ms_rate", "  avg latency @RATE (ms)", "%.3f", "min"),
    ("lat_p99_ms_rate", "  p99 latency @RATE (ms)", "%.3f", "min"),
    ("load_s", "start+load to answering (s)", "%.2f", "min"),
    ("rss_load", "VmRSS after load (MiB)", "%.1f", "min"),
    ("pss_load", "PSS after load (MiB)", "%.1f", "min"),
    ("rss_end", "VmRSS after runs (MiB)", "%.1f", "min"),
    ("hwm_end", "VmHWM after runs (MiB)", "%.1f", "min"),
    ("pss_end", "PSS after runs (MiB)", "%.1f", "min"),
    ("resp_size", "avg response size (B)", "%.0f", None),
    ("nxdomain_pct", "NXDOMAIN share (%)", "%.1f", None),
    ("lost", "queries lost (all runs)", "%d", None),
]


def flat(res):
    m = dict(res["median"])
    m["load_s"] = res.get("load_s")
    for when in ("load", "end"):
        mem = res.get("mem_" + when) or {}
        for k in ("rss", "hwm", "pss"):
            if k in mem:
                m["%s_%s" % (k, when)] = mem[k] / 1024.0
    return m


def table(results, opt, workers, pinned):
    names = ["nameplated", "nsd", "knot"]
    cols = {r["server"]: flat(r) for r in results if "median" in r}
    errs = {r["server"]: r["error"] for r in results if "error" in r}
    base = "np-base" in cols or "np-base" in errs
    if base:
        names.append("np-base")
    lines = []
    lines.append("DNS, %d worker(s) each%s; median of %d runs x %d s; %d clients; RRL %s"
                 % (workers, pinned, opt.runs, opt.seconds, opt.clients,
                    ("at %d/s" % opt.rrl_rate) if opt.rrl_rate else "off"))
    busy = [c.get("other_cores") or 0 for c in cols.values()]
    if busy and max(busy) > 0.15:
        lines.append("WARNING: other work used up to %.2f cores during the runs; the machine "
                     "was not quiet, treat the numbers as rough" % max(busy))
    hdr = "%-32s %12s %12s %12s %9s" % ("metric", "nameplated", "nsd", "knot", "np/best")
    if base:
        hdr += " %12s %9s" % ("np-base", "np/base")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for key, label, fmt, better in ROWS:
        label = label.replace("RATE", "%dk" % (opt.rate // 1000))
        vals = []
        for n in names:
            v = cols.get(n, {}).get(key)
            vals.append(v)
        cells = [(fmt % v) if v is not None else ("n/a" if n not in errs else "FAILED")
                 for v, n in zip(vals, names)]
        ratio = ""
        peers = [v for v in vals[1:3] if v is not None]
        if better and vals[0] is not None and peers:
            best = max(peers) if better == "max" else min(peers)
            if best:
                ratio = "%.2f" % (vals[0] / best)
        line = "%-32s %12s %12s %12s %9s" % ((label,) + tuple(cells[:3]) + (ratio,))
        if base:
            vs = ""
            if better and vals[0] is not None and vals[3]:
                vs = "%.2f" % (vals[0] / vals[3])
            line += " %12s %9s" % (cells[3], vs)
        lines.append(line)
    for n, e in errs.items():
        lines.append("  %s: %s" % (n, e))
    lines.extend(rounds_and_floor(results, opt))
    return "\n".join(lines)


def rounds_and_floor(results, opt):
    """Lines under a table: the CPU @RATE ratio of every round (the servers of a round ran
    minutes apart at most) and the floor's cost, with the most a server on UDP sockets could
    beat the cheapest peer by over it."""
    runs = {r["server"]: [x["rate"].get("cpu_us_per_q") for x in r["runs"]]
            for r in results if "median" in r}
    out = []
    np_runs = runs.get("nameplated")
    peers = [runs[n] for n in ("nsd", "knot") if n in runs]
    if np_runs and peers:
        ratios = []
        for k, v in enumerate(np_runs):
            best = [p[k] for p in peers if k < len(p) and p[k]]
            if v and best:
                ratios.append(min(best) / v)
        if ratios:
            out.append("cheapest peer / nameplated, server CPU @%dk, per round: %s; "
                       "median %.2f" % (opt.rate // 1000, " ".join("%.2f" % x for x in ratios),
                                        median(ratios)))
    floor = median(runs.get("floor", []))
    if floor:
        cheapest = [median(p) for p in peers]
        line = ("floor (bench/udp_floor.c: receive, copy, send; nothing else) %.2f us/q @%dk"
                % (floor, opt.rate // 1000))
        if np_runs:
            line += "; nameplated %.2fx the floor" % (median(np_runs) / floor)
        if cheapest:
            line += ("; cheapest peer %.2fx the floor, the most a server on UDP sockets could "
                     "be cheaper than it" % (min(cheapest) / floor))
        out.append(line)
    return out


# ---------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build", help="build directory with nameplated and nameplatectl")
    ap.add_argument("--out", default=os.path.join(HERE, "out"))
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--queries", type=int, default=200000, help="lines in the query file")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10, help="dnsperf -l per run")
    ap.add_argument("--rate", type=int, default=50000, help="dnsperf -Q of the CPU runs")
    ap.add_argument("--clients", type=int, default=8, help="dnsperf -c (source sockets)")
    ap.add_argument("--outstanding", type=int, default=200, help="dnsperf -q of max runs")
    ap.add_argument("--workers", default="1,2", help="server threads/processes to test")
    ap.add_argument("--servers", default="nameplated,nsd,knot")
    ap.add_argument("--update-clients", default="16,64")
    ap.add_argument("--update-seconds", type=int, default=10)
    ap.add_argument("--update-hosts", type=int, default=256)
    ap.add_argument("--http-threads", type=int, default=2, help="nameplated [http] threads")
    ap.add_argument("--fresh-updates", type=int, default=200)
    ap.add_argument("--no-updates", action="store_true")
    ap.add_argument("--rrl-rate", type=int, default=100000,
                    help="every server's response rate limit per bucket (0: off); the "
                         "default is on, above what the load sends to any one bucket")
    ap.add_argument("--baseline", metavar="BUILD",
                    help="another build directory (e.g. of the commit before a change): its "
                         "nameplated runs in the same rounds on the same data, as np-base")
    ap.add_argument("--no-floor", action="store_true",
                    help="leave out the floor (bench/udp_floor.c) of the 1-worker tables")
    ap.add_argument("--floor-wait-us", type=int, default=300,
                    help="the floor's wait for more queries (as nameplated's "
                         "udp_batch_wait_us)")
    ap.add_argument("--pinnings", default="server-last,server-first",
                    help="with 1 worker: server-last (server on the last CPU, dnsperf on "
                         "CPU 0), server-first (the other way round), or both")
    opt = ap.parse_args()

    build = os.path.abspath(opt.build)
    out = os.path.abspath(opt.out)
    work = os.path.join(out, "work")
    raw = os.path.join(out, "raw")
    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(raw, ignore_errors=True)
    os.makedirs(work)
    os.makedirs(raw)
    for tool in ("dnsperf", "nsd", "knotd"):
        if not shutil.which(tool):
            sys.exit("bench: %s not found (apt-get install dnsperf nsd knot)" % tool)

    datadir = os.path.join(work, "zone")
    log("generating %d hosts, %d queries" % (opt.hosts, opt.queries))
    genzone.generate(datadir, opt.hosts, opt.queries)
    data = {"hosts": opt.hosts, "full": os.path.join(datadir, "full.zone"),
            "hosts_file": os.path.join(datadir, "hosts.zone"),
            "queries": os.path.join(datadir, "queries.txt")}

    servers = opt.servers.split(",")
    have_np = all(os.access(os.path.join(build, b), os.X_OK)
                  for b in ("nameplated", "nameplatectl"))
    if have_np:
        build = private_bin(build, os.path.join(work, "bin"))
    base_build = None
    if opt.baseline:
        base_build = private_bin(os.path.abspath(opt.baseline), os.path.join(work, "bin-base"))
        if "np-base" not in servers:
            at = servers.index("nameplated") + 1 if "nameplated" in servers else 0
            servers.insert(at, "np-base")
    ncpu = os.cpu_count() or 1
    report = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "options": vars(opt),
              "cpus": ncpu, "dns": [], "updates": None}
    tables = []
    configs = []
    for workers in [int(x) for x in opt.workers.split(",")]:
        # One worker: server and dnsperf each on a CPU of their own, both ways round
        # (the kernel charges loopback work differently by CPU). More workers than that:
        # no pinning, everyone shares every CPU.
        if workers == 1 and ncpu >= 2:
            for p in opt.pinnings.split(","):
                if p not in ("server-last", "server-first"):
                    sys.exit("bench: unknown pinning %s" % p)
                srv_cpus, cli_cpus = split_cpus(server_first=p == "server-first")
                configs.append((workers, srv_cpus, cli_cpus, "-" + p.split("-")[1],
                                " (server pinned to CPU %d, dnsperf to CPU %d)" %
                                (min(srv_cpus), min(cli_cpus))))
        else:
            configs.append((workers, None, None, "",
                            " (unpinned; dnsperf shares the %d CPUs)" % ncpu))
    floor_bin = None
    if not opt.no_floor:
        floor_bin = build_floor(os.path.join(work, "bin", "udp_floor"))
    for workers, srv_cpus, cli_cpus, tag, pinned in configs:
        # The harness itself (polls, /proc reads) stays off the server's CPU too.
        os.sched_setaffinity(0, cli_cpus or set(range(ncpu)))
        results, opened = [], []
        wanted = list(servers) + (["floor"] if floor_bin and workers == 1 else [])
        try:
            for name in wanted:
                if name == "nameplated":
                    if not have_np:
                        results.append({"server": name, "error": "no %s/nameplated or "
                                        "nameplatectl" % build})
                        continue
                    srv = Nameplate(work, data, workers, srv_cpus, build,
                                    rrl_rate=opt.rrl_rate, tag=tag)
                elif name == "np-base" and base_build:
                    srv = NameplateBase(work, data, workers, srv_cpus, base_build,
                                        rrl_rate=opt.rrl_rate, tag=tag)
                elif name == "nsd":
                    srv = Nsd(work, data, workers, srv_cpus, opt.rrl_rate, tag)
                elif name == "knot":
                    srv = Knot(work, data, workers, srv_cpus, opt.rrl_rate, tag)
                elif name == "floor":
                    srv = Floor(work, data, workers, srv_cpus, floor_bin, opt.floor_wait_us,
                                tag)
                else:
                    sys.exit("bench: unknown server %s" % name)
                log("%s, %d worker(s)%s: port %d" % (name, workers, pinned, srv.port))
                try:
                    res = open_dns(srv, data)
                    res["pinning"] = tag.lstrip("-") or "none"
                    opened.append((srv, res))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                    log("%s failed: %s" % (name, e))
                    srv.stop()
                    results.append({"server": name, "workers": workers, "error": str(e)})
            settle(opened)
            bench_dns(opened, data, opt, cli_cpus, raw)
        finally:
            for srv, _ in opened:
                srv.stop()
        results.extend(dns_medians(res) for _, res in opened)
        report["dns"].extend(results)
        tables.append(table(results, opt, workers, pinned))
        print(tables[-1] + "\n", flush=True)

    os.sched_setaffinity(0, set(range(ncpu)))
    if "nameplated" in servers and have_np and not opt.no_updates:
        tables.append(run_updates(work, data, build, opt, report))
        print(tables[-1] + "\n", flush=True)
    elif not opt.no_updates:
        tables.append("dyndns2 updates: skipped (no nameplated)")

    if "import_s" in Nameplate.shared:
        report["nameplate_import_s"] = Nameplate.shared["import_s"]
        tables.append("nameplatectl zone import of %d hosts: %.1f s"
                      % (opt.hosts, Nameplate.shared["import_s"]))
    summary = "\n\n".join(tables) + "\n"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for fn, text in (("summary.txt", summary), ("summary-%s.txt" % stamp, summary),
                     ("results.json", json.dumps(report, indent=1, default=str)),
                     ("results-%s.json" % stamp, json.dumps(report, indent=1, default=str))):
        with open(os.path.join(out, fn), "w") as f:
            f.write(text)
    print("=" * 78)
    print(summary)
    print("results: %s/summary.txt, %s/results.json, raw dnsperf output in %s" % (out, out, raw))


def run_updates(work, data, build, opt, report):
    clients = [int(x) for x in opt.update_clients.split(",")]
    srv = Nameplate(work, data, 1, None, build, http_conns=max(256, 2 * max(clients)),
                    http_threads=opt.http_threads)
    lines = ["dyndns2 updates to nameplated (durable: acknowledged after commit); "
             "%d HTTP threads, %d s per row" % (opt.http_threads, opt.update_seconds)]
    try:
        srv.prepare()
        nh = max(opt.update_hosts, max(clients))
        log("creating update secrets for %d hosts" % nh)
        hosts = []
        for i in range(nh):
            fqdn = "h%d.%s" % (i, ZONE)
            hosts.append((i, fqdn, srv.secret_for(fqdn)))
        srv.start()
        runs = []
        for c in clients:
            r = bench_updates(srv, hosts, c, opt.update_seconds, procs=min(4, max(1, c // 8)))
            log("updates, %d clients: %.0f good/s, other %s" % (c, r["good_per_s"], r["other"]))
            runs.append(r)
        fresh = bench_freshness(srv, hosts, opt.fresh_updates)
        log("freshness: %s" % fresh)
        report["updates"] = {"rate": runs, "freshness": fresh}
        hdr = "%-8s %9s %10s %11s %11s %15s %9s %9s  %s" % (
            "clients", "good/s", "good total", "req p50 ms", "req p99 ms", "srv CPU us/upd",
            "srv cores", "cli cores", "non-good")
        lines += [hdr, "-" * len(hdr)]
        for r in runs:
            lines.append("%-8d %9.0f %10d %11.2f %11.2f %15s %9.2f %9.2f  %s" % (
                r["clients"], r["good_per_s"], r["good"], r["req_p50_ms"], r["req_p99_ms"],
                "%.1f" % r["server_cpu_us_per_update"] if r["server_cpu_us_per_update"]
                else "n/a", r["server_cores"], r["client_cores"], r["other"] or "-"))
        lines.append("good -> new answer over UDP, %d sequential updates: p50 %.3f ms, "
                     "p99 %.3f ms, max %.3f ms; stale on first poll: %d; failures: %s"
                     % (fresh["updates"], fresh["p50_ms"], fresh["p99_ms"], fresh["max_ms"],
                        fresh["stale_first_poll"], fresh["failures"] or "-"))
    except (RuntimeError, OSError, subprocess.SubprocessError, http.client.HTTPException) as e:
        log("update bench failed: %s" % e)
        report["updates"] = {"error": str(e)}
        lines.append("FAILED: %s" % e)
    finally:
        srv.stop()
    return "\n".join(lines)


if __name__ == "__main__":
    main()

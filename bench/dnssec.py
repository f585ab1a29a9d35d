# SPDX-License-Identifier: MIT
"""DNSSEC benchmark: nameplated unsigned, nameplated signed (with and without DO), and Knot
serving the same 100,000-host zone signed by itself (algorithm 13, NSEC3), side by side in
one run: server CPU per query at a fixed rate for existing names and for random missing
names, resident memory after load, and RFC 2136 updates per second with signing off and
on. Run through bench/dnssec.sh (make bench-dnssec); bench/README.md ("DNSSEC") says how
to read it."""

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (servers, dnsperf, pinning, nameplatectl, memory, median)
import genzone  # noqa: E402

ZONE = genzone.ORIGIN
KEYNAME = "bench-key"


def log(*a):
    print("[dnssec]", *a, file=sys.stderr, flush=True)


def rss_parts(pids):
    """KiB summed over pids: RssAnon (the heap: the zone as the server holds it) and
    RssFile (mapped files: Knot's LMDB databases, libraries), which make up VmRSS."""
    m = {"anon": 0, "file": 0}
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        m["anon"] += int(line.split()[1])
                    elif line.startswith("RssFile:"):
                        m["file"] += int(line.split()[1])
        except OSError:
            continue
    return m


def dig(port, name, qtype, dnssec=True):
    r = subprocess.run(["dig", "+norec", "+time=1", "+tries=1"] +
                       (["+dnssec"] if dnssec else []) +
                       ["-p", str(port), "@127.0.0.1", name, qtype],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       stdin=subprocess.DEVNULL, timeout=10)
    return r.stdout.decode(errors="replace")


class SignedReady:
    """Ready when the last host's A comes with its RRSIG and a missing name's denial is
    signed: a signing server may answer before it has signed everything."""

    def wait_ready(self, t0, timeout):
        last = "h%d.%s" % (self.data["hosts"] - 1, ZONE)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d; see %s" %
                                   (self.name, self.proc.returncode, self.work))
            pos = dig(self.port, last, "A")
            neg = dig(self.port, "nx-ready.%s" % ZONE, "A")
            if (re.search(r"\sRRSIG\s+A\s+13\s", pos) and
                    re.search(r"\sRRSIG\s+NSEC3?\s+13\s", neg)):
                return time.monotonic() - t0
            time.sleep(0.2)
        raise RuntimeError("%s not signed and answering after %.0f s" % (self.name, timeout))


class KnotSigned(SignedReady, bench.Knot):
    """Knot signing the zone itself: automatic signing, algorithm 13, an NSEC3 chain
    (0 extra iterations, no salt, no opt-out: RFC 9276), the keys in its KASP database."""
    name = "knot-signed"

    def prepare(self):
        bench.Server.prepare(self)
        w = self.work
        conf = """server:
  rundir: {w}
  listen: 127.0.0.1@{port}
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
database:
  storage: {w}
log:
  - target: {w}/knot.log
    any: info
policy:
  - id: bench
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-iterations: 0
    nsec3-salt-length: 0
    nsec3-opt-out: off
template:
  - id: default
    storage: {w}
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: {zone}
    file: {zf}
    dnssec-signing: on
    dnssec-policy: bench
""".format(port=self.port, w=w, zone=ZONE, zf=self.data["full"])
        self.conf = os.path.join(w, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(conf)


class Nameplate(bench.Server):
    """nameplated on a private copy of the imported data dir."""
    name = "nameplated"

    def __init__(self, work, data, cpus, build, master, tag, dnssec, denial_rate):
        self.name = "nameplated-" + tag
        super().__init__(work, data, 1, cpus)
        self.work = os.path.join(work, self.name)
        self.build = build
        self.master = master
        self.dnssec = dnssec
        self.denial_rate = denial_rate
        self.datadir = os.path.join(self.work, "data")
        self.http_port = bench.free_port()

    def prepare(self):
        super().prepare()
        shutil.copytree(self.master, self.datadir)
        conf = """[server]
data_dir = {d}
log_level = warning

[dns]
listen = 127.0.0.1@{port}
workers = 1
rrl_rate = 0

[http]
listen = 127.0.0.1:{hp}

{abuse}
[zone {zone}]
ns = ns1.{zone}
contact = hostmaster.{zone}
ttl = 60
dnssec = {sec}
dnssec_denial_rate = {rate}
""".format(d=self.datadir, port=self.port, hp=self.http_port, zone=ZONE,
           abuse=bench.ABUSE_OFF, sec="on" if self.dnssec else "off", rate=self.denial_rate)
        self.conf = os.path.join(self.work, "nameplate.conf")
        with open(self.conf, "w") as f:
            f.write(conf)

    def cmd(self):
        return [os.path.join(self.build, "nameplated"), "-c", self.conf, "-f"]


class NameplateSigned(SignedReady, Nameplate):
    pass


def make_master(work, build, data):
    """One data dir with the hosts imported and a TSIG key, copied for every nameplated."""
    master = os.path.join(work, "master")
    os.makedirs(master)
    conf = os.path.join(work, "master.conf")
    with open(conf, "w") as f:
        f.write("[server]\ndata_dir = %s\n\n[dns]\nlisten = 127.0.0.1@%d\n\n[zone %s]\n"
                "ns = ns1.%s\n" % (master, bench.free_port(), ZONE, ZONE))
    bench.import_hosts(build, conf, data["hosts_file"])
    return master, bench.add_tsig_key(build, conf, KEYNAME)


def query_files(datadir, hosts, n, runs):
    """existing.txt: A of random hosts; missing-<r>.txt: A of random names that do not
    exist, other names in every run (each a cache miss for nameplated); repeat.txt: 500
    missing names over and over (cache hits)."""
    rnd = random.Random(7)
    files = {"existing": os.path.join(datadir, "existing.txt")}
    with open(files["existing"], "w") as f:
        for _ in range(n):
            f.write("h%d.%s A\n" % (rnd.randrange(hosts), ZONE))
    # 500 missing names over and over: after the first round, answered from the cache.
    files["repeat"] = os.path.join(datadir, "repeat.txt")
    names = ["nx-again-%d.%s" % (i, ZONE) for i in range(500)]
    with open(files["repeat"], "w") as f:
        for i in range(n):
            f.write("%s A\n" % names[i % len(names)])
    for r in range(runs):
        files["missing-%d" % r] = os.path.join(datadir, "missing-%d.txt" % r)
        with open(files["missing-%d" % r], "w") as f:
            for _ in range(n):
                f.write("nx%d-%d.%s A\n" % (rnd.randrange(1 << 30), r, ZONE))
    return files


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("--gen", help="the built bench/update_load (no update rows without)")
    ap.add_argument("--out", default=os.path.join(bench.HERE, "out"))
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5, help="dnsperf -l per run")
    ap.add_argument("--rate", type=int, default=5000, help="dnsperf -Q (queries/s)")
    ap.add_argument("--update-seconds", type=int, default=5)
    ap.add_argument("--update-runs", type=int, default=3)
    ap.add_argument("--outstanding", type=int, default=32)
    a = ap.parse_args()
    for tool in ("dnsperf", "knotd", "dig"):
        if not shutil.which(tool):
            sys.exit("dnssec.py: needs %s (scripts/deps.sh)" % tool)
    ncpu = os.cpu_count() or 1
    srv_cpus, cli_cpus = bench.split_cpus()
    work = os.path.join(os.path.abspath(a.out), "dnssec-work")
    shutil.rmtree(work, ignore_errors=True)
    build = bench.private_bin(a.build, os.path.join(work, "bin"))
    os.sched_setaffinity(0, cli_cpus or set(range(ncpu)))

    ddir = os.path.join(work, "zone")
    genzone.generate(ddir, a.hosts, 1)
    data = {"hosts": a.hosts, "full": os.path.join(ddir, "full.zone"),
            "hosts_file": os.path.join(ddir, "hosts.zone")}
    qn = a.rate * a.seconds + 1000
    files = query_files(ddir, a.hosts, qn, a.runs)
    master, key = make_master(work, build, data)

    servers = {
        "np-unsigned": Nameplate(work, data, srv_cpus, build, master, "unsigned", False, 0),
        "np-signed": NameplateSigned(work, data, srv_cpus, build, master, "signed", True, 0),
        "np-budget": NameplateSigned(work, data, srv_cpus, build, master, "budget", True,
                                     1000),
        "knot-signed": KnotSigned(work, data, 1, srv_cpus),
    }
    # (label, server, query mix, DO)
    cases = [
        ("nameplated unsigned, existing", "np-unsigned", "existing", False),
        ("nameplated signed, existing, no DO", "np-signed", "existing", False),
        ("nameplated signed, existing, DO", "np-signed", "existing", True),
        ("Knot signed, existing, DO", "knot-signed", "existing", True),
        ("nameplated unsigned, missing", "np-unsigned", "missing", False),
        ("nameplated signed, missing, no DO", "np-signed", "missing", False),
        ("nameplated signed, missing, DO", "np-signed", "missing", True),
        ("nameplated budget 1000/s, missing, DO", "np-budget", "missing", True),
        ("nameplated signed, 500 missing again, DO", "np-signed", "repeat", True),
        ("Knot signed, missing, DO", "knot-signed", "missing", True),
    ]
    report = {"options": vars(a), "cpus": ncpu, "load": {}, "cases": {}, "updates": {}}
    started = []
    try:
        for name, srv in servers.items():
            srv.prepare()
            t = srv.start(timeout=600)
            started.append(srv)
            time.sleep(2.0)
            report["load"][name] = {"load_s": t, "mem": bench.memory(srv.pids()),
                                    "parts": rss_parts(srv.pids())}
            log("%s: answering (signed) after %.1f s, VmRSS %.1f MiB" %
                (name, t, report["load"][name]["mem"]["rss"] / 1024.0))
        # Interleaved: each run measures every case once, the order rotated by run.
        for r in range(a.runs):
            order = cases[r % len(cases):] + cases[:r % len(cases)]
            for label, sname, mix, do in order:
                srv = servers[sname]
                qf = files["missing-%d" % r] if mix == "missing" else files[mix]
                args = bench.dnsperf_args(srv.port, qf, 8) + ["-l", str(a.seconds), "-Q",
                                                              str(a.rate)]
                if do:
                    args.append("-D")
                st = bench.dnsperf_cpu(srv.pids(), args, cli_cpus, False,
                                       os.path.join(work, "dnsperf.out"))
                st.pop("raw", None)
                report["cases"].setdefault(label, []).append(st)
                log("run %d %-40s %6.2f us/q, %.0f q/s, lost %d, %d B, rcodes %s" %
                    (r + 1, label, st["cpu_us_per_q"] or -1, st.get("qps", 0),
                     st.get("lost", 0), st.get("resp_size", 0), st.get("rcodes")))
        if a.gen:
            for r in range(a.update_runs):
                for sname in (("np-unsigned", "np-signed") if r % 2 == 0
                              else ("np-signed", "np-unsigned")):
                    srv = servers[sname]
                    pids = srv.pids()
                    c0 = bench.cpu_ticks(pids)
                    cmd = [a.gen, "--server", "127.0.0.1:%d" % srv.port, "--key",
                           "hmac-sha256:%s:%s" % key, "--zone", ZONE, "--label",
                           "%s-%d" % (sname, r), "--outstanding", str(a.outstanding),
                           "--seconds", str(a.update_seconds), "--hosts", str(a.hosts),
                           "--seed", str(100 + r)]
                    res = json.loads(subprocess.run(
                        cmd, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, check=True,
                        timeout=a.update_seconds + 120).stdout)
                    cpu = bench.cpu_ticks(pids) - c0
                    res["server_cpu_us_per_update"] = (cpu * 1e6 / res["acked"]
                                                       if res["acked"] else None)
                    report["updates"].setdefault(sname, []).append(res)
                    log("updates %s run %d: %.0f acked/s, %.0f us CPU/update, verify %s" %
                        (sname, r + 1, res["acked_per_s"], res["server_cpu_us_per_update"] or -1,
                         res.get("verify")))
                    time.sleep(1.0)
    finally:
        for srv in started:
            srv.stop()

    lines = ["DNSSEC, 1 worker each (server on CPU %s, dnsperf on CPU %s), %d q/s for %d s, "
             "median of %d runs, RRL off" % (",".join(map(str, srv_cpus or [])),
                                             ",".join(map(str, cli_cpus or [])), a.rate,
                                             a.seconds, a.runs)]
    hdr = "%-40s %10s %9s %8s %7s %6s" % ("case", "CPU us/q", "vs Knot", "q/s", "resp B",
                                           "lost")
    lines += [hdr, "-" * len(hdr)]
    med = {}
    for label, *_ in cases:
        runs = report["cases"].get(label, [])
        med[label] = bench.median([x.get("cpu_us_per_q") for x in runs])
    for label, sname, mix, do in cases:
        runs = report["cases"].get(label, [])
        knot = med.get("Knot signed, %s, DO" % ("existing" if mix == "existing" else "missing"))
        v = med[label]
        lines.append("%-40s %10s %9s %8s %7s %6d" % (
            label, "%.2f" % v if v is not None else "n/a",
            "%.2f" % (v / knot) if v is not None and knot else "",
            "%.0f" % (bench.median([x.get("qps") for x in runs]) or 0),
            "%.0f" % (bench.median([x.get("resp_size") for x in runs]) or 0),
            sum(x.get("lost", 0) for x in runs)))
    lines.append("")
    lines.append("%-40s %10s %10s %10s %12s" % ("after load", "VmRSS MiB", "anon MiB",
                                                "file MiB", "to signed s"))
    for name, v in report["load"].items():
        lines.append("%-40s %10.1f %10.1f %10.1f %12.1f" % (
            name, v["mem"]["rss"] / 1024.0, v["parts"]["anon"] / 1024.0,
            v["parts"]["file"] / 1024.0, v["load_s"]))
    if report["updates"]:
        lines.append("")
        lines.append("RFC 2136 UPDATE, %d outstanding, %d s x %d runs (median)" %
                     (a.outstanding, a.update_seconds, a.update_runs))
        for sname, runs in report["updates"].items():
            lines.append("%-40s %8.0f acked/s %8.0f us CPU/update" % (
                sname, bench.median([x["acked_per_s"] for x in runs]) or 0,
                bench.median([x["server_cpu_us_per_update"] for x in runs]) or 0))
    text = "\n".join(lines) + "\n"
    os.makedirs(a.out, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for fn, body in (("dnssec-summary.txt", text), ("dnssec-summary-%s.txt" % stamp, text),
                     ("dnssec-results.json", json.dumps(report, indent=1, default=str))):
        with open(os.path.join(a.out, fn), "w") as f:
            f.write(body)
    print(text, end="")


if __name__ == "__main__":
    main()

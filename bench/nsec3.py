#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What the NSEC3 chain of a signed zone costs (docs/dnssec.md), not run in CI:

    /usr/bin/python3 bench/nsec3.py BUILD [BASE_BUILD] [--hosts 100000] [--runs 3]

A signed zone of --hosts names (bench/genzone.py, `nameplatectl zone import`), served by
nameplated from BUILD, and when given from BASE_BUILD (a build without the chain, for the
difference), runs interleaved, on 127.0.0.1 only. Per run: the time the start's build of
the zone took (its log line), resident memory after it (VmRSS) and at its peak (VmHWM);
then --per updates of each kind, interleaved, timed from the dyndns2 request to its
answer (the answer waits for the publication): a new name's first address (it joins the
chain: its NSEC3 and its predecessor's are signed), an address change (the chain stays as
it is), a host going offline (it leaves the chain: its predecessor's NSEC3 is signed, and
one pass over the zone finds whether a name below it still has data); then one AXFR (kdig)
and the memory peak after it. Medians over runs and updates."""
import argparse
import base64
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402

ZONE = "dyn.example"


def write_conf(path, datadir, port, http_port):
    with open(path, "w") as f:
        f.write("""[server]
data_dir = {d}
log_level = info

[dns]
listen = 127.0.0.1@{port}
workers = 1

[http]
listen = 127.0.0.1:{hp}

{abuse}
[zone {zone}]
ns = ns1.{zone}
contact = hostmaster.{zone}
ttl = 60
dnssec = on
allow_transfer = 127.0.0.1
""".format(d=datadir, port=port, hp=http_port, zone=ZONE, abuse=bench.ABUSE_OFF))


def template(build, out, hosts, per):
    """A store with the zone and the hosts the updates use, made once."""
    tdir = os.path.join(out, "template-%d" % hosts)
    meta = os.path.join(tdir, "hosts.json")
    if os.path.exists(meta):
        with open(meta) as f:
            return tdir, json.load(f)
    data = os.path.join(out, "data-%d" % hosts)
    if not os.path.exists(os.path.join(data, "hosts.zone")):
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "genzone.py"), "--hosts",
                        str(hosts), "--queries", "10", data], check=True)
    shutil.rmtree(tdir, ignore_errors=True)
    os.makedirs(tdir)
    conf = os.path.join(tdir, "nameplate.conf")
    write_conf(conf, os.path.join(tdir, "var"), 53, 8053)
    bench.import_hosts(build, conf, os.path.join(data, "hosts.zone"))
    secrets = {}
    for kind in ("join", "change", "offline"):
        for i in range(per):
            name = "%s%d.%s" % (kind, i, ZONE)
            out_text = bench.nameplatectl(build, conf, "host", "add", name, "--user", "bench")
            secrets[name] = out_text.strip().splitlines()[-1]
            if kind != "join":
                bench.nameplatectl(build, conf, "host", "set", name, "A",
                                   "192.0.2.%d" % (i % 250 + 1))
    with open(meta, "w") as f:
        json.dump(secrets, f)
    return tdir, secrets


def status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) // 1024  # MiB
    return out


def update(http_port, name, secret, params):
    q = "&".join("%s=%s" % kv for kv in [("hostname", name)] + list(params.items()))
    req = urllib.request.Request("http://127.0.0.1:%d/nic/update?%s" % (http_port, q))
    req.add_header("Authorization", "Basic " + base64.b64encode(
        ("bench:%s" % secret).encode()).decode())
    req.add_header("User-Agent", bench.UA)
    t0 = time.monotonic()
    with urllib.request.urlopen(req, timeout=30) as r:
        body = r.read().decode()
    took = time.monotonic() - t0
    if not body.startswith("good"):
        raise RuntimeError("%s: %s" % (name, body))
    return took * 1000


def one_run(build, tdir, secrets, work, per):
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(os.path.join(tdir, "var"), os.path.join(work, "var"))
    port, http_port = bench.free_port(), bench.free_port()
    conf = os.path.join(work, "nameplate.conf")
    write_conf(conf, os.path.join(work, "var"), port, http_port)
    logf = open(os.path.join(work, "nameplated.log"), "w")
    p = subprocess.Popen([os.path.join(build, "nameplated"), "-c", conf, "-f"],
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    res = {}
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with open(logf.name) as f:
                text = f.read()
            if "start: zones=" in text:
                break
            if p.poll() is not None:
                raise RuntimeError("nameplated exited:\n" + text[-2000:])
            time.sleep(0.1)
        m = re.search(r"loaded 1 zones, (\d+) names in (\d+) ms", text)
        res["names"], res["build_ms"] = int(m.group(1)), int(m.group(2))
        time.sleep(1)
        res.update(status(p.pid))
        times = {"join": [], "change": [], "offline": []}
        for i in range(per):
            times["join"].append(update(http_port, "join%d.%s" % (i, ZONE),
                                        secrets["join%d.%s" % (i, ZONE)],
                                        {"myip": "198.51.100.%d" % (i % 250 + 1)}))
            times["change"].append(update(http_port, "change%d.%s" % (i, ZONE),
                                          secrets["change%d.%s" % (i, ZONE)],
                                          {"myip": "198.51.100.%d" % (i % 250 + 1)}))
            times["offline"].append(update(http_port, "offline%d.%s" % (i, ZONE),
                                           secrets["offline%d.%s" % (i, ZONE)],
                                           {"offline": "YES"}))
        res.update({k: statistics.median(v) for k, v in times.items()})
        t0 = time.monotonic()
        r = subprocess.run(["kdig", "-p", str(port), "@127.0.0.1", "AXFR", ZONE, "+nostats"],
                           capture_output=True, text=True, timeout=600)
        res["axfr_s"] = time.monotonic() - t0
        res["axfr_records"] = sum(1 for ln in r.stdout.splitlines()
                                  if ln and not ln.startswith(";"))
        res["axfr_nsec3"] = sum(1 for ln in r.stdout.splitlines() if "\tNSEC3\t" in ln)
        res["VmHWM_after_axfr"] = status(p.pid)["VmHWM"]
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        logf.close()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("base", nargs="?")
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--per", type=int, default=20, help="updates of each kind per run")
    args = ap.parse_args()
    out = os.path.join(HERE, "out", "nsec3")
    os.makedirs(out, exist_ok=True)
    tdir, secrets = template(args.build, out, args.hosts, args.per)
    builds = [("chain", args.build)] + ([("base", args.base)] if args.base else [])
    results = {label: [] for label, _ in builds}
    for r in range(args.runs):
        for label, build in (builds if r % 2 == 0 else builds[::-1]):
            res = one_run(build, tdir, secrets, os.path.join(out, "work-" + label), args.per)
            bench.log("run %d %s: %s" % (r + 1, label, json.dumps(res)))
            results[label].append(res)
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
    keys = ["names", "build_ms", "VmRSS", "VmHWM", "join", "change", "offline", "axfr_s",
            "axfr_records", "axfr_nsec3", "VmHWM_after_axfr"]
    bench.print_medians(results, keys, 18, 14, "%14.2f")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""What a rebuild of a big signed zone costs the writer (docs/dnssec.md), not run in CI:

    /usr/bin/python3 bench/rebuild.py BUILD [BASE_BUILD] [--hosts 100000] [--runs 3]

bench/nsec3.py's store (--hosts names in a signed zone, made once), served by nameplated from
BUILD and, when given, BASE_BUILD, runs interleaved, on 127.0.0.1 only. Per run, while one
client sends dyndns2 updates back to back (each waits for its answer, so each measures how
long the writer kept it): `nameplatectl user add` (nothing of the zone changes), then
`nameplatectl host set` of one host. For each: the rebuild's time (its log line) and the
longest update latency from a second before the command to 2 s after the rebuild.
Medians over runs.

With --zsk, each run is a ZSK roll's step that makes the new key sign instead (soa_ttl 5 and
dnssec_zsk_lifetime 40, so the next ZSK is published about 30 s after the keys are made and
signs 10 s later, apart from the rebuild that published it): the longest update latency
from 3 s before that step until the zone is signed with the new key (whole, or the last
slice), and how long that took."""
import argparse
import contextlib
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench  # noqa: E402
import nsec3  # noqa: E402

ZONE = nsec3.ZONE


class Updater(threading.Thread):
    """dyndns2 updates back to back, alternating addresses; (start, latency ms) each."""

    def __init__(self, http_port, name, secret):
        super().__init__(daemon=True)
        self.args = (http_port, name, secret)
        self.done = threading.Event()
        self.times = []

    def run(self):
        i = 0
        deadline = time.monotonic() + 600
        while not self.done.is_set() and time.monotonic() < deadline:
            t0 = time.monotonic()
            ms = nsec3.update(*self.args, {"myip": "198.51.100.%d" % (i % 250 + 1)})
            self.times.append((t0, ms))
            i += 1


def rebuild(build, conf, logname, upd, *args):
    """Runs nameplatectl args during the updates; the rebuild's ms, and the longest update
    latency around it."""
    with open(logname) as f:
        before = f.read().count("loaded 1 zones")
    t0 = time.monotonic()
    bench.nameplatectl(build, conf, *args)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with open(logname) as f:
            text = f.read()
        if text.count("loaded 1 zones") > before:
            break
        time.sleep(0.05)
    ms = int(re.findall(r"loaded 1 zones, \d+ names in (\d+) ms", text)[-1])
    time.sleep(2)
    t1 = time.monotonic()
    lat = [m for t, m in upd.times if t0 - 1 <= t <= t1] or [0]
    return ms, max(lat)


@contextlib.contextmanager
def serving(build, tdir, secrets, work, extra_conf=""):
    """nameplated from build on a fresh copy of the template's store, answering; yields
    (conf, logname, updater), the updater not started yet. Stops both after."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(os.path.join(tdir, "var"), os.path.join(work, "var"))
    port, http_port = bench.free_port(), bench.free_port()
    conf = os.path.join(work, "nameplate.conf")
    nsec3.write_conf(conf, os.path.join(work, "var"), port, http_port)
    with open(conf, "a") as f:
        f.write(extra_conf)
    logname = os.path.join(work, "nameplated.log")
    logf = open(logname, "w")
    p = subprocess.Popen([os.path.join(build, "nameplated"), "-c", conf, "-f"],
                         stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    upd = None
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            with open(logname) as f:
                if "start: zones=" in f.read():
                    break
            if p.poll() is not None:
                raise RuntimeError("nameplated exited")
            time.sleep(0.1)
        upd = Updater(http_port, "change0." + ZONE, secrets["change0." + ZONE])
        yield conf, logname, upd
    finally:
        if upd is not None and upd.is_alive():
            upd.done.set()
            upd.join(60)
        p.send_signal(signal.SIGTERM)
        p.wait(60)
        logf.close()


def one_run(build, tdir, secrets, work):
    res = {}
    with serving(build, tdir, secrets, work) as (conf, logname, upd):
        time.sleep(1)
        upd.start()
        time.sleep(1)
        quiet = [m for _, m in upd.times]
        res["update_ms_quiet_median"] = statistics.median(quiet)
        res["update_ms_quiet_max"] = max(quiet)
        res["user_add_ms"], res["user_add_worst_update_ms"] = rebuild(
            build, conf, logname, upd, "user", "add", "other%d" % os.getpid())
        res["host_set_ms"], res["host_set_worst_update_ms"] = rebuild(
            build, conf, logname, upd, "host", "set", "change1." + ZONE, "A",
            "203.0.113.%d" % (os.getpid() % 250 + 1))
    return res


def stamp(line):
    """The log line's time (its ISO 8601 prefix) in seconds."""
    return datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def zsk_run(build, tdir, secrets, work):
    """A ZSK activation under dyndns2 updates: the longest update latency around it, and
    the seconds from the step to the zone signed with the new key."""
    extra = "soa_ttl = 5\ndnssec_zsk_lifetime = 40\n"
    with serving(build, tdir, secrets, work, extra) as (conf, logname, upd):
        upd.start()
        t_act = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            lines = open(logname).read().splitlines()
            act = [i for i, ln in enumerate(lines) if "signs now" in ln]
            if act and t_act is None:
                t_act = time.monotonic()
            if act:
                after = lines[act[0]:]
                sliced = any("re-signing the zone in slices" in ln for ln in after)
                end = [ln for ln in after if ("re-signed in " in ln if sliced
                                              else "loaded 1 zones" in ln)]
                if end:
                    took = stamp(end[0]) - stamp(lines[act[0]])
                    break
            time.sleep(0.05)
        else:
            raise RuntimeError("no ZSK activation seen")
        time.sleep(2)
        t1 = time.monotonic()
        lat = [m for t, m in upd.times if t_act - 3 <= t <= t1] or [0]
        quiet = [m for t, m in upd.times if t < t_act - 3] or [0]
        return {"update_ms_quiet_median": statistics.median(quiet),
                "zsk_signing_s": round(took, 2), "zsk_worst_update_ms": max(lat),
                "zsk_updates": len(lat)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("build")
    ap.add_argument("base", nargs="?")
    ap.add_argument("--hosts", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--zsk", action="store_true",
                    help="measure a ZSK activation instead of the rebuilds")
    args = ap.parse_args()
    out = os.path.join(HERE, "out", "nsec3")
    os.makedirs(out, exist_ok=True)
    tdir, secrets = nsec3.template(args.build, out, args.hosts, 20)
    builds = [("build", args.build)] + ([("base", args.base)] if args.base else [])
    results = {label: [] for label, _ in builds}
    for r in range(args.runs):
        for label, build in (builds if r % 2 == 0 else builds[::-1]):
            run = zsk_run if args.zsk else one_run
            res = run(build, tdir, secrets, os.path.join(out, "rebuild-" + label))
            bench.log("run %d %s: %s" % (r + 1, label, json.dumps(res)))
            results[label].append(res)
    keys = ["update_ms_quiet_median", "update_ms_quiet_max", "user_add_ms",
            "user_add_worst_update_ms", "host_set_ms", "host_set_worst_update_ms"]
    if args.zsk:
        keys = ["update_ms_quiet_median", "zsk_signing_s", "zsk_worst_update_ms",
                "zsk_updates"]
    bench.print_medians(results, keys, 26, 12, "%12.1f")


if __name__ == "__main__":
    main()

#!/bin/sh
# SPDX-License-Identifier: MIT
# Abuse checks benchmark (bench/README.md, "Abuse checks"): the durable dyndns2 update rate
# of one build with the abuse checks on and off, alternating in the same run, medians of
# RUNS runs; then bench/abuse_bench.c (budget and flux scoring cost per update, memory per
# tracked name, at 1,000,000 names).
#
#   sh bench/abuse.sh [--build DIR] [--seconds N] [--runs N] [--threads N] [--conns N]
#                     [--hosts N] [--no-micro]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=build seconds=10 runs=5 threads=2 conns=32 hosts=100000 micro=1
py=/usr/bin/python3

usage() {
	sed -n '3,9p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}
while [ $# -gt 0 ]; do
	case $1 in
	--build) build=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--conns) conns=$2; shift 2 ;;
	--hosts) hosts=$2; shift 2 ;;
	--no-micro) micro=0; shift ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done
for n in "$seconds" "$runs" "$threads" "$conns" "$hosts"; do
	case $n in '' | *[!0-9]*) echo "abuse.sh: not a number: '$n'" >&2; exit 2 ;; esac
done
[ "$hosts" -ge 2 ] || { echo "abuse.sh: --hosts must be at least 2" >&2; exit 2; }
command -v wrk >/dev/null || { echo "abuse.sh: needs wrk (scripts/deps.sh)" >&2; exit 2; }
case $build in /*) ;; *) build=$top/$build ;; esac
for b in nameplated nameplatectl; do
	[ -x "$build/$b" ] || { echo "abuse.sh: no $build/$b (make all first)" >&2; exit 2; }
done

out=$top/bench/out
work=$out/abuse-work
rm -rf "$work"
mkdir -p "$work/bin" "$out"
log() { echo "[abuse] $*" >&2; }

pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	pids=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# One binary for both: only the [abuse] section differs. Private copies: a rebuild during
# the run does not mix binaries.
cp "$build/nameplated" "$build/nameplatectl" "$work/bin/"

log "generating $hosts hosts and an ip2asn table of 500,000 ranges"
"$py" "$here/genzone.py" "$work/data" --hosts "$hosts" --queries 1 >/dev/null
# iptoasn.com's TSV form: 10.0.0.0 on, each /24 a range of one of 1000 ASes (the addresses
# the updates send lie in 10.128.0.0/9).
"$py" - "$work/ip2asn.tsv" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(500000):
        a, b, c = 10 + i // 65536, (i // 256) % 256, i % 256
        f.write("%d.%d.%d.0\t%d.%d.%d.255\t%d\tZZ\tAS-%d\n"
                % (a, b, c, a, b, c, 64512 + (a * 256 + b) % 1000, (a * 256 + b) % 1000))
EOF

free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ctl() { # ctl SERVER ARGS...
	s=$1
	shift
	"$work/bin/nameplatectl" -c "$work/$s/nameplate.conf" "$@"
}

# off: every budget and threshold 0, which switches them off (no key is hashed, no score
# computed). on: the defaults, but without the token's limits: every update of the bench
# comes from one token, which would spend any token budget within a run (a real token
# updates a household's names). Its key is still made, looked up and counted with the
# host's and the source's in every update (budget_take takes all three whatever their
# limits), so its cost is in the figures. The host and source budgets stay at their
# defaults (each update is another host from another address, as in the field), and the
# flux score is computed for every update against the ip2asn table.
abuse_conf() {
	case $1 in
	off) cat <<EOF
[abuse]
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
EOF
	;;
	on) cat <<EOF
[abuse]
token_per_window = 0
token_per_day = 0
asn_db = $work/ip2asn.tsv
EOF
	;;
	esac
}

setup_server() {
	s=$1
	mkdir -p "$work/$s/data"
	port=$(free_port)
	hp=$(free_port)
	echo "$hp" >"$work/$s/http_port"
	cat >"$work/$s/nameplate.conf" <<EOF
[server]
data_dir = $work/$s/data
log_level = warning

[dns]
listen = 127.0.0.1@$port
workers = 1

$(abuse_conf "$s")

[http]
listen = 127.0.0.1:$hp
max_connections = 256
per_ip_connections = 256
per_net_connections = 256
threads = 2
trusted_proxies = 127.0.0.1/32

[zone dyn.example]
ns = ns1.dyn.example
contact = hostmaster.dyn.example
ttl = 60
EOF
	ctl "$s" init >/dev/null
	ctl "$s" user add bench >/dev/null
	ctl "$s" zone import "$work/data/hosts.zone" --user bench >/dev/null
	ctl "$s" token add bench --name bench | tail -n 1 >"$work/$s/secret"
	[ -s "$work/$s/secret" ] || { echo "abuse.sh: $s: no token" >&2; exit 1; }
}

start_server() {
	s=$1
	"$work/bin/nameplated" -c "$work/$s/nameplate.conf" -f >"$work/$s/server.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	echo "$pid" >"$work/$s/pid"
	"$py" - "$(cat "$work/$s/http_port")" "$pid" <<'EOF' || { echo "abuse.sh: $s did not start: $work/$s/server.log" >&2; exit 1; }
import os, socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])
end = time.monotonic() + 120
while time.monotonic() < end:
    if not os.path.exists("/proc/%d" % pid):
        sys.exit(1)
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

cpu_ticks() { # utime+stime of all the server's threads (stat fields 14 and 15)
	sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'
}

results=$work/results.tsv
: >"$results"
run_update() { # SERVER RUN
	s=$1 run=$2
	pid=$(cat "$work/$s/pid")
	auth="Basic $(printf '%s' "bench:$(cat "$work/$s/secret")" | base64 -w0)"
	c0=$(cpu_ticks "$pid")
	# Each run walks its own share of the hosts: a host is not updated a third time in
	# two minutes (its budget), as no home line is.
	NP_MODE=update NP_AUTH=$auth NP_EXPECT="200 good" NP_HOSTS=$hosts NP_RUN=$run \
	NP_OFFSET=$(( (run - 1) * hosts / runs )) \
	NP_THREADS=$threads \
		timeout $((seconds + 60)) wrk -t"$threads" -c"$conns" -d"${seconds}s" --timeout 10s \
		-s "$here/auth.lua" "http://127.0.0.1:$(cat "$work/$s/http_port")" \
		>"$work/wrk.out" 2>&1 || true
	c1=$(cpu_ticks "$pid")
	cat "$work/wrk.out" >>"$work/$s/wrk.log"
	res=$(grep '^RESULT ' "$work/wrk.out" || echo "RESULT requests=0 answered=0 duration_us=1")
	check=$(grep '^CHECK ' "$work/wrk.out" | sed 's/^CHECK //' || true)
	# Only the updates that went through count: a refused one costs the server little.
	answered=$(grep '^CODE 200 good ' "$work/wrk.out" | awk '{print $4}')
	answered=${answered:-0}
	dur=$(echo "$res" | sed 's/.*duration_us=\([0-9]*\).*/\1/')
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$run" "$answered" "$dur" "$((c1 - c0))" \
		"${check:-FAIL no output}" >>"$results"
	log "$s run $run: $(echo "$answered $dur" | awk '{printf "%.0f good/s", $1 / ($2 / 1e6)}'), $check"
}

for s in off on; do
	setup_server "$s"
	start_server "$s"
done
round=1
while [ "$round" -le "$runs" ]; do
	# Alternate which goes first, so neither always follows the other.
	order="off on"
	[ $((round % 2)) -eq 0 ] && order="on off"
	for s in $order; do
		run_update "$s" "$round"
	done
	round=$((round + 1))
done
# The on server judged every update and refused none: its scores are there, all ok.
scored=$("$py" - "$work/on/data/nameplate.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT COUNT(*) FROM abuse_hosts WHERE scored > 0").fetchone()[0],
      db.execute("SELECT COUNT(*) FROM hosts WHERE abuse_state != 0").fetchone()[0])
EOF
)
cleanup

"$py" - "$results" "$out" "$hosts" "$seconds" "$threads" "$conns" "$(getconf CLK_TCK)" \
	"$scored" <<'EOF'
import json, statistics, sys, time
path, out, hosts, secs, threads, conns, tck, scored = sys.argv[1:9]
tck = int(tck)
rows = []
for line in open(path):
    s, run, answered, dur, ticks, check = line.rstrip("\n").split("\t")
    answered, dur, ticks = int(answered), int(dur), int(ticks)
    rows.append({"abuse": s, "run": int(run), "answered": answered, "seconds": dur / 1e6,
                 "good_per_s": answered / (dur / 1e6) if dur else 0,
                 "server_cpu_us_per_update": ticks / tck * 1e6 / answered if answered else None,
                 "check": check})
med = {}
for s in ("off", "on"):
    rs = [r for r in rows if r["abuse"] == s]
    med[s] = {"good_per_s": statistics.median(r["good_per_s"] for r in rs),
              "server_cpu_us_per_update": statistics.median(
                  r["server_cpu_us_per_update"] for r in rs if r["server_cpu_us_per_update"]),
              "runs": [round(r["good_per_s"]) for r in rs]}
slower = 1 - med["on"]["good_per_s"] / med["off"]["good_per_s"]
n_scored, n_flagged = scored.split()
lines = ["Durable dyndns2 updates (200 good, each a new address of another of %s hosts from "
         "another source), one build, the abuse checks off and on alternating; wrk -t%s -c%s, "
         "%s s per run, medians of %d runs" % (hosts, threads, conns, secs, len(rows) // 2),
         "%-5s %10s %14s  %s" % ("abuse", "good/s", "CPU us/update", "runs (good/s)")]
for s in ("off", "on"):
    m = med[s]
    lines.append("%-5s %10.0f %14.1f  %s" % (s, m["good_per_s"], m["server_cpu_us_per_update"],
                                           " ".join(str(x) for x in m["runs"])))
lines.append("with the checks: %.1f%% %s (goal: under 5%% slower); on: %s hosts scored, %s "
             "not ok" % (abs(slower) * 100, "slower" if slower > 0 else "faster", n_scored,
                         n_flagged))
ok = all(r["check"].startswith("ok") for r in rows)
if not ok:
    lines.append("CHECK FAILED: " + "; ".join("%s run %d: %s" % (r["abuse"], r["run"], r["check"])
                                               for r in rows if not r["check"].startswith("ok")))
text = "\n".join(lines) + "\n"
stamp = time.strftime("%Y%m%d-%H%M%S")
report = {"hosts": int(hosts), "seconds": int(secs), "medians": med, "slower": slower,
          "runs": rows}
for name, body in (("abuse-summary.txt", text), ("abuse-results.json", json.dumps(report, indent=1)),
                   ("abuse-results-%s.json" % stamp, json.dumps(report, indent=1))):
    with open("%s/%s" % (out, name), "w") as fh:
        fh.write(body)
print(text, end="")
sys.exit(0 if ok else 1)
EOF

if [ "$micro" = 1 ]; then
	log "bench/abuse_bench.c: budgets and flux scoring at 1,000,000 names"
	mkdir -p "$build/bench"
	cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$top/src" \
		-o "$build/bench/abuse_bench" "$here/abuse_bench.c" "$build/libabuse.a" \
		"$build/libstore.a" "$build/libzone.a" "$build/libdns.a" "$build/libcommon.a" \
		-lsqlite3 -lsodium -linih -ljansson -lpthread
	"$build/bench/abuse_bench" | tee "$out/abuse-micro.txt"
fi

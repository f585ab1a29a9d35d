#!/bin/sh
# SPDX-License-Identifier: MIT
# Authentication benchmark (bench/README.md, "Authentication"): requests/s and server CPU per
# request of token authentication on dyndns2 and the REST API with an account of 100,000
# hosts, and the durable update rate, against the current build and the previous release
# (built from PREV in a temporary git worktree), alternating, medians of RUNS runs.
#
#   sh bench/auth.sh [--build DIR] [--seconds N] [--runs N] [--threads N] [--conns N]
#                    [--hosts N] [--prev COMMIT | --no-prev] [--prev-dir DIR]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=build seconds=10 runs=3 threads=2 conns=32 hosts=100000
prev=edfb732 prev_dir=/tmp/np-prev
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
	--prev) prev=$2; shift 2 ;;
	--no-prev) prev=; shift ;;
	--prev-dir) prev_dir=$2; shift 2 ;;
	-h | --help) usage 0 ;;
	*) usage ;;
	esac
done
for n in "$seconds" "$runs" "$threads" "$conns" "$hosts"; do
	case $n in '' | *[!0-9]*) echo "auth.sh: not a number: '$n'" >&2; exit 2 ;; esac
done
[ "$hosts" -ge 2 ] || { echo "auth.sh: --hosts must be at least 2" >&2; exit 2; }
command -v wrk >/dev/null || { echo "auth.sh: needs wrk (scripts/deps.sh)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "auth.sh: needs sqlite3 (scripts/deps.sh)" >&2; exit 2; }
case $build in /*) ;; *) build=$top/$build ;; esac
for b in nameplated nameplatectl; do
	[ -x "$build/$b" ] || { echo "auth.sh: no $build/$b (make all first)" >&2; exit 2; }
done

out=$top/bench/out
work=$out/auth-work
rm -rf "$work"
mkdir -p "$work/cur/bin" "$out"
log() { echo "[auth] $*" >&2; }

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

# The previous release, built once in its own worktree (reused while it is at PREV).
if [ -n "$prev" ]; then
	want=$(git -C "$top" rev-parse --verify "$prev^{commit}")
	if [ ! -d "$prev_dir" ]; then
		log "git worktree add $prev_dir $prev"
		git -C "$top" worktree add --detach "$prev_dir" "$want" >&2
	fi
	have=$(git -C "$prev_dir" rev-parse HEAD)
	[ "$have" = "$want" ] || { echo "auth.sh: $prev_dir is at $have, not $prev" >&2; exit 2; }
	log "building $prev in $prev_dir"
	make -C "$prev_dir" -j2 build/nameplated build/nameplatectl >"$work/prev-build.log" 2>&1 ||
		{ echo "auth.sh: building $prev failed: $work/prev-build.log" >&2; exit 1; }
	mkdir -p "$work/prev/bin"
	cp "$prev_dir/build/nameplated" "$prev_dir/build/nameplatectl" "$work/prev/bin/"
	servers="cur prev"
else
	servers="cur"
fi
# Private copies: a rebuild during the run does not mix binaries.
cp "$build/nameplated" "$build/nameplatectl" "$work/cur/bin/"

log "generating $hosts hosts"
"$py" "$here/genzone.py" "$work/data" --hosts "$hosts" --queries 1 >/dev/null

free_port() {
	"$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

ctl() { # ctl SERVER ARGS...
	s=$1
	shift
	"$work/$s/bin/nameplatectl" -c "$work/$s/nameplate.conf" "$@"
}

# A store with the bench account and its hosts, and the server's config.
setup_server() {
	s=$1
	port=$(free_port)
	hp=$(free_port)
	echo "$hp" >"$work/$s/http_port"
	mkdir -p "$work/$s/data"
	cat >"$work/$s/nameplate.conf" <<EOF
[server]
data_dir = $work/$s/data
log_level = warning

[dns]
listen = 127.0.0.1@$port
workers = 1

# The abuse checks off, as in bench.py: the load comes from one address.
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
	# A release from before the abuse checks knows no [abuse]: without it, it has none.
	if ! ctl "$s" check-config >/dev/null 2>&1; then
		sed -i '/^# The abuse checks off/,/^shared_accounts = 0$/d' "$work/$s/nameplate.conf"
	fi
	ctl "$s" init >/dev/null
	ctl "$s" user add bench >/dev/null
	t0=$(date +%s.%N)
	ctl "$s" zone import "$work/data/hosts.zone" --user bench >/dev/null
	log "$s: zone import of $hosts hosts: $(echo "$t0 $(date +%s.%N)" | awk '{printf "%.1f", $2 - $1}') s"
	# The host's secret: a host token now, the host's own secret in the previous release.
	ctl "$s" host secret h1.dyn.example | tail -n 1 >"$work/$s/host_secret"
	if [ "$s" = cur ]; then
		ctl "$s" token add bench --name bench | tail -n 1 >"$work/$s/account_secret"
	else
		# There the account name with a host's secret proves the account, and an update
		# of a host needs that host's own secret: every host gets h1's (its hash, copied),
		# so one secret updates them all, and a wrong one is compared with all 100,000.
		sqlite3 "$work/$s/data/nameplate.db" "UPDATE hosts SET secret_hash =
		    (SELECT secret_hash FROM hosts WHERE fqdn = 'h1.dyn.example')
		    WHERE user_id = (SELECT id FROM users WHERE name = 'bench');"
		cp "$work/$s/host_secret" "$work/$s/account_secret"
	fi
	for f in host_secret account_secret; do
		[ -s "$work/$s/$f" ] || { echo "auth.sh: $s: no $f" >&2; exit 1; }
	done
}

start_server() {
	s=$1
	"$work/$s/bin/nameplated" -c "$work/$s/nameplate.conf" -f >"$work/$s/server.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	echo "$pid" >"$work/$s/pid"
	"$py" - "$(cat "$work/$s/http_port")" "$pid" <<'EOF' || { echo "auth.sh: $s did not start: $work/$s/server.log" >&2; exit 1; }
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

b64() { printf '%s' "$1" | base64 -w0; }

# A wrong secret of the same form as the right one.
wrong_like() {
	n=$(printf '%s' "$1" | wc -c)
	head -c 256 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c "$n"
}

# wrk_run SERVER LABEL MODE AUTH EXPECT [HOST] [RUN] [SECONDS]: one row of results.
results=$work/results.tsv
: >"$results"
wrk_run() {
	s=$1 label=$2 mode=$3 auth=$4 expect=$5 host=${6:-h1.dyn.example} run=${7:-0}
	secs=${8:-$seconds}
	pid=$(cat "$work/$s/pid")
	c0=$(cpu_ticks "$pid")
	NP_MODE=$mode NP_AUTH=$auth NP_EXPECT=$expect NP_HOST=$host NP_MYIP=10.0.0.1 \
	NP_HOSTS=$hosts NP_RUN=$run NP_THREADS=$threads \
		timeout $((secs + 60)) wrk -t"$threads" -c"$conns" -d"${secs}s" --timeout 10s \
		-s "$here/auth.lua" "http://127.0.0.1:$(cat "$work/$s/http_port")" \
		>"$work/wrk.out" 2>&1 || true
	c1=$(cpu_ticks "$pid")
	cat "$work/wrk.out" >>"$work/$s/wrk.log"
	res=$(grep '^RESULT ' "$work/wrk.out" || echo "RESULT requests=0 answered=0 duration_us=1")
	check=$(grep '^CHECK ' "$work/wrk.out" | sed 's/^CHECK //' || true)
	codes=$(grep '^CODE ' "$work/wrk.out" | sed 's/^CODE //' | tr '\n' ';' || true)
	answered=$(echo "$res" | sed 's/.*answered=\([0-9]*\).*/\1/')
	dur=$(echo "$res" | sed 's/.*duration_us=\([0-9]*\).*/\1/')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$label" "$run" "$answered" "$dur" \
		"$((c1 - c0))" "${check:-FAIL no output}" "$codes" >>"$results"
	log "$s $label run $run: $(echo "$answered $dur" | awk '{printf "%.0f/s", $1 / ($2 / 1e6)}'), $check"
}

for s in $servers; do
	mkdir -p "$work/$s"
	setup_server "$s"
	start_server "$s"
done

# Every request comes from another address of 10.0.0.0/14 (X-Forwarded-For). After 30
# failures a minute a credential (the user name, "" for the API) is under attack and
# accepts only networks (/24) it has succeeded from: one success from each of the 1024 /24s
# first, so the wrong-token rows measure the rejection, not that lock.
for s in $servers; do
	acct="Basic $(b64 "bench:$(cat "$work/$s/account_secret")")"
	wrk_run "$s" prime-dyndns2 prime "$acct" "200 nochg" h1.dyn.example 0 3
	if [ "$s" = cur ]; then
		wrk_run "$s" prime-api prime-api "Token $(cat "$work/$s/account_secret")" "200 json" \
			h1.dyn.example 0 3
	fi
done
# Each wrk thread walks its share of the /24s: enough answers reach every one.
awk -F '\t' -v need=$((1024 * threads)) '$4 < need {
	printf "[auth] WARNING: %s %s answered %d < %d: some /24s may stay unknown (429s)\n",
	       $1, $2, $4, need > "/dev/stderr" }' "$results"

scenarios="dyndns2-account dyndns2-host dyndns2-wrong api-ok api-host api-wrong update"
round=1
while [ "$round" -le "$runs" ]; do
	# Alternate which server goes first, so neither always follows the other.
	order=$servers
	[ $((round % 2)) -eq 0 ] && [ -n "$prev" ] && order="prev cur"
	for sc in $scenarios; do
		for s in $order; do
			acct=$(cat "$work/$s/account_secret")
			hsec=$(cat "$work/$s/host_secret")
			case $sc in
			dyndns2-account)
				wrk_run "$s" "$sc" nochg "Basic $(b64 "bench:$acct")" "200 nochg" \
					h1.dyn.example "$round" ;;
			dyndns2-host)
				wrk_run "$s" "$sc" nochg "Basic $(b64 "h1.dyn.example:$hsec")" "200 nochg" \
					h1.dyn.example "$round" ;;
			dyndns2-wrong)
				wrk_run "$s" "$sc" nochg "Basic $(b64 "bench:$(wrong_like "$acct")")" \
					"200 badauth" h1.dyn.example "$round" ;;
			api-ok)
				[ "$s" = cur ] || continue
				wrk_run "$s" "$sc" api "Token $acct" "200 json" h1.dyn.example "$round" ;;
			api-host)
				[ "$s" = cur ] || continue
				wrk_run "$s" "$sc" api-host "Token $acct" "200 json" h1.dyn.example "$round" ;;
			api-wrong)
				[ "$s" = cur ] || continue
				wrk_run "$s" "$sc" api "Token $(wrong_like "$acct")" "401 unauthorized" \
					h1.dyn.example "$round" ;;
			update)
				wrk_run "$s" "$sc" update "Basic $(b64 "bench:$acct")" "200 good" \
					h1.dyn.example "$round" ;;
			esac
		done
	done
	round=$((round + 1))
done
cleanup

"$py" - "$results" "$out" "$prev" "$hosts" "$seconds" "$threads" "$conns" "$(getconf CLK_TCK)" <<'EOF'
import json, statistics, sys, time
path, out, prev, hosts, secs, threads, conns, tck = sys.argv[1:9]
tck = int(tck)
rows = []
for line in open(path):
    s, label, run, answered, dur, ticks, check, codes = line.rstrip("\n").split("\t")
    answered, dur, ticks = int(answered), int(dur), int(ticks)
    rows.append({"server": s, "scenario": label, "run": int(run), "answered": answered,
                 "seconds": dur / 1e6, "req_per_s": answered / (dur / 1e6) if dur else 0,
                 "server_cpu_us_per_req": ticks / tck * 1e6 / answered if answered else None,
                 "server_cpu_s": ticks / tck, "check": check,
                 "codes": [c for c in codes.split(";") if c]})
what = {
    "dyndns2-account": "dyndns2 nochg, account token (prev: account + host secret)",
    "dyndns2-host": "dyndns2 nochg, host token as its host (prev: host secret)",
    "dyndns2-wrong": "dyndns2 wrong secret, user bench -> badauth",
    "api-ok": "GET /api/v1/account, right token -> 200 (counts the hosts)",
    "api-host": "GET /api/v1/hosts/h1.dyn.example, right token -> 200",
    "api-wrong": "GET /api/v1/account, wrong token -> 401",
    "update": "dyndns2 good, new address, durable commit",
}
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
summary = []
for sc in what:
    entry = {"scenario": sc, "what": what[sc]}
    for s in ("cur", "prev"):
        rs = [r for r in rows if r["server"] == s and r["scenario"] == sc]
        if not rs:
            continue
        entry[s] = {"req_per_s": med([r["req_per_s"] for r in rs]),
                    "server_cpu_us_per_req": med([r["server_cpu_us_per_req"] for r in rs]),
                    "runs": len(rs), "all_checks_ok": all(r["check"].startswith("ok") for r in rs)}
    summary.append(entry)
def f(v, fmt):
    return fmt % v if v is not None else "n/a"
hdr = "%-16s %11s %11s %11s %11s %8s  %s" % ("scenario", "cur req/s", "cur us/req",
                                              "prev req/s", "prev us/req", "cur/prev", "")
lines = ["Authentication, %s hosts in the account; wrk -t%s -c%s, %s s per run, medians of "
         "the runs; 'us/req' = server CPU (utime+stime) per answered request; 'cur/prev' = "
         "req/s ratio; prev = %s" % (hosts, threads, conns, secs, prev or "not run"),
         hdr, "-" * len(hdr)]
for e in summary:
    c, p = e.get("cur", {}), e.get("prev", {})
    ratio = (c["req_per_s"] / p["req_per_s"]) if c and p and p["req_per_s"] else None
    flag = "" if all(x.get("all_checks_ok", True) for x in (c, p)) else "  CHECK FAILED"
    lines.append("%-16s %11s %11s %11s %11s %8s  %s%s" % (
        e["scenario"], f(c.get("req_per_s"), "%.0f"), f(c.get("server_cpu_us_per_req"), "%.1f"),
        f(p.get("req_per_s"), "%.0f"), f(p.get("server_cpu_us_per_req"), "%.1f"),
        f(ratio, "%.2f"), e["what"], flag))
lines.append("")
lines.append("answers seen (status, first word) per run:")
for r in rows:
    lines.append("  %-5s %-16s run %d: %s" % (r["server"], r["scenario"], r["run"],
                                              ", ".join(r["codes"]) or r["check"]))
text = "\n".join(lines) + "\n"
report = {"hosts": int(hosts), "seconds": int(secs), "threads": int(threads),
          "connections": int(conns), "prev": prev, "summary": summary, "runs": rows}
stamp = time.strftime("%Y%m%d-%H%M%S")
for name, body in (("auth-summary.txt", text), ("auth-summary-%s.txt" % stamp, text),
                   ("auth-results.json", json.dumps(report, indent=1)),
                   ("auth-results-%s.json" % stamp, json.dumps(report, indent=1))):
    with open("%s/%s" % (out, name), "w") as fh:
        fh.write(body)
print(text, end="")
print("results: %s/auth-summary.txt, %s/auth-results.json" % (out, out))
bad = [r for r in rows if not r["check"].startswith("ok")]
sys.exit(1 if bad else 0)
EOF

#!/bin/sh
# SPDX-License-Identifier: MIT
# pcap import benchmark, not run in CI:
#   bench/import.sh [PACKETS [SOURCES [ZIPF_SOURCES]]]
#       defaults: 2000000 packets; 200000 uniform bot sources; 20000 Zipf sources
# Generates two darknet captures with bench/pcap_loop.c gen: the hard case (sources
# uniform: ~260k addresses, ~8 packets each) and a realistic one (sources Zipf-distributed:
# a few thousand heavy scanners send most packets, as in real darknet data). For each, with
# the page cache warm, median of 3: a bare libpcap read loop (pcap_loop read) against
# `nameplatectl import pcap` over the same file, and the ratio of their packet rates
# (goal: import >= 0.8 x the bare loop). Two import figures: the whole command (process
# start to exit, the durable commit included: what the issue compares) and the same
# minus the commit (fsync'd SQLite transaction), labelled as such.
# Then runs bench/observe.sh for verdict latency with 1,000,000 tracked addresses and
# bytes per address (NO_OBSERVE=1 skips it).
set -eu
cd "$(dirname "$0")/.."
PACKETS=${1:-2000000}
SOURCES=${2:-200000}
ZSOURCES=${3:-20000}
OUT=bench/out/import
mkdir -p "$OUT" build/bench
make -s build/nameplatectl
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -o build/bench/pcap_loop \
	bench/pcap_loop.c -lpcap -lm

now() { date +%s.%N; }
median3() { printf '%s\n%s\n%s\n' "$1" "$2" "$3" | sort -g | sed -n 2p; }

# run_case NAME FILE: prints the figures of one capture.
run_case() {
	name=$1
	pcap=$2
	ls -l "$pcap"
	cat "$pcap" > /dev/null   # warm the page cache
	bare=""
	for i in 1 2 3; do
		t=$(build/bench/pcap_loop read "$pcap" | awk '{print $5}')
		bare="$bare $t"
	done
	# shellcheck disable=SC2086
	bare_med=$(median3 $bare)
	imp=""
	nocommit=""
	for i in 1 2 3; do
		w="$OUT/$name-run$i"
		rm -rf "$w"
		mkdir -p "$w"
		cat > "$w/nameplate.conf" <<CONF
[server]
data_dir = $PWD/$w/var
[dns]
listen = 127.0.0.1@53535
[http]
listen = 127.0.0.1:8053
[zone bench.example]
ns = ns1.bench.example
contact = hostmaster.bench.example
CONF
		build/nameplatectl -c "$w/nameplate.conf" init > /dev/null
		t0=$(now)
		build/nameplatectl -c "$w/nameplate.conf" import pcap "$pcap" --json > "$w/summary.json"
		t1=$(now)
		t=$(echo "$t1 - $t0" | bc -l | awk '{printf "%.6f", $1}')
		c=$(grep -o '"commit":[0-9]*' "$w/summary.json" | cut -d: -f2)
		imp="$imp $t"
		nocommit="$nocommit $(echo "$t - $c / 1000" | bc -l | awk '{printf "%.6f", $1}')"
	done
	# shellcheck disable=SC2086
	imp_med=$(median3 $imp)
	# shellcheck disable=SC2086
	nc_med=$(median3 $nocommit)
	echo "[$name] summary of the last import: $(cat "$OUT/$name-run3/summary.json")"
	for i in 1 2 3; do
		echo "[$name] import run $i phases (ms): $(grep -o '"ms":{[^}]*}' "$OUT/$name-run$i/summary.json")"
	done
	echo "[$name] bare libpcap loop: runs$bare s; median $bare_med s = $(echo "$PACKETS / $bare_med" | bc) packets/s"
	echo "[$name] nameplatectl import, whole command: runs$imp s; median $imp_med s = $(echo "$PACKETS / $imp_med" | bc) packets/s"
	echo "[$name] nameplatectl import without the commit: runs$nocommit s; median $nc_med s"
	echo "[$name] import rate / bare loop rate: whole command $(echo "scale=3; $bare_med / $imp_med" | bc -l), without the commit $(echo "scale=3; $bare_med / $nc_med" | bc -l) (goal >= 0.8)"
}

# Packet times are in the two hours before generation: regenerate when older than 4 days so
# nothing falls out of the 7-day retention window while the bench runs.
UNIFORM="$OUT/dark-$PACKETS.pcap"
ZIPF="$OUT/zipf-$PACKETS-$ZSOURCES.pcap"
if [ ! -s "$UNIFORM" ] || [ -n "$(find "$UNIFORM" -mmin +5760)" ]; then
	echo "generating $UNIFORM ($PACKETS packets, $SOURCES uniform bot sources)"
	build/bench/pcap_loop gen "$UNIFORM" "$PACKETS" "$SOURCES"
fi
if [ ! -s "$ZIPF" ] || [ -n "$(find "$ZIPF" -mmin +5760)" ]; then
	echo "generating $ZIPF ($PACKETS packets, $ZSOURCES Zipf sources)"
	build/bench/pcap_loop gen "$ZIPF" "$PACKETS" "$ZSOURCES" zipf
fi
run_case uniform "$UNIFORM"
run_case zipf "$ZIPF"

if [ "${NO_OBSERVE:-0}" != 1 ]; then
	echo "--- index: verdict latency and memory with 1,000,000 addresses (bench/observe.sh)"
	sh bench/observe.sh 1000000
fi

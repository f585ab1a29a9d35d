#!/bin/sh
# Runs every libFuzzer target for a fixed time from its committed corpus, keeps the new
# inputs that add coverage, and reports each target. Called by `make fuzz-long`, which
# builds the targets first (make FUZZ=1 fuzz).
#
#   sh scripts/fuzz-long.sh BUILD_DIR [TARGET...]
#
# Environment: FUZZ_SECONDS (time per target, default 600), FUZZ_JOBS (targets run at
# once, default 1), FUZZ_RSS_MB (memory limit per target, default 2048), FUZZ_TIMEOUT
# (seconds one input may take, default 10).
#
# Each target fuzzes into a scratch directory, then `-merge=1` copies into
# tests/fuzz/corpus/<target>/ only the inputs that add coverage, so the committed corpus
# grows by what is new and not by everything libFuzzer tried. A crash, leak, timeout or
# out-of-memory input is saved under BUILD_DIR/findings/<target>/ and the script exits 1
# naming it; the libFuzzer output of each target is in BUILD_DIR/fuzz-long/<target>.log
# (the merge's in <target>.merge.log). Coverage is libFuzzer's edge count when the corpus
# was loaded and when the time ran out.
set -u

build=${1:?usage: fuzz-long.sh BUILD_DIR [TARGET...]}
shift
seconds=${FUZZ_SECONDS:-600}
jobs=${FUZZ_JOBS:-1}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
state=$build/fuzz-long

if [ $# -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		t=${src##*/}
		set -- "$@" "${t%.c}"
	done
fi

# The largest input each target needs: a DNS message with a full name and its records, a
# JSON batch of a few events, a query string with a few arguments, a frame's headers.
# Larger inputs only slow the search down and bloat the committed corpus.
max_len_of() {
	case $1 in
	fuzz_observe_packet) echo 256 ;;
	fuzz_dns_name | fuzz_dns_tsig | fuzz_ns_pkt | fuzz_observe_batch) echo 2048 ;;
	*) echo 1024 ;;
	esac
}

# Runs one target; writes its summary line to $state/<target>.result.
run_target() {
	t=$1
	bin=$build/tests/$t
	corpus=tests/fuzz/corpus/$t
	scratch=$state/$t.new
	findings=$build/findings/$t
	log=$state/$t.log
	result=$state/$t.result
	max_len=$(max_len_of "$t")
	rm -rf "$scratch"
	mkdir -p "$scratch" "$corpus" "$findings"
	stamp=$state/$t.stamp
	: >"$stamp"
	before=$(ls "$corpus" | wc -l)

	# New inputs go to the first directory; both are read at the start.
	"$bin" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" \
	    -max_len="$max_len" -print_final_stats=1 -artifact_prefix="$findings/" \
	    "$scratch" "$corpus" >"$log" 2>&1
	rc=$?

	found=$(find "$findings" -type f -newer "$stamp" | sort)

	# Keep only what adds coverage to the committed corpus, even after a crash.
	"$bin" -merge=1 -rss_limit_mb="$rss_mb" -timeout="$timeout" -max_len="$max_len" \
	    "$corpus" "$scratch" >"$state/$t.merge.log" 2>&1 ||
	    echo "merge failed (rc $?), see $state/$t.merge.log" >>"$log"
	after=$(ls "$corpus" | wc -l)

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	# Coverage (edges) when the corpus was loaded and at the end.
	cov0=$(sed -n 's/^#[0-9]*[[:space:]]*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -n 1)
	cov1=$(sed -n 's/^#[0-9]*[[:space:]]*[A-Z]* *cov: \([0-9]*\).*/\1/p' "$log" | tail -n 1)
	status=ok
	if [ -n "$found" ]; then
		status="FOUND $(echo "$found" | tr '\n' ' ' | sed 's/ $//')"
	elif [ "$rc" -ne 0 ]; then
		status="FAILED rc=$rc (see $log)"
	fi
	printf '%-20s %12s %8s %10s %6s  %s\n' "$t" "${execs:-?}" "${rate:-?}" \
	    "${cov0:-?}->${cov1:-?}" "$((after - before))" "$status" >"$result"
}

for t in "$@"; do
	if [ ! -x "$build/tests/$t" ]; then
		echo "fuzz-long: no $build/tests/$t (build with make FUZZ=1 fuzz)" >&2
		exit 2
	fi
done
mkdir -p "$state"
echo "fuzz-long: $# targets, ${seconds}s each, $jobs at a time, rss limit ${rss_mb} MB"

# At most $jobs targets at once; all run for the same time, so batches stay even.
running=0
for t in "$@"; do
	rm -f "$state/$t.result"
	echo "fuzz-long: $t"
	run_target "$t" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait
		running=0
	fi
done
wait

fail=0
printf '%-20s %12s %8s %10s %6s  %s\n' target executions exec/s coverage new findings
for t in "$@"; do
	if [ -f "$state/$t.result" ]; then
		cat "$state/$t.result"
		grep -q ' ok$' "$state/$t.result" || fail=1
	else
		echo "$t: no result (see $state/$t.log)"
		fail=1
	fi
done
if [ "$fail" -ne 0 ]; then
	echo "fuzz-long: findings above; reproduce one with $build/tests/TARGET FILE" >&2
	exit 1
fi

#!/bin/sh
# SPDX-License-Identifier: MIT
# DNSSEC benchmark (bench/README.md, "DNSSEC"): first the signing micro benchmark
# (bench/dnssec_bench.c, linked with the project's libraries), then bench/dnssec.py:
# nameplated unsigned and signed vs Knot signing the same zone, CPU per query at a fixed
# rate, memory, and RFC 2136 updates/s with signing off and on.
#
#   sh bench/dnssec.sh [--build DIR] [--micro] [options of bench/dnssec.py: --runs N
#                      --seconds N --rate QPS --hosts N --update-seconds N --update-runs N
#                      --outstanding N]
# --micro runs the micro benchmark only. BENCH_DNSSEC_ARGS in the environment is added too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=build
if [ "${1:-}" = --build ]; then
	build=$2
	shift 2
fi
micro_only=0
if [ "${1:-}" = --micro ]; then
	micro_only=1
	shift
fi
case $build in /*) ;; *) build=$top/$build ;; esac
for b in nameplated nameplatectl libdnssec.a libzone.a libdns.a libcommon.a; do
	[ -e "$build/$b" ] || { echo "dnssec.sh: no $build/$b (make all first)" >&2; exit 2; }
done
mkdir -p "$build/bench"
# shellcheck disable=SC2046
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Werror -I"$top/src" -o "$build/bench/dnssec_bench" \
	"$here/dnssec_bench.c" "$build/libdnssec.a" "$build/libzone.a" "$build/libdns.a" \
	"$build/libcommon.a" $(pkg-config --cflags --libs libsodium libcrypto) -lpthread
echo "== bench/dnssec_bench.c (server CPU, pinned to the last CPU)"
last=$(($(nproc) - 1))
taskset -c "$last" "$build/bench/dnssec_bench"
[ "$micro_only" = 1 ] && exit 0
# shellcheck disable=SC2046
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$top/src" \
	-o "$build/bench/update_load" "$here/update_load.c" "$build/libdns.a" \
	"$build/libcommon.a" $(pkg-config --cflags --libs libsodium libcrypto) -lpthread
echo "== bench/dnssec.py"
# shellcheck disable=SC2086
exec /usr/bin/python3 "$here/dnssec.py" "$build" --gen "$build/bench/update_load" \
	${BENCH_DNSSEC_ARGS:-} "$@"

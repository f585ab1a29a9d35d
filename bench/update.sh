#!/bin/sh
# SPDX-License-Identifier: MIT
# RFC 2136 UPDATE benchmark (bench/README.md, "RFC 2136 UPDATE"): nameplated vs BIND 9 vs
# Knot, acknowledged updates/s with 1 and 32 outstanding, then NOERROR -> NSD secondary.
#
#   sh bench/update.sh [--build DIR] [options of bench/update.py: --runs N --seconds N
#                      --outstanding 1,32 --servers nameplated,bind,knot --hosts N
#                      --secondary-updates N --sync-check N --timeout-ms MS]
# Builds the load generator (bench/update_load.c, linked with the project's libdns for
# TSIG) into BUILD/bench/update_load; BENCH_UPDATE_ARGS in the environment is added too.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
build=build
if [ "${1:-}" = --build ]; then
	build=$2
	shift 2
fi
case $build in /*) ;; *) build=$top/$build ;; esac
for b in nameplated nameplatectl libdns.a libcommon.a; do
	[ -e "$build/$b" ] || { echo "update.sh: no $build/$b (make all first)" >&2; exit 2; }
done
mkdir -p "$build/bench"
# shellcheck disable=SC2046
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -Wvla -Werror -I"$top/src" -o "$build/bench/update_load" \
	"$here/update_load.c" "$build/libdns.a" "$build/libcommon.a" \
	$(pkg-config --cflags --libs libsodium libcrypto) -lpthread
# shellcheck disable=SC2086
exec /usr/bin/python3 "$here/update.py" "$build" --gen "$build/bench/update_load" \
	${BENCH_UPDATE_ARGS:-} "$@"

#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs the side-by-side benchmark (bench/README.md): sh bench/run.sh BUILD_DIR [options]
# Options go to bench/bench.py (--help); BENCH_ARGS in the environment is added too.
set -eu
here=$(dirname "$0")
build=${1:-build}
[ $# -gt 0 ] && shift
# shellcheck disable=SC2086
exec /usr/bin/python3 "$here/bench.py" "$build" ${BENCH_ARGS:-} "$@"

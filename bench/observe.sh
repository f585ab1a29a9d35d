#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds and runs the observation index benchmark: bench/observe.sh [ADDRS [EVENTS_PER_ADDR]]
set -eu
cd "$(dirname "$0")/.."
make -s build/libobserve.a build/libcommon.a
mkdir -p build/bench
cc -O2 -g -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Isrc -o build/bench/observe_bench \
	bench/observe_bench.c build/libobserve.a build/libcommon.a -lpthread
exec build/bench/observe_bench "$@"

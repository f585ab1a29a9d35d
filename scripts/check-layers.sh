#!/bin/sh
# SPDX-License-Identifier: MIT
# Fails on any #include "module/..." that the module table of docs/ARCHITECTURE.md does not
# allow: in src/<module>/ (the mains included: each is in its folder's row), and in the
# unit tests and fuzz targets, whose module is their name's prefix (test_<module>_*.c,
# fuzz_<module>_*.c). A module may include its own headers and those of the modules its row
# lists. Shared test fixtures (tests/unit/*_fixture.h) are not checked.
set -eu
cd "$(dirname "$0")/.."
table=$(sh scripts/layers.sh table)

files=$(ls src/*/*.c src/*/*.h tests/unit/test_*.c tests/fuzz/fuzz_*.c 2>/dev/null)
# shellcheck disable=SC2086
grep -Hn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' $files /dev/null |
	{ echo "$table" | sed 's/^/@table /'; ls -d src/*/ | sed 's/^/@dir /'; cat; } |
	awk '
	$1 == "@table" {
		row[$2] = 1
		for (i = 3; i <= NF; i++) {
			ok[$2 " " $i] = 1
			uses[$2] = (uses[$2] == "" ? "" : uses[$2] ", ") $i
		}
		next
	}
	$1 == "@dir" { d = $2; sub(/^src\//, "", d); sub(/\/$/, "", d); folder[d] = 1; next }
	{
		split($0, p, ":"); file = p[1]; line = p[2]
		if (file ~ /^src\//) { m = file; sub(/^src\//, "", m); sub(/\/.*/, "", m) }
		else { m = file; sub(/.*\/(test|fuzz)_/, "", m); sub(/_.*/, "", m) }
		if (!(m in row)) {
			if (!(m in noted)) printf "%s: module %s is not in the table of docs/ARCHITECTURE.md\n", file, m
			noted[m] = 1; bad = 1; next
		}
		inc = $0; sub(/^[^"]*"/, "", inc); sub(/".*/, "", inc)
		if (inc !~ /\//) next
		t = inc; sub(/\/.*/, "", t)
		if (!(t in row) && !(t in folder)) next # a relative path, not a module
		if (t == m || ((m " " t) in ok)) next
		printf "%s:%s: %s may not use %s (#include \"%s\"); %s may use: %s\n", file, line, m, t,
		       inc, m, (uses[m] == "" ? "nothing else" : uses[m])
		bad = 1
	}
	END { exit bad }' || { echo "layer check failed: see the module table in docs/ARCHITECTURE.md" >&2; exit 1; }
echo "check-layers: every include follows the module table"

#!/bin/sh
# Fails when a banned C function appears in the sources (STYLE J).
banned='\b(sprintf|strcpy|strcat|strtok|atoi|atol|sscanf|gets|alloca)[[:space:]]*\('
if grep -rnE "$banned" src tests/unit tests/fuzz --include='*.c' --include='*.h'; then
	echo "banned function used (see STYLE J)" >&2
	exit 1
fi
echo "check-banned: no banned function"

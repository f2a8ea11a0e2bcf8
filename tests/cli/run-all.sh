#!/bin/bash
# Runs every command-line test (tests/cli/test-*.sh) against a hopwatch binary: no network,
# no root, each in its own temporary directory.
#
#   tests/cli/run-all.sh [HOPWATCH]
#
# The last line is "N passed, M failed"; exit status non-zero when a test failed.
here=$(cd "$(dirname "$0")" && pwd)
HOPWATCH=${1:-${HOPWATCH:-./hopwatch}}
case $HOPWATCH in /*) ;; *) HOPWATCH="$(pwd)/$HOPWATCH" ;; esac
export HOPWATCH
passed=0 failed=0
for t in "$here"/test-*.sh; do
	name=$(basename "$t" .sh)
	if out=$(timeout 300 bash "$t" 2>&1); then
		passed=$((passed + 1))
		echo "PASS $name ($(grep -c '^ok' <<<"$out") checks)"
	else
		failed=$((failed + 1))
		echo "FAIL $name"
		grep '^not ok' <<<"$out" | sed 's/^/    /'
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

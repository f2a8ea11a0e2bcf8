#!/bin/bash
# Runs every lab test (tests/lab/test-*.sh) as root against a hopwatch binary.
#
#   tests/lab/run-all.sh [HOPWATCH [TEST...]]
#
# HOPWATCH defaults to $HOPWATCH, else ./hopwatch (run it from the build directory).
# TEST names select tests (e.g. paths cut). Logs go to $LOGDIR (default a temporary
# directory, printed). Exit status: non-zero when a test failed. The last line is always
# "N passed, M failed" (skipped tests, exit 77, are counted apart on the line before).
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -ge 1 ]; then
	HOPWATCH=$1
	shift
fi
HOPWATCH=${HOPWATCH:-./hopwatch}
case $HOPWATCH in /*) ;; *) HOPWATCH="$(pwd)/$HOPWATCH" ;; esac
export HOPWATCH
LOGDIR=${LOGDIR:-$(mktemp -d /tmp/hwlab-logs.XXXXXX)}
mkdir -p "$LOGDIR"

tests=()
if [ $# -ge 1 ]; then
	for n in "$@"; do tests+=("$here/test-${n#test-}.sh"); done
else
	tests=("$here"/test-*.sh)
fi

child=
trap '[ -n "$child" ] && kill "$child" 2>/dev/null; wait; exit 130' INT TERM

passed=0 failed=0 skipped=0 i=0
echo "# hopwatch: $HOPWATCH"
echo "# logs: $LOGDIR"
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	log="$LOGDIR/$name.log"
	start=$(date +%s)
	i=$((i + 1))
	prefix="hwl-$$-t$i"
	HWLAB_PREFIX=$prefix timeout -k 10 "${TEST_TIMEOUT:-900}" bash "$t" >"$log" 2>&1 &
	child=$!
	wait "$child"
	rc=$?
	child=
	secs=$(($(date +%s) - start))
	# safety net: a test killed by its timeout may leave namespaces behind
	left=$(ip netns list 2>/dev/null | awk '{print $1}' | grep -c "^$prefix-" || true)
	[ "$left" = 0 ] || "$here/../../tools/lab" down --prefix "$prefix"
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name (${secs}s, $(grep -c '^ok' "$log") checks)"
		;;
	77)
		skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP' "$log")"
		;;
	*)
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc, ${secs}s): $(grep -c '^not ok' "$log") failed checks"
		grep -A8 '^not ok\|^Bail out' "$log" | head -40 | sed 's/^/    /'
		;;
	esac
	if [ "$left" != 0 ]; then
		echo "    warning: $name left $left namespaces $prefix-* behind (removed now)"
	fi
done
[ "$skipped" = 0 ] || echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

# Shared helpers for the lab tests; source it from a test script (bash).
#
#   HOPWATCH   the binary under test (default ./hopwatch, made absolute)
#   KEEP_LAB=1 leave the last failing output files in place (the namespaces still go)
#
# Each test builds its labs with lab_up (unique prefix ${HWLAB_PREFIX:-hwl-<pid>}-<n>), and everything it
# made -- namespaces, background processes, temporary files -- goes away on EXIT, INT, TERM.

set -u

LAB_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC_DIR=$(cd "$LAB_TESTS_DIR/../.." && pwd)
LAB="$SRC_DIR/tools/lab"
HOPWATCH=${HOPWATCH:-./hopwatch}
case $HOPWATCH in /*) ;; *) HOPWATCH="$(pwd)/$HOPWATCH" ;; esac
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/hwlab-$TEST_NAME.XXXXXX")
HW_TIMEOUT=${HW_TIMEOUT:-60}
# trace keeps every run in a store: the tests' runs go to their own, never root's home.
export HOPWATCH_STORE=${HOPWATCH_STORE:-$WORK/store.db}

_lab_prefixes=""
_lab_pids=""
_lab_n=0
_passed=0
_failed=0

_lab_cleanup() {
	local p
	for p in $_lab_pids; do
		kill "$p" 2>/dev/null
	done
	for p in $_lab_pids; do
		wait "$p" 2>/dev/null
	done
	for p in $_lab_prefixes; do
		"$LAB" down --prefix "$p" || echo "warning: could not tear down $p" >&2
	done
	if [ "${KEEP_LAB:-0}" = 1 ] && [ "$_failed" -gt 0 ]; then
		echo "# output kept in $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap _lab_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

skip() { echo "SKIP: $*"; exit 77; }

require_root() {
	[ "$(id -u)" = 0 ] || skip "lab tests need root"
}

require_hopwatch() {
	require_root
	[ -x "$HOPWATCH" ] || skip "no hopwatch binary at $HOPWATCH"
}

# lab_up TOPOLOGY: builds a lab; sets LABP (prefix), TRUTH (truth file), V (vantage ns).
lab_up() {
	_lab_n=$((_lab_n + 1))
	LABP="${HWLAB_PREFIX:-hwl-$$}-$_lab_n"
	TRUTH="$WORK/truth-$LABP.json"
	_lab_prefixes="$_lab_prefixes $LABP"
	if ! "$LAB" up "$1" --prefix "$LABP" --truth "$TRUTH" >"$WORK/up-$LABP.log" 2>&1; then
		cat "$WORK/up-$LABP.log"
		echo "Bail out! could not build lab $1"
		exit 1
	fi
	V="$LABP-v"
}

# lab_down: tears the current lab down now (cleanup would do it at exit anyway).
lab_down() {
	"$LAB" down --prefix "$LABP"
	_lab_prefixes=$(echo "$_lab_prefixes" | tr ' ' '\n' | grep -vx "$LABP" | tr '\n' ' ')
}

# bg CMD...: starts a background command; killed at exit. Sets BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	_lab_pids="$_lab_pids $BG_PID"
}

# addr NODE FAMILY(4|6): a host's address from the truth.
addr() { jq -r ".hosts[\"$1\"].v$2" "$TRUTH"; }

# node_addr NODE LINK FAMILY: the address of NODE on link LINK.
node_addr() {
	jq -r --arg n "$1" --arg l "$2" --arg f "v$3" \
		'.nodes[$n].ifaces[] | select(.link == $l) | .[$f]' "$TRUTH"
}

vexec() { ip netns exec "$V" "$@"; }

# hw ARGS...: runs hopwatch in the vantage namespace (with a timeout); sets HW_RC.
hw() {
	timeout "$HW_TIMEOUT" ip netns exec "$V" "$HOPWATCH" "$@"
	HW_RC=$?
	return 0
}

# hwjson OUT ARGS...: `hopwatch trace --format json ARGS` into OUT, stderr into OUT.err; sets HW_RC.
hwjson() {
	local out=$1
	shift
	hw trace --format json "$@" >"$out" 2>"$out.err"
}

# check RESULT [check options]: compares with the truth; report JSON in RESULT.check;
# the human summary in RESULT.txt. Returns the checker's status.
check() {
	local res=$1
	shift
	"$LAB" check --truth "$TRUTH" --report "$res.check" "$@" "$res" >"$res.txt" 2>&1
}

# jcheck RESULT JQ-EXPR: a value from the last check report of RESULT.
jcheck() { jq -r "$2" "$1.check"; }

# jres RESULT JQ-EXPR: a value from a hopwatch JSON result.
jres() { jq -r "$2" "$1"; }

ok() {
	_passed=$((_passed + 1))
	echo "ok - $*"
}

not_ok() {
	_failed=$((_failed + 1))
	echo "not ok - $*"
}

# expect DESCRIPTION COMMAND...: ok when the command succeeds.
expect() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# show FILE...: indents files into the test log (evidence for failures).
show() {
	local f
	for f in "$@"; do
		[ -f "$f" ] && sed 's/^/#   /' "$f" | head -60
	done
}

# hwcheck DESCRIPTION RESULT EXPECTED_RC [check options]: hopwatch's exit status is
# EXPECTED_RC and the result agrees with the truth.
hwcheck() {
	local what=$1 res=$2 want=$3
	shift 3
	if [ "$HW_RC" != "$want" ]; then
		not_ok "$what: exit status $HW_RC, expected $want"
		show "$res.err"
		return 1
	fi
	if ! check "$res" "$@"; then
		not_ok "$what"
		show "$res.txt" "$res.err"
		return 1
	fi
	ok "$what"
}

finish() {
	echo "# $TEST_NAME: $_passed passed, $_failed failed"
	[ "$_failed" = 0 ]
	exit $?
}

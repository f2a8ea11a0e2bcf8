# Shared helpers for the command-line tests; source it from a test script (bash). No network,
# no root.
#
#   HOPWATCH   the binary under test (default ./hopwatch; a path is made absolute, so a test
#              may cd)
#
# Gives: $corpus (fuzz/corpus/json), $WORK (a temporary directory, gone on exit, even when a
# test took its write bits off), ok/not_ok/expect that print TAP lines ("ok N - ...", which
# run-all.sh counts), hw (hopwatch with its output in $WORK/out, $WORK/err and its exit status
# in RC) and finish (the plan line; the exit status says whether every check passed).

set -u

CLI_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
corpus="$CLI_TESTS_DIR/../../fuzz/corpus/json"
HOPWATCH=${HOPWATCH:-./hopwatch}
case $HOPWATCH in */*) HOPWATCH=$(cd "$(dirname "$HOPWATCH")" && pwd)/$(basename "$HOPWATCH") ;; esac
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/hwcli-${TEST_NAME#test-}.XXXXXX")
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
fails=0 n=0

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }

# expect WHAT COMMAND...: ok when the command succeeds.
expect() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# hw ARGS...: hopwatch ARGS (20 s at the most), output in $WORK/out and $WORK/err, RC its
# exit status.
hw() {
	timeout 20 "$HOPWATCH" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
}

# finish: the plan line; exits non-zero when a check failed.
finish() {
	echo "1..$n"
	[ "$fails" = 0 ]
	exit $?
}

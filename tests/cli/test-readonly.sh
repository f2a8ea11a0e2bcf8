#!/bin/bash
# A store we cannot write is still readable: another user's store (0644 in a 0755
# directory; run as root, the readers run as nobody; otherwise our own store with the
# write bits off). runs, show and diff read it, nothing is made beside it; import and
# trace refuse it in one line, exit 2, the file untouched. No network.
#
#   HOPWATCH=build/hopwatch bash tests/cli/test-readonly.sh
. "$(dirname "$0")/lib.sh"
D="$WORK/store"
S="$D/runs.db"
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || { echo "1..0 # SKIP setpriv is not installed"; exit 0; }
	as_other() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	who="nobody"
else
	as_other() { "$@"; }
	who="$(id -un), write bits off"
fi
# hw ARGS...: hopwatch as the other user, output in $WORK/out, $WORK/err, RC.
hw() {
	as_other "$HOPWATCH" "$@" >"$WORK/out" 2>"$WORK/err"
	RC=$?
}
lock() { chmod 755 "$WORK"; chmod 555 "$D"; chmod 444 "$S"; }
unlock() { chmod 700 "$D"; chmod 644 "$S"; }

mkdir -p "$D"
"$HOPWATCH" import --store "$S" "$corpus/annotated.json" >/dev/null
"$HOPWATCH" import --store "$S" "$corpus/annotated.json" >/dev/null
"$HOPWATCH" show 1 --store "$S" --format json >"$WORK/show-owner.json"
lock
cp "$S" "$WORK/before.db"

hw runs --store "$S" --format json
expect "runs as $who: exit 0 ($RC: $(head -c 200 "$WORK/err"))" [ "$RC" = 0 ]
expect "runs as $who: both runs" [ "$(jq length "$WORK/out" 2>/dev/null)" = 2 ]
hw show 1 --store "$S" --format json
expect "show 1 as $who: exit 0, the run as its owner sees it" \
	cmp -s "$WORK/out" "$WORK/show-owner.json"
hw diff --store "$S" 1 2
expect "diff 1 2 as $who: exit 0 (nothing changed) ($RC: $(head -c 200 "$WORK/err"))" [ "$RC" = 0 ]
hw diff --store "$S"
expect "diff as $who, the two newest comparable runs: exit 0 ($RC)" [ "$RC" = 0 ]
expect "nothing made beside the store (no -wal, no -shm)" \
	[ "$(ls "$D")" = runs.db ]

hw import --store "$S" "$corpus/rich.json"
expect "import as $who: exit 2, one line saying it cannot be written ($(head -c 200 "$WORK/err"))" \
	[ "$RC/$(wc -l <"$WORK/err")" = 2/1 ]
expect "import as $who: the line names the store" grep -qF "$S cannot be written" "$WORK/err"
expect "the store is untouched" cmp -s "$S" "$WORK/before.db"
unlock
expect "the owner still sees 2 runs" \
	[ "$("$HOPWATCH" runs --store "$S" --format json | jq length)" = 2 ]
finish

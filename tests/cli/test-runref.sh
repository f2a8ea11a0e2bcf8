#!/bin/bash
# What a RUN argument names: a store reference when it looks like one (12, latest,
# latest~N), even with a file of that name in the current directory (./12 names the file);
# a file when it is a path (a '/', a .json name, -); a directory, a device or a file
# over 1 GiB is refused before it is read, in one line, exit 2. And `runs --format json`
# gives each run's start as the run document does. No network, no root.
#
#   HOPWATCH=build/hopwatch bash tests/cli/test-runref.sh
. "$(dirname "$0")/lib.sh"
cd "$WORK" || exit 1
S="$WORK/runs.db"
# show RUN as JSON into $WORK/out; RC its exit status.
show() {
	timeout 20 "$HOPWATCH" show --store "$S" --format json "$1" >"$WORK/out" 2>"$WORK/err"
	RC=$?
}
vantage() { jq -r .vantage "$WORK/out"; }
# refused RUN SAYS: exit 2, one stderr line saying SAYS, nothing on stdout.
refused() {
	show "$1"
	if [ "$RC/$(wc -l <"$WORK/err")/$(wc -c <"$WORK/out")" = 2/1/0 ] &&
		grep -q "^hopwatch: " "$WORK/err" && grep -qF "$2" "$WORK/err"; then
		ok "show $1: exit 2, one line saying '$2'"
	else
		not_ok "show $1: exit $RC, wanted 2 and one line saying '$2'; got: $(head -c 160 "$WORK/err")"
	fi
}

"$HOPWATCH" import --store "$S" "$corpus/rich.json" >/dev/null
"$HOPWATCH" import --store "$S" "$corpus/rich.json" >/dev/null
stored=$(jq -r .vantage "$corpus/rich.json")
# Files named like store references, holding another run.
for f in 1 2 latest latest~1; do cp "$corpus/minimal-udp.json" "$f"; done
other=$(jq -r .vantage "$corpus/minimal-udp.json")
[ "$stored" != "$other" ] || { echo "Bail out! the two corpus runs must differ"; exit 1; }

for r in 1 2 latest latest~1; do
	show "$r"
	expect "show $r with a file '$r' here: the stored run ($RC, $(vantage))" \
		[ "$RC/$(vantage)" = "0/$stored" ]
	show "./$r"
	expect "show ./$r: the file ($RC, $(vantage))" [ "$RC/$(vantage)" = "0/$other" ]
done
cp "$corpus/minimal-udp.json" plain
show plain
expect "a name that is no store reference and exists is a file ($RC)" [ "$RC/$(vantage)" = "0/$other" ]
show "$WORK/1"
expect "an absolute path is a file" [ "$RC/$(vantage)" = "0/$other" ]
cp "$corpus/minimal-udp.json" 7.json
show 7.json
expect "a name ending in .json is a file" [ "$RC/$(vantage)" = "0/$other" ]
show - <"$corpus/minimal-udp.json"
expect "- is standard input" [ "$RC/$(vantage)" = "0/$other" ]
refused 3 "runs.db: no run 3"
expect "no file 3 here: no word of one" bash -c "! grep -qF ./3 '$WORK/err'"
cp "$corpus/minimal-udp.json" 3
refused 3 "no run 3 (the file 3 here is ./3)"

mkdir dir 12
refused dir "RUN 'dir' is a directory"
refused dir/ "RUN 'dir/' is a directory"
refused ./12 "RUN './12' is a directory"
refused /dev/zero "RUN '/dev/zero' is not a regular file"
refused /dev/null "RUN '/dev/null' is not a regular file"
# A pipe is read (process substitution, `show <(...)`): what a writer sends through it.
mkfifo fifo
timeout 20 sh -c 'cat "$1" >fifo' sh "$corpus/minimal-udp.json" &
timeout 20 "$HOPWATCH" show --format json ./fifo >fifo.out 2>"$WORK/err"
expect "a FIFO is read like a pipe" jq -e '.schema == "hopwatch-run"' fifo.out
wait
truncate -s 1025M big.json # sparse: no disk used
refused big.json "RUN 'big.json' is larger than a run file may be (1 GiB)"
refused nothing "RUN 'nothing' is not a run id, latest, latest~N or a JSON run file"
refused ./nothing "cannot read ./nothing"

"$HOPWATCH" import --store "$S" 1 >/dev/null 2>"$WORK/err"
expect "import 1: refused, a store reference, saying how to name the file" \
	grep -qF "names a stored run, not a file (a file of that name: ./1)" "$WORK/err"
"$HOPWATCH" import --store "$S" ./1 >"$WORK/out" 2>&1
expect "import ./1: the file" grep -q "^run 3: " "$WORK/out"

# runs --format json: start as the run document gives it (microseconds, Z).
"$HOPWATCH" runs --store "$S" --format json >runs.json
show 1
expect "runs --format json: start as in the run document ($(jq -r '.[-1].start' runs.json))" \
	[ "$(jq -r '.[] | select(.id == 1) | .start' runs.json)" = "$(jq -r .start "$WORK/out")" ]
expect "runs --format json: the fields documented" \
	[ "$(jq -c '.[0] | keys' runs.json)" = \
	  '["completed","id","method","options","sources","start","tag","tool","traces","vantage"]' ]
finish

#!/bin/bash
# `hopwatch import`: a JSON run file goes into the store as it is (show gives back the same
# document, diff compares imported runs); bad files, missing files and run ids are refused
# with one stderr line and exit 2, the store untouched. No network, no root.
#
#   HOPWATCH=build/hopwatch bash tests/cli/test-import.sh
. "$(dirname "$0")/lib.sh"
S="$WORK/store/runs.db" # the directory does not exist yet: import makes it
nruns() { "$HOPWATCH" runs --store "$S" --format json | jq length; }
# One line on stderr, "hopwatch: ..." saying $1, exit 2, and nothing stored.
refused() {
	local what=$1 says=$2 before
	before=$(nruns 2>/dev/null || echo 0)
	shift 2
	hw import --store "$S" "$@"
	expect "$what: exit 2, one stderr line saying '$says'" \
		[ "$RC/$(wc -l <"$WORK/err")" = 2/1 ]
	expect "$what: the line says so ($(head -c 200 "$WORK/err"))" grep -q "^hopwatch: .*$says" "$WORK/err"
	expect "$what: nothing stored" [ "$(nruns 2>/dev/null || echo 0)" = "$before" ]
}

hw import --store "$S" "$corpus/rich.json"
expect "import: exit 0 ($RC)" [ "$RC" = 0 ]
expect "import prints the new run's id" grep -q "^run 1: [0-9]* traces\? from .*rich.json$" "$WORK/out"
expect "the store was created" [ -s "$S" ]
"$HOPWATCH" show 1 --store "$S" --format json >"$WORK/stored.json"
"$HOPWATCH" show "$corpus/rich.json" --format json >"$WORK/file.json"
expect "show 1 --format json gives the document the file gives" cmp -s "$WORK/stored.json" "$WORK/file.json"

hw import --store "$S" --tag again - <"$corpus/rich.json"
expect "import - reads standard input" grep -q "^run 2: .* from standard input$" "$WORK/out"
expect "--tag tags the stored run" [ "$("$HOPWATCH" runs --store "$S" --format json | jq -r '.[] | select(.id == 2) | .tag')" = again ]
hw diff --store "$S" 1 2
expect "diff of two imports of one file: no change, exit 0 ($RC)" [ "$RC" = 0 ]
hw diff --store "$S"
expect "diff without runs finds the two comparable imports ($RC)" [ "$RC" = 0 ]

for f in multipath-perpacket ipv6-tcp minimal-udp empty annotated; do
	hw import --store "$S" "$corpus/$f.json"
	id=$(sed -n 's/^run \([0-9]*\):.*/\1/p' "$WORK/out")
	"$HOPWATCH" show "$id" --store "$S" --format json >"$WORK/s.json"
	"$HOPWATCH" show "$corpus/$f.json" --format json >"$WORK/f.json"
	expect "$f.json: stored and shown identical" cmp -s "$WORK/s.json" "$WORK/f.json"
done

refused "a bad address" "bad-addr.json: traces\[0\]" "$corpus/bad-addr.json"
refused "a newer document" "newer" "$corpus/newer-version.json"
refused "a missing file" "cannot read" "$WORK/nothing.json"
refused "a run id" "12 names a stored run, not a file" 12
refused "no file" "which file"
refused "two files" "one file at a time" "$corpus/rich.json" "$corpus/empty.json"
finish

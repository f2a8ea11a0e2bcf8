#!/bin/bash
# `hopwatch annotate` without the network (--no-dns, local tables): any RUN the other
# commands take (store id, latest, latest~N, a file, standard input, a pipe), --save as a
# new tagged run, AS names in text; and the inputs it refuses with one stderr line and
# exit 2 (a device, more than 1 GiB, a bad --dns-server even with --no-dns). No network,
# no root.
#
#   HOPWATCH=build/hopwatch bash tests/cli/test-annotate.sh
. "$(dirname "$0")/lib.sh"
S="$WORK/runs.db"
# refused WHAT SAYS ARGS...: exit 2 and one stderr line "hopwatch: ...SAYS...", at once.
refused() {
	local what=$1 says=$2 start took
	shift 2
	start=$(date +%s%N)
	hw "$@"
	took=$((($(date +%s%N) - start) / 1000000))
	expect "$what: exit 2 and one stderr line ($RC, $(wc -l <"$WORK/err") lines, ${took} ms)" \
		[ "$RC/$(wc -l <"$WORK/err")" = 2/1 -a "$took" -lt 5000 ]
	expect "$what: the line says so ($(head -c 200 "$WORK/err"))" grep -q "^hopwatch: .*$says" "$WORK/err"
}

# The local tables: AS4837 for 198.18.3.0/24 and 2001:db8:1::/48, AS64500 for the rest of
# 198.18/15; as-org2info-style names (no Cymru handle) and one Cymru-style name.
printf '198.18.0.0\t15\t64500\n198.18.3.0\t24\t4837,4808\n2001:db8:1::\t48\t4837\n' >"$WORK/pfx2as.txt"
printf '4837|China Unicom\n4808|China Unicom Beijing Province Network\n64500|LAB-EDGE Lab edge network, ZZ\n' >"$WORK/names.txt"
tables=(--no-dns --asn-table "$WORK/pfx2as.txt" --as-names "$WORK/names.txt")

hw import --store "$S" "$corpus/rich.json"
expect "import rich.json as run 1 ($RC)" grep -q '^run 1:' "$WORK/out"

hw annotate "${tables[@]}" --store "$S" --save latest
expect "annotate --save latest: exit 0 ($RC, $(head -c 200 "$WORK/err"))" [ "$RC" = 0 ]
expect "annotate --save: no document without -o" [ ! -s "$WORK/out" ]
expect "annotate --save: says the new run's id" grep -qx 'hopwatch: annotated run saved as run 2' "$WORK/err"
tag=$("$HOPWATCH" runs --store "$S" --format json | jq -r '.[] | select(.id == 2) | .tag')
expect "annotate --save: tagged '$tag'" [ "$tag" = "annotated from run 1" ]
"$HOPWATCH" show 2 --store "$S" --format json >"$WORK/saved.json"
got=$(jq -r '[.traces[].addresses[]? | select(.addr == "198.18.3.1") | "\(.origins | map(tostring) | join("_")) \(.as_name)"] | first' "$WORK/saved.json")
expect "the stored run carries the table's AS and name for 198.18.3.1 ($got)" [ "$got" = "4837_4808 China Unicom" ]
expect "the stored run asked nothing over DNS (names 'none')" \
	[ "$(jq '[.traces[].addresses[]? | select(.name_status != "none")] | length' "$WORK/saved.json")" = 0 ]

hw annotate "${tables[@]}" --store "$S" --save --tag mine 1
expect "annotate --save --tag mine 1: exit 0 ($RC)" [ "$RC" = 0 ]
expect "--tag names the saved run" \
	[ "$("$HOPWATCH" runs --store "$S" --format json | jq -r '.[] | select(.id == 3) | .tag')" = mine ]

# Text: an as-org2info name whole, a Cymru name by its handle.
hw annotate "${tables[@]}" --store "$S" --format text latest~1
expect "annotate latest~1 --format text: exit 0 ($RC)" [ "$RC" = 0 ]
expect "text shows '[AS4837/4808 China Unicom]'" grep -q '(198.18.3.1) \[AS4837/4808 China Unicom\]\|198.18.3.1 \[AS4837/4808 China Unicom\]' "$WORK/out"
expect "text shows a Cymru name by its handle '[AS64500 LAB-EDGE]'" grep -q '\[AS64500 LAB-EDGE\]' "$WORK/out"

hw annotate "${tables[@]}" -o "$WORK/file.json" "$corpus/rich.json"
expect "annotate FILE -o: exit 0 ($RC), the same annotation as the stored one" \
	cmp -s <(jq -S '.traces[].addresses' "$WORK/file.json") <(jq -S '.traces[].addresses' "$WORK/saved.json")
hw annotate "${tables[@]}" - <"$corpus/rich.json"
expect "annotate - reads standard input ($RC)" [ "$RC" = 0 -a -s "$WORK/out" ]
mkfifo "$WORK/fifo"
# The writer waits for a reader: bounded, so a hopwatch that never opens the pipe ends it.
timeout 20 sh -c 'cat "$1" >"$2"' sh "$corpus/rich.json" "$WORK/fifo" &
writer=$!
hw annotate "${tables[@]}" "$WORK/fifo"
wait "$writer"
expect "annotate reads a named pipe ($RC)" [ "$RC" = 0 -a -s "$WORK/out" ]

refused "annotate /dev/zero" "RUN '/dev/zero' is not a regular file or a pipe" annotate --no-dns /dev/zero
refused "show /dev/zero" "RUN '/dev/zero' is not a regular file or a pipe" show /dev/zero
refused "import /dev/zero" "not a regular file or a pipe" import --store "$S" /dev/zero
truncate -s $((1024 * 1024 * 1024 + 1)) "$WORK/huge.json"
refused "a run file of 1 GiB + 1 byte" "huge.json' is larger than a run file may be (1 GiB)" annotate --no-dns "$WORK/huge.json"
rm -f "$WORK/huge.json"
refused "--dns-server 999.1.1.1 with --no-dns" "dns-server: '999.1.1.1' is not" \
	annotate --no-dns --dns-server 999.1.1.1 "$corpus/rich.json"
refused "--dns-server with -n" "dns-server: 'nonsense' is not" annotate -n --dns-server nonsense "$corpus/rich.json"
refused "--tag without --save" "add --save" annotate --no-dns --tag x "$corpus/rich.json"
refused "a run the store does not hold" "no run" annotate --no-dns --store "$S" 99
expect "nothing more was stored" [ "$("$HOPWATCH" runs --store "$S" --format json | jq length)" = 3 ]
finish

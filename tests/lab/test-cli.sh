#!/bin/bash
# Exit statuses and error reporting: no privilege and unknown host exit 2 with one line on
# stderr; a bad option exits 2; max TTL reached exits 1; lab names resolve; -o FILE.json.
. "$(dirname "$0")/lib.sh"
require_hopwatch

# one_line DESC FILE: FILE holds exactly one line
one_line() {
	local n
	n=$(wc -l <"$2")
	if [ "$n" = 1 ]; then ok "$1: one line on stderr"; else not_ok "$1: $n lines on stderr"; show "$2"; fi
}

lab_up chain
dst=$(addr d 4)

timeout 30 ip netns exec "$V" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$HOPWATCH" trace "$dst" >"$WORK/nobody.out" 2>"$WORK/nobody.err"
rc=$?
expect "as nobody: exit status $rc, expected 2" [ "$rc" = 2 ]
one_line "as nobody" "$WORK/nobody.err"

for name in no-such-host.invalid nonexistent.lab; do
	hw trace "$name" >"$WORK/unknown.out" 2>"$WORK/unknown.err"
	expect "unknown host $name: exit status $HW_RC, expected 2" [ "$HW_RC" = 2 ]
	one_line "unknown host $name" "$WORK/unknown.err"
done

for args in "--no-such-option $dst" "-m 0 $dst" "-q 0 $dst" "--flow 32768 $dst" "-P sctp $dst" "-f 10 -m 5 $dst" ""; do
	# shellcheck disable=SC2086
	hw trace $args >"$WORK/bad.out" 2>"$WORK/bad.err"
	expect "bad usage '$args': exit status $HW_RC, expected 2" [ "$HW_RC" = 2 ]
	[ -s "$WORK/bad.err" ] && ok "bad usage '$args': says why on stderr" || not_ok "bad usage '$args': silent"
done

res="$WORK/maxttl.json"
hwjson "$res" -m 2 "$dst"
expect "-m 2: exit status $HW_RC, expected 1" [ "$HW_RC" = 1 ]
expect "-m 2: stop_reason maxttl" [ "$(jres "$res" '.traces[0].stop_reason')" = maxttl ]
check "$res" --no-stop-check
expect "-m 2: right interfaces" [ "$(jcheck "$res" '.wrong')" = 0 ]

for fam in 4 6; do
	res="$WORK/byname-$fam.json"
	hwjson "$res" -"$fam" d
	hwcheck "trace by lab name 'd' (IPv$fam)" "$res" 0
done

res="$WORK/out.json"
hw trace --no-dns -o "$res" "$dst" >"$WORK/o.stdout" 2>"$WORK/o.err"
expect "-o FILE.json: exit status $HW_RC, expected 0" [ "$HW_RC" = 0 ]
if [ -s "$res" ] && jq -e '.schema == "hopwatch-run"' "$res" >/dev/null 2>&1; then
	ok "-o FILE.json writes a hopwatch-run JSON document"
	HW_RC=0
	hwcheck "-o FILE.json: result agrees with the truth" "$res" 0
else
	not_ok "-o FILE.json: no JSON document in $res"
fi

hw trace --no-dns "$dst" >"$WORK/text.out" 2>&1
r1=$(node_addr r1 v-r1 4)
if grep -Eq "^ *1 +$r1 " "$WORK/text.out"; then ok "text output: hop 1 is r1 ($r1)"; else not_ok "text output: no '1  $r1'"; show "$WORK/text.out"; fi
finish

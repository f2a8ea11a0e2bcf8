#!/bin/bash
# Classic traceroute (Debian's, a new UDP port per probe) draws false links in a per-flow
# ECMP diamond; hopwatch (one flow per trace) draws none in the same lab.
. "$(dirname "$0")/lib.sh"
require_hopwatch
RUNS=${RUNS:-5}

lab_up diamond2
total=0
for fam in 4 6; do
	dst=$(addr d "$fam")
	for i in $(seq 1 "$RUNS"); do
		res="$WORK/traceroute-$fam-$i.txt"
		vexec traceroute -n -"$fam" "$dst" >"$res" 2>&1
		check "$res" --format traceroute --allow-false-links
		n=$(jq -r '.false_links' "$res.check")
		total=$((total + n))
	done
done
if [ "$total" -ge 1 ]; then
	ok "Debian traceroute -n drew $total false links in diamond2 over $((2 * RUNS)) runs"
else
	not_ok "Debian traceroute -n drew no false link in diamond2 (the lab does not balance per flow?)"
	show "$WORK/traceroute-4-1.txt"
fi
hwfalse=0
for fam in 4 6; do
	dst=$(addr d "$fam")
	for f in $(seq 0 $((RUNS - 1))); do
		res="$WORK/hopwatch-$fam-$f.json"
		hwjson "$res" -"$fam" --flow "$f" "$dst"
		check "$res" --allow-false-links
		n=$(jq -r '.false_links' "$res.check")
		hwfalse=$((hwfalse + n))
	done
done
if [ "$hwfalse" = 0 ]; then
	ok "hopwatch drew no false link in the same lab over $((2 * RUNS)) traces"
else
	not_ok "hopwatch drew $hwfalse false links"
fi
finish

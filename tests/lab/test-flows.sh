#!/bin/bash
# Per-flow ECMP: different --flow values may take different branches, but every single trace
# is consistent (one interface per TTL, only real links), and the same flow keeps its path.
# (ICMP echo is not tested for spreading: Linux hashes no L4 field of ICMP echo.)
. "$(dirname "$0")/lib.sh"
require_hopwatch

FLOWS=${FLOWS:-16}
for topo in diamond2 diamond4 meshed series unequal; do
	lab_up "$topo"
	for fam in 4 6; do
		dst=$(addr d "$fam")
		for m in udp tcp; do
			paths="$WORK/$topo-$fam-$m.paths"
			bad=0
			files=()
			for f in $(seq 0 $((FLOWS - 1))); do
				res="$WORK/$topo-$fam-$m-$f.json"
				hwjson "$res" -"$fam" -P "$m" --flow "$f" "$dst"
				files+=("$res")
				if [ "$HW_RC" != 0 ]; then
					bad=$((bad + 1))
					echo "# flow $f: exit $HW_RC"
					show "$res.err"
				fi
			done
			all="$WORK/$topo-$fam-$m.all"
			if ! "$LAB" check --truth "$TRUTH" --report "$all.check" "${files[@]}" >"$all.txt" 2>&1; then
				bad=$((bad + 1))
				show "$all.txt"
			fi
			jq -r '.traces[].path' "$all.check" >"$paths"
			if [ "$bad" = 0 ]; then
				ok "$topo IPv$fam $m: $FLOWS flows, each with right interfaces and no false link"
			else
				not_ok "$topo IPv$fam $m: $bad of $FLOWS flows wrong"
			fi
			n=$(sort -u "$paths" | wc -l)
			if [ "$n" -ge 2 ]; then
				ok "$topo IPv$fam $m: $n distinct paths over $FLOWS flows"
			else
				not_ok "$topo IPv$fam $m: only $n distinct path over $FLOWS flows"
				show "$paths"
			fi
			if [ "$topo" = unequal ]; then
				# branches of unequal length: the destination answers at TTL 4 or 5
				n=$(jq -r '.traces[].last_responding_ttl' "$all.check" | sort -u | tr '\n' ' ')
				expect "unequal IPv$fam $m: destination reached at TTLs $n (both lengths seen)" [ "$n" = "4 5 " ]
			fi
			# the same flow again follows the same path
			res="$WORK/$topo-$fam-$m-again.json"
			hwjson "$res" -"$fam" -P "$m" --flow 3 "$dst"
			check "$res"
			a=$(sed -n 4p "$paths")
			b=$(jcheck "$res" '.traces[0].path')
			if [ "$a" = "$b" ]; then
				ok "$topo IPv$fam $m: flow 3 repeats its path"
			else
				not_ok "$topo IPv$fam $m: flow 3 took '$a' then '$b'"
			fi
		done
	done
	lab_down
done
finish

#!/bin/bash
# A path that breaks: after a first complete trace, the link "cut" (r2 - r3) is cut.
#  drop        the link silently loses everything: stop gaplimit, last hop answering = r2
#  unreachable r2 gets an unreachable route: stop unreach, r2 answers !H / !N
#  down        the link goes down, r2 has no route: stop unreach
# Also the host "dark", blackholed at r3 from the start (r3 itself goes silent for it).
. "$(dirname "$0")/lib.sh"
require_hopwatch

for mode in drop unreachable down; do
	lab_up cut
	for fam in 4 6; do
		res="$WORK/$mode-before-$fam.json"
		hwjson "$res" -"$fam" "$(addr d "$fam")"
		hwcheck "cut/$mode IPv$fam before the cut: completed" "$res" 0
	done
	if [ "$mode" = drop ]; then
		for fam in 4 6; do
			res="$WORK/dark-$fam.json"
			hwjson "$res" -"$fam" "$(addr dark "$fam")"
			hwcheck "cut IPv$fam: blackholed host: gaplimit, last answer from r2" "$res" 1
			expect "cut IPv$fam: blackholed host: stop_reason gaplimit" \
				[ "$(jres "$res" '.traces[0].stop_reason')" = gaplimit ]
		done
	fi
	if ! "$LAB" cut --prefix "$LABP" --mode "$mode" cut >"$WORK/cut.log" 2>&1; then
		not_ok "tools/lab cut --mode $mode"
		show "$WORK/cut.log"
		continue
	fi
	# IPv4 unreachables from routes (ip_error) share the per-peer token bucket that every
	# ICMP error resets when icmp_ratelimit=0: r2 stays mute for ~1 s after its last
	# time-exceeded to the vantage, then allows a burst of 5 and 1/s.
	sleep 2
	want=gaplimit
	[ "$mode" = drop ] || want=unreach
	for fam in 4 6; do
		dst=$(addr d "$fam")
		treach=$(jq -r --arg a "$dst" '.destinations[] | select(.addr == $a) | .reach' "$TRUTH")
		expect "cut/$mode IPv$fam: truth says $want after the cut" [ "$treach" = "$want" ]
		res="$WORK/$mode-after-$fam.json"
		hwjson "$res" -"$fam" "$dst"
		hwcheck "cut/$mode IPv$fam after the cut: right interfaces, stops at r2" "$res" 1
		got=$(jres "$res" '.traces[0].stop_reason')
		expect "cut/$mode IPv$fam: stop_reason $got, expected $want" [ "$got" = "$want" ]
		r2=$(node_addr r2 r1-r2 "$fam")
		last=$(jres "$res" '[.traces[0].hops[] | select(.replies | length > 0)] | last | .replies[0].addr')
		expect "cut/$mode IPv$fam: last answering hop $last is r2 ($r2)" [ "$last" = "$r2" ]
	done
	lab_down
done
finish

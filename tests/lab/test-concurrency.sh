#!/bin/bash
# Noise on the vantage: a flood ping to the destination, Debian traceroute in a loop and a
# second hopwatch with the SAME --flow at the same time. Every reply each hopwatch records
# must be from the right interface (no reply matched to the wrong probe or process).
. "$(dirname "$0")/lib.sh"
require_hopwatch
ROUNDS=${ROUNDS:-5}

lab_up diamond2
for fam in 4 6; do
	dst=$(addr d "$fam")
	bg ip netns exec "$V" ping -"$fam" -f -q -w 60 "$dst"
	ping_pid=$BG_PID
	bg bash -c "while :; do ip netns exec $V traceroute -n -$fam $dst >/dev/null 2>&1; done"
	tr_pid=$BG_PID
	sleep 0.5
	for m in udp icmp tcp; do
		bad=0
		for i in $(seq 1 "$ROUNDS"); do
			a="$WORK/c-$fam-$m-$i-a.json"
			b="$WORK/c-$fam-$m-$i-b.json"
			(hwjson "$a" -"$fam" -P "$m" --flow 7 "$dst"; echo "$HW_RC" >"$a.rc") &
			pa=$!
			(hwjson "$b" -"$fam" -P "$m" --flow 7 "$dst"; echo "$HW_RC" >"$b.rc") &
			pb=$!
			wait "$pa" "$pb"
			for r in "$a" "$b"; do
				if [ "$(cat "$r.rc")" != 0 ] || ! check "$r"; then
					bad=$((bad + 1))
					echo "# $(basename "$r"): exit $(cat "$r.rc")"
					show "$r.txt" "$r.err"
				fi
			done
			if [ "$(jcheck "$a" '.traces[0].path')" != "$(jcheck "$b" '.traces[0].path')" ]; then
				bad=$((bad + 1))
				echo "# round $i: the two traces of flow 7 took different paths"
			fi
		done
		if [ "$bad" = 0 ]; then
			ok "concurrency IPv$fam $m: $ROUNDS rounds of 2 simultaneous hopwatch (same flow) under ping -f + traceroute: all right"
		else
			not_ok "concurrency IPv$fam $m: $bad problems"
		fi
	done
	# the noise really ran the whole time
	expect "concurrency IPv$fam: ping -f still running at the end" kill -0 "$ping_pid"
	expect "concurrency IPv$fam: traceroute loop still running at the end" kill -0 "$tr_pid"
	kill "$ping_pid" "$tr_pid" 2>/dev/null
	wait "$ping_pid" "$tr_pid" 2>/dev/null
done
finish

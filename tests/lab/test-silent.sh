#!/bin/bash
# A router that never sends time-exceeded: its hop shows no reply, the trace goes on to the
# destination and the hops behind it are right.
. "$(dirname "$0")/lib.sh"
require_hopwatch

lab_up silent
for fam in 4 6; do
	dst=$(addr d "$fam")
	stl=$(jq -r --arg a "$dst" '.destinations[] | select(.addr == $a) | .silent_ttls | join(" ")' "$TRUTH")
	for m in udp icmp tcp; do
		res="$WORK/silent-$fam-$m.json"
		hwjson "$res" -"$fam" -P "$m" "$dst"
		hwcheck "silent IPv$fam $m: right interfaces, completed" "$res" 0
		for t in $stl; do
			n=$(jres "$res" ".traces[0].hops[] | select(.ttl == $t) | .replies | length")
			s=$(jres "$res" ".traces[0].hops[] | select(.ttl == $t) | .probes_sent")
			if [ "$n" = 0 ] && [ "${s:-0}" -ge 1 ]; then
				ok "silent IPv$fam $m: TTL $t probed ($s) and silent"
			else
				not_ok "silent IPv$fam $m: TTL $t has '$n' replies, '$s' probes"
			fi
		done
	done
	res="$WORK/silent-$fam-text.txt"
	hw trace --no-dns -"$fam" "$dst" >"$res" 2>&1
	if grep -Eq "^ *${stl%% *} +\* +\* +\*" "$res"; then
		ok "silent IPv$fam text output shows '* * *' at TTL ${stl%% *}"
	else
		not_ok "silent IPv$fam text output has no '* * *' at TTL ${stl%% *}"
		show "$res"
	fi
done
finish

#!/bin/bash
# Every topology, IPv4 and IPv6, UDP/ICMP/TCP: hopwatch finds the right interface at every
# TTL, reaches the destination (stop_reason completed, exit 0) and reports no false link.
. "$(dirname "$0")/lib.sh"
require_hopwatch

TOPOS=${TOPOS:-"chain direct diamond2 diamond4 meshed unequal series silent"}
for topo in $TOPOS; do
	lab_up "$topo"
	for fam in 4 6; do
		dst=$(addr d "$fam")
		for m in udp icmp tcp; do
			res="$WORK/$topo-$fam-$m.json"
			hwjson "$res" -"$fam" -P "$m" "$dst"
			hwcheck "$topo IPv$fam $m: right interfaces, completed, no false link" "$res" 0
			stop=$(jres "$res" '.traces[0].stop_reason')
			n=$(jres "$res" '.traces[0].stop_ttl')
			want=$(jq -r --arg a "$dst" '.destinations[] | select(.addr == $a) | .distances | map(tostring) | join(" ")' "$TRUTH")
			case " $want " in
			*" $n "*) ok "$topo IPv$fam $m: stop_ttl $n is a destination distance ($want)" ;;
			*) not_ok "$topo IPv$fam $m: stop_ttl $n ($stop), destination distance $want" ;;
			esac
		done
	done
	lab_down
done
finish

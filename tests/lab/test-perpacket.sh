#!/bin/bash
# Per-packet balancing (nftables numgen at r1): a Paris trace cannot keep one path, so
# several interfaces may show at one TTL; each must still be a real interface at that TTL
# and the trace must reach the destination.
. "$(dirname "$0")/lib.sh"
require_hopwatch

lab_up perpacket
for fam in 4 6; do
	dst=$(addr d "$fam")
	multi=0
	for i in 1 2 3; do
		res="$WORK/pp-$fam-$i.json"
		hwjson "$res" -"$fam" "$dst"
		hwcheck "perpacket IPv$fam run $i: right interfaces, completed" "$res" 0
		n=$(jres "$res" '[.traces[0].hops[] | [.replies[].addr] | unique | select(length > 1)] | length')
		multi=$((multi + n))
	done
	if [ "$multi" -ge 1 ]; then
		ok "perpacket IPv$fam: $multi TTLs showed more than one interface (per-packet balancing seen)"
	else
		not_ok "perpacket IPv$fam: never more than one interface per TTL (is r1 balancing per packet?)"
	fi
done
finish

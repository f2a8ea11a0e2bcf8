#!/bin/bash
# Multipath discovery (hopwatch trace --multipath=lite|mda) against the truth of every
# diamond topology, IPv4 and IPv6: every real link found, no false link, no wrong interface,
# the destination reached (tools/lab check, multipath-aware). UDP everywhere, TCP on meshed;
# ICMP echo is not spread by Linux ECMP, so an ICMP multipath trace must show one path.
# Through the per-packet balancer (perpacket) the balancing must be flagged and no link that
# is not flagged may be false.
#
# The MDA stopping rule is probabilistic (each branching point is explored to 95 % or 99 %
# confidence): every case runs with --confidence 99 and, when it misses something, once
# more with another flow base (--flow 1000) before it fails. Probe counts go to the log.
. "$(dirname "$0")/lib.sh"
require_hopwatch

TOPOS=${TOPOS:-"diamond2 diamond4 meshed meshed34 unequal series"}
MODES=${MODES:-"lite mda"}
CONF=${CONF:-99}

# mp_run RES FAMILY METHOD MODE DST [extra hopwatch options]: one multipath trace + check.
# Returns the checker's status (0 clean); the summary line is in RES.txt.
mp_run() {
	local res=$1 fam=$2 m=$3 mode=$4 dst=$5
	shift 5
	hwjson "$res" -"$fam" -P "$m" --multipath="$mode" --confidence "$CONF" "$@" "$dst"
	[ "$HW_RC" = 0 ] || { echo "# exit status $HW_RC" >>"$res.txt"; return 1; }
	check "$res" || return 1
	return 0
}

# summary RES: "N probes, links F/T, interfaces F/T" from the check report.
summary() {
	jq -r '.traces[0] | "\(.probes_sent) probes, links \(.links_found)/\(.truth_links), interfaces \(.interfaces_found)/\(.truth_interfaces), \(.false_links | length) false, \(.per_packet_links | length) per-packet"' "$1.check" 2>/dev/null
}

# mp_case NAME FAMILY METHOD MODE DST: all links, no false link, reached; one retry.
mp_case() {
	local name=$1 fam=$2 m=$3 mode=$4 dst=$5 res="$WORK/$1"
	if mp_run "$res" "$fam" "$m" "$mode" "$dst"; then
		ok "$name: all links, no false link, completed ($(summary "$res"))"
		return 0
	fi
	echo "# $name: first try missed: $(summary "$res")"
	show "$res.txt" "$res.err"
	if mp_run "$res-retry" "$fam" "$m" "$mode" "$dst" --flow 1000; then
		ok "$name: all links, no false link, completed on the retry with --flow 1000 ($(summary "$res-retry"))"
		return 0
	fi
	not_ok "$name: still wrong with --flow 1000 ($(summary "$res-retry"))"
	show "$res-retry.txt" "$res-retry.err"
	return 1
}

for topo in $TOPOS; do
	lab_up "$topo"
	for fam in 4 6; do
		dst=$(addr d "$fam")
		methods=udp
		[ "$topo" = meshed ] && methods="udp tcp"
		for m in $methods; do
			for mode in $MODES; do
				mp_case "$topo-IPv$fam-$m-$mode" "$fam" "$m" "$mode" "$dst"
			done
		done
		if [ "$topo" = diamond2 ]; then
			# ICMP echo: one branch for every flow (Linux hashes no ICMP field), so the
			# multipath trace sees a single path: real interfaces and links, completed
			res="$WORK/$topo-IPv$fam-icmp"
			hwjson "$res" -"$fam" -P icmp --multipath --confidence "$CONF" "$dst"
			check "$res" --allow-missing
			w=$(jres "$res" '[.traces[0].hops[] | [.replies[].addr] | unique | length] | max')
			if [ "$HW_RC" = 0 ] && [ "$(jcheck "$res" .ok)" = true ] && [ "$w" = 1 ]; then
				ok "$topo IPv$fam icmp multipath: one path, no false link, completed ($(summary "$res"))"
			else
				not_ok "$topo IPv$fam icmp multipath: exit $HW_RC, widest TTL $w interfaces"
				show "$res.txt" "$res.err"
			fi
		fi
	done
	lab_down
done

# per-packet balancing at r1: flagged, and every link not flagged is real
lab_up perpacket
for fam in 4 6; do
	dst=$(addr d "$fam")
	for mode in $MODES; do
		name="perpacket-IPv$fam-$mode"
		res="$WORK/$name"
		hwjson "$res" -"$fam" --multipath="$mode" --confidence "$CONF" "$dst"
		check "$res" --allow-missing
		flagged=$(jcheck "$res" '.traces[0].per_packet_flagged')
		hops=$(jres "$res" '[.traces[0].hops[] | select(.per_packet) | .ttl] | map(tostring) | join(",")')
		if [ "$HW_RC" = 0 ] && [ "$(jcheck "$res" .ok)" = true ] && [ "$flagged" = true ]; then
			ok "$name: per-packet balancing flagged (hops ${hops:-none}), no unflagged false link, completed ($(summary "$res"))"
		else
			not_ok "$name: exit $HW_RC, flagged $flagged"
			show "$res.txt" "$res.err"
		fi
	done
done
lab_down
finish

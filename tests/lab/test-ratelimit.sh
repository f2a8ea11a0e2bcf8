#!/bin/bash
# A router that keeps Linux ICMP rate limiting (r2: icmp_ratelimit 1000 ms, 10 msgs/s):
# back-to-back traces lose some of its replies, but every trace still reaches the
# destination and every reply it records is from the right interface.
. "$(dirname "$0")/lib.sh"
require_hopwatch
RUNS=${RUNS:-6}

lab_up ratelimit
rl=$(jq -r '.destinations[0].hops[] | select(.ratelimited) | .ttl' "$TRUTH" | head -1)
for fam in 4 6; do
	dst=$(addr d "$fam")
	lost=0
	bad=0
	for i in $(seq 1 "$RUNS"); do
		res="$WORK/rl-$fam-$i.json"
		hwjson "$res" -"$fam" "$dst"
		if [ "$HW_RC" != 0 ] || ! check "$res" --allow-missing; then
			bad=$((bad + 1))
			echo "# run $i: exit $HW_RC"
			show "$res.txt" "$res.err"
		fi
		n=$(jres "$res" ".traces[0].hops[] | select(.ttl == $rl) | .probes_sent - (.replies | length)")
		lost=$((lost + ${n:-0}))
	done
	if [ "$bad" = 0 ]; then
		ok "ratelimit IPv$fam: $RUNS back-to-back traces completed with right interfaces"
	else
		not_ok "ratelimit IPv$fam: $bad of $RUNS traces wrong or incomplete"
	fi
	# Lab self-check: the limiter really bites (else this test proves nothing).
	if [ "$lost" -ge 1 ]; then
		ok "ratelimit IPv$fam: rate limiting active ($lost probes at TTL $rl unanswered)"
	else
		not_ok "ratelimit IPv$fam: no reply lost at TTL $rl: the lab's rate limiting is not active"
	fi
	sleep 2 # let r2's token bucket refill before the other family
done
finish

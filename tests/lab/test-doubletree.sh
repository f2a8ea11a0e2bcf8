#!/bin/bash
# --doubletree (Doubletree's local stop set) on many targets, topology "break":
#   v - r1 - r2 - r3 =brk= r4 - r5 - net;  net answers for all of 198.19.4.0/22 at TTL 6
#  1. without and with --doubletree (auto, -q 1): every trace completes; every probed hop
#     agrees with the truth (tools/lab check: skipped hops allowed only where flagged and
#     below stop_set_ttl); skipped hops lie only below a hop whose interface another
#     trace of the run saw; the first traces (pioneers) skip nothing; probes on the wire
#     (nft counter) = --stats probes_sent, fewer than without by the expected amount:
#     the rest x 2 (h = 6, the distance the pioneers saw: TTL 6 forward = the destination,
#     TTL 5 back = r5, known) + 8 pioneers x 6, plus up to gap_limit each past the
#     destination (alone, they send ahead of answers)
#  2. --doubletree=3 -q 3: the same checks; h as given for every trace
#  3. text output says the skipped hops; --multipath ignores --doubletree
#  4. hopwatch diff of the plain and the doubletree run: nothing changed (skipped hops are
#     not compared); after cutting brk, a doubletree run is broken at r3 / r4 as the truth
#     says, and its skipped hops are no part of the break
. "$(dirname "$0")/lib.sh"
require_hopwatch

lab_up break
NET=198.19.4.0/22
NETADDR=$(addr net 4)
N=1024
DIST=$(jq -r --arg a "$NETADDR" '.destinations[] | select(.addr == $a) | .distance' "$TRUTH")

ip netns exec "$V" nft -f - <<NFT
table inet hwdt {
 counter probes {}
 chain out {
  type filter hook output priority 0; policy accept;
  ip daddr $NET counter name probes
 }
}
NFT
wire() { ip netns exec "$V" nft -j list counter inet hwdt probes | jq '.nftables[] | .counter? | select(.) | .packets'; }

# run OUT ARGS...: one run over the /22 (one target per address) into OUT (JSON); sets
# SENT (--stats probes_sent) and WIRE (probes seen leaving the vantage).
run() {
	local out=$1 before
	shift
	before=$(wire)
	hw trace -n --quiet --no-store --stats --rate 20000 --per-prefix 32 -o "$out" "$@" "$NET" \
		2>"$out.err"
	WIRE=$(($(wire) - before))
	SENT=$(sed -n 's/^stats: probes_sent=\([0-9]*\).*/\1/p' "$out.err")
}

# dt_checks WHAT RES: the doubletree-specific facts of a run (see the header).
dt_checks() {
	local what=$1 res=$2
	python3 - "$res" >"$res.dt" 2>&1 <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
traces = doc["traces"]
seen = {}
for i, t in enumerate(traces):
    for h in t["hops"]:
        for r in h["replies"]:
            seen.setdefault(r["addr"], set()).add(i)
bad = []
for i, t in enumerate(traces):
    s = t.get("stop_set_ttl", 0)
    skipped = [h["ttl"] for h in t["hops"] if h.get("skipped")]
    want = list(range(t["first_ttl"], s)) if s else []
    if skipped != want:
        bad.append("%s: skipped %s, stop_set_ttl %s" % (t["dst"], skipped, s))
        continue
    if not s:
        continue
    hop = t["hops"][s - t["first_ttl"]]
    addrs = {r["addr"] for r in hop["replies"]}
    if not addrs:
        bad.append("%s: nothing answered at stop_set_ttl %d" % (t["dst"], s))
    elif not any(seen[a] - {i} for a in addrs):
        bad.append("%s: %s at stop_set_ttl %d seen by no other trace" % (t["dst"], addrs, s))
print("traces with skipped hops: %d" % sum(1 for t in traces if t.get("stop_set_ttl")))
for b in bad[:5]:
    print("problem: " + b)
sys.exit(1 if bad else 0)
PY
	if [ $? = 0 ]; then ok "$what: skipped hops only below an interface another trace saw"
	else not_ok "$what: skipped hops"; show "$res.dt"; fi
}

# 1. plain and auto
res0="$WORK/plain.json"
run "$res0" -q 1
P0=$SENT
hwcheck "plain -q 1: every trace agrees with the truth" "$res0" 0
expect "plain -q 1: probes on the wire ($WIRE) = probes_sent ($P0)" [ "$WIRE" = "$P0" ]

res1="$WORK/dt-auto.json"
run "$res1" -q 1 --doubletree
P1=$SENT
hwcheck "--doubletree -q 1: every probed hop agrees with the truth" "$res1" 0
expect "--doubletree -q 1: $N traces, all completed" \
	[ "$(jres "$res1" '[.traces[] | select(.stop_reason == "completed")] | length')" = "$N" ]
expect "--doubletree -q 1: probes on the wire ($WIRE) = probes_sent ($P1)" [ "$WIRE" = "$P1" ]
dt_checks "--doubletree -q 1" "$res1"
pioneers=$(jres "$res1" '[.traces | sort_by(.start) | .[0:8][] | select(.stop_set_ttl)] | length')
expect "--doubletree: the first 8 traces (pioneers) skipped nothing ($pioneers did)" [ "$pioneers" = 0 ]
n_known=$(jres "$res1" "[.traces[] | select(.stop_set_ttl == $((DIST - 1)))] | length")
expect "--doubletree: the others stopped at TTL $((DIST - 1)) ($n_known of $((N - 8)))" \
	[ "$n_known" = $((N - 8)) ]
LO1=$((8 * DIST + (N - 8) * 2))
HI1=$((8 * (DIST + 5) + (N - 8) * 2 + N / 50))
expect "--doubletree -q 1: $P1 probes, expected $LO1..$HI1 (plain: $P0 >= $N x $DIST)" \
	[ "$P1" -ge "$LO1" -a "$P1" -le "$HI1" -a "$P0" -ge $((N * DIST)) ]
echo "# probes: plain $P0, --doubletree $P1 ($((100 * P1 / P0)) %)"

# 2. a given start TTL, 3 probes per hop
res2="$WORK/dt-3.json"
run "$res2" -q 3 --doubletree=3
P2=$SENT
hwcheck "--doubletree=3 -q 3: every probed hop agrees with the truth" "$res2" 0
expect "--doubletree=3 -q 3: probes on the wire ($WIRE) = probes_sent ($P2)" [ "$WIRE" = "$P2" ]
dt_checks "--doubletree=3 -q 3" "$res2"
first3=$(jres "$res2" '[.traces[] | select(([.hops[] | select(.probes_sent > 0)] | .[0].ttl) < 2)] | length')
expect "--doubletree=3: backward probing reached TTL 1 in the first traces only ($first3)" \
	[ "$first3" -ge 1 -a "$first3" -lt 64 ]
# forward 3..6 = 4 TTLs x 3, backward TTL 2 = r2: at least 1 probe, at most 3
MAX2=$((N * 15 + 3 * first3 + N / 50))
expect "--doubletree=3 -q 3: $P2 probes, at most $MAX2 (plain would send $((N * DIST * 3)))" \
	[ "$P2" -le "$MAX2" ]

# 3. text, multipath
hw trace -n --quiet --no-store --doubletree=5 -q 1 "$NETADDR" >"$WORK/one.txt" 2>&1
expect "text: a lone trace skips nothing (its stop set starts empty)" \
	[ "$(grep -c skipped "$WORK/one.txt")" = 0 -a "$(grep -c '^ 1  ' "$WORK/one.txt")" = 1 ]
hw trace -n --quiet --no-store --doubletree=5 -q 1 --per-prefix 32 198.19.4.0/30 >"$WORK/four.txt" 2>&1
expect "text: later traces say their skipped hops on one line" \
	grep -q "^ 1-3  (skipped: path known from the stop set)$" "$WORK/four.txt"
res="$WORK/mp.json"
hwjson "$res" -n --no-store --multipath --doubletree "$NETADDR"
hwcheck "--multipath --doubletree: a full multipath trace" "$res" 0
expect "--multipath --doubletree: nothing skipped" \
	[ "$(jres "$res" '[.traces[].hops[] | select(.skipped)] | length')" = 0 ]

# 4. diff
timeout "$HW_TIMEOUT" "$HOPWATCH" diff --format json "$res0" "$res1" >"$WORK/d.json" 2>"$WORK/d.err"
DRC=$?
expect "diff plain vs --doubletree: exit 0, $N unchanged ($(jq -r '[.targets[] | select(.status == "unchanged")] | length' "$WORK/d.json"))" \
	[ "$DRC" = 0 -a "$(jq -r '[.targets[] | select(.status == "unchanged")] | length' "$WORK/d.json")" = "$N" ]
"$LAB" cut --prefix "$LABP" brk >/dev/null
sleep 2 # routers' unreachable budget (docs/lab.md)
res3="$WORK/dt-cut.json"
run "$res3" -q 1 --doubletree -w 1
hwcheck "--doubletree after the cut: every probed hop agrees with the new truth" "$res3" 1
dt_checks "--doubletree after the cut" "$res3"
timeout "$HW_TIMEOUT" "$HOPWATCH" diff --format json "$res0" "$res3" >"$WORK/dc.json" 2>"$WORK/dc.err"
DRC=$?
R3=$(jq -r '[.targets[] | select(.status == "broken" and .last_reached.ttl == 3 and .first_lost.ttl == 4)] | length' "$WORK/dc.json")
expect "diff plain vs --doubletree after the cut: exit 1, $N broken between TTL 3 and 4 ($R3)" \
	[ "$DRC" = 1 -a "$R3" = "$N" ]
finish

#!/bin/bash
# hopwatch diff against the lab's ground truth (topology "break"):
#   v - r1 - r2 - r3 =brk= r4 - r5 - {d, net};  net answers for 198.19.4.0/22 (four /24s)
#  1. two runs before any cut: exit 0, every target unchanged
#  2. r2 stops sending time-exceeded (nft): its hop is reported silent ("path continues"),
#     not a break; exit 0
#  3. the link brk is cut (r2 still mute): every target broken, last_reached = r3 at TTL 3,
#     first_lost = r4 at TTL 4 (the truth before and after the cut), hop 2 silent, the
#     /22 broken 4/4 at the same point; exit 1
#  4. r2 answers again: the same break from runs kept in the store (diff with no RUN
#     arguments, then latest~1 latest), and --format md / text say it
#  5. --pick random with another seed before and after the cut: the /24s pair by network
#     (other addresses), and the /22 breaks at the same point
#  6. --transit is parsed as trace parses it ("4837,,1" is refused)
. "$(dirname "$0")/lib.sh"
require_hopwatch

lab_up break
STORE="$WORK/runs.db"
D4=$(addr d 4)
D6=$(addr d 6)
NET=198.19.4.0/22
TARGETS=("$D4" "$D6" "$NET")
cp "$TRUTH" "$WORK/truth-before.json"

# trace OUT [options]: one run over every target into OUT (JSON); fails the test if the
# trace could not run at all.
trace() {
	local out=$1
	shift
	hw trace --quiet --per-prefix 24 -o "$out" "$@" "${TARGETS[@]}"
	if [ "$HW_RC" -gt 1 ] || [ ! -s "$out" ]; then
		not_ok "trace into $(basename "$out"): exit status $HW_RC"
		return 1
	fi
}

# diff OUT ARGS...: hopwatch diff --format json ARGS into OUT; sets DIFF_RC.
diff_json() {
	local out=$1
	shift
	timeout "$HW_TIMEOUT" "$HOPWATCH" diff --format json "$@" >"$out" 2>"$out.err"
	DIFF_RC=$?
}

# truth_hop FILE DST TTL: the interface the truth file has for DST at TTL.
truth_hop() {
	jq -r --arg a "$2" --argjson t "$3" \
		'.destinations[] | select(.addr == $a) | .hops[] | select(.ttl == $t) | .addrs[0]' "$1"
}

# truth_last FILE DST: the last TTL that answers for DST.
truth_last() {
	jq -r --arg a "$2" '.destinations[] | select(.addr == $a) | .last_ttl' "$1"
}

# jt FILE DST EXPR: EXPR on the diff's target DST.
jt() { jq -r --arg a "$2" ".targets[] | select(.dst == \$a) | $3" "$1"; }

# The anyip targets share the path of the host "net".
NETADDR=$(addr net 4)
declare -A TRUTH_OF=([$D4]=$D4 [$D6]=$D6)
for i in 4 5 6 7; do TRUTH_OF[198.19.$i.1]=$NETADDR; done

# ---- 1. nothing changed ----
trace "$WORK/old.json" --store "$STORE" || finish
trace "$WORK/old2.json" --no-store || finish
trace "$WORK/rand1.json" --no-store --pick random --seed 1 || finish
res="$WORK/d-same.json"
diff_json "$res" "$WORK/old.json" "$WORK/old2.json"
expect "uncut runs: exit status $DIFF_RC, expected 0" [ "$DIFF_RC" = 0 ]
expect "uncut runs: 6 targets" [ "$(jres "$res" '.summary.targets')" = 6 ]
expect "uncut runs: all unchanged" \
	[ "$(jres "$res" '[.targets[] | select(.status != "unchanged")] | length')" = 0 ]
expect "uncut runs: no silent hops" [ "$(jres "$res" '[.targets[].silent[]] | length')" = 0 ]
expect "uncut runs: summary.changes false" [ "$(jres "$res" '.summary.changes')" = false ]

# ---- 2. r2 stops answering: silent, not a break ----
ip netns exec "$LABP-r2" nft -f - <<'EOF'
table inet hwdiff_mute {
 chain out {
  type filter hook output priority 0; policy accept;
  icmp type time-exceeded drop
  icmpv6 type time-exceeded drop
 }
}
EOF
trace "$WORK/mute.json" --no-store || finish
res="$WORK/d-mute.json"
diff_json "$res" "$WORK/old.json" "$WORK/mute.json"
expect "r2 mute: exit status $DIFF_RC, expected 0 (silence is no change)" [ "$DIFF_RC" = 0 ]
for dst in "${!TRUTH_OF[@]}"; do
	st=$(jt "$res" "$dst" .status)
	sil=$(jt "$res" "$dst" '.silent | map("\(.first_ttl)-\(.last_ttl)-\(.run)") | join(",")')
	expect "r2 mute: $dst $st, expected unchanged" [ "$st" = unchanged ]
	expect "r2 mute: $dst silent hops '$sil', expected 2-2-new" [ "$sil" = 2-2-new ]
	expect "r2 mute: $dst has no break" [ "$(jt "$res" "$dst" 'has("last_reached")')" = false ]
done
timeout "$HW_TIMEOUT" "$HOPWATCH" diff "$WORK/old.json" "$WORK/mute.json" >"$WORK/d-mute.txt" 2>&1
expect "r2 mute: text says the hop is silent, path continues" \
	grep -q "hop 2 silent in the new run only: no answer, not a path change" "$WORK/d-mute.txt"

# ---- 3. cut brk while r2 is mute ----
if ! "$LAB" cut --prefix "$LABP" brk >"$WORK/cut.log" 2>&1; then
	not_ok "tools/lab cut brk"
	show "$WORK/cut.log"
	finish
fi
# check_break RESULT WHAT SILENT: every target broken where the truth says.
check_break() {
	local res=$1 what=$2 silent=$3 dst t last lost_ttl want_last want_lost
	for dst in "${!TRUTH_OF[@]}"; do
		t=${TRUTH_OF[$dst]}
		last=$(truth_last "$TRUTH" "$t")
		lost_ttl=$((last + 1))
		want_last=$(truth_hop "$TRUTH" "$t" "$last")
		want_lost=$(truth_hop "$WORK/truth-before.json" "$t" "$lost_ttl")
		got=$(jt "$res" "$dst" '"\(.status) \(.last_reached.addr) \(.last_reached.ttl) \(.first_lost.addr) \(.first_lost.ttl)"')
		want="broken $want_last $last $want_lost $lost_ttl"
		if [ "$got" = "$want" ]; then
			ok "$what: $dst: $got"
		else
			not_ok "$what: $dst: got '$got', truth '$want'"
		fi
		sil=$(jt "$res" "$dst" '.silent | map("\(.first_ttl)-\(.last_ttl)-\(.run)") | join(",")')
		expect "$what: $dst silent hops '$sil', expected '$silent'" [ "$sil" = "$silent" ]
	done
	expect "$what: the truth's cut is after r3 (TTL 3)" [ "$(truth_last "$TRUTH" "$D4")" = 3 ]
	local g='.networks[] | select(.network == "'$NET'")'
	got=$(jres "$res" "$g | \"\(.kind) \(.targets) \(.counts.broken) \(.common_break.last_reached.addr) \(.common_break.last_reached.ttl) \(.common_break.first_lost.addr)\"")
	want="prefix 4 4 $(truth_hop "$TRUTH" "$NETADDR" 3) 3 $(truth_hop "$WORK/truth-before.json" "$NETADDR" 4)"
	if [ "$got" = "$want" ]; then
		ok "$what: $NET broken 4/4 at the common point: $got"
	else
		not_ok "$what: $NET: got '$got', expected '$want'"
	fi
}
trace "$WORK/cut-mute.json" --no-store || finish
res="$WORK/d-cut-mute.json"
diff_json "$res" "$WORK/old.json" "$WORK/cut-mute.json"
expect "cut + r2 mute: exit status $DIFF_RC, expected 1" [ "$DIFF_RC" = 1 ]
check_break "$res" "cut + r2 mute" 2-2-new

# ---- 4. r2 answers again; runs from the store ----
ip netns exec "$LABP-r2" nft delete table inet hwdiff_mute
trace "$WORK/cut.json" --store "$STORE" || finish
res="$WORK/d-store.json"
diff_json "$res" --store "$STORE"
expect "store, newest pair: exit status $DIFF_RC, expected 1" [ "$DIFF_RC" = 1 ]
show "$res.err"
check_break "$res" "store, newest pair" ""
res="$WORK/d-store2.json"
diff_json "$res" --store "$STORE" latest~1 latest
expect "store, latest~1 latest: exit status $DIFF_RC, expected 1" [ "$DIFF_RC" = 1 ]
check_break "$res" "store, latest~1 latest" ""
timeout "$HW_TIMEOUT" "$HOPWATCH" diff "$WORK/old.json" "$WORK/cut.json" >"$WORK/d-cut.txt" 2>&1
rc=$?
r3=$(truth_hop "$TRUTH" "$D4" 3)
expect "text: exit status $rc, expected 1" [ "$rc" = 1 ]
expect "text: first line is the answer" \
	[ "$(head -1 "$WORK/d-cut.txt")" = "6 of 6 targets changed: 6 broken" ]
expect "text: the /22 lost 4/4 beyond hop 3 ($r3)" \
	grep -Eq "^  4/4 targets of $NET lost beyond hop 3 ($r3|[^ ]+ \\($r3\\))" "$WORK/d-cut.txt"
timeout "$HW_TIMEOUT" "$HOPWATCH" diff --format md -o "$WORK/d-cut.md" "$WORK/old.json" "$WORK/cut.json"
rc=$?
expect "md: exit status $rc, expected 1" [ "$rc" = 1 ]
expect "md: a Markdown report" grep -q "^# hopwatch diff" "$WORK/d-cut.md"
r4=$(truth_hop "$WORK/truth-before.json" "$D4" 4)
expect "md: the /22's break line" \
	grep -Eq "^- 4/4 targets of $NET lost beyond hop 3 ($r3|[^ ]+ \\($r3)" "$WORK/d-cut.md"
expect "md: $D4's row names the break (hop 3 $r3, hop 4 $r4)" \
	grep -Eq "^\| $D4 \| broken \| hop 3 ([^|]* \\()?$r3[,)| ].*\| hop 4 ([^|]* \\()?$r4[,)| ]" "$WORK/d-cut.md"

# ---- 5. --pick random, another seed: pairs by network ----
trace "$WORK/rand2.json" --no-store --pick random --seed 2 || finish
res="$WORK/d-rand.json"
diff_json "$res" "$WORK/rand1.json" "$WORK/rand2.json"
expect "pick random: exit status $DIFF_RC, expected 1" [ "$DIFF_RC" = 1 ]
expect "pick random: 6 targets, all broken" \
	[ "$(jres "$res" '"\(.summary.targets) \(.summary.broken)"')" = "6 6" ]
moved=$(jres "$res" '[.targets[] | select(.paired_by == "network" and .old_dst != .dst)] | length')
expect "pick random: /24s with other addresses paired by network ($moved)" [ "$moved" -ge 1 ]
got=$(jres "$res" '.networks[] | select(.network == "'$NET'") | "\(.counts.broken) \(.common_break.last_reached.addr) \(.common_break.last_reached.ttl)"')
expect "pick random: $NET '$got', expected '4 $r3 3'" [ "$got" = "4 $r3 3" ]
timeout "$HW_TIMEOUT" "$HOPWATCH" diff "$WORK/rand1.json" "$WORK/rand2.json" >"$WORK/d-rand.txt" 2>&1
expect "pick random: text says 'same network'" grep -q " → .* (same network 198.19.[4-7].0/24): broken" "$WORK/d-rand.txt"

# ---- 6. --transit as trace takes it ----
for bad in "4837,,1" "4837," "AS4837,4837"; do
	timeout "$HW_TIMEOUT" "$HOPWATCH" diff --transit "$bad" "$WORK/old.json" "$WORK/cut.json" \
		>/dev/null 2>"$WORK/d-transit.err"
	rc=$?
	lines=$(wc -l <"$WORK/d-transit.err")
	expect "--transit '$bad': exit status $rc, $lines stderr line(s), expected 2 and 1" [ "$rc:$lines" = 2:1 ]
done
diff_json "$WORK/d-transit.json" --transit AS4837,64500 "$WORK/old.json" "$WORK/cut.json"
expect "--transit AS4837,64500: exit status $DIFF_RC, expected 1" [ "$DIFF_RC" = 1 ]
expect "--transit AS4837,64500: the list in the document" \
	[ "$(jres "$WORK/d-transit.json" '.transit | tostring')" = "[4837,64500]" ]
timeout "$HW_TIMEOUT" "$HOPWATCH" diff "$WORK/old.json" "$WORK/nonexistent.json" >/dev/null 2>"$WORK/d-bad.err"
rc=$?
lines=$(wc -l <"$WORK/d-bad.err")
expect "a missing run file: exit status $rc and $lines stderr line(s), expected 2 and 1" \
	[ "$rc:$lines" = 2:1 ]
finish

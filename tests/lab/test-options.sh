#!/bin/bash
# Trace options against the truth: -f, -p, -q, -N, -g, --flow, -s, several targets in one
# run; and probes on the wire (nft counter in the vantage) equal the probes_sent reported.
. "$(dirname "$0")/lib.sh"
require_hopwatch

lab_up chain
dst=$(addr d 4)
dst6=$(addr d 6)

res="$WORK/f3.json"
hwjson "$res" -f 3 "$dst"
hwcheck "-f 3: right interfaces, completed" "$res" 0
expect "-f 3: first hop reported is TTL 3" [ "$(jres "$res" '.traces[0].hops[0].ttl')" = 3 ]

for spec in "udp 40000" "tcp 443"; do
	set -- $spec
	res="$WORK/p-$1.json"
	hwjson "$res" -P "$1" -p "$2" "$dst"
	hwcheck "-P $1 -p $2: right interfaces, completed" "$res" 0
	expect "-P $1 -p $2: flow.dport is $2" [ "$(jres "$res" '.traces[0].flow.dport')" = "$2" ]
done

res="$WORK/flow.json"
hwjson "$res" --flow 1234 "$dst"
hwcheck "--flow 1234: right interfaces, completed" "$res" 0
expect "--flow 1234: flow.id 1234" [ "$(jres "$res" '.traces[0].flow.id')" = 1234 ]

for q in 1 10; do
	res="$WORK/q$q.json"
	hwjson "$res" -q "$q" "$dst"
	hwcheck "-q $q: right interfaces, completed" "$res" 0
	n=$(jres "$res" "[.traces[0].hops[] | select(.probes_sent != $q)] | length")
	expect "-q $q: every hop sent $q probes" [ "$n" = 0 ]
done

res="$WORK/n1.json"
hwjson "$res" -N 1 "$dst"
hwcheck "-N 1: right interfaces, completed" "$res" 0

src=$(jq -r '.vantage.v4' "$TRUTH")
res="$WORK/s.json"
hwjson "$res" -s "$src" "$dst"
hwcheck "-s $src: right interfaces, completed" "$res" 0
expect "-s $src: src recorded" [ "$(jres "$res" '.traces[0].src')" = "$src" ]
hw trace --no-dns -s 198.18.99.1 "$dst" >"$WORK/s-bad.out" 2>"$WORK/s-bad.err"
expect "-s 198.18.99.1 (not an address of the vantage): exit status $HW_RC, expected 2" [ "$HW_RC" = 2 ]

# probes on the wire = probes_sent
ip netns exec "$V" nft -f - <<NFT
table inet hwtest {
 chain out {
  type filter hook output priority 0; policy accept;
  ip daddr $dst counter
  ip6 daddr $dst6 counter
 }
}
NFT
wire() {
	ip netns exec "$V" nft -j list table inet hwtest |
		jq '[.nftables[] | .rule? | select(.) | .expr[] | .counter? | select(.) | .packets] | add'
}
for fam in 4 6; do
	d=$(addr d "$fam")
	before=$(wire)
	res="$WORK/wire-$fam.json"
	hwjson "$res" -"$fam" "$d"
	after=$(wire)
	sent=$(jres "$res" '.traces[0].probes_sent')
	expect "IPv$fam: probes on the wire ($((after - before))) = probes_sent ($sent)" [ "$((after - before))" = "$sent" ]
done
lab_down

lab_up silent
dst=$(addr d 4)
res="$WORK/g1.json"
hwjson "$res" -g 1 "$dst"
expect "silent, -g 1: exit status $HW_RC, expected 1" [ "$HW_RC" = 1 ]
expect "silent, -g 1: stop_reason gaplimit" [ "$(jres "$res" '.traces[0].stop_reason')" = gaplimit ]
check "$res" --no-stop-check --allow-missing
expect "silent, -g 1: right interfaces" [ "$(jcheck "$res" '.wrong')" = 0 ]
expect "silent, -g 1: last responding TTL is 1" [ "$(jcheck "$res" '.traces[0].last_responding_ttl')" = 1 ]
res="$WORK/g2.json"
hwjson "$res" -g 2 "$dst"
hwcheck "silent, -g 2: passes the silent hop and completes" "$res" 0
lab_down

# several targets in one run: two reach, one (blackholed) does not -> exit 1
lab_up cut
res="$WORK/multi.json"
hwjson "$res" "$(addr d 4)" "$(addr d 6)" "$(addr dark 4)" "$(addr dark 6)"
expect "4 targets, 2 blackholed: exit status $HW_RC, expected 1" [ "$HW_RC" = 1 ]
expect "4 targets: 4 traces" [ "$(jres "$res" '.traces | length')" = 4 ]
if check "$res"; then ok "4 targets: each trace agrees with the truth"; else not_ok "4 targets: each trace agrees with the truth"; show "$res.txt"; fi
finish

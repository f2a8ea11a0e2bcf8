#!/bin/bash
# Who owns each hop, against a real DNS server: dnsmasq runs in the vantage namespace on
# 127.0.0.1:5353 (never outside it), serving a PTR name for every interface of the lab
# and Team Cymru-format TXT records (origin per address under asn.lab, AS names) made
# from the truth file. hopwatch trace --dns-server asks it; every hop's name and AS must
# match the truth, in JSON and text, with the AS path and borders (--transit). Then a DNS
# server that never answers (the trace still ends promptly, every lookup "failed"), a
# local pfx2as table with --no-dns (no DNS at all) and with -n (no PTR, AS names still
# asked), and `hopwatch annotate` on a JSON file, on the store's latest run (--save) and
# on a run id. (What annotate refuses is checked without the network: tests/cli.)
. "$(dirname "$0")/lib.sh"
require_hopwatch
command -v dnsmasq >/dev/null || skip "dnsmasq not installed (tools/setup installs dnsmasq-base)"

lab_up chain
DNS=127.0.0.1:5353
SILENT=127.0.0.1:5354
ZONE=asn.lab
# r1 at the edge, r2 the transit of interest, r3 and d the destination network.
ASMAP='{"r1": 64500, "r2": 4837, "r3": 131279, "d": 131279, "v": 64496}'

# The expected annotation (addr -> name, asn, as_name), the dnsmasq config and a pfx2as
# table (other ASes: 65000 + the AS's index, so table answers are told from DNS ones).
python3 - "$TRUTH" "$ASMAP" "$ZONE" "$WORK" <<'EOF'
import ipaddress, json, sys
truth, asmap, zone, work = json.load(open(sys.argv[1])), json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
names = {64500: "LAB-EDGE Lab edge network, ZZ", 4837: "CHINA169-BACKBONE CHINA UNICOM China169 Backbone, CN",
         131279: "STAR-KP Ryugyong-dong, KP", 64496: "LAB-VANTAGE Vantage, ZZ"}
expect, conf, pfx = {}, ["local=/in-addr.arpa/", "local=/ip6.arpa/", "local=/%s/" % zone], []
for node, n in truth["nodes"].items():
    asn = asmap[node]
    for i in n["ifaces"]:
        for fam in ("v4", "v6"):
            a = i.get(fam)
            if not a:
                continue
            ip = ipaddress.ip_address(a)
            name = "%s-%s.%s.example" % (node, i["link"], "v6" if ip.version == 6 else "v4")
            expect[str(ip)] = {"name": name, "asn": asn, "as_name": names[asn]}
            conf.append("ptr-record=%s,%s" % (ip.reverse_pointer, name))
            rev = ip.reverse_pointer.rsplit(".", 2)[0]
            origin = "origin" if ip.version == 4 else "origin6"
            bits = 32 if ip.version == 4 else 128
            conf.append('txt-record=%s.%s.%s,"%d | %s/%d | ZZ | lab | 2024-01-01"' % (rev, origin, zone, asn, ip, bits))
            pfx.append("%s\t%d\t%d" % (ip, bits, 65000 + sorted(set(asmap.values())).index(asn)))
for asn, nm in names.items():
    conf.append('txt-record=AS%d.%s,"%d | ZZ | lab | 2024-01-01 | %s"' % (asn, zone, asn, nm))
json.dump(expect, open(work + "/expect.json", "w"), indent=1)
open(work + "/dnsmasq.conf", "w").write("\n".join(conf) + "\n")
open(work + "/pfx2as.txt", "w").write("\n".join(pfx) + "\n")
EOF

# dnsmasq in the foreground (killed at exit), loopback of the vantage namespace only.
bg ip netns exec "$V" dnsmasq --keep-in-foreground --no-resolv --no-hosts --pid-file= \
	--conf-file="$WORK/dnsmasq.conf" --listen-address=127.0.0.1 --bind-interfaces \
	--port=5353 --log-queries --log-facility="$WORK/dnsmasq.log"
# A UDP socket that reads nothing and answers nothing.
bg ip netns exec "$V" python3 -c 'import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 5354)); time.sleep(600)'
for _ in $(seq 50); do
	vexec ss -lnu | grep -q '127.0.0.1:5353 ' && vexec ss -lnu | grep -q '127.0.0.1:5354 ' && break
	sleep 0.1
done
expect "dnsmasq listens on $DNS in the vantage namespace only" \
	sh -c "ip netns exec '$V' ss -lnu | grep -q '127.0.0.1:5353 ' && ! ss -lnu | grep -q ':5353 '"

# annotation_ok RESULT: every reply carries the expected name, asn and as_name, and the
# addresses[] entries say ok. Prints the mismatches.
annotation_ok() {
	jq -r --slurpfile e "$WORK/expect.json" '
		[.traces[].hops[].replies[] | . as $r | $e[0][$r.addr] as $x
		 | select($x == null or $r.name != $x.name or $r.asn != $x.asn or $r.as_name != $x.as_name)
		 | "\($r.addr): \($r.name) AS\($r.asn) \($r.as_name)"] +
		[.traces[].addresses[] | select(.name_status != "ok" or .asn_status != "ok")
		 | "\(.addr): \(.name_status)/\(.asn_status)"] | .[]' "$1" >"$1.bad"
	[ ! -s "$1.bad" ] && [ "$(jq '[.traces[].hops[].replies[]] | length' "$1")" -gt 0 ]
}

for fam in 4 6; do
	res="$WORK/names-$fam.json"
	hwjson "$res" -"$fam" --dns-server "$DNS" --asn-zone "$ZONE" --transit 4837 "$(addr d "$fam")"
	hwcheck "IPv$fam with names: the path still agrees with the truth" "$res" 0
	if annotation_ok "$res"; then ok "IPv$fam: every hop's name, AS and AS name match the truth"
	else not_ok "IPv$fam: annotation differs from the truth"; show "$res.bad"; fi
	path=$(jres "$res" '[.traces[0].as_path[] | "\(.asn):\(.first_ttl)-\(.last_ttl)"] | join(" ")')
	expect "IPv$fam: AS path '$path'" [ "$path" = "64500:1-1 4837:2-2 131279:3-4" ]
	borders=$(jres "$res" '[.traces[0].borders[] | "\(.from_asn)>\(.to_asn)@\(.from_ttl)-\(.to_ttl)"] | join(" ")')
	expect "IPv$fam: borders '$borders'" [ "$borders" = "64500>4837@1-2 4837>131279@2-3" ]
	r2=$(node_addr r2 r1-r2 "$fam")
	b=$(jres "$res" '.traces[0].borders[1] | "\(.from) \(.to)"')
	expect "IPv$fam: the AS4837 -> AS131279 border runs from r2 ($b)" [ "${b%% *}" = "$r2" ]
	expect "IPv$fam: run-level transit [4837]" [ "$(jres "$res" '.transit | tostring')" = "[4837]" ]

	txt="$WORK/names-$fam.txt"
	hw trace -"$fam" --dns-server "$DNS" --asn-zone "$ZONE" --transit 4837 "$(addr d "$fam")" >"$txt" 2>"$txt.err"
	line=$(grep -E '^ 2 ' "$txt")
	want="r2-r1-r2.v$fam.example ($r2) [AS4837 CHINA169-BACKBONE]"
	if [[ $line == *"$want"* && $line == *"[border AS64500 → AS4837]"* ]]; then
		ok "IPv$fam text: hop 2 reads '$want' and marks the border"
	else
		not_ok "IPv$fam text: hop 2 is '$line'"
		show "$txt"
	fi
	expect "IPv$fam text: AS path line" grep -q '^as path: AS64500 1 → AS4837 2 (transit) → AS131279 3-4$' "$txt"
	expect "IPv$fam text: transit border line" grep -q '^border: hop 2 → 3  AS4837 → AS131279 .*\[transit\]$' "$txt"
done

# The run's cache: traces to d and to r3 share r1, r2, r3; each is asked once.
before=$(grep -c 'query\[PTR\]' "$WORK/dnsmasq.log")
res="$WORK/twice.json"
hwjson "$res" --dns-server "$DNS" --asn-zone "$ZONE" "$(addr d 4)" "$(node_addr r3 r2-r3 4)"
after=$(grep -c 'query\[PTR\]' "$WORK/dnsmasq.log")
n=$(jq '[.traces[].addresses[].addr] | length' "$res")
distinct=$(jq '[.traces[].addresses[].addr] | unique | length' "$res")
expect "cache: $((after - before)) PTR questions for $distinct distinct of $n addresses" \
	[ "$((after - before))" = "$distinct" -a "$n" -gt "$distinct" ]

# A server that never answers: the trace ends within the DNS timeout, and says so.
res="$WORK/silent.json"
start=$(date +%s%N)
hwjson "$res" --dns-server "$SILENT" --dns-timeout 1 "$(addr d 4)"
took=$((($(date +%s%N) - start) / 1000000))
expect "silent DNS server: exit status $HW_RC, expected 0" [ "$HW_RC" = 0 ]
expect "silent DNS server: done in ${took} ms (< 2500)" [ "$took" -lt 2500 ]
bad=$(jres "$res" '[.traces[0].addresses[] | select(.name_status != "failed" or .asn_status != "failed")] | length')
expect "silent DNS server: every lookup failed ($bad not)" [ "$bad" = 0 ]
expect "silent DNS server: no name, no asn in replies" \
	[ "$(jres "$res" '[.traces[0].hops[].replies[] | select(.name or .asn)] | length')" = 0 ]
hw trace --dns-server "$SILENT" --dns-timeout 1 "$(addr d 4)" >"$WORK/silent.txt" 2>&1
expect "silent DNS server: text says AS?" grep -q '^ 1  198.18.1.2 \[benchmark, AS?\]' "$WORK/silent.txt"

# A local pfx2as table with --no-dns: its ASes, no DNS question at all. hopwatch reads it
# after giving up root (as nobody here): it must be readable by the user.
chmod o+x "$WORK"
chmod o+r "$WORK/pfx2as.txt"
before=$(grep -c 'query\[' "$WORK/dnsmasq.log")
res="$WORK/table.json"
hwjson "$res" --no-dns --asn-table "$WORK/pfx2as.txt" --dns-server "$DNS" "$(addr d 6)"
after=$(grep -c 'query\[' "$WORK/dnsmasq.log")
expect "--no-dns --asn-table: no DNS question ($((after - before)))" [ "$after" = "$before" ]
got=$(jres "$res" '[.traces[0].hops[].replies[0].asn] | map(tostring) | join(" ")')
expect "--no-dns --asn-table: ASes from the table ($got)" [ "$got" = "65002 65000 65003 65003" ]
expect "--no-dns --asn-table: names not asked" \
	[ "$(jres "$res" '[.traces[0].addresses[] | select(.name_status != "none")] | length')" = 0 ]

# -n is names only, as in traceroute: no PTR question, but the AS lookups still go out
# (origins over DNS, or with a table the AS names of its ASes).
before_ptr=$(grep -c 'query\[PTR\]' "$WORK/dnsmasq.log")
before_txt=$(grep -c 'query\[TXT\]' "$WORK/dnsmasq.log")
res_n="$WORK/names-off.json"
hwjson "$res_n" -n --dns-server "$DNS" --asn-zone "$ZONE" "$(addr d 4)"
ptr=$(($(grep -c 'query\[PTR\]' "$WORK/dnsmasq.log") - before_ptr))
txt=$(($(grep -c 'query\[TXT\]' "$WORK/dnsmasq.log") - before_txt))
expect "-n: no PTR question ($ptr), AS questions still asked ($txt)" [ "$ptr" = 0 -a "$txt" -gt 0 ]
expect "-n: every hop has its AS and AS name, no name" \
	[ "$(jres "$res_n" '[.traces[0].hops[].replies[] | select(.asn == null or .as_name == null or .name != null)] | length')" = 0 ]

# hopwatch annotate: the stored run gets its names and DNS ASes; the table run's file
# read back keeps its annotation.
out="$WORK/annotated.json"
timeout 30 ip netns exec "$V" "$HOPWATCH" annotate --dns-server "$DNS" --asn-zone "$ZONE" \
	--transit AS4837 -o "$out" "$res" 2>"$out.err"
rc=$?
expect "annotate: exit status $rc, expected 0" [ "$rc" = 0 ]
expect "annotate: --transit AS4837 in the run" [ "$(jres "$out" '.transit | tostring')" = "[4837]" ]
if annotation_ok "$out"; then ok "annotate: names and ASes of the stored run match the truth"
else not_ok "annotate: annotation differs"; show "$out.bad" "$out.err"; fi
timeout 30 "$HOPWATCH" annotate -n --no-asn --asn-table "$WORK/pfx2as.txt" --format text - <"$res" >"$WORK/reread.txt" 2>&1
expect "annotate -n --no-asn from stdin, text: table ASes shown" grep -q ' \[AS65000\] ' "$WORK/reread.txt"

# annotate latest: the store's newest run (the -n run above, without names),
# annotated again over DNS and kept as a new run.
old_id=$("$HOPWATCH" runs --format json --limit 1 | jq -r '.[0].id')
timeout 30 ip netns exec "$V" "$HOPWATCH" annotate --dns-server "$DNS" --asn-zone "$ZONE" \
	--save latest >"$WORK/save.out" 2>"$WORK/save.err"
rc=$?
expect "annotate --save latest: exit status $rc, expected 0" [ "$rc" = 0 ]
expect "annotate --save without -o writes no document" [ ! -s "$WORK/save.out" ]
new_id=$("$HOPWATCH" runs --format json --limit 1 | jq -r '.[0].id')
expect "annotate --save: says 'saved as run $new_id'" grep -q "saved as run $new_id\$" "$WORK/save.err"
expect "annotate --save: new run $new_id after run $old_id" [ "$new_id" -gt "$old_id" ]
tag=$("$HOPWATCH" runs --format json --limit 1 | jq -r '.[0].tag')
expect "annotate --save: tagged '$tag'" [ "$tag" = "annotated from run $old_id" ]
"$HOPWATCH" show latest --format json -o "$WORK/saved.json" 2>"$WORK/saved.err"
if annotation_ok "$WORK/saved.json"; then ok "annotate --save: the stored run carries names and ASes matching the truth"
else not_ok "annotate --save: stored annotation differs"; show "$WORK/saved.json.bad" "$WORK/save.err"; fi
"$HOPWATCH" annotate --no-dns --asn-table "$WORK/pfx2as.txt" --format text "$old_id" >"$WORK/byid.txt" 2>&1
expect "annotate by store id $old_id, text: table ASes shown" grep -q "^as path: AS65002 1 → AS65000 2 → AS65003 3-4$" "$WORK/byid.txt"
finish

#!/bin/bash
# The run store: trace keeps each run (runs lists it, show gives back the JSON trace wrote,
# run-level fields such as --transit included); --no-store keeps nothing; kill -9 midway
# (while traces are spooled, and inside the commit's transaction) leaves the earlier runs
# whole and no partial run;
# a read-only or damaged store makes trace say so in one line and exit 2, output printed,
# nothing lost; two traces at once both land; under sudo the store is the invoking user's,
# as plain root (privileges given to nobody) it still works.
. "$(dirname "$0")/lib.sh"
require_hopwatch
command -v sqlite3 >/dev/null || skip "the sqlite3 command is not installed"

lab_up diamond2
dst=$(addr d 4)
dst6=$(addr d 6)
S="$WORK/s1/runs.db" # a directory that does not exist yet: trace makes it

nruns() { "$HOPWATCH" runs --store "$1" --format json | jq length; }
# one_line RC FILE TEXT: exit status 2 and one line on stderr (FILE) that contains TEXT.
one_line() { [ "$1/$(wc -l <"$2")" = 2/1 ] && grep -qF -- "$3" "$2"; }

# --- a run is stored, listed, and shown as trace wrote it ---
# --transit: a run-level field of the run document, which the store must keep too.
hw trace --store "$S" --tag lab1 --multipath -q 2 --transit 64500,64501 -o "$WORK/r1.json" \
	"$dst" "$dst6" 2>"$WORK/r1.err"
expect "trace with a store: exit 0 ($HW_RC)" [ "$HW_RC" = 0 ]
expect "the store file was created" [ -s "$S" ]
"$HOPWATCH" runs --store "$S" >"$WORK/runs.txt" 2>&1
expect "runs lists one run tagged lab1 with 2/2 traces done" \
	grep -Eq "^1 .* lab1 +2/2$" "$WORK/runs.txt"
show "$WORK/runs.txt"
"$HOPWATCH" runs --store "$S" --format json >"$WORK/runs.json"
expect "runs --format json: the run's options name the method and multipath" \
	[ "$(jq -r '.[0].options' "$WORK/runs.json")" = \
	  "method=udp dport=33434 flow=0 tos=0 first=1 max=30 q=0 multipath=lite confidence=95" ]
"$HOPWATCH" show latest --store "$S" --format json >"$WORK/show1.json"
if diff <(jq -S . "$WORK/r1.json") <(jq -S . "$WORK/show1.json") >"$WORK/show1.diff"; then
	ok "show latest --format json equals the JSON trace -o wrote"
else
	not_ok "show latest differs from trace's JSON"
	show "$WORK/show1.diff"
fi
expect "the run's transit list made it through the store" \
	[ "$(jq -c .transit "$WORK/show1.json")" = "[64500,64501]" ]
expect "the multipath links made it through the store" \
	[ "$(jq '[.traces[].links | length] | add' "$WORK/show1.json")" -gt 0 ]
HOPWATCH_STORE="$S" "$HOPWATCH" show 1 -o "$WORK/show1b.json"
expect "HOPWATCH_STORE names the store; show -o FILE.json writes JSON" \
	cmp -s "$WORK/show1.json" "$WORK/show1b.json"
"$HOPWATCH" show "$WORK/r1.json" --format json >"$WORK/show-file.json"
expect "show reads a JSON run file as RUN" cmp -s "$WORK/show1.json" "$WORK/show-file.json"
"$HOPWATCH" show latest --store "$S" >"$WORK/show1.txt"
expect "show latest as text names the run and its traces" \
	grep -q "^run 1, .*tag lab1" "$WORK/show1.txt"
expect "runs --target selects by destination" \
	[ "$("$HOPWATCH" runs --store "$S" --format json --target "$dst6" | jq length)" = 1 ]
expect "runs --target with another address lists nothing" \
	[ "$("$HOPWATCH" runs --store "$S" --format json --target 198.18.250.1 | jq length)" = 0 ]
expect "runs --since 1h lists it, --since 2099-01-01 does not" \
	[ "$("$HOPWATCH" runs --store "$S" --format json --since 1h | jq length)/$("$HOPWATCH" runs --store "$S" --format json --since 2099-01-01 | jq length)" = 1/0 ]

# RUNs that name nothing: one line, exit 2.
bad_run() {
	"$HOPWATCH" show "$1" --store "$S" >/dev/null 2>"$WORK/bad.err"
	local rc=$?
	expect "show $1: exit 2, one line saying '$2'" one_line "$rc" "$WORK/bad.err" "$2"
}
bad_run 99 "no run 99"
bad_run latest~1 "no run latest~1"
bad_run nonsense "not a run id, latest, latest~N or a JSON run file"
bad_run "$WORK/nothere.json" "cannot read"
echo '{"schema": "hopwatch-run", "version": 99}' >"$WORK/v99.json"
bad_run "$WORK/v99.json" "newer"
"$HOPWATCH" runs --store "$WORK/none.db" >/dev/null 2>"$WORK/none.err"
expect "runs on a store not yet made: exit 2, one line, nothing created" \
	[ "$?/$(wc -l <"$WORK/none.err")" = 2/1 ] && [ ! -e "$WORK/none.db" ]

# --- --no-store keeps nothing ---
hw trace --store "$S" --no-store -q 1 "$dst" >/dev/null 2>&1
expect "--no-store: exit 0 and still one run in the store" [ "$HW_RC/$(nruns "$S")" = 0/1 ]

# --- kill -9 in the middle of a long run ---
hw trace --store "$S" --tag second -q 1 "$dst" >/dev/null 2>&1
"$HOPWATCH" show 1 --store "$S" --format json >"$WORK/before-kill.json"
"$HOPWATCH" show latest --store "$S" --format json >"$WORK/before-kill2.json"
# 128 destinations of which one answers, one probe in flight each at 50 probes/s: a long
# run, killed once its first traces are out (and so in the store's spool).
timeout "$HW_TIMEOUT" ip netns exec "$V" "$HOPWATCH" trace --store "$S" --tag killed \
	--rate 50 -N 1 -q 1 -w 1 --per-prefix 32 "${dst%.*}.0/25" >"$WORK/killed.out" 2>&1 &
victim=$!
for _ in $(seq 300); do
	[ "$(grep -c '^stop:' "$WORK/killed.out")" -ge 2 ] && break
	sleep 0.1
done
# $victim is timeout; its child, ip netns exec, has become hopwatch.
pid=$(pgrep -P "$victim" -f -- "--tag killed")
expect "the trace is still running, to be killed" [ -n "$pid" ]
[ -n "$pid" ] && kill -9 "$pid"
wait "$victim" 2>/dev/null
expect "the killed trace had printed some traces" grep -q "^hopwatch to" "$WORK/killed.out"
expect "after kill -9: integrity_check ok" \
	[ "$(sqlite3 "$S" 'PRAGMA integrity_check')" = ok ]
expect "after kill -9: the two earlier runs and no partial run" [ "$(nruns "$S")" = 2 ]
expect "after kill -9: no run tagged killed" \
	[ "$("$HOPWATCH" runs --store "$S" --tag killed --format json | jq length)" = 0 ]
"$HOPWATCH" show 1 --store "$S" --format json >"$WORK/after-kill.json"
"$HOPWATCH" show latest --store "$S" --format json >"$WORK/after-kill2.json"
expect "after kill -9: earlier runs show as before" \
	cmp -s "$WORK/before-kill.json" "$WORK/after-kill.json"
expect "after kill -9: the latest run is the one before" \
	cmp -s "$WORK/before-kill2.json" "$WORK/after-kill2.json"

# --- kill -9 inside the commit's transaction ---
# HOPWATCH_TEST_COMMIT_PAUSE (a test hook, docs/store.md) holds the commit for a minute
# after the run's rows are written and before COMMIT; the kill falls inside it.
"$HOPWATCH" runs --store "$S" --format json >"$WORK/before-commit.json"
HOPWATCH_TEST_COMMIT_PAUSE=60000 timeout "$HW_TIMEOUT" ip netns exec "$V" "$HOPWATCH" trace \
	--store "$S" --tag in-commit -q 1 "$dst" >"$WORK/in-commit.out" 2>&1 &
victim=$!
# From BEGIN IMMEDIATE to COMMIT the trace holds the store's write lock: wait for that.
locked=no
for _ in $(seq 300); do
	if ! sqlite3 -cmd ".timeout 0" "$S" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; then
		locked=yes
		break
	fi
	sleep 0.1
done
expect "the trace reached its commit (the store's write lock is held)" [ "$locked" = yes ]
expect "the trace had printed its run" grep -q "^stop: completed" "$WORK/in-commit.out"
sleep 0.3 # its two INSERTs take milliseconds; the pause a minute
pid=$(pgrep -P "$victim" -f -- "--tag in-commit")
expect "the trace is still there to kill" [ -n "$pid" ]
[ -n "$pid" ] && kill -9 "$pid"
wait "$victim" 2>/dev/null
expect "kill -9 in the commit: integrity_check ok" \
	[ "$(sqlite3 "$S" 'PRAGMA integrity_check')" = ok ]
"$HOPWATCH" runs --store "$S" --format json >"$WORK/after-commit.json"
expect "kill -9 in the commit: the same runs listed as before, none tagged in-commit" \
	cmp -s "$WORK/before-commit.json" "$WORK/after-commit.json"
expect "kill -9 in the commit: no trace without its run" \
	[ "$(sqlite3 "$S" 'SELECT count(*) FROM traces WHERE run_id NOT IN (SELECT id FROM runs)')" = 0 ]
"$HOPWATCH" show 1 --store "$S" --format json >"$WORK/after-commit1.json"
"$HOPWATCH" show latest --store "$S" --format json >"$WORK/after-commit2.json"
expect "kill -9 in the commit: earlier runs show as before" \
	cmp -s "$WORK/before-kill.json" "$WORK/after-commit1.json"
expect "kill -9 in the commit: the latest run is the one before" \
	cmp -s "$WORK/before-kill2.json" "$WORK/after-commit2.json"
hw trace --store "$S" --tag after-commit -q 1 "$dst" >/dev/null 2>"$WORK/after-commit.err"
expect "the next trace stores fine ($HW_RC)" [ "$HW_RC/$(nruns "$S")" = 0/3 ]
show "$WORK/after-commit.err"
expect "the next trace's run is the latest" \
	[ "$("$HOPWATCH" show latest --store "$S" --format json | jq -r .tag)" = after-commit ]

# --- two traces at once, one store ---
for k in a b; do
	timeout "$HW_TIMEOUT" ip netns exec "$V" "$HOPWATCH" trace --store "$S" --tag "both-$k" \
		--rate 30 -q 2 "$dst" "$dst6" >/dev/null 2>"$WORK/both-$k.err" &
	eval "pid_$k=$!"
done
wait "$pid_a"; rc_a=$?
wait "$pid_b"; rc_b=$?
expect "two traces at once: both exit 0 ($rc_a, $rc_b)" [ "$rc_a/$rc_b" = 0/0 ]
expect "two traces at once: both stored" [ "$(nruns "$S")" = 5 ]
show "$WORK/both-a.err" "$WORK/both-b.err"

# --- a damaged store: one line, exit 2, output printed, file untouched ---
cp "$S" "$WORK/good.db"
D="$WORK/damaged.db"
head -c 20000 "$WORK/good.db" >"$D"
cp "$D" "$WORK/damaged.orig"
touch -d @1000000000 "$D"
hw trace --store "$D" -q 1 "$dst" >"$WORK/damaged.out" 2>"$WORK/damaged.err"
expect "damaged store: exit 2" [ "$HW_RC" = 2 ]
expect "damaged store: one line on stderr naming the file" \
	one_line "$HW_RC" "$WORK/damaged.err" "$D"
show "$WORK/damaged.err"
expect "damaged store: the trace was printed" grep -q "^stop: completed" "$WORK/damaged.out"
expect "damaged store: the file is untouched (bytes, mtime)" \
	[ "$(cmp -s "$D" "$WORK/damaged.orig" && stat -c %Y "$D")" = 1000000000 ]
expect "damaged store: runs refuses it with exit 2" \
	bash -c "! '$HOPWATCH' runs --store '$D' >/dev/null 2>&1"
printf 'not a database, just text that is long enough to hold a header..........................................\n' >"$WORK/text.db"
hw trace --store "$WORK/text.db" -q 1 "$dst" >/dev/null 2>"$WORK/text.err"
expect "a text file as store: exit 2, one line saying it is not SQLite" \
	one_line "$HW_RC" "$WORK/text.err" "not an SQLite database"

# --- a read-only store (its file system mounted read-only) ---
R="$WORK/ro"
mkdir -p "$R"
cp "$WORK/good.db" "$R/runs.db"
timeout "$HW_TIMEOUT" ip netns exec "$V" unshare -m sh -c \
	"mount --bind '$R' '$R' && mount -o remount,ro,bind '$R' && '$HOPWATCH' runs --store '$R/runs.db' --format json >'$WORK/ro.json' && exec '$HOPWATCH' trace --store '$R/runs.db' -q 1 '$dst'" \
	>"$WORK/ro.out" 2>"$WORK/ro.err"
rc=$?
expect "read-only media: runs lists the store's 5 runs" [ "$(jq length "$WORK/ro.json")" = 5 ]
expect "read-only store: exit 2 ($rc), one line on stderr" [ "$rc/$(wc -l <"$WORK/ro.err")" = 2/1 ]
show "$WORK/ro.err"
expect "read-only store: the trace was printed" grep -q "^stop: completed" "$WORK/ro.out"
expect "read-only store: nothing lost" cmp -s "$R/runs.db" "$WORK/good.db"
expect "read-only store: the line says why" grep -q "Read-only file system" "$WORK/ro.err"

# --- under sudo: the store is the invoking user's ---
uid=$(id -u nobody)
gid=$(id -g nobody)
U="$WORK/sudo/sub/runs.db"
SUDO_UID=$uid SUDO_GID=$gid hw trace --store "$U" -q 1 "$dst" >/dev/null 2>"$WORK/sudo.err"
expect "SUDO_UID: exit 0" [ "$HW_RC" = 0 ]
show "$WORK/sudo.err"
owners=$(stat -c '%u:%g' "$WORK/sudo" "$WORK/sudo/sub" "$U" | sort -u | tr '\n' ' ')
expect "SUDO_UID: the directories and the store made belong to $uid:$gid ($owners)" \
	[ "$owners" = "$uid:$gid " ]
SUDO_UID=$uid SUDO_GID=$gid hw trace --store "$U" -q 1 "$dst" >/dev/null 2>&1
expect "SUDO_UID: a second run lands in it" [ "$HW_RC/$(nruns "$U")" = 0/2 ]
left=$(find "$WORK/sudo" ! -user "$uid" | wc -l)
expect "SUDO_UID: nothing under the store's directory belongs to anybody else" [ "$left" = 0 ]

# The default place under sudo: the invoking user's home, not root's (a user made for it).
if command -v useradd >/dev/null; then
	user="hwst$$"
	home="$WORK/home-$user"
	chmod 755 "$WORK"
	if useradd -M -d "$home" -s /usr/sbin/nologin "$user" 2>/dev/null; then
		trap 'userdel "$user" 2>/dev/null; _lab_cleanup' EXIT
		mkdir -p "$home"
		chown "$user:" "$home"
		SUDO_UID=$(id -u "$user") SUDO_GID=$(id -g "$user") HOME=/root HOPWATCH_STORE= \
			XDG_DATA_HOME=/root/.local/share hw trace -q 1 "$dst" >/dev/null 2>"$WORK/home.err"
		f="$home/.local/share/hopwatch/runs.db"
		expect "sudo, default store: in the user's home ($HW_RC)" [ "$HW_RC" = 0 ] && [ -s "$f" ]
		show "$WORK/home.err"
		expect "sudo, default store: owned by the user" [ "$(stat -c %U "$f")" = "$user" ]
		expect "sudo, default store: .local/share made the user's too" \
			[ "$(stat -c %U "$home/.local" "$home/.local/share" | sort -u)" = "$user" ]
		userdel "$user" 2>/dev/null
	fi
	chmod 700 "$WORK"
fi

# --- plain root: gives root up to nobody, still stores (opened before) ---
P="$WORK/roothome"
mkdir -p "$P"
for n in 1 2; do
	HOME="$P" HOPWATCH_STORE= XDG_DATA_HOME= hw trace -q 1 "$dst" >/dev/null 2>"$WORK/root.err"
	expect "plain root, run $n: exit 0 ($HW_RC)" [ "$HW_RC" = 0 ]
	show "$WORK/root.err"
done
expect "plain root: both runs in \$HOME/.local/share/hopwatch/runs.db" \
	[ "$(nruns "$P/.local/share/hopwatch/runs.db")" = 2 ]
finish

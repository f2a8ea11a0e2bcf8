#!/bin/bash
# Privilege: with only CAP_NET_RAW (file capability) hopwatch traces as an ordinary user;
# without it, it says so in one line and exits 2; run as root, it gives root up before
# reading the network (the process ends up owned by the sudo user, not root).
. "$(dirname "$0")/lib.sh"
require_hopwatch
command -v setcap >/dev/null || skip "setcap (libcap2-bin) is not installed"

lab_up chain
dst=$(addr d 4)
capbin="$WORK/hopwatch-cap"
cp "$HOPWATCH" "$capbin"
chmod 755 "$WORK" "$capbin"
as_nobody() { timeout "$HW_TIMEOUT" ip netns exec "$V" setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }

if ! setcap cap_net_raw+ep "$capbin" 2>"$WORK/setcap.err"; then
	skip "this filesystem keeps no file capabilities: $(cat "$WORK/setcap.err")"
fi
as_nobody "$capbin" trace --no-store --format json "$dst" >"$WORK/cap.json" 2>"$WORK/cap.json.err"
HW_RC=$?
hwcheck "CAP_NET_RAW only, as nobody: the trace completes" "$WORK/cap.json" 0

as_nobody "$HOPWATCH" trace "$dst" >"$WORK/nocap.out" 2>"$WORK/nocap.err"
rc=$?
lines=$(wc -l <"$WORK/nocap.err")
if [ "$rc" = 2 ] && [ "$lines" = 1 ] && grep -q "CAP_NET_RAW" "$WORK/nocap.err"; then
	ok "no privilege: exit 2 and one line naming CAP_NET_RAW"
else
	not_ok "no privilege: exit $rc, $lines lines on stderr"
	show "$WORK/nocap.err"
fi

# As root with SUDO_UID set, the process must run as that user once the sockets are open:
# a slow probe rate keeps it alive long enough to look at it.
uid=$(id -u nobody)
SUDO_UID=$uid SUDO_GID=$(id -g nobody) timeout "$HW_TIMEOUT" ip netns exec "$V" \
	"$HOPWATCH" trace --rate 2 -q 5 --flow 4321 "$dst" >/dev/null 2>&1 &
waiter=$!
owner=""
for _ in $(seq 50); do
	pid=$(pgrep -n -f -- "--flow 4321 $dst" | grep -vx "$waiter" | head -1)
	[ -n "$pid" ] && owner=$(awk '/^Uid:/ {print $2 "/" $3 "/" $4}' "/proc/$pid/status" 2>/dev/null)
	[ -n "$owner" ] && [ "$owner" != "0/0/0" ] && break
	sleep 0.1
done
wait "$waiter"
if [ "$owner" = "$uid/$uid/$uid" ]; then
	ok "root gives up its privileges to SUDO_UID (uid $owner)"
else
	not_ok "after start-up the process runs as '$owner', expected $uid/$uid/$uid"
fi
finish

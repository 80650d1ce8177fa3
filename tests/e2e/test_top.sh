#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# veer top, with web at 80/20 and web6 at 50/50:
# - --batch: the first frame comes at once (no rates yet) and shows each
#   subset's weight; 24 echo streams held open to web show as ACTIVE (the
#   two subsets' together; "-" in cgroup mode, which sees no close, for a
#   subset with connections; 0 for one without, and for web6, which has
#   none); a burst of 1,000 connections to web started
#   after the first frame falls in the second: web's rows count exactly
#   them (CONN/S x seconds), split within 6 binomial standard
#   deviations of 80/20, SHARE says the same split, no failures, and
#   the handshake's median/99th percentile are shown (tc, xdp);
# - the full-screen view in an 80x24 tmux pane (`capture-pane`): every
#   line fits, the rows of web and web6 are there with their weights, `s`
#   sorts by the next column, `r` reverses, `q` ends it with exit 0;
# - without a terminal it refuses with one line pointing at --batch.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

STREAMS=24
N=1000

t_begin top
lab_init jq tmux
lab_up_variant
lab_start_backends
lab_veer_attach
lab_write_config "$LAB_TMP/web.yaml" 80 50
veer apply -f "$LAB_TMP/web.yaml" >/dev/null

# row FRAME_FILE SERVICE SUBSET: that row's fields (SERVICE SUBSET W
# SHARE CONN/S ACTIVE RST/S MB/S), or nothing.
row() { awk -v s="$2" -v b="$3" '$1 == s && $2 == b { print; exit }' "$1"; }

# frame FILE K: the K-th frame (1-based; frames end with an empty line).
frame() { awk -v k="$2" 'BEGIN { RS = ""; FS = "\n" } NR == k { print }' "$1"; }

# Streams held open: ACTIVE counts them.
lab_client_bg "$LAB_TMP/streams.out" stream --addr "$VIP_V4" --port "$VIP_PORT" \
	-n "$STREAMS" --ready-file "$LAB_TMP/streams.ready" --interval-ms 100
STREAM_PID=$LAB_BG_PID
wait_for_file "$LAB_TMP/streams.ready" 10000 || lab_die "the streams did not come up"

veer top --batch 1 >"$LAB_TMP/b1.out" 2>&1
f1=$(frame "$LAB_TMP/b1.out" 1)
v1=$(row <(echo "$f1") web v1) v2=$(row <(echo "$f1") web v2)
a1=$(awk '{ print $6 }' <<<"$v1") a2=$(awk '{ print $6 }' <<<"$v2")
# placed SUBSET: how many connections veer placed on web's SUBSET.
placed() {
	veer stats -o json | jq -r --arg sub "$1" '.services[] |
		select(.name == "web") | .subsets[] | select(.name == $sub) |
		.newConnections'
}
# cgroup mode: placed at connect(), no close is seen: ACTIVE is unknown
# ("-") for a subset with connections; one that never had any (at 80/20,
# 24 streams leave v2 without one in 0.5% of runs) has 0 open in any mode.
active_known() {
	local shown=$1 n
	n=$(placed "$2")
	if ((n > 0)); then
		[[ $shown == - ]]
	else
		[[ $shown == 0 ]]
	fi
}
active_ok() {
	if [[ $LAB_MODE == cgroup ]]; then
		active_known "$1" v1 && active_known "$2" v2
	else
		[[ $1 != - && $2 != - ]] && (($1 + $2 == STREAMS))
	fi
}
if [[ $f1 == *"no rates yet"* && $(awk '{ print $3 }' <<<"$v1") == 80 &&
	$(awk '{ print $3 }' <<<"$v2") == 20 && $(awk '{ print $5 }' <<<"$v1") == - ]] &&
	active_ok "$a1" "$a2"; then
	t_pass "batch, first frame at once: web v1 W 80, v2 W 20, ACTIVE $a1 + $a2 (of $STREAMS streams), no rates"
else
	t_fail "batch, first frame (placed v1 $(placed v1), v2 $(placed v2)): $(tr '\n' '|' <"$LAB_TMP/b1.out")"
fi
# web6 never had a connection: 0 open, known in every mode.
w61=$(row <(echo "$f1") web6 v1) w62=$(row <(echo "$f1") web6 v2)
if [[ $(awk '{ print $6 }' <<<"$w61") == 0 && $(awk '{ print $6 }' <<<"$w62") == 0 ]]; then
	t_pass "batch, first frame: web6, never connected to, shows ACTIVE 0 for v1 and v2"
else
	t_fail "batch, first frame: web6 rows: $w61 | $w62"
fi

# The burst starts once the first frame is out and ends before the second
# (checked: top still running), so the second frame holds all of it. Its
# count is CONN/S x the interval (printed to the millisecond): exact.
veer top --batch 2 -d 8000 web >"$LAB_TMP/b2.out" 2>&1 &
TOP_PID=$!
LAB_PIDS+=("$TOP_PID")
wait_until 10000 grep -q "no rates yet" "$LAB_TMP/b2.out" || lab_die "no first frame"
count_burst web "$N" "$LAB_TMP/burst.out"
kill -0 "$TOP_PID" 2>/dev/null ||
	t_fail "the burst of $N outlasted top's 8 s interval: the frame cannot hold it all"
wait "$TOP_PID" || t_fail "veer top --batch 2 failed: $(tr '\n' '|' <"$LAB_TMP/b2.out")"
f2=$(frame "$LAB_TMP/b2.out" 2)
secs=$(sed -n '1s/.* last \([0-9.]*\) s .*/\1/p' <<<"$f2")
v1=$(row <(echo "$f2") web v1) v2=$(row <(echo "$f2") web v2)
n1=$(awk -v s="$secs" '{ printf "%d", $5 * s + 0.5 }' <<<"$v1")
n2=$(awk -v s="$secs" '{ printf "%d", $5 * s + 0.5 }' <<<"$v2")
share2=$(awk '{ print $4 }' <<<"$v2")
# split_ok reads "v1 N / v2 N / errors 0" lines, as the clients print them.
printf 'v1 %s\nv2 %s\nerrors 0\n' "$n1" "$n2" >"$LAB_TMP/top-split.out"
# The handshakes were seen (tc, xdp): FAIL/S 0.0 and a median/p99 pair
# ("8u/32u"); cgroup mode sees neither handshake nor failure: "-".
hs=$(awk '{ print $9 }' <<<"$v1") fails=$(awk '{ print $7 }' <<<"$v1")
hs_ok() {
	if [[ $LAB_MODE == cgroup ]]; then
		[[ $hs == - && $fails == - ]]
	else
		[[ $hs =~ ^[0-9.]+[ums]/[0-9.]+[ums]$ && $fails == 0.0 ]]
	fi
}
if [[ -n $secs ]] && ((n1 + n2 == N)) && split_ok "$LAB_TMP/top-split.out" "$N" 80 && hs_ok &&
	awk -v s="$share2" -v n="$n2" -v t="$N" 'BEGIN { d = s - 100 * n / t; exit !(d < 0.06 && d > -0.06) }'; then
	t_pass "batch, second frame over $secs s: web v1 $n1 + v2 $n2 = $N connections ($SPLIT_DESC), v2 SHARE $share2, v1 FAIL/S $fails, HS50/99 $hs"
else
	t_fail "batch, second frame: n1=$n1 n2=$n2 secs=$secs share=$share2: $(tr '\n' '|' <<<"$f2")"
fi

# The full-screen view, in tmux (80x24).
# A tmux server of its own (-L), killed with the lab's processes.
SESSION=top
EXIT_FILE=$LAB_TMP/top.exit
tmx() { tmux -L "veer-top-$$" "$@"; }
tmx new-session -d -s "$SESSION" -x 80 -y 24 \
	"TERM=xterm nsenter --net=/run/netns/$NS_NODE -- $VEER_BIN --pin-root $VEER_PIN_ROOT top -d 300; echo \$? >$EXIT_FILE"
LAB_PIDS+=("$(tmx display-message -p '#{pid}')")
screen() { tmx capture-pane -p -t "$SESSION" 2>/dev/null; }
shows() { screen | grep -q -- "$1"; }

if wait_until 10000 shows "web6"; then
	screen >"$LAB_TMP/screen1.txt"
	wide=$(awk 'length > 80' "$LAB_TMP/screen1.txt" | wc -l)
	if ((wide == 0)) && [[ $(row "$LAB_TMP/screen1.txt" web v1 | awk '{ print $3 }') == 80 ]] &&
		[[ $(row "$LAB_TMP/screen1.txt" web6 v2 | awk '{ print $3 }') == 50 ]] &&
		grep -q "sorted by conn/s" "$LAB_TMP/screen1.txt" && grep -q "q: quit" "$LAB_TMP/screen1.txt"; then
		t_pass "tmux 80x24: every line fits, web v1 80 and web6 v2 50 shown, sorted by conn/s"
	else
		t_fail "tmux screen: $(tr '\n' '|' <"$LAB_TMP/screen1.txt")"
	fi
else
	t_fail "tmux: no frame with web6: $(screen | tr '\n' '|')"
fi
tmx send-keys -t "$SESSION" s
t_check "s: sorted by the next column (active)" wait_until 5000 shows "sorted by active"
tmx send-keys -t "$SESSION" r
t_check "r: reversed" wait_until 5000 shows "sorted by active, reversed"
tmx send-keys -t "$SESSION" q
if wait_until 5000 test -s "$EXIT_FILE" && [[ $(cat "$EXIT_FILE") == 0 ]]; then
	t_pass "q: veer top ended with exit 0"
else
	t_fail "q: veer top did not end with 0 ($(cat "$EXIT_FILE" 2>/dev/null))"
fi
tmx kill-server 2>/dev/null || true

rc=0
veer top </dev/null >"$LAB_TMP/noterm.out" 2>&1 || rc=$?
if ((rc == 1)) && [[ $(wc -l <"$LAB_TMP/noterm.out") == 1 ]] && grep -q -- "--batch" "$LAB_TMP/noterm.out"; then
	t_pass "no terminal: exit 1, '$(cat "$LAB_TMP/noterm.out")'"
else
	t_fail "no terminal: exit $rc, '$(tr '\n' '|' <"$LAB_TMP/noterm.out")'"
fi

lab_kill "$STREAM_PID"
t_end

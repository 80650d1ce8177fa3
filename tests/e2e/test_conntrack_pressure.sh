#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A small conntrack (--ct-size 64) kept nearly full by 50 long streams,
# with thousands of short connections going through around them and
# weight flips that would move the streams if they were ever placed
# again: not one stream may be reset (the issue saw 6 of 50 reset, with
# half-open and closed entries evicting live ones). Short connections
# run at most 8 at once, so live connections never exceed the table;
# `veer status` must count exactly the streams as established, and warn
# once the table is 90% full.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

CT_SIZE=64
STREAMS=50
EXTRA=8 # 58 of 64: past the 90% warning

t_begin conntrack-pressure
lab_init jq
if [[ $LAB_MODE == cgroup ]]; then
	t_pass "cgroup mode keeps no per-packet conntrack: nothing to fill"
	t_end
fi
LAB_ATTACH_OPTS=(--ct-size "$CT_SIZE" --ct-close-grace 500)
lab_up_variant
lab_start_backends
lab_veer_up 50

# streams N NAME: N echo streams to web; PID in STREAM_PID.
streams() {
	local out=$LAB_TMP/$2.out
	lab_client_bg "$out" stream --addr "$VIP_V4" --port "$VIP_PORT" \
		-n "$1" --ready-file "$LAB_TMP/$2.ready" \
		--progress-file "$LAB_TMP/$2.progress" --timeout-ms 10000
	STREAM_PID=$LAB_BG_PID
	wait_for_file "$LAB_TMP/$2.ready" 15000 "$STREAM_PID" ||
		lab_die "$2: streams not ready: $(tr '\n' ' ' <"$out")"
}

streams "$STREAMS" long
LONG_PID=$STREAM_PID
veer status >"$LAB_TMP/status.out"
if grep -q "^conntrack:  $STREAMS established" "$LAB_TMP/status.out" &&
	! grep -q '^warning:' "$LAB_TMP/status.out"; then
	t_pass "status: $STREAMS established, no warning at $((100 * STREAMS / CT_SIZE))% full"
else
	t_fail "status: $(grep -A3 '^conntrack' "$LAB_TMP/status.out" | tr -s ' ' | tr '\n' ' ')"
fi
veer weight web v1=100 v2=0 >/dev/null

stalls=0
errors=0
for round in 1 2 3 4 5; do
	lab_client count --addr "$VIP_V4" --port "$VIP_PORT" -n 1000 -c 8 \
		--timeout-ms 3000 >"$LAB_TMP/burst.out" 2>&1 || true
	errors=$((errors + $(count_of "$LAB_TMP/burst.out" errors)))
	veer weight web v1=0 v2=100 >/dev/null
	veer weight web v1=100 v2=0 >/dev/null
	b0=$(count_of "$LAB_TMP/long.progress" bytes_verified)
	kill -USR2 "$LONG_PID"
	wait_until 10000 streams_progressed "$LAB_TMP/long.progress" "$round" "$b0" \
		"$STREAMS" "$LONG_PID" && kill -0 "$LONG_PID" ||
		stalls=$((stalls + 1))
done
if ((stalls == 0 && errors == 0)); then
	t_pass "5000 short connections (8 at once) and 10 flips: every stream progressed each round"
else
	t_fail "short connections: $errors errors, $stalls rounds with stalled streams ($(tr '\n' ' ' <"$LAB_TMP/long.progress"))"
fi

streams "$EXTRA" extra
EXTRA_PID=$STREAM_PID
veer status >"$LAB_TMP/status.out"
if grep -q "^conntrack:  $((STREAMS + EXTRA)) established" "$LAB_TMP/status.out" &&
	grep -q '^warning:    conntrack is 9[0-9]% full' "$LAB_TMP/status.out"; then
	t_pass "status: $((STREAMS + EXTRA)) established and a warning: $(grep '^warning' "$LAB_TMP/status.out" | cut -c13-60)..."
else
	t_fail "status at $((STREAMS + EXTRA)) streams: $(grep -A4 '^conntrack' "$LAB_TMP/status.out" | tr -s ' ' | tr '\n' ' ')"
fi

for pid in "$EXTRA_PID" "$LONG_PID"; do
	kill -TERM "$pid" 2>/dev/null || true
	wait_until 20000 _lab_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
done
rc=0
wait "$LONG_PID" || rc=$?
out=$LAB_TMP/long.out
if ((rc == 0 && $(count_of "$out" connections) == STREAMS &&
	$(count_of "$out" resets) == 0 && $(count_of "$out" corrupt_bytes) == 0 &&
	$(count_of "$out" errors) == 0)); then
	t_pass "$STREAMS streams closed cleanly: 0 resets, 0 corrupt bytes"
else
	t_fail "streams (exit $rc): $(grep -v '^veer-testclient' "$out" | tr '\n' ' ')"
fi
if veer status | grep -q "^            0 established entries evicted"; then
	t_pass "status: 0 established entries evicted"
else
	t_fail "status: $(veer status | grep evicted)"
	# What the count is derived from (cmd_view.c print_ct_evictions).
	veer stats -o json | jq -c '[.services[] | {name, c: [(.subsets[], .unattributed) |
		{handshakesCompleted, connectionsClosed, conntrackEntriesRestored,
		 conntrackMisses, conntrackMissesPlaced, conntrackInsertsFailed}]}]' >&2
	ct_live_dump | head -n 20 | sed 's/^/    entry: /' >&2
fi

# Overload on purpose: 300 streams to web6, whose weights never changed,
# in a table for 64 (plus the LRU's per-CPU slack). The LRU evicts
# established entries one at a time; every stream must survive: an entry
# evicted alone is restored from its sibling (on either side), a pair
# evicted whole is placed again from its first segment with data (its
# placement never moved), and every byte is echoed. Only a close can be
# lost (below). Status must count the evictions and warn.
OVER=300
lab_client_bg "$LAB_TMP/over.out" stream --addr "$VIP_V6" --port "$VIP_PORT" \
	-n "$OVER" --ready-file "$LAB_TMP/over.ready" \
	--progress-file "$LAB_TMP/over.progress" --timeout-ms 10000
OVER_PID=$LAB_BG_PID
if wait_for_file "$LAB_TMP/over.ready" 15000 "$OVER_PID"; then
	b0=$(count_of "$LAB_TMP/over.progress" bytes_verified)
	kill -USR2 "$OVER_PID"
	wait_until 15000 streams_progressed "$LAB_TMP/over.progress" 1 "$b0" "$OVER" \
		"$OVER_PID" || true
fi
veer status >"$LAB_TMP/status-over.out"
evicted=$(awk '/established entries evicted/ { print $1 }' "$LAB_TMP/status-over.out")
kept=$(veer stats web6 -o json | jq '[.services[0] | (.subsets[], .unattributed) |
	.conntrackMissesPlaced + .conntrackEntriesRestored] | add')
kill -TERM "$OVER_PID" 2>/dev/null || true
wait_until 20000 _lab_gone "$OVER_PID" || kill -KILL "$OVER_PID" 2>/dev/null || true
wait "$OVER_PID" || true
out=$LAB_TMP/over.out
# (the exit status is not used: the stream client's own verdict is in
# its counters, checked below)
# A stream whose every byte came back but whose close never completed is
# the one loss the design allows under overload: a pair evicted whole
# after its last data segment is not placed again from a bare FIN (bare
# late segments bring nothing back, issue 10), so such a close times out.
# It is counted and shown, not excused silently; any other error fails.
lost=$(count_of "$out" closes_lost)
if ((${evicted:-0} > 0 && ${kept:-0} > 0)) &&
	grep -q '^warning:    conntrack is [0-9]*% full' "$LAB_TMP/status-over.out" &&
	(($(count_of "$out" connections) == OVER && $(count_of "$out" resets) == 0 &&
		$(count_of "$out" errors) == ${lost:-0} &&
		$(count_of "$out" corrupt_bytes) == 0)); then
	t_pass "$OVER streams in a 64-connection table: $evicted entries evicted (status counts them and warns), $kept restored or placed again, 0 resets, every byte echoed; ${lost:-0} closes lost to a bare FIN after a whole-pair eviction"
else
	t_fail "overload: evicted ${evicted:-?}, restored ${kept:-?}, status: $(grep -E 'evicted|warning' "$LAB_TMP/status-over.out" | tr -s ' '); streams: $(grep -v '^veer-testclient' "$out" | tr '\n' ' ')"
fi
# Nothing of the overload may stay behind: the drain check below counts
# what is left once every connection closed.
t_check_ct_drained
t_check_client_rsts
t_end

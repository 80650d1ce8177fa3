#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Live weight flips, IPv4 (web) and IPv6 (web6). 64 long-lived, echo-verified
# stream connections are opened at 50/50; then the weights go
# 100/0 -> 0/100 -> 50/50 ten times (30 `veer weight` calls). After every
# flip a burst of new connections must follow the new weights (exact for
# 100/0 and 0/100, within SPLIT_SIGMAS sd for 50/50) and every stream
# connection must verify more echoed bytes. At the end the streams must
# close cleanly: no reset, no corrupt byte, every connection verified
# bytes. The per-subset new-connection counters of `veer stats -o json`
# must have moved by exactly the connections each version answered.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

STREAMS=${VEER_E2E_STREAMS:-64}
ROUNDS=${VEER_E2E_ROUNDS:-10}
BURST=${VEER_E2E_BURST:-200}

t_begin live-flip
lab_init jq bpftool
lab_up_variant
lab_start_backends
lab_veer_up 50

# new_conns SERVICE SUBSET: the subset's newConnections counter.
new_conns() {
	veer stats "$1" -o json |
		jq -e --arg s "$1" --arg sub "$2" \
			'.services[] | select(.name == $s) | .subsets[] |
			 select(.name == $sub) | .newConnections'
}

flip_service() {
	local svc=$1 vip sv1 sv2 spid out prog ready round w b0 mark=0 rc
	local flips=0 bad_bursts=0 stalls=0 seen_v1=0 seen_v2=0 t0 dv1 dv2
	vip=$(vip_of "$svc")
	out=$LAB_TMP/stream-$svc.out
	prog=$LAB_TMP/stream-$svc.progress
	ready=$LAB_TMP/stream-$svc.ready

	veer weight "$svc" v1=50 v2=50 >/dev/null
	if ! sv1=$(new_conns "$svc" v1) || ! sv2=$(new_conns "$svc" v2); then
		t_fail "$svc: veer stats -o json has no newConnections for v1/v2"
		return
	fi

	lab_client_bg "$out" stream --addr "$vip" \
		--port "$VIP_PORT" -n "$STREAMS" --ready-file "$ready" \
		--progress-file "$prog" --timeout-ms 10000
	spid=$LAB_BG_PID
	if ! wait_for_file "$ready" 15000 "$spid"; then
		t_fail "$svc: $STREAMS stream connections not ready: $(tr '\n' ' ' <"$out")"
		lab_kill "$spid"
		return
	fi
	t_pass "$svc: $STREAMS stream connections up and echoing at 50/50"

	t0=$(now_ms)
	for ((round = 1; round <= ROUNDS; round++)); do
		for w in 100 0 50; do
			flips=$((flips + 1))
			b0=$(count_of "$prog" bytes_verified)
			if ! veer weight "$svc" "v1=$w" "v2=$((100 - w))" \
				>"$LAB_TMP/weight.out" 2>&1; then
				t_fail "$svc flip $flips: veer weight v1=$w v2=$((100 - w)) failed: $(head -n1 "$LAB_TMP/weight.out")"
				continue
			fi
			mark=$((mark + 1))
			kill -USR2 "$spid" 2>/dev/null || true

			# (i) new connections follow the new weights at once.
			count_burst "$svc" "$BURST" "$LAB_TMP/burst.out"
			seen_v1=$((seen_v1 + $(count_of "$LAB_TMP/burst.out" v1)))
			seen_v2=$((seen_v2 + $(count_of "$LAB_TMP/burst.out" v2)))
			if ! split_ok "$LAB_TMP/burst.out" "$BURST" "$w"; then
				bad_bursts=$((bad_bursts + 1))
				t_fail "$svc flip $flips to $w/$((100 - w)): burst of $BURST: $SPLIT_DESC"
			fi

			# (ii) every live stream keeps flowing on its old backend.
			if ! wait_until 10000 streams_progressed "$prog" "$mark" "$b0" \
				"$STREAMS" "$spid" ||
				! kill -0 "$spid" 2>/dev/null; then
				stalls=$((stalls + 1))
				t_fail "$svc flip $flips to $w/$((100 - w)): streams made no progress: $(tr '\n' ' ' <"$prog" 2>/dev/null)"
				kill -0 "$spid" 2>/dev/null || break 2
			fi
		done
	done
	if ((bad_bursts == 0 && stalls == 0 && flips == 3 * ROUNDS)); then
		t_pass "$svc: $flips live flips in $(($(now_ms) - t0)) ms, every burst of $BURST followed the weights, every stream progressed after each flip"
	fi

	kill -TERM "$spid" 2>/dev/null || true
	wait_until 20000 _lab_gone "$spid" || kill -KILL "$spid" 2>/dev/null || true
	rc=0
	wait "$spid" || rc=$?
	local conns resets corrupt verified errs unverified changes sv
	conns=$(count_of "$out" connections)
	resets=$(count_of "$out" resets)
	corrupt=$(count_of "$out" corrupt_bytes)
	verified=$(count_of "$out" bytes_verified)
	errs=$(count_of "$out" errors)
	unverified=$(count_of "$out" unverified_connections)
	changes=$(count_of "$out" version_changes)
	sv=$(awk '$1 == "version" { printf "%s%s %s", s, $2, $3; s = ", " }' "$out")
	if ((rc == 0 && conns == STREAMS && resets == 0 && corrupt == 0 &&
		errs == 0 && unverified == 0 && changes == 0)); then
		t_pass "$svc: streams closed cleanly: $conns connections ($sv), $verified bytes verified, 0 resets, 0 corrupt"
	else
		t_fail "$svc: streams (exit $rc): $(grep -v '^veer-testclient' "$out" | tr '\n' ' ')"
		grep '^veer-testclient' "$out" | head -n 5 >&2 || true
	fi

	# Stream connections count for the version that answered them too.
	seen_v1=$((seen_v1 + $(key_of "$out" version v1)))
	seen_v2=$((seen_v2 + $(key_of "$out" version v2)))
	dv1=$(($(new_conns "$svc" v1) - sv1))
	dv2=$(($(new_conns "$svc" v2) - sv2))
	if ((dv1 == seen_v1 && dv2 == seen_v2 && dv1 > 0 && dv2 > 0)); then
		t_pass "$svc: veer stats newConnections moved by v1 +$dv1 v2 +$dv2, as observed by the clients"
	else
		t_fail "$svc: veer stats newConnections moved by v1 +$dv1 v2 +$dv2; clients saw v1 $seen_v1 v2 $seen_v2"
	fi
}

flip_service web
flip_service web6

t_check_ct_drained
t_check_client_rsts

t_end

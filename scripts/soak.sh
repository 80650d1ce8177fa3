#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Soak: everything a busy, hostile node sees at once, for a while, in the
# namespace lab (scripts/lib/lab.sh). For DURATION seconds (default 600):
#   - 64 long echo-verified streams (32 IPv4, 32 IPv6) run throughout;
#   - every round: a weight flip of both services to a random split, 200 +
#     200 short connections, a SYN flood of 5,000 spoofed sources
#     (bounded: one burst a round), and a check that every stream made
#     progress since the round began;
#   - every third round: an apply of 100 decoy services moving to new VIPs,
#     killed with SIGKILL at a random write (veer's test hook
#     VEER_TEST_SIGNAL_AT), then applied again to completion;
#   - halfway: one in-place upgrade (veer attach --upgrade).
# At the end: 0 resets and 0 corrupt bytes on the streams, 0 errors on the
# short connections, nothing left established, and the only half-open
# entries the flood's. A summary goes to build/soak/summary.txt; exit 0
# only if every check held.
#
#   scripts/soak.sh [-d SECONDS] [-m tc|xdp] [-s SEED]
#
# Root; `make soak` builds and runs it (SOAK_ARGS passes options). Not
# part of `make test`.
set -euo pipefail

DURATION=600
SEED=1
MODE=tc
while getopts "d:m:s:" opt; do
	case $opt in
	d) DURATION=$OPTARG ;;
	m) MODE=$OPTARG ;;
	s) SEED=$OPTARG ;;
	*)
		echo "usage: scripts/soak.sh [-d SECONDS] [-m tc|xdp] [-s SEED]" >&2
		exit 2
		;;
	esac
done
[[ $DURATION =~ ^[1-9][0-9]*$ && $SEED =~ ^[1-9][0-9]*$ ]] || {
	echo "soak: -d and -s take positive integers" >&2
	exit 2
}
[[ $MODE == tc || $MODE == xdp ]] || {
	echo "soak: -m takes tc or xdp" >&2
	exit 2
}
export VEER_E2E_MODE=$MODE
. "$(dirname "${BASH_SOURCE[0]}")/lib/lab.sh"

OUT=$LAB_BUILD/soak
STREAMS=32
DECOYS=100
GRACE_MS=1000
SPOOF=$LAB_BUILD/veer-spoof
RANDOM=$SEED

t_begin soak
lab_init jq bpftool ss "$SPOOF"
mkdir -p "$OUT"
LAB_ATTACH_OPTS=(--ct-close-grace "$GRACE_MS")
lab_up_variant
lab_start_backends
lab_veer_up 50
NODE_MAC=$(ip -n "$NS_NODE" link show "$NODE_DEV" |
	awk '$1 == "link/ether" { print $2 }')

# decoys FILE NET: DECOYS services at NET.x (100/0), for killed applies.
decoys() {
	local i
	{
		echo "services:"
		for ((i = 0; i < DECOYS; i++)); do
			cat <<EOF
  - name: decoy$i
    vip: $2.$((i + 1))
    port: 80
    subsets:
      - name: v1
        weight: 100
        backends: [$V1_V4:$BACKEND_PORT]
EOF
		done
	} >"$1"
}
decoys "$LAB_TMP/decoys-a.yaml" 10.98.0
decoys "$LAB_TMP/decoys-b.yaml" 10.98.1
veer apply -f "$LAB_TMP/decoys-a.yaml" >/dev/null

declare -A PID
for svc in web web6; do
	lab_client_bg "$LAB_TMP/$svc.out" stream --addr "$(vip_of "$svc")" \
		--port "$VIP_PORT" -n "$STREAMS" --ready-file "$LAB_TMP/$svc.ready" \
		--progress-file "$LAB_TMP/$svc.progress" --timeout-ms 10000
	PID[$svc]=$LAB_BG_PID
	wait_for_file "$LAB_TMP/$svc.ready" 15000 "$LAB_BG_PID" ||
		lab_die "$svc streams not ready: $(cat "$LAB_TMP/$svc.out")"
done

start=$(now_ms)
deadline=$((start + DURATION * 1000))
round=0
short=0
short_errors=0
stalls=0
kills=0
repairs_failed=0
upgraded=0
flood=0
while (($(now_ms) < deadline)); do
	round=$((round + 1))
	for svc in web web6; do
		kill -USR2 "${PID[$svc]}"
	done
	w=$(((RANDOM % 11) * 10))
	veer weight web "v1=$w" "v2=$((100 - w))" >/dev/null
	veer weight web6 "v1=$((100 - w))" "v2=$w" >/dev/null
	for svc in web web6; do
		count_burst "$svc" 200 "$LAB_TMP/burst.out"
		short=$((short + 200))
		short_errors=$((short_errors + $(count_of "$LAB_TMP/burst.out" errors)))
		[[ $(awk '$1 != "errors" { t += $2 } END { print t + 0 }' "$LAB_TMP/burst.out") == 200 ]] ||
			short_errors=$((short_errors + 1))
	done
	lab_exec "$NS_CLIENT" "$SPOOF" --dev "$LEAF_DEV" --dst-mac "$NODE_MAC" \
		flood --src-prefix 10.20 --dst "$VIP_V4" --dport "$VIP_PORT" \
		-n 5000 --seed "$((SEED * 100000 + round))" >/dev/null
	flood=$((flood + 5000))
	if ((round % 3 == 0)); then
		target=$LAB_TMP/decoys-a.yaml
		(((round / 3) % 2)) && target=$LAB_TMP/decoys-b.yaml
		at=$((1 + RANDOM % (2 * DECOYS)))
		rc=0
		VEER_TEST_SIGNAL_AT=$at veer apply -f "$target" >/dev/null 2>&1 || rc=$?
		kills=$((kills + (rc == 137)))
		veer apply -f "$target" >/dev/null 2>&1 || repairs_failed=$((repairs_failed + 1))
	fi
	if ((!upgraded && $(now_ms) >= start + DURATION * 500)); then
		veer attach --upgrade >"$LAB_TMP/upgrade.out" 2>&1 ||
			lab_log "soak: upgrade failed: $(cat "$LAB_TMP/upgrade.out")"
		upgraded=1
	fi
	for svc in web web6; do
		if ! wait_until 15000 streams_progressed "$LAB_TMP/$svc.progress" \
			"$round" 0 "$STREAMS" "${PID[$svc]}" || ! kill -0 "${PID[$svc]}" 2>/dev/null; then
			stalls=$((stalls + 1))
			lab_log "soak: round $round: $svc streams stalled: $(tr '\n' ' ' <"$LAB_TMP/$svc.progress")"
		fi
	done
done
elapsed=$((($(now_ms) - start) / 1000))

if ((stalls == 0)); then
	t_pass "$round rounds in ${elapsed} s: every stream progressed every round"
else
	t_fail "$stalls stalled rounds of $round"
fi
if ((short_errors == 0)); then
	t_pass "$short short connections, 0 errors"
else
	t_fail "$short short connections, $short_errors errors"
fi
if ((kills == round / 3 && repairs_failed == 0)); then
	t_pass "$kills applies killed mid-write (SIGKILL), each repaired by the next apply"
else
	t_fail "applies: $kills killed of $((round / 3)), $repairs_failed repairs failed"
fi
if ((upgraded)) && grep -q "1 attach point" "$LAB_TMP/upgrade.out"; then
	t_pass "one in-place upgrade: $(tail -n1 "$LAB_TMP/upgrade.out" | cut -c1-60)..."
else
	t_fail "upgrade: $(cat "$LAB_TMP/upgrade.out" 2>/dev/null)"
fi
for svc in web web6; do
	kill -TERM "${PID[$svc]}" 2>/dev/null || true
	wait_until 20000 _lab_gone "${PID[$svc]}" || kill -KILL "${PID[$svc]}" 2>/dev/null || true
	rc=0
	wait "${PID[$svc]}" || rc=$?
	f=$LAB_TMP/$svc.out
	if ((rc == 0 && $(count_of "$f" resets) == 0 && $(count_of "$f" corrupt_bytes) == 0 &&
		$(count_of "$f" errors) == 0 && $(count_of "$f" connections) == STREAMS)); then
		t_pass "$svc: $STREAMS streams, $(count_of "$f" bytes_verified) bytes verified, 0 resets, 0 corrupt"
	else
		t_fail "$svc streams (exit $rc): $(grep -v '^veer-testclient' "$f" | tr '\n' ' ')"
	fi
done

if wait_until 10000 ct_only_flood_left; then
	t_pass "conntrack back to baseline: $CT_LEFT"
else
	t_fail "conntrack not back to baseline: $CT_LEFT"
fi
t_check_client_rsts

{
	echo "soak: mode $MODE, seed $SEED, $elapsed s, $round rounds"
	echo "short connections: $short ($short_errors errors); SYN flood: $flood spoofed"
	echo "killed applies: $kills; upgrades: $upgraded; stalled rounds: $stalls"
	veer stats web | sed -n '/HANDSHAKES/,$p'
	veer stats web6 | sed -n '/HANDSHAKES/,$p' | tail -n +2
	veer status | sed -n '/^conntrack/,$p'
	echo "checks: $T_PASS passed, $T_FAIL failed"
} | tee "$OUT/summary.txt"
t_end

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Reproducer (not part of `make test`: no test_ prefix) for the rare
# client reset test_istio.sh and test_objects.sh saw in xdp mode: back to
# back bursts of veer-httpclient to two VIPs that share the v1 backend
# (A: 10.96.0.20:80, v1/v2 weighted REPRO_WA (default 50); B:
# 10.96.0.30:8080, all v1), so one client port is used towards both VIPs
# in turn and lands on the same backend tuple. Runs REPRO_ROUNDS rounds
# (default 20) of one burst to A (REPRO_NA connections, default 1000)
# and one to B (REPRO_NB, default 500), with the capture rings of
# lab_cap_start; stops at the first burst with an error and prints
# lab_burst_diag (failed ports' segments at every capture point and their
# conntrack entries). REPRO_RECREATE=1 deletes and re-creates B before
# each of its bursts (the "first burst after the service was created" of
# the CI failures). VEER_E2E_MODE (default here: xdp) and VEER_E2E_TX as
# for the tests. Exit 0: no error in any burst; 1: one was caught.
set -euo pipefail
: "${VEER_E2E_MODE:=xdp}"
export VEER_E2E_MODE
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

ROUNDS=${REPRO_ROUNDS:-20}
NA=${REPRO_NA:-1000}
NB=${REPRO_NB:-500}
WA=${REPRO_WA:-50}
RECREATE=${REPRO_RECREATE:-0}
VIP_A=10.96.0.20
PORT_A=80
VIP_B=10.96.0.30
PORT_B=8080

t_begin repro_xdp_reset
lab_init jq bpftool "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends "$BACKEND_PORT"
lab_veer_attach
lab_cap_start

# write_config FILE WITH_B: service A, and B if WITH_B is 1.
write_config() {
	cat >"$1" <<EOF
services:
  - name: a
    vip: $VIP_A
    port: $PORT_A
    subsets:
      - name: v1
        weight: $WA
        backends: [$V1_V4:$BACKEND_PORT]
      - name: v2
        weight: $((100 - WA))
        backends: [$V2_V4:$BACKEND_PORT]
EOF
	if [[ $2 == 1 ]]; then
		cat >>"$1" <<EOF
  - name: b
    vip: $VIP_B
    port: $PORT_B
    subsets:
      - name: v1
        weight: 100
        backends: [$V1_V4:$BACKEND_PORT]
      - name: v2
        weight: 0
        backends: [$V2_V4:$BACKEND_PORT]
EOF
	fi
}

apply() {
	write_config "$LAB_TMP/repro.yaml" "$1"
	veer apply -f "$LAB_TMP/repro.yaml" >"$LAB_TMP/apply.log" 2>&1 || {
		cat "$LAB_TMP/apply.log" >&2
		lab_die "veer apply failed"
	}
}

BURSTS=0
# burst ADDR PORT N: returns 1 (after the diagnostics) if any connection
# failed.
burst() {
	local out
	BURSTS=$((BURSTS + 1))
	out=$LAB_TMP/burst-$BURSTS.out
	lab_http_client count --addr "$1" --port "$2" -n "$3" -c 32 \
		--timeout-ms 5000 --fail-ports >"$out" 2>"$out.err" || true
	if (($(count_of "$out" errors) != 0)); then
		echo "burst $BURSTS to $1:$2 ($3 connections): $(oneline "$out") $(oneline "$out.err")"
		lab_burst_diag "$out.err"
		return 1
	fi
	echo "burst $BURSTS to $1:$2 ($3 connections): $(oneline "$out")"
}

apply 1
for ((r = 1; r <= ROUNDS; r++)); do
	burst "$VIP_A" "$PORT_A" "$NA" || break
	if ((RECREATE)); then
		apply 0
		apply 1
	fi
	burst "$VIP_B" "$PORT_B" "$NB" || break
done
if ((r > ROUNDS)); then
	t_pass "$ROUNDS rounds, $BURSTS bursts, no connection failed"
else
	t_fail "round $r: a burst had failed connections (diagnostics above)"
fi
# REPRO_DIAG_ALWAYS=1: the diagnostics anyway, with the port of the
# client's last captured segment as if it had failed (to see them work).
if [[ ${REPRO_DIAG_ALWAYS:-0} == 1 ]]; then
	echo "veer-httpclient: failed reset local port $(_lab_port_of_seg "$(lab_cap_read client | tail -n 1)")" >"$LAB_TMP/fake.err"
	lab_burst_diag "$LAB_TMP/fake.err"
fi
t_end

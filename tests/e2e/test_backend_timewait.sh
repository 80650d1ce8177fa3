#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A client port reused towards another VIP while the shared backend still
# holds that port's older connection in TIME_WAIT. veer translates the
# destination only, so both VIPs' connections from one client port are
# one tuple at the backend. Services a (10.96.0.60:80) and b
# (10.96.0.61:8080) share both backends (50/50 over v1 and v2, port 8080);
# the load's port range is narrowed to 1,024 ports so that reuse is
# certain:
#
# - a burst of 300 connections to a with "Connection: close": the server
#   closes first and keeps TIME_WAIT (checked: TIME_WAIT sockets in the
#   backends' namespaces);
# - then 300 connections to b (in even rounds the other way round): many
#   take a port a's connections used, on the same backend. The client's
#   ISN and timestamps are its own for the tuple it dials (b's VIP),
#   unrelated to the old connection's, so the backend's TIME_WAIT refuses
#   about half of those SYNs (PAWS) with an ACK of the old stream; the
#   client answers with an RST at that ACK's number, which must reach the
#   backend (veer used to drop it as out of the window, and the
#   connection hung until TIME_WAIT ran out), and its SYN retransmission
#   opens the connection. Every connection must succeed (5 s timeout), a
#   and b must count no out-of-window RST, and in tc and xdp mode the
#   backends must have refused SYNs by PAWS in TIME_WAIT (the case was
#   exercised).
#
# Three rounds. cgroup mode: connect() dials the backend itself, so the
# client's ISN and timestamps are those of the backend's tuple and the
# backend accepts them; the same bursts must succeed.
#
# The client sends RSTs here by design (answers to stale ACKs), so the
# lab's "client sent no RST" check does not apply.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

N=${VEER_E2E_TW_N:-300}
ROUNDS=${VEER_E2E_TW_ROUNDS:-3}
A_VIP=10.96.0.60
A_PORT=80
B_VIP=10.96.0.61
B_PORT=8080

t_begin backend_timewait
lab_init jq nstat ss "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
LOAD_NS=$NS_CLIENT
[[ $LAB_MODE == cgroup ]] && LOAD_NS=$NS_NODE
_sysctl "$LOAD_NS" net.ipv4.ip_local_port_range="20000 21023"
lab_start_http_backends "$BACKEND_PORT"
lab_veer_attach

cat >"$LAB_TMP/tw.yaml" <<EOF
services:
  - name: a
    vip: $A_VIP
    port: $A_PORT
    subsets:
      - {name: v1, weight: 50, backends: [$V1_V4:$BACKEND_PORT]}
      - {name: v2, weight: 50, backends: [$V2_V4:$BACKEND_PORT]}
  - name: b
    vip: $B_VIP
    port: $B_PORT
    subsets:
      - {name: v1, weight: 50, backends: [$V1_V4:$BACKEND_PORT]}
      - {name: v2, weight: 50, backends: [$V2_V4:$BACKEND_PORT]}
EOF
veer apply -f "$LAB_TMP/tw.yaml" >"$LAB_TMP/apply.log" 2>&1 || {
	cat "$LAB_TMP/apply.log" >&2
	lab_die "veer apply failed"
}

# netstat_of NS FIELD: a TcpExt/Tcp counter (nstat's name) in NS, or 0.
netstat_of() {
	lab_exec "$1" nstat -asz "$2" 2>/dev/null | awk -v f="$2" '$1 == f { print $2 }' |
		grep . || echo 0
}

# backends_sum FIELD: FIELD over both backends' namespaces.
backends_sum() {
	echo $(($(netstat_of "$NS_V1" "$1") + $(netstat_of "$NS_V2" "$1")))
}

# time_waits: TIME_WAIT sockets in both backends' namespaces.
time_waits() {
	echo $(($(lab_exec "$NS_V1" ss -Htan state time-wait | wc -l) +
		$(lab_exec "$NS_V2" ss -Htan state time-wait | wc -l)))
}

# burst NAME ADDR PORT [ARGS...]: N connections, one request each; passes
# if every one succeeded.
burst() {
	local name=$1 addr=$2 port=$3 out
	shift 3
	out=$LAB_TMP/$name.out
	lab_http_client count --addr "$addr" --port "$port" -n "$N" -c 32 \
		--timeout-ms 5000 "$@" >"$out" 2>"$out.err" || true
	if split_ok "$out" "$N" 50; then
		t_pass "$name: $N connections to $addr:$port, none failed: $SPLIT_DESC"
	else
		t_fail "$name: $N connections to $addr:$port: $SPLIT_DESC"
	fi
	return 0
}

# Odd rounds close a's connections at the server and dial b from the
# same ports, even rounds the other way round. Kernels that offset TCP
# timestamps by address pair only (no ports) give every connection to one
# VIP the same offset: whether b's SYNs pass a's TIME_WAIT by PAWS is then
# decided once per boot by the two offsets, and one of the two orders is
# refused whichever they are.
for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then
		first=(a "$A_VIP" "$A_PORT") then=(b "$B_VIP" "$B_PORT")
	else
		first=(b "$B_VIP" "$B_PORT") then=(a "$A_VIP" "$A_PORT")
	fi
	burst "round $round: ${first[0]}, server closes first" "${first[@]:1}" \
		-H 'Connection: close'
	tw=$(time_waits)
	if ((tw > 0)); then
		t_pass "round $round: the backends hold $tw connections in TIME_WAIT"
	else
		t_fail "round $round: no TIME_WAIT socket in the backends' namespaces (the server did not close first)"
	fi
	burst "round $round: ${then[0]}, the same client ports" "${then[@]:1}"
done

# Kernels before 6.16 have no TcpExtPAWSTimewait: there the client's RSTs
# (which here only answer a TIME_WAIT's stale ACK, by design) say it.
rsts=$(netstat_of "$LOAD_NS" TcpOutRsts)
retrans=$(netstat_of "$LOAD_NS" TcpExtTCPSynRetrans)
if lab_exec "$NS_V1" nstat -asz TcpExtPAWSTimewait 2>/dev/null |
	grep -q '^TcpExtPAWSTimewait'; then
	paws=$(backends_sum TcpExtPAWSTimewait) evidence="PAWSTimewait"
else
	paws=$rsts evidence="client RSTs (no PAWSTimewait counter on this kernel)"
fi
if [[ $LAB_MODE == cgroup ]]; then
	t_pass "cgroup mode: SYNs refused by a backend's TIME_WAIT (PAWS): $paws, client RSTs $rsts, SYN retransmissions $retrans"
elif ((paws > 0)); then
	t_pass "backends refused $paws SYNs in TIME_WAIT (PAWS, by $evidence); the client answered with $rsts RSTs and $retrans SYN retransmissions"
else
	t_fail "no SYN was refused by a backend's TIME_WAIT ($evidence 0): the case was not exercised"
fi
oow=$(veer stats -o json 2>/dev/null | jq '[.services[] | select(.name == "a" or .name == "b") |
	.. | .resetsOutOfWindow? | numbers] | add // 0' 2>/dev/null || echo "?")
if [[ $oow == 0 ]]; then
	t_pass "a and b: no client RST dropped as out of the window"
else
	t_fail "a and b: $oow RSTs dropped as out of the window (the client's answers to stale ACKs?)"
fi

t_check_ct_drained
t_end

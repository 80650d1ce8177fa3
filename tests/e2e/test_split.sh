#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Weighted split, IPv4 (web) and IPv6 (web6): 100/0 and 0/100 are exact over
# 500 connections; 80/20 over 2000 connections lands within 6 binomial
# standard deviations of the expected v2 count. In cgroup mode, node
# processes outside the cgroup are not load-balanced, and an IPv6 socket
# dialling the IPv4 VIP as ::ffff:VIP is balanced like an IPv4 one. IPv6
# clients whose packets carry hop-by-hop and destination options headers
# are split like the others.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

t_begin split
lab_init jq bpftool
lab_up_variant
lab_start_backends
lab_veer_up 100

# step SERVICE V1_WEIGHT N
step() {
	local svc=$1 w1=$2 n=$3 out="$LAB_TMP/count-$1-$2.out"
	if ! veer weight "$svc" "v1=$w1" "v2=$((100 - w1))" >"$out.veer" 2>&1; then
		t_fail "$svc $w1/$((100 - w1)): veer weight failed: $(head -n1 "$out.veer")"
		return
	fi
	count_burst "$svc" "$n" "$out"
	if split_ok "$out" "$n" "$w1"; then
		t_pass "$svc $w1/$((100 - w1)) over $n connections: $SPLIT_DESC"
	else
		t_fail "$svc $w1/$((100 - w1)) over $n connections: $SPLIT_DESC"
	fi
}

for svc in web web6; do
	step "$svc" 100 500
	step "$svc" 0 500
	step "$svc" 80 2000
done

# web6 is at 80/20. Every packet from these clients has a hop-by-hop and
# a destination options header before TCP: the node must step over them
# (else the SYN to the VIP goes untranslated, and the VIP is unreachable).
out=$LAB_TMP/count-web6-ipv6-options.out
lab_client count --addr "$VIP_V6" --port "$VIP_PORT" -n 2000 -c 32 \
	--timeout-ms 3000 --ipv6-options >"$out" 2>"$out.err" || true
if split_ok "$out" 2000 80; then
	t_pass "web6 80/20 over 2000 connections with IPv6 options headers: $SPLIT_DESC"
else
	t_fail "web6 80/20 over 2000 connections with IPv6 options headers: $SPLIT_DESC"
fi

# cgroup mode: veer serves the processes of the cgroup it is attached to and
# nothing else. A node process outside it that dials a VIP is not
# rewritten, and the node has no route to the VIPs: every connect() fails
# as unreachable. (tc and xdp: nothing to check, the node never dials.)
if [[ $LAB_MODE == cgroup ]]; then
	# web is at 80/20 from the last step. An IPv6 socket reaches the IPv4
	# VIP as ::ffff:VIP (the kernel runs only the connect6 hook for it);
	# getpeername must report that address back (--expect-peer).
	out=$LAB_TMP/count-web-v4mapped.out
	count_burst_to "::ffff:$VIP_V4" "$VIP_PORT" 2000 "$out"
	if split_ok "$out" 2000 80; then
		t_pass "web via ::ffff:$VIP_V4 (IPv6 socket) 80/20 over 2000 connections: $SPLIT_DESC"
	else
		t_fail "web via ::ffff:$VIP_V4 (IPv6 socket) 80/20 over 2000 connections: $SPLIT_DESC"
	fi

	for svc in web web6; do
		out=$LAB_TMP/outside-$svc.out
		lab_exec "$NS_NODE" "$TESTCLIENT" count --addr "$(vip_of "$svc")" \
			--port "$VIP_PORT" -n 4 --timeout-ms 3000 >"$out" 2>"$out.err" || true
		if (($(count_of "$out" errors) == 4)) && grep -q 'unreachable=4' "$out.err"; then
			t_pass "$svc: a node process outside the cgroup is not load-balanced (4 connects to the VIP unreachable)"
		else
			t_fail "$svc: a node process outside the cgroup: $(tr '\n' ' ' <"$out") $(tr '\n' ' ' <"$out.err") (want 4 unreachable)"
		fi
	done
fi

t_check_ct_drained
t_check_client_rsts

t_end

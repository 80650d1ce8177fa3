#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Path MTU discovery through the VIP, IPv4 and IPv6, with a bottleneck on
# each side of the node that the endpoints' MSS does not cover:
#
#   C2 10.10.5.2 fd10:5::2 (the client here)
#    |  the client namespace routes for it: 1280 bytes toward C2
#   CLIENT 10.10.5.1 / 10.10.1.2
#    |
#   NODE (veer on to-client): 1400 bytes toward the backends
#    |
#   V1 (all traffic, weights 100/0)
#
# Every interface stays at 1500, so both ends advertise an MSS of 1460
# (1440); the bottlenecks are the hops' forwarding MTUs (route MTUs,
# locked: IPv6 forwarding honours only locked ones). A lower device MTU
# on a veth would not do: veth drops a frame larger than the receiving
# device's MTU without any ICMP, which blackholes the other direction
# for reasons that have nothing to do with veer.
#
# C2's segments to the VIP are too big for the node's hop: the node
# sends "fragmentation needed" / "packet too big" quoting client ->
# backend, which veer's egress program must turn into client -> VIP for
# C2 to find its socket. V1's echoes are too big for the client
# namespace's hop: it sends the error to the VIP, quoting VIP -> C2,
# which veer's ingress program (TC or XDP) must send on to V1 as
# backend -> C2. Untranslated, either error is dropped by the TCP stack
# it reaches, and the streams stall with nothing echoed. The checks:
# echo-verified streams move far more than 20,000 bytes per connection
# each way, both endpoints learned the bottleneck's MTU, and the node
# counted translated errors.
#
# cgroup mode: the node's own processes connect straight to the backend
# (socket LB, no NAT on the path) and their TCP sees the node's route MTU
# itself; the same streams run from the cgroup and must pass, no ICMP
# involved.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

STREAMS=${VEER_E2E_PMTU_STREAMS:-4}
MIN_BYTES=20000
NODE_MTU=1400
CLIENT_MTU=1280
NS_C2=${LAB_ID}-c2
C2_V4=10.10.5.2
C2_V6=fd10:5::2
C2_DEV=to-c2

t_begin icmp-pmtu
lab_init jq
LAB_NAMESPACES+=("$NS_C2")
lab_up_variant

# The node's hop toward the backends.
ip -n "$NS_NODE" route add "$V1_V4/32" dev "$NODE_DEV_V1" mtu lock "$NODE_MTU"
ip -n "$NS_NODE" route add "$V2_V4/32" dev "$NODE_DEV_V2" mtu lock "$NODE_MTU"
ip -n "$NS_NODE" -6 route add "$V1_V6/128" dev "$NODE_DEV_V1" mtu lock "$NODE_MTU"
ip -n "$NS_NODE" -6 route add "$V2_V6/128" dev "$NODE_DEV_V2" mtu lock "$NODE_MTU"

if [[ $LAB_MODE != cgroup ]]; then
	# C2 behind the client namespace, which forwards with a smaller MTU.
	_link "$NS_CLIENT" "$C2_DEV" "$NS_C2" "$LEAF_DEV"
	if [[ $T_VARIANT == *,tx-off ]]; then
		lab_exec "$NS_CLIENT" ethtool -K "$C2_DEV" tx off >/dev/null
		lab_exec "$NS_C2" ethtool -K "$LEAF_DEV" tx off >/dev/null
	fi
	ip -n "$NS_CLIENT" addr add 10.10.5.1/24 dev "$C2_DEV"
	ip -n "$NS_CLIENT" addr add fd10:5::1/64 dev "$C2_DEV" nodad
	_sysctl "$NS_CLIENT" net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
	ip -n "$NS_CLIENT" route add "$C2_V4/32" dev "$C2_DEV" mtu lock "$CLIENT_MTU"
	ip -n "$NS_CLIENT" -6 route add "$C2_V6/128" dev "$C2_DEV" mtu lock "$CLIENT_MTU"
	ip -n "$NS_C2" addr add "$C2_V4/24" dev "$LEAF_DEV"
	ip -n "$NS_C2" addr add "$C2_V6/64" dev "$LEAF_DEV" nodad
	ip -n "$NS_C2" route add default via 10.10.5.1
	ip -n "$NS_C2" -6 route add default via fd10:5::1
	ip -n "$NS_NODE" route add 10.10.5.0/24 via "$CLIENT_V4"
	ip -n "$NS_NODE" -6 route add fd10:5::/64 via "$CLIENT_V6"
fi

lab_start_backends
lab_veer_up 100

# stats_sum SERVICE FIELD: a counter of `veer stats -o json` over all rows.
stats_sum() {
	veer stats "$1" -o json | jq --arg s "$1" --arg f "$2" \
		'[.services[] | select(.name == $s) | (.subsets[], .unattributed) |
		  (.[$f] // 0)] | add // 0'
}

# stream_from OUT ARGS...: the echo streams, from C2 (tc, xdp) or the
# node's cgroup (cgroup mode). Never fails the script.
stream_from() {
	local out=$1
	shift
	if [[ $LAB_MODE == cgroup ]]; then
		lab_client stream "$@" >"$out" 2>"$out.err" || true
	else
		lab_exec "$NS_C2" "$TESTCLIENT" stream "$@" >"$out" 2>"$out.err" || true
	fi
}

# pmtu_of NS DST: the path MTU NS has learned toward DST (its route
# cache exception), or nothing.
pmtu_of() {
	lab_exec "$1" ip route get "$2" 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }' |
		head -n1
}

for svc in web web6; do
	vip=$(vip_of "$svc")
	out=$LAB_TMP/stream-$svc.out
	i0=$(stats_sum "$svc" icmpErrorsTranslated)
	# 16 KiB writes: every one needs segments the bottlenecks refuse.
	stream_from "$out" --addr "$vip" --port "$VIP_PORT" -n "$STREAMS" \
		--chunk 16384 --inflight 65536 --interval-ms 1 \
		--duration-ms 1500 --timeout-ms 10000
	i1=$(stats_sum "$svc" icmpErrorsTranslated)
	bytes=$(count_of "$out" bytes_verified)
	errs=$(count_of "$out" errors)
	resets=$(count_of "$out" resets)
	corrupt=$(count_of "$out" corrupt_bytes)
	desc="$bytes bytes echoed over $STREAMS connections, errors $errs, resets $resets, corrupt $corrupt"
	[[ -s $out.err ]] && desc+=" ($(head -c 300 "$out.err" | tr '\n' ' '))"
	if ((bytes >= MIN_BYTES * STREAMS && errs == 0 && resets == 0 &&
		corrupt == 0)); then
		t_pass "$svc: $desc"
	else
		t_fail "$svc: $desc, want at least $((MIN_BYTES * STREAMS)) and no error"
	fi

	if [[ $LAB_MODE == cgroup ]]; then
		t_pass "$svc: cgroup mode: socket LB, no NAT on the path, the node's TCP sees its route MTU ($NODE_MTU) itself (errors translated: $((i1 - i0)))"
		continue
	fi
	c2=$C2_V4
	[[ $svc == web6 ]] && c2=$C2_V6
	m_client=$(pmtu_of "$NS_C2" "$vip")
	m_backend=$(pmtu_of "$NS_V1" "$c2")
	if [[ $m_client == "$NODE_MTU" && $m_backend == "$CLIENT_MTU" ]]; then
		t_pass "$svc: C2 learned path MTU $m_client toward $vip, V1 $m_backend toward $c2"
	else
		t_fail "$svc: learned path MTUs: C2 toward $vip '${m_client}' (want $NODE_MTU), V1 toward $c2 '${m_backend}' (want $CLIENT_MTU)"
	fi
	if ((i1 - i0 >= 2)); then
		t_pass "$svc: the node translated $((i1 - i0)) ICMP errors (icmpErrorsTranslated)"
	else
		t_fail "$svc: the node translated $((i1 - i0)) ICMP errors, want at least 2 (one each way)"
	fi
done

if [[ $LAB_MODE == cgroup ]]; then
	t_check_client_rsts
else
	n=$(tcp_mib "$NS_C2" OutRsts)
	t_check "C2 sent no TCP resets (${n:-?})" test "${n:-x}" = 0
fi
t_end

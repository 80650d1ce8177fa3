#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Loss on delayed-bound HTTP connections (no netem here: veer-drop, a TC
# classifier, drops chosen segments). The service "shop" has one rule
# (X-group: test -> v2) and a default route all to v2, so every connection
# ends on v2 whatever the mode. For each scenario, IPv4 and IPv6,
# veer-drop drops the first matching segment of each of CONNS connections
# (--per-flow), CONNS connections of veer-httpclient run at once (two
# keep-alive POSTs of 3000 bytes each, echoed), and every connection must
# complete with the right bytes, on v2, while veer-drop's counter shows
# exactly CONNS drops:
#   backend SYN        v2's eth0 ingress, SYN          (veer's SYN to v2)
#   backend SYN-ACK    v2's eth0 egress, SYN-ACK
#   replayed request   v2's eth0 ingress, first data   (the request veer
#                                                       replays to v2)
#   first response     v2's eth0 egress, first data
#   veer's SYN-ACK     the client's eth0 ingress, SYN-ACK  (tc, xdp)
#   client's request   the client's eth0 egress, first data (tc, xdp)
# Recovery is by retransmission (the client's, the backend's, and veer
# replaying the held request), so each scenario takes a retransmission
# timeout or two. cgroup mode runs the four backend-side scenarios on its
# plain connect()-time path (no client-side traffic to drop there).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

CONNS=${VEER_E2E_HTTP_LOSS_CONNS:-8}

t_begin http-loss
lab_init jq bpftool "$HTTPSRV" "$HTTPCLIENT" "$DROPTOOL"
lab_up_variant
lab_start_http_backends
lab_veer_attach

lab_write_shop_istio "$LAB_TMP/shop.yaml" 0 group
veer apply -f "$LAB_TMP/shop.yaml" >"$LAB_TMP/apply.out" 2>&1 || {
	cat "$LAB_TMP/apply.out" >&2
	lab_die "veer apply failed"
}

# entry_of FAMILY: shop's entry for FAMILY.
entry_of() { [[ $1 == 4 ]] && echo "$SHOP4" || echo "$SHOP6"; }

SCEN=0
# scenario DESC FAMILY VIP NS DEV DIRECTION MATCH
scenario() {
	local desc=$1 fam=$2 vip=$3 ns=$4 dev=$5 dir=$6 match=$7 name out
	local dropped matched moved port bound
	SCEN=$((SCEN + 1))
	name=s$SCEN
	out=$LAB_TMP/loss-$name.out
	# The client's side sees the VIP's port, the backend's its own.
	port=$BACKEND_PORT
	[[ $ns == "$NS_CLIENT" ]] && port=$VIP_PORT
	lab_drop_start "$name" "$ns" "$dev" "$dir" "$match" --per-flow \
		--count "$CONNS" --port "$port"
	http_counters "$(entry_of "$fam")" >"$out.before"
	lab_http_client count --addr "$vip" --port "$VIP_PORT" -n "$CONNS" \
		-c "$CONNS" -k 2 --post 3000 -H 'X-group: test' \
		--timeout-ms 20000 --stats-file "$out.stats" >"$out" 2>"$out.err" || true
	http_counters "$(entry_of "$fam")" >"$out.after"
	lab_drop_stop "$name"
	dropped=$(drop_count "$name")
	matched=$(drop_count "$name" matched)
	moved=$(join_deltas "$out.before" "$out.after")
	# tc/xdp: the connections really were bound late, by the rule
	# (else this tests the L4 path); cgroup: placed at connect().
	bound=$(http_delta "$out.before" "$out.after" rule0)
	[[ $LAB_MODE == cgroup ]] && bound=$(http_delta "$out.before" "$out.after" unseenDefault)
	if split_ok "$out" "$CONNS" 0 && ((dropped == CONNS)) &&
		[[ ${bound:-0} == "$CONNS" ]]; then
		t_pass "IPv$fam $desc dropped once in each of $CONNS connections ($dropped drops, $matched matches): all completed on v2, bytes exact ($(count_of "$out.stats" bytes_verified) verified); veer http counters: ${moved:-none moved}"
	else
		t_fail "IPv$fam $desc: $SPLIT_DESC; veer-drop dropped $dropped (want $CONNS), matched $matched; $( [[ $LAB_MODE == cgroup ]] && echo unseenDefault || echo rule0) +${bound:-?} (want +$CONNS); client: $(tr '\n' ' ' <"$out.stats" 2>/dev/null); veer http counters: ${moved:-none moved}"
	fi
}

# join_deltas BEFORE AFTER: "name +delta" of every counter that moved.
join_deltas() {
	awk 'FNR == NR { b[$1] = $2; next }
		$2 != b[$1] { printf "%s%s +%d", s, $1, $2 - b[$1]; s = ", " }' "$1" "$2"
}

for fam in 4 6; do
	vip=$SHOP_VIP4
	[[ $fam == 6 ]] && vip=$SHOP_VIP6
	scenario "backend SYN (v2 eth0 ingress)" "$fam" "$vip" "$NS_V2" "$LEAF_DEV" ingress syn
	scenario "backend SYN-ACK (v2 eth0 egress)" "$fam" "$vip" "$NS_V2" "$LEAF_DEV" egress synack
	scenario "replayed request (v2 eth0 ingress, first data)" "$fam" "$vip" "$NS_V2" "$LEAF_DEV" ingress data
	scenario "first response segment (v2 eth0 egress, first data)" "$fam" "$vip" "$NS_V2" "$LEAF_DEV" egress data
	if [[ $LAB_MODE != cgroup ]]; then
		scenario "SYN-ACK to the client (client eth0 ingress)" "$fam" "$vip" "$NS_CLIENT" "$LEAF_DEV" ingress synack
		scenario "client's request (client eth0 egress, first data)" "$fam" "$vip" "$NS_CLIENT" "$LEAF_DEV" egress data
	fi
done

t_check_ct_drained
t_check_client_rsts

t_end

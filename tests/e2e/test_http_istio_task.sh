#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Istio's "Request Routing" task with its own files (examples/reviews/),
# applied as the task applies them: all to v1, then the end-user header
# rule (end-user: jason -> v2). Real HTTP requests through the node, IPv4
# and IPv6: with `end-user: jason` every connection reaches v2, without
# the header or with another user (or `Jason`: values compare exactly)
# every one reaches v1; the rule's and the default route's counters move
# by exactly the connections sent. cgroup mode: node-local clients take
# the default route (v1), counted as unseenDefault.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

N=${VEER_E2E_HTTP_TASK_N:-200}
EX=$LAB_ROOT/examples/reviews
HOST=reviews.default.svc.cluster.local
PORT=9080

t_begin http-istio-task
lab_init jq curl "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends
lab_veer_attach

RULES=1
[[ $LAB_MODE == cgroup ]] && RULES=0

apply_step() {
	local vs=$1
	if veer apply -f "$EX/service.yaml" -f "$EX/destination-rule-reviews.yaml" \
		-f "$EX/$vs" >"$LAB_TMP/apply.out" 2>"$LAB_TMP/apply.err"; then
		t_pass "veer apply $vs: $(tr '\n' '|' <"$LAB_TMP/apply.out")"
	else
		t_fail "veer apply $vs: $(tr '\n' '|' <"$LAB_TMP/apply.err")"
		t_end
	fi
}

# burst DESC ENTRY VIP WANT COUNTER ARGS...: N connections, all to WANT
# (v1 or v2), ENTRY's HTTP counter COUNTER moved by exactly N ("-": a
# service without rules, whose HTTP counters do not move).
burst() {
	local desc=$1 entry=$2 vip=$3 want=$4 counter=$5 out d w1
	shift 5
	if ((!RULES)) && [[ $counter != - ]]; then
		want=v1
		counter=unseenDefault
		desc+=" [cgroup: placed at connect(), default route]"
	fi
	w1=100
	[[ $want == v2 ]] && w1=0
	out=$LAB_TMP/burst-$RANDOM
	http_counters "$entry" >"$out.before"
	lab_http_client count --addr "$vip" --port "$PORT" -n "$N" -c 16 \
		--timeout-ms 10000 --stats-file "$out.stats" "$@" >"$out" 2>"$out.err" || true
	http_counters "$entry" >"$out.after"
	if split_ok "$out" "$N" "$w1"; then
		t_pass "$desc: all $N to $want: $SPLIT_DESC"
	else
		t_fail "$desc: want all $N to $want: $SPLIT_DESC ($(tr '\n' ' ' <"$out.stats" 2>/dev/null))"
	fi
	[[ $counter == - ]] && return
	d=$(http_delta "$out.before" "$out.after" "$counter")
	if [[ $d == "$N" ]]; then
		t_pass "$desc: $counter +$d"
	else
		t_fail "$desc: $counter +${d:-?}, want +$N"
	fi
}

apply_step virtual-service-all-v1.yaml
for fam in 4 6; do
	entry=$HOST:$PORT vip=10.96.0.70
	[[ $fam == 6 ]] && entry=$HOST:$PORT/ipv6 vip=fd00:96::70
	burst "IPv$fam all-v1, end-user: jason" "$entry" "$vip" v1 - -H 'end-user: jason'
done

apply_step virtual-service-reviews-test-v2.yaml
for fam in 4 6; do
	entry=$HOST:$PORT vip=10.96.0.70
	[[ $fam == 6 ]] && entry=$HOST:$PORT/ipv6 vip=fd00:96::70
	burst "IPv$fam end-user: jason" "$entry" "$vip" v2 rule0 -H 'end-user: jason'
	burst "IPv$fam no end-user" "$entry" "$vip" v1 defaultRequests
	burst "IPv$fam end-user: Jason (values compare exactly)" "$entry" "$vip" v1 defaultRequests -H 'end-user: Jason'
	burst "IPv$fam End-User: jason (names in any case)" "$entry" "$vip" v2 rule0 -H 'End-User: jason'
done
t_end

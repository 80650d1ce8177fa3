#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The Istio traffic-shifting lab, without a proxy: a client, a node running
# veer, and two versions of the customers service. As with kubectl, each
# step applies one of the lab's own Istio files (examples/customers), in
# the lab's order: the Service and its pods, the DestinationRule, then the
# VirtualService of each step (all to v1, debug header to v2, canary
# 90/10, 50/50, all to v2); veer keeps every object applied (its object
# store) and the maps hold what they say together. After each step N new
# HTTP connections (veer-httpclient to veer-httpsrv pods) show the split
# veer produced, and the demo stops if it is not the step's (exact for
# 100/0, else within 6 binomial standard deviations); at the debug step,
# N with "user-agent: debug" and N without. Then `veer weight` does what
# `kubectl patch` did (80/20), and deleting the VirtualService spreads
# connections over both pods again. Everything it builds is removed on exit.
#
#   scripts/demo.sh [--ipv6] [-n CONNECTIONS]
#
# Needs root and a build (make). Uses its own pin root under /sys/fs/bpf.
set -euo pipefail

DEMO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export VEER_PIN_ROOT=/sys/fs/bpf/veer-demo-$$
LAB_ID=vd$$
# shellcheck source=lib/lab.sh
. "$DEMO_ROOT/scripts/lib/lab.sh"

EX=examples/customers
HOST=customers.default.svc.cluster.local
VIP=10.96.0.20
VIP_SHOWN=$VIP:80
N=1000
while (($#)); do
	case $1 in
	--ipv6)
		VIP=fd00:96::20
		VIP_SHOWN="[$VIP]:80"
		;;
	-n)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || lab_die "-n needs a positive number"
		N=$2
		shift
		;;
	-h | --help)
		sed -n '3,19p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) lab_die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
cd "$DEMO_ROOT"

say() { printf '\n== %s\n' "$*"; }
# run ARGS...: shows and runs `veer ARGS`, its output (stderr too) indented;
# the demo stops if it fails.
run() {
	local rc=0
	printf '$ veer %s\n' "$*"
	veer "$@" >"$LAB_TMP/run.out" 2>&1 || rc=$?
	sed 's/^/  /' "$LAB_TMP/run.out"
	((rc == 0)) || lab_die "veer $* failed (exit $rc)"
}

# show FILE: the routing part of a VirtualService file (from "http:" on).
show() {
	printf '  %s:\n' "$1"
	sed -n '/^  http:/,$p' "$1" | sed 's/^/    /'
}

# measure TITLE V1_WEIGHT [ARGS...]: N new HTTP connections (one GET
# each, with veer-httpclient ARGS, e.g. -H 'User-Agent: debug') to the
# customers VIP, the split shown; the demo stops unless it is V1_WEIGHT to
# v1 (split_ok: every connection answered, by v1 or v2).
measure() {
	local title=$1 w1=$2 out=$LAB_TMP/step.out v1 v2 errs
	shift 2
	lab_http_client count --addr "$VIP" --port 80 -n "$N" "$@" \
		>"$out" 2>"$out.err" || true
	v1=$(count_of "$out" v1)
	v2=$(count_of "$out" v2)
	errs=$(count_of "$out" errors)
	awk -v t="$title" -v a="$v1" -v b="$v2" -v n="$N" -v e="$errs" 'BEGIN {
		printf "step %-40s v1 %5d (%5.1f%%)  v2 %5d (%5.1f%%)", "\"" t "\":",
			a, 100 * a / n, b, 100 * b / n
		if (e) printf "  errors %d", e
		printf "\n"
	}' | tee -a "$LAB_TMP/table"
	split_ok "$out" "$N" "$w1" ||
		lab_die "step \"$title\": expected v1 $w1%, got $SPLIT_DESC"
}

# step TITLE V1_WEIGHT FILE: applies the step's file alone, as kubectl
# apply -f does (a VirtualService's routing part shown first), then
# measures.
step() {
	[[ $3 == vs-* ]] && show "$EX/$3"
	run apply -f "$EX/$3"
	measure "$1" "$2"
}

lab_init
say "building the lab: client -> node (veer) -> v1 | v2  (namespaces $LAB_ID-*)"
lab_up
lab_start_http_backends
printf 'pod customers-v1 %s / %s, pod customers-v2 %s / %s, all HTTP on port %s\n' \
	"$V1_V4" "$V1_V6" "$V2_V4" "$V2_V6" "$BACKEND_PORT"

say "attaching veer to the node's client-facing interface $NODE_DEV"
lab_veer_attach
printf '$ veer attach %s\n' "$NODE_DEV"
sed 's/^/  /' "$LAB_TMP/attach.log"

say "customers ($HOST, $VIP_SHOWN), one file per step, as with kubectl apply; $N new connections per step"
: >"$LAB_TMP/table"
run apply -f "$EX/service.yaml"
step "no VirtualService yet" 50 destinationrule.yaml
step "all to v1" 100 vs-all-v1.yaml
step "debug header to v2: no header" 100 vs-debug.yaml
if command -v curl >/dev/null; then
	for ua in debug curl/demo; do
		printf '$ curl -s -A %s http://%s/\n' "$ua" "$VIP_SHOWN"
		lab_load curl -s -g --max-time 5 -A "$ua" "http://$VIP_SHOWN/" |
			sed 's/^/  /' || true
	done
fi
measure "debug header to v2: user-agent debug" 0 -H 'User-Agent: debug'
run stats customers
step "canary 90/10" 90 vs-canary-90-10.yaml
step "50/50" 50 vs-50-50.yaml
step "all to v2" 0 vs-all-v2.yaml

say "kubectl patch of the weights, the veer way (every entry of the host; the stored VirtualService too)"
run weight customers v1=80 v2=20
measure "patched 80/20" 80

say "what veer holds: the objects applied, and the services they make"
run get all
echo
run get
echo
run stats customers

say "kubectl delete of the VirtualService: connections spread over both pods again"
run delete vs customers
measure "VirtualService deleted" 50

say "summary"
cat "$LAB_TMP/table"
echo
echo "demo done; removing the lab"

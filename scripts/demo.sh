#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The Istio traffic-shifting lab, without a proxy: a client, a node running
# veer, and two versions of a service. Traffic moves from v1 to v2 in steps
# (100/0, canary 90/10, 50/50, 0/100); after each step 1000 new connections
# show the split veer produced. Everything it builds is removed on exit.
#
#   scripts/demo.sh [--ipv6] [-n CONNECTIONS]
#
# Needs root and a build (make). Uses its own pin root under /sys/fs/bpf.
set -euo pipefail

DEMO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export VEER_PIN_ROOT=/sys/fs/bpf/veer-demo-$$
LAB_ID=vd$$
# shellcheck source=../tests/e2e/lib.sh
. "$DEMO_ROOT/tests/e2e/lib.sh"

SVC=web
N=1000
while (($#)); do
	case $1 in
	--ipv6) SVC=web6 ;;
	-n)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || lab_die "-n needs a positive number"
		N=$2
		shift
		;;
	-h | --help)
		sed -n '3,11p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*) lab_die "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
VIP=$(vip_of "$SVC")
[[ $SVC == web ]] && VIP_SHOWN="$VIP:$VIP_PORT" || VIP_SHOWN="[$VIP]:$VIP_PORT"

say() { printf '\n== %s\n' "$*"; }
run() {
	printf '$ veer %s\n' "$*"
	veer "$@"
}

# step TITLE V1_WEIGHT: set the weights, send N connections, show the split.
step() {
	local title=$1 w1=$2 out=$LAB_TMP/step.out v1 v2 errs
	printf '$ veer weight %s v1=%d v2=%d\n' "$SVC" "$w1" $((100 - w1))
	veer weight "$SVC" "v1=$w1" "v2=$((100 - w1))" | sed 's/^/  /'
	client count --addr "$VIP" --port "$VIP_PORT" -n "$N" >"$out" 2>&1 || true
	v1=$(count_of "$out" v1)
	v2=$(count_of "$out" v2)
	errs=$(count_of "$out" errors)
	awk -v t="$title" -v a="$v1" -v b="$v2" -v n="$N" -v e="$errs" 'BEGIN {
		printf "step %-22s v1 %5d (%5.1f%%)  v2 %5d (%5.1f%%)", "\"" t "\":",
			a, 100 * a / n, b, 100 * b / n
		if (e) printf "  errors %d", e
		printf "\n"
	}' | tee -a "$LAB_TMP/table"
}

lab_init
say "building the lab: client -> node (veer) -> v1 | v2  (namespaces $LAB_ID-*)"
lab_up
lab_start_backends
printf 'v1 backends %s / [%s]:%s, v2 backends %s / [%s]:%s\n' \
	"$V1_V4:$BACKEND_PORT" "$V1_V6" "$BACKEND_PORT" \
	"$V2_V4:$BACKEND_PORT" "$V2_V6" "$BACKEND_PORT"

say "attaching veer to the node's client-facing interface $NODE_DEV"
lab_veer_up 100
printf '$ veer attach %s\n$ veer apply -f veer.yaml   (every service all to v1)\n' "$NODE_DEV"
sed 's/^/    /' "$LAB_TMP/veer.yaml"

say "shifting $SVC ($VIP_SHOWN) from v1 to v2, $N new connections per step"
: >"$LAB_TMP/table"
step "all to v1 100/0" 100
step "canary 90/10" 90
step "half 50/50" 50
step "all to v2 0/100" 0

say "what veer holds and what it counted"
run get
echo
run stats "$SVC"

say "summary"
cat "$LAB_TMP/table"
echo
echo "demo done; removing the lab"

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The object store (issue 13) end to end, with real traffic: every burst
# is N new connections of veer-httpclient (one request each) to the
# veer-httpsrv pods v1 and v2; weighted splits are checked within 6
# binomial standard deviations, 100/0 and 0/100 exactly. cgroup mode:
# the clients are the node's own processes in the lab's cgroup.
#
# - The seeds' workflow one file per command, as kubectl users do:
#   customers `apply -f service.yaml` (Service + Pods: spread over both
#   pods), destinationrule.yaml (still spread), then vs-all-v1,
#   vs-canary-90-10, vs-50-50, vs-all-v2 each ALONE, with the object line
#   ("VirtualService default/customers: created|configured"), the weights
#   of both entries and a burst to both VIPs after every step;
#   purchase-history (serviceentry.yaml, the DestinationRule, then each of
#   its four VirtualServices), tcp-echo (services, DestinationRule,
#   all-v1, 20-v2) and product (Service, DestinationRule, VirtualService
#   with an X-group rule: requests without it all to old; with
#   `X-group: test` all to new in tc and xdp mode, to old in cgroup mode,
#   where clients are placed at connect()) the same way.
# - Refusals that involve a stored object change nothing (`veer get -o
#   json` byte-identical, every file under $VEER_STATE_DIR the same): a
#   VirtualService routing to subset v3, which the stored DestinationRule
#   lacks (exit 1, one stderr line at the new file's 'subset: v3'
#   line:col, naming the stored DestinationRule default/customers as
#   issue 13 asks of errors involving two objects); deleting the DestinationRule (by name and with -f) or the
#   Service while the stored VirtualService needs them (exit 1, the reason
#   names the VirtualService, "nothing was changed"); a missing object
#   ("not found").
# - `veer delete vs customers`: "deleted", `veer get vs` no longer lists
#   it, both VIPs spread over both pods again (50/50 bounds); `veer delete
#   -f` of a purchase-history VirtualService file does the same for it.
# - `apply --prune -f` of a `kubectl get svc,pods -A -o yaml` dump (a List:
#   customers' and tcp-echo's Services and Pods): the same dump says "no
#   changes"; with customers-v2 replaced by another pod of v2 (new name,
#   the lab's v2 address) the old pod is "pruned", the new one "created",
#   nothing else changes (DestinationRules, VirtualServices, the
#   ServiceEntry and WorkloadEntries stay) and traffic splits as the
#   VirtualService says; a dump of namespace default only, pruned, leaves
#   tcp-echo's namespace alone.
# - `veer get vs -A -o yaml` applied back says "no changes" and writes
#   nothing; `veer get all -A -o json` parses and lists exactly the stored
#   objects (one record each in the store's shards); `veer get vs NAME -n NS` of
#   a missing name exits 1 with "not found".
# - `veer weight customers v1=30 v2=70` writes through to the stored
#   VirtualService (30/70 in `veer get vs customers -o json`).
# - Reboot: `veer detach --all` (cgroup mode: the cgroup first) removes the
#   pins and keeps the store; attaching again (the lab's helper) prints
#   "restored 20 objects (5 services)", and `veer get all -A -o yaml`,
#   the services' names, VIPs, weights and backends are those of before
#   (30/70 among them); bursts split as before.
# - kill -9 in the middle of a change (VEER_TEST_STORE_KILL=prepared,
#   applied, finish; canary 90/10 -> 50/50): exit 137, the store still
#   loads (`veer get vs customers`), the maps hold 90/10 or 50/50 in both
#   entries (never a mix), the stored VirtualService one of the two; the
#   next writer (apply of another file, veer weight, apply of the same
#   file; or a reboot: detach --all and attach, killed at "applied")
#   prints "finished a change that was interrupted", and the change is
#   finished: store and maps both 50/50, no transaction file left; a
#   burst splits 50/50.
# - Maps an older veer filled, with no store (the store removed): the
#   first change adopts the maps' services as objects marked with the host
#   they were made from, and the user's own objects for customers, applied
#   in the same command, replace the adopted ones for that host ("replaced"
#   lines, no duplicate-host refusal); the other hosts' adopted objects
#   stay, marked; traffic follows the applied 90/10.
# - An unprivileged user (setpriv to uid 65534) running `veer get vs` and
#   `veer apply -f` gets one clear stderr line, exit != 0, nothing changed.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

EX=$LAB_ROOT/examples
CUST=$EX/customers
PH=$EX/purchase-history
TCP=$EX/tcp-echo

# Connections per burst: weighted steps, and exact (100/0, 0/100) ones.
N=${VEER_E2E_OBJECTS_N:-1000}
NEXACT=${VEER_E2E_OBJECTS_NEXACT:-300}

CUST_HOST=customers.default.svc.cluster.local
CUST4=$CUST_HOST:80
CUST6=$CUST_HOST:80/ipv6
CUST_VIP4=10.96.0.20
CUST_VIP6=fd00:96::20
CUST_PORT=80
PH_HOST=purchase-history.istioinaction.svc.cluster.local
PH_VIP=10.96.0.30
PH_PORT=8080
TCP_HOST=tcp-echo.istio-io-tcp-traffic-shifting.svc.cluster.local
TCP_VIP=10.96.0.40
TCP_PORT=9000
PROD_HOST=product.hands-on.svc.cluster.local
PROD_VIP=10.96.0.50
PROD_PORT=80

# Node-local clients (cgroup mode) are placed at connect(), before any
# request byte: header rules cannot apply there, every connection takes
# the default route.
RULES=1
[[ $LAB_MODE == cgroup ]] && RULES=0

# Every object the four scenarios store: customers, tcp-echo and product
# (Service, 2 Pods, DestinationRule, VirtualService each),
# purchase-history (ServiceEntry, 2 WorkloadEntries, DestinationRule,
# VirtualService); and the services they make (customers: 2).
ALL_OBJECTS=20
ALL_SERVICES=5

t_begin objects
lab_init jq bpftool setpriv sha256sum "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends "$BACKEND_PORT"
lab_veer_attach

# store_sums FILE: path and sha256 of every file under the state directory
# (the object store, its transaction file), sorted.
store_sums() {
	find "$VEER_STATE_DIR" -type f -exec sha256sum {} + 2>/dev/null |
		sort -k2 >"$1" || true
}

# STORE: the store's directory for this pin root.
STORE=$VEER_STATE_DIR/pins$VEER_PIN_ROOT

# stored_vs_weights NS NAME: "subset=weight ..." of the default (last)
# http route of the stored VirtualService NS/NAME, sorted by subset (a
# destination without weight has 100); empty if it cannot be read.
stored_vs_weights() {
	veer get vs "$2" -n "$1" -o json 2>/dev/null | jq -r '
		[(if .kind == "List" then .items[] else . end) |
		.spec.http[-1].route[] |
		"\(.destination.subset)=\(.weight // 100)"] | sort | join(" ")' \
		2>/dev/null || true
}

# http_burst_to ADDR PORT N OUT [ARGS...]: N new connections of
# veer-httpclient count (one request each, ARGS: its -H and other options)
# to ADDR:PORT where the load comes from; the "<version> <n>" / "errors
# <n>" summary in OUT, stderr in OUT.err.
http_burst_to() {
	local addr=$1 port=$2 n=$3 out=$4
	shift 4
	lab_http_client count --addr "$addr" --port "$port" -n "$n" -c 32 \
		--timeout-ms 5000 --fail-ports "$@" >"$out" 2>"$out.err" || true
}

# A failed burst prints what the capture rings and counters say
# (lab_burst_diag: the RSTs, the failed ports' segments and conntrack
# entries).
lab_cap_start

BURSTS=0
# t_burst DESC ADDR PORT N V1_WEIGHT [ARGS...]: N new connections
# (veer-httpclient ARGS) to ADDR:PORT split as the weights say (exact for
# 100/0 and 0/100, else within SPLIT_SIGMAS sd). A probe of 4
# connections first: if none gets through, fail at once instead of
# waiting out N connection timeouts.
t_burst() {
	local desc=$1 addr=$2 port=$3 n=$4 w1=$5 out
	shift 5
	BURSTS=$((BURSTS + 1))
	out=$LAB_TMP/burst-$BURSTS.out
	http_burst_to "$addr" "$port" 4 "$out.probe" "$@"
	if (($(count_of "$out.probe" errors) == 4)); then
		t_fail "$desc: no connection to $addr:$port got through ($(oneline "$out.probe.err"))"
		return
	fi
	http_burst_to "$addr" "$port" "$n" "$out" "$@"
	if split_ok "$out" "$n" "$w1"; then
		t_pass "$desc: $w1/$((100 - w1)) over $n connections to $addr:$port: $SPLIT_DESC"
	else
		t_fail "$desc: $w1/$((100 - w1)) over $n connections to $addr:$port: $SPLIT_DESC"
		lab_burst_diag "$out.err"
	fi
}

# burst_n V1_WEIGHT: connections per burst for that split.
burst_n() {
	if [[ $1 == 100 || $1 == 0 ]]; then echo "$NEXACT"; else echo "$N"; fi
}

# t_cust DESC V1_WEIGHT: both customers entries hold V1_WEIGHT/rest and a
# burst to each VIP splits so.
t_cust() {
	local w="v1=$2 v2=$((100 - $2))" n
	n=$(burst_n "$2")
	t_weights "$1" "$CUST4" "$w"
	t_weights "$1" "$CUST6" "$w"
	t_burst "$1 (IPv4)" "$CUST_VIP4" "$CUST_PORT" "$n" "$2"
	t_burst "$1 (IPv6)" "$CUST_VIP6" "$CUST_PORT" "$n" "$2"
}

# t_spread DESC NAME ADDR PORT: service NAME has the one subset "all"
# with both pods, and a burst spreads over both (50/50 bounds).
t_spread() {
	local got
	got=$(veer get -o json 2>/dev/null | jq -c --arg n "$2" '.services[] |
		select(.name == $n) | [.subsets[] | [.name, .weight,
		(.backends | length)]]' 2>/dev/null || true)
	if [[ $got == '[["all",100,2]]' ]]; then
		t_pass "$1: $2 has one subset 'all' (100) with both pods"
	else
		t_fail "$1: $2 subsets (name, weight, backends) '${got:-no such service}', want [[\"all\",100,2]]"
	fi
	t_burst "$1: spread over every endpoint" "$3" "$4" "$N" 50
}

# t_apply DESC LINE_RE ARGS...: `veer ARGS` exits 0 and prints a whole
# line matching LINE_RE (an object's "KIND ns/name: created|configured|
# deleted").
t_apply() {
	local desc=$1 re=$2
	shift 2
	vrun "$@"
	if ((VRC != 0)); then
		t_fail "$desc: veer $* exit $VRC: $(oneline "$VERR")"
	elif ! grep -Eq "^$re\$" "$VOUT"; then
		t_fail "$desc: veer $* exit 0 without a line '$re': $(oneline "$VOUT")"
	else
		t_pass "$desc: exit 0: $(oneline "$VOUT")"
	fi
}

# t_no_changes DESC ARGS...: `veer ARGS` exits 0, prints "no changes"
# and no object line, and leaves the maps (`veer get -o json`) and the
# store byte-identical.
t_no_changes() {
	local desc=$1 b=$LAB_TMP/nc-before a=$LAB_TMP/nc-after
	shift
	snapshot "$b.json"
	store_sums "$b.sums"
	vrun "$@"
	snapshot "$a.json"
	store_sums "$a.sums"
	if ((VRC != 0)); then
		t_fail "$desc: exit $VRC: $(oneline "$VERR")"
	elif ! grep -qx 'no changes' "$VOUT" || grep -Eq ': (created|configured|deleted|pruned)$' "$VOUT"; then
		t_fail "$desc: want 'no changes' and no object line, got: $(oneline "$VOUT")"
	elif [[ ! -s $b.json ]] || ! cmp -s "$b.json" "$a.json"; then
		t_fail "$desc: said 'no changes' but 'veer get -o json' changed"
		diff "$b.json" "$a.json" >&2 || true
	elif ! cmp -s "$b.sums" "$a.sums"; then
		t_fail "$desc: said 'no changes' but the store changed: $(diff "$b.sums" "$a.sums" | grep '^[<>]' | tr '\n' '|')"
	else
		t_pass "$desc: exit 0, 'no changes', maps and store unchanged"
	fi
}

# t_refused DESC MSG_RE ARGS...: `veer ARGS` exits 1 with one stderr line
# matching MSG_RE (extended regex), and leaves the maps (`veer get -o
# json`) and every file of the store byte-identical.
t_refused() {
	local desc=$1 re=$2 b=$LAB_TMP/rf-before a=$LAB_TMP/rf-after lines
	shift 2
	snapshot "$b.json"
	store_sums "$b.sums"
	vrun "$@"
	snapshot "$a.json"
	store_sums "$a.sums"
	lines=$(awk 'END { print NR }' "$VERR")
	if ((VRC != 1)); then
		t_fail "$desc: 'veer $*' exit $VRC (want 1): $(oneline "$VOUT") $(oneline "$VERR")"
	elif ((lines != 1)); then
		t_fail "$desc: exit 1, $lines stderr lines: $(oneline "$VERR")"
	elif ! grep -Eq -- "$re" "$VERR"; then
		t_fail "$desc: exit 1, stderr does not match '$re': $(cat "$VERR")"
	else
		t_pass "$desc: exit 1, '$(cat "$VERR")'"
	fi
	if [[ -s $b.json ]] && cmp -s "$b.json" "$a.json"; then
		t_pass "$desc: 'veer get -o json' byte-identical"
	else
		t_fail "$desc: 'veer get -o json' changed"
		diff "$b.json" "$a.json" >&2 || true
	fi
	if [[ -s $b.sums ]] && cmp -s "$b.sums" "$a.sums"; then
		t_pass "$desc: store unchanged ($(wc -l <"$a.sums") files)"
	else
		t_fail "$desc: store changed: $(diff "$b.sums" "$a.sums" | grep '^[<>]' | tr '\n' '|')"
	fi
}

# t_lists DESC KINDS [ARGS] -- WANT: `veer get KINDS ARGS -o json` lists
# exactly the objects WANT ("Kind ns/name ...", sorted; "" for none).
t_lists() {
	local desc=$1 got want
	shift
	local args=()
	while [[ $1 != -- ]]; do
		args+=("$1")
		shift
	done
	want=$2
	got=$(veer get "${args[@]}" -o json 2>"$LAB_TMP/lists.err" | jq -r '
		[(if .kind == "List" then .items[] else . end) |
		"\(.kind) \(.metadata.namespace // "-")/\(.metadata.name)"] |
		sort | join(" ")' 2>>"$LAB_TMP/lists.err" || echo "ERROR")
	if [[ $got == "$want" ]]; then
		t_pass "$desc: veer get ${args[*]} lists '${got}'"
	else
		t_fail "$desc: veer get ${args[*]} lists '${got}', want '$want' ($(oneline "$LAB_TMP/lists.err"))"
	fi
}

CUST_VS_RE='VirtualService default/customers'

# ---- 1. customers, one file per command ----------------------------------

t_apply "customers service.yaml alone" 'Service default/customers: created' \
	apply -f "$CUST/service.yaml"
if grep -qx 'Pod default/customers-v2: created' "$VOUT"; then
	t_pass "customers service.yaml: Pod default/customers-v2 created"
else
	t_fail "customers service.yaml: no 'Pod default/customers-v2: created' in: $(oneline "$VOUT")"
fi
t_spread "customers Service + Pods (IPv4)" "$CUST4" "$CUST_VIP4" "$CUST_PORT"
t_spread "customers Service + Pods (IPv6)" "$CUST6" "$CUST_VIP6" "$CUST_PORT"

t_apply "customers destinationrule.yaml alone" \
	'DestinationRule default/customers: created' \
	apply -f "$CUST/destinationrule.yaml"
t_spread "customers + DestinationRule, no VirtualService" "$CUST4" \
	"$CUST_VIP4" "$CUST_PORT"

t_apply "customers vs-all-v1.yaml alone" "$CUST_VS_RE: created" \
	apply -f "$CUST/vs-all-v1.yaml"
t_cust "customers all-v1" 100
t_apply "customers vs-canary-90-10.yaml alone" "$CUST_VS_RE: configured" \
	apply -f "$CUST/vs-canary-90-10.yaml"
t_cust "customers canary 90/10" 90
t_apply "customers vs-50-50.yaml alone" "$CUST_VS_RE: configured" \
	apply -f "$CUST/vs-50-50.yaml"
t_cust "customers 50/50" 50
t_apply "customers vs-all-v2.yaml alone" "$CUST_VS_RE: configured" \
	apply -f "$CUST/vs-all-v2.yaml"
t_cust "customers all-v2" 0
t_no_changes "customers vs-all-v2.yaml applied again" apply -f "$CUST/vs-all-v2.yaml"

# ---- purchase-history and tcp-echo, one file per command -----------------

PH_VS_RE='VirtualService istioinaction/purchase-history-vs'
t_apply "purchase-history serviceentry.yaml alone" \
	'ServiceEntry istioinaction/purchase-history: created' \
	apply -f "$PH/serviceentry.yaml"
t_spread "purchase-history ServiceEntry + WorkloadEntries" "$PH_HOST" \
	"$PH_VIP" "$PH_PORT"
t_apply "purchase-history purchase-history-dr.yaml alone" \
	'DestinationRule istioinaction/purchase-history-dr: created' \
	apply -f "$PH/purchase-history-dr.yaml" -n istioinaction
for step in "purchase-history-vs-all-v1.yaml 100 created" \
	"purchase-history-vs-20-v2.yaml 80 configured" \
	"purchase-history-vs-50-v2.yaml 50 configured" \
	"purchase-history-vs-all-v2.yaml 0 configured"; do
	read -r file w1 what <<<"$step"
	t_apply "purchase-history $file alone" "$PH_VS_RE: $what" \
		apply -f "$PH/$file" -n istioinaction
	t_weights "purchase-history $file" "$PH_HOST" "v1=$w1 v2=$((100 - w1))"
	t_burst "purchase-history $file" "$PH_VIP" "$PH_PORT" "$(burst_n "$w1")" "$w1"
done

TCP_NS=istio-io-tcp-traffic-shifting
t_apply "tcp-echo services.yaml alone" "Service $TCP_NS/tcp-echo: created" \
	apply -f "$TCP/services.yaml"
t_spread "tcp-echo Service + Pods" "$TCP_HOST" "$TCP_VIP" "$TCP_PORT"
t_apply "tcp-echo destinationrule.yaml alone" \
	"DestinationRule $TCP_NS/tcp-echo-destination: created" \
	apply -f "$TCP/destinationrule.yaml"
t_apply "tcp-echo tcp-echo-all-v1.yaml alone" \
	"VirtualService $TCP_NS/tcp-echo: created" apply -f "$TCP/tcp-echo-all-v1.yaml"
t_weights "tcp-echo all-v1" "$TCP_HOST" "v1=100 v2=0"
t_burst "tcp-echo all-v1" "$TCP_VIP" "$TCP_PORT" "$NEXACT" 100
t_apply "tcp-echo tcp-echo-20-v2.yaml alone" \
	"VirtualService $TCP_NS/tcp-echo: configured" apply -f "$TCP/tcp-echo-20-v2.yaml"
t_weights "tcp-echo 80/20" "$TCP_HOST" "v1=80 v2=20"
t_burst "tcp-echo 80/20" "$TCP_VIP" "$TCP_PORT" "$N" 80

# ---- product: a header rule, old/new subsets ------------------------------

t_apply "product service.yaml alone" 'Service hands-on/product: created' \
	apply -f "$EX/product/service.yaml"
t_spread "product Service + Pods" "$PROD_HOST" "$PROD_VIP" "$PROD_PORT"
t_apply "product destinationrule.yaml alone" \
	'DestinationRule hands-on/product-dr: created' \
	apply -f "$EX/product/destinationrule.yaml"
t_apply "product virtualservice.yaml alone" \
	'VirtualService hands-on/product-vs: created' \
	apply -f "$EX/product/virtualservice.yaml"
t_weights "product" "$PROD_HOST" "new=0 old=100"
t_burst "product: no X-group -> old" "$PROD_VIP" "$PROD_PORT" "$NEXACT" 100
if ((RULES)); then
	t_burst "product: X-group test -> new" "$PROD_VIP" "$PROD_PORT" \
		"$NEXACT" 0 -H 'X-group: test'
else
	t_burst "product: X-group test [cgroup: placed at connect(), default route old]" \
		"$PROD_VIP" "$PROD_PORT" "$NEXACT" 100 -H 'X-group: test'
fi

# ---- 3. refusals that involve a stored object change nothing --------------

# customers is at all-v2: its stored VirtualService routes to v2.
sed 's/subset: v2/subset: v3/' "$CUST/vs-all-v2.yaml" >"$LAB_TMP/vs-v3.yaml"
t_refused "VirtualService to subset v3, which the stored DestinationRule lacks" \
	'vs-v3\.yaml:[0-9]+:[0-9]+: .*subset v3' apply -f "$LAB_TMP/vs-v3.yaml"
if [[ $(cat "$VERR") =~ vs-v3\.yaml:([0-9]+):([0-9]+): ]] &&
	[[ $(sed -n "${BASH_REMATCH[1]}p" "$LAB_TMP/vs-v3.yaml") == *"subset: v3"* ]]; then
	t_pass "subset v3 refusal points at the new file's 'subset: v3' line (${BASH_REMATCH[1]}:${BASH_REMATCH[2]})"
else
	t_fail "subset v3 refusal does not point at the 'subset: v3' line ($(grep -n 'subset: v3' "$LAB_TMP/vs-v3.yaml" | cut -d: -f1)) of vs-v3.yaml: $(cat "$VERR")"
fi
# Issue 13: an error that involves two objects names both, the stored one
# by kind/namespace/name.
if grep -q 'DestinationRule default/customers' "$VERR"; then
	t_pass "subset v3 refusal names the stored DestinationRule default/customers"
else
	t_fail "subset v3 refusal does not name the stored DestinationRule default/customers (issue 13: errors involving two objects name both): $(cat "$VERR")"
fi
t_refused "delete dr customers while VirtualService default/customers uses its subsets" \
	'VirtualService default/customers.*subset v2.*nothing was changed' \
	delete dr customers
t_refused "delete -f destinationrule.yaml while VirtualService default/customers uses it" \
	'VirtualService default/customers.*subset v2.*nothing was changed' \
	delete -f "$CUST/destinationrule.yaml"
t_refused "delete svc customers while VirtualService default/customers routes its host" \
	'customers.*nothing was changed' delete svc customers
t_refused "delete vs nosuch" 'VirtualService default/nosuch: not found' \
	delete vs nosuch

# ---- 2. delete a VirtualService: back to every endpoint -------------------

t_apply "veer delete vs customers" "$CUST_VS_RE: deleted" delete vs customers
t_lists "after delete vs customers" vs -A -- \
	"VirtualService hands-on/product-vs VirtualService istio-io-tcp-traffic-shifting/tcp-echo VirtualService istioinaction/purchase-history-vs"
t_spread "customers without VirtualService (IPv4)" "$CUST4" "$CUST_VIP4" "$CUST_PORT"
t_spread "customers without VirtualService (IPv6)" "$CUST6" "$CUST_VIP6" "$CUST_PORT"
t_apply "customers vs-canary-90-10.yaml alone, again" "$CUST_VS_RE: created" \
	apply -f "$CUST/vs-canary-90-10.yaml"
t_cust "customers canary 90/10 again" 90

t_apply "veer delete -f purchase-history-vs-all-v2.yaml -n istioinaction" \
	"$PH_VS_RE: deleted" delete -f "$PH/purchase-history-vs-all-v2.yaml" -n istioinaction
t_lists "after delete -f of the purchase-history VirtualService" vs -n istioinaction -- ""
t_spread "purchase-history without VirtualService" "$PH_HOST" "$PH_VIP" "$PH_PORT"
t_apply "purchase-history-vs-20-v2.yaml alone, again" "$PH_VS_RE: created" \
	apply -f "$PH/purchase-history-vs-20-v2.yaml" -n istioinaction
t_weights "purchase-history 80/20 again" "$PH_HOST" "v1=80 v2=20"

# ---- 4. apply --prune of a `kubectl get svc,pods -A -o yaml` dump ---------

ALL_BEFORE="DestinationRule default/customers DestinationRule hands-on/product-dr DestinationRule istio-io-tcp-traffic-shifting/tcp-echo-destination DestinationRule istioinaction/purchase-history-dr Pod default/customers-v1 Pod default/customers-v2 Pod hands-on/product-v1 Pod hands-on/product-v2 Pod istio-io-tcp-traffic-shifting/tcp-echo-v1 Pod istio-io-tcp-traffic-shifting/tcp-echo-v2 Service default/customers Service hands-on/product Service istio-io-tcp-traffic-shifting/tcp-echo ServiceEntry istioinaction/purchase-history VirtualService default/customers VirtualService hands-on/product-vs VirtualService istio-io-tcp-traffic-shifting/tcp-echo VirtualService istioinaction/purchase-history-vs WorkloadEntry istioinaction/purchase-history-v1 WorkloadEntry istioinaction/purchase-history-v2"
ALL_AFTER=${ALL_BEFORE/Pod default\/customers-v2 /Pod default\/customers-v2-5d8f9 }
t_lists "every stored object" all -A -- "$ALL_BEFORE"

# The dump, as `kubectl get svc,pods -A -o yaml` prints it: one List of
# every Service and Pod (customers', tcp-echo's and product's).
if veer get svc,pod -A -o yaml >"$LAB_TMP/dump1.yaml" 2>"$LAB_TMP/dump1.err" &&
	[[ $(grep -c '^ *kind: \(Service\|Pod\)$' "$LAB_TMP/dump1.yaml") == 9 ]]; then
	t_pass "veer get svc,pod -A -o yaml: a dump of 3 Services and 6 Pods"
else
	t_fail "veer get svc,pod -A -o yaml: $(oneline "$LAB_TMP/dump1.err") $(head -c 300 "$LAB_TMP/dump1.yaml")"
fi
t_no_changes "apply --prune of the unchanged dump" apply --prune -f "$LAB_TMP/dump1.yaml"

# customers-v2 is gone, a new v2 pod (another name, the lab's v2 address)
# came up: the dump with that one Pod renamed.
jq '.items |= map(if .kind == "Pod" and .metadata.name == "customers-v2"
	then .metadata.name = "customers-v2-5d8f9" else . end)' \
	<(veer get svc,pod -A -o json 2>/dev/null) >"$LAB_TMP/dump2.json" 2>&1 || true
vrun apply --prune -f "$LAB_TMP/dump2.json"
objlines=$(grep -E '^[A-Z][A-Za-z]+ [^ /]+/[^ /]+: (created|configured|deleted|pruned)$' "$VOUT" | sort | paste -sd '|' || true)
if ((VRC == 0)) && [[ $objlines == "Pod default/customers-v2-5d8f9: created|Pod default/customers-v2: pruned" ]]; then
	t_pass "apply --prune, customers-v2 replaced by customers-v2-5d8f9: exit 0: $(oneline "$VOUT")"
else
	t_fail "apply --prune, customers-v2 replaced: exit $VRC, object lines '$objlines', want only 'Pod default/customers-v2-5d8f9: created' and 'Pod default/customers-v2: pruned': $(oneline "$VOUT") $(oneline "$VERR")"
fi
t_lists "after the prune (other kinds and namespaces untouched)" all -A -- "$ALL_AFTER"
t_cust "customers after the pod was replaced" 90
# The Service and Pods of namespace default only, as kubectl prints them
# (`kubectl get svc,pods -n default -o yaml`: fields differ from what was
# stored, so "configured" is fine; "pruned" is not, and nothing of
# tcp-echo's namespace may go).
cat >"$LAB_TMP/dump3.yaml" <<YAML
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata: {name: customers, namespace: default, labels: {app: customers}}
    spec:
      type: ClusterIP
      selector: {app: customers}
      clusterIP: $CUST_VIP4
      clusterIPs: [$CUST_VIP4, "$CUST_VIP6"]
      ipFamilyPolicy: RequireDualStack
      ports:
        - {name: http, port: 80, protocol: TCP, targetPort: $BACKEND_PORT}
  - apiVersion: v1
    kind: Pod
    metadata: {name: customers-v1, namespace: default, labels: {app: customers, version: v1}}
    status: {phase: Running, podIP: $V1_V4, podIPs: [{ip: $V1_V4}, {ip: "$V1_V6"}]}
  - apiVersion: v1
    kind: Pod
    metadata: {name: customers-v2-5d8f9, namespace: default, labels: {app: customers, version: v2}}
    status: {phase: Running, podIP: $V2_V4, podIPs: [{ip: $V2_V4}, {ip: "$V2_V6"}]}
YAML
vrun apply --prune -f "$LAB_TMP/dump3.yaml"
if ((VRC == 0)) && ! grep -Eq ': (deleted|pruned)$' "$VOUT"; then
	t_pass "apply --prune of namespace default's Service and Pods only: nothing pruned: $(oneline "$VOUT")"
else
	t_fail "apply --prune of namespace default only: exit $VRC: $(oneline "$VOUT") $(oneline "$VERR")"
fi
t_lists "after a prune of namespace default only (tcp-echo's Pods stay)" all -A -- "$ALL_AFTER"
t_weights "tcp-echo after the prunes" "$TCP_HOST" "v1=80 v2=20"

# ---- 5. get: round trip, JSON, not found -----------------------------------

if veer get vs -A -o yaml >"$LAB_TMP/vs-rt.yaml" 2>"$LAB_TMP/vs-rt.err" &&
	[[ $(grep -c '^kind: VirtualService' "$LAB_TMP/vs-rt.yaml") == 4 ]]; then
	t_pass "veer get vs -A -o yaml: 4 VirtualServices"
else
	t_fail "veer get vs -A -o yaml: $(oneline "$LAB_TMP/vs-rt.err") $(head -c 300 "$LAB_TMP/vs-rt.yaml")"
fi
t_no_changes "veer get vs -A -o yaml applied back" apply -f "$LAB_TMP/vs-rt.yaml"

# Every stored object in the JSON list, and one record each in the store's
# shard files ("--- # KIND NAMESPACE NAME LENGTH").
got=$(veer get all -A -o json 2>/dev/null | jq -r '[.items[] |
	"\(.kind)/\(.metadata.namespace)/\(.metadata.name)"] | sort | join(" ")' 2>/dev/null || echo ERROR)
files=$(cat "$STORE"/objects/*.yaml 2>/dev/null | awk '/^--- # / { print $3 "/" $4 "/" $5 }' | sort | paste -sd ' ')
if [[ $got == "$files" && $(wc -w <<<"$got") == "$ALL_OBJECTS" ]]; then
	t_pass "veer get all -A -o json | jq: $ALL_OBJECTS objects, exactly the store's records"
else
	t_fail "veer get all -A -o json | jq: '$got', store records '$files' (want $ALL_OBJECTS alike)"
fi
vrun get vs nosuch -n default
if ((VRC == 1)) && grep -q 'not found' "$VERR" && [[ ! -s $VOUT ]]; then
	t_pass "veer get vs nosuch -n default: exit 1, '$(oneline "$VERR")'"
else
	t_fail "veer get vs nosuch -n default: exit $VRC, stdout '$(oneline "$VOUT")', stderr '$(oneline "$VERR")'"
fi
vrun get vs customers -n istioinaction
if ((VRC == 1)) && grep -q 'not found' "$VERR"; then
	t_pass "veer get vs customers -n istioinaction (wrong namespace): exit 1, '$(oneline "$VERR")'"
else
	t_fail "veer get vs customers -n istioinaction: exit $VRC, stdout '$(oneline "$VOUT")', stderr '$(oneline "$VERR")'"
fi

# ---- 8. veer weight writes through ------------------------------------------

vrun weight customers v1=30 v2=70
if ((VRC == 0)); then
	t_pass "veer weight customers v1=30 v2=70: exit 0: $(oneline "$VOUT")"
else
	t_fail "veer weight customers v1=30 v2=70: exit $VRC: $(oneline "$VERR")"
fi
got=$(stored_vs_weights default customers)
if [[ $got == "v1=30 v2=70" ]]; then
	t_pass "veer weight wrote v1=30 v2=70 into the stored VirtualService default/customers"
else
	t_fail "stored VirtualService default/customers after veer weight: '$got', want 'v1=30 v2=70'"
fi
t_weights "after veer weight" "$CUST4" "v1=30 v2=70"
t_weights "after veer weight" "$CUST6" "v1=30 v2=70"

# ---- 6. reboot: detach --all, attach, restored ------------------------------

# reboot_detach DESC: what a reboot leaves of veer: nothing attached, no
# pins (cgroup mode: the lab's cgroup is detached first, then `veer detach
# --all`); the store stays. lab_veer_attach attaches again.
reboot_detach() {
	if [[ $LAB_MODE == cgroup ]]; then
		veer detach --cgroup "$LAB_CGROUP" >"$LAB_TMP/rb-detach-cg.log" 2>&1 ||
			t_fail "$1: veer detach --cgroup: $(oneline "$LAB_TMP/rb-detach-cg.log")"
	fi
	vrun detach --all
	if ((VRC == 0)) && ! ls "$VEER_PIN_ROOT"/* >/dev/null 2>&1; then
		t_pass "$1: veer detach --all: exit 0, no pin left: $(oneline "$VOUT")"
	else
		t_fail "$1: veer detach --all: exit $VRC ($(oneline "$VOUT") $(oneline "$VERR")), pins: $(find "$VEER_PIN_ROOT" -mindepth 1 2>&1 | tr '\n' ' ')"
	fi
}

# services_of FILE: the maps' services without ids and generations.
services_of() {
	veer get -o json 2>/dev/null | jq -S '[.services[] | {name, vip, port,
		subsets: [.subsets[] | {name, weight, backends}]}] | sort_by(.name)' \
		>"$1" 2>/dev/null || : >"$1"
}
veer get all -A -o yaml >"$LAB_TMP/rb-objects.before" 2>&1 || true
services_of "$LAB_TMP/rb-services.before"
store_sums "$LAB_TMP/rb-store.before"
reboot_detach "reboot"
store_sums "$LAB_TMP/rb-store.after"
if [[ -s $LAB_TMP/rb-store.before ]] && cmp -s "$LAB_TMP/rb-store.before" "$LAB_TMP/rb-store.after"; then
	t_pass "reboot: the store is kept ($(wc -l <"$LAB_TMP/rb-store.after") files)"
else
	t_fail "reboot: the store changed on detach: $(diff "$LAB_TMP/rb-store.before" "$LAB_TMP/rb-store.after" | grep '^[<>]' | tr '\n' '|')"
fi
lab_veer_attach
if grep -qx "restored $ALL_OBJECTS objects ($ALL_SERVICES services) from $STORE" "$LAB_TMP/attach.log"; then
	t_pass "reboot: attach says '$(grep restored "$LAB_TMP/attach.log")'"
else
	t_fail "reboot: attach did not say 'restored $ALL_OBJECTS objects ($ALL_SERVICES services) from $STORE': $(oneline "$LAB_TMP/attach.log")"
fi
veer get all -A -o yaml >"$LAB_TMP/rb-objects.after" 2>&1 || true
services_of "$LAB_TMP/rb-services.after"
if [[ -s $LAB_TMP/rb-objects.before ]] && cmp -s "$LAB_TMP/rb-objects.before" "$LAB_TMP/rb-objects.after"; then
	t_pass "reboot: veer get all -A -o yaml identical ($(grep -c '^kind:' "$LAB_TMP/rb-objects.after") objects)"
else
	t_fail "reboot: veer get all -A -o yaml differs: $(diff "$LAB_TMP/rb-objects.before" "$LAB_TMP/rb-objects.after" | head -20 | tr '\n' '|')"
fi
if [[ $(jq length "$LAB_TMP/rb-services.before" 2>/dev/null) == "$ALL_SERVICES" ]] &&
	cmp -s "$LAB_TMP/rb-services.before" "$LAB_TMP/rb-services.after"; then
	t_pass "reboot: the same $ALL_SERVICES services, VIPs, weights and backends: $(jq -c '[.[] | .name]' "$LAB_TMP/rb-services.after")"
else
	t_fail "reboot: services differ: $(diff <(jq -c '.[]' "$LAB_TMP/rb-services.before" 2>&1) <(jq -c '.[]' "$LAB_TMP/rb-services.after" 2>&1) | tr '\n' '|')"
fi
t_cust "customers after the reboot (veer weight's 30/70)" 30
got=$(stored_vs_weights default customers)
if [[ $got == "v1=30 v2=70" ]]; then
	t_pass "reboot: stored VirtualService default/customers still v1=30 v2=70"
else
	t_fail "reboot: stored VirtualService default/customers '$got', want 'v1=30 v2=70'"
fi
t_burst "purchase-history after the reboot" "$PH_VIP" "$PH_PORT" "$N" 80

# ---- 7. kill -9 in the middle of a change -----------------------------------

OLDW="v1=90 v2=10"
NEWW="v1=50 v2=50"
# kill_round POINT NEXT...: canary 90/10, then vs-50-50.yaml killed at
# POINT; the store loads, the maps hold one configuration; NEXT (the next
# writer command, or "reboot": detach --all and attach) finishes the
# change.
kill_round() {
	local point=$1 m4 m6 st next
	shift
	next="'veer $*'"
	[[ $1 == reboot ]] && next="a reboot (detach --all, attach)"
	vrun apply -f "$CUST/vs-canary-90-10.yaml"
	if ((VRC != 0)) || [[ $(weights_of "$CUST4") != "$OLDW" ]]; then
		t_fail "kill at $point: canary 90/10 before it: exit $VRC, weights '$(weights_of "$CUST4")': $(oneline "$VERR")"
		return
	fi
	VEER_TEST_STORE_KILL=$point vrun apply -f "$CUST/vs-50-50.yaml"
	if ((VRC == 137)) && [[ -e $STORE/transaction ]]; then
		t_pass "kill at $point: apply -f vs-50-50.yaml killed (exit 137), transaction file left"
	else
		t_fail "kill at $point: apply -f vs-50-50.yaml exit $VRC (want 137), transaction file $([[ -e $STORE/transaction ]] && echo present || echo absent): $(oneline "$VERR")"
	fi
	vrun get vs customers -o yaml
	st=$(stored_vs_weights default customers)
	if ((VRC == 0)) && [[ $st == "$OLDW" || $st == "$NEWW" ]]; then
		t_pass "kill at $point: the store loads; stored VirtualService holds $st"
	else
		t_fail "kill at $point: veer get vs customers exit $VRC ($(oneline "$VERR")), stored weights '$st'"
	fi
	m4=$(weights_of "$CUST4")
	m6=$(weights_of "$CUST6")
	if [[ $m4 == "$m6" && ($m4 == "$OLDW" || $m4 == "$NEWW") ]]; then
		t_pass "kill at $point: the maps hold one configuration: $m4 in both entries"
	else
		t_fail "kill at $point: the maps hold '$m4' (IPv4) and '$m6' (IPv6), want both '$OLDW' or both '$NEWW'"
	fi
	if [[ $1 == reboot ]]; then
		reboot_detach "kill at $point, then a reboot"
		lab_veer_attach
		VRC=0
		VOUT=/dev/null
		VERR=$LAB_TMP/attach.log
	else
		vrun "$@"
	fi
	# Every writer (apply, delete, weight) and attach says it finished an
	# interrupted change (at the time of writing, veer weight and attach
	# finish it silently).
	if ((VRC == 0)) && grep -q 'finished a change that was interrupted' "$VERR"; then
		t_pass "kill at $point: next writer $next: exit 0, '$(grep 'finished a change' "$VERR")'"
	else
		t_fail "kill at $point: next writer $next: exit $VRC, no 'finished a change that was interrupted' note: $(oneline "$VOUT") $(oneline "$VERR")"
	fi
	st=$(stored_vs_weights default customers)
	m4=$(weights_of "$CUST4")
	m6=$(weights_of "$CUST6")
	if [[ $st == "$NEWW" && $m4 == "$NEWW" && $m6 == "$NEWW" && ! -e $STORE/transaction ]]; then
		t_pass "kill at $point: change finished: store and maps agree on $NEWW, no transaction file"
	else
		t_fail "kill at $point: after $next: stored '$st', maps '$m4' / '$m6' (want all '$NEWW'), transaction file $([[ -e $STORE/transaction ]] && echo present || echo absent)"
	fi
}
kill_round prepared apply -f "$TCP/tcp-echo-20-v2.yaml"
kill_round applied weight tcp-echo v1=80 v2=20
kill_round finish apply -f "$CUST/vs-50-50.yaml"
# The maps are gone with the pins: attach restores the store as the
# interrupted change left it, finished (50/50, not the 90/10 stored before).
kill_round applied reboot
t_burst "customers after the kill rounds (IPv4)" "$CUST_VIP4" "$CUST_PORT" "$N" 50

# ---- 10. maps filled by a veer without a store ------------------------------

# As an older veer leaves a node: the maps hold customers (at 50/50 after
# the kill rounds) and no store beside them. The first change adopts the
# maps' services as objects made from them; the user's own objects for
# customers, applied together, take the place of those adopted for that
# host (no "duplicate host"), and traffic follows the user's weights.
rm -rf "$STORE"
vrun apply -f "$CUST/service.yaml" -f "$CUST/destinationrule.yaml" \
	-f "$CUST/vs-canary-90-10.yaml"
if ((VRC == 0)) && grep -q 'no object store at .*become .* stored objects' "$VERR" &&
	grep -q '^ServiceEntry default/customers: replaced (adopted' "$VOUT" &&
	grep -q '^Service default/customers: created' "$VOUT"; then
	t_pass "no store: adopted from the maps, customers' adopted objects replaced by the applied ones: $(grep -c replaced "$VOUT") replaced"
else
	t_fail "no store: apply of customers' own objects: exit $VRC, stdout '$(oneline "$VOUT")', stderr '$(oneline "$VERR")'"
fi
t_weights "after adoption" "$CUST4" "v1=90 v2=10"
if [[ $(veer get se -A 2>/dev/null | awk 'NR > 1 && $3 == "customers"') == "" ]] &&
	veer get se -A 2>/dev/null | grep -q purchase-history &&
	veer get se purchase-history -n istioinaction -o yaml 2>/dev/null |
	grep -q 'veer.dev/adopted-from-maps'; then
	t_pass "after adoption: no adopted ServiceEntry left for customers; purchase-history's adopted one stays, marked"
else
	t_fail "after adoption: stored ServiceEntries: $(veer get se -A 2>&1 | tr '\n' '|')"
fi
t_burst "customers after adoption (IPv4)" "$CUST_VIP4" "$CUST_PORT" "$N" 90

# ---- 9. an unprivileged user ------------------------------------------------

# as_nobody ARGS...: veer as uid/gid 65534 without groups, in the node
# namespace; stdout in $VOUT, stderr in $VERR, exit in $VRC.
as_nobody() {
	VRUNS=$((VRUNS + 1))
	VOUT=$LAB_TMP/run-$VRUNS.out
	VERR=$LAB_TMP/run-$VRUNS.err
	VRC=0
	nsenter --net="/run/netns/$NS_NODE" -- setpriv --reuid=65534 \
		--regid=65534 --clear-groups "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
		"$@" >"$VOUT" 2>"$VERR" || VRC=$?
}
for args in "get vs" "apply -f $CUST/vs-all-v1.yaml"; do
	snapshot "$LAB_TMP/np-before.json"
	store_sums "$LAB_TMP/np-before.sums"
	# shellcheck disable=SC2086 # $args is words
	as_nobody $args
	snapshot "$LAB_TMP/np-after.json"
	store_sums "$LAB_TMP/np-after.sums"
	if ((VRC != 0)) && [[ $(awk 'END { print NR }' "$VERR") == 1 && ! -s $VOUT ]] &&
		grep -Eqi 'root|permission|CAP_' "$VERR" &&
		cmp -s "$LAB_TMP/np-before.json" "$LAB_TMP/np-after.json" &&
		cmp -s "$LAB_TMP/np-before.sums" "$LAB_TMP/np-after.sums"; then
		t_pass "unprivileged 'veer ${args/$LAB_ROOT\//}': exit $VRC, '$(cat "$VERR")', nothing changed"
	else
		t_fail "unprivileged 'veer ${args/$LAB_ROOT\//}': exit $VRC, stdout '$(oneline "$VOUT")', stderr '$(oneline "$VERR")', maps $(cmp -s "$LAB_TMP/np-before.json" "$LAB_TMP/np-after.json" && echo unchanged || echo changed), store $(cmp -s "$LAB_TMP/np-before.sums" "$LAB_TMP/np-after.sums" && echo unchanged || echo changed)"
	fi
done

t_check_ct_drained
t_check_client_rsts

t_end

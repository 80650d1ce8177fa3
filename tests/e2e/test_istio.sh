#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Istio configuration through `veer apply`, with the files of examples/.
# The pods are veer-httpsrv (v1, v2) and every burst is N new connections
# of veer-httpclient (one request each), so the services with header
# rules, which veer binds late (it answers the SYN and picks the backend
# from the first request), are exercised with real requests:
#
# - customers (Service + Pods, dual-stack VIP 10.96.0.20 / fd00:96::20,
#   port 80): the seed's story, vs-all-v1 -> vs-debug -> vs-canary-90-10 ->
#   vs-50-50 -> vs-all-v2, each applied with the Service file and the
#   DestinationRule. After every step both VIPs get a burst of new
#   connections: all-v1 and all-v2 exact, 90/10 and 50/50 within 6
#   binomial standard deviations. The debug step (rule user-agent exact
#   "debug" -> v2, default v1): `veer apply` prints its "header/uri rules:"
#   notes on stderr; in tc and xdp mode every request with `user-agent:
#   debug` reaches v2 and every other one v1 (exact), and the service's
#   rule counter / default-route counter (`veer stats -o json` .http) move
#   by exactly the connections sent. In cgroup mode node-local clients are
#   placed at connect(), before any request byte: both bursts take the
#   default route (all v1) and .http.unseenDefault moves instead.
# - applying the same files again says "no changes"; `apply --dry-run` of
#   the next step prints the weight change and changes nothing; broken
#   files (weights summing to 90, an unknown subset) fail with one
#   `file:line:col:` line and change nothing.
# - `veer weight customers ...` (short name, with and without -n) changes
#   both entries of the host; `veer stats customers -o json` lists both.
# - purchase-history (ServiceEntry + WorkloadEntries, 10.96.0.30:8080) and
#   tcp-echo (Service + Pods, tcp route, 10.96.0.40:9000) at 80/20; product
#   (a directory: Service, DestinationRule, VirtualService with an X-group
#   rule -> new, weighted route old 100 / new 0, 10.96.0.50:80) and `veer
#   weight product old=80 new=20`: requests with `X-group: test` all to new
#   (v2) before and after the weight change, the others all to old, then
#   80/20 (cgroup mode: the weighted route and unseenDefault for both).
# - `veer weight` writes through to the stored VirtualService;
#   `veer get all -A -o yaml` applied back says "no changes"; `veer get -o
#   yaml` (the maps' services) is accepted whole by an empty store.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

EX=$LAB_ROOT/examples
CUST=$EX/customers
PH=$EX/purchase-history
TCP=$EX/tcp-echo
PROD=$EX/product

# Connections per burst: weighted steps, and exact (100/0, 0/100) ones.
N=${VEER_E2E_ISTIO_N:-1000}
NEXACT=${VEER_E2E_ISTIO_NEXACT:-500}

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

# What `veer apply` prints on stderr, once per apply, when the services it
# applies have header/uri rules (user/istio.c note_rule_limits): notes on
# what a rule cannot do. Every stderr line of such an apply must be one.
NOTE_RE='note: header/uri rules: '
NOTE_FIRST='the first request of a connection chooses its backend'

# Node-local clients (cgroup mode) are placed at connect(): rules cannot
# apply there, every connection takes the default route.
RULES=1
[[ $LAB_MODE == cgroup ]] && RULES=0

t_begin istio
lab_init jq bpftool "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends "$BACKEND_PORT"
lab_veer_attach
# A failed burst prints what the capture rings and counters say
# (lab_burst_diag: the RSTs, the failed ports' segments and conntrack
# entries).
lab_cap_start

# t_entry NAME VIP PORT V1_BACKEND V2_BACKEND: the service entry NAME has
# that VIP:port and one backend in each subset.
t_entry() {
	local got want
	got=$(veer get -o json 2>/dev/null | jq -c --arg n "$1" '.services[] |
		select(.name == $n) | [.vip, .port, ([.subsets[] |
		{(.name): .backends}] | add)]' 2>/dev/null || true)
	want=$(jq -nc --arg v "$2" --argjson p "$3" --arg b1 "$4" --arg b2 "$5" \
		'[$v, $p, {v1: [$b1], v2: [$b2]}]')
	if [[ $got == "$want" ]]; then
		t_pass "entry $1: $2 port $3, v1 $4, v2 $5"
	else
		t_fail "entry $1: got ${got:-nothing}, expected $want"
	fi
}

# http_burst_to ADDR PORT N OUT [ARGS...]: N new connections of
# veer-httpclient count (one request each, ARGS: its -H and other options)
# to ADDR:PORT where the load comes from; the "<version> <n>" / "errors
# <n>" summary in OUT, stderr in OUT.err. Never fails the script.
http_burst_to() {
	local addr=$1 port=$2 n=$3 out=$4
	shift 4
	lab_http_client count --addr "$addr" --port "$port" -n "$n" -c 32 \
		--timeout-ms 5000 --fail-ports "$@" >"$out" 2>"$out.err" || true
}

BURSTS=0
# t_burst DESC ADDR PORT N V1_WEIGHT [ARGS...]: N new connections (HTTP,
# veer-httpclient ARGS) to ADDR:PORT split as the weights say (exact for
# 100/0 and 0/100, else within SPLIT_SIGMAS sd). A probe of 4
# connections first: if none gets through (no service at that VIP), fail
# at once instead of waiting out N connection timeouts (PROBE_FAILED=1
# then, else 0).
PROBE_FAILED=0
t_burst() {
	local desc=$1 addr=$2 port=$3 n=$4 w1=$5 out
	shift 5
	BURSTS=$((BURSTS + 1))
	out=$LAB_TMP/burst-$BURSTS.out
	PROBE_FAILED=0
	http_burst_to "$addr" "$port" 4 "$out.probe" "$@"
	if (($(count_of "$out.probe" errors) == 4)); then
		t_fail "$desc: no connection to $addr:$port got through ($(oneline "$out.probe.err"))"
		PROBE_FAILED=1
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

# t_rule_burst DESC ENTRY ADDR PORT N V1_WEIGHT DEFAULT_V1 COUNTER
# [ARGS...]: t_burst of N connections to a service with header rules
# (entry ENTRY), which tc and xdp mode split as V1_WEIGHT says; ENTRY's
# HTTP counter COUNTER (rule<I>, defaultRequests) moves by exactly the
# connections sent (probe included). cgroup mode: the default route
# (DEFAULT_V1) and unseenDefault, whatever the request carries.
t_rule_burst() {
	local desc=$1 entry=$2 addr=$3 port=$4 n=$5 w1=$6 wdef=$7 counter=$8 \
		before after d
	shift 8
	if ((!RULES)); then
		w1=$wdef
		counter=unseenDefault
		desc+=" [cgroup: placed at connect(), default route]"
	fi
	before=$LAB_TMP/counters-$((BURSTS + 1)).before
	after=$LAB_TMP/counters-$((BURSTS + 1)).after
	http_counters "$entry" >"$before"
	t_burst "$desc" "$addr" "$port" "$n" "$w1" "$@"
	((!PROBE_FAILED)) || return 0
	http_counters "$entry" >"$after"
	d=$(http_delta "$before" "$after" "$counter")
	if [[ -z $d ]]; then
		t_fail "$desc: veer stats -o json has no .http counter '$counter' for $entry"
	elif ((d == n + 4)); then
		t_pass "$desc: $entry counter $counter +$d ($n + the probe's 4)"
	else
		t_fail "$desc: $entry counter $counter +$d, want +$((n + 4)) ($n + the probe's 4; all: $(paste -sd ' ' "$after"))"
	fi
}

# t_bursts46 DESC V1_WEIGHT: a burst to each customers VIP.
t_bursts46() {
	local n=$N
	[[ $2 == 100 || $2 == 0 ]] && n=$NEXACT
	t_burst "$1 (IPv4)" "$CUST_VIP4" "$CUST_PORT" "$n" "$2"
	t_burst "$1 (IPv6)" "$CUST_VIP6" "$CUST_PORT" "$n" "$2"
}

# t_apply DESC ARGS...: `veer apply ARGS` exits 0.
t_apply() {
	local desc=$1
	shift
	vrun apply "$@"
	if ((VRC == 0)); then
		t_pass "$desc: exit 0: $(oneline "$VOUT")"
	else
		t_fail "$desc: veer apply $* exit $VRC: $(oneline "$VERR")"
	fi
}

# t_no_changes DESC ARGS...: `veer apply ARGS` exits 0, prints "no
# changes" and leaves `veer get -o json` byte-identical.
t_no_changes() {
	local desc=$1 before=$LAB_TMP/nc-before.json after=$LAB_TMP/nc-after.json
	shift
	snapshot "$before"
	vrun apply "$@"
	snapshot "$after"
	if ((VRC != 0)); then
		t_fail "$desc: exit $VRC: $(oneline "$VERR")"
	elif ! grep -q 'no changes' "$VOUT"; then
		t_fail "$desc: exit 0 but no 'no changes' in: $(oneline "$VOUT")"
	elif [[ ! -s $before ]] || ! cmp -s "$before" "$after"; then
		t_fail "$desc: said 'no changes' but 'veer get -o json' changed"
		diff "$before" "$after" >&2 || true
	else
		t_pass "$desc: exit 0, 'no changes', state unchanged"
	fi
}

# t_refused DESC FILE_RE ARGS...: `veer ARGS` fails with one stderr line
# that starts with FILE_RE:LINE:COL: and changes nothing.
t_refused() {
	local desc=$1 re=$2 before=$LAB_TMP/rf-before.json after=$LAB_TMP/rf-after.json lines
	shift 2
	snapshot "$before"
	vrun "$@"
	snapshot "$after"
	lines=$(awk 'END { print NR }' "$VERR")
	if ((VRC == 0)); then
		t_fail "$desc: 'veer $*' succeeded: $(oneline "$VOUT")"
	elif ((lines != 1)); then
		t_fail "$desc: exit $VRC, $lines stderr lines: $(oneline "$VERR")"
	elif ! grep -Eq "(^|[ :/])$re:[0-9]+:[0-9]+: " "$VERR"; then
		t_fail "$desc: exit $VRC, no '${re}:line:col:' in: $(cat "$VERR")"
	elif [[ ! -s $before ]] || ! cmp -s "$before" "$after"; then
		t_fail "$desc: exit $VRC but 'veer get -o json' changed"
		diff "$before" "$after" >&2 || true
	else
		t_pass "$desc: exit $VRC, '$(cat "$VERR")', state unchanged"
	fi
}

# t_names DESC FILE NAME...: FILE (JSON with .services[].name) lists NAMEs.
t_names() {
	local desc=$1 file=$2 name missing=
	shift 2
	for name in "$@"; do
		jq -e --arg n "$name" 'any(.services[]; .name == $n)' "$file" \
			>/dev/null 2>&1 || missing+=" $name"
	done
	if [[ -z $missing ]]; then
		t_pass "$desc: lists $*"
	else
		t_fail "$desc: missing$missing in: $(head -c 300 "$file")"
	fi
}

CUST_FILES=(-f "$CUST/service.yaml" -f "$CUST/destinationrule.yaml")

# t_rule_notes DESC: the last vrun's stderr holds veer's "header/uri
# rules:" notes (the per-connection one among them) and nothing else.
t_rule_notes() {
	if grep -q "$NOTE_RE$NOTE_FIRST" "$VERR" &&
		! grep -qv "$NOTE_RE" "$VERR"; then
		t_pass "$1: header/uri rule notes on stderr: $(oneline "$VERR")"
	else
		t_fail "$1: want only '${NOTE_RE}...' notes on stderr, among them '$NOTE_FIRST'; got '$(oneline "$VERR")'"
	fi
}

# customers_step TITLE VS_FILE V1_WEIGHT [rule]: applies the step's
# VirtualService with the Service and the DestinationRule, checks the
# weights of both entries and the traffic to both VIPs. "rule": the file
# holds the user-agent rule, so veer must print its notes on stderr and
# the bursts check requests with and without the header (see the top of
# the file); other steps must print nothing on stderr.
customers_step() {
	local title=$1 vs=$2 w1=$3 rule=${4:-}
	vrun apply -f "$CUST/$vs" "${CUST_FILES[@]}"
	if ((VRC != 0)); then
		t_fail "customers $title: veer apply -f $vs exit $VRC: $(oneline "$VERR")"
		return
	fi
	t_pass "customers $title: veer apply -f $vs exit 0: $(oneline "$VOUT")"
	if [[ -n $rule ]]; then
		t_rule_notes "customers $title"
	elif [[ -s $VERR ]]; then
		t_fail "customers $title: unexpected stderr: $(oneline "$VERR")"
	fi
	t_weights "customers $title" "$CUST4" "v1=$w1 v2=$((100 - w1))"
	t_weights "customers $title" "$CUST6" "v1=$w1 v2=$((100 - w1))"
	if [[ -z $rule ]]; then
		t_bursts46 "customers $title" "$w1"
		return
	fi
	t_rule_burst "customers $title: user-agent debug (IPv4)" "$CUST4" \
		"$CUST_VIP4" "$CUST_PORT" "$NEXACT" 0 "$w1" rule0 -H 'User-Agent: debug'
	t_rule_burst "customers $title: user-agent debug (IPv6)" "$CUST6" \
		"$CUST_VIP6" "$CUST_PORT" "$NEXACT" 0 "$w1" rule0 -H 'User-Agent: debug'
	t_rule_burst "customers $title: no user-agent (IPv4)" "$CUST4" \
		"$CUST_VIP4" "$CUST_PORT" "$NEXACT" "$w1" "$w1" defaultRequests
	t_rule_burst "customers $title: user-agent 'debugger' (IPv6)" "$CUST6" \
		"$CUST_VIP6" "$CUST_PORT" "$NEXACT" "$w1" "$w1" defaultRequests \
		-H 'User-Agent: debugger'
}

# ---- customers: the seed's story -----------------------------------------

customers_step "all-v1" vs-all-v1.yaml 100
t_entry "$CUST4" "$CUST_VIP4" "$CUST_PORT" "$V1_V4:$BACKEND_PORT" "$V2_V4:$BACKEND_PORT"
t_entry "$CUST6" "$CUST_VIP6" "$CUST_PORT" "[$V1_V6]:$BACKEND_PORT" "[$V2_V6]:$BACKEND_PORT"
t_no_changes "customers all-v1 applied again" -f "$CUST/vs-all-v1.yaml" "${CUST_FILES[@]}"

customers_step "debug (user-agent: debug -> v2)" vs-debug.yaml 100 rule
t_no_changes "customers debug applied again" -f "$CUST/vs-debug.yaml" "${CUST_FILES[@]}"

# Dry run of the next step: prints the change of both entries, changes
# nothing.
snapshot "$LAB_TMP/dry-before.json"
vrun apply --dry-run -f "$CUST/vs-canary-90-10.yaml" "${CUST_FILES[@]}"
snapshot "$LAB_TMP/dry-after.json"
if ((VRC != 0)); then
	t_fail "customers canary --dry-run: exit $VRC: $(oneline "$VERR")"
elif (($(grep -c 'v1 100 -> 90' "$VOUT") < 2 || $(grep -c 'v2 0 -> 10' "$VOUT") < 2)) ||
	! grep -q 'dry run' "$VOUT"; then
	t_fail "customers canary --dry-run: want 'v1 100 -> 90' and 'v2 0 -> 10' for both entries, '(dry run)'; got: $(oneline "$VOUT")"
elif [[ ! -s $LAB_TMP/dry-before.json ]] ||
	! cmp -s "$LAB_TMP/dry-before.json" "$LAB_TMP/dry-after.json"; then
	t_fail "customers canary --dry-run: 'veer get -o json' changed"
	diff "$LAB_TMP/dry-before.json" "$LAB_TMP/dry-after.json" >&2 || true
else
	t_pass "customers canary --dry-run: exit 0, state unchanged: $(oneline "$VOUT")"
fi
# The data plane still runs the debug step: the header to v2, the rest v1.
t_rule_burst "customers after --dry-run: user-agent debug (IPv4)" "$CUST4" \
	"$CUST_VIP4" "$CUST_PORT" 200 0 100 rule0 -H 'User-Agent: debug'
t_rule_burst "customers after --dry-run: no user-agent (IPv4)" "$CUST4" \
	"$CUST_VIP4" "$CUST_PORT" 200 100 100 defaultRequests

# Broken next steps: one file:line:col: line, nothing changed.
sed 's/weight: 90/weight: 80/' "$CUST/vs-canary-90-10.yaml" >"$LAB_TMP/vs-sum90.yaml"
t_refused "VirtualService with weights summing to 90" 'vs-sum90\.yaml' \
	apply -f "$LAB_TMP/vs-sum90.yaml" "${CUST_FILES[@]}"
sed 's/subset: v1/subset: v3/' "$CUST/vs-all-v1.yaml" >"$LAB_TMP/vs-v3.yaml"
t_refused "VirtualService routing to an unknown subset" 'vs-v3\.yaml' \
	apply -f "$LAB_TMP/vs-v3.yaml" "${CUST_FILES[@]}"
if [[ $(cat "$VERR") =~ vs-v3\.yaml:([0-9]+): ]] &&
	[[ $(sed -n "${BASH_REMATCH[1]}p" "$LAB_TMP/vs-v3.yaml") == *"subset: v3"* ]]; then
	t_pass "unknown subset error points at the 'subset: v3' line"
else
	t_fail "unknown subset error does not point at the 'subset: v3' line (line $(grep -n 'subset: v3' "$LAB_TMP/vs-v3.yaml" | cut -d: -f1)): $(cat "$VERR")"
fi

customers_step "canary 90/10" vs-canary-90-10.yaml 90
customers_step "50/50" vs-50-50.yaml 50
customers_step "all-v2" vs-all-v2.yaml 0

# ---- veer weight and stats by short name (kubectl patch) ------------------

vrun weight customers v1=90 v2=10
if ((VRC == 0)); then
	t_pass "veer weight customers v1=90 v2=10: exit 0: $(oneline "$VOUT")"
else
	t_fail "veer weight customers v1=90 v2=10: exit $VRC: $(oneline "$VERR")"
fi
t_weights "weight by short name" "$CUST4" "v1=90 v2=10"
t_weights "weight by short name" "$CUST6" "v1=90 v2=10"

vrun weight customers -n default v1=80 v2=20
if ((VRC == 0)); then
	t_pass "veer weight customers -n default v1=80 v2=20: exit 0: $(oneline "$VOUT")"
else
	t_fail "veer weight customers -n default v1=80 v2=20: exit $VRC: $(oneline "$VERR")"
fi
t_weights "weight -n default" "$CUST4" "v1=80 v2=20"
t_weights "weight -n default" "$CUST6" "v1=80 v2=20"
t_bursts46 "customers after veer weight" 80

snapshot "$LAB_TMP/wn-before.json"
vrun weight customers -n nosuch v1=50 v2=50
snapshot "$LAB_TMP/wn-after.json"
if ((VRC != 0)) && (($(awk 'END { print NR }' "$VERR") == 1)) &&
	[[ -s $LAB_TMP/wn-before.json ]] &&
	cmp -s "$LAB_TMP/wn-before.json" "$LAB_TMP/wn-after.json"; then
	t_pass "veer weight customers -n nosuch: exit $VRC, '$(cat "$VERR")', state unchanged"
else
	t_fail "veer weight customers -n nosuch: exit $VRC, stderr '$(oneline "$VERR")', state $(cmp -s "$LAB_TMP/wn-before.json" "$LAB_TMP/wn-after.json" && echo unchanged || echo changed)"
fi

# One entry by its full name.
vrun weight "$CUST6" v1=100 v2=0
if ((VRC == 0)); then
	t_pass "veer weight $CUST6 v1=100 v2=0: exit 0: $(oneline "$VOUT")"
else
	t_fail "veer weight $CUST6 v1=100 v2=0: exit $VRC: $(oneline "$VERR")"
fi
t_weights "weight by entry name" "$CUST6" "v1=100 v2=0"
t_weights "weight by entry name, other entry untouched" "$CUST4" "v1=80 v2=20"

if veer stats customers -o json >"$LAB_TMP/stats.json" 2>"$LAB_TMP/stats.err"; then
	t_names "veer stats customers -o json" "$LAB_TMP/stats.json" "$CUST4" "$CUST6"
else
	t_fail "veer stats customers -o json: $(oneline "$LAB_TMP/stats.err")"
fi

# Entries of one host with different weights have no Istio form: `veer get
# -o yaml` refuses with one line until they are set alike again.
rc=0
veer get -o yaml >/dev/null 2>"$LAB_TMP/yaml.err" || rc=$?
if ((rc != 0)) && (($(awk 'END { print NR }' "$LAB_TMP/yaml.err") == 1)); then
	t_pass "veer get -o yaml with diverged entries of a host: exit $rc, '$(cat "$LAB_TMP/yaml.err")'"
else
	t_fail "veer get -o yaml with diverged entries of a host: exit $rc, stderr '$(oneline "$LAB_TMP/yaml.err")' (want a one-line refusal)"
fi
vrun weight customers v1=80 v2=20
t_weights "weight customers realigned" "$CUST6" "v1=80 v2=20"

# ---- purchase-history: ServiceEntry + WorkloadEntries ---------------------

PH_FILES=(-f "$PH/serviceentry.yaml" -f "$PH/purchase-history-dr.yaml")
t_apply "purchase-history all-v1" -f "$PH/purchase-history-vs-all-v1.yaml" "${PH_FILES[@]}"
t_weights "purchase-history all-v1" "$PH_HOST" "v1=100 v2=0"
t_entry "$PH_HOST" "$PH_VIP" "$PH_PORT" "$V1_V4:$BACKEND_PORT" "$V2_V4:$BACKEND_PORT"
t_burst "purchase-history all-v1" "$PH_VIP" "$PH_PORT" "$NEXACT" 100
t_apply "purchase-history 80/20" -f "$PH/purchase-history-vs-20-v2.yaml" "${PH_FILES[@]}"
t_weights "purchase-history 80/20" "$PH_HOST" "v1=80 v2=20"
t_burst "purchase-history 80/20" "$PH_VIP" "$PH_PORT" "$N" 80

# ---- tcp-echo: tcp routes -------------------------------------------------

TCP_FILES=(-f "$TCP/services.yaml" -f "$TCP/destinationrule.yaml")
t_apply "tcp-echo all-v1" -f "$TCP/tcp-echo-all-v1.yaml" "${TCP_FILES[@]}"
t_weights "tcp-echo all-v1" "$TCP_HOST" "v1=100 v2=0"
t_entry "$TCP_HOST" "$TCP_VIP" "$TCP_PORT" "$V1_V4:$BACKEND_PORT" "$V2_V4:$BACKEND_PORT"
t_burst "tcp-echo all-v1" "$TCP_VIP" "$TCP_PORT" "$NEXACT" 100
t_apply "tcp-echo 80/20" -f "$TCP/tcp-echo-20-v2.yaml" "${TCP_FILES[@]}"
t_weights "tcp-echo 80/20" "$TCP_HOST" "v1=80 v2=20"
t_burst "tcp-echo 80/20" "$TCP_VIP" "$TCP_PORT" "$N" 80

# ---- product: a directory, X-group rule, old/new subsets -------------------

vrun apply -f "$PROD"
if ((VRC == 0)); then
	t_pass "product: veer apply -f examples/product (directory): exit 0: $(oneline "$VOUT")"
	t_rule_notes "product"
else
	t_fail "product: veer apply -f examples/product: exit $VRC, stdout '$(oneline "$VOUT")', stderr '$(oneline "$VERR")'"
fi
t_no_changes "product directory applied again" -f "$PROD"
t_weights "product" "$PROD_HOST" "new=0 old=100"
t_rule_burst "product: X-group test -> new" "$PROD_HOST" "$PROD_VIP" \
	"$PROD_PORT" "$NEXACT" 0 100 rule0 -H 'X-group: test'
t_rule_burst "product: no X-group -> old" "$PROD_HOST" "$PROD_VIP" \
	"$PROD_PORT" "$NEXACT" 100 100 defaultRequests
t_rule_burst "product: X-group 'tester' -> old" "$PROD_HOST" "$PROD_VIP" \
	"$PROD_PORT" "$NEXACT" 100 100 defaultRequests -H 'X-group: tester'
vrun weight product old=80 new=20
if ((VRC == 0)); then
	t_pass "veer weight product old=80 new=20: exit 0: $(oneline "$VOUT")"
else
	t_fail "veer weight product old=80 new=20: exit $VRC: $(oneline "$VERR")"
fi
t_weights "product after veer weight" "$PROD_HOST" "new=20 old=80"
t_rule_burst "product old=80 new=20: X-group test -> new" "$PROD_HOST" \
	"$PROD_VIP" "$PROD_PORT" "$NEXACT" 0 80 rule0 -H 'X-group: test'
t_rule_burst "product old=80 new=20: no X-group" "$PROD_HOST" "$PROD_VIP" \
	"$PROD_PORT" "$N" 80 80 defaultRequests

# ---- round trip: get KIND -o yaml | apply ---------------------------------

# `veer weight` wrote through to the stored VirtualService: its default
# route now says 80/20, in the form apply reads back.
if veer get vs product-vs -n hands-on -o yaml >"$LAB_TMP/product-vs.yaml" 2>"$LAB_TMP/pvs.err" &&
	grep -A1 'subset: old' "$LAB_TMP/product-vs.yaml" | grep -q 'weight: 80' &&
	grep -A1 'subset: new' "$LAB_TMP/product-vs.yaml" | grep -q 'weight: 20'; then
	t_pass "veer weight wrote old=80 new=20 into the stored VirtualService hands-on/product-vs"
else
	t_fail "stored VirtualService hands-on/product-vs after veer weight: $(oneline "$LAB_TMP/product-vs.yaml") $(oneline "$LAB_TMP/pvs.err")"
fi

snapshot "$LAB_TMP/rt-before.json"
t_names "veer get -o json" "$LAB_TMP/rt-before.json" "$CUST4" "$CUST6" \
	"$PH_HOST" "$TCP_HOST" "$PROD_HOST"
# Every stored object, as applied: applying them again changes nothing.
if veer get all -A -o yaml >"$LAB_TMP/roundtrip.yaml" 2>"$LAB_TMP/rt.err" &&
	[[ -s $LAB_TMP/roundtrip.yaml ]]; then
	t_pass "veer get all -A -o yaml: $(grep -c '^kind:' "$LAB_TMP/roundtrip.yaml") objects"
	t_no_changes "veer get all -A -o yaml applied back (round trip)" -f "$LAB_TMP/roundtrip.yaml"
else
	t_fail "veer get all -A -o yaml: $(oneline "$LAB_TMP/rt.err")"
fi
# The maps' services as Istio YAML: what another node's (empty) store
# takes whole; a dry run against no maps at all.
if veer get -o yaml >"$LAB_TMP/services.yaml" 2>"$LAB_TMP/svc.err" &&
	VEER_STATE_DIR=$LAB_TMP/elsewhere nsenter --net="/run/netns/$NS_NODE" -- \
		"$VEER_BIN" --pin-root "/sys/fs/bpf/veer-nothing-$$" apply --dry-run \
		-f "$LAB_TMP/services.yaml" >"$LAB_TMP/elsewhere.out" 2>&1 &&
	grep -q "^service $PROD_HOST: created" "$LAB_TMP/elsewhere.out"; then
	t_pass "veer get -o yaml: a whole configuration another store accepts ($(wc -l <"$LAB_TMP/services.yaml") lines)"
else
	t_fail "veer get -o yaml into an empty store: $(oneline "$LAB_TMP/elsewhere.out") $(oneline "$LAB_TMP/svc.err")"
fi

t_check_ct_drained
t_check_client_rsts

t_end

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Metrics: `veer stats -o prometheus` and `veer metrics --listen`, read by
# a real Prometheus. web at 80/20; veer metrics serves the node
# namespace's 127.0.0.1; Prometheus runs in the same namespace, scraping
# every second. The load comes in bursts of known size, and after each
# burst Prometheus' own value of veer_new_connections_total, per subset,
# must be exactly what the clients counted per backend; at the end
# increase() over the whole run must lie between the exact count and the
# most its extrapolation can add. The exposition passes `promtool check
# metrics`, has one HELP and TYPE per family, labels as documented (an
# Istio host with a header rule beside the native services: host,
# namespace and rule labels, there and through Prometheus); 404
# and 405 for other paths and methods, IPv6 listen, bad and busy
# addresses refused in one line, SIGTERM and SIGINT end it with exit 0.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

METRICS_PORT=9100
PROM_PORT=9090
BURSTS=4
BURST_N=500
# Prometheus' whole life in this test, at most (timeout(1) ends it).
PROM_LIFETIME_S=300

t_begin metrics
lab_init jq curl prometheus promtool timeout
lab_up_variant
lab_start_backends
lab_veer_up 80
# An Istio host beside web and web6, with a header rule (no traffic): its
# series carry host and namespace, and a rule label.
EX=$LAB_ROOT/examples/customers
CUSTOMERS=customers.default.svc.cluster.local
veer apply -f "$EX/service.yaml" -f "$EX/destinationrule.yaml" \
	-f "$EX/vs-debug.yaml" >"$LAB_TMP/apply-customers.log" 2>&1 || {
	cat "$LAB_TMP/apply-customers.log" >&2
	lab_die "veer apply of examples/customers failed"
}

# ---- veer stats -o prometheus ----------------------------------------------

stats=$LAB_TMP/stats.prom
if veer stats -o prometheus >"$stats" 2>"$stats.err"; then
	t_pass "veer stats -o prometheus: exit 0, $(grep -vc '^#' "$stats") series"
else
	t_fail "veer stats -o prometheus: $(head -n1 "$stats.err")"
fi

# check_exposition FILE WHAT: promtool accepts it; every family has exactly
# one HELP and one TYPE, before its series (a histogram's _bucket, _sum and
# _count series after its TYPE); counters end in _total.
check_exposition() {
	local file=$1 what=$2 lint bad
	if lint=$(promtool check metrics <"$file" 2>&1); then
		t_pass "$what: promtool check metrics accepts it"
	else
		t_fail "$what: promtool check metrics: $(echo "$lint" | head -n3 | tr '\n' ' ')"
	fi
	bad=$(awk '
		$1 == "#" && ($2 == "HELP" || $2 == "TYPE") {
			if (seen[$2, $3]++) print "two " $2 " for " $3
			if ($2 == "TYPE") type[$3] = $4
			next
		}
		{
			name = $0; sub(/[{ ].*/, "", name)
			# The series of a histogram family: _bucket, _sum, _count.
			base = name; sub(/_(bucket|sum|count)$/, "", base)
			if (!((name) in type) && type[base] == "histogram")
				next
			if (!((name) in type)) print "series before TYPE: " name
			else if (type[name] == "counter" && name !~ /_total$/)
				print "counter without _total: " name
		}' "$file" | head -n3 | tr '\n' ' ')
	if [[ -z $bad ]]; then
		t_pass "$what: one HELP and one TYPE per family, before its series; counters end in _total"
	else
		t_fail "$what: $bad"
	fi
}
check_exposition "$stats" "stats -o prometheus"

# series_value FILE SERIES: the value of the series written exactly so.
series_value() {
	awk -v s="$2" 'index($0, s " ") == 1 { print $2; f = 1 } END { exit !f }' "$1"
}

want_series() {
	local file=$1 series=$2 want=$3 got
	got=$(series_value "$file" "$series" || echo missing)
	if [[ $got == "$want" ]]; then
		t_pass "stats -o prometheus: $series $want"
	else
		t_fail "stats -o prometheus: $series is $got, want $want"
	fi
}
want_series "$stats" 'veer_subset_weight{service="web",subset="v1"}' 80
want_series "$stats" 'veer_subset_weight{service="web",subset="v2"}' 20
want_series "$stats" 'veer_subset_backends{service="web6",subset="v2"}' 1
want_series "$stats" 'veer_service_info{service="web6",address="[fd00:96::10]:80"}' 1
want_series "$stats" 'veer_new_connections_total{service="web",subset="v1"}' 0
want_series "$stats" 'veer_new_connections_total{service="web"}' 0
want_series "$stats" 'veer_packets_total{service="web",subset="v2",direction="reverse"}' 0
want_series "$stats" 'veer_conntrack_entries{table="established"}' 0
C="service=\"$CUSTOMERS:80\",host=\"$CUSTOMERS\",namespace=\"default\""
want_series "$stats" "veer_subset_weight{$C,subset=\"v1\"}" 100
want_series "$stats" "veer_subset_weight{$C,subset=\"v2\"}" 0
want_series "$stats" "veer_http_rule_requests_total{$C,rule=\"0\"}" 0
want_series "$stats" "veer_service_info{service=\"$CUSTOMERS:80/ipv6\",host=\"$CUSTOMERS\",namespace=\"default\",address=\"[fd00:96::20]:80\"}" 1
if grep -q 'rule="1"' "$stats"; then
	t_fail "stats -o prometheus: a rule=\"1\" series, but $CUSTOMERS has one rule"
else
	t_pass "stats -o prometheus: no rule=\"1\" series ($CUSTOMERS has one rule)"
fi
# One service named: its series only, no conntrack (the node's).
veer stats web -o prometheus >"$LAB_TMP/stats-web.prom" 2>&1 || true
if grep -q 'service="web6"' "$LAB_TMP/stats-web.prom" ||
	grep -q '^veer_conntrack_entries{' "$LAB_TMP/stats-web.prom" ||
	! grep -q '^veer_new_connections_total{service="web",subset="v1"} 0$' \
		"$LAB_TMP/stats-web.prom"; then
	t_fail "stats web -o prometheus: $(head -n3 "$LAB_TMP/stats-web.prom" | tr '\n' ' ')"
else
	t_pass "stats web -o prometheus: web's series only, no conntrack"
fi

# ---- veer metrics: errors ----------------------------------------------------

# metrics_fails WANT_RC PATTERN ARGS...: veer metrics exits WANT_RC with
# one line on stderr matching PATTERN.
metrics_fails() {
	local want=$1 pattern=$2 rc=0 err=$LAB_TMP/metrics-err.log
	shift 2
	timeout 10 nsenter --net="/run/netns/$NS_NODE" -- "$VEER_BIN" \
		--pin-root "$VEER_PIN_ROOT" metrics "$@" >"$err" 2>&1 || rc=$?
	if ((rc == want)) && (($(wc -l <"$err") == 1)) && grep -Eq "$pattern" "$err"; then
		t_pass "veer metrics $*: exit $rc, '$(cat "$err")'"
	else
		t_fail "veer metrics $*: exit $rc (want $want), '$(tr '\n' ' ' <"$err")' (want /$pattern/)"
	fi
}
metrics_fails 2 'want ADDR:PORT' --listen 127.0.0.1
metrics_fails 2 'want ADDR:PORT' --listen '::1:9100'
metrics_fails 2 'want ADDR:PORT' --listen 127.0.0.1:70000
metrics_fails 2 'required'
metrics_fails 1 'Cannot assign requested address' --listen 10.10.9.9:$METRICS_PORT

# ---- veer metrics: serving -------------------------------------------------

# start_metrics ADDR:PORT LOG [OPTION...]: veer metrics in the node
# namespace, in the background (PID in LAB_BG_PID); a bounded wait until
# it listens there.
start_metrics() {
	lab_bg "$NS_NODE" "$2" "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
		metrics --listen "$1" "${@:3}"
	if ! wait_until 10000 _listening_on "$1" "$LAB_BG_PID" ||
		! kill -0 "$LAB_BG_PID" 2>/dev/null; then
		cat "$2" >&2
		lab_die "veer metrics did not start listening on $1"
	fi
}
_listening_on() {
	kill -0 "$2" 2>/dev/null || return 0
	[[ -n $(lab_exec "$NS_NODE" ss -Hltn "src $1") ]]
}

start_metrics "127.0.0.1:$METRICS_PORT" "$LAB_TMP/metrics.log"
METRICS_PID=$LAB_BG_PID
metrics_fails 1 'Address already in use' --listen "127.0.0.1:$METRICS_PORT"

# get URL [CURL ARGS...]: the status code; body in $LAB_TMP/body, headers
# in $LAB_TMP/headers.
get() {
	local url=$1
	shift
	lab_exec "$NS_NODE" curl -s -m 10 -o "$LAB_TMP/body" -D "$LAB_TMP/headers" \
		-w '%{http_code}' "$@" "$url" || true
}

base=http://127.0.0.1:$METRICS_PORT
code=$(get "$base/metrics")
if [[ $code == 200 ]] && grep -qi '^content-type: text/plain; version=0.0.4' "$LAB_TMP/headers"; then
	t_pass "GET /metrics: 200, text/plain; version=0.0.4"
else
	t_fail "GET /metrics: $code, $(grep -i content-type "$LAB_TMP/headers" | tr -d '\r')"
fi
cp "$LAB_TMP/body" "$LAB_TMP/scrape.prom"
check_exposition "$LAB_TMP/scrape.prom" "GET /metrics"
t_check "GET /metrics: the same families as stats -o prometheus" \
	cmp -s <(grep '^# ' "$stats") <(grep '^# ' "$LAB_TMP/scrape.prom")
code=$(get "$base/metrics" -I)
t_check "HEAD /metrics: 200 ($code)" test "$code" = 200
code=$(get "$base/")
t_check "GET /: 404 ($code)" test "$code" = 404
code=$(get "$base/metricsx")
t_check "GET /metricsx: 404 ($code)" test "$code" = 404
# No request body: a server that answers before reading one may close
# with unread data, a reset (cgroup mode counts the node's resets).
code=$(get "$base/metrics" -X POST)
if [[ $code == 405 ]] && grep -qi '^allow: GET, HEAD' "$LAB_TMP/headers"; then
	t_pass "POST /metrics: 405, Allow: GET, HEAD"
else
	t_fail "POST /metrics: $code ($(grep -i '^allow' "$LAB_TMP/headers" | tr -d '\r'))"
fi
code=$(get "$base/metrics?x=1" -X DELETE)
t_check "DELETE /metrics: 405 ($code)" test "$code" = 405

# stop_ok PID SIGNAL WHAT: SIGNAL ends PID within 5 s, with exit 0.
stop_ok() {
	local pid=$1 sig=$2 what=$3 rc=0
	kill "-$sig" "$pid"
	if ! wait_until 5000 _lab_gone "$pid"; then
		t_fail "$what: still running 5 s after SIG$sig"
		return
	fi
	wait "$pid" || rc=$?
	t_check "$what: SIG$sig ends it, exit $rc" test "$rc" = 0
}

# IPv6, on the node's client-facing address, read from the node, without
# the conntrack gauges; ended by SIGINT.
start_metrics "[fd10:1::1]:$METRICS_PORT" "$LAB_TMP/metrics6.log" --no-conntrack
M6_PID=$LAB_BG_PID
code=$(get "http://[fd10:1::1]:$METRICS_PORT/metrics")
if [[ $code == 200 ]] && ! grep -q '^veer_conntrack_entries' "$LAB_TMP/body" &&
	grep -q '^veer_new_connections_total{service="web6",subset="v1"} ' "$LAB_TMP/body"; then
	t_pass "GET http://[fd10:1::1]:$METRICS_PORT/metrics (--no-conntrack): 200, no conntrack gauges"
else
	t_fail "GET http://[fd10:1::1]:$METRICS_PORT/metrics (--no-conntrack): $code, $(grep -c '^veer_conntrack_entries' "$LAB_TMP/body") conntrack gauge lines"
fi
stop_ok "$M6_PID" INT "veer metrics [fd10:1::1]:$METRICS_PORT"

# ---- Prometheus --------------------------------------------------------------

cat >"$LAB_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: veer
    static_configs:
      - targets: ['127.0.0.1:$METRICS_PORT']
EOF
lab_bg "$NS_NODE" "$LAB_TMP/prometheus.log" timeout -k 5 "$PROM_LIFETIME_S" \
	prometheus --config.file="$LAB_TMP/prometheus.yml" \
	--storage.tsdb.path="$LAB_TMP/prometheus-data" \
	--web.listen-address="127.0.0.1:$PROM_PORT"
PROM_PID=$LAB_BG_PID
prom_start_s=$(date +%s)
PROM=http://127.0.0.1:$PROM_PORT

# prom_query QUERY [TIME]: the value of the query's first result (at
# TIME, seconds since the epoch; default now), or nothing.
prom_query() {
	lab_exec "$NS_NODE" curl -sfG -m 5 --data-urlencode "query=$1" \
		${2:+--data-urlencode "time=$2"} "$PROM/api/v1/query" 2>/dev/null |
		jq -r '.data.result[0].value[1] // empty' 2>/dev/null || true
}
_prom_is() { [[ $(prom_query "$1") == "$2" ]]; }
_prom_ready() {
	kill -0 "$PROM_PID" 2>/dev/null || return 0
	[[ $(lab_exec "$NS_NODE" curl -s -m 2 -o /dev/null -w '%{http_code}' \
		"$PROM/-/ready" 2>/dev/null) == 200 ]]
}
# Listening first: a connection refused is a reset from the node, which
# cgroup mode counts as the clients' (t_check_client_rsts).
if ! wait_until 60000 _listening_on "127.0.0.1:$PROM_PORT" "$PROM_PID" ||
	! wait_until 60000 _prom_ready || ! kill -0 "$PROM_PID" 2>/dev/null; then
	tail -n 20 "$LAB_TMP/prometheus.log" >&2
	lab_die "prometheus did not become ready"
fi
if wait_until 30000 _prom_is 'up{job="veer"}' 1; then
	t_pass "Prometheus scrapes veer metrics: up == 1"
else
	t_fail "Prometheus: up{job=\"veer\"} is '$(prom_query 'up{job="veer"}')', want 1 ($(lab_exec "$NS_NODE" curl -s "$PROM/api/v1/targets" | jq -c '.data.activeTargets[0].lastError'))"
fi

# new_conns SUBSET: web's new-connection counter of that subset.
new_conns() { printf 'veer_new_connections_total{service="web",subset="%s"}' "$1"; }
sum_v1=0
sum_v2=0
for b in $(seq 1 "$BURSTS"); do
	out=$LAB_TMP/burst-$b.out
	count_burst web "$BURST_N" "$out"
	v1=$(count_of "$out" v1)
	v2=$(count_of "$out" v2)
	errs=$(count_of "$out" errors)
	if ((errs != 0 || v1 + v2 != BURST_N)); then
		t_fail "burst $b: $BURST_N connections: v1 $v1 v2 $v2 errors $errs ($(tr '\n' ' ' <"$out.err"))"
	fi
	sum_v1=$((sum_v1 + v1))
	sum_v2=$((sum_v2 + v2))
	# Prometheus has scraped the burst once the total is there.
	if ! wait_until 15000 _prom_is 'sum(veer_new_connections_total{service="web"})' \
		"$((sum_v1 + sum_v2))"; then
		t_fail "burst $b: Prometheus' sum(veer_new_connections_total{service=\"web\"}) is '$(prom_query 'sum(veer_new_connections_total{service="web"})')', want $((sum_v1 + sum_v2))"
		continue
	fi
	p1=$(prom_query "$(new_conns v1)")
	p2=$(prom_query "$(new_conns v2)")
	if [[ $p1 == "$sum_v1" && $p2 == "$sum_v2" ]]; then
		t_pass "burst $b: Prometheus has v1 $p1 v2 $p2 new connections, what the clients counted"
	else
		t_fail "burst $b: Prometheus has v1 $p1 v2 $p2, the clients counted v1 $sum_v1 v2 $sum_v2"
	fi
done

# The whole run as one count: an 80/20 split.
printf 'v1 %d\nv2 %d\nerrors 0\n' "$sum_v1" "$sum_v2" >"$LAB_TMP/all.out"
total=$((BURSTS * BURST_N))
if split_ok "$LAB_TMP/all.out" "$total" 80; then
	t_pass "Prometheus' counters split 80/20 over $total connections: $SPLIT_DESC"
else
	t_fail "Prometheus' counters over $total connections: $SPLIT_DESC"
fi

# increase() and rate() over a window reaching back to Prometheus' start,
# at one instant. The window's first sample was scraped before the first
# burst (up was 1 before it): its value is 0, so Prometheus extrapolates
# nothing before it (never below zero). After the last sample it
# extrapolates at most to the window's end. So increase lies in [total,
# total * (end - first) / (last - first)], first and last the window's
# sample times, read back from Prometheus as a range vector; and rate is
# increase / W.
# Now to the millisecond: whole seconds, cut down, could fall before the
# scrape that saw the last burst.
at=$(date +%s.%3N)
window=$((${at%.*} - prom_start_s + 5))
web='veer_new_connections_total{service="web",subset="v1"}'
read -r t_first v_first t_last <<<"$(lab_exec "$NS_NODE" curl -sfG -m 5 \
	--data-urlencode "query=${web}[${window}s]" --data-urlencode "time=$at" \
	"$PROM/api/v1/query" | jq -r '.data.result[0].values |
		"\(.[0][0]) \(.[0][1]) \(.[-1][0])"' 2>/dev/null || true)"
inc=$(prom_query "sum(increase(veer_new_connections_total{service=\"web\"}[${window}s]))" "$at")
rate=$(prom_query "sum(rate(veer_new_connections_total{service=\"web\"}[${window}s]))" "$at")
hi=$(awk -v n="$total" -v a="$at" -v f="${t_first:-0}" -v l="${t_last:-0}" \
	'BEGIN { printf "%.6f", (l > f ? n * (a - f) / (l - f) : -1) }')
if [[ ${v_first:-} == 0 ]] && awk -v i="$inc" -v r="$rate" -v n="$total" \
	-v w="$window" -v hi="$hi" 'BEGIN {
	exit !(i != "" && i + 0 >= n - 1e-6 && i + 0 <= hi + 0.01 &&
		(r * w - i) ^ 2 < 1e-6) }'; then
	t_pass "increase(veer_new_connections_total[${window}s]) = $inc for $total sent (bound $total..$hi), rate $rate/s"
else
	t_fail "increase(veer_new_connections_total[${window}s]) = '$inc' (bound $total..$hi), rate '$rate', first sample '${v_first:-}' at ${t_first:-?}, last at ${t_last:-?}, evaluated at $at"
fi

# The other families as Prometheus has them (_: any value above 0).
checks=('veer_subset_weight{service="web",subset="v1"} 80'
	'veer_subset_weight{service="web",subset="v2"} 20'
	'veer_subset_backends{service="web",subset="v1"} 1'
	'veer_conntrack_entries_limit{table="established"} _'
	"count(veer_http_rule_requests_total{host=\"$CUSTOMERS\",namespace=\"default\",rule=\"0\"}) 2")
# cgroup mode rewrites connect() and translates no packet.
[[ $LAB_MODE == cgroup ]] ||
	checks+=('veer_packets_total{service="web",subset="v1",direction="forward"} _'
		'veer_bytes_total{service="web",subset="v2",direction="reverse"} _'
		'veer_handshakes_completed_total{service="web",subset="v1"} _')
for q in "${checks[@]}"; do
	series=${q% *}
	want=${q##* }
	got=$(prom_query "$series")
	if [[ $want == _ ]]; then
		if [[ -n $got ]] && ((got > 0)); then
			t_pass "Prometheus: $series $got"
		else
			t_fail "Prometheus: $series is '$got', want > 0"
		fi
	else
		t_check "Prometheus: $series $got (want $want)" test "$got" = "$want"
	fi
done
# Forward packets: at least the three of each connection's handshake and
# close (tc, xdp); cgroup mode translates no packet.
fwd=$(prom_query 'sum(veer_packets_total{service="web",direction="forward"})')
if [[ $LAB_MODE == cgroup ]]; then
	t_check "cgroup mode: no packet translated ($fwd)" test "$fwd" = 0
elif [[ -n $fwd ]] && ((fwd >= 3 * total)); then
	t_pass "forward packets $fwd >= 3 x $total connections"
else
	t_fail "forward packets '$fwd', want >= $((3 * total))"
fi
veer weight web v1=50 v2=50 >"$LAB_TMP/weight.log" 2>&1 || t_fail "veer weight: $(cat "$LAB_TMP/weight.log")"
if wait_until 10000 _prom_is 'veer_subset_weight{service="web",subset="v2"}' 50; then
	t_pass "Prometheus sees veer weight web v1=50 v2=50 on the next scrape"
else
	t_fail "Prometheus: weight of web v2 is '$(prom_query 'veer_subset_weight{service="web",subset="v2"}')' after veer weight, want 50"
fi

# Prometheus first: its scrape connection closes with a FIN, and veer
# metrics then has no connection left to abort.
lab_kill "$PROM_PID"
stop_ok "$METRICS_PID" TERM "veer metrics 127.0.0.1:$METRICS_PORT"

t_check_ct_drained
t_check_client_rsts

t_end

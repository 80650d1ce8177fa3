#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Cross-checks build/veer-loadgen (the load generator of `make bench`)
# against real tools, in the lab of scripts/lib/lab.sh, client namespace ->
# node namespace (plain routing, no veer) -> v1 backend namespace:
#
#   conn/s   wrk -t1 -cC --latency -H 'Connection: close' and
#            veer-loadgen http -cC, against the same nginx (one worker, a
#            64-byte static file, port 8081). Both open a connection per
#            request and send a request of similar size, so the server does
#            the same work for both; any gap is the generators'.
#   streams  iperf3 -c --bidir -P C -l 64K and veer-loadgen stream -cC
#            (64 KiB chunks) against veer-testsrv (port 8080). The servers
#            differ, so this bounds the loadgen + testsrv pair, not
#            loadgen alone. loadgen's figure is echoed payload: every byte
#            crosses the lab once each way, the client both writes and
#            reads, the server both reads and writes. iperf3 --bidir does
#            the same work per byte (C streams each way, client and server
#            each write and read), so loadgen's Gbit/s is compared with
#            iperf3's per-direction rate, (forward + reverse) / 2. A plain
#            one-way iperf3 (client to server) is also run as a reference: it
#            moves bytes one way only, so echo gets about half of it.
#            veer-testsrv is usually the one at 100% CPU here (it echoed
#            through 16 KiB per connection until this check showed that to
#            halve the figure; 64 KiB now): a low ratio is its limit before
#            loadgen's.
#
# Each round runs every measure once, the pair of each measure in
# alternating order (wrk first in odd rounds, loadgen first in even ones),
# so noise from other jobs on this shared machine hits both alike; figures
# are medians over rounds. Throughputs are whole-run figures for both sides
# (wrk and iperf3 have no warm-up; loadgen's *_total), over whole seconds:
# DURATION_MS is rounded up to a multiple of 1000 for every tool.
#
# Latency is not defined alike: wrk times the first request write to the
# parsed end of the response (connect and close not included); loadgen
# times connect() to the server's FIN (the EOF). Expect loadgen's
# percentiles to be higher: at saturation most of the waiting is for the
# server to accept, which wrk does not time. By Little's law a full cycle
# takes C / (conn/s) on average (cycle_us in the results): loadgen's p50
# should sit near it, wrk's below it.
#
#   scripts/bench-crosscheck.sh [-r ROUNDS] [-d DURATION_MS] [-c CONCURRENCY]
#                               [-s STREAMS] [-o DIR]
#
# Defaults: 3 rounds, 5000 ms, concurrency 32 (connections), 4 streams
# (make bench's own stream count; iperf3 in Debian 12 is one thread, and
# with dozens of streams each way it starves one direction), DIR
# build/bench. Results:
# DIR/crosscheck.json (medians and ratios loadgen/tool, plus every run) and
# a table on stdout. Needs root; installs nginx, wrk and iperf3 if missing
# (no service is started: nginx runs with a private config and prefix in
# the lab's temporary directory, both servers are killed by PID).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=3
DURATION_MS=5000
CONC=32
STREAMS=4
OUT=$ROOT/build/bench
NGINX_PORT=8081
IPERF_PORT=5201
FILE_BYTES=64
CHUNK=65536

xdie() {
	echo "bench-crosscheck: $*" >&2
	exit 2
}
while (($#)); do
	case $1 in
	-r | -d | -c | -s | -o)
		(($# >= 2)) || xdie "option $1 needs a value (try --help)"
		case $1 in
		-r) ROUNDS=$2 ;;
		-d) DURATION_MS=$2 ;;
		-c) CONC=$2 ;;
		-s) STREAMS=$2 ;;
		-o) OUT=$2 ;;
		esac
		shift
		;;
	-h | --help) awk 'NR > 3 && !/^#/ { exit } NR > 3' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) xdie "unknown argument '$1' (try --help)" ;;
	esac
	shift
done
for n in "$ROUNDS" "$DURATION_MS" "$CONC" "$STREAMS"; do
	[[ $n =~ ^[1-9][0-9]{0,8}$ ]] || xdie "'$n' is not a positive number"
done
((STREAMS <= 128)) || xdie "streams are at most 128 (iperf3 -P)"
SECS=$(((DURATION_MS + 999) / 1000))
DUR_MS=$((SECS * 1000))

"$ROOT/scripts/install-deps.sh" nginx wrk iperf3 >&2

# Under veer-test-*: the lab cleanup removes it whatever happens.
export VEER_PIN_ROOT=/sys/fs/bpf/veer-test-xcheck-$$
LAB_ID=vx$$
# No receive packet steering on the leaves (lab_up): the published
# figures were measured without it, and it adds an IPI a packet.
VEER_E2E_RPS=${VEER_E2E_RPS:-0}
# shellcheck source=lib/lab.sh
. "$ROOT/scripts/lib/lab.sh"
LOADGEN=$LAB_BUILD/veer-loadgen
[[ -x $LOADGEN ]] || lab_die "$LOADGEN not built (make)"

lab_init jq ss nginx wrk iperf3
lab_up
lab_start_backends
mkdir -p "$OUT"
RUNS=$LAB_TMP/runs.jsonl
: >"$RUNS"

# nginx: private prefix, one worker (as root: the lab directory is 0700),
# no access log, a 64-byte file.
NGX=$LAB_TMP/nginx
mkdir -p "$NGX/www" "$NGX/tmp"
head -c "$FILE_BYTES" /dev/zero | tr '\0' x >"$NGX/www/f"
cat >"$NGX/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $NGX/nginx.pid;
error_log $NGX/error.log warn;
events {
	worker_connections 4096;
}
http {
	access_log off;
	default_type application/octet-stream;
	client_body_temp_path $NGX/tmp/body;
	proxy_temp_path $NGX/tmp/proxy;
	fastcgi_temp_path $NGX/tmp/fastcgi;
	uwsgi_temp_path $NGX/tmp/uwsgi;
	scgi_temp_path $NGX/tmp/scgi;
	server {
		listen $V1_V4:$NGINX_PORT backlog=4096;
		root $NGX/www;
	}
}
EOF
lab_bg "$NS_V1" "$NGX/stderr.log" nginx -e "$NGX/error.log" -c "$NGX/nginx.conf" \
	-p "$NGX" -g 'daemon off;'
wait_listening "$NS_V1" "$NGINX_PORT" "$LAB_BG_PID" "$NGX/error.log" nginx

# iperf3 server, serving one test after another until killed.
lab_bg "$NS_V1" "$LAB_TMP/iperf3-server.log" iperf3 -s -B "$V1_V4" -p "$IPERF_PORT"
wait_listening "$NS_V1" "$IPERF_PORT" "$LAB_BG_PID" "$LAB_TMP/iperf3-server.log" iperf3

# record TOOL MEASURE ROUND JSON: one run, appended to the runs.
record() {
	jq -c --arg t "$1" --arg m "$2" --argjson r "$3" \
		'{tool: $t, measure: $m, round: $r} + .' <<<"$4" >>"$RUNS"
}

# wrk's text -> JSON: Requests/sec, latency percentiles in us, errors.
wrk_json() {
	awk '
	function us(v) {
		if (v ~ /us$/) return v + 0
		if (v ~ /ms$/) return v * 1000
		if (v ~ /s$/) return v * 1000000
		return -1
	}
	/^ +(50|75|90|99)%/ { p[$1 + 0] = us($2) }
	/requests in/ { n = $1 }
	/Socket errors:/ { for (i = 3; i <= NF; i += 2) e += $(i + 1) }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/^Requests\/sec:/ { rps = $2 }
	END {
		if (rps == "") { print "{\"error\":true}"; exit }
		printf "{\"conn_per_s\":%s,\"requests\":%d,\"p50_us\":%d,", rps, n, p[50]
		printf "\"p75_us\":%d,\"p90_us\":%d,\"p99_us\":%d,", p[75], p[90], p[99]
		printf "\"errors\":%d,\"non_2xx_3xx\":%d}\n", e, bad
	}'
}

run_wrk() {
	local out
	out=$(lab_exec "$NS_CLIENT" wrk -t1 -c"$CONC" -d"${SECS}s" --latency \
		-H 'Connection: close' "http://$V1_V4:$NGINX_PORT/f" 2>&1) || true
	printf '%s\n' "$out" >>"$LAB_TMP/wrk.log"
	record wrk conn "$1" "$(wrk_json <<<"$out")"
}

run_loadgen_http() {
	local json
	json=$(lab_exec "$NS_CLIENT" "$LOADGEN" http --addr "$V1_V4" \
		--port "$NGINX_PORT" --path /f --duration-ms "$DUR_MS" \
		--concurrency "$CONC" --json) || json='{"error":true}'
	# The whole-run rate, as wrk's; the window rate stays as conn_per_s_window.
	record loadgen conn "$1" "$(jq -c '. + {conn_per_s_window: .conn_per_s,
		conn_per_s: .conn_per_s_total}' <<<"$json")"
}

# iperf3 client; --bidir: per-direction rate = (forward + reverse) / 2.
run_iperf3() {
	local round=$1 measure=$2 json
	shift 2
	json=$(lab_exec "$NS_CLIENT" iperf3 -c "$V1_V4" -p "$IPERF_PORT" \
		-P "$STREAMS" -t "$SECS" -l "$CHUNK" --json "$@") || json='{"error":true}'
	printf '%s\n' "$json" >>"$LAB_TMP/iperf3.log"
	record iperf3 "$measure" "$round" "$(jq -c '
		if .end.sum_received == null then {error: true}
		else {fwd: (.end.sum_received.bits_per_second / 1e9),
		      rev: ((.end.sum_received_bidir_reverse.bits_per_second
			// null) | if . == null then null else . / 1e9 end),
		      retransmits: .end.sum_sent.retransmits}
		| . + {gbit_per_s: (if .rev == null then .fwd
			else (.fwd + .rev) / 2 end)} end' <<<"$json")"
}

run_loadgen_stream() {
	local json
	json=$(lab_exec "$NS_CLIENT" "$LOADGEN" stream --addr "$V1_V4" \
		--port "$BACKEND_PORT" --duration-ms "$DUR_MS" \
		--concurrency "$STREAMS" --chunk-bytes "$CHUNK" --json) ||
		json='{"error":true}'
	record loadgen stream "$1" "$(jq -c '. + {gbit_per_s_window: .gbit_per_s,
		gbit_per_s: .gbit_per_s_total}' <<<"$json")"
}

for ((round = 1; round <= ROUNDS; round++)); do
	if ((round % 2)); then
		run_wrk "$round"
		run_loadgen_http "$round"
		run_iperf3 "$round" stream --bidir
		run_loadgen_stream "$round"
	else
		run_loadgen_http "$round"
		run_wrk "$round"
		run_loadgen_stream "$round"
		run_iperf3 "$round" stream --bidir
	fi
	run_iperf3 "$round" oneway
	printf 'round %d/%d done\n' "$round" "$ROUNDS" >&2
done

RESULT=$OUT/crosscheck.json
jq -s --argjson rounds "$ROUNDS" --argjson ms "$DUR_MS" --argjson c "$CONC" \
	--argjson streams "$STREAMS" \
	--arg kernel "$(uname -r)" --argjson cpus "$(nproc)" '
	def median: sort | if length == 0 then null
		else .[(length / 2 | floor)] end;
	def med(f): map(f // empty) | median;
	def pick(t; m): map(select(.tool == t and .measure == m));
	def ratio(a; b): if a == null or b == null or b == 0 then null
		else (a / b * 1000 | round) / 1000 end;
	(pick("wrk"; "conn")) as $w | (pick("loadgen"; "conn")) as $l |
	(pick("iperf3"; "stream")) as $i | (pick("loadgen"; "stream")) as $s |
	(pick("iperf3"; "oneway")) as $o |
	{
		rounds: $rounds, duration_ms: $ms, concurrency: $c, streams: $streams,
		kernel: $kernel, cpus: $cpus,
		conn: {
			wrk: {conn_per_s: ($w | med(.conn_per_s)),
			      p50_us: ($w | med(.p50_us)), p90_us: ($w | med(.p90_us)),
			      p99_us: ($w | med(.p99_us)),
			      errors: ($w | map(.errors // 0) | add),
			      non_2xx_3xx: ($w | map(.non_2xx_3xx // 0) | add)},
			loadgen: {conn_per_s: ($l | med(.conn_per_s)),
			      conn_per_s_window: ($l | med(.conn_per_s_window)),
			      p50_us: ($l | med(.p50_us)), p90_us: ($l | med(.p90_us)),
			      p99_us: ($l | med(.p99_us)),
			      errors: ($l | map(.errors // 0) | add)},
			failed_runs: ([$w[], $l[]] | map(select(.error)) | length)
		},
		stream: {
			# The median run, with its two directions.
			iperf3_bidir: ($i | map(select(.gbit_per_s)) |
			      sort_by(.gbit_per_s) |
			      if length == 0 then {gbit_per_s: null}
			      else .[length / 2 | floor] |
			      {gbit_per_s, fwd, rev, round} end),
			loadgen: {gbit_per_s: ($s | med(.gbit_per_s)),
			      gbit_per_s_window: ($s | med(.gbit_per_s_window)),
			      errors: ($s | map(.errors // 0) | add)},
			iperf3_oneway: {gbit_per_s: ($o | med(.gbit_per_s))},
			failed_runs: ([$i[], $s[], $o[]] | map(select(.error)) | length)
		},
		runs: .
	} |
	.conn.ratio = ratio(.conn.loadgen.conn_per_s; .conn.wrk.conn_per_s) |
	# Little: C connections always in flight -> a cycle takes C / rate.
	.conn.wrk.cycle_us = (if .conn.wrk.conn_per_s then
		($c / .conn.wrk.conn_per_s * 1e6 | round) else null end) |
	.conn.loadgen.cycle_us = (if .conn.loadgen.conn_per_s then
		($c / .conn.loadgen.conn_per_s * 1e6 | round) else null end) |
	.stream.ratio = ratio(.stream.loadgen.gbit_per_s;
		.stream.iperf3_bidir.gbit_per_s)' "$RUNS" >"$RESULT"

jq -r '
	def n(x): if x == null then "-" else x end;
	def f(x): if x == null then "-" else (x | floor) end;
	def g(x): if x == null then "-" else (x * 100 | round) / 100 end;
	["measure", "tool", "rate", "p50 us", "p90 us", "p99 us", "x tool"],
	["conn/s", "wrk", f(.conn.wrk.conn_per_s), n(.conn.wrk.p50_us),
	 n(.conn.wrk.p90_us), n(.conn.wrk.p99_us), ""],
	["conn/s", "loadgen http", f(.conn.loadgen.conn_per_s),
	 n(.conn.loadgen.p50_us), n(.conn.loadgen.p90_us),
	 n(.conn.loadgen.p99_us), n(.conn.ratio)],
	["Gbit/s", "iperf3 --bidir (per dir)", g(.stream.iperf3_bidir.gbit_per_s),
	 "", "", "", ""],
	["Gbit/s", "loadgen stream (echo)", g(.stream.loadgen.gbit_per_s),
	 "", "", "", n(.stream.ratio)],
	["Gbit/s", "iperf3 one way (ref)", g(.stream.iperf3_oneway.gbit_per_s),
	 "", "", "", ""]
	| @tsv' "$RESULT" | column -t -s $'\t'
jq -r '"errors: wrk \(.conn.wrk.errors) socket, \(.conn.wrk.non_2xx_3xx) non-2xx; loadgen http \(.conn.loadgen.errors), stream \(.stream.loadgen.errors); failed runs \(.conn.failed_runs + .stream.failed_runs)"' "$RESULT"
echo "results: $RESULT ($ROUNDS interleaved rounds, ${DUR_MS} ms each, concurrency $CONC, $STREAMS streams)"

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Side-by-side benchmark of the node's splitting mechanism, in the lab of
# scripts/lib/lab.sh (client ns -> node ns -> v1 | v2 backends). The same
# load generator (build/veer-loadgen) and the same backends (veer-testsrv)
# serve every contender; only what the node does changes. Every splitter
# is configured for 80/20 and the split it achieved is reported.
#
#   direct       the client splits 80/20 over the two backends itself: no
#                middle box at all (the topology's limit)
#   veer_tc      veer, TC ingress/egress on the node
#   veer_xdp     veer, XDP ingress + TC egress on the node
#   iptables     nat PREROUTING DNAT with -m statistic --mode random
#   nftables     numgen random mod 100 map -> dnat
#   haproxy      HAProxy mode tcp on the node, weighted roundrobin
#   nginx        nginx stream proxy on the node, weighted upstream
#   direct_node  like direct, but the load comes from the node itself
#   veer_cgroup  veer's connect() hook: load from node processes in a
#                cgroup veer is attached to (compared with direct_node)
#
# Parts (-p, default all):
#   contenders  every contender above: short connections (conn/s, p50/p99
#               latency) and a few long echo streams (Gbit/s), each with
#               the machine's busy CPU time over the run's window per
#               connection and per GB (minus direct's: what the splitter
#               adds); for veer_tc and veer_xdp one more short-connection
#               run with kernel.bpf_stats_enabled: ns per program run
#   scaling     veer_tc, iptables and nftables with 1, 100, 1,000 and
#               10,000 services (decoys plus the measured one), both
#               measures; iptables and nftables are laid out as kube-proxy
#               does (a KUBE-SERVICES chain with one rule per service;
#               an nftables verdict map keyed by VIP . proto . port)
#   crosscheck  scripts/bench-crosscheck.sh: the load generator against wrk
#               (conn/s, same nginx) and iperf3 (streams), so its figures
#               can be trusted
#   weight      with 10,000 services, the wall time and the CPU time
#               (user + sys, of the changing process alone) of one weight
#               change: `veer weight`, `iptables-restore --noflush` of
#               the service's chain (kube-proxy's partial sync), `nft -f`
#               of the service's chain; veer also with 100,000 services
#               (WEIGHT_BIG; applied from files of at most 25,000 each)
#   http        routing by HTTP header (issue 11), veer-httpsrv backends,
#               veer-loadgen http, every request carrying "X-group: test"
#               (a header rule sends it to v2):
#                 veer_http     veer tc, Istio VirtualService with header
#                               and uri rules (delayed binding)
#                 veer_l4       veer tc, a service without rules sending
#                               everything to v2 (the L4 path, same backend)
#                 haproxy_http  HAProxy mode http, use_backend on
#                               hdr(user-agent)/hdr(x-group) ACLs
#                 nginx_http    nginx http, proxy_pass to a `map` of
#                               $http_user_agent/$http_x_group
#               Runs: short (a connection per request: conn/s, p50/p99),
#               keepalive (HTTP_KA_REQS requests per connection: req/s,
#               p50/p99), and for veer only: first (one client at a time:
#               first-response and handshake latency) and bulk (STREAMS
#               keep-alive connections fetching 1 MiB bodies: Gbit/s on
#               connections bound late vs L4 ones); rtt: one client on
#               the node straight to v2 (the backend round trip).
#   fleet       fleet mode's convergence (issue 16): a 3-member etcd on
#               loopback and FLEET_NODES simulated nodes (a pin root and a
#               `veer watch --etcd` agent each, as test_fleet_nodes.sh
#               runs them: scripts/lib/fleet_nodes.sh); FLEET_CHANGES
#               `veer weight --etcd` changes alternating v1=10/v2=90 and
#               v1=90/v2=10, FLEET_PAUSE_MS apart; for each, the time from
#               the command's exit to the moment the last node's pinned
#               veer_services map holds the new weights (build/
#               veer-fleet-probe converge polls every node's map every
#               FLEET_POLL_US, CLOCK_MONOTONIC; a node is timed at the first
#               poll that sees the weights, so its time is late by at most
#               one sweep period, which is reported); p50, p99 and max
#               over the changes, for each fleet size (the same fleet,
#               nodes added). Needs none of the namespaces above.
#
# Contenders run interleaved (A B C ... A B C ...) for ROUNDS rounds, so a
# noisy neighbour on these shared 2-core machines hits every contender
# alike; each figure is the median over rounds, and the ratio to `direct`
# of the same run is what to compare across machines.
#
#   scripts/bench.sh [-r ROUNDS] [-R SCALE_ROUNDS] [-H HTTP_ROUNDS]
#                    [-d DURATION_MS] [-D HTTP_DURATION_MS]
#                    [-c CONCURRENCY] [-s STREAMS] [-p PART[,PART]]
#                    [-C CONTENDER[,CONTENDER]] [-n FLEET_CHANGES]
#                    [-N FLEET_NODES[,FLEET_NODES]] [-B FLEET_DEBOUNCE_MS]
#                    [-o DIR] [--no-docs]
#
# -C limits the contenders part to those named (ratios need `direct`, and
# `direct_node` for veer_cgroup, among them). -N: the fleet sizes, in
# increasing order (default 10,50); -n: changes per size (default 30;
# p99 is the nearest rank, so with 30 it is the largest); -B: the agents'
# --debounce (default: veer watch's own, 200 ms).
#
# BENCH_PERF=DIR in the environment: a system-wide kernel profile of each
# short-connection run into DIR/PART-CONTENDER-ROUND-SERVICES.perf (perf
# record -a -g, cpu-clock at 1999 Hz: this VM has no hardware counters),
# to read with `perf report -i FILE --no-children --sort sym`.
#
# Results: DIR/results.jsonl (every run), DIR/results.json (medians,
# ratios, targets), PNG plots, and docs/BENCHMARKS.md regenerated from
# them (unless --no-docs). Needs root; installs its peers (iptables,
# nftables, haproxy, nginx + stream module, gnuplot) from Debian packages.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=7
SCALE_ROUNDS=5
HTTP_ROUNDS=5
DURATION_MS=3000
HTTP_DURATION_MS= # default: DURATION_MS
HTTP_KA_REQS=100 # requests per keep-alive connection (http part)
HTTP_BULK_PATH='/?size=1048576' # what the bulk run's requests fetch
HTTP_PORT=8090 # veer-httpsrv on the backends (veer-testsrv keeps BACKEND_PORT)
CONC=32
STREAMS=4
PARTS=contenders,scaling,weight,http,fleet,crosscheck
ONLY=
OUT=$ROOT/build/bench
DOCS=1
SIZES=(1 100 1000 10000)
WEIGHT_REPS=21 # weight changes per contender and round (odd: a clean median)
WEIGHT_BIG=100000 # veer's weight changes are measured with this many services too
DECOYS_PER_FILE=25000 # what one YAML file holds (veer caps a file's size and nodes)
SCALE_CONTENDERS=(veer_tc iptables nftables)
FLEET_NODES=10,50 # fleet sizes (part fleet), increasing
FLEET_CHANGES=30 # weight changes per fleet size
FLEET_DEBOUNCE_MS= # the agents' --debounce (empty: veer watch's default)
FLEET_PAUSE_MS=500 # after the last node holds a change, before the next
FLEET_POLL_US=1000 # veer-fleet-probe's sleep between sweeps of the nodes
FLEET_TIMEOUT_MS=30000 # a change not held by every node by then: a timeout
usage() { awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; }
while (($#)); do
	case $1 in
	-r) ROUNDS=${2:-}; shift ;;
	-R) SCALE_ROUNDS=${2:-}; shift ;;
	-H) HTTP_ROUNDS=${2:-}; shift ;;
	-d) DURATION_MS=${2:-}; shift ;;
	-D) HTTP_DURATION_MS=${2:-}; shift ;;
	-c) CONC=${2:-}; shift ;;
	-s) STREAMS=${2:-}; shift ;;
	-p) PARTS=${2:-}; shift ;;
	-C) ONLY=${2:-}; shift ;;
	-n) FLEET_CHANGES=${2:-}; shift ;;
	-N) FLEET_NODES=${2:-}; shift ;;
	-B) FLEET_DEBOUNCE_MS=${2:-}; shift ;;
	-o) OUT=${2:-}; shift ;;
	--no-docs) DOCS=0 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
HTTP_DURATION_MS=${HTTP_DURATION_MS:-$DURATION_MS}
IFS=, read -r -a FLEET_SIZE_LIST <<<"$FLEET_NODES"
for n in "$ROUNDS" "$SCALE_ROUNDS" "$HTTP_ROUNDS" "$DURATION_MS" "$HTTP_DURATION_MS" \
	"$CONC" "$STREAMS" "$FLEET_CHANGES" "${FLEET_SIZE_LIST[@]}" ${FLEET_DEBOUNCE_MS:+"$FLEET_DEBOUNCE_MS"}; do
	[[ $n =~ ^[1-9][0-9]{0,6}$ ]] || { echo "bench: '$n' is not a positive number" >&2; exit 2; }
done
((${#FLEET_SIZE_LIST[@]})) || { echo "bench: -N needs at least one fleet size" >&2; exit 2; }
for ((i = 1; i < ${#FLEET_SIZE_LIST[@]}; i++)); do
	((FLEET_SIZE_LIST[i] > FLEET_SIZE_LIST[i - 1])) ||
		{ echo "bench: -N: fleet sizes go in increasing order" >&2; exit 2; }
done
IFS=, read -r -a PART_LIST <<<"$PARTS"
((${#PART_LIST[@]})) || { echo "bench: -p needs at least one part" >&2; exit 2; }
for p in "${PART_LIST[@]}"; do
	case $p in
	contenders | scaling | weight | http | fleet | crosscheck) ;;
	*) echo "bench: unknown part '$p' (contenders, scaling, weight, http, fleet, crosscheck)" >&2; exit 2 ;;
	esac
done
want_part() { [[ ,$PARTS, == *,$1,* ]]; }
# The namespace lab: every part but fleet.
want_lab() {
	local p
	for p in "${PART_LIST[@]}"; do
		[[ $p == fleet ]] || return 0
	done
	return 1
}
[[ -n $OUT ]] || { echo "bench: -o needs a directory" >&2; exit 2; }

# ---- peers, from Debian packages ------------------------------------------

"$ROOT/scripts/install-deps.sh" iptables nftables haproxy nginx \
	libnginx-mod-stream gnuplot-nox ${BENCH_PERF:+linux-perf} >&2
if [[ -n ${BENCH_PERF:-} ]] && ! mkdir -p "$BENCH_PERF"; then
	echo "bench: BENCH_PERF=$BENCH_PERF: cannot create it" >&2
	exit 2
fi

# Under veer-test-*: the lab cleanup removes it whatever happens.
export VEER_PIN_ROOT=/sys/fs/bpf/veer-test-bench-$$
# shellcheck disable=SC2034 # read by lab.sh, sourced below
LAB_ID=vb$$
# No receive packet steering on the leaves (lab_up): the published
# figures were measured without it, and it adds an IPI a packet.
VEER_E2E_RPS=${VEER_E2E_RPS:-0}
# shellcheck source=lib/lab.sh
. "$ROOT/scripts/lib/lab.sh"
# shellcheck source=lib/etcd.sh
. "$ROOT/scripts/lib/etcd.sh"
# shellcheck source=lib/fleet_nodes.sh
. "$ROOT/scripts/lib/fleet_nodes.sh"
LOADGEN=$LAB_BUILD/veer-loadgen
PROBE=$LAB_BUILD/veer-fleet-probe
[[ -x $LOADGEN ]] || lab_die "$LOADGEN not built (make)"
[[ -x $PROBE ]] || lab_die "$PROBE not built (make)"

# Maps stay pinned for the whole run: a contender's teardown detaches the
# programs only, so the kernel is not still freeing (or allocating) a
# conntrack table of hundreds of MB while the next contender is measured.
# Each service count of the scaling part has its own pin root (its maps
# hold exactly that configuration); all go at exit.
PIN_ROOTS=("$VEER_PIN_ROOT")
pin_root_for() { [[ -n ${1:-} ]] && echo "$VEER_PIN_ROOT-s$1" || echo "$VEER_PIN_ROOT"; }
veer_at() {
	local root=$1
	shift
	nsenter --net="/run/netns/$NS_NODE" -- "$VEER_BIN" --pin-root "$root" "$@"
}
bench_cleanup() {
	local rc=$? root
	# errexit off: a failing step (or the (exit) below, after a failed
	# run) would end the trap before lab_cleanup.
	set +e
	fleet_nodes_cleanup
	for root in "${PIN_ROOTS[@]:1}"; do
		if [[ -e $root ]]; then
			veer_at "$root" detach --all >/dev/null 2>&1
			rm -rf "$root"
		fi
	done
	(exit "$rc")
	lab_cleanup
}

if want_part fleet; then
	lab_init jq curl etcd etcdctl
else
	lab_init jq
fi
trap bench_cleanup EXIT
if want_lab; then
	lab_up
	lab_start_backends
	# Many short connections from one address, from the client and
	# (proxies, cgroup mode) from the node: reuse TIME_WAIT ports, use
	# them all.
	for ns in "$NS_CLIENT" "$NS_NODE"; do
		lab_exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
			net.ipv4.ip_local_port_range="1024 65535" >/dev/null
	done
fi
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"
jq -n --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg kernel "$(uname -r)" \
	--argjson cpus "$(nproc)" --argjson rounds "$ROUNDS" \
	--argjson scale_rounds "$SCALE_ROUNDS" --argjson duration "$DURATION_MS" \
	--argjson http_rounds "$HTTP_ROUNDS" --argjson http_duration "$HTTP_DURATION_MS" \
	--argjson http_ka_reqs "$HTTP_KA_REQS" --arg http_bulk_path "$HTTP_BULK_PATH" \
	--argjson conc "$CONC" --argjson streams "$STREAMS" --arg parts "$PARTS" \
	--arg fleet_nodes "$FLEET_NODES" --argjson fleet_changes "$FLEET_CHANGES" \
	--argjson fleet_pause_ms "$FLEET_PAUSE_MS" --argjson fleet_poll_us "$FLEET_POLL_US" \
	--argjson fleet_timeout_ms "$FLEET_TIMEOUT_MS" \
	--arg etcd "$(etcd --version 2>/dev/null | head -n1 | sed 's/Version: //' || true)" \
	--arg fleet_debounce_ms "$FLEET_DEBOUNCE_MS" \
	--arg iptables "$(iptables --version 2>/dev/null || true)" \
	--arg nft "$(nft --version 2>/dev/null || true)" \
	--arg haproxy "$(haproxy -v 2>/dev/null | head -n1 || true)" \
	--arg nginx "$(nginx -v 2>&1 | head -n1 || true)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	'{date: $date, kernel: $kernel, cpus: $cpus, cpu: $cpu, parts: $parts,
	  rounds: $rounds, scale_rounds: $scale_rounds, duration_ms: $duration,
	  http_rounds: $http_rounds, http_duration_ms: $http_duration,
	  http_ka_reqs: $http_ka_reqs, http_bulk_path: $http_bulk_path,
	  concurrency: $conc, streams: $streams, iptables: $iptables, nft: $nft,
	  haproxy: $haproxy, nginx: $nginx,
	  fleet_nodes: ($fleet_nodes | split(",") | map(tonumber)),
	  fleet_changes: $fleet_changes, fleet_pause_ms: $fleet_pause_ms,
	  fleet_poll_us: $fleet_poll_us, fleet_timeout_ms: $fleet_timeout_ms,
	  fleet_debounce_ms: (if $fleet_debounce_ms == "" then null
		else ($fleet_debounce_ms | tonumber) end),
	  etcd: $etcd}' >"$OUT/conditions.json"
CONTENDER_PIDS=()
node() { lab_exec "$NS_NODE" "$@"; }

# ---- contenders: setup_NAME [SERVICES], teardown_NAME ---------------------
#
# Every setup leaves the node doing exactly one thing; every teardown
# removes it completely (tables deleted, not just flushed: a leftover nat
# table would keep netfilter conntrack running under the next contender).

setup_direct() { :; }
teardown_direct() { :; }
setup_direct_node() { :; }
teardown_direct_node() { :; }

VEER_ATTACH_ARGS=(--max-services 16384 --max-backends 65536)
# WEIGHT_BIG services: two backend slots each.
VEER_ATTACH_ARGS_BIG=(--max-services 131072 --max-backends 262144)

# decoys_yaml N DIR: the measured service (web, 80/20) plus N-1 decoys
# (VIPs from 10.100.0.1 on, the same backends), as veer configs in DIR,
# at most DECOYS_PER_FILE services a file (DIR/00.yaml, 01.yaml, ...).
decoys_yaml() {
	local n=$1 dir=$2
	[[ -s $dir/00.yaml ]] && return 0
	mkdir -p "$dir"
	awk -v n="$n" -v vip="$VIP_V4" -v vport="$VIP_PORT" -v v1="$V1_V4" \
		-v v2="$V2_V4" -v p="$BACKEND_PORT" -v dir="$dir" \
		-v per="$DECOYS_PER_FILE" '
	function svc(name, ip, port) {
		printf "  - name: %s\n    vip: %s\n    port: %d\n    subsets:\n      - name: v1\n        weight: 80\n        backends: [%s:%d]\n      - name: v2\n        weight: 20\n        backends: [%s:%d]\n", name, ip, port, v1, p, v2, p >f
	}
	BEGIN {
		f = sprintf("%s/00.yaml", dir)
		print "services:" >f
		svc("web", vip, vport)
		for (i = 1; i < n; i++) {
			if (i % per == 0) {
				close(f)
				f = sprintf("%s/%02d.yaml", dir, i / per)
				print "services:" >f
			}
			svc("decoy" i, sprintf("10.%d.%d.%d", 100 + int(i / 65536), int(i / 256) % 256, i % 256), 80)
		}
	}'
}

setup_veer() {
	local mode=$1 n=${2:-} root args=("${VEER_ATTACH_ARGS[@]}")
	root=$(pin_root_for "$n")
	[[ " ${PIN_ROOTS[*]} " == *" $root "* ]] || PIN_ROOTS+=("$root")
	LAB_ATTACHED=1
	((${n:-1} > 16000)) && args=("${VEER_ATTACH_ARGS_BIG[@]}")
	veer_at "$root" attach "$NODE_DEV" --mode "$mode" "${args[@]}" >/dev/null
	decoys_yaml "${n:-1}" "$LAB_TMP/veer-${n:-1}"
	veer_at "$root" apply -f "$LAB_TMP/veer-${n:-1}" >/dev/null
	VEER_ROOT_IN_USE=$root
}
teardown_veer() { veer_at "$VEER_ROOT_IN_USE" detach "$NODE_DEV" >/dev/null; }
setup_veer_tc() { setup_veer tc "$@"; }
teardown_veer_tc() { teardown_veer; }
setup_veer_xdp() { setup_veer xdp "$@"; }
teardown_veer_xdp() { teardown_veer; }

setup_veer_cgroup() {
	_lab_veer_attach_cgroup >/dev/null
	decoys_yaml 1 "$LAB_TMP/veer-1"
	veer apply -f "$LAB_TMP/veer-1" >/dev/null
}
teardown_veer_cgroup() {
	veer detach --cgroup "$LAB_CGROUP" >/dev/null
	_lab_cgroup_remove
	LAB_CGROUP=
}

IPT_BACKEND=$(iptables --version 2>/dev/null | grep -o '(.*)' | tr -d '()' || true)

# iptables_rules N: kube-proxy's layout for N services, the measured one in
# the middle of KUBE-SERVICES (rules are matched in order: on average a new
# connection walks half of them).
iptables_rules() {
	awk -v n="$1" -v vip="$VIP_V4" -v vport="$VIP_PORT" -v v1="$V1_V4" \
		-v v2="$V2_V4" -v p="$BACKEND_PORT" '
	function svc(name, ip, port) {
		rules = rules sprintf("-A KUBE-SERVICES -d %s/32 -p tcp -m tcp --dport %d -j KUBE-SVC-%s\n", ip, port, name)
		rules = rules sprintf("-A KUBE-SVC-%s -m statistic --mode random --probability 0.80000000000 -j KUBE-SEP-%s-1\n", name, name)
		rules = rules sprintf("-A KUBE-SVC-%s -j KUBE-SEP-%s-2\n", name, name)
		rules = rules sprintf("-A KUBE-SEP-%s-1 -p tcp -m tcp -j DNAT --to-destination %s:%d\n", name, v1, p)
		rules = rules sprintf("-A KUBE-SEP-%s-2 -p tcp -m tcp -j DNAT --to-destination %s:%d\n", name, v2, p)
		chains = chains sprintf(":KUBE-SVC-%s - [0:0]\n:KUBE-SEP-%s-1 - [0:0]\n:KUBE-SEP-%s-2 - [0:0]\n", name, name, name)
	}
	BEGIN {
		chains = ":KUBE-SERVICES - [0:0]\n"
		for (i = 1; i < n; i++) {
			if (i == int(n / 2))
				svc("MEASURED", vip, vport)
			svc("D" i, sprintf("10.%d.%d.%d", 100 + int(i / 65536), int(i / 256) % 256, i % 256), 80)
		}
		if (n == 1)
			svc("MEASURED", vip, vport)
		printf "*nat\n%s-A PREROUTING -j KUBE-SERVICES\n%sCOMMIT\n", chains, rules
	}'
}
setup_iptables() {
	iptables_rules "${1:-1}" | node iptables-restore --noflush
}
teardown_iptables() {
	node iptables -t nat -F
	node iptables -t nat -X
	# iptables-nft: the nat table itself, or conntrack stays registered.
	[[ $IPT_BACKEND == nf_tables ]] && node nft delete table ip nat 2>/dev/null
	return 0
}

# nftables_rules N: kube-proxy's nftables layout: one verdict map from
# VIP . protocol . port to the service's chain.
nftables_rules() {
	awk -v n="$1" -v vip="$VIP_V4" -v vport="$VIP_PORT" -v v1="$V1_V4" \
		-v v2="$V2_V4" -v p="$BACKEND_PORT" '
	function svc(name, ip, port) {
		printf "add chain ip veerbench svc-%s\n", name
		printf "add rule ip veerbench svc-%s meta l4proto tcp dnat to numgen random mod 100 map { 0-79 : %s, 80-99 : %s } : %d\n", name, v1, v2, p
		elems = elems sprintf("%s%s . tcp . %d : goto svc-%s", elems == "" ? "" : ", ", ip, port, name)
	}
	BEGIN {
		print "add table ip veerbench"
		print "add map ip veerbench service-ips { type ipv4_addr . inet_proto . inet_service : verdict; }"
		print "add chain ip veerbench prerouting { type nat hook prerouting priority dstnat; }"
		print "add rule ip veerbench prerouting ip daddr . meta l4proto . th dport vmap @service-ips"
		svc("measured", vip, vport)
		for (i = 1; i < n; i++)
			svc("d" i, sprintf("10.%d.%d.%d", 100 + int(i / 65536), int(i / 256) % 256, i % 256), 80)
		printf "add element ip veerbench service-ips { %s }\n", elems
	}'
}
setup_nftables() {
	nftables_rules "${1:-1}" | node nft -f -
}
teardown_nftables() { node nft delete table ip veerbench; }

# The proxies listen on the VIP, which the node then owns.
proxy_up() {
	node ip addr add "$VIP_V4/32" dev lo
	lab_bg "$NS_NODE" "$LAB_TMP/$1.log" "${@:2}"
	CONTENDER_PIDS+=("$LAB_BG_PID")
	wait_listening "$NS_NODE" "$VIP_PORT" "$LAB_BG_PID" "$LAB_TMP/$1.log" "$1"
}
proxy_down() {
	local pid
	for pid in "${CONTENDER_PIDS[@]}"; do
		lab_kill "$pid"
	done
	CONTENDER_PIDS=()
	node ip addr del "$VIP_V4/32" dev lo
}

setup_haproxy() {
	cat >"$LAB_TMP/haproxy.cfg" <<EOF
global
	maxconn 8000
defaults
	mode tcp
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend veer_bench
	bind $VIP_V4:$VIP_PORT
	default_backend split
backend split
	balance roundrobin
	server v1 $V1_V4:$BACKEND_PORT weight 80
	server v2 $V2_V4:$BACKEND_PORT weight 20
EOF
	# -db: foreground, no daemon; one process with a thread per CPU.
	proxy_up haproxy haproxy -db -f "$LAB_TMP/haproxy.cfg"
}
teardown_haproxy() { proxy_down; }

setup_nginx() {
	mkdir -p "$LAB_TMP/nginx"
	cat >"$LAB_TMP/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
worker_processes auto;
worker_rlimit_nofile 16384;
pid $LAB_TMP/nginx/nginx.pid;
error_log $LAB_TMP/nginx/error.log warn;
events { worker_connections 8192; }
stream {
	upstream split {
		server $V1_V4:$BACKEND_PORT weight=80;
		server $V2_V4:$BACKEND_PORT weight=20;
	}
	server {
		listen $VIP_V4:$VIP_PORT;
		proxy_pass split;
		# Pass the client's half-close on (echo streams end with one).
		proxy_half_close on;
	}
}
EOF
	proxy_up nginx nginx -c "$LAB_TMP/nginx/nginx.conf" -p "$LAB_TMP/nginx" \
		-g 'daemon off;'
}
teardown_nginx() { proxy_down; }

# ---- measuring ------------------------------------------------------------

# _cgroup_loadgen ARGS...: veer-loadgen in the node namespace, inside the
# cgroup veer is attached to (the process moves itself in before any
# socket exists; see _lab_cgroup_exec).
_cgroup_loadgen() {
	echo "$BASHPID" >"$LAB_CGROUP/cgroup.procs" || exit 1
	exec nsenter --net="/run/netns/$NS_NODE" -- "$LOADGEN" "$@"
}

# loadgen_run CONTENDER MODE: one loadgen run against CONTENDER (from where
# its clients are), its JSON on stdout ({"error":true} when it failed).
loadgen_run() {
	local c=$1 mode=$2 json conc=$CONC
	local -a target=(--addr "$VIP_V4" --port "$VIP_PORT")
	[[ $mode == stream ]] && conc=$STREAMS
	case $c in
	direct | direct_node)
		target=(--addr "$V1_V4" --addr "$V2_V4" --weights "80,20"
			--port "$BACKEND_PORT") ;;
	esac
	local -a args=("$mode" "${target[@]}" --duration-ms "$DURATION_MS"
		--concurrency "$conc" --json)
	case $c in
	veer_cgroup) json=$( (_cgroup_loadgen "${args[@]}")) || json='{"error":true}' ;;
	direct_node) json=$(lab_exec "$NS_NODE" "$LOADGEN" "${args[@]}") || json='{"error":true}' ;;
	*) json=$(lab_exec "$NS_CLIENT" "$LOADGEN" "${args[@]}") || json='{"error":true}' ;;
	esac
	printf '%s\n' "$json"
}

# measure PART CONTENDER MODE ROUND [SERVICES]: one loadgen run, appended
# to the results with what it was.
measure() {
	local part=$1 c=$2 mode=$3 round=$4 services=${5:-1} json perf=
	# BENCH_PERF=DIR: a system-wide kernel profile of each short-connection
	# run (perf's cpu-clock: this VM has no hardware counters).
	if [[ -n ${BENCH_PERF:-} && $mode == conn ]]; then
		perf record -a -g -F 1999 -e cpu-clock -o "$BENCH_PERF/$part-$c-$round-$services.perf" \
			-- sleep $((DURATION_MS / 1000)) >/dev/null 2>&1 &
		perf=$!
	fi
	json=$(loadgen_run "$c" "$mode")
	[[ -z $perf ]] || wait "$perf" || true
	jq -c --arg p "$part" --arg c "$c" --arg m "$mode" --argjson r "$round" \
		--argjson n "$services" \
		'{part: $p, contender: $c, mode: $m, round: $r, services: $n} + .' \
		<<<"$json" >>"$RESULTS"
}

# ---- veer's programs in real traffic ---------------------------------------

# prog_stats: "ID NAME RUN_CNT RUN_TIME_NS" of each program attached to the
# node's client-side device (veer's: its XDP or TC ingress and TC egress).
prog_stats() {
	local id
	for id in $(node bpftool -j net show dev "$NODE_DEV" |
		jq -r '.[] | (.xdp // [])[], (.tc // [])[] | .id'); do
		bpftool -j prog show id "$id" |
			jq -r '"\(.id) \(.name) \(.run_cnt // 0) \(.run_time_ns // 0)"'
	done
}

# measure_progstats CONTENDER ROUND: a conn run with kernel.bpf_stats_enabled
# on (it costs two clock reads a program run, so the other runs keep it
# off): each program's runs and run time over the run, ns a run.
measure_progstats() {
	local c=$1 round=$2 json before after was
	was=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	before=$(prog_stats)
	json=$(loadgen_run "$c" conn)
	after=$(prog_stats)
	sysctl -qw kernel.bpf_stats_enabled="$was"
	awk 'NR == FNR { cnt[$1] = $3; ns[$1] = $4; next }
		($1 in cnt) && $3 > cnt[$1] {
			printf "{\"name\":\"%s\",\"runs\":%d,\"run_time_ns\":%d}\n",
				$2, $3 - cnt[$1], $4 - ns[$1] }' \
		<(printf '%s\n' "$before") <(printf '%s\n' "$after") |
		jq -sc --arg c "$c" --argjson r "$round" --argjson run "$json" \
			'{part: "progstats", contender: $c, round: $r, services: 1,
			  conn_per_s: $run.conn_per_s, connections: $run.connections,
			  programs: map(. + {ns_per_run: (if .runs > 0
				then (.run_time_ns / .runs * 10 | round / 10) else null end)})}' \
			>>"$RESULTS"
}

# ---- weight changes -------------------------------------------------------
#
# weight_cmd_CONTENDER W: sets CMD to the command that makes the measured
# service W/100-W (its input prepared in a file beforehand), as the node's
# own tooling would run it.

weight_cmd_veer_tc() {
	CMD=("$VEER_BIN" --pin-root "$VEER_ROOT_IN_USE" weight web v1="$1" v2=$((100 - $1)))
}
weight_cmd_iptables() {
	cat >"$LAB_TMP/weight-iptables-$1" <<EOF
*nat
:KUBE-SVC-MEASURED - [0:0]
-A KUBE-SVC-MEASURED -m statistic --mode random --probability $(awk -v w="$1" 'BEGIN { printf "%.11f", w / 100 }') -j KUBE-SEP-MEASURED-1
-A KUBE-SVC-MEASURED -j KUBE-SEP-MEASURED-2
COMMIT
EOF
	CMD=(iptables-restore --noflush "$LAB_TMP/weight-iptables-$1")
}
weight_cmd_nftables() {
	cat >"$LAB_TMP/weight-nftables-$1" <<EOF
flush chain ip veerbench svc-measured
add rule ip veerbench svc-measured meta l4proto tcp dnat to numgen random mod 100 map { 0-$(($1 - 1)) : $V1_V4, $1-99 : $V2_V4 } : $BACKEND_PORT
EOF
	CMD=(nft -f "$LAB_TMP/weight-nftables-$1")
}

# RUSAGE CMD...: runs CMD (stdout to /dev/null) and prints "WALL_US
# USER_US SYS_US" of it alone: wall time from spawn to exit, and the CPU
# time the kernel accounted to CMD (wait4's rusage), whatever else the
# machine runs. Exits 1 when CMD failed.
RUSAGE=$OUT/rusage
build_rusage() {
	cc -O2 -Wall -o "$RUSAGE" -x c - <<'EOF'
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
extern char **environ;
int main(int argc, char **argv)
{
	posix_spawn_file_actions_t fa;
	struct timespec a, b;
	struct rusage ru;
	pid_t pid;
	int st;

	if (argc < 2)
		return 2;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (posix_spawnp(&pid, argv[1], &fa, NULL, argv + 1, environ) ||
	    wait4(pid, &st, 0, &ru) != pid)
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld %lld %lld\n",
	       (long long)(b.tv_sec - a.tv_sec) * 1000000 +
		       (b.tv_nsec - a.tv_nsec) / 1000,
	       (long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
	       (long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec);
	return !WIFEXITED(st) || WEXITSTATUS(st);
}
EOF
}

# timed_in_node CMD...: runs CMD in the node namespace and prints "WALL_US
# USER_US SYS_US" (RUSAGE; it runs inside the namespace: entering it is
# not part of the change).
timed_in_node() { node "$RUSAGE" "$@"; }

# weight_in_effect CONTENDER W: the node's configuration says W/100-W.
weight_in_effect() {
	case $1 in
	veer_tc) veer_at "$VEER_ROOT_IN_USE" get web -o json | jq -e --argjson w "$2" \
		'.services[0].subsets[0] | .name == "v1" and .weight == $w' >/dev/null ;;
	# The kernel keeps the probability as a 32-bit fraction.
	iptables) node iptables -t nat -S KUBE-SVC-MEASURED | awk -v w="$2" '
		$0 ~ /--probability/ { for (i = 1; i < NF; i++) if ($i == "--probability")
			f = ($(i + 1) - w / 100) ^ 2 < 1e-12 } END { exit !f }' ;;
	# grep without -q: an early exit would fail the pipe (pipefail).
	nftables) node nft list chain ip veerbench svc-measured |
		grep "0-$(($2 - 1)) : $V1_V4" >/dev/null ;;
	esac
}

# measure_weight CONTENDER ROUND SERVICES: WEIGHT_REPS changes alternating
# 70/30 and 80/20 (ending on 80/20), each checked to be in effect
# afterwards; wall time (us) and the changing process's CPU time
# (user_us, sys_us).
measure_weight() {
	local c=$1 round=$2 n=$3 i w t wall user sys
	for ((i = 1; i <= WEIGHT_REPS; i++)); do
		w=$((i % 2 ? 70 : 80))
		((i == WEIGHT_REPS)) && w=80
		"weight_cmd_$c" "$w"
		t=$(timed_in_node "${CMD[@]}") || lab_die "$c: '${CMD[*]}' failed"
		weight_in_effect "$c" "$w" || lab_die "$c: weight $w not in effect after the change"
		read -r wall user sys <<<"$t"
		jq -nc --arg c "$c" --argjson r "$round" --argjson us "$wall" \
			--argjson user "$user" --argjson sys "$sys" --argjson n "$n" \
			'{part: "weight", contender: $c, round: $r, services: $n,
			  us: $us, user_us: $user, sys_us: $sys}' >>"$RESULTS"
	done
}

# ---- HTTP routing by header (part http) ----------------------------------
#
# The shop service of the HTTP e2e tests (lab_write_shop_istio "seeds":
# user-agent exact/prefix, X-group exact, uri prefix, then 80/20) on
# SHOP_VIP4, veer-httpsrv on HTTP_PORT. Each veer contender has a pin root
# of its own, so the two configurations never replace each other.

HTTP_VIP_L4=10.96.0.61 # veer_l4's service
# veer_http's backends listen on a port of their own: veer_l4's clients
# (same client address, server closes first) leave TIME_WAITs on the
# backends, and a delayed-bound connection whose backend SYN meets one of
# them stalls (see docs/BENCHMARKS.md, "HTTP routing by header").
HTTP_PORT_ROUTED=$((HTTP_PORT + 1))
HTTP_HEADER="X-group: test"
HTTP_CONTENDERS=(veer_l4 veer_http haproxy_http nginx_http)

setup_veer_http() {
	local root=$VEER_PIN_ROOT-http
	[[ " ${PIN_ROOTS[*]} " == *" $root "* ]] || PIN_ROOTS+=("$root")
	# shellcheck disable=SC2034 # read by lab.sh's cleanup
	LAB_ATTACHED=1
	veer_at "$root" attach "$NODE_DEV" --mode tc >/dev/null
	veer_at "$root" status 2>&1 | grep -qi 'http routing.*on' ||
		lab_die "veer_http: veer status does not say HTTP routing is on"
	[[ -s $LAB_TMP/shop-http.yaml ]] ||
		BACKEND_PORT=$HTTP_PORT_ROUTED lab_write_shop_istio "$LAB_TMP/shop-http.yaml" 80 seeds
	veer_at "$root" apply -f "$LAB_TMP/shop-http.yaml" >/dev/null 2>&1
	VEER_ROOT_IN_USE=$root
	HTTP_TARGET=$SHOP_VIP4
}
teardown_veer_http() { teardown_veer; }

setup_veer_l4() {
	local root=$VEER_PIN_ROOT-l4
	[[ " ${PIN_ROOTS[*]} " == *" $root "* ]] || PIN_ROOTS+=("$root")
	# shellcheck disable=SC2034 # read by lab.sh's cleanup
	LAB_ATTACHED=1
	veer_at "$root" attach "$NODE_DEV" --mode tc >/dev/null
	cat >"$LAB_TMP/shop-l4.yaml" <<EOF
services:
  - name: shop-l4
    vip: $HTTP_VIP_L4
    port: 80
    subsets:
      - name: v1
        weight: 0
        backends: [$V1_V4:$HTTP_PORT]
      - name: v2
        weight: 100
        backends: [$V2_V4:$HTTP_PORT]
EOF
	veer_at "$root" apply -f "$LAB_TMP/shop-l4.yaml" >/dev/null
	VEER_ROOT_IN_USE=$root
	HTTP_TARGET=$HTTP_VIP_L4
}
teardown_veer_l4() { teardown_veer; }

setup_haproxy_http() {
	cat >"$LAB_TMP/haproxy-http.cfg" <<EOF
global
	maxconn 8000
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
frontend veer_bench_http
	bind $VIP_V4:$VIP_PORT
	acl ua_debug hdr(user-agent) -m str debug
	acl ua_debug_prefix hdr(user-agent) -m beg debug-
	acl group_test hdr(x-group) -m str test
	use_backend v2 if ua_debug or ua_debug_prefix or group_test
	default_backend split
backend split
	balance roundrobin
	server v1 $V1_V4:$HTTP_PORT weight 80
	server v2 $V2_V4:$HTTP_PORT weight 20
backend v2
	server v2 $V2_V4:$HTTP_PORT
EOF
	proxy_up haproxy_http haproxy -db -f "$LAB_TMP/haproxy-http.cfg"
	HTTP_TARGET=$VIP_V4
}
teardown_haproxy_http() { proxy_down; }

setup_nginx_http() {
	mkdir -p "$LAB_TMP/nginx-http"
	cat >"$LAB_TMP/nginx-http/nginx.conf" <<EOF
worker_processes auto;
worker_rlimit_nofile 16384;
pid $LAB_TMP/nginx-http/nginx.pid;
error_log $LAB_TMP/nginx-http/error.log warn;
events { worker_connections 8192; }
http {
	access_log off;
	map \$http_user_agent \$ua_pool {
		default split;
		debug v2;
		~^debug- v2;
	}
	map \$http_x_group \$pool {
		default \$ua_pool;
		test v2;
	}
	upstream split {
		server $V1_V4:$HTTP_PORT weight=80;
		server $V2_V4:$HTTP_PORT weight=20;
		keepalive 64;
	}
	upstream v2 {
		server $V2_V4:$HTTP_PORT;
		keepalive 64;
	}
	server {
		listen $VIP_V4:$VIP_PORT;
		location / {
			proxy_pass http://\$pool;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
	proxy_up nginx_http nginx -c "$LAB_TMP/nginx-http/nginx.conf" \
		-p "$LAB_TMP/nginx-http" -g 'daemon off;'
	HTTP_TARGET=$VIP_V4
}
teardown_nginx_http() { proxy_down; }

# measure_http CONTENDER KIND ROUND: one veer-loadgen http run against
# HTTP_TARGET (rtt: from the node straight to v2), appended to the results.
measure_http() {
	local c=$1 kind=$2 round=$3 json ns=$NS_CLIENT addr=${HTTP_TARGET:-} port=$VIP_PORT
	local -a args=(--concurrency "$CONC" --header "$HTTP_HEADER")
	case $kind in
	short) ;;
	keepalive) args+=(--keepalive "$HTTP_KA_REQS") ;;
	first) args=(--concurrency 1 --header "$HTTP_HEADER") ;;
	bulk) args=(--concurrency "$STREAMS" --header "$HTTP_HEADER" --keepalive 0
		--path "$HTTP_BULK_PATH") ;;
	rtt) args=(--concurrency 1)
		ns=$NS_NODE addr=$V2_V4 port=$HTTP_PORT ;;
	esac
	json=$(lab_exec "$ns" "$LOADGEN" http --addr "$addr" --port "$port" \
		--duration-ms "$HTTP_DURATION_MS" --version-header X-Veer-Version \
		"${args[@]}" --json) || json='{"error":true}'
	jq -c --arg c "$c" --arg m "$kind" --argjson r "$round" \
		'{part: "http", contender: $c, round: $r, services: 1} + . +
		 {mode: $m, loadgen_mode: .mode}' \
		<<<"$json" >>"$RESULTS"
}

# ---- fleet convergence (part fleet) ---------------------------------------
#
# The customers scenario of test_fleet_nodes.sh (examples/customers: one
# Service, IPv4 and IPv6, subsets v1 and v2) in etcd; the nodes' maps are
# small (a node here holds one service, and fifty nodes' default
# conntrack tables would take gigabytes).

FLEET_ATTACH_ARGS=(--ct-size 1024 --max-services 64 --max-backends 1024)
FLEET_CLUSTER=bench$$
FLEET_V1=90 # v1's weight in etcd now

fleet_cmd() { "$VEER_BIN" "$@" --etcd "$ETCD_ENDPOINTS" --cluster "$FLEET_CLUSTER"; }

# fleet_hold TIMEOUT_MS: every node so far holds FLEET_V1 (no change).
fleet_hold() {
	"$PROBE" converge "$LAB_TMP/fleet-pins" customers \
		"v1=$FLEET_V1,v2=$((100 - FLEET_V1))" "$1" 10000 >/dev/null
}

# fleet_up N: nodes up to N, each with its agent, all holding FLEET_V1.
fleet_up() {
	local n=$1 i from=$((FLEET_N + 1))
	local -a args=()
	[[ -n $FLEET_DEBOUNCE_MS ]] && args=(--debounce "$FLEET_DEBOUNCE_MS")
	fleet_nodes_add "$n" "${FLEET_ATTACH_ARGS[@]}"
	for ((i = from; i <= n; i++)); do
		echo "${FLEET_PIN[i]}" >>"$LAB_TMP/fleet-pins"
		fleet_agent_start "$i" "$ETCD_ENDPOINTS" "$FLEET_CLUSTER" "${args[@]}"
	done
	fleet_hold 60000 || lab_die "fleet: the $n nodes do not all hold v1=$FLEET_V1 after 60 s"
	# The agents' debounce, as they say it at their start.
	FLEET_DEBOUNCE_SAID=$(sed -n 's/.*watching etcd .*debounce \([0-9]*\) ms.*/\1/p' \
		"$LAB_TMP/agent-1.log" | head -n1)
}

# measure_fleet N: FLEET_CHANGES weight changes over the N nodes, each
# timed by the probe (its JSON line, with what it was, to the results).
measure_fleet() {
	local n=$1 i json rc w
	for ((i = 1; i <= FLEET_CHANGES; i++)); do
		w=$((100 - FLEET_V1))
		rc=0
		json=$("$PROBE" converge "$LAB_TMP/fleet-pins" customers "v1=$w,v2=$((100 - w))" \
			"$FLEET_TIMEOUT_MS" "$FLEET_POLL_US" \
			"$VEER_BIN" weight customers "v1=$w" "v2=$((100 - w))" \
			--etcd "$ETCD_ENDPOINTS" --cluster "$FLEET_CLUSTER" \
			2>>"$LAB_TMP/fleet-probe.log") || rc=$?
		((rc == 0 || rc == 4)) ||
			lab_die "fleet: change $i ($n nodes): $(tail -n 3 "$LAB_TMP/fleet-probe.log" | tr '\n' '|')"
		FLEET_V1=$w
		jq -c --argjson n "$n" --argjson i "$i" --arg w "v1=$w v2=$((100 - w))" \
			--argjson debounce "${FLEET_DEBOUNCE_SAID:-null}" \
			--argjson pause "$FLEET_PAUSE_MS" \
			'{part: "fleet", nodes: $n, change: $i, weights: $w,
			  debounce_ms: $debounce, pause_ms: $pause} + .' <<<"$json" >>"$RESULTS"
		# A timeout is counted; the next change starts from a fleet
		# that holds this one.
		((rc == 0)) || fleet_hold 60000 ||
			lab_die "fleet: change $i not held by all $n nodes after $((FLEET_TIMEOUT_MS + 60000)) ms"
		sleep "$((FLEET_PAUSE_MS / 1000)).$(printf '%03d' $((FLEET_PAUSE_MS % 1000)))"
	done
}

run_fleet() {
	local n m cust=$ROOT/examples/customers
	etcd_cluster_start "$LAB_TMP/etcd"
	fleet_cmd apply -f "$cust/service.yaml" -f "$cust/destinationrule.yaml" \
		-f "$cust/vs-canary-90-10.yaml" >"$LAB_TMP/fleet-apply.log" 2>&1 ||
		lab_die "fleet: apply --etcd: $(oneline "$LAB_TMP/fleet-apply.log")"
	FLEET_V1=90
	: >"$LAB_TMP/fleet-pins"
	for n in "${FLEET_SIZE_LIST[@]}"; do
		fleet_up "$n"
		measure_fleet "$n"
		printf 'bench: fleet, %d nodes done (%d s)\n' "$n" $(($(date +%s) - started)) >&2
	done
	# The nodes and etcd go now, not at exit: the parts after need the
	# memory and the CPU.
	fleet_nodes_cleanup
	for m in 0 1 2; do
		etcd_member_kill "$m"
	done
}

# ---- the runs -------------------------------------------------------------

CONTENDERS=(direct veer_tc veer_xdp iptables nftables haproxy nginx direct_node veer_cgroup)
if [[ -n $ONLY ]]; then
	IFS=, read -r -a only <<<"$ONLY"
	picked=()
	for c in "${CONTENDERS[@]}"; do
		for o in "${only[@]}"; do
			[[ $c == "$o" ]] && picked+=("$c")
		done
	done
	((${#picked[@]} == ${#only[@]})) ||
		lab_die "-C: unknown contender in '$ONLY' (${CONTENDERS[*]})"
	CONTENDERS=("${picked[@]}")
fi
build_rusage
started=$(date +%s)

if want_part contenders; then
	for ((round = 1; round <= ROUNDS; round++)); do
		for c in "${CONTENDERS[@]}"; do
			"setup_$c"
			measure contenders "$c" conn "$round"
			measure contenders "$c" stream "$round"
			[[ $c == veer_tc || $c == veer_xdp ]] &&
				measure_progstats "$c" "$round"
			"teardown_$c"
		done
		printf 'bench: contenders round %d/%d done (%d s)\n' "$round" "$ROUNDS" \
			$(($(date +%s) - started)) >&2
	done
fi

if want_part scaling || want_part weight; then
	scale_rounds=$SCALE_ROUNDS
	sizes=("${SIZES[@]}")
	# Weight changes alone: only the biggest table, one round per -r.
	want_part scaling || sizes=("${SIZES[-1]}")
	for ((round = 1; round <= scale_rounds; round++)); do
		for n in "${sizes[@]}"; do
			for c in "${SCALE_CONTENDERS[@]}"; do
				"setup_$c" "$n"
				if want_part scaling; then
					measure scaling "$c" conn "$round" "$n"
					measure scaling "$c" stream "$round" "$n"
				fi
				if want_part weight && ((n == SIZES[-1])); then
					measure_weight "$c" "$round" "$n"
				fi
				"teardown_$c"
			done
		done
		# veer alone with WEIGHT_BIG services (its own pin root and store).
		if want_part weight && ((WEIGHT_BIG > SIZES[-1])); then
			setup_veer_tc "$WEIGHT_BIG"
			measure_weight veer_tc "$round" "$WEIGHT_BIG"
			teardown_veer_tc
		fi
		printf 'bench: scaling/weight round %d/%d done (%d s)\n' "$round" \
			"$scale_rounds" $(($(date +%s) - started)) >&2
	done
fi

if want_part http; then
	lab_start_http_backends "$HTTP_PORT"
	lab_start_http_backends "$HTTP_PORT_ROUTED"
	for ((round = 1; round <= HTTP_ROUNDS; round++)); do
		measure_http rtt rtt "$round"
		for c in "${HTTP_CONTENDERS[@]}"; do
			"setup_$c"
			measure_http "$c" short "$round"
			measure_http "$c" keepalive "$round"
			if [[ $c == veer_* ]]; then
				measure_http "$c" first "$round"
				measure_http "$c" bulk "$round"
			fi
			"teardown_$c"
		done
		printf 'bench: http round %d/%d done (%d s)\n' "$round" "$HTTP_ROUNDS" \
			$(($(date +%s) - started)) >&2
	done
fi

want_part fleet && run_fleet

if want_part crosscheck; then
	"$ROOT/scripts/bench-crosscheck.sh" -r "$SCALE_ROUNDS" -d "$DURATION_MS" \
		-c "$CONC" -s "$STREAMS" -o "$OUT" >&2
else
	rm -f "$OUT/crosscheck.json" # not from this run
fi

report_opts=()
((DOCS)) || report_opts=(--no-docs)
"$ROOT/scripts/bench-report.sh" -o "$OUT" "${report_opts[@]}"
echo "bench: $(($(date +%s) - started)) s" >&2

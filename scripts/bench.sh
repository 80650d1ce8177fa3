#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Side-by-side benchmark of the node's splitting mechanism, in the lab of
# tests/e2e/lib.sh (client ns -> node ns -> v1 | v2 backends). The same
# load generator (build/veer-loadgen) and the same backends serve every
# contender; only what the node does changes:
#
#   direct     the client dials the v1 backend itself (the topology's limit)
#   veer-tc    veer, TC ingress/egress, 80/20
#   veer-xdp   veer, XDP ingress + TC egress, 80/20
#   iptables   nat PREROUTING DNAT with -m statistic --mode random, 80/20
#   nftables   numgen random mod 100 vmap -> dnat, 80/20
#
# Contenders run interleaved (A B C ... A B C ...) for ROUNDS rounds, so a
# noisy neighbour on these shared 2-core machines hits every contender
# alike; each figure is the median over rounds, and the ratio to `direct`
# of the same run is what to compare across machines.
#
#   scripts/bench.sh [-r ROUNDS] [-d DURATION_MS] [-c CONCURRENCY] [-o DIR]
#
# Results: DIR/results.json (one object per contender and measure) and a
# table on stdout. Needs root; installs iptables and nftables if missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROUNDS=5
DURATION_MS=5000
CONC=32
OUT=$ROOT/build/bench
while (($#)); do
	case $1 in
	-r) ROUNDS=$2; shift ;;
	-d) DURATION_MS=$2; shift ;;
	-c) CONC=$2; shift ;;
	-o) OUT=$2; shift ;;
	-h | --help) sed -n '3,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
for n in "$ROUNDS" "$DURATION_MS" "$CONC"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || { echo "bench: '$n' is not a positive number" >&2; exit 2; }
done

missing=()
command -v iptables >/dev/null || missing+=(iptables)
command -v nft >/dev/null || missing+=(nftables)
if ((${#missing[@]})); then
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Under veer-test-*: the lab cleanup removes it whatever happens.
export VEER_PIN_ROOT=/sys/fs/bpf/veer-test-bench-$$
LAB_ID=vb$$
# shellcheck source=../tests/e2e/lib.sh
. "$ROOT/tests/e2e/lib.sh"
LOADGEN=$LAB_BUILD/veer-loadgen
[[ -x $LOADGEN ]] || lab_die "$LOADGEN not built (make)"

lab_init jq
lab_up
lab_start_backends
# Many short connections from one client address: reuse TIME_WAIT ports.
lab_exec "$NS_CLIENT" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
	net.ipv4.ip_local_port_range="1024 65535"
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

# setup/teardown per contender, in the node namespace.
node() { lab_exec "$NS_NODE" "$@"; }

setup_direct() { :; }
teardown_direct() { :; }

setup_veer() {
	LAB_ATTACHED=1
	veer attach "$NODE_DEV" --mode "$1" >/dev/null
	lab_write_config "$LAB_TMP/bench.yaml" 80
	veer apply -f "$LAB_TMP/bench.yaml" >/dev/null
}
teardown_veer() { veer detach --all >/dev/null; }
setup_veer_tc() { setup_veer tc; }
teardown_veer_tc() { teardown_veer; }
setup_veer_xdp() { setup_veer xdp; }
teardown_veer_xdp() { teardown_veer; }

setup_iptables() {
	node iptables -t nat -A PREROUTING -d "$VIP_V4" -p tcp --dport "$VIP_PORT" \
		-m statistic --mode random --probability 0.8 \
		-j DNAT --to-destination "$V1_V4:$BACKEND_PORT"
	node iptables -t nat -A PREROUTING -d "$VIP_V4" -p tcp --dport "$VIP_PORT" \
		-j DNAT --to-destination "$V2_V4:$BACKEND_PORT"
}
teardown_iptables() { node iptables -t nat -F PREROUTING; }

setup_nftables() {
	node nft -f - <<EOF
table ip veerbench {
	chain prerouting {
		type nat hook prerouting priority dstnat;
		ip daddr $VIP_V4 tcp dport $VIP_PORT dnat to numgen random mod 100 map { 0-79 : $V1_V4, 80-99 : $V2_V4 } : $BACKEND_PORT
	}
}
EOF
}
teardown_nftables() { node nft delete table ip veerbench; }

CONTENDERS=(direct veer_tc veer_xdp iptables nftables)

# measure CONTENDER MODE ROUND: one loadgen run, appended to the results.
measure() {
	local c=$1 mode=$2 round=$3 addr=$VIP_V4 port=$VIP_PORT json
	if [[ $c == direct ]]; then
		addr=$V1_V4
		port=$BACKEND_PORT
	fi
	json=$(lab_exec "$NS_CLIENT" "$LOADGEN" "$mode" --addr "$addr" \
		--port "$port" --duration-ms "$DURATION_MS" \
		--concurrency "$CONC" --json) || json='{"error":true}'
	jq -c --arg c "$c" --arg m "$mode" --argjson r "$round" \
		'{contender: $c, mode: $m, round: $r} + .' <<<"$json" >>"$RESULTS"
}

for ((round = 1; round <= ROUNDS; round++)); do
	for c in "${CONTENDERS[@]}"; do
		"setup_$c"
		measure "$c" conn "$round"
		measure "$c" stream "$round"
		"teardown_$c"
		printf 'round %d/%d %s done\n' "$round" "$ROUNDS" "$c" >&2
	done
done

# Medians per contender and mode, and ratios to direct of the same run.
jq -s '
	def median: sort | if length == 0 then null
		else .[(length / 2 | floor)] end;
	group_by(.contender + "/" + .mode) | map({
		contender: .[0].contender, mode: .[0].mode,
		conn_per_s: (map(.conn_per_s // empty) | median),
		p99_us: (map(.p99_us // empty) | median),
		gbit_per_s: (map(.gbit_per_s // empty) | median),
		versions: .[-1].versions, runs: length
	})' "$RESULTS" >"$OUT/results.json"

jq -r '
	(map(select(.contender == "direct")) | map({key: .mode, value: .}) |
	 from_entries) as $d |
	["contender", "conn/s", "x direct", "p99 us", "Gbit/s", "x direct", "split"],
	(.[] | select(.mode == "conn") as $c |
	 ($c.contender) as $name |
	 [$name, ($c.conn_per_s | floor),
	  (($c.conn_per_s / $d.conn.conn_per_s * 100 | floor) / 100),
	  $c.p99_us, "", "", ($c.versions | tostring)]),
	(.[] | select(.mode == "stream") |
	 [.contender + " (stream)", "", "", "", .gbit_per_s,
	  ((.gbit_per_s / $d.stream.gbit_per_s * 100 | floor) / 100), ""])
	| @tsv' "$OUT/results.json" | column -t -s $'\t'
echo "results: $OUT/results.json ($ROUNDS interleaved rounds, ${DURATION_MS} ms each, concurrency $CONC)"

# docs/BENCHMARKS.md, regenerated from the results of this run.
{
	echo "# Benchmarks"
	echo
	echo "Generated by \`scripts/bench.sh\` (\`make bench\`) on $(date -u +%Y-%m-%d),"
	echo "kernel $(uname -r), $(nproc) CPUs: $ROUNDS interleaved rounds of"
	echo "${DURATION_MS} ms per contender and measure, concurrency $CONC, medians;"
	echo "ratios are to \`direct\` (the client dialling a backend) in the same run."
	echo "The machine is shared: compare ratios, not absolute figures."
	echo
	echo "| contender | conn/s | x direct | p99 latency (us) | stream Gbit/s | x direct | split (v1/v2) |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
	jq -r '
		(map(select(.contender == "direct")) |
		 map({key: .mode, value: .}) | from_entries) as $d |
		group_by(.contender) | .[] |
		(map(select(.mode == "conn"))[0]) as $c |
		(map(select(.mode == "stream"))[0]) as $s |
		"| \($c.contender) | \($c.conn_per_s | floor) | " +
		"\((($c.conn_per_s / $d.conn.conn_per_s * 100 | floor) / 100)) | " +
		"\($c.p99_us) | \($s.gbit_per_s) | " +
		"\((($s.gbit_per_s / $d.stream.gbit_per_s * 100 | floor) / 100)) | " +
		"\($c.versions | to_entries | sort_by(.key) | map("\(.key) \(.value)") | join(", ")) |"
	' "$OUT/results.json"
	echo
	echo "Reading the stream column: \`direct\` dials the v1 backend only, so its"
	echo "streams all land on one backend namespace, while the splitters spread"
	echo "them over two; on 2 CPUs that alone can double throughput, so the"
	echo "stream ratio is not yet a fair comparison (a two-backend direct"
	echo "baseline is next). In XDP mode on veth the client-side veth loses"
	echo "GSO/TSO while an XDP program is attached (veth needs linear frames"
	echo "for XDP), so bulk streams travel in MTU-sized segments; NICs with"
	echo "native XDP do not pay this."
	echo
	echo "Not measured yet: HAProxy and nginx stream, veer's socket mode"
	echo "(its clients live on the node, another topology), service-count"
	echo "scaling and weight-change latency."
} >"$ROOT/docs/BENCHMARKS.md"
echo "wrote docs/BENCHMARKS.md"

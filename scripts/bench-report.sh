#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The report of `make bench`: from DIR/results.jsonl (every run) and
# DIR/conditions.json, written by scripts/bench.sh, it computes
# DIR/results.json (medians, ratios to the baselines, targets met or not)
# and DIR/http.json (the http part's medians, ratios and targets),
# prints the tables, draws the scaling plots (gnuplot) and regenerates
# docs/BENCHMARKS.md with docs/bench/*.png, followed by docs/bench/NOTES.md
# (the reading of the figures, written by hand).
#
#   scripts/bench-report.sh [-o DIR] [--no-docs] [--section fleet]
#
# Run on its own to rebuild the report of the last run without measuring.
# --section fleet: only print docs/BENCHMARKS.md's "Fleet convergence"
# section, as a full run writes it, from DIR's runs (a `bench.sh -p
# fleet --no-docs` run's, to put into the document by hand).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/build/bench
DOCS=1
SECTION=
while (($#)); do
	case $1 in
	-o) OUT=${2:-}; shift ;;
	--no-docs) DOCS=0 ;;
	--section)
		SECTION=${2:-}
		[[ $SECTION == fleet ]] || { echo "bench-report: --section: only fleet" >&2; exit 2; }
		shift ;;
	-h | --help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "bench-report: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
	shift
done
RESULTS=$OUT/results.jsonl
for f in "$RESULTS" "$OUT/conditions.json"; do
	[[ -s $f ]] || { echo "bench-report: no $f (run scripts/bench.sh first)" >&2; exit 1; }
done

# ---- summary: results.json ------------------------------------------------

jq -s --slurpfile cond "$OUT/conditions.json" '
	def median: sort | if length == 0 then null
		else .[(length / 2 | floor)] end;
	def pct($p): sort | if length == 0 then null
		else .[((length - 1) * $p | floor)] end;
	def summary: {
		conn_per_s: (map(select(.mode == "conn") | .conn_per_s // empty) | median),
		p50_us: (map(select(.mode == "conn") | .p50_us // empty) | median),
		p99_us: (map(select(.mode == "conn") | .p99_us // empty) | median),
		gbit_per_s: (map(select(.mode == "stream") | .gbit_per_s // empty) | median),
		errors: (map(.errors // 0) | add),
		failed_runs: (map(select(.error == true)) | length),
		split: (map(select(.mode == "conn") | .versions // {}) |
			reduce .[] as $v ({}; reduce ($v | to_entries[]) as $e (.;
				.[$e.key] += $e.value))),
		runs: (map(select(.mode == "conn")) | length)
	};
	def ratio($a; $b): if $a == null or $b == null or $b == 0 then null
		else ($a / $b * 1000 | round / 1000) end;
	def pick($rows; $c): $rows | map(select(.contender == $c))[0];
	def pickn($rows; $c; $n): $rows | map(select(.contender == $c and .services == $n))[0];
	def r3: if . == null then null else (. * 1000 | round / 1000) end;
	. as $all |
	# Per-round ratios: a run against the baseline run of the same round
	# (measured a few seconds apart), so slow drifts of the shared
	# machine cancel; reported as median and range over rounds.
	def paired($part; $c; $mode; $field; base_sel):
		[$all[] | select(.part == $part and .contender == $c and .mode == $mode and .[$field] != null)] as $xs |
		[$xs[] | . as $x |
		 ($all | map(select(.part == $part and .mode == $mode and .round == $x.round and (base_sel)))[0]) as $b |
		 if $b == null or ($b[$field] // 0) == 0 then empty
		 else $x[$field] / $b[$field] end];
	def spread: {median: (median | r3), min: (min | r3), max: (max | r3), rounds: length};
	# The same per round, as a difference: what a contender adds to its
	# baseline of the same round.
	def added($c; $mode; $field; base_sel):
		[$all[] | select(.part == "contenders" and .contender == $c and .mode == $mode and .[$field] != null)] as $xs |
		[$xs[] | . as $x |
		 ($all | map(select(.part == "contenders" and .mode == $mode and .round == $x.round and (base_sel)))[0]) as $b |
		 if $b == null or $b[$field] == null then empty
		 else $x[$field] - $b[$field] end];
	def cpu_of($c; $base): {
		us_per_conn: ([$all[] | select(.part == "contenders" and .contender == $c and .mode == "conn") | .cpu_us_per_conn // empty] | median | r3),
		s_per_gb: ([$all[] | select(.part == "contenders" and .contender == $c and .mode == "stream") | .cpu_s_per_gb // empty] | median | r3),
		added_us_per_conn: (added($c; "conn"; "cpu_us_per_conn"; .contender == $base) | spread),
		added_s_per_gb: (added($c; "stream"; "cpu_s_per_gb"; .contender == $base) | spread)};
	($all | map(select(.part == "contenders")) | group_by(.contender) |
	 map({contender: .[0].contender} + summary)) as $rows |
	($rows | map({key: .contender, value: .}) | from_entries) as $by |
	{
	  conditions: $cond[0],
	  contenders: ($rows | map(. as $r |
		(if .contender == "veer_cgroup" or .contender == "direct_node"
		 then "direct_node" else "direct" end) as $base |
		(paired("contenders"; .contender; "conn"; "conn_per_s"; .contender == $base) | spread) as $cx |
		(paired("contenders"; .contender; "stream"; "gbit_per_s"; .contender == $base) | spread) as $gx |
		. + {baseline: $base,
		     conn_x_baseline: $cx.median, conn_x_range: [$cx.min, $cx.max],
		     gbit_x_baseline: $gx.median, gbit_x_range: [$gx.min, $gx.max],
		     cpu: cpu_of(.contender; $base)})),
	  # veer'"'"'s programs in real traffic (kernel.bpf_stats_enabled):
	  # ns a run and runs a connection, medians and ranges over rounds.
	  progstats: ($all | map(select(.part == "progstats")) | group_by(.contender) |
		map(. as $runs | {contender: .[0].contender,
		  programs: ([$runs[].programs[]] | group_by(.name) | map({name: .[0].name,
			ns_per_run: (map(.ns_per_run // empty) | spread)})),
		  runs_per_conn: ($runs | map(select((.connections // 0) > 0) |
			((.programs | map(.runs) | add) / .connections)) | spread)})),
	  scaling: ($all | map(select(.part == "scaling")) |
		group_by([.contender, .services]) |
		map({contender: .[0].contender, services: .[0].services} + summary)),
	  # Per round: conn/s with the most services over conn/s with one.
	  scaling_flatness: ($all | map(select(.part == "scaling" and .mode == "conn")) as $sc |
		($sc | map(.services) | max) as $most |
		$sc | map(.contender) | unique | map(. as $c | {contender: $c,
		services: $most} + ([$sc[] | select(.contender == $c and .services == $most) | . as $x |
		  ($sc | map(select(.contender == $c and .services == 1 and .round == $x.round))[0]) as $b |
		  if $b == null or ($b.conn_per_s // 0) == 0 or $x.conn_per_s == null then empty
		  else $x.conn_per_s / $b.conn_per_s end] | spread))),
	  # Wall time, and CPU time (user + sys) of the changing process;
	  # ranges: of the medians of the rounds.
	  weight_change: ($all | map(select(.part == "weight")) |
		group_by([.services, .contender]) | map(
		def cpu: map(select(.user_us != null) | .user_us + .sys_us);
		def rounds(f): [group_by(.round)[] | f | median] |
			map(select(. != null)) |
			if length == 0 then null else [min, max] end;
		{contender: .[0].contender,
		services: .[0].services, samples: length,
		median_us: (map(.us) | median), p90_us: (map(.us) | pct(0.9)),
		max_us: (map(.us) | max), round_us: rounds(map(.us)),
		cpu_median_us: (cpu | median), cpu_p90_us: (cpu | pct(0.9)),
		round_cpu_us: rounds(cpu)})),
	  # Fleet convergence, per fleet size (and the agents'"'"' debounce):
	  # the last node'"'"'s time after each change, from the weight
	  # command'"'"'s exit; percentiles by nearest rank (p99 of 30 changes
	  # is the largest); a change some node did not hold within the
	  # timeout ranks above every other (and shows as the timeout).
	  fleet: ($all | map(select(.part == "fleet")) |
		group_by([.nodes, .debounce_ms]) | map(
		def rank($p): sort | if length == 0 then null
			else .[((length * $p) | ceil) - 1] end;
		def ms: if . == null then null
			elif . >= 1e12 then "timeout" else (. * 10 | round / 10) end;
		(map(if .timeout then 1e12 else .last_ms end)) as $last |
		{nodes: .[0].nodes, debounce_ms: .[0].debounce_ms,
		 changes: length, timeouts: (map(select(.timeout)) | length),
		 p50_ms: ($last | rank(0.5) | ms), p99_ms: ($last | rank(0.99) | ms),
		 max_ms: ($last | max | ms),
		 first_p50_ms: (map(.first_ms) | rank(0.5) | ms),
		 median_node_p50_ms: (map(.median_ms) | rank(0.5) | ms),
		 cmd_p50_ms: (map(.cmd_ms) | rank(0.5) | ms),
		 # How late the last node may be timed: the gap between the
		 # check that saw it and its check before (the worst change).
		 resolution_ms: (map(.last_ms - .last_after_ms) | max | . * 100 | round / 100),
		 resolution_p50_ms: (map(.last_ms - .last_after_ms) | rank(0.5) | . * 100 | round / 100),
		 sweep_mean_us: (map(.sweep_mean_us) | rank(0.5)),
		 interval_us: .[0].interval_us,
		 pause_ms: .[0].pause_ms}))
	} |
	. as $r |
	def flat($c): pick($r.scaling_flatness; $c).median;
	def t($name; $goal; $value; $met; $range): {target: $name, goal: $goal,
		value: $value, range: $range,
		met: (if $value == null then null else $met end)};
	def vs($c; $field; $goal): pick($r.contenders; $c) as $x |
		(if $field == "conn" then [$x.conn_x_baseline, $x.conn_x_range]
		 else [$x.gbit_x_baseline, $x.gbit_x_range] end) as [$v, $rg] |
		t("\($c) \(if $field == "conn" then "conn/s" else "stream" end) vs \($x.baseline)";
		  ">= \($goal)"; $v; $v >= $goal; $rg);
	(paired("contenders"; "veer_tc"; "conn"; "conn_per_s"; .contender == "haproxy") | spread) as $vs_haproxy |
	(paired("contenders"; "veer_tc"; "conn"; "conn_per_s"; .contender == "nginx") | spread) as $vs_nginx |
	# CPU added per connection: veer_tc over a peer, per round.
	def cpu_vs($peer): [$all[] | select(.part == "contenders" and .contender == "veer_tc" and .mode == "conn" and .cpu_us_per_conn != null) | . as $x |
		($all | map(select(.part == "contenders" and .mode == "conn" and .round == $x.round)) ) as $rd |
		($rd | map(select(.contender == "direct"))[0].cpu_us_per_conn) as $d |
		($rd | map(select(.contender == $peer))[0].cpu_us_per_conn) as $p |
		if $d == null or $p == null or ($p - $d) <= 0 then empty
		else ($x.cpu_us_per_conn - $d) / ($p - $d) end] | spread;
	(cpu_vs("haproxy")) as $cpu_haproxy |
	(cpu_vs("nginx")) as $cpu_nginx |
	(cpu_vs("iptables")) as $cpu_ipt |
	(pick($r.scaling_flatness; "veer_tc")) as $flat_veer |
	(pick($r.scaling_flatness; "iptables")) as $flat_ipt |
	.targets = [
		vs("veer_tc"; "conn"; 0.95), vs("veer_tc"; "stream"; 0.95),
		vs("veer_xdp"; "conn"; 0.95), vs("veer_xdp"; "stream"; 0.95),
		vs("veer_cgroup"; "conn"; 0.98), vs("veer_cgroup"; "stream"; 0.98),
		t("veer_tc conn/s vs haproxy"; ">= 3"; $vs_haproxy.median;
		  $vs_haproxy.median >= 3; [$vs_haproxy.min, $vs_haproxy.max]),
		t("veer_tc conn/s vs nginx"; ">= 3"; $vs_nginx.median;
		  $vs_nginx.median >= 3; [$vs_nginx.min, $vs_nginx.max]),
		t("veer_tc CPU added per connection / haproxy'"'"'s"; "<= 0.25";
		  $cpu_haproxy.median; $cpu_haproxy.median <= 0.25;
		  [$cpu_haproxy.min, $cpu_haproxy.max]),
		t("veer_tc CPU added per connection / nginx'"'"'s"; "<= 0.25";
		  $cpu_nginx.median; $cpu_nginx.median <= 0.25;
		  [$cpu_nginx.min, $cpu_nginx.max]),
		t("veer_tc CPU added per connection / iptables'"'"'"; "<= 1";
		  $cpu_ipt.median; $cpu_ipt.median <= 1;
		  [$cpu_ipt.min, $cpu_ipt.max]),
		t("veer_tc conn/s, 10,000 services / 1 service"; ">= 0.95";
		  $flat_veer.median; $flat_veer.median >= 0.95;
		  [$flat_veer.min, $flat_veer.max]),
		t("iptables conn/s, 10,000 services / 1 service"; "(degrades)";
		  $flat_ipt.median; $flat_ipt.median < 0.95;
		  [$flat_ipt.min, $flat_ipt.max]),
		t("veer weight change with 10,000 services (median ms)"; "< 10";
		  (pickn($r.weight_change; "veer_tc"; 10000).median_us | if . == null then null else . / 1000 end);
		  pickn($r.weight_change; "veer_tc"; 10000).median_us < 10000;
		  (pickn($r.weight_change; "veer_tc"; 10000).round_us | if . == null then null else map(. / 1000) end)),
		t("veer weight change with 100,000 services, its own CPU time, user + sys (median ms)"; "< 2";
		  (pickn($r.weight_change; "veer_tc"; 100000).cpu_median_us | if . == null then null else . / 1000 end);
		  pickn($r.weight_change; "veer_tc"; 100000).cpu_median_us < 2000;
		  (pickn($r.weight_change; "veer_tc"; 100000).round_cpu_us | if . == null then null else map(. / 1000) end))
	] + [$r.fleet[] | select(.nodes == 50) |
		(if .p99_ms == "timeout" then $cond[0].fleet_timeout_ms else .p99_ms end) as $v |
		t("fleet: the last of 50 nodes holds a `veer weight --etcd`, p99 of \(.changes) changes (ms)\(if .debounce_ms != null then ", agents'"'"' debounce \(.debounce_ms) ms" else "" end)";
		  "< 1000"; $v; .p99_ms != "timeout" and $v < 1000; null)]
	| .targets |= map(select(.value != null))
' "$RESULTS" >"$OUT/results.json"

# ---- report ---------------------------------------------------------------

# tables_md SECTION: one table (contenders, scaling, weight, targets) as
# markdown; nothing when the run had no such part.
tables_md() {
	jq -r --arg section "$1" '
	def f($x; $d): if $x == null then "-" else ($x * $d | round / $d | tostring) end;
	def split: to_entries | sort_by(.key) | map("\(.key) \(.value)") | join(" / ");
	def pctsplit: (to_entries | map(.value) | add) as $t |
		if ($t // 0) == 0 then "-" else
		(to_entries | sort_by(.key) | map("\(.value * 1000 / $t | round / 10)") | join("/")) end;
	if $section == "contenders" and (.contenders | length) > 0 then
	def rng($r): if $r == null or $r[0] == null or $r[0] == $r[1] then ""
		else " (\(f($r[0]; 100))-\(f($r[1]; 100)))" end;
	"| contender | conn/s | x baseline (range) | p50 us | p99 us | stream Gbit/s | x baseline (range) | split v1/v2 % | errors |",
	"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
	(.contenders[] |
	 "| \(.contender)\(if .baseline == "direct_node" and .contender != "direct_node" then " (vs direct_node)" else "" end) | \(f(.conn_per_s; 1)) | \(f(.conn_x_baseline; 100))\(rng(.conn_x_range)) | \(.p50_us // "-") | \(.p99_us // "-") | \(f(.gbit_per_s; 100)) | \(f(.gbit_x_baseline; 100))\(rng(.gbit_x_range)) | \(.split | pctsplit) | \(.errors) |"),
	"" else empty end,
	if $section == "cpu" and (.contenders | map(select(.cpu.us_per_conn != null)) | length) > 0 then
	def rng($r): if $r.min == null or $r.min == $r.max then ""
		else " (\(f($r.min; 10)) to \(f($r.max; 10)))" end;
	"| contender | busy CPU us / connection | added us / connection (range) | busy CPU s / GB | added ms / GB (range) |",
	"| --- | ---: | ---: | ---: | ---: |",
	(.contenders[] | .cpu as $u |
	 "| \(.contender)\(if .baseline == "direct_node" and .contender != "direct_node" then " (vs direct_node)" else "" end) | \(f($u.us_per_conn; 10)) | \(if .contender == .baseline then "(baseline)" else "\(f($u.added_us_per_conn.median; 10))\(rng($u.added_us_per_conn))" end) | \(f($u.s_per_gb; 1000)) | \(if .contender == .baseline then "(baseline)" else "\(f(($u.added_s_per_gb.median // null) | if . == null then null else . * 1000 end; 1))\(if $u.added_s_per_gb.min == null or $u.added_s_per_gb.min == $u.added_s_per_gb.max then "" else " (\(f($u.added_s_per_gb.min * 1000; 1)) to \(f($u.added_s_per_gb.max * 1000; 1)))" end)" end) |"),
	"" else empty end,
	if $section == "progstats" and (.progstats | length) > 0 then
	"| contender | program | ns per run, median (range) | rounds |",
	"| --- | --- | ---: | ---: |",
	(.progstats[] | .contender as $c | .programs[] |
	 "| \($c) | \(.name) | \(f(.ns_per_run.median; 1)) (\(f(.ns_per_run.min; 1))-\(f(.ns_per_run.max; 1))) | \(.ns_per_run.rounds) |"),
	"",
	(.progstats[] | "\(.contender): \(f(.runs_per_conn.median; 10)) program runs per connection (\(f(.runs_per_conn.min; 10))-\(f(.runs_per_conn.max; 10)))."),
	"" else empty end,
	if $section == "scaling" and (.scaling | length) > 0 then
	"| services | " + ([.scaling[].contender] | unique | map("\(.) conn/s | \(.) p99 us | \(.) Gbit/s") | join(" | ")) + " |",
	"| ---: | " + ([.scaling[].contender] | unique | map("---: | ---: | ---:") | join(" | ")) + " |",
	(.scaling as $s | [$s[].services] | unique[] as $n |
	 "| \($n) | " + ([$s[].contender] | unique | map(. as $c |
		($s | map(select(.contender == $c and .services == $n))[0]) as $x |
		"\(f($x.conn_per_s; 1)) | \($x.p99_us // "-") | \(f($x.gbit_per_s; 100))") | join(" | ")) + " |"),
	"" else empty end,
	if $section == "weight" and (.weight_change | length) > 0 then
	def ms($v): if $v == null then "-" else f($v / 1000; 100) end;
	def rng($r): if $r == null then "" else " (\(ms($r[0]))-\(ms($r[1])))" end;
	"| weight change | services | wall median ms (rounds) | wall p90 ms | wall max ms | CPU median ms (rounds) | CPU p90 ms | samples |",
	"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
	(.weight_change[] | "| \(.contender) | \(.services) | \(ms(.median_us))\(rng(.round_us)) | \(ms(.p90_us)) | \(ms(.max_us)) | \(ms(.cpu_median_us))\(rng(.round_cpu_us)) | \(ms(.cpu_p90_us)) | \(.samples) |"),
	"" else empty end,
	if $section == "fleet" and (.fleet | length) > 0 then
	def ms($v): if $v == null then "-" else "\($v)" end;
	"| nodes | changes | last node p50 ms | p99 ms | max ms | timeouts | goal: p99 | met | median node p50 ms | first node p50 ms | agents'"'"' debounce ms | weight command p50 ms | timing resolution ms: p50, worst |",
	"| ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |",
	(.fleet[] | "| \(.nodes) | \(.changes) | \(ms(.p50_ms)) | \(ms(.p99_ms)) | \(ms(.max_ms)) | \(.timeouts) | < 1000 ms | \(if .p99_ms != "timeout" and .p99_ms != null and .p99_ms < 1000 then "yes" else "**no**" end) | \(ms(.median_node_p50_ms)) | \(ms(.first_p50_ms)) | \(.debounce_ms // "-") | \(ms(.cmd_p50_ms)) | \(.resolution_p50_ms), \(.resolution_ms) |"),
	"" else empty end,
	if $section == "targets" and (.targets | length) > 0 then
	def rng2($r): if $r == null or $r[0] == null then ""
		else " (\(f($r[0]; 100))-\(f($r[1]; 100)))" end;
	"| target | goal | measured: median (range over rounds) | met |",
	"| --- | --- | ---: | --- |",
	(.targets[] | "| \(.target) | \(.goal) | \(f(.value; 100))\(rng2(.range)) | \(if .met then "yes" elif .range != null and .range[1] != null and (.goal | startswith(">=")) and .range[1] >= (.goal | ltrimstr(">= ") | tonumber) then "**no** (the range reaches it)" elif .range != null and .range[0] != null and (.goal | startswith("<=")) and .range[0] <= (.goal | ltrimstr("<= ") | tonumber) then "**no** (the range reaches it)" else "**no**" end) |")
	else empty end
	' "$OUT/results.json"
}
# fleet_md: the "Fleet convergence" section of docs/BENCHMARKS.md.
fleet_md() {
	echo "## Fleet convergence"
	echo
	jq -r '.conditions as $c | .fleet as $f |
	"Part fleet of scripts/bench.sh (run of \($c.date), \($c.cpus) CPUs, kernel \($c.kernel);",
	"fleet mode, issue 16: the goal is p99 under 1 s at 50 nodes). A 3-member",
	"etcd on loopback (\($c.etcd // "etcd")) and N simulated nodes on this machine, as",
	"tests/e2e/test_fleet_nodes.sh runs them (scripts/lib/fleet_nodes.sh): each a",
	"pin root of its own with veer'"'"'s maps (`veer attach --cgroup`, no traffic)",
	"and a node agent, `veer watch --etcd` (debounce \([$f[].debounce_ms] | unique | map(tostring) | join(", ")) ms\(if $c.fleet_debounce_ms == null then ", its default" else "" end)), applying each",
	"new revision to it. Per fleet size (the same fleet, nodes added): \($c.fleet_changes)",
	"`veer weight --etcd` changes of the customers service, alternating v1=10/v2=90",
	"and v1=90/v2=10, the next \($c.fleet_pause_ms) ms after the last node held the previous one.",
	"",
	"Timed: from the weight command'"'"'s exit (the observer waits on its pidfd) to",
	"the moment the last node'"'"'s pinned veer_services map holds the new weights",
	"in both of the service'"'"'s entries (IPv4 and IPv6), CLOCK_MONOTONIC.",
	"`build/veer-fleet-probe converge` reads the maps of the nodes not yet holding",
	"them, two lookups a node, sleeping \($c.fleet_poll_us) us between sweeps; a node is timed at",
	"the first check that sees the weights, late by at most the time since its",
	"check before: the resolution column (median and worst change). The agents,",
	"etcd and the observer all share the machine'"'"'s \($c.cpus) CPUs. Percentiles by",
	"nearest rank\(if $c.fleet_changes < 100 then " (p99 of \($c.fleet_changes) changes is the largest)" else "" end).",
	""' "$OUT/results.json"
	tables_md fleet
}
if [[ -n $SECTION ]]; then
	fleet_md
	exit 0
fi

for section in contenders cpu progstats scaling weight fleet targets; do
	tables_md "$section"
done
# ---- HTTP routing by header (part http): DIR/http.json ---------------------

jq -s '
	def median: sort | if length == 0 then null
		else .[(length / 2 | floor)] end;
	def r3: if . == null then null else (. * 1000 | round / 1000) end;
	def spread: {median: (median | r3), min: (min | r3), max: (max | r3), rounds: length};
	map(select(.part == "http")) as $h |
	def runs($c; $m): [$h[] | select(.contender == $c and .mode == $m and (.error // false) == false)];
	def med($c; $m; $f): [runs($c; $m)[] | .[$f] // empty] | median;
	# Per round: f(contender a) op f(contender b), then median and range.
	def paired($a; $ma; $b; $mb; $f; op):
		[runs($a; $ma)[] | . as $x |
		 (runs($b; $mb) | map(select(.round == $x.round))[0]) as $y |
		 if $y == null or $x[$f] == null or $y[$f] == null then empty
		 else [$x[$f], $y[$f]] | op end] | spread;
	if ($h | length) == 0 then {} else
	{
	  contenders: ([$h[].contender] | unique | map(select(. != "rtt")) | map(. as $c | {
		contender: $c,
		conn_per_s: med($c; "short"; "conn_per_s"),
		p50_us: med($c; "short"; "p50_us"), p99_us: med($c; "short"; "p99_us"),
		ka_req_per_s: med($c; "keepalive"; "req_per_s"),
		ka_p50_us: med($c; "keepalive"; "p50_us"), ka_p99_us: med($c; "keepalive"; "p99_us"),
		first_p50_us: med($c; "first"; "first_p50_us"),
		first_p99_us: med($c; "first"; "first_p99_us"),
		connect_p50_us: med($c; "first"; "connect_p50_us"),
		bulk_gbit_per_s: med($c; "bulk"; "body_gbit_per_s"),
		split: (runs($c; "short") | map(.versions // {}) |
			reduce .[] as $v ({}; reduce ($v | to_entries[]) as $e (.; .[$e.key] += $e.value))),
		errors: ([$h[] | select(.contender == $c) | .errors // 0] | add),
		abandoned: ([$h[] | select(.contender == $c) | .abandoned // 0] | add),
		failed_runs: ([$h[] | select(.contender == $c and .error == true)] | length)})),
	  rtt: {connect_p50_us: med("rtt"; "rtt"; "connect_p50_us"),
		first_p50_us: med("rtt"; "rtt"; "first_p50_us")},
	  vs_haproxy_conn: paired("veer_http"; "short"; "haproxy_http"; "short"; "conn_per_s"; .[0] / .[1]),
	  vs_nginx_conn: paired("veer_http"; "short"; "nginx_http"; "short"; "conn_per_s"; .[0] / .[1]),
	  vs_haproxy_req: paired("veer_http"; "keepalive"; "haproxy_http"; "keepalive"; "req_per_s"; .[0] / .[1]),
	  vs_nginx_req: paired("veer_http"; "keepalive"; "nginx_http"; "keepalive"; "req_per_s"; .[0] / .[1]),
	  vs_l4_conn: paired("veer_http"; "short"; "veer_l4"; "short"; "conn_per_s"; .[0] / .[1]),
	  first_extra_us: paired("veer_http"; "first"; "veer_l4"; "first"; "first_p50_us"; .[0] - .[1]),
	  bulk_vs_l4: paired("veer_http"; "bulk"; "veer_l4"; "bulk"; "body_gbit_per_s"; .[0] / .[1])
	} end
' "$RESULTS" >"$OUT/http.json"

# http_md: the HTTP part's tables as markdown; nothing without that part.
http_md() {
	jq -r '
	def f($x; $d): if $x == null then "-" else ($x * $d | round / $d | tostring) end;
	def pctsplit: (to_entries | map(.value) | add) as $t |
		if ($t // 0) == 0 then "-" else
		(to_entries | sort_by(.key) | map("\(.key) \(.value * 1000 / $t | round / 10)") | join(" / ")) end;
	def rng($s): if $s.median == null then "-" else "\(f($s.median; 100)) (\(f($s.min; 100))-\(f($s.max; 100)))" end;
	def met($s; $ok): if $s.median == null then "-" elif $ok then "yes" else "**no**" end;
	select(.contenders != null) |
	"| contender | short conn/s | p50 us | p99 us | keep-alive req/s | p50 us | p99 us | first response p50 us (1 client) | handshake p50 us | bulk Gbit/s | split % | errors |",
	"| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
	(.contenders[] | "| \(.contender) | \(f(.conn_per_s; 1)) | \(.p50_us // "-") | \(.p99_us // "-") | \(f(.ka_req_per_s; 1)) | \(.ka_p50_us // "-") | \(.ka_p99_us // "-") | \(.first_p50_us // "-") | \(.connect_p50_us // "-") | \(f(.bulk_gbit_per_s; 100)) | \(.split | pctsplit) | \(.errors) |"),
	"",
	"Backend round trip (one client on the node straight to v2): handshake p50 \(.rtt.connect_p50_us // "-") us, whole request p50 \(.rtt.first_p50_us // "-") us.",
	"",
	"| HTTP target | goal | measured: median (range over rounds) | met |",
	"| --- | --- | ---: | --- |",
	"| veer_http conn/s vs haproxy_http | >= 2 | \(rng(.vs_haproxy_conn)) | \(met(.vs_haproxy_conn; .vs_haproxy_conn.median >= 2)) |",
	"| veer_http conn/s vs nginx_http | >= 2 | \(rng(.vs_nginx_conn)) | \(met(.vs_nginx_conn; .vs_nginx_conn.median >= 2)) |",
	"| veer_http keep-alive req/s vs haproxy_http | (context) | \(rng(.vs_haproxy_req)) | - |",
	"| veer_http keep-alive req/s vs nginx_http | (context) | \(rng(.vs_nginx_req)) | - |",
	"| veer_http conn/s vs veer_l4 | (context) | \(rng(.vs_l4_conn)) | - |",
	"| first response, veer_http - veer_l4 (us, p50) | <= one backend round trip (\(.rtt.connect_p50_us // "-") us) | \(rng(.first_extra_us)) | \(met(.first_extra_us; .rtt.connect_p50_us != null and .first_extra_us.median <= .rtt.connect_p50_us)) |",
	"| bulk Gbit/s, bound late / L4 | >= 0.9 | \(rng(.bulk_vs_l4)) | \(met(.bulk_vs_l4; .bulk_vs_l4.median >= 0.9)) |",
	""' "$OUT/http.json"
}
if jq -e '.contenders != null' "$OUT/http.json" >/dev/null; then
	echo "HTTP routing by header:"
	http_md
fi
echo "results: $OUT/results.json (all runs: $RESULTS)"

# Plots of the scaling part: conn/s and p99 against the number of services.
plots=()
plots_cpu=()
TITLE_WHERE=$(jq -r '"\(.cpus) CPUs, kernel \(.kernel)"' "$OUT/conditions.json")
if jq -e '.scaling | length > 0' "$OUT/results.json" >/dev/null; then
	mapfile -t SCALE_CONTENDERS < <(jq -r '[.scaling[].contender] | unique[]' "$OUT/results.json")
	for c in "${SCALE_CONTENDERS[@]}"; do
		jq -r --arg c "$c" '.scaling[] | select(.contender == $c) |
			"\(.services) \(.conn_per_s // "NaN") \(.p99_us // "NaN")"' \
			"$OUT/results.json" >"$OUT/scaling-$c.dat"
	done
	for what in conn p99; do
		col=2 label="new connections per second (median)"
		[[ $what == p99 ]] && col=3 label="p99 connection latency, us (median)"
		plot=""
		for c in "${SCALE_CONTENDERS[@]}"; do
			plot+="${plot:+, }'$OUT/scaling-$c.dat' using 1:$col with linespoints lw 2 title '$c'"
		done
		gnuplot <<EOF
set terminal pngcairo noenhanced size 800,480 font ",10"
set output '$OUT/scaling-$what.png'
set logscale x
set xlabel 'services configured'
set ylabel '$label'
set yrange [0:*]
set key bottom left
set grid
set title 'veer vs iptables vs nftables, $TITLE_WHERE'
plot $plot
EOF
		plots+=("$OUT/scaling-$what.png")
	done
fi

# Bars: CPU added per connection by each contender (median, range).
if jq -e '[.contenders[] | select(.contender != .baseline and .cpu.added_us_per_conn.median != null)] | length > 0' \
	"$OUT/results.json" >/dev/null; then
	jq -r '.contenders[] | select(.contender != .baseline and .cpu.added_us_per_conn.median != null) |
		"\(.contender) \(.cpu.added_us_per_conn.median) \(.cpu.added_us_per_conn.min) \(.cpu.added_us_per_conn.max)"' \
		"$OUT/results.json" >"$OUT/cpu-added.dat"
	gnuplot <<EOF
set terminal pngcairo noenhanced size 800,480 font ",10"
set output '$OUT/cpu-added.png'
set style fill solid 0.6
set boxwidth 0.6
set ylabel 'busy CPU added per connection, us (median, range over rounds)'
set xtics rotate by -30
set grid ytics
set key off
set title 'What each splitter adds per short connection, $TITLE_WHERE'
plot '$OUT/cpu-added.dat' using 0:2:xtic(1) with boxes, '' using 0:2:3:4 with yerrorbars lw 2 pt 0
EOF
	plots_cpu=("$OUT/cpu-added.png")
fi

((DOCS)) || exit 0
for p in "${plots_cpu[@]}"; do
	cp "$p" "$ROOT/docs/bench/"
done
# docs/BENCHMARKS.md (and its plots), regenerated from this run.
mkdir -p "$ROOT/docs/bench"
for p in "${plots[@]}"; do
	cp "$p" "$ROOT/docs/bench/"
done
{
	jq -r '.conditions | "# Benchmarks\n",
	"Generated by `make bench` (scripts/bench.sh) on \(.date), kernel \(.kernel),",
	"\(.cpus) CPUs (\(.cpu)); every run is in `build/bench/results.jsonl`,",
	"the medians below in `build/bench/results.json`.\n",
	"Conditions: client, node, backends and load generator share these \(.cpus)",
	"CPUs (four network namespaces joined by veth pairs). Short connections:",
	"\(.concurrency) concurrent slots, each connecting, sending 64 bytes, reading",
	"the backend'"'"'s reply and closing; streams: \(.streams) long echo streams. Every",
	"run lasts \(.duration_ms) ms (the first 10 % is warm-up and not counted);",
	"contenders run interleaved, \(.rounds) rounds (scaling and weight changes:",
	"\(.scale_rounds) rounds); figures are medians over rounds. The machine is",
	"shared and small: compare ratios measured in the same run, not absolute",
	"figures.\n",
	"Peers: \(.iptables); \(.nft); \(.haproxy); \(.nginx).\n"' "$OUT/results.json"
	echo "## Contenders"
	echo
	echo "\`direct\` is the client splitting 80/20 over the two backends itself,"
	echo "with no middle box: the topology's limit for the node-side contenders."
	echo "\`direct_node\` does the same from a node process: the baseline of"
	echo "\`veer_cgroup\`, whose clients are node processes."
	echo
	tables_md contenders
	echo "## What the node pays: CPU per connection and per GB"
	echo
	echo "The machine's busy CPU time (all CPUs: user, nice, system, irq, softirq;"
	echo "from /proc/stat, read by the load generator at the start and end of"
	echo "the measured window) divided by the connections completed in it"
	echo "(short connections) or by the payload GB echoed back (streams). Client,"
	echo "backends and load generator are in every figure alike; the added"
	echo "column subtracts what the baseline paid in the same round, which"
	echo "leaves what the splitter costs. Median over rounds, range in"
	echo "parentheses. Anything else running on the machine shows up here too:"
	echo "run it on a quiet machine."
	echo
	tables_md cpu
	[[ -s $OUT/cpu-added.png ]] && { echo "![cpu-added](bench/cpu-added.png)"; echo; }
	echo "### veer's programs in real traffic"
	echo
	echo "One more short-connection run per round for veer_tc and veer_xdp, with"
	echo "kernel.bpf_stats_enabled on (the kernel times every program run; off"
	echo "in the other runs, since timing costs two clock reads a run): run time"
	echo "over runs of each program attached to the node's client-side device."
	echo "Compare with \`make microbench\` (BPF_PROG_TEST_RUN on crafted packets)."
	echo
	tables_md progstats
	echo "## Scaling with the number of services"
	echo
	echo "The measured service plus decoys; iptables and nftables in kube-proxy's"
	echo "layouts (the measured service in the middle of KUBE-SERVICES)."
	echo
	tables_md scaling
	for p in "${plots[@]}"; do
		echo "![$(basename "$p" .png)](bench/$(basename "$p"))"
		echo
	done
	echo "## Changing one weight"
	echo
	echo "Wall time of one change, from spawn to exit, and the CPU time (user +"
	echo "sys) the kernel accounted to the changing process alone (wait4), each"
	echo "change followed by a check that the new weight is what the node now"
	echo "holds. In parentheses: the lowest and highest median of a round."
	echo
	tables_md weight
	if jq -e '.fleet | length > 0' "$OUT/results.json" >/dev/null; then
		fleet_md
	fi
	if [[ -s $OUT/crosscheck.json ]]; then
		echo "## Cross-check of the load generator"
		echo
		echo "scripts/bench-crosscheck.sh (part of \`make bench\`): veer-loadgen"
		echo "against wrk (a connection per request, the same nginx, the same"
		echo "concurrency) and against iperf3 --bidir (per-direction rate; the"
		echo "servers differ: veer-testsrv echoes, iperf3 sinks and sources), with no"
		echo "splitter on the path; medians of interleaved rounds."
		echo
		jq -r '"| measure | real tool | veer-loadgen | loadgen / tool |",
			"| --- | ---: | ---: | ---: |",
			"| conn/s (wrk) | \(.conn.wrk.conn_per_s | round) | \(.conn.loadgen.conn_per_s | round) | \(.conn.ratio) |",
			"| stream Gbit/s (iperf3 --bidir, per direction) | \(.stream.iperf3_bidir.gbit_per_s * 100 | round / 100) | \(.stream.loadgen.gbit_per_s) | \(.stream.ratio) |",
			"",
			"iperf3 --bidir of that median round: forward \(.stream.iperf3_bidir.fwd * 100 | round / 100), reverse \(.stream.iperf3_bidir.rev * 100 | round / 100) Gbit/s; iperf3 one way (reference, bytes cross once): \(.stream.iperf3_oneway.gbit_per_s * 100 | round / 100) Gbit/s.",
			""' "$OUT/crosscheck.json"
	fi
	if jq -e '.contenders != null' "$OUT/http.json" >/dev/null; then
		echo "## HTTP routing by header"
		echo
		jq -r '.conditions | "Part http of scripts/bench.sh: the shop service of the HTTP e2e tests (Istio",
		"header and uri rules, then 80/20) on veer-httpsrv backends; every request",
		"carries \"X-group: test\", which a rule sends to v2. `veer_l4` is veer with a",
		"service without rules sending everything to the same v2 (the L4 path).",
		"HAProxy: mode http, use_backend on hdr(user-agent)/hdr(x-group) ACLs;",
		"nginx: proxy_pass to a map of the two headers (upstream keep-alive on).",
		"Short: \(.concurrency) clients, one HTTP/1.0 request per connection",
		"(the server closes). Keep-alive: \(.concurrency) clients, \(.http_ka_reqs) requests per",
		"connection. First response: one client at a time, connect() to the last",
		"byte. Bulk: \(.streams) keep-alive connections fetching \(.http_bulk_path) over and over.",
		"\(.http_rounds) rounds of \(.http_duration_ms) ms runs, medians over rounds.\n"' "$OUT/results.json"
		http_md
	fi
	echo "## Targets"
	echo
	tables_md targets
	echo
	cat "$ROOT/docs/bench/NOTES.md"
} >"$ROOT/docs/BENCHMARKS.md"
echo "wrote docs/BENCHMARKS.md"

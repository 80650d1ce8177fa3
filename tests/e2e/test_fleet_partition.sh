#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fleet mode (issue 16) where test_fleet_nodes.sh stops: one node cut off
# on its own, a burst of changes, and real traffic through two nodes
# that follow etcd. Three nodes against a 3-member etcd on loopback
# (scripts/lib/etcd.sh):
#
# - node0 is the lab's node (scripts/lib/lab.sh: veer attached in the mode
#   under test, client -> node -> backends v1/v2); its agent runs in the
#   node's network namespace and reaches etcd over a veth pair of its own
#   (198.18/15, the benchmark range; etcd listens there too), so the test
#   can partition that one node: an nftables drop rule at each end of the
#   pair (our input from it, NS_NODE's input from it), every packet
#   either way silently lost, no reset, no refusal, no ICMP, ARP left
#   alone;
# - node1 is a scripts/lib/fleet_nodes.sh simulated node (maps and a
#   store, its agent on loopback);
# - node2 is a second lab, built by the same lab.sh functions under
#   other names (lab_swap: its own client, node and backend namespaces,
#   pin root and cgroup, veer attached in the mode under test), its
#   agent on loopback.
# node1 and node2 are not partitioned.
#
# Checked:
# - the customers scenario applied with `veer apply --etcd`, the agents
#   started (default 200 ms debounce), `veer weight --etcd` 70/30: every
#   node holds it, and N connections through node0, and N through node2,
#   split 70/30 within the lab's binomial bound (split_ok);
# - node0 partitioned: two `veer weight --etcd` changes (40/60, 20/80)
#   reach node1 and node2; node0's maps keep 70/30 and its traffic still
#   splits 70/30 while node2's splits 20/80;
#   `veer fleet status` exits 3 with node0 behind or silent and the
#   others ok; node0's agent notices (one line: "cannot report to etcd"
#   or "etcd: ... stays in force"; the time from the cut is printed),
#   and by then none of its connections to etcd established at the cut
#   (the watch stream, the report's kept-alive one) is established any
#   more: the agent gave them up itself (TCP keepalive would take 23 s);
# - etcd compacted while node0 is cut off; healed: node0's watch from the
#   revision it holds is refused as compacted, it reads the configuration
#   whole and catches up to the last revision within 20 s (the time
#   printed), its traffic splits as the last weights say, and fleet
#   status exits 0 with every node ok;
# - 20 `veer weight --etcd` calls back to back: every node ends on the
#   last weights, and each agent applied far fewer than 20 versions (its
#   "applied revision" lines, one per version applied, counted: at most
#   5); traffic through node0 and node2 splits as the last weights say.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
. "$LAB_ROOT/scripts/lib/etcd.sh"
. "$LAB_ROOT/scripts/lib/fleet_nodes.sh"

CUST=$LAB_ROOT/examples/customers
CUST_VIP=10.96.0.20
NCONN=${VEER_PARTITION_CONNS:-400}
BURST=20
DEBOUNCE_MS=200 # veer watch's default (cmd_watch.c)

t_begin fleet_partition
lab_init jq curl etcd etcdctl nft

# The partition: a table of our own in each namespace (NS_NODE's goes
# with it), deleted whole on the heal.
CUT_TABLE=veer_e2e_cut_$$
CUT=0
cut_rules() {
	cat <<EOF
table ip $CUT_TABLE {
	chain in {
		type filter hook input priority -300; policy accept;
		iifname "$1" drop
	}
}
EOF
}
partition_cut() {
	CUT=1
	cut_rules "$HUB_DEV" | nft -f -
	cut_rules etcd0 | lab_exec "$NS_NODE" nft -f -
}
partition_heal() {
	nft delete table ip "$CUT_TABLE"
	lab_exec "$NS_NODE" nft delete table ip "$CUT_TABLE"
	CUT=0
}

# shellcheck disable=SC2317 # the EXIT trap
partition_cleanup() {
	local rc=$?
	set +e
	((CUT)) && nft delete table ip "$CUT_TABLE" 2>/dev/null
	fleet_nodes_cleanup
	lab_b_cleanup
	(exit "$rc")
	lab_cleanup # kills node0's agent and etcd, deletes the namespaces
}
trap partition_cleanup EXIT

# lab_swap: the lab's globals (namespaces, pin root, cgroup) exchanged
# with lab B's, so that lab.sh's functions (lab_up_variant, veer,
# lab_client, ...) work on lab B until the next lab_swap. Lab B's
# namespaces are LAB_ID-b*, its pin root VEER_PIN_ROOT-b, its cgroup (in
# cgroup mode) veer-e2e-PID-b.
B_NS=("${LAB_ID}b-cl" "${LAB_ID}b-nd" "${LAB_ID}b-v1" "${LAB_ID}b-v2")
B_PIN=$VEER_PIN_ROOT-b
B_CGROUP=
B_CGROUP_NAME=veer-e2e-$$-b
B_ACTIVE=0
B_UP=0
lab_swap() {
	local t=("$NS_CLIENT" "$NS_NODE" "$NS_V1" "$NS_V2") u
	NS_CLIENT=${B_NS[0]} NS_NODE=${B_NS[1]} NS_V1=${B_NS[2]} NS_V2=${B_NS[3]}
	B_NS=("${t[@]}")
	LAB_NAMESPACES=("$NS_CLIENT" "$NS_NODE" "$NS_V1" "$NS_V2")
	u=$VEER_PIN_ROOT VEER_PIN_ROOT=$B_PIN B_PIN=$u
	u=$LAB_CGROUP LAB_CGROUP=$B_CGROUP B_CGROUP=$u
	u=$LAB_CGROUP_NAME LAB_CGROUP_NAME=$B_CGROUP_NAME B_CGROUP_NAME=$u
	B_ACTIVE=$((1 - B_ACTIVE))
}
# shellcheck disable=SC2317 # the EXIT trap's
# lab_b_cleanup: lab B detached, its cgroup, namespaces and pin root
# removed (its backends are in LAB_PIDS: lab_cleanup kills them).
lab_b_cleanup() {
	local ns
	((B_UP)) || return 0
	((B_ACTIVE)) || lab_swap
	if [[ -n $LAB_CGROUP && -d $LAB_CGROUP ]]; then
		veer detach --cgroup "$LAB_CGROUP" >/dev/null 2>&1 ||
			lab_log "lab B: veer detach --cgroup $LAB_CGROUP failed"
	fi
	[[ -e /run/netns/$NS_NODE ]] && veer detach --all >/dev/null 2>&1
	[[ -n $LAB_CGROUP ]] && _lab_cgroup_remove
	for ns in "${LAB_NAMESPACES[@]}"; do
		[[ -e /run/netns/$ns ]] && ip netns del "$ns"
	done
	[[ -e $VEER_PIN_ROOT ]] && rm -rf "$VEER_PIN_ROOT"
	B_UP=0
	lab_swap
}

lab_up_variant
lab_start_backends
lab_veer_attach
# Lab B, then back to the lab's own.
lab_swap
B_UP=1
lab_up_variant
lab_start_backends
lab_veer_attach
lab_swap

# node0's way to etcd: a veth pair, NS_NODE's end "etcd0" and ours
# LAB_ID-et, a /30 of 198.18.0.0/15 chosen by PID (checked free). It goes
# with NS_NODE.
idx=$(($$ % 32768))
net=198.$((18 + idx / 16384)).$(((idx % 16384) / 64)).$(((idx % 64) * 4))
HUB=${net%.*}.$((${net##*.} + 1))
LEAF=${net%.*}.$((${net##*.} + 2))
HUB_DEV=${LAB_ID}-et
[[ -z $(ip -o addr show to "$HUB/30") ]] || lab_die "$HUB/30 is in use here"
ip -n "$NS_NODE" link add etcd0 type veth peer name "$HUB_DEV" netns 1
ip addr add "$HUB/30" dev "$HUB_DEV"
ip link set "$HUB_DEV" up
ip -n "$NS_NODE" addr add "$LEAF/30" dev etcd0
ip -n "$NS_NODE" link set etcd0 up

# shellcheck disable=SC2034 # read by etcd_cluster_start
ETCD_EXTRA_HOSTS=$HUB
etcd_cluster_start "$LAB_TMP/etcd"
EP=$ETCD_ENDPOINTS
EP0=${EP//127.0.0.1/$HUB}
CL=p$$
# shellcheck disable=SC2317 # called through lab_run
fleet() { "$VEER_BIN" "$@" --etcd "$EP" --cluster "$CL"; }

fleet_nodes_add 1 # node1; node0 is the lab's, node2 lab B's

# node0's agent, in NS_NODE (LAB_PIDS: lab_cleanup stops it).
lab_bg "$NS_NODE" "$LAB_TMP/agent-0.log" "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
	watch --etcd "$EP0" --cluster "$CL" --node node0
# shellcheck disable=SC2034 # read as ${!pid} at the end
AGENT0=$LAB_BG_PID

pin_of() {
	case $1 in
	0) echo "$VEER_PIN_ROOT" ;;
	1) echo "${FLEET_PIN[1]}" ;;
	2) echo "$B_PIN" ;;
	esac
}
# node_weights I: "v1=W v2=W" of every customers entry of node I's maps.
node_weights() {
	"$VEER_BIN" --pin-root "$(pin_of "$1")" get -o json 2>/dev/null | jq -r '.services[] |
		select(.name | startswith("customers")) |
		[.subsets[] | "\(.name)=\(.weight)"] | sort | join(" ")' 2>/dev/null |
		sort -u
}
node_generation() {
	awk '$1 == "generation" { print $2 }' \
		"$VEER_STATE_DIR/pins$(pin_of "$1")/watch.state" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called through wait_until
_node_at() { [[ $(node_weights "$1") == "$2" && $(node_generation "$1") == "$3" ]]; }
# shellcheck disable=SC2317 # called through wait_until
_nodes_at() {
	local w=$1 rev=$2 i
	shift 2
	for i in "$@"; do _node_at "$i" "$w" "$rev" || return 1; done
}
weights_desc() {
	local i s=
	for i in 0 1 2; do s+="node$i: $(node_weights "$i") at $(node_generation "$i"); "; done
	echo "$s"
}
revision_of() { sed -n "s/^cluster $CL: revision \([0-9]*\)$/\1/p" "$1"; }
# applied_count I: versions node I's agent applied (one log line each).
applied_count() { grep -c 'veer: watch: applied revision [0-9]*$' "$LAB_TMP/agent-$1.log" || true; }

# weight V1 V2: veer weight --etcd; REV its revision (dies if refused).
weight() {
	lab_run fleet weight customers "v1=$1" "v2=$2"
	REV=$(revision_of "$VOUT")
	if ((VRC != 0)) || [[ -z $REV ]]; then
		lab_die "weight --etcd $1/$2: exit $VRC $(oneline "$VERR")"
	fi
}

# traffic DESC NODE V1: NCONN connections to customers through NODE (0:
# the lab's node, 2: lab B's; each in the mode under test) split as v1=V1
# says.
traffic() {
	local out=$LAB_TMP/burst-$2.out
	(($2 == 2)) && lab_swap
	count_burst_to "$CUST_VIP" 80 "$NCONN" "$out"
	(($2 == 2)) && lab_swap
	if split_ok "$out" "$NCONN" "$3"; then
		t_pass "$1: $NCONN connections through node$2 split as v1=$3: $SPLIT_DESC"
	else
		t_fail "$1: $NCONN connections through node$2, v1=$3 wanted: $SPLIT_DESC"
	fi
}

# shellcheck disable=SC2317 # called through wait_until
_status() {
	STATUS_RC=0
	fleet fleet status >"$LAB_TMP/status.out" 2>&1 || STATUS_RC=$?
	[[ $STATUS_RC == "$1" ]] || return 1
	[[ -z ${2:-} ]] || grep -Eq "$2" "$LAB_TMP/status.out"
}
# status_row NODE: "APPLIED LAG STATE" of NODE in the last status.
status_row() { awk -v n="$1" '$1 == n { print $2, $3, $4 }' "$LAB_TMP/status.out"; }

# ---- the configuration, the agents, a first change --------------------------

lab_run fleet apply -f "$CUST/service.yaml" -f "$CUST/destinationrule.yaml" -f "$CUST/vs-canary-90-10.yaml"
((VRC == 0)) || lab_die "apply --etcd: $(oneline "$VERR")"
fleet_agent_start 1 "$EP" "$CL"
# node2's agent, lab B's pin root (LAB_PIDS: lab_cleanup stops it).
"$VEER_BIN" --pin-root "$B_PIN" watch --etcd "$EP" --cluster "$CL" --node node2 \
	>>"$LAB_TMP/agent-2.log" 2>&1 &
AGENT2=$!
LAB_PIDS+=("$AGENT2")
weight 70 30
if wait_until 10000 _nodes_at "v1=70 v2=30" "$REV" 0 1 2; then
	t_pass "weight --etcd 70/30: nodes 0-2 hold it at revision $REV"
else
	t_fail "weight 70/30: $(weights_desc) $(oneline "$LAB_TMP/agent-0.log")"
fi
traffic "70/30 through etcd" 0 70
traffic "70/30 through etcd" 2 70
R0=$REV

# ---- node0 partitioned ------------------------------------------------------

# The agent's connections to etcd (its watch stream, its kept-alive
# report connection): "local-address:port" of each established one.
agent_conns() { lab_exec "$NS_NODE" ss -Htn state established "dst $HUB" | awk '{ print $3 }' | sort; }
# shellcheck disable=SC2317 # called through wait_until
_agent_connected() { [[ -n $(agent_conns) ]]; }
wait_until 5000 _agent_connected || true
partition_cut
CUT_AT=$(now_ms)
OPEN=$(agent_conns)
weight 40 60
weight 20 80
LAST=$REV
if wait_until 10000 _nodes_at "v1=20 v2=80" "$LAST" 1 2; then
	t_pass "node0 partitioned: two changes reach node1 and node2 (revision $LAST, $(($(now_ms) - CUT_AT)) ms after the cut)"
else
	t_fail "partitioned: $(weights_desc)"
fi
if [[ $(node_weights 0) == "v1=70 v2=30" && $(node_generation 0) == "$R0" ]]; then
	t_pass "node0 partitioned: its maps keep v1=70 v2=30 (revision $R0)"
else
	t_fail "node0 changed while partitioned: $(weights_desc)"
fi
traffic "node0 partitioned, still serving its last configuration" 0 70
traffic "node0 partitioned, node2 on the last weights" 2 20
# shellcheck disable=SC2317 # called through wait_until
_cut_status() {
	_status 3 "^node0 +$R0 +[0-9]+ +(behind|silent) " &&
		[[ $(status_row node1) == "$LAST 0 ok" && $(status_row node2) == "$LAST 0 ok" ]]
}
if wait_until 10000 _cut_status; then
	t_pass "fleet status while node0 is cut off: exit 3, node0 '$(status_row node0)', node1 and node2 ok; $(tail -n 1 "$LAB_TMP/status.out")"
else
	t_fail "fleet status while partitioned: exit $STATUS_RC: $(oneline "$LAB_TMP/status.out")"
fi
cat "$LAB_TMP/status.out" >&2
# Its agent says so once: a report that fails ("cannot report"), or a
# watch that cannot be set up again ("etcd: ... stays in force").
DOWN_RE='veer: watch: (cannot report to etcd|etcd: .*stays in force)'
# shellcheck disable=SC2317 # called through wait_until
_said_down() { grep -Eq "$DOWN_RE" "$LAB_TMP/agent-0.log"; }
if wait_until 20000 _said_down; then
	t_pass "node0's agent notices the partition $(($(now_ms) - CUT_AT)) ms after the cut: $(grep -Em1 "$DOWN_RE" "$LAB_TMP/agent-0.log" | cut -c1-160)..."
else
	t_fail "node0's agent did not notice the partition within 20 s: $(oneline "$LAB_TMP/agent-0.log" | tail -c 600)"
fi
# The streams open at the cut were given up by the agent itself (TCP's
# keepalive would take 5 + 9 * 2 s): none of them is established now.
LEFT=$(comm -12 <(echo "$OPEN") <(agent_conns))
if [[ -n $OPEN && -z $LEFT ]]; then
	t_pass "the agent's connections to etcd at the cut ($(echo "$OPEN" | paste -sd ' ')) given up $(($(now_ms) - CUT_AT)) ms after it: none left established"
else
	t_fail "the agent's connections at the cut: '$(echo "$OPEN" | paste -sd ' ')', still established: '$(echo "$LEFT" | paste -sd ' ')'"
fi

# The changes node0 missed compacted away: on the heal its watch from
# the revision it holds is refused, and it reads the whole again.
COMPACT_AT=$(etcdctl_v3 get / --prefix --keys-only -w json | jq -r '.header.revision')
etcdctl_v3 compact "$COMPACT_AT" >/dev/null

# ---- healed -----------------------------------------------------------------

partition_heal
HEAL=$(now_ms)
RESYNC_RE='veer: watch: revision [0-9]+ was compacted \(oldest kept: [0-9]+\): reading it all again'
if wait_until 20000 _nodes_at "v1=20 v2=80" "$LAST" 0 &&
	grep -Eq "$RESYNC_RE" "$LAB_TMP/agent-0.log"; then
	t_pass "healed: node0 catches up to revision $LAST in $(($(now_ms) - HEAL)) ms (partitioned $((HEAL - CUT_AT)) ms), the changes it missed compacted away: $(grep -Em1 "$RESYNC_RE" "$LAB_TMP/agent-0.log" | cut -c1-140)"
else
	t_fail "healed: node0 not at revision $LAST 20 s later: $(weights_desc) $(oneline "$LAB_TMP/agent-0.log" | tail -c 800)"
fi
traffic "node0 healed" 0 20
if wait_until 10000 _status 0 "^3 nodes: 3 ok$" &&
	[[ $(grep -Ec "^node[012] +$LAST +0 +ok " "$LAB_TMP/status.out") == 3 ]]; then
	t_pass "fleet status after the heal: exit 0, nodes 0-2 ok at revision $LAST"
else
	t_fail "fleet status after the heal: exit $STATUS_RC: $(oneline "$LAB_TMP/status.out")"
fi

# ---- a burst of changes -----------------------------------------------------

for i in 0 1 2; do BEFORE[i]=$(applied_count "$i"); done
T0=$(now_ms)
for ((k = 1; k <= BURST; k++)); do weight $((k * 3)) $((100 - k * 3)); done
BURST_MS=$(($(now_ms) - T0))
W="v1=$((BURST * 3)) v2=$((100 - BURST * 3))"
if wait_until 10000 _nodes_at "$W" "$REV" 0 1 2; then
	desc=
	ok=1
	# A version is applied a debounce after the last change before it
	# reached the agent: with calls as slow as a debounce (an etcd fsync
	# stall) each may be one, so the bound grows with the calls' own
	# pace; BURST / 4 leaves room for the watch delivering a fast burst
	# with gaps the calls did not have.
	most=$((1 + BURST_MS / DEBOUNCE_MS))
	((most >= BURST / 4)) || most=$((BURST / 4))
	((most < BURST)) || most=$BURST
	for i in 0 1 2; do
		n=$(($(applied_count "$i") - BEFORE[i]))
		desc+="node$i $n, "
		((n >= 1 && n <= most)) || ok=0
	done
	if ((ok)); then
		t_pass "$BURST weight --etcd calls back to back ($BURST_MS ms): every node ends on $W at revision $REV; versions applied: ${desc%, } (at most $most with a $DEBOUNCE_MS ms debounce)"
	else
		t_fail "$BURST changes in $BURST_MS ms: versions applied ${desc%, } (want 1..$most each)"
	fi
else
	t_fail "$BURST changes: not every node on $W at $REV: $(weights_desc)"
fi
traffic "after the burst" 0 $((BURST * 3))
traffic "after the burst" 2 $((BURST * 3))

fleet_agent_stop 1 || t_fail "node1's agent: SIGTERM, exit $?"
for i in 0 2; do
	pid=AGENT$i
	kill -TERM "${!pid}"
	wait "${!pid}" && arc=0 || arc=$?
	((arc == 0)) || t_fail "node$i's agent: SIGTERM, exit $arc"
done
t_end

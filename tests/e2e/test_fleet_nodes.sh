#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fleet mode's node side (issue 16, part 3): `veer watch --etcd` on 10
# simulated nodes in the tc, tx-on variant and 3 in the others (the
# nodes carry no traffic, so the variants differ in nothing else; ten
# take some 40 s; VEER_FLEET_NODES sets it), each its own pin root (attached to a cgroup of its
# own: maps and a store, no traffic; scripts/lib/fleet_nodes.sh, which
# the fleet benchmark shares), against a 3-member etcd on loopback
# (scripts/lib/etcd.sh):
#
# - the customers scenario applied with `veer apply --etcd`, then the
#   agents started: each node's maps hold 90/10 (the full read);
# - one `veer weight --etcd` and every node's maps hold the new weights;
# - etcd member 0 killed: a further weight change still reaches all;
# - node 3's agent stopped (SIGTERM: exit 0, its maps keep the weights),
#   two weight changes, the agent started again: it catches up to the
#   last revision (its log says it resumed);
# - a bad revision (a VirtualService routing to an undefined subset,
#   put into etcd by hand): each node refuses it in one line, keeps the
#   last good weights, and `veer fleet status` shows each node's error;
#   the next good change clears it;
# - etcd compacted at a revision every agent has watched past (the
#   agents watch on from etcd's revision while the objects stay as they
#   hold them): no agent reads the whole configuration again; a further
#   change converges;
# - etcd wholly down (members 1 and 2 killed too): each agent says so in
#   one line and keeps the weights; the members started again, the next
#   change converges and each agent says etcd answers again;
# - Pod customers-v2 pruned from the fleet (apply --etcd --prune): it
#   goes from every node's store;
# - at the end `veer fleet status` lists every node ok at the
#   configuration's revision.
#
# Not here: real traffic through the nodes (test_watch.sh covers the
# apply path with traffic), a partition of one node (etcd wholly down is
# the same to the node).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
. "$LAB_ROOT/scripts/lib/etcd.sh"
. "$LAB_ROOT/scripts/lib/fleet_nodes.sh"

CUST=$LAB_ROOT/examples/customers
N=3
[[ $LAB_MODE == tc && ${VEER_E2E_TX:-on} == on ]] && N=10
N=${VEER_FLEET_NODES:-$N}

t_begin fleet_nodes
lab_init jq curl etcd etcdctl

# The nodes (scripts/lib/fleet_nodes.sh): FLEET_PIN, FLEET_AGENT by node.
# Their agents, pins and cgroups go before the lab's own cleanup.
# shellcheck disable=SC2317 # the EXIT trap
nodes_cleanup() {
	local rc=$?
	set +e
	fleet_nodes_cleanup
	(exit "$rc")
	lab_cleanup
}
trap nodes_cleanup EXIT

etcd_cluster_start "$LAB_TMP/etcd"
EP=$ETCD_ENDPOINTS
CL=n$$
# shellcheck disable=SC2317 # called through lab_run
fleet() { "$VEER_BIN" "$@" --etcd "$EP" --cluster "$CL"; }

fleet_nodes_add "$N"

# start_agent I: node I's veer watch --etcd (FLEET_AGENT[I]).
start_agent() { fleet_agent_start "$1" "$EP" "$CL" --debounce 50; }

# node_weights I: "v1=W v2=W" of every customers entry of node I's maps
# (one line when the IPv4 and IPv6 entries agree).
node_weights() {
	fleet_veer "$1" get -o json 2>/dev/null | jq -r '.services[] |
		select(.name | startswith("customers")) |
		[.subsets[] | "\(.name)=\(.weight)"] | sort | join(" ")' 2>/dev/null |
		sort -u
}
# shellcheck disable=SC2317 # called through wait_until
_all_hold() {
	local i
	for ((i = 1; i <= N; i++)); do
		[[ $(node_weights "$i") == "$1" ]] || return 1
	done
}
# A node's applied revision, from its state file (veer status's source).
node_generation() {
	awk '$1 == "generation" { print $2 }' \
		"$VEER_STATE_DIR/pins${FLEET_PIN[$1]}/watch.state" 2>/dev/null || true
}
# shellcheck disable=SC2317 # called through wait_until
_all_at() {
	local i
	for ((i = 1; i <= N; i++)); do
		[[ $(node_generation "$i") == "$1" ]] || return 1
	done
}
revision_of() { sed -n "s/^cluster $CL: revision \([0-9]*\)$/\1/p" "$1"; }
weights_desc() {
	local i s=
	for ((i = 1; i <= N; i++)); do s+="node$i: $(node_weights "$i"); "; done
	echo "$s"
}

# fleet_weight DESC V1 V2: veer weight --etcd, then every node's maps.
fleet_weight() {
	local t0 rev
	t0=$(now_ms)
	lab_run fleet weight customers "v1=$2" "v2=$3"
	rev=$(revision_of "$VOUT")
	if ((VRC == 0)) && [[ -n $rev ]] && wait_until 10000 _all_hold "v1=$2 v2=$3" &&
		wait_until 5000 _all_at "$rev"; then
		t_pass "$1: all $N nodes hold v1=$2 v2=$3 at revision $rev ($(($(now_ms) - t0)) ms after the call)"
	else
		t_fail "$1: weight exit $VRC '$(oneline "$VERR")'; $(weights_desc)"
	fi
	REV=$rev
}

# ---- the configuration, then the agents' first read -----------------------

lab_run fleet apply -f "$CUST/service.yaml" -f "$CUST/destinationrule.yaml" -f "$CUST/vs-canary-90-10.yaml"
REV=$(revision_of "$VOUT")
if ((VRC != 0)) || [[ -z $REV ]]; then lab_die "apply --etcd: $(oneline "$VERR")"; fi
for ((i = 1; i <= N; i++)); do start_agent "$i"; done
if wait_until 10000 _all_hold "v1=90 v2=10" && wait_until 5000 _all_at "$REV"; then
	t_pass "started on an applied fleet: all $N nodes hold v1=90 v2=10 at revision $REV"
else
	t_fail "first read: $(weights_desc) $(oneline "$LAB_TMP/agent-1.log")"
fi

fleet_weight "one weight --etcd" 70 30

# ---- an etcd member down --------------------------------------------------

etcd_member_kill 0
wait_until 10000 etcdctl_v3 endpoint health >/dev/null 2>&1 ||
	t_fail "the two members left have no quorum"
fleet_weight "member 0 killed" 40 60

# ---- a node agent stopped, the fleet moves on, the agent back -------------

fleet_agent_stop 3 && arc=0 || arc=$?
stopped_at=$(node_generation 3)
if ((arc == 0)) && [[ $(node_weights 3) == "v1=40 v2=60" ]] &&
	grep -q 'stopping: the data plane and the last configuration' "$LAB_TMP/agent-3.log"; then
	t_pass "node3's agent SIGTERM: exit 0, its maps keep v1=40 v2=60 (revision $stopped_at)"
else
	t_fail "node3's agent SIGTERM: exit $arc, maps $(node_weights 3)"
fi
# A key under objects/ written by hand that is no object (a note, a
# typo'd path): the watching agents and the writers leave it alone, and
# so does node3's whole read when it starts again (it was an error that
# kept the agent from starting, on every node at its next restart).
STRAY=/veer/$CL/objects/README
etcdctl_v3 put "$STRAY" "hand-written, not an object" >/dev/null
lab_run fleet weight customers v1=30 v2=70
if ((VRC == 0)) && grep -q "^veer: weight: note: 1 key(s) under /veer/$CL/objects/ are not objects of veer's .*left alone: $STRAY\$" "$VERR"; then
	t_pass "a stray key under objects/: weight --etcd notes it and goes on: $(oneline "$VERR")"
else
	t_fail "a stray key under objects/: weight --etcd exit $VRC '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi
lab_run fleet weight customers v1=10 v2=90
LAST=$(revision_of "$VOUT")
[[ $(node_weights 3) == "v1=40 v2=60" ]] || t_fail "node3 changed while stopped: $(node_weights 3)"
start_agent 3
# shellcheck disable=SC2317 # called through wait_until
_node3_caught_up() { [[ $(node_weights 3) == "v1=10 v2=90" && $(node_generation 3) == "$LAST" ]]; }
if wait_until 10000 _node3_caught_up && wait_until 5000 _all_hold "v1=10 v2=90" &&
	grep -q "resuming: revision $stopped_at was applied before" "$LAB_TMP/agent-3.log"; then
	t_pass "two changes while node3's agent was down; restarted, it resumes from $stopped_at and catches up to revision $LAST"
else
	t_fail "node3 restarted: $(weights_desc) generation $(node_generation 3), want $LAST"
fi
if grep -q "veer: watch: etcd: 1 key(s) under /veer/$CL/objects/ are not objects of veer's .*ignored: $STRAY\$" "$LAB_TMP/agent-3.log"; then
	t_pass "node3's whole read left the stray key out, in one line: $(grep -m1 'not objects of' "$LAB_TMP/agent-3.log" | cut -c1-160)..."
else
	t_fail "node3's whole read and the stray key: $(oneline "$LAB_TMP/agent-3.log" | tail -c 600)"
fi
etcdctl_v3 del "$STRAY" >/dev/null

# ---- a bad revision -------------------------------------------------------

PFX=/veer/$CL
etcdctl_v3 get "$PFX/objects/VirtualService/default/customers" --print-value-only |
	sed 's/subset: v2/subset: v3/' >"$LAB_TMP/bad-vs.yaml"
etcdctl_v3 put "$PFX/objects/VirtualService/default/customers" <"$LAB_TMP/bad-vs.yaml" >/dev/null
# shellcheck disable=SC2317 # called through wait_until
_all_refused() {
	local i
	for ((i = 1; i <= N; i++)); do
		grep -q 'refused revision .*subset v3 is not defined' "$LAB_TMP/agent-$i.log" || return 1
	done
}
# shellcheck disable=SC2317 # called through wait_until
_status_errors() {
	local rc=0
	fleet fleet status >"$LAB_TMP/status.out" 2>&1 || rc=$?
	((rc == 3)) && grep -qx "$N nodes: $N error" "$LAB_TMP/status.out"
}
if wait_until 10000 _all_refused && wait_until 10000 _status_errors &&
	_all_hold "v1=10 v2=90" && _all_at "$LAST"; then
	t_pass "a bad revision: refused on each node in one line, v1=10 v2=90 stays; fleet status (exit 3): $(tail -n 1 "$LAB_TMP/status.out")"
else
	t_fail "bad revision: $(weights_desc) $(oneline "$LAB_TMP/status.out")"
fi
cat "$LAB_TMP/status.out" >&2
lab_run fleet apply -f "$CUST/vs-50-50.yaml"
REV=$(revision_of "$VOUT")
if ((VRC == 0)) && wait_until 10000 _all_hold "v1=50 v2=50" && wait_until 5000 _all_at "$REV"; then
	t_pass "the next good change (apply --etcd vs-50-50): all $N nodes at revision $REV"
else
	t_fail "after the bad revision: apply exit $VRC '$(oneline "$VERR")' $(weights_desc)"
fi

# ---- a compaction behind the agents ---------------------------------------

# The nodes' reports move etcd's revision, not the objects'. After each
# report period's watch an agent checks that the objects are as it holds
# them (one small read) and watches on from etcd's revision then, so a
# compaction at a revision every agent has watched past costs no full
# read. (A compaction past what an agent missed does: test_fleet_partition.)
# Without that check every agent watched on from the last change of the
# objects, and after any compaction read the whole configuration again.
# node_reported I: the etcd revision of node I's last report.
node_reported() {
	etcdctl_v3 get "/veer/$CL/nodes/node$1" -w json | jq -r '.kvs[0].mod_revision // 0'
}
# shellcheck disable=SC2317 # called through wait_until
_all_reported_after() {
	local i
	for ((i = 1; i <= N; i++)); do
		(($(node_reported "$i") > $1)) || return 1
	done
}
etcd_now() { etcdctl_v3 get / --prefix --keys-only -w json | jq -r '.header.revision'; }
# Every agent reports, checks, reports again: each has watched past C0.
C0=$(etcd_now)
wait_until 15000 _all_reported_after "$C0" &&
	wait_until 15000 _all_reported_after "$(etcd_now)" ||
	t_fail "the agents did not report twice in 30 s"
etcdctl_v3 compact "$C0" >/dev/null
resyncs() { cat "$LAB_TMP"/agent-*.log | grep -c 'was compacted (oldest kept: [0-9]*): reading it all again' || true; }
RESYNCS=$(resyncs)
# Two more reports each: each agent's watch started after the compaction.
wait_until 15000 _all_reported_after "$(etcd_now)" &&
	wait_until 15000 _all_reported_after "$(etcd_now)" ||
	t_fail "the agents did not report twice in 30 s after the compaction"
if (($(resyncs) == RESYNCS)) && _all_hold "v1=50 v2=50" && _all_at "$REV"; then
	t_pass "etcd compacted at revision $C0, behind every agent's watch: no agent reads the configuration whole again ($RESYNCS full reads before, $(resyncs) after), all at revision $REV"
else
	t_fail "compaction behind the agents: full reads $RESYNCS -> $(resyncs); $(weights_desc) $(grep -h compacted "$LAB_TMP"/agent-*.log | tr '\n' '|')"
fi
fleet_weight "a change after the compaction" 20 80

# ---- etcd wholly unreachable, then back ------------------------------------

# Members 1 and 2 (0 is gone) killed and started again as they were.
for m in 1 2; do
	cp "/proc/${ETCD_MEMBER_PIDS[m]}/cmdline" "$LAB_TMP/etcd-cmd-$m"
done
etcd_member_kill 1
etcd_member_kill 2
# shellcheck disable=SC2317 # called through wait_until
_all_said_down() {
	local i
	for ((i = 1; i <= N; i++)); do
		grep -q 'veer: watch: etcd: .*stays in force, retrying' "$LAB_TMP/agent-$i.log" || return 1
	done
}
wait_until 10000 _all_said_down || true
sleep 2 # the outage lasts a few retries (asserted: one line each)
if _all_said_down && _all_hold "v1=20 v2=80" && _all_at "$REV"; then
	t_pass "etcd wholly down: each agent says so, v1=20 v2=80 stays in force"
else
	t_fail "etcd down: $(weights_desc) $(grep -h 'veer: watch: etcd' "$LAB_TMP"/agent-*.log | tr '\n' '|')"
fi
for m in 1 2; do
	mapfile -d '' -t cmd <"$LAB_TMP/etcd-cmd-$m"
	"${cmd[@]}" >>"$LAB_TMP/etcd/m$m.log" 2>&1 &
	ETCD_MEMBER_PIDS[m]=$!
	LAB_PIDS+=("$!")
done
wait_until 20000 etcdctl_v3 endpoint health >/dev/null 2>&1 ||
	t_fail "members 1 and 2 started again: no quorum"
fleet_weight "etcd back" 60 40
said=$(cat "$LAB_TMP"/agent-*.log | grep -c 'veer: watch: etcd: .*stays in force' || true)
back=$(cat "$LAB_TMP"/agent-*.log | grep -c 'veer: watch: etcd answers again' || true)
if ((said == N && back == N)); then
	t_pass "the outage took one line per agent, and one when etcd answered again"
else
	t_fail "outage lines: $said down, $back back (want $N each)"
fi

# ---- an object deleted from the fleet -------------------------------------

# The Service and Pod v1 of the List: Pod v2 pruned from etcd goes from
# every node's store (and its backends from the maps).
head -n 60 "$CUST/service.yaml" >"$LAB_TMP/no-v2.yaml"
lab_run fleet apply --prune -f "$LAB_TMP/no-v2.yaml"
REV=$(revision_of "$VOUT")
# shellcheck disable=SC2317 # called through wait_until
_v2_gone() {
	local i
	for ((i = 1; i <= N; i++)); do
		! grep -q '^--- # Pod default customers-v2 ' "$VEER_STATE_DIR/pins${FLEET_PIN[i]}"/objects/*.yaml || return 1
	done
}
if ((VRC == 0)) && grep -q 'Pod default/customers-v2: pruned' "$VOUT" &&
	wait_until 10000 _all_at "$REV" && _v2_gone; then
	t_pass "Pod customers-v2 pruned from the fleet: gone from every node's store (revision $REV)"
else
	t_fail "prune: exit $VRC '$(oneline "$VOUT")' '$(oneline "$VERR")'; generations $(for ((i = 1; i <= N; i++)); do printf '%s ' "$(node_generation "$i")"; done)"
fi

# ---- fleet status ---------------------------------------------------------

# shellcheck disable=SC2317 # called through wait_until
_status_ok() {
	fleet fleet status >"$LAB_TMP/status.out" 2>&1 &&
		grep -qx "$N nodes: $N ok" "$LAB_TMP/status.out"
}
if wait_until 10000 _status_ok && grep -qx "cluster $CL: configuration revision $REV" "$LAB_TMP/status.out" &&
	[[ $(awk '$1 ~ /^node/ && $2 == '"$REV"' && $3 == 0 && $4 == "ok"' "$LAB_TMP/status.out" | wc -l) == "$N" ]]; then
	t_pass "fleet status: all $N nodes ok at revision $REV"
else
	t_fail "fleet status: $(oneline "$LAB_TMP/status.out")"
fi
cat "$LAB_TMP/status.out" >&2

for ((i = 1; i <= N; i++)); do
	fleet_agent_stop "$i" || t_fail "node$i's agent: SIGTERM, exit $?"
done
t_end

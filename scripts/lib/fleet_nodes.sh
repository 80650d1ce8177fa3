# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Simulated fleet nodes for the fleet tests and the fleet benchmark
# (tests/e2e/test_fleet_nodes.sh, scripts/bench.sh -p fleet). A node is a
# pin root of its own (VEER_PIN_ROOT-nI), loaded and attached by `veer
# attach --cgroup` to a cgroup2 directory of its own (no process ever
# enters it: the node has maps and a store, no traffic), and a node
# agent, `veer watch --etcd` as node "nodeI", applying the fleet's
# configuration to that pin root. No network namespace: the agents reach
# etcd on loopback, and the maps do not care where they run. Source it
# after scripts/lib/lab.sh (and lab_init: logs go to LAB_TMP; states to
# VEER_STATE_DIR, under it).
#
#   fleet_nodes_add N [ATTACH_ARGS...]
#                        nodes up to N (from FLEET_N + 1 on): the pin
#                        root, the cgroup, `veer attach --cgroup` with
#                        ATTACH_ARGS (sizes); dies with the attach's error
#   fleet_veer I ARGS... veer on node I's pin root
#   fleet_agent_start I URLS CLUSTER [WATCH_ARGS...]
#                        node I's agent in the background, its PID in
#                        FLEET_AGENT[I] (veer's own: the signals reach
#                        it), its output appended to LAB_TMP/agent-I.log
#   fleet_agent_stop I   SIGTERM, waits; returns the agent's exit status
#   fleet_nodes_cleanup  every agent killed (SIGTERM, bounded wait,
#                        SIGKILL), every node detached, its cgroup and
#                        pin root removed (what fails is said); safe to
#                        call twice, returns 0 (also under set -e)
#
# FLEET_N: the nodes so far; FLEET_PIN, FLEET_CG, FLEET_AGENT: by node
# (1..FLEET_N; FLEET_AGENT[I] empty while node I has no agent).

FLEET_N=0
FLEET_PIN=()
FLEET_CG=()
FLEET_AGENT=()

fleet_veer() {
	local i=$1
	shift
	"$VEER_BIN" --pin-root "${FLEET_PIN[i]}" "$@"
}

fleet_nodes_add() {
	local n=$1 i cgroot
	shift
	cgroot=$(lab_cgroup2_mount) || lab_die "no cgroup2 mount in /proc/mounts"
	for ((i = FLEET_N + 1; i <= n; i++)); do
		FLEET_PIN[i]=$VEER_PIN_ROOT-n$i
		FLEET_CG[i]=$cgroot/veer-e2e-$$-n$i
		FLEET_AGENT[i]=
		FLEET_N=$i
		mkdir "${FLEET_CG[i]}" || lab_die "cannot create cgroup ${FLEET_CG[i]}"
		fleet_veer "$i" attach --cgroup "${FLEET_CG[i]}" "$@" >"$LAB_TMP/attach-$i.log" 2>&1 ||
			lab_die "node $i: attach: $(tr '\n' '|' <"$LAB_TMP/attach-$i.log")"
	done
}

fleet_agent_start() {
	local i=$1 urls=$2 cluster=$3
	shift 3
	"$VEER_BIN" --pin-root "${FLEET_PIN[i]}" watch --etcd "$urls" --cluster "$cluster" \
		--node "node$i" "$@" >>"$LAB_TMP/agent-$i.log" 2>&1 &
	FLEET_AGENT[i]=$!
}

fleet_agent_stop() {
	local i=$1 rc=0
	[[ -n ${FLEET_AGENT[i]} ]] || return 0
	kill -TERM "${FLEET_AGENT[i]}" 2>/dev/null || true
	wait "${FLEET_AGENT[i]}" || rc=$?
	FLEET_AGENT[i]=
	return "$rc"
}

fleet_nodes_cleanup() {
	local i
	for ((i = 1; i <= FLEET_N; i++)); do
		if [[ -n ${FLEET_AGENT[i]} ]]; then
			lab_kill "${FLEET_AGENT[i]}" 3000
			FLEET_AGENT[i]=
		fi
		if [[ -d ${FLEET_CG[i]} ]]; then
			fleet_veer "$i" detach --cgroup "${FLEET_CG[i]}" >/dev/null 2>&1 ||
				lab_log "node $i: veer detach --cgroup ${FLEET_CG[i]} failed"
			rmdir "${FLEET_CG[i]}" 2>/dev/null ||
				lab_log "node $i: cannot remove cgroup ${FLEET_CG[i]}"
		fi
		[[ -e ${FLEET_PIN[i]} ]] && rm -rf "${FLEET_PIN[i]}"
	done
	return 0
}

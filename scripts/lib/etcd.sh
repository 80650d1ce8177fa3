# shellcheck shell=bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A 3-member etcd cluster on loopback for the fleet tests and benchmarks
# (Debian's etcd-server and etcd-client, 3.4). Source it after
# scripts/lib/lab.sh and call lab_init first: the members are started in
# the caller's network namespace, their data directories live under
# LAB_TMP, and their PIDs go into LAB_PIDS, so lab_cleanup kills them
# (by PID: SIGTERM, bounded wait, SIGKILL) and removes their data.
#
#   etcd_cluster_start DIR   3 members, client ports ETCD_BASE_PORT,
#                            +2, +4 (peers +1, +3, +5); returns once each
#                            answers /health, or dies after ETCD_START_MS
#   etcd_member_kill I       kills member I (0..2) by its PID
#   etcdctl_v3 ARGS...       etcdctl (API 3) on the members still up
#
# ETCD_EXTRA_HOSTS (space-separated IPv4 addresses, default none): each
# member listens on its client port on these addresses too, for agents in
# other network namespaces (test_fleet_partition.sh); the address must be
# up in the caller's namespace before etcd_cluster_start.
#
# After etcd_cluster_start: ETCD_ENDPOINTS (the three client URLs,
# comma-separated, as veer --etcd and etcdctl --endpoints take them),
# ETCD_CLIENT_URLS and ETCD_MEMBER_PIDS (arrays, by member).

ETCD_BIN=${ETCD_BIN:-etcd}
ETCDCTL_BIN=${ETCDCTL_BIN:-etcdctl}
# Ports by PID, so that parallel runs do not collide: 20000..27999.
: "${ETCD_BASE_PORT:=$((20000 + ($$ % 1000) * 8))}"
ETCD_START_MS=${ETCD_START_MS:-20000}
ETCD_MEMBERS=3
ETCD_EXTRA_HOSTS=${ETCD_EXTRA_HOSTS:-}
# shellcheck disable=SC2034 # for the scripts that source this one
ETCD_ENDPOINTS=
ETCD_CLIENT_URLS=()
ETCD_MEMBER_PIDS=()

_etcd_healthy() {
	curl -fsS --max-time 1 "$1/health" 2>/dev/null | grep -q '"health":"true"'
}

etcd_cluster_start() {
	local dir=$1 i initial="" client peer listen h
	if ! command -v "$ETCD_BIN" >/dev/null || ! command -v "$ETCDCTL_BIN" >/dev/null; then
		lab_die "missing etcd or etcdctl (run scripts/install-deps.sh)"
	fi
	mkdir -p "$dir"
	for ((i = 0; i < ETCD_MEMBERS; i++)); do
		peer=http://127.0.0.1:$((ETCD_BASE_PORT + 2 * i + 1))
		initial+="m$i=$peer,"
	done
	initial=${initial%,}
	for ((i = 0; i < ETCD_MEMBERS; i++)); do
		client=http://127.0.0.1:$((ETCD_BASE_PORT + 2 * i))
		peer=http://127.0.0.1:$((ETCD_BASE_PORT + 2 * i + 1))
		ETCD_CLIENT_URLS+=("$client")
		listen=$client
		for h in $ETCD_EXTRA_HOSTS; do
			listen+=",http://$h:$((ETCD_BASE_PORT + 2 * i))"
		done
		"$ETCD_BIN" --name "m$i" --data-dir "$dir/m$i" \
			--listen-client-urls "$listen" \
			--advertise-client-urls "$client" \
			--listen-peer-urls "$peer" \
			--initial-advertise-peer-urls "$peer" \
			--initial-cluster "$initial" \
			--initial-cluster-token "veer-test-$$" \
			--initial-cluster-state new >"$dir/m$i.log" 2>&1 &
		ETCD_MEMBER_PIDS+=("$!")
		LAB_PIDS+=("$!")
	done
	# shellcheck disable=SC2034 # for the scripts that source this one
	ETCD_ENDPOINTS=$(
		IFS=,
		echo "${ETCD_CLIENT_URLS[*]}"
	)
	for ((i = 0; i < ETCD_MEMBERS; i++)); do
		wait_until "$ETCD_START_MS" _etcd_healthy "${ETCD_CLIENT_URLS[i]}" || {
			tail -n 5 "$dir/m$i.log" >&2
			lab_die "etcd member m$i (${ETCD_CLIENT_URLS[i]}) not healthy after $ETCD_START_MS ms"
		}
	done
}

etcd_member_kill() {
	local i=$1
	kill -KILL "${ETCD_MEMBER_PIDS[i]}" 2>/dev/null || true
	wait "${ETCD_MEMBER_PIDS[i]}" 2>/dev/null || true
}

# The client URLs of the members whose process is still there.
etcd_live_endpoints() {
	local i eps=()
	for ((i = 0; i < ETCD_MEMBERS; i++)); do
		kill -0 "${ETCD_MEMBER_PIDS[i]}" 2>/dev/null && eps+=("${ETCD_CLIENT_URLS[i]}")
	done
	(
		IFS=,
		echo "${eps[*]}"
	)
}

etcdctl_v3() {
	ETCDCTL_API=3 "$ETCDCTL_BIN" --endpoints="$(etcd_live_endpoints)" \
		--command-timeout=5s "$@"
}

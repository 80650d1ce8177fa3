#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# In-place upgrade: `veer attach --upgrade` loads this build's programs
# over the pinned maps and switches every attach point with one
# replacing attach. Long streams (IPv4 and IPv6, echo-verified) run
# through two upgrades after a flip that would move half of them if they
# were placed again: every stream keeps progressing and ends with 0
# resets; program ids change, services and weights stay. Refusals change
# nothing: an upgrade with nothing pinned, and an attach over maps whose
# layout is not this build's (another ABI).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

STREAMS=16

t_begin upgrade
lab_init jq bpftool
lab_up_variant
lab_start_backends

# Refusal 1: nothing pinned yet.
rc=0
veer attach --upgrade >"$LAB_TMP/empty.out" 2>&1 || rc=$?
if ((rc == 1)) && grep -q "nothing to upgrade" "$LAB_TMP/empty.out" &&
	[[ $(wc -l <"$LAB_TMP/empty.out") == 1 ]]; then
	t_pass "upgrade with nothing pinned: exit 1, $(cut -c1-60 "$LAB_TMP/empty.out")..."
else
	t_fail "upgrade with nothing pinned: exit $rc: $(tr '\n' ' ' <"$LAB_TMP/empty.out")"
fi

# Refusal 2: a pinned map of another layout (as an older veer would have
# left): attach must refuse before loading or attaching anything.
foreign=/sys/fs/bpf/veer-test-abi-$$
mkdir -m 0700 "$foreign"
bpftool map create "$foreign/veer_services" type hash key 20 value 4 \
	entries 16 name veer_services flags 1
rc=0
VEER_PIN_ROOT=$foreign veer attach "$NODE_DEV" >"$LAB_TMP/abi.out" 2>&1 || rc=$?
left=$(ls "$foreign" | tr '\n' ' ')
rm -rf "$foreign"
if ((rc == 1)) && grep -q "another layout" "$LAB_TMP/abi.out" &&
	[[ $left == "veer_services " ]] &&
	[[ -z $(lab_exec "$NS_NODE" tc filter show dev "$NODE_DEV" ingress) ]]; then
	t_pass "attach over maps of another layout: exit 1, nothing loaded or attached"
else
	t_fail "attach over maps of another layout: exit $rc, pins '$left': $(tr '\n' ' ' <"$LAB_TMP/abi.out")"
fi

# Eight first attaches at once on an empty pin root: one creates the
# maps, the others wait for the pin root's lock and reuse them.
conc=/sys/fs/bpf/veer-test-conc-$$
pids=()
for i in 1 2 3 4 5 6 7 8; do
	VEER_PIN_ROOT=$conc veer attach "$NODE_DEV" >"$LAB_TMP/conc-$i.out" 2>&1 &
	pids+=($!)
done
failed=0
for pid in "${pids[@]}"; do
	wait "$pid" || failed=$((failed + 1))
done
VEER_PIN_ROOT=$conc veer detach --all >/dev/null 2>&1 || true
[[ -e $conc ]] && rm -rf "$conc"
if ((failed == 0)); then
	t_pass "8 concurrent first attaches on one pin root: all exit 0"
else
	t_fail "8 concurrent first attaches: $failed failed: $(cat "$LAB_TMP"/conc-*.out | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
fi

# VEER_UPGRADE_FROM=PATH: an older veer binary builds the lab (attach,
# apply) and this build upgrades it: the real cross-release upgrade.
NEW_VEER_BIN=$VEER_BIN
[[ -n ${VEER_UPGRADE_FROM:-} ]] && VEER_BIN=$VEER_UPGRADE_FROM
lab_veer_up 50
VEER_BIN=$NEW_VEER_BIN

# A size that cannot take effect over pinned maps is refused, not ignored.
rc=0
veer attach "$NODE_DEV" --ct-size 64 >"$LAB_TMP/resize.out" 2>&1 || rc=$?
if ((rc == 1)) && grep -q -- "--ct-size 64: the pinned conntrack holds 1048576 connections" \
	"$LAB_TMP/resize.out" && [[ $(wc -l <"$LAB_TMP/resize.out") == 1 ]]; then
	t_pass "re-attach with another --ct-size: exit 1, says what is in force"
else
	t_fail "re-attach with another --ct-size: exit $rc: $(tr '\n' ' ' <"$LAB_TMP/resize.out")"
fi

if [[ $LAB_MODE == cgroup ]]; then
	# The socket programs are swapped on the cgroup one replacing
	# attach each: still exactly veer's four, with new ids, and
	# connect() still balanced (the clients check getpeername too).
	ids() { bpftool -j cgroup show "$LAB_CGROUP" | jq -c '[.[].id] | sort'; }
	before=$(ids)
	rc=0
	veer attach --upgrade >"$LAB_TMP/upgrade.out" 2>&1 || rc=$?
	after=$(ids)
	count_burst web 200 "$LAB_TMP/burst.out"
	if ((rc == 0)) && [[ $before != "$after" ]] &&
		[[ $(jq length <<<"$after") == 4 && $(lab_cgroup_attach_types) == "connect4 connect6 getpeername4 getpeername6" ]] &&
		grep -q "^upgraded cgroup $LAB_CGROUP:" "$LAB_TMP/upgrade.out" &&
		split_ok "$LAB_TMP/burst.out" 200 50; then
		t_pass "cgroup upgrade: programs $before -> $after, four attached, 200 connects split: $SPLIT_DESC"
	else
		t_fail "cgroup upgrade: exit $rc, ids $before -> $after, types '$(lab_cgroup_attach_types)': $(tr '\n' ' ' <"$LAB_TMP/upgrade.out"); ${SPLIT_DESC:-}"
	fi
	t_end
fi

# prog_ids: the programs line of `veer status`.
prog_ids() { veer status | awk '$1 == "programs:"' | tr -d ' '; }

declare -A PID
for svc in web web6; do
	lab_client_bg "$LAB_TMP/$svc.out" stream --addr "$(vip_of "$svc")" \
		--port "$VIP_PORT" -n "$STREAMS" --ready-file "$LAB_TMP/$svc.ready" \
		--progress-file "$LAB_TMP/$svc.progress" --timeout-ms 10000
	PID[$svc]=$LAB_BG_PID
	wait_for_file "$LAB_TMP/$svc.ready" 15000 "$LAB_BG_PID" ||
		lab_die "$svc streams not ready"
	veer weight "$svc" v1=100 v2=0 >/dev/null
done

# runtime_abi [VERSION]: the pinned maps' ABI version (veer_runtime bytes
# 4-7), or sets it.
runtime_abi() {
	local hex b
	hex=$(bpftool -j map lookup pinned "$VEER_PIN_ROOT/veer_runtime" key 0 0 0 0 |
		jq -r '.value | join(" ")')
	if (($# == 0)); then
		read -r -a b <<<"$hex"
		echo $((b[4] + 256 * b[5]))
		return
	fi
	# shellcheck disable=SC2046 # one argument a byte
	bpftool map update pinned "$VEER_PIN_ROOT/veer_runtime" key 0 0 0 0 \
		value $(awk -v v="$1" '{ $5 = v; $6 = 0; $7 = 0; $8 = 0; print }' <<<"$hex")
}
ABI=$(awk '$2 == "VEER_ABI_VERSION" { print $3 }' "$LAB_ROOT/include/veer_abi.h")
ABI_MIN=$(awk '$2 == "VEER_ABI_COMPAT_MIN" { print $3 }' "$LAB_ROOT/include/veer_abi.h")
if [[ -z ${VEER_UPGRADE_FROM:-} ]]; then
	# Maps one ABI too old are refused, changing nothing...
	runtime_abi $((ABI_MIN - 1))
	rc=0
	veer attach "$NODE_DEV" >"$LAB_TMP/old-abi.out" 2>&1 || rc=$?
	if ((rc == 1)) && grep -q "another layout" "$LAB_TMP/old-abi.out"; then
		t_pass "maps of ABI $((ABI_MIN - 1)): attach refused"
	else
		t_fail "maps of ABI $((ABI_MIN - 1)): exit $rc: $(tr '\n' ' ' <"$LAB_TMP/old-abi.out")"
	fi
	# ...and the oldest compatible one is upgraded in place, below, as
	# from that release's veer.
	runtime_abi "$ABI_MIN"
fi
ABI_BEFORE=$(runtime_abi)

for round in 1 2; do
	before=$(prog_ids)
	rc=0
	veer attach --upgrade >"$LAB_TMP/upgrade.out" 2>&1 || rc=$?
	after=$(prog_ids)
	if ((rc == 0)) && [[ $before != "$after" ]] &&
		grep -q "1 attach point in this network namespace switched" "$LAB_TMP/upgrade.out" &&
		veer status | grep -q "^attached:   $NODE_DEV: $LAB_MODE ingress.*tc egress\$"; then
		t_pass "upgrade $round: $(tail -n1 "$LAB_TMP/upgrade.out" | cut -c1-70)..."
	else
		t_fail "upgrade $round: exit $rc, ids '$before' -> '$after': $(tr '\n' ' ' <"$LAB_TMP/upgrade.out")"
	fi
	ok=1
	for svc in web web6; do
		b0=$(count_of "$LAB_TMP/$svc.progress" bytes_verified)
		kill -USR2 "${PID[$svc]}"
		if ! wait_until 10000 streams_progressed "$LAB_TMP/$svc.progress" \
			"$round" "$b0" "$STREAMS" "${PID[$svc]}" || ! kill -0 "${PID[$svc]}" 2>/dev/null; then
			ok=0
			t_fail "upgrade $round: $svc streams stalled: $(tr '\n' ' ' <"$LAB_TMP/$svc.progress")"
		fi
	done
	((ok)) && t_pass "upgrade $round: all $((2 * STREAMS)) streams progressed on the new programs"
	if ((round == 1)); then
		if [[ $(runtime_abi) == "$ABI" ]]; then
			t_pass "upgrade from maps of ABI $ABI_BEFORE: they record ABI $ABI now"
		else
			t_fail "upgrade from maps of ABI $ABI_BEFORE: runtime says ABI $(runtime_abi), want $ABI"
		fi
	fi
done

# Configuration and placement carry on under the new programs.
if veer get web -o json | jq -e '.services[0].subsets[0].weight == 100' >/dev/null &&
	veer weight web v1=0 v2=100 >/dev/null; then
	count_burst web 200 "$LAB_TMP/burst.out"
	if split_ok "$LAB_TMP/burst.out" 200 0; then
		t_pass "after the upgrades: weights kept, a new weight followed: $SPLIT_DESC"
	else
		t_fail "after the upgrades: burst: $SPLIT_DESC"
	fi
else
	t_fail "after the upgrades: weights not kept or not writable"
fi

for svc in web web6; do
	kill -TERM "${PID[$svc]}" 2>/dev/null || true
	wait_until 20000 _lab_gone "${PID[$svc]}" || kill -KILL "${PID[$svc]}" 2>/dev/null || true
	rc=0
	wait "${PID[$svc]}" || rc=$?
	out=$LAB_TMP/$svc.out
	if ((rc == 0 && $(count_of "$out" resets) == 0 &&
		$(count_of "$out" corrupt_bytes) == 0 && $(count_of "$out" errors) == 0 &&
		$(count_of "$out" connections) == STREAMS)); then
		t_pass "$svc: $STREAMS streams closed cleanly across two upgrades: 0 resets"
	else
		t_fail "$svc streams (exit $rc): $(grep -v '^veer-testclient' "$out" | tr '\n' ' ')"
	fi
done
t_check_ct_drained
t_check_client_rsts
t_end

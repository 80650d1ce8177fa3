#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Program lifecycle at the edges:
#   - a program whose pin was removed is still veer's: `veer status`
#     shows it, `veer detach --all` removes it (it is recognised by name
#     and by the maps it uses, not by its pin);
#   - `veer detach --all` in one network namespace refuses (and changes
#     nothing) while the same pin root's programs are attached in another:
#     removing the pins would make the next attach create fresh maps and
#     reset the other namespace's live connections.
# tc and xdp modes (cgroup mode has no per-interface programs).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

t_begin lifecycle
lab_init bpftool jq
if [[ $LAB_MODE == cgroup ]]; then
	t_pass "cgroup mode: no interface programs to lose track of"
	t_end
fi
lab_up_variant
lab_start_backends
lab_veer_up 100

NS_OTHER=${LAB_ID}-ot
cleanup_other() { [[ -e /run/netns/$NS_OTHER ]] && ip netns del "$NS_OTHER"; }
trap 'cleanup_other; lab_cleanup' EXIT
ip netns add "$NS_OTHER"
ip -n "$NS_OTHER" link add o0 type veth peer name o1
ip -n "$NS_OTHER" link set o0 up
ip -n "$NS_OTHER" link set o1 up

veer_other() {
	nsenter --net="/run/netns/$NS_OTHER" -- "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" "$@"
}

# 1. Attached in another namespace too: detach --all here must refuse.
veer_other attach o0 --mode "$LAB_MODE" >/dev/null
SPLIT_DESC=
rc=0
veer detach --all >"$LAB_TMP/detach.out" 2>&1 || rc=$?
count_burst web 50 "$LAB_TMP/burst.out"
if ((rc == 1)) && grep -q "attached in network namespace $NS_OTHER (o0)" "$LAB_TMP/detach.out" &&
	[[ -e $VEER_PIN_ROOT/veer_conntrack ]] &&
	veer status | grep -q "^attached:   $NODE_DEV: $LAB_MODE ingress" &&
	split_ok "$LAB_TMP/burst.out" 50 100; then
	t_pass "detach --all with the programs attached in $NS_OTHER: exit 1, pins and attachments kept, traffic flows"
else
	t_fail "detach --all with another namespace attached: exit $rc: $(tr '\n' ' ' <"$LAB_TMP/detach.out"); $SPLIT_DESC"
fi
veer_other detach o0 >/dev/null

# 2. A program whose pin is gone is still recognised.
pin=prog_tc_ingress
[[ $LAB_MODE == xdp ]] && pin=prog_xdp_ingress
rm "$VEER_PIN_ROOT/$pin"
status=$(veer status)
if grep -q "^attached:   $NODE_DEV: $LAB_MODE ingress" <<<"$status"; then
	t_pass "status recognises the $LAB_MODE ingress program after its pin was removed"
else
	t_fail "status after removing $pin: $(tr '\n' ' ' <<<"$status")"
fi
# attach puts the missing pin back (the set is loaded and re-pinned).
if veer attach "$NODE_DEV" --mode "$LAB_MODE" >"$LAB_TMP/reattach.out" 2>&1 &&
	[[ -e $VEER_PIN_ROOT/$pin ]] && ! veer status | grep -q "stale attach"; then
	t_pass "attach again: $pin pinned again, every attach point runs the pinned programs"
else
	t_fail "attach after removing $pin: $(tr '\n' ' ' <"$LAB_TMP/reattach.out"); $(veer status | tr '\n' ' ')"
fi
rm "$VEER_PIN_ROOT/$pin"
rc=0
veer detach --all >"$LAB_TMP/detach2.out" 2>&1 || rc=$?
left=$(lab_exec "$NS_NODE" bpftool -j net show dev "$NODE_DEV" |
	jq '[.[] | (.xdp // [])[], (.tc // [])[]] | length')
if ((rc == 0)) && [[ $left == 0 && ! -e $VEER_PIN_ROOT ]]; then
	t_pass "detach --all removed every program, pin-less one included, and the pins"
else
	t_fail "detach --all after removing $pin: exit $rc, $left programs left on $NODE_DEV: $(tr '\n' ' ' <"$LAB_TMP/detach2.out")"
fi
t_end

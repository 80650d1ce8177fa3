#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Refused changes change nothing: every bad `veer weight` / `veer apply`
# exits non-zero with exactly one line on stderr, `veer get -o json` is
# byte-identical before and after, and traffic still follows the old
# weights. `apply --dry-run` succeeds without changing anything.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_begin errors
lab_init
lab_up_variant
lab_start_backends
lab_veer_up 100

BEFORE=$LAB_TMP/get-before.json
AFTER=$LAB_TMP/get-after.json
if ! veer get -o json >"$BEFORE" 2>"$LAB_TMP/get.err" || [[ ! -s $BEFORE ]]; then
	t_fail "veer get -o json failed: $(head -n1 "$LAB_TMP/get.err")"
	t_end
fi

# refused DESC ARGS...: veer ARGS must fail with one stderr line and leave
# `veer get -o json` byte-identical.
refused() {
	local desc=$1 rc=0 lines
	shift
	veer "$@" >"$LAB_TMP/cmd.out" 2>"$LAB_TMP/cmd.err" || rc=$?
	lines=$(awk 'END { print NR }' "$LAB_TMP/cmd.err")
	veer get -o json >"$AFTER" 2>/dev/null || true
	if ((rc == 0)); then
		t_fail "$desc: 'veer $*' succeeded"
	elif ((lines != 1)) || ! grep -q '[^[:space:]]' "$LAB_TMP/cmd.err"; then
		t_fail "$desc: 'veer $*' exit $rc, $lines stderr lines: $(tr '\n' '|' <"$LAB_TMP/cmd.err")"
	elif ! cmp -s "$BEFORE" "$AFTER"; then
		t_fail "$desc: 'veer $*' exit $rc but 'veer get -o json' changed"
		diff "$BEFORE" "$AFTER" >&2 || true
	else
		t_pass "$desc: exit $rc, '$(cat "$LAB_TMP/cmd.err")', state unchanged"
	fi
}

refused "weights summing to 110" weight web v1=90 v2=20
refused "weights summing to 110 (IPv6)" weight web6 v1=90 v2=20
refused "missing config file" apply -f /nonexistent
refused "unknown service" weight nosuch v1=100 v2=0
refused "unknown subset" weight web v3=100
refused "non-numeric weight" weight web v1=abc v2=0
refused "weight above 100" weight web v1=101 v2=0

lab_write_config "$LAB_TMP/bad.yaml" 100
sed -i '0,/weight: 0/s//weight: 10/' "$LAB_TMP/bad.yaml"
refused "config with weights summing to 110" apply -f "$LAB_TMP/bad.yaml"

printf 'services:\n  - name: web\n    vip: [oops\n' >"$LAB_TMP/broken.yaml"
refused "malformed YAML" apply -f "$LAB_TMP/broken.yaml"

# Writers take turns: while another writer holds the pin root's lock, a
# weight change waits (here until `timeout` ends it) and changes nothing;
# once the lock is released the same change goes through.
mkfifo "$LAB_TMP/release"
flock "$VEER_PIN_ROOT" -c "touch '$LAB_TMP/locked'; read -r _ <'$LAB_TMP/release'" &
LOCK_PID=$!
LAB_PIDS+=("$LOCK_PID")
if ! wait_for_file "$LAB_TMP/locked" 10000 "$LOCK_PID"; then
	t_fail "could not take the pin root lock with flock(1)"
else
	rc=0
	timeout 2 "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" weight web v1=50 v2=50 \
		>/dev/null 2>&1 || rc=$?
	veer get -o json >"$AFTER" 2>/dev/null || true
	t_check "a weight change waits while another writer holds the lock (exit $rc, 124 = still waiting)" \
		eval '((rc == 124)) && cmp -s "$BEFORE" "$AFTER"'
	echo go >"$LAB_TMP/release"
	wait "$LOCK_PID" || true
	rc=0
	veer weight web v1=100 v2=0 >/dev/null 2>&1 || rc=$?
	t_check "the same writer proceeds once the lock is released (exit $rc)" \
		eval '((rc == 0))'
fi

lab_write_config "$LAB_TMP/change.yaml" 50
rc=0
veer apply --dry-run -f "$LAB_TMP/change.yaml" >"$LAB_TMP/dry.out" 2>&1 || rc=$?
veer get -o json >"$AFTER" 2>/dev/null || true
if ((rc == 0)) && cmp -s "$BEFORE" "$AFTER"; then
	t_pass "apply --dry-run of a 50/50 config: exit 0, state unchanged"
else
	t_fail "apply --dry-run of a 50/50 config: exit $rc, state $(cmp -s "$BEFORE" "$AFTER" && echo unchanged || echo changed)"
fi

# The data plane still runs the old weights (100/0).
for svc in web web6; do
	count_burst "$svc" 200 "$LAB_TMP/count-$svc.out"
	if split_ok "$LAB_TMP/count-$svc.out" 200 100; then
		t_pass "$svc still 100/0 after the refused changes: $SPLIT_DESC"
	else
		t_fail "$svc not 100/0 after the refused changes: $SPLIT_DESC"
	fi
done

t_end

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Refused changes change nothing: every bad `veer weight` / `veer apply`
# exits non-zero with exactly one line on stderr, `veer get -o json` is
# byte-identical before and after, and traffic still follows the old
# weights. `apply --dry-run` succeeds without changing anything.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

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

# refused_exact RC PATTERN DESC ARGS...: like refused, and the exit code
# must be RC and the line match PATTERN (grep -E). veer runs under a 10 s
# timeout (exit 124: it hung); VEER_ENV (an array of NAME=VALUE) goes into
# its environment.
VEER_ENV=()
refused_exact() {
	local want=$1 pattern=$2 desc=$3 rc=0 lines
	shift 3
	timeout 10 env "${VEER_ENV[@]}" nsenter --net="/run/netns/$NS_NODE" -- \
		"$VEER_BIN" --pin-root "$VEER_PIN_ROOT" "$@" \
		>"$LAB_TMP/cmd.out" 2>"$LAB_TMP/cmd.err" || rc=$?
	lines=$(awk 'END { print NR }' "$LAB_TMP/cmd.err")
	veer get -o json >"$AFTER" 2>/dev/null || true
	if ((rc != want)); then
		t_fail "$desc: 'veer $*' exit $rc, expected $want: $(tr '\n' '|' <"$LAB_TMP/cmd.err")"
	elif ((lines != 1)) || ! grep -Eq -- "$pattern" "$LAB_TMP/cmd.err"; then
		t_fail "$desc: 'veer $*' exit $rc, $lines stderr lines, expected /$pattern/: $(tr '\n' '|' <"$LAB_TMP/cmd.err")"
	elif ! cmp -s "$BEFORE" "$AFTER"; then
		t_fail "$desc: 'veer $*' exit $rc but 'veer get -o json' changed"
		diff "$BEFORE" "$AFTER" >&2 || true
	else
		t_pass "$desc: exit $rc, '$(cat "$LAB_TMP/cmd.err")', state unchanged"
	fi
}

refused_exact 2 "weight of v1 must be an integer 0\.\.100, got ' 100'" \
	"weight with a leading space" weight web "v1= 100" v2=0
refused_exact 2 "weight of v2 must be an integer" \
	"weight with a trailing newline" weight web v1=100 "v2=0
"

# An output format one command has and another not: named, with the
# command's own choices (stats has no yaml; get no prometheus).
refused_exact 2 "^veer: stats: unknown output format 'yaml' \(table, json or prometheus\)$" \
	"stats -o yaml" stats -o yaml
refused_exact 2 "^veer: get: unknown output format 'prometheus' \(table, json or yaml\)$" \
	"get -o prometheus" get -o prometheus
if veer stats --help 2>&1 | grep -q -- '--output table|json|prometheus '; then
	t_pass "veer stats --help lists table|json|prometheus"
else
	t_fail "veer stats --help: $(veer stats --help 2>&1 | grep -- --output)"
fi

# A subset that takes connections needs backends; a drained one may have none.
printf '%s\n' 'services:' '  - name: web' '    vip: 10.96.0.10' '    port: 80' \
	'    subsets:' '      - name: v1' '        weight: 0' \
	'        backends: ["10.10.2.2:8080"]' '      - name: v2' \
	'        weight: 100' >"$LAB_TMP/empty-subset.yaml"
refused_exact 1 "empty-subset\.yaml:9:[0-9]+: service web: subset v2: weight 100 but no backends" \
	"a subset with weight 100 and no backends" apply -f "$LAB_TMP/empty-subset.yaml"

# apply -f on a FIFO nobody writes to gives up after VEER_WAIT seconds; a
# FIFO (or pipe) with a writer is read as before.
mkfifo "$LAB_TMP/config.fifo"
VEER_ENV=(VEER_WAIT=1)
refused_exact 1 "config\\.fifo: .*no writer opened it within 1 s" \
	"apply -f FIFO with no writer" apply -f "$LAB_TMP/config.fifo"
VEER_ENV=()
lab_write_config "$LAB_TMP/same.yaml" 100
rc=0
veer apply --dry-run -f <(cat "$LAB_TMP/same.yaml") >"$LAB_TMP/pipe.out" 2>&1 || rc=$?
t_check "apply --dry-run -f <(cat FILE) reads the pipe (exit $rc: $(head -n1 "$LAB_TMP/pipe.out"))" \
	eval '((rc == 0))'

# `ip netns exec` remounts /sys, hiding bpffs: the error says what to use.
rc=0
timeout 10 ip netns exec "$NS_NODE" "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" get \
	>/dev/null 2>"$LAB_TMP/netns.err" || rc=$?
t_check "under ip netns exec: exit $rc, '$(tr '\n' '|' <"$LAB_TMP/netns.err")'" \
	eval '((rc == 1)) && [[ $(awk "END { print NR }" "$LAB_TMP/netns.err") == 1 ]] &&
		grep -Fq "nsenter --net=/run/netns/$NS_NODE" "$LAB_TMP/netns.err"'

# Writers take turns: while another process holds the pin root's lock, a
# weight change waits VEER_WAIT seconds, then gives up naming the holder and
# changes nothing; once the holder is gone the same change goes through.
# flock -o: only flock(1) itself holds the lock, so killing it releases it.
mkfifo "$LAB_TMP/release"
exec {RELEASE_FD}<>"$LAB_TMP/release"
flock -o "$VEER_PIN_ROOT" -c "touch '$LAB_TMP/locked'; read -r _ <'$LAB_TMP/release'" &
LOCK_PID=$!
LAB_PIDS+=("$LOCK_PID")
if ! wait_for_file "$LAB_TMP/locked" 10000 "$LOCK_PID"; then
	t_fail "could not take the pin root lock with flock(1)"
else
	VEER_ENV=(VEER_WAIT=1)
	t0=$(now_ms)
	refused_exact 1 "held by pid $LOCK_PID \(flock\)" \
		"weight while pid $LOCK_PID holds the lock" weight web v1=50 v2=50
	t_check "it gave up after the bounded wait ($(($(now_ms) - t0)) ms, VEER_WAIT=1)" \
		eval '(($(now_ms) - t0 >= 900 && $(now_ms) - t0 < 5000))'
	VEER_ENV=()
	lab_kill "$LOCK_PID"
	echo go >&"$RELEASE_FD"
	rc=0
	veer weight web v1=100 v2=0 >/dev/null 2>&1 || rc=$?
	t_check "the same writer proceeds once the holder is gone (exit $rc)" \
		eval '((rc == 0))'
fi
exec {RELEASE_FD}>&-

# Pin roots veer does not trust: made by another user (bpffs is
# world-writable), writable by others, or a symlink. Every command refuses
# them, before touching anything in them.
UNTRUSTED=/sys/fs/bpf/veer-test-$$-nobody
OPEN_ROOT=/sys/fs/bpf/veer-test-$$-open
LINK_ROOT=/sys/fs/bpf/veer-test-$$-link
# set +e: (exit $rc) hands lab_cleanup the script's status without exiting.
trap 'rc=$?; set +e; rm -rf "$UNTRUSTED" "$OPEN_ROOT"; rm -f "$LINK_ROOT"; (exit $rc); lab_cleanup' EXIT
setpriv --reuid=65534 --regid=65534 --clear-groups mkdir "$UNTRUSTED"
setpriv --reuid=65534 --regid=65534 --clear-groups mkdir "$UNTRUSTED/decoy"
mkdir -m 0777 "$OPEN_ROOT"
chmod 0777 "$OPEN_ROOT"
ln -s "$VEER_PIN_ROOT" "$LINK_ROOT"
for cmd in "get" "weight web v1=100 v2=0" "apply -f $LAB_TMP/same.yaml" "delete web"; do
	# shellcheck disable=SC2086 # cmd is split on purpose
	refused_exact 1 "pin root $UNTRUSTED is owned by uid 65534" \
		"pin root made by nobody: $cmd" --pin-root "$UNTRUSTED" $cmd
done
refused_exact 1 "pin root $OPEN_ROOT is writable by others" \
	"world-writable pin root" --pin-root "$OPEN_ROOT" get
refused_exact 1 "pin root $LINK_ROOT is a symlink" \
	"pin root behind a symlink" --pin-root "$LINK_ROOT" weight web v1=100 v2=0

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

# Last, as they would disturb the lab if veer took the untrusted root.
refused_exact 1 "pin root $UNTRUSTED is owned by uid 65534" \
	"pin root made by nobody: attach" --pin-root "$UNTRUSTED" attach "$NODE_DEV"
refused_exact 1 "pin root $UNTRUSTED is owned by uid 65534" \
	"pin root made by nobody: detach --all" --pin-root "$UNTRUSTED" detach --all
t_check "nothing was created or removed in the untrusted pin root" \
	eval '[[ $(ls -A "$UNTRUSTED") == decoy ]]'

t_end

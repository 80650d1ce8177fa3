#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# veer watch (issue 16) end to end, with real traffic (bursts of the lab's
# count client to web; 100/0 and 0/100 exact):
#
# - A directory laid out as a Kubernetes ConfigMap volume, changed only
#   by cm_write below, which takes the kubelet's atomic-writer steps: a
#   new ..TIMESTAMP directory with the files, a ..data_tmp symlink to it
#   renamed over ..data, the per-key symlinks, the old directory removed.
#   veer watch applies the first version (generation 1, 100/0), then a
#   swap to 0/100 (generation 2).
# - A version with a YAML error, then one whose weights sum to 110: each
#   refused with one timestamped stderr line, the generation stays 2,
#   `veer status` shows the last error, `veer stats -o prometheus` the
#   error count, and traffic keeps 0/100.
# - An emptied ConfigMap (a version with no files): refused in one line,
#   the node keeps 0/100.
# - 20 swaps in quick succession, each with other weights (v1 = 5, 10,
#   ... 100): the maps end on the last (100/0), and the generation grew
#   by at least 1 and by at most 1 + (the burst's duration / the
#   debounce), and by fewer than 20: a version is applied only after a
#   debounce with no event, so the burst was coalesced.
# - A second veer watch on the same pin root refuses in one line, exit 1.
# - SIGTERM: exit 0, the maps keep 100/0, `veer status` says no watch
#   runs.
# - A plain directory, web.yaml rewritten in place by a writer that
#   holds it open: its first half alone is a valid configuration (web at
#   0/100, without web6, which --prune would then delete). While the
#   writer holds the file open, for many debounce periods, nothing is
#   applied (the generation, web's weights and web6 stay); once the
#   rest is written and the file closed, the whole new file is applied.
#   That watch resyncs every second: the resync waits for the writer too,
#   and takes back a `veer weight` made meanwhile.
# - Then customers' Istio and Kubernetes objects in a second file, moved
#   in and later removed: their objects are deleted (kinds DIR no longer
#   holds at all, beyond --prune's scope), web and web6 stay.
# shellcheck disable=SC2317 # the _helpers are called through wait_until
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

NEXACT=${VEER_E2E_WATCH_N:-300}
DEBOUNCE_MS=200
BURST=20

t_begin watch
lab_init jq bpftool
lab_up_variant
lab_start_backends
lab_veer_attach

CM=$LAB_TMP/configmap
SRC=$LAB_TMP/src
PLAIN=$LAB_TMP/plain
mkdir -p "$CM" "$SRC" "$PLAIN"
WSTATE=$VEER_STATE_DIR/pins$VEER_PIN_ROOT/watch.state

# cm_write DIR FILE...: FILEs become DIR's new version, as the kubelet
# writes a ConfigMap volume (pkg/volume/util/atomic_writer.go).
CM_SEQ=0
cm_write() {
	local dir=$1 ts old f
	shift
	CM_SEQ=$((CM_SEQ + 1))
	ts=..$(date -u +%Y_%m_%d_%H_%M_%S).$CM_SEQ
	mkdir "$dir/$ts"
	for f; do cp "$f" "$dir/$ts/${f##*/}"; done
	old=$(readlink "$dir/..data" || true)
	ln -s "$ts" "$dir/..data_tmp"
	mv -T "$dir/..data_tmp" "$dir/..data"
	for f; do
		[[ -L $dir/${f##*/} ]] || ln -s "..data/${f##*/}" "$dir/${f##*/}"
	done
	if [[ -n $old ]]; then rm -rf "${dir:?}/$old"; fi
}

# wstate KEY: a value of the watch's state file ("" when there is none).
wstate() { awk -v k="$1" '$1 == k { print $2 }' "$WSTATE" 2>/dev/null || true; }

# For wait_until: the state's KEY is at least N; web holds WEIGHTS.
_state_at_least() {
	local v
	v=$(wstate "$1")
	[[ -n $v ]] && ((v >= $2))
}
_web_holds() { [[ $(weights_of web) == "$1" ]]; }

# burst_check DESC V1_WEIGHT: a burst to web splits as the weights say.
burst_check() {
	local out=$LAB_TMP/count-$CM_SEQ-$RANDOM.out
	count_burst web "$NEXACT" "$out"
	if split_ok "$out" "$NEXACT" "$2"; then
		t_pass "$1: traffic $2/$((100 - $2)) over $NEXACT connections: $SPLIT_DESC"
	else
		t_fail "$1: traffic $2/$((100 - $2)) over $NEXACT connections: $SPLIT_DESC"
	fi
}

# start_watch DIR LOG [ARGS...]: veer watch in the node's namespace,
# killed at the end by the lab if still running; its PID in WATCH_PID.
start_watch() {
	local dir=$1 log=$2
	shift 2
	lab_bg "$NS_NODE" "$log" "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" watch \
		"$dir" --debounce "$DEBOUNCE_MS" "$@"
	WATCH_PID=$LAB_BG_PID
}

# ---- a ConfigMap volume: first version, then a swap ----

lab_write_config "$SRC/web.yaml" 100
cm_write "$CM" "$SRC/web.yaml"
WLOG=$LAB_TMP/watch.log
start_watch "$CM" "$WLOG"
if wait_until 10000 _state_at_least generation 1; then
	t_pass "configmap: the first version applied (generation $(wstate generation))"
else
	t_fail "configmap: nothing applied within 10 s: $(oneline "$WLOG")"
fi
t_weights "configmap: first version" web "v1=100 v2=0"
burst_check "configmap: first version" 100

lab_write_config "$SRC/web.yaml" 0
cm_write "$CM" "$SRC/web.yaml"
if wait_until 10000 _state_at_least generation 2; then
	t_pass "configmap: swap to 0/100 applied (generation $(wstate generation), $(readlink "$CM/..data"))"
else
	t_fail "configmap: swap not applied within 10 s: $(oneline "$WLOG")"
fi
t_weights "configmap: swapped" web "v1=0 v2=100"
t_weights "configmap: swapped" web6 "v1=0 v2=100"
burst_check "configmap: swapped" 0

# ---- bad versions: refused, logged, the last good one stays ----

printf 'services:\n  - name: web\n    vip: [10.96.0.10\n' >"$SRC/web.yaml"
cm_write "$CM" "$SRC/web.yaml"
if wait_until 10000 _state_at_least errors 1; then
	t_pass "bad YAML: refused ($(wstate errors) error)"
else
	t_fail "bad YAML: no error recorded within 10 s: $(oneline "$WLOG")"
fi
lab_write_config "$SRC/web.yaml" 90
sed -i '0,/weight: 10/s//weight: 20/' "$SRC/web.yaml"
cm_write "$CM" "$SRC/web.yaml"
if wait_until 10000 _state_at_least errors 2; then
	t_pass "weights summing to 110: refused ($(wstate errors) errors)"
else
	t_fail "weights summing to 110: no error recorded within 10 s: $(oneline "$WLOG")"
fi
t_check "bad versions: the generation stays 2" [ "$(wstate generation)" == 2 ]
t_weights "bad versions" web "v1=0 v2=100"
burst_check "bad versions" 0
# Each refusal is one timestamped stderr line (the watcher retries a
# failed version, silently while it fails the same way).
refused=$(grep -Ec '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z veer: watch: refused ' "$WLOG" || true)
if [[ $refused == 2 ]] && grep -q 'route weights sum to 110\|weights sum to 110' "$WLOG"; then
	t_pass "bad versions: one timestamped log line each: $(grep 'refused' "$WLOG" | tail -n1)"
else
	t_fail "bad versions: $refused 'refused' lines, want 2: $(oneline "$WLOG")"
fi
vrun status
if [[ $VRC == 0 ]] && grep -q "^watch:      $CM (pid $WATCH_PID, since " "$VOUT" &&
	grep -q '^            generation 2, last applied ' "$VOUT" &&
	grep -q '^            last error .* (2 in all): .*sum to 110' "$VOUT"; then
	t_pass "veer status shows the watch and its last error: $(grep -A2 '^watch:' "$VOUT" | tr -s ' ' | tr '\n' '|')"
else
	t_fail "veer status (exit $VRC): $(oneline "$VOUT") $(oneline "$VERR")"
fi
vrun status --ready
if [[ $VRC == 0 ]] && [[ $(tail -n 1 "$VOUT") == "ready:      yes" ]]; then
	t_pass "veer status --ready: exit 0, ready (the last good configuration serves)"
else
	t_fail "veer status --ready (exit $VRC): $(tail -n 1 "$VOUT") $(oneline "$VERR")"
fi
vrun stats -o prometheus
if grep -qx 'veer_watch_generation 2' "$VOUT" && grep -qx 'veer_watch_errors_total 2' "$VOUT" &&
	grep -qx 'veer_watch_running 1' "$VOUT" &&
	grep -Eqx 'veer_watch_last_error_timestamp_seconds [0-9]+(\.[0-9]+)?' "$VOUT"; then
	t_pass "veer stats -o prometheus: $(grep '^veer_watch' "$VOUT" | tr '\n' ' ')"
else
	t_fail "veer stats -o prometheus (exit $VRC): $(grep '^veer_watch' "$VOUT" | tr '\n' ' ')"
fi

# ---- an emptied ConfigMap: refused, the node keeps its configuration ----

# A version with no files at all (every key removed, or a volume that
# came up empty) is refused as `apply -f DIR` refuses an empty
# directory: an empty version never empties the node. Emptying it is a
# command (veer delete), not a missing file.
errs=$(wstate errors)
cm_write "$CM"
if wait_until 10000 _state_at_least errors $((errs + 1)) &&
	grep -q 'veer: watch: refused .*no \*\.yaml, \*\.yml or \*\.json files' "$WLOG"; then
	t_pass "an emptied ConfigMap (no files): refused: $(grep 'no \*\.yaml' "$WLOG" | tail -n1 | cut -c1-200)"
else
	t_fail "an emptied ConfigMap: errors $(wstate errors) (was $errs): $(oneline "$WLOG" | tail -c 600)"
fi
t_check "an emptied ConfigMap: the generation stays 2" [ "$(wstate generation)" == 2 ]
t_weights "an emptied ConfigMap" web "v1=0 v2=100"

# ---- a burst of swaps converges on the last one, coalesced ----

gen0=$(wstate generation)
t0=$(now_ms)
for ((i = 1; i <= BURST; i++)); do
	lab_write_config "$SRC/web.yaml" $((5 * i))
	cm_write "$CM" "$SRC/web.yaml"
done
t1=$(now_ms)
if wait_until 10000 _web_holds "v1=100 v2=0" && wait_until 5000 _state_at_least generation $((gen0 + 1)); then
	t_pass "burst: the maps hold the last of $BURST versions (100/0)"
else
	t_fail "burst: web holds '$(weights_of web)', generation $(wstate generation): $(oneline "$WLOG" | tail -c 600)"
fi
# The last version is applied a debounce after the last swap; wait for
# that, then for the generation to stay for two more debounce periods.
_settled() {
	local g
	g=$(wstate generation)
	[[ $g == "${SETTLE_G:-}" ]] && (($(now_ms) - SETTLE_T >= 2 * DEBOUNCE_MS)) && return 0
	[[ $g == "${SETTLE_G:-}" ]] || { SETTLE_G=$g; SETTLE_T=$(now_ms); }
	return 1
}
SETTLE_G=
SETTLE_T=0
wait_until 10000 _settled || true
gen1=$(wstate generation)
applied=$((gen1 - gen0))
most=$((1 + (t1 - t0) / DEBOUNCE_MS))
if ((applied >= 1 && applied <= most && applied < BURST)); then
	t_pass "burst: $BURST versions in $((t1 - t0)) ms applied as $applied (generation $gen0 -> $gen1; at most $most with a ${DEBOUNCE_MS} ms debounce)"
else
	t_fail "burst: $BURST versions in $((t1 - t0)) ms applied as $applied (generation $gen0 -> $gen1), want 1..$most and fewer than $BURST"
fi
burst_check "burst" 100

# ---- one watch per pin root ----

rc=0
timeout 10 nsenter --net="/run/netns/$NS_NODE" -- "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
	watch "$PLAIN" >"$LAB_TMP/second.out" 2>"$LAB_TMP/second.err" || rc=$?
if ((rc == 1)) && [[ $(wc -l <"$LAB_TMP/second.err") == 1 ]] &&
	grep -q "another veer watch runs .*pid $WATCH_PID" "$LAB_TMP/second.err"; then
	t_pass "a second watch refuses: exit 1, $(cat "$LAB_TMP/second.err")"
else
	t_fail "a second watch: exit $rc, $(oneline "$LAB_TMP/second.err")"
fi

# ---- SIGTERM: exit 0, the configuration stays ----

kill -TERM "$WATCH_PID"
rc=0
wait "$WATCH_PID" || rc=$?
if ((rc == 0)) && grep -q 'veer: watch: stopping: the data plane and the last configuration' "$WLOG"; then
	t_pass "SIGTERM: exit 0 ($(tail -n1 "$WLOG"))"
else
	t_fail "SIGTERM: exit $rc: $(tail -n2 "$WLOG" | tr '\n' '|')"
fi
t_weights "after SIGTERM" web "v1=100 v2=0"
burst_check "after SIGTERM" 100
vrun status
if grep -q "^watch:      no watch running (the last one, pid $WATCH_PID, watched $CM)" "$VOUT"; then
	t_pass "after SIGTERM: veer status says no watch runs"
else
	t_fail "after SIGTERM: veer status: $(grep -A2 '^watch' "$VOUT" | tr '\n' '|')"
fi
vrun status --ready
if [[ $VRC == 1 ]] && [[ $(tail -n 1 "$VOUT") == "ready:      no: the pin root's veer watch is not running" ]]; then
	t_pass "after SIGTERM: veer status --ready: exit 1, '$(tail -n 1 "$VOUT" | tr -s ' ')'"
else
	t_fail "after SIGTERM: veer status --ready (exit $VRC): $(tail -n 1 "$VOUT")"
fi

# ---- a plain directory: a file being written is never applied half ----

lab_write_config "$PLAIN/web.yaml" 100
PLOG=$LAB_TMP/watch-plain.log
# A resync every second: it must wait for the writer below too.
start_watch "$PLAIN" "$PLOG" --resync 1
# The state file is the first watch's until this one writes its own.
_plain_started() { [[ $(wstate pid) == "$WATCH_PID" ]] && _state_at_least generation 1; }
wait_until 10000 _plain_started ||
	t_fail "plain: nothing applied within 10 s: $(oneline "$PLOG")"
# The new version: web and web6 both at 0/100. Its first 11 lines are
# web alone, a valid configuration that would prune web6.
lab_write_config "$SRC/new.yaml" 0
head -n 11 "$SRC/new.yaml" >"$SRC/half.yaml"
tail -n +12 "$SRC/new.yaml" >"$SRC/rest.yaml"
if ! grep -q 'name: web6' "$SRC/rest.yaml" || grep -q 'name: web6' "$SRC/half.yaml"; then
	lab_die "the half file must hold web alone"
fi
gen0=$(wstate generation)
err0=$(wstate errors)
# The writer truncates web.yaml and writes its first half, then holds it
# open: the watcher sees the events of both.
exec {wfd}>"$PLAIN/web.yaml"
cat "$SRC/half.yaml" >&"$wfd"
_half_applied() {
	[[ $(wstate generation) != "$gen0" || $(wstate errors) != "$err0" ]] ||
		[[ $(weights_of web) != "v1=100 v2=0" || -z $(weights_of web6) ]]
}
# Fifteen debounce periods with the half file on disk: nothing may move.
if wait_until $((15 * DEBOUNCE_MS)) _half_applied; then
	t_fail "plain: the half-written file was acted on: generation $(wstate generation), errors $(wstate errors), web '$(weights_of web)', web6 '$(weights_of web6)'"
else
	t_pass "plain: the half-written file (web alone, valid) not applied in $((15 * DEBOUNCE_MS)) ms: generation $gen0, web v1=100 v2=0, web6 kept"
fi
cat "$SRC/rest.yaml" >&"$wfd"
exec {wfd}>&-
if wait_until 10000 _state_at_least generation $((gen0 + 1)); then
	t_pass "plain: the completed file applied (generation $(wstate generation))"
else
	t_fail "plain: the completed file not applied within 10 s: $(oneline "$PLOG")"
fi
t_weights "plain: completed" web "v1=0 v2=100"
t_weights "plain: completed" web6 "v1=0 v2=100"
t_check "plain: no error on the way" [ "$(wstate errors)" == "$err0" ]
burst_check "plain: completed" 0

# The resync takes back a change made by another command.
vrun weight web v1=50 v2=50
if [[ $VRC == 0 ]] && wait_until 5000 _web_holds "v1=0 v2=100"; then
	t_pass "plain: veer weight web v1=50 v2=50 taken back by the 1 s resync ($(grep 'resync: applied' "$PLOG" | tail -n1))"
else
	t_fail "plain: after veer weight (exit $VRC), web holds '$(weights_of web)': $(oneline "$PLOG" | tail -c 400)"
fi

# ---- an object a later version lacks goes, even when its kind does ----

# customers' Service, Pods, DestinationRule and VirtualService in one
# file, moved in whole (a rename), then removed: after that DIR holds
# only VeerServices, so --prune's scope no longer covers those kinds;
# the watch deletes them as objects of its earlier version.
CUST=$LAB_ROOT/examples/customers
for f in service.yaml destinationrule.yaml vs-all-v1.yaml; do
	printf -- '---\n'
	cat "$CUST/$f"
done >"$SRC/customers.yaml"
gen0=$(wstate generation)
mv "$SRC/customers.yaml" "$PLAIN/customers.yaml"
if wait_until 10000 _state_at_least generation $((gen0 + 1)); then
	vrun get vs customers
	t_check "plain: customers' objects applied from a new file" [ "$VRC" == 0 ]
else
	t_fail "plain: customers.yaml not applied within 10 s: $(oneline "$PLOG")"
fi
rm "$PLAIN/customers.yaml"
if wait_until 10000 _state_at_least generation $((gen0 + 2)); then
	vrun get all -A
	if ! grep -Eq 'customers' "$VOUT" && grep -Eq 'VeerService +- +web6' "$VOUT" &&
		grep -q 'VirtualService default/customers: deleted' "$PLOG" &&
		[[ -z $(veer get -o json | jq -r '.services[].name | select(startswith("customers"))') ]]; then
		t_pass "plain: customers.yaml removed: its objects deleted, their services gone, web and web6 kept"
	else
		t_fail "plain: customers.yaml removed: stored $(oneline "$VOUT"); log $(oneline "$PLOG" | tail -c 600)"
	fi
else
	t_fail "plain: the removal not applied within 10 s: $(oneline "$PLOG")"
fi
t_weights "plain: after customers went" web "v1=0 v2=100"

kill -TERM "$WATCH_PID"
rc=0
wait "$WATCH_PID" || rc=$?
t_check "plain: SIGTERM exits 0" [ "$rc" == 0 ]

t_check_ct_drained
t_end

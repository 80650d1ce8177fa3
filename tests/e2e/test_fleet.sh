#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fleet mode's etcd foundation (issue 16, part 3), on a 3-member etcd
# cluster on loopback (scripts/lib/etcd.sh) beside the lab's node:
#
# - `veer apply --etcd --cluster` of the customers Service, DestinationRule
#   and canary VirtualService: one line per object, "cluster C: revision
#   N"; etcdctl lists exactly the five object keys, and each value is
#   byte for byte the object's text in the node's own store after a local
#   `veer apply` of the same files; the fleet probe (the watcher's read)
#   sees the five objects at the commit revision N.
# - The same apply again: "no changes", etcd's revision unchanged.
# - A refused apply (a VirtualService routing to subset v3): exit 1, one
#   stderr line with the reason and "nothing was changed", etcd's revision
#   unchanged; --dry-run: "(dry run)" lines, revision unchanged.
# - `veer weight --etcd customers v1=70 v2=30`: the planner's lines, only
#   the VirtualService's key changes in etcd, and its value is what the
#   local `veer weight` with the same arguments stores; a watch started
#   before (the fleet probe) reports exactly that put at that revision;
#   the probe's read at the first apply's revision still sees 90/10's
#   VirtualService at that revision.
# - Member 0 (the first endpoint given) killed: apply and weight still
#   work through the other two, and etcdctl reads their result.
# - apply --etcd --prune of the List without Pod customers-v2: the Pod is
#   pruned, its key gone; the same again: no changes.
# - `veer fleet status`: a node reporting the current revision (ok), one
#   with an error, one whose lease was revoked and one known only by a
#   hand-written "seen" record (silent), one hand-written live key behind
#   by 2 (behind, lag 2); the tally line.
# - A node that keeps reporting renews its lease (one-shot keepalives);
#   its lease revoked under it, it is granted a new one and its key is
#   back.
# - The watch from a compacted revision reports the compaction (exit 3,
#   "compacted: oldest revision R") for the caller's full resync.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"
. "$LAB_ROOT/scripts/lib/etcd.sh"

CUST=$LAB_ROOT/examples/customers
PROBE=$LAB_BUILD/veer-fleet-probe

t_begin fleet
lab_init jq curl etcd etcdctl "$PROBE"
etcd_cluster_start "$LAB_TMP/etcd"
EP=$ETCD_ENDPOINTS
CL=t$$
PFX=/veer/$CL
STORE=$VEER_STATE_DIR/pins$VEER_PIN_ROOT

# fleet ARGS...: veer on the fleet (no BPF: the caller's namespace).
# shellcheck disable=SC2317 # called through lab_run
fleet() { "$VEER_BIN" "$@" --etcd "$EP" --cluster "$CL"; }
etcd_revision() { etcdctl_v3 get / --prefix --keys-only -w json | jq -r '.header.revision'; }
# "key mod_revision" of every object key, sorted.
object_revisions() {
	etcdctl_v3 get "$PFX/objects/" --prefix -w json |
		jq -r '.kvs[]? | "\(.key | @base64d) \(.mod_revision)"' | sort
}
etcd_value() { etcdctl_v3 get "$1" -w json | jq -j '.kvs[0].value | @base64d'; }
# store_text KIND NS NAME: the object's text in the node's store.
store_text() {
	local f
	f=$(grep -l "^--- # $1 $2 $3 " "$STORE"/objects/*.yaml) || return 1
	awk -v rec="--- # $1 $2 $3 " 'index($0, rec) == 1 { on = 1; next }
		/^--- # / { on = 0 } on' "$f"
}
same_as_store() {
	local kind=$1 ns=$2 name=$3
	etcd_value "$PFX/objects/$kind/$ns/$name" >"$LAB_TMP/etcd-value"
	store_text "$kind" "$ns" "$name" >"$LAB_TMP/store-value" &&
		cmp -s "$LAB_TMP/etcd-value" "$LAB_TMP/store-value"
}

# The node, whose store says what a local apply keeps.
lab_up_variant
lab_veer_attach

FILES=(-f "$CUST/service.yaml" -f "$CUST/destinationrule.yaml" -f "$CUST/vs-canary-90-10.yaml")
OBJECTS=(
	"DestinationRule default customers"
	"Pod default customers-v1"
	"Pod default customers-v2"
	"Service default customers"
	"VirtualService default customers"
)

# ---- 1. apply --etcd, read back --------------------------------------------

lab_run fleet apply "${FILES[@]}"
REV=$(sed -n "s/^cluster $CL: revision \([0-9]*\)$/\1/p" "$VOUT")
if ((VRC == 0)) && [[ -n $REV ]] && grep -qx 'VirtualService default/customers: created' "$VOUT" &&
	grep -q '^service customers.default.svc.cluster.local:80: created' "$VOUT"; then
	t_pass "apply --etcd: exit 0, objects created, revision $REV"
else
	t_fail "apply --etcd: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

printf '%s\n' "${OBJECTS[@]}" | awk -v p="$PFX/objects/" '{ print p $1 "/" $2 "/" $3 }' |
	sort >"$LAB_TMP/keys-want"
etcdctl_v3 get "$PFX/objects/" --prefix --keys-only | sed '/^$/d' | sort >"$LAB_TMP/keys-got"
t_check "etcdctl lists exactly the five object keys" cmp -s "$LAB_TMP/keys-want" "$LAB_TMP/keys-got"

veer apply "${FILES[@]}" >"$LAB_TMP/local-apply.log" 2>&1 || lab_die "local apply: $(oneline "$LAB_TMP/local-apply.log")"
bad=()
for o in "${OBJECTS[@]}"; do
	# shellcheck disable=SC2086 # three words
	same_as_store $o || bad+=("$o")
done
if ((${#bad[@]} == 0)); then
	t_pass "each etcd value is the object's text in the node's store, byte for byte"
else
	t_fail "etcd values differ from the store for: ${bad[*]}"
fi

lab_run "$PROBE" read "$EP" "$CL"
if ((VRC == 0)) && grep -q "commit $REV objects 5$" "$VOUT"; then
	t_pass "fleet read (the watcher's input): 5 objects at commit revision $REV"
else
	t_fail "fleet read: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

before=$(etcd_revision)
lab_run fleet apply "${FILES[@]}"
if ((VRC == 0)) && [[ $(cat "$VOUT") == "no changes" ]] && [[ $(etcd_revision) == "$before" ]]; then
	t_pass "the same apply again: 'no changes', etcd revision unchanged"
else
	t_fail "apply again: exit $VRC, '$(oneline "$VOUT")', revision $before -> $(etcd_revision)"
fi

# More objects in one change than etcd takes in one transaction (its
# --max-txn-ops, 128 by default): refused in one line that says what to
# do, nothing written. (Services with no Pods: a note each on stderr.)
for ((i = 1; i <= 130; i++)); do
	printf -- '---\napiVersion: v1\nkind: Service\nmetadata:\n  name: many-%d\n  namespace: bulk\nspec:\n  clusterIP: 10.97.%d.%d\n  selector:\n    app: many-%d\n  ports:\n  - name: http\n    port: 80\n' \
		"$i" $((i / 200)) $((i % 200 + 1)) "$i"
done >"$LAB_TMP/many.yaml"
before=$(etcd_revision)
lab_run fleet apply -f "$LAB_TMP/many.yaml"
grep -v '^veer: apply: note: ' "$VERR" >"$LAB_TMP/many.err" || true
if ((VRC != 0)) && [[ $(wc -l <"$LAB_TMP/many.err") == 1 ]] &&
	grep -q 'too many operations in txn request (131 writes and 131 compares in one transaction: start etcd with --max-txn-ops 131 or more, or apply in parts; nothing was written)$' "$LAB_TMP/many.err" &&
	[[ $(etcd_revision) == "$before" ]]; then
	t_pass "130 Services in one apply --etcd: exit $VRC, one line: '$(cut -c1-60 "$LAB_TMP/many.err")...$(tail -c 120 "$LAB_TMP/many.err" | tr -d '\n')', etcd revision unchanged"
else
	t_fail "130 Services: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")', revision $before -> $(etcd_revision)"
fi

# ---- 2. refused, dry run ---------------------------------------------------

sed 's/subset: v2/subset: v3/' "$CUST/vs-canary-90-10.yaml" >"$LAB_TMP/vs-v3.yaml"
before=$(etcd_revision)
lab_run fleet apply -f "$LAB_TMP/vs-v3.yaml"
if ((VRC == 1)) && [[ ! -s $VOUT && $(awk 'END { print NR }' "$VERR") == 1 ]] &&
	grep -q 'subset v3 is not defined by DestinationRule default/customers.*(nothing was changed)' "$VERR" &&
	[[ $(etcd_revision) == "$before" ]]; then
	t_pass "refused apply: exit 1, '$(cat "$VERR")', etcd revision unchanged"
else
	t_fail "refused apply: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")', revision $before -> $(etcd_revision)"
fi

lab_run fleet apply -f "$CUST/vs-50-50.yaml" --dry-run
if ((VRC == 0)) && grep -q 'VirtualService default/customers: configured (dry run)' "$VOUT" &&
	grep -q 'v1 90 -> 50; v2 10 -> 50 (dry run)' "$VOUT" && [[ $(etcd_revision) == "$before" ]]; then
	t_pass "apply --etcd --dry-run: the lines, nothing written"
else
	t_fail "dry run: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

# ---- 3. weight --etcd, watched ---------------------------------------------

object_revisions >"$LAB_TMP/revs-before"
from=$(($(etcd_revision) + 1))
"$PROBE" watch "$EP" "$CL" "$from" 1 15 >"$LAB_TMP/watch.out" 2>"$LAB_TMP/watch.err" &
WATCH_PID=$!
LAB_PIDS+=("$WATCH_PID")
# The watch is created before the weight changes (it starts at $from
# anyway: nothing is missed either way).
lab_run fleet weight customers v1=70 v2=30
WREV=$(sed -n "s/^cluster $CL: revision \([0-9]*\)$/\1/p" "$VOUT")
object_revisions >"$LAB_TMP/revs-after"
changed=$(diff "$LAB_TMP/revs-before" "$LAB_TMP/revs-after" | grep -c '^>' || true)
if ((VRC == 0)) && [[ -n $WREV ]] &&
	grep -qx 'service customers.default.svc.cluster.local:80: v1 90 -> 70; v2 10 -> 30' "$VOUT" &&
	grep -qx 'service customers.default.svc.cluster.local:80/ipv6: v1 90 -> 70; v2 10 -> 30' "$VOUT" &&
	((changed == 1)) && grep -q "/VirtualService/default/customers $WREV\$" "$LAB_TMP/revs-after"; then
	t_pass "weight --etcd: both entries 90/10 -> 70/30, only the VirtualService's key changed (revision $WREV)"
else
	t_fail "weight --etcd: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")', $changed keys changed"
fi
veer weight customers v1=70 v2=30 >"$LAB_TMP/local-weight.log" 2>&1 || lab_die "local weight: $(oneline "$LAB_TMP/local-weight.log")"
t_check "the VirtualService in etcd is what the local veer weight stores" \
	same_as_store VirtualService default customers

wait "$WATCH_PID" && wrc=0 || wrc=$?
if ((wrc == 0)) && [[ $(cat "$LAB_TMP/watch.out") == "revision $WREV: put VirtualService default customers" ]]; then
	t_pass "watch from revision $from: '$(cat "$LAB_TMP/watch.out")'"
else
	t_fail "watch: exit $wrc, '$(oneline "$LAB_TMP/watch.out")' '$(oneline "$LAB_TMP/watch.err")'"
fi

# The watcher's full read, at an older revision: as the first apply left it.
lab_run "$PROBE" read "$EP" "$CL" "$REV"
if ((VRC == 0)) && grep -q "^revision $REV commit $REV objects 5$" "$VOUT" &&
	grep -qx "VirtualService default customers [0-9]* $REV" "$VOUT"; then
	t_pass "fleet read at revision $REV: the configuration as the first apply left it"
else
	t_fail "fleet read at $REV: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

# ---- 4. one member down ----------------------------------------------------

etcd_member_kill 0
# (veer waits out an election by itself, once; the wait here keeps the
# check about failing over, not about election timing.)
wait_until 10000 etcdctl_v3 endpoint health >/dev/null 2>&1 ||
	t_fail "the two members left have no quorum"
lab_run fleet apply -f "$CUST/vs-50-50.yaml"
arc=$VRC
aout=$(oneline "$VOUT")
lab_run fleet weight customers v1=20 v2=80
if ((arc == 0 && VRC == 0)) && [[ $aout == *"VirtualService default/customers: configured"* ]] &&
	grep -q 'v1 50 -> 20; v2 50 -> 80' "$VOUT" &&
	etcd_value "$PFX/objects/VirtualService/default/customers" | grep -q 'weight: 80'; then
	t_pass "member 0 killed: apply and weight go through the other members"
else
	t_fail "member 0 killed: apply exit $arc '$aout', weight exit $VRC '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

# ---- 4b. --prune, as locally ---------------------------------------------

# The Service and Pod v1 of the List: Pod v2 is gone from the "cluster".
head -n 60 "$CUST/service.yaml" >"$LAB_TMP/no-v2.yaml"
lab_run fleet apply --prune -f "$LAB_TMP/no-v2.yaml"
pout=$(oneline "$VOUT")
prc=$VRC
left=$(etcdctl_v3 get "$PFX/objects/Pod/default/customers-v2" --keys-only | sed '/^$/d')
lab_run fleet apply --prune -f "$LAB_TMP/no-v2.yaml"
if ((prc == 0 && VRC == 0)) && [[ $pout == *"Pod default/customers-v2: pruned"* && -z $left ]] &&
	[[ $(cat "$VOUT") == "no changes" ]]; then
	t_pass "apply --etcd --prune: Pod customers-v2 pruned (its key gone); again: no changes"
else
	t_fail "apply --prune: exit $prc '$pout', key left '$left', again exit $VRC '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

# ---- 5. fleet status -------------------------------------------------------

CONF=$("$PROBE" read "$EP" "$CL" | awk 'NR == 1 { print $4 }')
now=$(date +%s)
"$PROBE" report "$EP" "$CL" node-a "$CONF" >/dev/null
"$PROBE" report "$EP" "$CL" node-b "$CONF" "apply refused: boom" >/dev/null
lease=$("$PROBE" report "$EP" "$CL" node-d "$CONF" | awk '{ print $2 }')
etcdctl_v3 lease revoke "$lease" >/dev/null
etcdctl_v3 put "$PFX/seen/node-c" \
	"{\"node\":\"node-c\",\"applied_revision\":3,\"time\":$((now - 100))}" >/dev/null
elease=$(etcdctl_v3 lease grant 60 | awk '{ print $2 }')
etcdctl_v3 put --lease="$elease" "$PFX/nodes/node-e" \
	"{\"node\":\"node-e\",\"applied_revision\":$((CONF - 2)),\"time\":$now}" >/dev/null
lab_run fleet fleet status
row() { awk -v n="$1" '$1 == n' "$VOUT"; }
if ((VRC == 3)) && grep -qx "cluster $CL: configuration revision $CONF" "$VOUT" &&
	[[ $(row node-a | awk '{ print $2, $3, $4 }') == "$CONF 0 ok" ]] &&
	[[ $(row node-b | awk '{ print $4 }') == error ]] && row node-b | grep -q 'apply refused: boom' &&
	[[ $(row node-c | awk '{ print $2, $4 }') == "3 silent" ]] &&
	[[ $(row node-d | awk '{ print $4 }') == silent ]] &&
	[[ $(row node-e | awk '{ print $3, $4 }') == "2 behind" ]] &&
	grep -qx '5 nodes: 1 ok, 1 behind, 1 error, 2 silent' "$VOUT"; then
	t_pass "fleet status: ok, error, behind by 2, silent (lease revoked; seen only); exit 3 (nodes disagree)"
else
	t_fail "fleet status: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi
cat "$VOUT" >&2

# ---- 6. a node's lease renewed, and granted anew once lost -----------------

# The lease of node-f's key, in hex as etcdctl takes it ('' when none).
node_lease() {
	local dec
	dec=$(etcdctl_v3 get "$PFX/nodes/node-f" -w fields | awk -F' : ' '$1 == "\"Lease\"" { print $2 }')
	[[ -n $dec && $dec != 0 ]] && printf '%x\n' "$dec"
	return 0
}
# shellcheck disable=SC2317 # called through wait_until
_node_f_leased() { [[ -n $(node_lease) ]]; }
"$PROBE" report "$EP" "$CL" node-f "$CONF" "" 4 >"$LAB_TMP/report-f.out" 2>"$LAB_TMP/report-f.err" &
RPID=$!
LAB_PIDS+=("$RPID")
wait_until 5000 _node_f_leased || true
first=$(node_lease)
[[ -n $first ]] && etcdctl_v3 lease revoke "$first" >/dev/null
wait "$RPID" && rrc=0 || rrc=$?
second=$(node_lease)
if ((rrc == 0)) && [[ -n $first && -n $second && $second != "$first" ]] &&
	[[ $(cat "$LAB_TMP/report-f.out") == "lease $second" ]]; then
	t_pass "a reporting node renews its lease each second; revoked, it is granted a new one ($first -> $second)"
else
	t_fail "lease renewal: exit $rrc, lease '$first' -> '$second', '$(oneline "$LAB_TMP/report-f.out")' '$(oneline "$LAB_TMP/report-f.err")'"
fi

# ---- 7. compaction ---------------------------------------------------------

etcdctl_v3 compact "$(etcd_revision)" >/dev/null
lab_run "$PROBE" watch "$EP" "$CL" 2 1 10
if ((VRC == 3)) && grep -q '^compacted: oldest revision [0-9]' "$VOUT"; then
	t_pass "watch from a compacted revision: exit 3, '$(cat "$VOUT")'"
else
	t_fail "watch from a compacted revision: exit $VRC, '$(oneline "$VOUT")' '$(oneline "$VERR")'"
fi

t_end

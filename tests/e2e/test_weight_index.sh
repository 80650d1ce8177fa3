#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `veer weight` finds an Istio host through the object store's index
# (user/hostindex.h), not by reading the whole store or scanning the
# maps' names; the maps only (no traffic):
#
# - cart in namespace shop: a dual-stack Service with two ports, so four
#   entries (cart.shop.svc.cluster.local:80, :80/ipv6, :8080, :8080/ipv6);
#   cart in namespace lab: one entry. Both routed by a VirtualService.
# - The index is written with the apply (DIR/index/*.yaml: the hosts,
#   the short name cart with both hosts, the "complete" record).
# - Proof that the weight path reads neither the whole store nor other
#   objects: an object shard that holds none of the host's objects is
#   made unreadable (mode 0666: the store refuses it); `veer weight cart
#   -n shop` still changes all four entries and the stored VirtualService,
#   and `veer weight cart.lab` its one entry. A native service's change
#   (its own shard) works the same way. The shard is put back.
# - By host, by entry name (one entry only), by NAME.NAMESPACE, by short
#   name with -n: the right entries change, the others do not.
# - `veer weight cart` (both namespaces) is refused as ambiguous, with
#   today's message; refused changes (ambiguous, -n nosuch, weights
#   summing to 110, unknown subset, no VirtualService for a host) leave
#   `veer get -o json` and every file under $VEER_STATE_DIR byte-identical.
# - After `veer delete vs`, the index says the host has no route: weight
#   is refused with the same message as the scan gave; after the store's
#   index is removed, weight works the old way (scan) and writes the index
#   back, as does the next apply (even one with no changes).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

t_begin weight_index
lab_init jq sha256sum
lab_up_variant
lab_veer_attach

STORE=$VEER_STATE_DIR/pins$VEER_PIN_ROOT
SHOP=cart.shop.svc.cluster.local
LABH=cart.lab.svc.cluster.local

# cart_yaml NS VIP4 VIP6 PORTS...: Service (dual-stack when VIP6 is not
# "-"), two pods v1/v2, DestinationRule, VirtualService 80/20.
cart_yaml() {
	local ns=$1 vip4=$2 vip6=$3 p
	shift 3
	cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: $ns}
spec:
  selector: {app: cart}
  clusterIP: $vip4
EOF
	if [[ $vip6 != - ]]; then
		printf '  clusterIPs: [%s, %s]\n  ipFamilyPolicy: RequireDualStack\n' "$vip4" "$vip6"
	fi
	echo "  ports:"
	for p in "$@"; do
		printf '    - {name: p%s, port: %s, protocol: TCP, targetPort: %s}\n' "$p" "$p" "$BACKEND_PORT"
	done
	for v in 1 2; do
		cat <<EOF
---
apiVersion: v1
kind: Pod
metadata: {name: cart-v$v, namespace: $ns, labels: {app: cart, version: v$v}}
status:
  phase: Running
  podIP: 10.10.$((v + 1)).2
  podIPs: [{ip: 10.10.$((v + 1)).2}, {ip: "fd10:$((v + 1))::2"}]
EOF
	done
	cat <<EOF
---
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata: {name: cart, namespace: $ns}
spec:
  host: cart.$ns.svc.cluster.local
  subsets:
    - {name: v1, labels: {version: v1}}
    - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1alpha3
kind: VirtualService
metadata: {name: cart, namespace: $ns}
spec:
  hosts: [cart.$ns.svc.cluster.local]
  http:
    - route:
        - destination: {host: cart.$ns.svc.cluster.local, subset: v1}
          weight: 80
        - destination: {host: cart.$ns.svc.cluster.local, subset: v2}
          weight: 20
EOF
}

cart_yaml shop 10.96.1.10 fd00:96::1:10 80 8080 >"$LAB_TMP/shop.yaml"
cart_yaml lab 10.96.2.10 - 80 >"$LAB_TMP/lab.yaml"
cat >"$LAB_TMP/native.yaml" <<EOF
services:
  - name: web
    vip: 10.96.3.10
    port: 80
    subsets:
      - {name: v1, weight: 80, backends: ["$V1_V4:$BACKEND_PORT"]}
      - {name: v2, weight: 20, backends: ["$V2_V4:$BACKEND_PORT"]}
EOF

vrun apply -f "$LAB_TMP/shop.yaml" -f "$LAB_TMP/lab.yaml" -f "$LAB_TMP/native.yaml"
if ((VRC == 0)); then
	t_pass "apply: cart in shop and lab, web: exit 0"
else
	t_fail "apply: exit $VRC: $(oneline "$VERR")"
fi

SHOP_ENTRIES=("$SHOP:80" "$SHOP:80/ipv6" "$SHOP:8080" "$SHOP:8080/ipv6")
names=$(veer get -o json | jq -r '[.services[].name] | sort | join(" ")')
want=$(printf '%s\n' "${SHOP_ENTRIES[@]}" "$LABH" web | sort | tr '\n' ' ' | sed 's/ $//')
if [[ $names == "$want" ]]; then
	t_pass "the maps hold the six entries: $names"
else
	t_fail "entries: '$names', want '$want'"
fi

# ---- the index ------------------------------------------------------------

index_records() { cat "$STORE"/index/*.yaml 2>/dev/null | grep '^--- # ' | awk '{ print $3, $5 }' | sort | tr '\n' ','; }
got=$(index_records)
want="~host $LABH,~host $SHOP,~index complete,~short cart,"
if [[ $got == "$want" ]]; then
	t_pass "the apply wrote the index: $got"
else
	t_fail "index records '$got', want '$want'"
fi
if cat "$STORE"/index/*.yaml | grep -qx "$LABH" && cat "$STORE"/index/*.yaml | grep -qx "$SHOP"; then
	t_pass "the short name cart lists both hosts"
else
	t_fail "the short name's record: $(cat "$STORE"/index/*.yaml | tr '\n' '|')"
fi

# shard_of KIND NS NAME: the object shard (from the store's record lines).
shard_of() {
	grep -l -- "^--- # $1 $2 $3 " "$STORE"/objects/*.yaml
}

# ---- weight by index with an unrelated shard unreadable -------------------

# A shard that holds none of the objects the changes below read or write.
used=$( (shard_of VirtualService shop cart; shard_of VirtualService lab cart
	shard_of VeerService - web) | sort -u)
victim=
for f in "$STORE"/objects/*.yaml; do
	grep -qxF "$f" <<<"$used" || { victim=$f; break; }
done
[[ -n $victim ]] || lab_die "no shard without the changed objects"
chmod 0666 "$victim"
vrun get vs -A
if ((VRC != 0)) && grep -q "$(basename "$victim")" "$VERR"; then
	t_pass "with $(basename "$victim") unreadable, reading the whole store fails: $(oneline "$VERR")"
else
	t_fail "with $(basename "$victim") mode 0666, veer get vs -A: exit $VRC: $(oneline "$VERR")"
fi

vrun weight cart -n shop v1=60 v2=40
if ((VRC == 0)); then
	t_pass "veer weight cart -n shop v1=60 v2=40 (by index, whole store unreadable): exit 0: $(oneline "$VOUT")"
else
	t_fail "veer weight cart -n shop v1=60 v2=40: exit $VRC: $(oneline "$VERR")"
fi
for e in "${SHOP_ENTRIES[@]}"; do
	t_weights "weight cart -n shop" "$e" "v1=60 v2=40"
done
t_weights "weight cart -n shop, other namespace untouched" "$LABH" "v1=80 v2=20"

vrun weight cart.lab v1=30 v2=70
((VRC == 0)) && t_pass "veer weight cart.lab v1=30 v2=70: exit 0" ||
	t_fail "veer weight cart.lab: exit $VRC: $(oneline "$VERR")"
t_weights "weight cart.lab" "$LABH" "v1=30 v2=70"
t_weights "weight cart.lab, shop untouched" "$SHOP:80" "v1=60 v2=40"

vrun weight "$SHOP:8080/ipv6" v1=100 v2=0
((VRC == 0)) && t_pass "veer weight $SHOP:8080/ipv6 v1=100 v2=0: exit 0" ||
	t_fail "veer weight $SHOP:8080/ipv6: exit $VRC: $(oneline "$VERR")"
t_weights "weight by entry name" "$SHOP:8080/ipv6" "v1=100 v2=0"
t_weights "weight by entry name, the host's other entries untouched" "$SHOP:8080" "v1=60 v2=40"

vrun weight "$SHOP" v1=50 v2=50
((VRC == 0)) && t_pass "veer weight $SHOP v1=50 v2=50: exit 0" ||
	t_fail "veer weight $SHOP: exit $VRC: $(oneline "$VERR")"
for e in "${SHOP_ENTRIES[@]}"; do
	t_weights "weight by host" "$e" "v1=50 v2=50"
done

vrun weight web v1=90 v2=10
((VRC == 0)) && t_pass "veer weight web v1=90 v2=10 (native): exit 0" ||
	t_fail "veer weight web: exit $VRC: $(oneline "$VERR")"
t_weights "weight web" web "v1=90 v2=10"
chmod 0600 "$victim"

# The writes went through to the stored VirtualServices.
stored() {
	veer get vs cart -n "$1" -o json | jq -r '[(if .kind == "List" then
		.items[] else . end) | .spec.http[-1].route[] |
		"\(.destination.subset)=\(.weight)"] | sort | join(" ")'
}
if [[ $(stored shop) == "v1=50 v2=50" && $(stored lab) == "v1=30 v2=70" ]]; then
	t_pass "stored VirtualServices: shop/cart 50/50, lab/cart 30/70"
else
	t_fail "stored VirtualServices: shop/cart '$(stored shop)', lab/cart '$(stored lab)'"
fi

# ---- refused changes change nothing ---------------------------------------

# state FILE: `veer get -o json` and every file under the state directory.
state() {
	{
		veer get -o json | sha256sum
		(cd "$VEER_STATE_DIR" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
	} >"$1"
}

# t_refused DESC ERR_RE ARGS...: veer weight ARGS fails with one line on
# stderr matching ERR_RE and leaves the state byte-identical.
t_refused() {
	local desc=$1 re=$2
	shift 2
	state "$LAB_TMP/before"
	vrun weight "$@"
	state "$LAB_TMP/after"
	if ((VRC != 0)) && (($(wc -l <"$VERR") == 1)) && grep -qE -- "$re" "$VERR" &&
		cmp -s "$LAB_TMP/before" "$LAB_TMP/after"; then
		t_pass "$desc: exit $VRC, '$(cat "$VERR")', maps and store unchanged"
	else
		t_fail "$desc: exit $VRC, stderr '$(oneline "$VERR")' (want /$re/), state $(cmp -s "$LAB_TMP/before" "$LAB_TMP/after" && echo unchanged || echo CHANGED)"
	fi
}

t_refused "veer weight cart (two namespaces)" \
	"^veer: weight: 'cart' is ambiguous: $LABH and $SHOP; add -n NAMESPACE\$" cart v1=10 v2=90
t_refused "veer weight cart -n nosuch" \
	"^veer: weight: no service named 'cart' in namespace nosuch\$" cart -n nosuch v1=10 v2=90
t_refused "veer weight nosuch" "^veer: weight: no service named 'nosuch'\$" nosuch v1=10 v2=90
t_refused "veer weight cart -n shop v1=90 v2=20" \
	"subset weights sum to 110, must be 100 \(nothing was changed\)\$" cart -n shop v1=90 v2=20
t_refused "veer weight cart.shop v3=100" "^veer: weight: service $SHOP:80 has no subset 'v3'\$" \
	cart.shop v3=100

# ---- the index follows deletes; without it, the scan ----------------------

vrun delete vs cart -n lab
((VRC == 0)) && t_pass "veer delete vs cart -n lab: exit 0" ||
	t_fail "veer delete vs cart -n lab: exit $VRC: $(oneline "$VERR")"
# Without a route its entry has one subset for all pods: the same refusal
# through the index as through the scan.
t_refused "veer weight cart.lab without its VirtualService" "^veer: weight: " \
	cart.lab all=100
by_index=$(cat "$VERR")
rm -rf "$STORE/index"
t_refused "veer weight cart.lab without the index (scan)" "^veer: weight: " \
	cart.lab all=100
if [[ $(cat "$VERR") == "$by_index" ]]; then
	t_pass "the same message by index and by scan: $by_index"
else
	t_fail "by index: '$by_index', by scan: '$(cat "$VERR")'"
fi
vrun weight cart -n shop v1=70 v2=30
((VRC == 0)) && t_pass "without the index: veer weight cart -n shop: exit 0 (scan)" ||
	t_fail "without the index: veer weight cart -n shop: exit $VRC: $(oneline "$VERR")"
t_weights "without the index" "$SHOP:8080/ipv6" "v1=70 v2=30"
got=$(index_records)
want="~host $LABH,~host $SHOP,~index complete,~short cart,"
if [[ $got == "$want" ]]; then
	t_pass "the weight change that read the whole store wrote the index back: $got"
else
	t_fail "after a weight change by scan: index '$got', want '$want'"
fi
vrun apply -f "$LAB_TMP/native.yaml"
rm -rf "$STORE/index"
vrun apply -f "$LAB_TMP/native.yaml"
got=$(index_records)
want="~host $LABH,~host $SHOP,~index complete,~short cart,"
if ((VRC == 0)) && [[ $(cat "$VOUT") == "no changes" && $got == "$want" ]]; then
	t_pass "an apply with no changes writes the index back: $got"
else
	t_fail "apply: exit $VRC, '$(oneline "$VOUT")', index '$got' (want '$want')"
fi

t_end

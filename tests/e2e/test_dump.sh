#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A cluster dump (`kubectl get svc,pods -A -o yaml`, made by
# scripts/gen-k8s-dump.sh: full objects, managedFields and all) larger
# than one object may be (16 MiB), piped into `veer apply --prune -f -`,
# with a Service of the lab's own (web, 10.96.0.60 / fd00:96::60, its two
# Pods on the lab's v1 and v2 backends) after it in the same stream:
#
# - the apply reads it object by object and stores every object; the
#   store holds each Pod as far as veer reads it (no managedFields, no
#   annotations; podIP kept);
# - real connections to web's VIPs spread over both Pods (50/50 bounds);
# - the same stream again: "no changes", no file of the store touched;
# - the stream without web-v2: "Pod default/web-v2: pruned", nothing
#   else changes, connections all to v1;
# - a stream with one bad Pod at its very end (an IP that is no IP): exit
#   1, one stderr line at that Pod's line and column in the stream (far
#   past the first 64 KiB, which the reader no longer holds), maps and
#   store byte-identical.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

# 460 Services x 4 Pods: about 18 MB, over the 16 MiB of one object.
DUMP_SERVICES=${VEER_E2E_DUMP_SERVICES:-460}
DUMP_PODS=${VEER_E2E_DUMP_PODS:-4}
N=${VEER_E2E_DUMP_N:-600}
WEB_VIP4=10.96.0.60
WEB_VIP6=fd00:96::60
WEB_HOST=web.default.svc.cluster.local
ONE_OBJECT=16777216

t_begin dump
lab_init jq sha256sum awk "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends "$BACKEND_PORT"
lab_veer_attach

store_sums() {
	find "$VEER_STATE_DIR" -type f -exec sha256sum {} + 2>/dev/null |
		sort -k2 >"$1" || true
}

# web_objects [v2]: web's Service and its v1 Pod (and v2 Pod) as List items
# of the lab's backends, to append to the dump's items.
web_objects() {
	cat <<EOF
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default, labels: {app: web}}
spec:
  clusterIP: $WEB_VIP4
  clusterIPs: [$WEB_VIP4, "$WEB_VIP6"]
  ports: [{name: http, port: 80, protocol: TCP, targetPort: http}]
  selector: {app: web}
EOF
	local v ip4 ip6
	for v in v1 ${1:-}; do
		ip4=$V1_V4 ip6=$V1_V6
		[[ $v == v2 ]] && ip4=$V2_V4 ip6=$V2_V6
		cat <<EOF
---
apiVersion: v1
kind: Pod
metadata:
  name: web-$v
  namespace: default
  labels: {app: web, version: $v}
  managedFields: [{manager: kubelet, operation: Update}]
spec:
  containers:
  - name: app
    ports: [{containerPort: $BACKEND_PORT, name: http, protocol: TCP}]
status:
  conditions: [{type: Ready, status: "True"}]
  phase: Running
  podIP: $ip4
  podIPs: [{ip: $ip4}, {ip: "$ip6"}]
EOF
	done
}

DUMP=$LAB_TMP/dump.yaml
"$LAB_ROOT/scripts/gen-k8s-dump.sh" "$DUMP_SERVICES" "$DUMP_PODS" >"$DUMP"
bytes=$(stat -c %s "$DUMP")
t_check "the dump ($bytes bytes) is larger than one object may be" \
	test "$bytes" -gt "$ONE_OBJECT"
dump_objects=$((DUMP_SERVICES * (1 + DUMP_PODS)))

{ cat "$DUMP"; web_objects v2; } >"$LAB_TMP/both.yaml"
vrun apply --prune -f - <"$LAB_TMP/both.yaml"
if ((VRC == 0)) && grep -qx "Service ns-0/svc0: created" "$VOUT" &&
	grep -qx "Pod default/web-v2: created" "$VOUT"; then
	t_pass "apply --prune -f - of the dump and web: exit 0, objects created"
else
	t_fail "apply --prune -f - of the dump and web: exit $VRC, $(head -c 300 "$VERR")"
fi
want=$((dump_objects + 3))
got=$(veer status 2>/dev/null | sed -n 's/^store: .*, \([0-9]*\) objects$/\1/p')
t_check "the store holds every object ($got, want $want)" test "${got:-0}" = "$want"

# Pods are stored as far as veer reads them.
veer get pod -A -o yaml >"$LAB_TMP/pods.yaml" 2>&1 || true
kept=$(grep -c "podIP: " "$LAB_TMP/pods.yaml" || true)
dropped=$(grep -c -e "managedFields" -e "annotations:" -e "nodeName" "$LAB_TMP/pods.yaml" || true)
t_check "stored Pods keep podIP ($kept of $((DUMP_SERVICES * DUMP_PODS + 2))) and drop managedFields, annotations, nodeName ($dropped left)" \
	test "$kept" = $((DUMP_SERVICES * DUMP_PODS + 2)) -a "$dropped" = 0

# bursts ADDR V1_WEIGHT DESC: N connections to ADDR:80 split so.
burst() {
	local out=$LAB_TMP/burst-$RANDOM.out
	lab_http_client count --addr "$1" --port 80 -n "$N" -c 32 \
		--timeout-ms 5000 >"$out" 2>"$out.err" || true
	if split_ok "$out" "$N" "$2"; then
		t_pass "$3: $2/$((100 - $2)) over $N connections to $1: $SPLIT_DESC"
	else
		t_fail "$3: $2/$((100 - $2)) over $N connections to $1: $SPLIT_DESC ($(oneline "$out.err" | head -c 200))"
	fi
}
burst "$WEB_VIP4" 50 "web from the dump"
burst "$WEB_VIP6" 50 "web from the dump (IPv6)"

store_sums "$LAB_TMP/sums.before"
snapshot "$LAB_TMP/maps.before"
vrun apply --prune -f - <"$LAB_TMP/both.yaml"
store_sums "$LAB_TMP/sums.after"
snapshot "$LAB_TMP/maps.after"
if ((VRC == 0)) && [[ $(cat "$VOUT") == "no changes" ]] &&
	cmp -s "$LAB_TMP/sums.before" "$LAB_TMP/sums.after" &&
	cmp -s "$LAB_TMP/maps.before" "$LAB_TMP/maps.after"; then
	t_pass "the same dump again: no changes, store and maps as they were"
else
	t_fail "the same dump again: exit $VRC, '$(head -c 300 "$VOUT")'"
fi

{ cat "$DUMP"; web_objects; } >"$LAB_TMP/pruned.yaml"
vrun apply --prune -f - <"$LAB_TMP/pruned.yaml"
if ((VRC == 0)) && [[ $(grep -c . "$VOUT") == 3 ]] &&
	grep -qx "Pod default/web-v2: pruned" "$VOUT" &&
	grep -q "^service $WEB_HOST:80: " "$VOUT"; then
	t_pass "the dump without web-v2: it alone pruned, web's entries changed ($(oneline "$VOUT"))"
else
	t_fail "the dump without web-v2: exit $VRC, '$(oneline "$VOUT" | head -c 400)' $(head -c 200 "$VERR")"
fi
burst "$WEB_VIP4" 100 "web without web-v2"

# One bad Pod at the very end of the stream.
{
	cat "$LAB_TMP/pruned.yaml"
	printf -- '---\napiVersion: v1\nkind: Pod\nmetadata: {name: bad, namespace: default}\nstatus: {phase: Running, podIP: 10.1.2.300}\n'
} >"$LAB_TMP/bad.yaml"
line=$(($(wc -l <"$LAB_TMP/bad.yaml")))
store_sums "$LAB_TMP/sums.before"
snapshot "$LAB_TMP/maps.before"
vrun apply --prune -f - <"$LAB_TMP/bad.yaml"
store_sums "$LAB_TMP/sums.after"
snapshot "$LAB_TMP/maps.after"
if ((VRC == 1)) && [[ $(grep -c . "$VERR") == 1 ]] &&
	grep -q "<stdin>:$line:[0-9]*: .*10.1.2.300" "$VERR" &&
	cmp -s "$LAB_TMP/sums.before" "$LAB_TMP/sums.after" &&
	cmp -s "$LAB_TMP/maps.before" "$LAB_TMP/maps.after"; then
	t_pass "a bad Pod at line $line: $(oneline "$VERR"); nothing changed"
else
	t_fail "a bad Pod at line $line: exit $VRC, '$(oneline "$VERR" | head -c 300)'"
fi

t_end

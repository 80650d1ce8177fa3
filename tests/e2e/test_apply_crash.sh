#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# `veer apply` stopped at any instant of its write phase (issue 10,
# findings 3, 4 and 8):
#
# - N native services are applied, then re-applied with every VIP moved
#   (10.97.0.x -> 10.97.10.x, v1 100/0 -> 0/100). The second apply is
#   SIGKILLed by the test hook VEER_TEST_SIGNAL_AT=K (veer raises the
#   signal itself right after its K-th write to the service table or its
#   metadata: no race, no sleep) at several points: the first writes, the
#   middle, the last ones. After each kill `veer get` must list every
#   service exactly once, at its old or its new VIP; a re-apply must leave
#   exactly N service entries, every key agreeing with its metadata (no
#   ghost: an old VIP still serving the old config), every service at its
#   new VIP, and a third apply must say "no changes".
# - SIGTERM in the middle of the write phase (the same hook, signal 15) is
#   held until the apply is complete: exit 143, the whole new config, no
#   ghost.
# - After the last round a real client gets through the new VIP to v2, and
#   nothing answers on the old one.
# - A ServiceEntry on port 80 re-applied with ports 80 and 8080 (its entry
#   is renamed host -> host:80 on the same VIP:port) keeps :80 serving:
#   `veer get` lists both ports and real connections to both succeed.
# - A refused apply of N+1 services prints the one-line error only (no
#   per-service line) and leaves `veer get -o json` byte-identical.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

N=${VEER_E2E_CRASH_SERVICES:-200}
OLD_NET=10.97.0
NEW_NET=10.97.10

t_begin apply-crash
lab_init jq bpftool
lab_up_variant
lab_start_backends
lab_veer_attach

# vip_n NET I: the VIP of service I in the 10.97.x range starting at NET.
vip_n() {
	local a=${1##*.}
	echo "${1%.*}.$((a + $2 / 250)).$((1 + $2 % 250))"
}

# write_many FILE NET V1_WEIGHT: services crash0..crash(N-1) at NET.
write_many() {
	local file=$1 net=$2 w=$3 i
	{
		echo "services:"
		for ((i = 0; i < N; i++)); do
			cat <<EOF
  - name: crash$i
    vip: $(vip_n "$net" "$i")
    port: 80
    subsets:
      - name: v1
        weight: $w
        backends: [$V1_V4:$BACKEND_PORT]
      - name: v2
        weight: $((100 - w))
        backends: [$V2_V4:$BACKEND_PORT]
EOF
		done
	} >"$file"
}

OLD=$LAB_TMP/old.yaml
NEW=$LAB_TMP/new.yaml
write_many "$OLD" "$OLD_NET" 100
write_many "$NEW" "$NEW_NET" 0

# dump_services: the pinned service table (bpftool JSON) into svc.json.
dump_services() {
	bpftool -j map dump pinned "$VEER_PIN_ROOT/veer_services" \
		>"$LAB_TMP/svc.json" 2>/dev/null || echo '[]' >"$LAB_TMP/svc.json"
}

# ghosts: entries that share their service id with another entry (a
# service answering at two VIPs), from the pinned table.
ghosts() {
	dump_services
	jq '[.[].formatted.value.id] | length - (unique | length)' \
		"$LAB_TMP/svc.json"
}

# disagreeing: entries whose key is not the one their metadata row names,
# from the pinned maps (the metadata dump is large: used sparingly); -1
# when unreadable.
disagreeing() {
	dump_services
	bpftool -j map dump pinned "$VEER_PIN_ROOT/veer_svc_meta" \
		>"$LAB_TMP/meta.json" 2>/dev/null &&
		jq -n --slurpfile s "$LAB_TMP/svc.json" \
			--slurpfile m "$LAB_TMP/meta.json" '
			([$m[0][] | select(.formatted.value.name != "") |
			  {key: (.formatted.key | tostring),
			   value: .formatted.value.key}] |
			 from_entries) as $meta |
			[$s[0][] | select(.formatted.key !=
				$meta[.formatted.value.id | tostring])] | length' ||
		echo -1
}

# entries: how many service entries the map holds.
entries() { jq length "$LAB_TMP/svc.json"; }

# get_check WANT_NET...: `veer get -o json` lists crash0..crash(N-1) exactly
# once each, each at its VIP in one of the given ranges. Sets GET_DESC.
get_check() {
	local nets="$*"
	if ! veer get -o json >"$LAB_TMP/get.json" 2>"$LAB_TMP/get.err"; then
		GET_DESC="veer get failed: $(head -n1 "$LAB_TMP/get.err")"
		return 1
	fi
	GET_DESC=$(jq -r --argjson n "$N" --arg nets "$nets" '
		def vip(net; i): (net | split(".")) as $p |
			"\($p[0]).\($p[1]).\(($p[2] | tonumber) + (i / 250 | floor)).\(1 + i % 250)";
		[.services[] | select(.name | startswith("crash"))] as $s |
		($s | map(.name) | group_by(.) | map(select(length > 1)) |
		 length) as $dups |
		[$s[] | (.name[5:] | tonumber) as $i |
		 select(.vip as $v | [$nets | split(" ")[] | vip(.; $i)] |
			index($v) | not)] as $bad |
		"\($s | length) listed, \($dups) listed twice, \($bad | length) at a wrong VIP"
		' "$LAB_TMP/get.json")
	[[ $GET_DESC == "$N listed, 0 listed twice, 0 at a wrong VIP" ]]
}

# apply_ok DESC FILE: `veer apply -f FILE` exits 0.
apply_ok() {
	if veer apply -f "$2" >"$LAB_TMP/apply.out" 2>&1; then
		return 0
	fi
	t_fail "$1: veer apply failed: $(head -n1 "$LAB_TMP/apply.out")"
	return 1
}

# repaired DESC [FULL]: a re-apply of the new config converges: exactly
# N entries, no ghost, all at the new VIPs, then "no changes"; with FULL,
# also every entry's key agrees with its metadata.
repaired() {
	local g n d=0
	apply_ok "$1: re-apply" "$NEW" || return 0
	g=$(ghosts)
	n=$(entries)
	[[ -n ${2:-} ]] && d=$(disagreeing)
	if ((g == 0 && n == N && d == 0)) && get_check "$NEW_NET" &&
		veer apply -f "$NEW" >"$LAB_TMP/apply3.out" 2>&1 &&
		grep -qx "no changes" "$LAB_TMP/apply3.out"; then
		t_pass "$1: re-apply repaired it: $n entries, 0 ghosts,${2:+ every key agrees with its metadata,} all at the new VIPs, then no changes"
	else
		t_fail "$1: after re-apply: $n entries (want $N), $g ghosts, $d keys disagreeing with their metadata, get: $GET_DESC, third apply: $(tail -n1 "$LAB_TMP/apply3.out" 2>/dev/null)"
	fi
}

# Writes of a VIP-moving apply: per service, metadata, new key, old key.
TOTAL=$((3 * N))
# Every instant kind: after a metadata write (1), after a publish with the
# old key still there (2, 3N-1), after a retire (3); the middle; the end.
# The maps do not depend on the attach mode: the other variants of the
# suite run two points only, to stay fast.
if [[ $T_VARIANT == tc,tx-on ]]; then
	KILLS=(1 2 3 $((N + 1)) $((3 * N / 2)) $((2 * N + 1)) $((3 * N - 1)))
else
	KILLS=(2 $((3 * N / 2)))
fi
for k in "${KILLS[@]}"; do
	apply_ok "kill at write $k: setup" "$OLD" || continue
	rc=0
	VEER_TEST_SIGNAL_AT=$k veer apply -f "$NEW" >"$LAB_TMP/killed.out" \
		2>&1 || rc=$?
	if ((rc != 137)); then
		t_fail "kill at write $k of $TOTAL: apply exit $rc, want 137 (SIGKILL)"
		continue
	fi
	g=$(ghosts)
	if get_check "$OLD_NET" "$NEW_NET"; then
		t_pass "SIGKILL at write $k of $TOTAL: veer get lists every service once ($GET_DESC; the map holds $g ghosts)"
	else
		t_fail "SIGKILL at write $k of $TOTAL: veer get: $GET_DESC (the map holds $g ghosts: services at two VIPs)"
	fi
	if ((k == KILLS[-1])); then
		repaired "SIGKILL at write $k" full
	else
		repaired "SIGKILL at write $k"
	fi
done

# SIGTERM is held through the write phase: the apply completes, then dies.
apply_ok "SIGTERM: setup" "$OLD"
rc=0
VEER_TEST_SIGNAL_AT=$((3 * N / 2)):15 veer apply -f "$NEW" \
	>"$LAB_TMP/term.out" 2>&1 || rc=$?
g=$(ghosts)
n=$(entries)
if ((rc == 143 && g == 0 && n == N)) && get_check "$NEW_NET"; then
	t_pass "SIGTERM at write $((3 * N / 2)) of $TOTAL: held until the apply was complete (exit 143, $n entries, 0 ghosts, all at the new VIPs)"
else
	t_fail "SIGTERM at write $((3 * N / 2)) of $TOTAL: exit $rc (want 143), $n entries (want $N), $g ghosts, get: $GET_DESC"
fi
repaired "SIGTERM" full

# Real connections: the new VIP answers (v2: weight 0/100), the old not.
count_burst_to "$(vip_n "$NEW_NET" $((N - 1)))" 80 20 "$LAB_TMP/new.count"
lab_client count --addr "$(vip_n "$OLD_NET" $((N - 1)))" --port 80 -n 4 -c 4 \
	--timeout-ms 300 >"$LAB_TMP/old.count" 2>/dev/null || true
if split_ok "$LAB_TMP/new.count" 20 0 &&
	(($(count_of "$LAB_TMP/old.count" errors) == 4)); then
	t_pass "crash$((N - 1)): 20/20 connections to its new VIP reach v2, 0/4 to its old VIP get through"
else
	t_fail "crash$((N - 1)): new VIP: $(tr '\n' ' ' <"$LAB_TMP/new.count"), old VIP: $(tr '\n' ' ' <"$LAB_TMP/old.count")"
fi

# Finding 8: a refused apply prints only its error and changes nothing.
veer get -o json >"$LAB_TMP/before.json"
write_many "$LAB_TMP/refused.yaml" 10.97.20 100
cat >>"$LAB_TMP/refused.yaml" <<EOF
  - name: thief
    vip: $(vip_n "$NEW_NET" 0)
    port: 80
    subsets:
      - name: v1
        weight: 100
        backends: [$V1_V4:$BACKEND_PORT]
EOF
sed -i 's/name: crash/name: refused/' "$LAB_TMP/refused.yaml"
rc=0
veer apply -f "$LAB_TMP/refused.yaml" >"$LAB_TMP/refused.out" \
	2>"$LAB_TMP/refused.err" || rc=$?
veer get -o json >"$LAB_TMP/after.json"
if ((rc == 1)) && [[ ! -s $LAB_TMP/refused.out ]] &&
	(($(wc -l <"$LAB_TMP/refused.err") == 1)) &&
	grep -q "refused.yaml:[0-9]*:[0-9]*: services crash0 and thief both use VIP" "$LAB_TMP/refused.err" &&
	cmp -s "$LAB_TMP/before.json" "$LAB_TMP/after.json"; then
	t_pass "refused apply of $((N + 1)) services: exit 1, one line on stderr, nothing on stdout, veer get unchanged"
else
	t_fail "refused apply of $((N + 1)) services: exit $rc, $(wc -l <"$LAB_TMP/refused.out") lines on stdout (first: $(head -n1 "$LAB_TMP/refused.out")), stderr: $(head -n2 "$LAB_TMP/refused.err" | tr '\n' '|'), veer get $(cmp -s "$LAB_TMP/before.json" "$LAB_TMP/after.json" && echo unchanged || echo CHANGED)"
fi

# Finding 4: a ServiceEntry's port count changes; :80 keeps serving.
SE_HOST=ports.crash.svc.cluster.local
SE_VIP=10.96.0.60
# write_se FILE PORT...: a ServiceEntry on SE_VIP with these ports (each
# to the backends' 8080) and its two WorkloadEntries.
write_se() {
	local file=$1 p
	shift
	{
		cat <<EOF
apiVersion: networking.istio.io/v1beta1
kind: ServiceEntry
metadata:
  name: ports
  namespace: crash
spec:
  hosts:
  - $SE_HOST
  addresses:
  - $SE_VIP
  ports:
EOF
		for p in "$@"; do
			cat <<EOF
  - number: $p
    name: tcp-$p
    protocol: TCP
    targetPort: $BACKEND_PORT
EOF
		done
		cat <<EOF
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector:
    labels:
      app: ports
EOF
		for p in v1:$V1_V4 v2:$V2_V4; do
			cat <<EOF
---
apiVersion: networking.istio.io/v1beta1
kind: WorkloadEntry
metadata:
  name: ports-${p%%:*}
  namespace: crash
spec:
  address: ${p#*:}
  labels:
    app: ports
    version: ${p%%:*}
EOF
		done
	} >"$file"
}

# se_ports: "name=vip:port ..." of the host's entries, sorted.
se_ports() {
	veer get -o json 2>/dev/null | jq -r --arg h "$SE_HOST" '
		[.services[] | select(.name | startswith($h)) |
		 "\(.name)=\(.vip):\(.port)"] | sort | join(" ")'
}

write_se "$LAB_TMP/se80.yaml" 80
write_se "$LAB_TMP/se2.yaml" 80 8080
if apply_ok "ServiceEntry on port 80" "$LAB_TMP/se80.yaml" &&
	apply_ok "ServiceEntry on ports 80, 8080" "$LAB_TMP/se2.yaml"; then
	got=$(se_ports)
	want="$SE_HOST:8080=$SE_VIP:8080 $SE_HOST:80=$SE_VIP:80"
	if [[ $got == "$want" ]]; then
		t_pass "ServiceEntry 80 -> 80, 8080: veer get lists $got"
	else
		t_fail "ServiceEntry 80 -> 80, 8080: veer get lists '$got', want '$want' (apply said: $(tr '\n' '|' <"$LAB_TMP/apply.out"))"
	fi
	for p in 80 8080; do
		count_burst_to "$SE_VIP" "$p" 20 "$LAB_TMP/se$p.count"
		if (($(count_of "$LAB_TMP/se$p.count" errors) == 0 &&
			$(count_of "$LAB_TMP/se$p.count" v1) + \
			$(count_of "$LAB_TMP/se$p.count" v2) == 20)); then
			t_pass "ServiceEntry 80 -> 80, 8080: 20/20 connections to $SE_VIP:$p served"
		else
			t_fail "ServiceEntry 80 -> 80, 8080: connections to $SE_VIP:$p: $(tr '\n' ' ' <"$LAB_TMP/se$p.count") $(head -c 200 "$LAB_TMP/se$p.count.err")"
		fi
	done
fi

t_end

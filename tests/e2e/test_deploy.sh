#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# deploy/: what the Kubernetes DaemonSet runs, run here as it would be.
# - deploy/configmap-customers.yaml is scripts/gen-configmap.sh's output
#   for the customers files of examples/ (in sync, byte for byte), and
#   each of its keys holds its file exactly;
# - deploy/daemonset.yaml: host network, no privileged container, exactly
#   the capabilities BPF, NET_ADMIN, PERFMON, SYS_RESOURCE (all others
#   dropped), the host's bpffs and /var/lib/veer mounted, the ConfigMap of
#   configmap-customers.yaml (same name and namespace) at the path the
#   main container's `veer watch` reads; the init container attaches;
# - deploy/build-image.sh's rootfs.tar holds veer, the libraries ldd
#   names and terminfo, and no shell; veer run from that filesystem alone
#   (chroot, with the host's /sys, /proc, the state directory and the
#   ConfigMap's keys mounted where the DaemonSet mounts them) attaches,
#   applies the ConfigMap's keys and splits the customers service 90/10
#   over real connections, reports its status, `veer watch` on the keys
#   applies a changed one (50/50 over real connections), and it serves
#   its metrics.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

t_begin deploy
lab_init python3 tar unshare chroot curl
DEPLOY=$LAB_ROOT/deploy
CUST=$LAB_ROOT/examples/customers
CM_FILES=("$CUST/service.yaml" "$CUST/destinationrule.yaml" "$CUST/vs-canary-90-10.yaml")

if "$LAB_ROOT/scripts/gen-configmap.sh" veer-config veer-system "${CM_FILES[@]}" |
	cmp -s - "$DEPLOY/configmap-customers.yaml"; then
	t_pass "deploy/configmap-customers.yaml is gen-configmap.sh's output for the customers files"
else
	t_fail "deploy/configmap-customers.yaml is out of date: run scripts/gen-configmap.sh veer-config veer-system ${CM_FILES[*]#"$LAB_ROOT"/}"
fi

# The manifests, read by a YAML parser: one line per violation.
python3 - "$DEPLOY/daemonset.yaml" "$DEPLOY/configmap-customers.yaml" "$CUST" \
	>"$LAB_TMP/manifest.out" 2>&1 <<'PY' || true
import os, sys, yaml
ds_file, cm_file, cust = sys.argv[1:]
docs = list(yaml.safe_load_all(open(ds_file)))
ds = [d for d in docs if d and d.get("kind") == "DaemonSet"]
cm = yaml.safe_load(open(cm_file))
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)
want(len(ds) == 1, "one DaemonSet")
ds = ds[0]
spec = ds["spec"]["template"]["spec"]
want(spec.get("hostNetwork") is True, "hostNetwork: true")
want(cm["kind"] == "ConfigMap", "configmap-customers.yaml is a ConfigMap")
want(cm["metadata"]["namespace"] == ds["metadata"]["namespace"], "ConfigMap in the DaemonSet's namespace")
for key, text in cm["data"].items():
    want(text == open(os.path.join(cust, key)).read(), f"key {key} holds its file exactly")
vols = {v["name"]: v for v in spec["volumes"]}
want(vols.get("bpffs", {}).get("hostPath", {}).get("path") == "/sys/fs/bpf", "bpffs: hostPath /sys/fs/bpf")
want(vols.get("state", {}).get("hostPath", {}).get("path") == "/var/lib/veer", "state: hostPath /var/lib/veer")
want(vols.get("config", {}).get("configMap", {}).get("name") == cm["metadata"]["name"], "config: the ConfigMap")
containers = spec.get("initContainers", []) + spec["containers"]
for c in containers:
    sc = c.get("securityContext", {})
    want(not sc.get("privileged"), f"{c['name']}: not privileged")
    want(sc.get("allowPrivilegeEscalation") is False, f"{c['name']}: allowPrivilegeEscalation false")
    caps = sc.get("capabilities", {})
    want(caps.get("drop") == ["ALL"], f"{c['name']}: drops ALL capabilities")
    want(sorted(caps.get("add", [])) == ["BPF", "NET_ADMIN", "PERFMON", "SYS_RESOURCE"],
         f"{c['name']}: adds exactly BPF, NET_ADMIN, PERFMON, SYS_RESOURCE")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    want(mounts.get("/sys/fs/bpf") == "bpffs", f"{c['name']}: bpffs at /sys/fs/bpf")
    want(mounts.get("/var/lib/veer") == "state", f"{c['name']}: state at /var/lib/veer")
init = spec["initContainers"][0]
main = spec["containers"][0]
want(init["command"][:2] == ["/usr/bin/veer", "attach"], "init container: veer attach")
want(main["command"][:2] == ["/usr/bin/veer", "watch"], "main container: veer watch")
want(main.get("readinessProbe", {}).get("exec", {}).get("command") ==
     ["/usr/bin/veer", "status", "--ready"], "main container: readiness is veer status --ready")
watched = main["command"][2]
want({m["mountPath"]: m["name"] for m in main["volumeMounts"]}.get(watched) == "config",
     f"main container: the ConfigMap mounted at {watched}, what veer watch reads")
print("\n".join(bad) if bad else "ok")
PY
if [[ $(cat "$LAB_TMP/manifest.out") == ok ]]; then
	t_pass "deploy/daemonset.yaml: host network, 4 capabilities and no privileged, bpffs, state and the ConfigMap mounted where veer reads them"
else
	t_fail "deploy/daemonset.yaml: $(oneline "$LAB_TMP/manifest.out")"
fi

# The image's filesystem: veer, its libraries, terminfo, mount points.
"$DEPLOY/build-image.sh" >"$LAB_TMP/build-image.log" 2>&1 ||
	lab_die "deploy/build-image.sh failed: $(oneline "$LAB_TMP/build-image.log")"
ROOTFS=$LAB_TMP/rootfs
mkdir -p "$ROOTFS"
tar -C "$ROOTFS" -xf "$LAB_BUILD/image/rootfs.tar"
unexpected=$(cd "$ROOTFS" && find . -type f ! -path ./usr/bin/veer ! -path './usr/share/terminfo/*' \
	! -path ./etc/ld.so.cache ! -name '*.so*' | head -5)
if [[ -x $ROOTFS/usr/bin/veer && ! -e $ROOTFS/bin/sh && ! -e $ROOTFS/usr/bin/sh && -z $unexpected ]]; then
	t_pass "image: $(find "$ROOTFS" -type f | wc -l) files: veer, $(find "$ROOTFS" -name '*.so*' ! -name ld.so.cache -type f | wc -l) libraries, terminfo; no shell ($(du -sh "$LAB_BUILD/image/rootfs.tar" | cut -f1))"
else
	t_fail "image: veer $([[ -x $ROOTFS/usr/bin/veer ]] && echo present || echo missing), unexpected: ${unexpected:-none}"
fi

# veer from the image alone: a chroot into it, with what the DaemonSet
# mounts (the host's /sys with its bpffs and cgroup2, /proc, the state
# directory, the ConfigMap's keys at /etc/veer/config), in a mount
# namespace of its own.
CONFIG=$LAB_TMP/config
mkdir -p "$CONFIG"
cp "${CM_FILES[@]}" "$CONFIG/"
cat >"$LAB_TMP/veer-image" <<WRAP
#!/bin/bash
exec unshare --mount --propagation private -- /bin/bash -c '
	mount --rbind /sys "$ROOTFS/sys" && mount -t proc proc "$ROOTFS/proc" &&
	mount --bind "\$VEER_STATE_DIR" "$ROOTFS/var/lib/veer" &&
	mount --bind "$CONFIG" "$ROOTFS/etc/veer/config" &&
	VEER_STATE_DIR=/var/lib/veer exec chroot "$ROOTFS" /usr/bin/veer "\$@"' veer "\$@"
WRAP
chmod +x "$LAB_TMP/veer-image"
mkdir -p "$VEER_STATE_DIR"
# shellcheck disable=SC2034 # read by lab.sh (veer, lab_veer_attach)
VEER_BIN=$LAB_TMP/veer-image
lab_up_variant
lab_start_backends
lab_veer_attach
if veer apply -f /etc/veer/config >"$LAB_TMP/apply.out" 2>&1; then
	t_pass "image: veer apply -f /etc/veer/config (the ConfigMap's keys): $(oneline "$LAB_TMP/apply.out")"
else
	t_fail "image: veer apply -f /etc/veer/config: $(oneline "$LAB_TMP/apply.out")"
fi
count_burst_to 10.96.0.20 80 1000 "$LAB_TMP/split.out"
if split_ok "$LAB_TMP/split.out" 1000 90; then
	t_pass "image: customers 90/10 over 1000 connections: $SPLIT_DESC"
else
	t_fail "image: customers 90/10 over 1000 connections: $SPLIT_DESC"
fi
if veer status >"$LAB_TMP/status.out" 2>&1 && grep -q "^services: *2 /" "$LAB_TMP/status.out"; then
	t_pass "image: veer status: $(grep -E '^(programs|services):' "$LAB_TMP/status.out" | tr -s ' ' | tr '\n' ';')"
else
	t_fail "image: veer status: $(oneline "$LAB_TMP/status.out")"
fi
# The DaemonSet's main container: veer watch on the ConfigMap's mount.
# The canary moves on when its key changes (here a plain directory, its
# file replaced by a rename; test_watch.sh runs the kubelet's swaps).
lab_bg "$NS_NODE" "$LAB_TMP/watch.log" "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
	watch /etc/veer/config
WATCH_PID=$LAB_BG_PID
_generation_at_least() {
	local g
	# "            generation N, applied ...": N.
	g=$(veer status 2>/dev/null | awk '$1 == "generation" { print $2 + 0; exit }')
	[[ -n $g ]] && ((g >= $1))
}
if wait_until 15000 _generation_at_least 1; then
	cp "$CUST/vs-50-50.yaml" "$CONFIG/.vs.tmp"
	mv "$CONFIG/.vs.tmp" "$CONFIG/vs-canary-90-10.yaml"
	wait_until 15000 _generation_at_least 2 || true
fi
count_burst_to 10.96.0.20 80 1000 "$LAB_TMP/split2.out"
if split_ok "$LAB_TMP/split2.out" 1000 50; then
	t_pass "image: veer watch applied the changed key: customers 50/50 over 1000 connections: $SPLIT_DESC"
else
	t_fail "image: veer watch: customers 50/50: $SPLIT_DESC; $(oneline "$LAB_TMP/watch.log")"
fi
# The readiness probe, as the kubelet runs it: ready while the watch
# serves its configuration, not once the watch is gone.
rc=0
veer status --ready >"$LAB_TMP/ready.out" 2>&1 || rc=$?
lab_kill "$WATCH_PID"
rc2=0
veer status --ready >"$LAB_TMP/ready2.out" 2>&1 || rc2=$?
if ((rc == 0 && rc2 == 1)) && [[ $(tail -n 1 "$LAB_TMP/ready.out") == "ready:      yes" ]] &&
	grep -q '^ready:      no: ' "$LAB_TMP/ready2.out"; then
	t_pass "image: readiness probe (veer status --ready): ready with the watch serving, then '$(tail -n 1 "$LAB_TMP/ready2.out" | tr -s ' ')' (exit 1)"
else
	t_fail "image: readiness probe: exit $rc '$(tail -n 1 "$LAB_TMP/ready.out")', after the watch: exit $rc2 '$(tail -n 1 "$LAB_TMP/ready2.out")'"
fi

# veer metrics from the image: libmicrohttpd is opened at run time (not
# linked), so the image must carry it and its libraries.
lab_bg "$NS_NODE" "$LAB_TMP/metrics.log" "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
	metrics --listen 127.0.0.1:9101
METRICS_PID=$LAB_BG_PID
wait_until 10000 lab_exec "$NS_NODE" curl -sf -o "$LAB_TMP/metrics.out" \
	http://127.0.0.1:9101/metrics || true
if grep -q '^veer_new_connections_total{service="customers.default.svc.cluster.local:80"' \
	"$LAB_TMP/metrics.out" 2>/dev/null; then
	t_pass "image: veer metrics serves /metrics ($(grep -c '^veer_' "$LAB_TMP/metrics.out") series)"
else
	t_fail "image: veer metrics: $(oneline "$LAB_TMP/metrics.log")"
fi
lab_kill "$METRICS_PID"
t_end

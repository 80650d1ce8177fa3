#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# gen-k8s-dump.sh SERVICES PODS_PER_SERVICE [NAMESPACES]
#
# Writes to stdout what `kubectl get svc,pods -A -o yaml` prints for a
# cluster of SERVICES Services, each selecting its PODS_PER_SERVICE Pods:
# one List document (apiVersion, items, kind: List, metadata, keys in
# kubectl's alphabetical order), the Services first, then the Pods, as
# kubectl prints them (per resource type, then by namespace and name).
# Objects are full, as the API server returns them: uid, resourceVersion,
# creationTimestamp, labels, annotations (a kubectl last-applied-
# configuration), managedFields; Pods with ownerReferences, containers
# (ports, env, probes, resources, volume mounts), volumes, tolerations and
# a Running, Ready status. For large-input tests of `veer apply -f`.
#
#   Service i (0-based)  svc<i> in namespace ns-<i % NAMESPACES>
#                        (default 10 namespaces), selector app: svc<i>,
#                        clusterIP 172.16.0.0/12 (172.16.0.1 and up)
#                        even i: port 80 http -> targetPort http (named)
#                                port 9090 metrics -> 9090
#                        odd i:  port 8080 http -> 8080
#                        i % 10 == 3: also port 53 UDP (skipped by veer)
#   its Pods             svc<i>-v1-<hash>-<suffix> (first half, rounded
#                        up) and svc<i>-v2-... (the rest), labels
#                        app: svc<i>, version: v1|v2, pod-template-hash;
#                        podIP 10.0.0.0/8 (10.0.0.1 and up), unique
#
# --lean: the same objects with only what veer reads (names, labels,
# clusterIP, ports, selector, container ports, phase, podIP): about 25
# times smaller, for tests of the resolver rather than of the parser.
#
# Deterministic: the same arguments give the same bytes. Plain awk (mawk),
# 10,000 x 10 in seconds.
set -euo pipefail

usage() {
	echo "usage: $0 [--lean] SERVICES PODS_PER_SERVICE [NAMESPACES]" >&2
	exit 2
}
lean=0
if [[ ${1:-} == --lean ]]; then
	lean=1
	shift
fi
[[ $# == 2 || $# == 3 ]] || usage
nsvc=$1 npod=$2 nns=${3:-10}
for v in "$nsvc" "$npod" "$nns"; do
	[[ $v =~ ^[0-9]+$ ]] || usage
done
((nns >= 1)) || usage
# Addresses: services in 172.16.0.0/12, pods in 10.0.0.0/8.
((nsvc < 1048000)) || { echo "$0: at most 1048000 services" >&2; exit 2; }
((nsvc * npod < 16700000)) || { echo "$0: at most 16700000 pods" >&2; exit 2; }

exec awk -v LEAN="$lean" -v NSVC="$nsvc" -v NPOD="$npod" -v NNS="$nns" '
# A deterministic pseudo-random number from n and a salt.
function h(n, salt) {
	return (n * 2654435761 + salt * 40503 + 12345) % 4294967291
}
# k8s "safe" alphabet (no vowels, no 0/1/3), as in pod-template-hash.
function safe(n, salt, len,    s, i, x) {
	s = ""
	x = h(n, salt) % 2147483646 + 1
	for (i = 0; i < len; i++) {
		x = (x * 48271) % 2147483647 # Lehmer
		s = s substr(SAFE, int(x / 7) % 27 + 1, 1)
	}
	return s
}
function hex(n, len,    s, i) {
	s = ""
	for (i = 0; i < len; i++) {
		s = s substr("0123456789abcdef", n % 16 + 1, 1)
		n = int(n / 16)
	}
	return s
}
function uid(n, salt) {
	return hex(h(n, salt), 8) "-" hex(h(n, salt + 1), 4) "-4" \
		hex(h(n, salt + 2), 3) "-" substr("89ab", h(n, salt + 3) % 4 + 1, 1) \
		hex(h(n, salt + 4), 3) "-" hex(h(n, salt + 5), 6) hex(h(n, salt + 6), 6)
}
function two(n) { return n < 10 ? "0" n : n }
# A time on a day of November 2026, n seconds (mod one day) after 00:00.
function ts(day, n) {
	n = n % 86400
	return "\"2026-11-" two(day) "T" two(int(n / 3600)) ":" \
		two(int(n / 60) % 60) ":" two(n % 60) "Z\""
}
function ip4(base, n) {
	return base + int(n / 65536) "." int(n / 256) % 256 "." n % 256
}
function svc_ip(i) { return "172." ip4(16, i + 1) }
function pod_ip(n) { return "10." ip4(0, n + 1) }

function service(i,    name, ns, ip, app, created, lac, fports, sports) {
	name = "svc" i
	ns = "ns-" (i % NNS)
	ip = svc_ip(i)
	created = ts(1 + i % 20, 3600 + i * 7)
	if (i % 2 == 0) {
		lac = "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"" name "\",\"team\":\"team-" i % 37 "\"},\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":\"http\"},{\"name\":\"metrics\",\"port\":9090,\"targetPort\":9090}"
		fports = "            k:{\"port\":80,\"protocol\":\"TCP\"}:\n              .: {}\n              f:name: {}\n              f:port: {}\n              f:protocol: {}\n              f:targetPort: {}\n            k:{\"port\":9090,\"protocol\":\"TCP\"}:\n              .: {}\n              f:name: {}\n              f:port: {}\n              f:protocol: {}\n              f:targetPort: {}\n"
		sports = "    - name: http\n      port: 80\n      protocol: TCP\n      targetPort: http\n    - name: metrics\n      port: 9090\n      protocol: TCP\n      targetPort: 9090\n"
	} else {
		lac = "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"annotations\":{},\"labels\":{\"app\":\"" name "\",\"team\":\"team-" i % 37 "\"},\"name\":\"" name "\",\"namespace\":\"" ns "\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":8080,\"targetPort\":8080}"
		fports = "            k:{\"port\":8080,\"protocol\":\"TCP\"}:\n              .: {}\n              f:name: {}\n              f:port: {}\n              f:protocol: {}\n              f:targetPort: {}\n"
		sports = "    - name: http\n      port: 8080\n      protocol: TCP\n      targetPort: 8080\n"
	}
	if (i % 10 == 3) {
		lac = lac ",{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\",\"targetPort\":5353}"
		fports = fports "            k:{\"port\":53,\"protocol\":\"UDP\"}:\n              .: {}\n              f:name: {}\n              f:port: {}\n              f:protocol: {}\n              f:targetPort: {}\n"
		sports = sports "    - name: dns\n      port: 53\n      protocol: UDP\n      targetPort: 5353\n"
	}
	if (LEAN) {
		printf "%s", "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: " name "\n    namespace: " ns "\n  spec:\n    clusterIP: " ip "\n    ports:\n" sports "    selector:\n      app: " name "\n    type: ClusterIP\n"
		return
	}
	lac = lac "],\"selector\":{\"app\":\"" name "\"}}}"
	printf "%s", "- apiVersion: v1\n  kind: Service\n  metadata:\n    annotations:\n      kubectl.kubernetes.io/last-applied-configuration: |\n        " lac "\n    creationTimestamp: " created "\n    labels:\n      app: " name "\n      team: team-" i % 37 "\n    managedFields:\n    - apiVersion: v1\n      fieldsType: FieldsV1\n      fieldsV1:\n        f:metadata:\n          f:annotations:\n            .: {}\n            f:kubectl.kubernetes.io/last-applied-configuration: {}\n          f:labels:\n            .: {}\n            f:app: {}\n            f:team: {}\n        f:spec:\n          f:internalTrafficPolicy: {}\n          f:ports:\n            .: {}\n" fports "          f:selector: {}\n          f:sessionAffinity: {}\n          f:type: {}\n      manager: kubectl-client-side-apply\n      operation: Update\n      time: " created "\n    name: " name "\n    namespace: " ns "\n    resourceVersion: \"" 1000 + i * 3 "\"\n    uid: " uid(i, 1) "\n  spec:\n    clusterIP: " ip "\n    clusterIPs:\n    - " ip "\n    internalTrafficPolicy: Cluster\n    ipFamilies:\n    - IPv4\n    ipFamilyPolicy: SingleStack\n    ports:\n" sports "    selector:\n      app: " name "\n    sessionAffinity: None\n    type: ClusterIP\n  status:\n    loadBalancer: {}\n"
}

function pod(i, j,    n, name, ns, ver, hash, rs, gen, pname, ip, node, hostip, created, started, ready, cid, img, port, sa, kapi) {
	n = i * NPOD + j
	name = "svc" i
	ns = "ns-" (i % NNS)
	ver = j < int((NPOD + 1) / 2) ? "v1" : "v2"
	hash = safe(i, ver == "v1" ? 100 : 200, 10)
	rs = name "-" ver "-" hash
	gen = rs "-"
	pname = gen safe(n, 300, 5)
	ip = pod_ip(n)
	node = "node-" n % 200
	hostip = "192.168." int((n % 200) / 250) "." (n % 200) + 1
	created = ts(1 + i % 20, 7200 + n * 3)
	started = ts(1 + i % 20, 7200 + n * 3 + 1)
	ready = ts(1 + i % 20, 7200 + n * 3 + 9)
	cid = "containerd://" hex(h(n, 21), 8) hex(h(n, 22), 8) hex(h(n, 23), 8) hex(h(n, 24), 8) hex(h(n, 25), 8) hex(h(n, 26), 8) hex(h(n, 27), 8) hex(h(n, 28), 8)
	img = "registry.example.com/shop/" name ":1." i % 7 "." (ver == "v1" ? 0 : 1)
	port = i % 2 == 0 ? 8000 : 8080
	sa = i % 3 == 0 ? "default" : name
	kapi = "kube-api-access-" safe(n, 400, 5)
	if (LEAN) {
		printf "%s", "- apiVersion: v1\n  kind: Pod\n  metadata:\n    labels:\n      app: " name "\n      pod-template-hash: " hash "\n      version: " ver "\n    name: " pname "\n    namespace: " ns "\n  spec:\n    containers:\n    - name: app\n      ports:\n      - containerPort: " port "\n        name: http\n        protocol: TCP\n  status:\n    phase: Running\n    podIP: " ip "\n"
		return
	}
	printf "%s", "- apiVersion: v1\n  kind: Pod\n  metadata:\n    annotations:\n      kubectl.kubernetes.io/restartedAt: \"2026-10-30T12:00:00Z\"\n    creationTimestamp: " created "\n    generateName: " gen "\n    labels:\n      app: " name "\n      pod-template-hash: " hash "\n      version: " ver "\n    managedFields:\n    - apiVersion: v1\n      fieldsType: FieldsV1\n      fieldsV1:\n        f:metadata:\n          f:annotations:\n            .: {}\n            f:kubectl.kubernetes.io/restartedAt: {}\n          f:generateName: {}\n          f:labels:\n            .: {}\n            f:app: {}\n            f:pod-template-hash: {}\n            f:version: {}\n          f:ownerReferences:\n            .: {}\n            k:{\"uid\":\"" uid(i, ver == "v1" ? 31 : 41) "\"}: {}\n        f:spec:\n          f:containers:\n            k:{\"name\":\"app\"}:\n              .: {}\n              f:env:\n                .: {}\n                k:{\"name\":\"LOG_LEVEL\"}:\n                  .: {}\n                  f:name: {}\n                  f:value: {}\n                k:{\"name\":\"POD_IP\"}:\n                  .: {}\n                  f:name: {}\n                  f:valueFrom:\n                    .: {}\n                    f:fieldRef: {}\n                k:{\"name\":\"SERVICE_VERSION\"}:\n                  .: {}\n                  f:name: {}\n                  f:value: {}\n              f:image: {}\n              f:imagePullPolicy: {}\n              f:livenessProbe:\n                .: {}\n                f:failureThreshold: {}\n                f:httpGet:\n                  .: {}\n                  f:path: {}\n                  f:port: {}\n                  f:scheme: {}\n                f:initialDelaySeconds: {}\n                f:periodSeconds: {}\n                f:successThreshold: {}\n                f:timeoutSeconds: {}\n              f:name: {}\n              f:ports:\n                .: {}\n                k:{\"containerPort\":" port ",\"protocol\":\"TCP\"}:\n                  .: {}\n                  f:containerPort: {}\n                  f:name: {}\n                  f:protocol: {}\n                k:{\"containerPort\":9090,\"protocol\":\"TCP\"}:\n                  .: {}\n                  f:containerPort: {}\n                  f:name: {}\n                  f:protocol: {}\n              f:readinessProbe:\n                .: {}\n                f:failureThreshold: {}\n                f:httpGet:\n                  .: {}\n                  f:path: {}\n                  f:port: {}\n                  f:scheme: {}\n                f:periodSeconds: {}\n                f:successThreshold: {}\n                f:timeoutSeconds: {}\n              f:resources:\n                .: {}\n                f:limits:\n                  .: {}\n                  f:memory: {}\n                f:requests:\n                  .: {}\n                  f:cpu: {}\n                  f:memory: {}\n              f:terminationMessagePath: {}\n              f:terminationMessagePolicy: {}\n              f:volumeMounts:\n                .: {}\n                k:{\"mountPath\":\"/etc/app\"}:\n                  .: {}\n                  f:mountPath: {}\n                  f:name: {}\n                  f:readOnly: {}\n          f:dnsPolicy: {}\n          f:enableServiceLinks: {}\n          f:restartPolicy: {}\n          f:schedulerName: {}\n          f:securityContext: {}\n          f:serviceAccount: {}\n          f:serviceAccountName: {}\n          f:terminationGracePeriodSeconds: {}\n          f:volumes:\n            .: {}\n            k:{\"name\":\"config\"}:\n              .: {}\n              f:configMap:\n                .: {}\n                f:defaultMode: {}\n                f:name: {}\n              f:name: {}\n      manager: kube-controller-manager\n      operation: Update\n      time: " created "\n"
	printf "%s", "    - apiVersion: v1\n      fieldsType: FieldsV1\n      fieldsV1:\n        f:status:\n          f:conditions:\n            k:{\"type\":\"ContainersReady\"}:\n              .: {}\n              f:lastProbeTime: {}\n              f:lastTransitionTime: {}\n              f:status: {}\n              f:type: {}\n            k:{\"type\":\"Initialized\"}:\n              .: {}\n              f:lastProbeTime: {}\n              f:lastTransitionTime: {}\n              f:status: {}\n              f:type: {}\n            k:{\"type\":\"PodReadyToStartContainers\"}:\n              .: {}\n              f:lastProbeTime: {}\n              f:lastTransitionTime: {}\n              f:status: {}\n              f:type: {}\n            k:{\"type\":\"Ready\"}:\n              .: {}\n              f:lastProbeTime: {}\n              f:lastTransitionTime: {}\n              f:status: {}\n              f:type: {}\n          f:containerStatuses: {}\n          f:hostIP: {}\n          f:hostIPs: {}\n          f:phase: {}\n          f:podIP: {}\n          f:podIPs:\n            .: {}\n            k:{\"ip\":\"" ip "\"}:\n              .: {}\n              f:ip: {}\n          f:startTime: {}\n      manager: kubelet\n      operation: Update\n      subresource: status\n      time: " ready "\n    name: " pname "\n    namespace: " ns "\n    ownerReferences:\n    - apiVersion: apps/v1\n      blockOwnerDeletion: true\n      controller: true\n      kind: ReplicaSet\n      name: " rs "\n      uid: " uid(i, ver == "v1" ? 31 : 41) "\n    resourceVersion: \"" 500000 + n * 5 "\"\n    uid: " uid(n, 51) "\n"
	printf "%s", "  spec:\n    containers:\n    - env:\n      - name: LOG_LEVEL\n        value: info\n      - name: POD_IP\n        valueFrom:\n          fieldRef:\n            apiVersion: v1\n            fieldPath: status.podIP\n      - name: SERVICE_VERSION\n        value: " ver "\n      image: " img "\n      imagePullPolicy: IfNotPresent\n      livenessProbe:\n        failureThreshold: 3\n        httpGet:\n          path: /healthz\n          port: http\n          scheme: HTTP\n        initialDelaySeconds: 10\n        periodSeconds: 10\n        successThreshold: 1\n        timeoutSeconds: 1\n      name: app\n      ports:\n      - containerPort: " port "\n        name: http\n        protocol: TCP\n      - containerPort: 9090\n        name: metrics\n        protocol: TCP\n      readinessProbe:\n        failureThreshold: 3\n        httpGet:\n          path: /ready\n          port: http\n          scheme: HTTP\n        periodSeconds: 5\n        successThreshold: 1\n        timeoutSeconds: 1\n      resources:\n        limits:\n          memory: 256Mi\n        requests:\n          cpu: 100m\n          memory: 128Mi\n      terminationMessagePath: /dev/termination-log\n      terminationMessagePolicy: File\n      volumeMounts:\n      - mountPath: /etc/app\n        name: config\n        readOnly: true\n      - mountPath: /var/run/secrets/kubernetes.io/serviceaccount\n        name: " kapi "\n        readOnly: true\n    dnsPolicy: ClusterFirst\n    enableServiceLinks: true\n    nodeName: " node "\n    preemptionPolicy: PreemptLowerPriority\n    priority: 0\n    restartPolicy: Always\n    schedulerName: default-scheduler\n    securityContext: {}\n    serviceAccount: " sa "\n    serviceAccountName: " sa "\n    terminationGracePeriodSeconds: 30\n    tolerations:\n    - effect: NoExecute\n      key: node.kubernetes.io/not-ready\n      operator: Exists\n      tolerationSeconds: 300\n    - effect: NoExecute\n      key: node.kubernetes.io/unreachable\n      operator: Exists\n      tolerationSeconds: 300\n    volumes:\n    - configMap:\n        defaultMode: 420\n        name: " name "-config\n      name: config\n    - name: " kapi "\n      projected:\n        defaultMode: 420\n        sources:\n        - serviceAccountToken:\n            expirationSeconds: 3607\n            path: token\n        - configMap:\n            items:\n            - key: ca.crt\n              path: ca.crt\n            name: kube-root-ca.crt\n        - downwardAPI:\n            items:\n            - fieldRef:\n                apiVersion: v1\n                fieldPath: metadata.namespace\n              path: namespace\n"
	printf "%s", "  status:\n    conditions:\n    - lastProbeTime: null\n      lastTransitionTime: " started "\n      status: \"True\"\n      type: PodReadyToStartContainers\n    - lastProbeTime: null\n      lastTransitionTime: " created "\n      status: \"True\"\n      type: Initialized\n    - lastProbeTime: null\n      lastTransitionTime: " ready "\n      status: \"True\"\n      type: Ready\n    - lastProbeTime: null\n      lastTransitionTime: " ready "\n      status: \"True\"\n      type: ContainersReady\n    - lastProbeTime: null\n      lastTransitionTime: " created "\n      status: \"True\"\n      type: PodScheduled\n    containerStatuses:\n    - containerID: " cid "\n      image: " img "\n      imageID: " img "@sha256:" hex(h(n, 61), 8) hex(h(n, 62), 8) hex(h(n, 63), 8) hex(h(n, 64), 8) hex(h(n, 65), 8) hex(h(n, 66), 8) hex(h(n, 67), 8) hex(h(n, 68), 8) "\n      lastState: {}\n      name: app\n      ready: true\n      restartCount: 0\n      started: true\n      state:\n        running:\n          startedAt: " started "\n      volumeMounts:\n      - mountPath: /etc/app\n        name: config\n        readOnly: true\n        recursiveReadOnly: Disabled\n      - mountPath: /var/run/secrets/kubernetes.io/serviceaccount\n        name: " kapi "\n        readOnly: true\n        recursiveReadOnly: Disabled\n    hostIP: " hostip "\n    hostIPs:\n    - ip: " hostip "\n    phase: Running\n    podIP: " ip "\n    podIPs:\n    - ip: " ip "\n    qosClass: Burstable\n    startTime: " created "\n"
}

BEGIN {
	SAFE = "bcdfghjklmnpqrstvwxz2456789"
	printf "apiVersion: v1\nitems:\n"
	# kubectl: per resource type, sorted by namespace, then by name.
	for (k = 0; k < NNS; k++)
		for (i = k; i < NSVC; i += NNS)
			service(i)
	for (k = 0; k < NNS; k++)
		for (i = k; i < NSVC; i += NNS)
			for (j = 0; j < NPOD; j++)
				pod(i, j)
	printf "kind: List\nmetadata:\n  resourceVersion: \"\"\n"
}'

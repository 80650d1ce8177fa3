#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Prints a Kubernetes ConfigMap holding FILEs, one key per file (its base
# name), as `kubectl create configmap NAME --from-file=FILE... -n NAMESPACE
# --dry-run=client -o yaml` would: what `veer watch` reads on each node
# (deploy/daemonset.yaml mounts it at /etc/veer/config).
#
#   scripts/gen-configmap.sh NAME NAMESPACE FILE...
#
# deploy/configmap-customers.yaml is this script's output for the
# customers scenario of examples/ (the Service and its pods, the
# DestinationRule, the 90/10 canary VirtualService).
set -euo pipefail

(($# >= 3)) || { echo "usage: scripts/gen-configmap.sh NAME NAMESPACE FILE..." >&2; exit 2; }
name=$1 namespace=$2
shift 2
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n' \
	"$name" "$namespace"
declare -A seen=()
for f in "$@"; do
	key=$(basename "$f")
	[[ $key =~ ^[-._a-zA-Z0-9]+$ ]] || { echo "gen-configmap: '$key' is not a ConfigMap key" >&2; exit 1; }
	[[ -z ${seen[$key]:-} ]] || { echo "gen-configmap: two files named '$key'" >&2; exit 1; }
	seen[$key]=1
	[[ -r $f ]] || { echo "gen-configmap: cannot read '$f'" >&2; exit 1; }
	# A literal block keeps the file byte for byte (its last newline too).
	printf '  %s: |\n' "$key"
	sed 's/^/    /; s/^    $//' "$f"
done

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Installs the Debian/Ubuntu packages veer needs to build, test and demo.
# Idempotent: checks each package with dpkg-query and installs only the
# missing ones (running apt-get update only then). Debian 12, Ubuntu 22.04+.
#
#   scripts/install-deps.sh [PKG...]
#
# PKG: further packages to check and install the same way (the benchmark
# scripts pass their peers: iptables, haproxy, nginx, wrk, ...). Installing
# never starts a package's service: a temporary policy-rc.d says no while
# apt runs, since the benchmarks start their own servers in the lab.
#
# bpftool: Debian ships it as "bpftool". Ubuntu releases without that
# package ship it in linux-tools-common plus linux-tools-$(uname -r); if the
# latter does not exist for the running kernel (containers, custom kernels)
# the script says so and stops.
set -euo pipefail

PKGS=(
	make gcc clang llvm libclang-rt-dev # build; libFuzzer runtime
	libbpf-dev libelf-dev zlib1g-dev libyaml-dev libcunit1-dev # libraries
	libmicrohttpd-dev libncurses-dev                 # veer metrics, top
	libcurl4-openssl-dev libjson-c-dev # fleet mode's etcd client
	etcd-server etcd-client # test_fleet: a 3-member cluster on loopback
	nftables # test_fleet_partition: one node cut off from etcd (drop rules)
	tmux # test_top: a terminal for veer top
	gnuplot-nox # veer rollout --plot
	iproute2 util-linux procps ethtool jq coreutils curl tcpdump # tests and demo
	prometheus # test_metrics: a real scraper, and promtool
	python3-yaml # test_deploy: reads the Kubernetes manifests
	"$@"                                            # the caller's extras
)

log() { printf 'install-deps: %s\n' "$*"; }
die() {
	printf 'install-deps: %s\n' "$*" >&2
	exit 1
}

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

has_candidate() {
	local c
	c=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
	[[ -n $c && $c != "(none)" ]]
}

bpftool_works() { command -v bpftool >/dev/null 2>&1 && bpftool version >/dev/null 2>&1; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	die "needs a Debian or Ubuntu system (dpkg-query, apt-get)"
fi

missing=()
for p in "${PKGS[@]}"; do
	installed "$p" || missing+=("$p")
done
need_bpftool=0
bpftool_works || need_bpftool=1

if ((${#missing[@]} == 0 && need_bpftool == 0)); then
	log "all ${#PKGS[@]} packages and bpftool present"
	exit 0
fi

[[ $(id -u) -eq 0 ]] ||
	die "missing: ${missing[*]}$( ((need_bpftool)) && echo ' bpftool'); run as root to install"

export DEBIAN_FRONTEND=noninteractive
log "missing: ${missing[*]}$( ((need_bpftool)) && echo ' bpftool'); running apt-get update"
aptlog=$(mktemp)
policy=/usr/sbin/policy-rc.d
policy_ours=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	policy_ours=1
fi
cleanup() {
	rm -f "$aptlog"
	if ((policy_ours)); then rm -f "$policy"; fi
}
trap cleanup EXIT
apt-get update -qq >"$aptlog" 2>&1 || {
	cat "$aptlog" >&2
	die "apt-get update failed"
}

if ((need_bpftool)); then
	if has_candidate bpftool; then
		missing+=(bpftool)
	else
		kernel_tools=linux-tools-$(uname -r)
		if has_candidate linux-tools-common && has_candidate "$kernel_tools"; then
			missing+=(linux-tools-common "$kernel_tools")
		else
			die "bpftool is not packaged for this system: no 'bpftool' package and no '$kernel_tools' (Ubuntu ships bpftool in linux-tools-common + linux-tools-\$(uname -r)); install bpftool by hand and re-run"
		fi
	fi
fi

log "installing: ${missing[*]}"
apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$aptlog" 2>&1 || {
	cat "$aptlog" >&2
	die "apt-get install ${missing[*]} failed"
}
bpftool_works || die "bpftool still does not run after installing ${missing[*]}"
log "installed ${#missing[@]} package(s); all present"

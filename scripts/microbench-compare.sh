#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# What a change costs per packet, resolved below this VM's run-to-run
# noise: build/microbench of two builds, run in pairs on one CPU, in
# alternating order (base first in odd pairs, new first in even ones, so a
# drift of the machine over the minutes cancels out), then for every row
# both builds print: each side's median, the median of the paired
# differences (new - base) and a distribution-free 95% confidence interval
# of that median (the sign test's order statistics: no assumption about the
# noise's shape, only that pairs are independent). A change "costs under X
# ns" when the interval's upper end is under X.
#
#   scripts/microbench-compare.sh [-p PAIRS] [-n RUNS] [-c CPU] [-o F] BASE [NEW]
#
# BASE and NEW are git revisions, built in throwaway worktrees under
# build/compare/ (their microbench binaries kept there); NEW defaults to
# this working tree (built here with make).
# Root (BPF_PROG_TEST_RUN). Defaults: 24 pairs, 20000 runs a row, CPU 1.
# -o F keeps every sample (pair, side, row, ns; tab-separated).
# Run it on a quiet machine: other load widens the interval, it does not
# bias it (both sides of a pair see the same minutes).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PAIRS=24
RUNS=20000
CPU=1
KEEP=

usage() {
	sed -n '/^#   scripts/p' "$0" | sed 's/^#   /usage: /' >&2
	exit 2
}

while getopts "p:n:c:o:h" opt; do
	case $opt in
	o) KEEP=$OPTARG ;;
	p) PAIRS=$OPTARG ;;
	n) RUNS=$OPTARG ;;
	c) CPU=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1 || $# == 2)) || usage
BASE=$1
NEW=${2:-}
need_number() {
	[[ $2 =~ ^[0-9]+$ ]] || {
		echo "microbench-compare: -$1 wants a number, not '$2'" >&2
		exit 2
	}
}
need_number p "$PAIRS"
need_number n "$RUNS"
need_number c "$CPU"
((PAIRS >= 6)) || {
	echo "microbench-compare: -p must be at least 6 (fewer pairs give no 95% interval)" >&2
	exit 2
}
[[ $(id -u) -eq 0 ]] || {
	echo "microbench-compare: must run as root (BPF_PROG_TEST_RUN)" >&2
	exit 2
}
[[ -d /sys/devices/system/cpu/cpu$CPU ]] || {
	echo "microbench-compare: no CPU $CPU on this machine" >&2
	exit 2
}

WORK=$ROOT/build/compare
mkdir -p "$WORK"
trees=()
cleanup() {
	local t
	for t in "${trees[@]}"; do
		git -C "$ROOT" worktree remove --force "$t" >/dev/null 2>&1 || true
	done
}
trap cleanup EXIT

# build REV: BUILT_BIN is the path of its microbench binary, kept as
# build/compare/SHA.microbench (the BPF programs are inside it, as
# skeletons), so a second comparison against the same revision builds
# nothing.
build_rev() {
	local rev=$1 sha dir bin
	sha=$(git -C "$ROOT" rev-parse --verify --quiet "$rev^{commit}") || {
		echo "microbench-compare: '$rev' is not a revision of this repository" >&2
		exit 2
	}
	bin=$WORK/${sha:0:12}.microbench
	if [[ ! -x $bin ]]; then
		dir=$WORK/${sha:0:12}
		rm -rf "$dir"
		git -C "$ROOT" worktree prune
		git -C "$ROOT" worktree add --detach "$dir" "$sha" >/dev/null 2>&1
		trees+=("$dir")
		echo "microbench-compare: building $rev (${sha:0:12})" >&2
		make -C "$dir" --no-print-directory all build/microbench >"$dir.log" 2>&1 || {
			echo "microbench-compare: $rev does not build (log: $dir.log)" >&2
			exit 1
		}
		cp "$dir/build/microbench" "$bin"
		git -C "$ROOT" worktree remove --force "$dir" >/dev/null 2>&1 || true
		rm -f "$dir.log"
	fi
	BUILT_BIN=$bin
}

build_rev "$BASE"
base_bin=$BUILT_BIN
if [[ -n $NEW ]]; then
	build_rev "$NEW"
	new_bin=$BUILT_BIN
else
	make -C "$ROOT" --no-print-directory all build/microbench >/dev/null
	new_bin=$ROOT/build/microbench
	NEW="working tree"
fi

# run BIN -> "program case<TAB>ns" lines
run() {
	taskset -c "$CPU" "$1" -n "$RUNS" |
		awk 'NR > 2 && NF >= 4 { ns = $(NF - 1); $NF = ""; $(NF - 1) = ""
			sub(/ +$/, ""); gsub(/  +/, " "); print $0 "\t" ns }'
}

samples=$(mktemp)
trap 'cleanup; rm -f "$samples"' EXIT
echo "microbench-compare: $PAIRS pairs of $RUNS runs a row on CPU $CPU: base $BASE, new $NEW" >&2
for ((p = 1; p <= PAIRS; p++)); do
	if ((p % 2)); then
		order="base new"
	else
		order="new base"
	fi
	for side in $order; do
		if [[ $side == base ]]; then
			bin=$base_bin
		else
			bin=$new_bin
		fi
		run "$bin" | sed "s/^/$p\t$side\t/" >>"$samples"
	done
	printf '.' >&2
done
echo >&2
[[ -z $KEEP ]] || cp "$samples" "$KEEP"

# Per row: medians, the median paired difference and its sign-test 95%
# interval [d(k), d(n-k+1)], k the largest with P(Bin(n, 1/2) < k) <= 0.025.
awk -F'\t' -v base="$BASE" -v new="$NEW" '
function sortn(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}
function median(a, n) {
	sortn(a, n)
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function sign_k(n,    k, p, c) {
	# c = P(X <= k - 1) for X ~ Bin(n, 1/2), grown one term at a time
	p = 0.5 ^ n; c = 0
	for (k = 0; k <= n; k++) {
		if (c + p > 0.025)
			return k
		c += p
		p = p * (n - k) / (k + 1)
	}
	return 0
}
{
	key = $3; ns[$1, $2, key] = $4
	if (!(key in seen)) { seen[key] = 1; rows[++nrows] = key }
	if ($1 > pairs) pairs = $1
}
END {
	printf "%-40s %9s %9s %9s %18s\n", "row (ns/pkt)", "base", "new",
		"new-base", "95% interval"
	for (r = 1; r <= nrows; r++) {
		key = rows[r]; n = 0
		delete b; delete w; delete d
		for (p = 1; p <= pairs; p++) {
			if (!((p, "base", key) in ns) || !((p, "new", key) in ns))
				continue
			n++
			b[n] = ns[p, "base", key]; w[n] = ns[p, "new", key]
			d[n] = w[n] - b[n]
		}
		if (n < 6)
			continue
		mb = median(b, n); mw = median(w, n); md = median(d, n)
		k = sign_k(n) # d is sorted now
		printf "%-40s %9.1f %9.1f %+9.1f %8s%+d,%+d]\n", key, mb, mw, md,
			"[", d[k], d[n - k + 1]
	}
	printf "(%d pairs; base %s, new %s; a row present in one build only is left out)\n",
		pairs, base, new
}' "$samples"

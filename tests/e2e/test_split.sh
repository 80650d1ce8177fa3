#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Weighted split, IPv4 (web) and IPv6 (web6): 100/0 and 0/100 are exact over
# 500 connections; 80/20 over 2000 connections lands within 4.5 binomial
# standard deviations of the expected v2 count.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

t_begin split
lab_init jq bpftool
lab_up_variant
lab_start_backends
lab_veer_up 100

# step SERVICE V1_WEIGHT N
step() {
	local svc=$1 w1=$2 n=$3 out="$LAB_TMP/count-$1-$2.out"
	if ! veer weight "$svc" "v1=$w1" "v2=$((100 - w1))" >"$out.veer" 2>&1; then
		t_fail "$svc $w1/$((100 - w1)): veer weight failed: $(head -n1 "$out.veer")"
		return
	fi
	count_burst "$svc" "$n" "$out"
	if split_ok "$out" "$n" "$w1"; then
		t_pass "$svc $w1/$((100 - w1)) over $n connections: $SPLIT_DESC"
	else
		t_fail "$svc $w1/$((100 - w1)) over $n connections: $SPLIT_DESC"
	fi
}

for svc in web web6; do
	step "$svc" 100 500
	step "$svc" 0 500
	step "$svc" 80 2000
done

t_check_ct_drained
t_check_client_rsts

t_end

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Fills the fuzzer's working corpus: the committed seeds (tests/fuzz/corpus)
# and, when examples/ exists, each example file on its own plus each
# scenario as one input: its files joined with 0xff (how fuzz_config.c
# splits an input into files), one input per VirtualService alternative.
#
#   tests/fuzz/corpus.sh OUTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:?usage: corpus.sh OUTDIR}
mkdir -p "$out"
cp "$ROOT"/tests/fuzz/corpus/* "$out"/

shopt -s nullglob
for dir in "$ROOT"/examples/*/; do
	name=$(basename "$dir")
	base=() alts=()
	for f in "$dir"*.yaml "$dir"*.yml "$dir"*.json; do
		cp "$f" "$out/example-$name-$(basename "$f")"
		if grep -q 'kind: VirtualService' "$f"; then
			alts+=("$f")
		else
			base+=("$f")
		fi
	done
	# At most four files per input: fuzz_config.c splits into four.
	((${#base[@]} <= 3)) || continue
	((${#alts[@]})) || alts=("")
	i=0
	for alt in "${alts[@]}"; do
		files=("${base[@]}")
		[[ -n $alt ]] && files+=("$alt")
		{
			sep=
			for f in "${files[@]}"; do
				printf '%b' "$sep"
				cat "$f"
				sep='\xff'
			done
		} >"$out/scenario-$name-$i"
		i=$((i + 1))
	done
done

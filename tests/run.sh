#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Runs every test layer, in order, and always all of them:
#   unit    build/test_unit    (CUnit, pure userspace)
#   packet  build/test_packet  (CUnit, BPF_PROG_TEST_RUN on crafted packets)
#   fuzz    make fuzz: the config loaders under libFuzzer for FUZZ_SECONDS
#           (default 20)
#   e2e     tests/e2e/test_*.sh, in each attach mode (tc, xdp: veer on the
#           node's interface, load from the client namespace; cgroup:
#           socket LB, load from node processes in the cgroup veer is
#           attached to), each with transmit checksum offload on and then
#           off on every lab veth
#
#   tests/run.sh [LAYER...]     (default: unit packet fuzz e2e)
#
# Must run as root (BPF, network namespaces). Build first: make tests-bin.
# Environment: VEER_E2E_TIMEOUT (seconds per e2e script, default 240),
# VEER_E2E_VARIANTS (default "on off"), VEER_E2E_MODES (default "tc xdp
# cgroup"), VEER_E2E_KEEP=1 keeps lab logs.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${VEER_BUILD:-$ROOT/build}
E2E_TIMEOUT=${VEER_E2E_TIMEOUT:-240}
E2E_VARIANTS=${VEER_E2E_VARIANTS:-on off}
E2E_MODES=${VEER_E2E_MODES:-tc xdp cgroup}

if [[ $(id -u) -ne 0 ]]; then
	echo "tests/run.sh: must run as root (BPF programs, network namespaces); try: sudo $0" >&2
	exit 2
fi

layers=("$@")
((${#layers[@]})) || layers=(unit packet fuzz e2e)
for l in "${layers[@]}"; do
	case $l in
	unit | packet | fuzz | e2e) ;;
	*)
		echo "tests/run.sh: unknown layer '$l' (unit, packet, fuzz, e2e)" >&2
		exit 2
		;;
	esac
done

if ! awk '$2 == "/sys/fs/bpf" && $3 == "bpf" { f = 1 } END { exit !f }' /proc/mounts; then
	mkdir -p /sys/fs/bpf
	if ! mount -t bpf bpf /sys/fs/bpf; then
		echo "tests/run.sh: cannot mount bpffs at /sys/fs/bpf" >&2
		exit 2
	fi
fi

now_ms() { echo $(($(date +%s%N) / 1000000)); }

total_pass=0
total_fail=0
summary=()
# What failed, printed last: CI shows only the tail of a run.
failures=()

# record LAYER STATUS PASSED FAILED MS
record() {
	total_pass=$((total_pass + $3))
	total_fail=$((total_fail + $4))
	summary+=("$(printf '%-7s %-4s %4d passed, %d failed (%d ms)' "$1" "$2" "$3" "$4" "$5")")
}

# CUnit's "tests" row: "tests  Total Ran Passed Failed Inactive".
cunit_counts() {
	awk '$1 == "tests" && NF >= 5 && $2 ~ /^[0-9]+$/ { p = $4; f = $5 }
		END { if (p == "") exit 1; print p + 0, f + 0 }' "$1"
}

run_cunit() {
	local layer=$1 bin=$BUILD/test_$1 log rc=0 t0 counts p f
	echo "=== $layer: $bin"
	t0=$(now_ms)
	if [[ ! -x $bin ]]; then
		echo "FAIL $layer: $bin not built (make tests-bin)"
		record "$layer" FAIL 0 1 0
		return
	fi
	log=$(mktemp)
	(cd "$ROOT" && "$bin") 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	if counts=$(cunit_counts "$log"); then
		read -r p f <<<"$counts"
	else
		p=0
		f=1 # no summary: it crashed or never ran
	fi
	rm -f "$log"
	if ((rc != 0 && f == 0)); then
		f=1 # a non-zero exit is a failure even if the counts look clean
	fi
	if ((rc == 0 && f == 0 && p > 0)); then
		record "$layer" ok "$p" 0 $(($(now_ms) - t0))
	else
		echo "FAIL $layer: exit $rc"
		failures+=("$layer: exit $rc, $f failed")
		record "$layer" FAIL "$p" "$f" $(($(now_ms) - t0))
	fi
}

# The config loaders under libFuzzer + ASan + UBSan for FUZZ_SECONDS
# (default 20): bounded time, any crash or sanitizer report fails.
run_fuzz() {
	local t0 log rc=0 runs
	echo "=== fuzz: make fuzz (${FUZZ_SECONDS:-20} s)"
	t0=$(now_ms)
	log=$(mktemp)
	make -C "$ROOT" --no-print-directory fuzz \
		FUZZ_SECONDS="${FUZZ_SECONDS:-20}" >"$log" 2>&1 || rc=$?
	runs=$(awk '/^Done [0-9]+ runs/ { print $2 }' "$log")
	tail -n 3 "$log"
	rm -f "$log"
	if ((rc == 0)) && [[ -n $runs ]]; then
		echo "fuzz: $runs inputs, no crash"
		record fuzz ok 1 0 $(($(now_ms) - t0))
	else
		echo "FAIL fuzz: exit $rc (crash inputs in build/fuzz-artifacts/)"
		failures+=("fuzz: exit $rc")
		record fuzz FAIL 0 1 $(($(now_ms) - t0))
	fi
}

run_e2e() {
	local t0 t v rc pass=0 fail=0 name log line
	echo "=== e2e: tests/e2e/test_*.sh, modes: $E2E_MODES, tx checksum offload: $E2E_VARIANTS"
	t0=$(now_ms)
	for m in $E2E_MODES; do
	for v in $E2E_VARIANTS; do
		for t in "$ROOT"/tests/e2e/test_*.sh; do
			name="$(basename "$t" .sh)[$m,tx-$v]"
			echo "--- $name"
			rc=0
			# To a file, not a pipe: a process a test leaves behind
			# holding its output must not stall the run.
			log=$(mktemp)
			VEER_E2E_MODE=$m VEER_E2E_TX=$v \
				timeout --signal=TERM --kill-after=15 \
				"$E2E_TIMEOUT" bash "$t" >"$log" 2>&1 || rc=$?
			cat "$log"
			if ((rc == 0)); then
				pass=$((pass + 1))
			else
				fail=$((fail + 1))
				((rc == 124)) && echo "FAIL $name: timed out after ${E2E_TIMEOUT}s"
				echo "FAIL $name: exit $rc"
				failures+=("$name: exit $rc")
				while IFS= read -r line; do
					failures+=("  ${line:0:400}")
				done < <(grep -E '^(FAIL|not ok)' "$log" | head -n 4)
			fi
			rm -f "$log"
		done
	done
	done
	echo "e2e: $pass passed, $fail failed"
	if ((fail == 0 && pass > 0)); then
		record e2e ok "$pass" 0 $(($(now_ms) - t0))
	else
		record e2e FAIL "$pass" "$fail" $(($(now_ms) - t0))
	fi
}

T0=$(now_ms)
for l in "${layers[@]}"; do
	case $l in
	unit | packet) run_cunit "$l" ;;
	fuzz) run_fuzz ;;
	e2e) run_e2e ;;
	esac
done

echo "=== summary"
printf '%s\n' "${summary[@]}"
echo "($(($(now_ms) - T0)) ms; unit and packet count CUnit tests, fuzz one bounded run, e2e test scripts per mode and offload variant)"
if ((${#failures[@]})); then
	echo "failed:"
	printf '%s\n' "${failures[@]}"
fi
echo "all: $total_pass passed, $total_fail failed"
((total_fail == 0 && total_pass > 0))

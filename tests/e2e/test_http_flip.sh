#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# Live weight flips under HTTP keep-alive connections, IPv4 and IPv6. The
# service "shop" has one rule (X-group: test -> v2) and a default route
# at 50/50. Per family, 64 keep-alive connections of veer-httpclient
# stream (each a POST of 1 KiB every 10 ms, echoed and verified, every
# response checked to come from the connection's first backend and its
# backend connection): 32 carry X-group: test, 32 nothing. Then the
# default weights go 100/0 -> 0/100 -> 50/50, ROUNDS times (`veer weight
# shop`, both entries). After every flip: a burst of new connections
# without the header follows the new weights (exact at 100/0 and 0/100,
# within 6 binomial sd at 50/50), a burst with the header all goes to v2
# (tc/xdp), and every live connection verifies more bytes. At the end all
# 64 close with 0 resets, 0 corrupt bytes, 0 backend changes, and the
# header connections were all on v2 (tc/xdp). cgroup mode: the rule does
# not apply to node-local clients, so the header connections follow the
# default route like the others; the rest is the same.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

STREAMS=${VEER_E2E_HTTP_STREAMS:-32} # per client; two clients per family
ROUNDS=${VEER_E2E_HTTP_ROUNDS:-5}
BURST=${VEER_E2E_HTTP_BURST:-200}
BURST_RULE=${VEER_E2E_HTTP_BURST_RULE:-50}

t_begin http-flip
lab_init jq bpftool "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends
lab_veer_attach

RULES=1
[[ $LAB_MODE == cgroup ]] && RULES=0

lab_write_shop_istio "$LAB_TMP/shop.yaml" 50 group
veer apply -f "$LAB_TMP/shop.yaml" >"$LAB_TMP/apply.out" 2>&1 || {
	cat "$LAB_TMP/apply.out" >&2
	lab_die "veer apply failed"
}

# burst OUT VIP N [ARGS...]: N new one-request connections.
burst() {
	local out=$1 vip=$2 n=$3
	shift 3
	lab_http_client count --addr "$vip" --port "$VIP_PORT" -n "$n" -c 32 \
		--timeout-ms 5000 "$@" >"$out" 2>"$out.err" || true
}

# start_streams NAME VIP [ARGS...]: STREAMS keep-alive connections; PID in
# SPID_NAME, waits (bounded) for all of them to verify a response.
start_streams() {
	local name=$1 vip=$2 base=$LAB_TMP/stream-$1
	shift 2
	lab_http_client_bg "$base.out" stream --addr "$vip" --port "$VIP_PORT" \
		-n "$STREAMS" --post 1024 --interval-ms 10 --timeout-ms 10000 \
		--ready-file "$base.ready" --progress-file "$base.progress" "$@"
	eval "SPID_$name=$LAB_BG_PID"
	if ! wait_for_file "$base.ready" 15000 "$LAB_BG_PID"; then
		t_fail "$name: $STREAMS HTTP keep-alive connections not ready: $(tr '\n' ' ' <"$base.out") $(tr '\n' ' ' <"$base.progress" 2>/dev/null)"
		return 1
	fi
}

# stop_streams NAME WANT_VERSION: SIGTERM, bounded wait, then the summary
# must be clean; WANT_VERSION (v2, or "" for any) for every connection.
stop_streams() {
	local name=$1 want=$2 base=$LAB_TMP/stream-$1 pid rc=0 conns resets corrupt
	local errs changes unverified onwant sv
	eval "pid=\$SPID_$name"
	kill -TERM "$pid" 2>/dev/null || true
	wait_until 20000 _lab_gone "$pid" || kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" || rc=$?
	conns=$(count_of "$base.out" connections)
	resets=$(count_of "$base.out" resets)
	corrupt=$(count_of "$base.out" corrupt_bytes)
	errs=$(count_of "$base.out" errors)
	changes=$(count_of "$base.out" version_changes)
	unverified=$(count_of "$base.out" unverified_connections)
	onwant=$STREAMS
	[[ -n $want ]] && onwant=$(key_of "$base.out" version "$want")
	sv=$(awk '$1 == "version" { printf "%s%s %s", s, $2, $3; s = ", " }' "$base.out")
	if ((rc == 0 && conns == STREAMS && resets == 0 && corrupt == 0 &&
		errs == 0 && changes == 0 && unverified == 0 && onwant == STREAMS)); then
		t_pass "$name: $conns keep-alive connections closed cleanly ($sv), $(count_of "$base.out" requests) requests, $(count_of "$base.out" bytes_verified) bytes verified, 0 resets, 0 corrupt, 0 backend changes"
	else
		t_fail "$name (exit $rc, want all on ${want:-any}): $(grep -v '^veer-httpclient' "$base.out" | tr '\n' ' ') $(grep '^veer-httpclient' "$base.out" | head -n 3 | tr '\n' ' ')"
	fi
}

flip_family() {
	local fam=$1 vip=$2 round w flips=0 bad=0 stalls=0 mark=0 name b0 b1 t0
	local hdr=hdr$fam plain=plain$fam pid_h pid_p
	veer weight shop v1=50 v2=50 >/dev/null
	start_streams "$hdr" "$vip" -H 'X-group: test' || return 0
	start_streams "$plain" "$vip" || return 0
	eval "pid_h=\$SPID_$hdr pid_p=\$SPID_$plain"
	t_pass "IPv$fam: 2 x $STREAMS HTTP keep-alive connections up (with and without X-group: test) at 50/50"

	t0=$(now_ms)
	for ((round = 1; round <= ROUNDS; round++)); do
		for w in 100 0 50; do
			flips=$((flips + 1))
			b0=$(count_of "$LAB_TMP/stream-$hdr.progress" bytes_verified)
			b1=$(count_of "$LAB_TMP/stream-$plain.progress" bytes_verified)
			if ! veer weight shop "v1=$w" "v2=$((100 - w))" >"$LAB_TMP/weight.out" 2>&1; then
				t_fail "IPv$fam flip $flips: veer weight shop v1=$w: $(head -n1 "$LAB_TMP/weight.out")"
				continue
			fi
			mark=$((mark + 1))
			kill -USR2 "$pid_h" "$pid_p" 2>/dev/null || true

			burst "$LAB_TMP/burst.out" "$vip" "$BURST"
			if ! split_ok "$LAB_TMP/burst.out" "$BURST" "$w"; then
				bad=$((bad + 1))
				t_fail "IPv$fam flip $flips to $w/$((100 - w)): burst of $BURST without header: $SPLIT_DESC"
			fi
			burst "$LAB_TMP/burst-rule.out" "$vip" "$BURST_RULE" -H 'X-group: test'
			if ! split_ok "$LAB_TMP/burst-rule.out" "$BURST_RULE" $((RULES ? 0 : w)); then
				bad=$((bad + 1))
				t_fail "IPv$fam flip $flips to $w/$((100 - w)): burst of $BURST_RULE with X-group: test (want $( ((RULES)) && echo 'all v2' || echo 'the default route')): $SPLIT_DESC"
			fi
			for name in "$hdr:$pid_h:$b0" "$plain:$pid_p:$b1"; do
				IFS=: read -r name pid b0 <<<"$name"
				if ! wait_until 10000 streams_progressed \
					"$LAB_TMP/stream-$name.progress" "$mark" "$b0" \
					"$STREAMS" "$pid" || ! kill -0 "$pid" 2>/dev/null; then
					stalls=$((stalls + 1))
					t_fail "IPv$fam flip $flips to $w/$((100 - w)): $name made no progress: $(tr '\n' ' ' <"$LAB_TMP/stream-$name.progress" 2>/dev/null)"
				fi
			done
			if ! kill -0 "$pid_h" 2>/dev/null || ! kill -0 "$pid_p" 2>/dev/null; then
				break 2
			fi
		done
	done
	if ((bad == 0 && stalls == 0 && flips == 3 * ROUNDS)); then
		t_pass "IPv$fam: $flips live flips in $(($(now_ms) - t0)) ms: every burst followed the weights (header bursts: $( ((RULES)) && echo 'all v2' || echo 'default route')), all $((2 * STREAMS)) keep-alive connections progressed after each"
	fi
	stop_streams "$hdr" "$( ((RULES)) && echo v2)"
	stop_streams "$plain" ""
}

flip_family 4 "$SHOP_VIP4"
flip_family 6 "$SHOP_VIP6"

t_check_ct_drained
t_check_client_rsts

t_end

#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# veer rollout under a steady load of new connections (tc and xdp):
# - to a healthy v2 (steps 10, 50, 100, holds of 1.5 s, at least 50 of
#   v2's connections a step): one "ok" line per judged step, "done:
#   v2=100", exit 0, the maps at v1=0 v2=100, a PNG drawn by --plot;
# - the same from an Argo Rollouts Rollout (-f): setWeight 10 paused 1 s,
#   setWeight 50 paused 3 s, 100 added: each step held its own pause,
#   exit 0, v1=0 v2=100;
# - to a v2 that refuses connections (its backend port has no listener):
#   "rollback: v2 failure rate ...% > 1.00%" after the first hold, exit 3,
#   the maps back at v1=100 v2=0; the load's errors during the rollout are
#   all refusals, exactly as many as the failures veer counted on v2, and
#   none on v1; a burst of 500 connections afterwards all on v1, no error;
# - the same v2 from a Flagger Canary with threshold 2: the first breached
#   hold is held again ("breach 1 of 2, holding again"), the second rolls
#   back, exit 3;
# - HTTP services (http: true): a v2 that answers 503 ("rollback: v2 5xx
#   rate 100.00% > 1.00%") and a v2 that takes 100 ms a response, with
#   --max-p99 50 ("v2 first-byte p99 up to N ms > 50 ms", N a log2
#   bucket's bound: the server answers one request at a time, so queued
#   ones wait longer), each rolled back after the first hold, exit 3, v1=100;
# - SIGTERM in the first hold: exit 1, "stopped: web stays at v2=10
#   v1=90", and the maps stay there;
# - bad arguments: exit 2 and one line, nothing changed; a Rollout with an
#   indefinite pause: exit 1, one line naming its position, nothing changed.
# cgroup mode places connections at connect() and sees neither handshake
# nor failure: the rollout refuses to promote what it cannot judge (exit 3,
# "cannot see", back at v1=100).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

REFUSING_PORT=8081

t_begin rollout
lab_init jq "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_backends
lab_veer_attach

# config FILE V2_PORT: the lab's web and web6 at v1=100 v2=0, web's v2 on
# V2_PORT.
config() {
	lab_write_config "$1" 100
	sed -i "s/\[$V2_V4:$BACKEND_PORT\]/[$V2_V4:$2]/" "$1"
}

# load_start: new connections to web until load_stop (4 at a time).
load_start() {
	lab_client_bg "$LAB_TMP/load-$1.out" count --addr "$VIP_V4" --port "$VIP_PORT" \
		-n 10000000 -c 4 --timeout-ms 2000
	LOAD_PID=$LAB_BG_PID
}
load_stop() { lab_kill "$LOAD_PID"; }

# rollout_web OUT ARGS...: veer rollout web --to v2 ARGS (at least 50 of
# v2's connections a step), its output in OUT and OUT.err, exit status in RC.
rollout_web() {
	local out=$1
	shift
	RC=0
	veer rollout web --to v2 --min-connections 50 "$@" >"$out" 2>"$out.err" || RC=$?
}

# rollout_run OUT ARGS...: the same in steps 10, 50, 100 of 1.5 s.
rollout_run() {
	local out=$1
	shift
	rollout_web "$out" --steps 10,50,100 --interval 1500 "$@"
}

config "$LAB_TMP/good.yaml" "$BACKEND_PORT"
veer apply -f "$LAB_TMP/good.yaml" >/dev/null
load_start good
rollout_run "$LAB_TMP/good.out" --plot "$LAB_TMP/good.png"
load_stop
got=$(weights_of web)
if [[ $LAB_MODE == cgroup ]]; then
	if ((RC == 3)) && grep -q "^rollback: .*cannot see" "$LAB_TMP/good.out" &&
		[[ $got == "v1=100 v2=0" ]]; then
		t_pass "cgroup: rollout refuses to promote what it cannot judge: $(grep '^rollback' "$LAB_TMP/good.out")"
	else
		t_fail "cgroup: exit $RC, $got: $(oneline "$LAB_TMP/good.out") $(oneline "$LAB_TMP/good.out.err")"
	fi
else
	oks=$(grep -c ': ok$' "$LAB_TMP/good.out" || true)
	if ((RC == 0)) && ((oks == 2)) && grep -qx "done: v2=100" "$LAB_TMP/good.out" &&
		[[ $got == "v1=0 v2=100" ]]; then
		t_pass "healthy v2: 2 steps judged ok, done at 100, exit 0 ($(oneline "$LAB_TMP/good.out"))"
	else
		t_fail "healthy v2: exit $RC, $got: $(oneline "$LAB_TMP/good.out") $(oneline "$LAB_TMP/good.out.err")"
	fi
fi
if [[ $(head -c 4 "$LAB_TMP/good.png" 2>/dev/null | od -An -tx1 | tr -d ' ') == 89504e47 ]]; then
	t_pass "--plot drew a PNG ($(stat -c %s "$LAB_TMP/good.png") bytes)"
else
	t_fail "--plot: no PNG ($(oneline "$LAB_TMP/good.out.err"))"
fi

# From an Argo Rollout: each setWeight held as long as its own pause says,
# then 100 (Argo promotes after the last step).
cat >"$LAB_TMP/argo.yaml" <<'EOF'
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  strategy:
    canary:
      steps:
      - setWeight: 10
      - pause: {duration: 1s}
      - setWeight: 50
      - pause: {duration: 3s}
EOF
config "$LAB_TMP/good.yaml" "$BACKEND_PORT"
veer apply -f "$LAB_TMP/good.yaml" >/dev/null
load_start argo
rollout_web "$LAB_TMP/argo.out" -f "$LAB_TMP/argo.yaml"
load_stop
got=$(weights_of web)
# Each judged step's hold in seconds: "1.0 3.0 " or so.
holds=$(sed -n 's/^step [0-9]\/3: v2 [0-9]*%: \([0-9.]*\) s,.*: ok$/\1/p' "$LAB_TMP/argo.out" | tr '\n' ' ')
if [[ $LAB_MODE == cgroup ]]; then
	if ((RC == 3)) && grep -q "^rollback: .*cannot see" "$LAB_TMP/argo.out" &&
		[[ $got == "v1=100 v2=0" ]]; then
		t_pass "cgroup: Argo Rollout: refuses to promote what it cannot judge"
	else
		t_fail "cgroup: Argo Rollout: exit $RC, $got: $(oneline "$LAB_TMP/argo.out") $(oneline "$LAB_TMP/argo.out.err")"
	fi
elif ((RC == 0)) && grep -qx "done: v2=100" "$LAB_TMP/argo.out" && [[ $got == "v1=0 v2=100" ]] &&
	awk -v h="$holds" 'BEGIN { n = split(h, s, " "); exit !(n == 2 && s[1] < 2 && s[2] >= 2.5) }'; then
	t_pass "Argo Rollout: steps 10 and 50 held their own pauses (${holds% } s), done at 100, exit 0"
else
	t_fail "Argo Rollout: exit $RC, $got, holds '$holds': $(oneline "$LAB_TMP/argo.out") $(oneline "$LAB_TMP/argo.out.err")"
fi

# failures_of SUBSET: what veer counted as web's SUBSET's failed
# connections (refused, reset before data, SYN unanswered).
failures_of() {
	veer stats -o json 2>/dev/null | jq -r --arg s "$1" '
		[.services[] | select(.name == "web") | .subsets[] |
		 select(.name == $s) | .health |
		 .refused + .resetsBeforeData + .synUnanswered] | add // 0'
}

# v2 refuses every connection: nothing listens on its port.
config "$LAB_TMP/bad.yaml" "$REFUSING_PORT"
veer apply -f "$LAB_TMP/bad.yaml" >/dev/null
v1_failed=$(failures_of v1) v2_failed=$(failures_of v2)
load_start bad
rollout_run "$LAB_TMP/bad.out"
load_stop
v1_failed=$(($(failures_of v1) - v1_failed)) v2_failed=$(($(failures_of v2) - v2_failed))
got=$(weights_of web)
want="failure rate [0-9.]*% > 1.00%"
[[ $LAB_MODE == cgroup ]] && want="cannot see"
if ((RC == 3)) && grep -q "^rollback: .*$want" "$LAB_TMP/bad.out" &&
	[[ $(grep -c '^step' "$LAB_TMP/bad.out") == 1 ]] && [[ $got == "v1=100 v2=0" ]]; then
	t_pass "refusing v2: rolled back after one hold, exit 3, v1=100 v2=0 ($(grep '^rollback' "$LAB_TMP/bad.out"))"
else
	t_fail "refusing v2: exit $RC, $got: $(oneline "$LAB_TMP/bad.out") $(oneline "$LAB_TMP/bad.out.err")"
fi
# Whose were the load's errors during the rollout? Each refused connection
# is one client error and one failure veer counted on v2: every error the
# clients saw was a connection placed on v2, none on v1. (cgroup mode sees
# no failures to count.)
errors=$(count_of "$LAB_TMP/load-bad.out" errors)
refused=$(grep -o 'refused=[0-9]*' "$LAB_TMP/load-bad.out" | cut -d= -f2 || true)
if [[ $LAB_MODE == cgroup ]]; then
	t_pass "refusing v2 (cgroup): the load saw $errors errors, veer cannot attribute them (it sees connect() only)"
elif ((errors > 0)) && [[ ${refused:-0} == "$errors" ]] && ((v2_failed == errors && v1_failed == 0)); then
	t_pass "refusing v2: the load's $errors errors were all refusals, exactly the $v2_failed failures veer counted on v2; v1 counted $v1_failed"
else
	t_fail "refusing v2: the load saw $errors errors (refused ${refused:-0}), veer counted v2 $v2_failed, v1 $v1_failed"
fi
count_burst web 500 "$LAB_TMP/after.out"
if [[ $(count_of "$LAB_TMP/after.out" v1) == 500 && $(count_of "$LAB_TMP/after.out" errors) == 0 ]]; then
	t_pass "after the rollback: 500 connections all on v1, no error"
else
	t_fail "after the rollback: $(oneline "$LAB_TMP/after.out")"
fi

# From a Flagger Canary with threshold 2: the first breached hold is held
# again at the same weight, the second rolls back.
cat >"$LAB_TMP/flagger.yaml" <<'EOF'
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: web}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  analysis:
    interval: 1500ms
    threshold: 2
    stepWeights: [10, 50]
    metrics:
    - name: request-success-rate
      thresholdRange: {min: 99}
EOF
load_start flagger
rollout_web "$LAB_TMP/flagger.out" -f "$LAB_TMP/flagger.yaml"
load_stop
got=$(weights_of web)
if [[ $LAB_MODE == cgroup ]]; then
	want="^rollback: .*cannot see"
	steps=1
else
	want="^rollback: v2 failure rate [0-9.]*% > 1.00% .* at 10%"
	steps=2
fi
if ((RC == 3)) && grep -q "$want" "$LAB_TMP/flagger.out" &&
	[[ $(grep -c '^step 1/3: v2 10%' "$LAB_TMP/flagger.out") == "$steps" ]] &&
	{ [[ $LAB_MODE == cgroup ]] || grep -q ': breach 1 of 2, holding again: ' "$LAB_TMP/flagger.out"; } &&
	[[ $got == "v1=100 v2=0" ]]; then
	t_pass "Flagger Canary, threshold 2: rolled back at the second breached hold, exit 3 ($(oneline "$LAB_TMP/flagger.out"))"
else
	t_fail "Flagger Canary, threshold 2: exit $RC, $got: $(oneline "$LAB_TMP/flagger.out") $(oneline "$LAB_TMP/flagger.out.err")"
fi

# An HTTP service (http: true) whose v2 answers every request with 503:
# its backends are HTTP servers of their own on API_PORT.
API_PORT=8090
# HTTP services (http: true) on servers of their own: v1 fine on API_PORT,
# v2 answering 503 on API_PORT, v2 taking 100 ms per response on
# SLOW_PORT.
API_PORT=8090
SLOW_PORT=8092
for spec in "$NS_V1 $V1_V4 v1 $API_PORT" "$NS_V2 $V2_V4 v2 $API_PORT --status 503" \
	"$NS_V2 $V2_V4 v2 $SLOW_PORT --delay-ms 100"; do
	read -r ns addr ver port extra <<<"$spec"
	# shellcheck disable=SC2086 # extra: options, as words
	lab_bg "$ns" "$LAB_TMP/api-$ver-$port.log" "$HTTPSRV" --listen "$addr" --port "$port" \
		--version "$ver" $extra --ready-file "$LAB_TMP/api-$ver-$port.ready"
	wait_for_file "$LAB_TMP/api-$ver-$port.ready" 10000 "$LAB_BG_PID" ||
		lab_die "HTTP $ver on $port did not start"
done

# http_rollout NAME V2_PORT WANT [ROLLOUT ARGS...]: a service NAME on
# API_PORT, v2 on V2_PORT, rolled out under load; it must roll back at the
# first step with a line matching WANT ("cannot see" in cgroup mode).
http_rollout() {
	local name=$1 v2port=$2 want=$3
	shift 3
	cat >"$LAB_TMP/$name.yaml" <<EOF
services:
  - name: $name
    vip: $VIP_V4
    port: $v2port
    http: true
    subsets:
      - name: v1
        weight: 100
        backends: [$V1_V4:$API_PORT]
      - name: v2
        weight: 0
        backends: [$V2_V4:$v2port]
EOF
	veer apply -f "$LAB_TMP/$name.yaml" >/dev/null
	lab_http_client_bg "$LAB_TMP/load-$name.out" count --addr "$VIP_V4" --port "$v2port" \
		-n 1000000 -c 8 --timeout-ms 5000
	LOAD_PID=$LAB_BG_PID
	RC=0
	veer rollout "$name" --to v2 --steps 10,50,100 --interval 1500 --min-connections 10 "$@" \
		>"$LAB_TMP/$name.out" 2>"$LAB_TMP/$name.out.err" || RC=$?
	load_stop
	got=$(weights_of "$name")
	[[ $LAB_MODE == cgroup ]] && want="cannot see"
	if ((RC == 3)) && grep -q "^rollback: .*$want" "$LAB_TMP/$name.out" &&
		[[ $(grep -c '^step' "$LAB_TMP/$name.out") == 1 ]] && [[ $got == "v1=100 v2=0" ]]; then
		t_pass "$name: rolled back after one hold, exit 3, v1=100 v2=0 ($(oneline "$LAB_TMP/$name.out"))"
	else
		t_fail "$name: exit $RC, $got: $(oneline "$LAB_TMP/$name.out") $(oneline "$LAB_TMP/$name.out.err")"
	fi
	veer delete "$name" >/dev/null
}
http_rollout api "$API_PORT" "v2 5xx rate 100.00% > 1.00% over [0-9]* responses at 10%"
http_rollout slow "$SLOW_PORT" "v2 first-byte p99 up to [0-9]* ms > 50 ms at 10%" --max-p99 50

# Stopped midway (SIGTERM in the first hold): exit 1, it says where it
# stopped, and the weights stay there.
config "$LAB_TMP/good.yaml" "$BACKEND_PORT"
veer apply -f "$LAB_TMP/good.yaml" >/dev/null
# nsenter execs veer: $! is veer's own PID (the lab's veer function would
# put a shell between).
nsenter --net="/run/netns/$NS_NODE" -- "$VEER_BIN" --pin-root "$VEER_PIN_ROOT" \
	rollout web --to v2 --interval 60000 >"$LAB_TMP/stop.out" 2>&1 &
ROLLOUT_PID=$!
LAB_PIDS+=("$ROLLOUT_PID")
# The weights read afresh at each poll (an argument $(...) is read once).
# shellcheck disable=SC2317 # called through wait_until
weights_are() { [[ $(weights_of "$1") == "$2" ]]; }
wait_until 10000 weights_are web "v1=90 v2=10" || true
kill -TERM "$ROLLOUT_PID" 2>/dev/null || true
rc=0
wait "$ROLLOUT_PID" || rc=$?
if ((rc == 1)) && grep -qx "stopped: web stays at v2=10 v1=90 (veer rollout or veer weight carries on)" "$LAB_TMP/stop.out" &&
	[[ $(weights_of web) == "v1=90 v2=10" ]]; then
	t_pass "SIGTERM in the first hold: exit 1, '$(oneline "$LAB_TMP/stop.out")', the maps stay at v1=90 v2=10"
else
	t_fail "SIGTERM in the first hold: exit $rc, '$(oneline "$LAB_TMP/stop.out")', $(weights_of web)"
fi
veer weight web v1=100 v2=0 >/dev/null

# Bad arguments: exit 2, one line, weights as they were.
for args in "--to v3" "--to v2 --steps 50,10,100" "--to v2 --steps 10,50" \
	"--to v2 --max-failure-rate 101"; do
	rc=0
	# shellcheck disable=SC2086 # the arguments are words
	veer rollout web $args >"$LAB_TMP/arg.out" 2>"$LAB_TMP/arg.err" || rc=$?
	want_rc=2
	[[ $args == "--to v3" ]] && want_rc=1 # a subset the service lacks
	if ((rc == want_rc)) && [[ $(wc -l <"$LAB_TMP/arg.err") == 1 ]] &&
		[[ $(weights_of web) == "v1=100 v2=0" ]]; then
		t_pass "rollout $args: exit $rc, '$(cat "$LAB_TMP/arg.err")', nothing changed"
	else
		t_fail "rollout $args: exit $rc (want $want_rc), '$(oneline "$LAB_TMP/arg.err")', $(weights_of web)"
	fi
done

# A Rollout veer cannot follow: refused before any weight moves.
sed 's/{duration: 1s}/{}/' "$LAB_TMP/argo.yaml" >"$LAB_TMP/argo-manual.yaml"
rc=0
veer rollout web --to v2 -f "$LAB_TMP/argo-manual.yaml" >"$LAB_TMP/arg.out" 2>"$LAB_TMP/arg.err" || rc=$?
if ((rc == 1)) && [[ $(wc -l <"$LAB_TMP/arg.err") == 1 ]] &&
	grep -q "argo-manual.yaml:9:9: steps\[1\]: a pause without a duration" "$LAB_TMP/arg.err" &&
	[[ $(weights_of web) == "v1=100 v2=0" ]]; then
	t_pass "Argo Rollout with pause: {}: exit 1, '$(cat "$LAB_TMP/arg.err")', nothing changed"
else
	t_fail "Argo Rollout with pause: {}: exit $rc, '$(oneline "$LAB_TMP/arg.err")', $(weights_of web)"
fi

t_end

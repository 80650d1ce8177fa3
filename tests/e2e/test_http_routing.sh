#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# HTTP routing by header and uri (Istio VirtualService http: match), real
# TCP through the node, IPv4 and IPv6, with veer-httpclient and curl
# against veer-httpsrv backends (v1, v2). The service "shop" has the rules
# of lab_write_shop_istio's "seeds" set: user-agent exact "debug" -> v2,
# user-agent prefix "debug-" -> v2, X-group exact "test" -> v2, uri prefix
# "/canary/" -> v1 10 / v2 90, and the default route v1 80 / v2 20.
#
# tc and xdp mode (XDP hands the service to TC): every request matching a
# header rule reaches v2 (exact count), header names match in any case,
# values and uri exactly as written; the uri rule and the default route
# split within 6 binomial standard deviations (N_DEFAULT connections at
# 80/20); each connection's counter in `veer stats -o json` (.http.rules[i]
# .requests, .http.defaultRequests) moves by exactly the connections sent.
# POST bodies (echoed) and multi-kilobyte responses arrive byte-exact, and
# the request head too (the backend returns its checksum); every request
# of a keep-alive connection reaches the backend and the backend
# connection its first one did, including with curl --next, where later
# requests on the connection do not carry the header.
#
# cgroup mode: node-local clients are placed at connect(), before any
# request byte, so rules cannot apply: every connection, matching or not,
# takes the default route (80/20 within the bound) and is counted in
# .http.unseenDefault.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

N_RULE=${VEER_E2E_HTTP_N_RULE:-300}
N_DEFAULT=${VEER_E2E_HTTP_N_DEFAULT:-2000}
N_URI=${VEER_E2E_HTTP_N_URI:-1000}

t_begin http-routing
lab_init jq bpftool curl "$HTTPSRV" "$HTTPCLIENT"
lab_up_variant
lab_start_http_backends
lab_veer_attach

RULES=1
[[ $LAB_MODE == cgroup ]] && RULES=0

lab_write_shop_istio "$LAB_TMP/shop.yaml" 80 seeds
if veer apply -f "$LAB_TMP/shop.yaml" >"$LAB_TMP/apply.out" 2>"$LAB_TMP/apply.err"; then
	t_pass "veer apply (4 http rules + default 80/20): $(tr '\n' '|' <"$LAB_TMP/apply.out") stderr: $(tr '\n' '|' <"$LAB_TMP/apply.err")"
else
	t_fail "veer apply: $(tr '\n' '|' <"$LAB_TMP/apply.err")"
	t_end
fi
veer status >"$LAB_TMP/status.out" 2>&1 || true
t_pass "veer status: $(grep -i 'http' "$LAB_TMP/status.out" | tr -s ' ' | tr '\n' '|')"

STEP=0
# http_step DESC ENTRY VIP V1_WEIGHT COUNTER N ARGS...: N connections of
# veer-httpclient count ARGS to VIP:80 split as V1_WEIGHT says (0: all to
# v2, exact), no error; ENTRY's HTTP counter COUNTER moved by exactly N.
# In cgroup mode the default route (80) and unseenDefault are expected
# whatever the caller says.
http_step() {
	local desc=$1 entry=$2 vip=$3 w1=$4 counter=$5 n=$6 out d
	shift 6
	if ((!RULES)); then
		w1=80
		counter=unseenDefault
		desc+=" [cgroup: placed at connect(), default route]"
	fi
	STEP=$((STEP + 1))
	out=$LAB_TMP/step-$STEP.out
	http_counters "$entry" >"$out.before"
	lab_http_client count --addr "$vip" --port "$VIP_PORT" -n "$n" -c 32 \
		--timeout-ms 10000 --stats-file "$out.stats" "$@" \
		>"$out" 2>"$out.err" || true
	http_counters "$entry" >"$out.after"
	if split_ok "$out" "$n" "$w1"; then
		t_pass "$desc: $n connections, $w1/$((100 - w1)): $SPLIT_DESC ($(grep -E '^(requests|bytes_verified)' "$out.stats" 2>/dev/null | tr '\n' ' '))"
	else
		t_fail "$desc: $n connections, want $w1/$((100 - w1)): $SPLIT_DESC ($(tr '\n' ' ' <"$out.stats" 2>/dev/null))"
	fi
	d=$(http_delta "$out.before" "$out.after" "$counter")
	if [[ -z $d ]]; then
		t_fail "$desc: veer stats -o json has no .http counter '$counter' for $entry"
	elif ((d == n)); then
		t_pass "$desc: $entry counter $counter +$d"
	else
		t_fail "$desc: $entry counter $counter +$d, want +$n (all moved: $(join_deltas "$out.before" "$out.after"))"
	fi
}

# join_deltas BEFORE AFTER: "name +delta" of every counter that moved.
join_deltas() {
	awk 'FNR == NR { b[$1] = $2; next }
		$2 != b[$1] { printf "%s%s +%d", s, $1, $2 - b[$1]; s = ", " }' "$1" "$2"
}

# curl_run OUT ARGS...: curl ARGS where the load comes from; stdout
# (the -w lines) in OUT.
curl_run() {
	local out=$1
	shift
	lab_load curl -s -g --max-time 10 "$@" >"$out" 2>"$out.err" || true
}

# curl_checks FAMILY VIP: curl requests (User-Agent "debug" by -A; POST
# and large GET byte-exact; keep-alive with --next).
curl_checks() {
	local fam=$1 vip=$2 url i out=$LAB_TMP/curl-$1 want=v2 v others
	[[ $vip == *:* ]] && url="http://[$vip]:$VIP_PORT" || url="http://$vip:$VIP_PORT"

	# 20 separate curl processes, -A debug: all v2 (cgroup: default).
	: >"$out.ua"
	for ((i = 0; i < 20; i++)); do
		curl_run "$out.one" -A debug -o /dev/null \
			-w '%{http_code} %header{x-veer-version}\n' "$url/"
		cat "$out.one" >>"$out.ua"
	done
	v=$(sort "$out.ua" | uniq -c | awk '{ printf "%s%s x%d", s, $2 " " $3, $1; s = ", " }')
	if ((RULES)); then
		if (($(grep -c '^200 v2$' "$out.ua") == 20)); then
			t_pass "IPv$fam curl -A debug, 20 processes: all 200 from v2"
		else
			t_fail "IPv$fam curl -A debug, 20 processes: $v (want 200 v2 x20)"
		fi
	else
		if (($(grep -Ec '^200 v[12]$' "$out.ua") == 20)); then
			t_pass "IPv$fam curl -A debug, 20 processes (cgroup: default route): $v"
		else
			t_fail "IPv$fam curl -A debug, 20 processes (cgroup: default route): $v (want 200 from v1/v2 x20)"
		fi
	fi
	((RULES)) || want='v[12]'

	# POST of 64 KiB, echoed: byte-exact.
	"$HTTPCLIENT" pattern 65536 >"$out.post-in"
	curl_run "$out.post" -A debug --data-binary @"$out.post-in" \
		-H 'Content-Type: application/octet-stream' -o "$out.post-body" \
		-w '%{http_code} %header{x-veer-version}\n' "$url/upload"
	if grep -Eq "^200 $want\$" "$out.post" && cmp -s "$out.post-in" "$out.post-body"; then
		t_pass "IPv$fam curl POST 64 KiB -A debug: $(cat "$out.post"), echo byte-exact ($(sha256sum <"$out.post-body" | cut -c1-16))"
	else
		t_fail "IPv$fam curl POST 64 KiB -A debug: '$(cat "$out.post")' $(cat "$out.post.err"), echo $(cmp "$out.post-in" "$out.post-body" 2>&1 | head -n1)"
	fi

	# GET of 1 MiB: byte-exact.
	"$HTTPCLIENT" pattern 1048576 >"$out.big-want"
	curl_run "$out.big" -A debug -o "$out.big-body" \
		-w '%{http_code} %header{x-veer-version} %{size_download}\n' \
		"$url/files/blob?size=1048576"
	if grep -Eq "^200 $want 1048576\$" "$out.big" && cmp -s "$out.big-want" "$out.big-body"; then
		t_pass "IPv$fam curl GET 1 MiB -A debug: $(cat "$out.big"), byte-exact"
	else
		t_fail "IPv$fam curl GET 1 MiB -A debug: '$(cat "$out.big")' $(cat "$out.big.err"), $(cmp "$out.big-want" "$out.big-body" 2>&1 | head -n1)"
	fi

	# Keep-alive: the first request carries X-group: test, the next four
	# nothing; curl --next keeps the connection. All on one connection
	# (num_connects 1 then 0), one backend connection, v2 (tc/xdp).
	local fmt='%{num_connects} %header{x-veer-version} %header{x-veer-conn}\n'
	curl_run "$out.ka" -H 'X-group: test' -o /dev/null -w "$fmt" "$url/a" \
		--next -s -g -o /dev/null -w "$fmt" "$url/b" \
		--next -s -g -o /dev/null -w "$fmt" "$url/c" \
		--next -s -g -o /dev/null -w "$fmt" "$url/d" \
		--next -s -g -o /dev/null -w "$fmt" "$url/e"
	others=$(awk 'NR == 1 { v = $2; c = $3; ok = ($1 == 1) }
		NR > 1 { ok = ok && $1 == 0 && $2 == v && $3 == c }
		END { print (NR == 5 && ok) ? v : "bad" }' "$out.ka")
	if [[ $others =~ ^$want$ ]]; then
		t_pass "IPv$fam curl keep-alive, header only on the first of 5 requests: one connection, all from $others on one backend connection"
	else
		t_fail "IPv$fam curl keep-alive, header only on the first of 5: $(tr '\n' '|' <"$out.ka") $(cat "$out.ka.err") (want '1 $want C' then 4x '0 $want C')"
	fi

	# The other way round: the first request matches nothing, the next
	# four carry the header: they follow the first one's backend.
	curl_run "$out.ka2" -o /dev/null -w "$fmt" "$url/a" \
		--next -s -g -H 'X-group: test' -o /dev/null -w "$fmt" "$url/b" \
		--next -s -g -H 'X-group: test' -o /dev/null -w "$fmt" "$url/c" \
		--next -s -g -H 'X-group: test' -o /dev/null -w "$fmt" "$url/d" \
		--next -s -g -H 'X-group: test' -o /dev/null -w "$fmt" "$url/e"
	others=$(awk 'NR == 1 { v = $2; c = $3; ok = ($1 == 1) }
		NR > 1 { ok = ok && $1 == 0 && $2 == v && $3 == c }
		END { print (NR == 5 && ok) ? v : "bad" }' "$out.ka2")
	if [[ $others =~ ^v[12]$ ]]; then
		t_pass "IPv$fam curl keep-alive, header only on requests 2-5: all follow the first ($others) on one backend connection"
	else
		t_fail "IPv$fam curl keep-alive, header only on requests 2-5: $(tr '\n' '|' <"$out.ka2") $(cat "$out.ka2.err") (want one connection, one backend)"
	fi
}

for fam in 4 6; do
	if [[ $fam == 4 ]]; then
		entry=$SHOP4 vip=$SHOP_VIP4
	else
		entry=$SHOP6 vip=$SHOP_VIP6
	fi
	http_step "IPv$fam user-agent exact 'debug' -> v2" "$entry" "$vip" 0 rule0 "$N_RULE" \
		-k 3 -H 'User-Agent: debug'
	http_step "IPv$fam user-agent prefix 'debug-' -> v2" "$entry" "$vip" 0 rule1 "$N_RULE" \
		-H 'user-agent: debug-client/2.1'
	http_step "IPv$fam X-group: test, name as 'x-GROUP' -> v2" "$entry" "$vip" 0 rule2 "$N_RULE" \
		-H 'Accept: */*' -H 'x-GROUP: test'
	http_step "IPv$fam X-GROUP: test among 8 headers -> v2" "$entry" "$vip" 0 rule2 "$N_RULE" \
		-H 'Accept: */*' -H 'Accept-Language: en' -H 'Cache-Control: no-cache' \
		-H 'X-Request-Id: 0123456789abcdef' -H 'Cookie: a=b; c=d' \
		-H 'Referer: http://example.test/x' -H 'X-GROUP: test' -H 'X-Trailer: z'
	http_step "IPv$fam uri prefix /canary/ -> v1 10 / v2 90" "$entry" "$vip" 10 rule3 "$N_URI" \
		--path /canary/items?id=7
	http_step "IPv$fam no rule matches (user-agent 'debugger', X-group 'Test', uri /canary) -> default 80/20" \
		"$entry" "$vip" 80 defaultRequests "$N_DEFAULT" \
		-H 'User-Agent: debugger' -H 'X-group: Test' --path /canary
	http_step "IPv$fam POST 70000 bytes x3 keep-alive, user-agent debug -> v2, echoed byte-exact" \
		"$entry" "$vip" 0 rule0 50 -k 3 --post 70000 -H 'User-Agent: debug'
	http_step "IPv$fam GET 1 MiB responses x2 keep-alive, X-group test -> v2, byte-exact" \
		"$entry" "$vip" 0 rule2 20 -k 2 --size 1048576 -H 'X-group: test'
	http_step "IPv$fam 20 keep-alive requests per connection, X-group test -> v2" \
		"$entry" "$vip" 0 rule2 100 -k 20 -H 'X-group: test'
	# Keep-alive on the default route: every connection's 20 requests on
	# one backend (veer-httpclient fails a connection whose backend or
	# backend connection changes); the split over few connections is
	# only checked loosely by split_ok's bound.
	http_step "IPv$fam 20 keep-alive requests per connection, default route" \
		"$entry" "$vip" 80 defaultRequests 300 -k 20 --post 100
	curl_checks "$fam" "$vip"
done

t_check_ct_drained
t_check_client_rsts

t_end

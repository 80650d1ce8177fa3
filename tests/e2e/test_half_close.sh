#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A half-close over real TCP: the client sends 2 MiB and its FIN right
# behind them, and the backend (veer-testsrv) echoes everything it has
# not echoed yet after that FIN, then closes. The client's ACKs of that
# tail are sent by a side whose FIN is recorded, which is where veer's
# established path looks up the sibling for the other side's FIN (each
# FIN is recorded on its own direction's entry only): none of them may
# close the pair; the one acknowledging the backend's FIN must.
#
# IPv4 and IPv6, one connection each from a fixed client port: the echo
# arrives byte-exact after the version line, and (tc, xdp) the pair ends
# in the closing table, both entries carrying both FINs and the closed
# flag, nothing left in the established or half-open table, and the
# service's closed-connections counter moved by exactly one.
#
# cgroup mode: connect() dials the backend itself (no conntrack); the same
# transfer must arrive byte-exact.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/lab.sh"

BYTES=${VEER_E2E_HALF_CLOSE_BYTES:-2097152}
PORT4=41234
PORT6=41236

t_begin half_close
lab_init jq bpftool python3
lab_up_variant
lab_cap_start
lab_start_backends
lab_veer_attach
lab_write_config "$LAB_TMP/web.yaml" 100
veer apply -f "$LAB_TMP/web.yaml" >"$LAB_TMP/apply.log" 2>&1 || {
	cat "$LAB_TMP/apply.log" >&2
	lab_die "veer apply failed"
}

# The client: sends BYTES of a pattern and shuts its side down right behind
# them, while a thread reads the version line and the echo until the
# server's FIN (reading while sending, so neither side's buffers can stall
# the other), then checks every byte.
cat >"$LAB_TMP/half_close.py" <<'EOF'
import socket, sys, threading

family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
addr, port, lport, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pattern = bytes((i * 7 + i // 251) & 0xFF for i in range(n))
s = socket.socket(family, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
# A small receive window: the echo lags the sending by the server's
# buffers, so a long tail of it follows the FIN, a window at a time, each
# opened by an ACK of the client's.
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(20)
s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", lport))
s.connect((addr, port))
got = bytearray()
err = []

def reader():
    try:
        while True:
            b = s.recv(65536)
            if not b:
                return
            got.extend(b)
    except Exception as e:  # reported below
        err.append(repr(e))

t = threading.Thread(target=reader)
t.start()
s.sendall(pattern)
s.shutdown(socket.SHUT_WR)
t.join(25)
if err or t.is_alive():
    sys.exit("half_close: receive failed: %s" % (err or ["no FIN in 25 s"]))
nl = got.find(b"\n")
if nl < 0:
    sys.exit("half_close: no version line in %d bytes" % len(got))
echo = bytes(got[nl + 1:])
if echo != pattern:
    first = next((i for i in range(min(len(echo), n)) if echo[i] != pattern[i]), min(len(echo), n))
    sys.exit("half_close: echo of %d bytes, want %d (first difference at %d)" % (len(echo), n, first))
print("%s %d" % (got[:nl].decode(), len(echo)))
EOF

run_client() {
	if [[ $LAB_MODE == cgroup ]]; then
		(
			echo "$BASHPID" >"$LAB_CGROUP/cgroup.procs"
			exec nsenter --net="/run/netns/$NS_NODE" -- python3 "$LAB_TMP/half_close.py" "$@"
		)
	else
		lab_exec "$NS_CLIENT" python3 "$LAB_TMP/half_close.py" "$@"
	fi
}

closed_total() {
	veer stats -o json | jq '[.services[] | (.subsets[], .unattributed) |
		(.connectionsClosed // 0)] | add // 0'
}

# acks_after_fin PORT: the client's pure ACKs after its FIN, as the load's
# namespace captured them (the path under test is taken only if the echo
# tail arrived after the FIN: at least one ACK besides the last).
acks_after_fin() {
	lab_cap_read "$LAB_LOAD_CAP" "tcp port $1" | awk -v p=".$1" '
		$3 ~ p "$" && $7 ~ /F/ { fin = 1; next }
		$3 ~ p "$" && fin && $7 == "[.]," { n++ }
		END { print n + 0 }'
}

# pair_closed PORT: the pair of client port PORT is in the closing table
# only (forward and reverse, both FINs and the closed flag on each).
pair_closed() {
	lab_ct_dump_port "$1" >"$LAB_TMP/ct.$1"
	[[ $(grep -c '^veer_ct_closing .* flags fFC' "$LAB_TMP/ct.$1") == 2 ]] &&
		! grep -q '^veer_conntrack \|^veer_ct_syn ' "$LAB_TMP/ct.$1"
}

for spec in "4 $VIP_V4 $PORT4" "6 $VIP_V6 $PORT6"; do
	read -r fam vip lport <<<"$spec"
	[[ $LAB_MODE == cgroup ]] || before=$(closed_total)
	if out=$(run_client "$vip" "$VIP_PORT" "$lport" "$BYTES" 2>&1); then
		t_pass "IPv$fam: $BYTES bytes and a FIN, echo after it byte-exact ($out)"
		if [[ $LAB_MODE != cgroup ]]; then
			acks=$(acks_after_fin "$lport")
			t_check "IPv$fam: the client acknowledged the echo after its FIN ($acks ACKs)" \
				[ "$acks" -ge 2 ]
		fi
	else
		t_fail "IPv$fam: $out"
		continue
	fi
	[[ $LAB_MODE == cgroup ]] && continue
	if wait_until 5000 pair_closed "$lport"; then
		t_pass "IPv$fam: the pair is in the closing table only, both FINs on both entries"
	else
		t_fail "IPv$fam: the pair did not close: $(tr '\n' '|' <"$LAB_TMP/ct.$lport")"
	fi
	after=$(closed_total)
	t_check "IPv$fam: closed counted once ($before -> $after)" [ "$((after - before))" -eq 1 ]
done
t_end

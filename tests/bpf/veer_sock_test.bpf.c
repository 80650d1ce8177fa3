// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only object (tests/packet, never loaded by veer): the socket path's
 * decision, veer_sock_lb() from bpf/lib/sock.h as cgroup connect4/6 run it
 * in bpf/veer_sock.bpf.c, on a crafted request through BPF_PROG_TEST_RUN
 * (which cgroup programs do not support). It shares veer's maps by pinned
 * name. Built into build/tests/ with its skeleton, apart from the objects
 * veer loads (bpf/).
 *
 * It lives apart from the socket object because libbpf loads SEC("syscall")
 * programs as sleepable, and a sleepable program may use the
 * non-preallocated hash maps only from Linux 6.1: in veer_sock.bpf.o it
 * would make `veer attach --cgroup` fail on 5.15-6.0.
 *
 * The request comes in as the context; the decision goes out through this
 * global (the verifier allows only fixed-offset access to a syscall
 * context).
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "lib/sock.h"

struct veer_sock_req veer_sock_test_result;

SEC("syscall")
int veer_sock_test(struct veer_sock_req *req)
{
	__builtin_memcpy(&veer_sock_test_result, req,
			 sizeof(veer_sock_test_result));
	veer_sock_lb(&veer_sock_test_result);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

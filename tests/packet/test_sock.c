// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The cgroup socket programs' load-balancing decision. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "addr.h"
#include "fixture.h"
#include "loader.h"
#include "veer_sock.skel.h"
#include "veer_sock_test.skel.h"

#include "test_sock.h"

/*
 * The socket path's decision (what cgroup connect4/6 apply), through its
 * test entry (veer_sock_test.bpf.c: veer_sock_lb() from the same library
 * as veer_sock.bpf.c), so the same weights hold per connect().
 */
static int sock_decide(struct veer_sock_test *skel, struct veer_sock_req *req)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = req,
		    .ctx_size_in = sizeof(*req));

	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.veer_sock_test),
				   &opts))
		return -1;
	*req = skel->bss->veer_sock_test_result;
	return 0;
}

/* A connect() to addr:port by the socket with this cookie, decided. */
static int sock_decide_for(struct veer_sock_test *skel, const char *addr,
			   uint16_t port, uint64_t cookie,
			   struct veer_sock_req *req)
{
	uint8_t family;

	memset(req, 0, sizeof(*req));
	if (veer_addr_parse(addr, &req->addr, &family))
		return -1;
	req->family = family;
	req->port = htons(port);
	req->cookie = cookie;
	return sock_decide(skel, req);
}

static void test_sock_lb(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	unsigned long counts[3] = {0, 0, 0}, other = 0;
	struct veer_sock_test *skel;
	struct bpf_program *prog;
	struct veer_sock_req req;
	struct veer_sock *sock;
	double share;
	unsigned int i;

	/*
	 * The object `veer attach --cgroup` loads: it loads here, and holds
	 * no syscall (sleepable) program, which would need Linux 6.1+.
	 */
	sock = veer_sock__open_opts(&open_opts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(sock);
	veer_adopt_pinned_sizes(sock->obj, pin_root);
	CU_ASSERT_EQUAL_FATAL(veer_sock__load(sock), 0);
	bpf_object__for_each_program(prog, sock->obj) CU_ASSERT_NOT_EQUAL(
		bpf_program__type(prog), BPF_PROG_TYPE_SYSCALL);
	veer_sock__destroy(sock);

	skel = veer_sock_test__open_opts(&open_opts);
	CU_ASSERT_PTR_NOT_NULL_FATAL(skel);
	veer_adopt_pinned_sizes(skel->obj, pin_root);
	CU_ASSERT_EQUAL_FATAL(veer_sock_test__load(skel), 0);

	/* The distribution service (v1 80, v2 0, v3 20) per connect(). */
	for (i = 0; i < DIST_FLOWS; i++) {
		if (sock_decide_for(skel, "10.96.1.1", 443, 0x100000000ULL + i,
				    &req) ||
		    req.verdict != VEER_SOCK_REWRITTEN || req.subset > 2) {
			other++;
			continue;
		}
		counts[req.subset]++;
		if (req.subset == 2 &&
		    !addr_is(&req.addr, AF_INET, "10.20.3.1"))
			other++;
	}
	CU_ASSERT_EQUAL(other, 0);
	CU_ASSERT_EQUAL(counts[1], 0);
	share = 100.0 * (double)counts[0] / DIST_FLOWS;
	CU_ASSERT_TRUE(fabs(share - 80.0) <= DIST_TOLERANCE_PP);
	printf("\n    sockets: v1 %.2f%% v2 %lu v3 %.2f%% ", share, counts[1],
	       100.0 * (double)counts[2] / DIST_FLOWS);

	/* Not a service: connect() goes through unchanged. */
	CU_ASSERT_EQUAL(sock_decide_for(skel, "10.99.0.1", 80, 0, &req), 0);
	CU_ASSERT_EQUAL(req.verdict, VEER_SOCK_PASS);
	CU_ASSERT_TRUE(addr_is(&req.addr, AF_INET, "10.99.0.1"));

	/* A subset with weight and no backend: the connect is refused. */
	CU_ASSERT_EQUAL(sock_decide_for(skel, "10.96.0.20", 80, 0, &req), 0);
	CU_ASSERT_EQUAL(req.verdict, VEER_SOCK_NO_BACKEND);

	/* An IPv6 socket dialling ::ffff:VIP reaches the IPv4 service: it
	 * gets an IPv4 backend, as ::ffff:backend. */
	CU_ASSERT_EQUAL(sock_decide_for(skel, "::ffff:10.96.1.1", 443, 7, &req),
			0);
	CU_ASSERT_EQUAL(req.family, AF_INET6);
	CU_ASSERT_EQUAL(req.verdict, VEER_SOCK_REWRITTEN);
	CU_ASSERT_EQUAL(ntohs(req.port), 8080);
	CU_ASSERT_TRUE(addr_is(&req.addr, AF_INET6, "::ffff:10.20.1.1") ||
		       addr_is(&req.addr, AF_INET6, "::ffff:10.20.1.2") ||
		       addr_is(&req.addr, AF_INET6, "::ffff:10.20.3.1"));

	/* IPv6 (the dist6 service): rewritten to an IPv6 backend. */
	CU_ASSERT_EQUAL(sock_decide_for(skel, "fd00:96::1:1", 443, 7, &req), 0);
	CU_ASSERT_EQUAL(req.verdict, VEER_SOCK_REWRITTEN);
	CU_ASSERT_EQUAL(ntohs(req.port), 8080);
	CU_ASSERT_TRUE(addr_is(&req.addr, AF_INET6, "fd20:1::1") ||
		       addr_is(&req.addr, AF_INET6, "fd20:1::2") ||
		       addr_is(&req.addr, AF_INET6, "fd20:3::1"));
	veer_sock_test__destroy(skel);
}

int add_sock_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "socket LB decision (cgroup connect path)",
			    test_sock_lb);
}

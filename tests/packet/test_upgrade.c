// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* An upgrade over the pinned maps keeps what live connections need. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "loader.h"

#include "test_upgrade.h"

/*
 * An upgrade: new programs loaded over the pinned maps keep conntrack and
 * the runtime values (hash seed, close grace), so live connections and
 * future placements are as before.
 */
static void test_reload_keeps_state(void)
{
	struct veer_load_opts opts = VEER_LOAD_OPTS_DEFAULT;
	struct flow live = {AF_INET, "10.10.1.11", "10.96.0.10", 46000, 80};
	struct veer_runtime before = {}, after = {};
	char path[256], err[VEER_ERR_LEN];
	int rt_fd, in_fd = -1, eg_fd = -1;
	struct pkt_view out, first;
	uint32_t zero = 0;
	bool reused = true;

	CU_ASSERT_EQUAL_FATAL(set_web(50, 50), 0);
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_SYN, 1, 0, NULL, &first),
			TC_OK);
	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_RUNTIME);
	rt_fd = bpf_obj_get(path);
	CU_ASSERT_TRUE_FATAL(rt_fd >= 0);
	CU_ASSERT_EQUAL(bpf_map_lookup_elem(rt_fd, &zero, &before), 0);
	CU_ASSERT_EQUAL(before.abi_version, VEER_ABI_VERSION);
	CU_ASSERT_EQUAL(before.ct_close_grace_ns,
			TEST_CLOSE_GRACE_MS * 1000000ULL);

	/* Drop the program pins only: the next load is a fresh one. */
	snprintf(path, sizeof(path), "%s/%s", pin_root,
		 VEER_PIN_PROG_TC_INGRESS);
	CU_ASSERT_EQUAL(unlink(path), 0);
	snprintf(path, sizeof(path), "%s/%s", pin_root,
		 VEER_PIN_PROG_TC_EGRESS);
	CU_ASSERT_EQUAL(unlink(path), 0);
	opts.ct_close_grace_ms = TEST_CLOSE_GRACE_MS * 5;
	CU_ASSERT_EQUAL_FATAL(veer_load(pin_root, &opts, &in_fd, &eg_fd,
					&reused, err, sizeof(err)),
			      0);
	CU_ASSERT_FALSE(reused);
	close(prog_ingress);
	close(prog_egress);
	prog_ingress = in_fd;
	prog_egress = eg_fd;

	CU_ASSERT_EQUAL(bpf_map_lookup_elem(rt_fd, &zero, &after), 0);
	CU_ASSERT_EQUAL(memcmp(&before, &after, sizeof(before)), 0);
	close(rt_fd);
	/* The live connection continues on its backend. */
	CU_ASSERT_EQUAL(send_pkt(&live, false, F_ACK, 2, 1, "x", &out), TC_OK);
	CU_ASSERT_TRUE(!memcmp(&out.daddr, &first.daddr, sizeof(out.daddr)));
	CU_ASSERT_EQUAL(out.dport, first.dport);
}

int add_upgrade_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "reload keeps conntrack and the hash seed",
			    test_reload_keeps_state);
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Packet tests: the real TC programs, loaded and configured through the same
 * code as `veer attach` and `veer apply`, run on crafted packets with
 * BPF_PROG_TEST_RUN. Every rewritten packet has its checksums recomputed
 * from scratch here; conntrack and counters are read from the real maps.
 */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <unistd.h>

#include "fixture.h"
#include "test_conntrack.h"
#include "test_health.h"
#include "test_holes.h"
#include "test_late.h"
#include "test_http.h"
#include "test_icmp.h"
#include "test_lb.h"
#include "test_mapstore.h"
#include "test_mutated.h"
#include "test_sock.h"
#include "test_upgrade.h"

int main(void)
{
	CU_pSuite suite;
	unsigned int failures;

	if (geteuid() != 0) {
		fprintf(stderr, "packet tests: must run as root\n");
		return 1;
	}
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 1;
	suite = CU_add_suite("packet", suite_init, suite_clean);
	if (!suite || add_lb_tests(suite) || add_sock_tests(suite) ||
	    add_mapstore_tests(suite) || add_upgrade_tests(suite) ||
	    add_mutated_tests(suite) || add_conntrack_tests(suite) ||
	    add_icmp_tests(suite) || add_http_tests(suite) ||
	    add_health_tests(suite) || add_holes_tests(suite) ||
	    add_late_tests(suite)) {
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	failures =
		CU_get_number_of_failures() + CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failures ? 1 : 0;
}

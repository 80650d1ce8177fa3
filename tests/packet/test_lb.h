/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_TEST_LB_H
#define VEER_TEST_LB_H

#include <CUnit/CUnit.h>

/* Registers the placement and NAT tests in suite; non-zero on failure. */
int add_lb_tests(CU_pSuite suite);

#endif /* VEER_TEST_LB_H */

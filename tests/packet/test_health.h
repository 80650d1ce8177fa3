/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_TEST_HEALTH_H
#define VEER_TEST_HEALTH_H

#include <CUnit/CUnit.h>

/* Registers the health signal tests in suite; non-zero on failure. */
int add_health_tests(CU_pSuite suite);

#endif /* VEER_TEST_HEALTH_H */

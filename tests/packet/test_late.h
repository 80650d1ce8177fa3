/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_TEST_LATE_H
#define VEER_TEST_LATE_H

#include <CUnit/CUnit.h>

/* Registers the late-segment and far-jump tests in suite; non-zero on
 * failure. */
int add_late_tests(CU_pSuite suite);

#endif /* VEER_TEST_LATE_H */

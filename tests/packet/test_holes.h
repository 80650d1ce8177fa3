/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_TEST_HOLES_H
#define VEER_TEST_HOLES_H

#include <CUnit/CUnit.h>

/* Registers the closing-table hole tests in suite; non-zero on failure. */
int add_holes_tests(CU_pSuite suite);

#endif /* VEER_TEST_HOLES_H */

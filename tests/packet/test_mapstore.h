/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_TEST_MAPSTORE_H
#define VEER_TEST_MAPSTORE_H

#include <CUnit/CUnit.h>

/* Registers the map store tests in suite; non-zero on failure. */
int add_mapstore_tests(CU_pSuite suite);

#endif /* VEER_TEST_MAPSTORE_H */

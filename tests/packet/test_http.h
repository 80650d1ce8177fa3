/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
#ifndef VEER_TEST_HTTP_H
#define VEER_TEST_HTTP_H

#include <CUnit/CUnit.h>

/* Registers the HTTP routing (delayed binding) tests; non-zero on failure. */
int add_http_tests(CU_pSuite suite);

#endif /* VEER_TEST_HTTP_H */

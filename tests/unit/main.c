// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The unit-test executable: every .c file in tests/unit is linked into it
 * with the userspace library, and this file is the only one with a main().
 * VEER_UNIT_VERBOSE=1 in the environment prints every expected error.
 */
#include <CUnit/Basic.h>
#include <string.h>
#include "load.h"
#include "unit.h"

/* A native service already in the model: failures must leave it alone. */
static const char base_yaml[] = "services:\n"
				"  - name: existing\n"
				"    vip: 10.96.0.1\n"
				"    port: 80\n"
				"    subsets:\n"
				"      - name: stable\n"
				"        weight: 100\n"
				"        backends: [\"10.0.0.1:80\"]\n";

void unit_load_base(struct veer_model *m)
{
	char err[512] = "";

	veer_model_init(m);
	UNIT_CHECK(veer_load_native_buffer("base.yaml", base_yaml,
					   strlen(base_yaml), m, err,
					   sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_EQUAL_FATAL(m->count, 1);
}

void text_open(struct text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->f);
}

void text_close(struct text *t)
{
	CU_ASSERT_FATAL(fclose(t->f) == 0);
}

int unit_add_suite(const char *name, CU_InitializeFunc init,
		   CU_CleanupFunc clean, const struct unit_test *tests,
		   size_t count)
{
	CU_pSuite suite = CU_add_suite(name, init, clean);
	size_t i;

	if (!suite)
		return -1;
	for (i = 0; i < count; i++)
		if (!CU_add_test(suite, tests[i].name, tests[i].fn))
			return -1;
	return 0;
}

int main(void)
{
	unsigned int failures;
	CU_ErrorCode error;

	if (CU_initialize_registry() != CUE_SUCCESS) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		return 1;
	}
	if (unit_addr_suite() || unit_model_suite() || unit_config_suite() ||
	    unit_select_suite() || unit_csum_suite() || unit_istio_suite() ||
	    unit_yaml_out_suite() || unit_store_suite() || unit_stats_suite() ||
	    unit_objstore_suite() || unit_objects_suite() ||
	    unit_resolve_suite() || unit_metrics_suite() ||
	    unit_hostindex_suite() || unit_rollout_plan_suite() ||
	    unit_watch_suite() || unit_etcd_suite()) {
		fprintf(stderr, "CUnit: %s\n", CU_get_error_msg());
		CU_cleanup_registry();
		return 1;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	/* Read before cleanup, which resets the run summary. */
	failures = CU_get_number_of_failures();
	error = CU_get_error();
	CU_cleanup_registry();
	return failures || error ? 1 : 0;
}

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Suite registration for the one unit-test executable (see main.c). */
#ifndef VEER_UNIT_H
#define VEER_UNIT_H

#include <stdio.h>
#include <CUnit/CUnit.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct unit_test {
	const char *name;
	CU_TestFunc fn;
};

/* Registers a suite and its tests; 0, or -1 with the CUnit error set. */
int unit_add_suite(const char *name, CU_InitializeFunc init,
		   CU_CleanupFunc clean, const struct unit_test *tests,
		   size_t count);

struct veer_model;
/* Initialises m with one native service (name "existing", 10.96.0.1:80). */
void unit_load_base(struct veer_model *m);

/* A growable string for generated inputs (open_memstream). */
struct text {
	char *buf;
	size_t len;
	FILE *f;
};

void text_open(struct text *t);
void text_close(struct text *t);

/* Each registers its suite: 0, or -1 with the CUnit error set. */
int unit_addr_suite(void);
int unit_model_suite(void);
int unit_config_suite(void);
int unit_select_suite(void);
int unit_csum_suite(void);
int unit_istio_suite(void);
int unit_yaml_out_suite(void);
int unit_store_suite(void);
int unit_stats_suite(void);
int unit_objstore_suite(void);
int unit_objects_suite(void);
int unit_resolve_suite(void);
int unit_metrics_suite(void);
int unit_hostindex_suite(void);
int unit_rollout_plan_suite(void);
int unit_watch_suite(void);
int unit_etcd_suite(void);

/*
 * CU_ASSERT, plus a line on stderr naming the case: table-driven tests
 * check many inputs from one line of code, and the CUnit report alone
 * would not say which input failed.
 */
#define UNIT_CHECK(cond, fmt, ...)                                             \
	do {                                                                   \
		int unit_ok_ = !!(cond);                                       \
		if (!unit_ok_)                                                 \
			fprintf(stderr, "\n    %s:%d: %s: " fmt "\n",          \
				__FILE__, __LINE__, #cond, ##__VA_ARGS__);     \
		CU_ASSERT(unit_ok_);                                           \
	} while (0)

#endif /* VEER_UNIT_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Counters as `veer stats` shows them: the HTTP routing counters summed
 * over CPUs (as an array of __u64, like struct veer_stats), rules
 * described in a few words, and the table and JSON views (the HTTP table
 * only when some service has rules; an "http" object per service).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maps.h"
#include "model.h"
#include "output.h"
#include "unit.h"
#include "veer_abi.h"

#define CPUS 3

/* Counter f of row r: distinct everywhere, so a missed field shows. */
static __u64 counter(unsigned int r, unsigned int f)
{
	return (__u64)(r + 1) * 1000 + f + 1;
}

static void test_http_stats_add(void)
{
	struct veer_http_stats rows[CPUS], sum;
	unsigned int r, f;

	for (r = 0; r < CPUS; r++)
		for (f = 0; f < VEER_HTTP_STATS_COUNTERS; f++)
			((__u64 *)&rows[r])[f] = counter(r, f);
	memset(&sum, 0, sizeof(sum));
	veer_http_stats_add(&sum, rows, CPUS);
	for (f = 0; f < VEER_HTTP_STATS_COUNTERS; f++)
		UNIT_CHECK(((__u64 *)&sum)[f] == counter(0, f) + counter(1, f) +
							 counter(2, f),
			   "field %u", f);
	/* The named fields are the array's: the last one is included. */
	CU_ASSERT(sum.stale_backend_resets ==
		  counter(0, VEER_HTTP_STATS_COUNTERS - 1) +
			  counter(1, VEER_HTTP_STATS_COUNTERS - 1) +
			  counter(2, VEER_HTTP_STATS_COUNTERS - 1));
	CU_ASSERT(sum.rule_requests[0] ==
		  counter(0, 0) + counter(1, 0) + counter(2, 0));
	/* Adding onto a sum keeps what it had. */
	veer_http_stats_add(&sum, rows, 1);
	CU_ASSERT(sum.rule_requests[0] ==
		  2 * counter(0, 0) + counter(1, 0) + counter(2, 0));
}

/* Reading one service's row sums every possible CPU's copy. */
static void test_read_http_stats(void)
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_http_stats *percpu, sum;
	struct veer_maps maps;
	char err[VEER_ERR_LEN] = "";
	__u32 id = 3;
	int c;

	veer_maps_init(&maps);
	/* No map (an older pinned set): zero, no error. */
	memset(&sum, 0xff, sizeof(sum));
	CU_ASSERT(veer_maps_read_http_stats(&maps, id, &sum, err,
					    sizeof(err)) == 0);
	CU_ASSERT(sum.bound == 0 && sum.rule_requests[0] == 0);

	CU_ASSERT_FATAL(ncpus > 0);
	maps.http_stats = bpf_map_create(
		BPF_MAP_TYPE_PERCPU_ARRAY, "t_http", sizeof(__u32),
		sizeof(struct veer_http_stats), 8, NULL);
	if (maps.http_stats < 0) {
		fprintf(stderr,
			"\n    HTTP stats map test skipped: %s (needs root)\n",
			strerror(errno));
		return;
	}
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	CU_ASSERT_FATAL(percpu != NULL);
	for (c = 0; c < ncpus; c++) {
		percpu[c].rule_requests[2] = 1;
		percpu[c].bound = (__u64)c + 1;
		percpu[c].unseen_default = 10;
	}
	CU_ASSERT_FATAL(bpf_map_update_elem(maps.http_stats, &id, percpu,
					    BPF_ANY) == 0);
	CU_ASSERT(veer_maps_read_http_stats(&maps, id, &sum, err,
					    sizeof(err)) == 0);
	CU_ASSERT(sum.rule_requests[2] == (__u64)ncpus);
	CU_ASSERT(sum.bound == (__u64)ncpus * (ncpus + 1) / 2);
	CU_ASSERT(sum.unseen_default == 10 * (__u64)ncpus);
	CU_ASSERT(sum.rule_requests[0] == 0 && sum.replays == 0);
	/* An id beyond the map is an error, named. */
	id = 8;
	CU_ASSERT(veer_maps_read_http_stats(&maps, id, &sum, err,
					    sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "service 8") != NULL);
	free(percpu);
	veer_maps_close(&maps);
}

static struct veer_condition cond(__u8 field, __u8 op, const char *name,
				  const char *value)
{
	struct veer_condition c = {.field = field, .op = op};

	snprintf(c.name, sizeof(c.name), "%s", name);
	snprintf(c.value, sizeof(c.value), "%s", value);
	c.name_len = (__u8)strlen(c.name);
	c.value_len = (__u8)strlen(c.value);
	return c;
}

static void test_rule_describe(void)
{
	struct veer_rule r = {.match_count = 1};
	char buf[VEER_RULE_DESC_LEN];

	r.matches[0].condition_count = 1;
	r.matches[0].conditions[0] =
		cond(VEER_COND_HEADER, VEER_COND_EXACT, "user-agent", "debug");
	veer_rule_describe(&r, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "header user-agent exact debug");

	r.matches[0].conditions[0] =
		cond(VEER_COND_URI, VEER_COND_PREFIX, "", "/api");
	veer_rule_describe(&r, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "uri prefix /api");

	/* {} under headers: the header is present. */
	r.matches[0].conditions[0] =
		cond(VEER_COND_HEADER, VEER_COND_PREFIX, "x-canary", "");
	veer_rule_describe(&r, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(buf, "header x-canary present");

	/* Long values are cut; further conditions and blocks counted. */
	r.matches[0].conditions[0] =
		cond(VEER_COND_HEADER, VEER_COND_EXACT, "end-user",
		     "jason-with-a-very-long-name-indeed");
	r.matches[0].condition_count = 2;
	r.matches[0].conditions[1] =
		cond(VEER_COND_URI, VEER_COND_PREFIX, "", "/");
	r.match_count = 2;
	r.matches[1].condition_count = 1;
	r.matches[1].conditions[0] =
		cond(VEER_COND_URI, VEER_COND_EXACT, "", "/x");
	veer_rule_describe(&r, buf, sizeof(buf));
	CU_ASSERT_STRING_EQUAL(
		buf,
		"header end-user exact jason-with-a-very-long-n... (+2 more)");

	/* A short buffer is cut, never overrun. */
	veer_rule_describe(&r, buf, 8);
	CU_ASSERT_STRING_EQUAL(buf, "header ");
}

/* Two services, "plain" without rules and "ruled" with one. */
static void stats_model(struct veer_model *m, bool with_rules)
{
	const char *names[] = {"plain", "ruled"};
	struct veer_rule rule = {.match_count = 1};
	size_t i;

	veer_model_init(m);
	for (i = 0; i < 2; i++) {
		struct veer_service_model *svc = veer_model_add_service(m);

		CU_ASSERT_FATAL(svc != NULL);
		snprintf(svc->name, sizeof(svc->name), "%s", names[i]);
		svc->subset_count = 2;
		snprintf(svc->subsets[0].name, VEER_SUBSET_NAME_MAX, "v1");
		snprintf(svc->subsets[1].name, VEER_SUBSET_NAME_MAX, "v2");
		svc->subsets[0].weight = 100;
	}
	rule.matches[0].condition_count = 1;
	rule.matches[0].conditions[0] =
		cond(VEER_COND_HEADER, VEER_COND_EXACT, "user-agent", "debug");
	rule.weights[1] = 100;
	if (with_rules)
		CU_ASSERT_FATAL(veer_service_add_rule(&m->services[1], &rule) ==
				0);
}

static char *render(const struct veer_model *m,
		    const struct veer_stats (*rows)[VEER_STATS_ROWS_PER_SVC],
		    const struct veer_http_stats *http, enum veer_format f)
{
	struct text t;

	text_open(&t);
	veer_print_stats(t.f, m, rows, http, NULL, f);
	text_close(&t);
	return t.buf;
}

static void test_print_stats(void)
{
	static struct veer_stats rows[2][VEER_STATS_ROWS_PER_SVC];
	struct veer_http_stats http[2];
	struct veer_model m;
	char *out;

	memset(http, 0, sizeof(http));
	http[1].rule_requests[0] = 7;
	http[1].default_requests = 3;
	http[1].headers_incomplete = 2;
	http[1].not_http = 1;
	http[1].unseen_default = 4;
	http[1].syn_answered = 13;
	http[1].backend_syns = 12;
	http[1].bound = 11;
	http[1].replays = 11;
	http[1].aborted = 1;
	http[1].pending_full = 5;
	http[1].cookie_restored = 6;

	/* No service has rules: two tables, nothing about HTTP. */
	stats_model(&m, false);
	out = render(&m,
		     (const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows,
		     http, VEER_FORMAT_TABLE);
	UNIT_CHECK(!strstr(out, "HTTP_ROUTE"), "%s", out);
	UNIT_CHECK(strstr(out, "HANDSHAKES") != NULL, "%s", out);
	free(out);
	veer_model_free(&m);

	stats_model(&m, true);
	out = render(&m,
		     (const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows,
		     http, VEER_FORMAT_TABLE);
	UNIT_CHECK(
		strstr(out,
		       "\nSERVICE HTTP_ROUTE                              "
		       "      REQUESTS SYNS_ANSW BACK_SYNS     BOUND   REPLAYS"
		       "   ABORTED PEND_FULL   COOKIES\n"
		       "ruled   rule 0: header user-agent exact debug      "
		       "          7        13        12        11        11"
		       "         1         5         6\n"
		       "        default: no rule matched                   "
		       "          3\n"
		       "        default: headers incomplete                "
		       "          2\n"
		       "        default: not HTTP/1.x                      "
		       "          1\n"
		       "        default: no request seen                   "
		       "          4\n") != NULL,
		"%s", out);
	/* Only services with rules are in the HTTP table. */
	UNIT_CHECK(!strstr(strstr(out, "HTTP_ROUTE"), "plain"), "%s", out);
	free(out);

	out = render(&m,
		     (const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows,
		     http, VEER_FORMAT_JSON);
	UNIT_CHECK(
		strstr(out, "\"http\":{\"rules\":[],\"defaultRequests\":0,") !=
			NULL,
		"%s", out);
	UNIT_CHECK(
		strstr(out,
		       "\"http\":{\"rules\":[{\"index\":0,\"match\":"
		       "\"header user-agent exact debug\",\"requests\":7}],"
		       "\"defaultRequests\":3,\"headersIncomplete\":2,"
		       "\"notHttp\":1,\"unseenDefault\":4,"
		       "\"synsAnswered\":13,\"backendSyns\":12,\"bound\":11,"
		       "\"replays\":11,\"aborted\":1,\"pendingFull\":5,"
		       "\"cookieRestored\":6,\"staleBackendResets\":0}}]}") !=
			NULL,
		"%s", out);
	free(out);

	/* Without HTTP counters (NULL): no HTTP table, zeros in JSON. */
	out = render(&m,
		     (const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows,
		     NULL, VEER_FORMAT_TABLE);
	UNIT_CHECK(!strstr(out, "HTTP_ROUTE"), "%s", out);
	free(out);
	veer_model_free(&m);
}

/* The health table and the health object of each subset. */
static void test_print_health(void)
{
	static struct veer_stats rows[2][VEER_STATS_ROWS_PER_SVC];
	static struct veer_health health[2][VEER_STATS_ROWS_PER_SVC];
	struct veer_model m;
	struct text t;
	char *out;

	rows[0][0].ct_established = 10;
	rows[0][0].ct_closed = 7;
	health[0][0].refused = 2;
	health[0][0].reset_before_data = 3;
	health[0][0].syn_unanswered = 4;
	/* Handshakes: 99 under 128 us (bucket 7), one under 2.048 ms. */
	health[0][0].handshake[7] = 99;
	health[0][0].handshake[11] = 1;
	health[0][0].handshake_sum_ns = 1500000;
	health[0][0].responses_2xx = 5;
	health[0][0].responses_5xx = 6;
	health[0][0].responses_not_http = 1;
	health[0][0].responses_unparsed = 1;
	stats_model(&m, false);

	text_open(&t);
	veer_print_stats(
		t.f, &m,
		(const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows, NULL,
		(const struct veer_health(*)[VEER_STATS_ROWS_PER_SVC])health,
		VEER_FORMAT_TABLE);
	text_close(&t);
	out = t.buf;
	UNIT_CHECK(strstr(out,
			  "\nSERVICE SUBSET         LIVE  REFUSED "
			  "RST_NODATA SYN_LOST  HS_P50ms  HS_P99ms  "
			  "FB_P50ms  FB_P99ms     2XX     3XX     4XX     "
			  "5XX NOT_HTTP\n"
			  "plain   v1                3        2          3 "
			  "       4   <=0.128   <=0.128         -         - "
			  "      5       0       0       6        2\n") != NULL,
		   "%s", out);
	free(out);

	text_open(&t);
	veer_print_stats(
		t.f, &m,
		(const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows, NULL,
		(const struct veer_health(*)[VEER_STATS_ROWS_PER_SVC])health,
		VEER_FORMAT_JSON);
	text_close(&t);
	out = t.buf;
	UNIT_CHECK(strstr(out,
			  "\"health\":{\"refused\":2,"
			  "\"resetsBeforeData\":3,\"synUnanswered\":4,"
			  "\"responses\":{\"1xx\":0,\"2xx\":5,\"3xx\":0,"
			  "\"4xx\":0,\"5xx\":6},\"responsesNotHttp\":1,"
			  "\"responsesUnparsed\":1,\"handshake\":{"
			  "\"count\":100,\"sumSeconds\":0.001500000,"
			  "\"buckets\":[0,0,0,0,0,0,0,99,0,0,0,1,0,") != NULL,
		   "%s", out);
	free(out);
	veer_model_free(&m);
}

/* A flag change is named by the flag that changed. */
static void test_describe_flags(void)
{
	struct veer_model m;
	struct veer_service_model old, new;
	char buf[256];

	stats_model(&m, false);
	old = m.services[0];
	new = old;
	new.flags = VEER_SVC_F_HTTP;
	veer_service_describe_change(&old, &new, buf, sizeof(buf));
	UNIT_CHECK(!strcmp(buf, "HTTP on"), "%s", buf);
	old.flags = VEER_SVC_F_HTTP;
	new.flags = VEER_SVC_F_HASH_SRC_IP;
	veer_service_describe_change(&old, &new, buf, sizeof(buf));
	UNIT_CHECK(!strcmp(buf, "source-ip affinity on; HTTP off"), "%s", buf);
	veer_model_free(&m);
}

int unit_stats_suite(void)
{
	static const struct unit_test tests[] = {
		{"HTTP counters summed over CPUs, every field",
		 test_http_stats_add},
		{"HTTP counters read from a per-CPU map", test_read_http_stats},
		{"rules described by their first condition",
		 test_rule_describe},
		{"stats: HTTP table only with rules, http object in JSON",
		 test_print_stats},
		{"stats: health table and health objects", test_print_health},
		{"a service's flag changes described", test_describe_flags},
	};

	return unit_add_suite("stats", NULL, NULL, tests, ARRAY_SIZE(tests));
}

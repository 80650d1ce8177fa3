// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Metrics (user/metrics.c): the table has a metric for every counter of
 * struct veer_stats and struct veer_http_stats, each once; families are
 * named and typed as Prometheus wants; the exposition writes each family's
 * HELP and TYPE once, every counter of every row with its labels, label
 * values escaped; snapshots are compared counter by counter.
 */
#include <arpa/inet.h>
#include <CUnit/CUnit.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "unit.h"
#include "veer_abi.h"

/* Which __u64 of the struct each entry of a source reads; counts. */
static void slots_of(enum veer_metric_source src, unsigned int *seen,
		     size_t nslots)
{
	const struct veer_metric_desc *m;
	size_t i, slot, n;

	for (i = 0; i < veer_metric_table_len; i++) {
		m = &veer_metric_table[i];
		if (m->source != src &&
		    !(src == VEER_METRIC_SRC_HTTP &&
		      m->source == VEER_METRIC_SRC_HTTP_RULES))
			continue;
		UNIT_CHECK(m->offset % sizeof(__u64) == 0, "%s", m->name);
		n = m->source == VEER_METRIC_SRC_HTTP_RULES ? VEER_MAX_RULES
							    : 1;
		for (slot = m->offset / sizeof(__u64);
		     slot < m->offset / sizeof(__u64) + n; slot++) {
			UNIT_CHECK(slot < nslots, "%s", m->name);
			if (slot < nslots)
				seen[slot]++;
		}
	}
}

/* A counter added to struct veer_stats needs its line in the table. */
static void test_table_covers_stats(void)
{
	unsigned int seen[VEER_STATS_COUNTERS] = {0}, f;

	slots_of(VEER_METRIC_SRC_STATS, seen, VEER_STATS_COUNTERS);
	for (f = 0; f < VEER_STATS_COUNTERS; f++)
		UNIT_CHECK(seen[f] == 1,
			   "struct veer_stats counter %u: %u "
			   "metrics",
			   f, seen[f]);
}

/* A counter added to struct veer_health needs its line in the table. */
static void test_table_covers_health(void)
{
	unsigned int seen[VEER_HEALTH_COUNTERS] = {0}, f;

	slots_of(VEER_METRIC_SRC_HEALTH, seen, VEER_HEALTH_COUNTERS);
	for (f = 0; f < VEER_HEALTH_COUNTERS; f++)
		UNIT_CHECK(seen[f] == 1,
			   "struct veer_health counter %u: %u metrics", f,
			   seen[f]);
}

static void test_table_covers_http(void)
{
	unsigned int seen[VEER_HTTP_STATS_COUNTERS] = {0}, f;

	slots_of(VEER_METRIC_SRC_HTTP, seen, VEER_HTTP_STATS_COUNTERS);
	for (f = 0; f < VEER_HTTP_STATS_COUNTERS; f++)
		UNIT_CHECK(seen[f] == 1,
			   "struct veer_http_stats counter %u: %u metrics", f,
			   seen[f]);
}

/*
 * Names as the data model allows and Prometheus' conventions ask:
 * veer_ prefix, counters end in _total and gauges do not; a family's
 * parts are adjacent, of one type and help, and told apart by a label.
 */
static void test_table_families(void)
{
	const struct veer_metric_desc *m, *p;
	regex_t re;
	size_t i, j, len;

	CU_ASSERT_FATAL(regcomp(&re, "^veer_[a-z0-9_]*[a-z0-9]$",
				REG_EXTENDED | REG_NOSUB) == 0);
	for (i = 0; i < veer_metric_table_len; i++) {
		m = &veer_metric_table[i];
		len = strlen(m->name);
		UNIT_CHECK(regexec(&re, m->name, 0, NULL, 0) == 0, "%s",
			   m->name);
		if (m->type == VEER_METRIC_COUNTER)
			UNIT_CHECK(len > 6 &&
					   !strcmp(m->name + len - 6, "_total"),
				   "%s", m->name);
		else
			UNIT_CHECK(len <= 6 ||
					   strcmp(m->name + len - 6, "_total"),
				   "%s", m->name);
		UNIT_CHECK(m->help && m->help[0] && !strchr(m->help, '\n'),
			   "%s", m->name);
		UNIT_CHECK(veer_metric_find(m->name) != NULL, "%s", m->name);
		if (i && !strcmp(veer_metric_table[i - 1].name, m->name)) {
			p = &veer_metric_table[i - 1];
			UNIT_CHECK(p->type == m->type &&
					   !strcmp(p->help, m->help) &&
					   p->label && m->label &&
					   strcmp(p->label, m->label),
				   "%s: parts differ in type or help, or share "
				   "a label",
				   m->name);
			continue;
		}
		/* A new family: its name appears nowhere later. */
		for (j = i + 1; j < veer_metric_table_len; j++)
			if (strcmp(veer_metric_table[j - 1].name, m->name))
				UNIT_CHECK(strcmp(veer_metric_table[j].name,
						  m->name),
					   "%s: family parts not adjacent",
					   m->name);
	}
	regfree(&re);
	CU_ASSERT(veer_metric_find("no_such_metric") == NULL);
}

static void test_label_escape(void)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{"plain", "plain"},
		{"", ""},
		{"a\\b", "a\\\\b"},
		{"say \"hi\"", "say \\\"hi\\\""},
		{"two\nlines", "two\\nlines"},
		{"\\\"\n", "\\\\\\\"\\n"},
		{"tab\tstays", "tab\tstays"},
	};
	struct text t;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		text_open(&t);
		veer_metrics_label_value(t.f, cases[i].in);
		text_close(&t);
		UNIT_CHECK(!strcmp(t.buf, cases[i].out), "%s -> %s (want %s)",
			   cases[i].in, t.buf, cases[i].out);
		free(t.buf);
	}
}

static void test_host_namespace(void)
{
	static const struct {
		const char *host, *ns;
	} cases[] = {
		{"reviews.prod.svc.cluster.local", "prod"},
		{"a.b.svc.cluster.local", "b"},
		{"reviews.svc.cluster.local", ""},
		{"a.b.c.svc.cluster.local", ""},
		{".prod.svc.cluster.local", "prod"},
		{"reviews..svc.cluster.local", ""},
		{"example.com", ""},
		{"", ""},
		{"svc.cluster.local", ""},
	};
	char buf[VEER_NAME_MAX];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		UNIT_CHECK(
			(veer_host_namespace(cases[i].host, buf, sizeof(buf)),
			 !strcmp(buf, cases[i].ns)),
			"%s -> '%s' (want '%s')", cases[i].host, buf,
			cases[i].ns);
}

/* Counter f of row r of service s: distinct everywhere. */
static uint64_t stats_value(unsigned int s, unsigned int r, unsigned int f)
{
	return 100000ULL * (s + 1) + 1000ULL * (r + 1) + f + 1;
}

static uint64_t http_value(unsigned int s, unsigned int f)
{
	return 900000ULL + 1000ULL * s + f + 1;
}

/* Distinct from every other value: 700000 + service, row, counter. */
static uint64_t health_value(unsigned int s, unsigned int r, unsigned int f)
{
	return 700000ULL + 10000ULL * s + 100ULL * r + f + 1;
}

/*
 * web: native, subsets v1 and `we"ird\` (exposition escapes what a
 * snapshot holds; the loaders would refuse the name); reviews: Istio, in
 * namespace prod, two rules.
 */
static void make_snapshot(struct veer_metrics_snapshot *snap)
{
	struct veer_metrics_service *svc;
	unsigned int s, r, f;

	veer_metrics_snapshot_init(snap);
	snap->services = calloc(2, sizeof(*snap->services));
	CU_ASSERT_PTR_NOT_NULL_FATAL(snap->services);
	snap->count = 2;
	svc = &snap->services[0];
	strcpy(svc->name, "reviews.prod.svc.cluster.local");
	strcpy(svc->host, "reviews.prod.svc.cluster.local");
	strcpy(svc->ns, "prod");
	svc->key.family = VEER_AF_INET;
	svc->key.vip.bytes[0] = 10;
	svc->key.vip.bytes[3] = 7;
	svc->key.port = htons(9080);
	svc->id = 4;
	svc->subset_count = 1;
	strcpy(svc->subset_names[0], "v1");
	svc->weights[0] = 100;
	svc->backends[0] = 3;
	svc->rule_count = 2;
	svc = &snap->services[1];
	strcpy(svc->name, "web");
	svc->key.family = VEER_AF_INET6;
	svc->key.vip.bytes[0] = 0xfd;
	svc->key.vip.bytes[15] = 0x10;
	svc->key.port = htons(80);
	svc->id = 7;
	svc->subset_count = 2;
	strcpy(svc->subset_names[0], "v1");
	strcpy(svc->subset_names[1], "we\"ird\\");
	svc->weights[0] = 80;
	svc->weights[1] = 20;
	svc->backends[0] = 1;
	svc->backends[1] = 2;
	for (s = 0; s < 2; s++) {
		svc = &snap->services[s];
		for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++)
			for (f = 0; f < VEER_STATS_COUNTERS; f++)
				((uint64_t *)&svc->rows[r])[f] =
					stats_value(s, r, f);
		for (f = 0; f < VEER_HTTP_STATS_COUNTERS; f++)
			((uint64_t *)&svc->http)[f] = http_value(s, f);
		for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++)
			for (f = 0; f < VEER_HEALTH_COUNTERS; f++)
				((uint64_t *)&svc->health[r])[f] =
					health_value(s, r, f);
	}
	/* web v1: 5 live connections (as veer_metrics_fill_live sets). */
	snap->services[1].live[0] = 5;
	/* web v1: handshakes of 0.5 us, and two of 5 ms (bucket 13). */
	svc = &snap->services[1];
	svc->health[0].handshake[0] = 1;
	svc->health[0].handshake[13] = 2;
	svc->health[0].handshake_sum_ns = 10000000;
}

/* Lines of text equal to line. */
static unsigned int count_lines(const char *text, const char *line)
{
	size_t len = strlen(line);
	unsigned int n = 0;
	const char *p = text;

	while (*p) {
		if (!strncmp(p, line, len) && (p[len] == '\n' || !p[len]))
			n++;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return n;
}

/* Lines ending in " value". */
static unsigned int count_values(const char *text, uint64_t value)
{
	char tail[32];
	size_t tl;
	unsigned int n = 0;
	const char *p = text, *end;

	tl = (size_t)snprintf(tail, sizeof(tail), " %llu",
			      (unsigned long long)value);
	while ((end = strchr(p, '\n'))) {
		if ((size_t)(end - p) >= tl && !strncmp(end - tl, tail, tl) &&
		    p[0] != '#')
			n++;
		p = end + 1;
	}
	return n;
}

static void test_exposition(void)
{
	struct veer_metrics_snapshot snap;
	const struct veer_metric_desc *m;
	char line[512];
	struct text t;
	unsigned int s, r, f;
	size_t i;

	make_snapshot(&snap);
	text_open(&t);
	CU_ASSERT(veer_metrics_write(t.f, &snap) == 0);
	text_close(&t);

	/* One HELP and one TYPE per family; none for conntrack without it. */
	for (i = 0; i < veer_metric_table_len; i++) {
		m = &veer_metric_table[i];
		/* Conntrack and watch families: not read, not written. */
		bool ct = m->source == VEER_METRIC_SRC_CT_ENTRIES ||
			  m->source == VEER_METRIC_SRC_CT_CAPACITY ||
			  m->source == VEER_METRIC_SRC_WATCH;

		snprintf(line, sizeof(line), "# TYPE %s %s", m->name,
			 m->type == VEER_METRIC_COUNTER	    ? "counter"
			 : m->type == VEER_METRIC_HISTOGRAM ? "histogram"
							    : "gauge");
		UNIT_CHECK(count_lines(t.buf, line) == (ct ? 0U : 1U), "%s",
			   line);
		snprintf(line, sizeof(line), "# HELP %s %s", m->name, m->help);
		UNIT_CHECK(count_lines(t.buf, line) == (ct ? 0U : 1U), "%s",
			   line);
	}

	/* Every counter of every row, once: the values are all distinct. */
	for (s = 0; s < 2; s++) {
		unsigned int rows = snap.services[s].subset_count;

		for (f = 0; f < VEER_STATS_COUNTERS; f++) {
			for (r = 0; r < rows; r++)
				UNIT_CHECK(count_values(t.buf,
							stats_value(s, r, f)) ==
						   1,
					   "service %u row %u counter %u", s, r,
					   f);
			/* Rows of no subset: only the unattributed one. */
			for (; r < VEER_STATS_ROW_UNATTRIBUTED; r++)
				UNIT_CHECK(count_values(t.buf,
							stats_value(s, r, f)) ==
						   0,
					   "service %u row %u counter %u", s, r,
					   f);
			UNIT_CHECK(
				count_values(
					t.buf,
					stats_value(s,
						    VEER_STATS_ROW_UNATTRIBUTED,
						    f)) == 1,
				"service %u unattributed counter %u", s, f);
		}
		/* Health: per subset, never the unattributed row. */
		for (f = 0; f < VEER_HEALTH_COUNTERS; f++)
			for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++)
				UNIT_CHECK(
					count_values(t.buf,
						     health_value(s, r, f)) ==
						(r < rows ? 1U : 0U),
					"service %u row %u health %u", s, r, f);
		for (f = 0; f < VEER_HTTP_STATS_COUNTERS; f++) {
			/* Rules: only those the service has. */
			bool shown = f >= VEER_MAX_RULES ||
				     f < snap.services[s].rule_count;

			UNIT_CHECK(count_values(t.buf, http_value(s, f)) ==
					   (shown ? 1U : 0U),
				   "service %u http counter %u", s, f);
		}
	}

	/* Labels: service, host and namespace when there are, subset, rule,
	 * constant labels last; values escaped. */
	static const char *const want[] = {
		"veer_new_connections_total{service=\"web\",subset=\"v1\"} "
		"201001",
		"veer_new_connections_total{service=\"web\",subset=\"we\\\"ird"
		"\\\\\"} 202001",
		"veer_new_connections_total{service=\"web\"} 209001",
		"veer_new_connections_total{service=\"reviews.prod.svc.cluster."
		"local\",host=\"reviews.prod.svc.cluster.local\",namespace="
		"\"prod\",subset=\"v1\"} 101001",
		"veer_packets_total{service=\"web\",subset=\"v1\",direction="
		"\"forward\"} 201002",
		"veer_packets_total{service=\"web\",direction=\"reverse\"} "
		"209004",
		"veer_bytes_total{service=\"web\",subset=\"v1\",direction="
		"\"reverse\"} 201005",
		"veer_http_rule_requests_total{service=\"reviews.prod.svc."
		"cluster.local\",host=\"reviews.prod.svc.cluster.local\","
		"namespace=\"prod\",rule=\"1\"} 900002",
		"veer_http_default_requests_total{service=\"web\"} 901017",
		"veer_subset_weight{service=\"web\",subset=\"v1\"} 80",
		"veer_backend_refused_total{service=\"web\",subset=\"v1\"} "
		"710001",
		"veer_http_responses_total{service=\"web\",subset=\"v1\","
		"class=\"5xx\"} 710008",
		"veer_backend_handshake_seconds_bucket{service=\"web\",subset="
		"\"v1\",le=\"1e-06\"} 1",
		"veer_backend_handshake_seconds_bucket{service=\"web\",subset="
		"\"v1\",le=\"0.004096\"} 1",
		"veer_backend_handshake_seconds_bucket{service=\"web\",subset="
		"\"v1\",le=\"0.008192\"} 3",
		"veer_backend_handshake_seconds_bucket{service=\"web\",subset="
		"\"v1\",le=\"+Inf\"} 3",
		"veer_backend_handshake_seconds_sum{service=\"web\",subset="
		"\"v1\"} 0.010000000",
		"veer_backend_handshake_seconds_count{service=\"web\",subset="
		"\"v1\"} 3",
		"veer_http_first_byte_seconds_count{service=\"web\",subset="
		"\"v1\"} 0",
		"veer_connections_live{service=\"web\",subset=\"v1\"} 5",
		"veer_subset_weight{service=\"web\",subset=\"we\\\"ird\\\\\"} "
		"20",
		"veer_subset_backends{service=\"web\",subset=\"we\\\"ird\\\\\"}"
		" 2",
		"veer_service_info{service=\"web\",address=\"[fd00::10]:80\"} "
		"1",
		"veer_service_info{service=\"reviews.prod.svc.cluster.local\","
		"host=\"reviews.prod.svc.cluster.local\",namespace=\"prod\","
		"address=\"10.0.0.7:9080\"} 1",
	};
	for (i = 0; i < ARRAY_SIZE(want); i++)
		UNIT_CHECK(count_lines(t.buf, want[i]) == 1, "%s", want[i]);
	UNIT_CHECK(!strstr(t.buf, "rule=\"2\""), "a third rule shown");
	free(t.buf);

	/* With the conntrack fill: its families, per table. */
	snap.have_ct = true;
	snap.ct_entries[VEER_METRICS_CT_ESTABLISHED] = 42;
	snap.ct_entries[VEER_METRICS_CT_CLOSING] = -1; /* unread: 0 */
	snap.ct_capacity[VEER_METRICS_CT_HALF_OPEN] = 4096;
	text_open(&t);
	CU_ASSERT(veer_metrics_write(t.f, &snap) == 0);
	text_close(&t);
	CU_ASSERT(count_lines(t.buf, "# TYPE veer_conntrack_entries gauge") ==
		  1);
	CU_ASSERT(count_lines(t.buf, "veer_conntrack_entries{table="
				     "\"established\"} 42") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_conntrack_entries{table="
				     "\"closing\"} 0") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_conntrack_entries_limit{table="
				     "\"half_open\"} 4096") == 1);
	free(t.buf);

	/* No service: the families' HELP and TYPE, no series. */
	veer_metrics_snapshot_free(&snap);
	text_open(&t);
	CU_ASSERT(veer_metrics_write(t.f, &snap) == 0);
	text_close(&t);
	CU_ASSERT(count_lines(t.buf,
			      "# TYPE veer_new_connections_total counter") ==
		  1);
	CU_ASSERT(!strstr(t.buf, "\nveer_"));
	free(t.buf);
}

/* Live = opened - closed per subset, never below 0. */
static void test_fill_live(void)
{
	struct veer_metrics_service svc;

	memset(&svc, 0, sizeof(svc));
	svc.subset_count = 2;
	svc.rows[0].ct_established = 12;
	svc.rows[0].ct_closed = 7;
	svc.rows[1].ct_established = 3;
	svc.rows[1].ct_closed = 4; /* more closed than opened (a race): 0 */
	svc.rows[VEER_STATS_ROW_UNATTRIBUTED].ct_established = 9;
	veer_metrics_fill_live(&svc);
	CU_ASSERT(svc.live[0] == 5);
	CU_ASSERT(svc.live[1] == 0);
	CU_ASSERT(svc.live[2] == 0);
}

static void test_snapshot_diff(void)
{
	struct veer_metrics_snapshot before, after, delta;
	const struct veer_metrics_service *d;
	struct veer_metrics_service *svc;

	make_snapshot(&before);
	make_snapshot(&after);
	after.taken.tv_sec = before.taken.tv_sec + 2;
	after.taken.tv_nsec = before.taken.tv_nsec + 500000000;
	CU_ASSERT_DOUBLE_EQUAL(veer_metrics_elapsed(&before, &after), 2.5,
			       1e-9);
	/* web: 7 more new connections on v1, a counter that went down. */
	svc = &after.services[1];
	svc->rows[0].new_conns += 7;
	svc->rows[1].resets = 3;
	svc->http.bound += 11;
	svc->health[0].handshake[13] += 4;
	svc->weights[0] = 50;
	/* reviews: made anew under another id: counts from zero. */
	after.services[0].id = 5;
	after.have_ct = true;
	after.ct_entries[VEER_METRICS_CT_ESTABLISHED] = 9;
	CU_ASSERT_FATAL(veer_metrics_diff(&before, &after, &delta) == 0);
	CU_ASSERT(delta.count == 2);
	d = veer_metrics_snapshot_find(&delta, "web");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(d->rows[0].new_conns == 7);
	CU_ASSERT(d->rows[0].packets_forward == 0);
	CU_ASSERT(d->rows[1].resets == 3);
	CU_ASSERT(d->http.bound == 11);
	CU_ASSERT(d->health[0].handshake[13] == 4);
	CU_ASSERT(d->live[0] == 5); /* a gauge: after's */
	CU_ASSERT(d->health[0].refused == 0);
	CU_ASSERT(d->http.not_http == 0);
	CU_ASSERT(d->weights[0] == 50); /* gauges: after's */
	d = veer_metrics_snapshot_find(&delta,
				       "reviews.prod.svc.cluster.local");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(d->rows[0].new_conns == stats_value(0, 0, 0));
	CU_ASSERT(delta.have_ct &&
		  delta.ct_entries[VEER_METRICS_CT_ESTABLISHED] == 9);
	CU_ASSERT(veer_metrics_snapshot_find(&delta, "nope") == NULL);
	CU_ASSERT(veer_metrics_snapshot_find(&delta, "a") == NULL);
	veer_metrics_snapshot_free(&delta);

	/* A service new in after: all of its counters. */
	veer_metrics_snapshot_free(&before);
	CU_ASSERT_FATAL(veer_metrics_diff(&before, &after, &delta) == 0);
	d = veer_metrics_snapshot_find(&delta, "web");
	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	CU_ASSERT(d->rows[0].new_conns == stats_value(1, 0, 0) + 7);
	veer_metrics_snapshot_free(&delta);
	veer_metrics_snapshot_free(&after);
	CU_ASSERT(veer_metrics_diff(&before, &after, &delta) == 0);
	CU_ASSERT(delta.count == 0 && delta.services == NULL);
}

/* A pin root's veer watch: one series a family, without labels. */
static void test_watch_exposition(void)
{
	struct veer_metrics_snapshot snap;
	struct text t;

	veer_metrics_snapshot_init(&snap);
	snap.have_watch = true;
	snap.watch = (struct veer_metrics_watch){
		.running = 1,
		.generation = 21,
		.last_success = 1764349501.25,
		.last_error = 1764349400.5,
		.errors = 2,
	};
	text_open(&t);
	CU_ASSERT(veer_metrics_write(t.f, &snap) == 0);
	text_close(&t);
	CU_ASSERT(count_lines(t.buf, "# TYPE veer_watch_generation gauge") ==
		  1);
	CU_ASSERT(count_lines(t.buf, "# TYPE veer_watch_errors_total "
				     "counter") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_watch_running 1") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_watch_generation 21") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_watch_last_success_timestamp_"
				     "seconds 1764349501.25") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_watch_last_error_timestamp_"
				     "seconds 1764349400.5") == 1);
	CU_ASSERT(count_lines(t.buf, "veer_watch_errors_total 2") == 1);
	/* No conntrack read: none of its families. */
	CU_ASSERT(strstr(t.buf, "veer_conntrack_entries") == NULL);
	free(t.buf);
}

int unit_metrics_suite(void)
{
	static const struct unit_test tests[] = {
		{"table covers struct veer_stats", test_table_covers_stats},
		{"table covers struct veer_http_stats", test_table_covers_http},
		{"table covers struct veer_health", test_table_covers_health},
		{"table families, names and types", test_table_families},
		{"label values escaped", test_label_escape},
		{"namespace of a Kubernetes host", test_host_namespace},
		{"exposition", test_exposition},
		{"snapshot diff", test_snapshot_diff},
		{"live connections from opened and closed", test_fill_live},
		{"veer watch gauges", test_watch_exposition},
	};

	return unit_add_suite("metrics", NULL, NULL, tests, ARRAY_SIZE(tests));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The metric table, snapshots of the counters, and the Prometheus text
 * exposition (metrics.h).
 */
#include "metrics.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "health.h"
#include "watch.h"

/*
 * Every counter of struct veer_stats, in families: M(NAME, FIELD, LABEL,
 * HELP). Adding a counter to the ABI fails the build (below) until it
 * has a line here.
 */
#define STATS_METRICS(M)                                                       \
	M("veer_new_connections_total", new_conns, NULL,                       \
	  "Connections placed on a backend of the subset (cgroup mode: "       \
	  "connect() calls rewritten).")                                       \
	M("veer_packets_total", packets_forward, "direction=\"forward\"",      \
	  "Packets translated, forward (client to backend) or reverse.")       \
	M("veer_packets_total", packets_reverse, "direction=\"reverse\"",      \
	  "Packets translated, forward (client to backend) or reverse.")       \
	M("veer_bytes_total", bytes_forward, "direction=\"forward\"",          \
	  "Bytes of the packets translated (whole frames), forward or "        \
	  "reverse.")                                                          \
	M("veer_bytes_total", bytes_reverse, "direction=\"reverse\"",          \
	  "Bytes of the packets translated (whole frames), forward or "        \
	  "reverse.")                                                          \
	M("veer_resets_total", resets, NULL,                                   \
	  "TCP RST segments seen, either direction.")                          \
	M("veer_no_backend_drops_total", no_backend, NULL,                     \
	  "New connections dropped: the chosen subset had no backend.")        \
	M("veer_conntrack_misses_total", ct_misses, NULL,                      \
	  "Mid-connection packets that found no conntrack entry.")             \
	M("veer_conntrack_miss_placed_total", ct_miss_placed, NULL,            \
	  "Conntrack misses placed again (the flow's placement never "         \
	  "changed).")                                                         \
	M("veer_conntrack_miss_dropped_total", ct_miss_dropped, NULL,          \
	  "Conntrack misses dropped (the flow's placement changed since it "   \
	  "began).")                                                           \
	M("veer_conntrack_restored_total", ct_restored, NULL,                  \
	  "Conntrack entries evicted alone and restored from the other "       \
	  "direction's.")                                                      \
	M("veer_handshakes_completed_total", ct_established, NULL,             \
	  "Connections opened: half-open pairs promoted to established "       \
	  "(live = this - veer_connections_closed_total).")                    \
	M("veer_handshakes_aborted_total", ct_aborted, NULL,                   \
	  "Half-open pairs ended by an RST or a SYN with a new ISN.")          \
	M("veer_connections_closed_total", ct_closed, NULL,                    \
	  "Established connections closed (FINs and last ACK, an exact RST, "  \
	  "or their backend tuple taken by a new connection).")                \
	M("veer_resets_refused_total", rst_invalid, NULL,                      \
	  "RSTs dropped: sequence number outside the tracked window.")         \
	M("veer_syns_on_live_tuples_total", syn_on_live, NULL,                 \
	  "SYNs with a new ISN on a live tuple, passed on and not placed "     \
	  "again.")                                                            \
	M("veer_conntrack_insert_failures_total", ct_insert_failed, NULL,      \
	  "Conntrack updates the kernel refused (table full, no memory).")     \
	M("veer_icmp_errors_translated_total", icmp_errors, NULL,              \
	  "ICMP and ICMPv6 errors about a connection's packets translated.")

/*
 * Every counter of struct veer_http_stats but rule_requests (one family,
 * per rule): M(NAME, FIELD, HELP).
 */
#define HTTP_METRICS(M)                                                        \
	M("veer_http_default_requests_total", default_requests,                \
	  "HTTP/1.x requests that matched no rule: the default route.")        \
	M("veer_http_headers_incomplete_total", headers_incomplete,            \
	  "Default route: the header section did not end in the first "        \
	  "segment.")                                                          \
	M("veer_http_not_http_total", not_http,                                \
	  "Default route: the first bytes were not an HTTP/1.x request.")      \
	M("veer_http_unseen_default_total", unseen_default,                    \
	  "Default route with no request seen (node-local clients, kernels "   \
	  "without the HTTP programs).")                                       \
	M("veer_http_syns_answered_total", syn_answered,                       \
	  "Client SYNs veer answered itself (retransmissions included).")      \
	M("veer_http_backend_syns_total", backend_syns,                        \
	  "Backend SYNs sent for a request (retransmissions included).")       \
	M("veer_http_connections_bound_total", bound,                          \
	  "Connections bound: the backend answered, the request replayed.")    \
	M("veer_http_replays_total", replays,                                  \
	  "Requests replayed to a backend (repeats included).")                \
	M("veer_http_connections_aborted_total", aborted,                      \
	  "Connections ended before binding (RST, FIN or timeout).")           \
	M("veer_http_pending_full_drops_total", pending_full,                  \
	  "Requests dropped because the pending-request table was full.")      \
	M("veer_http_cookie_restored_total", cookie_restored,                  \
	  "Requests whose half-open entry was gone, restored from veer's "     \
	  "ISN.")                                                              \
	M("veer_http_stale_backend_resets_total", stale_backend_resets,        \
	  "Backends that answered veer's SYN with a bare ACK, reset.")

/*
 * Every counter of struct veer_health: M(NAME, FIELD, LABEL, HELP); the
 * histograms follow in the table (HEALTH_HISTOGRAMS).
 */
#define RESPONSES_HELP                                                         \
	"First responses of HTTP connections, by the status line's class."
#define HEALTH_METRICS(M)                                                      \
	M("veer_backend_refused_total", refused, NULL,                         \
	  "Connections the backend refused: an RST answering the SYN.")        \
	M("veer_backend_resets_before_data_total", reset_before_data, NULL,    \
	  "Connections the backend reset before sending any payload byte.")    \
	M("veer_backend_syn_unanswered_total", syn_unanswered, NULL,           \
	  "Connections whose SYN got no SYN-ACK within 0.9 s (seen at the "    \
	  "client's retransmission, its new ISN, or expiry).")                 \
	M("veer_http_responses_total", responses_1xx, "class=\"1xx\"",         \
	  RESPONSES_HELP)                                                      \
	M("veer_http_responses_total", responses_2xx, "class=\"2xx\"",         \
	  RESPONSES_HELP)                                                      \
	M("veer_http_responses_total", responses_3xx, "class=\"3xx\"",         \
	  RESPONSES_HELP)                                                      \
	M("veer_http_responses_total", responses_4xx, "class=\"4xx\"",         \
	  RESPONSES_HELP)                                                      \
	M("veer_http_responses_total", responses_5xx, "class=\"5xx\"",         \
	  RESPONSES_HELP)                                                      \
	M("veer_http_responses_not_http_total", responses_not_http, NULL,      \
	  "First response segments of HTTP connections that do not start "     \
	  "with an HTTP/1.x status line.")                                     \
	M("veer_http_responses_unparsed_total", responses_unparsed, NULL,      \
	  "First response segments that end inside the status line.")

#define ONE(...) +1
_Static_assert(0 HEALTH_METRICS(ONE) == VEER_HEALTH_COUNTERS,
	       "every struct veer_health counter needs a line in "
	       "HEALTH_METRICS");
_Static_assert(0 STATS_METRICS(ONE) == VEER_STATS_COUNTERS,
	       "every struct veer_stats counter needs a line in STATS_METRICS");
_Static_assert(0 HTTP_METRICS(ONE) + VEER_MAX_RULES == VEER_HTTP_STATS_COUNTERS,
	       "every struct veer_http_stats counter needs a line in "
	       "HTTP_METRICS");

#define STATS_ENTRY(n, f, l, h)                                                \
	{                                                                      \
		.name = n,                                                     \
		.type = VEER_METRIC_COUNTER,                                   \
		.help = h,                                                     \
		.source = VEER_METRIC_SRC_STATS,                               \
		.offset = offsetof(struct veer_stats, f),                      \
		.label = l,                                                    \
	},
#define HTTP_ENTRY(n, f, h)                                                    \
	{                                                                      \
		.name = n,                                                     \
		.type = VEER_METRIC_COUNTER,                                   \
		.help = h,                                                     \
		.source = VEER_METRIC_SRC_HTTP,                                \
		.offset = offsetof(struct veer_http_stats, f),                 \
	},

#define HEALTH_ENTRY(n, f, l, h)                                               \
	{                                                                      \
		.name = n,                                                     \
		.type = VEER_METRIC_COUNTER,                                   \
		.help = h,                                                     \
		.source = VEER_METRIC_SRC_HEALTH,                              \
		.offset = offsetof(struct veer_health, f),                     \
		.label = l,                                                    \
	},

#define CT_HELP_ENTRIES                                                        \
	"Conntrack entries now, per table (two per connection; expired "       \
	"ones included until reclaimed)."
#define CT_HELP_LIMIT "Conntrack entries each table holds at most."

const struct veer_metric_desc veer_metric_table[] = {
	STATS_METRICS(STATS_ENTRY){
		.name = "veer_http_rule_requests_total",
		.type = VEER_METRIC_COUNTER,
		.help = "Connections bound by an HTTP routing rule (label "
			"rule: "
			"its index, first match wins).",
		.source = VEER_METRIC_SRC_HTTP_RULES,
		.offset = offsetof(struct veer_http_stats, rule_requests),
	},
	HTTP_METRICS(HTTP_ENTRY) HEALTH_METRICS(HEALTH_ENTRY){
		.name = "veer_backend_handshake_seconds",
		.type = VEER_METRIC_HISTOGRAM,
		.help = "Backend handshakes: SYN forwarded to SYN-ACK seen.",
		.source = VEER_METRIC_SRC_HEALTH_HIST,
		.offset = offsetof(struct veer_health, handshake_sum_ns),
	},
	{
		.name = "veer_http_first_byte_seconds",
		.type = VEER_METRIC_HISTOGRAM,
		.help = "HTTP connections: first request byte forwarded to "
			"first response byte seen.",
		.source = VEER_METRIC_SRC_HEALTH_HIST,
		.offset = offsetof(struct veer_health, ttfb_sum_ns),
	},
	{
		.name = "veer_connections_live",
		.type = VEER_METRIC_GAUGE,
		.help = "Established connections now: opened minus closed (no "
			"conntrack walk; a pair the LRU evicts from a full "
			"table is not seen closing).",
		.source = VEER_METRIC_SRC_LIVE,
	},
	{
		.name = "veer_subset_weight",
		.type = VEER_METRIC_GAUGE,
		.help = "The subset's weight in the default route, of 100.",
		.source = VEER_METRIC_SRC_SUBSET_WEIGHT,
	},
	{
		.name = "veer_subset_backends",
		.type = VEER_METRIC_GAUGE,
		.help = "Backends of the subset.",
		.source = VEER_METRIC_SRC_SUBSET_BACKENDS,
	},
	{
		.name = "veer_service_info",
		.type = VEER_METRIC_GAUGE,
		.help = "1 per service entry; label address: its VIP and port.",
		.source = VEER_METRIC_SRC_SERVICE_INFO,
	},
	{
		.name = "veer_watch_running",
		.type = VEER_METRIC_GAUGE,
		.help = "1 while veer watch runs for this pin root, 0 once it "
			"stopped.",
		.source = VEER_METRIC_SRC_WATCH,
		.offset = offsetof(struct veer_metrics_watch, running),
	},
	{
		.name = "veer_watch_generation",
		.type = VEER_METRIC_GAUGE,
		.help = "Versions of the watched directory veer watch applied "
			"(with --etcd: the fleet's revision applied).",
		.source = VEER_METRIC_SRC_WATCH,
		.offset = offsetof(struct veer_metrics_watch, generation),
	},
	{
		.name = "veer_watch_last_success_timestamp_seconds",
		.type = VEER_METRIC_GAUGE,
		.help = "When veer watch last applied the directory (0: "
			"never).",
		.source = VEER_METRIC_SRC_WATCH,
		.offset = offsetof(struct veer_metrics_watch, last_success),
	},
	{
		.name = "veer_watch_last_error_timestamp_seconds",
		.type = VEER_METRIC_GAUGE,
		.help = "When veer watch last refused a version or failed to "
			"apply it (0: never).",
		.source = VEER_METRIC_SRC_WATCH,
		.offset = offsetof(struct veer_metrics_watch, last_error),
	},
	{
		.name = "veer_watch_errors_total",
		.type = VEER_METRIC_COUNTER,
		.help = "Versions veer watch refused and applies that failed.",
		.source = VEER_METRIC_SRC_WATCH,
		.offset = offsetof(struct veer_metrics_watch, errors),
	},
	{
		.name = "veer_conntrack_entries",
		.type = VEER_METRIC_GAUGE,
		.help = CT_HELP_ENTRIES,
		.source = VEER_METRIC_SRC_CT_ENTRIES,
	},
	{
		.name = "veer_conntrack_entries_limit",
		.type = VEER_METRIC_GAUGE,
		.help = CT_HELP_LIMIT,
		.source = VEER_METRIC_SRC_CT_CAPACITY,
	},
};

const size_t veer_metric_table_len =
	sizeof(veer_metric_table) / sizeof(veer_metric_table[0]);

const char *const veer_metrics_ct_table_names[VEER_METRICS_CT_TABLES] = {
	[VEER_METRICS_CT_ESTABLISHED] = "established",
	[VEER_METRICS_CT_HALF_OPEN] = "half_open",
	[VEER_METRICS_CT_CLOSING] = "closing",
};

uint64_t veer_metric_stats_value(const struct veer_metric_desc *m,
				 const struct veer_stats *row)
{
	uint64_t v;

	memcpy(&v, (const char *)row + m->offset, sizeof(v));
	return v;
}

uint64_t veer_metric_http_value(const struct veer_metric_desc *m,
				const struct veer_http_stats *http,
				unsigned int rule)
{
	size_t off = m->offset;
	uint64_t v;

	if (m->source == VEER_METRIC_SRC_HTTP_RULES)
		off += (size_t)(rule < VEER_MAX_RULES ? rule : 0) * sizeof(v);
	memcpy(&v, (const char *)http + off, sizeof(v));
	return v;
}

const struct veer_metric_desc *veer_metric_find(const char *name)
{
	size_t i;

	for (i = 0; i < veer_metric_table_len; i++)
		if (!strcmp(veer_metric_table[i].name, name))
			return &veer_metric_table[i];
	return NULL;
}

/* ---- snapshots ---------------------------------------------------------- */

void veer_metrics_snapshot_init(struct veer_metrics_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
}

void veer_metrics_snapshot_free(struct veer_metrics_snapshot *snap)
{
	free(snap->services);
	veer_metrics_snapshot_init(snap);
}

static int cmp_metrics_service(const void *a, const void *b)
{
	return strcmp(((const struct veer_metrics_service *)a)->name,
		      ((const struct veer_metrics_service *)b)->name);
}

static void fill_service(struct veer_metrics_service *out,
			 const struct veer_service_model *svc)
{
	unsigned int s;

	snprintf(out->name, sizeof(out->name), "%s", svc->name);
	snprintf(out->host, sizeof(out->host), "%s", svc->host);
	veer_host_namespace(svc->host, out->ns, sizeof(out->ns));
	out->key = svc->key;
	out->id = svc->id;
	out->generation = svc->generation;
	out->subset_count = svc->subset_count < VEER_MAX_SUBSETS
				    ? svc->subset_count
				    : VEER_MAX_SUBSETS;
	for (s = 0; s < out->subset_count; s++) {
		snprintf(out->subset_names[s], sizeof(out->subset_names[s]),
			 "%s", svc->subsets[s].name);
		out->weights[s] = svc->subsets[s].weight;
		out->backends[s] = svc->subsets[s].backend_count;
	}
	out->rule_count = svc->rule_count < VEER_MAX_RULES ? svc->rule_count
							   : VEER_MAX_RULES;
}

void veer_metrics_fill_live(struct veer_metrics_service *svc)
{
	unsigned int s;

	for (s = 0; s < svc->subset_count; s++)
		svc->live[s] =
			svc->rows[s].ct_established > svc->rows[s].ct_closed
				? svc->rows[s].ct_established -
					  svc->rows[s].ct_closed
				: 0;
}

int veer_metrics_snapshot_read_model(const struct veer_maps *maps,
				     const struct veer_model *model,
				     struct veer_metrics_snapshot *snap,
				     unsigned int flags, char *err,
				     size_t errlen)
{
	struct veer_ct_census census;
	size_t i;

	veer_metrics_snapshot_init(snap);
	clock_gettime(CLOCK_MONOTONIC, &snap->taken);
	clock_gettime(CLOCK_REALTIME, &snap->wall);
	if (model->count) {
		snap->services = calloc(model->count, sizeof(*snap->services));
		if (!snap->services) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (i = 0; i < model->count; i++) {
		struct veer_metrics_service *out = &snap->services[i];

		fill_service(out, &model->services[i]);
		if (veer_maps_read_stats(maps, out->id, out->rows, err,
					 errlen) ||
		    veer_maps_read_http_stats(maps, out->id, &out->http, err,
					      errlen) ||
		    veer_maps_read_health(maps, out->id, out->health, err,
					  errlen))
			goto fail;
		veer_metrics_fill_live(out);
		snap->count++;
	}
	qsort(snap->services, snap->count, sizeof(*snap->services),
	      cmp_metrics_service);
	if (flags & VEER_METRICS_READ_CT) {
		if (veer_maps_ct_census(maps, &census, err, errlen))
			goto fail;
		snap->ct_entries[VEER_METRICS_CT_ESTABLISHED] =
			census.established;
		snap->ct_entries[VEER_METRICS_CT_HALF_OPEN] = census.half_open;
		snap->ct_entries[VEER_METRICS_CT_CLOSING] = census.closing;
		snap->ct_capacity[VEER_METRICS_CT_ESTABLISHED] =
			maps->ct_entries;
		snap->ct_capacity[VEER_METRICS_CT_HALF_OPEN] =
			maps->ct_syn_entries;
		snap->ct_capacity[VEER_METRICS_CT_CLOSING] =
			maps->ct_closing_entries;
		snap->have_ct = true;
	}
	return 0;
fail:
	veer_metrics_snapshot_free(snap);
	return -1;
}

int veer_metrics_snapshot_read(const struct veer_maps *maps,
			       struct veer_metrics_snapshot *snap,
			       unsigned int flags, char *err, size_t errlen)
{
	struct veer_model model;
	int ret;

	veer_metrics_snapshot_init(snap);
	veer_model_init(&model);
	ret = veer_maps_read_model(maps, &model, err, errlen);
	if (!ret)
		ret = veer_metrics_snapshot_read_model(maps, &model, snap,
						       flags, err, errlen);
	veer_model_free(&model);
	return ret;
}

const struct veer_metrics_service *
veer_metrics_snapshot_find(const struct veer_metrics_snapshot *snap,
			   const char *name)
{
	struct veer_metrics_service key;

	if (!snap->count)
		return NULL;
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bsearch(&key, snap->services, snap->count,
		       sizeof(*snap->services), cmp_metrics_service);
}

double veer_metrics_elapsed(const struct veer_metrics_snapshot *before,
			    const struct veer_metrics_snapshot *after)
{
	return (double)(after->taken.tv_sec - before->taken.tv_sec) +
	       (double)(after->taken.tv_nsec - before->taken.tv_nsec) / 1e9;
}

/* a - b per __u64 of n; a counter that went down restarted: a. */
static void counters_delta(uint64_t *out, const uint64_t *a, const uint64_t *b,
			   size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = a[i] >= b[i] ? a[i] - b[i] : a[i];
}

int veer_metrics_diff(const struct veer_metrics_snapshot *before,
		      const struct veer_metrics_snapshot *after,
		      struct veer_metrics_snapshot *delta)
{
	const struct veer_metrics_service *old;
	struct veer_metrics_service *d;
	unsigned int r;
	size_t i;

	veer_metrics_snapshot_init(delta);
	delta->taken = after->taken;
	delta->wall = after->wall;
	delta->have_ct = after->have_ct;
	memcpy(delta->ct_entries, after->ct_entries, sizeof(delta->ct_entries));
	memcpy(delta->ct_capacity, after->ct_capacity,
	       sizeof(delta->ct_capacity));
	if (!after->count)
		return 0;
	delta->services = malloc(after->count * sizeof(*delta->services));
	if (!delta->services)
		return -1;
	memcpy(delta->services, after->services,
	       after->count * sizeof(*delta->services));
	delta->count = after->count;
	for (i = 0; i < delta->count; i++) {
		d = &delta->services[i];
		old = veer_metrics_snapshot_find(before, d->name);
		if (!old || old->id != d->id)
			continue; /* counts from zero: after's values */
		for (r = 0; r < VEER_STATS_ROWS_PER_SVC; r++) {
			counters_delta((uint64_t *)&d->rows[r],
				       (const uint64_t *)&d->rows[r],
				       (const uint64_t *)&old->rows[r],
				       VEER_STATS_COUNTERS);
			counters_delta((uint64_t *)&d->health[r],
				       (const uint64_t *)&d->health[r],
				       (const uint64_t *)&old->health[r],
				       VEER_HEALTH_WORDS);
		}
		counters_delta((uint64_t *)&d->http, (const uint64_t *)&d->http,
			       (const uint64_t *)&old->http,
			       VEER_HTTP_STATS_COUNTERS);
	}
	return 0;
}

/* ---- exposition --------------------------------------------------------- */

void veer_metrics_label_value(FILE *out, const char *value)
{
	const char *p;

	for (p = value; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '"')
			fputs("\\\"", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
}

/* HELP text: backslash and newline escaped (no quotes there). */
static void help_text(FILE *out, const char *text)
{
	const char *p;

	for (p = text; *p; p++) {
		if (*p == '\\')
			fputs("\\\\", out);
		else if (*p == '\n')
			fputs("\\n", out);
		else
			fputc(*p, out);
	}
}

/* One label, with the comma before it unless it is the first. */
static void label(FILE *out, bool *first, const char *name, const char *value)
{
	fprintf(out, "%s%s=\"", *first ? "" : ",", name);
	veer_metrics_label_value(out, value);
	fputc('"', out);
	*first = false;
}

/*
 * NAME{service=...,host=...,namespace=... : the series' start, with the
 * service's labels (host and namespace only when it has them); the caller
 * adds its own and closes with series_end.
 */
static void series_start(FILE *out, const char *name,
			 const struct veer_metrics_service *svc, bool *first)
{
	fprintf(out, "%s{", name);
	*first = true;
	if (!svc)
		return;
	label(out, first, "service", svc->name);
	if (svc->host[0])
		label(out, first, "host", svc->host);
	if (svc->ns[0])
		label(out, first, "namespace", svc->ns);
}

static void series_end(FILE *out, const char *extra, bool first, uint64_t value)
{
	if (extra)
		fprintf(out, "%s%s", first ? "" : ",", extra);
	fprintf(out, "} %" PRIu64 "\n", value);
}

static void write_stats_part(FILE *out, const struct veer_metric_desc *m,
			     const struct veer_metrics_service *svc)
{
	unsigned int s;
	bool first;

	for (s = 0; s < svc->subset_count; s++) {
		series_start(out, m->name, svc, &first);
		label(out, &first, "subset", svc->subset_names[s]);
		series_end(out, m->label, first,
			   veer_metric_stats_value(m, &svc->rows[s]));
	}
	/* Events that belong to no subset: no subset label. */
	series_start(out, m->name, svc, &first);
	series_end(out, m->label, first,
		   veer_metric_stats_value(
			   m, &svc->rows[VEER_STATS_ROW_UNATTRIBUTED]));
}

static uint64_t health_value(const struct veer_health *h, size_t offset,
			     unsigned int word)
{
	uint64_t v;

	memcpy(&v, (const char *)h + offset + word * sizeof(v), sizeof(v));
	return v;
}

/*
 * A histogram per subset: cumulative _bucket series (le: the bucket's
 * upper bound in seconds, then +Inf), _sum in seconds, _count.
 */
static void write_histogram_part(FILE *out, const struct veer_metric_desc *m,
				 const struct veer_metrics_service *svc)
{
	char name[128], le[32];
	uint64_t cum;
	unsigned int s, b;
	bool first;

	for (s = 0; s < svc->subset_count; s++) {
		const struct veer_health *h = &svc->health[s];

		snprintf(name, sizeof(name), "%s_bucket", m->name);
		for (cum = 0, b = 0; b < VEER_HIST_BUCKETS; b++) {
			cum += health_value(h, m->offset, 1 + b);
			if (b + 1 < VEER_HIST_BUCKETS)
				snprintf(le, sizeof(le), "%.9g",
					 veer_hist_le_seconds(b));
			else
				snprintf(le, sizeof(le), "+Inf");
			series_start(out, name, svc, &first);
			label(out, &first, "subset", svc->subset_names[s]);
			label(out, &first, "le", le);
			series_end(out, NULL, first, cum);
		}
		snprintf(name, sizeof(name), "%s_sum", m->name);
		series_start(out, name, svc, &first);
		label(out, &first, "subset", svc->subset_names[s]);
		fprintf(out, "} %.9f\n",
			(double)health_value(h, m->offset, 0) / 1e9);
		snprintf(name, sizeof(name), "%s_count", m->name);
		series_start(out, name, svc, &first);
		label(out, &first, "subset", svc->subset_names[s]);
		series_end(out, NULL, first, cum);
	}
}

static void write_service_part(FILE *out, const struct veer_metric_desc *m,
			       const struct veer_metrics_service *svc)
{
	char addr[VEER_ENDPOINT_STRLEN], idx[16];
	unsigned int s, r;
	bool first;

	switch (m->source) {
	case VEER_METRIC_SRC_STATS:
		write_stats_part(out, m, svc);
		break;
	case VEER_METRIC_SRC_HEALTH:
		/* Every health event has a subset: no unattributed row. */
		for (s = 0; s < svc->subset_count; s++) {
			series_start(out, m->name, svc, &first);
			label(out, &first, "subset", svc->subset_names[s]);
			series_end(out, m->label, first,
				   health_value(&svc->health[s], m->offset, 0));
		}
		break;
	case VEER_METRIC_SRC_HEALTH_HIST:
		write_histogram_part(out, m, svc);
		break;
	case VEER_METRIC_SRC_LIVE:
		for (s = 0; s < svc->subset_count; s++) {
			series_start(out, m->name, svc, &first);
			label(out, &first, "subset", svc->subset_names[s]);
			series_end(out, m->label, first, svc->live[s]);
		}
		break;
	case VEER_METRIC_SRC_HTTP:
		series_start(out, m->name, svc, &first);
		series_end(out, m->label, first,
			   veer_metric_http_value(m, &svc->http, 0));
		break;
	case VEER_METRIC_SRC_HTTP_RULES:
		for (r = 0; r < svc->rule_count; r++) {
			snprintf(idx, sizeof(idx), "%u", r);
			series_start(out, m->name, svc, &first);
			label(out, &first, "rule", idx);
			series_end(out, m->label, first,
				   veer_metric_http_value(m, &svc->http, r));
		}
		break;
	case VEER_METRIC_SRC_SUBSET_WEIGHT:
	case VEER_METRIC_SRC_SUBSET_BACKENDS:
		for (s = 0; s < svc->subset_count; s++) {
			series_start(out, m->name, svc, &first);
			label(out, &first, "subset", svc->subset_names[s]);
			series_end(out, m->label, first,
				   m->source == VEER_METRIC_SRC_SUBSET_WEIGHT
					   ? svc->weights[s]
					   : svc->backends[s]);
		}
		break;
	case VEER_METRIC_SRC_SERVICE_INFO:
		veer_endpoint_format(&svc->key.vip, svc->key.family,
				     svc->key.port, addr, sizeof(addr));
		series_start(out, m->name, svc, &first);
		label(out, &first, "address", addr);
		series_end(out, m->label, first, 1);
		break;
	default:
		break;
	}
}

static void write_ct_part(FILE *out, const struct veer_metric_desc *m,
			  const struct veer_metrics_snapshot *snap)
{
	unsigned int t;
	bool first;

	for (t = 0; t < VEER_METRICS_CT_TABLES; t++) {
		series_start(out, m->name, NULL, &first);
		label(out, &first, "table", veer_metrics_ct_table_names[t]);
		series_end(out, m->label, first,
			   m->source == VEER_METRIC_SRC_CT_ENTRIES
				   ? (uint64_t)(snap->ct_entries[t] > 0
							? snap->ct_entries[t]
							: 0)
				   : snap->ct_capacity[t]);
	}
}

void veer_metrics_read_watch(struct veer_metrics_snapshot *snap,
			     const char *pin_root)
{
	struct veer_watch_state w;
	char err[VEER_ERR_LEN];

	snap->have_watch =
		veer_watch_state_read(pin_root, &w, err, sizeof(err)) == 0;
	if (!snap->have_watch)
		return;
	snap->watch = (struct veer_metrics_watch){
		.running = veer_watch_alive(&w),
		.generation = (double)w.generation,
		.last_success = w.last_success,
		.last_error = w.last_error_time,
		.errors = (double)w.errors,
	};
}

/* One series, no labels: the watch has one value per pin root. */
static void write_watch_part(FILE *out, const struct veer_metric_desc *m,
			     const struct veer_metrics_snapshot *snap)
{
	double v;

	memcpy(&v, (const char *)&snap->watch + m->offset, sizeof(v));
	fprintf(out, "%s %.15g\n", m->name, v);
}

static bool is_ct(const struct veer_metric_desc *m)
{
	return m->source == VEER_METRIC_SRC_CT_ENTRIES ||
	       m->source == VEER_METRIC_SRC_CT_CAPACITY;
}

int veer_metrics_write(FILE *out, const struct veer_metrics_snapshot *snap)
{
	const struct veer_metric_desc *m;
	size_t i, j, k;

	for (i = 0; i < veer_metric_table_len; i = j) {
		m = &veer_metric_table[i];
		/* The family: this entry and the next ones of its name. */
		for (j = i + 1; j < veer_metric_table_len &&
				!strcmp(veer_metric_table[j].name, m->name);
		     j++)
			;
		if ((is_ct(m) && !snap->have_ct) ||
		    (m->source == VEER_METRIC_SRC_WATCH && !snap->have_watch))
			continue;
		fprintf(out, "# HELP %s ", m->name);
		help_text(out, m->help);
		fprintf(out, "\n# TYPE %s %s\n", m->name,
			m->type == VEER_METRIC_COUNTER	   ? "counter"
			: m->type == VEER_METRIC_HISTOGRAM ? "histogram"
							   : "gauge");
		for (k = i; k < j; k++) {
			if (is_ct(&veer_metric_table[k])) {
				write_ct_part(out, &veer_metric_table[k], snap);
				continue;
			}
			if (veer_metric_table[k].source ==
			    VEER_METRIC_SRC_WATCH) {
				write_watch_part(out, &veer_metric_table[k],
						 snap);
				continue;
			}
			for (size_t s = 0; s < snap->count; s++)
				write_service_part(out, &veer_metric_table[k],
						   &snap->services[s]);
		}
	}
	return fflush(out) || ferror(out) ? -1 : 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "output.h"

#include "maps.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <string.h>

#include "addr.h"
#include "health.h"
#include "plan.h"

void veer_json_string(FILE *out, const char *text)
{
	const unsigned char *p;

	fputc('"', out);
	for (p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void print_services_json(FILE *out, const struct veer_model *model)
{
	char text[VEER_ENDPOINT_STRLEN];
	size_t i;
	unsigned int s, b;

	fprintf(out, "{\"services\":[");
	for (i = 0; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];

		fprintf(out, "%s{\"name\":", i ? "," : "");
		veer_json_string(out, svc->name);
		veer_addr_format(&svc->key.vip, svc->key.family, text,
				 sizeof(text));
		fprintf(out, ",\"vip\":\"%s\",\"port\":%u", text,
			ntohs(svc->key.port));
		fprintf(out,
			",\"id\":%u,\"generation\":%u,"
			"\"sourceIpAffinity\":%s,\"http\":%s,\"subsets\":[",
			svc->id, svc->generation,
			svc->flags & VEER_SVC_F_HASH_SRC_IP ? "true" : "false",
			svc->flags & VEER_SVC_F_HTTP ? "true" : "false");
		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_subset_model *sub = &svc->subsets[s];

			fprintf(out, "%s{\"name\":", s ? "," : "");
			veer_json_string(out, sub->name);
			fprintf(out, ",\"weight\":%u,\"backends\":[",
				sub->weight);
			for (b = 0; b < sub->backend_count; b++) {
				veer_endpoint_format(&sub->backends[b].addr,
						     sub->backends[b].family,
						     sub->backends[b].port,
						     text, sizeof(text));
				fprintf(out, "%s\"%s\"", b ? "," : "", text);
			}
			fprintf(out, "]}");
		}
		fprintf(out, "]}");
	}
	fprintf(out, "]}\n");
}

/* The SERVICE column fits the longest name (Istio hosts are long). */
static int name_width(const struct veer_model *model)
{
	size_t i, w = strlen("SERVICE");

	for (i = 0; i < model->count; i++)
		if (strlen(model->services[i].name) > w)
			w = strlen(model->services[i].name);
	return (int)w;
}

static void print_services_table(FILE *out, const struct veer_model *model)
{
	char vip[VEER_ENDPOINT_STRLEN], backend[VEER_ENDPOINT_STRLEN];
	int width = name_width(model);
	size_t i;
	unsigned int s, b;

	fprintf(out, "%-*s %-28s %-10s %6s  %s\n", width, "SERVICE", "VIP",
		"SUBSET", "WEIGHT", "BACKENDS");
	for (i = 0; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];

		veer_endpoint_format(&svc->key.vip, svc->key.family,
				     svc->key.port, vip, sizeof(vip));
		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_subset_model *sub = &svc->subsets[s];

			fprintf(out, "%-*s %-28s %-10s %6u  ", width,
				s ? "" : svc->name, s ? "" : vip, sub->name,
				sub->weight);
			if (!sub->backend_count)
				fprintf(out, "-");
			for (b = 0; b < sub->backend_count; b++) {
				veer_endpoint_format(&sub->backends[b].addr,
						     sub->backends[b].family,
						     sub->backends[b].port,
						     backend, sizeof(backend));
				fprintf(out, "%s%s", b ? "," : "", backend);
			}
			fputc('\n', out);
		}
	}
}

void veer_print_services(FILE *out, const struct veer_model *model,
			 enum veer_format format)
{
	if (format == VEER_FORMAT_JSON)
		print_services_json(out, model);
	else
		print_services_table(out, model);
}

static uint64_t total_new_conns(const struct veer_stats *rows)
{
	uint64_t total = 0;
	unsigned int s;

	for (s = 0; s < VEER_MAX_SUBSETS; s++)
		total += rows[s].new_conns;
	return total;
}

static double share_percent(uint64_t part, uint64_t total)
{
	return total ? 100.0 * (double)part / (double)total : 0.0;
}

static void print_counters_json(FILE *out, const struct veer_stats *st)
{
	fprintf(out,
		"\"newConnections\":%" PRIu64 ",\"packetsForward\":%" PRIu64
		",\"bytesForward\":%" PRIu64 ",\"packetsReverse\":%" PRIu64
		",\"bytesReverse\":%" PRIu64 ",\"resets\":%" PRIu64
		",\"conntrackMisses\":%" PRIu64 ",\"noBackend\":%" PRIu64,
		(uint64_t)st->new_conns, (uint64_t)st->packets_forward,
		(uint64_t)st->bytes_forward, (uint64_t)st->packets_reverse,
		(uint64_t)st->bytes_reverse, (uint64_t)st->resets,
		(uint64_t)st->ct_misses, (uint64_t)st->no_backend);
	fprintf(out,
		",\"conntrackMissesPlaced\":%" PRIu64
		",\"conntrackMissesDropped\":%" PRIu64
		",\"handshakesCompleted\":%" PRIu64
		",\"connectionsClosed\":%" PRIu64
		",\"handshakesAborted\":%" PRIu64
		",\"resetsOutOfWindow\":%" PRIu64
		",\"synsOnLiveTuples\":%" PRIu64
		",\"conntrackInsertsFailed\":%" PRIu64
		",\"icmpErrorsTranslated\":%" PRIu64
		",\"conntrackEntriesRestored\":%" PRIu64,
		(uint64_t)st->ct_miss_placed, (uint64_t)st->ct_miss_dropped,
		(uint64_t)st->ct_established, (uint64_t)st->ct_closed,
		(uint64_t)st->ct_aborted, (uint64_t)st->rst_invalid,
		(uint64_t)st->syn_on_live, (uint64_t)st->ct_insert_failed,
		(uint64_t)st->icmp_errors, (uint64_t)st->ct_restored);
}

/* A service's conntrack events, over all its rows. */
static struct veer_stats ct_events(const struct veer_stats *rows)
{
	struct veer_stats sum = {};

	veer_stats_add(&sum, rows, VEER_STATS_ROWS_PER_SVC);
	/* LOST_KEPT: entries restored and whole pairs placed again. */
	sum.ct_miss_placed += sum.ct_restored;
	return sum;
}

/*
 * A histogram's quantile q as the upper bound of the bucket that holds it,
 * in milliseconds; -1 when it is empty or in the last (unbounded) bucket.
 */
static double hist_quantile_ms(const __u64 *buckets, double q)
{
	uint64_t total = 0, cum = 0;
	unsigned int b;

	for (b = 0; b < VEER_HIST_BUCKETS; b++)
		total += buckets[b];
	if (!total)
		return -1;
	for (b = 0; b < VEER_HIST_BUCKETS - 1; b++) {
		cum += buckets[b];
		if ((double)cum >= q * (double)total)
			return veer_hist_le_seconds(b) * 1e3;
	}
	return -1;
}

static void print_hist_json(FILE *out, const char *name, const __u64 *buckets,
			    __u64 sum_ns)
{
	uint64_t count = 0;
	unsigned int b;

	for (b = 0; b < VEER_HIST_BUCKETS; b++)
		count += buckets[b];
	fprintf(out,
		",\"%s\":{\"count\":%" PRIu64 ",\"sumSeconds\":%.9f"
		",\"buckets\":[",
		name, count, (double)sum_ns / 1e9);
	for (b = 0; b < VEER_HIST_BUCKETS; b++)
		fprintf(out, "%s%" PRIu64, b ? "," : "", (uint64_t)buckets[b]);
	fprintf(out, "]}");
}

static void print_health_json(FILE *out, const struct veer_health *h)
{
	fprintf(out,
		",\"health\":{\"refused\":%" PRIu64
		",\"resetsBeforeData\":%" PRIu64 ",\"synUnanswered\":%" PRIu64
		",\"responses\":{\"1xx\":%" PRIu64 ",\"2xx\":%" PRIu64
		",\"3xx\":%" PRIu64 ",\"4xx\":%" PRIu64 ",\"5xx\":%" PRIu64
		"},\"responsesNotHttp\":%" PRIu64
		",\"responsesUnparsed\":%" PRIu64,
		(uint64_t)h->refused, (uint64_t)h->reset_before_data,
		(uint64_t)h->syn_unanswered, (uint64_t)h->responses_1xx,
		(uint64_t)h->responses_2xx, (uint64_t)h->responses_3xx,
		(uint64_t)h->responses_4xx, (uint64_t)h->responses_5xx,
		(uint64_t)h->responses_not_http,
		(uint64_t)h->responses_unparsed);
	print_hist_json(out, "handshake", h->handshake, h->handshake_sum_ns);
	print_hist_json(out, "firstByte", h->ttfb, h->ttfb_sum_ns);
	fprintf(out, "}");
}

/* A quantile cell: "<=X" milliseconds, or "-". */
static void quantile_cell(char *buf, size_t len, double ms)
{
	if (ms < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "<=%.9g", ms);
}

/*
 * Health signals per subset: live connections (opened - closed),
 * failures, the handshake and first-byte medians and 99th percentiles
 * (bucket bounds, ms), first responses by class.
 */
static void
print_health_table(FILE *out, const struct veer_model *model,
		   const struct veer_stats (*rows)[VEER_STATS_ROWS_PER_SVC],
		   const struct veer_health (*health)[VEER_STATS_ROWS_PER_SVC],
		   int width)
{
	char q[4][24];
	unsigned int s;
	size_t i;

	fprintf(out,
		"\n%-*s %-10s %8s %8s %10s %8s %9s %9s %9s %9s %7s %7s %7s "
		"%7s %8s\n",
		width, "SERVICE", "SUBSET", "LIVE", "REFUSED", "RST_NODATA",
		"SYN_LOST", "HS_P50ms", "HS_P99ms", "FB_P50ms", "FB_P99ms",
		"2XX", "3XX", "4XX", "5XX", "NOT_HTTP");
	for (i = 0; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];

		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_health *h = &health[i][s];
			const struct veer_stats *st = &rows[i][s];
			int64_t live =
				(int64_t)(st->ct_established - st->ct_closed);

			quantile_cell(q[0], sizeof(q[0]),
				      hist_quantile_ms(h->handshake, 0.5));
			quantile_cell(q[1], sizeof(q[1]),
				      hist_quantile_ms(h->handshake, 0.99));
			quantile_cell(q[2], sizeof(q[2]),
				      hist_quantile_ms(h->ttfb, 0.5));
			quantile_cell(q[3], sizeof(q[3]),
				      hist_quantile_ms(h->ttfb, 0.99));
			fprintf(out,
				"%-*s %-10s %8" PRId64 " %8" PRIu64
				" %10" PRIu64 " %8" PRIu64
				" %9s %9s %9s %9s %7" PRIu64 " %7" PRIu64
				" %7" PRIu64 " %7" PRIu64 " %8" PRIu64 "\n",
				width, s ? "" : svc->name, svc->subsets[s].name,
				live > 0 ? live : 0, (uint64_t)h->refused,
				(uint64_t)h->reset_before_data,
				(uint64_t)h->syn_unanswered, q[0], q[1], q[2],
				q[3], (uint64_t)h->responses_2xx,
				(uint64_t)h->responses_3xx,
				(uint64_t)h->responses_4xx,
				(uint64_t)h->responses_5xx,
				(uint64_t)(h->responses_not_http +
					   h->responses_unparsed));
		}
	}
}

/* The longest value shown in a rule's description. */
#define RULE_VALUE_SHOWN 24

void veer_rule_describe(const struct veer_rule *rule, char *buf, size_t len)
{
	const struct veer_condition *c;
	unsigned int more = 0, m;
	int vlen, w;

	if (!len)
		return;
	buf[0] = '\0';
	if (!rule->match_count || !rule->matches[0].condition_count)
		return;
	for (m = 0; m < rule->match_count && m < VEER_MAX_MATCHES; m++)
		more += rule->matches[m].condition_count;
	more--;
	c = &rule->matches[0].conditions[0];
	vlen = c->value_len < VEER_MATCH_VALUE_MAX ? c->value_len
						   : VEER_MATCH_VALUE_MAX - 1;
	if (!vlen && c->op == VEER_COND_PREFIX)
		w = snprintf(buf, len, "%s%s%.*s present",
			     c->field == VEER_COND_URI ? "uri" : "header",
			     c->field == VEER_COND_URI ? "" : " ",
			     c->field == VEER_COND_URI ? 0 : c->name_len,
			     c->name);
	else
		w = snprintf(buf, len, "%s%s%.*s %s %.*s%s",
			     c->field == VEER_COND_URI ? "uri" : "header",
			     c->field == VEER_COND_URI ? "" : " ",
			     c->field == VEER_COND_URI ? 0 : c->name_len,
			     c->name,
			     c->op == VEER_COND_EXACT ? "exact" : "prefix",
			     vlen > RULE_VALUE_SHOWN ? RULE_VALUE_SHOWN : vlen,
			     c->value, vlen > RULE_VALUE_SHOWN ? "..." : "");
	if (more && w >= 0 && (size_t)w < len)
		snprintf(buf + w, len - (size_t)w, " (+%u more)", more);
}

static void print_http_json(FILE *out, const struct veer_service_model *svc,
			    const struct veer_http_stats *h)
{
	char desc[VEER_RULE_DESC_LEN];
	unsigned int r;

	fprintf(out, ",\"http\":{\"rules\":[");
	for (r = 0; r < svc->rule_count && r < VEER_MAX_RULES; r++) {
		veer_rule_describe(&svc->rules[r], desc, sizeof(desc));
		fprintf(out, "%s{\"index\":%u,\"match\":", r ? "," : "", r);
		veer_json_string(out, desc);
		fprintf(out, ",\"requests\":%" PRIu64 "}",
			(uint64_t)h->rule_requests[r]);
	}
	fprintf(out,
		"],\"defaultRequests\":%" PRIu64
		",\"headersIncomplete\":%" PRIu64 ",\"notHttp\":%" PRIu64
		",\"unseenDefault\":%" PRIu64 ",\"synsAnswered\":%" PRIu64
		",\"backendSyns\":%" PRIu64 ",\"bound\":%" PRIu64
		",\"replays\":%" PRIu64 ",\"aborted\":%" PRIu64
		",\"pendingFull\":%" PRIu64 ",\"cookieRestored\":%" PRIu64
		",\"staleBackendResets\":%" PRIu64 "}",
		(uint64_t)h->default_requests, (uint64_t)h->headers_incomplete,
		(uint64_t)h->not_http, (uint64_t)h->unseen_default,
		(uint64_t)h->syn_answered, (uint64_t)h->backend_syns,
		(uint64_t)h->bound, (uint64_t)h->replays, (uint64_t)h->aborted,
		(uint64_t)h->pending_full, (uint64_t)h->cookie_restored,
		(uint64_t)h->stale_backend_resets);
}

/*
 * HTTP routing, per service with rules: requests by route (each rule,
 * then the default route by reason), and on the service's first row
 * what binding did.
 */
static void print_http_table(FILE *out, const struct veer_model *model,
			     const struct veer_http_stats *http, int width)
{
	char desc[VEER_RULE_DESC_LEN], route[VEER_RULE_DESC_LEN + 16];
	unsigned int r, row;
	size_t i;

	fprintf(out, "\n%-*s %-44s %9s %9s %9s %9s %9s %9s %9s %9s\n", width,
		"SERVICE", "HTTP_ROUTE", "REQUESTS", "SYNS_ANSW", "BACK_SYNS",
		"BOUND", "REPLAYS", "ABORTED", "PEND_FULL", "COOKIES");
	for (i = 0; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];
		const struct veer_http_stats *h = &http[i];
		const struct {
			const char *route;
			uint64_t requests;
		} defaults[] = {
			{"default: no rule matched", h->default_requests},
			{"default: headers incomplete", h->headers_incomplete},
			{"default: not HTTP/1.x", h->not_http},
			{"default: no request seen", h->unseen_default},
		};

		if (!svc->rule_count)
			continue;
		row = 0;
		for (r = 0; r < svc->rule_count && r < VEER_MAX_RULES; r++) {
			veer_rule_describe(&svc->rules[r], desc, sizeof(desc));
			snprintf(route, sizeof(route), "rule %u: %s", r, desc);
			fprintf(out, "%-*s %-44s %9" PRIu64, width,
				row ? "" : svc->name, route,
				(uint64_t)h->rule_requests[r]);
			if (!row++)
				fprintf(out,
					" %9" PRIu64 " %9" PRIu64 " %9" PRIu64
					" %9" PRIu64 " %9" PRIu64 " %9" PRIu64
					" %9" PRIu64,
					(uint64_t)h->syn_answered,
					(uint64_t)h->backend_syns,
					(uint64_t)h->bound,
					(uint64_t)h->replays,
					(uint64_t)h->aborted,
					(uint64_t)h->pending_full,
					(uint64_t)h->cookie_restored);
			fputc('\n', out);
		}
		for (r = 0; r < sizeof(defaults) / sizeof(defaults[0]); r++)
			fprintf(out, "%-*s %-44s %9" PRIu64 "\n", width, "",
				defaults[r].route, defaults[r].requests);
	}
}

void veer_print_stats(
	FILE *out, const struct veer_model *model,
	const struct veer_stats (*rows)[VEER_STATS_ROWS_PER_SVC],
	const struct veer_http_stats *http,
	const struct veer_health (*health)[VEER_STATS_ROWS_PER_SVC],
	enum veer_format format)
{
	static const struct veer_http_stats none;
	int width = name_width(model);
	bool any_rules = false;
	size_t i;
	unsigned int s;

	if (format == VEER_FORMAT_JSON) {
		fprintf(out, "{\"services\":[");
		for (i = 0; i < model->count; i++) {
			const struct veer_service_model *svc =
				&model->services[i];
			uint64_t total = total_new_conns(rows[i]);

			fprintf(out, "%s{\"name\":", i ? "," : "");
			veer_json_string(out, svc->name);
			fprintf(out, ",\"subsets\":[");
			for (s = 0; s < svc->subset_count; s++) {
				fprintf(out, "%s{\"name\":", s ? "," : "");
				veer_json_string(out, svc->subsets[s].name);
				fprintf(out, ",\"weight\":%u,\"share\":%.2f,",
					svc->subsets[s].weight,
					share_percent(rows[i][s].new_conns,
						      total));
				print_counters_json(out, &rows[i][s]);
				if (health)
					print_health_json(out, &health[i][s]);
				fprintf(out, "}");
			}
			fprintf(out, "],\"unattributed\":{");
			print_counters_json(
				out, &rows[i][VEER_STATS_ROW_UNATTRIBUTED]);
			fprintf(out, "}");
			print_http_json(out, svc, http ? &http[i] : &none);
			fprintf(out, "}");
		}
		fprintf(out, "]}\n");
		return;
	}

	fprintf(out,
		"%-*s %-10s %6s %10s %7s %10s %12s %10s %12s %7s %7s %10s\n",
		width, "SERVICE", "SUBSET", "WEIGHT", "NEW_CONNS", "SHARE",
		"PKTS_IN", "BYTES_IN", "PKTS_OUT", "BYTES_OUT", "RESETS",
		"CT_MISS", "NO_BACKEND");
	for (i = 0; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];
		const struct veer_stats *un =
			&rows[i][VEER_STATS_ROW_UNATTRIBUTED];
		uint64_t total = total_new_conns(rows[i]);

		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_stats *st = &rows[i][s];

			fprintf(out,
				"%-*s %-10s %6u %10" PRIu64
				" %6.1f%% %10" PRIu64 " %12" PRIu64
				" %10" PRIu64 " %12" PRIu64 " %7" PRIu64
				" %7" PRIu64 " %10" PRIu64 "\n",
				width, s ? "" : svc->name, svc->subsets[s].name,
				svc->subsets[s].weight, (uint64_t)st->new_conns,
				share_percent(st->new_conns, total),
				(uint64_t)st->packets_forward,
				(uint64_t)st->bytes_forward,
				(uint64_t)st->packets_reverse,
				(uint64_t)st->bytes_reverse,
				(uint64_t)st->resets, (uint64_t)st->ct_misses,
				(uint64_t)st->no_backend);
		}
		if (un->ct_misses || un->no_backend)
			fprintf(out,
				"%-*s %-10s %6s %10s %7s %10s %12s %10s %12s "
				"%7s %7" PRIu64 " %10" PRIu64 "\n",
				width, "", "(none)", "-", "-", "-", "-", "-",
				"-", "-", "-", (uint64_t)un->ct_misses,
				(uint64_t)un->no_backend);
	}

	/* Conntrack events: how connections came and went, and what was
	 * refused on their behalf. */
	fprintf(out, "\n%-*s %11s %9s %8s %10s %11s %11s %11s %9s\n", width,
		"SERVICE", "HANDSHAKES", "CLOSED", "ABORTED", "LOST_KEPT",
		"LOST_DROP", "RST_REFUSED", "SYN_ON_LIVE", "CT_FULL");
	for (i = 0; i < model->count; i++) {
		struct veer_stats ev = ct_events(rows[i]);

		fprintf(out,
			"%-*s %11" PRIu64 " %9" PRIu64 " %8" PRIu64
			" %10" PRIu64 " %11" PRIu64 " %11" PRIu64 " %11" PRIu64
			" %9" PRIu64 "\n",
			width, model->services[i].name,
			(uint64_t)ev.ct_established, (uint64_t)ev.ct_closed,
			(uint64_t)ev.ct_aborted, (uint64_t)ev.ct_miss_placed,
			(uint64_t)ev.ct_miss_dropped, (uint64_t)ev.rst_invalid,
			(uint64_t)ev.syn_on_live,
			(uint64_t)ev.ct_insert_failed);
		any_rules |= model->services[i].rule_count > 0;
	}
	if (any_rules && http)
		print_http_table(out, model, http, width);
	if (health)
		print_health_table(out, model, rows, health, width);
}

static void append_change(char *buf, size_t len, const char *fmt, const char *a,
			  const char *b)
{
	size_t used = strlen(buf);

	if (used < len)
		snprintf(buf + used, len - used, fmt, a, b);
}

void veer_service_describe_change(const struct veer_service_model *old,
				  const struct veer_service_model *new,
				  char *buf, size_t len)
{
	char vip[VEER_ENDPOINT_STRLEN], item[96];
	unsigned int i, b;
	int j;

	buf[0] = '\0';
	if (!old) {
		veer_endpoint_format(&new->key.vip, new->key.family,
				     new->key.port, vip, sizeof(vip));
		append_change(buf, len, "created (%s%s)", vip, "");
		for (i = 0; i < new->subset_count; i++) {
			snprintf(item, sizeof(item), " %s=%u/%u backends",
				 new->subsets[i].name, new->subsets[i].weight,
				 new->subsets[i].backend_count);
			append_change(buf, len, "%s%s", item, "");
		}
		if (new->rule_count) {
			snprintf(item, sizeof(item), ", %u match rules",
				 new->rule_count);
			append_change(buf, len, "%s%s", item, "");
		}
		return;
	}
	if (memcmp(&old->key, &new->key, sizeof(old->key))) {
		veer_endpoint_format(&new->key.vip, new->key.family,
				     new->key.port, vip, sizeof(vip));
		append_change(buf, len, "%sVIP -> %s", *buf ? "; " : "", vip);
	}
	if ((old->flags ^ new->flags) & VEER_SVC_F_HASH_SRC_IP)
		append_change(
			buf, len, "%ssource-ip affinity %s", *buf ? "; " : "",
			new->flags &VEER_SVC_F_HASH_SRC_IP ? "on" : "off");
	if ((old->flags ^ new->flags) & VEER_SVC_F_HTTP)
		append_change(buf, len, "%sHTTP %s", *buf ? "; " : "",
			      new->flags &VEER_SVC_F_HTTP ? "on" : "off");
	for (i = 0; i < new->subset_count; i++) {
		const struct veer_subset_model *ns = &new->subsets[i];

		j = veer_service_find_subset(old, ns->name);
		if (j < 0) {
			snprintf(item, sizeof(item), "subset %s added (%u)",
				 ns->name, ns->weight);
			append_change(buf, len, "%s%s", *buf ? "; " : "", item);
			continue;
		}
		if (old->subsets[j].weight != ns->weight) {
			snprintf(item, sizeof(item), "%s %u -> %u", ns->name,
				 old->subsets[j].weight, ns->weight);
			append_change(buf, len, "%s%s", *buf ? "; " : "", item);
		}
		if (!veer_subset_backends_equal(&old->subsets[j], ns)) {
			unsigned int added = 0, removed = 0;
			unsigned int k;

			for (b = 0; b < ns->backend_count; b++) {
				for (k = 0; k < old->subsets[j].backend_count;
				     k++)
					if (!memcmp(&ns->backends[b],
						    &old->subsets[j]
							     .backends[k],
						    sizeof(ns->backends[b])))
						break;
				added += k == old->subsets[j].backend_count;
			}
			for (k = 0; k < old->subsets[j].backend_count; k++) {
				for (b = 0; b < ns->backend_count; b++)
					if (!memcmp(&ns->backends[b],
						    &old->subsets[j]
							     .backends[k],
						    sizeof(ns->backends[b])))
						break;
				removed += b == ns->backend_count;
			}
			snprintf(item, sizeof(item),
				 "%s backends +%u -%u (now %u)", ns->name,
				 added, removed, ns->backend_count);
			append_change(buf, len, "%s%s", *buf ? "; " : "", item);
		}
	}
	for (i = 0; i < old->subset_count; i++) {
		if (veer_service_find_subset(new, old->subsets[i].name) < 0) {
			snprintf(item, sizeof(item), "subset %s removed",
				 old->subsets[i].name);
			append_change(buf, len, "%s%s", *buf ? "; " : "", item);
		}
	}
	if (!veer_service_rules_equal(old, new)) {
		snprintf(item, sizeof(item), "match rules %u -> %u",
			 old->rule_count, new->rule_count);
		append_change(buf, len, "%s%s", *buf ? "; " : "", item);
	}
	if (strcmp(old->host, new->host))
		append_change(buf, len, "%shost -> %s", *buf ? "; " : "",
			      new->host[0] ? new->host : "(none)");
	/* Reordering subsets changes which hash buckets each one owns. */
	if (!*buf && old->subset_count == new->subset_count) {
		for (i = 0; i < new->subset_count; i++)
			if (strcmp(old->subsets[i].name, new->subsets[i].name))
				break;
		if (i < new->subset_count)
			append_change(buf, len, "subsets reordered%s%s", "",
				      "");
	}
	if (!*buf)
		append_change(buf, len, "unchanged%s%s", "", "");
}

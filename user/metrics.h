/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * veer's counters as metrics: one table describes every metric (its
 * Prometheus name, type, help and where its value comes from), a
 * snapshot holds every service's counters read at one moment, and the
 * exposition writes a snapshot in the Prometheus text format 0.0.4
 * (`veer stats -o prometheus`, `veer metrics`). Later readers (a live
 * view, a rollout's health checks) take two snapshots and compare them.
 */
#ifndef VEER_METRICS_H
#define VEER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "maps.h"
#include "model.h"
#include "veer_abi.h"

enum veer_metric_type {
	VEER_METRIC_COUNTER,
	VEER_METRIC_GAUGE,
	VEER_METRIC_HISTOGRAM,
};

/* Where a metric's values are, and so which series it has. */
enum veer_metric_source {
	/*
	 * A struct veer_stats field: one series per subset (label subset)
	 * and one for the service's unattributed row (no subset label).
	 */
	VEER_METRIC_SRC_STATS,
	/* A struct veer_http_stats field: one series per service. */
	VEER_METRIC_SRC_HTTP,
	/*
	 * veer_http_stats.rule_requests: one series per rule the service
	 * has (label rule, its index in evaluation order).
	 */
	VEER_METRIC_SRC_HTTP_RULES,
	VEER_METRIC_SRC_SUBSET_WEIGHT, /* per subset: default-route weight */
	VEER_METRIC_SRC_SUBSET_BACKENDS, /* per subset: backend count */
	VEER_METRIC_SRC_SERVICE_INFO, /* per service: 1, label address */
	VEER_METRIC_SRC_CT_ENTRIES, /* per table: entries now */
	VEER_METRIC_SRC_CT_CAPACITY, /* per table: entries it holds */
	/* A struct veer_health counter: one series per subset. */
	VEER_METRIC_SRC_HEALTH,
	/*
	 * A struct veer_health histogram, per subset: offset is its _sum
	 * (nanoseconds), the VEER_HIST_BUCKETS buckets follow it.
	 */
	VEER_METRIC_SRC_HEALTH_HIST,
	/* Per subset: live connections (veer_metrics_service.live). */
	VEER_METRIC_SRC_LIVE,
	/*
	 * A struct veer_metrics_watch field: one series without labels,
	 * written only when the pin root has a veer watch state.
	 */
	VEER_METRIC_SRC_WATCH,
};

/*
 * One series family, or one part of it: entries with the same name are
 * adjacent in the table and differ in `label` only (a constant label such
 * as direction="forward"). offset: of the __u64 in struct veer_stats or
 * struct veer_http_stats (VEER_METRIC_SRC_STATS, _HTTP, _HTTP_RULES).
 */
struct veer_metric_desc {
	const char *name;
	enum veer_metric_type type;
	const char *help;
	enum veer_metric_source source;
	size_t offset;
	const char *label; /* name="value", or NULL */
};

extern const struct veer_metric_desc veer_metric_table[];
extern const size_t veer_metric_table_len;

/* One service's counters and the labels they are exposed with. */
struct veer_metrics_service {
	char name[VEER_NAME_MAX];
	char host[VEER_NAME_MAX]; /* "" for native config */
	char ns[VEER_NAME_MAX]; /* of NAME.NS.svc.cluster.local; else "" */
	struct veer_svc_key key;
	uint32_t id;
	uint32_t generation;
	unsigned int subset_count;
	char subset_names[VEER_MAX_SUBSETS][VEER_SUBSET_NAME_MAX];
	unsigned int weights[VEER_MAX_SUBSETS];
	unsigned int backends[VEER_MAX_SUBSETS];
	unsigned int rule_count;
	/* Summed over CPUs; rows[VEER_STATS_ROW_UNATTRIBUTED] too. */
	struct veer_stats rows[VEER_STATS_ROWS_PER_SVC];
	struct veer_http_stats http;
	/* The health signals, per row (zero before ABI 6 maps). */
	struct veer_health health[VEER_STATS_ROWS_PER_SVC];
	/*
	 * Per subset: connections opened minus closed (ct_established -
	 * ct_closed, at least 0), as read: a gauge, which a diff keeps.
	 */
	uint64_t live[VEER_MAX_SUBSETS];
};

/* The conntrack tables, as veer_maps_ct_census counts them. */
enum veer_metrics_ct_table {
	VEER_METRICS_CT_ESTABLISHED,
	VEER_METRICS_CT_HALF_OPEN,
	VEER_METRICS_CT_CLOSING,
	VEER_METRICS_CT_TABLES,
};

extern const char *const veer_metrics_ct_table_names[VEER_METRICS_CT_TABLES];

/* The pin root's veer watch (watch.h), as gauges and a counter. */
struct veer_metrics_watch {
	double running; /* 1 while the watcher runs */
	double generation;
	double last_success; /* unix seconds; 0: never */
	double last_error; /* likewise */
	double errors;
};

struct veer_metrics_snapshot {
	struct timespec taken; /* CLOCK_MONOTONIC, before the first read */
	struct timespec wall; /* CLOCK_REALTIME, the same moment */
	struct veer_metrics_service *services; /* sorted by name; malloc'd */
	size_t count;
	bool have_ct; /* ct_entries and ct_capacity were read */
	long ct_entries[VEER_METRICS_CT_TABLES];
	uint32_t ct_capacity[VEER_METRICS_CT_TABLES];
	bool have_watch; /* watch was read: a watch runs or ran */
	struct veer_metrics_watch watch;
};

/* What a snapshot reads besides the services' counters. */
#define VEER_METRICS_READ_CT (1U << 0) /* conntrack fill (walks the tables) */

void veer_metrics_snapshot_init(struct veer_metrics_snapshot *snap);
void veer_metrics_snapshot_free(struct veer_metrics_snapshot *snap);

/*
 * Reads every service's counters (and, with VEER_METRICS_READ_CT, the
 * conntrack fill) from the maps into snap. 0, or -1 with err (snap is
 * then empty). Bounded: one model read, VEER_STATS_ROWS_PER_SVC + 1
 * lookups per service, and one batched walk per conntrack table.
 */
int veer_metrics_snapshot_read(const struct veer_maps *maps,
			       struct veer_metrics_snapshot *snap,
			       unsigned int flags, char *err, size_t errlen);

/*
 * The same for the services of a model already read (a command that
 * selected some services); the model is only read from.
 */
int veer_metrics_snapshot_read_model(const struct veer_maps *maps,
				     const struct veer_model *model,
				     struct veer_metrics_snapshot *snap,
				     unsigned int flags, char *err,
				     size_t errlen);

/*
 * The pin root's veer watch state into snap->watch (have_watch: there is
 * one); after veer_metrics_snapshot_read*, which start afresh.
 */
void veer_metrics_read_watch(struct veer_metrics_snapshot *snap,
			     const char *pin_root);

/* Fills svc->live from its rows (snapshot readers do it). */
void veer_metrics_fill_live(struct veer_metrics_service *svc);

/* The service of that name, or NULL. */
const struct veer_metrics_service *
veer_metrics_snapshot_find(const struct veer_metrics_snapshot *snap,
			   const char *name);

/* Seconds from before to after (monotonic clock). */
double veer_metrics_elapsed(const struct veer_metrics_snapshot *before,
			    const struct veer_metrics_snapshot *after);

/*
 * after - before, counter by counter, for every service of after: a
 * service absent from before, or there under another id (deleted and
 * made anew, its counters restarted), counts from zero; so does a counter
 * that went down. Gauges (weights, backends, conntrack fill) are after's.
 * delta is initialised here; free it with veer_metrics_snapshot_free.
 * 0, or -1 (out of memory; delta empty).
 */
int veer_metrics_diff(const struct veer_metrics_snapshot *before,
		      const struct veer_metrics_snapshot *after,
		      struct veer_metrics_snapshot *delta);

/* A counter of a VEER_METRIC_SRC_STATS / _HTTP entry for one row / rule. */
uint64_t veer_metric_stats_value(const struct veer_metric_desc *m,
				 const struct veer_stats *row);
uint64_t veer_metric_http_value(const struct veer_metric_desc *m,
				const struct veer_http_stats *http,
				unsigned int rule);

/* The table entry of that name (the first, for a family of parts). */
const struct veer_metric_desc *veer_metric_find(const char *name);

/* A label value escaped as the text format wants (\\, \", \n). */
void veer_metrics_label_value(FILE *out, const char *value);

/* The Content-Type of the text exposition. */
#define VEER_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/*
 * snap in the text exposition format 0.0.4: every family of the table
 * once, with its # HELP and # TYPE, then its series (none when there is
 * no service; the conntrack families only when snap->have_ct). 0, or -1
 * on a write error.
 */
int veer_metrics_write(FILE *out, const struct veer_metrics_snapshot *snap);

#endif /* VEER_METRICS_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pinned maps as a configuration store. There is no daemon: the maps
 * are the only state, every command reads what it needs from them and
 * writes changes so that the data plane never sees a half-written service.
 * This half opens, locks and reads them (the model back, counters, the
 * conntrack census); plan.h writes them.
 */
#ifndef VEER_MAPS_H
#define VEER_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "model.h"

struct veer_maps {
	int services;
	int backends;
	int svc_meta;
	int conntrack; /* established connections */
	int ct_syn; /* half-open */
	int ct_closing; /* closed, in their grace period */
	int runtime;
	int be_vips; /* backend endpoint -> its services (veer_be_vips) */
	int stats;
	int http_stats; /* per service id: struct veer_http_stats */
	int health; /* as stats, struct veer_health; -1 before ABI 6 */
	int rules;
	int lock; /* the pin directory, flock()ed by writers */
	uint32_t max_services; /* service ids are 1 ..= max_services */
	uint32_t max_backends;
	uint32_t ct_entries;
	uint32_t ct_syn_entries;
	uint32_t ct_closing_entries;
	uint32_t stats_rows;
	uint32_t http_stats_rows;
	uint32_t max_rules;
};

#define VEER_ERR_LEN 512

/* Writing to the store (veer_maps_apply, veer_maps_delete_service). */
#include "plan.h"

/* Every fd -1, so veer_maps_close is always safe. */
void veer_maps_init(struct veer_maps *maps);

/*
 * Serialises writers (apply, weight, delete) on one pin root: each plans
 * against what it read, so two at once could hand out the same backend
 * slots or service id. Readers need no lock. Released by close or exit.
 */
int veer_maps_lock(struct veer_maps *maps, const char *pin_root, char *err,
		   size_t errlen);

/*
 * Opens the pinned maps under pin_root. Returns 0; -1 with a one-line
 * message in err (not loaded, not root, bpffs missing, ...). Returns -2
 * (err filled) when nothing is pinned there at all, so callers that can
 * work without maps (a dry run) can tell that case apart.
 */
int veer_maps_open(const char *pin_root, struct veer_maps *maps, char *err,
		   size_t errlen);
void veer_maps_close(struct veer_maps *maps);

/* Decides from its name, host and key whether a service is read. */
typedef bool (*veer_service_filter_fn)(const struct veer_service_model *svc,
				       void *ctx);

/*
 * Reads the services `want` accepts (all when want is NULL), with their
 * backends and rules; the others are not put in the model at all.
 */
int veer_maps_read_model_filtered(const struct veer_maps *maps,
				  struct veer_model *model,
				  veer_service_filter_fn want, void *ctx,
				  char *err, size_t errlen);

/*
 * The one service whose entry is at key, if that entry's metadata names
 * it `name`, appended to model: two lookups, not a scan, for a caller
 * that knows where the service lives (the object store says). 0; 1 when
 * it is not there; -1 with err.
 */
int veer_maps_read_service_at(const struct veer_maps *maps,
			      const struct veer_svc_key *key, const char *name,
			      struct veer_model *model, char *err,
			      size_t errlen);

/* Reads every service (names, weights, backends, id, generation). */
int veer_maps_read_model(const struct veer_maps *maps, struct veer_model *model,
			 char *err, size_t errlen);

/* A service table entry as the map holds it. */
struct veer_svc_entry {
	struct veer_svc_key key;
	struct veer_service value;
};

/*
 * Every entry of the service table, stale ones included, in the map's
 * order; *out is the caller's to free. 0, or -1 with err.
 */
int veer_maps_read_entries(const struct veer_maps *maps,
			   struct veer_svc_entry **out, size_t *count,
			   char *err, size_t errlen);

/* Sum over CPUs of the stats rows of one service id. */
int veer_maps_read_stats(const struct veer_maps *maps, uint32_t svc_id,
			 struct veer_stats rows[VEER_STATS_ROWS_PER_SVC],
			 char *err, size_t errlen);

/*
 * Sum over CPUs of one service id's HTTP routing counters (zero when
 * the maps have no veer_http_stats: fd -1).
 */
int veer_maps_read_http_stats(const struct veer_maps *maps, uint32_t svc_id,
			      struct veer_http_stats *sum, char *err,
			      size_t errlen);

/* Adds every counter of rows[0..n) to sum (the CPUs of one service). */
void veer_http_stats_add(struct veer_http_stats *sum,
			 const struct veer_http_stats *rows, unsigned int n);

/*
 * The conntrack tables' fill (entries: two per connection), and how many
 * half-open and closing entries are past their time (they count as gone
 * and are reclaimed by the next packet of their tuple or by the LRU).
 */
struct veer_ct_census {
	long established;
	long half_open;
	long half_open_stale; /* older than VEER_CT_SYN_TIMEOUT_NS */
	long closing;
	long closing_expired; /* closed longer ago than the grace period */
	unsigned long long grace_ns;
};

int veer_maps_ct_census(const struct veer_maps *maps,
			struct veer_ct_census *census, char *err,
			size_t errlen);

/* Adds every counter of rows[0..n) to sum (CPUs of a row, rows of a
 * service). */
void veer_stats_add(struct veer_stats *sum, const struct veer_stats *rows,
		    unsigned int n);

/* Counts the entries of a hash map (services, conntrack). -1 on error. */
long veer_maps_count_entries(int map_fd);

#endif /* VEER_MAPS_H */

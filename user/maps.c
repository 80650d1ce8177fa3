// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "diag.h"
#include "maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "abi_check.h"
#include "addr.h"
#include "wait.h"
#include "loader.h"

void veer_maps_init(struct veer_maps *maps)
{
	memset(maps, 0, sizeof(*maps));
	maps->services = maps->backends = maps->svc_meta = -1;
	maps->conntrack = maps->stats = maps->rules = maps->lock = -1;
	maps->ct_syn = maps->ct_closing = maps->runtime = -1;
	maps->be_vips = maps->http_stats = maps->health = -1;
}

void veer_maps_close(struct veer_maps *maps)
{
	int *fds[] = {&maps->rules,    &maps->services,	 &maps->backends,
		      &maps->svc_meta, &maps->conntrack, &maps->stats,
		      &maps->lock,     &maps->ct_syn,	 &maps->ct_closing,
		      &maps->runtime,  &maps->be_vips,	 &maps->http_stats,
		      &maps->health};
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * The process holding an flock on (dev, ino), from /proc/locks; 0 when not
 * found (a holder in another PID namespace shows as 0 or -1 there too).
 */
static long lock_holder(dev_t dev, ino_t ino)
{
	char line[256], kind[16], type[16];
	unsigned int maj, min;
	unsigned long long inode;
	long pid, found = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		/* "1: FLOCK  ADVISORY  WRITE 4729 00:27:12335 0 EOF"; waiters
		 * have "->" after the number and are skipped. */
		if (sscanf(line, "%*d: %15s %*s %15s %ld %x:%x:%llu", kind,
			   type, &pid, &maj, &min, &inode) == 6 &&
		    !strcmp(kind, "FLOCK") && major(dev) == maj &&
		    minor(dev) == min && inode == (unsigned long long)ino &&
		    pid > 0)
			found = pid;
	}
	fclose(f);
	return found;
}

int veer_maps_lock(struct veer_maps *maps, const char *pin_root, char *err,
		   size_t errlen)
{
	char comm[64] = "", path[64], secs[VEER_WAIT_STRLEN];
	struct timespec ts, delay = {0, 0};
	unsigned int wait_ms;
	long long start, elapsed;
	struct stat st;
	long holder;
	FILE *f;

	if (veer_wait_ms(&wait_ms, err, errlen))
		return -1;
	/* O_NOFOLLOW, and the owner checked on what was opened. */
	maps->lock =
		open(pin_root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (maps->lock < 0 || fstat(maps->lock, &st)) {
		snprintf(err, errlen, "cannot lock %s: %s", pin_root,
			 strerror(errno));
		return -1;
	}
	if ((st.st_uid != 0 && st.st_uid != geteuid()) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(err, errlen,
			 "cannot lock %s: owned by uid %u, mode %04o: not "
			 "root's alone, refusing to use it",
			 pin_root, (unsigned int)st.st_uid,
			 (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	start = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	for (;;) {
		if (flock(maps->lock, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			snprintf(err, errlen, "cannot lock %s: %s", pin_root,
				 strerror(errno));
			return -1;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		elapsed = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
			  start;
		if (elapsed >= wait_ms)
			break;
		/* 10 ms, growing to 100 ms: quick when the lock is brief. */
		if (delay.tv_nsec < 100000000)
			delay.tv_nsec += 10000000;
		if (delay.tv_nsec / 1000000 > wait_ms - elapsed)
			delay.tv_nsec = (long)(wait_ms - elapsed) * 1000000;
		nanosleep(&delay, NULL);
	}
	veer_wait_format(wait_ms, secs, sizeof(secs));
	holder = lock_holder(st.st_dev, st.st_ino);
	if (!holder) {
		snprintf(err, errlen,
			 "cannot lock %s: another process held it for %s s "
			 "(its pid is not visible here); another apply, "
			 "weight or delete is running or stuck (%s sets the "
			 "wait)",
			 pin_root, secs, VEER_WAIT_ENV);
		return -1;
	}
	snprintf(path, sizeof(path), "/proc/%ld/comm", holder);
	f = fopen(path, "re");
	if (f) {
		if (fgets(comm, sizeof(comm), f))
			comm[strcspn(comm, "\n")] = '\0';
		fclose(f);
	}
	snprintf(err, errlen,
		 "cannot lock %s: held by pid %ld (%s) for %s s; another "
		 "apply, weight or delete is running or stuck (%s sets the "
		 "wait)",
		 pin_root, holder, comm[0] ? comm : "?", secs, VEER_WAIT_ENV);
	return -1;
}

static int open_one(const char *pin_root, const char *name, int *fd,
		    uint32_t *max_entries, char *err, size_t errlen)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_root, name);
	*fd = bpf_obj_get(path);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open pinned map %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (bpf_obj_get_info_by_fd(*fd, &info, &info_len)) {
		snprintf(err, errlen, "cannot inspect map %s: %s", path,
			 strerror(errno));
		return -1;
	}
	if (max_entries)
		*max_entries = info.max_entries;
	return 0;
}

static uint32_t lru_usable(uint32_t max_entries)
{
	uint32_t slack = veer_lru_slack();

	return max_entries > slack ? max_entries - slack : max_entries;
}

/*
 * The HTTP counters: maps an ABI 4 veer made have none until `veer attach
 * --upgrade` creates them; until then they read as zero.
 */
static int open_http_stats(const char *pin_root, struct veer_maps *maps,
			   char *err, size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_HTTP_STATS);
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	return open_one(pin_root, VEER_MAP_HTTP_STATS, &maps->http_stats,
			&maps->http_stats_rows, err, errlen);
}

/* The health signals: none before ABI 6 (`veer attach --upgrade`). */
static int open_health(const char *pin_root, struct veer_maps *maps, char *err,
		       size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_HEALTH);
	if (access(path, F_OK) && errno == ENOENT)
		return 0;
	return open_one(pin_root, VEER_MAP_HEALTH, &maps->health, NULL, err,
			errlen);
}

int veer_maps_open(const char *pin_root, struct veer_maps *maps, char *err,
		   size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	uint32_t meta_entries;

	veer_maps_init(maps);
	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_SERVICES);
	if (stat(path, &st)) {
		snprintf(err, errlen,
			 "veer is not loaded: no maps under %s (run 'veer "
			 "attach DEV' first)",
			 pin_root);
		return -2;
	}
	if (veer_abi_check(pin_root, err, errlen))
		return -1;
	if (open_one(pin_root, VEER_MAP_SERVICES, &maps->services,
		     &maps->max_services, err, errlen) ||
	    open_one(pin_root, VEER_MAP_BACKENDS, &maps->backends,
		     &maps->max_backends, err, errlen) ||
	    open_one(pin_root, VEER_MAP_SVC_META, &maps->svc_meta,
		     &meta_entries, err, errlen) ||
	    open_one(pin_root, VEER_MAP_CT, &maps->conntrack, &maps->ct_entries,
		     err, errlen) ||
	    open_one(pin_root, VEER_MAP_RUNTIME, &maps->runtime, NULL, err,
		     errlen) ||
	    open_one(pin_root, VEER_MAP_BACKEND_VIPS, &maps->be_vips, NULL, err,
		     errlen) ||
	    open_one(pin_root, VEER_MAP_CT_SYN, &maps->ct_syn,
		     &maps->ct_syn_entries, err, errlen) ||
	    open_one(pin_root, VEER_MAP_CT_CLOSING, &maps->ct_closing,
		     &maps->ct_closing_entries, err, errlen) ||
	    open_one(pin_root, VEER_MAP_STATS, &maps->stats, &maps->stats_rows,
		     err, errlen) ||
	    open_one(pin_root, VEER_MAP_RULES, &maps->rules, &maps->max_rules,
		     err, errlen) ||
	    open_http_stats(pin_root, maps, err, errlen) ||
	    open_health(pin_root, maps, err, errlen)) {
		veer_maps_close(maps);
		return -1;
	}
	/*
	 * What the established table holds for connections, without the
	 * LRU slack (what --ct-size promised). The transient tables fill up
	 * by design (a flood, a burst of closes): their whole size is shown.
	 */
	maps->ct_entries = lru_usable(maps->ct_entries);
	/* Ids index both meta and stats; the smaller table bounds them. */
	if (meta_entries - 1 < maps->max_services)
		maps->max_services = meta_entries - 1;
	if (maps->stats_rows / VEER_STATS_ROWS_PER_SVC - 1 < maps->max_services)
		maps->max_services =
			maps->stats_rows / VEER_STATS_ROWS_PER_SVC - 1;
	if (maps->http_stats >= 0 &&
	    maps->http_stats_rows - 1 < maps->max_services)
		maps->max_services = maps->http_stats_rows - 1;
	return 0;
}

/*
 * Hands a map's entries to fn, up to `capacity` at a time, through
 * BPF_MAP_LOOKUP_BATCH: a few syscalls for a big table. A hash bucket
 * with more entries than the buffer holds (ENOSPC) doubles the buffer.
 * Returns 0, or -1 with errno: ENOMEM, fn's error, or the kernel's (e.g.
 * EINVAL where batch lookups are not supported: callers then walk key by
 * key).
 */
typedef int (*batch_fn)(const void *keys, const void *values, __u32 n,
			void *ctx);

#define BATCH_CAPACITY_MAX (1U << 20)

static int map_for_each_batch(int fd, __u32 capacity, batch_fn fn, void *ctx)
{
	struct bpf_map_info info = {0};
	__u32 info_len = sizeof(info), in_batch = 0, out_batch, got;
	void *keys = NULL, *values = NULL;
	bool first = true;
	int ret, saved;

	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return -1;
	for (;;) {
		if (!keys) {
			keys = calloc(capacity, info.key_size);
			values = calloc(capacity, info.value_size);
			if (!keys || !values) {
				errno = ENOMEM;
				ret = -1;
				break;
			}
		}
		got = capacity;
		ret = bpf_map_lookup_batch(fd, first ? NULL : &in_batch,
					   &out_batch, keys, values, &got,
					   NULL);
		if (ret && errno == ENOSPC && capacity < BATCH_CAPACITY_MAX) {
			/* Nothing was returned: retry with more room. */
			capacity *= 2;
			free(keys);
			free(values);
			keys = values = NULL;
			continue;
		}
		if (ret && errno != ENOENT)
			break;
		if (got && fn(keys, values, got, ctx)) {
			ret = -1;
			break;
		}
		if (ret) { /* ENOENT: that was the last batch */
			ret = 0;
			break;
		}
		in_batch = out_batch;
		first = false;
	}
	saved = errno;
	free(keys);
	free(values);
	errno = saved;
	return ret;
}

/* Services per lookup-batch call: a few calls for a big table. */
#define SVC_BATCH 1024

struct svc_entries {
	struct veer_svc_entry *entries;
	size_t n;
};

static int append_services(const void *keys, const void *values, __u32 n,
			   void *ctx)
{
	const struct veer_svc_key *k = keys;
	const struct veer_service *v = values;
	struct svc_entries *out = ctx;
	struct veer_svc_entry *grown;
	__u32 i;

	grown = realloc(out->entries, (out->n + n + 1) * sizeof(*grown));
	if (!grown) {
		errno = ENOMEM;
		return -1;
	}
	out->entries = grown;
	for (i = 0; i < n; i++) {
		grown[out->n].key = k[i];
		grown[out->n].value = v[i];
		out->n++;
	}
	return 0;
}

/*
 * Every service entry in a handful of syscalls; the key-by-key walk
 * remains for kernels or maps without batch support.
 */
static int read_services_batched(const struct veer_maps *maps,
				 struct veer_svc_entry **out, size_t *count)
{
	struct svc_entries all = {NULL, 0};

	if (map_for_each_batch(maps->services, SVC_BATCH, append_services,
			       &all)) {
		free(all.entries);
		return -1;
	}
	*out = all.entries;
	*count = all.n;
	return 0;
}

int veer_maps_read_entries(const struct veer_maps *maps,
			   struct veer_svc_entry **out, size_t *count,
			   char *err, size_t errlen)
{
	struct veer_svc_key key, next;
	struct veer_svc_entry *entries = NULL, *grown;
	size_t n = 0, cap = 0;
	void *prev = NULL;

	if (read_services_batched(maps, out, count) == 0)
		return 0;
	while (bpf_map_get_next_key(maps->services, prev, &next) == 0) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(entries, cap * sizeof(*entries));
			if (!grown) {
				free(entries);
				snprintf(err, errlen, "out of memory");
				return -1;
			}
			entries = grown;
		}
		key = next;
		prev = &key;
		/* Deleted between get_next_key and lookup: skip it. */
		if (bpf_map_lookup_elem(maps->services, &key,
					&entries[n].value))
			continue;
		entries[n].key = key;
		n++;
	}
	*out = entries;
	*count = n;
	return 0;
}

/*
 * One service from its map entry and metadata. Backends and rules (a
 * lookup each) are read only when `full`: filters look at names first.
 */
static int service_from_map(const struct veer_maps *maps,
			    const struct veer_svc_entry *entry,
			    const struct veer_svc_meta *meta_in, bool full,
			    struct veer_service_model *svc, char *err,
			    size_t errlen)
{
	const struct veer_service *value = &entry->value;
	struct veer_svc_meta meta;
	struct veer_backend backend;
	uint32_t id = value->id, i, b, index;

	if (meta_in) {
		meta = *meta_in;
	} else if (bpf_map_lookup_elem(maps->svc_meta, &id, &meta)) {
		snprintf(err, errlen, "service id %u has no metadata: %s", id,
			 strerror(errno));
		return -1;
	}
	memcpy(svc->name, meta.name, sizeof(svc->name));
	svc->name[sizeof(svc->name) - 1] = '\0';
	memcpy(svc->host, meta.host, sizeof(svc->host));
	svc->host[sizeof(svc->host) - 1] = '\0';
	svc->key = entry->key;
	svc->flags = value->flags;
	svc->id = id;
	svc->generation = value->generation;
	svc->subset_count = value->subset_count < VEER_MAX_SUBSETS
				    ? value->subset_count
				    : VEER_MAX_SUBSETS;
	for (i = 0; i < svc->subset_count; i++) {
		struct veer_subset_model *subset = &svc->subsets[i];

		memcpy(subset->name, meta.subset_names[i],
		       sizeof(subset->name));
		subset->name[sizeof(subset->name) - 1] = '\0';
		subset->weight = value->subsets[i].weight;
		for (b = 0; full && b < value->subsets[i].backend_count; b++) {
			index = value->subsets[i].backend_base + b;
			if (bpf_map_lookup_elem(maps->backends, &index,
						&backend) ||
			    veer_subset_add_backend(subset, &backend)) {
				snprintf(err, errlen,
					 "cannot read backend %u of service "
					 "%s",
					 index, svc->name);
				return -1;
			}
		}
	}
	for (i = 0; full && i < value->rule_count; i++) {
		struct veer_rule_key rkey = {id, value->rules_version, i};
		struct veer_rule rule;

		if (bpf_map_lookup_elem(maps->rules, &rkey, &rule) ||
		    veer_service_add_rule(svc, &rule)) {
			snprintf(err, errlen,
				 "cannot read rule %u of service %s", i,
				 svc->name);
			return -1;
		}
	}
	return 0;
}

/* Metadata rows per lookup-batch call: 140 KiB of buffer, reused. */
#define META_BATCH 256

struct meta_rows {
	struct veer_svc_meta *rows; /* by service id */
	__u32 count;
};

static int store_meta_rows(const void *keys, const void *values, __u32 n,
			   void *ctx)
{
	const __u32 *ids = keys;
	const struct veer_svc_meta *meta = values;
	struct meta_rows *out = ctx;
	__u32 i;

	for (i = 0; i < n; i++)
		if (ids[i] < out->count)
			out->rows[ids[i]] = meta[i];
	return 0;
}

/* All metadata rows, by id, in a few syscalls; NULL when unsupported. */
static struct veer_svc_meta *read_all_meta(const struct veer_maps *maps)
{
	struct meta_rows all = {NULL, maps->max_services + 1};

	all.rows = calloc(all.count, sizeof(*all.rows));
	if (!all.rows || map_for_each_batch(maps->svc_meta, all.count,
					    store_meta_rows, &all)) {
		free(all.rows);
		return NULL;
	}
	return all.rows;
}

/*
 * Which entries are live. An apply writes a service's metadata (names and
 * the key it is to be found at) before the entry at that key, and deletes
 * the entry at the service's previous key only after that: whatever
 * instant it stops at, at most two entries carry one id, and the live one
 * is the entry at the key its metadata names; failing that (stopped between
 * the metadata and the entry), the newest generation. Every other entry of
 * the id is stale: readers set it aside and apply deletes it.
 */
struct classify {
	const struct veer_svc_entry *entries;
	const struct veer_svc_key *meta_keys; /* NULL where no metadata */
};

static const struct classify *classify_ctx;

static int cmp_entry_id(const void *a, const void *b)
{
	uint32_t ia = classify_ctx->entries[*(const size_t *)a].value.id;
	uint32_t ib = classify_ctx->entries[*(const size_t *)b].value.id;

	if (ia != ib)
		return ia < ib ? -1 : 1;
	return *(const size_t *)a < *(const size_t *)b ? -1 : 1;
}

static bool agrees(const struct classify *c, size_t i)
{
	return c->meta_keys && !memcmp(&c->meta_keys[i], &c->entries[i].key,
				       sizeof(c->entries[i].key));
}

/* Sets stale[i] for every entry that is not the live one of its id. */
static int classify_entries(const struct veer_svc_entry *entries,
			    const struct veer_svc_key *meta_keys, size_t n,
			    bool *stale)
{
	struct classify c = {entries, meta_keys};
	size_t *order, i, j, best;

	order = calloc(n ? n : 1, sizeof(*order));
	if (!order)
		return -1;
	for (i = 0; i < n; i++)
		order[i] = i;
	classify_ctx = &c;
	qsort(order, n, sizeof(*order), cmp_entry_id);
	for (i = 0; i < n; i = j) {
		best = order[i];
		for (j = i + 1; j < n && entries[order[j]].value.id ==
						 entries[best].value.id;
		     j++) {
			size_t k = order[j];

			if (agrees(&c, best))
				continue;
			if (agrees(&c, k) ||
			    entries[k].value.generation >
				    entries[best].value.generation)
				best = k;
		}
		for (size_t m = i; m < j; m++)
			stale[order[m]] = order[m] != best;
	}
	free(order);
	return 0;
}

static int add_stale(struct veer_model *model,
		     const struct veer_svc_entry *entry)
{
	struct veer_stale_entry *grown;

	grown = realloc(model->stale,
			(model->stale_count + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	model->stale = grown;
	grown[model->stale_count].key = entry->key;
	grown[model->stale_count].id = entry->value.id;
	model->stale_count++;
	return 0;
}

/*
 * The named services only, metadata first: the rows are scanned where they
 * are (the array is mmapable) or, for maps pinned before it was, in
 * batches through one small buffer; only the services whose names match
 * are looked up. With 10,000 services, one weight change touches one
 * service instead of building 10,000 models.
 */
struct named_scan {
	const struct veer_maps *maps;
	struct veer_model *model;
	veer_service_filter_fn want;
	void *ctx;
	char *err;
	size_t errlen;
	bool row_failed;
	/* Named rows whose key holds no entry of their id. */
	struct veer_svc_meta *unresolved;
	uint32_t *unresolved_ids;
	size_t unresolved_count;
};

/* One metadata row: into the model if `want` accepts its names. */
static int named_row(struct named_scan *scan, const struct veer_svc_meta *row,
		     __u32 id)
{
	struct veer_service_model named = {};
	struct veer_service_model *svc;
	struct veer_svc_meta meta, *grown;
	struct veer_svc_entry entry;
	uint32_t *grown_ids;

	if (!row->name[0])
		return 0;
	memcpy(named.name, row->name, sizeof(named.name));
	named.name[sizeof(named.name) - 1] = '\0';
	memcpy(named.host, row->host, sizeof(named.host));
	named.host[sizeof(named.host) - 1] = '\0';
	if (!scan->want(&named, scan->ctx))
		return 0;
	/* A stable copy: a mapped row can be rewritten under us. */
	meta = *row;
	entry.key = meta.key;
	if (bpf_map_lookup_elem(scan->maps->services, &entry.key,
				&entry.value) == 0 &&
	    entry.value.id == id) {
		svc = veer_model_add_service(scan->model);
		if (!svc) {
			snprintf(scan->err, scan->errlen, "out of memory");
			return -1;
		}
		return service_from_map(scan->maps, &entry, &meta, true, svc,
					scan->err, scan->errlen);
	}
	/*
	 * A row outlives a deleted service (the key may even belong to
	 * another id by now), or an apply stopped between this row and the
	 * entry at its key: the service may still be live at its old key.
	 * Looked for in the table once the scan is done.
	 */
	grown = realloc(scan->unresolved,
			(scan->unresolved_count + 1) * sizeof(*grown));
	if (grown)
		scan->unresolved = grown;
	grown_ids = realloc(scan->unresolved_ids,
			    (scan->unresolved_count + 1) * sizeof(*grown_ids));
	if (grown_ids)
		scan->unresolved_ids = grown_ids;
	if (!grown || !grown_ids) {
		snprintf(scan->err, scan->errlen, "out of memory");
		return -1;
	}
	scan->unresolved[scan->unresolved_count] = meta;
	scan->unresolved_ids[scan->unresolved_count++] = id;
	return 0;
}

int veer_maps_read_service_at(const struct veer_maps *maps,
			      const struct veer_svc_key *key, const char *name,
			      struct veer_model *model, char *err,
			      size_t errlen)
{
	struct veer_service_model *svc;
	struct veer_svc_entry entry;
	struct veer_svc_meta meta;

	entry.key = *key;
	if (bpf_map_lookup_elem(maps->services, &entry.key, &entry.value) ||
	    bpf_map_lookup_elem(maps->svc_meta, &entry.value.id, &meta) ||
	    strncmp(meta.name, name, sizeof(meta.name)) ||
	    memcmp(&meta.key, key, sizeof(*key)))
		return 1;
	svc = veer_model_add_service(model);
	if (!svc)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	return service_from_map(maps, &entry, &meta, true, svc, err, errlen);
}

/* The live entry, if any, of every unresolved named row. */
static int resolve_named(struct named_scan *scan)
{
	struct veer_svc_entry *entries;
	struct veer_service_model *svc;
	size_t n, i, r, best;
	int ret = 0;

	if (veer_maps_read_entries(scan->maps, &entries, &n, scan->err,
				   scan->errlen))
		return -1;
	for (r = 0; r < scan->unresolved_count && !ret; r++) {
		best = n;
		for (i = 0; i < n; i++)
			if (entries[i].value.id == scan->unresolved_ids[r] &&
			    (best == n ||
			     entries[i].value.generation >
				     entries[best].value.generation))
				best = i;
		if (best == n)
			continue;
		svc = veer_model_add_service(scan->model);
		if (!svc) {
			snprintf(scan->err, scan->errlen, "out of memory");
			ret = -1;
			break;
		}
		ret = service_from_map(scan->maps, &entries[best],
				       &scan->unresolved[r], true, svc,
				       scan->err, scan->errlen);
	}
	free(entries);
	return ret;
}

static int named_rows(const void *keys, const void *values, __u32 n, void *ctx)
{
	const __u32 *ids = keys;
	const struct veer_svc_meta *meta = values;
	struct named_scan *scan = ctx;
	__u32 i;

	for (i = 0; i < n; i++)
		if (named_row(scan, &meta[i], ids[i])) {
			scan->row_failed = true;
			return -1;
		}
	return 0;
}

static int read_named(const struct veer_maps *maps, struct veer_model *model,
		      veer_service_filter_fn want, void *ctx, char *err,
		      size_t errlen)
{
	/* The kernel lays array elements out 8-byte aligned. */
	size_t stride = (sizeof(struct veer_svc_meta) + 7) & ~(size_t)7;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes;
	const unsigned char *rows;
	struct named_scan scan = {maps,	  model, want, ctx,  err,
				  errlen, false, NULL, NULL, 0};
	int ret;
	__u32 i;

	bytes = ((size_t)maps->max_services + 1) * stride;
	bytes = (bytes + page - 1) / page * page;
	rows = mmap(NULL, bytes, PROT_READ, MAP_SHARED, maps->svc_meta, 0);
	if (rows != MAP_FAILED) {
		for (i = 1, ret = 0; i <= maps->max_services && !ret; i++)
			ret = named_row(&scan,
					(const void *)(rows + i * stride), i);
		munmap((void *)rows, bytes);
	} else if (map_for_each_batch(maps->svc_meta, META_BATCH, named_rows,
				      &scan)) {
		ret = scan.row_failed ? -1 : 1; /* 1: no batch support */
	} else {
		ret = 0;
	}
	if (ret == 0 && scan.unresolved_count)
		ret = resolve_named(&scan);
	free(scan.unresolved);
	free(scan.unresolved_ids);
	return ret;
}

int veer_maps_read_model_filtered(const struct veer_maps *maps,
				  struct veer_model *model,
				  veer_service_filter_fn want, void *ctx,
				  char *err, size_t errlen)
{
	struct veer_svc_meta *all_meta, row;
	struct veer_svc_key *meta_keys = NULL;
	struct veer_svc_entry *entries;
	struct veer_service_model *svc;
	bool *stale = NULL;
	size_t n, i;
	int ret = 0;

	if (want) {
		ret = read_named(maps, model, want, ctx, err, errlen);
		if (ret <= 0)
			return ret;
		veer_model_free(model); /* no batch support: start over */
		ret = 0;
	}
	if (veer_maps_read_entries(maps, &entries, &n, err, errlen))
		return -1;
	all_meta = read_all_meta(maps);
	meta_keys = calloc(n ? n : 1, sizeof(*meta_keys));
	stale = calloc(n ? n : 1, sizeof(*stale));
	if (!meta_keys || !stale) {
		snprintf(err, errlen, "out of memory");
		ret = -1;
		goto out;
	}
	/* A row never written is all zeroes: it agrees with no key. */
	for (i = 0; i < n; i++) {
		uint32_t id = entries[i].value.id;

		if (all_meta && id <= maps->max_services)
			meta_keys[i] = all_meta[id].key;
		else if (!all_meta &&
			 bpf_map_lookup_elem(maps->svc_meta, &id, &row) == 0)
			meta_keys[i] = row.key;
	}
	if (classify_entries(entries, meta_keys, n, stale)) {
		snprintf(err, errlen, "out of memory");
		ret = -1;
		goto out;
	}
	for (i = 0; i < n && !ret; i++) {
		const struct veer_svc_meta *meta = NULL;
		struct veer_service_model named = {};
		uint32_t id = entries[i].value.id;

		if (all_meta && id <= maps->max_services)
			meta = &all_meta[id];
		ret = service_from_map(maps, &entries[i], meta, false, &named,
				       err, errlen);
		if (ret || (want && !want(&named, ctx)))
			continue;
		if (stale[i]) {
			if (add_stale(model, &entries[i])) {
				snprintf(err, errlen, "out of memory");
				ret = -1;
			}
			continue;
		}
		svc = veer_model_add_service(model);
		if (!svc) {
			snprintf(err, errlen, "out of memory");
			ret = -1;
			break;
		}
		ret = service_from_map(maps, &entries[i], meta, true, svc, err,
				       errlen);
	}
out:
	free(stale);
	free(meta_keys);
	free(all_meta);
	free(entries);
	return ret;
}

int veer_maps_read_model(const struct veer_maps *maps, struct veer_model *model,
			 char *err, size_t errlen)
{
	return veer_maps_read_model_filtered(maps, model, NULL, NULL, err,
					     errlen);
}

void veer_stats_add(struct veer_stats *sum, const struct veer_stats *rows,
		    unsigned int n)
{
	unsigned int r, f;

	/* Every field is a __u64 counter (veer_abi.h): summed as an array. */
	for (r = 0; r < n; r++)
		for (f = 0; f < VEER_STATS_COUNTERS; f++)
			((__u64 *)sum)[f] += ((const __u64 *)&rows[r])[f];
}

int veer_maps_read_stats(const struct veer_maps *maps, uint32_t svc_id,
			 struct veer_stats rows[VEER_STATS_ROWS_PER_SVC],
			 char *err, size_t errlen)
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_stats *percpu;
	uint32_t row, index;

	if (ncpus <= 0) {
		snprintf(err, errlen, "cannot count CPUs");
		return -1;
	}
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(rows, 0, sizeof(*rows) * VEER_STATS_ROWS_PER_SVC);
	for (row = 0; row < VEER_STATS_ROWS_PER_SVC; row++) {
		index = svc_id * VEER_STATS_ROWS_PER_SVC + row;
		if (bpf_map_lookup_elem(maps->stats, &index, percpu)) {
			snprintf(err, errlen, "cannot read stats row %u: %s",
				 index, strerror(errno));
			free(percpu);
			return -1;
		}
		veer_stats_add(&rows[row], percpu, (unsigned int)ncpus);
	}
	free(percpu);
	return 0;
}

void veer_http_stats_add(struct veer_http_stats *sum,
			 const struct veer_http_stats *rows, unsigned int n)
{
	unsigned int r, f;

	/* Every field is a __u64 counter (veer_abi.h): summed as an array. */
	for (r = 0; r < n; r++)
		for (f = 0; f < VEER_HTTP_STATS_COUNTERS; f++)
			((__u64 *)sum)[f] += ((const __u64 *)&rows[r])[f];
}

int veer_maps_read_http_stats(const struct veer_maps *maps, uint32_t svc_id,
			      struct veer_http_stats *sum, char *err,
			      size_t errlen)
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_http_stats *percpu;

	memset(sum, 0, sizeof(*sum));
	if (maps->http_stats < 0)
		return 0;
	if (ncpus <= 0) {
		snprintf(err, errlen, "cannot count CPUs");
		return -1;
	}
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (bpf_map_lookup_elem(maps->http_stats, &svc_id, percpu)) {
		snprintf(err, errlen,
			 "cannot read HTTP stats of service %u: %s", svc_id,
			 strerror(errno));
		free(percpu);
		return -1;
	}
	veer_http_stats_add(sum, percpu, (unsigned int)ncpus);
	free(percpu);
	return 0;
}

/* A full default conntrack (2M entries) counts in about 1.3 s in batches
 * against 2.8 s one get_next_key at a time (this 6.18 VM); larger batches
 * gain nothing, the kernel's per-entry copy dominates. The walk is the
 * fallback for kernels or map types without batch lookups. */
#define COUNT_BATCH 8192U

static long count_by_walk(int map_fd)
{
	struct bpf_map_info info = {0};
	__u32 info_len = sizeof(info);
	unsigned char *key = NULL, *next = NULL;
	void *prev = NULL;
	long n = -1;

	if (bpf_obj_get_info_by_fd(map_fd, &info, &info_len))
		return -1;
	key = malloc(info.key_size);
	next = malloc(info.key_size);
	if (key && next) {
		n = 0;
		while (bpf_map_get_next_key(map_fd, prev, next) == 0) {
			memcpy(key, next, info.key_size);
			prev = key;
			n++;
		}
	}
	free(key);
	free(next);
	return n;
}

static int add_count(const void *keys, const void *values, __u32 n, void *ctx)
{
	(void)keys;
	(void)values;
	*(long *)ctx += n;
	return 0;
}

struct census_ctx {
	long *entries;
	long *expired;
	int closing; /* 1: closed_ns + grace; 0: created_ns + SYN timeout */
	__u64 now, limit;
};

static int census_add(const void *keys, const void *values, __u32 n, void *ctx)
{
	const struct veer_ct_entry *e = values;
	struct census_ctx *c = ctx;
	__u32 i;

	(void)keys;
	*c->entries += n;
	for (i = 0; i < n; i++) {
		__u64 since = c->closing ? e[i].closed_ns : e[i].created_ns;

		*c->expired += c->now > since && c->now - since > c->limit;
	}
	return 0;
}

int veer_maps_ct_census(const struct veer_maps *maps,
			struct veer_ct_census *census, char *err, size_t errlen)
{
	struct veer_runtime rt = {};
	struct census_ctx c = {};
	struct timespec ts;
	__u32 zero = 0;

	memset(census, 0, sizeof(*census));
	census->established = veer_maps_count_entries(maps->conntrack);
	if (census->established < 0 ||
	    bpf_map_lookup_elem(maps->runtime, &zero, &rt) ||
	    clock_gettime(CLOCK_MONOTONIC, &ts)) {
		snprintf(err, errlen, "cannot read conntrack: %s",
			 strerror(errno));
		return -1;
	}
	census->grace_ns =
		rt.ct_close_grace_ns
			? rt.ct_close_grace_ns
			: VEER_DEFAULT_CT_CLOSE_GRACE_MS * 1000000ULL;
	/* bpf_ktime_get_ns() is CLOCK_MONOTONIC. */
	c.now = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	c.entries = &census->half_open;
	c.expired = &census->half_open_stale;
	c.limit = VEER_CT_SYN_TIMEOUT_NS;
	if (map_for_each_batch(maps->ct_syn, COUNT_BATCH, census_add, &c))
		goto failed;
	c.entries = &census->closing;
	c.expired = &census->closing_expired;
	c.closing = 1;
	c.limit = census->grace_ns;
	if (map_for_each_batch(maps->ct_closing, COUNT_BATCH, census_add, &c))
		goto failed;
	return 0;
failed:
	snprintf(err, errlen, "cannot read conntrack: %s", strerror(errno));
	return -1;
}

long veer_maps_count_entries(int map_fd)
{
	long n = 0;

	if (map_for_each_batch(map_fd, COUNT_BATCH, add_count, &n) == 0)
		return n;
	return errno == ENOMEM ? -1 : count_by_walk(map_fd);
}

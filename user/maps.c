// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
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
#include "config.h"
#include "loader.h"
#include "veer_select.h"

void veer_maps_init(struct veer_maps *maps)
{
	memset(maps, 0, sizeof(*maps));
	maps->services = maps->backends = maps->svc_meta = -1;
	maps->conntrack = maps->stats = maps->rules = maps->lock = -1;
	maps->ct_syn = maps->ct_closing = maps->runtime = -1;
	maps->be_vips = maps->http_stats = -1;
}

void veer_maps_close(struct veer_maps *maps)
{
	int *fds[] = {&maps->rules,    &maps->services,	 &maps->backends,
		      &maps->svc_meta, &maps->conntrack, &maps->stats,
		      &maps->lock,     &maps->ct_syn,	 &maps->ct_closing,
		      &maps->runtime,  &maps->be_vips,	 &maps->http_stats};
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
	    open_http_stats(pin_root, maps, err, errlen)) {
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

/* One pass over the service hash: keys and values in insertion-free order. */
struct svc_entry {
	struct veer_svc_key key;
	struct veer_service value;
};

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
	struct svc_entry *entries;
	size_t n;
};

static int append_services(const void *keys, const void *values, __u32 n,
			   void *ctx)
{
	const struct veer_svc_key *k = keys;
	const struct veer_service *v = values;
	struct svc_entries *out = ctx;
	struct svc_entry *grown;
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
				 struct svc_entry **out, size_t *count)
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

static int read_service_entries(const struct veer_maps *maps,
				struct svc_entry **out, size_t *count,
				char *err, size_t errlen)
{
	struct veer_svc_key key, next;
	struct svc_entry *entries = NULL, *grown;
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
			    const struct svc_entry *entry,
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
	const struct svc_entry *entries;
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
static int classify_entries(const struct svc_entry *entries,
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

static int add_stale(struct veer_model *model, const struct svc_entry *entry)
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
	struct svc_entry entry;
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

/* The live entry, if any, of every unresolved named row. */
static int resolve_named(struct named_scan *scan)
{
	struct svc_entry *entries;
	struct veer_service_model *svc;
	size_t n, i, r, best;
	int ret = 0;

	if (read_service_entries(scan->maps, &entries, &n, scan->err,
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
	struct svc_entry *entries;
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
	if (read_service_entries(maps, &entries, &n, err, errlen))
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

static bool backends_equal(const struct veer_subset_model *a,
			   const struct veer_subset_model *b)
{
	return a->backend_count == b->backend_count &&
	       (a->backend_count == 0 ||
		memcmp(a->backends, b->backends,
		       a->backend_count * sizeof(*a->backends)) == 0);
}

/*
 * A rule as it is stored: everything past the counts and the strings' NULs
 * zeroed, so equal rules are equal bytes whoever built them.
 */
static void rule_canonical(const struct veer_rule *in, struct veer_rule *out)
{
	unsigned int m, c;

	memset(out, 0, sizeof(*out));
	out->match_count = in->match_count;
	memcpy(out->weights, in->weights, sizeof(out->weights));
	for (m = 0; m < in->match_count && m < VEER_MAX_MATCHES; m++) {
		const struct veer_match *im = &in->matches[m];
		struct veer_match *om = &out->matches[m];

		om->condition_count = im->condition_count;
		for (c = 0; c < im->condition_count && c < VEER_MAX_CONDITIONS;
		     c++) {
			const struct veer_condition *ic = &im->conditions[c];
			struct veer_condition *oc = &om->conditions[c];

			oc->field = ic->field;
			oc->op = ic->op;
			oc->name_len = ic->name_len;
			oc->value_len = ic->value_len;
			snprintf(oc->name, sizeof(oc->name), "%.*s",
				 (int)sizeof(ic->name) - 1, ic->name);
			snprintf(oc->value, sizeof(oc->value), "%.*s",
				 (int)sizeof(ic->value) - 1, ic->value);
		}
	}
}

static bool rules_equal(const struct veer_service_model *a,
			const struct veer_service_model *b)
{
	struct veer_rule ca, cb;
	unsigned int i;

	if (a->rule_count != b->rule_count)
		return false;
	for (i = 0; i < a->rule_count; i++) {
		rule_canonical(&a->rules[i], &ca);
		rule_canonical(&b->rules[i], &cb);
		if (memcmp(&ca, &cb, sizeof(ca)))
			return false;
	}
	return true;
}

static void append(char *buf, size_t len, const char *fmt, const char *a,
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
		append(buf, len, "created (%s%s)", vip, "");
		for (i = 0; i < new->subset_count; i++) {
			snprintf(item, sizeof(item), " %s=%u/%u backends",
				 new->subsets[i].name, new->subsets[i].weight,
				 new->subsets[i].backend_count);
			append(buf, len, "%s%s", item, "");
		}
		if (new->rule_count) {
			snprintf(item, sizeof(item), ", %u match rules",
				 new->rule_count);
			append(buf, len, "%s%s", item, "");
		}
		return;
	}
	if (memcmp(&old->key, &new->key, sizeof(old->key))) {
		veer_endpoint_format(&new->key.vip, new->key.family,
				     new->key.port, vip, sizeof(vip));
		append(buf, len, "%sVIP -> %s", *buf ? "; " : "", vip);
	}
	if (old->flags != new->flags)
		append(buf, len, "%ssource-ip affinity %s", *buf ? "; " : "",
		       new->flags &VEER_SVC_F_HASH_SRC_IP ? "on" : "off");
	for (i = 0; i < new->subset_count; i++) {
		const struct veer_subset_model *ns = &new->subsets[i];

		j = veer_service_find_subset(old, ns->name);
		if (j < 0) {
			snprintf(item, sizeof(item), "subset %s added (%u)",
				 ns->name, ns->weight);
			append(buf, len, "%s%s", *buf ? "; " : "", item);
			continue;
		}
		if (old->subsets[j].weight != ns->weight) {
			snprintf(item, sizeof(item), "%s %u -> %u", ns->name,
				 old->subsets[j].weight, ns->weight);
			append(buf, len, "%s%s", *buf ? "; " : "", item);
		}
		if (!backends_equal(&old->subsets[j], ns)) {
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
			append(buf, len, "%s%s", *buf ? "; " : "", item);
		}
	}
	for (i = 0; i < old->subset_count; i++) {
		if (veer_service_find_subset(new, old->subsets[i].name) < 0) {
			snprintf(item, sizeof(item), "subset %s removed",
				 old->subsets[i].name);
			append(buf, len, "%s%s", *buf ? "; " : "", item);
		}
	}
	if (!rules_equal(old, new)) {
		snprintf(item, sizeof(item), "match rules %u -> %u",
			 old->rule_count, new->rule_count);
		append(buf, len, "%s%s", *buf ? "; " : "", item);
	}
	if (strcmp(old->host, new->host))
		append(buf, len, "%shost -> %s", *buf ? "; " : "",
		       new->host[0] ? new->host : "(none)");
	/* Reordering subsets changes which hash buckets each one owns. */
	if (!*buf && old->subset_count == new->subset_count) {
		for (i = 0; i < new->subset_count; i++)
			if (strcmp(old->subsets[i].name, new->subsets[i].name))
				break;
		if (i < new->subset_count)
			append(buf, len, "subsets reordered%s%s", "", "");
	}
	if (!*buf)
		append(buf, len, "unchanged%s%s", "", "");
}

/* Free-slot bookkeeping for veer_backends, derived from the live services. */
struct slot_map {
	uint8_t *used; /* one byte per slot: simple, 64 KiB at the default */
	uint32_t size;
};

static void slots_mark(struct slot_map *slots, uint32_t base, uint32_t count)
{
	uint32_t i;

	for (i = 0; i < count && base + i < slots->size; i++)
		slots->used[base + i] = 1;
}

/* First fit; returns the base or UINT32_MAX when no run is long enough. */
static uint32_t slots_alloc(struct slot_map *slots, uint32_t count)
{
	uint32_t start, run = 0, i;

	if (count == 0)
		return 0;
	for (i = 0, start = 0; i < slots->size; i++) {
		if (slots->used[i]) {
			run = 0;
			start = i + 1;
			continue;
		}
		if (++run == count) {
			slots_mark(slots, start, count);
			return start;
		}
	}
	return UINT32_MAX;
}

static int zero_stats(const struct veer_maps *maps, uint32_t id)
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_stats *zero;
	uint32_t row, index;
	int ret = 0;

	if (ncpus <= 0)
		return -1;
	zero = calloc(ncpus, sizeof(*zero));
	if (!zero)
		return -1;
	for (row = 0; row < VEER_STATS_ROWS_PER_SVC && !ret; row++) {
		index = id * VEER_STATS_ROWS_PER_SVC + row;
		ret = bpf_map_update_elem(maps->stats, &index, zero, BPF_ANY);
	}
	free(zero);
	if (ret || maps->http_stats < 0)
		return ret;
	/* The HTTP counters of an id that served another service before. */
	zero = calloc(ncpus, sizeof(struct veer_http_stats));
	if (!zero)
		return -1;
	ret = bpf_map_update_elem(maps->http_stats, &id, zero, BPF_ANY);
	free(zero);
	return ret;
}

/* One planned service write. */
struct plan_item {
	const struct veer_service_model *desired;
	const struct veer_service_model *old; /* NULL when created */
	const struct svc_entry *old_entry; /* its live map entry */
	/* A pruned service's entry at desired->key, replaced by this one. */
	const struct svc_entry *displaced;
	struct veer_service value; /* what will be published */
	struct veer_svc_meta meta;
	struct veer_svc_meta old_meta;
	bool reuse_slots[VEER_MAX_SUBSETS]; /* backends already in place */
	bool rules_changed;
	bool moved; /* published at another key than old_entry's */
	bool write;
	bool published;
};

/*
 * Carries the placement history (veer_history_update) into the new value:
 * subsets compare by index, as the data plane chooses them.
 */
/* Rebuilds the backend index from everything the maps hold now. */
static void resync_backend_index(const struct veer_maps *maps)
{
	struct veer_model all;
	char err[VEER_ERR_LEN];

	veer_model_init(&all);
	if (!veer_maps_read_model(maps, &all, err, sizeof(err)))
		veer_maps_sync_backend_index(maps, &all, NULL, true, err,
					     sizeof(err));
	veer_model_free(&all);
}

static void plan_history(struct plan_item *item)
{
	const struct veer_service_model *svc = item->desired;
	__u8 changed = 0;
	unsigned int i;

	if (!item->old_entry) {
		veer_history_update(NULL, &item->value, 0);
		return;
	}
	for (i = 0; i < VEER_MAX_SUBSETS; i++) {
		bool in_old = i < item->old->subset_count;
		bool in_new = i < svc->subset_count;

		if (in_old != in_new ||
		    (in_new &&
		     !backends_equal(&item->old->subsets[i], &svc->subsets[i])))
			changed |= (__u8)(1U << i);
	}
	veer_history_update(&item->old_entry->value, &item->value, changed);
}

/* Gives every subset a backend range: the live one when unchanged. */
static int plan_backends(struct plan_item *item, struct slot_map *slots,
			 char *err, size_t errlen)
{
	const struct veer_service_model *svc = item->desired;
	unsigned int i;
	uint32_t base;
	int j;

	for (i = 0; i < svc->subset_count; i++) {
		const struct veer_subset_model *subset = &svc->subsets[i];

		j = item->old_entry
			    ? veer_service_find_subset(item->old, subset->name)
			    : -1;
		item->value.subsets[i].backend_count =
			(__u16)subset->backend_count;
		if (j >= 0 && backends_equal(&item->old->subsets[j], subset)) {
			item->value.subsets[i].backend_base =
				item->old_entry->value.subsets[j].backend_base;
			item->reuse_slots[i] = true;
			continue;
		}
		base = slots_alloc(slots, subset->backend_count);
		if (base == UINT32_MAX) {
			snprintf(err, errlen,
				 "backend table full (%u slots); re-attach "
				 "with a larger --max-backends",
				 slots->size);
			return -1;
		}
		item->value.subsets[i].backend_base = base;
	}
	return 0;
}

static void fill_meta(struct veer_svc_meta *meta,
		      const struct veer_service_model *svc)
{
	unsigned int i;

	memset(meta, 0, sizeof(*meta));
	snprintf(meta->name, sizeof(meta->name), "%s", svc->name);
	snprintf(meta->host, sizeof(meta->host), "%s", svc->host);
	for (i = 0; i < svc->subset_count; i++)
		snprintf(meta->subset_names[i], sizeof(meta->subset_names[i]),
			 "%s", svc->subsets[i].name);
	meta->key = svc->key;
}

static void delete_rules(const struct veer_maps *maps, uint32_t id,
			 uint32_t version, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		struct veer_rule_key key = {id, version, i};

		bpf_map_delete_elem(maps->rules, &key);
	}
}

/* Backends into their (unreferenced) slots, rules under their new version. */
static int write_payload(const struct veer_maps *maps,
			 const struct plan_item *item, char *err, size_t errlen)
{
	const struct veer_service_model *svc = item->desired;
	struct veer_rule canonical;
	uint32_t b, index;
	unsigned int i;

	for (i = 0; i < svc->subset_count; i++) {
		if (item->reuse_slots[i])
			continue;
		for (b = 0; b < svc->subsets[i].backend_count; b++) {
			index = item->value.subsets[i].backend_base + b;
			if (bpf_map_update_elem(maps->backends, &index,
						&svc->subsets[i].backends[b],
						BPF_ANY)) {
				snprintf(err, errlen,
					 "cannot write backend slot %u: %s",
					 index, strerror(errno));
				return -1;
			}
		}
	}
	for (i = 0; item->rules_changed && i < svc->rule_count; i++) {
		struct veer_rule_key key = {item->value.id,
					    item->value.rules_version, i};

		rule_canonical(&svc->rules[i], &canonical);
		if (bpf_map_update_elem(maps->rules, &key, &canonical,
					BPF_ANY)) {
			snprintf(err, errlen,
				 "cannot write rule %u of %s: %s%s", i,
				 svc->name, strerror(errno),
				 errno == E2BIG ? " (rule table full)" : "");
			return -1;
		}
	}
	return 0;
}

/*
 * Test hook for the crash-safety tests: VEER_TEST_SIGNAL_AT=N[:SIG] raises
 * SIG (a number; default SIGKILL) right after the Nth write of an apply or
 * delete to the service table or its metadata, so a test can stop veer at
 * any instant of its write phase without racing it.
 */
static long hook_at = -1, hook_writes;
static int hook_sig = SIGKILL;

static void hook_init(void)
{
	const char *env = getenv("VEER_TEST_SIGNAL_AT");
	char *end;

	hook_at = -1;
	hook_writes = 0;
	if (!env || !*env)
		return;
	hook_at = strtol(env, &end, 10);
	hook_sig = *end == ':' ? (int)strtol(end + 1, NULL, 10) : SIGKILL;
}

static void hook_write(void)
{
	if (hook_at > 0 && ++hook_writes == hook_at)
		raise(hook_sig);
}

/*
 * The write phase runs with SIGINT, SIGTERM and SIGHUP held: one that
 * arrives meanwhile takes effect once the maps are consistent again.
 * (SIGKILL cannot be held: every instant of the write phase leaves maps
 * that readers read right and the next apply repairs.)
 */
static void hold_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
}

static void release_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * Deletes the entry at key if it is still service id's: never one that
 * another service, or a publish of this apply, has put there since.
 * Returns true (and its value) when it deleted one.
 */
static bool delete_by_identity(const struct veer_maps *maps,
			       const struct veer_svc_key *key, uint32_t id,
			       struct veer_service *value)
{
	struct veer_service v;

	if (bpf_map_lookup_elem(maps->services, key, &v) || v.id != id ||
	    bpf_map_delete_elem(maps->services, key))
		return false;
	hook_write();
	if (value)
		*value = v;
	return true;
}

static bool same_key(const struct veer_svc_key *a, const struct veer_svc_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* Undo every publish done so far, newest first. Best effort by nature. */
static void rollback(const struct veer_maps *maps, struct plan_item *items,
		     size_t n)
{
	size_t i;

	for (i = n; i-- > 0;) {
		struct plan_item *item = &items[i];
		const struct veer_svc_key *key = &item->desired->key;
		uint32_t id = item->value.id;

		if (item->published) {
			/* In publish order: names, then the old key, then
			 * the new key goes (or gets back what it held). */
			if (item->old_entry) {
				bpf_map_update_elem(maps->svc_meta, &id,
						    &item->old_meta, BPF_ANY);
				bpf_map_update_elem(
					maps->services, &item->old_entry->key,
					&item->old_entry->value, BPF_ANY);
			}
			if (item->displaced)
				bpf_map_update_elem(maps->services, key,
						    &item->displaced->value,
						    BPF_ANY);
			else if (!item->old_entry || item->moved)
				delete_by_identity(maps, key, id, NULL);
		}
		if (item->rules_changed)
			delete_rules(maps, id, item->value.rules_version,
				     item->desired->rule_count);
	}
}

/*
 * Makes one service live: names and key first (the data plane never reads
 * them), then the one update that makes the whole new service visible,
 * then, when it moved, the entry at its old key goes at once. Whatever
 * instant this stops at, the metadata names the key of the live entry or
 * of an entry about to be replaced, and readers tell them apart.
 */
static int publish(const struct veer_maps *maps, struct plan_item *item,
		   char *err, size_t errlen)
{
	uint32_t id = item->value.id;

	if (!item->old_entry && zero_stats(maps, id)) {
		snprintf(err, errlen, "cannot reset counters of %s: %s",
			 item->desired->name, strerror(errno));
		return -1;
	}
	if (bpf_map_update_elem(maps->svc_meta, &id, &item->meta, BPF_ANY))
		goto fail;
	hook_write();
	if (bpf_map_update_elem(maps->services, &item->desired->key,
				&item->value, BPF_ANY))
		goto fail;
	item->published = true;
	hook_write();
	if (item->moved)
		delete_by_identity(maps, &item->old_entry->key, id, NULL);
	return 0;
fail:
	snprintf(err, errlen, "cannot publish service %s: %s",
		 item->desired->name, strerror(errno));
	/* A failed meta write of an existing service must not linger. */
	if (item->old_entry)
		bpf_map_update_elem(maps->svc_meta, &id, &item->old_meta,
				    BPF_ANY);
	return -1;
}

/*
 * Removes a service that goes (veer delete, or its host no longer defines
 * it): its live entry, by identity, then the stale entries of its id,
 * its rules, its metadata row last. `snapshot` (when the entry has been
 * replaced by another service in this apply) gives its rule set.
 */
static void remove_service(const struct veer_maps *maps,
			   const struct veer_model *current,
			   const struct veer_service_model *svc,
			   const struct svc_entry *snapshot)
{
	struct veer_svc_meta none = {};
	struct veer_service value;
	size_t i;

	if (delete_by_identity(maps, &svc->key, svc->id, &value))
		delete_rules(maps, value.id, value.rules_version,
			     value.rule_count);
	else if (snapshot && snapshot->value.id == svc->id)
		delete_rules(maps, svc->id, snapshot->value.rules_version,
			     snapshot->value.rule_count);
	for (i = 0; current && i < current->stale_count; i++)
		if (current->stale[i].id == svc->id &&
		    delete_by_identity(maps, &current->stale[i].key, svc->id,
				       &value))
			delete_rules(maps, value.id, value.rules_version,
				     value.rule_count);
	if (bpf_map_update_elem(maps->svc_meta, &svc->id, &none, BPF_ANY) == 0)
		hook_write();
}

/*
 * Rules no live entry names: left by an apply or delete that stopped
 * before retiring them. Deleted so that they cannot fill the table.
 */
struct live_rules {
	uint32_t id, version, count;
};

static int cmp_live_rules(const void *a, const void *b)
{
	const struct live_rules *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->version < y->version ? -1 : x->version > y->version;
}

static bool rule_is_live(const struct live_rules *live, size_t n,
			 const struct veer_rule_key *key)
{
	struct live_rules probe = {key->svc_id, key->version, 0};
	const struct live_rules *hit;

	hit = bsearch(&probe, live, n, sizeof(*live), cmp_live_rules);
	return hit && key->index < hit->count;
}

static int sweep_rules(const struct veer_maps *maps, char *err, size_t errlen)
{
	struct svc_entry *entries = NULL;
	struct live_rules *live = NULL;
	struct veer_rule_key key, next, *grown, *doomed = NULL;
	size_t n = 0, i, count = 0, cap = 0;
	void *prev = NULL;
	int ret = 0;

	while (bpf_map_get_next_key(maps->rules, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!live) {
			if (read_service_entries(maps, &entries, &n, err,
						 errlen)) {
				ret = -1;
				break;
			}
			live = calloc(n ? n : 1, sizeof(*live));
			if (!live) {
				ret = -1;
				break;
			}
			for (i = 0; i < n; i++) {
				live[i].id = entries[i].value.id;
				live[i].version =
					entries[i].value.rules_version;
				live[i].count = entries[i].value.rule_count;
			}
			/* Equal (id, version) pairs (ghosts) count alike. */
			qsort(live, n, sizeof(*live), cmp_live_rules);
		}
		if (rule_is_live(live, n, &key))
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(doomed, cap * sizeof(*grown));
			if (!grown)
				break;
			doomed = grown;
		}
		doomed[count++] = key;
	}
	/* Deleted after the walk: a delete would restart it. */
	for (i = 0; i < count; i++)
		bpf_map_delete_elem(maps->rules, &doomed[i]);
	free(doomed);
	free(live);
	free(entries);
	return ret;
}

/*
 * Sorted views of a model, so that planning 10,000 services against
 * 10,000 is n log n and not n^2 name comparisons.
 */
typedef int (*svc_cmp_fn)(const void *, const void *);

static int cmp_by_name(const void *a, const void *b)
{
	return strcmp((*(const struct veer_service_model *const *)a)->name,
		      (*(const struct veer_service_model *const *)b)->name);
}

static int cmp_by_host(const void *a, const void *b)
{
	return strcmp((*(const struct veer_service_model *const *)a)->host,
		      (*(const struct veer_service_model *const *)b)->host);
}

static int cmp_by_key(const void *a, const void *b)
{
	return memcmp(&(*(const struct veer_service_model *const *)a)->key,
		      &(*(const struct veer_service_model *const *)b)->key,
		      sizeof(struct veer_svc_key));
}

struct svc_index {
	const struct veer_service_model **v;
	size_t n;
	svc_cmp_fn cmp;
};

static int index_build(struct svc_index *idx, const struct veer_model *model,
		       svc_cmp_fn cmp)
{
	size_t i, n = model ? model->count : 0;

	idx->v = calloc(n ? n : 1, sizeof(*idx->v));
	idx->n = n;
	idx->cmp = cmp;
	if (!idx->v)
		return -1;
	for (i = 0; i < n; i++)
		idx->v[i] = &model->services[i];
	qsort(idx->v, n, sizeof(*idx->v), cmp);
	return 0;
}

/* The service comparing equal to `probe` under the index's order. */
static const struct veer_service_model *
index_find(const struct svc_index *idx, const struct veer_service_model *probe)
{
	const struct veer_service_model *const *hit;

	hit = bsearch(&probe, idx->v, idx->n, sizeof(*idx->v), idx->cmp);
	return hit ? *hit : NULL;
}

struct plan_index {
	struct svc_index current_by_name;
	struct svc_index current_by_key;
	struct svc_index desired_by_name;
	struct svc_index desired_by_host;
	struct svc_index desired_by_key;
};

static void plan_index_free(struct plan_index *pi)
{
	free(pi->current_by_name.v);
	free(pi->current_by_key.v);
	free(pi->desired_by_name.v);
	free(pi->desired_by_host.v);
	free(pi->desired_by_key.v);
}

static int plan_index_build(struct plan_index *pi,
			    const struct veer_model *current,
			    const struct veer_model *desired)
{
	memset(pi, 0, sizeof(*pi));
	return index_build(&pi->current_by_name, current, cmp_by_name) ||
	       index_build(&pi->current_by_key, current, cmp_by_key) ||
	       index_build(&pi->desired_by_name, desired, cmp_by_name) ||
	       index_build(&pi->desired_by_host, desired, cmp_by_host) ||
	       index_build(&pi->desired_by_key, desired, cmp_by_key);
}

/*
 * Entries of a host the desired model defines, under a name it does not
 * have: the host's files no longer produce them (a port or a VIP went).
 */
static bool is_pruned(const struct plan_index *pi, bool prune_hosts,
		      const struct veer_service_model *svc)
{
	return prune_hosts && svc->host[0] &&
	       !index_find(&pi->desired_by_name, svc) &&
	       index_find(&pi->desired_by_host, svc);
}

/*
 * Whether the plan needs the whole table: a new service needs a free id
 * and a changed backend list free slots. Weight changes need neither.
 */
static bool needs_allocation(const struct plan_index *pi,
			     const struct veer_model *desired)
{
	const struct veer_service_model *old;
	unsigned int s;
	size_t i;
	int j;

	for (i = 0; i < desired->count; i++) {
		old = index_find(&pi->current_by_name, &desired->services[i]);
		if (!old)
			return true;
		for (s = 0; s < desired->services[i].subset_count; s++) {
			j = veer_service_find_subset(
				old, desired->services[i].subsets[s].name);
			if (j < 0 ||
			    !backends_equal(&old->subsets[j],
					    &desired->services[i].subsets[s]))
				return true;
		}
	}
	return false;
}

/* The live entries of the services `desired` changes, a lookup each. */
static int read_own_entries(const struct veer_maps *maps,
			    const struct plan_index *pi,
			    const struct veer_model *desired,
			    struct svc_entry **out, size_t *count, char *err,
			    size_t errlen)
{
	const struct veer_service_model *old;
	struct svc_entry *entries;
	size_t i, n = 0;

	entries = calloc(desired->count ? desired->count : 1, sizeof(*entries));
	if (!entries) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < desired->count; i++) {
		old = index_find(&pi->current_by_name, &desired->services[i]);
		entries[n].key = old->key;
		if (bpf_map_lookup_elem(maps->services, &old->key,
					&entries[n].value) ||
		    entries[n].value.id != old->id) {
			/* Changed under us: plan against the whole table. */
			free(entries);
			return read_service_entries(maps, out, count, err,
						    errlen);
		}
		n++;
	}
	*out = entries;
	*count = n;
	return 0;
}

/* The current service with this id (the live entry of the id), or NULL. */
static const struct veer_service_model *
current_by_id(const struct plan_index *pi, uint32_t id)
{
	size_t i;

	for (i = 0; i < pi->current_by_key.n; i++)
		if (pi->current_by_key.v[i]->id == id)
			return pi->current_by_key.v[i];
	return NULL;
}

/* A line of the summary; printed once the whole apply has succeeded. */
static void say(FILE *lines, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(FILE *lines, const char *fmt, ...)
{
	va_list ap;

	if (!lines)
		return;
	va_start(ap, fmt);
	vfprintf(lines, fmt, ap);
	va_end(ap);
}

/* ---- the backend index (veer_be_vips) ------------------------------- */

struct be_pair {
	struct veer_backend endpoint;
	struct veer_svc_key service;
};

static int cmp_be_pair(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct be_pair));
}

static int cmp_be_endpoint(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct veer_backend));
}

static int add_be_pairs(const struct veer_model *m, struct be_pair **v,
			size_t *n, size_t *cap)
{
	size_t i;
	unsigned int s, b;

	for (i = 0; m && i < m->count; i++) {
		const struct veer_service_model *svc = &m->services[i];

		for (s = 0; s < svc->subset_count; s++) {
			for (b = 0; b < svc->subsets[s].backend_count; b++) {
				struct be_pair *p;

				if (*n == *cap) {
					size_t grown = *cap ? 2 * *cap : 256;
					struct be_pair *nv = realloc(
						*v, grown * sizeof(**v));

					if (!nv)
						return -1;
					*v = nv;
					*cap = grown;
				}
				p = &(*v)[(*n)++];
				memset(p, 0, sizeof(*p));
				p->endpoint = svc->subsets[s].backends[b];
				p->endpoint.reserved = 0;
				p->service = svc->key;
			}
		}
	}
	return 0;
}

int veer_maps_sync_backend_index(const struct veer_maps *maps,
				 const struct veer_model *a,
				 const struct veer_model *b, bool prune,
				 char *err, size_t errlen)
{
	struct be_pair *pairs = NULL;
	struct veer_backend key, next, *gone = NULL;
	size_t n = 0, cap = 0, i, j, unique = 0, ngone = 0, gone_cap = 0;
	struct veer_backend_vips row;
	int ret = -1;

	if (add_be_pairs(a, &pairs, &n, &cap) ||
	    add_be_pairs(b, &pairs, &n, &cap)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	qsort(pairs, n, sizeof(*pairs), cmp_be_pair);
	for (i = 0; i < n; i++) /* the same endpoint and service once */
		if (!unique || cmp_be_pair(&pairs[unique - 1], &pairs[i]))
			pairs[unique++] = pairs[i];
	n = unique;
	for (i = 0; i < n; i = j) {
		memset(&row, 0, sizeof(row));
		for (j = i; j < n && !cmp_be_endpoint(&pairs[i].endpoint,
						      &pairs[j].endpoint);
		     j++)
			if (j - i < VEER_BACKEND_VIPS_MAX)
				row.vips[j - i] = pairs[j].service;
		/* More services than a row holds: known, not recoverable. */
		row.count = j - i <= VEER_BACKEND_VIPS_MAX ? (__u32)(j - i) : 0;
		if (bpf_map_update_elem(maps->be_vips, &pairs[i].endpoint, &row,
					BPF_ANY)) {
			snprintf(err, errlen,
				 "cannot write the backend index: %s%s",
				 strerror(errno),
				 errno == E2BIG ? " (full: re-attach with a "
						  "larger --max-backends)"
						: "");
			goto out;
		}
	}
	/* Rows for endpoints no service has any more: collected, then gone. */
	for (i = 0; prune && !bpf_map_get_next_key(maps->be_vips,
						   i ? &key : NULL, &next);
	     i = 1) {
		key = next;
		if (bsearch(&key, pairs, n, sizeof(*pairs), cmp_be_endpoint))
			continue;
		if (ngone == gone_cap) {
			size_t grown = gone_cap ? 2 * gone_cap : 64;
			struct veer_backend *ng =
				realloc(gone, grown * sizeof(*gone));

			if (!ng) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			gone = ng;
			gone_cap = grown;
		}
		gone[ngone++] = key;
	}
	for (i = 0; i < ngone; i++)
		bpf_map_delete_elem(maps->be_vips, &gone[i]);
	ret = 0;
out:
	free(pairs);
	free(gone);
	return ret;
}

int veer_maps_apply(const struct veer_maps *maps,
		    const struct veer_model *current,
		    const struct veer_model *desired, bool prune_hosts,
		    bool dry_run, FILE *out, bool *changed, char *err,
		    size_t errlen)
{
	struct svc_entry *entries = NULL;
	struct plan_item *items = NULL;
	struct slot_map slots = {};
	struct plan_index pi;
	const struct svc_entry **entry_by_id = NULL;
	uint8_t *ids_used = NULL;
	char desc[1024], *text = NULL;
	size_t n_entries = 0, text_len = 0, i, j;
	uint32_t next_id = 1, max_services, max_backends;
	FILE *lines = NULL;
	sigset_t held;
	bool holding = false, structural = false;
	int ret = -1;

	*changed = false;
	if (veer_model_validate(desired, err, errlen))
		return -1;
	/* Without maps (dry run before attach) plan against the defaults. */
	max_services = maps ? maps->max_services : VEER_DEFAULT_MAX_SERVICES;
	max_backends = maps ? maps->max_backends : VEER_DEFAULT_MAX_BACKENDS;

	if (plan_index_build(&pi, current, desired)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* The summary waits until everything worked: a refused apply says
	 * only why. */
	if (out) {
		lines = open_memstream(&text, &text_len);
		if (!lines) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (maps && (needs_allocation(&pi, desired)
			     ? read_service_entries(maps, &entries, &n_entries,
						    err, errlen)
			     : read_own_entries(maps, &pi, desired, &entries,
						&n_entries, err, errlen)))
		goto out;
	items = calloc(desired->count ? desired->count : 1, sizeof(*items));
	entry_by_id = calloc(max_services + 1, sizeof(*entry_by_id));
	slots.size = max_backends;
	slots.used = calloc(max_backends ? max_backends : 1, 1);
	ids_used = calloc(max_services + 1, 1);
	if (!items || !slots.used || !ids_used || !entry_by_id) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < n_entries; i++) {
		const struct veer_service *v = &entries[i].value;
		const struct veer_service_model *cur;

		/* Stale entries keep their slots and id until they go. */
		for (j = 0; j < v->subset_count && j < VEER_MAX_SUBSETS; j++)
			slots_mark(&slots, v->subsets[j].backend_base,
				   v->subsets[j].backend_count);
		if (v->id > max_services)
			continue;
		ids_used[v->id] = 1;
		/* An id's entry is the one at the key the reader chose. */
		cur = index_find(
			&pi.current_by_key,
			&(struct veer_service_model){.key = entries[i].key});
		if (!entry_by_id[v->id] || (cur && cur->id == v->id))
			entry_by_id[v->id] = &entries[i];
	}

	/* Plan: nothing is written until every service has a place. */
	for (i = 0; i < desired->count; i++) {
		struct plan_item *item = &items[i];
		const struct veer_service_model *svc = &desired->services[i];
		const struct veer_service_model *other;
		bool meta_differs = false;

		item->desired = svc;
		item->old = index_find(&pi.current_by_name, svc);
		if (item->old && maps && item->old->id <= max_services)
			item->old_entry = entry_by_id[item->old->id];
		if (item->old && maps &&
		    (!item->old_entry ||
		     !same_key(&item->old_entry->key, &item->old->key))) {
			snprintf(err, errlen,
				 "service %s changed since it was read",
				 svc->name);
			goto out;
		}
		/* Another service, staying, already owns this VIP:port? */
		other = index_find(&pi.current_by_key, svc);
		if (other && strcmp(other->name, svc->name)) {
			if (!is_pruned(&pi, prune_hosts, other)) {
				veer_endpoint_format(
					&svc->key.vip, svc->key.family,
					svc->key.port, desc, sizeof(desc));
				snprintf(err, errlen,
					 "service %s: VIP %s is already used "
					 "by service %s",
					 svc->name, desc, other->name);
				goto out;
			}
			/* It goes; this one takes its VIP:port over. */
			if (maps && other->id <= max_services &&
			    entry_by_id[other->id] &&
			    same_key(&entry_by_id[other->id]->key, &svc->key))
				item->displaced = entry_by_id[other->id];
		}
		fill_meta(&item->meta, svc);
		if (item->old_entry) {
			if (bpf_map_lookup_elem(maps->svc_meta, &item->old->id,
						&item->old_meta)) {
				snprintf(err, errlen,
					 "cannot read metadata of %s: %s",
					 svc->name, strerror(errno));
				goto out;
			}
			/* Names or key not those of the live entry: an
			 * apply stopped between the two writes. */
			meta_differs = memcmp(&item->meta, &item->old_meta,
					      sizeof(item->meta)) != 0;
		}
		veer_service_describe_change(item->old, svc, desc,
					     sizeof(desc));
		item->write = strcmp(desc, "unchanged") != 0;
		if (!item->write && meta_differs) {
			snprintf(desc, sizeof(desc),
				 "names repaired (an interrupted apply left "
				 "them behind)");
			item->write = true;
		}
		say(lines, "service %s: %s%s\n", svc->name, desc,
		    dry_run && item->write ? " (dry run)" : "");
		if (!item->write)
			continue;
		*changed = true;

		if (item->old_entry) {
			const struct veer_service *old =
				&item->old_entry->value;

			item->value.id = old->id;
			item->value.generation = old->generation + 1;
			item->value.rules_version = old->rules_version;
			item->moved =
				!same_key(&item->old_entry->key, &svc->key);
		} else {
			while (next_id <= max_services && ids_used[next_id])
				next_id++;
			if (next_id > max_services) {
				snprintf(err, errlen,
					 "service table full (%u services); "
					 "re-attach with a larger "
					 "--max-services",
					 max_services);
				goto out;
			}
			ids_used[next_id] = 1;
			item->value.id = next_id;
			item->value.generation = 1;
		}
		item->value.flags = svc->flags;
		item->value.subset_count = (__u8)svc->subset_count;
		item->value.rule_count = (__u8)svc->rule_count;
		for (j = 0; j < svc->subset_count; j++)
			item->value.subsets[j].weight =
				(__u8)svc->subsets[j].weight;
		/* A new rule set goes under a new version, never over the live
		 * one. */
		item->rules_changed =
			!item->old_entry || !rules_equal(item->old, svc);
		if (item->rules_changed)
			item->value.rules_version++;
		if (plan_backends(item, &slots, err, errlen))
			goto out;
		plan_history(item);
		for (j = 0; j < svc->subset_count; j++)
			structural |= !item->reuse_slots[j];
		structural |= !item->old_entry || item->moved;
	}
	for (j = 0; current && j < current->count; j++) {
		if (!is_pruned(&pi, prune_hosts, &current->services[j]))
			continue;
		*changed = true;
		structural = true;
		say(lines,
		    "service %s: removed (host %s no longer defines it)%s\n",
		    current->services[j].name, current->services[j].host,
		    dry_run ? " (dry run)" : "");
	}
	for (j = 0; prune_hosts && current && j < current->stale_count; j++) {
		const struct veer_stale_entry *st = &current->stale[j];
		const struct veer_service_model *live =
			current_by_id(&pi, st->id);

		*changed = true;
		veer_endpoint_format(&st->key.vip, st->key.family, st->key.port,
				     desc, sizeof(desc));
		say(lines,
		    "service %s: stale entry at %s removed (an interrupted "
		    "apply left it behind)%s\n",
		    live ? live->name : "?", desc, dry_run ? " (dry run)" : "");
	}
	if (dry_run || !*changed) {
		ret = 0;
		goto out;
	}

	hold_signals(&held);
	holding = true;
	hook_init();
	for (i = 0; i < desired->count; i++) {
		if (items[i].write &&
		    write_payload(maps, &items[i], err, errlen)) {
			rollback(maps, items, i + 1);
			goto out;
		}
	}
	/*
	 * Backends new to the index are in it before any service sends them
	 * a connection: the reverse path looks at transient conntrack only
	 * for segments from known backends.
	 */
	if (structural && veer_maps_sync_backend_index(maps, current, desired,
						       false, err, errlen)) {
		rollback(maps, items, desired->count);
		goto out;
	}
	/* Each service whole, its old key retired at once. */
	for (i = 0; i < desired->count; i++) {
		if (items[i].write && publish(maps, &items[i], err, errlen)) {
			rollback(maps, items, desired->count);
			goto out;
		}
	}
	/* Stale entries, unless a service was just published there. */
	for (j = 0; prune_hosts && current && j < current->stale_count; j++) {
		const struct veer_stale_entry *st = &current->stale[j];

		if (!index_find(&pi.desired_by_key,
				&(struct veer_service_model){.key = st->key}))
			delete_by_identity(maps, &st->key, st->id, NULL);
	}
	for (j = 0; current && j < current->count; j++) {
		const struct veer_service_model *gone = &current->services[j];

		if (is_pruned(&pi, prune_hosts, gone))
			remove_service(maps, current, gone,
				       gone->id <= max_services
					       ? entry_by_id[gone->id]
					       : NULL);
	}
	/* The rule sets the published services replaced. */
	for (i = 0; i < desired->count; i++)
		if (items[i].write && items[i].old_entry &&
		    items[i].rules_changed)
			delete_rules(maps, items[i].old_entry->value.id,
				     items[i].old_entry->value.rules_version,
				     items[i].old_entry->value.rule_count);
	/* And any an interrupted apply left behind. */
	if (prune_hosts)
		sweep_rules(maps, err, errlen);
	/* The index becomes exactly what the services use (best effort: a
	 * row left over only costs a few lookups for that endpoint). */
	if (structural)
		resync_backend_index(maps);
	ret = 0;
out:
	if (lines && fclose(lines) == 0 && ret == 0 && text_len) {
		fwrite(text, 1, text_len, out);
		fflush(out);
	}
	if (holding)
		release_signals(&held);
	free(text);
	plan_index_free(&pi);
	free(entry_by_id);
	free(entries);
	free(items);
	free(slots.used);
	free(ids_used);
	return ret;
}

int veer_maps_delete_service(const struct veer_maps *maps,
			     const struct veer_model *current, const char *name,
			     char *err, size_t errlen)
{
	const struct veer_service_model *svc = veer_model_find(current, name);
	struct veer_service value;
	sigset_t held;

	if (!svc) {
		snprintf(err, errlen, "no service named %s", name);
		return -1;
	}
	/* By identity: the entry at its key must still be this service. */
	if (bpf_map_lookup_elem(maps->services, &svc->key, &value)) {
		snprintf(err, errlen, "cannot delete service %s: %s", name,
			 strerror(errno));
		return -1;
	}
	if (value.id != svc->id) {
		snprintf(err, errlen,
			 "cannot delete service %s: it changed since it was "
			 "read",
			 name);
		return -1;
	}
	hold_signals(&held);
	hook_init();
	remove_service(maps, current, svc, NULL);
	resync_backend_index(maps);
	release_signals(&held);
	return 0;
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The write phase of the store: what plan.c decided, put into the maps in
 * an order the data plane and every reader can be stopped at; what goes
 * retired by identity; the backend index kept in step.
 */
#include "store_write.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"

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

/* Rebuilds the backend index from everything the maps hold now. */
void store_resync_backend_index(const struct veer_maps *maps)
{
	struct veer_model all;
	char err[VEER_ERR_LEN];

	veer_model_init(&all);
	if (!veer_maps_read_model(maps, &all, err, sizeof(err)))
		veer_maps_sync_backend_index(maps, &all, NULL, true, err,
					     sizeof(err));
	veer_model_free(&all);
}

void store_delete_rules(const struct veer_maps *maps, uint32_t id,
			uint32_t version, unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		struct veer_rule_key key = {id, version, i};

		bpf_map_delete_elem(maps->rules, &key);
	}
}

/* Backends into their (unreferenced) slots, rules under their new version. */
int store_write_payload(const struct veer_maps *maps,
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

		veer_rule_canonical(&svc->rules[i], &canonical);
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

void store_hook_init(void)
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
void store_hold_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, old);
}

void store_release_signals(const sigset_t *old)
{
	sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * Deletes the entry at key if it is still service id's: never one that
 * another service, or a publish of this apply, has put there since.
 * Returns true (and its value) when it deleted one.
 */
bool store_delete_by_identity(const struct veer_maps *maps,
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

/* Undo every publish done so far, newest first. Best effort by nature. */
void store_rollback(const struct veer_maps *maps, struct plan_item *items,
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
				store_delete_by_identity(maps, key, id, NULL);
		}
		if (item->rules_changed)
			store_delete_rules(maps, id, item->value.rules_version,
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
int store_publish(const struct veer_maps *maps, struct plan_item *item,
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
		store_delete_by_identity(maps, &item->old_entry->key, id, NULL);
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
void store_remove_service(const struct veer_maps *maps,
			  const struct veer_model *current,
			  const struct veer_service_model *svc,
			  const struct veer_svc_entry *snapshot)
{
	struct veer_svc_meta none = {};
	struct veer_service value;
	size_t i;

	if (store_delete_by_identity(maps, &svc->key, svc->id, &value))
		store_delete_rules(maps, value.id, value.rules_version,
				   value.rule_count);
	else if (snapshot && snapshot->value.id == svc->id)
		store_delete_rules(maps, svc->id, snapshot->value.rules_version,
				   snapshot->value.rule_count);
	for (i = 0; current && i < current->stale_count; i++)
		if (current->stale[i].id == svc->id &&
		    store_delete_by_identity(maps, &current->stale[i].key,
					     svc->id, &value))
			store_delete_rules(maps, value.id, value.rules_version,
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

int store_sweep_rules(const struct veer_maps *maps, char *err, size_t errlen)
{
	struct veer_svc_entry *entries = NULL;
	struct live_rules *live = NULL;
	struct veer_rule_key key, next, *grown, *doomed = NULL;
	size_t n = 0, i, count = 0, cap = 0;
	void *prev = NULL;
	int ret = 0;

	while (bpf_map_get_next_key(maps->rules, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (!live) {
			if (veer_maps_read_entries(maps, &entries, &n, err,
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
	store_hold_signals(&held);
	store_hook_init();
	store_remove_service(maps, current, svc, NULL);
	store_resync_backend_index(maps);
	store_release_signals(&held);
	return 0;
}

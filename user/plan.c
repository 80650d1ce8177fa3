// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The planner: what an apply changes, decided against what the maps hold
 * before anything is written (ids, backend slots, rule-set versions,
 * placement history), then handed to the write phase (store_write.c),
 * whose order keeps the maps right for readers and the data plane at
 * every instant. veer_maps_apply, at the end, tells the whole story.
 */
#include "plan.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "diag.h"
#include "maps.h"
#include "output.h"
#include "store_write.h"
#include "veer_select.h"

/* ---- comparing services ---------------------------------------------- */

bool veer_subset_backends_equal(const struct veer_subset_model *a,
				const struct veer_subset_model *b)
{
	return a->backend_count == b->backend_count &&
	       (a->backend_count == 0 ||
		memcmp(a->backends, b->backends,
		       a->backend_count * sizeof(*a->backends)) == 0);
}

void veer_rule_canonical(const struct veer_rule *in, struct veer_rule *out)
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

bool veer_service_rules_equal(const struct veer_service_model *a,
			      const struct veer_service_model *b)
{
	struct veer_rule ca, cb;
	unsigned int i;

	if (a->rule_count != b->rule_count)
		return false;
	for (i = 0; i < a->rule_count; i++) {
		veer_rule_canonical(&a->rules[i], &ca);
		veer_rule_canonical(&b->rules[i], &cb);
		if (memcmp(&ca, &cb, sizeof(ca)))
			return false;
	}
	return true;
}

bool veer_service_same(const struct veer_service_model *old,
		       const struct veer_service_model *new)
{
	unsigned int i;

	if (!old || memcmp(&old->key, &new->key, sizeof(old->key)) ||
	    old->flags != new->flags || strcmp(old->host, new->host) ||
	    old->subset_count != new->subset_count)
		return false;
	/* In order: each subset owns the hash buckets of its place. */
	for (i = 0; i < new->subset_count; i++)
		if (strcmp(old->subsets[i].name, new->subsets[i].name) ||
		    old->subsets[i].weight != new->subsets[i].weight ||
		    !veer_subset_backends_equal(&old->subsets[i],
						&new->subsets[i]))
			return false;
	return veer_service_rules_equal(old, new);
}

/* ---- where things go: ids, slots, history, names ---------------------- */

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

/*
 * Carries the placement history (veer_history_update) into the new value:
 * subsets compare by index, as the data plane chooses them.
 */
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
		     !veer_subset_backends_equal(&item->old->subsets[i],
						 &svc->subsets[i])))
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
		if (j >= 0 && veer_subset_backends_equal(&item->old->subsets[j],
							 subset)) {
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
static bool is_pruned(const struct plan_index *pi, enum veer_apply_scope scope,
		      const struct veer_service_model *svc)
{
	if (scope == VEER_APPLY_ALL)
		return !index_find(&pi->desired_by_name, svc);
	return scope == VEER_APPLY_HOSTS && svc->host[0] &&
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
			if (j < 0 || !veer_subset_backends_equal(
					     &old->subsets[j],
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
			    struct veer_svc_entry **out, size_t *count,
			    char *err, size_t errlen)
{
	const struct veer_service_model *old;
	struct veer_svc_entry *entries;
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
			return veer_maps_read_entries(maps, out, count, err,
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

static bool same_key(const struct veer_svc_key *a, const struct veer_svc_key *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* ---- the plan ------------------------------------------------------- */

struct veer_plan {
	const struct veer_maps *maps; /* NULL: a dry run, nothing attached */
	const struct veer_model *current;
	const struct veer_model *desired;
	enum veer_apply_scope scope;
	FILE *out; /* where the summary goes once the plan succeeded */
	bool dry_run;
	bool *changed; /* the caller's: anything differs */
	/* Ids, slots or keys change: the backend index follows them. */
	bool structural;
	uint32_t max_services;
	uint32_t max_backends;
	struct plan_index index;
	/* The live entries the plan is made against. */
	struct veer_svc_entry *entries;
	size_t n_entries;
	/* The entry of each id, [max_services + 1]. */
	const struct veer_svc_entry **entry_by_id;
	uint8_t *ids_used; /* [max_services + 1] */
	uint32_t next_id; /* where the search for a free id goes on */
	struct slot_map slots;
	struct plan_item *items; /* one per desired service, in its order */
	/* The summary, printed once the whole apply has succeeded. */
	FILE *lines;
	char *text;
	size_t text_len;
	sigset_t held;
	bool holding;
};

/* Indexes and the summary's buffer. */
static int plan_start(struct veer_plan *p, FILE *out, char *err, size_t errlen)
{
	/* Without maps (dry run before attach) plan against the defaults. */
	p->max_services =
		p->maps ? p->maps->max_services : VEER_DEFAULT_MAX_SERVICES;
	p->max_backends =
		p->maps ? p->maps->max_backends : VEER_DEFAULT_MAX_BACKENDS;
	p->next_id = 1;
	if (plan_index_build(&p->index, p->current, p->desired)) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* The summary waits until everything worked: a refused apply says
	 * only why. */
	if (out) {
		p->lines = open_memstream(&p->text, &p->text_len);
		if (!p->lines) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/*
 * The live entries: the whole table when ids or slots are to be handed
 * out, else only those of the services the plan changes.
 */
static int read_live_entries(struct veer_plan *p, char *err, size_t errlen)
{
	if (!p->maps)
		return 0;
	if (needs_allocation(&p->index, p->desired))
		return veer_maps_read_entries(p->maps, &p->entries,
					      &p->n_entries, err, errlen);
	return read_own_entries(p->maps, &p->index, p->desired, &p->entries,
				&p->n_entries, err, errlen);
}

/* Which ids and backend slots the live entries hold, and each id's entry. */
static int account_live_entries(struct veer_plan *p, char *err, size_t errlen)
{
	const struct veer_service_model *cur;
	size_t i, j;

	p->items = calloc(p->desired->count ? p->desired->count : 1,
			  sizeof(*p->items));
	p->entry_by_id = calloc(p->max_services + 1, sizeof(*p->entry_by_id));
	p->slots.size = p->max_backends;
	p->slots.used = calloc(p->max_backends ? p->max_backends : 1, 1);
	p->ids_used = calloc(p->max_services + 1, 1);
	if (!p->items || !p->slots.used || !p->ids_used || !p->entry_by_id) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < p->n_entries; i++) {
		const struct veer_service *v = &p->entries[i].value;

		/* Stale entries keep their slots and id until they go. */
		for (j = 0; j < v->subset_count && j < VEER_MAX_SUBSETS; j++)
			slots_mark(&p->slots, v->subsets[j].backend_base,
				   v->subsets[j].backend_count);
		if (v->id > p->max_services)
			continue;
		p->ids_used[v->id] = 1;
		/* An id's entry is the one at the key the reader chose. */
		cur = index_find(
			&p->index.current_by_key,
			&(struct veer_service_model){.key = p->entries[i].key});
		if (!p->entry_by_id[v->id] || (cur && cur->id == v->id))
			p->entry_by_id[v->id] = &p->entries[i];
	}
	return 0;
}

/* The live entry of an id, if the plan read one. */
static const struct veer_svc_entry *entry_of(const struct veer_plan *p,
					     uint32_t id)
{
	return p->maps && id <= p->max_services ? p->entry_by_id[id] : NULL;
}

/* The service as it is now, and its live entry, still where it was read. */
static int find_current(struct veer_plan *p, struct plan_item *item, char *err,
			size_t errlen)
{
	item->old = index_find(&p->index.current_by_name, item->desired);
	if (!item->old || !p->maps)
		return 0;
	item->old_entry = entry_of(p, item->old->id);
	if (!item->old_entry ||
	    !same_key(&item->old_entry->key, &item->old->key)) {
		snprintf(err, errlen, "service %s changed since it was read",
			 item->desired->name);
		return -1;
	}
	return 0;
}

/*
 * Another service that stays may not hold this VIP:port; one that goes
 * (pruned) hands its entry over to this one.
 */
static int claim_key(struct veer_plan *p, struct plan_item *item, char *err,
		     size_t errlen)
{
	const struct veer_service_model *svc = item->desired, *other;
	const struct veer_svc_entry *entry;
	char vip[VEER_ENDPOINT_STRLEN];

	other = index_find(&p->index.current_by_key, svc);
	if (!other || !strcmp(other->name, svc->name))
		return 0;
	if (!is_pruned(&p->index, p->scope, other)) {
		veer_endpoint_format(&svc->key.vip, svc->key.family,
				     svc->key.port, vip, sizeof(vip));
		snprintf(err, errlen,
			 "service %s: VIP %s is already used by service %s",
			 svc->name, vip, other->name);
		return -1;
	}
	entry = entry_of(p, other->id);
	if (entry && same_key(&entry->key, &svc->key))
		item->displaced = entry;
	return 0;
}

/*
 * The names the service will have, and whether the live ones differ from
 * them: names or key not those of the live entry mean an apply stopped
 * between its two writes.
 */
static int plan_names(const struct veer_plan *p, struct plan_item *item,
		      bool *names_differ, char *err, size_t errlen)
{
	*names_differ = false;
	fill_meta(&item->meta, item->desired);
	if (!item->old_entry)
		return 0;
	if (bpf_map_lookup_elem(p->maps->svc_meta, &item->old->id,
				&item->old_meta)) {
		snprintf(err, errlen, "cannot read metadata of %s: %s",
			 item->desired->name, strerror(errno));
		return -1;
	}
	*names_differ =
		memcmp(&item->meta, &item->old_meta, sizeof(item->meta)) != 0;
	return 0;
}

/* A line of the summary; printed once the whole apply has succeeded. */
static void say(const struct veer_plan *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(const struct veer_plan *p, const char *fmt, ...)
{
	va_list ap;

	if (!p->lines)
		return;
	va_start(ap, fmt);
	vfprintf(p->lines, fmt, ap);
	va_end(ap);
}

static void summarize(const struct veer_plan *p, const struct plan_item *item,
		      bool only_names)
{
	char desc[1024];

	if (!p->lines)
		return;
	/* The whole configuration: only what changes is worth a line. */
	if (p->scope == VEER_APPLY_ALL && !item->write && !only_names)
		return;
	if (only_names)
		snprintf(desc, sizeof(desc),
			 "names repaired (an interrupted apply left them "
			 "behind)");
	else
		veer_service_describe_change(item->old, item->desired, desc,
					     sizeof(desc));
	say(p, "service %s: %s%s\n", item->desired->name, desc,
	    p->dry_run && item->write ? " (dry run)" : "");
}

/* The id and generation: the live entry's, else the first free id. */
static int assign_identity(struct veer_plan *p, struct plan_item *item,
			   char *err, size_t errlen)
{
	if (item->old_entry) {
		const struct veer_service *old = &item->old_entry->value;

		item->value.id = old->id;
		item->value.generation = old->generation + 1;
		item->value.rules_version = old->rules_version;
		item->moved =
			!same_key(&item->old_entry->key, &item->desired->key);
		return 0;
	}
	while (p->next_id <= p->max_services && p->ids_used[p->next_id])
		p->next_id++;
	if (p->next_id > p->max_services) {
		snprintf(err, errlen,
			 "service table full (%u services); re-attach with a "
			 "larger --max-services",
			 p->max_services);
		return -1;
	}
	p->ids_used[p->next_id] = 1;
	item->value.id = p->next_id;
	item->value.generation = 1;
	return 0;
}

/* Flags, weights, and the version the rule set goes under. */
static void plan_value(struct plan_item *item)
{
	const struct veer_service_model *svc = item->desired;
	unsigned int i;

	item->value.flags = svc->flags;
	item->value.subset_count = (__u8)svc->subset_count;
	item->value.rule_count = (__u8)svc->rule_count;
	for (i = 0; i < svc->subset_count; i++)
		item->value.subsets[i].weight = (__u8)svc->subsets[i].weight;
	/* A new rule set goes under a new version, never over the live one. */
	item->rules_changed =
		!item->old_entry || !veer_service_rules_equal(item->old, svc);
	if (item->rules_changed)
		item->value.rules_version++;
}

/* Plans one desired service: whether it is written, and as what. */
static int plan_service(struct veer_plan *p, struct plan_item *item,
			const struct veer_service_model *svc, char *err,
			size_t errlen)
{
	bool differs, names_differ;
	unsigned int i;

	item->desired = svc;
	if (find_current(p, item, err, errlen) ||
	    claim_key(p, item, err, errlen) ||
	    plan_names(p, item, &names_differ, err, errlen))
		return -1;
	differs = !veer_service_same(item->old, svc);
	item->write = differs || names_differ;
	summarize(p, item, !differs && names_differ);
	if (!item->write)
		return 0;
	*p->changed = true;
	if (assign_identity(p, item, err, errlen))
		return -1;
	plan_value(item);
	if (plan_backends(item, &p->slots, err, errlen))
		return -1;
	plan_history(item);
	for (i = 0; i < svc->subset_count; i++)
		p->structural |= !item->reuse_slots[i];
	p->structural |= !item->old_entry || item->moved;
	return 0;
}

/* Services their host no longer defines go. */
static void plan_pruned_services(struct veer_plan *p)
{
	const struct veer_service_model *svc;
	size_t i;

	for (i = 0; p->current && i < p->current->count; i++) {
		svc = &p->current->services[i];
		if (!is_pruned(&p->index, p->scope, svc))
			continue;
		*p->changed = true;
		p->structural = true;
		if (svc->host[0] && index_find(&p->index.desired_by_host, svc))
			say(p,
			    "service %s: removed (host %s no longer defines "
			    "it)%s\n",
			    svc->name, svc->host,
			    p->dry_run ? " (dry run)" : "");
		else
			say(p, "service %s: removed%s\n", svc->name,
			    p->dry_run ? " (dry run)" : "");
	}
}

/* Entries an interrupted apply left at a service's old key go. */
static void plan_stale_entries(struct veer_plan *p)
{
	const struct veer_service_model *live;
	const struct veer_stale_entry *st;
	char key[VEER_ENDPOINT_STRLEN];
	size_t i;

	for (i = 0; p->scope != VEER_APPLY_NAMED && p->current &&
		    i < p->current->stale_count;
	     i++) {
		st = &p->current->stale[i];
		live = current_by_id(&p->index, st->id);
		*p->changed = true;
		veer_endpoint_format(&st->key.vip, st->key.family, st->key.port,
				     key, sizeof(key));
		say(p,
		    "service %s: stale entry at %s removed (an interrupted "
		    "apply left it behind)%s\n",
		    live ? live->name : "?", key,
		    p->dry_run ? " (dry run)" : "");
	}
}

/* ---- the write phase, in the order it must happen -------------------- */

static int write_payloads(struct veer_plan *p, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < p->desired->count; i++) {
		if (p->items[i].write &&
		    store_write_payload(p->maps, &p->items[i], err, errlen)) {
			store_rollback(p->maps, p->items, i + 1);
			return -1;
		}
	}
	return 0;
}

/*
 * Backends new to the index are in it before any service sends them a
 * connection: the reverse path looks at transient conntrack only for
 * segments from known backends.
 */
static int index_new_backends(struct veer_plan *p, char *err, size_t errlen)
{
	if (!p->structural ||
	    !veer_maps_sync_backend_index(p->maps, p->current, p->desired,
					  false, err, errlen))
		return 0;
	store_rollback(p->maps, p->items, p->desired->count);
	return -1;
}

/* Each service whole, its old key retired at once. */
static int publish_services(struct veer_plan *p, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < p->desired->count; i++) {
		if (p->items[i].write &&
		    store_publish(p->maps, &p->items[i], err, errlen)) {
			store_rollback(p->maps, p->items, p->desired->count);
			return -1;
		}
	}
	return 0;
}

/* Stale entries, unless a service was just published there. */
static void retire_stale_entries(struct veer_plan *p)
{
	const struct veer_stale_entry *st;
	size_t i;

	for (i = 0; p->scope != VEER_APPLY_NAMED && p->current &&
		    i < p->current->stale_count;
	     i++) {
		st = &p->current->stale[i];
		if (!index_find(&p->index.desired_by_key,
				&(struct veer_service_model){.key = st->key}))
			store_delete_by_identity(p->maps, &st->key, st->id,
						 NULL);
	}
}

static void retire_pruned_services(struct veer_plan *p)
{
	const struct veer_service_model *gone;
	size_t i;

	for (i = 0; p->current && i < p->current->count; i++) {
		gone = &p->current->services[i];
		if (is_pruned(&p->index, p->scope, gone))
			store_remove_service(p->maps, p->current, gone,
					     entry_of(p, gone->id));
	}
}

/* The rule sets the published services replaced. */
static void retire_replaced_rule_sets(struct veer_plan *p)
{
	const struct veer_service *old;
	size_t i;

	for (i = 0; i < p->desired->count; i++) {
		if (!p->items[i].write || !p->items[i].old_entry ||
		    !p->items[i].rules_changed)
			continue;
		old = &p->items[i].old_entry->value;
		store_delete_rules(p->maps, old->id, old->rules_version,
				   old->rule_count);
	}
}

/*
 * Payloads first (nothing refers to them yet), then each service in one
 * update, then what the new services replaced. A failure before the
 * retirements undoes every publish; from there on every step is best
 * effort, and what it misses the next apply repairs.
 */
static int write_plan(struct veer_plan *p, char *err, size_t errlen)
{
	store_hold_signals(&p->held);
	p->holding = true;
	store_hook_init();
	if (write_payloads(p, err, errlen) ||
	    index_new_backends(p, err, errlen) ||
	    publish_services(p, err, errlen))
		return -1;
	retire_stale_entries(p);
	retire_pruned_services(p);
	retire_replaced_rule_sets(p);
	/* And the rule sets an interrupted apply left behind. */
	if (p->scope != VEER_APPLY_NAMED)
		store_sweep_rules(p->maps, err, errlen);
	/* The index becomes exactly what the services use (best effort: a
	 * row left over only costs a few lookups for that endpoint). */
	if (p->structural)
		store_resync_backend_index(p->maps);
	return 0;
}

/* Prints the summary of a successful apply, lets signals in, frees. */
static void plan_finish(struct veer_plan *p, FILE *out, int ret)
{
	if (p->lines && fclose(p->lines) == 0 && ret == 0 && p->text_len) {
		fwrite(p->text, 1, p->text_len, out);
		fflush(out);
	}
	if (p->holding)
		store_release_signals(&p->held);
	free(p->text);
	plan_index_free(&p->index);
	free(p->entry_by_id);
	free(p->entries);
	free(p->items);
	free(p->slots.used);
	free(p->ids_used);
}

int veer_plan_make(struct veer_plan **out_plan, const struct veer_maps *maps,
		   const struct veer_model *current,
		   const struct veer_model *desired,
		   enum veer_apply_scope scope, bool dry_run, FILE *out,
		   bool *changed, char *err, size_t errlen)
{
	struct veer_plan *plan = calloc(1, sizeof(*plan));
	size_t i;

	*changed = false;
	*out_plan = NULL;
	if (!plan)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	*plan = (struct veer_plan){
		.maps = maps,
		.current = current,
		.desired = desired,
		.scope = scope,
		.dry_run = dry_run,
		.changed = changed,
		.out = out,
	};
	/* Plan: nothing is written until every service has a place. */
	if (veer_model_validate(desired, err, errlen) ||
	    plan_start(plan, out, err, errlen) ||
	    read_live_entries(plan, err, errlen) ||
	    account_live_entries(plan, err, errlen))
		goto fail;
	for (i = 0; i < desired->count; i++)
		if (plan_service(plan, &plan->items[i], &desired->services[i],
				 err, errlen))
			goto fail;
	plan_pruned_services(plan);
	plan_stale_entries(plan);
	*out_plan = plan;
	return 0;
fail:
	veer_plan_finish(plan, -1);
	return -1;
}

int veer_plan_write(struct veer_plan *plan, char *err, size_t errlen)
{
	if (plan->dry_run || !*plan->changed)
		return 0;
	return write_plan(plan, err, errlen);
}

void veer_plan_finish(struct veer_plan *plan, int ret)
{
	if (!plan)
		return;
	plan_finish(plan, plan->out, ret);
	free(plan);
}

int veer_maps_apply(const struct veer_maps *maps,
		    const struct veer_model *current,
		    const struct veer_model *desired,
		    enum veer_apply_scope scope, bool dry_run, FILE *out,
		    bool *changed, char *err, size_t errlen)
{
	struct veer_plan *plan;
	int ret;

	if (veer_plan_make(&plan, maps, current, desired, scope, dry_run, out,
			   changed, err, errlen))
		return -1;
	ret = veer_plan_write(plan, err, errlen);
	veer_plan_finish(plan, ret);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A set of objects keyed by (kind, namespace, name) (objset.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "objset.h"

void veer_objset_init(struct veer_objset *set)
{
	memset(set, 0, sizeof(*set));
}

void veer_objset_free(struct veer_objset *set)
{
	size_t i;

	for (i = 0; i < set->count; i++)
		free(set->objects[i].text);
	free(set->objects);
	free(set->slots);
	veer_objset_init(set);
}

/* ---- Keys and the index ---- */

unsigned long long veer_object_key_hash(const struct veer_object_key *key)
{
	const char *parts[3] = {key->kind, key->ns, key->name};
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t p;
	const char *c;

	for (p = 0; p < 3; p++) {
		for (c = parts[p]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* separator */
	}
	return h;
}

static bool key_equal(const struct veer_object_key *a,
		      const struct veer_object_key *b)
{
	return !strcmp(a->kind, b->kind) && !strcmp(a->ns, b->ns) &&
	       !strcmp(a->name, b->name);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t *slot_of(const struct veer_objset *set,
		       const struct veer_object_key *key)
{
	size_t mask = set->slot_count - 1, i = veer_object_key_hash(key) & mask;

	for (;; i = (i + 1) & mask) {
		size_t *slot = &set->slots[i];

		if (!*slot || key_equal(&set->objects[*slot - 1].key, key))
			return slot;
	}
}

/*
 * Rebuilds the index for room for `want` objects, dropping removed objects
 * first when `drop_removed` (positions change: the index must follow).
 * 0, or -1 when out of memory (then nothing changed).
 */
static int reindex(struct veer_objset *set, size_t want, bool drop_removed)
{
	size_t n = 16, i, o = 0, *slots;

	while (n < 2 * want)
		n *= 2;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	for (i = 0; drop_removed && i < set->count; i++) {
		if (set->objects[i].removed)
			free(set->objects[i].text);
		else
			set->objects[o++] = set->objects[i];
	}
	if (drop_removed)
		set->count = o;
	free(set->slots);
	set->slots = slots;
	set->slot_count = n;
	for (i = 0; i < set->count; i++)
		if (!set->objects[i].removed)
			*slot_of(set, &set->objects[i].key) = i + 1;
	return 0;
}

struct veer_object *veer_objset_find(const struct veer_objset *set,
				     const struct veer_object_key *key)
{
	size_t *slot;

	if (!set->slot_count)
		return NULL;
	slot = slot_of(set, key);
	if (!*slot || set->objects[*slot - 1].removed)
		return NULL;
	return &set->objects[*slot - 1];
}

int veer_objset_put(struct veer_objset *set, const struct veer_object_key *key,
		    const char *text, size_t len, bool *replaced, bool *changed)
{
	struct veer_object *obj = NULL;
	char *copy;
	size_t *slot;

	if (set->slot_count) {
		slot = slot_of(set, key);
		if (*slot)
			obj = &set->objects[*slot - 1];
	}
	if (replaced)
		*replaced = obj && !obj->removed;
	if (changed)
		*changed = !obj || obj->removed || obj->len != len ||
			   memcmp(obj->text, text, len);
	copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (obj) {
		/* A removed object comes back in its old place. */
		if (obj->removed)
			set->live++;
		free(obj->text);
		obj->text = copy;
		obj->len = len;
		obj->removed = false;
		return 0;
	}
	if (set->count == set->capacity) {
		size_t cap = set->capacity ? 2 * set->capacity : 16;
		struct veer_object *grown =
			realloc(set->objects, cap * sizeof(*grown));

		if (!grown)
			goto oom;
		set->objects = grown;
		set->capacity = cap;
	}
	if (2 * (set->count + 1) > set->slot_count &&
	    reindex(set, set->count + 1, false))
		goto oom;
	obj = &set->objects[set->count];
	memset(obj, 0, sizeof(*obj));
	obj->key = *key;
	obj->text = copy;
	obj->len = len;
	*slot_of(set, key) = ++set->count;
	set->live++;
	return 0;
oom:
	free(copy);
	return -1;
}

bool veer_objset_remove(struct veer_objset *set,
			const struct veer_object_key *key)
{
	struct veer_object *obj = veer_objset_find(set, key);

	if (!obj)
		return false;
	obj->removed = true;
	set->live--;
	/* Compaction moves objects: pointers from find do not survive. */
	if (set->count - set->live > set->live + 64)
		reindex(set, set->live, true);
	return true;
}

const char *veer_object_id(const struct veer_object_key *key, char *buf,
			   size_t len)
{
	if (key->ns[0])
		snprintf(buf, len, "%s %s/%s", key->kind, key->ns, key->name);
	else
		snprintf(buf, len, "%s %s", key->kind, key->name);
	return buf;
}

static int cmp_key(const void *pa, const void *pb)
{
	const struct veer_object_key *a = pa, *b = pb;
	int c = strcmp(a->kind, b->kind);

	if (!c)
		c = strcmp(a->ns, b->ns);
	return c ? c : strcmp(a->name, b->name);
}

int veer_objset_sort(struct veer_objset *set)
{
	size_t i, *slots;

	if (reindex(set, set->live, true))
		return -1;
	/* The key is the first member: objects sort by it directly. */
	qsort(set->objects, set->count, sizeof(*set->objects), cmp_key);
	slots = set->slots;
	memset(slots, 0, set->slot_count * sizeof(*slots));
	for (i = 0; i < set->count; i++)
		*slot_of(set, &set->objects[i].key) = i + 1;
	return 0;
}

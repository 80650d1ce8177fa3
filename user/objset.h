/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Objects keyed like Kubernetes by (kind, namespace, name), in memory, with
 * an O(1) index: what the object store holds, and the change set of one
 * command (an object with no text is a deletion).
 */
#ifndef VEER_OBJSET_H
#define VEER_OBJSET_H

#include <stdbool.h>
#include <stddef.h>

#define VEER_KIND_MAX 32
#define VEER_OBJ_NS_MAX 64 /* DNS label (63) + NUL */
#define VEER_OBJ_NAME_MAX 254 /* DNS subdomain (253) + NUL */

struct veer_object_key {
	char kind[VEER_KIND_MAX]; /* canonical: "VirtualService", ... */
	char ns[VEER_OBJ_NS_MAX]; /* "" for objects without namespace */
	char name[VEER_OBJ_NAME_MAX];
};

struct veer_object {
	struct veer_object_key key;
	/* The object as one YAML document, '\n'-terminated and NUL after.
	 * len 0 (text "") in a change set: delete the object. */
	char *text;
	size_t len;
	bool removed; /* taken out of the set; gone at the next compaction */
};

struct veer_objset {
	struct veer_object *objects; /* in insertion order */
	size_t count, capacity;
	size_t live; /* count minus removed */
	/* Open addressing over objects[] (index + 1; 0 is empty). */
	size_t *slots;
	size_t slot_count; /* a power of two, at least 2 * count */
};

void veer_objset_init(struct veer_objset *set);
void veer_objset_free(struct veer_objset *set);

/*
 * The object of key, or NULL. O(1). Pointers into the set do not survive
 * a put or a remove.
 */
struct veer_object *veer_objset_find(const struct veer_objset *set,
				     const struct veer_object_key *key);

/*
 * Inserts or replaces (keeping its place) the object of key with a copy of
 * text (len 0: a deletion, in change sets). *replaced (may be NULL) says
 * whether it was there, *changed whether its text differs. 0, or -1 when
 * out of memory (then nothing changed).
 */
int veer_objset_put(struct veer_objset *set, const struct veer_object_key *key,
		    const char *text, size_t len, bool *replaced,
		    bool *changed);

/* Takes the object of key out of the set; false when there was none. */
bool veer_objset_remove(struct veer_objset *set,
			const struct veer_object_key *key);

/* Sorts the live objects by kind, namespace, name (and compacts). 0/-1. */
int veer_objset_sort(struct veer_objset *set);

/* FNV-1a over kind, namespace and name: the index's and the shards'. */
unsigned long long veer_object_key_hash(const struct veer_object_key *key);

/* "VirtualService default/reviews" (or "Kind name" without namespace). */
#define VEER_OBJECT_ID_MAX (VEER_KIND_MAX + VEER_OBJ_NS_MAX + VEER_OBJ_NAME_MAX)
const char *veer_object_id(const struct veer_object_key *key, char *buf,
			   size_t len);

#endif /* VEER_OBJSET_H */

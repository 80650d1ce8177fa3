/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The object store: every object applied (Istio and Kubernetes objects,
 * veer native services), keyed like Kubernetes by (kind, namespace, name),
 * kept on disk so that the configuration survives a reboot. The maps always
 * hold what all stored objects together say.
 *
 * One file per pin root, a YAML stream that `veer apply -f` itself accepts:
 *
 *   # veer object store, format 1; change it with veer apply and delete
 *   # generation 7, 3 objects, 1234 bytes, crc32 0x89abcdef
 *   --- # DestinationRule default reviews 210
 *   <210 bytes: the object as YAML>
 *   --- # ...
 *
 * The second line covers everything after it (length and zlib crc32), so a
 * truncated or damaged file is refused, never half-read. Each record line
 * gives the object's key ("-" for no namespace) and the length of its
 * text. Writes go to STORE.pending (temporary file, fsync, rename) before
 * the maps change, and become STORE by one rename after the maps did; a
 * writer that finds STORE.pending finishes that apply first (see
 * veer_objstore_pending). The generation before is kept as STORE.prev.
 */
#ifndef VEER_OBJSTORE_H
#define VEER_OBJSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VEER_OBJSTORE_FORMAT 1
/* Where stores live: DIR/pins/<pin root>/objects.yaml. */
#define VEER_STATE_DIR_DEFAULT "/var/lib/veer"
#define VEER_STATE_DIR_ENV "VEER_STATE_DIR"
#define VEER_OBJSTORE_FILE "objects.yaml"
/* A whole store is read into memory: bounded, far above any real one. */
#define VEER_OBJSTORE_MAX_BYTES (1ULL << 32)
#define VEER_OBJECT_MAX_BYTES (16 * 1024 * 1024)

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
	char *text; /* the object as one YAML document, '\n'-terminated */
	size_t len;
	bool removed; /* deleted; gone at the next compaction */
};

struct veer_objstore {
	uint64_t generation; /* of the file read; writes store one more */
	struct veer_object *objects; /* in first-applied order */
	size_t count, capacity;
	size_t live; /* count minus removed */
	/* Open addressing over objects[] (index + 1; 0 is empty). */
	size_t *slots;
	size_t slot_count; /* a power of two, at least 2 * count */
};

void veer_objstore_init(struct veer_objstore *st);
void veer_objstore_free(struct veer_objstore *st);

/*
 * The store file of a pin root: $VEER_STORE when set, else
 * $VEER_STATE_DIR (default /var/lib/veer) + "/pins" + pin_root + "/"
 * VEER_OBJSTORE_FILE. 0, or -1 with err (too long, relative).
 */
int veer_objstore_path(const char *pin_root, char *buf, size_t len, char *err,
		       size_t errlen);

/*
 * Reads the store at path into *st (empty before). Returns 0; 1 when there
 * is no store file (then *st is empty, generation 0); -1 with a one-line
 * error naming the file and how to recover when it is unreadable,
 * truncated, damaged, of another format version or not owned by root.
 */
int veer_objstore_load(struct veer_objstore *st, const char *path, char *err,
		       size_t errlen);

/* The live object of key, or NULL. O(1). */
struct veer_object *veer_objstore_find(const struct veer_objstore *st,
				       const struct veer_object_key *key);

/*
 * Inserts or replaces (keeping its place) the object of key with a copy of
 * text. *replaced (may be NULL) says whether it was there, *changed
 * whether the text differs. 0, or -1 when out of memory.
 */
int veer_objstore_put(struct veer_objstore *st,
		      const struct veer_object_key *key, const char *text,
		      size_t len, bool *replaced, bool *changed);

/* Removes the object of key; false when there was none. */
bool veer_objstore_remove(struct veer_objstore *st,
			  const struct veer_object_key *key);

/* Deep copy (for a candidate that may be thrown away). 0 or -1 (memory). */
int veer_objstore_copy(struct veer_objstore *dst,
		       const struct veer_objstore *src);

/*
 * Writes *st as generation st->generation + 1 to path.pending: temporary
 * file (mode 0600), fsync, rename, fsync of the directory (made, mode
 * 0700, when missing). Nothing else changes: a failure leaves path and an
 * older pending file as they were. 0 or -1 with err.
 */
int veer_objstore_write_pending(const struct veer_objstore *st,
				const char *path, char *err, size_t errlen);

/*
 * Makes path.pending the store: the current one becomes path.prev, then
 * path.pending is renamed over path and the directory fsynced. 0 or -1.
 */
int veer_objstore_commit(const char *path, char *err, size_t errlen);

/* Removes path.pending (a write whose maps change failed). 0 or -1. */
int veer_objstore_discard_pending(const char *path, char *err, size_t errlen);

/*
 * Reads path.pending, if any, into *st: 1 when there is none, 0 when it
 * was read, -1 with err. A pending file is an apply that was interrupted
 * between its store write and its commit: its configuration was fully
 * validated, so the caller finishes it (maps, then commit).
 */
int veer_objstore_load_pending(struct veer_objstore *st, const char *path,
			       char *err, size_t errlen);

/* "VirtualService default/reviews" (or "Kind name" without namespace). */
#define VEER_OBJECT_ID_MAX (VEER_KIND_MAX + VEER_OBJ_NS_MAX + VEER_OBJ_NAME_MAX)
const char *veer_object_id(const struct veer_object_key *key, char *buf,
			   size_t len);

/* Test hook: VEER_TEST_STORE_KILL=pending|maps|commit. */
void veer_objstore_test_point(const char *point);

#endif /* VEER_OBJSTORE_H */

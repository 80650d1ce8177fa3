/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The object store: every object applied (Istio and Kubernetes objects,
 * veer native services), keyed by (kind, namespace, name), on disk so that
 * the configuration survives a reboot. The maps always hold what all stored
 * objects together say.
 *
 * One directory per pin root. Objects are spread by a hash of their key
 * over VEER_OBJSTORE_SHARDS files, so that one object is read or written
 * with 1/256th of the store (a few hundred objects at 100,000), whatever
 * the store holds, and a small object costs no file (and disk block) of
 * its own:
 *
 *   DIR/objects/00.yaml ... ff.yaml   the objects, sorted by key
 *   DIR/index/00.yaml ... ff.yaml     the index (see below), likewise
 *   DIR/transaction                   only while a change is made
 *
 * Every file is a YAML stream `veer apply -f` itself accepts, checked by
 * its first lines:
 *
 *   # veer object store, format 1; change it with veer apply and delete
 *   # 2 objects, 430 bytes, crc32 0x89abcdef
 *   --- # DestinationRule default reviews 210
 *   <210 bytes: the object as YAML>
 *   --- # Service default reviews 190
 *   <190 bytes>
 *
 * The summary covers everything after it, so a truncated or damaged file
 * is refused, never half-read. A change (one command's puts and deletes)
 * is first written whole to DIR/transaction (temporary file, fsync,
 * rename); the caller then changes the maps, and veer_objstore_finish
 * copies the transaction into the shards and removes it. A writer
 * that finds a transaction left by a process that died finishes it (its
 * configuration was validated whole before it was written).
 */
#ifndef VEER_OBJSTORE_H
#define VEER_OBJSTORE_H

#include <limits.h>
#include <stddef.h>
#include "objset.h"

#define VEER_OBJSTORE_FORMAT 1
/* Stores live in DIR/pins/<pin root>/; $VEER_STATE_DIR overrides DIR. */
#define VEER_STATE_DIR_DEFAULT "/var/lib/veer"
#define VEER_STATE_DIR_ENV "VEER_STATE_DIR"
/* Objects, shards and a transaction are read into memory: bounded. */
#define VEER_OBJECT_MAX_BYTES (16 * 1024 * 1024)
#define VEER_SHARD_MAX_BYTES (1ULL << 32)
#define VEER_TRANSACTION_MAX_BYTES (1ULL << 32)
#define VEER_OBJSTORE_SHARDS 256

struct veer_objstore {
	char dir[PATH_MAX - 64]; /* room for the suffixes of its files */
};

/*
 * The store of a pin root (nothing is read or made yet). Refuses a store
 * directory an unprivileged user could change: the store decides where
 * traffic goes. 0 or -1 with err.
 */
int veer_objstore_open(struct veer_objstore *st, const char *pin_root,
		       char *err, size_t errlen);

/* Whether the store has ever been written (its objects/ exists). */
bool veer_objstore_exists(const struct veer_objstore *st);

/* A record line's token: no blanks or control characters, fits max. */
bool veer_objstore_token_ok(const char *s, size_t max);

/*
 * Every stored object into *out (initialised here), sorted by kind,
 * namespace and name. 0, or -1 with one line naming the damaged file and
 * how to recover (*out then empty).
 */
int veer_objstore_load(const struct veer_objstore *st, struct veer_objset *out,
		       char *err, size_t errlen);

/* One object into *out (appended): 0, 1 when not stored, -1 with err. */
int veer_objstore_read(const struct veer_objstore *st,
		       const struct veer_object_key *key,
		       struct veer_objset *out, char *err, size_t errlen);

/*
 * Writes `changes` (puts; len 0 objects are deletions) as the pending
 * transaction, durably. Nothing else changes. 0 or -1 with err.
 */
int veer_objstore_prepare(const struct veer_objstore *st,
			  const struct veer_objset *changes, char *err,
			  size_t errlen);

/*
 * The pending transaction into *changes (initialised here): 0, 1 when
 * there is none, -1 with err.
 */
int veer_objstore_pending(const struct veer_objstore *st,
			  struct veer_objset *changes, char *err,
			  size_t errlen);

/*
 * Copies the pending transaction into the shards, makes them
 * durable, then removes it. Idempotent: run again after a crash, it ends
 * in the same files. 0 or -1 with err (the transaction then stays).
 */
int veer_objstore_finish(const struct veer_objstore *st, char *err,
			 size_t errlen);

/* Drops the pending transaction (its maps change failed). 0 or -1. */
int veer_objstore_discard(const struct veer_objstore *st, char *err,
			  size_t errlen);

/*
 * The store's index (hostindex.h) is kept with the objects, in the same
 * transactions: records whose kind starts with this character, in
 * DIR/index/00.yaml ... ff.yaml (the objects' file format). They are
 * never objects: veer_objstore_load leaves them out.
 */
#define VEER_OBJSTORE_INDEX_MARK '~'

/* Every index record into *out (initialised here). 0 or -1 with err. */
int veer_objstore_load_index(const struct veer_objstore *st,
			     struct veer_objset *out, char *err, size_t errlen);

/* Whether a transaction is pending (or its file cannot be looked at). */
bool veer_objstore_pending_exists(const struct veer_objstore *st);

/* Which of the VEER_OBJSTORE_SHARDS files holds key. */
unsigned int veer_objstore_shard_of(const struct veer_object_key *key);

/* mkdir -p of path's directory, each new level mode 0700. 0, or -1. */
int veer_mkdir_parent(const char *path, char *err, size_t errlen);

/* Test hook: raises SIGKILL at `point` when $VEER_TEST_STORE_KILL names it. */
void veer_objstore_test_point(const char *point);

#endif /* VEER_OBJSTORE_H */

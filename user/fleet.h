/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fleet mode: one configuration for many nodes, kept in etcd (etcd.h).
 * `veer apply --etcd` and `veer weight --etcd` write it, each node's
 * watcher applies each new revision into its maps and reports what it
 * holds, and `veer fleet status` lists the nodes.
 *
 * The layout, for a cluster NAME (a DNS label):
 *
 *   /veer/NAME/objects/KIND/NS/NAME   one object: its YAML exactly as the
 *                                     node's object store keeps it
 *                                     (objstore.h; NS "-" for none, as
 *                                     in the store's record lines)
 *   /veer/NAME/commit                 {"by":"apply","objects":3,
 *                                     "time":1700000000}: rewritten by
 *                                     every transaction that changes
 *                                     objects, so that its mod_revision
 *                                     is the configuration's revision,
 *                                     and every writer's guard (below)
 *   /veer/NAME/nodes/NODE             the node's status (JSON, below),
 *                                     under the node's lease: gone when
 *                                     the node stops renewing it
 *   /veer/NAME/seen/NODE              the same status without a lease:
 *                                     the node's last word, so that a
 *                                     node whose lease expired is still
 *                                     listed, as silent
 *
 * A node's status: {"node":"n1","applied_revision":41,"last_error":"",
 * "last_error_time":0,"version":"v0.9-12-gabc","time":1700000000} (times
 * in seconds since the epoch; applied_revision is the revision of the
 * configuration the node's maps hold).
 *
 * Every write of objects is one txn: its objects, and the commit record,
 * if the commit record's mod_revision and each written key's are those
 * read (optimistic concurrency: a writer that lost the race reads again
 * and recomputes). The configuration's revision is the commit record's
 * mod_revision, so a node's lag is that minus its applied revision (the
 * nodes' own status writes move etcd's revision, not the configuration's).
 */
#ifndef VEER_FLEET_H
#define VEER_FLEET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "etcd.h"
#include "objset.h"

#define VEER_FLEET_ROOT "/veer/"
#define VEER_FLEET_CLUSTER_MAX 64 /* a DNS label (63) + NUL */
#define VEER_FLEET_NODE_MAX 64
/* Namespace of an object that has none, in its key. */
#define VEER_FLEET_NO_NAMESPACE "-"
/* Writers that lose a race read and recompute at most this often. */
#define VEER_FLEET_WRITE_TRIES 5
/* A node's lease: it renews well within this; gone that long, silent. */
#define VEER_FLEET_LEASE_TTL 10

#ifndef VEER_VERSION
#define VEER_VERSION "unknown"
#endif

struct veer_fleet {
	struct etcd_client etcd;
	char cluster[VEER_FLEET_CLUSTER_MAX];
	char prefix[VEER_FLEET_CLUSTER_MAX + 16]; /* "/veer/NAME/" */
};

/* urls as etcd_client_init; cluster a DNS label. 0, or -1 with err. */
int veer_fleet_open(struct veer_fleet *f, const char *urls, const char *cluster,
		    char *err, size_t errlen);
void veer_fleet_close(struct veer_fleet *f);

/* The cluster's configuration, as read at one revision. */
struct veer_fleet_config {
	struct veer_objset objects; /* in the loader's stored form */
	int64_t *mod_revisions; /* of objects.objects[i] */
	int64_t revision; /* the revision the read is of */
	int64_t commit_revision; /* the configuration's (0: never written) */
	/* Keys under objects/ that are not objects (written by hand: not
	 * KIND/NS/NAME, or an empty value): left out, as a watch leaves
	 * them out; the first one's name. */
	size_t skipped;
	char skipped_key[160];
	int64_t keys; /* under objects/, objects or not */
};

void veer_fleet_config_init(struct veer_fleet_config *cfg);
void veer_fleet_config_free(struct veer_fleet_config *cfg);

/*
 * Every object of the cluster at revision at (0: the latest) into *cfg
 * (initialised): the loader's `stored` input (load.h) as it was at that
 * revision, for a watcher's first read and its full resync after a
 * compaction. A key under objects/ that is not KIND/NS/NAME, or whose
 * value is empty, is left out and counted (cfg->skipped): one stray key
 * written by hand must not stop every node. 0, or -1 with err.
 */
int veer_fleet_read(struct veer_fleet *f, int64_t at,
		    struct veer_fleet_config *cfg, char *err, size_t errlen);

/*
 * Writes changes (puts; len 0 deletes) as one txn guarded by what cfg
 * read; by ("apply", "weight") goes into the commit record. 0 written
 * (*revision is the new configuration's), 1 someone wrote since cfg was
 * read (nothing written: read again), -1 with err.
 */
int veer_fleet_write(struct veer_fleet *f, const struct veer_fleet_config *cfg,
		     const struct veer_objset *changes, const char *by,
		     int64_t *revision, char *err, size_t errlen);

/*
 * One revision's changes under objects/: puts, and deletions with len 0
 * (a change set, as configure.h's; empty when only keys that are no
 * objects changed), and keys_added, the keys created minus the keys
 * deleted, objects or not (a watcher's count for veer_fleet_unchanged).
 * 0 goes on watching, else stops.
 */
typedef int (*veer_fleet_watch_fn)(void *ctx, int64_t revision,
				   const struct veer_objset *changes,
				   long keys_added);

/*
 * Watches the objects from revision from on (a read's revision + 1),
 * calling fn per revision that changed them. Returns as etcd_watch: 0
 * stopped (fn or *stop), 1 compacted (*compact_revision: read the whole
 * again with veer_fleet_read and watch on from its revision + 1), -1 with
 * err.
 */
int veer_fleet_watch(struct veer_fleet *f, int64_t from, veer_fleet_watch_fn fn,
		     void *ctx, volatile sig_atomic_t *stop,
		     int64_t *compact_revision, char *err, size_t errlen);

/*
 * Whether etcd's objects are still those a watcher holds, whose changes
 * go up to revision seen: as many keys under objects/ as it counts (keys:
 * a read's cfg->keys, plus each revision's keys_added since) and none
 * modified after seen (a deletion leaves no newer key, only one fewer).
 * If so (*unchanged), nothing under objects/ changed up to *revision, the
 * read's: the watcher may watch on from there. One small request. 0, or
 * -1 with err.
 */
int veer_fleet_unchanged(struct veer_fleet *f, int64_t keys, int64_t seen,
			 bool *unchanged, int64_t *revision, char *err,
			 size_t errlen);

/* A node's status (the JSON above). */
struct veer_fleet_status {
	char node[VEER_FLEET_NODE_MAX];
	int64_t applied_revision;
	char last_error[512];
	int64_t last_error_time;
	char version[64];
	int64_t time;
};

/* The status as JSON (malloc'd; NULL out of memory). */
char *veer_fleet_status_json(const struct veer_fleet_status *st);
/* JSON into *st. 0, or -1 with err. */
int veer_fleet_status_parse(const char *text, size_t len,
			    struct veer_fleet_status *st, char *err,
			    size_t errlen);

/* Whether name may be a node's (or cluster's) name: [A-Za-z0-9._-], 1-63. */
bool veer_fleet_name_ok(const char *name);

/*
 * Reports a node's status under its lease (*lease: 0 the first time; a
 * new one is granted when it is 0 or expired, and kept there), and its
 * "seen" record. Call it at least every VEER_FLEET_LEASE_TTL / 3 seconds.
 * 0, or -1 with err.
 */
int veer_fleet_report(struct veer_fleet *f, const struct veer_fleet_status *st,
		      int64_t *lease, char *err, size_t errlen);

/* A node as `veer fleet status` lists it. */
struct veer_fleet_node {
	struct veer_fleet_status status;
	bool live; /* its leased key is there */
	bool readable; /* its status parsed */
};

/*
 * Every node (live or seen), sorted by name, and the configuration's
 * revision. *nodes malloc'd. 0, or -1 with err.
 */
int veer_fleet_nodes(struct veer_fleet *f, struct veer_fleet_node **nodes,
		     size_t *count, int64_t *config_revision, char *err,
		     size_t errlen);

#endif /* VEER_FLEET_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The store's index of Istio hosts, so that `veer weight HOST` finds a
 * host's services (their VIP:port keys) and the VirtualService routes that
 * hold their weights without reading and resolving the whole store, and
 * without scanning the names in the maps.
 *
 * The index is records of the object store (objstore.h, kinds starting
 * with VEER_OBJSTORE_INDEX_MARK, kept in DIR/index/), made from the whole
 * configuration each time a change computes it (apply, delete, attach's
 * restore) and written in that change's transaction: whatever instant a
 * change stops at, the index is the one of the objects the store holds,
 * as the maps are.
 *
 *   ~host  HOST        one line per map entry of HOST:
 *                      NAME FAMILY VIP PORT VS_NS VS_NAME tcp|http INDEX
 *                      DEST_HOST ("-" for none)
 *   ~short NAME        the Kubernetes hosts NAME.NS.svc.cluster.local, a
 *                      line each (short names, -n)
 *   ~index complete    "format 1": the index covers every host; without
 *                      it (a store from before the index, a host it
 *                      cannot hold), readers scan as before
 *
 * Fields are percent-encoded where they hold blanks, '%' or controls.
 */
#ifndef VEER_HOSTINDEX_H
#define VEER_HOSTINDEX_H

#include <stdbool.h>
#include <stddef.h>

#include "model.h"
#include "objset.h"

#define VEER_INDEX_KIND_HOST "~host"
#define VEER_INDEX_KIND_SHORT "~short"
#define VEER_INDEX_KIND_STATE "~index"
#define VEER_INDEX_STATE_NAME "complete"
#define VEER_INDEX_FORMAT "format 1\n"
#define VEER_KUBE_DOMAIN ".svc.cluster.local"

/* Whether key is one of the index's records (not an object). */
bool veer_index_is_record(const struct veer_object_key *key);

/*
 * The index records of a whole configuration into *out (initialised
 * here); the state record only when every host could be indexed. 0, or
 * -1 when out of memory.
 */
int veer_index_records(const struct veer_model *model, struct veer_objset *out);

/*
 * What turns the index `have` into `want`: changed and new records put
 * into changes, records that go as deletions (len 0). 0 or -1 (memory).
 */
int veer_index_diff(const struct veer_objset *want,
		    const struct veer_objset *have,
		    struct veer_objset *changes);

/*
 * The entries of a ~host record appended to out, each with its name,
 * host, key and route (no subsets). 0, or -1 when the record is damaged
 * or memory ran out.
 */
int veer_index_parse_host(const char *host, const char *text, size_t len,
			  struct veer_model *out);

/*
 * The hosts of a ~short record, one after another: calls fn for each
 * (fn returns nonzero to stop and have that returned). 0 or fn's value;
 * -1 when the record is damaged.
 */
int veer_index_parse_short(const char *text, size_t len,
			   int (*fn)(const char *host, void *ctx), void *ctx);

/*
 * The short name of a Kubernetes host (NAME.NS.svc.cluster.local) into
 * buf: false for any other host.
 */
bool veer_index_short_of(const char *host, char *buf, size_t len);

#endif /* VEER_HOSTINDEX_H */

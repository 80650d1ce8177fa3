/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Changing the configuration as kubectl changes a cluster: the object
 * store (objstore.h) holds every object applied, and the maps always hold
 * what all of them together say. One change (apply, delete, weight) reads
 * the store, computes the whole configuration it would make, has the
 * planner check and write it, and stores the objects, all or nothing:
 *
 *   1. the store and the inputs give the new set of objects, which is
 *      loaded whole into one model (load.h): a bad object or a set that
 *      does not resolve changes nothing;
 *   2. the objects that change are written as the store's transaction;
 *   3. the planner makes the maps hold the model (every other service
 *      goes); if it fails, the transaction is dropped;
 *   4. the transaction becomes the object files.
 *
 * A process killed between 2 and 4 leaves the transaction; the next
 * change (or attach) finishes it first, so the maps end up holding one of
 * the two configurations and the store the same one.
 */
#ifndef VEER_CONFIGURE_H
#define VEER_CONFIGURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "diag.h"
#include "maps.h"
#include "objset.h"

enum veer_change_op {
	VEER_CHANGE_APPLY, /* upsert the inputs' objects */
	VEER_CHANGE_DELETE, /* remove the inputs' objects, or keys */
};

struct veer_change {
	enum veer_change_op op;
	const char *const *paths; /* -f FILE|DIR|- ... */
	size_t path_count;
	/* More inputs, in memory (veer watch --etcd: the fleet's objects). */
	const struct veer_objset *objects;
	const char *default_namespace; /* -n; NULL: "default" */
	bool prune; /* apply --prune */
	/* delete KIND NAME: these objects (and no paths). */
	const struct veer_object_key *keys;
	size_t key_count;
	bool dry_run;
};

/*
 * Makes one change. maps are open and locked (NULL: nothing is loaded,
 * only with dry_run). What changed goes to out, one line an object, then
 * the planner's lines for the services; "no changes" when nothing did.
 * Notes (loader notes, a finished interrupted change) go to note. 0, or -1
 * with one line in err, and then neither the store nor the maps changed.
 */
int veer_change_run(const char *pin_root, const struct veer_maps *maps,
		    const struct veer_change *change, FILE *out,
		    veer_note_fn note, void *note_ctx, char *err,
		    size_t errlen);

/*
 * After a fresh load of the maps (a reboot): the stored configuration into
 * them. *objects says how many objects were restored (0: no store, or an
 * empty one). 0, or -1 with err.
 */
int veer_change_restore(const char *pin_root, const struct veer_maps *maps,
			size_t *objects, size_t *services, veer_note_fn note,
			void *note_ctx, char *err, size_t errlen);

/*
 * The services `veer weight NAME [-n NS]` may mean, found without reading
 * the whole store or scanning the maps' names (cmd.h says how NAME names
 * services): a native service where its stored object says it lives, and,
 * when the store's index (hostindex.h) is complete and no change is
 * pending, every entry of each host NAME may mean, with the route that
 * holds its weights.
 */
struct veer_weight_found {
	/* entries holds every indexed entry NAME may mean (and routes). */
	bool indexed;
	/* Name, key (and for Istio entries host and route): candidates,
	 * still to be read from the maps and matched against NAME. */
	struct veer_model entries;
	/* The stored objects read on the way (a native service's). */
	struct veer_objset objects;
};

void veer_weight_found_init(struct veer_weight_found *found);
void veer_weight_found_free(struct veer_weight_found *found);

/* Fills found (initialised by the caller). 0, or -1 with err. */
int veer_change_lookup(const char *pin_root, const char *name, const char *ns,
		       struct veer_weight_found *found, char *err,
		       size_t errlen);

/*
 * `veer weight`: desired holds the services of current with their new
 * weights (select_services); the weights are written to the objects that
 * define them (a native service, or the default route of each
 * VirtualService) and to the maps, all or nothing. found (may be NULL):
 * what veer_change_lookup found; when indexed, its entries give the
 * routes and the whole store is not read. 0, or -1 with err.
 */
int veer_change_weights(const char *pin_root, const struct veer_maps *maps,
			const struct veer_model *current,
			const struct veer_model *desired,
			const struct veer_weight_found *found, FILE *out,
			veer_note_fn note, void *note_ctx, char *err,
			size_t errlen);

/*
 * Changes made to another store's objects than this node's: the fleet's,
 * in etcd (fleet.h). No maps and no node store are read or written.
 */

/* The model the objects of stored make together (no notes). 0, or -1. */
int veer_change_model(const struct veer_objset *stored,
		      struct veer_model *model, char *err, size_t errlen);

/*
 * The change veer_change_run would make, against stored: the same loading
 * and validation (the inputs resolved with the stored objects that stay,
 * the whole planned as maps of the default size would take it), the same
 * lines to out (each object, then each service that changes; "no
 * changes"), with the objects that change put into *changes (initialised
 * by the caller; a deletion has len 0). Nothing is written; dry_run only
 * marks the lines. 0, or -1 with err.
 */
int veer_change_compute(const struct veer_objset *stored,
			const struct veer_change *change,
			struct veer_objset *changes, FILE *out,
			veer_note_fn note, void *note_ctx, char *err,
			size_t errlen);

/*
 * `veer weight` against stored: built is the model stored makes
 * (veer_change_model), desired its services with their new weights
 * (select_services, then the assignments). The objects that hold those
 * weights (a native service, the default route of a VirtualService),
 * rewritten as veer_change_weights writes them, go into *changes (those
 * that would not change are left out); the whole with the change is
 * validated; the services' lines go to out. 0, or -1 with err.
 */
int veer_change_weights_compute(const struct veer_objset *stored,
				const struct veer_model *built,
				const struct veer_model *desired,
				struct veer_objset *changes, FILE *out,
				char *err, size_t errlen);

#endif /* VEER_CONFIGURE_H */

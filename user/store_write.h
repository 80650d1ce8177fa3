/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The store's write phase, shared by the planner (plan.c) and
 * veer_maps_delete_service: each step leaves maps that the data plane and
 * readers read right, and that the next apply repairs, wherever it stops.
 */
#ifndef VEER_STORE_WRITE_H
#define VEER_STORE_WRITE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "maps.h"

/* One planned service write. */
struct plan_item {
	const struct veer_service_model *desired;
	const struct veer_service_model *old; /* NULL when created */
	const struct veer_svc_entry *old_entry; /* its live map entry */
	/* A pruned service's entry at desired->key, replaced by this one. */
	const struct veer_svc_entry *displaced;
	struct veer_service value; /* what will be published */
	struct veer_svc_meta meta;
	struct veer_svc_meta old_meta;
	bool reuse_slots[VEER_MAX_SUBSETS]; /* backends already in place */
	bool rules_changed;
	bool moved; /* published at another key than old_entry's */
	bool write;
	bool published;
};

/* Signals that end a process, held while the maps are being written. */
void store_hold_signals(sigset_t *old);
void store_release_signals(const sigset_t *old);

/* Reads VEER_TEST_SIGNAL_AT for the write phase about to start. */
void store_hook_init(void);

/* Backends into their unused slots, rules under their new version. */
int store_write_payload(const struct veer_maps *maps,
			const struct plan_item *item, char *err, size_t errlen);

/* Makes one service live (names, then its entry, then its old key goes). */
int store_publish(const struct veer_maps *maps, struct plan_item *item,
		  char *err, size_t errlen);

/* Undoes the writes of items[0..n), newest first. */
void store_rollback(const struct veer_maps *maps, struct plan_item *items,
		    size_t n);

/* Deletes the entry at key if it still is service id's. */
bool store_delete_by_identity(const struct veer_maps *maps,
			      const struct veer_svc_key *key, uint32_t id,
			      struct veer_service *value);

/* Removes a service that goes: entry, stale entries, rules, names. */
void store_remove_service(const struct veer_maps *maps,
			  const struct veer_model *current,
			  const struct veer_service_model *svc,
			  const struct veer_svc_entry *snapshot);

/* Deletes the rule set (id, version), rules 0..count. */
void store_delete_rules(const struct veer_maps *maps, uint32_t id,
			uint32_t version, unsigned int count);

/* Deletes the rules no live entry names. */
int store_sweep_rules(const struct veer_maps *maps, char *err, size_t errlen);

/* Rebuilds the backend index from what the maps hold now (best effort). */
void store_resync_backend_index(const struct veer_maps *maps);

#endif /* VEER_STORE_WRITE_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Writing the store: the planner that turns a desired model into map
 * writes against what the maps hold, and the removal of a service.
 * Included by maps.h, so users of the store need only that.
 */
#ifndef VEER_PLAN_H
#define VEER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "model.h"

struct veer_maps;

/* What an apply may remove besides writing what desired names. */
enum veer_apply_scope {
	/* Nothing: services desired does not name are left alone. */
	VEER_APPLY_NAMED = 0,
	/* The other entries of every host desired names (a host's entries
	 * are defined by its objects as a whole). */
	VEER_APPLY_HOSTS = 1,
	/* Every other service: desired is the whole configuration. */
	VEER_APPLY_ALL = 2,
};

/*
 * Makes the maps hold `desired` for each service it names, and removes
 * what `scope` says. Validates first; writes new backends into
 * unused slots, then publishes each service with one map update and, when
 * it moved to another VIP:port, deletes its old entry at once; on a write
 * failure restores every service it had touched. Also repairs what an
 * interrupted apply left (current->stale entries, names that disagree with
 * their entry, unused rule sets). Signals that end a process are held while
 * it writes. A summary of the change, one line per service, goes to `out`
 * once everything succeeded (also when dry_run, where nothing is written);
 * on error nothing is printed. *changed reports whether anything differed.
 * 0 or -1 with err. VEER_TEST_SIGNAL_AT=N[:SIG] in the environment raises
 * SIG (default SIGKILL) after the Nth write to the service table or its
 * metadata, for the crash-safety tests. maps may be NULL (a dry run with
 * nothing attached: planned against the default table sizes).
 */
int veer_maps_apply(const struct veer_maps *maps,
		    const struct veer_model *current,
		    const struct veer_model *desired,
		    enum veer_apply_scope scope, bool dry_run, FILE *out,
		    bool *changed, char *err, size_t errlen);

/*
 * veer_maps_apply in its two halves, for a caller that must do something
 * between knowing the change is possible and making it (the object store
 * writes its transaction there): veer_plan_make validates desired and
 * plans every write (ids, slots, rule sets) without writing anything;
 * veer_plan_write writes it (nothing when dry_run or unchanged);
 * veer_plan_finish prints the summary if ret is 0 and frees. The maps must
 * not change in between (the caller holds the pin root's lock).
 */
struct veer_plan;
int veer_plan_make(struct veer_plan **plan, const struct veer_maps *maps,
		   const struct veer_model *current,
		   const struct veer_model *desired,
		   enum veer_apply_scope scope, bool dry_run, FILE *out,
		   bool *changed, char *err, size_t errlen);
int veer_plan_write(struct veer_plan *plan, char *err, size_t errlen);
void veer_plan_finish(struct veer_plan *plan, int ret);

/*
 * Removes the service `name` of current: its entry, only if the entry at its
 * key still has its id, its stale entries, rules and names. 0 or -1 with err.
 */
int veer_maps_delete_service(const struct veer_maps *maps,
			     const struct veer_model *current, const char *name,
			     char *err, size_t errlen);

/*
 * Writes the backend index (veer_be_vips): every backend endpoint of the
 * services of a and b (b may be NULL) to their keys. With prune, rows of
 * endpoints neither model has are deleted; without, they stay (before a
 * publish: old and new services both in force for a moment). 0, or -1
 * with err.
 */
int veer_maps_sync_backend_index(const struct veer_maps *maps,
				 const struct veer_model *a,
				 const struct veer_model *b, bool prune,
				 char *err, size_t errlen);

/*
 * Whether the maps would hold the same for old as for new: key, flags,
 * host, subsets in order (names, weights, backends) and rules. A NULL old
 * (a service not there yet) is never the same.
 */
bool veer_service_same(const struct veer_service_model *old,
		       const struct veer_service_model *new);

/* The same backends in the same order (their order places connections). */
bool veer_subset_backends_equal(const struct veer_subset_model *a,
				const struct veer_subset_model *b);

/* The same rules, compared as they are stored (veer_rule_canonical). */
bool veer_service_rules_equal(const struct veer_service_model *a,
			      const struct veer_service_model *b);

/*
 * A rule as it is stored: everything past the counts and the strings' NULs
 * zeroed, so equal rules are equal bytes whoever built them.
 */
void veer_rule_canonical(const struct veer_rule *in, struct veer_rule *out);

#endif /* VEER_PLAN_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * veer's commands (cmd_*.c) and what they share: opening the pinned maps
 * with a one-line error, and naming services as Istio and kubectl do.
 */
#ifndef VEER_CMD_H
#define VEER_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "maps.h"
#include "model.h"

/* In the order `veer --help` lists them. */
extern const struct cli_command attach_command, detach_command, apply_command,
	weight_command, get_command, stats_command, status_command,
	delete_command, metrics_command, top_command, rollout_command,
	watch_command, fleet_command;

/* -n NAMESPACE, as kubectl has it; help says what it does for CMD. */
#define NAMESPACE_OPTION(opts_type, ns_field, help_text)                       \
	{                                                                      \
		.name = "namespace", .flag = 'n', .type = CLI_STRING,          \
		.field = offsetof(opts_type, ns_field),                        \
		.metavar = "NAMESPACE", .help = help_text,                     \
	}

/* Fleet mode (fleet.h): --etcd URLS, --cluster NAME. */
struct fleet_target {
	const char *etcd; /* NULL: this node, not the fleet */
	const char *cluster;
};

#define FLEET_CLUSTER_DEFAULT "default"
#define FLEET_TARGET_DEFAULTS                                                  \
	{                                                                      \
		.cluster = FLEET_CLUSTER_DEFAULT                               \
	}

#define FLEET_OPTIONS(opts_type, target)                                       \
	{                                                                      \
		.name = "etcd",                                                \
		.type = CLI_STRING,                                            \
		.field = offsetof(opts_type, target.etcd),                     \
		.metavar = "URLS",                                             \
		.help = "the fleet's etcd: comma-separated http:// URLs of "   \
			"its members (etcd 3.4+); not this node",              \
	},                                                                     \
	{                                                                      \
		.name = "cluster", .type = CLI_STRING,                         \
		.field = offsetof(opts_type, target.cluster),                  \
		.metavar = "NAME",                                             \
		.help = "with --etcd: the fleet's name, its keys' "            \
			"/veer/NAME/",                                         \
	}

struct veer_objset;
/*
 * Computes a change against the fleet's objects (stored): the objects that
 * change into *changes, the lines to out. 0, or an exit status (said).
 */
typedef int (*fleet_compute_fn)(const void *arg,
				const struct veer_objset *stored,
				struct veer_objset *changes, FILE *out);

/*
 * Reads the fleet's configuration, computes the change and writes it in
 * one transaction (not with dry_run); when another writer came first,
 * reads and computes again, VEER_FLEET_WRITE_TRIES times at most. The
 * lines of the change that was made, then "cluster NAME: revision N".
 * An exit status.
 */
int fleet_change(const struct fleet_target *t, const char *by, bool dry_run,
		 fleet_compute_fn compute, const void *arg);

/* How the commands that take a SERVICE find it, for their --help. */
#define NAMING                                                                 \
	"  SERVICE is a service name, an Istio host, or a Kubernetes short\n"  \
	"  name (customers, customers.prod); -n NAMESPACE picks among\n"       \
	"  namespaces. A host with several entries (ports, IPv4 and IPv6)\n"   \
	"  is addressed as a whole.\n"

/* A note for the user (loader notes, a finished interrupted change):
 * "veer: CMD: note: ..." on stderr. A veer_note_fn. */
void cmd_note(void *ctx, const char *note);

/* Every command but --help touches BPF objects. */
int require_root(void);

/* The pinned maps, opened (and locked, for commands that change them). */
int open_maps(struct veer_maps *maps);
int open_maps_locked(struct veer_maps *maps);

int read_model(const struct veer_maps *maps, struct veer_model *model);
/* Reads the model, in full only for the entries `arg` names. */
int read_model_named(const struct veer_maps *maps, struct veer_model *model,
		     const char *arg, const char *ns);

/*
 * Copies into *out every entry `arg` names, sorted by name. A short name
 * found in several namespaces is refused: the user picks one with -n.
 */
/*
 * `veer weight SERVICE [-n NS] SUBSET=W...`: the change, its lines to out.
 * An exit status: 0, EXIT_USAGE (bad assignments) or EXIT_FAILED (said).
 */
int change_weights(const char *service, const char *ns, char **assignments,
		   int count, FILE *out);

/*
 * The path of `veer apply` (and delete): one change through the object
 * store (configure.h), with the pin root's maps opened and locked for it;
 * its lines to out. 0, or EXIT_FAILED with one line in err (then nothing
 * changed). The caller checked require_root().
 */
struct veer_change;
int run_change(const struct veer_change *c, FILE *out, char *err,
	       size_t errlen);

/*
 * The services of the maps (opened), or those SERVICE names (as
 * select_services; NULL: all), or with ns and no SERVICE those of the
 * namespace's hosts, into *view. 0, or -1 (said).
 */
int read_selected(const struct veer_maps *maps, const char *service,
		  const char *ns, struct veer_model *view);

/*
 * read_selected, then their counters into *out (metrics.h). 0, or -1
 * (said).
 */
struct veer_metrics_snapshot;
int read_selected_metrics(const struct veer_maps *maps, const char *service,
			  const char *ns, struct veer_metrics_snapshot *out);

/*
 * Commands that run until told: SIGINT and SIGTERM set cmd_stopping
 * (cmd_catch_stop), and cmd_nap sleeps until it is set or ms have passed.
 */
extern volatile sig_atomic_t cmd_stopping;
void cmd_catch_stop(void);
void cmd_nap(unsigned int ms);

int select_services(const struct veer_model *all, const char *arg,
		    const char *ns, struct veer_model *out);

int cmp_service_name(const void *a, const void *b);

/* Whether a get argument names kinds of objects (vs, dr,svc, all). */
bool get_names_kinds(const char *arg);

/*
 * veer get KIND[,KIND...] [NAME]: stored objects, in the namespace ns
 * (default "default"), or all of them; format an enum veer_format.
 */
int get_objects(int argc, char **argv, const char *ns, bool all_namespaces,
		int format);

#endif /* VEER_CMD_H */

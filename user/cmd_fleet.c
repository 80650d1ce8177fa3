// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Fleet mode's commands: the write path apply --etcd and weight --etcd
 * share, and veer fleet status.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "fleet.h"
#include "maps.h"

static int open_fleet(const struct fleet_target *t, struct veer_fleet *f)
{
	char err[VEER_ERR_LEN];

	if (veer_fleet_open(f, t->etcd, t->cluster, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

/*
 * One read, compute and write: an exit status, or 0 with *lost_race when
 * another writer came first (nothing written). The lines go to stdout
 * only once the change is made.
 */
static int fleet_try(struct veer_fleet *f, const char *by, bool dry_run,
		     fleet_compute_fn compute, const void *arg, bool *lost_race)
{
	struct veer_fleet_config cfg;
	struct veer_objset changes;
	char err[VEER_ERR_LEN], *text = NULL;
	size_t len = 0;
	int64_t revision = 0;
	FILE *lines;
	int ret;

	lines = open_memstream(&text, &len);
	if (!lines) {
		fail("out of memory");
		return EXIT_FAILED;
	}
	veer_fleet_config_init(&cfg);
	veer_objset_init(&changes);
	if (veer_fleet_read(f, 0, &cfg, err, sizeof(err))) {
		fail("%s (nothing was changed)", err);
		ret = EXIT_FAILED;
	} else {
		if (cfg.skipped) {
			char note[VEER_ERR_LEN];

			snprintf(note, sizeof(note),
				 "%zu key(s) under %sobjects/ are not objects "
				 "of veer's (KIND/NAMESPACE/NAME holding the "
				 "object's YAML), left alone: %.160s",
				 cfg.skipped, f->prefix, cfg.skipped_key);
			cmd_note(NULL, note);
		}
		ret = compute(arg, &cfg.objects, &changes, lines);
	}
	if (!ret && changes.live && !dry_run) {
		ret = veer_fleet_write(f, &cfg, &changes, by, &revision, err,
				       sizeof(err));
		*lost_race = ret == 1;
		/* An error after the request went out may hide a write
		 * that happened: say only what failed. */
		if (ret < 0)
			fail("%s", err);
		ret = ret < 0 ? EXIT_FAILED : 0;
	}
	if (fclose(lines) == 0 && ret == 0 && !*lost_race) {
		fwrite(text, 1, len, stdout);
		if (revision)
			printf("cluster %s: revision %" PRId64 "\n", f->cluster,
			       revision);
		fflush(stdout);
	}
	free(text);
	veer_objset_free(&changes);
	veer_fleet_config_free(&cfg);
	return ret;
}

int fleet_change(const struct fleet_target *t, const char *by, bool dry_run,
		 fleet_compute_fn compute, const void *arg)
{
	struct veer_fleet f;
	bool lost_race = true;
	int attempt, ret = 0;

	if (open_fleet(t, &f))
		return EXIT_FAILED;
	for (attempt = 0; attempt < VEER_FLEET_WRITE_TRIES && !ret && lost_race;
	     attempt++) {
		lost_race = false;
		ret = fleet_try(&f, by, dry_run, compute, arg, &lost_race);
	}
	if (!ret && lost_race) {
		fail("cluster %s: other writers changed it each time it was "
		     "read (%d tries); nothing was changed",
		     f.cluster, VEER_FLEET_WRITE_TRIES);
		ret = EXIT_FAILED;
	}
	veer_fleet_close(&f);
	return ret;
}

/* ---- veer fleet status ------------------------------------------------ */

struct fleet_opts {
	struct fleet_target fleet;
};

static const struct fleet_opts fleet_defaults = {
	.fleet = FLEET_TARGET_DEFAULTS,
};

static const struct cli_option fleet_options[] = {
	FLEET_OPTIONS(struct fleet_opts, fleet),
	{},
};

/* A node whose status is older than this is silent even if its lease
 * still holds it (a node that renews its lease but applies nothing). */
#define SILENT_AFTER_S (3 * VEER_FLEET_LEASE_TTL)

/* "ok", "behind", "ahead", "error", "silent": what a node's row flags. */
static const char *node_state(const struct veer_fleet_node *n,
			      int64_t config_revision, time_t now)
{
	if (!n->live || !n->readable || now - n->status.time > SILENT_AFTER_S)
		return "silent";
	if (n->status.last_error[0])
		return "error";
	if (n->status.applied_revision < config_revision)
		return "behind";
	if (n->status.applied_revision > config_revision)
		return "ahead"; /* holds a configuration since overwritten */
	return "ok";
}

/* "12s", "5m", "3h", "2d" */
static const char *age_text(int64_t seconds, char *buf, size_t len)
{
	if (seconds < 0)
		seconds = 0;
	if (seconds < 120)
		snprintf(buf, len, "%" PRId64 "s", seconds);
	else if (seconds < 7200)
		snprintf(buf, len, "%" PRId64 "m", seconds / 60);
	else if (seconds < 172800)
		snprintf(buf, len, "%" PRId64 "h", seconds / 3600);
	else
		snprintf(buf, len, "%" PRId64 "d", seconds / 86400);
	return buf;
}

/*
 * `fleet status`'s exit code when the fleet does not hold its
 * configuration everywhere (a node not ok, or none reported), apart from
 * EXIT_FAILED (etcd could not be read): scripts and probes tell "not
 * converged" from "cannot tell".
 */
#define EXIT_FLEET_DISAGREES 3

/* Prints the table; the number of nodes not ok (1 if none reported). */
static size_t print_nodes(const struct veer_fleet *f,
			  const struct veer_fleet_node *nodes, size_t count,
			  int64_t config_revision)
{
	static const char *const states[] = {"ok", "behind", "ahead", "error",
					     "silent"};
	size_t tally[sizeof(states) / sizeof(states[0])] = {0};
	time_t now = time(NULL);
	char age[24], when[24];
	size_t i, s;

	printf("cluster %s: configuration revision %" PRId64 "\n", f->cluster,
	       config_revision);
	if (!count) {
		printf("no node has reported\n");
		return 1;
	}
	printf("%-20s %8s %6s %-7s %5s %-16s %s\n", "NODE", "APPLIED", "LAG",
	       "STATE", "AGE", "VERSION", "LAST ERROR");
	for (i = 0; i < count; i++) {
		const struct veer_fleet_node *n = &nodes[i];
		const struct veer_fleet_status *st = &n->status;
		const char *state = node_state(n, config_revision, now);

		for (s = 0; strcmp(states[s], state); s++)
			;
		tally[s]++;
		printf("%-20s %8" PRId64 " %6" PRId64 " %-7s %5s %-16s ",
		       st->node, st->applied_revision,
		       config_revision - st->applied_revision, state,
		       age_text(now - st->time, age, sizeof(age)),
		       st->version[0] ? st->version : "-");
		if (st->last_error[0])
			printf("%s (%s ago)\n", st->last_error,
			       age_text(now - st->last_error_time, when,
					sizeof(when)));
		else
			printf("-\n");
	}
	printf("%zu node%s:", count, count == 1 ? "" : "s");
	for (i = 0, s = 0; s < sizeof(states) / sizeof(states[0]); s++)
		if (tally[s])
			printf("%s %zu %s", i++ ? "," : "", tally[s],
			       states[s]);
	printf("\n");
	return count - tally[0]; /* states[0] is "ok" */
}

static int run_fleet(const void *opts, int argc, char **argv)
{
	const struct fleet_opts *o = opts;
	struct veer_fleet_node *nodes = NULL;
	struct veer_fleet f;
	char err[VEER_ERR_LEN];
	int64_t config_revision;
	size_t count;
	int ret = 0;

	if (argc != 1 || strcmp(argv[0], "status")) {
		fail("expected: fleet status --etcd URLS [--cluster NAME]");
		return EXIT_USAGE;
	}
	if (!o->fleet.etcd) {
		fail("expected --etcd URLS: the fleet's etcd");
		return EXIT_USAGE;
	}
	if (open_fleet(&o->fleet, &f))
		return EXIT_FAILED;
	if (veer_fleet_nodes(&f, &nodes, &count, &config_revision, err,
			     sizeof(err))) {
		fail("%s", err);
		ret = EXIT_FAILED;
	} else if (print_nodes(&f, nodes, count, config_revision)) {
		ret = EXIT_FLEET_DISAGREES;
	}
	free(nodes);
	veer_fleet_close(&f);
	return ret;
}

static const char fleet_details[] =
	"  Lists every node of the fleet that reported: the configuration\n"
	"  revision its maps hold, its lag behind the fleet's configuration\n"
	"  (in etcd revisions; 0 is up to date), its state, how long ago it\n"
	"  reported, and its last error. STATE flags the nodes that\n"
	"  disagree: behind (or ahead of) the configuration, with an error,\n"
	"  or silent (its lease expired: it stopped reporting, or cannot\n"
	"  reach etcd; its last report is still listed). Exit status: 0\n"
	"  when every node is ok, 3 when one is not or none reported, 1\n"
	"  when etcd could not be read.\n";

const struct cli_command fleet_command = {
	.name = "fleet",
	.args = "status --etcd URLS [--cluster NAME]",
	.summary = "the nodes of a fleet kept in etcd, and what they hold",
	.details = fleet_details,
	CLI_OPTIONS(fleet_options, fleet_defaults),
	.run = run_fleet,
};

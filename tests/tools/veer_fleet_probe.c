// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer-fleet-probe: the node side of fleet mode (fleet.h), driven by the
 * fleet tests until `veer watch --etcd` does it:
 *
 *   veer-fleet-probe read URLS CLUSTER [REVISION]
 *       the configuration at REVISION (default the latest): a line
 *       "revision R commit C objects N", then "KIND NS NAME BYTES MODREV"
 *       per object ('-' for no namespace)
 *   veer-fleet-probe watch URLS CLUSTER FROM BATCHES [SECONDS]
 *       watches from revision FROM: "revision R: put|delete KIND NS NAME"
 *       per object changed, until BATCHES revisions were seen (exit 0),
 *       SECONDS passed (default 10; exit 4), or FROM was compacted
 *       ("compacted: oldest revision N", exit 3)
 *   veer-fleet-probe report URLS CLUSTER NODE APPLIED [ERROR [SECONDS]]
 *       reports the node's status under a lease; with SECONDS, renews it
 *       every second for that long. Prints "lease ID" (hex, as etcdctl).
 *
 * Exit 1 with one line on stderr on an error, 2 on a bad command line.
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"

#define EXIT_COMPACTED 3
#define EXIT_TIMEOUT 4
#define WATCH_SECONDS_DEFAULT 10

static volatile sig_atomic_t timed_out;

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: veer-fleet-probe read URLS CLUSTER [REVISION]"
			" | watch URLS CLUSTER FROM BATCHES [SECONDS]"
			" | report URLS CLUSTER NODE APPLIED [ERROR "
			"[SECONDS]]\n");
	return 2;
}

static int failed(const char *err)
{
	fprintf(stderr, "veer-fleet-probe: %s\n", err);
	return 1;
}

static int do_read(struct veer_fleet *f, int64_t at)
{
	struct veer_fleet_config cfg;
	char err[512];
	size_t i;

	veer_fleet_config_init(&cfg);
	if (veer_fleet_read(f, at, &cfg, err, sizeof(err)))
		return failed(err);
	printf("revision %" PRId64 " commit %" PRId64 " objects %zu\n",
	       cfg.revision, cfg.commit_revision, cfg.objects.live);
	for (i = 0; i < cfg.objects.count; i++) {
		const struct veer_object *o = &cfg.objects.objects[i];

		printf("%s %s %s %zu %" PRId64 "\n", o->key.kind,
		       o->key.ns[0] ? o->key.ns : "-", o->key.name, o->len,
		       cfg.mod_revisions[i]);
	}
	veer_fleet_config_free(&cfg);
	return 0;
}

struct watching {
	long left;
};

static int on_change(void *ctx, int64_t revision,
		     const struct veer_objset *changes)
{
	struct watching *w = ctx;
	size_t i;

	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];

		if (!o->removed)
			printf("revision %" PRId64 ": %s %s %s %s\n", revision,
			       o->len ? "put" : "delete", o->key.kind,
			       o->key.ns[0] ? o->key.ns : "-", o->key.name);
	}
	fflush(stdout);
	return --w->left <= 0;
}

static int do_watch(struct veer_fleet *f, int64_t from, long batches,
		    unsigned int seconds)
{
	struct watching w = {batches};
	int64_t compacted;
	char err[512];
	int ret;

	signal(SIGALRM, on_alarm);
	alarm(seconds);
	ret = veer_fleet_watch(f, from, on_change, &w, &timed_out, &compacted,
			       err, sizeof(err));
	if (ret < 0)
		return failed(err);
	if (ret == 1) {
		printf("compacted: oldest revision %" PRId64 "\n", compacted);
		return EXIT_COMPACTED;
	}
	return timed_out ? EXIT_TIMEOUT : 0;
}

static int do_report(struct veer_fleet *f, const char *node, int64_t applied,
		     const char *error, long seconds)
{
	struct veer_fleet_status st = {.applied_revision = applied};
	int64_t lease = 0;
	char err[512];
	time_t end = time(NULL) + seconds;

	snprintf(st.node, sizeof(st.node), "%s", node);
	snprintf(st.version, sizeof(st.version), "%s", VEER_VERSION);
	if (error && *error) {
		snprintf(st.last_error, sizeof(st.last_error), "%s", error);
		st.last_error_time = time(NULL);
	}
	do {
		st.time = time(NULL);
		if (veer_fleet_report(f, &st, &lease, err, sizeof(err)))
			return failed(err);
		if (seconds)
			sleep(1);
	} while (time(NULL) < end);
	/* In hex, as etcdctl writes and reads lease ids. */
	printf("lease %" PRIx64 "\n", (uint64_t)lease);
	return 0;
}

int main(int argc, char **argv)
{
	struct veer_fleet f;
	char err[512];
	int ret;

	if (argc < 4)
		return usage();
	if (veer_fleet_open(&f, argv[2], argv[3], err, sizeof(err)))
		return failed(err);
	if (!strcmp(argv[1], "read") && argc <= 5)
		ret = do_read(&f, argc == 5 ? strtoll(argv[4], NULL, 10) : 0);
	else if (!strcmp(argv[1], "watch") && (argc == 6 || argc == 7))
		ret = do_watch(&f, strtoll(argv[4], NULL, 10),
			       strtol(argv[5], NULL, 10),
			       argc == 7 ? (unsigned int)atoi(argv[6])
					 : WATCH_SECONDS_DEFAULT);
	else if (!strcmp(argv[1], "report") && argc >= 6 && argc <= 8)
		ret = do_report(&f, argv[4], strtoll(argv[5], NULL, 10),
				argc >= 7 ? argv[6] : NULL,
				argc == 8 ? strtol(argv[7], NULL, 10) : 0);
	else
		ret = usage();
	veer_fleet_close(&f);
	return ret;
}

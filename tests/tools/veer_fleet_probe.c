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
 *   veer-fleet-probe converge PINS NAME WEIGHTS TIMEOUT_MS INTERVAL_US
 *                             [CMD ARGS...]
 *       the fleet convergence benchmark's observer (scripts/bench.sh -p
 *       fleet): runs CMD (its stdout to stderr), and polls the pinned
 *       veer_services map of every pin root listed in the file PINS (one
 *       a line) until each holds WEIGHTS ("v1=10,v2=90": subset names,
 *       from veer_svc_meta) in every service entry whose name starts with
 *       NAME, or TIMEOUT_MS passed (exit 4). Times are CLOCK_MONOTONIC,
 *       from CMD's exit (seen through a pidfd: to the microsecond; without
 *       CMD, from the start). Between sweeps it sleeps INTERVAL_US, and
 *       only the nodes not yet holding are read; a node is timed at the
 *       first check that sees the weights, and its previous check bounds
 *       it from below: both go out. A node holding WEIGHTS before CMD
 *       runs is an error (nothing to measure). Prints one JSON line.
 *
 * Exit 1 with one line on stderr on an error, 2 on a bad command line.
 */
#define _GNU_SOURCE /* ppoll */
#include <bpf/bpf.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "veer_abi.h"

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
			"[SECONDS]]"
			" | converge PINS NAME WEIGHTS TIMEOUT_MS INTERVAL_US "
			"[CMD ARGS...]\n");
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
		     const struct veer_objset *changes, long keys_added)
{
	struct watching *w = ctx;
	size_t i;

	(void)keys_added;
	if (!changes->live)
		return 0; /* only keys that are no objects */

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

/* ---- converge: the fleet convergence benchmark's observer ---------------- */

#define CONVERGE_MAX_NODES 1024
#define CONVERGE_MAX_ENTRIES 16 /* service entries named NAME, a node */

struct want {
	char names[VEER_MAX_SUBSETS][VEER_SUBSET_NAME_MAX];
	uint8_t weights[VEER_MAX_SUBSETS];
	int count;
};

/* One node: its maps, the entries to check, and when it held WEIGHTS. */
struct node {
	char pin[300];
	int services, meta;
	/* The entries named NAME and the weights each must hold, in map
	 * order; found once (a weight change keeps keys and subset order),
	 * found again when a key or its service id goes. */
	struct veer_svc_key keys[CONVERGE_MAX_ENTRIES];
	uint32_t ids[CONVERGE_MAX_ENTRIES];
	uint8_t expect[CONVERGE_MAX_ENTRIES][VEER_MAX_SUBSETS];
	int entries; /* 0: not found (yet) */
	bool held;
	int64_t checked_ns; /* the last check (0: none yet) */
	int64_t seen_ns, before_ns; /* the check that saw it, the one before */
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* "v1=10,v2=90" into *w. 0 or -1. */
static int parse_want(const char *s, struct want *w)
{
	char buf[512], *tok, *save = NULL, *eq, *end;
	long v;

	memset(w, 0, sizeof(*w));
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		eq = strchr(tok, '=');
		if (!eq || eq == tok || eq - tok >= VEER_SUBSET_NAME_MAX ||
		    w->count == VEER_MAX_SUBSETS)
			return -1;
		errno = 0;
		v = strtol(eq + 1, &end, 10);
		if (errno || *end || end == eq + 1 || v < 0 ||
		    v > VEER_WEIGHT_TOTAL)
			return -1;
		memcpy(w->names[w->count], tok, (size_t)(eq - tok));
		w->weights[w->count++] = (uint8_t)v;
	}
	return w->count ? 0 : -1;
}

/* The entries of n named name...: keys and expected weights. The number
 * found (0: none, or one lacks a subset of w), or -1 on a map error. */
static int node_find(struct node *n, const char *name, const struct want *w)
{
	struct veer_svc_key key, next;
	struct veer_service svc;
	struct veer_svc_meta meta;
	size_t nlen = strlen(name);
	void *prev = NULL;
	int found = 0, s, k;

	n->entries = 0;
	while (!bpf_map_get_next_key(n->services, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(n->services, &key, &svc))
			continue; /* gone meanwhile */
		if (bpf_map_lookup_elem(n->meta, &svc.id, &meta))
			return -1;
		if (strncmp(meta.name, name, nlen))
			continue;
		if (found == CONVERGE_MAX_ENTRIES ||
		    svc.subset_count != w->count)
			return 0;
		for (s = 0; s < svc.subset_count; s++) {
			for (k = 0; k < w->count; k++)
				if (!strncmp(meta.subset_names[s], w->names[k],
					     VEER_SUBSET_NAME_MAX))
					break;
			if (k == w->count)
				return 0;
			n->expect[found][s] = w->weights[k];
		}
		n->keys[found] = key;
		n->ids[found++] = svc.id;
	}
	n->entries = found;
	return found;
}

/* Whether n holds w now (every entry found). -1 on a map error. */
static int node_holds(struct node *n, const char *name, const struct want *w)
{
	struct veer_service svc;
	int e, s;

	if (!n->entries && node_find(n, name, w) <= 0)
		return n->entries < 0 ? -1 : 0;
	for (e = 0; e < n->entries; e++) {
		if (bpf_map_lookup_elem(n->services, &n->keys[e], &svc) ||
		    svc.id != n->ids[e]) {
			n->entries = 0; /* replaced: find it again next time */
			return 0;
		}
		for (s = 0; s < w->count; s++)
			if (svc.subsets[s].weight != n->expect[e][s])
				return 0;
	}
	return 1;
}

static int node_open(struct node *n, const char *pin)
{
	char path[340];

	memset(n, 0, sizeof(*n));
	snprintf(n->pin, sizeof(n->pin), "%s", pin);
	snprintf(path, sizeof(path), "%s/%s", pin, VEER_MAP_SERVICES);
	n->services = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/%s", pin, VEER_MAP_SVC_META);
	n->meta = n->services < 0 ? -1 : bpf_obj_get(path);
	if (n->meta < 0) {
		fprintf(stderr, "veer-fleet-probe: %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* CMD, its stdout to our stderr (ours is the JSON line). Its pidfd, or -1. */
static int spawn_cmd(char **argv, pid_t *pid)
{
	extern char **environ;
	posix_spawn_file_actions_t fa;
	int ret, pfd;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, STDERR_FILENO, STDOUT_FILENO);
	ret = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (ret) {
		fprintf(stderr, "veer-fleet-probe: %s: %s\n", argv[0],
			strerror(ret));
		return -1;
	}
	pfd = (int)syscall(SYS_pidfd_open, *pid, 0);
	if (pfd < 0) {
		fprintf(stderr, "veer-fleet-probe: pidfd_open: %s\n",
			strerror(errno));
		waitpid(*pid, NULL, 0);
	}
	return pfd;
}

static double ms_of(int64_t ns)
{
	return (double)ns / 1e6;
}

static int do_converge(int argc, char **argv)
{
	const char *pins = argv[2], *name = argv[3];
	static struct node nodes[CONVERGE_MAX_NODES];
	static int64_t seen[CONVERGE_MAX_NODES];
	int64_t t0 = 0, start, now, deadline, timeout_ns, interval_ns;
	int64_t sweep_max = 0, sweep_sum = 0, last_sweep = 0;
	long timeout_ms, interval_us, sweeps = 0;
	int count = 0, held = 0, i, pfd = -1, cmd_rc = 0, last = -1, h;
	struct timespec gap;
	struct want w;
	char line[300];
	pid_t pid = 0;
	FILE *f;

	timeout_ms = strtol(argv[5], NULL, 10);
	interval_us = strtol(argv[6], NULL, 10);
	if (parse_want(argv[4], &w) || timeout_ms <= 0 || interval_us <= 0)
		return usage();
	timeout_ns = timeout_ms * 1000000LL;
	interval_ns = interval_us * 1000LL;
	f = fopen(pins, "r");
	if (!f) {
		fprintf(stderr, "veer-fleet-probe: %s: %s\n", pins,
			strerror(errno));
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!*line)
			continue;
		if (count == CONVERGE_MAX_NODES ||
		    node_open(&nodes[count], line)) {
			fclose(f);
			return failed(count == CONVERGE_MAX_NODES
					      ? "too many pin roots"
					      : "cannot open a node's maps");
		}
		count++;
	}
	fclose(f);
	if (!count)
		return failed("no pin roots");
	if (argc > 7) {
		for (i = 0; i < count; i++)
			if (node_holds(&nodes[i], name, &w) > 0) {
				fprintf(stderr,
					"veer-fleet-probe: %s holds %s before "
					"the change\n",
					nodes[i].pin, argv[4]);
				return 1;
			}
		start = mono_ns();
		pfd = spawn_cmd(argv + 7, &pid);
		if (pfd < 0)
			return 1;
	} else {
		start = t0 = mono_ns();
	}
	deadline = start + timeout_ns;
	gap.tv_sec = interval_ns / 1000000000;
	gap.tv_nsec = interval_ns % 1000000000;
	for (;;) {
		now = mono_ns();
		if (last_sweep) {
			sweep_sum += now - last_sweep;
			if (now - last_sweep > sweep_max)
				sweep_max = now - last_sweep;
		}
		last_sweep = now;
		sweeps++;
		for (i = 0; i < count; i++) {
			struct node *n = &nodes[i];

			if (n->held)
				continue;
			h = node_holds(n, name, &w);
			now = mono_ns();
			if (h < 0) {
				fprintf(stderr, "veer-fleet-probe: %s: %s\n",
					n->pin, strerror(errno));
				return 1;
			}
			if (h) {
				n->held = true;
				n->seen_ns = now;
				n->before_ns =
					n->checked_ns ? n->checked_ns : start;
				held++;
			}
			n->checked_ns = now;
		}
		if (held == count && !pid)
			break;
		if (now >= deadline)
			break;
		if (pid) {
			/* The sleep ends when CMD exits: t0 to the us. */
			struct pollfd p = {.fd = pfd, .events = POLLIN};
			int st;

			if (ppoll(&p, 1, &gap, NULL) > 0 &&
			    waitpid(pid, &st, 0) == pid) {
				t0 = mono_ns();
				deadline = t0 + timeout_ns;
				cmd_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
				pid = 0;
				close(pfd);
				if (cmd_rc) {
					fprintf(stderr,
						"veer-fleet-probe: %s: exit "
						"%d\n",
						argv[7], cmd_rc);
					return 1;
				}
			}
		} else {
			clock_nanosleep(CLOCK_MONOTONIC, 0, &gap, NULL);
		}
	}
	if (pid) { /* timed out with CMD still running */
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(pfd);
		return failed("CMD still running at the timeout");
	}
	held = 0;
	for (i = 0; i < count; i++) {
		if (!nodes[i].held)
			continue;
		seen[held++] = nodes[i].seen_ns - t0;
		if (last < 0 || nodes[i].seen_ns > nodes[last].seen_ns)
			last = i;
	}
	qsort(seen, (size_t)held, sizeof(seen[0]), cmp_i64);
	printf("{\"nodes\":%d,\"held\":%d,\"timeout\":%s,\"cmd_ms\":%.3f,"
	       "\"first_ms\":%.3f,\"median_ms\":%.3f,\"last_ms\":%.3f,"
	       "\"last_after_ms\":%.3f,\"last_node\":\"%s\",\"sweeps\":%ld,"
	       "\"sweep_mean_us\":%.1f,\"sweep_max_us\":%.1f,"
	       "\"interval_us\":%ld}\n",
	       count, held, held == count ? "false" : "true",
	       argc > 7 ? ms_of(t0 - start) : 0.0, held ? ms_of(seen[0]) : -1.0,
	       held ? ms_of(seen[held / 2]) : -1.0,
	       held ? ms_of(seen[held - 1]) : -1.0,
	       last >= 0 ? ms_of(nodes[last].before_ns - t0) : -1.0,
	       last >= 0 ? nodes[last].pin : "", sweeps,
	       sweeps > 1 ? (double)sweep_sum / (sweeps - 1) / 1e3 : 0.0,
	       (double)sweep_max / 1e3, interval_us);
	return held == count ? 0 : EXIT_TIMEOUT;
}

int main(int argc, char **argv)
{
	struct veer_fleet f;
	char err[512];
	int ret;

	if (argc >= 2 && !strcmp(argv[1], "converge"))
		return argc >= 7 ? do_converge(argc, argv) : usage();
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

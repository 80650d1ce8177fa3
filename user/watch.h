/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What `veer watch DIR` keeps beside the object store, and what it reads
 * of DIR, apart from the loop itself (cmd_watch.c):
 *
 *   - which version of DIR to apply: a Kubernetes ConfigMap volume (the
 *     kubelet's atomic writer: DIR/..data is a symlink to a complete
 *     timestamped directory, swapped by a rename) is applied from the
 *     directory ..data points to, never through the per-key symlinks;
 *     a plain directory is applied as it is;
 *   - a content hash of that version (the config files apply -f reads);
 *   - the watcher's state: STORE/watch.state, written whole (a
 *     temporary file and a rename), read by `veer status` and the
 *     metrics; the watcher's liveness from its pid and start time.
 */
#ifndef VEER_WATCH_H
#define VEER_WATCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "maps.h" /* VEER_ERR_LEN */

/* The state file's name in the store directory (objstore.h). */
#define VEER_WATCH_STATE_FILE "watch.state"
/* The kubelet's symlink to the current version of a ConfigMap volume. */
#define VEER_WATCH_DATA_LINK "..data"

struct veer_watch_state {
	char dir[PATH_MAX]; /* DIR, absolute */
	long pid; /* the watcher */
	unsigned long long start_time; /* its start, /proc/PID/stat field 22 */
	uint64_t generation; /* versions applied (a new content hash) */
	uint64_t hash; /* content hash of the last version applied */
	char version[PATH_MAX]; /* what it was applied from */
	uint64_t errors; /* refused versions and failed applies */
	double started; /* unix seconds; 0: never */
	double last_success;
	double last_error_time;
	char last_error[VEER_ERR_LEN]; /* one line, "" when none */
};

/* The state file of a pin root's store into buf. 0, or -1 with err. */
int veer_watch_state_path(const char *pin_root, char *buf, size_t len,
			  char *err, size_t errlen);

/* s as the state file's text (key value lines). -1 on a write error. */
int veer_watch_state_format(FILE *out, const struct veer_watch_state *s);

/* The state file's text into *s (zeroed first). 0, or -1: not a state. */
int veer_watch_state_parse(const char *text, size_t len,
			   struct veer_watch_state *s);

/* Writes s to path through path.tmp and a rename. 0, or -1 with err. */
int veer_watch_state_write(const char *path, const struct veer_watch_state *s,
			   char *err, size_t errlen);

/* The pin root's watch state: 0, 1 when there is none, -1 with err. */
int veer_watch_state_read(const char *pin_root, struct veer_watch_state *s,
			  char *err, size_t errlen);

/*
 * A process's start time (clock ticks after boot); 0 when it is gone
 * (or a zombie, which only waits to be reaped).
 */
unsigned long long veer_proc_start_time(long pid);

/* Whether the watcher s describes still runs (same pid, same start). */
bool veer_watch_alive(const struct veer_watch_state *s);

/*
 * The version of dir to apply into out: dir/<target of ..data> when dir
 * has the ..data symlink (*configmap set; the target must be a directory
 * directly in dir), else dir. 0, or -1 with err.
 */
int veer_watch_version(const char *dir, char *out, size_t len, bool *configmap,
		       char *err, size_t errlen);

/*
 * FNV-1a over the names and contents of the config files apply -f reads
 * of dir (load.h). 0, or -1 with err (none, or one unreadable).
 */
int veer_watch_hash(const char *dir, uint64_t *hash, char *err, size_t errlen);

/* "2026-11-28T17:05:01.123Z" for unix seconds t. */
#define VEER_WATCH_TIME_LEN 32
const char *veer_watch_time(double t, char *buf, size_t len);

/* The wall clock, unix seconds. */
double veer_watch_now(void);

#endif /* VEER_WATCH_H */

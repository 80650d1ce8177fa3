// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer watch DIR: a reconcile loop that applies DIR, as `veer apply
 * --prune -f DIR` does (the same function, run_change), whenever it
 * changes and on a timer; objects an earlier version held and a new one
 * lacks are deleted in the same change. DIR may be a Kubernetes
 * ConfigMap volume (watch.h says which version of it is read). Events
 * are debounced; in a plain directory a config file still being written
 * (modified or created, not yet closed) is waited for. A version that
 * fails is refused in one log line and the last good configuration
 * stays; the state (generation, last success, last error) goes to the
 * state file beside the store after each attempt.
 *
 * veer watch --etcd URLS --cluster NAME: the same, with the fleet's
 * configuration in etcd (fleet.h) as the desired state: read whole at
 * the start (a restart too: the maps hold what the state file says, and
 * the read finds what moved since) and after a compaction, then watched
 * from the read's revision + 1; each batch of revisions, debounced, is
 * applied whole as one change (the objects as in-memory inputs, pruned,
 * and every object of the node's store the fleet lacks deleted). The
 * generation is the configuration's revision applied. The node's status
 * goes to etcd under a lease after each attempt and every third of the
 * lease's TTL; the watch is woken for those by SIGALRM (its stop flag),
 * and started again from the last revision seen. On SIGTERM the lease is
 * left to expire (the node shows as silent VEER_FLEET_LEASE_TTL later).
 */
#define _GNU_SOURCE /* ppoll */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sys/time.h>

#include "cmd.h"
#include "configure.h"
#include "fleet.h"
#include "load.h"
#include "objects.h"
#include "objset.h"
#include "objstore.h"
#include "watch.h"

struct watch_opts {
	const char *ns; /* objects without metadata.namespace go here */
	struct fleet_target fleet; /* --etcd: the fleet's, not DIR */
	const char *node; /* --node: this node's name in the fleet */
	uint32_t debounce_ms;
	uint32_t resync_s; /* 0: never */
};

static const struct watch_opts watch_defaults = {
	.ns = "default",
	.fleet = FLEET_TARGET_DEFAULTS,
	.debounce_ms = 200,
	.resync_s = 300,
};

/* How long a file open for writing holds an apply back, at most. */
#define WRITER_WAIT_MS 10000U
/* Files being written that are tracked; more are not waited for. */
#define WRITERS_MAX 64
/* A failed apply is tried again after 1 s, 2 s, ... up to the resync. */
#define RETRY_FIRST_MS 1000U
/* ... and at most this long after, with no --resync. */
#define RETRY_MOST_MS 300000U
/* How often a DIR that went away is looked for again. */
#define REWATCH_MS 1000U

#define WATCH_EVENTS                                                           \
	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE |                \
	 IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_MODIFY |           \
	 IN_ONLYDIR)

struct writer {
	char name[NAME_MAX + 1];
	uint64_t since_ms;
};

struct watcher {
	const struct watch_opts *o;
	char state_path[PATH_MAX];
	struct veer_watch_state st;
	int ifd, wd;
	bool dirty; /* an event since the last attempt */
	uint64_t last_event_ms;
	uint64_t resync_at_ms; /* UINT64_MAX: never */
	uint64_t retry_at_ms; /* UINT64_MAX: none */
	uint64_t retry_ms;
	bool tried; /* tried_hash is set */
	uint64_t tried_hash; /* the content of the last attempt */
	bool applied; /* st.hash is what was applied */
	bool failed; /* the last attempt failed */
	bool fleet; /* --etcd: the generation is the revision applied */
	/*
	 * The objects of the version last applied: one a later version no
	 * longer holds is deleted, even when --prune's scope (the kinds
	 * and namespaces of the inputs) no longer covers it.
	 */
	struct veer_objset owned;
	struct writer writers[WRITERS_MAX];
	size_t nwriters;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* "TIME veer: watch: message", one line, to out. */
static void __attribute__((format(printf, 2, 3)))
wlog(FILE *out, const char *fmt, ...)
{
	char ts[VEER_WATCH_TIME_LEN];
	va_list ap;

	fprintf(out, "%s veer: watch: ",
		veer_watch_time(veer_watch_now(), ts, sizeof(ts)));
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	fflush(out);
}

static void save_state(struct watcher *w)
{
	char err[VEER_ERR_LEN];

	if (veer_watch_state_write(w->state_path, &w->st, err, sizeof(err)))
		wlog(stderr, "%s", err);
}

/* ---- files being written (a plain directory) ---- */

static struct writer *writer_find(struct watcher *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->nwriters; i++)
		if (!strcmp(w->writers[i].name, name))
			return &w->writers[i];
	return NULL;
}

static void writer_add(struct watcher *w, const char *name, uint64_t now)
{
	struct writer *wr = writer_find(w, name);

	if (wr || w->nwriters == WRITERS_MAX ||
	    strlen(name) >= sizeof(wr->name))
		return;
	wr = &w->writers[w->nwriters++];
	snprintf(wr->name, sizeof(wr->name), "%s", name);
	wr->since_ms = now;
}

static void writer_remove(struct watcher *w, const char *name)
{
	struct writer *wr = writer_find(w, name);

	if (wr)
		*wr = w->writers[--w->nwriters];
}

/* Forgets files written for longer than WRITER_WAIT_MS (never closed). */
static void writers_expire(struct watcher *w, uint64_t now)
{
	size_t i = 0;

	while (i < w->nwriters) {
		if (w->writers[i].since_ms + WRITER_WAIT_MS <= now)
			w->writers[i] = w->writers[--w->nwriters];
		else
			i++;
	}
}

/* Until when files being written hold an apply back (0: none do). */
static uint64_t writers_until(const struct watcher *w)
{
	uint64_t until = 0;
	size_t i;

	for (i = 0; i < w->nwriters; i++)
		if (w->writers[i].since_ms + WRITER_WAIT_MS > until)
			until = w->writers[i].since_ms + WRITER_WAIT_MS;
	return until;
}

/* Whether dir/name is a regular file (not the kubelet's symlinks). */
static bool is_regular(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- events ---- */

static void add_watch(struct watcher *w)
{
	w->wd = inotify_add_watch(w->ifd, w->st.dir, WATCH_EVENTS);
	if (w->wd >= 0) {
		w->dirty = true;
		w->last_event_ms = mono_ms();
	}
}

static void on_event(struct watcher *w, const struct inotify_event *ev,
		     uint64_t now)
{
	if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
		if (w->wd >= 0) {
			inotify_rm_watch(w->ifd, w->wd);
			wlog(stderr,
			     "%s went away; the last configuration stays, "
			     "watching for it to come back",
			     w->st.dir);
		}
		w->wd = -1;
		w->nwriters = 0;
		return;
	}
	if (ev->len && veer_config_file_name(ev->name)) {
		if ((ev->mask & IN_MODIFY) ||
		    ((ev->mask & IN_CREATE) && is_regular(w->st.dir, ev->name)))
			writer_add(w, ev->name, now);
		if (ev->mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM))
			writer_remove(w, ev->name);
	}
	w->dirty = true;
	w->last_event_ms = now;
}

/* Reads what inotify has; 0, or -1 when it failed. */
static int read_events(struct watcher *w)
{
	char buf[16384]
		__attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	uint64_t now;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(w->ifd, buf, sizeof(buf));
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		now = mono_ms();
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW) {
				/* Events were lost: read it all again. */
				w->dirty = true;
				w->last_event_ms = now;
				w->nwriters = 0;
				continue;
			}
			/* A watch removed (DIR went away) says no more. */
			if (ev->wd == w->wd)
				on_event(w, ev, now);
		}
	}
}

/* ---- applying ---- */

/* Each line of text in the log, under the line that says what it is. */
static void log_lines(const char *text, size_t len)
{
	const char *line = text, *nl;
	char ts[VEER_WATCH_TIME_LEN];

	veer_watch_time(veer_watch_now(), ts, sizeof(ts));
	for (; line < text + len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(text + len - line));
		if (!nl)
			nl = text + len;
		printf("%s   %.*s\n", ts, (int)(nl - line), line);
	}
	fflush(stdout);
}

/* Whether the ConfigMap's ..data moved on from version since. */
static bool superseded(const struct watcher *w, const char *version)
{
	char now[PATH_MAX], err[VEER_ERR_LEN];
	bool configmap;

	return veer_watch_version(w->st.dir, now, sizeof(now), &configmap, err,
				  sizeof(err)) == 0 &&
	       configmap && strcmp(now, version);
}

static void refused(struct watcher *w, const char *version, uint64_t hash,
		    bool have_hash, const char *err)
{
	uint64_t now = mono_ms(), most = w->o->resync_s
						 ? w->o->resync_s * 1000ULL
						 : RETRY_MOST_MS;
	size_t vlen = strlen(version);

	w->retry_at_ms = now + w->retry_ms;
	w->retry_ms = min_u64(w->retry_ms * 2, most);
	/* The same failure again (a retry): said once. */
	if (w->failed && !strcmp(w->st.last_error, err) &&
	    (!have_hash || (w->tried && hash == w->tried_hash)))
		return;
	w->failed = true;
	w->st.errors++;
	w->st.last_error_time = veer_watch_now();
	snprintf(w->st.last_error, sizeof(w->st.last_error), "%s", err);
	/* An error about the version's directory names it already. */
	if (!strncmp(err, version, vlen) && err[vlen] == ':')
		version = "";
	wlog(stderr, "refused %s%s%s; %s %" PRIu64 " stays in force", version,
	     *version ? ": " : "", err, w->fleet ? "revision" : "generation",
	     w->st.generation);
	save_state(w);
}

static void applied(struct watcher *w, const char *version, uint64_t hash,
		    const char *lines, size_t len, bool resync)
{
	bool changed = !w->applied || hash != w->st.hash;

	w->failed = false;
	w->retry_at_ms = UINT64_MAX;
	w->retry_ms = RETRY_FIRST_MS;
	w->applied = true;
	if (changed)
		w->st.generation++;
	w->st.hash = hash;
	snprintf(w->st.version, sizeof(w->st.version), "%s", version);
	w->st.last_success = veer_watch_now();
	save_state(w);
	if (changed && w->fleet)
		wlog(stdout, "applied %s", version);
	else if (changed)
		wlog(stdout,
		     "applied %s: generation %" PRIu64 ", content %016" PRIx64,
		     version, w->st.generation, hash);
	else if (w->fleet)
		wlog(stdout, "%s %s again",
		     resync ? "resync: applied" : "applied", version);
	else
		wlog(stdout, "%s %s again: generation %" PRIu64,
		     resync ? "resync: applied" : "applied", version,
		     w->st.generation);
	log_lines(lines, len);
}

/*
 * The objects of version's config files into *out (initialised here).
 * 0, or -1 with err (a file that does not parse: the apply says why).
 */
static int version_objects(const struct watcher *w, const char *version,
			   struct veer_objset *out, char *err, size_t errlen)
{
	char **files = NULL, *buf;
	size_t n = 0, i, len;
	int ret;

	veer_objset_init(out);
	ret = veer_config_dir_list(version, &files, &n, err, errlen);
	for (i = 0; i < n; i++) {
		if (!ret && !(ret = veer_load_read_file(files[i], &buf, &len,
							err, errlen))) {
			ret = veer_load_objects(files[i], buf, len, w->o->ns,
						out, err, errlen);
			free(buf);
		}
		free(files[i]);
	}
	free(files);
	return ret;
}

/*
 * The keys of the objects applied last that objects (the version now)
 * lacks, into *keys (malloc'd). 0, or -1 out of memory.
 */
static int gone_keys(const struct watcher *w, const struct veer_objset *objects,
		     struct veer_object_key **keys, size_t *count)
{
	size_t i;

	*count = 0;
	*keys = calloc(w->owned.count + 1, sizeof(**keys));
	if (!*keys)
		return -1;
	for (i = 0; i < w->owned.count; i++) {
		const struct veer_object *o = &w->owned.objects[i];

		if (!o->removed && !veer_objset_find(objects, &o->key))
			(*keys)[(*count)++] = o->key;
	}
	return 0;
}

/*
 * One attempt: the version of DIR to apply, read afresh; unless forced
 * (the timer, a retry), nothing happens when its content is the one
 * tried last.
 */
static void reconcile(struct watcher *w, bool force, bool resync)
{
	const char *paths[1];
	char version[PATH_MAX], err[VEER_ERR_LEN], *lines = NULL;
	struct veer_change c = {
		.op = VEER_CHANGE_APPLY,
		.paths = paths,
		.path_count = 1,
		.default_namespace = w->o->ns,
		.prune = true,
	};
	struct veer_object_key *gone = NULL;
	struct veer_objset objects;
	size_t len = 0;
	uint64_t hash = 0;
	bool configmap, known;
	FILE *out;
	int ret;

	w->dirty = false;
	writers_expire(w, mono_ms());
	if (veer_watch_version(w->st.dir, version, sizeof(version), &configmap,
			       err, sizeof(err))) {
		refused(w, w->st.dir, 0, false, err);
		return;
	}
	if (veer_watch_hash(version, &hash, err, sizeof(err))) {
		if (superseded(w, version)) {
			/* The kubelet swapped versions meanwhile. */
			w->dirty = true;
			return;
		}
		refused(w, version, 0, false, err);
		return;
	}
	if (!force && w->tried && hash == w->tried_hash)
		return;
	paths[0] = version;
	/* Unreadable: no deletions; the apply says what is wrong. */
	known = !version_objects(w, version, &objects, err, sizeof(err));
	out = open_memstream(&lines, &len);
	if (!out || (known && gone_keys(w, &objects, &gone, &c.key_count))) {
		if (out)
			fclose(out);
		free(lines);
		free(gone);
		veer_objset_free(&objects);
		refused(w, version, hash, true, "out of memory");
		return;
	}
	c.keys = gone;
	ret = run_change(&c, out, err, sizeof(err));
	fclose(out);
	free(gone);
	if (!ret && known) {
		veer_objset_free(&w->owned);
		w->owned = objects;
		veer_objset_init(&objects);
	}
	veer_objset_free(&objects);
	if (ret && superseded(w, version)) {
		w->dirty = true;
	} else if (ret) {
		refused(w, version, hash, true, err);
	} else {
		applied(w, version, hash, lines, len, resync);
	}
	w->tried = true;
	w->tried_hash = hash;
	free(lines);
}

/* ---- the loop ---- */

/* t, or later while files are being written (UINT64_MAX stays). */
static uint64_t held(const struct watcher *w, uint64_t t)
{
	uint64_t until = writers_until(w);

	return until > t ? until : t;
}

/* When the debounced change may be applied (UINT64_MAX: no change). */
static uint64_t change_due(const struct watcher *w)
{
	if (!w->dirty || w->wd < 0)
		return UINT64_MAX;
	return held(w, w->last_event_ms + w->o->debounce_ms);
}

/*
 * The timeout of the next wait: until the first thing that is due. A
 * retry or a resync waits for a pending change, which reads DIR anyway.
 */
static struct timespec wait_for(const struct watcher *w, uint64_t now)
{
	uint64_t at, ms;

	if (w->dirty && w->wd >= 0)
		at = change_due(w);
	else
		at = held(w, min_u64(w->resync_at_ms, w->retry_at_ms));
	if (w->wd < 0)
		at = min_u64(at, now + REWATCH_MS);
	ms = at <= now ? 0 : min_u64(at - now, 3600 * 1000ULL);
	return (struct timespec){(time_t)(ms / 1000),
				 (long)(ms % 1000) * 1000000L};
}

/*
 * SIGINT and SIGTERM are blocked but while waiting (ppoll), so one that
 * comes during an apply ends the loop right after it, never a wait.
 */
static void run_loop(struct watcher *w)
{
	struct pollfd pfd = {.fd = w->ifd, .events = POLLIN};
	sigset_t stop, waiting;
	struct timespec ts;
	uint64_t now;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigprocmask(SIG_BLOCK, &stop, &waiting);
	while (!cmd_stopping) {
		ts = wait_for(w, mono_ms());
		if (ppoll(&pfd, 1, &ts, &waiting) > 0 && read_events(w)) {
			wlog(stderr, "cannot read inotify events: %s",
			     strerror(errno));
			break;
		}
		if (cmd_stopping)
			break;
		if (w->wd < 0) {
			add_watch(w);
			if (w->wd >= 0)
				wlog(stderr, "%s is back", w->st.dir);
		}
		now = mono_ms();
		if (now >= change_due(w))
			reconcile(w, false, false);
		else if (w->dirty)
			continue;
		else if (now >= held(w, w->retry_at_ms))
			reconcile(w, true, false);
		else if (now >= held(w, w->resync_at_ms))
			reconcile(w, true, true);
		else
			continue;
		if (w->o->resync_s)
			w->resync_at_ms = mono_ms() + w->o->resync_s * 1000ULL;
	}
	sigprocmask(SIG_SETMASK, &waiting, NULL);
}

/*
 * One watch per pin root: an flock on the store directory, held until
 * exit. The lock's fd, or -1 (said).
 */
static int lock_watch(const struct watcher *w)
{
	struct veer_watch_state other;
	char err[VEER_ERR_LEN], dir[PATH_MAX], *slash;
	int fd;

	if (veer_mkdir_parent(w->state_path, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s", w->state_path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		fail("cannot open %s: %s", dir, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno == EWOULDBLOCK &&
	    veer_watch_state_read(cli.pin_root, &other, err, sizeof(err)) == 0)
		fail("another veer watch runs for pin root %s (pid %ld, "
		     "watching %s): one per pin root",
		     cli.pin_root, other.pid, other.dir);
	else
		fail("cannot lock %s: %s", dir, strerror(errno));
	close(fd);
	return -1;
}

/* ---- veer watch --etcd: the fleet's configuration (fleet.h) ---- */

/* The node's status goes to etcd at least this often. */
#define FLEET_REPORT_MS (VEER_FLEET_LEASE_TTL * 1000U / 3)
/* etcd unreachable: tried again after 1 s, 2 s, ... at most this. */
#define FLEET_RETRY_MOST_MS 30000U

struct fleet_watcher {
	struct watcher *w; /* the state, its file, the objects owned */
	struct veer_fleet f;
	struct veer_fleet_config cfg; /* the desired objects */
	int64_t seen; /* the last etcd revision whose changes cfg holds */
	int64_t desired; /* the configuration's revision cfg holds */
	bool full; /* read the whole configuration again */
	bool dirty; /* cfg changed since the last apply */
	uint64_t last_event_ms;
	uint64_t report_at_ms;
	int64_t lease;
	bool report_failed; /* said once */
	bool down; /* etcd unreachable: said once */
	double down_since;
	uint32_t retry_ms;
	char node[VEER_FLEET_NODE_MAX];
};

/* Set by SIGALRM (something is due) and the stop signals. */
static volatile sig_atomic_t fleet_wake;

static void fleet_on_alarm(int sig)
{
	(void)sig;
	fleet_wake = 1;
}

static void fleet_on_stop(int sig)
{
	(void)sig;
	cmd_stopping = 1;
	fleet_wake = 1;
}

static void fleet_signals(void)
{
	struct sigaction stop = {.sa_handler = fleet_on_stop,
				 .sa_flags = SA_RESTART},
			 alarm = {.sa_handler = fleet_on_alarm,
				  .sa_flags = SA_RESTART};

	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGALRM, &alarm, NULL);
}

/* SIGALRM in ms (0: none). */
static void fleet_alarm(uint64_t ms)
{
	struct itimerval it = {
		.it_value = {(time_t)(ms / 1000),
			     (suseconds_t)(ms % 1000) * 1000},
	};

	if (ms && !it.it_value.tv_sec && !it.it_value.tv_usec)
		it.it_value.tv_usec = 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* When the next thing is due (the debounced apply, the report). */
static uint64_t fleet_due(const struct fleet_watcher *fw)
{
	uint64_t at = fw->report_at_ms;

	if (fw->dirty)
		at = min_u64(at, fw->last_event_ms + fw->w->o->debounce_ms);
	if (fw->w->resync_at_ms != UINT64_MAX)
		at = min_u64(at, fw->w->resync_at_ms);
	return at;
}

static void fleet_report(struct fleet_watcher *fw)
{
	struct veer_fleet_status s = {0};
	char err[VEER_ERR_LEN];

	snprintf(s.node, sizeof(s.node), "%s", fw->node);
	s.applied_revision = (int64_t)fw->w->st.generation;
	if (fw->w->failed) {
		snprintf(s.last_error, sizeof(s.last_error), "%s",
			 fw->w->st.last_error);
		s.last_error_time = (int64_t)fw->w->st.last_error_time;
	}
	snprintf(s.version, sizeof(s.version), "%s", VEER_VERSION);
	s.time = (int64_t)veer_watch_now();
	fw->report_at_ms = mono_ms() + FLEET_REPORT_MS;
	if (veer_fleet_report(&fw->f, &s, &fw->lease, err, sizeof(err))) {
		if (!fw->report_failed && !fw->down)
			wlog(stderr, "cannot report to etcd: %s", err);
		fw->report_failed = true;
		return;
	}
	fw->report_failed = false;
}

/* etcd answered again after it did not. */
static void fleet_up(struct fleet_watcher *fw)
{
	if (fw->down)
		wlog(stderr, "etcd answers again, after %.0f s",
		     veer_watch_now() - fw->down_since);
	fw->down = false;
	fw->retry_ms = RETRY_FIRST_MS;
}

/* etcd failed: said once, the last configuration stays; a pause. */
static void fleet_down(struct fleet_watcher *fw, const char *err)
{
	if (!fw->down) {
		wlog(stderr,
		     "etcd: %s; revision %" PRIu64 " stays in force, "
		     "retrying after 1 s, 2 s ... %u s",
		     err, fw->w->st.generation, FLEET_RETRY_MOST_MS / 1000);
		fw->down = true;
		fw->down_since = veer_watch_now();
	}
	fleet_report(fw);
	cmd_nap(fw->retry_ms);
	fw->retry_ms =
		(uint32_t)min_u64(fw->retry_ms * 2ULL, FLEET_RETRY_MOST_MS);
}

/* The configuration at etcd's current revision, whole. 0, or -1 said. */
static int fleet_read(struct fleet_watcher *fw)
{
	struct veer_fleet_config cfg;
	char err[VEER_ERR_LEN];

	veer_fleet_config_init(&cfg);
	if (veer_fleet_read(&fw->f, 0, &cfg, err, sizeof(err))) {
		veer_fleet_config_free(&cfg);
		fleet_down(fw, err);
		return -1;
	}
	fleet_up(fw);
	if (cfg.skipped)
		wlog(stderr,
		     "etcd: %zu key(s) under %sobjects/ are not objects of "
		     "veer's (KIND/NAMESPACE/NAME holding the object's YAML), "
		     "ignored: %.160s",
		     cfg.skipped, fw->f.prefix, cfg.skipped_key);
	veer_fleet_config_free(&fw->cfg);
	fw->cfg = cfg;
	fw->seen = cfg.revision;
	fw->desired = cfg.commit_revision;
	fw->full = false;
	fw->dirty = true;
	/* The first version (and a resync) now, not after a debounce. */
	fw->last_event_ms = mono_ms() - fw->w->o->debounce_ms;
	return 0;
}

/* One revision's changes into the desired objects. */
static int fleet_on_change(void *ctx, int64_t revision,
			   const struct veer_objset *changes, long keys_added)
{
	struct fleet_watcher *fw = ctx;
	size_t i;

	fw->cfg.keys += keys_added;
	fleet_up(fw);
	fw->seen = revision;
	if (!changes->live)
		return 0; /* only keys that are no objects: nothing to apply */

	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];

		if (o->removed)
			continue;
		if (!o->len)
			veer_objset_remove(&fw->cfg.objects, &o->key);
		else if (veer_objset_put(&fw->cfg.objects, &o->key, o->text,
					 o->len, NULL, NULL)) {
			wlog(stderr, "out of memory: reading it all again");
			fw->full = true;
			return 1;
		}
	}
	fw->desired = revision;
	fw->dirty = true;
	fw->last_event_ms = mono_ms();
	fleet_alarm(fw->w->o->debounce_ms ? fw->w->o->debounce_ms : 1);
	return 0;
}

/* A copy of the live objects of from into *to (freed first). 0 or -1. */
static int objset_copy(struct veer_objset *to, const struct veer_objset *from)
{
	size_t i;

	veer_objset_free(to);
	veer_objset_init(to);
	for (i = 0; i < from->count; i++)
		if (!from->objects[i].removed &&
		    veer_objset_put(to, &from->objects[i].key,
				    from->objects[i].text, from->objects[i].len,
				    NULL, NULL))
			return -1;
	return 0;
}

/* The desired objects into the maps, as veer watch DIR applies one. */
static void fleet_apply(struct fleet_watcher *fw, bool resync)
{
	struct watcher *w = fw->w;
	struct veer_change c = {
		.op = VEER_CHANGE_APPLY,
		.objects = &fw->cfg.objects,
		.default_namespace = w->o->ns,
		.prune = true,
	};
	char version[64], err[VEER_ERR_LEN], *lines = NULL;
	struct veer_object_key *gone = NULL;
	size_t len = 0;
	FILE *out;
	int ret;

	fw->dirty = false;
	snprintf(version, sizeof(version), "revision %" PRId64, fw->desired);
	if (!fw->desired) {
		/* A cluster never written (a wrong --cluster?) does not
		 * empty the node: it waits for the first apply --etcd. */
		snprintf(err, sizeof(err),
			 "cluster %s has no configuration in etcd yet (no "
			 "commit record): nothing applied",
			 fw->f.cluster);
		refused(w, version, 0, true, err);
		w->retry_at_ms = UINT64_MAX;
		w->tried = true;
		w->tried_hash = 0;
		fleet_report(fw);
		return;
	}
	out = open_memstream(&lines, &len);
	if (!out || gone_keys(w, &fw->cfg.objects, &gone, &c.key_count)) {
		if (out)
			fclose(out);
		free(lines);
		refused(w, version, 0, false, "out of memory");
		return;
	}
	c.keys = gone;
	ret = run_change(&c, out, err, sizeof(err));
	fclose(out);
	free(gone);
	if (!ret && objset_copy(&w->owned, &fw->cfg.objects)) {
		ret = -1;
		snprintf(err, sizeof(err), "out of memory");
	}
	if (ret) {
		refused(w, version, (uint64_t)fw->desired, true, err);
		/* The same revision is not tried again but by --resync. */
		w->retry_at_ms = UINT64_MAX;
	} else {
		/* The hash stands for the revision, the generation is it:
		 * applied() counts a new one. */
		bool same = w->applied && w->st.hash == (uint64_t)fw->desired;

		w->st.generation = (uint64_t)fw->desired - (same ? 0 : 1);
		applied(w, version, (uint64_t)fw->desired, lines, len, resync);
	}
	w->tried = true;
	w->tried_hash = (uint64_t)fw->desired;
	free(lines);
	fleet_report(fw);
}

/*
 * A watch ended with its changes read (a report or an apply was due).
 * The nodes' own reports move etcd's revision, not the objects': watching
 * on from the last change of the objects would soon start from a
 * compacted revision, and every agent would read the whole configuration
 * again each report period. So when etcd's objects are still those held,
 * the next watch starts from etcd's revision now. The same request tells
 * an etcd gone silent (a partition can hold a watch open without a word)
 * from one that answers.
 */
static void fleet_catch_up(struct fleet_watcher *fw)
{
	char err[VEER_ERR_LEN];
	bool unchanged;
	int64_t at;

	if (veer_fleet_unchanged(&fw->f, fw->cfg.keys, fw->seen, &unchanged,
				 &at, err, sizeof(err))) {
		fleet_down(fw, err);
		return;
	}
	fleet_up(fw);
	if (unchanged && at > fw->seen)
		fw->seen = at;
}

static void fleet_loop(struct fleet_watcher *fw)
{
	struct watcher *w = fw->w;
	char err[VEER_ERR_LEN];
	int64_t compacted;
	uint64_t now, due;
	int ret;

	while (!cmd_stopping) {
		if (fw->full && fleet_read(fw))
			continue;
		now = mono_ms();
		if (fw->dirty && now >= fw->last_event_ms + w->o->debounce_ms)
			fleet_apply(fw, false);
		else if (now >= w->resync_at_ms)
			fleet_apply(fw, true);
		if (w->o->resync_s &&
		    (now >= w->resync_at_ms || w->resync_at_ms == UINT64_MAX))
			w->resync_at_ms = mono_ms() + w->o->resync_s * 1000ULL;
		if (mono_ms() >= fw->report_at_ms)
			fleet_report(fw);
		if (cmd_stopping)
			break;
		now = mono_ms();
		due = fleet_due(fw);
		fleet_wake = 0;
		fleet_alarm(due > now ? due - now : 1);
		ret = veer_fleet_watch(&fw->f, fw->seen + 1, fleet_on_change,
				       fw, &fleet_wake, &compacted, err,
				       sizeof(err));
		fleet_alarm(0);
		if (ret == 1) {
			wlog(stderr,
			     "revision %" PRId64 " was compacted (oldest "
			     "kept: %" PRId64 "): reading it all again",
			     fw->seen + 1, compacted);
			fw->full = true;
		} else if (ret < 0) {
			fleet_down(fw, err);
		} else if (!fw->full) {
			fleet_catch_up(fw);
		}
	}
}

static int run_fleet_watch(struct watcher *w, const struct watch_opts *o)
{
	static struct fleet_watcher fw;
	struct veer_watch_state before;
	struct veer_objstore store;
	char err[VEER_ERR_LEN];
	bool resumed;
	int lock, ret = EXIT_FAILED;

	if (require_root())
		return EXIT_FAILED;
	memset(w, 0, sizeof(*w));
	memset(&fw, 0, sizeof(fw));
	veer_objset_init(&w->owned);
	veer_fleet_config_init(&fw.cfg);
	w->o = o;
	w->ifd = w->wd = -1;
	w->fleet = true;
	fw.w = w;
	if (o->node)
		snprintf(fw.node, sizeof(fw.node), "%s", o->node);
	else if (gethostname(fw.node, sizeof(fw.node) - 1))
		snprintf(fw.node, sizeof(fw.node), "unknown");
	if (!veer_fleet_name_ok(fw.node)) {
		fail("--node %s: not a node name ([A-Za-z0-9._-], 1-63)",
		     fw.node);
		return EXIT_USAGE;
	}
	snprintf(w->st.dir, sizeof(w->st.dir), "etcd %s cluster %s node %s",
		 o->fleet.etcd, o->fleet.cluster, fw.node);
	if (veer_watch_state_path(cli.pin_root, w->state_path,
				  sizeof(w->state_path), err, sizeof(err))) {
		fail("%s", err);
		return EXIT_FAILED;
	}
	lock = lock_watch(w);
	if (lock < 0)
		return EXIT_FAILED;
	/* The fleet owns the node's store: what it lacks goes. */
	if (veer_objstore_open(&store, cli.pin_root, err, sizeof(err)) ||
	    veer_objstore_load(&store, &w->owned, err, sizeof(err)) ||
	    veer_fleet_open(&fw.f, o->fleet.etcd, o->fleet.cluster, err,
			    sizeof(err))) {
		fail("%s", err);
		goto out;
	}
	resumed = veer_watch_state_read(cli.pin_root, &before, err,
					sizeof(err)) == 0 &&
		  !strcmp(before.dir, w->st.dir) && before.generation;
	setvbuf(stdout, NULL, _IOLBF, 0);
	fleet_signals();
	w->st.pid = (long)getpid();
	w->st.start_time = veer_proc_start_time(w->st.pid);
	w->st.started = veer_watch_now();
	w->retry_at_ms = UINT64_MAX;
	w->retry_ms = RETRY_FIRST_MS;
	w->resync_at_ms = UINT64_MAX;
	fw.retry_ms = RETRY_FIRST_MS;
	fw.full = true;
	if (resumed) {
		/* A restart: the maps hold that revision; read anew. */
		w->st.generation = before.generation;
		w->st.hash = before.hash;
		w->applied = true;
	}
	save_state(w);
	wlog(stdout,
	     "watching etcd %s cluster %s as node %s (pid %ld, debounce %u "
	     "ms, resync %s%u s, state %s)",
	     o->fleet.etcd, o->fleet.cluster, fw.node, w->st.pid,
	     o->debounce_ms, o->resync_s ? "" : "off ", o->resync_s,
	     w->state_path);
	if (resumed)
		wlog(stdout,
		     "resuming: revision %" PRIu64 " was applied before; "
		     "reading the configuration whole",
		     before.generation);
	fleet_loop(&fw);
	if (cmd_stopping) {
		wlog(stdout,
		     "stopping: the data plane and the last configuration "
		     "(revision %" PRIu64 ") stay in place; node %s's lease "
		     "expires in %d s",
		     w->st.generation, fw.node, VEER_FLEET_LEASE_TTL);
		ret = 0;
	}
	save_state(w);
	veer_fleet_close(&fw.f);
out:
	veer_fleet_config_free(&fw.cfg);
	veer_objset_free(&w->owned);
	close(lock);
	return ret;
}

static int run_watch(const void *opts, int argc, char **argv)
{
	static struct watcher w; /* large: the writers and the state */
	char err[VEER_ERR_LEN], buf[CLI_QUOTE_BUF];
	struct stat st;
	int lock, ret = EXIT_FAILED;

	if (((const struct watch_opts *)opts)->fleet.etcd) {
		if (argc != 0) {
			fail("expected no DIR with --etcd");
			return EXIT_USAGE;
		}
		return run_fleet_watch(&w, opts);
	}
	if (argc != 1) {
		fail("expected one DIR");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	memset(&w, 0, sizeof(w));
	veer_objset_init(&w.owned);
	w.o = opts;
	w.ifd = w.wd = -1;
	if (!realpath(argv[0], w.st.dir)) {
		fail("%s: %s", cli_quote(argv[0], buf), strerror(errno));
		return EXIT_FAILED;
	}
	if (stat(w.st.dir, &st) || !S_ISDIR(st.st_mode)) {
		fail("%s: not a directory", cli_quote(argv[0], buf));
		return EXIT_FAILED;
	}
	if (veer_watch_state_path(cli.pin_root, w.state_path,
				  sizeof(w.state_path), err, sizeof(err))) {
		fail("%s", err);
		return EXIT_FAILED;
	}
	lock = lock_watch(&w);
	if (lock < 0)
		return EXIT_FAILED;
	w.ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w.ifd < 0 || (add_watch(&w), w.wd < 0)) {
		fail("cannot watch %s: %s", w.st.dir, strerror(errno));
		goto out;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	cmd_catch_stop();
	w.st.pid = (long)getpid();
	w.st.start_time = veer_proc_start_time(w.st.pid);
	w.st.started = veer_watch_now();
	w.retry_at_ms = UINT64_MAX;
	w.retry_ms = RETRY_FIRST_MS;
	w.resync_at_ms = UINT64_MAX;
	save_state(&w);
	wlog(stdout,
	     "watching %s (pid %ld, debounce %u ms, resync %s%u s, state %s)",
	     w.st.dir, w.st.pid, w.o->debounce_ms, w.o->resync_s ? "" : "off ",
	     w.o->resync_s, w.state_path);
	/* The first version now, not after a debounce. */
	w.last_event_ms = mono_ms() - w.o->debounce_ms;
	run_loop(&w);
	if (cmd_stopping) {
		wlog(stdout,
		     "stopping: the data plane and the last configuration "
		     "(generation %" PRIu64 ") stay in place",
		     w.st.generation);
		ret = 0;
	}
	save_state(&w);
out:
	if (w.ifd >= 0)
		close(w.ifd);
	veer_objset_free(&w.owned);
	close(lock);
	return ret;
}

static const struct cli_option watch_options[] = {
	NAMESPACE_OPTION(struct watch_opts, ns,
			 "namespace of objects that name none, as with "
			 "kubectl apply -n"),
	{
		.name = "debounce",
		.type = CLI_U32,
		.field = offsetof(struct watch_opts, debounce_ms),
		.metavar = "MS",
		.min = 0,
		.max = 60000,
		.help = "apply this long after the last change seen",
	},
	{
		.name = "resync",
		.type = CLI_U32,
		.field = offsetof(struct watch_opts, resync_s),
		.metavar = "SEC",
		.min = 0,
		.max = 86400,
		.help = "apply DIR again this often, changed or not, in case "
			"a change was missed or the maps were changed by "
			"other commands (0: never)",
	},
	{
		.name = "etcd",
		.type = CLI_STRING,
		.field = offsetof(struct watch_opts, fleet.etcd),
		.metavar = "URLS",
		.help = "follow the fleet's configuration in this etcd "
			"(comma-separated http:// URLs of its members) "
			"instead of DIR",
	},
	{
		.name = "cluster",
		.type = CLI_STRING,
		.field = offsetof(struct watch_opts, fleet.cluster),
		.metavar = "NAME",
		.help = "with --etcd: the fleet's name, its keys' /veer/NAME/",
	},
	{
		.name = "node",
		.type = CLI_STRING,
		.field = offsetof(struct watch_opts, node),
		.metavar = "NAME",
		.help = "with --etcd: this node's name in the fleet's "
			"status (default: the hostname)",
	},
	{},
};

/* The options' help follows it, from watch_options. */
static const char watch_details[] =
	"  Applies DIR as 'veer apply --prune -f DIR' does, then again\n"
	"  whenever DIR changes (inotify; --debounce MS after the last\n"
	"  change, the files read afresh) and every --resync SEC, until\n"
	"  SIGTERM or SIGINT (exit 0: the data plane and the last\n"
	"  configuration stay in place). DIR is the whole desired state:\n"
	"  stored objects of the kinds and namespaces DIR holds that DIR\n"
	"  does not hold are deleted (--prune), and so is every object an\n"
	"  earlier version of DIR held that the new one lacks. DIR may be a\n"
	"  Kubernetes ConfigMap volume: when it has the kubelet's ..data\n"
	"  symlink, only the complete version ..data points to is read. In\n"
	"  a plain directory a config file still being written (not yet\n"
	"  closed) holds the apply back, at most 10 s. A version that does\n"
	"  not parse or validate is refused in one line on stderr and the\n"
	"  last good configuration stays in force; a failed apply is tried\n"
	"  again after 1 s, 2 s, 4 s ... up to --resync. One watch per pin\n"
	"  root; veer status shows it: the generation (versions applied),\n"
	"  the last success and the last error.\n"
	"  With --etcd URLS (no DIR), the fleet's configuration in etcd is\n"
	"  the desired state instead: read whole, applied, then each new\n"
	"  revision (debounced; a compaction: read whole again); objects\n"
	"  of this node's store that the fleet lacks are deleted. The\n"
	"  node's applied revision and last error go to etcd under a lease\n"
	"  (veer fleet status); veer status's generation is that revision.\n"
	"  etcd unreachable: the last configuration stays, retried after\n"
	"  1 s, 2 s ... 30 s. A restart reads the configuration whole.\n";

const struct cli_command watch_command = {
	.name = "watch",
	.args = "DIR|--etcd URLS [--cluster NAME] [--node NAME] [-n NAMESPACE] "
		"[--debounce MS] [--resync SEC]",
	.summary = "apply DIR whenever it changes (a ConfigMap volume too)",
	.details = watch_details,
	CLI_OPTIONS(watch_options, watch_defaults),
	.run = run_watch,
};

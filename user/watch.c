// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* veer watch's state file and what it reads of DIR (watch.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "load.h"
#include "objstore.h"
#include "watch.h"

/* The state file's first line: what it is, and its format. */
#define STATE_HEADER "# veer watch state, format 1"

int veer_watch_state_path(const char *pin_root, char *buf, size_t len,
			  char *err, size_t errlen)
{
	struct veer_objstore store;
	int n;

	if (veer_objstore_open(&store, pin_root, err, errlen))
		return -1;
	n = snprintf(buf, len, "%s/%s", store.dir, VEER_WATCH_STATE_FILE);
	if (n < 0 || (size_t)n >= len) {
		snprintf(err, errlen, "%s: path too long", store.dir);
		return -1;
	}
	return 0;
}

/* A value as one line: newlines and tabs become spaces. */
static void put_line(FILE *out, const char *key, const char *value)
{
	fprintf(out, "%s ", key);
	for (; *value; value++)
		fputc(*value == '\n' || *value == '\r' || *value == '\t'
			      ? ' '
			      : *value,
		      out);
	fputc('\n', out);
}

int veer_watch_state_format(FILE *out, const struct veer_watch_state *s)
{
	fprintf(out, "%s\n", STATE_HEADER);
	put_line(out, "dir", s->dir);
	fprintf(out, "pid %ld\nstart_time %llu\n", s->pid, s->start_time);
	fprintf(out, "generation %" PRIu64 "\nhash %016" PRIx64 "\n",
		s->generation, s->hash);
	put_line(out, "version", s->version);
	fprintf(out, "errors %" PRIu64 "\n", s->errors);
	fprintf(out, "started %.3f\nlast_success %.3f\nlast_error_time %.3f\n",
		s->started, s->last_success, s->last_error_time);
	put_line(out, "last_error", s->last_error);
	return ferror(out) ? -1 : 0;
}

/* The value of a "key value" line into a string field. */
static void take_string(char *field, size_t size, const char *value, size_t len)
{
	snprintf(field, size, "%.*s", (int)len, value);
}

int veer_watch_state_parse(const char *text, size_t len,
			   struct veer_watch_state *s)
{
	const char *line = text, *end = text + len, *nl, *sp;
	char num[64];
	bool header = false;

	memset(s, 0, sizeof(*s));
	for (; line < end; line = nl + 1) {
		size_t klen, vlen;
		const char *v;

		nl = memchr(line, '\n', (size_t)(end - line));
		if (!nl)
			nl = end;
		if (line == text) {
			header = (size_t)(nl - line) == strlen(STATE_HEADER) &&
				 !memcmp(line, STATE_HEADER,
					 strlen(STATE_HEADER));
			continue;
		}
		sp = memchr(line, ' ', (size_t)(nl - line));
		if (!sp)
			continue;
		klen = (size_t)(sp - line);
		v = sp + 1;
		vlen = (size_t)(nl - v);
#define KEY(k) (klen == sizeof(k) - 1 && !memcmp(line, k, klen))
		if (KEY("dir")) {
			take_string(s->dir, sizeof(s->dir), v, vlen);
			continue;
		}
		if (KEY("version")) {
			take_string(s->version, sizeof(s->version), v, vlen);
			continue;
		}
		if (KEY("last_error")) {
			take_string(s->last_error, sizeof(s->last_error), v,
				    vlen);
			continue;
		}
		take_string(num, sizeof(num), v, vlen);
		if (KEY("pid"))
			s->pid = strtol(num, NULL, 10);
		else if (KEY("start_time"))
			s->start_time = strtoull(num, NULL, 10);
		else if (KEY("generation"))
			s->generation = strtoull(num, NULL, 10);
		else if (KEY("hash"))
			s->hash = strtoull(num, NULL, 16);
		else if (KEY("errors"))
			s->errors = strtoull(num, NULL, 10);
		else if (KEY("started"))
			s->started = strtod(num, NULL);
		else if (KEY("last_success"))
			s->last_success = strtod(num, NULL);
		else if (KEY("last_error_time"))
			s->last_error_time = strtod(num, NULL);
#undef KEY
	}
	return header && s->dir[0] ? 0 : -1;
}

int veer_watch_state_write(const char *path, const struct veer_watch_state *s,
			   char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		  0600);
	f = fd < 0 ? NULL : fdopen(fd, "w");
	if (!f) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (veer_watch_state_format(f, s) | fclose(f)) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	/* Readers see the old state or the new one, never half of one. */
	if (rename(tmp, path)) {
		snprintf(err, errlen, "%s: cannot rename: %s", tmp,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int veer_watch_state_read(const char *pin_root, struct veer_watch_state *s,
			  char *err, size_t errlen)
{
	char path[PATH_MAX], *buf = NULL;
	size_t len = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	if (veer_watch_state_path(pin_root, path, sizeof(path), err, errlen))
		return -1;
	if (access(path, F_OK) && errno == ENOENT)
		return 1;
	if (veer_load_read_file(path, &buf, &len, err, errlen))
		return -1;
	ret = veer_watch_state_parse(buf, len, s);
	free(buf);
	if (ret)
		snprintf(err, errlen, "%s: not a veer watch state file", path);
	return ret;
}

unsigned long long veer_proc_start_time(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* After the command's name, which may hold spaces and ')': the
	 * state is field 3; the start time field 22. */
	p = strrchr(buf, ')');
	/* A zombie has exited: it only waits to be reaped. */
	if (!p || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return 0;
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		start = strtoull(p + 1, NULL, 10);
	return start;
}

bool veer_watch_alive(const struct veer_watch_state *s)
{
	return s->pid > 0 && s->start_time &&
	       veer_proc_start_time(s->pid) == s->start_time;
}

int veer_watch_version(const char *dir, char *out, size_t len, bool *configmap,
		       char *err, size_t errlen)
{
	char link[PATH_MAX], target[PATH_MAX];
	struct stat st;
	ssize_t n;

	*configmap = false;
	snprintf(link, sizeof(link), "%s/" VEER_WATCH_DATA_LINK, dir);
	if (lstat(link, &st) || !S_ISLNK(st.st_mode)) {
		snprintf(out, len, "%s", dir);
		return 0;
	}
	*configmap = true;
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		snprintf(err, errlen, "%s: cannot read the link: %s", link,
			 strerror(errno));
		return -1;
	}
	target[n] = '\0';
	/* The kubelet's target is a sibling: a name, no path. */
	if (!n || strchr(target, '/') || !strcmp(target, ".") ||
	    !strcmp(target, "..")) {
		snprintf(err, errlen,
			 "%s -> %s: not a directory beside it, as the "
			 "kubelet writes",
			 link, target);
		return -1;
	}
	if ((size_t)snprintf(out, len, "%s/%s", dir, target) >= len) {
		snprintf(err, errlen, "%s/%s: path too long", dir, target);
		return -1;
	}
	if (stat(out, &st)) {
		snprintf(err, errlen, "%s -> %s: %s", link, target,
			 strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s -> %s: not a directory", link,
			 target);
		return -1;
	}
	return 0;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}

int veer_watch_hash(const char *dir, uint64_t *hash, char *err, size_t errlen)
{
	uint64_t h = FNV_OFFSET;
	char **files = NULL, *buf;
	size_t n = 0, i, len, dlen = strlen(dir);
	int ret = 0;

	if (veer_config_dir_list(dir, &files, &n, err, errlen))
		return -1;
	for (i = 0; i < n; i++) {
		/* The name relative to dir (and its end), then the bytes. */
		if (!ret) {
			const char *name = files[i] + dlen;

			h = fnv1a(h, name, strlen(name) + 1);
			ret = veer_load_read_file(files[i], &buf, &len, err,
						  errlen);
		}
		if (!ret) {
			h = fnv1a(h, buf, len);
			h = fnv1a(h, &len, sizeof(len));
			free(buf);
		}
		free(files[i]);
	}
	free(files);
	*hash = h;
	return ret;
}

const char *veer_watch_time(double t, char *buf, size_t len)
{
	time_t secs = (time_t)t;
	struct tm tm;
	size_t n;

	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, len, "?");
		return buf;
	}
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ",
		 (int)((t - (double)secs) * 1000.0) % 1000);
	return buf;
}

double veer_watch_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

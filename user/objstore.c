// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The object store on disk (objstore.h). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "diag.h"
#include "objstore.h"

#define HEADER_LINE                                                            \
	"# veer object store, format %u; change it with veer apply and "       \
	"delete\n"
#define SUMMARY_LINE                                                           \
	"# generation %" PRIu64 ", %zu objects, %zu bytes, crc32 0x%08lx\n"
#define RECORD_PREFIX "--- # "
#define NO_NAMESPACE "-"
#define PENDING_SUFFIX ".pending"
#define PREV_SUFFIX ".prev"
#define TMP_SUFFIX ".tmp"
#define LINE_MAX_LEN 512
#define RECOVER_HINT                                                           \
	"veer never resets a store by itself: restore it from %s" PREV_SUFFIX  \
	" (the generation before) or a backup, or move it aside to start "     \
	"empty"

void veer_objstore_init(struct veer_objstore *st)
{
	memset(st, 0, sizeof(*st));
}

void veer_objstore_free(struct veer_objstore *st)
{
	size_t i;

	for (i = 0; i < st->count; i++)
		free(st->objects[i].text);
	free(st->objects);
	free(st->slots);
	veer_objstore_init(st);
}

/* ---- Keys and the index ---- */

static uint64_t key_hash(const struct veer_object_key *key)
{
	const char *parts[3] = {key->kind, key->ns, key->name};
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
	size_t p;
	const char *c;

	for (p = 0; p < 3; p++) {
		for (c = parts[p]; *c; c++)
			h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
		h = (h ^ 0xff) * 0x100000001b3ULL; /* separator */
	}
	return h;
}

static bool key_equal(const struct veer_object_key *a,
		      const struct veer_object_key *b)
{
	return !strcmp(a->kind, b->kind) && !strcmp(a->ns, b->ns) &&
	       !strcmp(a->name, b->name);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t *slot_of(const struct veer_objstore *st,
		       const struct veer_object_key *key)
{
	size_t mask = st->slot_count - 1, i = key_hash(key) & mask;

	for (;; i = (i + 1) & mask) {
		size_t *slot = &st->slots[i];

		if (!*slot || key_equal(&st->objects[*slot - 1].key, key))
			return slot;
	}
}

/*
 * Rebuilds the index for room for `want` objects, dropping removed objects
 * first when `drop_removed` (positions change: the index must follow).
 * 0, or -1 when out of memory (then nothing changed).
 */
static int reindex(struct veer_objstore *st, size_t want, bool drop_removed)
{
	size_t n = 16, i, o = 0, *slots;

	while (n < 2 * want)
		n *= 2;
	slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -1;
	for (i = 0; drop_removed && i < st->count; i++) {
		if (st->objects[i].removed)
			free(st->objects[i].text);
		else
			st->objects[o++] = st->objects[i];
	}
	if (drop_removed)
		st->count = o;
	free(st->slots);
	st->slots = slots;
	st->slot_count = n;
	for (i = 0; i < st->count; i++)
		if (!st->objects[i].removed)
			*slot_of(st, &st->objects[i].key) = i + 1;
	return 0;
}

struct veer_object *veer_objstore_find(const struct veer_objstore *st,
				       const struct veer_object_key *key)
{
	size_t *slot;

	if (!st->slot_count)
		return NULL;
	slot = slot_of(st, key);
	if (!*slot || st->objects[*slot - 1].removed)
		return NULL;
	return &st->objects[*slot - 1];
}

int veer_objstore_put(struct veer_objstore *st,
		      const struct veer_object_key *key, const char *text,
		      size_t len, bool *replaced, bool *changed)
{
	struct veer_object *obj = NULL;
	char *copy;
	size_t *slot;

	if (st->slot_count) {
		slot = slot_of(st, key);
		if (*slot)
			obj = &st->objects[*slot - 1];
	}
	if (replaced)
		*replaced = obj && !obj->removed;
	if (changed)
		*changed = !obj || obj->removed || obj->len != len ||
			   memcmp(obj->text, text, len);
	copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (obj) {
		/* A removed object comes back in its old place. */
		if (obj->removed)
			st->live++;
		free(obj->text);
		obj->text = copy;
		obj->len = len;
		obj->removed = false;
		return 0;
	}
	if (st->count == st->capacity) {
		size_t cap = st->capacity ? 2 * st->capacity : 16;
		struct veer_object *grown =
			realloc(st->objects, cap * sizeof(*grown));

		if (!grown)
			goto oom;
		st->objects = grown;
		st->capacity = cap;
	}
	if (2 * (st->count + 1) > st->slot_count &&
	    reindex(st, st->count + 1, false))
		goto oom;
	obj = &st->objects[st->count];
	memset(obj, 0, sizeof(*obj));
	obj->key = *key;
	obj->text = copy;
	obj->len = len;
	*slot_of(st, key) = ++st->count;
	st->live++;
	return 0;
oom:
	free(copy);
	return -1;
}

bool veer_objstore_remove(struct veer_objstore *st,
			  const struct veer_object_key *key)
{
	struct veer_object *obj = veer_objstore_find(st, key);

	if (!obj)
		return false;
	obj->removed = true;
	st->live--;
	/* Compaction moves objects: pointers from find do not survive. */
	if (st->count - st->live > st->live + 64)
		reindex(st, st->live, true);
	return true;
}

int veer_objstore_copy(struct veer_objstore *dst,
		       const struct veer_objstore *src)
{
	size_t i;

	veer_objstore_init(dst);
	dst->generation = src->generation;
	for (i = 0; i < src->count; i++) {
		const struct veer_object *o = &src->objects[i];

		if (!o->removed && veer_objstore_put(dst, &o->key, o->text,
						     o->len, NULL, NULL)) {
			veer_objstore_free(dst);
			return -1;
		}
	}
	return 0;
}

const char *veer_object_id(const struct veer_object_key *key, char *buf,
			   size_t len)
{
	if (key->ns[0])
		snprintf(buf, len, "%s %s/%s", key->kind, key->ns, key->name);
	else
		snprintf(buf, len, "%s %s", key->kind, key->name);
	return buf;
}

/* ---- Paths ---- */

int veer_objstore_path(const char *pin_root, char *buf, size_t len, char *err,
		       size_t errlen)
{
	const char *env = getenv("VEER_STORE");
	const char *dir = getenv(VEER_STATE_DIR_ENV);
	int n;

	if (env && *env) {
		if (env[0] != '/')
			return veer_fail_at(err, errlen, NULL, 0, 0,
					    "VEER_STORE must be an absolute "
					    "path");
		n = snprintf(buf, len, "%s", env);
	} else {
		if (!dir || !*dir)
			dir = VEER_STATE_DIR_DEFAULT;
		if (dir[0] != '/')
			return veer_fail_at(err, errlen, NULL, 0, 0,
					    "%s must be an absolute path",
					    VEER_STATE_DIR_ENV);
		n = snprintf(buf, len, "%s/pins%s/%s", dir, pin_root,
			     VEER_OBJSTORE_FILE);
	}
	if (n < 0 || (size_t)n >= len ||
	    (size_t)n + sizeof(PENDING_SUFFIX TMP_SUFFIX) > PATH_MAX)
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "object store path too long");
	return 0;
}

static int suffixed(char *buf, size_t len, const char *path, const char *suffix)
{
	int n = snprintf(buf, len, "%s%s", path, suffix);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* mkdir -p of path's directory, each new level mode 0700. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		goto fail;
	return 0;
fail:
	return veer_fail_at(err, errlen, NULL, 0, 0, "cannot create %s: %s",
			    dir, strerror(errno));
}

static int fsync_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int fd, ret;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -1;
	if (slash == dir)
		slash++;
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

void veer_objstore_test_point(const char *point)
{
	const char *want = getenv("VEER_TEST_STORE_KILL");

	if (want && !strcmp(want, point))
		raise(SIGKILL);
}

/* zlib's crc32 takes uInt lengths: larger buffers go in pieces. */
static unsigned long crc_of(const char *buf, size_t len)
{
	unsigned long crc = crc32(0L, Z_NULL, 0);
	size_t chunk;

	for (; len; buf += chunk, len -= chunk) {
		chunk = len > UINT_MAX ? UINT_MAX : len;
		crc = crc32(crc, (const Bytef *)buf, (uInt)chunk);
	}
	return crc;
}

/* ---- Reading ---- */

/*
 * The whole file, NUL-terminated. 1 when it does not exist. Refuses files
 * an unprivileged user could have planted or changed: the store decides
 * where traffic goes.
 */
static int read_file(const char *path, char **out, size_t *out_len, char *err,
		     size_t errlen)
{
	struct stat stbuf;
	size_t got = 0;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0)
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot open the object store: %s",
				    strerror(errno));
	if (fstat(fd, &stbuf) || !S_ISREG(stbuf.st_mode)) {
		close(fd);
		return veer_fail_at(err, errlen, path, 0, 0,
				    "the object store is not a regular file");
	}
	if (stbuf.st_uid != geteuid() || (stbuf.st_mode & 022)) {
		close(fd);
		return veer_fail_at(
			err, errlen, path, 0, 0,
			"the object store is owned by uid %u with mode %03o; "
			"it must belong to uid %u and be writable by it alone",
			(unsigned int)stbuf.st_uid,
			(unsigned int)(stbuf.st_mode & 0777),
			(unsigned int)geteuid());
	}
	if ((unsigned long long)stbuf.st_size > VEER_OBJSTORE_MAX_BYTES) {
		close(fd);
		return veer_fail_at(
			err, errlen, path, 0, 0,
			"the object store is larger than %llu "
			"bytes",
			(unsigned long long)VEER_OBJSTORE_MAX_BYTES);
	}
	buf = malloc((size_t)stbuf.st_size + 1);
	if (!buf) {
		close(fd);
		return veer_fail_at(err, errlen, path, 0, 0, "out of memory");
	}
	while (got < (size_t)stbuf.st_size) {
		n = read(fd, buf + got, (size_t)stbuf.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != (size_t)stbuf.st_size) {
		free(buf);
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot read the object store");
	}
	buf[got] = '\0';
	*out = buf;
	*out_len = got;
	return 0;
}

/* The next line of buf[*pos..len) without its '\n'; NULL at the end. */
static const char *next_line(const char *buf, size_t len, size_t *pos,
			     size_t *line_len)
{
	const char *start = buf + *pos, *nl;

	if (*pos >= len)
		return NULL;
	nl = memchr(start, '\n', len - *pos);
	if (!nl)
		return NULL;
	*line_len = (size_t)(nl - start);
	*pos += *line_len + 1;
	return start;
}

static bool token_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= max)
		return false;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static int parse_store(struct veer_objstore *st, const char *path,
		       const char *buf, size_t len, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN], kind[LINE_MAX_LEN], ns[LINE_MAX_LEN],
		name[LINE_MAX_LEN];
	unsigned long long generation, objects, bytes, obj_len;
	unsigned long crc, want_crc;
	unsigned int format;
	size_t pos = 0, line_len, line_no = 2, count = 0;
	const char *l;
	struct veer_object_key key;
	int n;

	l = next_line(buf, len, &pos, &line_len);
	if (!l || line_len >= sizeof(line))
		goto not_store;
	memcpy(line, l, line_len);
	line[line_len] = '\0';
	if (sscanf(line,
		   "# veer object store, format %u; change it with veer "
		   "apply and delete%n",
		   &format, &n) != 1 ||
	    (size_t)n != line_len)
		goto not_store;
	if (format != VEER_OBJSTORE_FORMAT)
		return veer_fail_at(err, errlen, path, 1, 1,
				    "object store format %u; this veer reads "
				    "format %u (use the veer that wrote it, "
				    "or a newer one)",
				    format, VEER_OBJSTORE_FORMAT);
	l = next_line(buf, len, &pos, &line_len);
	if (!l || line_len >= sizeof(line))
		goto truncated;
	memcpy(line, l, line_len);
	line[line_len] = '\0';
	if (sscanf(line,
		   "# generation %llu, %llu objects, %llu bytes, crc32 "
		   "0x%lx%n",
		   &generation, &objects, &bytes, &want_crc, &n) != 4 ||
	    (size_t)n != line_len)
		return veer_fail_at(
			err, errlen, path, 2, 1,
			"damaged object store: bad summary line; " RECOVER_HINT,
			path);
	if (bytes != len - pos)
		return veer_fail_at(
			err, errlen, path, 0, 0,
			"truncated or damaged object store: %llu "
			"bytes of objects expected, %zu found; " RECOVER_HINT,
			bytes, len - pos, path);
	crc = crc_of(buf + pos, len - pos);
	if (crc != want_crc)
		return veer_fail_at(err, errlen, path, 0, 0,
				    "damaged object store: checksum 0x%08lx, "
				    "expected 0x%08lx; " RECOVER_HINT,
				    crc, want_crc, path);
	st->generation = generation;
	while (pos < len) {
		line_no++;
		l = next_line(buf, len, &pos, &line_len);
		if (!l || line_len >= sizeof(line) ||
		    line_len < strlen(RECORD_PREFIX) ||
		    memcmp(l, RECORD_PREFIX, strlen(RECORD_PREFIX)))
			goto damaged;
		memcpy(line, l, line_len);
		line[line_len] = '\0';
		if (sscanf(line, "--- # %s %s %s %llu%n", kind, ns, name,
			   &obj_len, &n) != 4 ||
		    (size_t)n != line_len || !token_ok(kind, VEER_KIND_MAX) ||
		    !token_ok(ns, VEER_OBJ_NS_MAX) ||
		    !token_ok(name, VEER_OBJ_NAME_MAX) ||
		    obj_len > VEER_OBJECT_MAX_BYTES || obj_len > len - pos ||
		    obj_len == 0 || buf[pos + obj_len - 1] != '\n')
			goto damaged;
		memset(&key, 0, sizeof(key));
		snprintf(key.kind, sizeof(key.kind), "%s", kind);
		snprintf(key.ns, sizeof(key.ns), "%s",
			 strcmp(ns, NO_NAMESPACE) ? ns : "");
		snprintf(key.name, sizeof(key.name), "%s", name);
		if (veer_objstore_find(st, &key))
			goto damaged;
		if (veer_objstore_put(st, &key, buf + pos, (size_t)obj_len,
				      NULL, NULL))
			return veer_fail_at(err, errlen, path, 0, 0,
					    "out of memory");
		count++;
		/* Line numbers only for messages: count the text's lines. */
		for (; obj_len; obj_len--)
			line_no += buf[pos++] == '\n';
	}
	if (count != objects)
		goto damaged_count;
	return 0;
not_store:
	return veer_fail_at(err, errlen, path, 1, 1,
			    "not a veer object store (no header line); move it "
			    "aside or remove it to start empty");
truncated:
	return veer_fail_at(
		err, errlen, path, 0, 0,
		"truncated object store (no summary line); " RECOVER_HINT,
		path);
damaged:
	return veer_fail_at(err, errlen, path, line_no, 1,
			    "damaged object store: bad record; " RECOVER_HINT,
			    path);
damaged_count:
	return veer_fail_at(err, errlen, path, 0, 0,
			    "damaged object store: %zu objects, the summary "
			    "says %llu; " RECOVER_HINT,
			    count, objects, path);
}

int veer_objstore_load(struct veer_objstore *st, const char *path, char *err,
		       size_t errlen)
{
	size_t len = 0;
	char *buf = NULL;
	int ret;

	veer_objstore_init(st);
	ret = read_file(path, &buf, &len, err, errlen);
	if (ret)
		return ret;
	ret = parse_store(st, path, buf, len, err, errlen);
	free(buf);
	if (ret)
		veer_objstore_free(st);
	return ret;
}

int veer_objstore_load_pending(struct veer_objstore *st, const char *path,
			       char *err, size_t errlen)
{
	char pending[PATH_MAX];

	if (suffixed(pending, sizeof(pending), path, PENDING_SUFFIX))
		return veer_fail_at(err, errlen, path, 0, 0, "path too long");
	return veer_objstore_load(st, pending, err, errlen);
}

/* ---- Writing ---- */

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The records, in order, into a malloc'd buffer. */
static char *render_records(const struct veer_objstore *st, size_t *out_len,
			    size_t *objects)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*objects = 0;
	for (i = 0; i < st->count; i++) {
		const struct veer_object *o = &st->objects[i];

		if (o->removed)
			continue;
		fprintf(f, RECORD_PREFIX "%s %s %s %zu\n", o->key.kind,
			o->key.ns[0] ? o->key.ns : NO_NAMESPACE, o->key.name,
			o->len);
		fwrite(o->text, 1, o->len, f);
		(*objects)++;
	}
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	*out_len = len;
	return buf;
}

int veer_objstore_write_pending(const struct veer_objstore *st,
				const char *path, char *err, size_t errlen)
{
	char pending[PATH_MAX], tmp[PATH_MAX], header[LINE_MAX_LEN];
	size_t body_len = 0, objects = 0;
	unsigned long crc;
	char *body;
	int fd, hlen, saved;

	if (suffixed(pending, sizeof(pending), path, PENDING_SUFFIX) ||
	    suffixed(tmp, sizeof(tmp), pending, TMP_SUFFIX))
		return veer_fail_at(err, errlen, path, 0, 0, "path too long");
	if (make_parent(path, err, errlen))
		return -1;
	body = render_records(st, &body_len, &objects);
	if (!body)
		return veer_fail_at(err, errlen, path, 0, 0, "out of memory");
	crc = crc_of(body, body_len);
	hlen = snprintf(header, sizeof(header), HEADER_LINE SUMMARY_LINE,
			VEER_OBJSTORE_FORMAT, st->generation + 1, objects,
			body_len, crc);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		saved = errno;
		free(body);
		return veer_fail_at(err, errlen, tmp, 0, 0, "cannot create: %s",
				    strerror(saved));
	}
	if (write_all(fd, header, (size_t)hlen) ||
	    write_all(fd, body, body_len) || fsync(fd)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		free(body);
		return veer_fail_at(err, errlen, tmp, 0, 0, "cannot write: %s",
				    strerror(saved));
	}
	free(body);
	close(fd);
	veer_objstore_test_point("pending-tmp");
	if (rename(tmp, pending)) {
		saved = errno;
		unlink(tmp);
		return veer_fail_at(err, errlen, pending, 0, 0,
				    "cannot rename into place: %s",
				    strerror(saved));
	}
	if (fsync_parent(pending))
		return veer_fail_at(err, errlen, pending, 0, 0,
				    "cannot sync its directory: %s",
				    strerror(errno));
	return 0;
}

int veer_objstore_commit(const char *path, char *err, size_t errlen)
{
	char pending[PATH_MAX], prev[PATH_MAX], prev_tmp[PATH_MAX];

	if (suffixed(pending, sizeof(pending), path, PENDING_SUFFIX) ||
	    suffixed(prev, sizeof(prev), path, PREV_SUFFIX) ||
	    suffixed(prev_tmp, sizeof(prev_tmp), prev, TMP_SUFFIX))
		return veer_fail_at(err, errlen, path, 0, 0, "path too long");
	/* The generation before stays readable, for a human to go back. */
	unlink(prev_tmp);
	if (link(path, prev_tmp) == 0 && rename(prev_tmp, prev))
		unlink(prev_tmp);
	if (rename(pending, path))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot rename %s into place: %s", pending,
				    strerror(errno));
	if (fsync_parent(path))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot sync its directory: %s",
				    strerror(errno));
	return 0;
}

int veer_objstore_discard_pending(const char *path, char *err, size_t errlen)
{
	char pending[PATH_MAX];

	if (suffixed(pending, sizeof(pending), path, PENDING_SUFFIX))
		return veer_fail_at(err, errlen, path, 0, 0, "path too long");
	if (unlink(pending) && errno != ENOENT)
		return veer_fail_at(err, errlen, pending, 0, 0,
				    "cannot remove: %s", strerror(errno));
	return 0;
}

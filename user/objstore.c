// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The object store on disk (objstore.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
#define SUMMARY_LINE "# %zu objects, %zu bytes, crc32 0x%08lx\n"
#define RECORD_PREFIX "--- # "
#define NO_NAMESPACE "-"
#define OBJECTS_DIR "objects"
#define INDEX_DIR "index"
#define TRANSACTION_FILE "transaction"
#define TMP_SUFFIX ".tmp"
#define OBJECT_SUFFIX ".yaml"
#define LINE_MAX_LEN 512
#define RECOVER_HINT                                                           \
	"veer never resets it by itself: restore the file from a backup, or "  \
	"move it aside and apply again the objects its '--- #' lines name"

/*
 * The whole file, NUL-terminated. 1 when it does not exist. Refuses files
 * an unprivileged user could have planted or changed: the store decides
 * where traffic goes.
 */
static int read_file(const char *path, unsigned long long max, char **out,
		     size_t *out_len, char *err, size_t errlen)
{
	struct stat stbuf;
	size_t got = 0;
	char *buf;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	if (fd < 0 && errno == ELOOP)
		return veer_fail_at(err, errlen, path, 0, 0,
				    "a symlink: the store holds only "
				    "directories and files, no symlinks");
	if (fd < 0)
		return veer_fail_at(err, errlen, path, 0, 0, "cannot open: %s",
				    strerror(errno));
	if (fstat(fd, &stbuf) || !S_ISREG(stbuf.st_mode)) {
		close(fd);
		return veer_fail_at(err, errlen, path, 0, 0,
				    "not a regular file");
	}
	if (stbuf.st_uid != geteuid() || (stbuf.st_mode & 022)) {
		close(fd);
		return veer_fail_at(
			err, errlen, path, 0, 0,
			"owned by uid %u with mode %03o; veer trusts only "
			"files of uid %u that no one else can write",
			(unsigned int)stbuf.st_uid,
			(unsigned int)(stbuf.st_mode & 0777),
			(unsigned int)geteuid());
	}
	if ((unsigned long long)stbuf.st_size > max) {
		close(fd);
		return veer_fail_at(err, errlen, path, 0, 0,
				    "larger than %llu bytes; " RECOVER_HINT,
				    max);
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
		return veer_fail_at(err, errlen, path, 0, 0, "cannot read");
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

/* The '\n's of buf[0..len). */
static size_t count_lines(const char *buf, size_t len)
{
	const char *end = buf + len, *nl;
	size_t n = 0;

	for (; buf < end && (nl = memchr(buf, '\n', (size_t)(end - buf)));
	     buf = nl + 1)
		n++;
	return n;
}

bool veer_objstore_token_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n == 0 || n >= max)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

static bool key_ok(const struct veer_object_key *k)
{
	return veer_objstore_token_ok(k->kind, sizeof(k->kind)) &&
	       (!k->ns[0] || veer_objstore_token_ok(k->ns, sizeof(k->ns))) &&
	       strcmp(k->ns, NO_NAMESPACE) &&
	       veer_objstore_token_ok(k->name, sizeof(k->name));
}

/*
 * The next blank-separated token of a record line into buf (size max):
 * false when there is none or it does not fit.
 */
static bool record_token(const char **p, const char *end, char *buf, size_t max)
{
	const char *start = *p;
	size_t n;

	while (*p < end && **p != ' ')
		(*p)++;
	n = (size_t)(*p - start);
	if (n == 0 || n >= max)
		return false;
	memcpy(buf, start, n);
	buf[n] = '\0';
	if (*p < end)
		(*p)++; /* the blank */
	return true;
}

/*
 * "--- # KIND NS NAME LENGTH" (line without its '\n') into key and *len:
 * what sscanf("--- # %s %s %s %llu") took, one blank between fields and
 * the length in decimal digits, without sscanf's cost per record.
 */
static bool parse_record_line(const char *l, size_t line_len,
			      struct veer_object_key *key,
			      unsigned long long *len)
{
	const char *p = l + strlen(RECORD_PREFIX), *end = l + line_len;
	char ns[VEER_OBJ_NS_MAX];
	unsigned long long v = 0;
	size_t digits = 0;

	memset(key, 0, sizeof(*key));
	if (!record_token(&p, end, key->kind, sizeof(key->kind)) ||
	    !record_token(&p, end, ns, sizeof(ns)) ||
	    !record_token(&p, end, key->name, sizeof(key->name)))
		return false;
	for (; p < end && *p >= '0' && *p <= '9' && digits < 19; p++, digits++)
		v = v * 10 + (unsigned long long)(*p - '0');
	if (!digits || p != end)
		return false;
	if (strcmp(ns, NO_NAMESPACE))
		memcpy(key->ns, ns, strlen(ns) + 1);
	*len = v;
	return true;
}

/*
 * What a parse does with each record: the key, where its line starts and
 * its text (buf + text, len bytes). 0, 1 when the file is damaged (a
 * duplicate), -1 when out of memory.
 */
struct record_sink {
	int (*fn)(struct record_sink *sink, const struct veer_object_key *key,
		  const char *buf, size_t line, size_t text, size_t len);
};

/* Records into a set; with `only`, that object alone. */
struct set_sink {
	struct record_sink sink;
	struct veer_objset *set;
	const struct veer_object_key *only;
};

static int put_record(struct record_sink *sink,
		      const struct veer_object_key *key, const char *buf,
		      size_t line, size_t text, size_t len)
{
	struct set_sink *s = (struct set_sink *)sink;

	(void)line;
	if (s->only && memcmp(key, s->only, sizeof(*key)))
		return 0;
	if (veer_objset_find(s->set, key))
		return 1;
	return veer_objset_put(s->set, key, buf + text, len, NULL, NULL);
}

/*
 * Parses a store file (header, summary, records), handing each record to
 * sink. Deletions (records of length 0) only when allow_deletes (a
 * transaction). *records_at: where the records start (after the summary).
 */
static int parse_file(struct record_sink *sink, const char *path,
		      const char *buf, size_t len, bool allow_deletes,
		      size_t *records_at, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN];
	unsigned long long objects, bytes, obj_len;
	unsigned long want_crc, crc;
	size_t pos = 0, line_len, line_at = 0, count = 0;
	unsigned int format;
	struct veer_object_key key;
	const char *l;
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
		return veer_fail_at(
			err, errlen, path, 0, 0,
			"truncated: no summary line; " RECOVER_HINT);
	memcpy(line, l, line_len);
	line[line_len] = '\0';
	if (sscanf(line, "# %llu objects, %llu bytes, crc32 0x%lx%n", &objects,
		   &bytes, &want_crc, &n) != 3 ||
	    (size_t)n != line_len)
		return veer_fail_at(err, errlen, path, 2, 1,
				    "damaged: bad summary line; " RECOVER_HINT);
	if (bytes != len - pos)
		return veer_fail_at(
			err, errlen, path, 0, 0,
			"truncated or damaged: %llu bytes of "
			"objects expected, %zu found; " RECOVER_HINT,
			bytes, len - pos);
	*records_at = pos;
	crc = crc_of(buf + pos, len - pos);
	if (crc != want_crc)
		return veer_fail_at(err, errlen, path, 0, 0,
				    "damaged: checksum 0x%08lx, expected "
				    "0x%08lx; " RECOVER_HINT,
				    crc, want_crc);
	while (pos < len) {
		line_at = pos;
		l = next_line(buf, len, &pos, &line_len);
		if (!l || line_len >= sizeof(line) ||
		    line_len < strlen(RECORD_PREFIX) ||
		    memcmp(l, RECORD_PREFIX, strlen(RECORD_PREFIX)))
			goto damaged;
		if (!parse_record_line(l, line_len, &key, &obj_len) ||
		    obj_len > VEER_OBJECT_MAX_BYTES || obj_len > len - pos ||
		    (obj_len == 0 && !allow_deletes) ||
		    (obj_len && buf[pos + obj_len - 1] != '\n') ||
		    !key_ok(&key))
			goto damaged;
		n = sink->fn(sink, &key, buf, line_at, pos, (size_t)obj_len);
		if (n > 0)
			goto damaged;
		if (n < 0)
			return veer_fail_at(err, errlen, path, 0, 0,
					    "out of memory");
		count++;
		pos += (size_t)obj_len;
	}
	if (count != objects)
		return veer_fail_at(err, errlen, path, 0, 0,
				    "damaged: %zu objects, the summary says "
				    "%llu; " RECOVER_HINT,
				    count, objects);
	return 0;
not_store:
	return veer_fail_at(
		err, errlen, path, 1, 1,
		"not a veer object store file (no header line); " RECOVER_HINT);
damaged:
	/* Lines are counted only here: a good file costs no count. */
	return veer_fail_at(err, errlen, path, count_lines(buf, line_at) + 1, 1,
			    "damaged: bad record line; " RECOVER_HINT);
}

/* Reads one store file into *set: 0, 1 when absent, -1 with err. */
static int read_records(struct veer_objset *set, const char *path,
			unsigned long long max, bool allow_deletes,
			const struct veer_object_key *only, char *err,
			size_t errlen)
{
	size_t len = 0;
	char *buf = NULL;
	int ret;

	ret = read_file(path, max, &buf, &len, err, errlen);
	if (ret)
		return ret;
	{
		struct set_sink sink = {{put_record}, set, only};
		size_t at;

		ret = parse_file(&sink.sink, path, buf, len, allow_deletes, &at,
				 err, errlen);
	}
	free(buf);
	return ret;
}

/* The records of set (deletions as length 0), header first. */
static char *render(const struct veer_objset *set, size_t *out_len)
{
	char *records = NULL, *all = NULL;
	size_t rlen = 0, alen = 0, objects = 0, i;
	FILE *f = open_memstream(&records, &rlen);

	if (!f)
		return NULL;
	for (i = 0; i < set->count; i++) {
		const struct veer_object *o = &set->objects[i];

		if (o->removed)
			continue;
		fprintf(f, RECORD_PREFIX "%s %s %s %zu\n", o->key.kind,
			o->key.ns[0] ? o->key.ns : NO_NAMESPACE, o->key.name,
			o->len);
		fwrite(o->text, 1, o->len, f);
		objects++;
	}
	if (fclose(f))
		goto out;
	f = open_memstream(&all, &alen);
	if (!f)
		goto out;
	fprintf(f, HEADER_LINE SUMMARY_LINE, VEER_OBJSTORE_FORMAT, objects,
		rlen, crc_of(records, rlen));
	fwrite(records, 1, rlen, f);
	if (fclose(f)) {
		free(all);
		all = NULL;
	}
	*out_len = alen;
out:
	free(records);
	return all;
}

enum sync_mode {
	SYNC_FILE, /* the data before the rename (its directory later) */
	SYNC_ALL, /* the data before the rename, the directory after it */
};

/*
 * Writes buf[0..len), which lies in the malloc'd block alloc (taken), to
 * path through path.tmp and a rename, made durable.
 */
static int write_data(char *alloc, const char *buf, size_t len,
		      const char *path, enum sync_mode sync, char *err,
		      size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, saved;

	snprintf(tmp, sizeof(tmp), "%s" TMP_SUFFIX, path);
	if (!alloc)
		return veer_fail_at(err, errlen, path, 0, 0, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0) {
		saved = errno;
		free(alloc);
		return veer_fail_at(err, errlen, tmp, 0, 0, "cannot create: %s",
				    strerror(saved));
	}
	if (write_all(fd, buf, len) || fsync(fd)) {
		saved = errno;
		close(fd);
		unlink(tmp);
		free(alloc);
		return veer_fail_at(err, errlen, tmp, 0, 0, "cannot write: %s",
				    strerror(saved));
	}
	free(alloc);
	close(fd);
	if (rename(tmp, path)) {
		saved = errno;
		unlink(tmp);
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot rename into place: %s",
				    strerror(saved));
	}
	if (sync == SYNC_ALL && fsync_parent(path))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot sync its directory: %s",
				    strerror(errno));
	return 0;
}

/* Writes set to path through path.tmp and a rename, made durable. */
static int write_records(const struct veer_objset *set, const char *path,
			 enum sync_mode sync, char *err, size_t errlen)
{
	size_t len = 0;
	char *buf = render(set, &len);

	return write_data(buf, buf, len, path, sync, err, errlen);
}

/* ---- Layout ---- */

static int dir_trusted(const char *path, char *err, size_t errlen)
{
	struct stat stbuf;

	if (lstat(path, &stbuf)) {
		if (errno == ENOENT)
			return 0;
		return veer_fail_at(err, errlen, path, 0, 0, "cannot stat: %s",
				    strerror(errno));
	}
	if (!S_ISDIR(stbuf.st_mode))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "the object store must be a directory");
	if (stbuf.st_uid != geteuid() || (stbuf.st_mode & 022))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "object store directory owned by uid %u "
				    "with mode %03o; veer trusts only one of "
				    "uid %u that no one else can write",
				    (unsigned int)stbuf.st_uid,
				    (unsigned int)(stbuf.st_mode & 0777),
				    (unsigned int)geteuid());
	return 0;
}

int veer_objstore_open(struct veer_objstore *st, const char *pin_root,
		       char *err, size_t errlen)
{
	const char *dir = getenv(VEER_STATE_DIR_ENV);
	int n;

	if (!dir || !*dir)
		dir = VEER_STATE_DIR_DEFAULT;
	if (dir[0] != '/')
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "%s must be an absolute path",
				    VEER_STATE_DIR_ENV);
	n = snprintf(st->dir, sizeof(st->dir), "%s/pins%s", dir, pin_root);
	/* Room below it for objects/KIND/NS/NAME.yaml.tmp. */
	if (n < 0 || (size_t)n + 16 + VEER_KIND_MAX + VEER_OBJ_NS_MAX +
				     VEER_OBJ_NAME_MAX >=
			     sizeof(st->dir))
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "object store path too long: %s/pins%s",
				    dir, pin_root);
	return dir_trusted(st->dir, err, errlen);
}

bool veer_objstore_exists(const struct veer_objstore *st)
{
	char path[PATH_MAX];
	struct stat stbuf;

	snprintf(path, sizeof(path), "%s/" OBJECTS_DIR, st->dir);
	return stat(path, &stbuf) == 0;
}

/* The store's two areas: the objects, and the index kept beside them. */
enum area { AREA_OBJECTS, AREA_INDEX, AREAS };

static const char *const area_dirs[AREAS] = {OBJECTS_DIR, INDEX_DIR};

static enum area area_of(const struct veer_object_key *key)
{
	return key->kind[0] == VEER_OBJSTORE_INDEX_MARK ? AREA_INDEX
							: AREA_OBJECTS;
}

/*
 * An area's directory, if there, must be a directory of its own: the
 * store is trusted, where a symlink in it would lead is not.
 */
static int area_dir_ok(const struct veer_objstore *st, enum area area,
		       char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat stbuf;

	snprintf(path, sizeof(path), "%s/%s", st->dir, area_dirs[area]);
	if (lstat(path, &stbuf))
		return errno == ENOENT ? 0
				       : veer_fail_at(err, errlen, path, 0, 0,
						      "cannot stat: %s",
						      strerror(errno));
	if (!S_ISDIR(stbuf.st_mode))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "not a directory (the store holds only "
				    "directories and files, no symlinks)");
	return 0;
}

unsigned int veer_objstore_shard_of(const struct veer_object_key *key)
{
	/* The high bits: the low ones place keys in a set's index, and one
	 * shard's keys, sharing them, would all collide there. */
	return (unsigned int)((veer_object_key_hash(key) >> 32) %
			      VEER_OBJSTORE_SHARDS);
}

static void shard_path(const struct veer_objstore *st, enum area area,
		       unsigned int shard, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s/%02x" OBJECT_SUFFIX, st->dir, area_dirs[area],
		 shard);
}

/*
 * One shard's objects (with `only`, that one object) into *set: 0 (also
 * when it has none yet) or -1.
 */
static int read_shard(const struct veer_objstore *st, enum area area,
		      unsigned int shard, const struct veer_object_key *only,
		      struct veer_objset *set, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t i = set->count; /* what was there is not this shard's */
	int ret;

	shard_path(st, area, shard, path, sizeof(path));
	ret = read_records(set, path, VEER_SHARD_MAX_BYTES, false, only, err,
			   errlen);
	if (ret < 0)
		return -1;
	for (; ret == 0 && i < set->count; i++)
		if (veer_objstore_shard_of(&set->objects[i].key) != shard ||
		    area_of(&set->objects[i].key) != area)
			return veer_fail_at(err, errlen, path, 0, 0,
					    "damaged: holds %s/%s, an object "
					    "of another shard; " RECOVER_HINT,
					    set->objects[i].key.kind,
					    set->objects[i].key.name);
	return 0;
}

int veer_mkdir_parent(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1;; p++) {
		if (*p && *p != '/')
			continue;
		bool end = !*p;

		*p = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			return veer_fail_at(err, errlen, dir, 0, 0,
					    "cannot create: %s",
					    strerror(errno));
		if (end)
			return 0;
		*p = '/';
	}
}

int veer_objstore_read(const struct veer_objstore *st,
		       const struct veer_object_key *key,
		       struct veer_objset *out, char *err, size_t errlen)
{
	const struct veer_object *o;
	struct veer_objset shard;
	int ret;

	if (!key_ok(key))
		return 1;
	veer_objset_init(&shard);
	ret = area_dir_ok(st, area_of(key), err, errlen) ||
	      read_shard(st, area_of(key), veer_objstore_shard_of(key), key,
			 &shard, err, errlen);
	o = ret ? NULL : veer_objset_find(&shard, key);
	if (!ret && !o)
		ret = 1;
	if (o && veer_objset_put(out, key, o->text, o->len, NULL, NULL))
		ret = veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	veer_objset_free(&shard);
	return ret;
}

static int load_area(const struct veer_objstore *st, enum area area,
		     struct veer_objset *out, char *err, size_t errlen)
{
	char path[PATH_MAX], name[16];
	struct dirent *de;
	unsigned int shard;
	DIR *d;
	int ret = 0, n;

	veer_objset_init(out);
	if (area_dir_ok(st, area, err, errlen))
		return -1;
	snprintf(path, sizeof(path), "%s/%s", st->dir, area_dirs[area]);
	d = opendir(path);
	if (!d)
		return errno == ENOENT ? 0
				       : veer_fail_at(err, errlen, path, 0, 0,
						      "cannot read: %s",
						      strerror(errno));
	while (!ret && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		/* A temporary file of a finish that died: the transaction
		 * redoes it. */
		n = -1;
		if (sscanf(de->d_name, "%2x" OBJECT_SUFFIX "%n", &shard, &n) ==
			    1 &&
		    n == (int)strlen(de->d_name) &&
		    shard < VEER_OBJSTORE_SHARDS) {
			snprintf(name, sizeof(name), "%02x" OBJECT_SUFFIX,
				 shard);
			if (!strcmp(name, de->d_name)) {
				ret = read_shard(st, area, shard, NULL, out,
						 err, errlen);
				continue;
			}
		}
		n = (int)strlen(de->d_name);
		if (n > (int)strlen(TMP_SUFFIX) &&
		    !strcmp(de->d_name + n - strlen(TMP_SUFFIX), TMP_SUFFIX))
			continue;
		ret = veer_fail_at(err, errlen, path, 0, 0,
				   "%s is not a file of the store; move it out",
				   de->d_name);
	}
	closedir(d);
	if (!ret && veer_objset_sort(out))
		ret = veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	if (ret)
		veer_objset_free(out);
	return ret ? -1 : 0;
}

int veer_objstore_load(const struct veer_objstore *st, struct veer_objset *out,
		       char *err, size_t errlen)
{
	return load_area(st, AREA_OBJECTS, out, err, errlen);
}

int veer_objstore_load_index(const struct veer_objstore *st,
			     struct veer_objset *out, char *err, size_t errlen)
{
	return load_area(st, AREA_INDEX, out, err, errlen);
}

bool veer_objstore_pending_exists(const struct veer_objstore *st)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" TRANSACTION_FILE, st->dir);
	return access(path, F_OK) == 0 || errno != ENOENT;
}

/* ---- Transactions ---- */

int veer_objstore_prepare(const struct veer_objstore *st,
			  const struct veer_objset *changes, char *err,
			  size_t errlen)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < changes->count; i++)
		if (!key_ok(&changes->objects[i].key))
			return veer_fail_at(err, errlen, NULL, 0, 0,
					    "object %s/%s: not a name the "
					    "store can hold",
					    changes->objects[i].key.kind,
					    changes->objects[i].key.name);
	/* Refused now, before the maps change, rather than by finish. */
	if (area_dir_ok(st, AREA_OBJECTS, err, errlen) ||
	    area_dir_ok(st, AREA_INDEX, err, errlen))
		return -1;
	for (i = 0; i < changes->count; i++) {
		const struct veer_object_key *key = &changes->objects[i].key;
		struct stat stbuf;

		shard_path(st, area_of(key), veer_objstore_shard_of(key), path,
			   sizeof(path));
		if (lstat(path, &stbuf) == 0 && !S_ISREG(stbuf.st_mode))
			return veer_fail_at(err, errlen, path, 0, 0,
					    "not a file (the store holds only "
					    "directories and files, no "
					    "symlinks)");
	}
	snprintf(path, sizeof(path), "%s/" TRANSACTION_FILE, st->dir);
	if (veer_mkdir_parent(path, err, errlen))
		return -1;
	return write_records(changes, path, SYNC_ALL, err, errlen);
}

int veer_objstore_pending(const struct veer_objstore *st,
			  struct veer_objset *changes, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int ret;

	veer_objset_init(changes);
	snprintf(path, sizeof(path), "%s/" TRANSACTION_FILE, st->dir);
	ret = read_records(changes, path, VEER_TRANSACTION_MAX_BYTES, true,
			   NULL, err, errlen);
	if (ret)
		veer_objset_free(changes);
	return ret;
}

static int cmp_keys(const struct veer_object_key *a,
		    const struct veer_object_key *b)
{
	int c = strcmp(a->kind, b->kind);

	if (!c)
		c = strcmp(a->ns, b->ns);
	return c ? c : strcmp(a->name, b->name);
}

static int cmp_object_ptr(const void *pa, const void *pb)
{
	const struct veer_object *a = *(const struct veer_object *const *)pa;
	const struct veer_object *b = *(const struct veer_object *const *)pb;

	return cmp_keys(&a->key, &b->key);
}

/* A shard's records where they are in its file, in file order. */
struct span {
	struct veer_object_key key;
	size_t start, end; /* its record line .. the end of its text */
};

struct span_sink {
	struct record_sink sink;
	struct span *spans;
	size_t count, capacity;
	bool sorted;
};

static int add_span(struct record_sink *sink, const struct veer_object_key *key,
		    const char *buf, size_t line, size_t text, size_t len)
{
	struct span_sink *s = (struct span_sink *)sink;
	struct span *grown;
	int c;

	(void)buf;
	if (s->count == s->capacity) {
		s->capacity = s->capacity ? 2 * s->capacity : 64;
		grown = realloc(s->spans, s->capacity * sizeof(*grown));
		if (!grown)
			return -1;
		s->spans = grown;
	}
	if (s->count) {
		c = cmp_keys(&s->spans[s->count - 1].key, key);
		if (c == 0)
			return 1; /* the same object twice */
		if (c > 0)
			s->sorted = false;
	}
	s->spans[s->count++] = (struct span){*key, line, text + len};
	return 0;
}

/*
 * finish_shard without taking the shard apart: its records are copied as
 * they are, the changes merged in by key, so the file is what render
 * makes of the same objects (sorted). 0, 1 when the file is not sorted
 * (then the caller goes the long way), -1 with err.
 */
static int splice_shard(const char *path, enum area area, unsigned int shard,
			const struct veer_object **changes, size_t nchanges,
			char *err, size_t errlen)
{
	/* Room before the records for the header and summary lines. */
	enum { HEAD_ROOM = 256 };
	struct span_sink spans = {{add_span}, NULL, 0, 0, true};
	char *buf = NULL, *out = NULL, *p, head[HEAD_ROOM];
	size_t len = 0, at = 0, i, j = 0, k, objects = 0, size = 0, rlen;
	int ret, c, hlen;

	ret = read_file(path, VEER_SHARD_MAX_BYTES, &buf, &len, err, errlen);
	if (ret < 0)
		return -1;
	if (ret == 0)
		ret = parse_file(&spans.sink, path, buf, len, false, &at, err,
				 errlen);
	else
		ret = 0; /* no file yet */
	if (ret || !spans.sorted) {
		ret = ret ? -1 : 1;
		goto out;
	}
	for (i = 0; i < spans.count; i++)
		if (veer_objstore_shard_of(&spans.spans[i].key) != shard ||
		    area_of(&spans.spans[i].key) != area) {
			ret = 1; /* the long way says what is wrong */
			goto out;
		}
	qsort(changes, nchanges, sizeof(*changes), cmp_object_ptr);
	/* At most: every record kept, every change put. */
	size = HEAD_ROOM + (len - at);
	for (j = 0; j < nchanges; j++)
		size += strlen(RECORD_PREFIX) + 3 +
			strlen(changes[j]->key.kind) +
			strlen(changes[j]->key.ns) + 1 +
			strlen(changes[j]->key.name) + 24 + changes[j]->len;
	out = malloc(size);
	if (!out) {
		ret = veer_fail_at(err, errlen, path, 0, 0, "out of memory");
		goto out;
	}
	p = out + HEAD_ROOM;
	for (i = 0, j = 0; i < spans.count || j < nchanges;) {
		const struct span *sp =
			i < spans.count ? &spans.spans[i] : NULL;
		const struct veer_object *o = j < nchanges ? changes[j] : NULL;

		c = !sp ? 1 : !o ? -1 : cmp_keys(&sp->key, &o->key);
		if (c < 0) {
			/* A run of records that stay, copied at once. */
			for (k = i + 1;
			     k < spans.count &&
			     (!o || cmp_keys(&spans.spans[k].key, &o->key) < 0);
			     k++)
				;
			memcpy(p, buf + sp->start,
			       spans.spans[k - 1].end - sp->start);
			p += spans.spans[k - 1].end - sp->start;
			objects += k - i;
			i = k;
			continue;
		}
		if (o->len) {
			p += sprintf(p, RECORD_PREFIX "%s %s %s %zu\n",
				     o->key.kind,
				     o->key.ns[0] ? o->key.ns : NO_NAMESPACE,
				     o->key.name, o->len);
			memcpy(p, o->text, o->len);
			p += o->len;
			objects++;
		}
		j++;
		if (c == 0)
			i++;
	}
	if (!objects) {
		if (unlink(path) && errno != ENOENT)
			ret = veer_fail_at(err, errlen, path, 0, 0,
					   "cannot remove: %s",
					   strerror(errno));
		goto out;
	}
	rlen = (size_t)(p - (out + HEAD_ROOM));
	hlen = snprintf(head, sizeof(head), HEADER_LINE SUMMARY_LINE,
			VEER_OBJSTORE_FORMAT, objects, rlen,
			crc_of(out + HEAD_ROOM, rlen));
	if (hlen < 0 || hlen >= HEAD_ROOM) {
		ret = veer_fail_at(err, errlen, path, 0, 0, "header too long");
		goto out;
	}
	memcpy(out + HEAD_ROOM - hlen, head, (size_t)hlen);
	if (veer_mkdir_parent(path, err, errlen)) {
		ret = -1;
		goto out;
	}
	ret = write_data(out, out + HEAD_ROOM - hlen, rlen + (size_t)hlen, path,
			 SYNC_FILE, err, errlen);
	out = NULL; /* taken */
out:
	free(out);
	free(spans.spans);
	free(buf);
	return ret;
}

/*
 * The shard with this transaction's changes to it, written whole through
 * a temporary file and a rename (the directory is synced once, after
 * every shard: until then the transaction is the record).
 */
static int finish_shard(const struct veer_objstore *st, enum area area,
			unsigned int shard, const struct veer_objset *changes,
			char *err, size_t errlen)
{
	const struct veer_object **mine;
	char path[PATH_MAX];
	struct veer_objset set;
	size_t i, n = 0;
	int ret;

	shard_path(st, area, shard, path, sizeof(path));
	mine = calloc(changes->count ? changes->count : 1, sizeof(*mine));
	if (!mine)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];

		if (!o->removed && veer_objstore_shard_of(&o->key) == shard &&
		    area_of(&o->key) == area)
			mine[n++] = o;
	}
	ret = splice_shard(path, area, shard, mine, n, err, errlen);
	free(mine);
	if (ret <= 0)
		return ret;
	/* A shard not sorted (not written by this veer): the long way. */
	veer_objset_init(&set);
	ret = read_shard(st, area, shard, NULL, &set, err, errlen);
	for (i = 0; !ret && i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];

		if (o->removed || veer_objstore_shard_of(&o->key) != shard ||
		    area_of(&o->key) != area)
			continue;
		if (!o->len)
			veer_objset_remove(&set, &o->key);
		else if (veer_objset_put(&set, &o->key, o->text, o->len, NULL,
					 NULL))
			ret = veer_fail_at(err, errlen, NULL, 0, 0,
					   "out of memory");
	}
	shard_path(st, area, shard, path, sizeof(path));
	/* Sorted: the same objects are the same bytes. */
	if (!ret && veer_objset_sort(&set))
		ret = veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	if (!ret && !set.live && unlink(path) && errno != ENOENT)
		ret = veer_fail_at(err, errlen, path, 0, 0, "cannot remove: %s",
				   strerror(errno));
	else if (!ret && set.live)
		ret = veer_mkdir_parent(path, err, errlen) ||
		      write_records(&set, path, SYNC_FILE, err, errlen);
	veer_objset_free(&set);
	return ret ? -1 : 0;
}

int veer_objstore_finish(const struct veer_objstore *st, char *err,
			 size_t errlen)
{
	bool touched[AREAS][VEER_OBJSTORE_SHARDS] = {{false}}, any[AREAS] = {0};
	char path[PATH_MAX];
	struct veer_objset changes;
	unsigned int shard;
	enum area area;
	size_t i;
	int ret;

	ret = veer_objstore_pending(st, &changes, err, errlen);
	if (ret)
		return ret == 1 ? 0 : -1;
	ret = area_dir_ok(st, AREA_OBJECTS, err, errlen) ||
	      area_dir_ok(st, AREA_INDEX, err, errlen);
	for (i = 0; i < changes.count; i++) {
		area = area_of(&changes.objects[i].key);
		touched[area][veer_objstore_shard_of(&changes.objects[i].key)] =
			true;
		any[area] = true;
	}
	for (area = 0; area < AREAS && !ret; area++)
		for (shard = 0; shard < VEER_OBJSTORE_SHARDS && !ret; shard++) {
			if (!touched[area][shard])
				continue;
			ret = finish_shard(st, area, shard, &changes, err,
					   errlen);
			veer_objstore_test_point("finish");
		}
	veer_objset_free(&changes);
	if (ret)
		return -1;
	/* The shards' renames, durable before the transaction goes. */
	for (area = 0; area < AREAS; area++) {
		if (!any[area])
			continue;
		shard_path(st, area, 0, path, sizeof(path));
		if (fsync_parent(path))
			return veer_fail_at(err, errlen, st->dir, 0, 0,
					    "cannot sync the object store: %s",
					    strerror(errno));
	}
	snprintf(path, sizeof(path), "%s/" TRANSACTION_FILE, st->dir);
	if (unlink(path) || fsync_parent(path))
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot remove the finished transaction: "
				    "%s",
				    strerror(errno));
	return 0;
}

int veer_objstore_discard(const struct veer_objstore *st, char *err,
			  size_t errlen)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/" TRANSACTION_FILE, st->dir);
	if (unlink(path) && errno != ENOENT)
		return veer_fail_at(err, errlen, path, 0, 0,
				    "cannot remove: %s", strerror(errno));
	return 0;
}

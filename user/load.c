// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The front door (load.h): inputs read whole within their limits, each
 * parsed once into a yaml_tree, each document handed to the loader of its
 * format, and one model out.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "istio.h"
#include "load.h"
#include "native.h"
#include "objects.h"
#include "output.h"
#include "wait.h"

/* First read size for files whose size stat cannot tell (pipes). */
#define READ_CHUNK 65536

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A FIFO is opened without waiting for its writer (O_NONBLOCK); this waits
 * for one, at most VEER_WAIT, so `apply -f FIFO` with nobody writing fails
 * instead of hanging. Once a writer is there (or came, wrote and left) the
 * FIFO is read like a pipe, to its end, with no time limit: a slow
 * producer (`-f <(kubectl get ...)`) is fine. A byte read while probing is
 * returned in *first (*have_first). 0, or -1 with err.
 */
static int wait_for_writer(int fd, const char *path, char *first,
			   bool *have_first, char *err, size_t errlen)
{
	unsigned int wait_ms;
	long long deadline;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	bool writer_seen = false;
	ssize_t n;

	*have_first = false;
	if (veer_wait_ms(&wait_ms, err, errlen))
		return -1;
	deadline = now_ms() + wait_ms;
	for (;;) {
		n = read(fd, first, 1);
		if (n == 1) {
			*have_first = true;
			return 0;
		}
		if (n < 0 && errno == EAGAIN)
			return 0; /* a writer is there; no data yet */
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 strerror(errno));
			return -1;
		}
		if (n == 0 && writer_seen)
			return 0; /* it came and went without writing */
		if (n < 0)
			continue;
		/* No writer yet: probe again every 20 ms until the deadline. */
		long long left = deadline - now_ms();

		if (left <= 0) {
			char secs[VEER_WAIT_STRLEN];

			veer_wait_format(wait_ms, secs, sizeof(secs));
			snprintf(err, errlen,
				 "%s: FIFO, and no writer opened it within %s "
				 "s (%s sets the wait)",
				 path, secs, VEER_WAIT_ENV);
			return -1;
		}
		if (poll(&pfd, 1, left < 20 ? (int)left : 20) > 0 &&
		    (pfd.revents & POLLHUP))
			writer_seen = true;
	}
}

static int read_all(int fd, const char *path, const char *prefix,
		    size_t prefix_len, char **out, size_t *outlen, size_t hint,
		    char *err, size_t errlen)
{
	size_t cap = hint + prefix_len + 1, len = prefix_len;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memcpy(buf, prefix, prefix_len);
	for (;;) {
		if (len == cap) {
			/* Doubling, and one byte past the limit to see it. */
			cap = cap < READ_CHUNK ? READ_CHUNK : cap * 2;
			if (cap > VEER_YAML_MAX_BYTES + 1)
				cap = VEER_YAML_MAX_BYTES + 1;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				snprintf(err, errlen, "%s: out of memory",
					 path);
				return -1;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* Pipes and growing files: stop at the first byte too many. */
		if (len > VEER_YAML_MAX_BYTES) {
			snprintf(err, errlen,
				 "%s: larger than the limit of %d bytes", path,
				 VEER_YAML_MAX_BYTES);
			free(buf);
			return -1;
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * A FIFO waits at most VEER_WAIT for a writer (wait_for_writer); standard
 * input is read as it comes: the user chose to pipe into veer.
 */
int veer_load_read_file(const char *path, char **buf, size_t *len, char *err,
			size_t errlen)
{
	size_t hint = READ_CHUNK;
	struct stat st;
	int fd, ret;
	bool is_stdin = !strcmp(path, "-"), have_first = false;
	char first = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = is_stdin
		     ? STDIN_FILENO
		     : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path,
			 strerror(errno));
		ret = -1;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(EISDIR));
		ret = -1;
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		/* Refused before reading: a sparse file costs nothing here. */
		if (st.st_size > VEER_YAML_MAX_BYTES) {
			snprintf(err, errlen,
				 "%s: %lld bytes, larger than the limit of %d "
				 "bytes",
				 path, (long long)st.st_size,
				 VEER_YAML_MAX_BYTES);
			ret = -1;
			goto out;
		}
		hint = (size_t)st.st_size;
	}
	if (!is_stdin && S_ISFIFO(st.st_mode) &&
	    wait_for_writer(fd, path, &first, &have_first, err, errlen)) {
		ret = -1;
		goto out;
	}
	/* From here on reads wait for data, as on any pipe. */
	if (!is_stdin &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(errno));
		ret = -1;
		goto out;
	}
	ret = read_all(fd, path, &first, have_first ? 1 : 0, buf, len, hint,
		       err, errlen);
out:
	if (!is_stdin)
		close(fd);
	return ret;
}

/* ---- Formats ---- */

enum doc_format { DOC_EMPTY, DOC_K8S, DOC_NATIVE, DOC_UNKNOWN, DOC_MIXED };

static enum doc_format doc_format(const struct veer_ynode *root)
{
	if (veer_ynode_is_null(root))
		return DOC_EMPTY;
	if (veer_ynode_get(root, "kind") || veer_ynode_get(root, "apiVersion"))
		return DOC_K8S;
	if (veer_ynode_get(root, "services"))
		return DOC_NATIVE;
	return DOC_UNKNOWN;
}

/*
 * A file is one format, the other, or both (each document says which it
 * is: `veer get -o yaml` writes native and Istio documents into one
 * stream). A document of neither is left to a loader to name what is
 * wrong with it.
 */
static int file_format(const struct veer_ytree *tree, enum doc_format *out,
		       char *err, size_t errlen)
{
	const struct veer_ynode *first_unknown = NULL;
	enum doc_format f = DOC_EMPTY;
	size_t i;

	for (i = 0; i < tree->doc_count; i++) {
		const struct veer_ynode *doc = tree->docs[i];
		enum doc_format d = doc_format(doc);

		if (d == DOC_UNKNOWN && !first_unknown)
			first_unknown = doc;
		if (d != DOC_K8S && d != DOC_NATIVE)
			continue;
		if (f == DOC_EMPTY)
			f = d;
		else if (f != d)
			f = DOC_MIXED;
	}
	if (f == DOC_EMPTY && first_unknown) {
		snprintf(err, errlen,
			 "%s:%u:%u: neither Kubernetes objects (apiVersion, "
			 "kind, metadata) nor veer native config (services:)",
			 first_unknown->file, first_unknown->line,
			 first_unknown->column);
		return -1;
	}
	*out = f;
	return 0;
}

/* ---- Directories ---- */

static bool config_file_name(const char *name)
{
	static const char *const suffixes[] = {".yaml", ".yml", ".json"};
	size_t n = strlen(name), i;

	/* Hidden files: editor backups and lock files, not config. */
	if (name[0] == '.')
		return false;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t l = strlen(suffixes[i]);

		if (n > l && !strcmp(name + n - l, suffixes[i]))
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The config files of a directory as "dir/name", sorted by name. */
static int list_dir(const char *dir, char ***out, size_t *count, char *err,
		    size_t errlen)
{
	size_t n = 0, cap = 0, dlen = strlen(dir);
	const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";
	char **names = NULL, **grown;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		snprintf(err, errlen, "%s: cannot open: %s", dir,
			 strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		char *path;

		if (!config_file_name(de->d_name))
			continue;
		path = malloc(dlen + strlen(de->d_name) + 2);
		if (!path)
			goto oom;
		sprintf(path, "%s%s%s", dir, sep, de->d_name);
		/* Not recursive: subdirectories are not read. */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				free(path);
				goto oom;
			}
			names = grown;
		}
		names[n++] = path;
	}
	if (errno) {
		snprintf(err, errlen, "%s: cannot read: %s", dir,
			 strerror(errno));
		goto fail;
	}
	closedir(d);
	if (!n) {
		snprintf(err, errlen, "%s: no *.yaml, *.yml or *.json files",
			 dir);
		free(names);
		return -1;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*count = n;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", dir);
fail:
	closedir(d);
	while (n)
		free(names[--n]);
	free(names);
	return -1;
}

struct loader {
	struct veer_istio *ist;
	struct veer_ytree *trees; /* kept while ist points into them */
	size_t ntrees, cap;
	/* Native and Istio services, in input order, until all is read. */
	struct veer_model tmp;
	size_t total; /* bytes of all inputs */
	size_t inputs;
	char first[256]; /* first input's name, for input-less messages */
	char *err;
	size_t errlen;
	char no_err[1];
	/* With the object store (veer_load_config); NULL/false otherwise. */
	struct veer_objset *objects; /* the inputs' objects, collected */
	bool collect_only; /* the inputs name objects, they define none */
	bool store; /* an empty configuration is a configuration */
	/* Inputs parsed but fed after the stored objects: their formats. */
	bool defer;
	unsigned char *deferred;
	struct veer_model input_native; /* deferred inputs' native services */
	struct veer_objset input_hosts; /* the hosts the inputs' objects name */
	const char *ns;
};

/*
 * Moves tmp's services to the end of *model: the all-or-nothing of a load.
 * The move is a struct copy: the backend arrays change owner, so tmp
 * forgets them on success and keeps (and frees) them on failure.
 */
static int move_services(struct veer_model *tmp, struct veer_model *model,
			 const char *name, char *err, size_t errlen)
{
	size_t old = model->count, i;

	/* Into an empty model: the arrays change hands, nothing is copied
	 * (at 100,000 services a copy is hundreds of MB). */
	if (!model->count && !model->stale_count) {
		struct veer_model swap = *model;

		*model = *tmp;
		*tmp = swap;
		return 0;
	}
	for (i = 0; i < tmp->count; i++) {
		if (!veer_model_add_service(model)) {
			model->count = old;
			return veer_fail_at(err, errlen, name, 0, 0,
					    "out of memory");
		}
	}
	if (tmp->count)
		memcpy(&model->services[old], tmp->services,
		       tmp->count * sizeof(*tmp->services));
	tmp->count = 0;
	return 0;
}

/* One input, held in memory: parsed, then loaded as its format says. */
/* The objects of an input's documents into l->objects. */
static int collect_objects(struct loader *l, const struct veer_ytree *tree)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < tree->doc_count && !ret; i++) {
		enum doc_format f = doc_format(tree->docs[i]);

		if (f == DOC_K8S)
			ret = veer_objects_add_istio_doc(
				l->objects, tree->docs[i], l->ns,
				&l->input_hosts, l->err, l->errlen);
		else if (f == DOC_NATIVE)
			ret = veer_objects_add_native_doc(
				l->objects, tree->docs[i], l->err, l->errlen);
	}
	return ret;
}

/* A parsed input (or stored object) to the loaders of its documents. */
static int feed_tree(struct loader *l, struct veer_ytree *tree,
		     enum doc_format f)
{
	bool *k8s, *native;
	size_t i;
	int ret;

	if (f == DOC_K8S)
		return veer_istio_add_tree(l->ist, tree, NULL, l->err,
					   l->errlen);
	if (f == DOC_NATIVE)
		return veer_native_add_tree(tree, NULL, &l->tmp, l->err,
					    l->errlen);
	if (f != DOC_MIXED)
		return 0; /* empty: nothing to do, as with kubectl */
	/* Each document to its loader, the Kubernetes objects first. */
	k8s = calloc(2 * tree->doc_count, sizeof(*k8s));
	if (!k8s)
		return veer_fail_at(l->err, l->errlen, tree->file, 0, 0,
				    "out of memory");
	native = k8s + tree->doc_count;
	for (i = 0; i < tree->doc_count; i++) {
		k8s[i] = doc_format(tree->docs[i]) == DOC_K8S;
		native[i] = !k8s[i];
	}
	ret = veer_istio_add_tree(l->ist, tree, k8s, l->err, l->errlen);
	if (!ret)
		ret = veer_native_add_tree(tree, native, &l->tmp, l->err,
					   l->errlen);
	free(k8s);
	return ret;
}

/*
 * One input, held in memory: parsed, then loaded as its format says. A
 * stored object (stored) is not an input: it counts against no input
 * limit and gives no objects.
 */
static int load_one(struct loader *l, const char *name, const char *buf,
		    size_t len, bool stored)
{
	struct veer_ytree *tree;
	enum doc_format f;
	int ret;

	if (!stored && !l->inputs++)
		snprintf(l->first, sizeof(l->first), "%s", name);
	if (!stored && len > VEER_LOAD_MAX_TOTAL_BYTES - l->total)
		return veer_fail_at(l->err, l->errlen, name, 0, 0,
				    "the inputs together are larger than the "
				    "limit of %d bytes",
				    VEER_LOAD_MAX_TOTAL_BYTES);
	if (!stored)
		l->total += len;
	if (l->ntrees == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct veer_ytree *grown;

		grown = realloc(l->trees, cap * sizeof(*grown));
		if (!grown)
			return veer_fail_at(l->err, l->errlen, name, 0, 0,
					    "out of memory");
		l->trees = grown;
		if (l->defer) {
			unsigned char *d = realloc(l->deferred, cap);

			if (!d)
				return veer_fail_at(l->err, l->errlen, name, 0,
						    0, "out of memory");
			l->deferred = d;
		}
		l->cap = cap;
	}
	tree = &l->trees[l->ntrees++];
	if (veer_ytree_parse(tree, name, buf, len, l->err, l->errlen) < 0 ||
	    file_format(tree, &f, l->err, l->errlen) < 0)
		return -1;
	if (!stored && l->objects && collect_objects(l, tree) < 0)
		return -1;
	if (!stored && l->collect_only) {
		veer_ytree_free(tree);
		l->ntrees--;
		return 0;
	}
	/*
	 * Inputs after the stored objects: a clash is reported at them. A
	 * native file is read now into a model of its own (its tree, the
	 * largest part of a big load, is not kept), moved in after them.
	 */
	if (!stored && l->defer && f == DOC_NATIVE) {
		ret = veer_native_add_tree(tree, NULL, &l->input_native, l->err,
					   l->errlen);
		veer_ytree_free(tree);
		l->ntrees--;
		return ret;
	}
	if (!stored && l->defer) {
		l->deferred[l->ntrees - 1] = (unsigned char)f;
		return 0;
	}
	ret = feed_tree(l, tree, f);
	/* Only Istio objects point into their tree. */
	if (f == DOC_NATIVE || f == DOC_EMPTY) {
		veer_ytree_free(tree);
		l->ntrees--;
	}
	return ret;
}

/* The inputs load_one held back, in their order. */
static int feed_deferred(struct loader *l, size_t inputs)
{
	size_t i;

	for (i = 0; i < inputs; i++)
		if (feed_tree(l, &l->trees[i], l->deferred[i]) < 0)
			return -1;
	return move_services(&l->input_native, &l->tmp, l->first, l->err,
			     l->errlen);
}

static int loader_init(struct loader *l, const char *ns, char *err,
		       size_t errlen)
{
	memset(l, 0, sizeof(*l));
	/* Callers that want no message still get a place to write it. */
	if (!err || errlen == 0) {
		err = l->no_err;
		errlen = sizeof(l->no_err);
	}
	err[0] = '\0';
	l->err = err;
	l->errlen = errlen;
	veer_model_init(&l->tmp);
	veer_model_init(&l->input_native);
	veer_objset_init(&l->input_hosts);
	l->ns = ns;
	l->ist = veer_istio_new(ns);
	if (!l->ist)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	return 0;
}

static int loader_finish(struct loader *l, struct veer_model *model,
			 veer_note_fn note, void *note_ctx)
{
	size_t n = veer_istio_object_count(l->ist);

	if (!l->inputs && !l->store)
		return veer_fail_at(l->err, l->errlen, NULL, 0, 0,
				    "no input files");
	/* Istio services go after the native ones, in definition order. */
	if (n && veer_istio_build(l->ist, &l->tmp, l->err, l->errlen) < 0)
		return -1;
	if (!l->tmp.count && n && !l->store)
		return veer_fail_at(l->err, l->errlen, l->first, 0, 0,
				    "no services defined (%zu object%s read; "
				    "veer needs a ServiceEntry or Service "
				    "with a VIP)",
				    n, n == 1 ? "" : "s");
	if (!l->tmp.count && !l->store)
		return veer_fail_at(l->err, l->errlen, l->first, 0, 0,
				    "no services defined");
	if (move_services(&l->tmp, model, l->first, l->err, l->errlen) < 0)
		return -1;
	veer_istio_notes(l->ist, note, note_ctx);
	return 0;
}

static void loader_free(struct loader *l)
{
	size_t i;

	veer_istio_free(l->ist);
	for (i = 0; i < l->ntrees; i++)
		veer_ytree_free(&l->trees[i]);
	free(l->trees);
	free(l->deferred);
	veer_model_free(&l->input_native);
	veer_objset_free(&l->input_hosts);
	veer_model_free(&l->tmp);
}

int veer_load_buffers(const char *const *names, const char *const *bufs,
		      const size_t *lens, size_t count,
		      const char *default_namespace, struct veer_model *model,
		      veer_note_fn note, void *note_ctx, char *err,
		      size_t errlen)
{
	struct loader l;
	size_t i;
	int ret = -1;

	if (loader_init(&l, default_namespace, err, errlen) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		const char *name = names && names[i] ? names[i] : "<config>";

		if (load_one(&l, name, bufs[i] ? bufs[i] : "",
			     bufs[i] ? lens[i] : 0, false) < 0)
			goto out;
	}
	ret = loader_finish(&l, model, note, note_ctx);
out:
	loader_free(&l);
	return ret;
}

static int load_file_into(struct loader *l, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (veer_load_read_file(path, &buf, &len, l->err, l->errlen) < 0)
		return -1;
	ret = load_one(l, !strcmp(path, "-") ? "<stdin>" : path, buf, len,
		       false);
	free(buf);
	return ret;
}

/* Every path (a directory: its config files, sorted) into l. */
static int load_paths_into(struct loader *l, const char *const *paths,
			   size_t count)
{
	size_t i, j;

	for (i = 0; i < count; i++) {
		struct stat st;
		char **files;
		size_t n;
		int r = 0;

		if (strcmp(paths[i], "-") && stat(paths[i], &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if (list_dir(paths[i], &files, &n, l->err, l->errlen) <
			    0)
				return -1;
			for (j = 0; j < n; j++) {
				if (!r)
					r = load_file_into(l, files[j]);
				free(files[j]);
			}
			free(files);
		} else {
			r = load_file_into(l, paths[i]);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

int veer_load_paths(const char *const *paths, size_t count,
		    const char *default_namespace, struct veer_model *model,
		    veer_note_fn note, void *note_ctx, char *err, size_t errlen)
{
	struct loader l;
	int ret = -1;

	if (loader_init(&l, default_namespace, err, errlen) < 0)
		return -1;
	if (load_paths_into(&l, paths, count) == 0)
		ret = loader_finish(&l, model, note, note_ctx);
	loader_free(&l);
	return ret;
}

int veer_load_native_buffer(const char *name, const char *buf, size_t len,
			    struct veer_model *model, char *err, size_t errlen)
{
	struct veer_model tmp;
	struct veer_ytree tree;
	int ret;

	veer_model_init(&tmp);
	ret = veer_ytree_parse(&tree, name, buf, len, err, errlen);
	if (!ret)
		ret = veer_native_add_tree(&tree, NULL, &tmp, err, errlen);
	if (!ret)
		ret = move_services(&tmp, model, tree.file, err, errlen);
	veer_ytree_free(&tree);
	veer_model_free(&tmp);
	return ret;
}

/* ---- With the object store ---- */

struct note_filter {
	veer_note_fn note;
	void *ctx;
	bool rules; /* the inputs hold a VirtualService with matches */
};

/*
 * Notes on stored objects were said when they were applied, and so were
 * the limits of header/uri rules, unless the inputs hold rules anew.
 */
static void note_unless_stored(void *ctx, const char *text)
{
	const struct note_filter *f = ctx;

	if (!f->note ||
	    !strncmp(text, VEER_STORED_PREFIX, strlen(VEER_STORED_PREFIX)) ||
	    (!f->rules && !strncmp(text, VEER_RULES_NOTE_PREFIX,
				   strlen(VEER_RULES_NOTE_PREFIX))))
		return;
	f->note(f->ctx, text);
}

static bool routes_anew(const struct veer_objset *inputs)
{
	size_t i;

	/* A VirtualService with match conditions: header/uri rules. */
	for (i = 0; i < inputs->count; i++)
		if (!strcmp(inputs->objects[i].key.kind, "VirtualService") &&
		    strstr(inputs->objects[i].text, "match:"))
			return true;
	return false;
}

/* Whether the inputs hold an object of key's kind and namespace. */
static bool kind_in_inputs(const struct veer_objset *scope,
			   const struct veer_object_key *key)
{
	struct veer_object_key k;

	memset(&k, 0, sizeof(k));
	memcpy(k.kind, key->kind, sizeof(k.kind));
	memcpy(k.ns, key->ns, sizeof(k.ns));
	return veer_objset_find(scope, &k) != NULL;
}

/* The (kind, namespace) pairs of set's objects, as keys without names. */
static int kinds_of(const struct veer_objset *set, struct veer_objset *scope)
{
	struct veer_object_key k;
	size_t i;

	for (i = 0; i < set->count; i++) {
		if (set->objects[i].removed)
			continue;
		memset(&k, 0, sizeof(k));
		memcpy(k.kind, set->objects[i].key.kind, sizeof(k.kind));
		memcpy(k.ns, set->objects[i].key.ns, sizeof(k.ns));
		if (veer_objset_put(scope, &k, "", 0, NULL, NULL))
			return -1;
	}
	return 0;
}

/*
 * A stored object the store adopted from maps an older veer filled (it
 * names the host it was made from), for a host the inputs' objects name:
 * the user's own objects take its place.
 */
static bool adopted_for_inputs(const struct loader *l,
			       const struct veer_object *o)
{
	const struct veer_ynode *host;
	struct veer_object_key key;
	struct veer_ytree tree;
	bool hit = false;
	char err[1];

	if (!l->input_hosts.live || !strstr(o->text, VEER_ADOPTED_ANNOTATION))
		return false;
	memset(&tree, 0, sizeof(tree));
	if (veer_ytree_parse(&tree, "adopted", o->text, o->len, err,
			     sizeof(err)) == 0 &&
	    tree.doc_count == 1) {
		host = veer_ynode_get(
			veer_ynode_get(veer_ynode_get(tree.docs[0], "metadata"),
				       "annotations"),
			VEER_ADOPTED_ANNOTATION);
		if (host && host->type == VEER_YNODE_SCALAR &&
		    host->len < sizeof(key.name)) {
			memset(&key, 0, sizeof(key));
			snprintf(key.kind, sizeof(key.kind), "host");
			memcpy(key.name, host->text, host->len);
			hit = veer_objset_find(&l->input_hosts, &key) != NULL;
		}
	}
	veer_ytree_free(&tree);
	return hit;
}

/* The stored objects that stay, loaded after the inputs. */
static int load_stored(struct loader *l, const struct veer_load_request *req)
{
	char name[VEER_STORED_NAME_MAX], id[VEER_OBJECT_ID_MAX];
	struct veer_objset scope;
	size_t i;
	int ret = 0;

	veer_objset_init(&scope);
	if (req->prune && kinds_of(req->input_objects, &scope))
		ret = veer_fail_at(l->err, l->errlen, NULL, 0, 0,
				   "out of memory");
	for (i = 0; req->stored && i < req->stored->count && !ret; i++) {
		const struct veer_object *o = &req->stored->objects[i];

		if (o->removed ||
		    veer_objset_find(req->input_objects, &o->key) ||
		    (req->removed && veer_objset_find(req->removed, &o->key)))
			continue;
		if (req->replaced && adopted_for_inputs(l, o)) {
			if (veer_objset_put(req->replaced, &o->key, "", 0, NULL,
					    NULL))
				ret = veer_fail_at(l->err, l->errlen, NULL, 0,
						   0, "out of memory");
			continue;
		}
		if (req->prune && kind_in_inputs(&scope, &o->key)) {
			if (veer_objset_put(req->pruned, &o->key, "", 0, NULL,
					    NULL))
				ret = veer_fail_at(l->err, l->errlen, NULL, 0,
						   0, "out of memory");
			continue;
		}
		snprintf(name, sizeof(name), VEER_STORED_PREFIX "%s",
			 veer_object_id(&o->key, id, sizeof(id)));
		ret = load_one(l, name, o->text, o->len, true);
	}
	veer_objset_free(&scope);
	return ret;
}

int veer_load_config(const struct veer_load_request *req,
		     struct veer_model *model, veer_note_fn note,
		     void *note_ctx, char *err, size_t errlen)
{
	struct note_filter filter = {.note = note, .ctx = note_ctx};
	struct loader l;
	int ret = -1;

	if (loader_init(&l, req->default_namespace, err, errlen) < 0)
		return -1;
	l.objects = req->input_objects;
	l.collect_only = req->inputs_remove;
	l.defer = !req->inputs_remove;
	l.store = true;
	if (load_paths_into(&l, req->paths, req->path_count) == 0) {
		size_t inputs = l.ntrees;

		filter.rules = routes_anew(req->input_objects);
		if (load_stored(&l, req) == 0 && feed_deferred(&l, inputs) == 0)
			ret = loader_finish(&l, model, note_unless_stored,
					    &filter);
	}
	loader_free(&l);
	return ret;
}

int veer_load_objects(const char *name, const char *buf, size_t len,
		      const char *default_namespace, struct veer_objset *out,
		      char *err, size_t errlen)
{
	struct loader l;
	int ret;

	if (loader_init(&l, default_namespace, err, errlen) < 0)
		return -1;
	l.objects = out;
	l.collect_only = true;
	ret = load_one(&l, name, buf, len, false);
	loader_free(&l);
	return ret;
}

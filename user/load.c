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

/* An input opened for reading, a byte read while probing a FIFO first. */
struct opened {
	int fd;
	bool is_stdin;
	char first;
	bool have_first;
	size_t hint; /* its size when stat knows it */
};

/*
 * A FIFO waits at most VEER_WAIT for a writer (wait_for_writer); standard
 * input is read as it comes: the user chose to pipe into veer. A regular
 * file over max bytes is refused before it is read.
 */
static int open_input(const char *path, unsigned long long max,
		      struct opened *o, char *err, size_t errlen)
{
	struct stat st;

	memset(o, 0, sizeof(*o));
	o->is_stdin = !strcmp(path, "-");
	o->hint = READ_CHUNK;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	o->fd = o->is_stdin ? STDIN_FILENO
			    : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
						 O_NONBLOCK);
	if (o->fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(o->fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path,
			 strerror(errno));
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(EISDIR));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		/* Refused before reading: a sparse file costs nothing here. */
		if ((unsigned long long)st.st_size > max) {
			snprintf(err, errlen,
				 "%s: %lld bytes, larger than the limit of "
				 "%llu bytes",
				 path, (long long)st.st_size, max);
			goto fail;
		}
		o->hint = (size_t)st.st_size;
	}
	if (!o->is_stdin && S_ISFIFO(st.st_mode) &&
	    wait_for_writer(o->fd, path, &o->first, &o->have_first, err,
			    errlen))
		goto fail;
	/* From here on reads wait for data, as on any pipe. */
	if (!o->is_stdin &&
	    fcntl(o->fd, F_SETFL, fcntl(o->fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (!o->is_stdin)
		close(o->fd);
	return -1;
}

static void close_input(struct opened *o)
{
	if (!o->is_stdin)
		close(o->fd);
}

int veer_load_read_file(const char *path, char **buf, size_t *len, char *err,
			size_t errlen)
{
	struct opened o;
	int ret;

	if (open_input(path, VEER_YAML_MAX_BYTES, &o, err, errlen) < 0)
		return -1;
	ret = read_all(o.fd, path, &o.first, o.have_first ? 1 : 0, buf, len,
		       o.hint, err, errlen);
	close_input(&o);
	return ret;
}

/* ---- Formats ---- */

enum doc_format { DOC_EMPTY, DOC_K8S, DOC_NATIVE, DOC_UNKNOWN };

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

/* ---- Directories ---- */

bool veer_config_file_name(const char *name)
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

int veer_config_dir_list(const char *dir, char ***out, size_t *count, char *err,
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

		if (!veer_config_file_name(de->d_name))
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

/*
 * An object of an input (or the store) in its own tree: what the Istio
 * loader points into, kept until the load ends.
 */
struct piece {
	struct veer_ytree tree;
	bool in_list; /* an item of a List */
	bool unknown; /* neither format: settled at the end of its input */
};

struct loader {
	struct veer_istio *ist;
	struct piece *pieces;
	size_t npieces, cap;
	size_t input_pieces; /* the inputs' pieces (the first ones), deferred */
	size_t objects_read; /* of the inputs, against VEER_LOAD_MAX_OBJECTS */
	/* Native and Istio services, in input order, until all is read. */
	struct veer_model tmp;
	size_t inputs;
	char first[256]; /* first input's name, for input-less messages */
	char *err;
	size_t errlen;
	char no_err[1];
	/* With the object store (veer_load_config); NULL/false otherwise. */
	struct veer_objset *objects; /* the inputs' objects, collected */
	bool collect_only; /* the inputs name objects, they define none */
	bool store; /* an empty configuration is a configuration */
	/* Inputs' Istio objects are fed after the stored objects. */
	bool defer;
	struct veer_model input_native; /* deferred inputs' native services */
	struct veer_objset input_hosts; /* the hosts the inputs' objects name */
	const char *ns;
};

/* One input (or stored object) being read. */
struct input {
	struct loader *l;
	const char *name;
	bool stored; /* no input limits, gives no objects, fed at once */
	bool has_k8s, has_native;
	size_t first_piece;
	struct veer_model *native; /* where its native services go */
	size_t native_first;
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

static int oom(struct loader *l, const char *name)
{
	return veer_fail_at(l->err, l->errlen, name, 0, 0, "out of memory");
}

/*
 * Keeps an object's tree (taken from the stream) as a piece, copied into
 * one block of its exact size unless it is one already (compact): a tree
 * grown block by block wastes half of its last block, and a store holds
 * 100,000 of them.
 */
static int keep_piece(struct loader *l, struct input *in,
		      struct veer_ytree *tree, bool in_list, bool unknown,
		      bool compact)
{
	struct veer_ytree exact;
	struct piece *p;

	if (!compact) {
		if (veer_ytree_copy_kept(tree->docs[0], NULL, &exact, l->err,
					 l->errlen) < 0)
			return -1;
		veer_ytree_free(tree);
		*tree = exact;
	}

	if (l->npieces == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct piece *grown = realloc(l->pieces, cap * sizeof(*grown));

		if (!grown)
			return oom(l, in->name);
		l->pieces = grown;
		l->cap = cap;
	}
	p = &l->pieces[l->npieces++];
	p->tree = *tree;
	memset(tree, 0, sizeof(*tree));
	p->in_list = in_list;
	p->unknown = unknown;
	return 0;
}

static void drop_pieces(struct loader *l, size_t from)
{
	while (l->npieces > from)
		veer_ytree_free(&l->pieces[--l->npieces].tree);
}

/*
 * A Kubernetes Service or Pod keeps only what veer reads: a dump of a
 * cluster carries kilobytes of status and managedFields per Pod.
 */
static int reduce(struct loader *l, struct veer_ytree *tree, bool *reduced)
{
	const struct veer_ykeep *keep = veer_istio_kept_fields(tree->docs[0]);
	struct veer_ytree kept;

	*reduced = keep != NULL;
	if (!keep)
		return 0;
	if (veer_ytree_copy_kept(tree->docs[0], keep, &kept, l->err,
				 l->errlen) < 0)
		return -1;
	veer_ytree_free(tree);
	*tree = kept;
	return 0;
}

static int count_object(struct loader *l, struct input *in,
			const struct veer_ynode *node)
{
	if (in->stored || ++l->objects_read <= VEER_LOAD_MAX_OBJECTS)
		return 0;
	return veer_fail_at(l->err, l->errlen, in->name, node->line,
			    node->column, "more than %d objects in one load",
			    VEER_LOAD_MAX_OBJECTS);
}

/* A Kubernetes/Istio object (a document, or an item of a List). */
static int take_k8s(struct loader *l, struct input *in,
		    struct veer_ystream_object *obj, bool in_list)
{
	struct veer_istio_object_id id;
	bool reduced = false;
	int kind;

	in->has_k8s = true;
	if (count_object(l, in, obj->tree->docs[0]) < 0)
		return -1;
	if (!in->stored && reduce(l, obj->tree, &reduced) < 0)
		return -1;
	if (!in->stored && l->objects &&
	    veer_objects_add_istio_doc(l->objects, obj->tree->docs[0], l->ns,
				       in_list, &l->input_hosts, l->err,
				       l->errlen) < 0)
		return -1;
	if (!in->stored && l->collect_only)
		return 0;
	/*
	 * A kind veer skips (a Deployment, a ConfigMap: `kubectl get all`
	 * has many) is noted now and not kept: only its note is needed.
	 */
	kind = veer_istio_object_id(obj->tree->docs[0], l->ns, &id, l->err,
				    l->errlen);
	if (kind < 0)
		return -1;
	if (kind == VEER_ISTIO_DOC_SKIPPED)
		return veer_istio_add_object(l->ist, obj->tree->docs[0],
					     in_list, l->err, l->errlen);
	return keep_piece(l, in, obj->tree, in_list, false, reduced);
}

/* A native document, or a service of its services list (service). */
static int take_native(struct loader *l, struct input *in,
		       const struct veer_ynode *node, bool service)
{
	in->has_native = true;
	if (count_object(l, in, node) < 0)
		return -1;
	if (!in->stored && l->objects &&
	    (service ? veer_objects_add_native_service(l->objects, node, l->err,
						       l->errlen)
		     : veer_objects_add_native_doc(l->objects, node, l->err,
						   l->errlen)) < 0)
		return -1;
	if (!in->stored && l->collect_only)
		return 0;
	return veer_native_add_document(node, service, in->native, l->err,
					l->errlen);
}

/* Each object of an input's stream, as it completes. */
static int take_object(void *ctx, struct veer_ystream_object *obj)
{
	struct input *in = ctx;
	struct loader *l = in->l;
	const struct veer_ynode *node;
	struct veer_istio_object_id id;

	if (!obj->tree->doc_count)
		return 0;
	node = obj->tree->docs[0];
	if (obj->split_key && !strcmp(obj->split_key, "services"))
		return take_native(l, in, node, true);
	if (obj->split_key)
		return take_k8s(l, in, obj, true);
	switch (doc_format(node)) {
	case DOC_K8S:
		/* Items were taken as a List's: the document must be one. */
		if (obj->split && veer_ynode_get(node, "items") &&
		    veer_istio_object_id(node, l->ns, &id, l->err, l->errlen) !=
			    VEER_ISTIO_DOC_LIST) {
			const struct veer_ynode *items =
				veer_ynode_get(node, "items");

			if (l->err[0])
				return -1;
			return veer_fail_at(l->err, l->errlen, in->name,
					    items->line, items->column,
					    "items: only a List (kind: List, "
					    "ServiceList, ...) holds items");
		}
		return take_k8s(l, in, obj, false);
	case DOC_NATIVE:
		return take_native(l, in, node, false);
	case DOC_UNKNOWN:
		/* Settled once the input's format is known. */
		return keep_piece(l, in, obj->tree, false, true, false);
	default:
		return 0; /* empty: nothing to do, as with kubectl */
	}
}

static int feed_pieces(struct loader *l, size_t from, size_t to)
{
	size_t i;

	for (i = from; i < to; i++)
		if (veer_istio_add_object(l->ist, l->pieces[i].tree.docs[0],
					  l->pieces[i].in_list, l->err,
					  l->errlen) < 0)
			return -1;
	return 0;
}

/*
 * An input is read: a document of neither format goes to the loader of
 * the format its input holds (veer native first: `veer get -o yaml` mixes
 * both), which names what is wrong with it; an input of such documents
 * only is refused. Then its native services are checked as a file's, and
 * its Istio objects fed unless deferred.
 */
static int input_end(struct loader *l, struct input *in)
{
	size_t i, kept = in->first_piece;

	for (i = in->first_piece; i < l->npieces; i++) {
		struct piece *p = &l->pieces[i];
		const struct veer_ynode *root = p->tree.docs[0];

		if (p->unknown && !in->has_native && !in->has_k8s)
			return veer_fail_at(
				l->err, l->errlen, in->name, root->line,
				root->column,
				"neither Kubernetes objects (apiVersion, "
				"kind, metadata) nor veer native config "
				"(services:)");
		if (p->unknown && in->has_native) {
			if (!l->collect_only &&
			    veer_native_add_document(root, false, in->native,
						     l->err, l->errlen) < 0)
				return -1;
			veer_ytree_free(&p->tree);
			continue;
		}
		p->unknown = false;
		l->pieces[kept++] = *p;
	}
	l->npieces = kept;
	if (l->collect_only && !in->stored) {
		drop_pieces(l, in->first_piece);
		return 0;
	}
	if (in->has_native &&
	    veer_native_check(in->name, in->native, in->native_first, l->err,
			      l->errlen) < 0)
		return -1;
	if (l->defer && !in->stored)
		return 0;
	return feed_pieces(l, in->first_piece, l->npieces);
}

/* The split lists: a kubectl List's items, a native file's services. */
static const char *const split_keys[] = {"items", "services", NULL};

/*
 * One input, from a buffer or a descriptor, read one object at a time. A
 * stored object (stored) is not an input: it counts against no input
 * limit, gives no objects and is fed at once.
 */
static int load_input(struct loader *l, const char *name,
		      const struct veer_ystream_input *src, bool stored)
{
	struct input in = {
		.l = l,
		.name = name,
		.stored = stored,
		.first_piece = l->npieces,
		.native = !stored && l->defer ? &l->input_native : &l->tmp,
	};

	if (!stored && !l->inputs++)
		snprintf(l->first, sizeof(l->first), "%s", name);
	in.native_first = in.native->count;
	if (veer_ytree_stream(name, src, split_keys, take_object, &in, l->err,
			      l->errlen) < 0)
		return -1;
	return input_end(l, &in);
}

static int load_one(struct loader *l, const char *name, const char *buf,
		    size_t len, bool stored)
{
	struct veer_ystream_input src = {.buf = buf ? buf : "",
					 .len = buf ? len : 0};

	return load_input(l, name, &src, stored);
}

/* The inputs' Istio objects, after the stored ones. */
static int feed_deferred(struct loader *l)
{
	if (feed_pieces(l, 0, l->input_pieces) < 0)
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

static int cmp_backend(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct veer_backend));
}

/*
 * An Istio service's backends by address and port, not by the order its
 * Pods or WorkloadEntries came in: the store hands them back in its own
 * order (by shard), and a command that changes nothing about a service
 * must not reorder its backends (the service would be rewritten and new
 * connections placed anew). Native services keep the order written.
 */
static void sort_backends(struct veer_model *m, size_t from)
{
	size_t i;
	unsigned int s;

	for (i = from; i < m->count; i++)
		for (s = 0; s < m->services[i].subset_count; s++) {
			struct veer_subset_model *sub =
				&m->services[i].subsets[s];

			if (sub->backend_count > 1)
				qsort(sub->backends, sub->backend_count,
				      sizeof(*sub->backends), cmp_backend);
		}
}

static int loader_finish(struct loader *l, struct veer_model *model,
			 veer_note_fn note, void *note_ctx)
{
	size_t n = veer_istio_object_count(l->ist), native = l->tmp.count;

	if (!l->inputs && !l->store)
		return veer_fail_at(l->err, l->errlen, NULL, 0, 0,
				    "no input files");
	/* Istio services go after the native ones, in definition order. */
	if (n && veer_istio_build(l->ist, &l->tmp, l->err, l->errlen) < 0)
		return -1;
	sort_backends(&l->tmp, native);
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
	veer_istio_free(l->ist);
	drop_pieces(l, 0);
	free(l->pieces);
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
	struct veer_ystream_input src = {0};
	struct opened o;
	int ret;

	if (open_input(path, VEER_YAML_MAX_STREAM_BYTES, &o, l->err,
		       l->errlen) < 0)
		return -1;
	src.fd = o.fd;
	src.prefix = &o.first;
	src.prefix_len = o.have_first ? 1 : 0;
	ret = load_input(l, !strcmp(path, "-") ? "<stdin>" : path, &src, false);
	close_input(&o);
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
			if (veer_config_dir_list(paths[i], &files, &n, l->err,
						 l->errlen) < 0)
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

/* In-memory inputs (veer_load_request.objects) into l. */
static int load_set_into(struct loader *l, const struct veer_objset *set)
{
	char name[VEER_STORED_NAME_MAX], id[VEER_OBJECT_ID_MAX];
	size_t i;

	for (i = 0; set && i < set->count; i++) {
		const struct veer_object *o = &set->objects[i];

		if (o->removed || !o->len)
			continue;
		snprintf(name, sizeof(name), "etcd:%s",
			 veer_object_id(&o->key, id, sizeof(id)));
		if (load_one(l, name, o->text, o->len, false) < 0)
			return -1;
	}
	return 0;
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
	if (load_paths_into(&l, req->paths, req->path_count) == 0 &&
	    load_set_into(&l, req->objects) == 0) {
		l.input_pieces = l.npieces;
		filter.rules = routes_anew(req->input_objects);
		if (load_stored(&l, req) == 0 && feed_deferred(&l) == 0)
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Fleet mode's keys in etcd (fleet.h). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "diag.h"
#include "fleet.h"

#define OBJECTS_DIR "objects/"
#define NODES_DIR "nodes/"
#define SEEN_DIR "seen/"
#define COMMIT_KEY "commit"
/* A key: the prefix, a directory, KIND/NS/NAME. */
#define FLEET_KEY_MAX                                                          \
	(VEER_FLEET_CLUSTER_MAX + 32 + VEER_KIND_MAX + VEER_OBJ_NS_MAX +       \
	 VEER_OBJ_NAME_MAX)

bool veer_fleet_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < VEER_FLEET_NODE_MAX &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
	       strcmp(name, ".") && strcmp(name, "..");
}

int veer_fleet_open(struct veer_fleet *f, const char *urls, const char *cluster,
		    char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (!veer_fleet_name_ok(cluster))
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "cluster name '%.64s': expected 1 to 63 "
				    "letters, digits, '.', '_' or '-'",
				    cluster);
	snprintf(f->cluster, sizeof(f->cluster), "%s", cluster);
	snprintf(f->prefix, sizeof(f->prefix), VEER_FLEET_ROOT "%s/", cluster);
	return etcd_client_init(&f->etcd, urls, err, errlen);
}

void veer_fleet_close(struct veer_fleet *f)
{
	etcd_client_free(&f->etcd);
}

void veer_fleet_config_init(struct veer_fleet_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	veer_objset_init(&cfg->objects);
}

void veer_fleet_config_free(struct veer_fleet_config *cfg)
{
	veer_objset_free(&cfg->objects);
	free(cfg->mod_revisions);
	memset(cfg, 0, sizeof(*cfg));
}

static void object_key_path(const struct veer_fleet *f,
			    const struct veer_object_key *k, char *buf,
			    size_t len)
{
	snprintf(buf, len, "%s" OBJECTS_DIR "%s/%s/%s", f->prefix, k->kind,
		 k->ns[0] ? k->ns : VEER_FLEET_NO_NAMESPACE, k->name);
}

/* One part of KIND/NS/NAME into out (max bytes with NUL): the rest. */
static const char *key_part(const char *p, char *out, size_t max, bool last)
{
	const char *slash = last ? NULL : strchr(p, '/');
	size_t n = slash ? (size_t)(slash - p) : strlen(p);

	if (n == 0 || n >= max || (last && strchr(p, '/')))
		return NULL;
	memcpy(out, p, n);
	out[n] = '\0';
	return slash ? slash + 1 : p + n;
}

/* The object key of an etcd key under objects/: 0, or -1 not one. */
static int parse_object_key(const struct veer_fleet *f, const char *key,
			    struct veer_object_key *k)
{
	size_t plen = strlen(f->prefix) + strlen(OBJECTS_DIR);
	const char *p;

	memset(k, 0, sizeof(*k));
	if (strncmp(key, f->prefix, strlen(f->prefix)) ||
	    strncmp(key + strlen(f->prefix), OBJECTS_DIR, strlen(OBJECTS_DIR)))
		return -1;
	p = key_part(key + plen, k->kind, sizeof(k->kind), false);
	p = p ? key_part(p, k->ns, sizeof(k->ns), false) : NULL;
	p = p ? key_part(p, k->name, sizeof(k->name), true) : NULL;
	if (!p)
		return -1;
	if (!strcmp(k->ns, VEER_FLEET_NO_NAMESPACE))
		k->ns[0] = '\0';
	return 0;
}

/* One kv of objects/ into cfg, its mod_revision beside it. */
static int add_object(struct veer_fleet *f, struct veer_fleet_config *cfg,
		      const struct etcd_kv *kv, size_t capacity, char *err,
		      size_t errlen)
{
	struct veer_object_key k;
	struct veer_object *o;

	if (parse_object_key(f, kv->key, &k) || !kv->value_len) {
		if (!cfg->skipped++)
			snprintf(cfg->skipped_key, sizeof(cfg->skipped_key),
				 "%s", kv->key);
		return 0;
	}
	if (veer_objset_put(&cfg->objects, &k, kv->value, kv->value_len, NULL,
			    NULL))
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	o = veer_objset_find(&cfg->objects, &k);
	if ((size_t)(o - cfg->objects.objects) < capacity)
		cfg->mod_revisions[o - cfg->objects.objects] = kv->mod_revision;
	return 0;
}

int veer_fleet_read(struct veer_fleet *f, int64_t at,
		    struct veer_fleet_config *cfg, char *err, size_t errlen)
{
	char prefix[FLEET_KEY_MAX], commit[FLEET_KEY_MAX];
	struct etcd_kvs kvs, marker;
	size_t i;
	int ret = 0;

	snprintf(prefix, sizeof(prefix), "%s" OBJECTS_DIR, f->prefix);
	snprintf(commit, sizeof(commit), "%s" COMMIT_KEY, f->prefix);
	if (etcd_range(&f->etcd, prefix, true, at, &kvs, err, errlen))
		return -1;
	/*
	 * etcd's header always has its latest revision, also for a read at
	 * an older one. The commit record as of the same revision: one
	 * snapshot.
	 */
	cfg->revision = at ? at : kvs.revision;
	if (etcd_range(&f->etcd, commit, false, cfg->revision, &marker, err,
		       errlen)) {
		etcd_kvs_free(&kvs);
		return -1;
	}
	cfg->commit_revision = marker.count ? marker.kvs[0].mod_revision : 0;
	cfg->keys = (int64_t)kvs.count;
	if (kvs.count &&
	    !(cfg->mod_revisions = calloc(kvs.count, sizeof(int64_t))))
		ret = veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	for (i = 0; !ret && i < kvs.count; i++)
		ret = add_object(f, cfg, &kvs.kvs[i], kvs.count, err, errlen);
	etcd_kvs_free(&kvs);
	etcd_kvs_free(&marker);
	return ret;
}

/* The mod_revision cfg read for key (0: absent). */
static int64_t read_revision(const struct veer_fleet_config *cfg,
			     const struct veer_object_key *k)
{
	const struct veer_object *o = veer_objset_find(&cfg->objects, k);

	return o && cfg->mod_revisions
		       ? cfg->mod_revisions[o - cfg->objects.objects]
		       : 0;
}

/* More words after err's. */
static void __attribute__((format(printf, 3, 4)))
err_append(char *err, size_t errlen, const char *fmt, ...)
{
	size_t len = strnlen(err, errlen);
	va_list ap;

	if (len + 1 >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + len, errlen - len, fmt, ap);
	va_end(ap);
}

int veer_fleet_write(struct veer_fleet *f, const struct veer_fleet_config *cfg,
		     const struct veer_objset *changes, const char *by,
		     int64_t *revision, char *err, size_t errlen)
{
	size_t n = changes->live + 1, i, k = 0;
	struct etcd_compare *cmps = calloc(n, sizeof(*cmps));
	struct etcd_op *ops = calloc(n, sizeof(*ops));
	char(*keys)[FLEET_KEY_MAX] = calloc(n, sizeof(*keys));
	char record[160];
	bool succeeded = false;
	int ret = -1;

	if (!cmps || !ops || !keys) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];
		char id[VEER_OBJECT_ID_MAX];

		if (o->removed)
			continue;
		/* KIND/NS/NAME must read back as the same three parts. */
		if (strchr(o->key.kind, '/') || strchr(o->key.ns, '/') ||
		    strchr(o->key.name, '/') ||
		    !strcmp(o->key.ns, VEER_FLEET_NO_NAMESPACE)) {
			veer_fail_at(err, errlen, NULL, 0, 0,
				     "%s: a name with '/' (or the namespace "
				     "'-') cannot be a key of the fleet "
				     "(nothing was changed)",
				     veer_object_id(&o->key, id, sizeof(id)));
			goto out;
		}
		object_key_path(f, &o->key, keys[k], sizeof(keys[k]));
		cmps[k] = (struct etcd_compare){
			.key = keys[k],
			.mod_revision = read_revision(cfg, &o->key),
		};
		ops[k] = (struct etcd_op){
			.kind = o->len ? ETCD_OP_PUT : ETCD_OP_DELETE,
			.key = keys[k],
			.value = o->text,
			.value_len = o->len,
		};
		k++;
	}
	snprintf(keys[k], sizeof(keys[k]), "%s" COMMIT_KEY, f->prefix);
	snprintf(record, sizeof(record),
		 "{\"by\":\"%s\",\"objects\":%zu,\"time\":%lld}", by, k,
		 (long long)time(NULL));
	cmps[k] = (struct etcd_compare){
		.key = keys[k],
		.mod_revision = cfg->commit_revision,
	};
	ops[k] = (struct etcd_op){
		.kind = ETCD_OP_PUT,
		.key = keys[k],
		.value = record,
		.value_len = strlen(record),
	};
	k++;
	if (etcd_txn(&f->etcd, cmps, k, ops, k, &succeeded, revision, err,
		     errlen)) {
		/* etcd's words name its limit, not what to do about it. */
		if (strstr(err, "too many operations in txn request"))
			err_append(err, errlen,
				   " (%zu writes and %zu compares in one "
				   "transaction: start etcd with --max-txn-ops "
				   "%zu or more, or apply in parts; nothing "
				   "was written)",
				   k, k, k);
		else if (strstr(err, "request is too large"))
			err_append(err, errlen,
				   " (the objects that change go in one "
				   "transaction: raise etcd's "
				   "--max-request-bytes, or apply in parts; "
				   "nothing was written)");
		goto out;
	}
	ret = succeeded ? 0 : 1;
out:
	free(cmps);
	free(ops);
	free(keys);
	return ret;
}

/* ---- watch ----------------------------------------------------------- */

struct fleet_watch {
	struct veer_fleet *f;
	veer_fleet_watch_fn fn;
	void *ctx;
	char *err;
	size_t errlen;
	int failed; /* the batch could not be turned into a change set */
};

static int on_batch(void *ctx, const struct etcd_watch_batch *b)
{
	struct fleet_watch *w = ctx;
	struct veer_objset changes;
	struct veer_object_key k;
	long added = 0;
	size_t i;
	int ret = 0;

	veer_objset_init(&changes);
	for (i = 0; i < b->count && !ret; i++) {
		const struct etcd_event *e = &b->events[i];

		if (e->deleted)
			added--;
		else if (e->kv.version == 1)
			added++; /* a key's first version: created */
		if (parse_object_key(w->f, e->kv.key, &k))
			continue; /* not an object: written by hand */
		if (veer_objset_put(&changes, &k, e->deleted ? "" : e->kv.value,
				    e->deleted ? 0 : e->kv.value_len, NULL,
				    NULL))
			ret = w->failed = veer_fail_at(w->err, w->errlen, NULL,
						       0, 0, "out of memory");
	}
	if (!ret && b->count)
		ret = w->fn(w->ctx, b->revision, &changes, added);
	veer_objset_free(&changes);
	return ret;
}

int veer_fleet_watch(struct veer_fleet *f, int64_t from, veer_fleet_watch_fn fn,
		     void *ctx, volatile sig_atomic_t *stop,
		     int64_t *compact_revision, char *err, size_t errlen)
{
	struct fleet_watch w = {f, fn, ctx, err, errlen, 0};
	char prefix[FLEET_KEY_MAX];
	int ret;

	snprintf(prefix, sizeof(prefix), "%s" OBJECTS_DIR, f->prefix);
	ret = etcd_watch(&f->etcd, prefix, from, on_batch, &w, stop,
			 compact_revision, err, errlen);
	return w.failed ? -1 : ret;
}

int veer_fleet_unchanged(struct veer_fleet *f, int64_t keys, int64_t seen,
			 bool *unchanged, int64_t *revision, char *err,
			 size_t errlen)
{
	char prefix[FLEET_KEY_MAX];
	int64_t total, newest;

	snprintf(prefix, sizeof(prefix), "%s" OBJECTS_DIR, f->prefix);
	if (etcd_range_newest(&f->etcd, prefix, &total, &newest, revision, err,
			      errlen))
		return -1;
	*unchanged = newest <= seen && total == keys;
	return 0;
}

/* ---- node status ----------------------------------------------------- */

char *veer_fleet_status_json(const struct veer_fleet_status *st)
{
	struct json_object *o = json_object_new_object();
	char *text = NULL;

	if (!o)
		return NULL;
	json_object_object_add(o, "node", json_object_new_string(st->node));
	json_object_object_add(o, "applied_revision",
			       json_object_new_int64(st->applied_revision));
	json_object_object_add(o, "last_error",
			       json_object_new_string(st->last_error));
	json_object_object_add(o, "last_error_time",
			       json_object_new_int64(st->last_error_time));
	json_object_object_add(o, "version",
			       json_object_new_string(st->version));
	json_object_object_add(o, "time", json_object_new_int64(st->time));
	text = strdup(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

static void copy_string(struct json_object *o, const char *name, char *out,
			size_t len)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, name, &v))
		snprintf(out, len, "%s", json_object_get_string(v));
}

static int64_t int_of(struct json_object *o, const char *name)
{
	struct json_object *v;

	return json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v)
						      : 0;
}

int veer_fleet_status_parse(const char *text, size_t len,
			    struct veer_fleet_status *st, char *err,
			    size_t errlen)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o = NULL;

	memset(st, 0, sizeof(*st));
	if (tok)
		o = json_tokener_parse_ex(tok, text, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "a node status that is not a JSON object");
	}
	json_tokener_free(tok);
	copy_string(o, "node", st->node, sizeof(st->node));
	copy_string(o, "last_error", st->last_error, sizeof(st->last_error));
	copy_string(o, "version", st->version, sizeof(st->version));
	st->applied_revision = int_of(o, "applied_revision");
	st->last_error_time = int_of(o, "last_error_time");
	st->time = int_of(o, "time");
	json_object_put(o);
	return 0;
}

/* Puts status under lease (0: none) at DIR/NODE. */
static int put_status(struct veer_fleet *f, const char *dir, const char *node,
		      const char *json, int64_t lease, char *err, size_t errlen)
{
	char key[FLEET_KEY_MAX];

	snprintf(key, sizeof(key), "%s%s%s", f->prefix, dir, node);
	return etcd_put(&f->etcd, key, json, strlen(json), lease, NULL, err,
			errlen);
}

int veer_fleet_report(struct veer_fleet *f, const struct veer_fleet_status *st,
		      int64_t *lease, char *err, size_t errlen)
{
	int64_t ttl = 0;
	char *json;
	int ret;

	if (!veer_fleet_name_ok(st->node))
		return veer_fail_at(err, errlen, NULL, 0, 0,
				    "node name '%.64s': expected 1 to 63 "
				    "letters, digits, '.', '_' or '-'",
				    st->node);
	/* The lease renewed, or a new one when it expired (a partition
	 * longer than its TTL). */
	if (*lease && etcd_lease_keepalive(&f->etcd, *lease, &ttl, err, errlen))
		return -1;
	if (!ttl && etcd_lease_grant(&f->etcd, VEER_FLEET_LEASE_TTL, lease, err,
				     errlen))
		return -1;
	json = veer_fleet_status_json(st);
	if (!json)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	ret = put_status(f, NODES_DIR, st->node, json, *lease, err, errlen) ||
	      put_status(f, SEEN_DIR, st->node, json, 0, err, errlen);
	free(json);
	return ret ? -1 : 0;
}

static int cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct veer_fleet_node *)a)->status.node,
		      ((const struct veer_fleet_node *)b)->status.node);
}

/* Adds or updates the node a status key names. */
static int add_node(struct veer_fleet_node **nodes, size_t *count,
		    const char *name, const struct etcd_kv *kv, bool live)
{
	struct veer_fleet_node *n = NULL, *grown;
	size_t i;

	for (i = 0; i < *count; i++)
		if (!strcmp((*nodes)[i].status.node, name))
			n = &(*nodes)[i];
	if (!n) {
		grown = realloc(*nodes, (*count + 1) * sizeof(**nodes));
		if (!grown)
			return -1;
		*nodes = grown;
		n = &grown[(*count)++];
		memset(n, 0, sizeof(*n));
	} else if (!live) {
		return 0; /* the live record is the newer one */
	}
	n->readable = veer_fleet_status_parse(kv->value, kv->value_len,
					      &n->status, NULL, 0) == 0;
	/* The key names the node, whatever its value says. */
	snprintf(n->status.node, sizeof(n->status.node), "%s", name);
	n->live |= live;
	return 0;
}

/* The nodes under dir (live: the leased ones). */
static int scan_nodes(struct veer_fleet *f, const char *dir, bool live,
		      struct veer_fleet_node **nodes, size_t *count, int64_t at,
		      char *err, size_t errlen)
{
	char prefix[FLEET_KEY_MAX];
	struct etcd_kvs kvs;
	size_t i;
	int ret = 0;

	snprintf(prefix, sizeof(prefix), "%s%s", f->prefix, dir);
	if (etcd_range(&f->etcd, prefix, true, at, &kvs, err, errlen))
		return -1;
	for (i = 0; i < kvs.count && !ret; i++) {
		const char *name = kvs.kvs[i].key + strlen(prefix);

		if (veer_fleet_name_ok(name) &&
		    add_node(nodes, count, name, &kvs.kvs[i], live))
			ret = veer_fail_at(err, errlen, NULL, 0, 0,
					   "out of memory");
	}
	etcd_kvs_free(&kvs);
	return ret;
}

int veer_fleet_nodes(struct veer_fleet *f, struct veer_fleet_node **nodes,
		     size_t *count, int64_t *config_revision, char *err,
		     size_t errlen)
{
	char commit[FLEET_KEY_MAX];
	struct etcd_kvs marker;

	*nodes = NULL;
	*count = 0;
	snprintf(commit, sizeof(commit), "%s" COMMIT_KEY, f->prefix);
	if (etcd_range(&f->etcd, commit, false, 0, &marker, err, errlen))
		return -1;
	*config_revision = marker.count ? marker.kvs[0].mod_revision : 0;
	/* Live ones first: a node's seen record is as new or older. All at
	 * the commit read's revision: one snapshot. */
	if (scan_nodes(f, NODES_DIR, true, nodes, count, marker.revision, err,
		       errlen) ||
	    scan_nodes(f, SEEN_DIR, false, nodes, count, marker.revision, err,
		       errlen)) {
		etcd_kvs_free(&marker);
		free(*nodes);
		*nodes = NULL;
		*count = 0;
		return -1;
	}
	etcd_kvs_free(&marker);
	if (*count)
		qsort(*nodes, *count, sizeof(**nodes), cmp_node);
	return 0;
}

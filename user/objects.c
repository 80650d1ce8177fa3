// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Input documents -> stored objects, and kind names (objects.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "diag.h"
#include "istio.h"
#include "objects.h"
#include "yaml_emit.h"

#define ISTIO_GROUP ".networking.istio.io"
/* Where a Kubernetes short name lives: NAME.NAMESPACE + this. */

struct kind_names {
	const char *kind;
	const char *plural; /* lower case, as kubectl prints resources */
	const char *short_name;
	const char *group; /* "" for the core group */
	bool namespaced;
};

static const struct kind_names kinds[] = {
	{"VirtualService", "virtualservices", "vs", ISTIO_GROUP, true},
	{"DestinationRule", "destinationrules", "dr", ISTIO_GROUP, true},
	{"ServiceEntry", "serviceentries", "se", ISTIO_GROUP, true},
	{"WorkloadEntry", "workloadentries", "we", ISTIO_GROUP, true},
	{"Service", "services", "svc", "", true},
	{"Pod", "pods", "po", "", true},
	{VEER_NATIVE_KIND, "veerservices", "native", "", false},
};

#define KIND_COUNT (sizeof(kinds) / sizeof(kinds[0]))

/* arg is name, or name + group ("virtualservice.networking.istio.io"). */
static bool names(const char *arg, const char *name, const char *group)
{
	size_t n = strlen(name);

	if (strncasecmp(arg, name, n))
		return false;
	return !arg[n] || (*group && !strcasecmp(arg + n, group));
}

const char *veer_kind_canonical(const char *arg)
{
	const struct kind_names *k;
	size_t i;

	for (i = 0; i < KIND_COUNT; i++) {
		k = &kinds[i];
		if (names(arg, k->kind, k->group) ||
		    names(arg, k->plural, k->group) ||
		    !strcasecmp(arg, k->short_name))
			return k->kind;
	}
	return NULL;
}

bool veer_kind_namespaced(const char *kind)
{
	size_t i;

	for (i = 0; i < KIND_COUNT; i++)
		if (!strcmp(kinds[i].kind, kind))
			return kinds[i].namespaced;
	return true;
}

const char *veer_kind_list(void)
{
	return "VirtualService (vs), DestinationRule (dr), ServiceEntry "
	       "(se), WorkloadEntry (we), Service (svc), Pod (po), "
	       "VeerService (native)";
}

static void key_set(struct veer_object_key *key, const char *kind,
		    const char *ns, const char *name)
{
	memset(key, 0, sizeof(*key));
	snprintf(key->kind, sizeof(key->kind), "%s", kind);
	snprintf(key->ns, sizeof(key->ns), "%s", ns);
	snprintf(key->name, sizeof(key->name), "%s", name);
}

static int put_emitted(struct veer_objset *set,
		       const struct veer_object_key *key,
		       const struct veer_ynode *node, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int ret;

	if (veer_yaml_emit_document(node, &text, &len))
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	ret = veer_objset_put(set, key, text, len, NULL, NULL);
	free(text);
	if (ret)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	return 0;
}

static const struct veer_ynode *scalar(const char *text)
{
	struct veer_ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = VEER_YNODE_SCALAR;
	n->kind = VEER_YSCALAR_STR;
	n->text = text;
	n->len = strlen(text);
	return n;
}

/*
 * The object with metadata.namespace set to ns when it has none: a copy of
 * the top mapping and of metadata, sharing every other node.
 */
static int put_with_namespace(struct veer_objset *set,
			      const struct veer_object_key *key,
			      const struct veer_ynode *obj, char *err,
			      size_t errlen)
{
	const struct veer_ynode *meta = veer_ynode_get(obj, "metadata");
	struct veer_ynode top = *obj, md, **top_items = NULL, **md_items = NULL;
	const struct veer_ynode *ns_key = NULL, *ns_value = NULL;
	size_t i;
	int ret = -1;

	if (!meta || meta->type != VEER_YNODE_MAP ||
	    !veer_ynode_is_null(veer_ynode_get(meta, "namespace")) ||
	    !veer_kind_namespaced(key->kind))
		return put_emitted(set, key, obj, err, errlen);
	md = *meta;
	ns_key = scalar("namespace");
	ns_value = scalar(key->ns);
	md_items = calloc(2 * meta->len + 2, sizeof(*md_items));
	top_items = calloc(2 * obj->len, sizeof(*top_items));
	if (!ns_key || !ns_value || !md_items || !top_items) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	/* A null "namespace:" is replaced, not doubled. */
	for (i = 0, md.len = 0; i < meta->len; i++) {
		if (veer_ynode_is(veer_ynode_key(meta, i), "namespace"))
			continue;
		md_items[2 * md.len] =
			(struct veer_ynode *)veer_ynode_key(meta, i);
		md_items[2 * md.len + 1] =
			(struct veer_ynode *)veer_ynode_value(meta, i);
		md.len++;
	}
	md_items[2 * md.len] = (struct veer_ynode *)ns_key;
	md_items[2 * md.len + 1] = (struct veer_ynode *)ns_value;
	md.len++;
	md.items = md_items;
	for (i = 0; i < obj->len; i++) {
		top_items[2 * i] = (struct veer_ynode *)veer_ynode_key(obj, i);
		top_items[2 * i + 1] =
			veer_ynode_value(obj, i) == meta
				? &md
				: (struct veer_ynode *)veer_ynode_value(obj, i);
	}
	top.items = top_items;
	ret = put_emitted(set, key, &top, err, errlen);
out:
	free((void *)ns_key);
	free((void *)ns_value);
	free(md_items);
	free(top_items);
	return ret;
}

/* host, resolved as Istio does (a name without a dot is short), into hosts. */
static int add_host(struct veer_objset *hosts, const char *host, size_t len,
		    const char *ns)
{
	struct veer_object_key key;
	size_t i;

	memset(&key, 0, sizeof(key));
	snprintf(key.kind, sizeof(key.kind), "host");
	if (memchr(host, '.', len))
		snprintf(key.name, sizeof(key.name), "%.*s", (int)len, host);
	else
		snprintf(key.name, sizeof(key.name), "%.*s.%s" VEER_KUBE_DOMAIN,
			 (int)len, host, ns);
	for (i = 0; key.name[i]; i++)
		if (key.name[i] >= 'A' && key.name[i] <= 'Z')
			key.name[i] = (char)(key.name[i] - 'A' + 'a');
	return veer_objset_put(hosts, &key, "", 0, NULL, NULL);
}

/*
 * The hosts an object defines or routes (a Service's, a ServiceEntry's and
 * a VirtualService's hosts, a DestinationRule's host): what makes objects
 * adopted from the maps for those hosts give way.
 */
static int add_hosts(struct veer_objset *hosts, const struct veer_ynode *obj,
		     const struct veer_object_key *key)
{
	const struct veer_ynode *spec = veer_ynode_get(obj, "spec"), *h;
	size_t i;
	int ret = 0;

	if (!strcmp(key->kind, "Service"))
		return add_host(hosts, key->name, strlen(key->name), key->ns);
	h = veer_ynode_get(spec, "host");
	if (h && h->type == VEER_YNODE_SCALAR)
		ret = add_host(hosts, h->text, h->len, key->ns);
	h = veer_ynode_get(spec, "hosts");
	for (i = 0; !ret && h && h->type == VEER_YNODE_SEQ && i < h->len; i++)
		if (h->items[i]->type == VEER_YNODE_SCALAR)
			ret = add_host(hosts, h->items[i]->text,
				       h->items[i]->len, key->ns);
	return ret;
}

static int add_object(struct veer_objset *set, const struct veer_ynode *obj,
		      const char *default_namespace, bool in_list,
		      struct veer_objset *hosts, char *err, size_t errlen)
{
	struct veer_istio_object_id id;
	struct veer_object_key key;
	size_t i;
	int kind;

	kind = veer_istio_object_id(obj, default_namespace, &id, err, errlen);
	if (kind < 0)
		return -1;
	if (kind == VEER_ISTIO_DOC_LIST && !in_list) {
		for (i = 0; id.items && i < id.items->len; i++)
			if (add_object(set, id.items->items[i],
				       default_namespace, true, hosts, err,
				       errlen))
				return -1;
		return 0;
	}
	/* A List in a List: the build refuses it with its message. */
	if (kind != VEER_ISTIO_DOC_OBJECT)
		return 0;
	key_set(&key, id.kind, veer_kind_namespaced(id.kind) ? id.ns : "",
		id.name);
	if (hosts && add_hosts(hosts, obj, &key))
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	return put_with_namespace(set, &key, obj, err, errlen);
}

int veer_objects_add_istio_doc(struct veer_objset *set,
			       const struct veer_ynode *doc,
			       const char *default_namespace, bool in_list,
			       struct veer_objset *hosts, char *err,
			       size_t errlen)
{
	return add_object(set, doc, default_namespace, in_list, hosts, err,
			  errlen);
}

int veer_objects_add_native_service(struct veer_objset *set,
				    const struct veer_ynode *service, char *err,
				    size_t errlen)
{
	const struct veer_ynode *name = veer_ynode_get(service, "name");
	const struct veer_ynode *services_key;
	struct veer_ynode wrapper, seq;
	struct veer_ynode *pair[2], *item[1];
	struct veer_object_key key;
	int ret;

	if (!name || name->type != VEER_YNODE_SCALAR ||
	    name->kind != VEER_YSCALAR_STR || !name->len ||
	    name->len >= sizeof(key.name) ||
	    memchr(name->text, '\0', name->len))
		return 0;
	services_key = scalar("services");
	if (!services_key)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	/* The service alone, as the document "services: [SERVICE]". */
	memset(&wrapper, 0, sizeof(wrapper));
	wrapper.type = VEER_YNODE_MAP;
	wrapper.len = 1;
	wrapper.items = pair;
	memset(&seq, 0, sizeof(seq));
	seq.type = VEER_YNODE_SEQ;
	seq.len = 1;
	seq.items = item;
	pair[0] = (struct veer_ynode *)services_key;
	pair[1] = &seq;
	item[0] = (struct veer_ynode *)service;
	key_set(&key, VEER_NATIVE_KIND, "", name->text);
	ret = put_emitted(set, &key, &wrapper, err, errlen);
	free((void *)services_key);
	return ret;
}

int veer_objects_add_native_doc(struct veer_objset *set,
				const struct veer_ynode *doc, char *err,
				size_t errlen)
{
	const struct veer_ynode *list = veer_ynode_get(doc, "services");
	size_t i;

	if (!list || list->type != VEER_YNODE_SEQ)
		return 0;
	for (i = 0; i < list->len; i++)
		if (veer_objects_add_native_service(set, list->items[i], err,
						    errlen))
			return -1;
	return 0;
}

/* ---- Rewriting one route (veer weight) ---- */

/* Nodes made for a rewrite, freed together. */
struct node_arena {
	void *blocks[256];
	size_t count;
};

static void *arena_alloc(struct node_arena *a, size_t n, size_t size)
{
	void *p;

	if (a->count == sizeof(a->blocks) / sizeof(a->blocks[0]))
		return NULL;
	p = calloc(n ? n : 1, size);
	if (p)
		a->blocks[a->count++] = p;
	return p;
}

static void arena_free(struct node_arena *a)
{
	while (a->count)
		free(a->blocks[--a->count]);
}

static struct veer_ynode *arena_scalar(struct node_arena *a, const char *text,
				       unsigned char kind)
{
	struct veer_ynode *n = arena_alloc(a, 1, sizeof(*n));
	char *copy = n ? arena_alloc(a, strlen(text) + 1, 1) : NULL;

	if (!copy)
		return NULL;
	memcpy(copy, text, strlen(text));
	n->type = VEER_YNODE_SCALAR;
	n->kind = kind;
	n->plain = true;
	n->text = copy;
	n->len = strlen(text);
	return n;
}

/* A mapping of `pairs` key/value nodes (keys are plain strings). */
static struct veer_ynode *arena_map(struct node_arena *a, size_t pairs,
				    const char *const *keys,
				    struct veer_ynode *const *values)
{
	struct veer_ynode *n = arena_alloc(a, 1, sizeof(*n));
	struct veer_ynode **items =
		n ? arena_alloc(a, 2 * pairs, sizeof(*items)) : NULL;
	size_t i;

	if (!items)
		return NULL;
	for (i = 0; i < pairs; i++) {
		items[2 * i] = arena_scalar(a, keys[i], VEER_YSCALAR_STR);
		items[2 * i + 1] = values[i];
		if (!items[2 * i] || !values[i])
			return NULL;
	}
	n->type = VEER_YNODE_MAP;
	n->len = pairs;
	n->items = items;
	return n;
}

struct path_step {
	const char *key; /* a mapping's key, or NULL: */
	size_t index; /* a list's item */
};

/*
 * node with the node at path replaced: copies of the nodes along the path,
 * every other node shared. NULL when the path is not there (or memory).
 */
static const struct veer_ynode *replace_path(struct node_arena *a,
					     const struct veer_ynode *node,
					     const struct path_step *steps,
					     size_t n,
					     const struct veer_ynode *with)
{
	struct veer_ynode *copy, **items;
	size_t slots, i, at = SIZE_MAX;

	if (!n)
		return with;
	if (!node)
		return NULL;
	if (steps->key && node->type == VEER_YNODE_MAP) {
		for (i = 0; i < node->len && at == SIZE_MAX; i++)
			if (veer_ynode_is(veer_ynode_key(node, i), steps->key))
				at = 2 * i + 1;
	} else if (!steps->key && node->type == VEER_YNODE_SEQ &&
		   steps->index < node->len) {
		at = steps->index;
	}
	if (at == SIZE_MAX)
		return NULL;
	slots = node->type == VEER_YNODE_MAP ? 2 * node->len : node->len;
	copy = arena_alloc(a, 1, sizeof(*copy));
	items = copy ? arena_alloc(a, slots, sizeof(*items)) : NULL;
	if (!items)
		return NULL;
	*copy = *node;
	memcpy(items, node->items, slots * sizeof(*items));
	items[at] = (struct veer_ynode *)replace_path(a, node->items[at],
						      steps + 1, n - 1, with);
	if (!items[at])
		return NULL;
	copy->items = items;
	return copy;
}

/* The old route's item whose destination is subset, or NULL. */
static const struct veer_ynode *old_item(const struct veer_ynode *old,
					 const char *subset)
{
	size_t i;

	for (i = 0; old && old->type == VEER_YNODE_SEQ && i < old->len; i++)
		if (veer_ynode_is(veer_ynode_get(veer_ynode_get(old->items[i],
								"destination"),
						 "subset"),
				  subset))
			return old->items[i];
	return NULL;
}

/*
 * The new route: one destination per subset, with its weight, and the
 * destination port the old route (old, may be NULL) named: veer requires
 * one per route, and it decides which port the route is for. A subset's
 * per-destination headers stay with it.
 */
static struct veer_ynode *route_list(struct node_arena *a, const char *host,
				     const struct veer_ynode *old,
				     const struct veer_route_weight *weights,
				     size_t count)
{
	static const char *const dest_keys[] = {"host", "subset", "port"};
	static const char *const item_keys[] = {"destination", "weight",
						"headers"};
	const struct veer_ynode *port = NULL, *headers;
	struct veer_ynode *seq = arena_alloc(a, 1, sizeof(*seq));
	struct veer_ynode **items =
		seq ? arena_alloc(a, count, sizeof(*items)) : NULL;
	char number[16];
	size_t i;

	if (!items)
		return NULL;
	for (i = 0; old && old->type == VEER_YNODE_SEQ && i < old->len && !port;
	     i++)
		port = veer_ynode_get(
			veer_ynode_get(old->items[i], "destination"), "port");
	for (i = 0; i < count; i++) {
		struct veer_ynode *dest_values[3], *item_values[3];

		headers = veer_ynode_get(old_item(old, weights[i].subset),
					 "headers");
		snprintf(number, sizeof(number), "%u", weights[i].weight);
		dest_values[0] = arena_scalar(a, host, VEER_YSCALAR_STR);
		dest_values[1] =
			arena_scalar(a, weights[i].subset, VEER_YSCALAR_STR);
		dest_values[2] = (struct veer_ynode *)port;
		item_values[0] =
			arena_map(a, port ? 3 : 2, dest_keys, dest_values);
		item_values[1] = arena_scalar(a, number, VEER_YSCALAR_INT);
		item_values[2] = (struct veer_ynode *)headers;
		items[i] =
			arena_map(a, headers ? 3 : 2, item_keys, item_values);
		if (!items[i])
			return NULL;
	}
	seq->type = VEER_YNODE_SEQ;
	seq->len = count;
	seq->items = items;
	return seq;
}

/* A stored object's one document, parsed. 0, or -1 with err. */
static int parse_one(struct veer_ytree *tree, const char *name,
		     const char *text, size_t len, char *err, size_t errlen)
{
	memset(tree, 0, sizeof(*tree));
	if (veer_ytree_parse(tree, name, text, len, err, errlen))
		return -1;
	if (tree->doc_count == 1 && tree->docs[0])
		return 0;
	veer_ytree_free(tree);
	return veer_fail_at(err, errlen, name, 0, 0,
			    "a stored object must be one document");
}

/*
 * The rewritten object (top: NULL when what it needed was not there) as
 * YAML into *out, and everything the rewrite made freed.
 */
static int finish_rewrite(const struct veer_ynode *top, const char *name,
			  const char *missing, struct node_arena *arena,
			  struct veer_ytree *tree, char **out, size_t *out_len,
			  char *err, size_t errlen)
{
	int ret = -1;

	if (!top)
		veer_fail_at(err, errlen, name, 0, 0, "%s", missing);
	else if (veer_yaml_emit_document(top, out, out_len))
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	else
		ret = 0;
	arena_free(arena);
	veer_ytree_free(tree);
	return ret;
}

/* The node at path under node, or NULL. */
static const struct veer_ynode *node_at(const struct veer_ynode *node,
					const struct path_step *steps, size_t n)
{
	for (; node && n; steps++, n--) {
		if (steps->key)
			node = node->type == VEER_YNODE_MAP
				       ? veer_ynode_get(node, steps->key)
				       : NULL;
		else
			node = node->type == VEER_YNODE_SEQ &&
					       steps->index < node->len
				       ? node->items[steps->index]
				       : NULL;
	}
	return node;
}

/* Where subset stands among the destinations of route; SIZE_MAX: not. */
static size_t place_in_route(const struct veer_ynode *route, const char *subset)
{
	const struct veer_ynode *d;
	size_t i;

	for (i = 0; route && route->type == VEER_YNODE_SEQ && i < route->len;
	     i++) {
		d = veer_ynode_get(route->items[i], "destination");
		if (veer_ynode_is(veer_ynode_get(d, "subset"), subset))
			return i;
	}
	return SIZE_MAX;
}

/*
 * The destinations to write: those the route had, in its order, then any
 * other subset that now takes connections. Returns how many.
 */
static size_t order_like(const struct veer_ynode *route,
			 const struct veer_route_weight *weights, size_t count,
			 struct veer_route_weight *out)
{
	size_t n = 0, i, j, place;

	for (place = 0; route && place < route->len; place++)
		for (i = 0; i < count; i++)
			if (place_in_route(route, weights[i].subset) == place)
				out[n++] = weights[i];
	for (i = 0; i < count; i++) {
		if (place_in_route(route, weights[i].subset) != SIZE_MAX ||
		    !weights[i].weight)
			continue;
		for (j = 0; j < n && strcmp(out[j].subset, weights[i].subset);
		     j++)
			;
		if (j == n)
			out[n++] = weights[i];
	}
	return n;
}

int veer_objects_set_route(const char *name, const char *text, size_t len,
			   bool tcp, unsigned int index, const char *host,
			   const struct veer_route_weight *weights,
			   size_t count, char **out, size_t *out_len, char *err,
			   size_t errlen)
{
	const struct path_step path[] = {
		{.key = "spec"},
		{.key = tcp ? "tcp" : "http"},
		{.index = index},
		{.key = "route"},
	};
	struct node_arena arena = {.count = 0};
	const struct veer_ynode *route, *top, *old;
	struct veer_route_weight *ordered;
	struct veer_ytree tree;
	char missing[64];
	size_t n;

	if (parse_one(&tree, name, text, len, err, errlen))
		return -1;
	old = node_at(tree.docs[0], path, 4);
	ordered = arena_alloc(&arena, count, sizeof(*ordered));
	n = ordered ? order_like(old, weights, count, ordered) : 0;
	route = n ? route_list(&arena, host, old, ordered, n) : NULL;
	top = route ? replace_path(&arena, tree.docs[0], path, 4, route) : NULL;
	snprintf(missing, sizeof(missing),
		 "no route spec.%s[%u].route to write the weights to",
		 tcp ? "tcp" : "http", index);
	return finish_rewrite(top, name, missing, &arena, &tree, out, out_len,
			      err, errlen);
}

int veer_objects_set_native_weights(const char *name, const char *text,
				    size_t len,
				    const struct veer_route_weight *weights,
				    size_t count, char **out, size_t *out_len,
				    char *err, size_t errlen)
{
	struct path_step path[] = {
		{.key = "services"}, {.index = 0},	{.key = "subsets"},
		{.index = 0},	     {.key = "weight"},
	};
	struct node_arena arena = {.count = 0};
	const struct veer_ynode *top, *services, *subsets = NULL;
	struct veer_ynode *value;
	struct veer_ytree tree;
	char number[16];
	size_t i, w;

	if (parse_one(&tree, name, text, len, err, errlen))
		return -1;
	top = tree.docs[0];
	services = veer_ynode_get(top, "services");
	if (services && services->type == VEER_YNODE_SEQ && services->len)
		subsets = veer_ynode_get(services->items[0], "subsets");
	for (i = 0; subsets && subsets->type == VEER_YNODE_SEQ &&
		    i < subsets->len && top;
	     i++) {
		const struct veer_ynode *sub = subsets->items[i];

		for (w = 0; w < count; w++)
			if (veer_ynode_is(veer_ynode_get(sub, "name"),
					  weights[w].subset))
				break;
		if (w == count)
			continue;
		snprintf(number, sizeof(number), "%u", weights[w].weight);
		value = arena_scalar(&arena, number, VEER_YSCALAR_INT);
		path[3].index = i;
		top = value ? replace_path(&arena, top, path, 5, value) : NULL;
	}
	return finish_rewrite(subsets ? top : NULL, name,
			      "no subset weights to write the weights to",
			      &arena, &tree, out, out_len, err, errlen);
}

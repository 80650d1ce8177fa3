// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer native YAML -> model, read from yaml_tree documents with the
 * accessors every loader shares (yaml_read.h).
 *
 * The native schema is stricter than Kubernetes': types come from the
 * schema alone, so no tags, and numbers and booleans are never quoted;
 * a name is any scalar. Fields are read in the order they are written, so
 * that of two mistakes in one mapping the first is named. Messages quote
 * every offending scalar, plain ones too.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "native.h"
#include "yaml_read.h"

/* "service NAME: subset NAME: ", names raw or quoted. */
#define CONTEXT_MAX (2 * VEER_YQUOTE_BUF + VEER_NAME_MAX + VEER_SUBSET_NAME_MAX)
#define PORT_MAX 65535
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum { TOP_SERVICES };
static const struct veer_field_spec top_fields[] = {
	[TOP_SERVICES] = {"services", VEER_F_USE, NULL},
};

/* All but SVC_AFFINITY and SVC_HTTP are required. */
enum { SVC_NAME, SVC_VIP, SVC_PORT, SVC_SUBSETS, SVC_AFFINITY, SVC_HTTP };
static const struct veer_field_spec service_fields[] = {
	[SVC_NAME] = {"name", VEER_F_USE, NULL},
	[SVC_VIP] = {"vip", VEER_F_USE, NULL},
	[SVC_PORT] = {"port", VEER_F_USE, NULL},
	[SVC_SUBSETS] = {"subsets", VEER_F_USE, NULL},
	[SVC_AFFINITY] = {"sourceIpAffinity", VEER_F_USE, NULL},
	/* HTTP/1.x: responses are read for the health signals. */
	[SVC_HTTP] = {"http", VEER_F_USE, NULL},
};

/* All but SUB_BACKENDS are required. */
enum { SUB_NAME, SUB_WEIGHT, SUB_BACKENDS };
static const struct veer_field_spec subset_fields[] = {
	[SUB_NAME] = {"name", VEER_F_USE, NULL},
	[SUB_WEIGHT] = {"weight", VEER_F_USE, NULL},
	[SUB_BACKENDS] = {"backends", VEER_F_USE, NULL},
};

/* The field of spec that key names, or nspec when none does. */
static size_t field_of(const struct veer_field_spec *spec, size_t nspec,
		       const ynode *key)
{
	size_t i;

	for (i = 0; i < nspec && !veer_ynode_is(key, spec[i].name); i++)
		;
	return i;
}

/*
 * The field pair i of map names, its key checked against the table one
 * pair at a time (veer_ycheck_fields on a one-pair view): of two mistakes
 * in a mapping, the first written is the one named. -1 on error.
 */
static int field_at(struct veer_yreader *r, const ynode *map, size_t i,
		    const struct veer_field_spec *spec, size_t nspec,
		    const char *where)
{
	ynode pair = *map;

	pair.len = 1;
	pair.items = map->items + 2 * i;
	if (veer_ycheck_fields(r, &pair, spec, nspec, where) < 0)
		return -1;
	return (int)field_of(spec, nspec, veer_ynode_key(map, i));
}

/*
 * The tree takes YAML's core tags; this format takes none, so a file
 * cannot say `!!str 80` where the schema wants a number. Recursion is
 * bounded by VEER_YAML_MAX_DEPTH. Nodes are visited in document order.
 */
static int refuse_tags(struct veer_yreader *r, const ynode *n)
{
	size_t i, count;

	if (n->tag)
		return veer_yfail(r, n,
				  "tag %s: explicit tags are not supported",
				  n->tag);
	if (n->type == VEER_YNODE_SCALAR)
		return 0;
	count = n->type == VEER_YNODE_MAP ? 2 * n->len : n->len;
	for (i = 0; i < count; i++)
		if (refuse_tags(r, n->items[i]) < 0)
			return -1;
	return 0;
}

static void set_loc(struct veer_src_loc *loc, const ynode *n)
{
	snprintf(loc->file, sizeof(loc->file), "%s", n->file);
	loc->line = n->line;
	loc->column = n->column;
}

/* A name as it goes in a message: as is, unless it would break the line. */
static const char *msg_name(const char *name, char *buf, size_t len)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return veer_quote(name, strlen(name), VEER_YQUOTE_MAX,
					  buf, len);
	return name;
}

/* "service NAME: subset NAME: " for the names read so far. */
static void context(const struct veer_service_model *svc,
		    const struct veer_subset_model *sub, char *buf, size_t len)
{
	char q[VEER_YQUOTE_BUF];
	int n = 0;

	buf[0] = '\0';
	if (svc && svc->name[0])
		n = snprintf(buf, len,
			     "service %s: ", msg_name(svc->name, q, sizeof(q)));
	if (sub && sub->name[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 "subset %s: ", msg_name(sub->name, q, sizeof(q)));
}

/* Why an endpoint failed to parse, for a message that says what to fix. */
static const char *endpoint_problem(const char *text)
{
	const char *colon = strrchr(text, ':'), *close;
	union veer_addr addr;
	uint16_t port;
	uint8_t fam;

	if (text[0] == '[') {
		char host[INET6_ADDRSTRLEN];
		size_t n;

		close = strchr(text, ']');
		if (!close)
			return "missing ']'";
		n = (size_t)(close - text - 1);
		if (n >= sizeof(host))
			return "not an IPv6 address in brackets";
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (veer_addr_parse(host, &addr, &fam) < 0)
			return "not an IPv6 address in brackets";
		if (fam == VEER_AF_INET)
			return "brackets are only for IPv6 addresses";
		if (close[1] != ':')
			return "missing \":port\" after ']'";
		return "port must be an integer 1..65535";
	}
	if (!colon)
		return "missing \":port\"";
	if (strchr(text, ':') != colon)
		return "IPv6 addresses need brackets: \"[addr]:port\"";
	if (veer_port_parse(colon + 1, &port) < 0)
		return "port must be an integer 1..65535";
	return "not an IPv4 address";
}

static int parse_backend(struct veer_yreader *r, const ynode *n,
			 struct veer_subset_model *sub)
{
	char q[VEER_YDESCRIBE_BUF];
	struct veer_backend be = {0};

	/* Unquoted "[fd00::1]:80" reads as a one-entry mapping. */
	if (n->type != VEER_YNODE_SCALAR)
		return veer_yfail(r, n,
				  "backend must be a string, got %s; quote "
				  "IPv6 backends: \"[addr]:port\"",
				  veer_ydescribe_in(r, n, q, sizeof(q)));
	if (veer_yget_text(r, n, "backend") < 0)
		return -1;
	if (n->len >= VEER_ENDPOINT_STRLEN ||
	    veer_endpoint_parse(n->text, &be.addr, &be.family, &be.port))
		return veer_yfail(r, n, "backend \"%s\": %s",
				  veer_yquote(n, q, sizeof(q)),
				  n->len >= VEER_ENDPOINT_STRLEN
					  ? "too long"
					  : endpoint_problem(n->text));
	if (veer_subset_add_backend(sub, &be) < 0)
		return veer_yfail(r, n, "out of memory");
	return 0;
}

static int parse_backends(struct veer_yreader *r, const ynode *list,
			  const struct veer_service_model *svc,
			  struct veer_subset_model *sub)
{
	char ctx[CONTEXT_MAX];
	size_t i;

	if (veer_ynode_is_null(list))
		return 0;
	if (veer_ywant(r, list, VEER_YNODE_SEQ, "backends") < 0)
		return -1;
	for (i = 0; i < list->len && i < VEER_MAX_BACKENDS_PER_SUBSET; i++)
		if (parse_backend(r, list->items[i], sub) < 0)
			return -1;
	if (list->len <= VEER_MAX_BACKENDS_PER_SUBSET)
		return 0;
	context(svc, sub, ctx, sizeof(ctx));
	return veer_yfail(r, list, "%s%zu backends, at most %u", ctx, list->len,
			  VEER_MAX_BACKENDS_PER_SUBSET);
}

static int parse_subset(struct veer_yreader *r, const ynode *map,
			const struct veer_service_model *svc,
			struct veer_subset_model *sub)
{
	char ctx[CONTEXT_MAX];
	size_t i;
	int ret = 0;

	if (veer_ywant(r, map, VEER_YNODE_MAP, "subset") < 0)
		return -1;
	set_loc(&sub->loc, map);
	for (i = 0; i < map->len && !ret; i++) {
		const ynode *v = veer_ynode_value(map, i);

		switch (field_at(r, map, i, subset_fields,
				 ARRAY_LEN(subset_fields), "subset")) {
		case -1:
			ret = -1;
			break;
		case SUB_NAME:
			ret = veer_yget_name(r, v, "subset name", sub->name,
					     sizeof(sub->name));
			break;
		case SUB_WEIGHT:
			ret = veer_yget_uint(r, v, "weight", 0,
					     VEER_WEIGHT_TOTAL, &sub->weight);
			break;
		case SUB_BACKENDS:
			ret = parse_backends(r, v, svc, sub);
			break;
		}
	}
	if (ret)
		return -1;
	context(svc, sub, ctx, sizeof(ctx));
	for (i = 0; i < ARRAY_LEN(subset_fields); i++)
		if (i != SUB_BACKENDS &&
		    !veer_ynode_get(map, subset_fields[i].name))
			return veer_yfail(r, map,
					  "%s%smissing required field \"%s\"",
					  ctx, sub->name[0] ? "" : "subset: ",
					  subset_fields[i].name);
	return 0;
}

static int parse_subsets(struct veer_yreader *r, const ynode *list,
			 struct veer_service_model *svc)
{
	char ctx[CONTEXT_MAX];
	size_t i;

	if (veer_ynode_is_null(list))
		return 0;
	if (veer_ywant(r, list, VEER_YNODE_SEQ, "subsets") < 0)
		return -1;
	for (i = 0; i < list->len && i < VEER_MAX_SUBSETS; i++) {
		svc->subset_count = (unsigned int)i + 1;
		if (parse_subset(r, list->items[i], svc, &svc->subsets[i]) < 0)
			return -1;
	}
	if (list->len <= VEER_MAX_SUBSETS)
		return 0;
	context(svc, NULL, ctx, sizeof(ctx));
	return veer_yfail(r, list, "%s%zu subsets, at most %u", ctx, list->len,
			  VEER_MAX_SUBSETS);
}

static int parse_vip(struct veer_yreader *r, const ynode *n,
		     struct veer_service_model *svc)
{
	char q[VEER_YQUOTE_BUF];

	if (veer_yget_text(r, n, "vip") < 0)
		return -1;
	if (n->len < INET6_ADDRSTRLEN &&
	    !veer_addr_parse(n->text, &svc->key.vip, &svc->key.family))
		return 0;
	return veer_yfail(r, n,
			  "vip must be an IPv4 or IPv6 address (no brackets, "
			  "no port), got \"%s\"",
			  veer_yquote(n, q, sizeof(q)));
}

static int parse_service(struct veer_yreader *r, const ynode *map,
			 struct veer_model *model)
{
	struct veer_service_model *svc;
	char ctx[CONTEXT_MAX];
	unsigned int port;
	bool affinity = false, http = false;
	size_t i;
	int ret = 0;

	if (veer_ywant(r, map, VEER_YNODE_MAP, "service") < 0)
		return -1;
	/* The model grows only here: svc stays valid for this whole call. */
	svc = veer_model_add_service(model);
	if (!svc)
		return veer_yfail(r, map, "out of memory");
	set_loc(&svc->loc, map);
	svc->key.proto = IPPROTO_TCP;
	for (i = 0; i < map->len && !ret; i++) {
		const ynode *v = veer_ynode_value(map, i);

		switch (field_at(r, map, i, service_fields,
				 ARRAY_LEN(service_fields), "service")) {
		case -1:
			ret = -1;
			break;
		case SVC_NAME:
			ret = veer_yget_name(r, v, "service name", svc->name,
					     sizeof(svc->name));
			break;
		case SVC_VIP:
			ret = parse_vip(r, v, svc);
			break;
		case SVC_PORT:
			ret = veer_yget_uint(r, v, "port", 1, PORT_MAX, &port);
			if (!ret)
				svc->key.port = htons((uint16_t)port);
			break;
		case SVC_SUBSETS:
			ret = parse_subsets(r, v, svc);
			break;
		case SVC_AFFINITY:
			ret = veer_yget_bool(r, v, "sourceIpAffinity",
					     &affinity);
			if (!ret && affinity)
				svc->flags |= VEER_SVC_F_HASH_SRC_IP;
			break;
		case SVC_HTTP:
			ret = veer_yget_bool(r, v, "http", &http);
			if (!ret && http)
				svc->flags |= VEER_SVC_F_HTTP;
			break;
		}
	}
	if (ret)
		return -1;
	context(svc, NULL, ctx, sizeof(ctx));
	for (i = 0; i < ARRAY_LEN(service_fields); i++)
		if (i != SVC_AFFINITY && i != SVC_HTTP &&
		    !veer_ynode_get(map, service_fields[i].name))
			return veer_yfail(r, map,
					  "%smissing required field \"%s\"",
					  svc->name[0] ? ctx : "service: ",
					  service_fields[i].name);
	return 0;
}

static int parse_document(struct veer_yreader *r, const ynode *root,
			  struct veer_model *model)
{
	char q[VEER_YQUOTE_BUF];
	size_t i, s;

	if (!root || refuse_tags(r, root) < 0)
		return root ? -1 : 0;
	/* A document with only comments, or only "---". */
	if (veer_ynode_is_null(root))
		return 0;
	if (veer_ywant(r, root, VEER_YNODE_MAP, "the top level") < 0)
		return -1;
	/* Not VEER_YCHECK_FIELDS: its "in ..." cannot say "at top level". */
	for (i = 0; i < root->len; i++) {
		const ynode *k = veer_ynode_key(root, i);
		const ynode *list = veer_ynode_value(root, i);

		if (field_of(top_fields, ARRAY_LEN(top_fields), k) !=
		    TOP_SERVICES)
			return veer_yfail(r, k,
					  "unknown field \"%s\" at top level",
					  veer_yquote(k, q, sizeof(q)));
		if (veer_ynode_is_null(list))
			continue;
		if (veer_ywant(r, list, VEER_YNODE_SEQ, "services") < 0)
			return -1;
		for (s = 0; s < list->len; s++)
			if (parse_service(r, list->items[s], model) < 0)
				return -1;
	}
	return 0;
}

/*
 * A subset that takes connections (weight > 0) needs a backend, or its
 * SYNs are dropped: refused, as a typo more likely than intended. A
 * drained subset (weight 0) may have none. (Istio entries keep Istio's
 * meaning, a route to a subset with no endpoints yet: istio.c notes it.)
 */
static int check_live_subsets(const struct veer_model *model, size_t first,
			      char *err, size_t errlen)
{
	char q1[VEER_YQUOTE_BUF], q2[VEER_YQUOTE_BUF];
	size_t i;
	unsigned int s;

	for (i = first; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];

		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_subset_model *sub = &svc->subsets[s];

			if (!sub->weight || sub->backend_count)
				continue;
			return veer_fail_at(
				err, errlen, sub->loc.file, sub->loc.line,
				sub->loc.column,
				"service %s: subset %s: weight %u but no "
				"backends (its connections would be dropped); "
				"give it backends or weight 0",
				msg_name(svc->name, q1, sizeof(q1)),
				msg_name(sub->name, q2, sizeof(q2)),
				sub->weight);
		}
	}
	return 0;
}

int veer_native_add_document(const ynode *root, bool service,
			     struct veer_model *model, char *err, size_t errlen)
{
	struct veer_yreader r = {.err = err, .errlen = errlen, .native = true};
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!service)
		ret = parse_document(&r, root, model);
	else
		ret = refuse_tags(&r, root) < 0
			      ? -1
			      : parse_service(&r, root, model);
	veer_yreader_free(&r);
	return ret;
}

int veer_native_check(const char *file, const struct veer_model *model,
		      size_t first, char *err, size_t errlen)
{
	if (model->count == first)
		return veer_fail_at(err, errlen, file, 0, 0,
				    "no services defined");
	return check_live_subsets(model, first, err, errlen);
}

int veer_native_add_tree(const struct veer_ytree *tree, const bool *only,
			 struct veer_model *model, char *err, size_t errlen)
{
	struct veer_yreader r = {.err = err, .errlen = errlen, .native = true};
	size_t first = model->count, i;
	int ret = 0;

	if (err && errlen)
		err[0] = '\0';
	for (i = 0; i < tree->doc_count && !ret; i++)
		if (!only || only[i])
			ret = parse_document(&r, tree->docs[i], model);
	if (!ret && model->count == first)
		ret = veer_fail_at(err, errlen, tree->file, 0, 0,
				   "no services defined");
	if (!ret)
		ret = check_live_subsets(model, first, err, errlen);
	veer_yreader_free(&r);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Document -> object: what a document is (apiVersion and kind, a List of
 * objects, a kind veer skips), its metadata (name, namespace, the id
 * messages name it by), its spec, and the parser its kind's table entry
 * names. Every kind goes through the same steps here; istio_se.c,
 * istio_k8s.c, istio_dr.c and istio_routes.c hold what differs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

/* In the order kinds are matched and listed (by_kind, cmp_meta). */
static const struct istio_kind *const kinds[K_NKINDS] = {
	[K_VS] = &istio_kind_vs,   [K_DR] = &istio_kind_dr,
	[K_SE] = &istio_kind_se,   [K_WE] = &istio_kind_we,
	[K_SVC] = &istio_kind_svc, [K_POD] = &istio_kind_pod,
};

static bool isalnum_lower(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 subdomain, as Kubernetes wants object names. */
static bool dns_subdomain_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253 || !isalnum_lower(s[0]) ||
	    !isalnum_lower(s[n - 1]))
		return false;
	for (i = 0; i < n; i++)
		if (!isalnum_lower(s[i]) && s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

bool istio_dns_label_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* What a document is, as far as its kind and metadata say. */
struct head {
	enum veer_istio_doc doc;
	const ynode *kind;
	const ynode *metadata;
	const ynode *items; /* VEER_ISTIO_DOC_LIST: NULL when none */
	enum kind k; /* VEER_ISTIO_DOC_OBJECT */
};

static bool ends_with(const ynode *n, const char *suffix)
{
	size_t l = strlen(suffix);

	return n->len >= l && !memcmp(n->text + n->len - l, suffix, l);
}

/*
 * Which kind an object is: -1 when veer skips it, -2 on error. Kinds are
 * recognised by API group as well as name (a Knative "Service" is not a
 * Kubernetes Service).
 */
static int classify(struct veer_yreader *rd, const ynode *api,
		    const ynode *kind)
{
	static const char *const versions[] = {"v1alpha3", "v1beta1", "v1"};
	size_t glen = strlen(ISTIO_GROUP), i;
	char qb[VEER_YQUOTE_BUF];
	int k;

	for (k = 0; k < K_NKINDS; k++)
		if (veer_ynode_is(kind, kinds[k]->name))
			break;
	if (k == K_NKINDS)
		return -1;
	if (k == K_SVC || k == K_POD)
		return veer_ynode_is(api, "v1") ? k : -1;
	if (api->len <= glen || memcmp(api->text, ISTIO_GROUP, glen) ||
	    api->text[glen] != '/')
		return -1;
	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		if (!strcmp(api->text + glen + 1, versions[i]))
			return k;
	veer_yfail(rd, api,
		   "apiVersion \"%s\" not supported for %s (" ISTIO_GROUP
		   "/v1alpha3, v1beta1 or v1)",
		   veer_yquote(api, qb, sizeof(qb)), kinds[k]->name);
	return -2;
}

/*
 * apiVersion, kind, and for a kind veer acts on, that metadata is a
 * mapping. A List's items are checked to be a list, not read.
 */
static int read_head(struct veer_yreader *rd, const ynode *obj, bool in_list,
		     struct head *h)
{
	const ynode *api, *kind;
	char d[VEER_YDESCRIBE_BUF];
	int k;

	memset(h, 0, sizeof(*h));
	if (obj->type != VEER_YNODE_MAP)
		return veer_yfail(
			rd, obj,
			"expected a Kubernetes object (a mapping with "
			"apiVersion, kind, metadata), got %s",
			veer_ydescribe(obj, d, sizeof(d)));
	if (veer_yget_type_meta(rd, obj, &api, &kind))
		return -1;
	h->kind = kind;
	h->items = veer_ynode_get(obj, "items");
	/* kubectl's List, or the API's ServiceList, PodList, ... */
	if (veer_ynode_is(kind, "List") ||
	    (ends_with(kind, "List") && h->items)) {
		h->doc = VEER_ISTIO_DOC_LIST;
		if (in_list)
			return veer_yfail(rd, kind, "a List inside a List");
		h->items = veer_yopt(h->items);
		if (h->items &&
		    veer_ywant(rd, h->items, VEER_YNODE_SEQ, "items") < 0)
			return -1;
		return 0;
	}
	h->items = NULL;
	k = classify(rd, api, kind);
	if (k == -2)
		return -1;
	h->metadata = veer_yfield(obj, "metadata");
	if (k == -1) {
		h->doc = VEER_ISTIO_DOC_SKIPPED;
		return 0;
	}
	h->doc = VEER_ISTIO_DOC_OBJECT;
	h->k = (enum kind)k;
	if (!h->metadata)
		return veer_yfail(rd, obj,
				  "%s: metadata is required (metadata.name)",
				  kinds[k]->name);
	return veer_ywant(rd, h->metadata, VEER_YNODE_MAP, "metadata");
}

/* Name, namespace (default_ns when none is given) and id of an object. */
static int read_meta(struct veer_yreader *rd, const ynode *obj,
		     const struct head *h, const char *default_ns,
		     struct meta *m)
{
	const ynode *metadata = h->metadata, *name, *ns;
	const char *kind = kinds[h->k]->name;
	char qb[VEER_YQUOTE_BUF];

	m->kind = h->k;
	m->node = obj;
	name = veer_yfield(metadata, "name");
	if (!name)
		return veer_yfail(rd, metadata, "%s: metadata.name is required",
				  kind);
	if (veer_yget_name(rd, name, "metadata.name", m->name,
			   sizeof(m->name)) < 0)
		return -1;
	/* It appears in host names and in every message about the object. */
	if (!dns_subdomain_ok(m->name))
		return veer_yfail(
			rd, name,
			"metadata.name must be a DNS name (a-z, 0-9, '-', "
			"'.'), got \"%s\"",
			veer_yquote(name, qb, sizeof(qb)));
	m->name_node = name;
	ns = veer_yfield(metadata, "namespace");
	if (ns) {
		if (veer_yget_name(rd, ns, "metadata.namespace", m->ns,
				   sizeof(m->ns)) < 0)
			return -1;
		/* It becomes part of host names. */
		if (!istio_dns_label_ok(m->ns))
			return veer_yfail(
				rd, ns,
				"metadata.namespace must be a DNS label "
				"(a-z, 0-9, '-')");
	} else {
		snprintf(m->ns, sizeof(m->ns), "%s", default_ns);
	}
	snprintf(m->id, sizeof(m->id), "%s %s/%s", kind, m->ns, m->name);
	return 0;
}

/* The spec, as the kind wants it. */
static int read_spec(struct veer_istio *ist, const struct meta *m,
		     const ynode **spec)
{
	const struct istio_kind *kind = kinds[m->kind];

	*spec = veer_yfield(m->node, "spec");
	if (!kind->spec_required)
		return 0;
	if (!*spec)
		return veer_yfail(&ist->rd, m->node, "%s: spec is required",
				  m->id);
	return istio_map(ist, *spec, &kind->spec);
}

static int register_obj(struct veer_istio *ist, struct meta *m)
{
	if (istio_vec_push(&ist->objs, m) < 0 ||
	    istio_vec_push(&ist->by_kind[m->kind], m) < 0)
		return istio_oom(ist);
	return 0;
}

/*
 * A kind veer does not act on is not checked further: it is not veer's to
 * judge, and some (a Kustomization next to the manifests) have no
 * metadata.
 */
static void note_skipped(struct veer_istio *ist, const struct head *h)
{
	const ynode *name = veer_yfield(h->metadata, "name");
	const ynode *ns = veer_yfield(h->metadata, "namespace");
	char qb[VEER_YQUOTE_BUF], qn[VEER_YQUOTE_BUF], qs[VEER_YQUOTE_BUF];

	if (!name || name->type != VEER_YNODE_SCALAR) {
		veer_ynote(&ist->rd, h->kind, "skipped %s (" ACTED_ON ")",
			   veer_yquote(h->kind, qb, sizeof(qb)));
		return;
	}
	veer_ynote(&ist->rd, h->kind, "skipped %s %s/%s (" ACTED_ON ")",
		   veer_yquote(h->kind, qb, sizeof(qb)),
		   ns && ns->type == VEER_YNODE_SCALAR
			   ? veer_yquote(ns, qs, sizeof(qs))
			   : ist->default_ns,
		   veer_yquote(name, qn, sizeof(qn)));
}

static int add_object(struct veer_istio *ist, const ynode *obj, bool in_list)
{
	const ynode *spec;
	struct meta *m;
	struct head h;
	size_t i;

	/* Every mapping counts, skipped kinds and Lists included. */
	if (obj->type == VEER_YNODE_MAP)
		ist->objects++;
	if (read_head(&ist->rd, obj, in_list, &h) < 0)
		return -1;
	if (h.doc == VEER_ISTIO_DOC_LIST) {
		for (i = 0; h.items && i < h.items->len; i++)
			if (add_object(ist, h.items->items[i], true) < 0)
				return -1;
		return 0;
	}
	if (h.doc == VEER_ISTIO_DOC_SKIPPED) {
		note_skipped(ist, &h);
		return 0;
	}
	m = istio_zalloc(ist, 1, kinds[h.k]->size);
	if (!m)
		return istio_oom(ist);
	m->order = ist->objs.n;
	if (read_meta(&ist->rd, obj, &h, ist->default_ns, m) < 0 ||
	    read_spec(ist, m, &spec) < 0 || kinds[h.k]->parse(ist, m, spec) < 0)
		return -1;
	return register_obj(ist, m);
}

int veer_istio_add_tree(struct veer_istio *ist, const struct veer_ytree *tree,
			const bool *only, char *err, size_t errlen)
{
	size_t i;

	ist->rd.err = err;
	ist->rd.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	for (i = 0; i < tree->doc_count; i++) {
		const ynode *doc = tree->docs[i];

		/* "---" with nothing after it, or only comments. */
		if (veer_ynode_is_null(doc) || (only && !only[i]))
			continue;
		if (add_object(ist, doc, false) < 0)
			return -1;
	}
	return 0;
}

int veer_istio_add_object(struct veer_istio *ist, const ynode *obj,
			  bool in_list, char *err, size_t errlen)
{
	ist->rd.err = err;
	ist->rd.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (veer_ynode_is_null(obj))
		return 0;
	return add_object(ist, obj, in_list);
}

int veer_istio_object_id(const ynode *doc, const char *default_namespace,
			 struct veer_istio_object_id *out, char *err,
			 size_t errlen)
{
	struct veer_yreader rd = {.err = err, .errlen = errlen};
	struct meta m;
	struct head h;
	int ret;

	memset(out, 0, sizeof(*out));
	out->node = doc;
	if (err && errlen)
		err[0] = '\0';
	/* "---" with nothing after it, or only comments. */
	if (veer_ynode_is_null(doc))
		return VEER_ISTIO_DOC_SKIPPED;
	if (!default_namespace || !*default_namespace)
		default_namespace = VEER_ISTIO_DEFAULT_NAMESPACE;
	memset(&m, 0, sizeof(m));
	ret = read_head(&rd, doc, false, &h);
	if (!ret && h.doc == VEER_ISTIO_DOC_OBJECT)
		ret = read_meta(&rd, doc, &h, default_namespace, &m);
	veer_yreader_free(&rd);
	if (ret < 0)
		return -1;
	out->items = h.items;
	if (h.doc == VEER_ISTIO_DOC_OBJECT) {
		out->kind = kinds[h.k]->name;
		snprintf(out->ns, sizeof(out->ns), "%s", m.ns);
		snprintf(out->name, sizeof(out->name), "%s", m.name);
	}
	return (int)h.doc;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Resolution: the objects of all files joined. One object per key; hosts
 * to their definitions (ServiceEntry or Service); DestinationRules and
 * VirtualServices to hosts, with what a VirtualService says about each
 * host checked there; endpoints (inline, WorkloadEntries, Pods) to the
 * hosts, with their port per service port.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

static bool is_wildcard(const char *host)
{
	return host[0] == '*';
}

static bool wildcard_matches(const char *pattern, const char *host)
{
	size_t pl = strlen(pattern), hl = strlen(host);

	if (!strcmp(pattern, "*"))
		return true;
	/* "*.example.com": the suffix, with at least one label before it. */
	return hl > pl - 1 && !strcmp(host + hl - (pl - 1), pattern + 1);
}

static int cmp_meta(const void *pa, const void *pb)
{
	const struct meta *a = *(const struct meta *const *)pa;
	const struct meta *b = *(const struct meta *const *)pb;
	int c = (int)a->kind - (int)b->kind;

	if (!c)
		c = strcmp(a->ns, b->ns);
	if (!c)
		c = strcmp(a->name, b->name);
	if (!c)
		c = a->order < b->order ? -1 : a->order > b->order;
	return c;
}

/*
 * One object per kind, namespace and name, as in a cluster: a second one
 * would replace the first with kubectl, and which one veer should take
 * would depend on file order.
 */
static int check_duplicate_objects(struct veer_istio *ist)
{
	struct meta **sorted, *first = NULL, *later = NULL;
	size_t i, n = ist->objs.n;

	if (n < 2)
		return 0;
	sorted = malloc(n * sizeof(*sorted));
	if (!sorted)
		return istio_oom(ist);
	memcpy(sorted, ist->objs.v, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_meta);
	for (i = 1; i < n; i++) {
		struct meta *a = sorted[i - 1], *b = sorted[i];

		if (a->kind != b->kind || strcmp(a->ns, b->ns) ||
		    strcmp(a->name, b->name))
			continue;
		if (!later || b->order < later->order) {
			first = a;
			later = b;
		}
	}
	free(sorted);
	if (!later)
		return 0;
	return veer_yfail(
		&ist->rd, later->name_node,
		"%s defined twice (also at %s:%u:%u); give one version "
		"of each object",
		later->id, first->name_node->file, first->name_node->line,
		first->name_node->column);
}

static int cmp_host(const void *pa, const void *pb)
{
	const struct hostdef *a = *(const struct hostdef *const *)pa;
	const struct hostdef *b = *(const struct hostdef *const *)pb;
	int c = strcmp(a->host, b->host);

	if (!c)
		c = a->order < b->order ? -1 : a->order > b->order;
	return c;
}

static int cmp_host_key(const void *key, const void *pb)
{
	const struct hostdef *b = *(const struct hostdef *const *)pb;

	return strcmp((const char *)key, b->host);
}

static struct hostdef *find_host(struct veer_istio *ist, const char *host)
{
	struct hostdef **hd;

	if (!ist->hosts.n)
		return NULL;
	hd = bsearch(host, ist->sorted_hosts, ist->hosts.n,
		     sizeof(*ist->sorted_hosts), cmp_host_key);
	return hd ? *hd : NULL;
}

static int add_hostdef(struct veer_istio *ist, const char *host,
		       const ynode *node, const struct meta *owner)
{
	struct hostdef *hd = istio_zalloc(ist, 1, sizeof(*hd));

	if (!hd)
		return istio_oom(ist);
	snprintf(hd->host, sizeof(hd->host), "%s", host);
	hd->node = node;
	hd->owner = owner;
	hd->order = ist->hosts.n;
	if (owner->kind == K_SE) {
		hd->se = (const struct se *)owner;
		hd->fe = &hd->se->fe;
	} else {
		hd->svc = (const struct svc *)owner;
		hd->fe = &hd->svc->fe;
		hd->flags = hd->svc->affinity ? VEER_SVC_F_HASH_SRC_IP : 0;
	}
	if (istio_vec_push(&ist->hosts, hd) < 0)
		return istio_oom(ist);
	return 0;
}

static int collect_hosts(struct veer_istio *ist)
{
	size_t i, j;

	for (i = 0; i < ist->objs.n; i++) {
		const struct meta *m = ist->objs.v[i];

		if (m->kind == K_SE) {
			const struct se *se = (const struct se *)m;

			for (j = 0; j < se->hosts.n; j++)
				if (add_hostdef(ist, se->hosts.names[j],
						se->hosts.nodes[j], m) < 0)
					return -1;
		} else if (m->kind == K_SVC) {
			const struct svc *s = (const struct svc *)m;

			if (add_hostdef(ist, s->host, m->name_node, m) < 0)
				return -1;
		}
	}
	if (!ist->hosts.n)
		return 0;
	ist->sorted_hosts = malloc(ist->hosts.n * sizeof(*ist->sorted_hosts));
	if (!ist->sorted_hosts)
		return istio_oom(ist);
	memcpy(ist->sorted_hosts, ist->hosts.v,
	       ist->hosts.n * sizeof(*ist->sorted_hosts));
	qsort(ist->sorted_hosts, ist->hosts.n, sizeof(*ist->sorted_hosts),
	      cmp_host);
	for (i = 1; i < ist->hosts.n; i++) {
		const struct hostdef *a = ist->sorted_hosts[i - 1];
		const struct hostdef *b = ist->sorted_hosts[i];

		if (strcmp(a->host, b->host))
			continue;
		/* Sorted by order within a host: a is the first. */
		return veer_yfail(
			&ist->rd, b->node,
			"duplicate host %s (also defined at %s:%u:%u)", b->host,
			a->node->file, a->node->line, a->node->column);
	}
	return 0;
}

/*
 * "host X is not defined": with a hint when the same short name exists in
 * another namespace, the usual cause (objects without metadata.namespace
 * are in "default", or in the namespace given with -n).
 */
static int fail_undefined(struct veer_istio *ist, const ynode *at,
			  const char *host, const char *who)
{
	const char *dot = strchr(host, '.');
	size_t first = dot ? (size_t)(dot - host + 1) : 0, i;

	for (i = 0; first && i < ist->hosts.n; i++) {
		const struct hostdef *hd = ist->hosts.v[i];

		if (!strncmp(hd->host, host, first))
			return veer_yfail(
				&ist->rd, at,
				"%s: host %s is not defined by any "
				"ServiceEntry or Service (%s is; short "
				"names resolve in the object's namespace, "
				"\"%s\" when metadata.namespace is not "
				"given)",
				who, host, hd->host, ist->default_ns);
	}
	return veer_yfail(&ist->rd, at,
			  "%s: host %s is not defined by any ServiceEntry or "
			  "Service",
			  who, host);
}

static int fail_unusable(struct veer_istio *ist, const struct hostdef *hd,
			 const ynode *ref, const char *who)
{
	const struct svc *s = hd->svc;

	return veer_yfail(&ist->rd, s->unusable_node,
			  "%s %s (needed by %s at %s:%u:%u)", s->m.id,
			  s->unusable, who, ref->file, ref->line, ref->column);
}

static int attach_drs(struct veer_istio *ist)
{
	const struct ptrvec *drs = &ist->by_kind[K_DR];
	size_t i;

	for (i = 0; i < drs->n; i++) {
		const struct dr *dr = drs->v[i];
		struct hostdef *hd = find_host(ist, dr->host);

		if (!hd)
			return fail_undefined(ist, dr->host_node, dr->host,
					      dr->m.id);
		if (hd->svc && hd->svc->unusable)
			return fail_unusable(ist, hd, dr->host_node, dr->m.id);
		if (hd->dr)
			return veer_yfail(
				&ist->rd, dr->host_node,
				"%s: host %s already has %s (at "
				"%s:%u:%u); one DestinationRule per host",
				dr->m.id, dr->host, hd->dr->m.id,
				hd->dr->host_node->file,
				hd->dr->host_node->line,
				hd->dr->host_node->column);
		hd->dr = dr;
		if (dr->hash_src_ip)
			hd->flags |= VEER_SVC_F_HASH_SRC_IP;
	}
	return 0;
}

static bool host_has_port(const struct hostdef *hd, unsigned int port)
{
	size_t i;

	for (i = 0; i < hd->fe->nport; i++)
		if (hd->fe->ports[i].number && hd->fe->ports[i].number == port)
			return true;
	return false;
}

/*
 * Without a VirtualService nothing routes to subsets, so, as in Istio,
 * connections spread over every endpoint (one subset, `all`) whatever the
 * DestinationRule defines.
 */
const struct subset *istio_dr_subsets(const struct hostdef *hd, size_t *n)
{
	*n = hd->dr && hd->vs ? hd->dr->nsub : 0;
	return *n ? hd->dr->subs : NULL;
}

/*
 * A route to a subset the host's DestinationRule lacks: the rule is named
 * (it may be a stored object, applied by another command) with what it
 * does define.
 */
static int fail_subset(struct veer_istio *ist, const ynode *subset,
		       const struct dr *dr, const struct subset *subs,
		       size_t nsub)
{
	char qb[VEER_YQUOTE_BUF], names[256] = "";
	size_t j, used = 0;

	for (j = 0; j < nsub && used + VEER_SUBSET_NAME_MAX + 8 < sizeof(names);
	     j++)
		used += (size_t)snprintf(names + used, sizeof(names) - used,
					 "%s%s", j ? ", " : "", subs[j].name);
	if (j < nsub)
		snprintf(names + used, sizeof(names) - used, ", ...");
	return veer_yfail(&ist->rd, subset,
			  "subset %s is not defined by %s (it defines %s)",
			  veer_yquote(subset, qb, sizeof(qb)), dr->m.id,
			  nsub ? names : "none");
}

/* Checks what a VirtualService says about one of its hosts. */
static int check_vs_host(struct veer_istio *ist, const struct vs *vs,
			 struct hostdef *hd)
{
	size_t r, i, j, nsub;
	const struct subset *subs = istio_dr_subsets(hd, &nsub);

	for (r = 0; r < vs->nrule; r++) {
		struct rule *rule = &vs->rules[r];

		for (i = 0; i < rule->ndest; i++) {
			const struct dest *d = &rule->dests[i];
			char qb[VEER_YQUOTE_BUF];

			if (strcmp(d->host, hd->host))
				return veer_yfail(
					&ist->rd, d->host_node,
					"routes to another host are not "
					"supported: %s routes %s to %s",
					vs->m.id, hd->host, d->host);
			if (d->port && !host_has_port(hd, d->port))
				return veer_yfail(
					&ist->rd, d->port_node,
					"port %u is not a TCP port of "
					"host %s",
					d->port, hd->host);
			if (!d->subset && nsub)
				return veer_yfail(
					&ist->rd, d->host_node,
					"destination names no subset, but "
					"%s defines subsets for host %s; "
					"name one of them",
					hd->dr->m.id, hd->host);
			if (!d->subset)
				continue;
			for (j = 0; j < nsub; j++)
				if (veer_ynode_is(d->subset, subs[j].name))
					break;
			if (j == nsub && hd->dr)
				return fail_subset(ist, d->subset, hd->dr, subs,
						   nsub);
			if (j == nsub)
				return veer_yfail(
					&ist->rd, d->subset,
					"subset %s is not defined by any "
					"DestinationRule for host %s",
					veer_yquote(d->subset, qb, sizeof(qb)),
					hd->host);
		}
		for (i = 0; i < rule->nblock; i++) {
			struct block *b = &rule->blocks[i];

			if (!b->port || b->port_noted ||
			    host_has_port(hd, b->port))
				continue;
			b->port_noted = true;
			if (vs->gateway_bound)
				veer_ynote(&ist->rd, b->node,
					   "%s: match port %u ignored (the "
					   "VirtualService is bound to "
					   "gateways; it "
					   "is a gateway port)",
					   vs->m.id, b->port);
			else
				veer_ynote(&ist->rd, b->node,
					   "%s: match port %u is not a port of "
					   "%s; "
					   "this match block never applies",
					   vs->m.id, b->port, hd->host);
		}
	}
	return 0;
}

static int attach_vs_host(struct veer_istio *ist, const struct vs *vs,
			  struct hostdef *hd, const ynode *ref)
{
	if (hd->vs == vs)
		return 0;
	if (hd->svc && hd->svc->unusable)
		return fail_unusable(ist, hd, ref, vs->m.id);
	if (hd->vs)
		return veer_yfail(
			&ist->rd, ref,
			"%s: host %s already has %s (at %s:%u:%u); one "
			"VirtualService per host",
			vs->m.id, hd->host, hd->vs->m.id,
			hd->vs->m.name_node->file, hd->vs->m.name_node->line,
			hd->vs->m.name_node->column);
	hd->vs = vs;
	return check_vs_host(ist, vs, hd);
}

/*
 * A wildcard host ("*", "*.example.com") would claim every host for one
 * route table. Istio uses it with gateways, where the destination decides;
 * veer applies it to the hosts its routes name.
 */
static int attach_wildcard(struct veer_istio *ist, const struct vs *vs,
			   size_t h)
{
	const char *pattern = vs->hosts.names[h];
	size_t r, i, found = 0;

	for (r = 0; r < vs->nrule; r++) {
		for (i = 0; i < vs->rules[r].ndest; i++) {
			const struct dest *d = &vs->rules[r].dests[i];
			struct hostdef *hd;

			if (!wildcard_matches(pattern, d->host))
				continue;
			hd = find_host(ist, d->host);
			if (!hd)
				return fail_undefined(ist, d->host_node,
						      d->host, vs->m.id);
			if (hd->vs == vs)
				continue;
			if (attach_vs_host(ist, vs, hd, vs->hosts.nodes[h]) < 0)
				return -1;
			veer_ynote(
				&ist->rd, vs->hosts.nodes[h],
				"%s: host \"%s\" applied to %s (the host its "
				"routes name)",
				vs->m.id, pattern, hd->host);
			found++;
		}
	}
	if (!found)
		return veer_yfail(
			&ist->rd, vs->hosts.nodes[h],
			"%s: wildcard host \"%s\" matches no host its "
			"routes name",
			vs->m.id, pattern);
	return 0;
}

static int attach_vss(struct veer_istio *ist)
{
	const struct ptrvec *vss = &ist->by_kind[K_VS];
	size_t i, h;

	for (i = 0; i < vss->n; i++) {
		const struct vs *vs = vss->v[i];

		for (h = 0; h < vs->hosts.n; h++) {
			struct hostdef *hd;

			if (is_wildcard(vs->hosts.names[h])) {
				if (attach_wildcard(ist, vs, h) < 0)
					return -1;
				continue;
			}
			hd = find_host(ist, vs->hosts.names[h]);
			if (!hd)
				return fail_undefined(ist, vs->hosts.nodes[h],
						      vs->hosts.names[h],
						      vs->m.id);
			if (attach_vs_host(ist, vs, hd, vs->hosts.nodes[h]) < 0)
				return -1;
		}
	}
	return 0;
}

/* ---- Pods and WorkloadEntries by namespace and label ---- */

/* FNV-1a over the namespace, then a pair's key and value. */
static uint64_t fnv(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return h;
}

static uint64_t ns_hash(const char *ns)
{
	return fnv(14695981039346656037ULL, ns, strlen(ns) + 1);
}

/* key NULL: the namespace's own list. */
static uint64_t pair_hash(uint64_t nsh, const ynode *key, const ynode *value)
{
	uint64_t h;

	if (!key)
		return nsh;
	h = fnv(nsh, key->text, key->len);
	h = fnv(h, "=", 1);
	return fnv(h, value->text, value->len);
}

static bool same_text(const ynode *a, const ynode *b)
{
	return a->len == b->len && !memcmp(a->text, b->text, a->len);
}

static struct label_list *index_find(const struct label_index *ix,
				     const char *ns, const ynode *key,
				     const ynode *value, uint64_t hash)
{
	struct label_list *l;

	if (!ix->nbucket)
		return NULL;
	for (l = ix->buckets[hash & (ix->nbucket - 1)]; l; l = l->next) {
		if (l->hash != hash || strcmp(l->ns, ns) || !l->key != !key)
			continue;
		if (!key ||
		    (same_text(l->key, key) && same_text(l->value, value)))
			return l;
	}
	return NULL;
}

static const ynode *labels_of(const struct meta *m)
{
	return m->kind == K_POD ? ((const struct pod *)m)->labels
				: ((const struct we *)m)->wl.labels;
}

/*
 * The list of (ns, key, value), made from *spare when new, and counted
 * for object i (once, if a label is given twice).
 */
static struct label_list *index_count(struct label_index *ix,
				      struct label_list **spare, const char *ns,
				      uint64_t nsh, const ynode *key,
				      const ynode *value, size_t i)
{
	uint64_t hash = pair_hash(nsh, key, value);
	struct label_list *l = index_find(ix, ns, key, value, hash);

	if (!l) {
		l = (*spare)++;
		l->ns = ns;
		l->key = key;
		l->value = value;
		l->hash = hash;
		l->next = ix->buckets[hash & (ix->nbucket - 1)];
		ix->buckets[hash & (ix->nbucket - 1)] = l;
	}
	if (l->last != i + 1) {
		l->last = i + 1;
		l->n++;
	}
	return l;
}

static int index_build(struct veer_istio *ist, struct label_index *ix,
		       const struct ptrvec *objs)
{
	struct label_list *lists, *spare, **refs;
	size_t i, j, k, nref = 0, nitem = 0, *items;

	memset(ix, 0, sizeof(*ix));
	if (!objs->n)
		return 0;
	/* One list per namespace and per (object, pair) at most. */
	for (i = 0; i < objs->n; i++) {
		const ynode *labels = labels_of(objs->v[i]);

		nref += 1 + (labels ? labels->len : 0);
	}
	for (ix->nbucket = 16; ix->nbucket < 2 * nref; ix->nbucket *= 2)
		;
	ix->buckets = istio_zalloc(ist, ix->nbucket, sizeof(*ix->buckets));
	lists = istio_zalloc(ist, nref, sizeof(*lists));
	refs = malloc(nref * sizeof(*refs));
	if (!ix->buckets || !lists || !refs) {
		free(refs);
		return istio_oom(ist);
	}
	/* Counted, each object's lists remembered in refs... */
	spare = lists;
	for (i = 0, k = 0; i < objs->n; i++) {
		const struct meta *m = objs->v[i];
		const ynode *labels = labels_of(m);
		uint64_t h = ns_hash(m->ns);

		refs[k++] = index_count(ix, &spare, m->ns, h, NULL, NULL, i);
		for (j = 0; labels && j < labels->len; j++)
			refs[k++] = index_count(ix, &spare, m->ns, h,
						veer_ynode_key(labels, j),
						veer_ynode_value(labels, j), i);
	}
	for (i = 0; i < (size_t)(spare - lists); i++)
		nitem += lists[i].n;
	items = istio_zalloc(ist, nitem, sizeof(*items));
	if (!items) {
		free(refs);
		return istio_oom(ist);
	}
	for (i = 0; i < (size_t)(spare - lists); i++) {
		lists[i].items = items;
		items += lists[i].n;
		lists[i].n = 0;
		lists[i].last = 0;
	}
	/* ...then filled in definition order. */
	for (i = 0, k = 0; i < objs->n; i++) {
		const ynode *labels = labels_of(objs->v[i]);
		size_t end = k + 1 + (labels ? labels->len : 0);

		for (; k < end; k++) {
			struct label_list *l = refs[k];

			if (l->last == i + 1)
				continue;
			l->last = i + 1;
			l->items[l->n++] = i;
		}
	}
	free(refs);
	return 0;
}

/*
 * The objects of ns that may match selector, in definition order: those
 * with its rarest pair (each still to be checked against the others), or
 * all of the namespace when it has no pairs. NULL: none.
 */
static const struct label_list *index_select(const struct label_index *ix,
					     const char *ns,
					     const ynode *selector)
{
	const struct label_list *best = NULL, *l;
	uint64_t h = ns_hash(ns);
	size_t i;

	if (!selector || !selector->len)
		return index_find(ix, ns, NULL, NULL, h);
	for (i = 0; i < selector->len; i++) {
		const ynode *k = veer_ynode_key(selector, i);
		const ynode *v = veer_ynode_value(selector, i);

		l = index_find(ix, ns, k, v, pair_hash(h, k, v));
		if (!l)
			return NULL;
		if (!best || l->n < best->n)
			best = l;
	}
	return best;
}

/* The value of map[key] as a port, or 0. Validated at collection. */
static unsigned int map_port(const ynode *map, const ynode *key)
{
	size_t i;

	for (i = 0; map && key && i < map->len; i++) {
		const ynode *k = veer_ynode_key(map, i);
		unsigned int v = 0;
		size_t j;

		if (k->len != key->len || memcmp(k->text, key->text, k->len))
			continue;
		k = veer_ynode_value(map, i);
		for (j = 0; j < k->len; j++)
			v = v * 10 + (unsigned int)(k->text[j] - '0');
		return v;
	}
	return 0;
}

static int add_ep(struct veer_istio *ist, struct hostdef *hd, size_t *cap,
		  const struct addr_node *addr, const ynode *labels,
		  struct ep **out)
{
	struct ep *ep;

	if (hd->nep == MAX_ENDPOINTS_PER_HOST)
		return veer_yfail(&ist->rd, hd->node,
				  "%s: host %s has more than %d endpoints",
				  hd->owner->id, hd->host,
				  MAX_ENDPOINTS_PER_HOST);
	if (hd->nep == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct ep *grown = istio_zalloc(ist, ncap, sizeof(*grown));

		if (!grown)
			return istio_oom(ist);
		if (hd->nep)
			memcpy(grown, hd->eps, hd->nep * sizeof(*grown));
		/* The old array stays in ist->allocs until the end. */
		hd->eps = grown;
		*cap = ncap;
	}
	ep = &hd->eps[hd->nep++];
	ep->addr = *addr;
	ep->labels = labels;
	ep->port_for = istio_zalloc(ist, hd->fe->nport, sizeof(*ep->port_for));
	if (!ep->port_for)
		return istio_oom(ist);
	*out = ep;
	return 0;
}

/* Endpoint port for a service port: ports[name], targetPort, number. */
static int add_wl_ep(struct veer_istio *ist, struct hostdef *hd, size_t *cap,
		     const struct wl *wl)
{
	struct ep *ep;
	size_t i;

	if (add_ep(ist, hd, cap, &wl->addr, wl->labels, &ep) < 0)
		return -1;
	for (i = 0; i < hd->fe->nport; i++) {
		const struct port *p = &hd->fe->ports[i];
		unsigned int named = map_port(wl->ports, p->name);

		ep->port_for[i] = named	      ? named
				  : p->target ? p->target
					      : p->number;
	}
	return 0;
}

static int se_endpoints(struct veer_istio *ist, struct hostdef *hd)
{
	const struct se *se = hd->se;
	const struct ptrvec *wes = &ist->by_kind[K_WE];
	const struct label_list *sel =
		se->has_selector
			? index_select(&ist->wes, se->m.ns, se->selector)
			: NULL;
	size_t cap = 0, i;

	for (i = 0; i < se->nep; i++)
		if (add_wl_ep(ist, hd, &cap, &se->eps[i]) < 0)
			return -1;
	/* The namespace's WorkloadEntries with every label, in order. */
	for (i = 0; sel && i < sel->n; i++) {
		const struct we *we = wes->v[sel->items[i]];

		if (!istio_labels_include(we->wl.labels, se->selector))
			continue;
		if (add_wl_ep(ist, hd, &cap, &we->wl) < 0)
			return -1;
	}
	return 0;
}

static int svc_endpoints(struct veer_istio *ist, struct hostdef *hd)
{
	const struct svc *s = hd->svc;
	const struct ptrvec *pods = &ist->by_kind[K_POD];
	size_t cap = 0, i, j, k, usable = 0;
	char qb[VEER_YQUOTE_BUF];
	size_t *resolved = istio_zalloc(ist, hd->fe->nport, sizeof(*resolved));
	unsigned int *port_for =
		istio_zalloc(ist, hd->fe->nport, sizeof(*port_for));

	const struct label_list *sel =
		index_select(&ist->pods, s->m.ns, s->selector);

	if (!resolved || !port_for)
		return istio_oom(ist);
	/* The namespace's Pods with every label, in order. */
	for (i = 0; sel && i < sel->n; i++) {
		const struct pod *p = pods->v[sel->items[i]];

		if (!istio_labels_include(p->labels, s->selector))
			continue;
		if (p->skip) {
			veer_ynote(&ist->rd, p->m.name_node,
				   "%s: %s %s, not an endpoint", s->m.id,
				   p->m.id, p->skip);
			continue;
		}
		usable++;
		for (k = 0; k < hd->fe->nport; k++) {
			const struct port *sp = &hd->fe->ports[k];

			port_for[k] = sp->target ? sp->target : sp->number;
			if (!sp->target_name || !sp->number)
				continue;
			if (istio_pod_named_port(ist, p, sp->target_name,
						 &port_for[k]) < 0)
				return -1;
			if (port_for[k])
				resolved[k]++;
			else
				veer_ynote(&ist->rd, p->m.name_node,
					   "%s: %s has no container port named "
					   "\"%s\", not an endpoint of port %u",
					   s->m.id, p->m.id,
					   veer_yquote(sp->target_name, qb,
						       sizeof(qb)),
					   sp->number);
		}
		for (j = 0; j < p->nip; j++) {
			struct ep *ep;

			if (add_ep(ist, hd, &cap, &p->ips[j], p->labels, &ep) <
			    0)
				return -1;
			memcpy(ep->port_for, port_for,
			       hd->fe->nport * sizeof(*port_for));
		}
	}
	for (k = 0; usable && k < hd->fe->nport; k++) {
		const struct port *sp = &hd->fe->ports[k];

		if (sp->target_name && sp->number && !resolved[k])
			return veer_yfail(
				&ist->rd, sp->target_name,
				"%s: targetPort \"%s\" is not a container "
				"port (spec.containers[].ports[].name) of "
				"any selected Pod",
				s->m.id,
				veer_yquote(sp->target_name, qb, sizeof(qb)));
	}
	return 0;
}

int istio_endpoints(struct veer_istio *ist, struct hostdef *hd)
{
	return hd->se ? se_endpoints(ist, hd) : svc_endpoints(ist, hd);
}

int istio_resolve(struct veer_istio *ist)
{
	if (check_duplicate_objects(ist) < 0 || collect_hosts(ist) < 0 ||
	    attach_drs(ist) < 0 || attach_vss(ist) < 0 ||
	    index_build(ist, &ist->pods, &ist->by_kind[K_POD]) < 0 ||
	    index_build(ist, &ist->wes, &ist->by_kind[K_WE]) < 0)
		return -1;
	return 0;
}

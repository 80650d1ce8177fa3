// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Entries into the model: per host, one service per (VIP, port), split
 * into the DestinationRule's subsets (or "all") with the endpoints each
 * selects as backends, weighted and ruled by the VirtualService's routes
 * for that port; then, once per load, what header/uri rules cannot do.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

static bool backend_seen(const struct veer_subset_model *sub,
			 const struct veer_backend *be)
{
	unsigned int i;

	for (i = 0; i < sub->backend_count; i++)
		if (sub->backends[i].port == be->port &&
		    !memcmp(&sub->backends[i].addr, &be->addr,
			    sizeof(be->addr)))
			return true;
	return false;
}

static void set_loc(struct veer_src_loc *loc, const ynode *n)
{
	snprintf(loc->file, sizeof(loc->file), "%s", n->file);
	loc->line = n->line;
	loc->column = n->column;
}

static int family_index(uint8_t family)
{
	return family == VEER_AF_INET6;
}

/* Endpoints per subset and family; nsub 0: the one subset "all". */
static int match_subsets(struct veer_istio *ist, struct hostdef *hd,
			 const struct subset *subs, size_t nsub)
{
	size_t s, i;

	for (s = 0; s < (nsub ? nsub : 1); s++) {
		const ynode *labels = nsub ? subs[s].labels : NULL;

		hd->members[s][0] = istio_zalloc(ist, hd->nep, sizeof(size_t));
		hd->members[s][1] = istio_zalloc(ist, hd->nep, sizeof(size_t));
		if (!hd->members[s][0] || !hd->members[s][1])
			return istio_oom(ist);
		for (i = 0; i < hd->nep; i++) {
			int f = family_index(hd->eps[i].addr.family);

			if (istio_labels_include(hd->eps[i].labels, labels))
				hd->members[s][f][hd->nmembers[s][f]++] = i;
		}
	}
	return 0;
}

static int fill_subset(struct veer_istio *ist, const struct hostdef *hd,
		       const struct addr_node *vip, size_t port_index,
		       struct veer_service_model *svc, size_t s,
		       const ynode *at)
{
	struct veer_subset_model *sub = &svc->subsets[s];
	int f = family_index(vip->family);
	size_t i;

	for (i = 0; i < hd->nmembers[s][f]; i++) {
		const struct ep *ep = &hd->eps[hd->members[s][f][i]];
		struct veer_backend be = {0};

		if (!ep->port_for[port_index])
			continue;
		be.addr = ep->addr.addr;
		be.family = ep->addr.family;
		be.port = htons((uint16_t)ep->port_for[port_index]);
		if (backend_seen(sub, &be))
			continue;
		if (sub->backend_count == VEER_MAX_BACKENDS_PER_SUBSET)
			return veer_yfail(
				&ist->rd, at,
				"service %s: subset %s has more than %d "
				"backends",
				svc->name, sub->name,
				VEER_MAX_BACKENDS_PER_SUBSET);
		if (++ist->backends > MAX_BACKENDS)
			return veer_yfail(
				&ist->rd, at,
				"more than %d backends in all (endpoints "
				"times subsets times ports)",
				MAX_BACKENDS);
		if (veer_subset_add_backend(sub, &be) < 0)
			return istio_oom(ist);
	}
	return 0;
}

/* Which section of the VirtualService a port's connections follow. */
static bool use_tcp(const struct vs *vs, const struct port *p)
{
	if (p->l7 == L7_TCP)
		return true;
	if (p->l7 == L7_HTTP)
		return false;
	/* Istio sniffs unnamed ports: whichever section the user wrote. */
	return !vs->has_http && vs->has_tcp;
}

static int subset_index(const struct veer_service_model *svc,
			const struct dest *d)
{
	if (!d->subset)
		return 0;
	return veer_service_find_subset(svc, d->subset->text);
}

/* Does a rule apply to this port at all, and with which blocks? */
static bool block_applies(const struct vs *vs, const struct block *b,
			  unsigned int port)
{
	return !b->port || vs->gateway_bound || b->port == port;
}

static int apply_vs(struct veer_istio *ist, const struct hostdef *hd,
		    const struct port *port, struct veer_service_model *svc)
{
	const struct vs *vs = hd->vs;
	bool tcp = use_tcp(vs, port);
	const struct rule *def = NULL;
	size_t r, b, i;

	for (r = 0; r < vs->nrule; r++) {
		struct rule *rule = &vs->rules[r];
		struct veer_rule vr;
		size_t kept = 0;
		bool unconditional = rule->nblock == 0;

		if (rule->tcp != tcp)
			continue;
		if (rule->dest_port && rule->dest_port != port->number)
			continue;
		for (b = 0; b < rule->nblock; b++) {
			if (!block_applies(vs, &rule->blocks[b], port->number))
				continue;
			kept++;
			if (!rule->blocks[b].ncond)
				unconditional = true;
		}
		if (!unconditional && !kept)
			continue;
		if (def) {
			if (!rule->unreachable_noted)
				veer_ynote(
					&ist->rd, rule->node,
					"%s: %s[%u] is unreachable for %s (it "
					"comes after the default route)",
					vs->m.id, tcp ? "tcp" : "http",
					rule->index, svc->name);
			rule->unreachable_noted = true;
			continue;
		}
		if (unconditional) {
			def = rule;
			continue;
		}
		if (svc->rule_count == VEER_MAX_RULES)
			return veer_yfail(
				&ist->rd, rule->node,
				"service %s: more than %d http rules with "
				"match conditions (VEER_MAX_RULES)",
				svc->name, VEER_MAX_RULES);
		if (kept > VEER_MAX_MATCHES)
			return veer_yfail(
				&ist->rd, rule->match_node,
				"service %s: %zu match blocks in one rule, "
				"at most %d (VEER_MAX_MATCHES)",
				svc->name, kept, VEER_MAX_MATCHES);
		memset(&vr, 0, sizeof(vr));
		for (b = 0; b < rule->nblock; b++) {
			const struct block *blk = &rule->blocks[b];
			struct veer_match *m;

			if (!block_applies(vs, blk, port->number))
				continue;
			m = &vr.matches[vr.match_count++];
			m->condition_count = (__u8)blk->ncond;
			for (i = 0; i < blk->ncond; i++) {
				const struct cond *c = &blk->conds[i];
				struct veer_condition *vc = &m->conditions[i];

				vc->field = c->field;
				vc->op = c->op;
				if (c->field == VEER_COND_HEADER)
					snprintf(vc->name, sizeof(vc->name),
						 "%s", c->name);
				if (c->value)
					memcpy(vc->value, c->value->text,
					       c->value->len);
				vc->name_len = (__u8)strlen(vc->name);
				vc->value_len =
					(__u8)(c->value ? c->value->len : 0);
			}
		}
		for (i = 0; i < rule->ndest; i++) {
			int s = subset_index(svc, &rule->dests[i]);

			vr.weights[s] =
				(__u8)(vr.weights[s] + rule->dests[i].weight);
		}
		if (veer_service_add_rule(svc, &vr) < 0)
			return istio_oom(ist);
	}
	if (!def && svc->rule_count)
		return veer_yfail(
			&ist->rd, tcp ? vs->tcp_node : vs->http_node,
			"%s: every %s rule has match conditions; add a "
			"last rule without match (the default route)",
			vs->m.id, tcp ? "tcp" : "http");
	if (!def) {
		/* Nothing of the VirtualService is for this port. */
		svc->subsets[0].weight = VEER_WEIGHT_TOTAL;
		veer_ynote(&ist->rd, vs->m.name_node,
			   "service %s: no %s route of %s applies to port %u; "
			   "subset %s gets all connections",
			   svc->name, tcp ? "tcp" : "http", vs->m.id,
			   port->number, svc->subsets[0].name);
		return 0;
	}
	for (i = 0; i < def->ndest; i++) {
		int s = subset_index(svc, &def->dests[i]);

		svc->subsets[s].weight += def->dests[i].weight;
	}
	snprintf(svc->route.vs_ns, sizeof(svc->route.vs_ns), "%s", vs->m.ns);
	snprintf(svc->route.vs_name, sizeof(svc->route.vs_name), "%s",
		 vs->m.name);
	svc->route.tcp = tcp;
	svc->route.index = def->index;
	if (def->ndest)
		snprintf(svc->route.dest_host, sizeof(svc->route.dest_host),
			 "%s", def->dests[0].host_node->text);
	return 0;
}

/*
 * What header/uri rules cannot do, said once per load and only when the
 * loaded services have rules: the kernel binds a connection to a backend
 * from its first request (TC delayed binding), which Istio does not.
 */
static void note_rule_limits(struct veer_istio *ist,
			     const struct veer_model *out, size_t first)
{
	bool rules = false;
	size_t i;

	for (i = first; i < out->count; i++)
		rules |= out->services[i].rule_count > 0;
	if (!rules)
		return;
	veer_ynote(&ist->rd, NULL,
		   VEER_RULES_NOTE_PREFIX
		   "the first request of a connection "
		   "chooses its "
		   "backend, matched in the request's first segment; later "
		   "requests "
		   "on a keep-alive connection follow it (Istio routes each "
		   "request)");
	veer_ynote(&ist->rd, NULL,
		   VEER_RULES_NOTE_PREFIX
		   "node-local clients (veer attach --cgroup) "
		   "take the default route");
	veer_ynote(&ist->rd, NULL,
		   VEER_RULES_NOTE_PREFIX
		   "HTTP/2, gRPC and TLS connections take the "
		   "default route");
}

static int make_entry(struct veer_istio *ist, const struct hostdef *hd,
		      const struct addr_node *vip, size_t port_index,
		      bool single, struct veer_model *out)
{
	const struct port *port = &hd->fe->ports[port_index];
	struct veer_service_model *svc;
	size_t nsub, i;
	const struct subset *subs = istio_dr_subsets(hd, &nsub);
	int n;

	if (++ist->entries > MAX_ENTRIES)
		return veer_yfail(
			&ist->rd, hd->node,
			"more than %d service entries in all (hosts times "
			"addresses times ports)",
			MAX_ENTRIES);
	/* out does not grow again in this call: svc stays valid. */
	svc = veer_model_add_service(out);
	if (!svc)
		return istio_oom(ist);
	if (single)
		n = snprintf(svc->name, sizeof(svc->name), "%s", hd->host);
	else
		n = snprintf(svc->name, sizeof(svc->name), "%s:%u%s", hd->host,
			     port->number,
			     vip->family == VEER_AF_INET6 ? "/ipv6" : "");
	if (n < 0 || (size_t)n >= sizeof(svc->name))
		return veer_yfail(
			&ist->rd, hd->node,
			"service name %s:%u%s is longer than %d bytes",
			hd->host, port->number,
			vip->family == VEER_AF_INET6 ? "/ipv6" : "",
			VEER_NAME_MAX - 1);
	snprintf(svc->host, sizeof(svc->host), "%s", hd->host);
	svc->key.vip = vip->addr;
	svc->key.family = vip->family;
	svc->key.port = htons((uint16_t)port->number);
	svc->key.proto = IPPROTO_TCP;
	svc->flags = hd->flags;
	/* Istio's HTTP ports: the data plane reads their responses. */
	if (port->l7 == L7_HTTP)
		svc->flags |= VEER_SVC_F_HTTP;
	set_loc(&svc->loc, vip->node);
	if (nsub) {
		for (i = 0; i < nsub; i++) {
			struct veer_subset_model *sub =
				&svc->subsets[svc->subset_count++];

			snprintf(sub->name, sizeof(sub->name), "%s",
				 subs[i].name);
			set_loc(&sub->loc, subs[i].node);
			if (fill_subset(ist, hd, vip, port_index, svc, i,
					subs[i].node) < 0)
				return -1;
		}
	} else {
		struct veer_subset_model *sub = &svc->subsets[0];

		svc->subset_count = 1;
		snprintf(sub->name, sizeof(sub->name), ALL_SUBSET);
		set_loc(&sub->loc, hd->node);
		if (fill_subset(ist, hd, vip, port_index, svc, 0, hd->node) < 0)
			return -1;
	}
	if (hd->vs) {
		if (apply_vs(ist, hd, port, svc) < 0)
			return -1;
	} else {
		svc->subsets[0].weight = VEER_WEIGHT_TOTAL;
	}
	for (i = 0; i < svc->subset_count; i++)
		if (svc->subsets[i].weight && !svc->subsets[i].backend_count)
			veer_ynote(
				&ist->rd, NULL,
				"service %s: subset %s has weight %u but no %s "
				"backends; its connections will be dropped",
				svc->name, svc->subsets[i].name,
				svc->subsets[i].weight,
				vip->family == VEER_AF_INET6 ? "IPv6" : "IPv4");
	return 0;
}

static int make_entries(struct veer_istio *ist, struct hostdef *hd,
			struct veer_model *out)
{
	const struct subset *subs;
	size_t v, p, count = 0, nsub;

	if (hd->svc && hd->svc->unusable) {
		veer_ynote(&ist->rd, hd->svc->unusable_node, "%s %s; skipped",
			   hd->svc->m.id, hd->svc->unusable);
		return 0;
	}
	if (istio_endpoints(ist, hd) < 0)
		return -1;
	for (p = 0; p < hd->fe->nport; p++)
		if (hd->fe->ports[p].number)
			count += hd->fe->nvip;
	if (!count) {
		veer_ynote(&ist->rd, hd->node,
			   "%s: host %s has no TCP ports; skipped",
			   hd->owner->id, hd->host);
		return 0;
	}
	/* Sets nsub first: argument evaluation order is unspecified. */
	subs = istio_dr_subsets(hd, &nsub);
	if (match_subsets(ist, hd, subs, nsub) < 0)
		return -1;
	if (!hd->vs && hd->dr) {
		veer_ynote(
			&ist->rd, hd->node,
			"service %s: no VirtualService, so as in Istio "
			"connections spread over every endpoint (subset %s); "
			"the DestinationRule's subsets apply once a "
			"VirtualService routes to them",
			hd->host, ALL_SUBSET);
	}
	for (v = 0; v < hd->fe->nvip; v++)
		for (p = 0; p < hd->fe->nport; p++)
			if (hd->fe->ports[p].number &&
			    make_entry(ist, hd, &hd->fe->vips[v], p, count == 1,
				       out) < 0)
				return -1;
	return 0;
}

int veer_istio_build(struct veer_istio *ist, struct veer_model *out, char *err,
		     size_t errlen)
{
	size_t i, first = out->count;

	ist->rd.err = err;
	ist->rd.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';
	if (istio_resolve(ist) < 0)
		return -1;
	for (i = 0; i < ist->hosts.n; i++)
		if (make_entries(ist, ist->hosts.v[i], out) < 0)
			return -1;
	note_rule_limits(ist, out, first);
	return 0;
}

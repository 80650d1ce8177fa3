// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * VirtualService: its hosts, and its http and tcp routes, each a list of
 * match blocks (header, uri and port conditions) and of weighted
 * destinations. What the routes mean for one entry is istio_build.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

static bool header_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* {exact|prefix: value}; {} or null: the header is present. */
static int parse_string_match(struct veer_istio *ist, const ynode *n,
			      const char *what, struct cond *c)
{
	const ynode *k, *v;
	size_t i;

	c->op = VEER_COND_PREFIX;
	c->value = NULL;
	if (!veer_yopt(n))
		return 0;
	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, what) < 0)
		return -1;
	if (n->len == 0)
		return 0;
	for (i = 0; i < n->len; i++)
		if (veer_ynode_is(veer_ynode_key(n, i), "regex"))
			return veer_yfail(
				&ist->rd, veer_ynode_key(n, i),
				"regex matches are not supported (the "
				"kernel matcher has none); use exact or "
				"prefix");
	if (n->len > 1)
		return veer_yfail(&ist->rd, veer_ynode_key(n, 1),
				  "%s takes one of exact or prefix", what);
	k = veer_ynode_key(n, 0);
	v = veer_ynode_value(n, 0);
	if (!veer_ynode_is(k, "exact") && !veer_ynode_is(k, "prefix")) {
		char qb[VEER_YQUOTE_BUF];

		return veer_yfail(
			&ist->rd, k,
			"unknown field \"%s\" in %s (exact or prefix)",
			veer_yquote(k, qb, sizeof(qb)), what);
	}
	if (veer_ynode_is(k, "exact"))
		c->op = VEER_COND_EXACT;
	if (veer_yget_text(&ist->rd, v, what) < 0)
		return -1;
	if (v->len >= VEER_MATCH_VALUE_MAX)
		return veer_yfail(&ist->rd, v,
				  "%s is %zu bytes long, at most %d", what,
				  v->len, VEER_MATCH_VALUE_MAX - 1);
	for (i = 0; i < v->len; i++)
		if ((unsigned char)v->text[i] < 0x20 ||
		    (unsigned char)v->text[i] == 0x7f)
			return veer_yfail(
				&ist->rd, v,
				"%s must not contain control characters", what);
	c->value = v;
	return 0;
}

/* The next condition of b, for field; at is where a message points. */
static struct cond *add_cond(struct veer_istio *ist, struct block *b,
			     const ynode *at, uint8_t field)
{
	struct cond *c;

	if (b->ncond == VEER_MAX_CONDITIONS) {
		veer_yfail(&ist->rd, at,
			   "more than %d conditions in one match block "
			   "(VEER_MAX_CONDITIONS)",
			   VEER_MAX_CONDITIONS);
		return NULL;
	}
	c = &b->conds[b->ncond++];
	c->field = field;
	return c;
}

static int parse_block(struct veer_istio *ist, const ynode *n, bool tcp,
		       struct block *b)
{
	const ynode *headers, *uri, *port;
	char qb[VEER_YQUOTE_BUF];
	size_t i;

	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, "match") < 0)
		return -1;
	b->node = n;
	for (i = 0; i < n->len; i++) {
		const ynode *k = veer_ynode_key(n, i);

		if (veer_ynode_is(k, "port") ||
		    (!tcp &&
		     (veer_ynode_is(k, "headers") || veer_ynode_is(k, "uri"))))
			continue;
		return veer_yfail(
			&ist->rd, k,
			tcp ? "match on \"%s\" is not supported (tcp "
			      "routes match port only)"
			    : "match on \"%s\" is not supported (veer "
			      "matches headers, uri and port)",
			veer_yquote(k, qb, sizeof(qb)));
	}
	port = veer_yfield(n, "port");
	if (port && veer_yget_uint(&ist->rd, port, "match port", 1, PORT_MAX,
				   &b->port) < 0)
		return -1;
	headers = veer_yfield(n, "headers");
	if (headers) {
		if (veer_ywant(&ist->rd, headers, VEER_YNODE_MAP, "headers") <
		    0)
			return -1;
		for (i = 0; i < headers->len; i++) {
			const ynode *k = veer_ynode_key(headers, i);
			struct cond *c;
			size_t j;

			c = add_cond(ist, b, k, VEER_COND_HEADER);
			if (!c)
				return -1;
			if (k->len == 0 || k->len >= VEER_MATCH_NAME_MAX)
				return veer_yfail(
					&ist->rd, k,
					"header name must be 1..%d bytes",
					VEER_MATCH_NAME_MAX - 1);
			for (j = 0; j < k->len; j++) {
				char ch = k->text[j];

				if (ch >= 'A' && ch <= 'Z')
					ch = (char)(ch - 'A' + 'a');
				if (!header_char_ok(ch))
					return veer_yfail(
						&ist->rd, k,
						"header name \"%s\" is not "
						"an HTTP token",
						veer_yquote(k, qb, sizeof(qb)));
				c->name[j] = ch;
			}
			c->name[k->len] = '\0';
			if (!strcmp(c->name, "uri") ||
			    !strcmp(c->name, "scheme") ||
			    !strcmp(c->name, "method") ||
			    !strcmp(c->name, "authority"))
				return veer_yfail(
					&ist->rd, k,
					"header match on \"%s\": Istio "
					"ignores the keys uri, scheme, "
					"method and authority in headers; "
					"veer refuses them",
					c->name);
			if (parse_string_match(ist,
					       veer_ynode_value(headers, i),
					       "header match", c) < 0)
				return -1;
		}
	}
	uri = veer_yfield(n, "uri");
	if (uri) {
		struct cond *c = add_cond(ist, b, uri, VEER_COND_URI);

		if (!c || parse_string_match(ist, uri, "uri match", c) < 0)
			return -1;
	}
	return 0;
}

static const struct veer_field_spec route_dest_fields[] = {
	{"destination", VEER_F_USE, NULL},
	{"weight", VEER_F_USE, NULL},
	{"headers", VEER_F_PROXY, "route[]."},
};

static const struct veer_field_spec dest_fields[] = {
	{"host", VEER_F_USE, NULL},
	{"subset", VEER_F_USE, NULL},
	{"port", VEER_F_USE, NULL},
};

static const struct veer_field_spec dest_port_fields[] = {
	{"number", VEER_F_USE, NULL},
};

static const struct istio_shape route_dest_shape = {
	"route destination", "a route destination",
	ISTIO_FIELDS(route_dest_fields)};
static const struct istio_shape dest_shape = {"destination", "a destination",
					      ISTIO_FIELDS(dest_fields)};
static const struct istio_shape dest_port_shape = {
	"port", "a destination port", ISTIO_FIELDS(dest_port_fields)};

static int parse_dest(struct veer_istio *ist, const struct vs *vs,
		      const ynode *n, struct dest *d)
{
	const ynode *dn, *host, *subset, *port, *weight, *number;
	char name[VEER_SUBSET_NAME_MAX];

	if (istio_map(ist, n, &route_dest_shape) < 0)
		return -1;
	d->node = n;
	dn = veer_yfield(n, "destination");
	if (!dn)
		return veer_yfail(&ist->rd, n, "destination is required");
	if (istio_map(ist, dn, &dest_shape) < 0)
		return -1;
	host = veer_yfield(dn, "host");
	if (!host)
		return veer_yfail(&ist->rd, dn, "destination host is required");
	d->host_node = host;
	if (istio_resolve_host(ist, host, vs->m.ns, false, d->host) < 0)
		return -1;
	subset = veer_yfield(dn, "subset");
	if (subset &&
	    veer_yget_name(&ist->rd, subset, "subset", name, sizeof(name)) < 0)
		return -1;
	d->subset = subset;
	port = veer_yfield(dn, "port");
	if (port) {
		if (istio_map(ist, port, &dest_port_shape) < 0)
			return -1;
		number = veer_yfield(port, "number");
		if (!number)
			return veer_yfail(&ist->rd, port,
					  "port.number is required");
		if (veer_yget_uint(&ist->rd, number, "port number", 1, PORT_MAX,
				   &d->port) < 0)
			return -1;
		d->port_node = number;
	}
	weight = veer_yfield(n, "weight");
	if (weight && veer_yget_uint(&ist->rd, weight, "weight", 0,
				     VEER_WEIGHT_TOTAL, &d->weight) < 0)
		return -1;
	return 0;
}

static const struct veer_field_spec http_fields[] = {
	{"match", VEER_F_USE, NULL},
	{"route", VEER_F_USE, NULL},
	{"name", VEER_F_SILENT, NULL},
	{"redirect", VEER_F_REFUSE,
	 "redirect is not supported (veer forwards connections; it cannot "
	 "answer HTTP requests)"},
	{"directResponse", VEER_F_REFUSE,
	 "directResponse is not supported (veer forwards connections; it "
	 "cannot answer HTTP requests)"},
	{"delegate", VEER_F_REFUSE,
	 "delegate is not supported (write the routes in the VirtualService "
	 "of the host)"},
	{"rewrite", VEER_F_PROXY, NULL},
	{"timeout", VEER_F_PROXY, NULL},
	{"retries", VEER_F_PROXY, NULL},
	{"fault", VEER_F_PROXY, NULL},
	{"mirror", VEER_F_PROXY, NULL},
	{"mirrors", VEER_F_PROXY, NULL},
	{"mirrorPercentage", VEER_F_PROXY, NULL},
	{"mirrorPercent", VEER_F_PROXY, NULL},
	{"mirror_percent", VEER_F_PROXY, NULL},
	{"corsPolicy", VEER_F_PROXY, NULL},
	{"headers", VEER_F_PROXY, NULL},
};

static const struct veer_field_spec tcp_fields[] = {
	{"match", VEER_F_USE, NULL},
	{"route", VEER_F_USE, NULL},
};

/* A route of each section: [false] http, [true] tcp. */
static const struct istio_shape route_shapes[2] = {
	{"http route", "an http route", ISTIO_FIELDS(http_fields)},
	{"tcp route", "a tcp route", ISTIO_FIELDS(tcp_fields)},
};

static int parse_rule(struct veer_istio *ist, const struct vs *vs,
		      const ynode *n, bool tcp, unsigned int index,
		      struct rule *r)
{
	const char *section = tcp ? "tcp" : "http";
	const ynode *match, *route;
	unsigned int sum = 0;
	size_t i;

	if (istio_map(ist, n, &route_shapes[tcp]) < 0)
		return -1;
	r->node = n;
	r->tcp = tcp;
	r->index = index;
	match = veer_yfield(n, "match");
	if (match) {
		r->blocks = istio_list(ist, match, "match", sizeof(*r->blocks));
		if (!r->blocks)
			return -1;
		r->match_node = match;
		r->nblock = match->len;
		for (i = 0; i < match->len; i++)
			if (parse_block(ist, match->items[i], tcp,
					&r->blocks[i]) < 0)
				return -1;
	}
	route = veer_yfield(n, "route");
	if (!route || (route->type == VEER_YNODE_SEQ && route->len == 0))
		return veer_yfail(
			&ist->rd, route ? route : n,
			"%s: %s[%u] has no route (a list of destinations)",
			vs->m.id, section, index);
	r->dests = istio_list(ist, route, "route", sizeof(*r->dests));
	if (!r->dests)
		return -1;
	r->route_node = route;
	r->ndest = route->len;
	for (i = 0; i < route->len; i++) {
		struct dest *d = &r->dests[i];

		if (parse_dest(ist, vs, route->items[i], d) < 0)
			return -1;
		sum += d->weight;
		if (d->port && r->dest_port && d->port != r->dest_port)
			return veer_yfail(
				&ist->rd, d->port_node,
				"destinations of one route name different "
				"ports (%u and %u); veer keeps the port a "
				"connection was made to",
				r->dest_port, d->port);
		if (d->port)
			r->dest_port = d->port;
	}
	/* Istio: a single destination takes all traffic, whatever weight. */
	if (r->ndest == 1)
		r->dests[0].weight = VEER_WEIGHT_TOTAL;
	else if (sum != VEER_WEIGHT_TOTAL)
		return veer_yfail(&ist->rd, route,
				  "route weights sum to %u, must be %d", sum,
				  VEER_WEIGHT_TOTAL);
	return 0;
}

static int parse_routes(struct veer_istio *ist, struct vs *vs,
			const ynode *list, bool tcp)
{
	size_t i;

	if (veer_ywant(&ist->rd, list, VEER_YNODE_SEQ, tcp ? "tcp" : "http") <
	    0)
		return -1;
	for (i = 0; i < list->len; i++) {
		struct rule *r = &vs->rules[vs->nrule++];

		if (parse_rule(ist, vs, list->items[i], tcp, (unsigned int)i,
			       r) < 0)
			return -1;
	}
	if (tcp) {
		vs->has_tcp = list->len > 0;
		vs->tcp_node = list;
	} else {
		vs->has_http = list->len > 0;
		vs->http_node = list;
	}
	return 0;
}

static int parse_vs(struct veer_istio *ist, struct meta *m, const ynode *spec)
{
	struct vs *vs = (struct vs *)m;
	const ynode *gws, *http, *tcp;
	size_t i, n = 0;
	bool mesh = false;

	if (istio_hosts(ist, m, spec, true, &vs->hosts) < 0)
		return -1;
	gws = veer_yfield(spec, "gateways");
	if (gws) {
		if (veer_ywant(&ist->rd, gws, VEER_YNODE_SEQ, "gateways") < 0)
			return -1;
		for (i = 0; i < gws->len; i++) {
			if (veer_yget_text(&ist->rd, gws->items[i], "gateway") <
			    0)
				return -1;
			mesh = mesh || veer_ynode_is(gws->items[i], "mesh");
		}
		vs->gateway_bound = gws->len > 0 && !mesh;
		/* "mesh" alone is what no gateways means anyway. */
		if (gws->len > (mesh ? 1U : 0U))
			veer_ynote(&ist->rd, gws,
				   "%s: gateways ignored (veer routes on the "
				   "node)",
				   vs->m.id);
	}
	http = veer_yfield(spec, "http");
	tcp = veer_yfield(spec, "tcp");
	if (http && http->type == VEER_YNODE_SEQ)
		n += http->len;
	if (tcp && tcp->type == VEER_YNODE_SEQ)
		n += tcp->len;
	vs->rules = istio_zalloc(ist, n, sizeof(*vs->rules));
	if (!vs->rules)
		return istio_oom(ist);
	if (http && parse_routes(ist, vs, http, false) < 0)
		return -1;
	if (tcp && parse_routes(ist, vs, tcp, true) < 0)
		return -1;
	if (!vs->nrule)
		return veer_yfail(&ist->rd, spec, "%s: no http or tcp routes",
				  vs->m.id);
	return 0;
}

static const struct veer_field_spec vs_fields[] = {
	{"hosts", VEER_F_USE, NULL},
	{"gateways", VEER_F_USE, NULL},
	{"http", VEER_F_USE, NULL},
	{"tcp", VEER_F_USE, NULL},
	{"tls", VEER_F_REFUSE,
	 "tls routes are not supported (veer does not read TLS SNI); "
	 "use tcp routes"},
	{"exportTo", VEER_F_SILENT, NULL},
};

const struct istio_kind istio_kind_vs = {
	.name = "VirtualService",
	.size = sizeof(struct vs),
	.spec_required = true,
	.spec = {"spec", "a VirtualService spec", ISTIO_FIELDS(vs_fields)},
	.parse = parse_vs,
};

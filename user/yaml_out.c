// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `veer get -o yaml`: the live configuration written back as YAML that
 * `veer apply` turns into the same maps. Entries without a host come from
 * native config and are written natively; each host is written as Istio
 * resources: a ServiceEntry whose endpoints carry one label per subset they
 * belong to, a DestinationRule selecting subsets by those labels, and a
 * VirtualService with the match rules and weights of every port.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "output.h"
#include "yaml_emit.h"

/* Label that marks an endpoint as a member of subset NAME. */
#define SUBSET_LABEL_PREFIX "veer.subset/"
#define KUBE_DOMAIN ".svc.cluster.local"

/* Every string goes out double-quoted. */
static void yaml_string(FILE *out, const char *text)
{
	veer_yaml_emit_string(out, text, strlen(text));
}

static void print_native(FILE *out, const struct veer_model *model)
{
	char text[VEER_ENDPOINT_STRLEN];
	unsigned int s, b;
	size_t i;
	bool any = false;

	for (i = 0; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];

		if (svc->host[0])
			continue;
		if (!any)
			fprintf(out, "services:\n");
		any = true;
		fprintf(out, "  - name: ");
		yaml_string(out, svc->name);
		veer_addr_format(&svc->key.vip, svc->key.family, text,
				 sizeof(text));
		fprintf(out, "\n    vip: \"%s\"\n    port: %u\n", text,
			ntohs(svc->key.port));
		if (svc->flags & VEER_SVC_F_HASH_SRC_IP)
			fprintf(out, "    sourceIpAffinity: true\n");
		if (svc->flags & VEER_SVC_F_HTTP)
			fprintf(out, "    http: true\n");
		fprintf(out, "    subsets:\n");
		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_subset_model *sub = &svc->subsets[s];

			fprintf(out, "      - name: ");
			yaml_string(out, sub->name);
			fprintf(out,
				"\n        weight: %u\n        backends: [",
				sub->weight);
			for (b = 0; b < sub->backend_count; b++) {
				veer_endpoint_format(&sub->backends[b].addr,
						     sub->backends[b].family,
						     sub->backends[b].port,
						     text, sizeof(text));
				fprintf(out, "%s\"%s\"", b ? ", " : "", text);
			}
			fprintf(out, "]\n");
		}
	}
}

/* Entries of one host, in model order. */
struct host_group {
	const char *host;
	const struct veer_service_model **entries;
	size_t count;
	bool adopted; /* objects the store adopts from the maps */
};

/* An endpoint of the ServiceEntry: one address, its subsets and ports. */
struct endpoint {
	union veer_addr addr;
	uint8_t family;
	bool in_subset[VEER_MAX_SUBSETS];
	/* Backend port (network order) per service port index; 0: unset. */
	uint16_t *port_be;
};

struct host_view {
	uint16_t ports[64]; /* service ports, host order, sorted */
	size_t port_count;
	struct endpoint *endpoints;
	size_t endpoint_count;
};

static int port_index(const struct host_view *v, uint16_t port)
{
	size_t i;

	for (i = 0; i < v->port_count; i++)
		if (v->ports[i] == port)
			return (int)i;
	return -1;
}

/* A port with rules, or marked HTTP: Istio's HTTP section and name. */
static bool port_is_http(const struct host_group *g, uint16_t port)
{
	size_t i;

	for (i = 0; i < g->count; i++)
		if (ntohs(g->entries[i]->key.port) == port &&
		    (g->entries[i]->rule_count ||
		     (g->entries[i]->flags & VEER_SVC_F_HTTP)))
			return true;
	return false;
}

static void free_view(struct host_view *v)
{
	size_t i;

	for (i = 0; i < v->endpoint_count; i++)
		free(v->endpoints[i].port_be);
	free(v->endpoints);
	memset(v, 0, sizeof(*v));
}

static struct endpoint *endpoint_of(struct host_view *v,
				    const struct veer_backend *b)
{
	struct endpoint *grown;
	size_t i;

	for (i = 0; i < v->endpoint_count; i++)
		if (v->endpoints[i].family == b->family &&
		    !memcmp(&v->endpoints[i].addr, &b->addr, sizeof(b->addr)))
			return &v->endpoints[i];
	grown = realloc(v->endpoints, (v->endpoint_count + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	v->endpoints = grown;
	memset(&grown[v->endpoint_count], 0, sizeof(*grown));
	grown[v->endpoint_count].addr = b->addr;
	grown[v->endpoint_count].family = b->family;
	grown[v->endpoint_count].port_be =
		calloc(v->port_count, sizeof(uint16_t));
	if (!grown[v->endpoint_count].port_be)
		return NULL;
	return &grown[v->endpoint_count++];
}

/*
 * Builds the host's ports and endpoints, and checks that Istio YAML can
 * say what the maps hold: one subset list for the whole host, one backend
 * port per (endpoint, service port), subset membership the same for every
 * port, one set of weights and rules per port across address families.
 */
static int build_view(const struct host_group *g, struct host_view *v,
		      char *err, size_t errlen)
{
	const struct veer_service_model *first = g->entries[0];
	size_t i, e, p, k;
	unsigned int s, b;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < g->count; i++) {
		const struct veer_service_model *svc = g->entries[i];
		uint16_t port = ntohs(svc->key.port);

		if (svc->subset_count != first->subset_count ||
		    svc->flags != first->flags) {
			snprintf(err, errlen,
				 "host %s: entries %s and %s differ in subsets "
				 "or affinity; Istio YAML has one "
				 "DestinationRule per host",
				 g->host, first->name, svc->name);
			return -1;
		}
		for (s = 0; s < svc->subset_count; s++)
			if (strcmp(svc->subsets[s].name,
				   first->subsets[s].name)) {
				snprintf(err, errlen,
					 "host %s: entries %s and %s have "
					 "different subsets",
					 g->host, first->name, svc->name);
				return -1;
			}
		if (port_index(v, port) >= 0)
			continue;
		if (v->port_count == sizeof(v->ports) / sizeof(v->ports[0])) {
			snprintf(err, errlen, "host %s: too many ports",
				 g->host);
			return -1;
		}
		for (k = v->port_count; k > 0 && v->ports[k - 1] > port; k--)
			v->ports[k] = v->ports[k - 1];
		v->ports[k] = port;
		v->port_count++;
	}
	for (i = 0; i < g->count; i++) {
		const struct veer_service_model *svc = g->entries[i];

		p = (size_t)port_index(v, ntohs(svc->key.port));
		for (s = 0; s < svc->subset_count; s++) {
			for (b = 0; b < svc->subsets[s].backend_count; b++) {
				const struct veer_backend *be =
					&svc->subsets[s].backends[b];
				struct endpoint *ep = endpoint_of(v, be);

				if (!ep) {
					snprintf(err, errlen, "out of memory");
					return -1;
				}
				if (ep->port_be[p] &&
				    ep->port_be[p] != be->port) {
					snprintf(err, errlen,
						 "host %s: endpoint used with "
						 "two target ports for port %u",
						 g->host, v->ports[p]);
					return -1;
				}
				ep->port_be[p] = be->port;
				ep->in_subset[s] = true;
			}
		}
	}
	/* Every endpoint must serve every port of its family's entries. */
	for (i = 0; i < g->count; i++) {
		const struct veer_service_model *svc = g->entries[i];

		p = (size_t)port_index(v, ntohs(svc->key.port));
		for (e = 0; e < v->endpoint_count; e++) {
			const struct endpoint *ep = &v->endpoints[e];

			if (ep->family != svc->key.family)
				continue;
			for (s = 0; s < svc->subset_count; s++) {
				bool member = false;

				for (b = 0; b < svc->subsets[s].backend_count;
				     b++)
					member |= !memcmp(&svc->subsets[s]
								   .backends[b]
								   .addr,
							  &ep->addr,
							  sizeof(ep->addr));
				if (member != ep->in_subset[s]) {
					snprintf(err, errlen,
						 "host %s: subset %s has "
						 "different endpoints on "
						 "different ports",
						 g->host, svc->subsets[s].name);
					return -1;
				}
			}
		}
	}
	/* One VirtualService rule set per port, whatever the family. */
	for (i = 0; i < g->count; i++) {
		for (k = i + 1; k < g->count; k++) {
			const struct veer_service_model *a = g->entries[i];
			const struct veer_service_model *c = g->entries[k];

			if (a->key.port != c->key.port)
				continue;
			for (s = 0; s < a->subset_count; s++)
				if (a->subsets[s].weight !=
				    c->subsets[s].weight)
					break;
			if (s < a->subset_count ||
			    a->rule_count != c->rule_count ||
			    (a->rule_count &&
			     memcmp(a->rules, c->rules,
				    a->rule_count * sizeof(*a->rules)))) {
				snprintf(err, errlen,
					 "host %s: %s and %s (same port) have "
					 "different weights or rules; set "
					 "them alike with 'veer weight %s'",
					 g->host, a->name, c->name, g->host);
				return -1;
			}
		}
	}
	return 0;
}

/* metadata.name and .namespace for a host. */
static void object_name(const char *host, char *name, size_t nlen, char *ns,
			size_t nslen)
{
	size_t hl = strlen(host), dl = strlen(KUBE_DOMAIN);
	const char *dot = strchr(host, '.');
	size_t i;

	if (dot && hl > dl && !strcmp(host + hl - dl, KUBE_DOMAIN) &&
	    host + hl - dl > dot + 1) {
		snprintf(name, nlen, "%.*s", (int)(dot - host), host);
		snprintf(ns, nslen, "%.*s", (int)(host + hl - dl - dot - 1),
			 dot + 1);
		if (!strchr(ns, '.'))
			return;
	}
	snprintf(name, nlen, "%s", host);
	for (i = 0; name[i]; i++)
		if (name[i] == '.' || name[i] == ':' || name[i] == '/')
			name[i] = '-';
	snprintf(ns, nslen, "default");
}

/*
 * "---", apiVersion, kind and metadata of one object of host group g; an
 * adopted group's objects say which host they were made from.
 */
static void print_head(FILE *out, const char *kind, const char *name,
		       const char *ns, const struct host_group *g)
{
	fprintf(out,
		"---\napiVersion: networking.istio.io/v1beta1\nkind: %s\n"
		"metadata:\n  name: ",
		kind);
	yaml_string(out, name);
	fprintf(out, "\n  namespace: ");
	yaml_string(out, ns);
	if (g->adopted) {
		fprintf(out,
			"\n  annotations:\n    " VEER_ADOPTED_ANNOTATION ": ");
		yaml_string(out, g->host);
	}
}

static void print_route(FILE *out, const char *indent, const char *host,
			const struct veer_service_model *svc,
			const unsigned int *weights, uint16_t port)
{
	unsigned int s;

	fprintf(out, "%s  route:\n", indent);
	for (s = 0; s < svc->subset_count; s++) {
		fprintf(out, "%s  - destination:\n%s      host: ", indent,
			indent);
		yaml_string(out, host);
		fprintf(out, "\n%s      subset: ", indent);
		yaml_string(out, svc->subsets[s].name);
		fprintf(out,
			"\n%s      port:\n%s        number: %u\n"
			"%s    weight: %u\n",
			indent, indent, port, indent, weights[s]);
	}
}

static void print_condition(FILE *out, const struct veer_condition *c)
{
	const char *op = c->op == VEER_COND_PREFIX ? "prefix" : "exact";

	if (c->field == VEER_COND_URI) {
		fprintf(out, "        uri:\n          %s: ", op);
		yaml_string(out, c->value);
		fputc('\n', out);
		return;
	}
	fprintf(out, "          ");
	yaml_string(out, c->name);
	fprintf(out, ":\n            %s: ", op);
	yaml_string(out, c->value);
	fputc('\n', out);
}

static void print_rule_matches(FILE *out, const struct veer_rule *rule,
			       uint16_t port)
{
	unsigned int m, c;
	bool headers;

	fprintf(out, "  - match:\n");
	for (m = 0; m < rule->match_count; m++) {
		const struct veer_match *match = &rule->matches[m];

		fprintf(out, "      - port: %u\n", port);
		headers = false;
		for (c = 0; c < match->condition_count; c++) {
			if (match->conditions[c].field != VEER_COND_HEADER)
				continue;
			if (!headers)
				fprintf(out, "        headers:\n");
			headers = true;
			print_condition(out, &match->conditions[c]);
		}
		for (c = 0; c < match->condition_count; c++)
			if (match->conditions[c].field == VEER_COND_URI)
				print_condition(out, &match->conditions[c]);
	}
}

static int print_host(FILE *out, const struct host_group *g, char *err,
		      size_t errlen)
{
	const struct veer_service_model *first = g->entries[0];
	char name[VEER_NAME_MAX], ns[VEER_NAME_MAX];
	char text[VEER_ENDPOINT_STRLEN];
	struct host_view v;
	unsigned int weights[VEER_MAX_SUBSETS], s, r;
	size_t i, e, p;
	bool listed;

	if (build_view(g, &v, err, errlen)) {
		free_view(&v);
		return -1;
	}
	object_name(g->host, name, sizeof(name), ns, sizeof(ns));

	print_head(out, "ServiceEntry", name, ns, g);
	fprintf(out, "\nspec:\n  hosts:\n  - ");
	yaml_string(out, g->host);
	fprintf(out, "\n  addresses:\n");
	for (i = 0; i < g->count; i++) {
		for (listed = false, e = 0; e < i && !listed; e++)
			listed = !memcmp(&g->entries[e]->key.vip,
					 &g->entries[i]->key.vip,
					 sizeof(g->entries[i]->key.vip));
		if (listed)
			continue;
		veer_addr_format(&g->entries[i]->key.vip,
				 g->entries[i]->key.family, text, sizeof(text));
		fprintf(out, "  - \"%s\"\n", text);
	}
	fprintf(out, "  ports:\n");
	for (p = 0; p < v.port_count; p++) {
		bool http = port_is_http(g, v.ports[p]);

		fprintf(out,
			"  - number: %u\n    name: %s-%u\n    protocol: %s\n",
			v.ports[p], http ? "http" : "tcp", v.ports[p],
			http ? "HTTP" : "TCP");
	}
	fprintf(out, "  resolution: STATIC\n  endpoints:\n");
	for (e = 0; e < v.endpoint_count; e++) {
		const struct endpoint *ep = &v.endpoints[e];

		veer_addr_format(&ep->addr, ep->family, text, sizeof(text));
		fprintf(out, "  - address: \"%s\"\n    labels:\n", text);
		for (s = 0; s < first->subset_count; s++)
			if (ep->in_subset[s])
				fprintf(out,
					"      " SUBSET_LABEL_PREFIX
					"%s: \"true\"\n",
					first->subsets[s].name);
		fprintf(out, "    ports:\n");
		for (p = 0; p < v.port_count; p++)
			if (ep->port_be[p])
				fprintf(out, "      %s-%u: %u\n",
					port_is_http(g, v.ports[p]) ? "http"
								    : "tcp",
					v.ports[p], ntohs(ep->port_be[p]));
	}

	print_head(out, "DestinationRule", name, ns, g);
	fprintf(out, "\nspec:\n  host: ");
	yaml_string(out, g->host);
	fprintf(out, "\n  subsets:\n");
	for (s = 0; s < first->subset_count; s++) {
		fprintf(out, "  - name: ");
		yaml_string(out, first->subsets[s].name);
		fprintf(out,
			"\n    labels:\n      " SUBSET_LABEL_PREFIX
			"%s: \"true\"\n",
			first->subsets[s].name);
	}
	if (first->flags & VEER_SVC_F_HASH_SRC_IP)
		fprintf(out,
			"  trafficPolicy:\n    loadBalancer:\n"
			"      consistentHash:\n        useSourceIp: true\n");

	print_head(out, "VirtualService", name, ns, g);
	fprintf(out, "\nspec:\n  hosts:\n  - ");
	yaml_string(out, g->host);
	fputc('\n', out);
	for (int pass = 0; pass < 2; pass++) {
		bool section = false;

		for (p = 0; p < v.port_count; p++) {
			const struct veer_service_model *svc = NULL;
			bool http = port_is_http(g, v.ports[p]);

			if (http != (pass == 0))
				continue;
			for (i = 0; i < g->count && !svc; i++)
				if (ntohs(g->entries[i]->key.port) ==
				    v.ports[p])
					svc = g->entries[i];
			if (!section)
				fprintf(out, "  %s:\n", http ? "http" : "tcp");
			section = true;
			for (r = 0; r < svc->rule_count; r++) {
				for (s = 0; s < svc->subset_count; s++)
					weights[s] = svc->rules[r].weights[s];
				print_rule_matches(out, &svc->rules[r],
						   v.ports[p]);
				print_route(out, "  ", g->host, svc, weights,
					    v.ports[p]);
			}
			for (s = 0; s < svc->subset_count; s++)
				weights[s] = svc->subsets[s].weight;
			fprintf(out, "  - match:\n      - port: %u\n",
				v.ports[p]);
			print_route(out, "  ", g->host, svc, weights,
				    v.ports[p]);
		}
	}
	free_view(&v);
	return 0;
}

static int print_yaml(FILE *out, const struct veer_model *model, bool adopted,
		      char *err, size_t errlen)
{
	struct host_group g = {.adopted = adopted};
	char *text = NULL;
	size_t len = 0, i, j;
	FILE *buf;
	bool *done;
	int ret = -1;

	done = calloc(model->count ? model->count : 1, sizeof(*done));
	g.entries = calloc(model->count ? model->count : 1, sizeof(*g.entries));
	buf = open_memstream(&text, &len);
	if (!done || !g.entries || !buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	print_native(buf, model);
	for (i = 0; i < model->count; i++) {
		if (done[i] || !model->services[i].host[0])
			continue;
		g.host = model->services[i].host;
		g.count = 0;
		for (j = i; j < model->count; j++) {
			if (!done[j] &&
			    !strcmp(model->services[j].host, g.host)) {
				g.entries[g.count++] = &model->services[j];
				done[j] = true;
			}
		}
		if (print_host(buf, &g, err, errlen))
			goto out;
	}
	if (fflush(buf)) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	fwrite(text, 1, len, out);
	ret = 0;
out:
	if (buf)
		fclose(buf);
	free(text);
	free(done);
	free(g.entries);
	return ret;
}

int veer_print_yaml(FILE *out, const struct veer_model *model, char *err,
		    size_t errlen)
{
	return print_yaml(out, model, false, err, errlen);
}

int veer_print_yaml_adopted(FILE *out, const struct veer_model *model,
			    char *err, size_t errlen)
{
	return print_yaml(out, model, true, err, errlen);
}

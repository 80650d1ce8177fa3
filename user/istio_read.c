// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Typed readers the Istio kinds share, on top of yaml_read.h: the shape of
 * a mapping (its field table) and of a list, read once here instead of in
 * every parser; hosts, addresses, labels and ports.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

int istio_map(struct veer_istio *ist, const ynode *n,
	      const struct istio_shape *shape)
{
	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, shape->what) < 0)
		return -1;
	if (!shape->fields)
		return 0;
	return veer_ycheck_fields(&ist->rd, n, shape->fields, shape->nfields,
				  shape->where);
}

void *istio_list(struct veer_istio *ist, const ynode *list, const char *what,
		 size_t size)
{
	void *items;

	if (veer_ywant(&ist->rd, list, VEER_YNODE_SEQ, what) < 0)
		return NULL;
	items = istio_zalloc(ist, list->len, size);
	if (!items)
		istio_oom(ist);
	return items;
}

int istio_hosts(struct veer_istio *ist, const struct meta *m, const ynode *spec,
		bool wildcard_ok, struct hostlist *out)
{
	const ynode *hosts = veer_yfield(spec, "hosts");
	size_t i;

	if (!hosts)
		return veer_yfail(&ist->rd, spec, "%s: spec.hosts is required",
				  m->id);
	if (veer_ywant(&ist->rd, hosts, VEER_YNODE_SEQ, "hosts") < 0)
		return -1;
	if (hosts->len == 0)
		return veer_yfail(&ist->rd, hosts, "%s: spec.hosts is empty",
				  m->id);
	out->n = hosts->len;
	out->nodes = istio_zalloc(ist, hosts->len, sizeof(*out->nodes));
	out->names = istio_zalloc(ist, hosts->len, sizeof(*out->names));
	if (!out->nodes || !out->names)
		return istio_oom(ist);
	for (i = 0; i < hosts->len; i++) {
		out->nodes[i] = hosts->items[i];
		if (istio_resolve_host(ist, hosts->items[i], m->ns, wildcard_ok,
				       out->names[i]) < 0)
			return -1;
	}
	return 0;
}

int istio_get_ip(struct veer_istio *ist, const ynode *n, const char *what,
		 struct addr_node *out)
{
	char text[INET6_ADDRSTRLEN], qb[VEER_YQUOTE_BUF];

	if (veer_yget_text(&ist->rd, n, what) < 0)
		return -1;
	if (n->len < sizeof(text)) {
		memcpy(text, n->text, n->len + 1);
		if (!veer_addr_parse(text, &out->addr, &out->family)) {
			out->node = n;
			return 0;
		}
	}
	if (memchr(n->text, '/', n->len))
		return veer_yfail(
			&ist->rd, n,
			"%s \"%s\": CIDR ranges are not supported; give "
			"single addresses",
			what, veer_yquote(n, qb, sizeof(qb)));
	return veer_yfail(&ist->rd, n,
			  "%s must be an IPv4 or IPv6 address, got \"%s\"",
			  what, veer_yquote(n, qb, sizeof(qb)));
}

int istio_get_labels(struct veer_istio *ist, const ynode *n, const char *what,
		     const ynode **out)
{
	size_t i;

	*out = NULL;
	if (!veer_yopt(n))
		return 0;
	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, what) < 0)
		return -1;
	for (i = 0; i < n->len; i++) {
		const ynode *v = veer_ynode_value(n, i);
		char label[OBJ_NAME_MAX + 32], qb[VEER_YQUOTE_BUF];

		snprintf(label, sizeof(label), "%s.%s", what,
			 veer_yquote(veer_ynode_key(n, i), qb, sizeof(qb)));
		if (veer_yget_text(&ist->rd, v, label) < 0)
			return -1;
	}
	*out = n;
	return 0;
}

bool istio_labels_include(const ynode *have, const ynode *wanted)
{
	size_t i, j;

	if (!wanted)
		return true;
	for (i = 0; i < wanted->len; i++) {
		const ynode *k = veer_ynode_key(wanted, i);
		const ynode *v = veer_ynode_value(wanted, i);
		bool found = false;

		for (j = 0; have && j < have->len && !found; j++) {
			const ynode *hk = veer_ynode_key(have, j);
			const ynode *hv = veer_ynode_value(have, j);

			found = hk->len == k->len &&
				!memcmp(hk->text, k->text, k->len) &&
				hv->len == v->len &&
				!memcmp(hv->text, v->text, v->len);
		}
		if (!found)
			return false;
	}
	return true;
}

static bool host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

int istio_resolve_host(struct veer_istio *ist, const ynode *n, const char *ns,
		       bool wildcard_ok, char out[HOST_MAX])
{
	char qb[VEER_YQUOTE_BUF];
	size_t i, len;
	int w;

	if (veer_yget_text(&ist->rd, n, "host") < 0)
		return -1;
	if (n->len == 0)
		return veer_yfail(&ist->rd, n, "host must not be empty");
	if (!memchr(n->text, '.', n->len) && !veer_ynode_is(n, "*"))
		w = snprintf(out, HOST_MAX, "%.*s.%s." CLUSTER_SUFFIX,
			     (int)n->len, n->text, ns);
	else
		w = snprintf(out, HOST_MAX, "%.*s", (int)n->len, n->text);
	if (w < 0 || w >= HOST_MAX)
		return veer_yfail(&ist->rd, n,
				  "host \"%s\" is longer than %d bytes",
				  veer_yquote(n, qb, sizeof(qb)), HOST_MAX - 1);
	len = (size_t)w;
	for (i = 0; i < len; i++) {
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
		if (out[i] == '*' && wildcard_ok && i == 0 &&
		    (len == 1 || out[1] == '.'))
			continue;
		if (out[i] == '*')
			return veer_yfail(
				&ist->rd, n,
				wildcard_ok ? "host \"%s\": a wildcard is "
					      "only allowed as \"*\" or a "
					      "leading \"*.\""
					    : "host \"%s\": wildcard hosts "
					      "are not supported here (veer "
					      "needs one VIP per host)",
				veer_yquote(n, qb, sizeof(qb)));
		if (!host_char_ok(out[i]))
			return veer_yfail(
				&ist->rd, n,
				"host \"%s\": only letters, digits, '-', "
				"'.' and '_' allowed",
				veer_yquote(n, qb, sizeof(qb)));
	}
	return 0;
}

/*
 * Istio's protocol selection: the declared protocol (ServiceEntry) or
 * appProtocol, else the port name's prefix ("http-web", "tcp"). Unnamed
 * and unknown: auto-detected by Istio, so either route section may apply.
 */
enum l7 istio_l7_of_name(const char *s, size_t len)
{
	static const char *const http[] = {"http", "http2", "grpc", "grpc-web",
					   "h2c",  "ws",    "wss",  NULL};
	static const char *const tcp[] = {"tcp",   "tls",   "https", "mongo",
					  "mysql", "redis", NULL};
	const char *const *p;
	const char *slash = memchr(s, '/', len);

	/* "kubernetes.io/h2c": the part after the domain. */
	if (slash) {
		len -= (size_t)(slash + 1 - s);
		s = slash + 1;
	}
	for (p = http; *p; p++)
		if (strlen(*p) == len && !strncasecmp(s, *p, len))
			return L7_HTTP;
	for (p = tcp; *p; p++)
		if (strlen(*p) == len && !strncasecmp(s, *p, len))
			return L7_TCP;
	return L7_AUTO;
}

enum l7 istio_l7_of_port_name(const ynode *name)
{
	const char *dash;

	if (!name)
		return L7_AUTO;
	dash = memchr(name->text, '-', name->len);
	return istio_l7_of_name(name->text,
				dash ? (size_t)(dash - name->text) : name->len);
}

/* Ports seen so far in one object: a bit per port number. */
struct port_set {
	unsigned char bits[(PORT_MAX + 1) / 8];
};

static int check_duplicate_port(struct veer_istio *ist, struct port_set *seen,
				const struct port *p, const struct meta *m)
{
	unsigned char bit = (unsigned char)(1U << (p->number % 8));

	if (seen->bits[p->number / 8] & bit)
		return veer_yfail(&ist->rd, p->node, "%s: port %u given twice",
				  m->id, p->number);
	seen->bits[p->number / 8] |= bit;
	return 0;
}

static int read_port(struct veer_istio *ist, const struct meta *m,
		     const ynode *n, const struct istio_port_spec *spec,
		     struct port *p)
{
	const ynode *number, *name;

	if (istio_map(ist, n, &spec->shape) < 0)
		return -1;
	p->node = n;
	number = veer_yfield(n, spec->number_key);
	if (!number)
		return veer_yfail(&ist->rd, n, "%s: %s", m->id, spec->missing);
	if (veer_yget_uint(&ist->rd, number, spec->number_what, 1, PORT_MAX,
			   &p->number) < 0)
		return -1;
	name = veer_yfield(n, "name");
	if (name && veer_yget_text(&ist->rd, name, "port name") < 0)
		return -1;
	p->name = name;
	p->l7 = istio_l7_of_port_name(name);
	return spec->rest(ist, m, n, p);
}

int istio_ports(struct veer_istio *ist, const struct meta *m, const ynode *list,
		const struct istio_port_spec *spec, struct frontend *fe,
		size_t *tcp)
{
	struct port_set *seen;
	size_t i;

	*tcp = 0;
	fe->ports = istio_list(ist, list, "ports", sizeof(*fe->ports));
	if (!fe->ports)
		return -1;
	fe->nport = list->len;
	seen = istio_zalloc(ist, 1, sizeof(*seen));
	if (!seen)
		return istio_oom(ist);
	for (i = 0; i < list->len; i++) {
		if (read_port(ist, m, list->items[i], spec, &fe->ports[i]) < 0)
			return -1;
		if (!fe->ports[i].number)
			continue;
		(*tcp)++;
		if (check_duplicate_port(ist, seen, &fe->ports[i], m) < 0)
			return -1;
	}
	return 0;
}

void istio_skip_port(struct veer_istio *ist, const struct meta *m,
		     const ynode *at, const char *protocol, struct port *p)
{
	veer_ynote(&ist->rd, at, "%s: port %u is %s, skipped (veer splits TCP)",
		   m->id, p->number, protocol);
	p->number = 0;
}

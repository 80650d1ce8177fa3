// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Istio and Kubernetes objects -> model.
 *
 * Two phases. Collection (veer_istio_add_tree) checks each object on its
 * own, in file order, so most mistakes are reported where they were made:
 * types, unknown fields, unsupported features. Resolution
 * (veer_istio_build) joins the objects of all files: hosts to their
 * definitions (ServiceEntry or Service), DestinationRules and
 * VirtualServices to hosts, endpoints (WorkloadEntries, Pods) to
 * definitions, and emits one model service per (host, VIP, port).
 *
 * The input is what users already feed Istio, so where Istio's meaning is
 * clear veer follows it (host short names, subset selection by labels,
 * first matching route wins, protobuf JSON's quoted integers); where veer
 * cannot do what Istio would (proxy features, regex matches, TLS routes),
 * it says so: an error when traffic would go somewhere else than the user
 * asked, a note when only a proxy nicety is lost.
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "istio.h"
#include "yaml_read.h"

#define NS_MAX 64 /* DNS label (63) + NUL */
#define OBJ_NAME_MAX 254 /* DNS subdomain (253) + NUL */
#define HOST_MAX VEER_NAME_MAX
#define ID_MAX (32 + NS_MAX + OBJ_NAME_MAX) /* "Kind ns/name" */
#define MSG_MAX 1024
#define PORT_MAX 65535
#define CLUSTER_SUFFIX "svc.cluster.local"
#define ISTIO_GROUP "networking.istio.io"
#define ALL_SUBSET "all"
/*
 * Every endpoint of a host in subsets of at most 256 backends, for both
 * families: more could never be served, and the cap bounds the work of
 * matching large inputs.
 */
#define MAX_ENDPOINTS_PER_HOST                                                 \
	(2 * VEER_MAX_SUBSETS * VEER_MAX_BACKENDS_PER_SUBSET)
/*
 * Hosts times addresses times ports, and endpoints times subsets: small
 * inputs can multiply into large models. Far above what the maps hold by
 * default (VEER_DEFAULT_MAX_SERVICES, VEER_DEFAULT_MAX_BACKENDS), these
 * only bound the memory and time a load can take.
 */
#define MAX_ENTRIES 65536
#define MAX_BACKENDS (1 << 20)
#define ACTED_ON                                                               \
	"veer acts on VirtualService, DestinationRule, ServiceEntry, "         \
	"WorkloadEntry, Service, Pod"

enum kind { K_VS, K_DR, K_SE, K_WE, K_SVC, K_POD, K_NKINDS };

static const char *const kind_names[K_NKINDS] = {
	[K_VS] = "VirtualService", [K_DR] = "DestinationRule",
	[K_SE] = "ServiceEntry",   [K_WE] = "WorkloadEntry",
	[K_SVC] = "Service",	   [K_POD] = "Pod",
};

/* What route section a port's connections are matched against. */
enum l7 { L7_AUTO, L7_HTTP, L7_TCP };

typedef struct veer_ynode ynode;

/* First member of every object, so a struct meta * is the object. */
struct meta {
	enum kind kind;
	size_t order; /* input order, for "the later one" in messages */
	const ynode *node; /* the object mapping */
	const ynode *name_node;
	char ns[NS_MAX];
	char name[OBJ_NAME_MAX];
	char id[ID_MAX]; /* "VirtualService default/customers" */
};

struct addr_node {
	const ynode *node;
	union veer_addr addr;
	uint8_t family;
};

struct port {
	const ynode *node;
	unsigned int number;
	const ynode *name; /* NULL when unnamed */
	enum l7 l7;
	unsigned int target; /* 0: none given */
	const ynode *target_name; /* a named targetPort (Service) */
};

/* A ServiceEntry endpoint or a WorkloadEntry. */
struct wl {
	const ynode *node;
	struct addr_node addr;
	const ynode *labels; /* validated map, or NULL */
	const ynode *ports; /* validated map name -> port, or NULL */
};

struct se {
	struct meta m;
	size_t nhost;
	const ynode **host_nodes;
	char (*hosts)[HOST_MAX];
	size_t nvip;
	struct addr_node *vips;
	size_t nport;
	struct port *ports;
	size_t nep;
	struct wl *eps;
	const ynode *selector; /* workloadSelector.labels, or NULL */
	bool has_selector;
};

struct we {
	struct meta m;
	struct wl wl;
};

struct svc {
	struct meta m;
	char host[HOST_MAX];
	size_t nvip;
	struct addr_node *vips;
	size_t nport;
	struct port *ports;
	const ynode *selector;
	/* Why no entries can be made (headless, ...), and where. */
	const char *unusable;
	const ynode *unusable_node;
	bool affinity; /* sessionAffinity: ClientIP */
};

struct pod {
	struct meta m;
	const ynode *labels;
	size_t nip;
	struct addr_node *ips;
	const char *skip; /* why it is not an endpoint, or NULL */
	const ynode *spec;
};

struct subset {
	const ynode *node;
	char name[VEER_SUBSET_NAME_MAX];
	const ynode *labels;
};

struct dr {
	struct meta m;
	char host[HOST_MAX];
	const ynode *host_node;
	size_t nsub;
	struct subset *subs;
	bool hash_src_ip;
};

struct cond {
	uint8_t field, op;
	char name[VEER_MATCH_NAME_MAX];
	const ynode *value;
};

struct block {
	const ynode *node;
	unsigned int port; /* 0: any */
	size_t ncond;
	struct cond conds[VEER_MAX_CONDITIONS];
	bool port_noted;
};

struct dest {
	const ynode *node;
	const ynode *host_node;
	char host[HOST_MAX];
	const ynode *subset; /* NULL: none named */
	unsigned int port; /* 0: none named */
	const ynode *port_node;
	unsigned int weight;
};

struct rule {
	const ynode *node;
	const ynode *match_node;
	const ynode *route_node;
	bool tcp;
	unsigned int index; /* in its section, for messages */
	size_t nblock;
	struct block *blocks;
	size_t ndest;
	struct dest *dests;
	unsigned int dest_port; /* the port all destinations name, or 0 */
	bool unreachable_noted;
};

struct vs {
	struct meta m;
	size_t nhost;
	const ynode **host_nodes;
	char (*hosts)[HOST_MAX];
	bool gateway_bound; /* gateways given, "mesh" not among them */
	size_t nrule;
	struct rule *rules;
	bool has_http, has_tcp;
	const ynode *http_node, *tcp_node; /* the route lists */
};

/* An endpoint of a host: address, labels and its port per service port. */
struct ep {
	struct addr_node addr;
	const ynode *labels;
	unsigned int *port_for; /* per host port; 0: does not serve it */
};

struct hostdef {
	char host[HOST_MAX];
	const ynode *node; /* where the host is defined */
	const struct meta *owner;
	size_t order;
	size_t nvip;
	const struct addr_node *vips;
	size_t nport;
	const struct port *ports;
	const struct se *se;
	const struct svc *svc;
	size_t nep;
	struct ep *eps;
	const struct dr *dr;
	const struct vs *vs;
	uint16_t flags;
	/*
	 * Per subset and family (IPv4, IPv6), the endpoints whose labels
	 * the subset selects: matched once per host, not once per entry.
	 */
	size_t *members[VEER_MAX_SUBSETS][2];
	size_t nmembers[VEER_MAX_SUBSETS][2];
};

struct ptrvec {
	void **v;
	size_t n, cap;
};

struct veer_istio {
	char default_ns[NS_MAX];
	struct ptrvec allocs; /* everything below is freed through this */
	struct ptrvec objs; /* struct meta *, in input order */
	struct ptrvec by_kind[K_NKINDS];
	struct ptrvec hosts; /* struct hostdef *, in definition order */
	struct hostdef **sorted_hosts; /* by host name */
	size_t objects; /* all objects read, skipped ones included */
	size_t entries, backends; /* made so far, against the caps */
	struct veer_yreader rd; /* errors and notes */
};

/* ---- Memory ---- */

static int vec_push(struct ptrvec *v, void *p)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 16;
		void **grown;

		if (cap > SIZE_MAX / sizeof(*grown))
			return -1;
		grown = realloc(v->v, cap * sizeof(*grown));
		if (!grown)
			return -1;
		v->v = grown;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}

/* Zeroed memory owned by ist; NULL when out of memory. */
static void *zalloc(struct veer_istio *ist, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		n = 1;
	p = calloc(n, size);
	if (!p)
		return NULL;
	if (vec_push(&ist->allocs, p) < 0) {
		free(p);
		return NULL;
	}
	return p;
}

struct veer_istio *veer_istio_new(const char *default_namespace)
{
	struct veer_istio *ist = calloc(1, sizeof(*ist));

	if (!ist)
		return NULL;
	snprintf(ist->default_ns, sizeof(ist->default_ns), "%s",
		 default_namespace && *default_namespace
			 ? default_namespace
			 : VEER_ISTIO_DEFAULT_NAMESPACE);
	return ist;
}

void veer_istio_free(struct veer_istio *ist)
{
	size_t i;

	if (!ist)
		return;
	for (i = 0; i < ist->allocs.n; i++)
		free(ist->allocs.v[i]);
	free(ist->allocs.v);
	free(ist->objs.v);
	for (i = 0; i < K_NKINDS; i++)
		free(ist->by_kind[i].v);
	free(ist->hosts.v);
	free(ist->sorted_hosts);
	veer_yreader_free(&ist->rd);
	free(ist);
}

size_t veer_istio_object_count(const struct veer_istio *ist)
{
	return ist->objects;
}

/* ---- Messages and typed access (yaml_read.h) ---- */

void veer_istio_notes(const struct veer_istio *ist, veer_note_fn fn, void *ctx)
{
	veer_yreader_notes(&ist->rd, fn, ctx);
}

static int oom(struct veer_istio *ist)
{
	return veer_yfail(&ist->rd, NULL, "out of memory");
}

static int get_ip(struct veer_istio *ist, const ynode *n, const char *what,
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

/* A map of string -> string (labels, selectors); NULL when absent. */
static int get_labels(struct veer_istio *ist, const ynode *n, const char *what,
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

/* Every pair of `want` is in `have`. */
static bool labels_include(const ynode *have, const ynode *wanted)
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

/* ---- Hosts ---- */

static bool host_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_';
}

/*
 * Istio's resolution: a name without a dot is a Kubernetes short name in
 * the object's namespace; anything else is taken as written. Lower-cased:
 * DNS names are case-insensitive.
 */
static int resolve_host(struct veer_istio *ist, const ynode *n, const char *ns,
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

/* ---- Object header ---- */

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

/* RFC 1123 label, as Kubernetes wants namespaces and Service names. */
static bool dns_label_ok(const char *s)
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

static int parse_meta(struct veer_istio *ist, const ynode *obj,
		      const ynode *metadata, enum kind kind, struct meta *m)
{
	const ynode *name, *ns;
	char qb[VEER_YQUOTE_BUF];

	m->kind = kind;
	m->node = obj;
	m->order = ist->objs.n;
	name = veer_yfield(metadata, "name");
	if (!name)
		return veer_yfail(&ist->rd, metadata,
				  "%s: metadata.name is required",
				  kind_names[kind]);
	if (veer_yget_name(&ist->rd, name, "metadata.name", m->name,
			   sizeof(m->name)) < 0)
		return -1;
	/* It appears in host names and in every message about the object. */
	if (!dns_subdomain_ok(m->name))
		return veer_yfail(
			&ist->rd, name,
			"metadata.name must be a DNS name (a-z, 0-9, '-', "
			"'.'), got \"%s\"",
			veer_yquote(name, qb, sizeof(qb)));
	m->name_node = name;
	ns = veer_yfield(metadata, "namespace");
	if (ns) {
		if (veer_yget_name(&ist->rd, ns, "metadata.namespace", m->ns,
				   sizeof(m->ns)) < 0)
			return -1;
		/* It becomes part of host names. */
		if (!dns_label_ok(m->ns))
			return veer_yfail(
				&ist->rd, ns,
				"metadata.namespace must be a DNS label "
				"(a-z, 0-9, '-')");
	} else {
		snprintf(m->ns, sizeof(m->ns), "%s", ist->default_ns);
	}
	snprintf(m->id, sizeof(m->id), "%s %s/%s", kind_names[kind], m->ns,
		 m->name);
	return 0;
}

static int register_obj(struct veer_istio *ist, struct meta *m)
{
	if (vec_push(&ist->objs, m) < 0 ||
	    vec_push(&ist->by_kind[m->kind], m) < 0)
		return oom(ist);
	return 0;
}

/* The spec mapping, required for Istio kinds. */
static int get_spec(struct veer_istio *ist, const struct meta *m,
		    const ynode **spec)
{
	*spec = veer_yfield(m->node, "spec");
	if (!*spec)
		return veer_yfail(&ist->rd, m->node, "%s: spec is required",
				  m->id);
	return veer_ywant(&ist->rd, *spec, VEER_YNODE_MAP, "spec");
}

/* ---- Ports ---- */

/*
 * Istio's protocol selection: the declared protocol (ServiceEntry) or
 * appProtocol, else the port name's prefix ("http-web", "tcp"). Unnamed
 * and unknown: auto-detected by Istio, so either route section may apply.
 */
static enum l7 l7_of_name(const char *s, size_t len)
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

static enum l7 l7_of_port_name(const ynode *name)
{
	const char *dash;

	if (!name)
		return L7_AUTO;
	dash = memchr(name->text, '-', name->len);
	return l7_of_name(name->text,
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

/* ---- ServiceEntry, WorkloadEntry ---- */

static const struct veer_field_spec wl_fields[] = {
	{"address", VEER_F_USE, NULL},
	{"labels", VEER_F_USE, NULL},
	{"ports", VEER_F_USE, NULL},
	{"network", VEER_F_SILENT, NULL},
	{"locality", VEER_F_SILENT, NULL},
	{"serviceAccount", VEER_F_SILENT, NULL},
	{"weight", VEER_F_PROXY, "endpoint "},
};

/* A ServiceEntry endpoint or WorkloadEntry spec. */
static int parse_wl(struct veer_istio *ist, const ynode *n, const char *where,
		    struct wl *wl)
{
	const ynode *addr, *ports;
	size_t i;

	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, where) < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, n, wl_fields, where) < 0)
		return -1;
	wl->node = n;
	addr = veer_yfield(n, "address");
	if (!addr)
		return veer_yfail(&ist->rd, n, "%s: address is required",
				  where);
	if (get_ip(ist, addr, "address", &wl->addr) < 0)
		return -1;
	if (get_labels(ist, veer_ynode_get(n, "labels"), "labels",
		       &wl->labels) < 0)
		return -1;
	ports = veer_yfield(n, "ports");
	if (ports) {
		unsigned int p;

		if (veer_ywant(&ist->rd, ports, VEER_YNODE_MAP, "ports") < 0)
			return -1;
		for (i = 0; i < ports->len; i++)
			if (veer_yget_uint(&ist->rd, veer_ynode_value(ports, i),
					   "endpoint port", 1, PORT_MAX,
					   &p) < 0)
				return -1;
		wl->ports = ports;
	}
	return 0;
}

static int parse_se_port(struct veer_istio *ist, const struct meta *m,
			 const ynode *n, struct port *p)
{
	static const struct veer_field_spec fields[] = {
		{"number", VEER_F_USE, NULL},
		{"name", VEER_F_USE, NULL},
		{"protocol", VEER_F_USE, NULL},
		{"targetPort", VEER_F_USE, NULL},
	};
	const ynode *number, *name, *proto, *target;
	char qb[VEER_YQUOTE_BUF];

	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, "port") < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, n, fields, "a ServiceEntry port") < 0)
		return -1;
	p->node = n;
	number = veer_yfield(n, "number");
	if (!number)
		return veer_yfail(&ist->rd, n, "%s: port number is required",
				  m->id);
	if (veer_yget_uint(&ist->rd, number, "port number", 1, PORT_MAX,
			   &p->number) < 0)
		return -1;
	name = veer_yfield(n, "name");
	if (name && veer_yget_text(&ist->rd, name, "port name") < 0)
		return -1;
	p->name = name;
	p->l7 = l7_of_port_name(name);
	target = veer_yfield(n, "targetPort");
	if (target && veer_yget_uint(&ist->rd, target, "targetPort", 1,
				     PORT_MAX, &p->target) < 0)
		return -1;
	proto = veer_yfield(n, "protocol");
	if (!proto)
		return 0;
	if (veer_yget_text(&ist->rd, proto, "protocol") < 0)
		return -1;
	if (veer_ytext_is_ci(proto, "UDP")) {
		veer_ynote(&ist->rd, proto,
			   "%s: port %u is UDP, skipped (veer splits TCP)",
			   m->id, p->number);
		/* Number 0 marks a port that makes no entries. */
		p->number = 0;
		return 0;
	}
	p->l7 = l7_of_name(proto->text, proto->len);
	if (p->l7 == L7_AUTO)
		return veer_yfail(
			&ist->rd, proto,
			"protocol \"%s\" unknown (HTTP, HTTPS, HTTP2, "
			"GRPC, TCP, TLS, MONGO, MYSQL, REDIS, UDP)",
			veer_yquote(proto, qb, sizeof(qb)));
	return 0;
}

static int parse_se(struct veer_istio *ist, struct se *se)
{
	static const struct veer_field_spec fields[] = {
		{"hosts", VEER_F_USE, NULL},
		{"addresses", VEER_F_USE, NULL},
		{"ports", VEER_F_USE, NULL},
		{"location", VEER_F_SILENT, NULL},
		{"resolution", VEER_F_USE, NULL},
		{"endpoints", VEER_F_USE, NULL},
		{"workloadSelector", VEER_F_USE, NULL},
		{"exportTo", VEER_F_SILENT, NULL},
		{"subjectAltNames", VEER_F_SILENT, NULL},
	};
	const struct meta *m = &se->m;
	const ynode *spec, *hosts, *addrs, *ports, *res, *eps, *sel;
	struct port_set *seen;
	char d[VEER_YDESCRIBE_BUF];
	size_t i;

	if (get_spec(ist, m, &spec) < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, spec, fields, "a ServiceEntry spec") <
		    0)
		return -1;

	hosts = veer_yfield(spec, "hosts");
	if (!hosts)
		return veer_yfail(&ist->rd, spec, "%s: spec.hosts is required",
				  m->id);
	if (veer_ywant(&ist->rd, hosts, VEER_YNODE_SEQ, "hosts") < 0)
		return -1;
	if (hosts->len == 0)
		return veer_yfail(&ist->rd, hosts, "%s: spec.hosts is empty",
				  m->id);
	se->nhost = hosts->len;
	se->host_nodes = zalloc(ist, hosts->len, sizeof(*se->host_nodes));
	se->hosts = zalloc(ist, hosts->len, sizeof(*se->hosts));
	if (!se->host_nodes || !se->hosts)
		return oom(ist);
	for (i = 0; i < hosts->len; i++) {
		se->host_nodes[i] = hosts->items[i];
		if (resolve_host(ist, hosts->items[i], m->ns, false,
				 se->hosts[i]) < 0)
			return -1;
	}

	addrs = veer_yfield(spec, "addresses");
	if (!addrs || (addrs->type == VEER_YNODE_SEQ && addrs->len == 0))
		return veer_yfail(
			&ist->rd, addrs ? addrs : spec,
			"%s: spec.addresses is required (veer needs the "
			"VIP)",
			m->id);
	if (veer_ywant(&ist->rd, addrs, VEER_YNODE_SEQ, "addresses") < 0)
		return -1;
	se->nvip = addrs->len;
	se->vips = zalloc(ist, addrs->len, sizeof(*se->vips));
	if (!se->vips)
		return oom(ist);
	for (i = 0; i < addrs->len; i++)
		if (get_ip(ist, addrs->items[i], "address", &se->vips[i]) < 0)
			return -1;
	/* The same address twice: veer_model_validate names both entries. */
	/*
	 * veer tells services apart by VIP:port only; Istio can share an
	 * address between hosts because its proxy also reads Host/SNI.
	 */
	if (se->nhost > 1)
		return veer_yfail(
			&ist->rd, se->host_nodes[1],
			"%s: %zu hosts share its addresses; veer tells "
			"services apart by VIP and port, so give each "
			"host its own ServiceEntry and address",
			m->id, se->nhost);

	ports = veer_yfield(spec, "ports");
	if (!ports || (ports->type == VEER_YNODE_SEQ && ports->len == 0))
		return veer_yfail(&ist->rd, ports ? ports : spec,
				  "%s: spec.ports is required", m->id);
	if (veer_ywant(&ist->rd, ports, VEER_YNODE_SEQ, "ports") < 0)
		return -1;
	se->nport = ports->len;
	se->ports = zalloc(ist, ports->len, sizeof(*se->ports));
	seen = zalloc(ist, 1, sizeof(*seen));
	if (!se->ports || !seen)
		return oom(ist);
	for (i = 0; i < ports->len; i++) {
		if (parse_se_port(ist, m, ports->items[i], &se->ports[i]) < 0)
			return -1;
		if (se->ports[i].number &&
		    check_duplicate_port(ist, seen, &se->ports[i], m) < 0)
			return -1;
	}

	res = veer_yfield(spec, "resolution");
	if (!res || !veer_ynode_is(res, "STATIC"))
		return veer_yfail(
			&ist->rd, res ? res : spec,
			"%s: spec.resolution must be STATIC (veer needs "
			"endpoint addresses), got %s",
			m->id,
			res ? veer_ydescribe(res, d, sizeof(d))
			    : "nothing (NONE)");

	eps = veer_yfield(spec, "endpoints");
	sel = veer_yfield(spec, "workloadSelector");
	if (eps && sel)
		return veer_yfail(
			&ist->rd, sel,
			"%s: endpoints and workloadSelector are mutually "
			"exclusive",
			m->id);
	if (eps) {
		if (veer_ywant(&ist->rd, eps, VEER_YNODE_SEQ, "endpoints") < 0)
			return -1;
		se->nep = eps->len;
		se->eps = zalloc(ist, eps->len, sizeof(*se->eps));
		if (!se->eps)
			return oom(ist);
		for (i = 0; i < eps->len; i++)
			if (parse_wl(ist, eps->items[i], "endpoint",
				     &se->eps[i]) < 0)
				return -1;
	}
	if (sel) {
		static const struct veer_field_spec sel_fields[] = {
			{"labels", VEER_F_USE, NULL},
		};

		if (veer_ywant(&ist->rd, sel, VEER_YNODE_MAP,
			       "workloadSelector") < 0 ||
		    VEER_YCHECK_FIELDS(&ist->rd, sel, sel_fields,
				       "workloadSelector") < 0)
			return -1;
		if (get_labels(ist, veer_ynode_get(sel, "labels"),
			       "workloadSelector.labels", &se->selector) < 0)
			return -1;
		se->has_selector = true;
	}
	return 0;
}

static int parse_we(struct veer_istio *ist, struct we *we)
{
	const ynode *spec;

	if (get_spec(ist, &we->m, &spec) < 0)
		return -1;
	return parse_wl(ist, spec, "WorkloadEntry spec", &we->wl);
}

/* ---- Kubernetes Service, Pod ---- */

/*
 * Only what veer uses is checked: Kubernetes objects come from the API
 * server (`kubectl get -o yaml`) with many more fields, valid by
 * construction, that later Kubernetes versions keep adding.
 */
static int parse_svc_port(struct veer_istio *ist, struct svc *s, const ynode *n,
			  struct port *p)
{
	const ynode *port, *name, *target, *proto, *app;
	char qb[VEER_YQUOTE_BUF];

	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, "port") < 0)
		return -1;
	p->node = n;
	port = veer_yfield(n, "port");
	if (!port)
		return veer_yfail(&ist->rd, n, "%s: ports[].port is required",
				  s->m.id);
	if (veer_yget_uint(&ist->rd, port, "port", 1, PORT_MAX, &p->number) < 0)
		return -1;
	name = veer_yfield(n, "name");
	if (name && veer_yget_text(&ist->rd, name, "port name") < 0)
		return -1;
	p->name = name;
	p->l7 = l7_of_port_name(name);
	app = veer_yfield(n, "appProtocol");
	if (app) {
		if (veer_yget_text(&ist->rd, app, "appProtocol") < 0)
			return -1;
		p->l7 = l7_of_name(app->text, app->len);
	}
	target = veer_yfield(n, "targetPort");
	if (target) {
		bool digits = target->type == VEER_YNODE_SCALAR &&
			      target->len > 0 &&
			      strspn(target->text, "0123456789") == target->len;

		/* IntOrString: a number, or the name of a container port. */
		if (digits || target->type != VEER_YNODE_SCALAR ||
		    target->kind != VEER_YSCALAR_STR) {
			if (veer_yget_uint(&ist->rd, target, "targetPort", 1,
					   PORT_MAX, &p->target) < 0)
				return -1;
		} else {
			if (veer_yget_text(&ist->rd, target, "targetPort") < 0)
				return -1;
			p->target_name = target;
		}
	}
	proto = veer_yfield(n, "protocol");
	if (proto) {
		if (veer_yget_text(&ist->rd, proto, "protocol") < 0)
			return -1;
		if (veer_ynode_is(proto, "UDP") ||
		    veer_ynode_is(proto, "SCTP")) {
			veer_ynote(
				&ist->rd, proto,
				"%s: port %u is %s, skipped (veer splits TCP)",
				s->m.id, p->number, proto->text);
			p->number = 0;
		} else if (!veer_ynode_is(proto, "TCP")) {
			return veer_yfail(
				&ist->rd, proto,
				"protocol must be TCP, UDP or SCTP, got "
				"\"%s\"",
				veer_yquote(proto, qb, sizeof(qb)));
		}
	}
	return 0;
}

static int parse_svc(struct veer_istio *ist, struct svc *s)
{
	const ynode *spec, *type, *ip, *ips, *ports, *aff;
	struct port_set *seen;
	char qb[VEER_YQUOTE_BUF];
	size_t i, tcp_ports = 0;

	if (get_spec(ist, &s->m, &spec) < 0)
		return -1;
	/* The Service's name is its DNS label: NAME.NAMESPACE.svc... */
	if (!dns_label_ok(s->m.name))
		return veer_yfail(
			&ist->rd, s->m.name_node,
			"%s: a Service name must be a DNS label (a-z, "
			"0-9, '-')",
			s->m.id);
	if (resolve_host(ist, s->m.name_node, s->m.ns, false, s->host) < 0)
		return -1;
	type = veer_yfield(spec, "type");
	if (type && veer_yget_text(&ist->rd, type, "type") < 0)
		return -1;
	if (type && veer_ynode_is(type, "ExternalName")) {
		s->unusable = "is an ExternalName Service (no cluster IP)";
		s->unusable_node = type;
		return 0;
	}
	ip = veer_yfield(spec, "clusterIP");
	ips = veer_yfield(spec, "clusterIPs");
	if (ip && veer_yget_text(&ist->rd, ip, "clusterIP") < 0)
		return -1;
	if (ips && veer_ywant(&ist->rd, ips, VEER_YNODE_SEQ, "clusterIPs") < 0)
		return -1;
	if (ips && ips->len == 0)
		ips = NULL;
	if ((ip && veer_ynode_is(ip, "None")) ||
	    (ips && veer_ynode_is(ips->items[0], "None"))) {
		s->unusable = "is headless (clusterIP: None); veer needs a "
			      "cluster IP";
		s->unusable_node = ip ? ip : ips->items[0];
		return 0;
	}
	if (ip && ip->len == 0)
		ip = NULL;
	if (!ip && !ips)
		return veer_yfail(
			&ist->rd, spec,
			"%s: spec.clusterIP is required (veer needs the "
			"VIP; `kubectl get svc -o yaml` prints it)",
			s->m.id);
	if (ips) {
		s->nvip = ips->len;
		s->vips = zalloc(ist, ips->len, sizeof(*s->vips));
		if (!s->vips)
			return oom(ist);
		for (i = 0; i < ips->len; i++) {
			if (get_ip(ist, ips->items[i], "clusterIPs",
				   &s->vips[i]) < 0)
				return -1;
			/* Kubernetes: one per family, so at most two. */
			if (i == 2 ||
			    (i == 1 && s->vips[0].family == s->vips[1].family))
				return veer_yfail(
					&ist->rd, ips->items[i],
					"%s: clusterIPs holds at most one "
					"IPv4 and one IPv6 address",
					s->m.id);
		}
		/* Kubernetes keeps clusterIP == clusterIPs[0]. */
		if (ip && (ip->len != ips->items[0]->len ||
			   memcmp(ip->text, ips->items[0]->text, ip->len)))
			return veer_yfail(
				&ist->rd, ip,
				"%s: clusterIP \"%s\" is not clusterIPs[0]",
				s->m.id, veer_yquote(ip, qb, sizeof(qb)));
	} else {
		s->nvip = 1;
		s->vips = zalloc(ist, 1, sizeof(*s->vips));
		if (!s->vips)
			return oom(ist);
		if (get_ip(ist, ip, "clusterIP", &s->vips[0]) < 0)
			return -1;
	}
	ports = veer_yfield(spec, "ports");
	if (ports) {
		if (veer_ywant(&ist->rd, ports, VEER_YNODE_SEQ, "ports") < 0)
			return -1;
		s->nport = ports->len;
		s->ports = zalloc(ist, ports->len, sizeof(*s->ports));
		seen = zalloc(ist, 1, sizeof(*seen));
		if (!s->ports || !seen)
			return oom(ist);
		for (i = 0; i < ports->len; i++) {
			if (parse_svc_port(ist, s, ports->items[i],
					   &s->ports[i]) < 0)
				return -1;
			if (!s->ports[i].number)
				continue;
			tcp_ports++;
			if (check_duplicate_port(ist, seen, &s->ports[i],
						 &s->m) < 0)
				return -1;
		}
	}
	if (get_labels(ist, veer_ynode_get(spec, "selector"), "selector",
		       &s->selector) < 0)
		return -1;
	aff = veer_yfield(spec, "sessionAffinity");
	if (aff) {
		if (veer_yget_text(&ist->rd, aff, "sessionAffinity") < 0)
			return -1;
		s->affinity = veer_ynode_is(aff, "ClientIP");
	}
	if (!tcp_ports) {
		s->unusable = "has no TCP ports";
		s->unusable_node = ports ? ports : spec;
	} else if (!s->selector || s->selector->len == 0) {
		s->unusable = "has no selector (veer finds endpoints through "
			      "the selector's Pods, not Endpoints objects)";
		s->unusable_node = spec;
	}
	return 0;
}

/* The Ready condition, if status.conditions has one. */
static const ynode *ready_condition(const ynode *status)
{
	const ynode *conds = veer_yfield(status, "conditions");
	size_t i;

	if (!conds || conds->type != VEER_YNODE_SEQ)
		return NULL;
	for (i = 0; i < conds->len; i++)
		if (veer_ynode_is(veer_yfield(conds->items[i], "type"),
				  "Ready"))
			return conds->items[i];
	return NULL;
}

/* Marks a reason string that could not be allocated. */
static const char oom_reason[] = "";

static const char *phase_reason(struct veer_istio *ist, const ynode *phase)
{
	char qb[VEER_YQUOTE_BUF], *why = zalloc(ist, 1, MSG_MAX);

	if (!why)
		return oom_reason;
	snprintf(why, MSG_MAX, "is not Running (phase %s)",
		 veer_yquote(phase, qb, sizeof(qb)));
	return why;
}

static int parse_pod(struct veer_istio *ist, struct pod *p)
{
	const ynode *metadata = veer_yfield(p->m.node, "metadata");
	const ynode *status = veer_yfield(p->m.node, "status");
	const ynode *phase = NULL, *ips = NULL, *ip = NULL, *ready;
	size_t i;

	if (get_labels(ist, veer_ynode_get(metadata, "labels"),
		       "metadata.labels", &p->labels) < 0)
		return -1;
	p->spec = veer_yfield(p->m.node, "spec");
	if (status &&
	    veer_ywant(&ist->rd, status, VEER_YNODE_MAP, "status") < 0)
		return -1;
	if (status) {
		phase = veer_yfield(status, "phase");
		ips = veer_yfield(status, "podIPs");
		ip = veer_yfield(status, "podIP");
	}
	if (phase && veer_yget_text(&ist->rd, phase, "status.phase") < 0)
		return -1;
	if (ips) {
		if (veer_ywant(&ist->rd, ips, VEER_YNODE_SEQ, "status.podIPs") <
		    0)
			return -1;
		if (ips->len == 0)
			ips = NULL;
	}
	if (ips) {
		p->nip = ips->len;
		p->ips = zalloc(ist, ips->len, sizeof(*p->ips));
		if (!p->ips)
			return oom(ist);
		for (i = 0; i < ips->len; i++) {
			const ynode *one = ips->items[i], *v;

			if (veer_ywant(&ist->rd, one, VEER_YNODE_MAP,
				       "status.podIPs[]") < 0)
				return -1;
			v = veer_yfield(one, "ip");
			if (!v)
				return veer_yfail(&ist->rd, one,
						  "podIPs[].ip is required");
			if (get_ip(ist, v, "podIPs[].ip", &p->ips[i]) < 0)
				return -1;
		}
	} else if (ip && !(ip->type == VEER_YNODE_SCALAR && ip->len == 0)) {
		p->nip = 1;
		p->ips = zalloc(ist, 1, sizeof(*p->ips));
		if (!p->ips)
			return oom(ist);
		if (get_ip(ist, ip, "status.podIP", &p->ips[0]) < 0)
			return -1;
	}
	/* Kubernetes' own rules for Endpoints: Running, Ready, not going. */
	ready = ready_condition(status);
	if (veer_yfield(metadata, "deletionTimestamp"))
		p->skip = "is terminating";
	else if (!phase)
		p->skip = "has no status.phase (not Running)";
	else if (!veer_ynode_is(phase, "Running"))
		p->skip = phase_reason(ist, phase);
	else if (ready && !veer_ynode_is(veer_yfield(ready, "status"), "True"))
		p->skip = "is not Ready";
	else if (!p->nip)
		p->skip = "has no IP address";
	if (p->skip == oom_reason)
		return oom(ist);
	return 0;
}

/* containerPort of the named port in any container, or 0. */
static int pod_named_port(struct veer_istio *ist, const struct pod *p,
			  const ynode *name, unsigned int *out)
{
	const ynode *containers = veer_yfield(p->spec, "containers");
	size_t i, j;

	*out = 0;
	if (!containers || containers->type != VEER_YNODE_SEQ)
		return 0;
	for (i = 0; i < containers->len; i++) {
		const ynode *ports = veer_yfield(containers->items[i], "ports");

		if (!ports || ports->type != VEER_YNODE_SEQ)
			continue;
		for (j = 0; j < ports->len; j++) {
			const ynode *pn = veer_yfield(ports->items[j], "name");
			const ynode *cp =
				veer_yfield(ports->items[j], "containerPort");

			if (!pn || pn->len != name->len ||
			    memcmp(pn->text, name->text, name->len))
				continue;
			if (!cp)
				return veer_yfail(&ist->rd, ports->items[j],
						  "containerPort is required");
			return veer_yget_uint(&ist->rd, cp, "containerPort", 1,
					      PORT_MAX, out);
		}
	}
	return 0;
}

/* ---- DestinationRule ---- */

static int parse_traffic_policy(struct veer_istio *ist, struct dr *dr,
				const ynode *tp)
{
	static const struct veer_field_spec fields[] = {
		{"loadBalancer", VEER_F_USE, NULL},
		{"connectionPool", VEER_F_PROXY, "trafficPolicy."},
		{"outlierDetection", VEER_F_PROXY, "trafficPolicy."},
		{"tls", VEER_F_PROXY, "trafficPolicy."},
		{"portLevelSettings", VEER_F_PROXY, "trafficPolicy."},
		{"tunnel", VEER_F_PROXY, "trafficPolicy."},
		{"proxyProtocol", VEER_F_PROXY, "trafficPolicy."},
		{"retryBudget", VEER_F_PROXY, "trafficPolicy."},
	};
	static const struct veer_field_spec lb_fields[] = {
		{"simple", VEER_F_PROXY, "trafficPolicy.loadBalancer."},
		{"consistentHash", VEER_F_USE, NULL},
		{"localityLbSetting", VEER_F_PROXY,
		 "trafficPolicy.loadBalancer."},
		{"warmupDurationSecs", VEER_F_PROXY,
		 "trafficPolicy.loadBalancer."},
		{"warmup", VEER_F_PROXY, "trafficPolicy.loadBalancer."},
	};
	static const struct veer_field_spec hash_fields[] = {
		{"useSourceIp", VEER_F_USE, NULL},
		{"httpHeaderName", VEER_F_PROXY, "consistentHash."},
		{"httpCookie", VEER_F_PROXY, "consistentHash."},
		{"httpQueryParameterName", VEER_F_PROXY, "consistentHash."},
		{"ringHash", VEER_F_PROXY, "consistentHash."},
		{"maglev", VEER_F_PROXY, "consistentHash."},
		{"minimumRingSize", VEER_F_PROXY, "consistentHash."},
	};
	const ynode *lb, *hash, *src;

	if (veer_ywant(&ist->rd, tp, VEER_YNODE_MAP, "trafficPolicy") < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, tp, fields, "trafficPolicy") < 0)
		return -1;
	lb = veer_yfield(tp, "loadBalancer");
	if (!lb)
		return 0;
	if (veer_ywant(&ist->rd, lb, VEER_YNODE_MAP, "loadBalancer") < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, lb, lb_fields, "loadBalancer") < 0)
		return -1;
	hash = veer_yfield(lb, "consistentHash");
	if (!hash)
		return 0;
	if (veer_ywant(&ist->rd, hash, VEER_YNODE_MAP, "consistentHash") < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, hash, hash_fields, "consistentHash") <
		    0)
		return -1;
	src = veer_yfield(hash, "useSourceIp");
	if (src &&
	    veer_yget_bool(&ist->rd, src, "useSourceIp", &dr->hash_src_ip) < 0)
		return -1;
	return 0;
}

static bool subset_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static int parse_dr(struct veer_istio *ist, struct dr *dr)
{
	static const struct veer_field_spec fields[] = {
		{"host", VEER_F_USE, NULL},
		{"subsets", VEER_F_USE, NULL},
		{"trafficPolicy", VEER_F_USE, NULL},
		{"exportTo", VEER_F_SILENT, NULL},
		{"workloadSelector", VEER_F_PROXY, NULL},
	};
	static const struct veer_field_spec sub_fields[] = {
		{"name", VEER_F_USE, NULL},
		{"labels", VEER_F_USE, NULL},
		{"trafficPolicy", VEER_F_PROXY, "subsets[]."},
	};
	const ynode *spec, *host, *subs, *tp;
	size_t i, j, k;

	if (get_spec(ist, &dr->m, &spec) < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, spec, fields,
			       "a DestinationRule spec") < 0)
		return -1;
	host = veer_yfield(spec, "host");
	if (!host)
		return veer_yfail(&ist->rd, spec, "%s: spec.host is required",
				  dr->m.id);
	dr->host_node = host;
	if (resolve_host(ist, host, dr->m.ns, false, dr->host) < 0)
		return -1;
	subs = veer_yfield(spec, "subsets");
	if (subs) {
		if (veer_ywant(&ist->rd, subs, VEER_YNODE_SEQ, "subsets") < 0)
			return -1;
		if (subs->len > VEER_MAX_SUBSETS)
			return veer_yfail(
				&ist->rd, subs->items[VEER_MAX_SUBSETS],
				"%s: %zu subsets, at most %d", dr->m.id,
				subs->len, VEER_MAX_SUBSETS);
		dr->nsub = subs->len;
		dr->subs = zalloc(ist, subs->len, sizeof(*dr->subs));
		if (!dr->subs)
			return oom(ist);
		for (i = 0; i < subs->len; i++) {
			const ynode *s = subs->items[i], *name;
			struct subset *sub = &dr->subs[i];

			if (veer_ywant(&ist->rd, s, VEER_YNODE_MAP, "subset") <
				    0 ||
			    VEER_YCHECK_FIELDS(&ist->rd, s, sub_fields,
					       "a subset") < 0)
				return -1;
			sub->node = s;
			name = veer_yfield(s, "name");
			if (!name)
				return veer_yfail(&ist->rd, s,
						  "%s: subset name is required",
						  dr->m.id);
			if (veer_yget_name(&ist->rd, name, "subset name",
					   sub->name, sizeof(sub->name)) < 0)
				return -1;
			for (k = 0; k < name->len; k++)
				if (!subset_char_ok(name->text[k]))
					return veer_yfail(
						&ist->rd, name,
						"subset name: only "
						"letters, digits, '.', "
						"'-' and '_' allowed");
			for (j = 0; j < i; j++)
				if (!strcmp(dr->subs[j].name, sub->name))
					return veer_yfail(
						&ist->rd, name,
						"%s: subset %s defined "
						"twice",
						dr->m.id, sub->name);
			if (get_labels(ist, veer_ynode_get(s, "labels"),
				       "labels", &sub->labels) < 0)
				return -1;
		}
	}
	tp = veer_yfield(spec, "trafficPolicy");
	if (tp && parse_traffic_policy(ist, dr, tp) < 0)
		return -1;
	return 0;
}

/* ---- VirtualService ---- */

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

			if (b->ncond == VEER_MAX_CONDITIONS)
				return veer_yfail(
					&ist->rd, k,
					"more than %d conditions in one "
					"match block (VEER_MAX_CONDITIONS)",
					VEER_MAX_CONDITIONS);
			c = &b->conds[b->ncond++];
			c->field = VEER_COND_HEADER;
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
		struct cond *c;

		if (b->ncond == VEER_MAX_CONDITIONS)
			return veer_yfail(
				&ist->rd, uri,
				"more than %d conditions in one match "
				"block (VEER_MAX_CONDITIONS)",
				VEER_MAX_CONDITIONS);
		c = &b->conds[b->ncond++];
		c->field = VEER_COND_URI;
		if (parse_string_match(ist, uri, "uri match", c) < 0)
			return -1;
	}
	return 0;
}

static int parse_dest(struct veer_istio *ist, const struct vs *vs,
		      const ynode *n, struct dest *d, bool *weighted)
{
	static const struct veer_field_spec fields[] = {
		{"destination", VEER_F_USE, NULL},
		{"weight", VEER_F_USE, NULL},
		{"headers", VEER_F_PROXY, "route[]."},
	};
	static const struct veer_field_spec dest_fields[] = {
		{"host", VEER_F_USE, NULL},
		{"subset", VEER_F_USE, NULL},
		{"port", VEER_F_USE, NULL},
	};
	static const struct veer_field_spec port_fields[] = {
		{"number", VEER_F_USE, NULL},
	};
	const ynode *dn, *host, *subset, *port, *weight, *number;
	char name[VEER_SUBSET_NAME_MAX];

	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP, "route destination") < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, n, fields, "a route destination") < 0)
		return -1;
	d->node = n;
	dn = veer_yfield(n, "destination");
	if (!dn)
		return veer_yfail(&ist->rd, n, "destination is required");
	if (veer_ywant(&ist->rd, dn, VEER_YNODE_MAP, "destination") < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, dn, dest_fields, "a destination") < 0)
		return -1;
	host = veer_yfield(dn, "host");
	if (!host)
		return veer_yfail(&ist->rd, dn, "destination host is required");
	d->host_node = host;
	if (resolve_host(ist, host, vs->m.ns, false, d->host) < 0)
		return -1;
	subset = veer_yfield(dn, "subset");
	if (subset &&
	    veer_yget_name(&ist->rd, subset, "subset", name, sizeof(name)) < 0)
		return -1;
	d->subset = subset;
	port = veer_yfield(dn, "port");
	if (port) {
		if (veer_ywant(&ist->rd, port, VEER_YNODE_MAP, "port") < 0 ||
		    VEER_YCHECK_FIELDS(&ist->rd, port, port_fields,
				       "a destination port") < 0)
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
	*weighted = weight != NULL;
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

static int parse_rule(struct veer_istio *ist, const struct vs *vs,
		      const ynode *n, bool tcp, unsigned int index,
		      struct rule *r)
{
	const char *section = tcp ? "tcp" : "http";
	const ynode *match, *route;
	unsigned int sum = 0;
	size_t i;

	if (veer_ywant(&ist->rd, n, VEER_YNODE_MAP,
		       tcp ? "tcp route" : "http route") < 0 ||
	    (tcp ? VEER_YCHECK_FIELDS(&ist->rd, n, tcp_fields, "a tcp route")
		 : VEER_YCHECK_FIELDS(&ist->rd, n, http_fields,
				      "an http route")) < 0)
		return -1;
	r->node = n;
	r->tcp = tcp;
	r->index = index;
	match = veer_yfield(n, "match");
	if (match) {
		if (veer_ywant(&ist->rd, match, VEER_YNODE_SEQ, "match") < 0)
			return -1;
		r->match_node = match;
		r->nblock = match->len;
		r->blocks = zalloc(ist, match->len, sizeof(*r->blocks));
		if (!r->blocks)
			return oom(ist);
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
	if (veer_ywant(&ist->rd, route, VEER_YNODE_SEQ, "route") < 0)
		return -1;
	r->route_node = route;
	r->ndest = route->len;
	r->dests = zalloc(ist, route->len, sizeof(*r->dests));
	if (!r->dests)
		return oom(ist);
	for (i = 0; i < route->len; i++) {
		struct dest *d = &r->dests[i];
		bool weighted;

		if (parse_dest(ist, vs, route->items[i], d, &weighted) < 0)
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

static int parse_vs(struct veer_istio *ist, struct vs *vs)
{
	static const struct veer_field_spec fields[] = {
		{"hosts", VEER_F_USE, NULL},
		{"gateways", VEER_F_USE, NULL},
		{"http", VEER_F_USE, NULL},
		{"tcp", VEER_F_USE, NULL},
		{"tls", VEER_F_REFUSE,
		 "tls routes are not supported (veer does not read TLS SNI); "
		 "use tcp routes"},
		{"exportTo", VEER_F_SILENT, NULL},
	};
	const ynode *spec, *hosts, *gws, *http, *tcp;
	size_t i, n = 0;
	bool mesh = false;

	if (get_spec(ist, &vs->m, &spec) < 0 ||
	    VEER_YCHECK_FIELDS(&ist->rd, spec, fields,
			       "a VirtualService spec") < 0)
		return -1;
	hosts = veer_yfield(spec, "hosts");
	if (!hosts)
		return veer_yfail(&ist->rd, spec, "%s: spec.hosts is required",
				  vs->m.id);
	if (veer_ywant(&ist->rd, hosts, VEER_YNODE_SEQ, "hosts") < 0)
		return -1;
	if (hosts->len == 0)
		return veer_yfail(&ist->rd, hosts, "%s: spec.hosts is empty",
				  vs->m.id);
	vs->nhost = hosts->len;
	vs->host_nodes = zalloc(ist, hosts->len, sizeof(*vs->host_nodes));
	vs->hosts = zalloc(ist, hosts->len, sizeof(*vs->hosts));
	if (!vs->host_nodes || !vs->hosts)
		return oom(ist);
	for (i = 0; i < hosts->len; i++) {
		vs->host_nodes[i] = hosts->items[i];
		if (resolve_host(ist, hosts->items[i], vs->m.ns, true,
				 vs->hosts[i]) < 0)
			return -1;
	}
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
	vs->rules = zalloc(ist, n, sizeof(*vs->rules));
	if (!vs->rules)
		return oom(ist);
	if (http && parse_routes(ist, vs, http, false) < 0)
		return -1;
	if (tcp && parse_routes(ist, vs, tcp, true) < 0)
		return -1;
	if (!vs->nrule)
		return veer_yfail(&ist->rd, spec, "%s: no http or tcp routes",
				  vs->m.id);
	return 0;
}

/* ---- Collection ---- */

static size_t kind_size(enum kind k)
{
	switch (k) {
	case K_VS:
		return sizeof(struct vs);
	case K_DR:
		return sizeof(struct dr);
	case K_SE:
		return sizeof(struct se);
	case K_WE:
		return sizeof(struct we);
	case K_SVC:
		return sizeof(struct svc);
	default:
		return sizeof(struct pod);
	}
}

static int parse_kind(struct veer_istio *ist, struct meta *m)
{
	switch (m->kind) {
	case K_VS:
		return parse_vs(ist, (struct vs *)m);
	case K_DR:
		return parse_dr(ist, (struct dr *)m);
	case K_SE:
		return parse_se(ist, (struct se *)m);
	case K_WE:
		return parse_we(ist, (struct we *)m);
	case K_SVC:
		return parse_svc(ist, (struct svc *)m);
	default:
		return parse_pod(ist, (struct pod *)m);
	}
}

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
static int classify(struct veer_istio *ist, const ynode *api, const ynode *kind)
{
	static const char *const versions[] = {"v1alpha3", "v1beta1", "v1"};
	size_t glen = strlen(ISTIO_GROUP), i;
	char qb[VEER_YQUOTE_BUF];
	int k;

	for (k = 0; k < K_NKINDS; k++)
		if (veer_ynode_is(kind, kind_names[k]))
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
	veer_yfail(&ist->rd, api,
		   "apiVersion \"%s\" not supported for %s (" ISTIO_GROUP
		   "/v1alpha3, v1beta1 or v1)",
		   veer_yquote(api, qb, sizeof(qb)), kind_names[k]);
	return -2;
}

static int add_object(struct veer_istio *ist, const ynode *obj, bool in_list)
{
	const ynode *api, *kind, *metadata, *items, *name, *ns;
	char qb[VEER_YQUOTE_BUF], qn[VEER_YQUOTE_BUF], qs[VEER_YQUOTE_BUF],
		d[VEER_YDESCRIBE_BUF];
	struct meta *m;
	size_t i;
	int k;

	if (obj->type != VEER_YNODE_MAP)
		return veer_yfail(
			&ist->rd, obj,
			"expected a Kubernetes object (a mapping with "
			"apiVersion, kind, metadata), got %s",
			veer_ydescribe(obj, d, sizeof(d)));
	ist->objects++;
	api = veer_yfield(obj, "apiVersion");
	kind = veer_yfield(obj, "kind");
	if (!api)
		return veer_yfail(&ist->rd, obj, "apiVersion is required");
	if (!kind)
		return veer_yfail(&ist->rd, obj, "kind is required");
	if (veer_yget_text(&ist->rd, api, "apiVersion") < 0 ||
	    veer_yget_text(&ist->rd, kind, "kind") < 0)
		return -1;
	items = veer_ynode_get(obj, "items");
	/* kubectl's List, or the API's ServiceList, PodList, ... */
	if (veer_ynode_is(kind, "List") || (ends_with(kind, "List") && items)) {
		if (in_list)
			return veer_yfail(&ist->rd, kind,
					  "a List inside a List");
		if (!veer_yopt(items))
			return 0;
		if (veer_ywant(&ist->rd, items, VEER_YNODE_SEQ, "items") < 0)
			return -1;
		for (i = 0; i < items->len; i++)
			if (add_object(ist, items->items[i], true) < 0)
				return -1;
		return 0;
	}
	k = classify(ist, api, kind);
	if (k == -2)
		return -1;
	metadata = veer_yfield(obj, "metadata");
	if (k == -1) {
		/*
		 * Not checked further: it is not veer's to judge, and some
		 * (a Kustomization next to the manifests) have no metadata.
		 */
		name = veer_yfield(metadata, "name");
		ns = veer_yfield(metadata, "namespace");
		if (!name || name->type != VEER_YNODE_SCALAR) {
			veer_ynote(&ist->rd, kind, "skipped %s (" ACTED_ON ")",
				   veer_yquote(kind, qb, sizeof(qb)));
			return 0;
		}
		veer_ynote(&ist->rd, kind, "skipped %s %s/%s (" ACTED_ON ")",
			   veer_yquote(kind, qb, sizeof(qb)),
			   ns && ns->type == VEER_YNODE_SCALAR
				   ? veer_yquote(ns, qs, sizeof(qs))
				   : ist->default_ns,
			   veer_yquote(name, qn, sizeof(qn)));
		return 0;
	}
	if (!metadata)
		return veer_yfail(&ist->rd, obj,
				  "%s: metadata is required (metadata.name)",
				  kind_names[k]);
	if (veer_ywant(&ist->rd, metadata, VEER_YNODE_MAP, "metadata") < 0)
		return -1;
	m = zalloc(ist, 1, kind_size((enum kind)k));
	if (!m)
		return oom(ist);
	if (parse_meta(ist, obj, metadata, (enum kind)k, m) < 0 ||
	    parse_kind(ist, m) < 0)
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

/* ---- Resolution ---- */

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
		return oom(ist);
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
	struct hostdef *hd = zalloc(ist, 1, sizeof(*hd));

	if (!hd)
		return oom(ist);
	snprintf(hd->host, sizeof(hd->host), "%s", host);
	hd->node = node;
	hd->owner = owner;
	hd->order = ist->hosts.n;
	if (owner->kind == K_SE) {
		const struct se *se = (const struct se *)owner;

		hd->se = se;
		hd->nvip = se->nvip;
		hd->vips = se->vips;
		hd->nport = se->nport;
		hd->ports = se->ports;
	} else {
		const struct svc *s = (const struct svc *)owner;

		hd->svc = s;
		hd->nvip = s->nvip;
		hd->vips = s->vips;
		hd->nport = s->nport;
		hd->ports = s->ports;
		hd->flags = s->affinity ? VEER_SVC_F_HASH_SRC_IP : 0;
	}
	if (vec_push(&ist->hosts, hd) < 0)
		return oom(ist);
	return 0;
}

static int collect_hosts(struct veer_istio *ist)
{
	size_t i, j;

	for (i = 0; i < ist->objs.n; i++) {
		const struct meta *m = ist->objs.v[i];

		if (m->kind == K_SE) {
			const struct se *se = (const struct se *)m;

			for (j = 0; j < se->nhost; j++)
				if (add_hostdef(ist, se->hosts[j],
						se->host_nodes[j], m) < 0)
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
		return oom(ist);
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

	for (i = 0; i < hd->nport; i++)
		if (hd->ports[i].number && hd->ports[i].number == port)
			return true;
	return false;
}

/*
 * The subsets an entry is split into. Without a VirtualService nothing
 * routes to subsets, so, as in Istio, connections spread over every
 * endpoint (one subset, `all`) whatever the DestinationRule defines.
 */
static const struct subset *dr_subsets(const struct hostdef *hd, size_t *n)
{
	*n = hd->dr && hd->vs ? hd->dr->nsub : 0;
	return *n ? hd->dr->subs : NULL;
}

/* Checks what a VirtualService says about one of its hosts. */
static int check_vs_host(struct veer_istio *ist, const struct vs *vs,
			 struct hostdef *hd)
{
	size_t r, i, j, nsub;
	const struct subset *subs = dr_subsets(hd, &nsub);

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
	const char *pattern = vs->hosts[h];
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
			if (attach_vs_host(ist, vs, hd, vs->host_nodes[h]) < 0)
				return -1;
			veer_ynote(
				&ist->rd, vs->host_nodes[h],
				"%s: host \"%s\" applied to %s (the host its "
				"routes name)",
				vs->m.id, pattern, hd->host);
			found++;
		}
	}
	if (!found)
		return veer_yfail(
			&ist->rd, vs->host_nodes[h],
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

		for (h = 0; h < vs->nhost; h++) {
			struct hostdef *hd;

			if (is_wildcard(vs->hosts[h])) {
				if (attach_wildcard(ist, vs, h) < 0)
					return -1;
				continue;
			}
			hd = find_host(ist, vs->hosts[h]);
			if (!hd)
				return fail_undefined(ist, vs->host_nodes[h],
						      vs->hosts[h], vs->m.id);
			if (attach_vs_host(ist, vs, hd, vs->host_nodes[h]) < 0)
				return -1;
		}
	}
	return 0;
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
		struct ep *grown = zalloc(ist, ncap, sizeof(*grown));

		if (!grown)
			return oom(ist);
		if (hd->nep)
			memcpy(grown, hd->eps, hd->nep * sizeof(*grown));
		/* The old array stays in ist->allocs until the end. */
		hd->eps = grown;
		*cap = ncap;
	}
	ep = &hd->eps[hd->nep++];
	ep->addr = *addr;
	ep->labels = labels;
	ep->port_for = zalloc(ist, hd->nport, sizeof(*ep->port_for));
	if (!ep->port_for)
		return oom(ist);
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
	for (i = 0; i < hd->nport; i++) {
		const struct port *p = &hd->ports[i];
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
	size_t cap = 0, i;

	for (i = 0; i < se->nep; i++)
		if (add_wl_ep(ist, hd, &cap, &se->eps[i]) < 0)
			return -1;
	for (i = 0; se->has_selector && i < wes->n; i++) {
		const struct we *we = wes->v[i];

		if (strcmp(we->m.ns, se->m.ns) ||
		    !labels_include(we->wl.labels, se->selector))
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
	size_t *resolved = zalloc(ist, hd->nport, sizeof(*resolved));
	unsigned int *port_for = zalloc(ist, hd->nport, sizeof(*port_for));

	if (!resolved || !port_for)
		return oom(ist);
	for (i = 0; i < pods->n; i++) {
		const struct pod *p = pods->v[i];

		if (strcmp(p->m.ns, s->m.ns) ||
		    !labels_include(p->labels, s->selector))
			continue;
		if (p->skip) {
			veer_ynote(&ist->rd, p->m.name_node,
				   "%s: %s %s, not an endpoint", s->m.id,
				   p->m.id, p->skip);
			continue;
		}
		usable++;
		for (k = 0; k < hd->nport; k++) {
			const struct port *sp = &hd->ports[k];

			port_for[k] = sp->target ? sp->target : sp->number;
			if (!sp->target_name || !sp->number)
				continue;
			if (pod_named_port(ist, p, sp->target_name,
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
			       hd->nport * sizeof(*port_for));
		}
	}
	for (k = 0; usable && k < hd->nport; k++) {
		const struct port *sp = &hd->ports[k];

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

/* ---- Entries ---- */

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

		hd->members[s][0] = zalloc(ist, hd->nep, sizeof(size_t));
		hd->members[s][1] = zalloc(ist, hd->nep, sizeof(size_t));
		if (!hd->members[s][0] || !hd->members[s][1])
			return oom(ist);
		for (i = 0; i < hd->nep; i++) {
			int f = family_index(hd->eps[i].addr.family);

			if (labels_include(hd->eps[i].labels, labels))
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
			return oom(ist);
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
			return oom(ist);
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
		   "header/uri rules: the first request of a connection "
		   "chooses its "
		   "backend, matched in the request's first segment; later "
		   "requests "
		   "on a keep-alive connection follow it (Istio routes each "
		   "request)");
	veer_ynote(
		&ist->rd, NULL,
		"header/uri rules: node-local clients (veer attach --cgroup) "
		"take the default route");
	veer_ynote(
		&ist->rd, NULL,
		"header/uri rules: HTTP/2, gRPC and TLS connections take the "
		"default route");
}

static int make_entry(struct veer_istio *ist, const struct hostdef *hd,
		      const struct addr_node *vip, size_t port_index,
		      bool single, struct veer_model *out)
{
	const struct port *port = &hd->ports[port_index];
	struct veer_service_model *svc;
	size_t nsub, i;
	const struct subset *subs = dr_subsets(hd, &nsub);
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
		return oom(ist);
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
	if ((hd->se ? se_endpoints(ist, hd) : svc_endpoints(ist, hd)) < 0)
		return -1;
	for (p = 0; p < hd->nport; p++)
		if (hd->ports[p].number)
			count += hd->nvip;
	if (!count) {
		veer_ynote(&ist->rd, hd->node,
			   "%s: host %s has no TCP ports; skipped",
			   hd->owner->id, hd->host);
		return 0;
	}
	/* Sets nsub first: argument evaluation order is unspecified. */
	subs = dr_subsets(hd, &nsub);
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
	for (v = 0; v < hd->nvip; v++)
		for (p = 0; p < hd->nport; p++)
			if (hd->ports[p].number &&
			    make_entry(ist, hd, &hd->vips[v], p, count == 1,
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
	if (check_duplicate_objects(ist) < 0 || collect_hosts(ist) < 0 ||
	    attach_drs(ist) < 0 || attach_vss(ist) < 0)
		return -1;
	for (i = 0; i < ist->hosts.n; i++)
		if (make_entries(ist, ist->hosts.v[i], out) < 0)
			return -1;
	note_rule_limits(ist, out, first);
	return 0;
}

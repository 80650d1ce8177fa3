/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What the istio*.c files share, in the order of a load:
 *
 *   istio.c          the public API's lifetime: new, free, counts, notes;
 *                    memory owned by a struct veer_istio
 *   istio_objects.c  document -> object: apiVersion/kind, List items,
 *                    metadata, the kinds table, spec, registration
 *   istio_read.c     typed readers the kinds share: mappings against a
 *                    field table, lists, hosts, addresses, labels, ports
 *   istio_se.c       ServiceEntry, WorkloadEntry
 *   istio_k8s.c      Kubernetes Service, Pod
 *   istio_dr.c       DestinationRule
 *   istio_routes.c   VirtualService: http/tcp routes, match blocks,
 *                    destinations
 *   istio_resolve.c  joining the objects: duplicates, hosts, attaching
 *                    DestinationRules and VirtualServices, endpoints
 *   istio_build.c    entries into the model: subsets, backends, rules
 *
 * Not for use outside those files.
 */
#ifndef VEER_ISTIO_INT_H
#define VEER_ISTIO_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "addr.h"
#include "istio.h"
#include "yaml_read.h"

#define NS_MAX VEER_ISTIO_NS_MAX /* DNS label (63) + NUL */
#define OBJ_NAME_MAX VEER_ISTIO_NAME_MAX /* DNS subdomain (253) + NUL */
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

/* What route section a port's connections are matched against. */
enum l7 { L7_AUTO, L7_HTTP, L7_TCP };

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

/* What a host definition (ServiceEntry, Service) listens on. */
struct frontend {
	size_t nvip;
	struct addr_node *vips;
	size_t nport;
	struct port *ports; /* number 0: not TCP, makes no entries */
};

/* spec.hosts of a ServiceEntry or VirtualService, resolved. */
struct hostlist {
	size_t n;
	const ynode **nodes;
	char (*names)[HOST_MAX];
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
	struct hostlist hosts;
	struct frontend fe;
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
	struct frontend fe;
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
	struct hostlist hosts;
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
	const struct frontend *fe; /* the definition's VIPs and ports */
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

/*
 * The objects of one kind (Pods, WorkloadEntries) with a label, in
 * definition order: indexes into by_kind[kind], ascending, each once. One
 * per namespace and label pair, and one per namespace with all its
 * objects (key and value NULL), for selectors without labels.
 */
struct label_list {
	const char *ns;
	const ynode *key, *value;
	uint64_t hash;
	size_t n;
	size_t *items;
	size_t last; /* the last object counted or added, plus one */
	struct label_list *next; /* in its bucket */
};

/*
 * Built once per build (istio_resolve), so that a selector looks at the
 * objects that have one of its labels, not at all objects.
 */
struct label_index {
	size_t nbucket; /* a power of two; 0: empty */
	struct label_list **buckets;
};

struct veer_istio {
	char default_ns[NS_MAX];
	struct ptrvec allocs; /* everything below is freed through this */
	struct ptrvec objs; /* struct meta *, in input order */
	struct ptrvec by_kind[K_NKINDS];
	struct ptrvec hosts; /* struct hostdef *, in definition order */
	struct hostdef **sorted_hosts; /* by host name */
	struct label_index pods, wes; /* by_kind[K_POD], by_kind[K_WE] */
	size_t objects; /* all objects read, skipped ones included */
	size_t entries, backends; /* made so far, against the caps */
	struct veer_yreader rd; /* errors and notes */
};

/* ---- istio.c: memory owned by ist ---- */

int istio_vec_push(struct ptrvec *v, void *p);
/* Zeroed memory owned by ist; NULL when out of memory. */
void *istio_zalloc(struct veer_istio *ist, size_t n, size_t size);
/* "out of memory" in ist's error line; -1. */
int istio_oom(struct veer_istio *ist);

/* ---- istio_objects.c: kinds ---- */

/*
 * How a mapping is read: what it is called when it is not a mapping, its
 * field table, and what the table's messages call it. fields NULL: any
 * key is accepted (Kubernetes objects carry many that veer ignores).
 */
struct istio_shape {
	const char *what;
	const char *where;
	const struct veer_field_spec *fields;
	size_t nfields;
};

#define ISTIO_FIELDS(table) (table), sizeof(table) / sizeof((table)[0])

/*
 * One kind of object: its name, the size of its struct (which starts with
 * a struct meta), its spec and the parser of the rest. The spec is read
 * before the parser runs: required and checked against spec.fields when
 * spec_required, else handed over as found (NULL when absent).
 */
struct istio_kind {
	const char *name;
	size_t size;
	bool spec_required;
	struct istio_shape spec;
	int (*parse)(struct veer_istio *ist, struct meta *m, const ynode *spec);
};

extern const struct istio_kind istio_kind_se, istio_kind_we, istio_kind_svc,
	istio_kind_pod, istio_kind_dr, istio_kind_vs;

/* RFC 1123 label, as Kubernetes wants namespaces and Service names. */
bool istio_dns_label_ok(const char *s);

/* ---- istio_read.c: typed readers the kinds share ---- */

/* A mapping, its keys checked against shape's field table. */
int istio_map(struct veer_istio *ist, const ynode *n,
	      const struct istio_shape *shape);
/*
 * A list: room for its items, list->len zeroed elements of size owned by
 * ist; NULL with the error written when it is not a list or out of memory.
 */
void *istio_list(struct veer_istio *ist, const ynode *list, const char *what,
		 size_t size);
/* spec.hosts: required, not empty, each resolved in m's namespace. */
int istio_hosts(struct veer_istio *ist, const struct meta *m, const ynode *spec,
		bool wildcard_ok, struct hostlist *out);
int istio_get_ip(struct veer_istio *ist, const ynode *n, const char *what,
		 struct addr_node *out);
/* A map of string -> string (labels, selectors); NULL when absent. */
int istio_get_labels(struct veer_istio *ist, const ynode *n, const char *what,
		     const ynode **out);
/* Every pair of `wanted` is in `have`. */
bool istio_labels_include(const ynode *have, const ynode *wanted);
/*
 * Istio's resolution: a name without a dot is a Kubernetes short name in
 * the object's namespace; anything else is taken as written. Lower-cased:
 * DNS names are case-insensitive.
 */
int istio_resolve_host(struct veer_istio *ist, const ynode *n, const char *ns,
		       bool wildcard_ok, char out[HOST_MAX]);
enum l7 istio_l7_of_name(const char *s, size_t len);
enum l7 istio_l7_of_port_name(const ynode *name);

/*
 * How a kind writes a port: the mapping, the key of its number, what
 * messages call the number and say when it is missing; rest reads what
 * follows the number and the name (targetPort, protocol, ...).
 */
struct istio_port_spec {
	struct istio_shape shape;
	const char *number_key;
	const char *number_what;
	const char *missing;
	int (*rest)(struct veer_istio *ist, const struct meta *m,
		    const ynode *n, struct port *p);
};

/*
 * spec.ports into fe: each port read as spec says, no TCP port number
 * twice; *tcp: how many ports are TCP.
 */
int istio_ports(struct veer_istio *ist, const struct meta *m, const ynode *list,
		const struct istio_port_spec *spec, struct frontend *fe,
		size_t *tcp);
/* A port veer does not split (UDP, SCTP): noted, and its number set to 0. */
void istio_skip_port(struct veer_istio *ist, const struct meta *m,
		     const ynode *at, const char *protocol, struct port *p);

/* ---- istio_k8s.c ---- */

/* containerPort of the named port in any of p's containers, or 0. */
int istio_pod_named_port(struct veer_istio *ist, const struct pod *p,
			 const ynode *name, unsigned int *out);

/* ---- istio_resolve.c: joining the objects ---- */

/*
 * Checks that objects are unique, collects the hosts, attaches
 * DestinationRules and VirtualServices to them, indexes Pods and
 * WorkloadEntries by label for the selectors of istio_endpoints.
 */
int istio_resolve(struct veer_istio *ist);
/* The endpoints of one host, from its definition's sources. */
int istio_endpoints(struct veer_istio *ist, struct hostdef *hd);
/* The subsets an entry of hd is split into; NULL and 0: one, "all". */
const struct subset *istio_dr_subsets(const struct hostdef *hd, size_t *n);

#endif /* VEER_ISTIO_INT_H */

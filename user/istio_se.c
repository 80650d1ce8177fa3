// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ServiceEntry and WorkloadEntry: a host defined by its VIPs and ports,
 * with endpoints listed inline or selected among WorkloadEntries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

static const struct veer_field_spec wl_fields[] = {
	{"address", VEER_F_USE, NULL},
	{"labels", VEER_F_USE, NULL},
	{"ports", VEER_F_USE, NULL},
	{"network", VEER_F_SILENT, NULL},
	{"locality", VEER_F_SILENT, NULL},
	{"serviceAccount", VEER_F_SILENT, NULL},
	{"weight", VEER_F_PROXY, "endpoint "},
};

static const struct istio_shape endpoint_shape = {"endpoint", "endpoint",
						  ISTIO_FIELDS(wl_fields)};

/* A ServiceEntry endpoint or WorkloadEntry spec, its fields checked. */
static int parse_wl(struct veer_istio *ist, const ynode *n, const char *where,
		    struct wl *wl)
{
	const ynode *addr, *ports;
	size_t i;

	wl->node = n;
	addr = veer_yfield(n, "address");
	if (!addr)
		return veer_yfail(&ist->rd, n, "%s: address is required",
				  where);
	if (istio_get_ip(ist, addr, "address", &wl->addr) < 0)
		return -1;
	if (istio_get_labels(ist, veer_ynode_get(n, "labels"), "labels",
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

static const struct veer_field_spec port_fields[] = {
	{"number", VEER_F_USE, NULL},
	{"name", VEER_F_USE, NULL},
	{"protocol", VEER_F_USE, NULL},
	{"targetPort", VEER_F_USE, NULL},
};

/* After number and name: targetPort, protocol. */
static int parse_se_port(struct veer_istio *ist, const struct meta *m,
			 const ynode *n, struct port *p)
{
	const ynode *proto, *target;
	char qb[VEER_YQUOTE_BUF];

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
		istio_skip_port(ist, m, proto, "UDP", p);
		return 0;
	}
	p->l7 = istio_l7_of_name(proto->text, proto->len);
	if (p->l7 == L7_AUTO)
		return veer_yfail(
			&ist->rd, proto,
			"protocol \"%s\" unknown (HTTP, HTTPS, HTTP2, "
			"GRPC, TCP, TLS, MONGO, MYSQL, REDIS, UDP)",
			veer_yquote(proto, qb, sizeof(qb)));
	return 0;
}

static const struct istio_port_spec port_spec = {
	.shape = {"port", "a ServiceEntry port", ISTIO_FIELDS(port_fields)},
	.number_key = "number",
	.number_what = "port number",
	.missing = "port number is required",
	.rest = parse_se_port,
};

static const struct veer_field_spec se_fields[] = {
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

static const struct veer_field_spec selector_fields[] = {
	{"labels", VEER_F_USE, NULL},
};

static const struct istio_shape selector_shape = {
	"workloadSelector", "workloadSelector", ISTIO_FIELDS(selector_fields)};

static int parse_se(struct veer_istio *ist, struct meta *m, const ynode *spec)
{
	struct se *se = (struct se *)m;
	const ynode *addrs, *ports, *res, *eps, *sel;
	char d[VEER_YDESCRIBE_BUF];
	size_t i, tcp;

	if (istio_hosts(ist, m, spec, false, &se->hosts) < 0)
		return -1;

	addrs = veer_yfield(spec, "addresses");
	if (!addrs || (addrs->type == VEER_YNODE_SEQ && addrs->len == 0))
		return veer_yfail(
			&ist->rd, addrs ? addrs : spec,
			"%s: spec.addresses is required (veer needs the "
			"VIP)",
			m->id);
	se->fe.vips = istio_list(ist, addrs, "addresses", sizeof(*se->fe.vips));
	if (!se->fe.vips)
		return -1;
	se->fe.nvip = addrs->len;
	for (i = 0; i < addrs->len; i++)
		if (istio_get_ip(ist, addrs->items[i], "address",
				 &se->fe.vips[i]) < 0)
			return -1;
	/* The same address twice: veer_model_validate names both entries. */
	/*
	 * veer tells services apart by VIP:port only; Istio can share an
	 * address between hosts because its proxy also reads Host/SNI.
	 */
	if (se->hosts.n > 1)
		return veer_yfail(
			&ist->rd, se->hosts.nodes[1],
			"%s: %zu hosts share its addresses; veer tells "
			"services apart by VIP and port, so give each "
			"host its own ServiceEntry and address",
			m->id, se->hosts.n);

	ports = veer_yfield(spec, "ports");
	if (!ports || (ports->type == VEER_YNODE_SEQ && ports->len == 0))
		return veer_yfail(&ist->rd, ports ? ports : spec,
				  "%s: spec.ports is required", m->id);
	if (istio_ports(ist, m, ports, &port_spec, &se->fe, &tcp) < 0)
		return -1;

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
		se->eps = istio_list(ist, eps, "endpoints", sizeof(*se->eps));
		if (!se->eps)
			return -1;
		se->nep = eps->len;
		for (i = 0; i < eps->len; i++)
			if (istio_map(ist, eps->items[i], &endpoint_shape) <
				    0 ||
			    parse_wl(ist, eps->items[i], "endpoint",
				     &se->eps[i]) < 0)
				return -1;
	}
	if (sel) {
		if (istio_map(ist, sel, &selector_shape) < 0 ||
		    istio_get_labels(ist, veer_ynode_get(sel, "labels"),
				     "workloadSelector.labels",
				     &se->selector) < 0)
			return -1;
		se->has_selector = true;
	}
	return 0;
}

static int parse_we(struct veer_istio *ist, struct meta *m, const ynode *spec)
{
	return parse_wl(ist, spec, "WorkloadEntry spec", &((struct we *)m)->wl);
}

const struct istio_kind istio_kind_se = {
	.name = "ServiceEntry",
	.size = sizeof(struct se),
	.spec_required = true,
	.spec = {"spec", "a ServiceEntry spec", ISTIO_FIELDS(se_fields)},
	.parse = parse_se,
};

const struct istio_kind istio_kind_we = {
	.name = "WorkloadEntry",
	.size = sizeof(struct we),
	.spec_required = true,
	.spec = {"spec", "WorkloadEntry spec", ISTIO_FIELDS(wl_fields)},
	.parse = parse_we,
};

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Kubernetes Service and Pod: a host defined by its cluster IPs and ports,
 * with the Pods its selector picks as endpoints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

/*
 * Only what veer uses is checked: Kubernetes objects come from the API
 * server (`kubectl get -o yaml`) with many more fields, valid by
 * construction, that later Kubernetes versions keep adding.
 */
static int parse_svc_port(struct veer_istio *ist, const struct meta *m,
			  const ynode *n, struct port *p)
{
	const ynode *target, *proto, *app;
	char qb[VEER_YQUOTE_BUF];

	app = veer_yfield(n, "appProtocol");
	if (app) {
		if (veer_yget_text(&ist->rd, app, "appProtocol") < 0)
			return -1;
		p->l7 = istio_l7_of_name(app->text, app->len);
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
			istio_skip_port(ist, m, proto, proto->text, p);
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

/* After number and name: appProtocol, targetPort, protocol. */
static const struct istio_port_spec port_spec = {
	.shape = {"port", NULL, NULL, 0},
	.number_key = "port",
	.number_what = "port",
	.missing = "ports[].port is required",
	.rest = parse_svc_port,
};

static int parse_svc(struct veer_istio *ist, struct meta *m, const ynode *spec)
{
	struct svc *s = (struct svc *)m;
	const ynode *type, *ip, *ips, *ports, *aff;
	char qb[VEER_YQUOTE_BUF];
	size_t i, tcp_ports = 0;

	/* The Service's name is its DNS label: NAME.NAMESPACE.svc... */
	if (!istio_dns_label_ok(s->m.name))
		return veer_yfail(
			&ist->rd, s->m.name_node,
			"%s: a Service name must be a DNS label (a-z, "
			"0-9, '-')",
			s->m.id);
	if (istio_resolve_host(ist, s->m.name_node, s->m.ns, false, s->host) <
	    0)
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
		s->fe.nvip = ips->len;
		s->fe.vips = istio_zalloc(ist, ips->len, sizeof(*s->fe.vips));
		if (!s->fe.vips)
			return istio_oom(ist);
		for (i = 0; i < ips->len; i++) {
			if (istio_get_ip(ist, ips->items[i], "clusterIPs",
					 &s->fe.vips[i]) < 0)
				return -1;
			/* Kubernetes: one per family, so at most two. */
			if (i == 2 || (i == 1 && s->fe.vips[0].family ==
							 s->fe.vips[1].family))
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
		s->fe.nvip = 1;
		s->fe.vips = istio_zalloc(ist, 1, sizeof(*s->fe.vips));
		if (!s->fe.vips)
			return istio_oom(ist);
		if (istio_get_ip(ist, ip, "clusterIP", &s->fe.vips[0]) < 0)
			return -1;
	}
	ports = veer_yfield(spec, "ports");
	if (ports &&
	    istio_ports(ist, m, ports, &port_spec, &s->fe, &tcp_ports) < 0)
		return -1;
	if (istio_get_labels(ist, veer_ynode_get(spec, "selector"), "selector",
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
	char qb[VEER_YQUOTE_BUF], line[MSG_MAX], *why;
	size_t n;

	/* Its own length: a cluster can hold many finished (Job) Pods. */
	snprintf(line, sizeof(line), "is not Running (phase %s)",
		 veer_yquote(phase, qb, sizeof(qb)));
	n = strlen(line) + 1;
	why = istio_zalloc(ist, 1, n);
	if (!why)
		return oom_reason;
	memcpy(why, line, n);
	return why;
}

static int parse_pod(struct veer_istio *ist, struct meta *m, const ynode *spec)
{
	struct pod *p = (struct pod *)m;
	const ynode *metadata = veer_yfield(p->m.node, "metadata");
	const ynode *status = veer_yfield(p->m.node, "status");
	const ynode *phase = NULL, *ips = NULL, *ip = NULL, *ready;
	size_t i;

	if (istio_get_labels(ist, veer_ynode_get(metadata, "labels"),
			     "metadata.labels", &p->labels) < 0)
		return -1;
	p->spec = spec;
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
		p->ips = istio_zalloc(ist, ips->len, sizeof(*p->ips));
		if (!p->ips)
			return istio_oom(ist);
		for (i = 0; i < ips->len; i++) {
			const ynode *one = ips->items[i], *v;

			if (veer_ywant(&ist->rd, one, VEER_YNODE_MAP,
				       "status.podIPs[]") < 0)
				return -1;
			v = veer_yfield(one, "ip");
			if (!v)
				return veer_yfail(&ist->rd, one,
						  "podIPs[].ip is required");
			if (istio_get_ip(ist, v, "podIPs[].ip", &p->ips[i]) < 0)
				return -1;
		}
	} else if (ip && !(ip->type == VEER_YNODE_SCALAR && ip->len == 0)) {
		p->nip = 1;
		p->ips = istio_zalloc(ist, 1, sizeof(*p->ips));
		if (!p->ips)
			return istio_oom(ist);
		if (istio_get_ip(ist, ip, "status.podIP", &p->ips[0]) < 0)
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
		return istio_oom(ist);
	return 0;
}

int istio_pod_named_port(struct veer_istio *ist, const struct pod *p,
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

/*
 * Only what veer uses is checked: the spec's fields are not (see
 * parse_svc_port), and a Pod needs none.
 */
const struct istio_kind istio_kind_svc = {
	.name = "Service",
	.size = sizeof(struct svc),
	.spec_required = true,
	.spec = {"spec", NULL, NULL, 0},
	.parse = parse_svc,
};

const struct istio_kind istio_kind_pod = {
	.name = "Pod",
	.size = sizeof(struct pod),
	.parse = parse_pod,
};

/*
 * The fields parse_svc, parse_svc_port, parse_pod and istio_pod_named_port
 * read, and metadata.labels (for people reading `veer get`): a field read
 * there must be kept here, or objects from dumps lose it.
 */
#define KEEP(name)                                                             \
	{                                                                      \
		.key = name                                                    \
	}
#define KEEP_IN(name, fields)                                                  \
	{                                                                      \
		.key = name, .inner = fields                                   \
	}
#define KEEP_END                                                               \
	{                                                                      \
		.key = NULL                                                    \
	}

static const struct veer_ykeep meta_kept[] = {
	KEEP("name"),	KEEP("namespace"),
	KEEP("labels"), KEEP("deletionTimestamp"),
	KEEP_END,
};
static const struct veer_ykeep svc_port_kept[] = {
	KEEP("name"),	  KEEP("port"),	       KEEP("targetPort"),
	KEEP("protocol"), KEEP("appProtocol"), KEEP_END,
};
static const struct veer_ykeep svc_spec_kept[] = {
	KEEP("type"),	    KEEP("clusterIP"),
	KEEP("clusterIPs"), KEEP_IN("ports", svc_port_kept),
	KEEP("selector"),   KEEP("sessionAffinity"),
	KEEP_END,
};
static const struct veer_ykeep svc_kept[] = {
	KEEP("apiVersion"),
	KEEP("kind"),
	KEEP_IN("metadata", meta_kept),
	KEEP_IN("spec", svc_spec_kept),
	KEEP_END,
};
static const struct veer_ykeep container_port_kept[] = {
	KEEP("name"),
	KEEP("containerPort"),
	KEEP("protocol"),
	KEEP_END,
};
static const struct veer_ykeep container_kept[] = {
	KEEP("name"),
	KEEP_IN("ports", container_port_kept),
	KEEP_END,
};
static const struct veer_ykeep pod_spec_kept[] = {
	KEEP_IN("containers", container_kept),
	KEEP_END,
};
static const struct veer_ykeep condition_kept[] = {
	KEEP("type"),
	KEEP("status"),
	KEEP_END,
};
static const struct veer_ykeep pod_status_kept[] = {
	KEEP("phase"),
	KEEP("podIP"),
	KEEP("podIPs"),
	/* ready_condition() reads the first Ready one. */
	{.key = "conditions",
	 .inner = condition_kept,
	 .where_key = "type",
	 .where_value = "Ready"},
	KEEP_END,
};
static const struct veer_ykeep pod_kept[] = {
	KEEP("apiVersion"),
	KEEP("kind"),
	KEEP_IN("metadata", meta_kept),
	KEEP_IN("spec", pod_spec_kept),
	KEEP_IN("status", pod_status_kept),
	KEEP_END,
};

const struct veer_ykeep *veer_istio_kept_fields(const ynode *obj)
{
	const ynode *kind = veer_ynode_get(obj, "kind");

	if (!veer_ynode_is(veer_ynode_get(obj, "apiVersion"), "v1"))
		return NULL;
	if (veer_ynode_is(kind, istio_kind_svc.name))
		return svc_kept;
	if (veer_ynode_is(kind, istio_kind_pod.name))
		return pod_kept;
	return NULL;
}

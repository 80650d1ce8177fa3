// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * DestinationRule: the subsets of a host (named label selections of its
 * endpoints) and the one load-balancing choice veer can honour, hashing
 * on the client's address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "istio_int.h"

static const struct veer_field_spec tp_fields[] = {
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
	{"localityLbSetting", VEER_F_PROXY, "trafficPolicy.loadBalancer."},
	{"warmupDurationSecs", VEER_F_PROXY, "trafficPolicy.loadBalancer."},
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

static const struct istio_shape tp_shape = {"trafficPolicy", "trafficPolicy",
					    ISTIO_FIELDS(tp_fields)};
static const struct istio_shape lb_shape = {"loadBalancer", "loadBalancer",
					    ISTIO_FIELDS(lb_fields)};
static const struct istio_shape hash_shape = {
	"consistentHash", "consistentHash", ISTIO_FIELDS(hash_fields)};

static int parse_traffic_policy(struct veer_istio *ist, struct dr *dr,
				const ynode *tp)
{
	const ynode *lb, *hash, *src;

	if (istio_map(ist, tp, &tp_shape) < 0)
		return -1;
	lb = veer_yfield(tp, "loadBalancer");
	if (!lb)
		return 0;
	if (istio_map(ist, lb, &lb_shape) < 0)
		return -1;
	hash = veer_yfield(lb, "consistentHash");
	if (!hash)
		return 0;
	if (istio_map(ist, hash, &hash_shape) < 0)
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

static const struct veer_field_spec subset_fields[] = {
	{"name", VEER_F_USE, NULL},
	{"labels", VEER_F_USE, NULL},
	{"trafficPolicy", VEER_F_PROXY, "subsets[]."},
};

static const struct istio_shape subset_shape = {"subset", "a subset",
						ISTIO_FIELDS(subset_fields)};

/* Subset i of dr; the ones before it are read. */
static int parse_subset(struct veer_istio *ist, struct dr *dr, const ynode *s,
			size_t i)
{
	struct subset *sub = &dr->subs[i];
	const ynode *name;
	size_t j, k;

	if (istio_map(ist, s, &subset_shape) < 0)
		return -1;
	sub->node = s;
	name = veer_yfield(s, "name");
	if (!name)
		return veer_yfail(&ist->rd, s, "%s: subset name is required",
				  dr->m.id);
	if (veer_yget_name(&ist->rd, name, "subset name", sub->name,
			   sizeof(sub->name)) < 0)
		return -1;
	for (k = 0; k < name->len; k++)
		if (!subset_char_ok(name->text[k]))
			return veer_yfail(&ist->rd, name,
					  "subset name: only letters, digits, "
					  "'.', '-' and '_' allowed");
	for (j = 0; j < i; j++)
		if (!strcmp(dr->subs[j].name, sub->name))
			return veer_yfail(&ist->rd, name,
					  "%s: subset %s defined twice",
					  dr->m.id, sub->name);
	return istio_get_labels(ist, veer_ynode_get(s, "labels"), "labels",
				&sub->labels);
}

static int parse_dr(struct veer_istio *ist, struct meta *m, const ynode *spec)
{
	struct dr *dr = (struct dr *)m;
	const ynode *host, *subs, *tp;
	size_t i;

	host = veer_yfield(spec, "host");
	if (!host)
		return veer_yfail(&ist->rd, spec, "%s: spec.host is required",
				  m->id);
	dr->host_node = host;
	if (istio_resolve_host(ist, host, m->ns, false, dr->host) < 0)
		return -1;
	subs = veer_yfield(spec, "subsets");
	if (subs) {
		if (subs->type == VEER_YNODE_SEQ &&
		    subs->len > VEER_MAX_SUBSETS)
			return veer_yfail(&ist->rd,
					  subs->items[VEER_MAX_SUBSETS],
					  "%s: %zu subsets, at most %d", m->id,
					  subs->len, VEER_MAX_SUBSETS);
		dr->subs = istio_list(ist, subs, "subsets", sizeof(*dr->subs));
		if (!dr->subs)
			return -1;
		dr->nsub = subs->len;
		for (i = 0; i < subs->len; i++)
			if (parse_subset(ist, dr, subs->items[i], i) < 0)
				return -1;
	}
	tp = veer_yfield(spec, "trafficPolicy");
	if (tp && parse_traffic_policy(ist, dr, tp) < 0)
		return -1;
	return 0;
}

static const struct veer_field_spec dr_fields[] = {
	{"host", VEER_F_USE, NULL},
	{"subsets", VEER_F_USE, NULL},
	{"trafficPolicy", VEER_F_USE, NULL},
	{"exportTo", VEER_F_SILENT, NULL},
	{"workloadSelector", VEER_F_PROXY, NULL},
};

const struct istio_kind istio_kind_dr = {
	.name = "DestinationRule",
	.size = sizeof(struct dr),
	.spec_required = true,
	.spec = {"spec", "a DestinationRule spec", ISTIO_FIELDS(dr_fields)},
	.parse = parse_dr,
};

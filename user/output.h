/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Human (table) and machine (JSON) views of the model and its counters. */
#ifndef VEER_OUTPUT_H
#define VEER_OUTPUT_H

#include <stdio.h>
#include "model.h"

enum veer_format {
	VEER_FORMAT_TABLE,
	VEER_FORMAT_JSON,
	VEER_FORMAT_YAML,
	VEER_FORMAT_PROMETHEUS, /* stats only: metrics.h's exposition */
};

void veer_print_services(FILE *out, const struct veer_model *model,
			 enum veer_format format);

/*
 * The model as YAML that `veer apply` accepts back and that yields the
 * same maps: native `services:` for entries without a host, and per host
 * a ServiceEntry (endpoints labelled by subset), a DestinationRule and a
 * VirtualService. 0, or -1 with err when the maps hold something Istio
 * YAML cannot say (e.g. IPv4 and IPv6 entries of one port weighted
 * differently); nothing is printed then.
 */
int veer_print_yaml(FILE *out, const struct veer_model *model, char *err,
		    size_t errlen);

/*
 * The same, for the object store to adopt maps an older veer filled: each
 * object carries metadata.annotations[VEER_ADOPTED_ANNOTATION], the host
 * it was made from, so that the user's own objects for that host replace
 * it (veer_load_config).
 */
#define VEER_ADOPTED_ANNOTATION "veer.dev/adopted-from-maps"
int veer_print_yaml_adopted(FILE *out, const struct veer_model *model,
			    char *err, size_t errlen);

/*
 * rows[i] holds model->services[i]'s counters, http[i] its HTTP routing
 * counters (http may be NULL: none shown), health[i] its health signals
 * (NULL: none shown). The table view adds a table of HTTP routing when
 * some service has rules, and one of health signals.
 */
void veer_print_stats(
	FILE *out, const struct veer_model *model,
	const struct veer_stats (*rows)[VEER_STATS_ROWS_PER_SVC],
	const struct veer_http_stats *http,
	const struct veer_health (*health)[VEER_STATS_ROWS_PER_SVC],
	enum veer_format format);

/*
 * A rule in a few words, from its first condition: "header user-agent
 * exact debug", "uri prefix /api (+1 more)" (values cut at 24 bytes).
 */
#define VEER_RULE_DESC_LEN (VEER_MATCH_NAME_MAX + 64)
void veer_rule_describe(const struct veer_rule *rule, char *buf, size_t len);

/* A JSON string literal, quotes included. */
void veer_json_string(FILE *out, const char *text);

/*
 * The change from old (NULL: none) to new of one service, as `veer apply`
 * prints it, or "unchanged". For people only: whether a service is written
 * is veer_service_same's decision.
 */
void veer_service_describe_change(const struct veer_service_model *old,
				  const struct veer_service_model *new,
				  char *buf, size_t len);

#endif /* VEER_OUTPUT_H */

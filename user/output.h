/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Human (table) and machine (JSON) views of the model and its counters. */
#ifndef VEER_OUTPUT_H
#define VEER_OUTPUT_H

#include <stdio.h>
#include "model.h"

enum veer_format {
	VEER_FORMAT_TABLE,
	VEER_FORMAT_JSON,
};

/* "table" or "json"; -1 for anything else. */
int veer_format_parse(const char *text, enum veer_format *format);

void veer_print_services(FILE *out, const struct veer_model *model,
			 enum veer_format format);

/* rows[i] holds model->services[i]'s counters. */
void veer_print_stats(FILE *out, const struct veer_model *model,
		      const struct veer_stats (*rows)[VEER_STATS_ROWS_PER_SVC],
		      enum veer_format format);

/* A JSON string literal, quotes included. */
void veer_json_string(FILE *out, const char *text);

#endif /* VEER_OUTPUT_H */

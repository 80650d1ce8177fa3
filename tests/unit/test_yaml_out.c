// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `veer get -o yaml` round trip: every example scenario, loaded, written
 * back as YAML and loaded again, must give the same model (which is what
 * makes `veer apply` of that output say "no changes").
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "load.h"
#include "output.h"
#include "unit.h"

/* Everything apply compares, one line per fact, in name order. */
static char *dump(const struct veer_model *m)
{
	char *text = NULL, ep[VEER_ENDPOINT_STRLEN];
	size_t len = 0, i, order[256], n = m->count < 256 ? m->count : 256;
	FILE *f = open_memstream(&text, &len);
	unsigned int s, b, r, k, c;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = 1; i < n; i++) /* insertion sort by name */
		for (k = (unsigned int)i;
		     k > 0 && strcmp(m->services[order[k - 1]].name,
				     m->services[order[k]].name) > 0;
		     k--) {
			size_t t = order[k];

			order[k] = order[k - 1];
			order[k - 1] = t;
		}
	for (i = 0; i < n; i++) {
		const struct veer_service_model *svc = &m->services[order[i]];

		veer_endpoint_format(&svc->key.vip, svc->key.family,
				     svc->key.port, ep, sizeof(ep));
		fprintf(f, "%s host=%s vip=%s flags=%u\n", svc->name, svc->host,
			ep, svc->flags);
		for (s = 0; s < svc->subset_count; s++) {
			fprintf(f, "  %s %u:", svc->subsets[s].name,
				svc->subsets[s].weight);
			for (b = 0; b < svc->subsets[s].backend_count; b++) {
				const struct veer_backend *be =
					&svc->subsets[s].backends[b];

				veer_endpoint_format(&be->addr, be->family,
						     be->port, ep, sizeof(ep));
				fprintf(f, " %s", ep);
			}
			fputc('\n', f);
		}
		for (r = 0; r < svc->rule_count; r++) {
			const struct veer_rule *rule = &svc->rules[r];

			fprintf(f, "  rule %u weights", r);
			for (s = 0; s < svc->subset_count; s++)
				fprintf(f, " %u", rule->weights[s]);
			for (k = 0; k < rule->match_count; k++)
				for (c = 0;
				     c < rule->matches[k].condition_count;
				     c++) {
					const struct veer_condition *cd =
						&rule->matches[k].conditions[c];

					fprintf(f, " [%u:%u %s=%s]", k, cd->op,
						cd->field == VEER_COND_URI
							? "uri"
							: cd->name,
						cd->value);
				}
			fputc('\n', f);
		}
	}
	fclose(f);
	return text;
}

static const char *const scenario_files[] = {
	"examples/web.yaml",
	"examples/customers/service.yaml",
	"examples/customers/destinationrule.yaml",
	"examples/customers/vs-debug.yaml",
	"examples/purchase-history/serviceentry.yaml",
	"examples/purchase-history/purchase-history-dr.yaml",
	"examples/purchase-history/purchase-history-vs-20-v2.yaml",
	"examples/tcp-echo/services.yaml",
	"examples/tcp-echo/destinationrule.yaml",
	"examples/tcp-echo/tcp-echo-20-v2.yaml",
	"examples/product",
};

static void test_round_trip(void)
{
	struct veer_model first, second;
	char err[512] = "", *text = NULL, *a, *b;
	size_t len = 0, i;
	const char *name = "rt.yaml";
	FILE *f;

	veer_model_init(&first);
	veer_model_init(&second);
	/* The unit tests run from the repository root (make test). */
	CU_ASSERT_EQUAL_FATAL(
		veer_load_paths(scenario_files, ARRAY_SIZE(scenario_files),
				NULL, &first, NULL, NULL, err, sizeof(err)),
		0);
	if (err[0])
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_TRUE(first.count >= 6);
	/* A `veer weight` on every entry of one host. */
	for (i = 0; i < first.count; i++)
		if (!strcmp(first.services[i].host,
			    "customers.default.svc.cluster.local")) {
			first.services[i].subsets[0].weight = 70;
			first.services[i].subsets[1].weight = 30;
		}

	f = open_memstream(&text, &len);
	CU_ASSERT_EQUAL_FATAL(veer_print_yaml(f, &first, err, sizeof(err)), 0);
	fclose(f);
	CU_ASSERT_EQUAL_FATAL(veer_load_buffers(&name, (const char **)&text,
						&len, 1, NULL, &second, NULL,
						NULL, err, sizeof(err)),
			      0);
	a = dump(&first);
	b = dump(&second);
	CU_ASSERT_STRING_EQUAL(a, b);
	if (strcmp(a, b))
		fprintf(stderr, "--- loaded\n%s--- round trip\n%s--- yaml\n%s",
			a, b, text);
	/* The rule and the dual-stack naming made it through. */
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "[0:1 user-agent=debug]"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(b, "customers.default.svc.cluster.local:80/ipv6 host="));
	free(a);
	free(b);
	free(text);
	veer_model_free(&first);
	veer_model_free(&second);
}

/* What Istio YAML cannot say is refused, not printed wrong. */
static void test_refuses_what_istio_cannot_say(void)
{
	struct veer_model m;
	char err[512] = "", *text = NULL;
	size_t len = 0, i;
	const char *files[] = {"examples/customers/service.yaml",
			       "examples/customers/destinationrule.yaml",
			       "examples/customers/vs-all-v1.yaml"};
	FILE *f;

	veer_model_init(&m);
	CU_ASSERT_EQUAL_FATAL(veer_load_paths(files, 3, NULL, &m, NULL, NULL,
					      err, sizeof(err)),
			      0);
	/* IPv6 entry of port 80 weighted unlike its IPv4 twin. */
	for (i = 0; i < m.count; i++)
		if (strstr(m.services[i].name, "/ipv6")) {
			m.services[i].subsets[0].weight = 50;
			m.services[i].subsets[1].weight = 50;
		}
	f = open_memstream(&text, &len);
	CU_ASSERT_NOT_EQUAL(veer_print_yaml(f, &m, err, sizeof(err)), 0);
	fclose(f);
	CU_ASSERT_EQUAL(len, 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "different weights or rules"));
	free(text);
	veer_model_free(&m);
}

int unit_yaml_out_suite(void)
{
	static const struct unit_test tests[] = {
		{"examples round-trip through get -o yaml", test_round_trip},
		{"refuses what Istio YAML cannot say",
		 test_refuses_what_istio_cannot_say},
	};

	return unit_add_suite("yaml output", NULL, NULL, tests,
			      ARRAY_SIZE(tests));
}

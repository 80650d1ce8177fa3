// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/istio_resolve.c: which Pods a Service selects and which
 * WorkloadEntries a ServiceEntry selects (through the label index), in
 * which order, with which notes. Objects go straight through
 * veer_ytree_parse, veer_istio_add_tree and veer_istio_build; the model is
 * compared as text (entries, subsets, backends in map order) and so are
 * the notes, all of them in order: a change of matching, of the order of
 * endpoints or of the notes fails here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "istio.h"
#include "model.h"
#include "unit.h"
#include "yaml_tree.h"

#define ERR_LEN 1024

struct out {
	char *text;
	size_t len;
	FILE *f;
};

static void note_to(void *ctx, const char *note)
{
	fprintf(((struct out *)ctx)->f, "note: %s\n", note);
}

static void dump_model(FILE *f, const struct veer_model *m)
{
	char buf[64];
	size_t i, s, b;

	for (i = 0; i < m->count; i++) {
		const struct veer_service_model *svc = &m->services[i];

		fprintf(f, "%s %s\n", svc->name,
			veer_endpoint_format(&svc->key.vip, svc->key.family,
					     svc->key.port, buf, sizeof(buf)));
		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_subset_model *sub = &svc->subsets[s];

			fprintf(f, "  %s=%u:", sub->name, sub->weight);
			for (b = 0; b < sub->backend_count; b++)
				fprintf(f, " %s",
					veer_endpoint_format(
						&sub->backends[b].addr,
						sub->backends[b].family,
						sub->backends[b].port, buf,
						sizeof(buf)));
			fprintf(f, "\n");
		}
	}
}

/* Builds yaml alone; the model and then every note, as text. */
static void expect_build(const char *label, const char *yaml, const char *want)
{
	struct veer_ytree tree = {0};
	struct veer_istio *ist = veer_istio_new(NULL);
	struct veer_model m;
	char err[ERR_LEN] = "";
	struct out o = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(ist);
	veer_model_init(&m);
	o.f = open_memstream(&o.text, &o.len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o.f);
	UNIT_CHECK(veer_ytree_parse(&tree, "t.yaml", yaml, strlen(yaml), err,
				    sizeof(err)) == 0,
		   "%s: %s", label, err);
	UNIT_CHECK(veer_istio_add_tree(ist, &tree, NULL, err, sizeof(err)) == 0,
		   "%s: %s", label, err);
	UNIT_CHECK(veer_istio_build(ist, &m, err, sizeof(err)) == 0, "%s: %s",
		   label, err);
	dump_model(o.f, &m);
	veer_istio_notes(ist, note_to, &o);
	CU_ASSERT_FATAL(fclose(o.f) == 0);
	UNIT_CHECK(!strcmp(o.text, want), "%s: got\n%s\nwant\n%s", label,
		   o.text, want);
	free(o.text);
	veer_model_free(&m);
	veer_istio_free(ist);
	veer_ytree_free(&tree);
}

#define POD(ns, name, labels, ip)                                              \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name               \
	", namespace: " ns labels "}\nstatus: {phase: Running, podIP: " ip     \
	"}\n"
#define POD_PENDING(ns, name, labels, ip)                                      \
	"---\napiVersion: v1\nkind: Pod\nmetadata: {name: " name               \
	", namespace: " ns labels "}\nstatus: {phase: Pending, podIP: " ip     \
	"}\n"
#define SVC(ns, name, vip, selector)                                           \
	"---\napiVersion: v1\nkind: Service\nmetadata: {name: " name           \
	", namespace: " ns "}\nspec:\n  clusterIP: " vip                       \
	"\n  ports: [{port: 80, targetPort: 8080}]\n" selector

/*
 * Two namespaces with the same labels; a selector of two pairs whose
 * rarer pair (version: v1 in a) is also on a Pod it does not select; Pods
 * listed out of name and address order, with labels in any order, one
 * without labels, two not Running (noted in Pod order); Services without
 * selector or with an empty one (skipped, as always).
 */
static void test_service_selects_pods(void)
{
	static const char yaml[] = SVC(
		"a", "web", "10.96.0.1",
		"  selector: {app: web, version: v1}\n") SVC("a", "api",
							     "10.96.0.2",
							     "  selector: "
							     "{app: api}\n")
		SVC("b", "api", "10.96.0.3", "  selector: {app: api}\n") SVC(
			"a", "nosel", "10.96.0.4",
			"") SVC("a", "emptysel", "10.96.0.5",
				"  selector: {}\n") SVC("b", "web", "10.96.0.6",
							"  selector: {version: "
							"v1, app: web}\n")
			POD("a", "web-3", ", labels: {app: web, version: v1}",
			    "10.0.0.3") POD("b", "api-b-1",
					    ", labels: {app: api}",
					    "10.0.1.1") POD_PENDING("a",
								    "web-9",
								    ", labels: "
								    "{app: "
								    "web, "
								    "version: "
								    "v1}",
								    "10.0.0.9")
				POD("a", "web-1",
				    ", labels: {version: v1, app: web}",
				    "10.0.0.1") POD("a", "nolabels", "",
						    "10.0.0.50") POD("a",
								     "web-2",
								     ", "
								     "labels: "
								     "{app: "
								     "web, "
								     "version: "
								     "v2}",
								     "10.0.0.2")
					POD("a", "api-a-1",
					    ", labels: {app: api, version: v1}",
					    "10.0.2.1") POD("a", "web-4",
							    ", labels: {tier: "
							    "x, version: v1, "
							    "app: web}",
							    "10.0.0.4") POD("b",
									    "we"
									    "b-"
									    "5",
									    ", "
									    "la"
									    "be"
									    "ls"
									    ": "
									    "{a"
									    "pp"
									    ": "
									    "we"
									    "b,"
									    " v"
									    "er"
									    "si"
									    "on"
									    ": "
									    "v1"
									    "}",
									    "10"
									    ".0"
									    ".1"
									    "."
									    "5")
						POD_PENDING(
							"a", "api-a-2",
							", labels: {app: api}",
							"10.0.2.2") POD("a",
									"web-0",
									", "
									"labels"
									": "
									"{app: "
									"web, "
									"versio"
									"n: "
									"v1}",
									"10.0."
									"0.10")
							POD("b", "api-b-0",
							    ", labels: {app: "
							    "api, version: v2}",
							    "10.0.1.10")
								POD_PENDING(
									"a",
									"web-8",
									", "
									"labels"
									": "
									"{app: "
									"web, "
									"versio"
									"n: "
									"v1}",
									"10.0."
									"0.8")
									POD("a",
									    "we"
									    "b-"
									    "v"
									    "2",
									    ", "
									    "la"
									    "be"
									    "ls"
									    ": "
									    "{a"
									    "pp"
									    ": "
									    "we"
									    "b"
									    "}",
									    "10"
									    ".0"
									    ".0"
									    ".2"
									    "0");

	expect_build(
		"Service selects Pods", yaml,
		"web.a.svc.cluster.local 10.96.0.1:80\n"
		"  all=100: 10.0.0.3:8080 10.0.0.1:8080 10.0.0.4:8080 "
		"10.0.0.10:8080\n"
		"api.a.svc.cluster.local 10.96.0.2:80\n"
		"  all=100: 10.0.2.1:8080\n"
		"api.b.svc.cluster.local 10.96.0.3:80\n"
		"  all=100: 10.0.1.1:8080 10.0.1.10:8080\n"
		"web.b.svc.cluster.local 10.96.0.6:80\n"
		"  all=100: 10.0.1.5:8080\n"
		"note: t.yaml:61:18: Service a/web: Pod a/web-9 is not Running "
		"(phase "
		"Pending), not an endpoint\n"
		"note: t.yaml:111:18: Service a/web: Pod a/web-8 is not "
		"Running (phase "
		"Pending), not an endpoint\n"
		"note: t.yaml:96:18: Service a/api: Pod a/api-a-2 is not "
		"Running (phase "
		"Pending), not an endpoint\n"
		"note: t.yaml:30:3: Service a/nosel has no selector (veer "
		"finds "
		"endpoints through the selector's Pods, not Endpoints "
		"objects); "
		"skipped\n"
		"note: t.yaml:37:3: Service a/emptysel has no selector (veer "
		"finds endpoints through the selector's Pods, not Endpoints "
		"objects); skipped\n");
}

/* Named target ports are looked up per selected Pod, in Pod order. */
static void test_service_named_port_notes(void)
{
	static const char yaml[] =
		"apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: "
		"n}\nspec:\n  clusterIP: 10.96.1.1\n  selector: {app: s}\n"
		"  ports: [{port: 80, targetPort: http}]\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: p2, "
		"namespace: "
		"n, labels: {app: s}}\nspec: {containers: [{name: c}]}\n"
		"status: {phase: Running, podIP: 10.1.0.2}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: p1, "
		"namespace: "
		"n, labels: {app: s}}\nspec: {containers: [{name: c, ports: "
		"[{name: http, containerPort: 9000}]}]}\n"
		"status: {phase: Running, podIP: 10.1.0.1}\n"
		"---\napiVersion: v1\nkind: Pod\nmetadata: {name: p3, "
		"namespace: "
		"n, labels: {app: s}}\nspec: {containers: [{name: c}]}\n"
		"status: {phase: Running, podIP: 10.1.0.3}\n";

	expect_build(
		"named targetPort", yaml,
		"s.n.svc.cluster.local 10.96.1.1:80\n"
		"  all=100: 10.1.0.1:9000\n"
		"note: t.yaml:11:18: Service n/s: Pod n/p2 has no container "
		"port named \"http\", not an endpoint of port 80\n"
		"note: t.yaml:23:18: Service n/s: Pod n/p3 has no "
		"container port named \"http\", not an endpoint of port "
		"80\n");
}

#define WE(ns, name, labels, ip)                                               \
	"---\napiVersion: networking.istio.io/v1\nkind: WorkloadEntry\n"       \
	"metadata: {name: " name ", namespace: " ns                            \
	"}\nspec: {address: " ip labels "}\n"
#define SE(ns, name, vip, selector)                                            \
	"---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"        \
	"metadata: {name: " name ", namespace: " ns "}\nspec:\n"               \
	"  hosts: [" name "." ns ".example]\n  addresses: [" vip "]\n"         \
	"  ports: [{number: 80, name: tcp, protocol: TCP, targetPort: "        \
	"7000}]\n  resolution: STATIC\n" selector

/*
 * workloadSelector with two pairs, with one, and without labels (every
 * WorkloadEntry of the namespace, as the code has always done); the same
 * labels in another namespace; entries out of order, one without labels.
 */
static void test_service_entry_selects_workload_entries(void)
{
	static const char yaml[] = SE(
		"a", "db", "10.97.0.1",
		"  workloadSelector: {labels: {app: db, tier: x}}\n")
		SE("a", "any", "10.97.0.2", "  workloadSelector: {}\n") SE(
			"b", "db", "10.97.0.3",
			"  workloadSelector: {labels: {app: db}}\n")
			SE("a", "none", "10.97.0.4",
			   "  workloadSelector: {labels: {app: "
			   "nothing}}\n") WE("a", "w3",
					     ", labels: {tier: x, app: "
					     "db}",
					     "10.2.0.3")
				WE("b", "wb2", ", labels: {app: db, tier: x}",
				   "10.2.1.2") WE("a", "w1",
						  ", labels: {app: db, tier: "
						  "x, zone: z}",
						  "10.2.0.1") WE("a",
								 "wnolabels",
								 "",
								 "10.2.0.50")
					WE("a", "w2", ", labels: {app: db}",
					   "10.2.0.2") WE("a", "w4",
							  ", labels: {tier: x}",
							  "10.2.0.4")
						WE("b", "wb1",
						   ", labels: {app: db}",
						   "10.2.1.1")
							WE("a", "w0",
							   ", labels: {app: "
							   "db, tier: x}",
							   "10.2.0.10");

	expect_build("ServiceEntry selects WorkloadEntries", yaml,
		     "db.a.example 10.97.0.1:80\n"
		     "  all=100: 10.2.0.3:7000 10.2.0.1:7000 10.2.0.10:7000\n"
		     "any.a.example 10.97.0.2:80\n"
		     "  all=100: 10.2.0.3:7000 10.2.0.1:7000 10.2.0.50:7000 "
		     "10.2.0.2:7000 10.2.0.4:7000 10.2.0.10:7000\n"
		     "db.b.example 10.97.0.3:80\n"
		     "  all=100: 10.2.1.2:7000 10.2.1.1:7000\n"
		     "none.a.example 10.97.0.4:80\n"
		     "  all=100:\n"
		     "note: service none.a.example: subset all has weight 100 "
		     "but no "
		     "IPv4 backends; its connections will be dropped\n");
}

int unit_resolve_suite(void)
{
	static const struct unit_test tests[] = {
		{"Service selector: namespaces, pairs, Pod order, notes",
		 test_service_selects_pods},
		{"Service named targetPort notes in Pod order",
		 test_service_named_port_notes},
		{"ServiceEntry workloadSelector: namespaces, pairs, order",
		 test_service_entry_selects_workload_entries},
	};

	return unit_add_suite("resolve", NULL, NULL, tests, ARRAY_SIZE(tests));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Merge and prune semantics of the object store, without maps: inputs
 * (files in a private temporary directory) and stored objects (an
 * in-memory struct veer_objset) through veer_load_config; kind names;
 * input documents -> objects (objects.c); the write-through of `veer
 * weight` (veer_objects_set_route, veer_objects_set_native_weights); JSON
 * emission checked by a real JSON parser (python3). Plus the store's own
 * odd names (objstore.c) found by review.
 */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "load.h"
#include "model.h"
#include "objects.h"
#include "objset.h"
#include "objstore.h"
#include "unit.h"
#include "yaml_emit.h"
#include "yaml_tree.h"

static char dir[64];

static int objects_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/veer-objects-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int objects_clean(void)
{
	char cmd[160];

	unsetenv(VEER_STATE_DIR_ENV);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- Fixtures: the seeds' customers service ---- */

#define HOST "customers.default.svc.cluster.local"

/* A Service and its two pods (v1, v2), as one List. */
static const char svc_list[] =
	"apiVersion: v1\n"
	"kind: List\n"
	"items:\n"
	"- apiVersion: v1\n"
	"  kind: Service\n"
	"  metadata: {name: customers, namespace: default}\n"
	"  spec:\n"
	"    selector: {app: customers}\n"
	"    clusterIP: 10.96.0.20\n"
	"    ports:\n"
	"    - {name: http, port: 80, targetPort: 8080}\n"
	"- apiVersion: v1\n"
	"  kind: Pod\n"
	"  metadata:\n"
	"    name: customers-v1\n"
	"    namespace: default\n"
	"    labels: {app: customers, version: v1}\n"
	"  status: {phase: Running, podIP: 10.10.2.2}\n"
	"- apiVersion: v1\n"
	"  kind: Pod\n"
	"  metadata:\n"
	"    name: customers-v2\n"
	"    namespace: default\n"
	"    labels: {app: customers, version: v2}\n"
	"  status: {phase: Running, podIP: 10.10.3.2}\n";

static const char dr[] = "apiVersion: networking.istio.io/v1\n"
			 "kind: DestinationRule\n"
			 "metadata: {name: customers}\n"
			 "spec:\n"
			 "  host: " HOST "\n"
			 "  subsets:\n"
			 "  - {name: v1, labels: {version: v1}}\n"
			 "  - {name: v2, labels: {version: v2}}\n";

static const char vs_all_v1[] =
	"apiVersion: networking.istio.io/v1\n"
	"kind: VirtualService\n"
	"metadata: {name: customers}\n"
	"spec:\n"
	"  hosts: [" HOST "]\n"
	"  http:\n"
	"  - route:\n"
	"    - destination: {host: " HOST ", subset: v1}\n";

static const char vs_90_10[] =
	"apiVersion: networking.istio.io/v1\n"
	"kind: VirtualService\n"
	"metadata: {name: customers}\n"
	"spec:\n"
	"  hosts: [" HOST "]\n"
	"  http:\n"
	"  - route:\n"
	"    - destination: {host: " HOST ", subset: v2}\n"
	"      weight: 10\n"
	"    - destination: {host: " HOST ", subset: v1}\n"
	"      weight: 90\n";

/* A header rule first, the default route second (the seeds' debug VS). */
static const char vs_debug[] =
	"apiVersion: networking.istio.io/v1\n"
	"kind: VirtualService\n"
	"metadata: {name: customers, namespace: default}\n"
	"spec:\n"
	"  hosts: [" HOST "]\n"
	"  http:\n"
	"  - match:\n"
	"    - headers:\n"
	"        user-agent: {exact: debug}\n"
	"    route:\n"
	"    - destination: {host: " HOST ", subset: v2}\n"
	"  - route:\n"
	"    - destination: {host: " HOST ", subset: v1}\n";

/* Line 10 (column 45) names subset v3, which the DestinationRule lacks. */
static const char vs_v3[] = "apiVersion: networking.istio.io/v1\n"
			    "kind: VirtualService\n"
			    "metadata:\n"
			    "  name: customers\n"
			    "  namespace: default\n"
			    "spec:\n"
			    "  hosts: [" HOST "]\n"
			    "  http:\n"
			    "  - route:\n"
			    "    - destination: {host: " HOST ", subset: v3}\n";

static const char native_web[] = "services:\n"
				 "  - name: web\n"
				 "    vip: 10.96.0.10\n"
				 "    port: 80\n"
				 "    subsets:\n"
				 "      - name: v1\n"
				 "        weight: 100\n"
				 "        backends: [10.10.2.2:8080]\n"
				 "      - name: v2\n"
				 "        weight: 0\n"
				 "        backends: [10.10.3.2:8080]\n"
				 "  - name: web6\n"
				 "    vip: fd00:96::10\n"
				 "    port: 80\n"
				 "    subsets:\n"
				 "      - name: v1\n"
				 "        weight: 100\n"
				 "        backends: [\"[fd10:2::2]:8080\"]\n";

/* ---- Helpers ---- */

static void key_of(struct veer_object_key *k, const char *kind, const char *ns,
		   const char *name)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->kind, sizeof(k->kind), "%s", kind);
	snprintf(k->ns, sizeof(k->ns), "%s", ns);
	snprintf(k->name, sizeof(k->name), "%s", name);
}

static const struct veer_object *find(const struct veer_objset *set,
				      const char *kind, const char *ns,
				      const char *name)
{
	struct veer_object_key k;

	key_of(&k, kind, ns, name);
	return veer_objset_find(set, &k);
}

/* An input file in the temporary directory; its path in a static slot. */
static const char *input(const char *name, const char *text)
{
	static char paths[8][128];
	static unsigned int next;
	char *p = paths[next++ % 8];
	FILE *f;

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	f = fopen(p, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	return p;
}

/* Objects as they are stored: text read as an input and kept. */
static void store_text(struct veer_objset *set, const char *text)
{
	char err[512] = "";

	UNIT_CHECK(veer_load_objects("fixture", text, strlen(text), NULL, set,
				     err, sizeof(err)) == 0,
		   "%s", err);
}

/* The seeds' customers service stored: Service, pods, DR, VS all v1. */
static void store_customers(struct veer_objset *set)
{
	veer_objset_init(set);
	store_text(set, svc_list);
	store_text(set, dr);
	store_text(set, vs_all_v1);
	CU_ASSERT_EQUAL_FATAL(set->live, 5);
}

struct run {
	struct veer_objset inputs, pruned;
	struct veer_model model;
	char err[1024];
	int ret;
};

static void run_free(struct run *r)
{
	veer_objset_free(&r->inputs);
	veer_objset_free(&r->pruned);
	veer_model_free(&r->model);
}

static void run_config(struct run *r, const char *const *paths, size_t count,
		       const char *ns, const struct veer_objset *stored,
		       bool remove, bool prune)
{
	struct veer_load_request req = {
		.paths = paths,
		.path_count = count,
		.default_namespace = ns,
		.inputs_remove = remove,
		.prune = prune,
		.stored = stored,
		.input_objects = &r->inputs,
		.pruned = &r->pruned,
	};

	veer_objset_init(&r->inputs);
	veer_objset_init(&r->pruned);
	veer_model_init(&r->model);
	r->err[0] = '\0';
	r->ret = veer_load_config(&req, &r->model, NULL, NULL, r->err,
				  sizeof(r->err));
}

/* The weight of subset `name` of service `svc`, or -1. */
static int weight_of(const struct veer_model *m, const char *svc,
		     const char *name)
{
	const struct veer_service_model *s = veer_model_find(m, svc);
	int i = s ? veer_service_find_subset(s, name) : -1;

	return i < 0 ? -1 : (int)s->subsets[i].weight;
}

/* The backends of subset index i of service svc, or -1. */
static int backends_of(const struct veer_model *m, const char *svc,
		       unsigned int i)
{
	const struct veer_service_model *s = veer_model_find(m, svc);

	return s && i < s->subset_count ? (int)s->subsets[i].backend_count : -1;
}

/* ---- Merge ---- */

/* An input object replaces the stored one of its key (no duplicate). */
static void test_upsert(void)
{
	const char *path = input("vs-90-10.yaml", vs_90_10);
	struct veer_objset stored;
	struct run r;

	store_customers(&stored);
	run_config(&r, &path, 1, NULL, &stored, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(r.inputs.live, 1);
	CU_ASSERT_PTR_NOT_NULL(
		find(&r.inputs, "VirtualService", "default", "customers"));
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v1"), 90);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v2"), 10);
	run_free(&r);

	/* The same VS under another name is a second object: a clash. */
	path = input("vs-other.yaml",
		     "apiVersion: networking.istio.io/v1\n"
		     "kind: VirtualService\n"
		     "metadata: {name: other}\n"
		     "spec:\n"
		     "  hosts: [" HOST "]\n"
		     "  http:\n"
		     "  - route:\n"
		     "    - destination: {host: " HOST ", subset: v2}\n");
	run_config(&r, &path, 1, NULL, &stored, false, false);
	CU_ASSERT_EQUAL(r.ret, -1);
	UNIT_CHECK(strstr(r.err, "vs-other.yaml:") != NULL, "%s", r.err);
	run_free(&r);

	/* The stored objects alone: all to v1. */
	run_config(&r, NULL, 0, NULL, &stored, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v1"), 100);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v2"), 0);
	run_free(&r);
	veer_objset_free(&stored);
}

/* The same Service name in two namespaces: two objects, two hosts. */
static void test_two_namespaces(void)
{
	const char *path = input(
		"svc-two.yaml", "apiVersion: v1\n"
				"kind: Service\n"
				"metadata: {name: customers, namespace: two}\n"
				"spec:\n"
				"  selector: {app: customers}\n"
				"  clusterIP: 10.96.0.21\n"
				"  ports: [{port: 80}]\n"
				"---\n"
				"apiVersion: v1\n"
				"kind: Pod\n"
				"metadata:\n"
				"  name: customers-v1\n"
				"  namespace: two\n"
				"  labels: {app: customers}\n"
				"status: {phase: Running, podIP: 10.10.4.2}\n");
	struct veer_objset stored;
	struct run r;

	store_customers(&stored);
	run_config(&r, &path, 1, NULL, &stored, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(r.inputs.live, 2);
	CU_ASSERT_PTR_NOT_NULL(find(&r.inputs, "Service", "two", "customers"));
	CU_ASSERT_PTR_NOT_NULL(find(&r.inputs, "Pod", "two", "customers-v1"));
	CU_ASSERT_PTR_NOT_NULL(veer_model_find(&r.model, HOST));
	CU_ASSERT_PTR_NOT_NULL(
		veer_model_find(&r.model, "customers.two.svc.cluster.local"));
	/* The stored default/customers is not replaced by two/customers. */
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v1"), 100);
	run_free(&r);
	veer_objset_free(&stored);
}

static void test_kind_aliases(void)
{
	static const struct {
		const char *arg, *kind;
	} cases[] = {
		{"vs", "VirtualService"},
		{"VS", "VirtualService"},
		{"VirtualServices", "VirtualService"},
		{"virtualservice", "VirtualService"},
		{"virtualservice.networking.istio.io", "VirtualService"},
		{"virtualservices.networking.istio.io", "VirtualService"},
		{"dr", "DestinationRule"},
		{"destinationrules", "DestinationRule"},
		{"se", "ServiceEntry"},
		{"we", "WorkloadEntry"},
		{"svc", "Service"},
		{"services", "Service"},
		{"Service", "Service"},
		{"po", "Pod"},
		{"pods", "Pod"},
		{"pod", "Pod"},
		{"native", VEER_NATIVE_KIND},
		{"veerservices", VEER_NATIVE_KIND},
		{"unknown", NULL},
		{"", NULL},
		{"v", NULL},
		{"vss", NULL},
		{"virtualservice.networking.istio.i", NULL},
		/* Service is in the core group, not Istio's. */
		{"services.networking.istio.io", NULL},
		{"svc.networking.istio.io", NULL},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *got = veer_kind_canonical(cases[i].arg);

		UNIT_CHECK(cases[i].kind ? got && !strcmp(got, cases[i].kind)
					 : !got,
			   "\"%s\" -> %s, want %s", cases[i].arg,
			   got ? got : "NULL",
			   cases[i].kind ? cases[i].kind : "NULL");
	}
	CU_ASSERT_FALSE(veer_kind_namespaced(VEER_NATIVE_KIND));
	CU_ASSERT_TRUE(veer_kind_namespaced("Pod"));
}

/* Each item of a List is an object of its own, with its own key. */
static void test_list_items(void)
{
	struct veer_objset set;
	const struct veer_object *o;

	veer_objset_init(&set);
	store_text(&set, svc_list);
	CU_ASSERT_EQUAL(set.live, 3);
	CU_ASSERT_PTR_NOT_NULL(find(&set, "Service", "default", "customers"));
	o = find(&set, "Pod", "default", "customers-v2");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	/* Its text is the item alone: not the List, not the other pods. */
	CU_ASSERT_PTR_NULL(strstr(o->text, "List"));
	CU_ASSERT_PTR_NULL(strstr(o->text, "customers-v1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(o->text, "10.10.3.2"));
	CU_ASSERT_PTR_NULL(find(&set, "List", "default", ""));
	veer_objset_free(&set);
}

/* An object applied with -n prod keeps prod whatever loads it later. */
static void test_default_namespace_written_in(void)
{
	const char *path =
		input("pod-prod.yaml",
		      "apiVersion: v1\n"
		      "kind: Pod\n"
		      "metadata:\n"
		      "  name: web-1\n"
		      "  labels: {app: web}\n"
		      "status: {phase: Running, podIP: 10.10.7.2}\n");
	const char *null_ns = "apiVersion: networking.istio.io/v1\n"
			      "kind: DestinationRule\n"
			      "metadata:\n"
			      "  name: nulled\n"
			      "  namespace:\n"
			      "spec: {host: x}\n";
	struct veer_objset again;
	const struct veer_object *o;
	struct run r;

	run_config(&r, &path, 1, "prod", NULL, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_PTR_NULL(find(&r.inputs, "Pod", "default", "web-1"));
	o = find(&r.inputs, "Pod", "prod", "web-1");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	UNIT_CHECK(strstr(o->text, "namespace: prod\n") != NULL, "%s", o->text);
	/* Read back under another default: still prod. */
	veer_objset_init(&again);
	store_text(&again, o->text);
	CU_ASSERT_PTR_NOT_NULL(find(&again, "Pod", "prod", "web-1"));
	CU_ASSERT_EQUAL(again.live, 1);
	veer_objset_free(&again);
	run_free(&r);

	/* A null namespace is replaced, not doubled. */
	veer_objset_init(&again);
	CU_ASSERT_EQUAL(veer_load_objects("n", null_ns, strlen(null_ns), "prod",
					  &again, r.err, sizeof(r.err)),
			0);
	o = find(&again, "DestinationRule", "prod", "nulled");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_PTR_NOT_NULL(strstr(o->text, "namespace: prod\n"));
	CU_ASSERT_PTR_NULL(
		strstr(strstr(o->text, "namespace") + 1, "namespace"));
	veer_objset_free(&again);
}

/* A native document: one VeerService object per service, each loadable. */
static void test_native_split(void)
{
	const char *path = input("web.yaml", native_web);
	const struct veer_object *o;
	struct veer_model m;
	char err[512] = "";
	struct run r;

	run_config(&r, &path, 1, NULL, NULL, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(r.inputs.live, 2);
	CU_ASSERT_EQUAL(r.model.count, 2);
	o = find(&r.inputs, VEER_NATIVE_KIND, "", "web6");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	veer_model_init(&m);
	UNIT_CHECK(veer_load_native_buffer("web6", o->text, o->len, &m, err,
					   sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_EQUAL(m.count, 1);
	CU_ASSERT_PTR_NOT_NULL(veer_model_find(&m, "web6"));
	veer_model_free(&m);
	run_free(&r);
}

/* ---- Prune, delete ---- */

static void test_prune(void)
{
	/* The Service and pod v1 of default: pod v2 went away. */
	const char *path =
		input("sync.yaml", "apiVersion: v1\n"
				   "kind: List\n"
				   "items:\n"
				   "- apiVersion: v1\n"
				   "  kind: Service\n"
				   "  metadata: {name: customers, namespace: "
				   "default}\n"
				   "  spec:\n"
				   "    selector: {app: customers}\n"
				   "    clusterIP: 10.96.0.20\n"
				   "    ports: [{name: http, port: 80}]\n"
				   "- apiVersion: v1\n"
				   "  kind: Pod\n"
				   "  metadata:\n"
				   "    name: customers-v1\n"
				   "    namespace: default\n"
				   "    labels: {app: customers, version: v1}\n"
				   "  status: {phase: Running, podIP: "
				   "10.10.2.2}\n");
	struct veer_objset stored;
	struct run r;

	store_customers(&stored);
	/* A pod of another namespace: not in the input's scope. */
	store_text(&stored, "apiVersion: v1\n"
			    "kind: Pod\n"
			    "metadata: {name: customers-v2, namespace: other}\n"
			    "status: {phase: Running, podIP: 10.10.9.2}\n");
	run_config(&r, &path, 1, NULL, &stored, false, true);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(r.pruned.live, 1);
	CU_ASSERT_PTR_NOT_NULL(
		find(&r.pruned, "Pod", "default", "customers-v2"));
	/* The DR and VS (kinds not in the input) and other/ stay. */
	CU_ASSERT_PTR_NULL(find(&r.pruned, "Pod", "other", "customers-v2"));
	CU_ASSERT_PTR_NULL(
		find(&r.pruned, "DestinationRule", "default", "customers"));
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v1"), 100);
	CU_ASSERT_EQUAL(backends_of(&r.model, HOST, 1), 0);
	run_free(&r);

	/* Without --prune nothing is pruned: pod v2 still serves. */
	run_config(&r, &path, 1, NULL, &stored, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(r.pruned.live, 0);
	CU_ASSERT_EQUAL(backends_of(&r.model, HOST, 1), 1);
	run_free(&r);
	veer_objset_free(&stored);
}

/* delete -f: the objects the file names are left out; the rest loads. */
static void test_delete(void)
{
	const char *path = input("vs-del.yaml", vs_90_10);
	const char *last = input("web-del.yaml", native_web);
	struct veer_objset stored;
	struct run r;

	store_customers(&stored);
	run_config(&r, &path, 1, NULL, &stored, true, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_PTR_NOT_NULL(
		find(&r.inputs, "VirtualService", "default", "customers"));
	/* No VirtualService left: no route, and no object to weigh into. */
	CU_ASSERT_PTR_NOT_NULL(veer_model_find(&r.model, HOST));
	if (veer_model_find(&r.model, HOST))
		CU_ASSERT_EQUAL(
			veer_model_find(&r.model, HOST)->route.vs_name[0], 0);
	run_free(&r);
	veer_objset_free(&stored);

	/* Deleting every stored object: an empty configuration, no error. */
	veer_objset_init(&stored);
	store_text(&stored, native_web);
	run_config(&r, &last, 1, NULL, &stored, true, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	CU_ASSERT_EQUAL(r.model.count, 0);
	CU_ASSERT_EQUAL(r.inputs.live, 2);
	run_free(&r);
	veer_objset_free(&stored);
}

/* ---- Errors that involve stored objects ---- */

static void test_cross_object_errors(void)
{
	const char *path = input("vs-v3.yaml", vs_v3);
	struct veer_objset stored, bad;
	char want[256];
	struct run r;

	/* The new VS names a subset the stored DR lacks: at the new VS. */
	store_customers(&stored);
	run_config(&r, &path, 1, NULL, &stored, false, false);
	CU_ASSERT_EQUAL(r.ret, -1);
	snprintf(want, sizeof(want), "%s:10:", path);
	UNIT_CHECK(!strncmp(r.err, want, strlen(want)), "%s", r.err);
	UNIT_CHECK(strstr(r.err, "v3") != NULL, "%s", r.err);
	run_free(&r);

	/*
	 * A second DestinationRule for the host (in prod): reported at the
	 * new one, naming the stored one it clashes with.
	 */
	path = input("dr-prod.yaml", dr);
	run_config(&r, &path, 1, "prod", &stored, false, false);
	CU_ASSERT_EQUAL(r.ret, -1);
	snprintf(want, sizeof(want), "%s:5:9:", path);
	UNIT_CHECK(!strncmp(r.err, want, strlen(want)), "%s", r.err);
	UNIT_CHECK(strstr(r.err, VEER_STORED_PREFIX
			  "DestinationRule default/customers:") != NULL,
		   "%s", r.err);
	run_free(&r);

	/* A stored object's own error names it as stored, with its place. */
	veer_objset_init(&bad);
	store_text(&bad, svc_list);
	store_text(&bad, dr);
	store_text(&bad, vs_v3);
	run_config(&r, NULL, 0, NULL, &bad, false, false);
	CU_ASSERT_EQUAL(r.ret, -1);
	snprintf(want, sizeof(want),
		 VEER_STORED_PREFIX "VirtualService default/customers:");
	UNIT_CHECK(!strncmp(r.err, want, strlen(want)), "%s", r.err);
	{
		unsigned int line = 0, col = 0;

		UNIT_CHECK(sscanf(r.err + strlen(want), "%u:%u:", &line,
				  &col) == 2 &&
				   line > 0 && col > 0,
			   "%s", r.err);
	}
	run_free(&r);

	/* Fixed by applying a VS that is right: the stored bad one goes. */
	path = input("vs-fix.yaml", vs_all_v1);
	run_config(&r, &path, 1, NULL, &bad, false, false);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	run_free(&r);
	veer_objset_free(&bad);
	veer_objset_free(&stored);
}

/* ---- veer weight writes through ---- */

/* The model the stored customers make with vs text in place of the VS. */
static void load_with_vs(struct run *r, const char *vs_text)
{
	struct veer_objset set;

	veer_objset_init(&set);
	store_text(&set, svc_list);
	store_text(&set, dr);
	store_text(&set, vs_text);
	run_config(r, NULL, 0, NULL, &set, false, false);
	veer_objset_free(&set);
}

static void test_set_route(void)
{
	const struct veer_route_weight w[] = {{"v1", 30}, {"v2", 70}};
	const struct veer_service_model *s;
	char err[512] = "", *out = NULL;
	size_t len = 0;
	struct run r;

	/* The default route is http[1]; http[0] is a header rule. */
	load_with_vs(&r, vs_debug);
	UNIT_CHECK(r.ret == 0, "%s", r.err);
	s = veer_model_find(&r.model, HOST);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->route.index, 1);
	CU_ASSERT_FALSE(s->route.tcp);
	CU_ASSERT_EQUAL(s->rule_count, 1);
	run_free(&r);

	UNIT_CHECK(veer_objects_set_route("vs", vs_debug, strlen(vs_debug),
					  false, 1, HOST, w, 2, &out, &len, err,
					  sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	CU_ASSERT_EQUAL(strlen(out), len);
	load_with_vs(&r, out);
	UNIT_CHECK(r.ret == 0, "%s\n%s", r.err, out);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v1"), 30);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v2"), 70);
	s = veer_model_find(&r.model, HOST);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	/* The header rule is still there, still all to v2. */
	CU_ASSERT_EQUAL(s->rule_count, 1);
	if (s->rule_count == 1) {
		CU_ASSERT_EQUAL(s->rules[0].weights[1], 100);
		CU_ASSERT_EQUAL(s->rules[0].weights[0], 0);
	}
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "user-agent"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "exact: debug"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "namespace: default"));
	run_free(&r);
	free(out);

	/* No such route: refused, nothing made. */
	out = NULL;
	CU_ASSERT_EQUAL(veer_objects_set_route("vs", vs_debug, strlen(vs_debug),
					       false, 2, HOST, w, 2, &out, &len,
					       err, sizeof(err)),
			-1);
	CU_ASSERT_PTR_NULL(out);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "spec.http[2]"));
	CU_ASSERT_EQUAL(veer_objects_set_route("vs", vs_debug, strlen(vs_debug),
					       true, 0, HOST, w, 2, &out, &len,
					       err, sizeof(err)),
			-1);
}

/*
 * A VirtualService that routes by destination port: http[0] is port 9080's
 * default route, http[1] a header rule of port 80, http[2] port 80's
 * default. `veer weight` rewrites http[2] with port 80's weights and
 * http[0] with 9080's (veer_change_weights). Each route must stay the
 * route of its port: a rewritten http[0] without its port would become
 * port 80's default route too, and hide the header rule after it.
 */
static void test_set_route_by_port(void)
{
	static const char svc_two_ports[] =
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata: {name: customers, namespace: default}\n"
		"spec:\n"
		"  selector: {app: customers}\n"
		"  clusterIP: 10.96.0.20\n"
		"  ports:\n"
		"  - {name: http, port: 80, targetPort: 8080}\n"
		"  - {name: admin, port: 9080, targetPort: 9080}\n";
	static const char vs_ports[] =
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata: {name: customers, namespace: default}\n"
		"spec:\n"
		"  hosts: [" HOST "]\n"
		"  http:\n"
		"  - route:\n"
		"    - destination:\n"
		"        host: " HOST "\n"
		"        subset: v2\n"
		"        port: {number: 9080}\n"
		"  - match:\n"
		"    - headers:\n"
		"        user-agent: {exact: debug}\n"
		"    route:\n"
		"    - destination:\n"
		"        host: " HOST "\n"
		"        subset: v2\n"
		"        port: {number: 80}\n"
		"  - route:\n"
		"    - destination:\n"
		"        host: " HOST "\n"
		"        subset: v1\n"
		"        port: {number: 80}\n";
	const struct veer_route_weight w[] = {{"v1", 40}, {"v2", 60}};
	const struct veer_service_model *s80, *s9080;
	const char *vs = vs_ports;
	char err[512] = "", *out[2] = {NULL, NULL};
	struct veer_objset set;
	size_t len = 0;
	struct run r;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		veer_objset_init(&set);
		store_text(&set, svc_list);
		store_text(&set, svc_two_ports); /* replaces svc_list's */
		store_text(&set, dr);
		store_text(&set, vs);
		run_config(&r, NULL, 0, NULL, &set, false, false);
		veer_objset_free(&set);
		UNIT_CHECK(r.ret == 0, "pass %d: %s\n%s", pass, r.err, vs);
		s80 = veer_model_find(&r.model, HOST ":80");
		s9080 = veer_model_find(&r.model, HOST ":9080");
		CU_ASSERT_PTR_NOT_NULL(s80);
		CU_ASSERT_PTR_NOT_NULL(s9080);
		if (!s80 || !s9080) {
			run_free(&r);
			break;
		}
		/* Port 80: the header rule, then its own default route. */
		UNIT_CHECK(
			s80->rule_count == 1 && s80->route.index == 2,
			"pass %d: port 80 has %u rules, default http[%u]\n%s",
			pass, s80->rule_count, s80->route.index, vs);
		CU_ASSERT_EQUAL(s9080->route.index, 0);
		if (pass) {
			CU_ASSERT_EQUAL(weight_of(&r.model, HOST ":80", "v1"),
					40);
			CU_ASSERT_EQUAL(weight_of(&r.model, HOST ":80", "v2"),
					60);
			CU_ASSERT_EQUAL(weight_of(&r.model, HOST ":9080", "v1"),
					40);
			CU_ASSERT_EQUAL(weight_of(&r.model, HOST ":9080", "v2"),
					60);
			run_free(&r);
			break;
		}
		UNIT_CHECK(veer_objects_set_route(
				   "vs", vs_ports, strlen(vs_ports), false,
				   s80->route.index, s80->route.dest_host, w, 2,
				   &out[0], &len, err, sizeof(err)) == 0,
			   "%s", err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(out[0]);
		UNIT_CHECK(veer_objects_set_route(
				   "vs", out[0], len, false, s9080->route.index,
				   s9080->route.dest_host, w, 2, &out[1], &len,
				   err, sizeof(err)) == 0,
			   "%s", err);
		CU_ASSERT_PTR_NOT_NULL_FATAL(out[1]);
		vs = out[1];
		run_free(&r);
	}
	free(out[0]);
	free(out[1]);
}

/* Per-destination headers (Istio's, veer notes them) stay with their subset. */
static void test_set_route_headers(void)
{
	static const char vs_headers[] =
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata: {name: customers, namespace: default}\n"
		"spec:\n"
		"  hosts: [" HOST "]\n"
		"  http:\n"
		"  - route:\n"
		"    - destination: {host: " HOST ", subset: v2}\n"
		"      weight: 50\n"
		"    - destination: {host: " HOST ", subset: v1}\n"
		"      weight: 50\n"
		"      headers:\n"
		"        request: {set: {x-version: one}}\n";
	const struct veer_route_weight w[] = {{"v1", 30}, {"v2", 70}};
	const struct veer_ynode *route, *h;
	char err[512] = "", *out = NULL;
	struct veer_ytree t;
	size_t len = 0, i;
	struct run r;

	UNIT_CHECK(veer_objects_set_route("vs", vs_headers, strlen(vs_headers),
					  false, 0, HOST, w, 2, &out, &len, err,
					  sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	load_with_vs(&r, out);
	UNIT_CHECK(r.ret == 0, "%s\n%s", r.err, out);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v1"), 30);
	CU_ASSERT_EQUAL(weight_of(&r.model, HOST, "v2"), 70);
	run_free(&r);
	memset(&t, 0, sizeof(t));
	CU_ASSERT_EQUAL_FATAL(
		veer_ytree_parse(&t, "out", out, len, err, sizeof(err)), 0);
	route = veer_ynode_get(veer_ynode_get(t.docs[0], "spec"), "http");
	route = route && route->len ? veer_ynode_get(route->items[0], "route")
				    : NULL;
	CU_ASSERT_PTR_NOT_NULL(route);
	for (i = 0; route && i < route->len; i++) {
		h = veer_ynode_get(route->items[i], "headers");
		if (veer_ynode_is(veer_ynode_get(veer_ynode_get(route->items[i],
								"destination"),
						 "subset"),
				  "v1"))
			UNIT_CHECK(h != NULL, "v1 lost its headers:\n%s", out);
		else
			CU_ASSERT_PTR_NULL(h);
	}
	veer_ytree_free(&t);
	free(out);
}

static void test_set_native_weights(void)
{
	const struct veer_route_weight w[] = {{"v2", 25}, {"v1", 75}};
	const struct veer_object *o;
	struct veer_objset set;
	struct veer_model m;
	char err[512] = "", *out = NULL;
	size_t len = 0;

	veer_objset_init(&set);
	store_text(&set, native_web);
	o = find(&set, VEER_NATIVE_KIND, "", "web");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	UNIT_CHECK(veer_objects_set_native_weights("web", o->text, o->len, w, 2,
						   &out, &len, err,
						   sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	veer_model_init(&m);
	UNIT_CHECK(veer_load_native_buffer("web", out, len, &m, err,
					   sizeof(err)) == 0,
		   "%s\n%s", err, out);
	CU_ASSERT_EQUAL(weight_of(&m, "web", "v1"), 75);
	CU_ASSERT_EQUAL(weight_of(&m, "web", "v2"), 25);
	/* The rest as it was: VIP, port, backends. */
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "vip: 10.96.0.10"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "10.10.3.2:8080"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out, "port: 80"));
	if (m.count == 1)
		CU_ASSERT_EQUAL(m.services[0].subsets[1].backend_count, 1);
	veer_model_free(&m);
	free(out);
	veer_objset_free(&set);
}

/*
 * A Service or Pod from a cluster dump is stored as far as veer reads it:
 * what kubectl prints besides (managedFields, annotations, most of spec
 * and status) would make the store ten times larger than it needs to be.
 */
static void test_stored_pod_kept_fields(void)
{
	static const char pod[] =
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata:\n"
		"  name: p\n"
		"  namespace: shop\n"
		"  labels: {app: web, version: v1}\n"
		"  annotations: {big: \"kept nowhere\"}\n"
		"  managedFields:\n"
		"  - {manager: kubelet, operation: Update}\n"
		"  uid: 0d7a0c1e\n"
		"spec:\n"
		"  nodeName: n1\n"
		"  containers:\n"
		"  - name: web\n"
		"    image: nginx\n"
		"    env: [{name: A, value: b}]\n"
		"    ports: [{name: http, containerPort: 8080, protocol: "
		"TCP}]\n"
		"status:\n"
		"  hostIP: 192.0.2.1\n"
		"  phase: Running\n"
		"  podIP: 10.0.0.1\n"
		"  podIPs: [{ip: 10.0.0.1}]\n"
		"  conditions:\n"
		"  - {type: PodScheduled, status: \"True\"}\n"
		"  - {type: Ready, status: \"True\", lastProbeTime: null}\n"
		"  containerStatuses: [{name: web, ready: true}]\n";
	static const char *const kept[] = {
		"app: web",	  "version: v1",
		"name: http",	  "containerPort: 8080",
		"phase: Running", "podIP: 10.0.0.1",
		"type: Ready",	  "namespace: shop",
	};
	static const char *const dropped[] = {
		"annotations", "managedFields", "uid",
		"nodeName",    "image",		"env",
		"hostIP",      "lastProbeTime", "containerStatuses",
	};
	const struct veer_object *o;
	struct veer_objset set;
	size_t i;

	veer_objset_init(&set);
	store_text(&set, pod);
	o = find(&set, "Pod", "shop", "p");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	for (i = 0; i < ARRAY_SIZE(kept); i++)
		UNIT_CHECK(strstr(o->text, kept[i]) != NULL, "\"%s\" lost:\n%s",
			   kept[i], o->text);
	for (i = 0; i < ARRAY_SIZE(dropped); i++)
		UNIT_CHECK(strstr(o->text, dropped[i]) == NULL,
			   "\"%s\" kept:\n%s", dropped[i], o->text);
	veer_objset_free(&set);
}

/*
 * A stored object is its input as YAML again: every string the same, also
 * those with characters YAML reads as line breaks (NEL) or refuses as they
 * are (C1 controls, U+FFFE), and keys a block mapping cannot start a line
 * with as they are (document markers, the merge key).
 */
static void test_stored_strings(void)
{
	static const char pod[] = "apiVersion: networking.istio.io/v1\n"
				  "kind: DestinationRule\n"
				  "metadata:\n"
				  "  name: p\n"
				  "  annotations: {nel: \"x\\Ny\", ls: "
				  "\"x\\Ly\", ps: \"x\\Py\",\n"
				  "    tab: \"x\\ty\", nul: \"x\\0y\", "
				  "\"k\\Ney\": v, c1: \"\\x80\",\n"
				  "    fffe: \"\\uFFFE\", bom: \"a\\uFEFF\"}\n"
				  "\"--- x\": 1\n"
				  "\"... x\": 2\n"
				  "\"<<\": 3\n"
				  "spec: {host: p}\n";
	static const struct {
		const char *key, *value;
		size_t len;
	} want[] = {
		{"nel", "x\xc2\x85y", 4},
		{"ls", "x\xe2\x80\xa8y", 5},
		{"ps", "x\xe2\x80\xa9y", 5},
		{"tab", "x\ty", 3},
		{"nul", "x\0y", 3},
		{"k\xc2\x85"
		 "ey",
		 "v", 1},
		{"c1", "\xc2\x80", 2},
		{"fffe", "\xef\xbf\xbe", 3},
		{"bom", "a\xef\xbb\xbf", 4},
	};
	static const char *const top_keys[] = {"--- x", "... x", "<<"};
	const struct veer_ynode *ann, *v;
	const struct veer_object *o;
	struct veer_objset set;
	struct veer_ytree t;
	char err[512] = "";
	size_t i;

	veer_objset_init(&set);
	store_text(&set, pod);
	o = find(&set, "DestinationRule", "default", "p");
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	memset(&t, 0, sizeof(t));
	UNIT_CHECK(veer_ytree_parse(&t, "stored", o->text, o->len, err,
				    sizeof(err)) == 0,
		   "%s\n%s", err, o->text);
	ann = t.doc_count
		      ? veer_ynode_get(veer_ynode_get(t.docs[0], "metadata"),
				       "annotations")
		      : NULL;
	CU_ASSERT_PTR_NOT_NULL(ann);
	for (i = 0; ann && i < ARRAY_SIZE(want); i++) {
		v = veer_ynode_get(ann, want[i].key);
		UNIT_CHECK(v && v->len == want[i].len &&
				   !memcmp(v->text, want[i].value, v->len),
			   "annotation %zu changed in the store:\n%s", i,
			   o->text);
	}
	for (i = 0; t.doc_count && i < ARRAY_SIZE(top_keys); i++)
		UNIT_CHECK(veer_ynode_get(t.docs[0], top_keys[i]) != NULL,
			   "key \"%s\" lost in the store:\n%s", top_keys[i],
			   o->text);
	veer_ytree_free(&t);
	veer_objset_free(&set);
}

/* ---- JSON ---- */

/* Whether text is JSON that Python's parser takes, and equals want. */
static bool json_ok(const char *text, const char *want_repr)
{
	char path[128], cmd[512], got[512] = "";
	FILE *f, *p;
	size_t n;

	snprintf(path, sizeof(path), "%s/out.json", dir);
	f = fopen(path, "w");
	if (!f)
		return false;
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "python3 -c 'import json,sys; "
		 "print(repr(json.load(open(sys.argv[1], \"rb\"))))' %s "
		 "2>&1",
		 path);
	p = popen(cmd, "r");
	if (!p)
		return false;
	n = fread(got, 1, sizeof(got) - 1, p);
	got[n] = '\0';
	if (n && got[n - 1] == '\n')
		got[n - 1] = '\0';
	if (pclose(p) != 0 || (want_repr && strcmp(got, want_repr))) {
		fprintf(stderr, "\n    JSON %s -> %s (want %s)\n", text, got,
			want_repr ? want_repr : "valid");
		return false;
	}
	return true;
}

static void test_json(void)
{
	static const struct {
		const char *yaml, *python;
	} cases[] = {
		{"a: 0x1F", "{'a': 31}"},
		{"a: 0o17", "{'a': 15}"},
		/* YAML 1.2 core: decimal, whatever its leading zeros. */
		{"a: 017", "{'a': 17}"},
		{"a: -010", "{'a': -10}"},
		{"a: +5", "{'a': 5}"},
		{"a: 1.5", "{'a': 1.5}"},
		{"a: -2.5e3", "{'a': -2500.0}"},
		{"a: 1e5", "{'a': 100000.0}"},
		{"a: .5", "{'a': 0.5}"},
		{"a: 1.", "{'a': 1.0}"},
		{"a: -.5e1", "{'a': -5.0}"},
		{"a: 01.5", "{'a': 1.5}"},
		{"a: +1.5", "{'a': 1.5}"},
		{"a: .inf", NULL},
		{"a: -.Inf", NULL},
		{"a: .NaN", NULL},
		{"a: true", "{'a': True}"},
		{"a: FALSE", "{'a': False}"},
		{"a: null", "{'a': None}"},
		{"a: ~", "{'a': None}"},
		{"a:", "{'a': None}"},
		{"a: \"tab\\there\\x01\\x7f\\\"q\\\\\"",
		 "{'a': 'tab\\there\\x01\\x7f\"q\\\\'}"},
		{"a: \"caf\xc3\xa9\"", "{'a': 'café'}"},
		{"a: !!float 1", "{'a': 1.0}"},
		{"a: !!int \"12\"", "{'a': 12}"},
		{"a: !!int 99999999999999999999999", NULL},
		{"a: !!float abc", NULL},
		{"1: [x, {}, [], {b: [1, 2]}]",
		 "{'1': ['x', {}, [], {'b': [1, 2]}]}"},
	};
	struct veer_ytree t;
	char err[512], *text;
	size_t i, len;
	FILE *f;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&t, 0, sizeof(t));
		UNIT_CHECK(veer_ytree_parse(&t, "j", cases[i].yaml,
					    strlen(cases[i].yaml), err,
					    sizeof(err)) == 0,
			   "%s: %s", cases[i].yaml, err);
		if (!t.doc_count) {
			veer_ytree_free(&t);
			continue;
		}
		text = NULL;
		f = open_memstream(&text, &len);
		CU_ASSERT_PTR_NOT_NULL_FATAL(f);
		veer_yaml_emit_json(f, t.docs[0]);
		fclose(f);
		UNIT_CHECK(json_ok(text, cases[i].python), "%s -> %s",
			   cases[i].yaml, text);
		free(text);
		veer_ytree_free(&t);
	}
}

/* ---- Review: what the store can hold ---- */

static void objstore_at(struct veer_objstore *st, const char *sub)
{
	char state[128], err[512] = "";

	snprintf(state, sizeof(state), "%s/%s", dir, sub);
	CU_ASSERT_FATAL(mkdir(state, 0700) == 0 || errno == EEXIST);
	CU_ASSERT_FATAL(setenv(VEER_STATE_DIR_ENV, state, 1) == 0);
	UNIT_CHECK(veer_objstore_open(st, "/sys/fs/bpf/unit", err,
				      sizeof(err)) == 0,
		   "%s", err);
}

/*
 * Kubernetes names run to 253 characters, and veer's loader takes them.
 * The store must either refuse such a name before the maps change
 * (prepare) or hold it: a finish that fails after the maps changed leaves
 * a transaction that every later command fails to finish.
 */
static void test_store_long_name(void)
{
	char name[254], text[1024], err[512] = "";
	struct veer_objset changes, back;
	struct veer_objstore st;
	int prepared, finished = -1;

	memset(name, 'a', 253);
	name[253] = '\0';
	name[100] = '.';
	snprintf(text, sizeof(text),
		 "apiVersion: networking.istio.io/v1\n"
		 "kind: DestinationRule\n"
		 "metadata: {name: %s, namespace: default}\n"
		 "spec: {host: x}\n",
		 name);
	veer_objset_init(&changes);
	store_text(&changes, text);
	CU_ASSERT_EQUAL_FATAL(changes.live, 1);
	objstore_at(&st, "long");
	prepared = veer_objstore_prepare(&st, &changes, err, sizeof(err));
	if (prepared == 0)
		finished = veer_objstore_finish(&st, err, sizeof(err));
	UNIT_CHECK(prepared == -1 || finished == 0,
		   "prepared, then finish failed: %s", err);
	if (finished == 0) {
		CU_ASSERT_EQUAL(
			veer_objstore_load(&st, &back, err, sizeof(err)), 0);
		CU_ASSERT_EQUAL(back.live, 1);
		veer_objset_free(&back);
	}
	veer_objstore_discard(&st, NULL, 0);
	veer_objset_free(&changes);
}

/*
 * A symlink in a trusted store must not lead out of it: neither a load
 * reading objects from elsewhere, nor a finish writing or removing files
 * elsewhere; a change is refused by prepare, before the maps change.
 */
static void test_store_symlink(void)
{
	char outside[128], objects[PATH_MAX + 16], shard[PATH_MAX + 32],
		planted[256], err[512] = "";
	struct veer_objset changes, back;
	struct veer_objstore st;
	struct stat sb;
	int ret;

	/* objects/ itself a link to a directory outside the store. */
	objstore_at(&st, "sym");
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	CU_ASSERT_FATAL(mkdir(outside, 0700) == 0);
	snprintf(shard, sizeof(shard), "mkdir -p -m 700 '%s'", st.dir);
	CU_ASSERT_FATAL(system(shard) == 0);
	snprintf(objects, sizeof(objects), "%s/objects", st.dir);
	CU_ASSERT_FATAL(symlink(outside, objects) == 0);
	veer_objset_init(&changes);
	store_text(&changes, vs_all_v1);
	ret = veer_objstore_prepare(&st, &changes, err, sizeof(err));
	UNIT_CHECK(ret == -1 && strstr(err, "symlink"), "%d: %s", ret, err);
	ret = veer_objstore_load(&st, &back, err, sizeof(err));
	UNIT_CHECK(ret == -1 && strstr(err, "symlink"), "%d: %s", ret, err);
	CU_ASSERT_FATAL(unlink(objects) == 0);

	/* A shard file that is a link to a file outside. */
	CU_ASSERT_FATAL(mkdir(objects, 0700) == 0);
	snprintf(shard, sizeof(shard), "%s/%02x.yaml", objects,
		 veer_objstore_shard_of(&changes.objects[0].key));
	snprintf(planted, sizeof(planted), "%s/planted.yaml", outside);
	{
		FILE *f = fopen(planted, "w");

		CU_ASSERT_FATAL(f != NULL);
		fputs("kind: planted\n", f);
		fclose(f);
	}
	CU_ASSERT_FATAL(symlink(planted, shard) == 0);
	ret = veer_objstore_prepare(&st, &changes, err, sizeof(err));
	UNIT_CHECK(ret == -1 && strstr(err, "symlink"), "%d: %s", ret, err);
	ret = veer_objstore_load(&st, &back, err, sizeof(err));
	UNIT_CHECK(ret == -1 && strstr(err, "symlink"), "%d: %s", ret, err);
	CU_ASSERT(stat(planted, &sb) == 0 && sb.st_size == 14);
	veer_objstore_discard(&st, NULL, 0);
	veer_objset_free(&changes);
}

int unit_objects_suite(void)
{
	static const struct unit_test tests[] = {
		{"apply replaces the stored object of the same key",
		 test_upsert},
		{"same name in two namespaces: two objects",
		 test_two_namespaces},
		{"kind names: kubectl's aliases", test_kind_aliases},
		{"List items each become an object", test_list_items},
		{"default namespace written into the stored object",
		 test_default_namespace_written_in},
		{"native documents split per service", test_native_split},
		{"prune: only the input's (kind, namespace) pairs", test_prune},
		{"delete -f, and delete of the last objects", test_delete},
		{"errors name the input by file:line:col, stored by id",
		 test_cross_object_errors},
		{"weight write-through: VirtualService route", test_set_route},
		{"weight write-through: routes by port",
		 test_set_route_by_port},
		{"weight write-through: per-destination headers kept",
		 test_set_route_headers},
		{"weight write-through: native service",
		 test_set_native_weights},
		{"stored text keeps every string", test_stored_strings},
		{"stored Pods keep the fields veer reads",
		 test_stored_pod_kept_fields},
		{"JSON emission parses as JSON", test_json},
		{"store: 253-character names", test_store_long_name},
		{"store: symlinks do not lead out of it", test_store_symlink},
	};

	return unit_add_suite("objects", objects_init, objects_clean, tests,
			      ARRAY_SIZE(tests));
}

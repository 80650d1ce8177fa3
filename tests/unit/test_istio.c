// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/istio.c, user/yaml_tree.c and the front door (user/load.c,
 * veer_load_paths/_buffers): the Istio labs users follow (the seeds) turn
 * into exactly the expected model; malformed inputs fail with the message,
 * the position and the model untouched; directories load in name order.
 *
 * Models are compared through a text dump (names, hosts, VIPs, ports,
 * flags, subsets with weights and backends, rules with conditions and
 * weights, locations) so each expectation reads like what it describes.
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "addr.h"
#include "load.h"
#include "yaml_tree.h"
#include "unit.h"

#define ERR_LEN 1024
#define TMP_PATH_MAX 512
#define NOTES_MAX 16384
#define MAX_FILES 6

/* ---- Fixtures: the seeds' scenarios ---- */

/*
 * customers (Tetrate Istio fundamentals, traffic shifting): the Service
 * and its pods as `kubectl get svc,pod,deploy -o yaml` prints them, noise
 * included (managedFields, annotations, status), in a kind: List.
 */
static const char customers_svc[] =
	"apiVersion: v1\n"
	"kind: List\n"
	"metadata:\n"
	"  resourceVersion: \"\"\n"
	"items:\n"
	"- apiVersion: v1\n"
	"  kind: Service\n"
	"  metadata:\n"
	"    name: customers\n" /* line 9 */
	"    namespace: default\n"
	"    labels:\n"
	"      app: customers\n"
	"    resourceVersion: \"1042\"\n"
	"    uid: 6a1c3f0e-5d0b-4c57-9a43-0c1d2e3f4a5b\n"
	"    creationTimestamp: \"2024-05-01T10:00:00Z\"\n"
	"    annotations:\n"
	"      kubectl.kubernetes.io/last-applied-configuration: |\n"
	"        {\"apiVersion\":\"v1\",\"kind\":\"Service\"}\n"
	"    managedFields:\n"
	"    - manager: kubectl-client-side-apply\n"
	"      operation: Update\n"
	"      fieldsType: FieldsV1\n"
	"      fieldsV1:\n"
	"        f:spec:\n"
	"          f:ports: {}\n"
	"  spec:\n"
	"    type: ClusterIP\n"
	"    clusterIP: 10.96.0.20\n" /* line 28 */
	"    clusterIPs:\n"
	"    - 10.96.0.20\n" /* line 30 */
	"    ipFamilies:\n"
	"    - IPv4\n"
	"    ipFamilyPolicy: SingleStack\n"
	"    internalTrafficPolicy: Cluster\n"
	"    sessionAffinity: None\n"
	"    ports:\n"
	"    - name: http\n"
	"      port: 80\n"
	"      protocol: TCP\n"
	"      targetPort: 3000\n"
	"    selector:\n"
	"      app: customers\n"
	"  status:\n"
	"    loadBalancer: {}\n"
	"- apiVersion: v1\n"
	"  kind: Pod\n"
	"  metadata:\n"
	"    name: customers-v1-7b5b4b8f9-abcde\n"
	"    namespace: default\n"
	"    labels:\n"
	"      app: customers\n"
	"      version: v1\n"
	"      pod-template-hash: 7b5b4b8f9\n"
	"  spec:\n"
	"    containers:\n"
	"    - name: svc\n"
	"      image: gcr.io/tetratelabs/customers:1.0.0\n"
	"      ports:\n"
	"      - containerPort: 3000\n"
	"        protocol: TCP\n"
	"  status:\n"
	"    phase: Running\n"
	"    conditions:\n"
	"    - type: Ready\n"
	"      status: \"True\"\n"
	"    podIP: 10.10.2.2\n"
	"    podIPs:\n"
	"    - ip: 10.10.2.2\n"
	"- apiVersion: v1\n"
	"  kind: Pod\n"
	"  metadata:\n"
	"    name: customers-v2-5d8f6c9b7-fghij\n"
	"    namespace: default\n"
	"    labels:\n"
	"      app: customers\n"
	"      version: v2\n"
	"  spec:\n"
	"    containers:\n"
	"    - name: svc\n"
	"      image: gcr.io/tetratelabs/customers:2.0.0\n"
	"  status:\n"
	"    phase: Running\n"
	"    podIP: 10.10.3.2\n"
	"- apiVersion: apps/v1\n"
	"  kind: Deployment\n"
	"  metadata:\n"
	"    name: customers-v2\n"
	"    namespace: default\n"
	"  spec:\n"
	"    replicas: 1\n";

static const char customers_dr[] =
	"apiVersion: networking.istio.io/v1alpha3\n"
	"kind: DestinationRule\n"
	"metadata:\n"
	"  name: customers\n"
	"spec:\n"
	"  host: customers.default.svc.cluster.local\n"
	"  subsets:\n"
	"    - name: v1\n" /* line 8 */
	"      labels:\n"
	"        version: v1\n"
	"    - name: v2\n" /* line 11 */
	"      labels:\n"
	"        version: v2\n";

#define CUSTOMERS_VS_HEAD                                                      \
	"apiVersion: networking.istio.io/v1alpha3\n"                           \
	"kind: VirtualService\n"                                               \
	"metadata:\n"                                                          \
	"  name: customers\n"                                                  \
	"spec:\n"                                                              \
	"  hosts:\n"                                                           \
	"  - customers.default.svc.cluster.local\n"                            \
	"  http:\n"

static const char customers_vs_all_v1[] =
	CUSTOMERS_VS_HEAD "  - route:\n"
			  "    - destination:\n"
			  "        host: customers.default.svc.cluster.local\n"
			  "        subset: v1\n";

static const char customers_vs_debug[] =
	CUSTOMERS_VS_HEAD "  - match:\n"
			  "    - headers:\n"
			  "        user-agent:\n"
			  "          exact: debug\n"
			  "    route:\n"
			  "    - destination:\n"
			  "        host: customers.default.svc.cluster.local\n"
			  "        subset: v2\n"
			  "  - route:\n"
			  "    - destination:\n"
			  "        host: customers.default.svc.cluster.local\n"
			  "        subset: v1\n";

#define CUSTOMERS_VS_SPLIT(w1, w2)                                             \
	CUSTOMERS_VS_HEAD                                                      \
	"  - route:\n"                                                         \
	"    - destination:\n"                                                 \
	"        host: customers.default.svc.cluster.local\n"                  \
	"        subset: v1\n"                                                 \
	"      weight: " w1 "\n"                                               \
	"    - destination:\n"                                                 \
	"        host: customers.default.svc.cluster.local\n"                  \
	"        subset: v2\n"                                                 \
	"      weight: " w2 "\n"

static const char customers_vs_canary[] = CUSTOMERS_VS_SPLIT("90", "10");
static const char customers_vs_50[] = CUSTOMERS_VS_SPLIT("50", "50");

static const char customers_vs_final[] =
	CUSTOMERS_VS_HEAD "  - route:\n"
			  "    - destination:\n"
			  "        host: customers.default.svc.cluster.local\n"
			  "        subset: v2\n";

/* Every customers entry: the VIP, the subsets and their pods. */
#define CUSTOMERS_DUMP(w1, w2)                                                 \
	"customers.default.svc.cluster.local"                                  \
	" host=customers.default.svc.cluster.local vip=10.96.0.20:80"          \
	" flags=2 at=svc.yaml:30:7\n"                                          \
	"  subset v1 weight=" w1 " at=dr.yaml:8:7: 10.10.2.2:3000\n"           \
	"  subset v2 weight=" w2 " at=dr.yaml:11:7: 10.10.3.2:3000\n"

/*
 * purchase-history (Istio workshop lab 5), namespace istioinaction, with
 * no Kubernetes Service: a ServiceEntry selecting WorkloadEntries. The
 * lab's DestinationRule and VirtualServices carry no namespace (applied
 * with -n istioinaction) and name the host in full.
 */
static const char ph_se[] =
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: ServiceEntry\n"
	"metadata:\n"
	"  name: purchase-history\n"
	"  namespace: istioinaction\n"
	"spec:\n"
	"  hosts:\n"
	"  - purchase-history.istioinaction.svc.cluster.local\n"
	"  addresses:\n"
	"  - 10.96.0.30\n" /* line 10 */
	"  ports:\n"
	"  - number: 8080\n"
	"    name: http\n"
	"    protocol: HTTP\n"
	"  location: MESH_INTERNAL\n"
	"  resolution: STATIC\n"
	"  workloadSelector:\n"
	"    labels:\n"
	"      app: purchase-history\n"
	"---\n"
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: WorkloadEntry\n"
	"metadata:\n"
	"  name: purchase-history-v1\n"
	"  namespace: istioinaction\n"
	"spec:\n"
	"  address: 10.10.2.2\n"
	"  labels:\n"
	"    app: purchase-history\n"
	"    version: v1\n"
	"---\n"
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: WorkloadEntry\n"
	"metadata:\n"
	"  name: purchase-history-v2\n"
	"  namespace: istioinaction\n"
	"spec:\n"
	"  address: 10.10.3.2\n"
	"  labels:\n"
	"    app: purchase-history\n"
	"    version: v2\n"
	"  ports:\n"
	"    http: 8081\n"
	"---\n"
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: WorkloadEntry\n"
	"metadata:\n"
	"  name: elsewhere\n"
	"  namespace: default\n"
	"spec:\n"
	"  address: 10.10.9.9\n"
	"  labels:\n"
	"    app: purchase-history\n"
	"    version: v1\n";

static const char ph_dr[] =
	"apiVersion: networking.istio.io/v1beta1\n"
	"kind: DestinationRule\n"
	"metadata:\n"
	"  name: purchase-history-dr\n"
	"spec:\n"
	"  host: purchase-history.istioinaction.svc.cluster.local\n"
	"  subsets:\n"
	"  - name: v1\n"
	"    labels:\n"
	"      version: v1\n"
	"  - name: v2\n"
	"    labels:\n"
	"      version: v2\n";

#define PH_VS_HEAD                                                             \
	"apiVersion: networking.istio.io/v1beta1\n"                            \
	"kind: VirtualService\n"                                               \
	"metadata:\n"                                                          \
	"  name: purchase-history-vs\n"                                        \
	"spec:\n"                                                              \
	"  hosts:\n"                                                           \
	"  - purchase-history.istioinaction.svc.cluster.local\n"               \
	"  http: \n"
#define PH_DEST(subset, weight)                                                \
	"    - destination:\n"                                                 \
	"        host: purchase-history.istioinaction.svc.cluster.local\n"     \
	"        subset: " subset "\n"                                         \
	"        port:\n"                                                      \
	"          number: 8080\n"                                             \
	"      weight: " weight "\n"

static const char ph_vs_all_v1[] =
	PH_VS_HEAD "  - route:\n" PH_DEST("v1", "100");
static const char ph_vs_20[] =
	PH_VS_HEAD "  - route:\n" PH_DEST("v1", "80") PH_DEST("v2", "20");
static const char ph_vs_50[] =
	PH_VS_HEAD "  - route:\n" PH_DEST("v1", "50") PH_DEST("v2", "50");

/* v2's WorkloadEntry maps the port named http to 8081. */
#define PH_DUMP(w1, w2)                                                        \
	"purchase-history.istioinaction.svc.cluster.local"                     \
	" host=purchase-history.istioinaction.svc.cluster.local"               \
	" vip=10.96.0.30:8080 flags=2 at=se.yaml:10:5\n"                       \
	"  subset v1 weight=" w1 " at=dr.yaml:8:5: 10.10.2.2:8080\n"           \
	"  subset v2 weight=" w2 " at=dr.yaml:11:5: 10.10.3.2:8081\n"

/*
 * tcp-echo (Istio task "TCP traffic shifting"): Istio's
 * samples/tcp-echo files as they are, applied with
 * -n istio-io-tcp-traffic-shifting: the Service with ports 9000 and 9001,
 * and tcp-echo-all-v1.yaml / tcp-echo-20-v2.yaml, whose VirtualService is
 * bound to the ingress Gateway with hosts "*" and a gateway port match.
 */
static const char tcp_svc[] = "apiVersion: v1\n"
			      "kind: Service\n"
			      "metadata:\n"
			      "  name: tcp-echo\n"
			      "  namespace: istio-io-tcp-traffic-shifting\n"
			      "  labels:\n"
			      "    app: tcp-echo\n"
			      "    service: tcp-echo\n"
			      "spec:\n"
			      "  clusterIP: 10.96.0.40\n" /* line 10 */
			      "  ports:\n"
			      "  - name: tcp\n"
			      "    port: 9000\n"
			      "  - name: tcp-other\n"
			      "    port: 9001\n"
			      "  selector:\n"
			      "    app: tcp-echo\n"
			      "---\n"
			      "apiVersion: v1\n"
			      "kind: Pod\n"
			      "metadata:\n"
			      "  name: tcp-echo-v1\n"
			      "  namespace: istio-io-tcp-traffic-shifting\n"
			      "  labels: {app: tcp-echo, version: v1}\n"
			      "status: {phase: Running, podIP: 10.10.2.2}\n"
			      "---\n"
			      "apiVersion: v1\n"
			      "kind: Pod\n"
			      "metadata:\n"
			      "  name: tcp-echo-v2\n"
			      "  namespace: istio-io-tcp-traffic-shifting\n"
			      "  labels: {app: tcp-echo, version: v2}\n"
			      "status: {phase: Running, podIP: 10.10.3.2}\n";

#define TCP_GW_DR                                                              \
	"apiVersion: networking.istio.io/v1\n"                                 \
	"kind: Gateway\n"                                                      \
	"metadata:\n"                                                          \
	"  name: tcp-echo-gateway\n"                                           \
	"spec:\n"                                                              \
	"  selector:\n"                                                        \
	"    istio: ingressgateway\n"                                          \
	"  servers:\n"                                                         \
	"  - port:\n"                                                          \
	"      number: 31400\n"                                                \
	"      name: tcp\n"                                                    \
	"      protocol: TCP\n"                                                \
	"    hosts:\n"                                                         \
	"    - \"*\"\n"                                                        \
	"---\n"                                                                \
	"apiVersion: networking.istio.io/v1\n"                                 \
	"kind: DestinationRule\n"                                              \
	"metadata:\n"                                                          \
	"  name: tcp-echo-destination\n"                                       \
	"spec:\n"                                                              \
	"  host: tcp-echo\n"                                                   \
	"  subsets:\n"                                                         \
	"  - name: v1\n" /* line 23 */                                         \
	"    labels:\n"                                                        \
	"      version: v1\n"                                                  \
	"  - name: v2\n" /* line 26 */                                         \
	"    labels:\n"                                                        \
	"      version: v2\n"                                                  \
	"---\n"

#define TCP_VS_HEAD                                                            \
	"apiVersion: networking.istio.io/v1\n"                                 \
	"kind: VirtualService\n"                                               \
	"metadata:\n"                                                          \
	"  name: tcp-echo\n"                                                   \
	"spec:\n"                                                              \
	"  hosts:\n"                                                           \
	"  - \"*\"\n"                                                          \
	"  gateways:\n"                                                        \
	"  - tcp-echo-gateway\n"                                               \
	"  tcp:\n"                                                             \
	"  - match:\n"                                                         \
	"    - port: 31400\n"                                                  \
	"    route:\n"
#define TCP_DEST(subset)                                                       \
	"    - destination:\n"                                                 \
	"        host: tcp-echo\n"                                             \
	"        port:\n"                                                      \
	"          number: 9000\n"                                             \
	"        subset: " subset "\n"

static const char tcp_all_v1[] = TCP_GW_DR TCP_VS_HEAD TCP_DEST("v1");
static const char tcp_20_v2[] = TCP_GW_DR TCP_VS_HEAD TCP_DEST(
	"v1") "      weight: 80\n" TCP_DEST("v2") "      weight: 20\n";

/* 9000 follows the route; no route names 9001, so v1 takes it all. */
#define TCP_HOST "tcp-echo.istio-io-tcp-traffic-shifting.svc.cluster.local"
#define TCP_DUMP(w1, w2)                                                       \
	TCP_HOST ":9000 host=" TCP_HOST " vip=10.96.0.40:9000 flags=0"         \
		 " at=svc.yaml:10:14\n"                                        \
		 "  subset v1 weight=" w1                                      \
		 " at=tcp.yaml:23:5: 10.10.2.2:9000\n"                         \
		 "  subset v2 weight=" w2                                      \
		 " at=tcp.yaml:26:5: 10.10.3.2:9000\n" TCP_HOST                \
		 ":9001 host=" TCP_HOST " vip=10.96.0.40:9001 flags=0"         \
		 " at=svc.yaml:10:14\n"                                        \
		 "  subset v1 weight=100 at=tcp.yaml:23:5: 10.10.2.2:9001\n"   \
		 "  subset v2 weight=0 at=tcp.yaml:26:5: 10.10.3.2:9001\n"

/*
 * product (Microservices with Spring Boot, zero-downtime deployments):
 * X-group: test goes to the new version, everyone else 100/0.
 */
static const char product_svc[] =
	"apiVersion: v1\n"
	"kind: Service\n"
	"metadata: {name: product, namespace: hands-on}\n"
	"spec:\n"
	"  clusterIP: 10.96.0.50\n"
	"  selector: {app: product}\n"
	"  ports:\n"
	"  - {name: http, port: 80, targetPort: http}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata:\n"
	"  name: product-v1\n"
	"  namespace: hands-on\n"
	"  labels: {app: product, version: v1}\n"
	"spec:\n"
	"  containers:\n"
	"  - name: product\n"
	"    ports: [{name: http, containerPort: 8080}]\n"
	"status: {phase: Running, podIP: 10.10.2.2}\n"
	"---\n"
	"apiVersion: v1\n"
	"kind: Pod\n"
	"metadata:\n"
	"  name: product-v2\n"
	"  namespace: hands-on\n"
	"  labels: {app: product, version: v2}\n"
	"spec:\n"
	"  containers:\n"
	"  - name: istio-proxy\n"
	"    ports: [{name: http-envoy-prom, containerPort: 15090}]\n"
	"  - name: product\n"
	"    ports: [{name: http, containerPort: 8081}]\n"
	"status: {phase: Running, podIP: 10.10.3.2}\n";

static const char product_istio[] = "apiVersion: networking.istio.io/v1alpha3\n"
				    "kind: DestinationRule\n"
				    "metadata:\n"
				    "  name: product-dr\n"
				    "  namespace: hands-on\n"
				    "spec:\n"
				    "  host: product\n"
				    "  subsets:\n"
				    "  - name: old\n"
				    "    labels:\n"
				    "      version: v1\n"
				    "  - name: new\n"
				    "    labels:\n"
				    "      version: v2\n"
				    "---\n"
				    "apiVersion: networking.istio.io/v1alpha3\n"
				    "kind: VirtualService\n"
				    "metadata:\n"
				    "  name: product-vs\n"
				    "  namespace: hands-on\n"
				    "spec:\n"
				    "  hosts:\n"
				    "  - product\n"
				    "  http:\n"
				    "  - match:\n"
				    "    - headers:\n"
				    "        X-group:\n"
				    "          exact: test\n"
				    "    route:\n"
				    "    - destination:\n"
				    "        host: product\n"
				    "        subset: new\n"
				    "  - route:\n"
				    "    - destination:\n"
				    "        host: product\n"
				    "        subset: old\n"
				    "      weight: 100\n"
				    "    - destination:\n"
				    "        host: product\n"
				    "        subset: new\n"
				    "      weight: 0\n";

/* ---- Helpers ---- */

struct notes {
	char text[NOTES_MAX];
	size_t len;
	unsigned int count;
};

static void collect_note(void *ctx, const char *note)
{
	struct notes *n = ctx;
	int w;

	n->count++;
	CU_ASSERT(strchr(note, '\n') == NULL);
	w = snprintf(n->text + n->len, sizeof(n->text) - n->len, "%s\n", note);
	if (w > 0 && n->len + (size_t)w < sizeof(n->text))
		n->len += (size_t)w;
	if (getenv("VEER_UNIT_VERBOSE"))
		fprintf(stderr, "\n    note: %s", note);
}

struct file {
	const char *name;
	const char *yaml;
	size_t len; /* 0: strlen(yaml) */
};

/* Loads files into m; 0 or -1. ns NULL: "default". */
static int load_ns(const struct file *files, size_t n, const char *ns,
		   struct veer_model *m, struct notes *notes, char *err,
		   size_t errlen)
{
	const char *names[MAX_FILES], *bufs[MAX_FILES];
	size_t lens[MAX_FILES], i;

	CU_ASSERT_FATAL(n <= MAX_FILES);
	for (i = 0; i < n; i++) {
		names[i] = files[i].name;
		bufs[i] = files[i].yaml;
		lens[i] = files[i].len ? files[i].len : strlen(files[i].yaml);
	}
	if (notes)
		memset(notes, 0, sizeof(*notes));
	return veer_load_buffers(names, bufs, lens, n, ns, m,
				 notes ? collect_note : NULL, notes, err,
				 errlen);
}

static const char *cond_field(unsigned int f)
{
	return f == VEER_COND_HEADER ? "header"
	       : f == VEER_COND_URI  ? "uri"
				     : "?";
}

static const char *cond_op(unsigned int op)
{
	return op == VEER_COND_EXACT	? "exact"
	       : op == VEER_COND_PREFIX ? "prefix"
					: "?";
}

/* The model as text: every field the loaders set. */
static char *dump(const struct veer_model *m)
{
	char ep[VEER_ENDPOINT_STRLEN], *buf = NULL;
	size_t len = 0, i;
	unsigned int j, k, r, x, c;
	FILE *f = open_memstream(&buf, &len);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	for (i = 0; i < m->count; i++) {
		const struct veer_service_model *s = &m->services[i];

		veer_endpoint_format(&s->key.vip, s->key.family, s->key.port,
				     ep, sizeof(ep));
		fprintf(f, "%s host=%s vip=%s flags=%u at=%s:%u:%u\n", s->name,
			s->host, ep, s->flags, s->loc.file, s->loc.line,
			s->loc.column);
		CU_ASSERT(s->key.proto == 6);
		for (j = 0; j < s->subset_count; j++) {
			const struct veer_subset_model *sub = &s->subsets[j];

			fprintf(f,
				"  subset %s weight=%u at=%s:%u:%u:", sub->name,
				sub->weight, sub->loc.file, sub->loc.line,
				sub->loc.column);
			for (k = 0; k < sub->backend_count; k++) {
				const struct veer_backend *b =
					&sub->backends[k];

				veer_endpoint_format(&b->addr, b->family,
						     b->port, ep, sizeof(ep));
				fprintf(f, " %s", ep);
			}
			fprintf(f, "\n");
		}
		for (r = 0; r < s->rule_count; r++) {
			const struct veer_rule *rule = &s->rules[r];

			fprintf(f, "  rule");
			for (x = 0; x < rule->match_count; x++) {
				const struct veer_match *mt = &rule->matches[x];

				fprintf(f, " [");
				for (c = 0; c < mt->condition_count; c++) {
					const struct veer_condition *cd =
						&mt->conditions[c];

					/* Lengths must match the strings. */
					CU_ASSERT(cd->name_len ==
						  strlen(cd->name));
					CU_ASSERT(cd->value_len ==
						  strlen(cd->value));
					fprintf(f, "%s%s %s %s=%s",
						c ? ", " : "",
						cond_field(cd->field),
						cond_op(cd->op), cd->name,
						cd->value);
				}
				fprintf(f, "]");
			}
			fprintf(f, " weights");
			for (x = 0; x < s->subset_count; x++)
				fprintf(f, "%s%u", x ? "," : "=",
					rule->weights[x]);
			fprintf(f, "\n");
		}
	}
	CU_ASSERT_FATAL(fclose(f) == 0);
	return buf;
}

static void expect_dump(const char *label, const struct veer_model *m,
			const char *want)
{
	char *got = dump(m);

	UNIT_CHECK(!strcmp(got, want), "%s:\n--- got\n%s--- want\n%s", label,
		   got, want);
	free(got);
}

/* Loads files into an empty model and compares the dump. */
static void expect_model_ns(const char *label, const struct file *files,
			    size_t n, const char *ns, const char *want,
			    struct notes *notes)
{
	struct veer_model m;
	char err[ERR_LEN] = "";

	veer_model_init(&m);
	UNIT_CHECK(load_ns(files, n, ns, &m, notes, err, sizeof(err)) == 0,
		   "%s: %s", label, err);
	UNIT_CHECK(veer_model_validate(&m, err, sizeof(err)) == 0, "%s: %s",
		   label, err);
	expect_dump(label, &m, want);
	veer_model_free(&m);
}

static void expect_model(const char *label, const struct file *files, size_t n,
			 const char *want, struct notes *notes)
{
	expect_model_ns(label, files, n, NULL, want, notes);
}

static void expect_note(const char *label, const struct notes *notes,
			const char *what)
{
	UNIT_CHECK(strstr(notes->text, what) != NULL,
		   "%s: no note \"%s\" in:\n%s", label, what, notes->text);
}

/*
 * Loads files over the base model and expects failure, of the load or
 * else of the validation the planner does next, with an error that starts
 * with `where` ("file:L:C: ") and contains `what`, on one line. A failed
 * load leaves the model unchanged and hands out no notes.
 */
static void expect_fail_ns(const char *label, const struct file *files,
			   size_t n, const char *ns, const char *where,
			   const char *what)
{
	struct veer_model m;
	struct notes notes;
	char err[ERR_LEN], *before, *after;
	bool loaded;
	int ret;

	unit_load_base(&m);
	before = dump(&m);
	memset(err, 0, sizeof(err));
	ret = load_ns(files, n, ns, &m, &notes, err, sizeof(err));
	loaded = ret == 0;
	if (loaded)
		ret = veer_model_validate(&m, err, sizeof(err));
	UNIT_CHECK(ret == -1, "%s: accepted", label);
	UNIT_CHECK(!strncmp(err, where, strlen(where)),
		   "%s: \"%s\" is not at \"%s\"", label, err, where);
	UNIT_CHECK(strstr(err, what) != NULL, "%s: \"%s\" lacks \"%s\"", label,
		   err, what);
	UNIT_CHECK(!strchr(err, '\n'), "%s: multi-line error", label);
	UNIT_CHECK(loaded || notes.count == 0, "%s: notes on failure", label);
	after = dump(&m);
	UNIT_CHECK(loaded || !strcmp(before, after), "%s: model changed",
		   label);
	CU_ASSERT(loaded || (m.services[0].rule_count == 0 && m.count == 1));
	if (getenv("VEER_UNIT_VERBOSE"))
		fprintf(stderr, "\n    %-40s %s", label, err);
	free(before);
	free(after);
	veer_model_free(&m);
}

static void expect_fail(const char *label, const struct file *files, size_t n,
			const char *where, const char *what)
{
	expect_fail_ns(label, files, n, NULL, where, what);
}

/* ---- The seeds' scenarios ---- */

static void test_customers(void)
{
	struct file f[] = {
		{"svc.yaml", customers_svc, 0},
		{"dr.yaml", customers_dr, 0},
		{"vs.yaml", NULL, 0},
	};
	struct notes notes;

	f[2].yaml = customers_vs_all_v1;
	expect_model("customers all v1", f, 3, CUSTOMERS_DUMP("100", "0"),
		     &notes);
	expect_note("customers all v1", &notes,
		    "svc.yaml:85:9: skipped Deployment default/customers-v2 "
		    "(veer acts on VirtualService, DestinationRule, "
		    "ServiceEntry, WorkloadEntry, Service, Pod)");

	f[2].yaml = customers_vs_debug;
	expect_model("customers debug", f, 3,
		     CUSTOMERS_DUMP("100", "0") "  rule [header exact "
						"user-agent=debug] "
						"weights=0,100\n",
		     &notes);
	expect_note("customers debug", &notes,
		    "header/uri rules: the first request of a connection "
		    "chooses its backend, matched in the request's first "
		    "segment; later requests on a keep-alive connection "
		    "follow it (Istio routes each request)");
	expect_note("customers debug", &notes,
		    "header/uri rules: node-local clients (veer attach "
		    "--cgroup) take the default route");
	expect_note("customers debug", &notes,
		    "header/uri rules: HTTP/2, gRPC and TLS connections take "
		    "the default route");
	UNIT_CHECK(!strstr(notes.text, "uri exact"),
		   "customers debug: uri exact noted without one:\n%s",
		   notes.text);

	f[2].yaml = customers_vs_canary;
	expect_model("customers canary", f, 3, CUSTOMERS_DUMP("90", "10"),
		     NULL);
	f[2].yaml = customers_vs_50;
	expect_model("customers 50/50", f, 3, CUSTOMERS_DUMP("50", "50"), NULL);
	f[2].yaml = customers_vs_final;
	expect_model("customers all v2", f, 3, CUSTOMERS_DUMP("0", "100"),
		     NULL);

	/* No VirtualService: the first subset takes everything, noted. */
	/*
	 * Subsets but no VirtualService: as in Istio, nothing routes to the
	 * subsets, so connections spread over every pod the Service selects
	 * (the seed's warning about deploying v2 before routing).
	 */
	expect_model("customers, DR only", f, 2,
		     "customers.default.svc.cluster.local"
		     " host=customers.default.svc.cluster.local"
		     " vip=10.96.0.20:80 flags=2 at=svc.yaml:30:7\n"
		     "  subset all weight=100 at=svc.yaml:9:11: "
		     "10.10.2.2:3000 10.10.3.2:3000\n",
		     &notes);
	expect_note("customers, DR only", &notes,
		    "service customers.default.svc.cluster.local: no "
		    "VirtualService, so as in Istio connections spread over "
		    "every endpoint (subset all)");
	/* Nothing but the Service: kube-proxy-like, subset "all". */
	expect_model("customers, Service only", f, 1,
		     "customers.default.svc.cluster.local"
		     " host=customers.default.svc.cluster.local"
		     " vip=10.96.0.20:80 flags=2 at=svc.yaml:30:7\n"
		     "  subset all weight=100 at=svc.yaml:9:11: "
		     "10.10.2.2:3000 10.10.3.2:3000\n",
		     NULL);
}

static void test_purchase_history(void)
{
	struct file f[] = {
		{"se.yaml", ph_se, 0},
		{"dr.yaml", ph_dr, 0},
		{"vs.yaml", NULL, 0},
	};

	f[2].yaml = ph_vs_all_v1;
	expect_model("purchase-history all v1", f, 3, PH_DUMP("100", "0"),
		     NULL);
	f[2].yaml = ph_vs_20;
	expect_model("purchase-history 80/20", f, 3, PH_DUMP("80", "20"), NULL);
	f[2].yaml = ph_vs_50;
	expect_model("purchase-history 50/50", f, 3, PH_DUMP("50", "50"), NULL);
}

static void test_tcp_echo(void)
{
	struct file f[] = {
		{"svc.yaml", tcp_svc, 0},
		{"tcp.yaml", NULL, 0},
	};
	struct notes notes;

	/* The sample files as they are, applied with -n. */
	f[1].yaml = tcp_all_v1;
	expect_model_ns("tcp-echo all v1", f, 2,
			"istio-io-tcp-traffic-shifting", TCP_DUMP("100", "0"),
			&notes);
	expect_note("tcp-echo all v1", &notes,
		    "tcp.yaml:38:3: VirtualService "
		    "istio-io-tcp-traffic-shifting/tcp-echo: gateways ignored "
		    "(veer routes on the node)");
	expect_note("tcp-echo all v1", &notes,
		    "tcp.yaml:41:7: VirtualService "
		    "istio-io-tcp-traffic-shifting/tcp-echo: match port 31400 "
		    "ignored");
	expect_note("tcp-echo all v1", &notes,
		    "tcp.yaml:36:5: VirtualService "
		    "istio-io-tcp-traffic-shifting/tcp-echo: host \"*\" "
		    "applied to " TCP_HOST);
	expect_note("tcp-echo all v1", &notes,
		    "service " TCP_HOST ":9001: no tcp route of "
		    "VirtualService istio-io-tcp-traffic-shifting/tcp-echo "
		    "applies to port 9001; subset v1 gets all connections");
	expect_note("tcp-echo all v1", &notes,
		    "tcp.yaml:2:7: skipped Gateway "
		    "istio-io-tcp-traffic-shifting/tcp-echo-gateway");

	f[1].yaml = tcp_20_v2;
	expect_model_ns("tcp-echo 80/20", f, 2, "istio-io-tcp-traffic-shifting",
			TCP_DUMP("80", "20"), NULL);

	/* Without -n the short names are in "default": said so. */
	expect_fail("tcp-echo without the namespace", f, 2, "tcp.yaml:21:9: ",
		    "DestinationRule default/tcp-echo-destination: host "
		    "tcp-echo.default.svc.cluster.local is not defined by any "
		    "ServiceEntry or Service (" TCP_HOST " is;");
}

static void test_tcp_echo_for_mesh(void)
{
	/* The same routes written for in-mesh clients: host and port 9000. */
	static const char vs[] = TCP_GW_DR
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata:\n"
		"  name: tcp-echo\n"
		"spec:\n"
		"  hosts:\n"
		"  - tcp-echo\n"
		"  tcp:\n"
		"  - match:\n"
		"    - port: 9000\n"
		"    route:\n" TCP_DEST("v1") "      weight: 80\n" TCP_DEST(
			"v2") "      weight: 20\n";
	struct file f[] = {
		{"svc.yaml", tcp_svc, 0},
		{"tcp.yaml", vs, 0},
	};

	expect_model_ns("tcp-echo for the mesh", f, 2,
			"istio-io-tcp-traffic-shifting", TCP_DUMP("80", "20"),
			NULL);
}

static void test_product(void)
{
	struct file f[] = {
		{"svc.yaml", product_svc, 0},
		{"istio.yaml", product_istio, 0},
	};

	/* targetPort "http" is 8080 in v1's pod, 8081 in v2's. */
	expect_model("product", f, 2,
		     "product.hands-on.svc.cluster.local"
		     " host=product.hands-on.svc.cluster.local"
		     " vip=10.96.0.50:80 flags=2 at=svc.yaml:5:14\n"
		     "  subset old weight=100 at=istio.yaml:9:5: "
		     "10.10.2.2:8080\n"
		     "  subset new weight=0 at=istio.yaml:12:5: "
		     "10.10.3.2:8081\n"
		     "  rule [header exact x-group=test] weights=0,100\n",
		     NULL);
}

/* ---- Other valid inputs ---- */

static unsigned int occurrences(const char *text, const char *what)
{
	unsigned int n = 0;

	for (text = strstr(text, what); text; text = strstr(text + 1, what))
		n++;
	return n;
}

/*
 * What header/uri rules cannot do is noted once per load, however many
 * services carry rules (here the IPv4 and the IPv6 entry of one host),
 * and not at all without rules.
 */
static void test_rule_notes(void)
{
	static const char svc[] =
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec:\n"
		"  clusterIPs: [10.96.0.60, \"fd00:96::60\"]\n"
		"  ipFamilyPolicy: RequireDualStack\n"
		"  selector: {app: web}\n"
		"  ports:\n"
		"  - {name: http, port: 80, targetPort: 8080}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: web-1, namespace: shop, labels: {app: web}}\n"
		"status:\n"
		"  phase: Running\n"
		"  podIPs: [{ip: 10.10.2.2}, {ip: \"fd10:2::2\"}]\n";
	static const char vs_rules[] =
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec:\n"
		"  hosts: [web]\n"
		"  http:\n"
		"  - match:\n"
		"    - uri: {exact: /beta}\n"
		"    - headers: {X-Group: {prefix: test}}\n"
		"    route:\n"
		"    - destination: {host: web}\n"
		"  - route:\n"
		"    - destination: {host: web}\n";
	static const char vs_plain[] =
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec:\n"
		"  hosts: [web]\n"
		"  http:\n"
		"  - route:\n"
		"    - destination: {host: web}\n";
	static const char *const limits[] = {
		"header/uri rules: the first request of a connection",
		"header/uri rules: node-local clients",
		"header/uri rules: HTTP/2, gRPC and TLS",
	};
	struct file f[] = {{"svc.yaml", svc, 0}, {"vs.yaml", vs_rules, 0}};
	struct veer_model m;
	struct notes notes;
	char err[ERR_LEN] = "";
	size_t i;

	veer_model_init(&m);
	UNIT_CHECK(load_ns(f, 2, NULL, &m, &notes, err, sizeof(err)) == 0,
		   "rules: %s", err);
	CU_ASSERT(m.count == 2 && m.services[0].rule_count == 1 &&
		  m.services[1].rule_count == 1);
	/* Header names are stored lower-case: HTTP's are case-insensitive. */
	CU_ASSERT(m.count == 2 &&
		  !strcmp(m.services[0].rules[0].matches[1].conditions[0].name,
			  "x-group"));
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		UNIT_CHECK(occurrences(notes.text, limits[i]) == 1,
			   "\"%s\" noted %u times:\n%s", limits[i],
			   occurrences(notes.text, limits[i]), notes.text);
	veer_model_free(&m);

	f[1].yaml = vs_plain;
	veer_model_init(&m);
	UNIT_CHECK(load_ns(f, 2, NULL, &m, &notes, err, sizeof(err)) == 0,
		   "no rules: %s", err);
	UNIT_CHECK(!strstr(notes.text, "header/uri rules"),
		   "notes about rules without rules:\n%s", notes.text);
	veer_model_free(&m);
}

static void test_dual_stack(void)
{
	static const char svc[] =
		"apiVersion: v1\n"
		"kind: Service\n"
		"metadata: {name: web, namespace: shop}\n"
		"spec:\n"
		"  clusterIPs: [10.96.0.60, \"fd00:96::60\"]\n"
		"  ipFamilyPolicy: RequireDualStack\n"
		"  sessionAffinity: ClientIP\n"
		"  selector: {app: web}\n"
		"  ports:\n"
		"  - {name: http, port: 80, targetPort: 8080}\n"
		"  - {name: metrics, port: 9090, protocol: UDP}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: web-1, namespace: shop, labels: {app: web}}\n"
		"status:\n"
		"  phase: Running\n"
		"  podIP: 10.10.2.2\n"
		"  podIPs: [{ip: 10.10.2.2}, {ip: \"fd10:2::2\"}]\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: web-2, namespace: shop, labels: {app: web}}\n"
		"status: {phase: Pending}\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: Pod\n"
		"metadata: {name: web-3, namespace: shop, labels: {app: web}}\n"
		"status:\n"
		"  phase: Running\n"
		"  conditions: [{type: Ready, status: \"False\"}]\n"
		"  podIP: 10.10.4.4\n";
	struct file f[] = {{"svc.yaml", svc, 0}};
	struct notes notes;

	expect_model("dual stack", f, 1,
		     "web.shop.svc.cluster.local:80 host=web.shop.svc.cluster."
		     "local vip=10.96.0.60:80 flags=3 at=svc.yaml:5:16\n"
		     "  subset all weight=100 at=svc.yaml:3:18: "
		     "10.10.2.2:8080\n"
		     "web.shop.svc.cluster.local:80/ipv6 host=web.shop.svc."
		     "cluster.local vip=[fd00:96::60]:80 flags=3 "
		     "at=svc.yaml:5:28\n"
		     "  subset all weight=100 at=svc.yaml:3:18: "
		     "[fd10:2::2]:8080\n",
		     &notes);
	expect_note("dual stack", &notes,
		    "svc.yaml:11:43: Service shop/web: port 9090 is UDP, "
		    "skipped (veer splits TCP)");
	expect_note("dual stack", &notes,
		    "Service shop/web: Pod shop/web-2 is not Running (phase "
		    "Pending), not an endpoint");
	expect_note("dual stack", &notes,
		    "Service shop/web: Pod shop/web-3 is not Ready, not an "
		    "endpoint");
}

/* A ServiceEntry with inline endpoints, IPv6, source-IP affinity. */
static void test_service_entry_endpoints(void)
{
	static const char se[] =
		"apiVersion: networking.istio.io/v1\n"
		"kind: ServiceEntry\n"
		"metadata: {name: reviews}\n"
		"spec:\n"
		"  hosts: [reviews]\n"
		"  addresses: [\"fd00::70\"]\n"
		"  ports:\n"
		"  - {number: 9080, name: http-web, protocol: HTTP, "
		"targetPort: 9081}\n"
		"  - {number: 9443, name: tcp-tls, protocol: TLS}\n"
		"  resolution: STATIC\n"
		"  endpoints:\n"
		"  - {address: \"fd10::1\", labels: {version: v1}}\n"
		"  - {address: \"fd10::2\", labels: {version: v2}, ports: "
		"{http-web: 7000}}\n"
		"  - {address: 10.0.0.3, labels: {version: v2}}\n"
		"  - {address: \"fd10::3\", labels: {version: v2, canary: "
		"\"true\"}, weight: 5}\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\n"
		"kind: DestinationRule\n"
		"metadata: {name: reviews}\n"
		"spec:\n"
		"  host: reviews\n"
		"  trafficPolicy:\n"
		"    loadBalancer:\n"
		"      consistentHash: {useSourceIp: true}\n"
		"    connectionPool: {tcp: {maxConnections: 100}}\n"
		"  subsets:\n"
		"  - {name: v1, labels: {version: v1}}\n"
		"  - {name: v2, labels: {version: v2}}\n"
		"  - {name: canary, labels: {canary: \"true\"}}\n"
		"---\n"
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata: {name: reviews}\n"
		"spec:\n"
		"  hosts: [reviews]\n"
		"  http:\n"
		"  - match:\n"
		"    - uri: {prefix: /beta}\n"
		"      headers: {cookie: {prefix: \"user=\"}, x-Canary: {}}\n"
		"    - headers: {end-user: {exact: jason}}\n"
		"      port: 9080\n"
		"    - headers: {end-user: {exact: never}}\n"
		"      port: 9443\n"
		"    route:\n"
		"    - destination: {host: reviews, subset: canary}\n"
		"    timeout: 3s\n"
		"  - route:\n"
		"    - {destination: {host: reviews, subset: v1}, weight: 75}\n"
		"    - {destination: {host: reviews, subset: v2}, weight: "
		"\"25\"}\n"
		"  - route:\n"
		"    - destination: {host: reviews, subset: v2}\n"
		"  tcp:\n"
		"  - route:\n"
		"    - destination: {host: reviews, subset: v2}\n";
	struct file f[] = {{"reviews.yaml", se, 0}};
	struct notes notes;

	expect_model(
		"service entry", f, 1,
		"reviews.default.svc.cluster.local:9080/ipv6 "
		"host=reviews.default.svc.cluster.local vip=[fd00::70]:9080 "
		"flags=3 at=reviews.yaml:6:15\n"
		"  subset v1 weight=75 at=reviews.yaml:27:5: [fd10::1]:9081\n"
		"  subset v2 weight=25 at=reviews.yaml:28:5: [fd10::2]:7000 "
		"[fd10::3]:9081\n"
		"  subset canary weight=0 at=reviews.yaml:29:5: "
		"[fd10::3]:9081\n"
		"  rule [header prefix cookie=user=, header prefix x-canary=, "
		"uri prefix =/beta] [header exact end-user=jason] "
		"weights=0,0,100\n"
		"reviews.default.svc.cluster.local:9443/ipv6 "
		"host=reviews.default.svc.cluster.local vip=[fd00::70]:9443 "
		"flags=1 at=reviews.yaml:6:15\n"
		"  subset v1 weight=0 at=reviews.yaml:27:5: [fd10::1]:9443\n"
		"  subset v2 weight=100 at=reviews.yaml:28:5: [fd10::2]:9443 "
		"[fd10::3]:9443\n"
		"  subset canary weight=0 at=reviews.yaml:29:5: "
		"[fd10::3]:9443\n",
		&notes);
	expect_note("service entry", &notes,
		    "reviews.yaml:15:65: ignored: endpoint weight (proxy "
		    "feature)");
	expect_note("service entry", &notes,
		    "reviews.yaml:25:5: ignored: trafficPolicy.connectionPool "
		    "(proxy feature)");
	expect_note("service entry", &notes,
		    "reviews.yaml:46:5: ignored: timeout (proxy feature)");
	expect_note("service entry", &notes,
		    "reviews.yaml:50:5: VirtualService default/reviews: "
		    "http[2] is unreachable for reviews.default.svc.cluster."
		    "local:9080/ipv6 (it comes after the default route)");
}

/* `kubectl get svc,pod -o json`, and YAML 1.2 / JSON spellings. */
static void test_json_and_variants(void)
{
	static const char json[] =
		"{\n"
		"  \"apiVersion\": \"v1\",\n"
		"  \"items\": [\n"
		"    {\n"
		"      \"apiVersion\": \"v1\",\n"
		"      \"kind\": \"Service\",\n"
		"      \"metadata\": {\"name\": \"api\", \"namespace\": "
		"\"prod\", \"uid\": \"x\"},\n"
		"      \"spec\": {\"clusterIP\": \"10.96.0.80\", "
		"\"ports\": [{\"port\": 443, \"targetPort\": 8443, "
		"\"protocol\": \"TCP\"}], \"selector\": {\"app\": \"api\"}}\n"
		"    },\n"
		"    {\n"
		"      \"apiVersion\": \"v1\",\n"
		"      \"kind\": \"Pod\",\n"
		"      \"metadata\": {\"name\": \"api-0\", \"namespace\": "
		"\"prod\", \"labels\": {\"app\": \"api\", \"track\": "
		"\"stable\"}},\n"
		"      \"status\": {\"phase\": \"Running\", \"podIP\": "
		"\"10.10.5.5\"}\n"
		"    }\n"
		"  ],\n"
		"  \"kind\": \"List\",\n"
		"  \"metadata\": {\"resourceVersion\": \"\"}\n"
		"}\n";
	/* A PodList straight from the API, and null spellings of "unset". */
	static const char podlist[] =
		"\xef\xbb\xbf# a BOM, comments, document markers\n"
		"---\n"
		"apiVersion: v1\n"
		"kind: PodList\n"
		"items:\n"
		"- apiVersion: v1\n"
		"  kind: Pod\n"
		"  metadata: {name: api-1, namespace: prod, labels: {app: "
		"api, track: !!str canary}}\n"
		"  status: {phase: Running, podIPs: ~, podIP: 10.10.5.6}\n"
		"...\n"
		"---\n"
		"---\n"
		"apiVersion: networking.istio.io/v1beta1\n"
		"kind: VirtualService\n"
		"metadata: {name: api, namespace: prod}\n"
		"spec:\n"
		"  hosts: [api]\n"
		"  tls: null\n"
		"  http:\n"
		"  - match: []\n"
		"    route:\n"
		"    - destination: {host: api.prod.svc.cluster.local}\n";
	struct file f[] = {
		{"all.json", json, 0},
		{"pods.yaml", podlist, 0},
	};

	expect_model("json", f, 2,
		     "api.prod.svc.cluster.local host=api.prod.svc.cluster."
		     "local vip=10.96.0.80:443 flags=0 at=all.json:8:29\n"
		     "  subset all weight=100 at=all.json:7:28: "
		     "10.10.5.5:8443 10.10.5.6:8443\n",
		     NULL);
}

/* Route details: repeated subsets add up, a lone destination takes all. */
static void test_route_details(void)
{
	static const char vs[] =
		"apiVersion: networking.istio.io/v1\n"
		"kind: VirtualService\n"
		"metadata: {name: customers, namespace: default}\n"
		"spec:\n"
		"  hosts: [customers, customers.default.svc.cluster.local]\n"
		"  gateways: [mesh]\n"
		"  exportTo: [\".\"]\n"
		"  http:\n"
		"  - match: [{headers: {x-one: {prefix: a}}}]\n"
		"    route:\n"
		"    - {destination: {host: customers, subset: v2}, weight: "
		"30}\n"
		"  - route:\n"
		"    - {destination: {host: customers, subset: v1}, weight: "
		"20}\n"
		"    - {destination: {host: customers, subset: v2}, weight: "
		"50}\n"
		"    - {destination: {host: customers, subset: v1}, weight: "
		"30}\n";
	struct file f[] = {
		{"svc.yaml", customers_svc, 0},
		{"dr.yaml", customers_dr, 0},
		{"vs.yaml", vs, 0},
	};
	struct notes notes;

	expect_model("route details", f, 3,
		     CUSTOMERS_DUMP("50", "50") "  rule [header prefix "
						"x-one=a] weights=0,100\n",
		     &notes);
	UNIT_CHECK(!strstr(notes.text, "gateways"), "%s", notes.text);
}

/* Native files and Istio files in one load; appends after existing. */
static void test_mixed_and_append(void)
{
	static const char native[] = "services:\n"
				     "  - name: legacy\n"
				     "    vip: 10.96.1.1\n"
				     "    port: 8080\n"
				     "    subsets:\n"
				     "      - name: only\n"
				     "        weight: 100\n"
				     "        backends: [\"10.0.1.1:8080\"]\n";
	struct file f[] = {
		{"svc.yaml", customers_svc, 0},
		{"native.yaml", native, 0},
		{"dr.yaml", customers_dr, 0},
		{"vs.yaml", customers_vs_canary, 0},
	};
	struct veer_model m;
	char err[ERR_LEN] = "", *got;

	unit_load_base(&m);
	UNIT_CHECK(load_ns(f, 4, NULL, &m, NULL, err, sizeof(err)) == 0, "%s",
		   err);
	got = dump(&m);
	UNIT_CHECK(!strcmp(got, "existing host= vip=10.96.0.1:80 flags=0 "
				"at=base.yaml:2:5\n"
				"  subset stable weight=100 at=base.yaml:6:9: "
				"10.0.0.1:80\n"
				"legacy host= vip=10.96.1.1:8080 flags=0 "
				"at=native.yaml:2:5\n"
				"  subset only weight=100 at=native.yaml:6:9: "
				"10.0.1.1:8080\n" CUSTOMERS_DUMP("90", "10")),
		   "%s", got);
	free(got);
	veer_model_free(&m);
}

/* ---- Malformed inputs ---- */

#define VS_HEAD                                                                \
	"apiVersion: networking.istio.io/v1beta1\n"                            \
	"kind: VirtualService\n"                                               \
	"metadata:\n"                                                          \
	"  name: x\n"                                                          \
	"spec:\n"                                                              \
	"  hosts:\n"                                                           \
	"  - customers\n"
/* Line 8 on: the routes. */
#define ROUTE_V1                                                               \
	"    route:\n"                                                         \
	"    - destination:\n"                                                 \
	"        host: customers\n"                                            \
	"        subset: v1\n"

struct bad_case {
	const char *label;
	const char *vs; /* "vs.yaml", loaded after svc.yaml and dr.yaml */
	const char *where;
	const char *what;
	const char *dr; /* NULL: customers_dr */
	const char *svc; /* NULL: customers_svc */
	size_t vs_len; /* 0: strlen */
};

#define BAD(label_, vs_, where_, what_)                                        \
	{                                                                      \
		.label = label_, .vs = vs_, .where = where_, .what = what_     \
	}
#define BAD_DR(label_, dr_, vs_, where_, what_)                                \
	{                                                                      \
		.label = label_, .vs = vs_, .where = where_, .what = what_,    \
		.dr = dr_                                                      \
	}
#define BAD_SVC(label_, svc_, where_, what_)                                   \
	{                                                                      \
		.label = label_, .vs = customers_vs_all_v1, .where = where_,   \
		.what = what_, .svc = svc_                                     \
	}
#define BAD_BIN(label_, vs_, where_, what_)                                    \
	{                                                                      \
		.label = label_, .vs = vs_, .where = where_, .what = what_,    \
		.vs_len = sizeof(vs_) - 1                                      \
	}

#define SVC_HEAD                                                               \
	"apiVersion: v1\n"                                                     \
	"kind: Service\n"                                                      \
	"metadata: {name: customers}\n"                                        \
	"spec:\n"                                                              \
	"  selector: {app: customers}\n"                                       \
	"  ports: [{name: http, port: 80}]\n"

#define SE_HEAD                                                                \
	"apiVersion: networking.istio.io/v1beta1\n"                            \
	"kind: ServiceEntry\n"                                                 \
	"metadata: {name: customers}\n"                                        \
	"spec:\n"                                                              \
	"  hosts: [customers]\n"                                               \
	"  ports: [{number: 80, name: http}]\n"

static const char laughs[] =
	"apiVersion: v1\n"
	"kind: ConfigMap\n"
	"metadata: {name: lol}\n"
	"data:\n"
	"  a: &a [\"lol\", \"lol\", \"lol\", \"lol\", \"lol\", \"lol\"]\n"
	"  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	"  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	"  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	"  e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n";

static const struct bad_case bad_cases[] = {
	/* YAML. */
	BAD("bad indentation",
	    VS_HEAD "  http:\n  - route:\n    - destination:\n"
		    "        host: customers\n       subset: v1\n",
	    "vs.yaml:12:8: ",
	    "did not find expected key (while parsing a "
	    "block mapping at line 10, column 7)"),
	BAD("tab indentation", VS_HEAD "  http:\n\t- route: []\n",
	    "vs.yaml:9:1: ", "tab"),
	BAD_BIN("not UTF-8", VS_HEAD "  http: [\xff]\n",
		"vs.yaml:8:10: ", "not valid UTF-8 at byte"),
	BAD("alias bomb", laughs, "vs.yaml:5:6: ",
	    "anchor &a: anchors and aliases are not supported"),
	BAD("alias", VS_HEAD "  http: *r\n",
	    "vs.yaml:8:9: ", "alias *r: aliases are not supported"),
	BAD("custom tag", VS_HEAD "  http: !route []\n", "vs.yaml:8:9: ",
	    "tag !route: only the YAML core tags are supported"),
	BAD("key twice",
	    VS_HEAD "  http:\n  - route: []\n  hosts: [customers]\n",
	    "vs.yaml:10:3: ", "key \"hosts\" given twice (first at line 6"),
	BAD("merge key", VS_HEAD "  <<: {http: []}\n",
	    "vs.yaml:8:3: ", "merge keys (<<) are not supported"),
	/* Object headers. */
	BAD("missing apiVersion", "kind: VirtualService\nmetadata: {name: x}\n",
	    "vs.yaml:1:1: ", "apiVersion is required"),
	BAD("missing kind",
	    "apiVersion: networking.istio.io/v1\nmetadata: {name: x}\n",
	    "vs.yaml:1:1: ", "kind is required"),
	BAD("missing metadata.name",
	    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata: {namespace: default}\n",
	    "vs.yaml:3:11: ", "VirtualService: metadata.name is required"),
	BAD("unknown apiVersion",
	    "apiVersion: networking.istio.io/v2\nkind: VirtualService\n"
	    "metadata: {name: x}\n",
	    "vs.yaml:1:13: ",
	    "apiVersion \"networking.istio.io/v2\" not "
	    "supported for VirtualService"),
	/* Found by the fuzzer: a folded plain scalar carries a newline. */
	BAD("name over two lines",
	    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata:\n  name: x\n\n    y\n",
	    "vs.yaml:4:9: ",
	    "metadata.name must be a DNS name (a-z, 0-9, "
	    "'-', '.'), got \"x\\x0ay\""),
	BAD("bad namespace",
	    "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
	    "metadata: {name: x, namespace: Prod}\n",
	    "vs.yaml:3:32: ", "metadata.namespace must be a DNS label"),
	BAD("neither format", "hosts: [customers]\n",
	    "vs.yaml:1:1: ", "neither Kubernetes objects"),
	/* A file may mix both (veer get -o yaml writes them so)... */
	BAD("native part of a mixed file empty",
	    "services: []\n---\napiVersion: v1\nkind: Namespace\n",
	    "vs.yaml: ", "no services defined"),
	/* Types and fields. */
	BAD("http not a list", VS_HEAD "  http: yes\n",
	    "vs.yaml:8:9: ", "http must be a list, got yes"),
	BAD("weight not a number",
	    VS_HEAD "  http:\n  - route:\n    - destination: {host: "
		    "customers, subset: v1}\n      weight: abc\n"
		    "    - destination: {host: customers, subset: v2}\n",
	    "vs.yaml:11:15: ", "weight must be an integer 0..100, got abc"),
	BAD("weight over 100",
	    VS_HEAD "  http:\n  - route:\n    - destination: {host: "
		    "customers, subset: v1}\n      weight: 110\n",
	    "vs.yaml:11:15: ", "weight must be an integer 0..100, got 110"),
	BAD("octal-looking weight",
	    VS_HEAD "  http:\n  - route:\n    - destination: {host: "
		    "customers, subset: v1}\n      weight: 010\n",
	    "vs.yaml:11:15: ", "weight must be an integer 0..100, got 010"),
	BAD("unknown spec field", VS_HEAD "  htpp: []\n",
	    "vs.yaml:8:3: ", "unknown field \"htpp\" in a VirtualService spec"),
	BAD("tls routes", VS_HEAD "  tls:\n  - route: []\n",
	    "vs.yaml:8:3: ", "tls routes are not supported"),
	BAD("redirect", VS_HEAD "  http:\n  - redirect: {uri: /v1}\n",
	    "vs.yaml:9:5: ", "redirect is not supported"),
	BAD("directResponse",
	    VS_HEAD "  http:\n  - directResponse: {status: 503}\n",
	    "vs.yaml:9:5: ", "directResponse is not supported"),
	BAD("delegate", VS_HEAD "  http:\n  - delegate: {name: d}\n",
	    "vs.yaml:9:5: ", "delegate is not supported"),
	BAD("no routes", VS_HEAD "  http: []\n",
	    "vs.yaml:6:3: ", "VirtualService default/x: no http or tcp routes"),
	/* Matches. */
	BAD("regex header",
	    VS_HEAD "  http:\n  - match:\n    - headers:\n        end-user:\n"
		    "          regex: \"jason.*\"\n" ROUTE_V1,
	    "vs.yaml:12:11: ",
	    "regex matches are not supported (the kernel matcher has none); "
	    "use exact or prefix"),
	BAD("regex uri",
	    VS_HEAD
	    "  http:\n  - match:\n    - uri: {regex: \"/v[0-9]\"}\n" ROUTE_V1,
	    "vs.yaml:10:13: ", "regex matches are not supported"),
	BAD("unsupported match field",
	    VS_HEAD "  http:\n  - match:\n    - queryParams:\n"
		    "        v: {exact: \"2\"}\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"queryParams\" is not supported"),
	BAD("match name",
	    VS_HEAD "  http:\n  - match:\n    - name: m\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"name\" is not supported"),
	/* Every other HTTPMatchRequest field would change the routing if
	 * it were ignored: refused, named, at its place. */
	BAD("match method",
	    VS_HEAD
	    "  http:\n  - match:\n    - method: {exact: GET}\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"method\" is not supported"),
	BAD("match authority",
	    VS_HEAD "  http:\n  - match:\n    - uri: {prefix: /}\n"
		    "      authority: {exact: a.example}\n" ROUTE_V1,
	    "vs.yaml:11:7: ", "match on \"authority\" is not supported"),
	BAD("match scheme",
	    VS_HEAD
	    "  http:\n  - match:\n    - scheme: {exact: https}\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"scheme\" is not supported"),
	BAD("match withoutHeaders",
	    VS_HEAD
	    "  http:\n  - match:\n    - withoutHeaders: {x: {}}\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"withoutHeaders\" is not supported"),
	BAD("match ignoreUriCase",
	    VS_HEAD "  http:\n  - match:\n    - uri: {prefix: /a}\n"
		    "      ignoreUriCase: true\n" ROUTE_V1,
	    "vs.yaml:11:7: ", "match on \"ignoreUriCase\" is not supported"),
	BAD("match sourceLabels",
	    VS_HEAD
	    "  http:\n  - match:\n    - sourceLabels: {app: a}\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"sourceLabels\" is not supported"),
	BAD("match sourceNamespace",
	    VS_HEAD "  http:\n  - match:\n    - sourceNamespace: a\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"sourceNamespace\" is not supported"),
	BAD("match gateways",
	    VS_HEAD "  http:\n  - match:\n    - gateways: [mesh]\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "match on \"gateways\" is not supported"),
	/* Istio ignores these keys under headers; veer refuses them. */
	BAD("header key method",
	    VS_HEAD "  http:\n  - match:\n    - headers: {Method: {exact: "
		    "GET}}\n" ROUTE_V1,
	    "vs.yaml:10:17: ",
	    "header match on \"method\": Istio ignores the keys uri, scheme, "
	    "method and authority in headers; veer refuses them"),
	BAD("header key authority",
	    VS_HEAD "  http:\n  - match:\n    - headers: {authority: {prefix: "
		    "a}}\n" ROUTE_V1,
	    "vs.yaml:10:17: ", "header match on \"authority\""),
	BAD("header in a tcp match",
	    VS_HEAD "  tcp:\n  - match:\n    - headers: {}\n" ROUTE_V1,
	    "vs.yaml:10:7: ", "tcp routes match port only"),
	BAD("exact and prefix",
	    VS_HEAD "  http:\n  - match:\n    - uri: {exact: /a, prefix: "
		    "/b}\n" ROUTE_V1,
	    "vs.yaml:10:24: ", "uri match takes one of exact or prefix"),
	BAD("header name not a token",
	    VS_HEAD "  http:\n  - match:\n    - headers: {\":authority\": "
		    "{exact: a}}\n" ROUTE_V1,
	    "vs.yaml:10:17: ",
	    "header name \":authority\" is not an HTTP "
	    "token"),
	BAD("five conditions",
	    VS_HEAD "  http:\n  - match:\n    - headers: {a: {}, b: {}, c: {}, "
		    "d: {}}\n      uri: {prefix: /}\n" ROUTE_V1,
	    "vs.yaml:11:12: ", "more than 4 conditions in one match block"),
	BAD("five match blocks",
	    VS_HEAD
	    "  http:\n  - match:\n    - uri: {prefix: /a}\n"
	    "    - uri: {prefix: /b}\n    - uri: {prefix: /c}\n"
	    "    - uri: {prefix: /d}\n    - uri: {prefix: /e}\n" ROUTE_V1
	    "  - route: [{destination: {host: customers, subset: "
	    "v1}}]\n",
	    "vs.yaml:10:5: ", "5 match blocks in one rule, at most 4"),
	BAD("no default route",
	    VS_HEAD "  http:\n  - match:\n    - uri: {prefix: /a}\n" ROUTE_V1,
	    "vs.yaml:9:3: ",
	    "VirtualService default/x: every http rule has match conditions; "
	    "add a last rule without match (the default route)"),
	/* Routes. */
	BAD("weights sum to 90",
	    VS_HEAD "  http:\n  - route:\n    - destination: {host: "
		    "customers, subset: v1}\n      weight: 80\n"
		    "    - destination: {host: customers, subset: v2}\n"
		    "      weight: 10\n",
	    "vs.yaml:10:5: ", "route weights sum to 90, must be 100"),
	BAD("unknown subset",
	    VS_HEAD "  http:\n  - route:\n    - destination:\n"
		    "        host: customers\n        subset: v3\n",
	    "vs.yaml:12:17: ",
	    "subset v3 is not defined by DestinationRule default/customers "
	    "(it defines v1, v2)"),
	BAD("no subset with a DestinationRule",
	    VS_HEAD "  http:\n  - route:\n    - destination:\n"
		    "        host: customers\n",
	    "vs.yaml:11:15: ",
	    "destination names no subset, but "
	    "DestinationRule default/customers defines"),
	BAD("cross-host destination",
	    VS_HEAD "  http:\n  - route:\n    - destination:\n"
		    "        host: ratings\n        subset: v1\n",
	    "vs.yaml:11:15: ", "routes to another host are not supported"),
	BAD("destination port not of the host",
	    VS_HEAD "  http:\n  - route:\n    - destination:\n"
		    "        host: customers\n        subset: v1\n"
		    "        port: {number: 8080}\n",
	    "vs.yaml:13:24: ",
	    "port 8080 is not a TCP port of host "
	    "customers.default.svc.cluster.local"),
	BAD("two ports in one route",
	    VS_HEAD "  http:\n  - route:\n    - destination: {host: customers,"
		    " subset: v1, port: {number: 80}}\n      weight: 50\n"
		    "    - destination: {host: customers, subset: v2, port: "
		    "{number: 81}}\n      weight: 50\n",
	    "vs.yaml:12:65: ",
	    "destinations of one route name different "
	    "ports (80 and 81)"),
	BAD("undefined host",
	    "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
	    "metadata: {name: x}\nspec:\n  hosts: [ratings]\n"
	    "  http: [{route: [{destination: {host: ratings}}]}]\n",
	    "vs.yaml:5:11: ",
	    "VirtualService default/x: host "
	    "ratings.default.svc.cluster.local is not "
	    "defined by any ServiceEntry or Service"),
	BAD("two VirtualServices for a host",
	    "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
	    "metadata: {name: a}\nspec:\n  hosts: [customers]\n"
	    "  http: [{route: [{destination: {host: customers, subset: "
	    "v1}}]}]\n"
	    "---\napiVersion: networking.istio.io/v1beta1\n"
	    "kind: VirtualService\nmetadata: {name: b}\nspec:\n"
	    "  hosts: [customers.default.svc.cluster.local]\n"
	    "  http: [{route: [{destination: {host: customers, subset: "
	    "v1}}]}]\n",
	    "vs.yaml:12:11: ",
	    "VirtualService default/b: host "
	    "customers.default.svc.cluster.local already "
	    "has VirtualService default/a (at "
	    "vs.yaml:3:18)"),
	BAD("same object twice",
	    "apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
	    "metadata: {name: customers}\nspec:\n  hosts: [customers]\n"
	    "  http: [{route: [{destination: {host: customers, subset: "
	    "v1}}]}]\n---\n" CUSTOMERS_VS_HEAD
	    "  - route: [{destination: {host: customers, subset: v1}}]\n",
	    "vs.yaml:11:9: ",
	    "VirtualService default/customers defined twice "
	    "(also at vs.yaml:3:18)"),
	/* DestinationRules. */
	BAD_DR("two DestinationRules for a host", customers_dr,
	       "apiVersion: networking.istio.io/v1beta1\n"
	       "kind: DestinationRule\nmetadata: {name: other}\n"
	       "spec: {host: customers}\n",
	       "vs.yaml:4:14: ",
	       "DestinationRule default/other: host "
	       "customers.default.svc.cluster.local already "
	       "has DestinationRule default/customers"),
	BAD_DR("nine subsets",
	       "apiVersion: networking.istio.io/v1beta1\n"
	       "kind: DestinationRule\nmetadata: {name: many}\n"
	       "spec:\n  host: customers\n  subsets:\n"
	       "  - {name: s1}\n  - {name: s2}\n  - {name: s3}\n"
	       "  - {name: s4}\n  - {name: s5}\n  - {name: s6}\n"
	       "  - {name: s7}\n  - {name: s8}\n  - {name: s9}\n",
	       customers_vs_all_v1, "dr.yaml:15:5: ",
	       "DestinationRule default/many: 9 subsets, at most 8"),
	BAD_DR("subset defined twice",
	       "apiVersion: networking.istio.io/v1beta1\n"
	       "kind: DestinationRule\nmetadata: {name: d}\n"
	       "spec:\n  host: customers\n  subsets:\n"
	       "  - {name: v1}\n  - {name: v1}\n",
	       customers_vs_all_v1, "dr.yaml:8:12: ",
	       "subset v1 defined "
	       "twice"),
	BAD_DR("label value not a string",
	       "apiVersion: networking.istio.io/v1beta1\n"
	       "kind: DestinationRule\nmetadata: {name: d}\n"
	       "spec:\n  host: customers\n  subsets:\n"
	       "  - {name: v1, labels: {version: 1}}\n",
	       customers_vs_all_v1, "dr.yaml:7:34: ",
	       "labels.version must be a string, got 1; quote it"),
	BAD_DR("useSourceIp not a boolean",
	       "apiVersion: networking.istio.io/v1beta1\n"
	       "kind: DestinationRule\nmetadata: {name: d}\n"
	       "spec:\n  host: customers\n  trafficPolicy:\n"
	       "    loadBalancer: {consistentHash: {useSourceIp: yes}}\n",
	       customers_vs_all_v1,
	       "dr.yaml:7:50: ", "useSourceIp must be true or false, got yes"),
	/* Where services live. */
	BAD_SVC("headless service", SVC_HEAD "  clusterIP: None\n",
		"svc.yaml:7:14: ",
		"Service default/customers is headless (clusterIP: None); "
		"veer needs a cluster IP (needed by DestinationRule "
		"default/customers at dr.yaml:6:9)"),
	BAD_SVC("no cluster IP", SVC_HEAD, "svc.yaml:5:3: ",
		"Service default/customers: spec.clusterIP is required"),
	BAD_SVC("bad IPv6 cluster IP",
		SVC_HEAD "  clusterIPs: [10.96.0.20, \"fd00::zz\"]\n",
		"svc.yaml:7:28: ",
		"clusterIPs must be an IPv4 or IPv6 "
		"address, got \"fd00::zz\""),
	BAD_SVC("two IPv4 cluster IPs",
		SVC_HEAD "  clusterIPs: [10.96.0.20, 10.96.0.21]\n",
		"svc.yaml:7:28: ", "at most one IPv4 and one IPv6 address"),
	BAD_SVC("named targetPort nowhere",
		"apiVersion: v1\nkind: Service\nmetadata: {name: customers}\n"
		"spec:\n  clusterIP: 10.96.0.20\n  selector: {app: c}\n"
		"  ports: [{port: 80, targetPort: web}]\n---\n"
		"apiVersion: v1\nkind: Pod\n"
		"metadata: {name: p, labels: {app: c}}\n"
		"spec: {containers: [{name: c, ports: [{name: http, "
		"containerPort: 80}]}]}\n"
		"status: {phase: Running, podIP: 10.1.1.1}\n",
		"svc.yaml:7:34: ",
		"targetPort \"web\" is not a container port "
		"(spec.containers[].ports[].name) of any "
		"selected Pod"),
	BAD_SVC("ServiceEntry without addresses",
		SE_HEAD "  resolution: STATIC\n", "svc.yaml:5:3: ",
		"ServiceEntry default/customers: spec.addresses is required "
		"(veer needs the VIP)"),
	BAD_SVC("ServiceEntry with DNS resolution",
		SE_HEAD "  addresses: [10.96.0.20]\n  resolution: DNS\n",
		"svc.yaml:8:15: ",
		"spec.resolution must be STATIC (veer needs "
		"endpoint addresses), got DNS"),
	BAD_SVC("ServiceEntry CIDR",
		SE_HEAD "  addresses: [10.96.0.0/24]\n  resolution: STATIC\n",
		"svc.yaml:7:15: ", "CIDR ranges are not supported"),
	BAD_SVC("ServiceEntry endpoints and selector",
		SE_HEAD "  addresses: [10.96.0.20]\n  resolution: STATIC\n"
			"  endpoints: [{address: 10.0.0.1}]\n"
			"  workloadSelector: {labels: {app: c}}\n",
		"svc.yaml:10:21: ",
		"endpoints and workloadSelector are "
		"mutually exclusive"),
	BAD_SVC("ServiceEntry endpoint hostname",
		SE_HEAD "  addresses: [10.96.0.20]\n  resolution: STATIC\n"
			"  endpoints: [{address: customers.example.com}]\n",
		"svc.yaml:9:25: ", "address must be an IPv4 or IPv6 address"),
	BAD_SVC("wildcard ServiceEntry host",
		"apiVersion: networking.istio.io/v1beta1\n"
		"kind: ServiceEntry\nmetadata: {name: w}\nspec:\n"
		"  hosts: [\"*.example.com\"]\n",
		"svc.yaml:5:11: ", "wildcard hosts are not supported here"),
	BAD_SVC("Service and ServiceEntry for one host",
		"apiVersion: v1\nkind: Service\nmetadata: {name: customers}\n"
		"spec: {clusterIP: 10.96.0.20, ports: [{port: 80}], "
		"selector: {app: c}}\n---\n" SE_HEAD
		"  addresses: [10.96.0.21]\n  resolution: STATIC\n",
		"svc.yaml:10:11: ",
		"duplicate host "
		"customers.default.svc.cluster.local (also "
		"defined at svc.yaml:3:18)"),
	BAD_SVC("VIP already used by the existing model",
		"apiVersion: v1\nkind: Service\nmetadata: {name: customers}\n"
		"spec: {clusterIP: 10.96.0.1, ports: [{port: 80}], "
		"selector: {app: c}}\n",
		"svc.yaml:4:19: ",
		"services existing and "
		"customers.default.svc.cluster.local both "
		"use VIP 10.96.0.1:80"),
};

static void test_bad_table(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *t = &bad_cases[i];
		struct file f[] = {
			{"svc.yaml", t->svc ? t->svc : customers_svc, 0},
			{"dr.yaml", t->dr ? t->dr : customers_dr, 0},
			{"vs.yaml", t->vs, t->vs_len},
		};

		expect_fail(t->label, f, 3, t->where, t->what);
	}
	CU_ASSERT(ARRAY_SIZE(bad_cases) >= 25);
}

/* ---- Generated inputs ---- */

static void expect_fail_vs(const char *label, const char *vs, size_t len,
			   const char *where, const char *what)
{
	struct file f[] = {
		{"svc.yaml", customers_svc, 0},
		{"dr.yaml", customers_dr, 0},
		{"vs.yaml", vs, len},
	};

	expect_fail(label, f, 3, where, what);
}

static void test_too_many_rules(void)
{
	struct veer_model m;
	struct text t;
	char err[ERR_LEN] = "";
	int i;

	/* 16 header rules and the default: the limit, accepted. */
	for (int extra = 0; extra < 2; extra++) {
		text_open(&t);
		fputs(VS_HEAD "  http:\n", t.f);
		for (i = 0; i < VEER_MAX_RULES + extra; i++)
			fprintf(t.f,
				"  - match: [{headers: {x-n: {exact: \"%d\"}}}]"
				"\n    route: [{destination: {host: customers, "
				"subset: v2}}]\n",
				i);
		fputs("  - route: [{destination: {host: customers, subset: "
		      "v1}}]\n",
		      t.f);
		text_close(&t);
		if (extra) {
			/* Rule 17 starts on line 9 + 2 * 16. */
			expect_fail_vs("17 rules", t.buf, t.len,
				       "vs.yaml:41:5: ",
				       "service customers.default.svc.cluster."
				       "local: more than 16 http rules with "
				       "match conditions (VEER_MAX_RULES)");
		} else {
			struct file f[] = {
				{"svc.yaml", customers_svc, 0},
				{"dr.yaml", customers_dr, 0},
				{"vs.yaml", t.buf, t.len},
			};

			veer_model_init(&m);
			UNIT_CHECK(load_ns(f, 3, NULL, &m, NULL, err,
					   sizeof(err)) == 0,
				   "%s", err);
			CU_ASSERT(m.count == 1 &&
				  m.services[0].rule_count == VEER_MAX_RULES);
			veer_model_free(&m);
		}
		free(t.buf);
	}
}

/*
 * A Service's endpoints do not depend on the order its Pods come in: the
 * store hands them back in its own order (by shard), and a command that
 * changes nothing about a Service must not reorder its backends (that
 * rewrites the service and moves new connections).
 */
static void test_endpoint_order(void)
{
	static const char svc[] =
		"apiVersion: v1\nkind: Service\n"
		"metadata: {name: web}\n"
		"spec: {clusterIP: 10.96.0.10, selector: {app: web},\n"
		"  ports: [{port: 80, targetPort: 8080}]}\n";
	static const char *const pods[] = {
		"10.1.0.3", "10.1.0.1", "10.1.0.20", "10.1.0.2", "10.1.0.10",
	};
	struct veer_model first, m;
	char err[ERR_LEN] = "";
	unsigned int order;
	struct text t;
	size_t i, k;

	veer_model_init(&first);
	for (order = 0; order < 2; order++) {
		struct file f[1] = {{"pods.yaml", NULL, 0}};

		text_open(&t);
		fputs(svc, t.f);
		for (k = 0; k < ARRAY_SIZE(pods); k++) {
			i = order ? ARRAY_SIZE(pods) - 1 - k : k;
			fprintf(t.f,
				"---\napiVersion: v1\nkind: Pod\n"
				"metadata: {name: p%zu, labels: {app: web}}\n"
				"status: {phase: Running, podIP: %s}\n",
				i, pods[i]);
		}
		text_close(&t);
		f[0].yaml = t.buf;
		f[0].len = t.len;
		veer_model_init(&m);
		UNIT_CHECK(load_ns(f, 1, NULL, &m, NULL, err, sizeof(err)) == 0,
			   "%s", err);
		free(t.buf);
		CU_ASSERT_EQUAL_FATAL(m.count, 1);
		CU_ASSERT_EQUAL_FATAL(m.services[0].subsets[0].backend_count,
				      ARRAY_SIZE(pods));
		if (!order) {
			first = m;
			continue;
		}
		UNIT_CHECK(
			!memcmp(first.services[0].subsets[0].backends,
				m.services[0].subsets[0].backends,
				ARRAY_SIZE(pods) * sizeof(struct veer_backend)),
			"the Pods' order changed the backends' order");
		veer_model_free(&m);
	}
	veer_model_free(&first);
}

static void test_huge_inputs(void)
{
	struct file dump[1] = {{"dump.yaml", NULL, 0}};
	char err[ERR_LEN] = "";
	struct veer_model m;
	struct text t;
	int i;

	/* One object over the limit, however the input is cut. */
	text_open(&t);
	fputs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n"
	      "data:\n  k: ",
	      t.f);
	for (i = 0; i <= VEER_YAML_MAX_BYTES / 64; i++)
		fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		      "x"
		      "xxxxxxx",
		      t.f);
	fputs("\n", t.f);
	text_close(&t);
	expect_fail_vs("object over the size limit", t.buf, t.len, "vs.yaml:5:",
		       "an object larger than the limit of 16777216 bytes");
	free(t.buf);

	/*
	 * A dump larger than that limit, of small objects, loads: a List is
	 * read item by item, each Pod kept as far as veer reads it.
	 */
	text_open(&t);
	fputs("apiVersion: v1\nitems:\n"
	      "- apiVersion: v1\n  kind: Service\n"
	      "  metadata: {name: web, namespace: default}\n"
	      "  spec: {clusterIP: 10.96.0.10, selector: {app: web},\n"
	      "    ports: [{port: 80, targetPort: 8080}]}\n",
	      t.f);
	for (i = 0; i < 40000; i++) {
		fprintf(t.f,
			"- apiVersion: v1\n  kind: Pod\n"
			"  metadata:\n    name: p%d\n    namespace: default\n"
			"    labels: {app: %s}\n    managedFields:\n",
			i, i < 2 ? "web" : "other");
		for (int j = 0; j < 4; j++)
			fprintf(t.f,
				"    - {manager: kubelet, operation: Update, "
				"fieldsV1: {\"f:status\": {\"f:conditions\": "
				"{\"k:{\\\"type\\\":\\\"Ready\\\"}\": "
				"{}}}}}\n");
		fprintf(t.f, "  status: {phase: Running, podIP: 10.%d.%d.%d}\n",
			1 + i / 65536, i / 256 % 256, i % 256);
	}
	fputs("kind: List\nmetadata: {resourceVersion: \"\"}\n", t.f);
	text_close(&t);
	CU_ASSERT(t.len > VEER_YAML_MAX_BYTES);
	dump[0].yaml = t.buf;
	dump[0].len = t.len;
	veer_model_init(&m);
	UNIT_CHECK(load_ns(dump, 1, NULL, &m, NULL, err, sizeof(err)) == 0,
		   "a %zu-byte dump: %s", t.len, err);
	CU_ASSERT_EQUAL(m.count, 1);
	if (m.count == 1)
		CU_ASSERT_EQUAL(m.services[0].subsets[0].backend_count, 2);
	veer_model_free(&m);
	free(t.buf);
	/* Items are read as a List's before the kind that says it is one. */
	expect_fail_vs("items outside a List",
		       "apiVersion: networking.istio.io/v1\n"
		       "kind: VirtualService\n"
		       "metadata: {name: customers}\n"
		       "items: []\n"
		       "spec: {hosts: [customers]}\n",
		       0, "vs.yaml:4:8: ",
		       "items: only a List (kind: List, ServiceList, ...) "
		       "holds items");

	/* A million and one nodes in 2 MB. */
	text_open(&t);
	fputs("[", t.f);
	for (i = 0; i < VEER_YAML_MAX_NODES; i++)
		fputs("0,", t.f);
	fputs("0]\n", t.f);
	text_close(&t);
	expect_fail_vs("too many nodes", t.buf, t.len,
		       "vs.yaml:1:2000000: ", "more than 1000000 YAML nodes");
	free(t.buf);

	/* 65 levels; libyaml itself must not recurse on it either. */
	text_open(&t);
	for (i = 0; i < VEER_YAML_MAX_DEPTH + 1; i++)
		fputs("[", t.f);
	for (i = 0; i < VEER_YAML_MAX_DEPTH + 1; i++)
		fputs("]", t.f);
	fputs("\n", t.f);
	text_close(&t);
	expect_fail_vs("too deep", t.buf, t.len,
		       "vs.yaml:1:65: ", "nested deeper than 64 levels");
	free(t.buf);

	/* A 100 000-key mapping with one key repeated: found by sorting. */
	text_open(&t);
	fputs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\n"
	      "data:\n",
	      t.f);
	for (i = 0; i < 100000; i++)
		fprintf(t.f, "  k%d: v\n", i);
	fputs("  k500: again\n", t.f);
	text_close(&t);
	expect_fail_vs("repeated key in a large mapping", t.buf, t.len,
		       "vs.yaml:100005:3: ",
		       "key \"k500\" given twice (first at line 505");
	free(t.buf);
}

/* Small inputs that would multiply into huge models. */
static void test_amplification(void)
{
	struct text t;
	int i;

	/* 300 addresses x 256 ports: 76 800 entries, over 65 536. */
	text_open(&t);
	fputs("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
	      "metadata: {name: wide}\nspec:\n  hosts: [wide.example.com]\n"
	      "  resolution: STATIC\n  addresses:\n",
	      t.f);
	for (i = 0; i < 300; i++)
		fprintf(t.f, "  - 10.97.%d.%d\n", i / 250, i % 250 + 1);
	fputs("  ports:\n", t.f);
	for (i = 0; i < 256; i++)
		fprintf(t.f, "  - {number: %d, name: tcp-%d}\n", 20000 + i, i);
	text_close(&t);
	{
		struct file f[] = {{"wide.yaml", t.buf, t.len}};

		expect_fail("too many entries", f, 1, "wide.yaml:5:11: ",
			    "more than 65536 service entries in all");
	}
	free(t.buf);

	/* 256 endpoints in 8 subsets on 520 ports: over 2^20 backends. */
	text_open(&t);
	fputs("apiVersion: networking.istio.io/v1\nkind: ServiceEntry\n"
	      "metadata: {name: deep}\nspec:\n  hosts: [deep.example.com]\n"
	      "  resolution: STATIC\n  addresses: [10.98.0.1]\n  ports:\n",
	      t.f);
	for (i = 0; i < 520; i++)
		fprintf(t.f, "  - {number: %d, name: tcp-%d}\n", 20000 + i, i);
	fputs("  endpoints:\n", t.f);
	for (i = 0; i < 256; i++)
		fprintf(t.f, "  - {address: 10.99.%d.%d, labels: {app: d}}\n",
			i / 250, i % 250 + 1);
	fputs("---\napiVersion: networking.istio.io/v1\n"
	      "kind: DestinationRule\nmetadata: {name: deep}\nspec:\n"
	      "  host: deep.example.com\n  subsets:\n",
	      t.f);
	for (i = 0; i < VEER_MAX_SUBSETS; i++)
		fprintf(t.f, "  - {name: s%d, labels: {app: d}}\n", i);
	/* Subsets count only once a VirtualService routes to them. */
	fputs("---\napiVersion: networking.istio.io/v1\n"
	      "kind: VirtualService\nmetadata: {name: deep}\nspec:\n"
	      "  hosts: [deep.example.com]\n  tcp:\n  - route:\n"
	      "    - destination: {host: deep.example.com, subset: s0}\n",
	      t.f);
	text_close(&t);
	{
		struct file f[] = {{"deep.yaml", t.buf, t.len}};

		expect_fail("too many backends", f, 1,
			    "deep.yaml:", "more than 1048576 backends in all");
	}
	free(t.buf);
}

/* ---- Files and directories ---- */

static char tmpdir[TMP_PATH_MAX];

static int istio_suite_init(void)
{
	const char *base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/veer-istio-XXXXXX",
		 base && *base ? base : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static void write_at(const char *dir, const char *name, const char *data)
{
	char path[TMP_PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_FATAL(fputs(data, f) >= 0);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

/*
 * Removes a scratch directory and everything in it. Runs in the suite
 * cleanup, outside any test: no CU_ASSERT here.
 */
static void remove_tree(const char *dir)
{
	char path[TMP_PATH_MAX * 2];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(path);
		else if (unlink(path) < 0)
			perror(path);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		perror(dir);
}

static int istio_suite_clean(void)
{
	remove_tree(tmpdir);
	return 0;
}

static void test_directory(void)
{
	static const char vs_json[] =
		"{\"apiVersion\": \"networking.istio.io/v1beta1\",\n"
		" \"kind\": \"VirtualService\",\n"
		" \"metadata\": {\"name\": \"customers\"},\n"
		" \"spec\": {\"hosts\": [\"customers\"], \"http\": "
		"[{\"route\": "
		"[{\"destination\": {\"host\": \"customers\", \"subset\": "
		"\"v1\"}, \"weight\": 90}, {\"destination\": {\"host\": "
		"\"customers\", \"subset\": \"v2\"}, \"weight\": 10}]}]}}\n";
	static const char native[] =
		"services:\n"
		"  - name: legacy\n"
		"    vip: 10.96.1.1\n"
		"    port: 8080\n"
		"    subsets: [{name: only, weight: 100, backends: "
		"[\"10.0.1.1:80\"]}]\n";
	char dir[TMP_PATH_MAX * 2], sub[TMP_PATH_MAX * 3], *got;
	char want[TMP_PATH_MAX * 12];
	char err[ERR_LEN] = "", other[TMP_PATH_MAX * 2];
	const char *paths[2];
	struct veer_model m;
	struct notes notes;

	snprintf(dir, sizeof(dir), "%s/scenario", tmpdir);
	CU_ASSERT_FATAL(mkdir(dir, 0700) == 0);
	/* Resolved together, whatever the order of the files. */
	write_at(dir, "a-vs.json", vs_json);
	write_at(dir, "b-dr.yml", customers_dr);
	write_at(dir, "c-native.yaml", native);
	write_at(dir, "d-svc.yaml", customers_svc);
	write_at(dir, "empty.yaml", "# nothing yet\n");
	/* Not read: other suffixes, hidden files, subdirectories. */
	write_at(dir, "README.md", "services: [broken\n");
	write_at(dir, ".d-svc.yaml.swp", "services: [broken\n");
	write_at(dir, "notes.yaml.bak", "services: [broken\n");
	snprintf(sub, sizeof(sub), "%s/nested.yaml", dir);
	CU_ASSERT_FATAL(mkdir(sub, 0700) == 0);
	write_at(sub, "x.yaml", "services: [broken\n");

	veer_model_init(&m);
	paths[0] = dir;
	memset(&notes, 0, sizeof(notes));
	UNIT_CHECK(veer_load_paths(paths, 1, NULL, &m, collect_note, &notes,
				   err, sizeof(err)) == 0,
		   "%s", err);
	got = dump(&m);
	snprintf(want, sizeof(want),
		 "legacy host= vip=10.96.1.1:8080 flags=0 "
		 "at=%s/c-native.yaml:2:5\n"
		 "  subset only weight=100 at=%s/c-native.yaml:5:15: "
		 "10.0.1.1:80\n"
		 "customers.default.svc.cluster.local"
		 " host=customers.default.svc.cluster.local vip=10.96.0.20:80"
		 " flags=2 at=%s/d-svc.yaml:30:7\n"
		 "  subset v1 weight=90 at=%s/b-dr.yml:8:7: 10.10.2.2:3000\n"
		 "  subset v2 weight=10 at=%s/b-dr.yml:11:7: 10.10.3.2:3000\n",
		 dir, dir, dir, dir, dir);
	UNIT_CHECK(!strcmp(got, want), "--- got\n%s--- want\n%s", got, want);
	free(got);
	expect_note("directory", &notes, "skipped Deployment");
	veer_model_free(&m);

	/* An error names the file inside the directory; model unchanged. */
	write_at(dir, "e-bad.yaml", VS_HEAD "  http: []\n");
	unit_load_base(&m);
	snprintf(want, sizeof(want), "%s/e-bad.yaml:6:3: ", dir);
	UNIT_CHECK(veer_load_paths(paths, 1, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == -1,
		   "accepted");
	UNIT_CHECK(!strncmp(err, want, strlen(want)), "%s", err);
	CU_ASSERT(m.count == 1);
	veer_model_free(&m);
	snprintf(sub, sizeof(sub), "%s/e-bad.yaml", dir);
	CU_ASSERT(unlink(sub) == 0);

	/* A directory and a directory with nothing to read. */
	snprintf(other, sizeof(other), "%s/empty-dir", tmpdir);
	CU_ASSERT_FATAL(mkdir(other, 0700) == 0);
	paths[1] = other;
	unit_load_base(&m);
	UNIT_CHECK(veer_load_paths(paths, 2, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == -1,
		   "accepted");
	UNIT_CHECK(strstr(err, "no *.yaml, *.yml or *.json files"), "%s", err);
	CU_ASSERT(m.count == 1);
	veer_model_free(&m);
}

static void test_files_and_stdin(void)
{
	char svc[TMP_PATH_MAX * 2], dr[TMP_PATH_MAX * 2], err[ERR_LEN] = "";
	const char *paths[3];
	struct veer_model m;
	int fds[2], saved;

	snprintf(svc, sizeof(svc), "%s/svc.yaml", tmpdir);
	snprintf(dr, sizeof(dr), "%s/dr.yaml", tmpdir);
	write_at(tmpdir, "svc.yaml", customers_svc);
	write_at(tmpdir, "dr.yaml", customers_dr);

	/* `kubectl get vs -o yaml | veer apply -f svc.yaml -f dr.yaml -f -` */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_FATAL(
		write(fds[1], customers_vs_50, strlen(customers_vs_50)) ==
		(ssize_t)strlen(customers_vs_50));
	CU_ASSERT_FATAL(close(fds[1]) == 0);
	saved = dup(STDIN_FILENO);
	CU_ASSERT_FATAL(saved >= 0 && dup2(fds[0], STDIN_FILENO) >= 0);
	paths[0] = svc;
	paths[1] = dr;
	paths[2] = "-";
	veer_model_init(&m);
	UNIT_CHECK(veer_load_paths(paths, 3, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_FATAL(dup2(saved, STDIN_FILENO) >= 0);
	close(saved);
	close(fds[0]);
	CU_ASSERT(m.count == 1 && m.services[0].subsets[1].weight == 50);
	veer_model_free(&m);

	/* Missing file; no inputs at all. */
	paths[2] = "/nonexistent/vs.yaml";
	unit_load_base(&m);
	UNIT_CHECK(veer_load_paths(paths, 3, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == -1 &&
			   strstr(err, "/nonexistent/vs.yaml: cannot open"),
		   "%s", err);
	UNIT_CHECK(veer_load_paths(paths, 0, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == -1 &&
			   strstr(err, "no input files"),
		   "%s", err);
	/* Only objects veer skips: nothing to apply is an error. */
	CU_ASSERT(m.count == 1);
	veer_model_free(&m);
	{
		struct file f[] = {{"ns.yaml",
				    "apiVersion: v1\nkind: "
				    "Namespace\nmetadata: {name: "
				    "shop}\n",
				    0}};

		expect_fail("only skipped kinds", f, 1,
			    "ns.yaml: ", "no services defined (1 object read;");
	}
	/* NULL and tiny error buffers are never overrun. */
	{
		const char *names[] = {"t.yaml"}, *bufs[] = {"x: ["};
		size_t lens[] = {4};
		char small[8];

		veer_model_init(&m);
		CU_ASSERT(veer_load_buffers(names, bufs, lens, 1, NULL, &m,
					    NULL, NULL, NULL, 0) == -1);
		memset(small, 'x', sizeof(small));
		CU_ASSERT(veer_load_buffers(names, bufs, lens, 1, NULL, &m,
					    NULL, NULL, small, 5) == -1);
		CU_ASSERT_STRING_EQUAL(small, "t.ya");
		CU_ASSERT(small[5] == 'x');
		CU_ASSERT(m.count == 0);
		veer_model_free(&m);
	}
	CU_ASSERT(unlink(svc) == 0 && unlink(dr) == 0);
}

/* ---- The example scenarios (examples/, written alongside) ---- */

static bool has_virtual_service(const char *path)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, "kind: VirtualService") != NULL ||
			strstr(line, "\"kind\": \"VirtualService\"") != NULL;
	fclose(f);
	return found;
}

static bool example_file(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && ((n > 5 && !strcmp(name + n - 5, ".yaml")) ||
				  (n > 4 && !strcmp(name + n - 4, ".yml")) ||
				  (n > 5 && !strcmp(name + n - 5, ".json")));
}

/*
 * Each examples/<scenario>/ holds where the service lives, its
 * DestinationRule, and alternative VirtualServices (one step of the lab
 * each, same resource name): every alternative must load with the rest.
 */
static void load_example_dir(const char *dir)
{
	char *base[32], *alts[32], err[ERR_LEN];
	const char *paths[33];
	size_t nbase = 0, nalt = 0, i, j;
	struct dirent *de;
	DIR *d = opendir(dir);

	CU_ASSERT_PTR_NOT_NULL_FATAL(d);
	while ((de = readdir(d))) {
		char path[TMP_PATH_MAX * 2];

		if (!example_file(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (has_virtual_service(path)) {
			if (nalt < ARRAY_SIZE(alts))
				alts[nalt++] = strdup(path);
		} else if (nbase < ARRAY_SIZE(base)) {
			base[nbase++] = strdup(path);
		}
	}
	closedir(d);
	for (i = 0; i < (nalt ? nalt : 1); i++) {
		struct veer_model m;

		for (j = 0; j < nbase; j++)
			paths[j] = base[j];
		if (nalt)
			paths[nbase] = alts[i];
		veer_model_init(&m);
		UNIT_CHECK(veer_load_paths(paths, nbase + (nalt ? 1 : 0), NULL,
					   &m, NULL, NULL, err,
					   sizeof(err)) == 0,
			   "%s with %s: %s", dir, nalt ? alts[i] : "-", err);
		CU_ASSERT(m.count > 0);
		veer_model_free(&m);
	}
	for (i = 0; i < nbase; i++)
		free(base[i]);
	for (i = 0; i < nalt; i++)
		free(alts[i]);
}

static void test_examples(void)
{
	struct dirent *de;
	DIR *d = opendir("examples");

	/* Run from the repository root (tests/run.sh does); else nothing. */
	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[TMP_PATH_MAX];
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "examples/%s", de->d_name);
		if (stat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			load_example_dir(path);
		} else if (example_file(de->d_name)) {
			/* A file of its own (the native example). */
			const char *paths[] = {path};
			struct veer_model m;
			char err[ERR_LEN];

			veer_model_init(&m);
			UNIT_CHECK(veer_load_paths(paths, 1, NULL, &m, NULL,
						   NULL, err, sizeof(err)) == 0,
				   "%s: %s", path, err);
			veer_model_free(&m);
		}
	}
	closedir(d);
}

/* ---- yaml_tree on its own ---- */

static void test_yaml_tree(void)
{
	static const char doc[] = "a: 1\n"
				  "b: [x, \"y\", ~, true, 1.5, 0x1F, !!str 7]\n"
				  "---\n"
				  "---\n"
				  "c: {d: ''}\n";
	struct veer_ytree t;
	const struct veer_ynode *b, *c;
	char err[ERR_LEN];

	CU_ASSERT_FATAL(veer_ytree_parse(&t, "t.yaml", doc, strlen(doc), err,
					 sizeof(err)) == 0);
	CU_ASSERT_EQUAL(t.doc_count, 3);
	CU_ASSERT(veer_ynode_is_null(t.docs[1]));
	b = veer_ynode_get(t.docs[0], "b");
	CU_ASSERT_FATAL(b && b->type == VEER_YNODE_SEQ && b->len == 7);
	CU_ASSERT(b->line == 2 && b->column == 4);
	CU_ASSERT(b->items[0]->kind == VEER_YSCALAR_STR && b->items[0]->plain);
	CU_ASSERT(b->items[1]->kind == VEER_YSCALAR_STR && !b->items[1]->plain);
	CU_ASSERT(b->items[2]->kind == VEER_YSCALAR_NULL);
	CU_ASSERT(b->items[3]->kind == VEER_YSCALAR_BOOL);
	CU_ASSERT(b->items[4]->kind == VEER_YSCALAR_FLOAT);
	CU_ASSERT(b->items[5]->kind == VEER_YSCALAR_INT);
	CU_ASSERT(b->items[6]->kind == VEER_YSCALAR_STR);
	CU_ASSERT(veer_ynode_is(veer_ynode_get(t.docs[0], "a"), "1"));
	c = veer_ynode_get(t.docs[2], "c");
	CU_ASSERT(c && c->line == 5 && c->column == 4 &&
		  veer_ynode_is(veer_ynode_get(c, "d"), ""));
	CU_ASSERT(veer_ynode_get(c, "missing") == NULL);
	CU_ASSERT(t.node_count == 18);
	veer_ytree_free(&t);

	/* A failed parse leaves an empty tree that frees cleanly. */
	CU_ASSERT(veer_ytree_parse(&t, "t.yaml", "a: [", 4, err, sizeof(err)) ==
		  -1);
	CU_ASSERT(t.doc_count == 0 && !strncmp(err, "t.yaml:", 7));
	veer_ytree_free(&t);
}

/* In the veer_istio_object_id block at the end of this file. */
static void test_object_id(void);

int unit_istio_suite(void)
{
	static const struct unit_test tests[] = {
		{"customers: all v1, debug header, 90/10, 50/50, all v2",
		 test_customers},
		{"purchase-history: ServiceEntry + WorkloadEntry, 80/20, 50/50",
		 test_purchase_history},
		{"tcp-echo: Istio's sample files, 100/0 and 80/20",
		 test_tcp_echo},
		{"tcp-echo: routes for in-mesh clients",
		 test_tcp_echo_for_mesh},
		{"product: X-group header rule, named targetPort",
		 test_product},
		{"dual-stack Service, pods skipped", test_dual_stack},
		{"header/uri rule limits noted once per load", test_rule_notes},
		{"ServiceEntry endpoints, rules, affinity",
		 test_service_entry_endpoints},
		{"JSON, List kinds, null spellings", test_json_and_variants},
		{"route details", test_route_details},
		{"native and Istio files together", test_mixed_and_append},
		{"malformed inputs: message, position, model unchanged",
		 test_bad_table},
		{"rule limit", test_too_many_rules},
		{"size, node, depth limits", test_huge_inputs},
		{"endpoints in the same order whatever the Pods' order",
		 test_endpoint_order},
		{"entry and backend caps", test_amplification},
		{"directory loading", test_directory},
		{"files, stdin, errors", test_files_and_stdin},
		{"examples/ scenarios load", test_examples},
		{"yaml_tree", test_yaml_tree},
		/* veer_istio_object_id block */
		{"object identity without building", test_object_id},
	};

	return unit_add_suite("istio", istio_suite_init, istio_suite_clean,
			      tests, ARRAY_SIZE(tests));
}

/* ==== veer_istio_object_id: one document's identity (issue 13) ==== */

#include "istio.h"

static const char id_docs[] =
	"apiVersion: networking.istio.io/v1\n" /* doc 0, line 1 */
	"kind: VirtualService\n"
	"metadata:\n"
	"  name: reviews\n"
	"---\n"
	"apiVersion: networking.istio.io/v1beta1\n" /* doc 1, line 6 */
	"kind: DestinationRule\n"
	"metadata: {name: reviews, namespace: prod}\n"
	"spec: {host: reviews}\n"
	"---\n"
	"apiVersion: v1\n" /* doc 2, line 11 */
	"kind: List\n"
	"items:\n"
	"- apiVersion: v1\n" /* line 14 */
	"  kind: Service\n"
	"  metadata: {name: customers, namespace: shop}\n"
	"- apiVersion: v1\n" /* line 17 */
	"  kind: Pod\n"
	"  metadata: {name: customers-v1-abc}\n"
	"---\n"
	"apiVersion: kustomize.config.k8s.io/v1beta1\n" /* doc 3 */
	"kind: Kustomization\n"
	"---\n" /* doc 4: empty */
	"---\n"
	"apiVersion: networking.istio.io/v1\n" /* doc 5, line 25 */
	"kind: VirtualService\n"
	"metadata: {namespace: prod}\n" /* line 27 */
	"---\n"
	"apiVersion: networking.istio.io/v2\n" /* doc 6, line 29 */
	"kind: ServiceEntry\n"
	"metadata: {name: api}\n"
	"---\n"
	"apiVersion: v1\n" /* doc 7, line 33 */
	"kind: PodList\n"
	"items: []\n";

/* The message veer_istio_add_tree gives for document i alone. */
static void add_tree_error(const struct veer_ytree *t, size_t i, char *err,
			   size_t errlen)
{
	struct veer_istio *ist = veer_istio_new("team-a");
	bool only[16] = {false};

	CU_ASSERT_FATAL(ist != NULL && t->doc_count <= 16);
	only[i] = true;
	CU_ASSERT(veer_istio_add_tree(ist, t, only, err, errlen) == -1);
	veer_istio_free(ist);
}

static void test_object_id(void)
{
	struct veer_istio_object_id id;
	struct veer_ytree t;
	char err[ERR_LEN], tree_err[ERR_LEN];
	size_t i;

	CU_ASSERT_FATAL(veer_ytree_parse(&t, "t.yaml", id_docs, strlen(id_docs),
					 err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(t.doc_count == 8);

	/* No namespace: the default one given; no spec needed. */
	CU_ASSERT(veer_istio_object_id(t.docs[0], "team-a", &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_OBJECT);
	CU_ASSERT_STRING_EQUAL(id.kind, "VirtualService");
	CU_ASSERT_STRING_EQUAL(id.ns, "team-a");
	CU_ASSERT_STRING_EQUAL(id.name, "reviews");
	CU_ASSERT(id.node == t.docs[0] && id.node->line == 1 &&
		  id.items == NULL);
	/* NULL or "": "default", as veer_istio_new. */
	CU_ASSERT(veer_istio_object_id(t.docs[0], NULL, &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_OBJECT);
	CU_ASSERT_STRING_EQUAL(id.ns, "default");
	CU_ASSERT(veer_istio_object_id(t.docs[0], "", &id, err, sizeof(err)) ==
		  VEER_ISTIO_DOC_OBJECT);
	CU_ASSERT_STRING_EQUAL(id.ns, "default");

	/* A namespace given wins. */
	CU_ASSERT(veer_istio_object_id(t.docs[1], "team-a", &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_OBJECT);
	CU_ASSERT_STRING_EQUAL(id.kind, "DestinationRule");
	CU_ASSERT_STRING_EQUAL(id.ns, "prod");
	CU_ASSERT(id.node->line == 6);

	/* A List: each item is an object of its own. */
	CU_ASSERT(veer_istio_object_id(t.docs[2], "team-a", &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_LIST);
	CU_ASSERT_FATAL(id.items != NULL && id.items->len == 2);
	CU_ASSERT(id.kind == NULL);
	{
		const struct veer_ynode *items = id.items;
		static const char *const want[][3] = {
			{"Service", "shop", "customers"},
			{"Pod", "team-a", "customers-v1-abc"},
		};

		for (i = 0; i < 2; i++) {
			UNIT_CHECK(veer_istio_object_id(items->items[i],
							"team-a", &id, err,
							sizeof(err)) ==
					   VEER_ISTIO_DOC_OBJECT,
				   "item %zu: %s", i, err);
			CU_ASSERT_STRING_EQUAL(id.kind, want[i][0]);
			CU_ASSERT_STRING_EQUAL(id.ns, want[i][1]);
			CU_ASSERT_STRING_EQUAL(id.name, want[i][2]);
			CU_ASSERT(id.node->line == 14 + 3 * i);
		}
	}

	/* Kinds veer skips, and empty documents. */
	CU_ASSERT(veer_istio_object_id(t.docs[3], "team-a", &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_SKIPPED);
	CU_ASSERT(id.kind == NULL && err[0] == '\0');
	CU_ASSERT(veer_istio_object_id(t.docs[4], "team-a", &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_SKIPPED);

	/* Errors: those of veer_istio_add_tree, word for word. */
	CU_ASSERT(veer_istio_object_id(t.docs[5], "team-a", &id, err,
				       sizeof(err)) == -1);
	CU_ASSERT_STRING_EQUAL(
		err, "t.yaml:27:11: VirtualService: metadata.name is required");
	add_tree_error(&t, 5, tree_err, sizeof(tree_err));
	CU_ASSERT_STRING_EQUAL(err, tree_err);
	CU_ASSERT(veer_istio_object_id(t.docs[6], "team-a", &id, err,
				       sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "t.yaml:29:") == err &&
		  strstr(err, "not supported for ServiceEntry"));
	add_tree_error(&t, 6, tree_err, sizeof(tree_err));
	CU_ASSERT_STRING_EQUAL(err, tree_err);

	/* An empty List has its (empty) items. */
	CU_ASSERT(veer_istio_object_id(t.docs[7], "team-a", &id, err,
				       sizeof(err)) == VEER_ISTIO_DOC_LIST);
	CU_ASSERT(id.items != NULL && id.items->len == 0);
	veer_ytree_free(&t);
}

/* ==== end of the veer_istio_object_id block ==== */

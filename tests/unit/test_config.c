// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * user/native.c and the front door's file reading (user/load.c): what
 * valid files turn into, and for malformed ones, that the error says what
 * and where, and that the model is left untouched. What the loader accepts
 * is validated as the planner would (veer_model_validate), so the model's
 * rules are checked here too.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "addr.h"
#include "load.h"
#include "unit.h"

#define ERR_LEN 1024
/* Scratch directory and file paths (TMPDIR may be long-ish). */
#define TMP_PATH_MAX 512
/* Past VEER_YAML_MAX_DEPTH (64), with the 4 levels around them. */
#define DEEP_LEVELS 70
/* Far past anything libyaml or the loader should recurse on. */
#define VERY_DEEP_LEVELS 10000

static bool services_equal(const struct veer_service_model *a,
			   const struct veer_service_model *b)
{
	unsigned int i;

	if (strcmp(a->name, b->name) ||
	    memcmp(&a->key, &b->key, sizeof(a->key)) || a->flags != b->flags ||
	    a->subset_count != b->subset_count ||
	    memcmp(&a->loc, &b->loc, sizeof(a->loc)))
		return false;
	for (i = 0; i < a->subset_count; i++) {
		const struct veer_subset_model *x = &a->subsets[i];
		const struct veer_subset_model *y = &b->subsets[i];

		if (strcmp(x->name, y->name) || x->weight != y->weight ||
		    x->backend_count != y->backend_count ||
		    memcmp(&x->loc, &y->loc, sizeof(x->loc)))
			return false;
		if (x->backend_count &&
		    memcmp(x->backends, y->backends,
			   x->backend_count * sizeof(*x->backends)))
			return false;
	}
	return true;
}

static bool models_equal(const struct veer_model *a, const struct veer_model *b)
{
	size_t i;

	if (a->count != b->count)
		return false;
	for (i = 0; i < a->count; i++)
		if (!services_equal(&a->services[i], &b->services[i]))
			return false;
	return true;
}

static void snapshot(const struct veer_model *m, struct veer_model *snap)
{
	size_t i;

	veer_model_init(snap);
	for (i = 0; i < m->count; i++)
		CU_ASSERT_FATAL(
			veer_model_copy_service(snap, &m->services[i]) == 0);
}

/* A file in veer native format: read by the front door, parsed natively. */
static int load_file(const char *path, struct veer_model *m, char *err,
		     size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (veer_load_read_file(path, &buf, &len, err, errlen) < 0)
		return -1;
	ret = veer_load_native_buffer(path, buf, len, m, err, errlen);
	free(buf);
	return ret;
}

/*
 * Loads buf as "t.yaml" over the base model and expects failure, of the
 * load or else of the validation the planner does next, with an error
 * starting with `where` ("t.yaml:L:C: ") and containing `what`. A failed
 * load leaves the model as it was.
 */
static void expect_fail(const char *label, const char *buf, size_t len,
			const char *where, const char *what)
{
	struct veer_model m, snap;
	char err[ERR_LEN];
	bool loaded;
	int ret;

	unit_load_base(&m);
	snapshot(&m, &snap);
	memset(err, 0, sizeof(err));
	ret = veer_load_native_buffer("t.yaml", buf, len, &m, err, sizeof(err));
	loaded = ret == 0;
	if (loaded)
		ret = veer_model_validate(&m, err, sizeof(err));
	UNIT_CHECK(ret == -1, "%s: accepted", label);
	UNIT_CHECK(!strncmp(err, where, strlen(where)),
		   "%s: \"%s\" is not at \"%s\"", label, err, where);
	UNIT_CHECK(strstr(err, what) != NULL, "%s: \"%s\" lacks \"%s\"", label,
		   err, what);
	UNIT_CHECK(!strchr(err, '\n'), "%s: multi-line error", label);
	UNIT_CHECK(loaded || models_equal(&m, &snap), "%s: model changed",
		   label);
	if (getenv("VEER_UNIT_VERBOSE"))
		fprintf(stderr, "\n    %-40s %s", label, err);
	veer_model_free(&snap);
	veer_model_free(&m);
}

/* The start of a service, so each case spells out only what differs. */
#define HEAD                                                                   \
	"services:\n"                                                          \
	"  - name: c\n"                                                        \
	"    vip: 10.96.0.10\n"                                                \
	"    port: 80\n"                                                       \
	"    subsets:\n"
/* Line 6 onwards: one subset, backends on line 8. */
#define SUB_V1(weight) "      - name: v1\n        weight: " weight "\n"
/*
 * A live subset needs backends (a loader check, made before the planner's
 * validation): the cases on the model's rules give them some.
 */
#define BACKENDS "        backends: [\"10.0.0.1:80\"]\n"
#define FLOW_V1 "{name: v1, weight: 100, backends: [\"10.0.0.1:80\"]}"

struct bad_case {
	const char *label;
	const char *yaml;
	const char *where;
	const char *what;
	size_t len; /* 0: strlen(yaml); set for inputs holding NUL bytes */
};

#define CASE(label_, yaml_, where_, what_)                                     \
	{                                                                      \
		.label = label_, .yaml = yaml_, .where = where_, .what = what_ \
	}
#define BINARY_CASE(label_, yaml_, where_, what_)                              \
	{                                                                      \
		.label = label_, .yaml = yaml_, .where = where_,               \
		.what = what_, .len = sizeof(yaml_) - 1                        \
	}

/* "Billion laughs": 10^9 backends, were the aliases expanded. */
static const char laughs_yaml[] =
	"services:\n"
	"  - name: c\n"
	"    vip: 10.96.0.10\n"
	"    port: 80\n"
	"    subsets:\n"
	"      - name: v1\n"
	"        weight: 100\n"
	"        backends: &a [\"10.0.0.1:1\", \"10.0.0.1:1\"]\n"
	"lol1: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	"lol2: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	"lol3: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	"lol4: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	"lol5: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	"lol6: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	"lol7: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
	"lol8: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n"
	"lol9: [*i, *i, *i, *i, *i, *i, *i, *i, *i, *i]\n";

static const struct bad_case bad_cases[] = {
	/* Syntax. */
	CASE("bad indentation",
	     "services:\n  - name: c\n     vip: 10.96.0.10\n",
	     "t.yaml:3:9: ", "mapping values are not allowed"),
	CASE("tab indentation", "services:\n  - name: c\n\tvip: 10.96.0.10\n",
	     "t.yaml:3:1: ", "tab"),
	CASE("unterminated quote", "services:\n  - name: \"c\n", "t.yaml:3:1: ",
	     "found unexpected end of stream (while scanning a quoted "
	     "scalar at line 2, column 11)"),
	CASE("unclosed flow list", HEAD "      - {name: v1, weight: 100\n",
	     "t.yaml:7:1: ", "did not find expected ',' or '}'"),
	CASE("tab before a list item", "services:\n\t- name: c\n",
	     "t.yaml:2:1: ", "tabs cannot indent YAML"),
	/* Encoding. */
	CASE("BOM, then invalid UTF-8",
	     "\xef\xbb\xbfservices:\n  - name: c\xff\n",
	     "t.yaml:2:12: ", "not valid UTF-8 at byte 24"),
	CASE("invalid UTF-8", "services:\n  - name: c\xff\n",
	     "t.yaml:2:12: ", "not valid UTF-8 at byte 21"),
	CASE("truncated UTF-8 sequence", "services:\n  - name: \xc3\xa9t\xc3",
	     "t.yaml:2:13: ", "not valid UTF-8"),
	BINARY_CASE("UTF-16 with BOM", "\xff\xfes\0e\0r\0",
		    "t.yaml:1:1: ", "the file must be UTF-8 text"),
	/* Refused YAML features. */
	CASE("billion laughs", laughs_yaml,
	     "t.yaml:8:19: ", "aliases are not supported"),
	CASE("alias", HEAD SUB_V1("100") "        backends: *a\n",
	     "t.yaml:8:19: ", "alias *a: aliases are not supported"),
	CASE("anchor", "services:\n  - name: &n c\n", "t.yaml:2:11: ",
	     "anchor &n: anchors and aliases are not supported"),
	CASE("explicit tag", "services:\n  - name: c\n    port: !!int 80\n",
	     "t.yaml:3:11: ", "tag !!int: explicit tags are not supported"),
	/* Shape. */
	CASE("top level is a list", "- services\n",
	     "t.yaml:1:1: ", "the top level must be a mapping, got a list"),
	CASE("top level is a scalar", "services\n", "t.yaml:1:1: ",
	     "the top level must be a mapping, got \"services\""),
	CASE("unknown top-level field", "services: []\nservice: []\n",
	     "t.yaml:2:1: ", "unknown field \"service\" at top level"),
	CASE("complex key", "? [a]\n: 1\n",
	     "t.yaml:1:3: ", "mapping keys must be strings, not lists"),
	CASE("services is a mapping", "services:\n  name: c\n",
	     "t.yaml:2:3: ", "services must be a list, got a mapping"),
	CASE("service is a scalar", "services:\n  - c\n",
	     "t.yaml:2:5: ", "service must be a mapping, got \"c\""),
	CASE("deep nesting in a field",
	     "services:\n  - name: "
	     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[c]]]]]]]"
	     "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
	     "t.yaml:2:11: ", "service name must be a string, got a list"),
	CASE("unknown field in service",
	     "services:\n  - name: c\n    vip: 10.96.0.10\n    prot: 80\n",
	     "t.yaml:4:5: ", "unknown field \"prot\" in service"),
	CASE("unknown field in subset",
	     HEAD "      - name: v1\n        wieght: 100\n",
	     "t.yaml:7:9: ", "unknown field \"wieght\" in subset"),
	CASE("repeated field",
	     "services:\n  - name: c\n    port: 80\n    port: 81\n",
	     "t.yaml:4:5: ", "key \"port\" given twice (first at line 3"),
	CASE("subsets is a mapping",
	     "services:\n  - name: c\n    subsets: {name: v1}\n",
	     "t.yaml:3:14: ", "subsets must be a list, got a mapping"),
	CASE("backends is a scalar", HEAD SUB_V1("100") "        backends: x\n",
	     "t.yaml:8:19: ", "backends must be a list, got \"x\""),
	/* Required fields. */
	CASE("missing name",
	     "services:\n  - vip: 10.96.0.10\n    port: 80\n"
	     "    subsets: [{name: v1, weight: 100}]\n",
	     "t.yaml:2:5: ", "service: missing required field \"name\""),
	CASE("missing vip",
	     "services:\n  - name: c\n    port: 80\n"
	     "    subsets: [{name: v1, weight: 100}]\n",
	     "t.yaml:2:5: ", "service c: missing required field \"vip\""),
	CASE("missing port",
	     "services:\n  - name: c\n    vip: 10.96.0.10\n"
	     "    subsets: [{name: v1, weight: 100}]\n",
	     "t.yaml:2:5: ", "service c: missing required field \"port\""),
	CASE("missing subsets",
	     "services:\n  - name: c\n    vip: 10.96.0.10\n    port: 80\n",
	     "t.yaml:2:5: ", "service c: missing required field \"subsets\""),
	CASE("empty subsets", HEAD "      []\n",
	     "t.yaml:2:5: ", "service c: no subsets, at least 1 required"),
	CASE("missing weight", HEAD "      - name: v1\n", "t.yaml:6:9: ",
	     "service c: subset v1: missing required field \"weight\""),
	CASE("missing subset name", HEAD "      - weight: 100\n",
	     "t.yaml:6:9: ",
	     "service c: subset: missing required field \"name\""),
	/* Scalars. */
	CASE("weight not a number", HEAD SUB_V1("abc"),
	     "t.yaml:7:17: ", "weight must be an integer 0..100, got \"abc\""),
	CASE("weight 101", HEAD SUB_V1("101"),
	     "t.yaml:7:17: ", "weight must be an integer 0..100, got \"101\""),
	CASE("negative weight", HEAD SUB_V1("-5"),
	     "t.yaml:7:17: ", "weight must be an integer 0..100, got \"-5\""),
	CASE("float weight", HEAD SUB_V1("10.5"),
	     "t.yaml:7:17: ", "weight must be an integer 0..100, got \"10.5\""),
	CASE("exponent weight", HEAD SUB_V1("1e2"),
	     "t.yaml:7:17: ", "weight must be an integer 0..100, got \"1e2\""),
	CASE("octal-looking weight", HEAD SUB_V1("010"),
	     "t.yaml:7:17: ", "got \"010\""),
	CASE("quoted weight", HEAD SUB_V1("\"100\""), "t.yaml:7:17: ",
	     "weight must be an integer 0..100, got string \"100\""),
	CASE("null weight", HEAD SUB_V1(""),
	     "t.yaml:7:16: ", "weight must be an integer 0..100, got null"),
	CASE("huge weight", HEAD SUB_V1("99999999999999999999999"),
	     "t.yaml:7:17: ", "got \"99999999999999999999999\""),
	CASE("port 0", "services:\n  - name: c\n    port: 0\n",
	     "t.yaml:3:11: ", "port must be an integer 1..65535, got \"0\""),
	CASE("port 70000", "services:\n  - name: c\n    port: 70000\n",
	     "t.yaml:3:11: ",
	     "port must be an integer 1..65535, got \"70000\""),
	CASE("port is a list", "services:\n  - name: c\n    port: [80]\n",
	     "t.yaml:3:11: ", "port must be an integer 1..65535, got a list"),
	CASE("affinity yes",
	     "services:\n  - name: c\n    sourceIpAffinity: yes\n",
	     "t.yaml:3:23: ",
	     "sourceIpAffinity must be true or false, got \"yes\""),
	CASE("bad IPv4 VIP", "services:\n  - name: c\n    vip: 10.96.0.300\n",
	     "t.yaml:3:10: ",
	     "vip must be an IPv4 or IPv6 address (no brackets, no port), got "
	     "\"10.96.0.300\""),
	CASE("VIP with zone", "services:\n  - name: c\n    vip: fe80::1%eth0\n",
	     "t.yaml:3:10: ", "got \"fe80::1%eth0\""),
	CASE("VIP in brackets",
	     "services:\n  - name: c\n    vip: \"[fd00::1]\"\n",
	     "t.yaml:3:10: ", "got \"[fd00::1]\""),
	CASE("VIP with port", "services:\n  - name: c\n    vip: 10.96.0.1:80\n",
	     "t.yaml:3:10: ", "got \"10.96.0.1:80\""),
	CASE("service name with a space",
	     "services:\n  - name: a b\n    vip: 1.2.3.4\n"
	     "    port: 80\n    subsets: [" FLOW_V1 "]\n",
	     "t.yaml:2:5: ",
	     "service name \"a b\": only letters, digits, '.', '-', '_', ':' "
	     "and '/' allowed"),
	CASE("service name 128 bytes",
	     "services:\n  - name: "
	     "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	     "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
	     "\n",
	     "t.yaml:2:11: ", "service name is 128 bytes long, at most 127"),
	CASE("subset name 32 bytes",
	     HEAD "      - name: ssssssssssssssssssssssssssssssss\n",
	     "t.yaml:6:15: ", "subset name is 32 bytes long, at most 31"),
	CASE("NUL in a name", "services:\n  - name: \"c\\0d\"\n",
	     "t.yaml:2:11: ", "service name must not contain NUL characters"),
	BINARY_CASE("NUL byte in the file", "services:\n  - name: c\0\n",
		    "t.yaml:2:12: ", "control characters are not allowed"),
	/* Backends. */
	CASE("backend without port",
	     HEAD SUB_V1("100") "        backends: [\"10.0.0.1\"]\n",
	     "t.yaml:8:20: ", "backend \"10.0.0.1\": missing \":port\""),
	CASE("IPv4 backend in brackets",
	     HEAD SUB_V1("100") "        backends: [\"[10.0.0.1]:80\"]\n",
	     "t.yaml:8:20: ", "brackets are only for IPv6 addresses"),
	CASE("IPv6 backend without brackets",
	     HEAD SUB_V1("100") "        backends: [\"fd00::1:80\"]\n",
	     "t.yaml:8:20: ", "IPv6 addresses need brackets"),
	CASE("unquoted IPv6 backend",
	     HEAD SUB_V1("100") "        backends: [[fd00::1]:80]\n",
	     "t.yaml:8:20: ", "mapping keys must be strings, not lists"),
	CASE("backend port 0",
	     HEAD SUB_V1("100") "        backends: [\"10.0.0.1:0\"]\n",
	     "t.yaml:8:20: ", "port must be an integer 1..65535"),
	CASE("backend null",
	     HEAD SUB_V1("100") "        backends:\n          -\n",
	     "t.yaml:9:12: ", "backend must be a string, got null"),
	CASE("duplicate backend",
	     HEAD SUB_V1(
		     "100") "        backends: [10.0.0.1:80, 10.0.0.1:80]\n",
	     "t.yaml:6:9: ",
	     "service c: subset v1: duplicate backend 10.0.0.1:80"),
	CASE("IPv6 VIP, IPv4 backend",
	     "services:\n  - name: c\n    vip: fd00::10\n    port: 80\n"
	     "    subsets:\n      - name: v1\n        weight: 100\n"
	     "        backends: [\"10.0.0.1:80\"]\n",
	     "t.yaml:6:9: ",
	     "service c: subset v1: backend 10.0.0.1:80 is IPv4 but the VIP is "
	     "IPv6"),
	CASE("the example of the format: IPv6 backend behind an IPv4 VIP",
	     "services:\n"
	     "  - name: customers          # required\n"
	     "    vip: 10.96.0.10          # required\n"
	     "    port: 80                 # required, 1..65535\n"
	     "    sourceIpAffinity: false  # optional bool\n"
	     "    subsets:                 # required, 1..8\n"
	     "      - name: v1             # required\n"
	     "        weight: 90           # required integer 0..100\n"
	     "        backends:            # optional\n"
	     "          - 10.10.2.2:8080\n"
	     "      - name: v2\n"
	     "        weight: 10\n"
	     "        backends: [\"[fd10:3::2]:8080\"]\n",
	     "t.yaml:11:9: ",
	     "service customers: subset v2: backend [fd10:3::2]:8080 is "
	     "IPv6 but the VIP is IPv4"),
	/* Model rules. */
	CASE("weights sum to 90", HEAD SUB_V1("90") BACKENDS, "t.yaml:2:5: ",
	     "service c: subset weights sum to 90, must be 100"),
	CASE("weights sum to 110",
	     HEAD SUB_V1("90") BACKENDS
	     "      - name: v2\n        weight: 20\n" BACKENDS,
	     "t.yaml:2:5: ",
	     "service c: subset weights sum to 110, must be 100"),
	CASE("weight 100, no backends", HEAD SUB_V1("100"), "t.yaml:6:9: ",
	     "service c: subset v1: weight 100 but no backends (its "
	     "connections would be dropped); give it backends or weight 0"),
	CASE("weight 1, empty backend list",
	     HEAD SUB_V1("99") "        backends: [\"10.0.0.1:80\"]\n"
			       "      - name: v2\n        weight: 1\n"
			       "        backends: []\n",
	     "t.yaml:9:9: ", "service c: subset v2: weight 1 but no backends"),
	CASE("duplicate subset",
	     HEAD
	     "      - {name: v1, weight: 50, backends: [\"10.0.0.1:80\"]}\n"
	     "      # line 7\n"
	     "      - {name: v1, weight: 50, backends: [\"10.0.0.2:80\"]}\n",
	     "t.yaml:8:9: ", "service c: duplicate subset name v1"),
	CASE("IPv4-mapped VIP",
	     "services:\n  - name: c\n    vip: ::ffff:10.0.0.1\n    port: 80\n"
	     "    subsets: [{name: v1, weight: 100, backends: "
	     "[\"[fd00::1]:80\"]}]\n",
	     "t.yaml:2:5: ", "is IPv4-mapped"),
	CASE("duplicate VIP in one file",
	     "services:\n"
	     "  - {name: a, vip: 10.96.0.5, port: 80, subsets: [" FLOW_V1 "]}\n"
	     "  - {name: b, vip: 10.96.0.5, port: 80, subsets: [" FLOW_V1
	     "]}\n",
	     "t.yaml:3:5: ", "services a and b both use VIP 10.96.0.5:80"),
	CASE("duplicate name in one file",
	     "services:\n"
	     "  - {name: a, vip: 10.96.0.5, port: 80, subsets: [" FLOW_V1 "]}\n"
	     "  - {name: a, vip: 10.96.0.6, port: 80, subsets: [" FLOW_V1
	     "]}\n",
	     "t.yaml:3:5: ", "duplicate service name a"),
	/* Against what an earlier load put in the model. */
	CASE("duplicate name across loads",
	     "services:\n  - name: existing\n    vip: 10.96.0.2\n    port: 80\n"
	     "    subsets: [" FLOW_V1 "]\n",
	     "t.yaml:2:5: ", "duplicate service name existing"),
	CASE("duplicate VIP across loads",
	     "services:\n  - name: c\n    vip: 10.96.0.1\n    port: 80\n"
	     "    subsets: [" FLOW_V1 "]\n",
	     "t.yaml:2:5: ",
	     "services existing and c both use VIP 10.96.0.1:80"),
	/* Nothing to load. */
	CASE("empty file", "", "t.yaml: ", "no services defined"),
	CASE("comments only", "# nothing\n\n# here\n",
	     "t.yaml: ", "no services defined"),
	CASE("empty documents", "---\n---\n...\n",
	     "t.yaml: ", "no services defined"),
	CASE("empty services", "services: []\n---\nservices:\n",
	     "t.yaml: ", "no services defined"),
	/* All or nothing across documents. */
	CASE("second document bad",
	     "services:\n  - {name: a, vip: 10.96.0.5, port: 80, subsets: "
	     "[{name: v1, weight: 100}]}\n---\nservices:\n  - name: b\n"
	     "    port: 0\n",
	     "t.yaml:6:11: ", "port must be an integer 1..65535"),
};

static void test_bad_table(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *t = &bad_cases[i];
		size_t len = t->len ? t->len : strlen(t->yaml);

		expect_fail(t->label, t->yaml, len, t->where, t->what);
	}
}

static void test_too_many_subsets(void)
{
	struct text t;
	int i;

	text_open(&t);
	fputs(HEAD, t.f);
	for (i = 0; i < VEER_MAX_SUBSETS + 1; i++)
		fprintf(t.f, "      - name: s%d\n        weight: %d\n", i,
			i ? 10 : 20);
	text_close(&t);
	expect_fail("9 subsets", t.buf, t.len,
		    "t.yaml:6:7: ", "service c: 9 subsets, at most 8");
	free(t.buf);
}

static void test_too_many_backends(void)
{
	struct text t;
	int i;

	text_open(&t);
	fputs(HEAD SUB_V1("100") "        backends:\n", t.f);
	for (i = 0; i < VEER_MAX_BACKENDS_PER_SUBSET + 1; i++)
		fprintf(t.f, "          - 10.1.%d.%d:8080\n", i / 200,
			i % 200 + 1);
	text_close(&t);
	expect_fail("257 backends", t.buf, t.len, "t.yaml:9:11: ",
		    "service c: subset v1: 257 backends, at most 256");
	free(t.buf);

	/* Exactly the limit is fine. */
	{
		struct veer_model m;
		char err[ERR_LEN];

		text_open(&t);
		fputs(HEAD SUB_V1("100") "        backends:\n", t.f);
		for (i = 0; i < VEER_MAX_BACKENDS_PER_SUBSET; i++)
			fprintf(t.f, "          - 10.1.%d.%d:8080\n", i / 200,
				i % 200 + 1);
		text_close(&t);
		veer_model_init(&m);
		UNIT_CHECK(veer_load_native_buffer("t.yaml", t.buf, t.len, &m,
						   err, sizeof(err)) == 0,
			   "%s", err);
		CU_ASSERT(m.count == 1 &&
			  m.services[0].subsets[0].backend_count ==
				  VEER_MAX_BACKENDS_PER_SUBSET);
		veer_model_free(&m);
		free(t.buf);
	}
}

static void test_deep_nesting(void)
{
	struct text t;
	int i;

	/*
	 * The YAML reader refuses the depth wherever it is, even in a node
	 * past the subset limit that the schema would never read.
	 */
	text_open(&t);
	fputs(HEAD, t.f);
	for (i = 0; i < VEER_MAX_SUBSETS; i++)
		fprintf(t.f, "      - {name: s%d, weight: %d}\n", i,
			i ? 10 : 30);
	fputs("      - ", t.f);
	for (i = 0; i < DEEP_LEVELS; i++)
		fputc('[', t.f);
	for (i = 0; i < DEEP_LEVELS; i++)
		fputc(']', t.f);
	fputc('\n', t.f);
	text_close(&t);
	/* Levels 1-4: root, services, service, subsets; '[' #29 is 33rd. */
	expect_fail("deep nesting past a limit", t.buf, t.len,
		    "t.yaml:14:69: ", "nested deeper than 64 levels");
	free(t.buf);

	text_open(&t);
	for (i = 0; i < VERY_DEEP_LEVELS; i++)
		fputc('[', t.f);
	text_close(&t);
	expect_fail("very deep nesting", t.buf, t.len,
		    "t.yaml:1:65: ", "nested deeper than 64 levels");
	free(t.buf);
}

/* A valid file exercising every field, both families, several documents. */
static const char good_yaml[] =
	"# veer test configuration\n"
	"services:\n"
	"  - name: customers\n" /* line 3 */
	"    vip: 10.96.0.10\n"
	"    port: 80\n"
	"    sourceIpAffinity: false\n"
	"    subsets:\n"
	"      - name: v1\n" /* line 8 */
	"        weight: 90\n"
	"        backends:\n"
	"          - 10.10.2.2:8080\n"
	"          - \"10.10.2.3:8081\"\n"
	"      - name: v2\n" /* line 13 */
	"        weight: 10\n"
	"        backends: ['10.10.3.2:8080']\n"
	"      - weight: 0\n" /* line 16: drained, no backends */
	"        name: v3\n"
	"---\n"
	"# an empty document\n"
	"---\n"
	"services:\n"
	"  - {name: orders, vip: \"fd00::10\", port: 8443, sourceIpAffinity: "
	"true, http: true,\n" /* line 22 */
	"     subsets: [{name: canary, weight: 100, backends: "
	"[\"[fd10:3::2]:8080\", \"[fd10:3::3]:8080\"]}]}\n"
	"  - name: Empty.pods_OK-1\n" /* line 24 */
	"    vip: fd00::11\n"
	"    port: 65535\n"
	"    subsets:\n"
	"      - name: a\n"
	"        weight: 100\n"
	"        backends: [\"[fd10:9::1]:80\"]\n"
	"...\n";

static void check_backend(const struct veer_backend *b, const char *text)
{
	union veer_addr addr;
	uint8_t family;
	uint16_t port;

	CU_ASSERT_FATAL(veer_endpoint_parse(text, &addr, &family, &port) == 0);
	UNIT_CHECK(b->family == family && b->port == port &&
			   !memcmp(&b->addr, &addr, sizeof(addr)) &&
			   b->reserved == 0,
		   "backend %s", text);
}

static void check_loc(const struct veer_src_loc *loc, const char *file,
		      unsigned int line, unsigned int col)
{
	UNIT_CHECK(!strcmp(loc->file, file) && loc->line == line &&
			   loc->column == col,
		   "loc %s:%u:%u, expected %s:%u:%u", loc->file, loc->line,
		   loc->column, file, line, col);
}

/* Checks the model good_yaml produces, starting at services[first]. */
static void check_good_model(const struct veer_model *m, size_t first,
			     const char *file)
{
	static const __u8 vip4[VEER_ADDR_LEN] = {10, 96, 0, 10};
	static const __u8 vip6[VEER_ADDR_LEN] = {0xfd, 0, [15] = 0x10};
	static const __u8 vip6b[VEER_ADDR_LEN] = {0xfd, 0, [15] = 0x11};
	const struct veer_service_model *s;

	CU_ASSERT_EQUAL_FATAL(m->count, first + 3);

	s = &m->services[first];
	CU_ASSERT_STRING_EQUAL(s->name, "customers");
	CU_ASSERT(!memcmp(s->key.vip.bytes, vip4, VEER_ADDR_LEN));
	CU_ASSERT_EQUAL(s->key.port, htons(80));
	CU_ASSERT_EQUAL(s->key.proto, 6);
	CU_ASSERT_EQUAL(s->key.family, VEER_AF_INET);
	CU_ASSERT_EQUAL(s->flags, 0);
	check_loc(&s->loc, file, 3, 5);
	CU_ASSERT_EQUAL_FATAL(s->subset_count, 3);
	CU_ASSERT_STRING_EQUAL(s->subsets[0].name, "v1");
	CU_ASSERT_EQUAL(s->subsets[0].weight, 90);
	check_loc(&s->subsets[0].loc, file, 8, 9);
	CU_ASSERT_EQUAL_FATAL(s->subsets[0].backend_count, 2);
	check_backend(&s->subsets[0].backends[0], "10.10.2.2:8080");
	check_backend(&s->subsets[0].backends[1], "10.10.2.3:8081");
	CU_ASSERT_EQUAL(s->subsets[0].backends[1].port, htons(8081));
	CU_ASSERT_STRING_EQUAL(s->subsets[1].name, "v2");
	CU_ASSERT_EQUAL(s->subsets[1].weight, 10);
	check_loc(&s->subsets[1].loc, file, 13, 9);
	CU_ASSERT_EQUAL_FATAL(s->subsets[1].backend_count, 1);
	check_backend(&s->subsets[1].backends[0], "10.10.3.2:8080");
	CU_ASSERT_STRING_EQUAL(s->subsets[2].name, "v3");
	CU_ASSERT_EQUAL(s->subsets[2].weight, 0);
	CU_ASSERT_EQUAL(s->subsets[2].backend_count, 0);
	CU_ASSERT_PTR_NULL(s->subsets[2].backends);
	check_loc(&s->subsets[2].loc, file, 16, 9);

	s = &m->services[first + 1];
	CU_ASSERT_STRING_EQUAL(s->name, "orders");
	CU_ASSERT(!memcmp(s->key.vip.bytes, vip6, VEER_ADDR_LEN));
	CU_ASSERT_EQUAL(s->key.port, htons(8443));
	CU_ASSERT_EQUAL(s->key.proto, 6);
	CU_ASSERT_EQUAL(s->key.family, VEER_AF_INET6);
	CU_ASSERT_EQUAL(s->flags, VEER_SVC_F_HASH_SRC_IP | VEER_SVC_F_HTTP);
	check_loc(&s->loc, file, 22, 5);
	CU_ASSERT_EQUAL_FATAL(s->subset_count, 1);
	CU_ASSERT_STRING_EQUAL(s->subsets[0].name, "canary");
	CU_ASSERT_EQUAL(s->subsets[0].weight, 100);
	check_loc(&s->subsets[0].loc, file, 23, 16);
	CU_ASSERT_EQUAL_FATAL(s->subsets[0].backend_count, 2);
	check_backend(&s->subsets[0].backends[0], "[fd10:3::2]:8080");
	check_backend(&s->subsets[0].backends[1], "[fd10:3::3]:8080");
	CU_ASSERT_EQUAL(s->subsets[0].backends[0].family, VEER_AF_INET6);

	s = &m->services[first + 2];
	CU_ASSERT_STRING_EQUAL(s->name, "Empty.pods_OK-1");
	CU_ASSERT(!memcmp(s->key.vip.bytes, vip6b, VEER_ADDR_LEN));
	CU_ASSERT_EQUAL(s->key.port, htons(65535));
	CU_ASSERT_EQUAL(s->flags, 0);
	check_loc(&s->loc, file, 24, 5);
	CU_ASSERT_EQUAL_FATAL(s->subset_count, 1);
	CU_ASSERT_EQUAL(s->subsets[0].weight, 100);
	CU_ASSERT_EQUAL_FATAL(s->subsets[0].backend_count, 1);
	check_backend(&s->subsets[0].backends[0], "[fd10:9::1]:80");
}

static void test_good_buffer(void)
{
	struct veer_model m;
	char err[ERR_LEN] = "";

	veer_model_init(&m);
	UNIT_CHECK(veer_load_native_buffer("good.yaml", good_yaml,
					   strlen(good_yaml), &m, err,
					   sizeof(err)) == 0,
		   "%s", err);
	check_good_model(&m, 0, "good.yaml");
	veer_model_free(&m);
}

/* A successful load appends after what is there and leaves it alone. */
static void test_good_appends(void)
{
	struct veer_model m, snap;
	char err[ERR_LEN] = "";

	unit_load_base(&m);
	snapshot(&m, &snap);
	UNIT_CHECK(veer_load_native_buffer("good.yaml", good_yaml,
					   strlen(good_yaml), &m, err,
					   sizeof(err)) == 0,
		   "%s", err);
	check_good_model(&m, 1, "good.yaml");
	CU_ASSERT(services_equal(&m.services[0], &snap.services[0]));
	/*
	 * Loading the same file again now collides with itself: not the
	 * loader's to say, the validation's of the whole model.
	 */
	CU_ASSERT(veer_load_native_buffer("good.yaml", good_yaml,
					  strlen(good_yaml), &m, err,
					  sizeof(err)) == 0);
	CU_ASSERT_EQUAL(m.count, 7);
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == -1);
	CU_ASSERT_STRING_EQUAL(
		err, "good.yaml:3:5: duplicate service name customers");
	veer_model_free(&snap);
	veer_model_free(&m);
}

/* Spellings that must mean the same thing as the canonical file. */
static void test_good_variants(void)
{
	/* UTF-8 BOM, CRLF line ends, keys in another order, TRUE. */
	static const char crlf[] = "\xef\xbb\xbfservices:\r\n"
				   "- subsets:\r\n"
				   "  - backends: [\"10.0.0.1:1\"]\r\n"
				   "    weight: 100\r\n"
				   "    name: only\r\n"
				   "  sourceIpAffinity: TRUE\r\n"
				   "  port: 1\r\n"
				   "  vip: '192.0.2.1'\r\n"
				   "  name: \"a.b_c-D\"\r\n";
	static const char crlf_bad[] = "services:\r\n"
				       "  - name: c\r\n"
				       "    port: 0\r\n";
	struct veer_model m;
	char err[ERR_LEN] = "";

	veer_model_init(&m);
	UNIT_CHECK(veer_load_native_buffer("v.yaml", crlf, strlen(crlf), &m,
					   err, sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_EQUAL_FATAL(m.count, 1);
	CU_ASSERT_STRING_EQUAL(m.services[0].name, "a.b_c-D");
	CU_ASSERT_EQUAL(m.services[0].key.vip.v4, htonl(0xc0000201));
	CU_ASSERT_EQUAL(m.services[0].key.port, htons(1));
	CU_ASSERT_EQUAL(m.services[0].flags, VEER_SVC_F_HASH_SRC_IP);
	CU_ASSERT_EQUAL(m.services[0].subsets[0].backend_count, 1);
	check_loc(&m.services[0].loc, "v.yaml", 2, 3);
	check_loc(&m.services[0].subsets[0].loc, "v.yaml", 3, 5);
	veer_model_free(&m);

	/* CRLF must not shift the positions in errors. */
	expect_fail("CRLF error position", crlf_bad, strlen(crlf_bad),
		    "t.yaml:3:11: ", "port must be an integer 1..65535");
}

/* A scratch directory for the file tests, removed afterwards. */
static char tmpdir[TMP_PATH_MAX];

static int config_suite_init(void)
{
	const char *base = getenv("TMPDIR");
	int n;

	n = snprintf(tmpdir, sizeof(tmpdir), "%s/veer-unit-XXXXXX",
		     base && *base ? base : "/tmp");
	if (n < 0 || (size_t)n >= sizeof(tmpdir))
		return -1;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int config_suite_clean(void)
{
	return rmdir(tmpdir);
}

static void tmp_path(char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", tmpdir, name);

	CU_ASSERT_FATAL(n > 0 && (size_t)n < len);
}

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static void test_file_good(void)
{
	char path[TMP_PATH_MAX], err[ERR_LEN] = "";
	struct veer_model m;

	tmp_path(path, sizeof(path), "good.yaml");
	write_file(path, good_yaml, strlen(good_yaml));
	veer_model_init(&m);
	UNIT_CHECK(load_file(path, &m, err, sizeof(err)) == 0, "%s", err);
	check_good_model(&m, 0, path);
	veer_model_free(&m);
	CU_ASSERT(unlink(path) == 0);
}

/* Size unknown to stat (a pipe, as with "-f /dev/stdin"): read to EOF. */
static void test_file_pipe(void)
{
	char path[64], err[ERR_LEN] = "";
	struct veer_model m;
	int fds[2];

	/* good_yaml fits the pipe buffer: no writer process needed. */
	CU_ASSERT_FATAL(pipe(fds) == 0);
	CU_ASSERT_FATAL(write(fds[1], good_yaml, strlen(good_yaml)) ==
			(ssize_t)strlen(good_yaml));
	CU_ASSERT_FATAL(close(fds[1]) == 0);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[0]);
	veer_model_init(&m);
	UNIT_CHECK(load_file(path, &m, err, sizeof(err)) == 0, "%s", err);
	check_good_model(&m, 0, path);
	veer_model_free(&m);
	CU_ASSERT(close(fds[0]) == 0);
}

/* As expect_fail, for a file; the error starts with path then `at`. */
static void expect_file_fail(const char *label, const char *path,
			     const char *at, const char *what)
{
	struct veer_model m, snap;
	char err[ERR_LEN] = "", where[TMP_PATH_MAX + 16];

	unit_load_base(&m);
	snapshot(&m, &snap);
	snprintf(where, sizeof(where), "%s%s", path, at);
	UNIT_CHECK(load_file(path, &m, err, sizeof(err)) == -1, "%s: accepted",
		   label);
	UNIT_CHECK(!strncmp(err, where, strlen(where)),
		   "%s: \"%s\" does not start with \"%s\"", label, err, where);
	UNIT_CHECK(strstr(err, what) != NULL, "%s: \"%s\" lacks \"%s\"", label,
		   err, what);
	UNIT_CHECK(models_equal(&m, &snap), "%s: model changed", label);
	veer_model_free(&snap);
	veer_model_free(&m);
}

static void test_file_errors(void)
{
	char path[TMP_PATH_MAX], what[128];
	int fd;

	tmp_path(path, sizeof(path), "missing.yaml");
	snprintf(what, sizeof(what), "cannot open: %s", strerror(ENOENT));
	expect_file_fail("missing file", path, ": ", what);

	snprintf(what, sizeof(what), "%s", strerror(EISDIR));
	expect_file_fail("directory", tmpdir, ": ", what);

	/* Sparse: the limit must be enforced from the size, not by reading. */
	tmp_path(path, sizeof(path), "huge.yaml");
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(ftruncate(fd, VEER_YAML_MAX_BYTES + 1) == 0);
	CU_ASSERT_FATAL(close(fd) == 0);
	snprintf(what, sizeof(what), "%d bytes, larger than the limit of %d",
		 VEER_YAML_MAX_BYTES + 1, VEER_YAML_MAX_BYTES);
	expect_file_fail("file over the limit", path, ": ", what);
	CU_ASSERT(unlink(path) == 0);

	/* Errors inside a file carry its path and the position. */
	tmp_path(path, sizeof(path), "bad.yaml");
	write_file(path, HEAD SUB_V1("abc"), strlen(HEAD SUB_V1("abc")));
	expect_file_fail("bad file", path, ":7:17: ",
			 "weight must be an integer 0..100, got \"abc\"");
	CU_ASSERT(unlink(path) == 0);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A FIFO nobody writes to: refused after VEER_WAIT seconds, not a hang.
 * (An alarm interrupts the open a loader that blocks would be stuck in.)
 */
static void test_fifo_no_writer(void)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;
	char path[TMP_PATH_MAX];

	tmp_path(path, sizeof(path), "nobody.fifo");
	CU_ASSERT_FATAL(mkfifo(path, 0600) == 0);
	CU_ASSERT_FATAL(setenv("VEER_WAIT", "0.2", 1) == 0);
	CU_ASSERT_FATAL(sigaction(SIGALRM, &sa, &old) == 0);
	alarm(5);
	expect_file_fail("FIFO with no writer", path, ": ",
			 "no writer opened it within 0.2 s");
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	unsetenv("VEER_WAIT");
	CU_ASSERT(unlink(path) == 0);
}

/* A FIFO whose writer comes along is read to its end. */
static void test_fifo_writer(void)
{
	char path[TMP_PATH_MAX], err[ERR_LEN] = "";
	struct veer_model m;
	int status = 0, fd;
	pid_t pid;

	tmp_path(path, sizeof(path), "writer.fifo");
	CU_ASSERT_FATAL(mkfifo(path, 0600) == 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		fd = open(path, O_WRONLY);
		_exit(fd >= 0 && write(fd, good_yaml, strlen(good_yaml)) ==
					      (ssize_t)strlen(good_yaml)
			      ? 0
			      : 1);
	}
	veer_model_init(&m);
	UNIT_CHECK(load_file(path, &m, err, sizeof(err)) == 0, "%s", err);
	check_good_model(&m, 0, path);
	veer_model_free(&m);
	CU_ASSERT(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0);
	CU_ASSERT(unlink(path) == 0);
}

/* 1,024 bytes of 'x'. */
static const char *big_kb(void)
{
	static char kb[1025];

	if (!kb[0])
		memset(kb, 'x', 1024);
	return kb;
}

/* A native file of n services, "s0" .. (each about 200 bytes). */
static void write_services(FILE *f, unsigned int n)
{
	unsigned int i;

	fputs("services:\n", f);
	for (i = 0; i < n; i++)
		fprintf(f,
			"  - name: s%u\n    vip: 10.%u.%u.%u\n    port: 80\n"
			"    subsets:\n      - name: v1\n        weight: 100\n"
			"        backends: [\"10.200.0.1:8080\"]\n",
			i, 100 + i / 65536, i / 256 % 256, i % 256);
}

/*
 * A file of `services` services, then `tail`, then kb KiB of 'x' and a
 * closing quote: its load fails with "PATH" `at` ... `what`.
 */
static void expect_stream_fail(const char *path, unsigned int services,
			       const char *tail, unsigned int kb,
			       const char *at, const char *what)
{
	char err[ERR_LEN] = "", want[TMP_PATH_MAX + 64];
	const char *paths[1] = {path};
	struct veer_model m;
	unsigned int i;
	FILE *f = fopen(path, "w");

	CU_ASSERT_FATAL(f != NULL);
	write_services(f, services);
	fputs(tail, f);
	for (i = 0; i < kb; i++)
		fputs(big_kb(), f);
	if (kb)
		fputs("\"\n", f);
	CU_ASSERT_FATAL(fclose(f) == 0);
	veer_model_init(&m);
	CU_ASSERT(veer_load_paths(paths, 1, NULL, &m, NULL, NULL, err,
				  sizeof(err)) == -1);
	snprintf(want, sizeof(want), "%s%s", path, at);
	UNIT_CHECK(!strncmp(err, want, strlen(want)) && strstr(err, what),
		   "\"%s\" is not at \"%s\" or lacks \"%s\"", err, want, what);
	CU_ASSERT_EQUAL(m.count, 0);
	veer_model_free(&m);
}

/*
 * Files are read from their descriptor one object at a time: one larger
 * than a single object may be loads, and errors far into it still say
 * where they are (the reader keeps only the last bytes read).
 */
static void test_stream_files(void)
{
	static const char tab_tail[] = "  - name: t\n\tvip: 10.0.0.1\n";
	char path[TMP_PATH_MAX], err[ERR_LEN] = "", what[64];
	const char *paths[1] = {path};
	const unsigned int n = 120000; /* about 19 MB */
	struct veer_model m;
	struct stat st;
	FILE *f;

	tmp_path(path, sizeof(path), "big.yaml");
	f = fopen(path, "w");
	CU_ASSERT_FATAL(f != NULL);
	write_services(f, n);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	CU_ASSERT(st.st_size > VEER_YAML_MAX_BYTES);
	veer_model_init(&m);
	UNIT_CHECK(veer_load_paths(paths, 1, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_EQUAL(m.count, n);
	if (m.count == n)
		CU_ASSERT_STRING_EQUAL(m.services[n - 1].name, "s119999");
	veer_model_free(&m);

	/* A tab 1,000 services (7,000 lines, 200 KB) in. */
	expect_stream_fail(path, 1000, tab_tail, 0, ":7003:1: ", "tab");
	/* Invalid UTF-8 as far in: line, column and byte (the tab's line
	 * was the first byte after the 1,000 services). */
	CU_ASSERT_FATAL(stat(path, &st) == 0);
	snprintf(what, sizeof(what), "not valid UTF-8 at byte %lld ",
		 (long long)st.st_size - (long long)strlen(tab_tail) + 12);
	expect_stream_fail(path, 1000, "  - name: \"x\xff\"\n", 0,
			   ":7002:13: ", what);
	/*
	 * One scalar of 64 MiB after a valid service: refused as an object
	 * over the limit while it is read (libyaml would hold all of it).
	 */
	expect_stream_fail(path, 10, "  - name: \"", 64 * 1024, ":72:5: ",
			   "an object larger than the limit of 16777216 bytes");
	CU_ASSERT(unlink(path) == 0);
}

/*
 * Standard input arriving a few bytes at a time (SOCK_SEQPACKET: each
 * read returns one write), a BOM cut across reads included: the same
 * model as from a buffer.
 */
static void test_stream_trickle(void)
{
	const char *paths[1] = {"-"};
	char err[ERR_LEN] = "", bom[] = "\xef\xbb\xbf";
	struct veer_model m, want;
	size_t off, len = strlen(good_yaml);
	int sv[2], saved;

	CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0);
	CU_ASSERT_FATAL(write(sv[1], bom, 1) == 1);
	CU_ASSERT_FATAL(write(sv[1], bom + 1, 2) == 2);
	/* good_yaml in 7-byte records: a few hundred, within the buffer. */
	for (off = 0; off < len; off += 7) {
		size_t n = len - off < 7 ? len - off : 7;

		CU_ASSERT_FATAL(write(sv[1], good_yaml + off, n) == (ssize_t)n);
	}
	CU_ASSERT_FATAL(close(sv[1]) == 0);
	saved = dup(STDIN_FILENO);
	CU_ASSERT_FATAL(saved >= 0);
	CU_ASSERT_FATAL(dup2(sv[0], STDIN_FILENO) == STDIN_FILENO);
	veer_model_init(&m);
	UNIT_CHECK(veer_load_paths(paths, 1, NULL, &m, NULL, NULL, err,
				   sizeof(err)) == 0,
		   "%s", err);
	CU_ASSERT_FATAL(dup2(saved, STDIN_FILENO) == STDIN_FILENO);
	CU_ASSERT(close(saved) == 0);
	CU_ASSERT(close(sv[0]) == 0);
	veer_model_init(&want);
	CU_ASSERT_FATAL(veer_load_native_buffer("<stdin>", good_yaml, len,
						&want, err, sizeof(err)) == 0);
	CU_ASSERT(models_equal(&m, &want));
	veer_model_free(&want);
	veer_model_free(&m);
}

static void test_buffer_limit(void)
{
	/* calloc of this size maps zero pages lazily: cheap. */
	char *big = calloc(1, VEER_YAML_MAX_BYTES + 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	expect_fail("buffer over the limit", big, VEER_YAML_MAX_BYTES + 1,
		    "t.yaml: ", "larger than the limit");
	free(big);
}

/* NULL err, tiny err: never written past. */
static void test_error_buffers(void)
{
	struct veer_model m;
	char err[8];

	veer_model_init(&m);
	CU_ASSERT(veer_load_native_buffer("t.yaml", "x: [", 4, &m, NULL, 0) ==
		  -1);
	memset(err, 'x', sizeof(err));
	CU_ASSERT(veer_load_native_buffer("t.yaml", "x: [", 4, &m, err, 5) ==
		  -1);
	CU_ASSERT_STRING_EQUAL(err, "t.ya");
	CU_ASSERT_EQUAL(err[5], 'x');
	CU_ASSERT(load_file("/nonexistent/veer.yaml", &m, NULL, 0) == -1);
	CU_ASSERT_EQUAL(m.count, 0);
	veer_model_free(&m);
}

int unit_config_suite(void)
{
	static const struct unit_test tests[] = {
		{"valid file -> exact model", test_good_buffer},
		{"valid file appends to a model", test_good_appends},
		{"malformed inputs: message, position, model unchanged",
		 test_bad_table},
		{"9 subsets", test_too_many_subsets},
		{"257 backends", test_too_many_backends},
		{"deep nesting", test_deep_nesting},
		{"valid spelling variants", test_good_variants},
		{"load from a file", test_file_good},
		{"load from a pipe", test_file_pipe},
		{"file errors", test_file_errors},
		{"FIFO with no writer: bounded wait", test_fifo_no_writer},
		{"FIFO with a writer", test_fifo_writer},
		{"size limit for buffers", test_buffer_limit},
		{"files read one object at a time", test_stream_files},
		{"standard input a few bytes at a time", test_stream_trickle},
		{"error buffer handling", test_error_buffers},
	};

	return unit_add_suite("config", config_suite_init, config_suite_clean,
			      tests, ARRAY_SIZE(tests));
}

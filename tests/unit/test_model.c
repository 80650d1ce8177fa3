// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* user/model.c: ownership, copies and the validator's messages. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "model.h"
#include "unit.h"

#define ERR_LEN 512

/* A valid one-subset service with backend `be` (of the VIP's family). */
static struct veer_service_model *add_svc(struct veer_model *m,
					  const char *name, const char *vip,
					  uint16_t port, const char *be)
{
	struct veer_service_model *svc = veer_model_add_service(m);
	struct veer_backend b = {0};

	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	CU_ASSERT_FATAL(veer_addr_parse(vip, &svc->key.vip, &svc->key.family) ==
			0);
	svc->key.port = htons(port);
	svc->key.proto = IPPROTO_TCP;
	svc->subset_count = 1;
	snprintf(svc->subsets[0].name, sizeof(svc->subsets[0].name), "v1");
	svc->subsets[0].weight = VEER_WEIGHT_TOTAL;
	CU_ASSERT_FATAL(veer_endpoint_parse(be, &b.addr, &b.family, &b.port) ==
			0);
	CU_ASSERT_FATAL(veer_subset_add_backend(&svc->subsets[0], &b) == 0);
	return svc;
}

static void set_loc(struct veer_src_loc *loc, unsigned int line,
		    unsigned int col)
{
	snprintf(loc->file, sizeof(loc->file), "x.yaml");
	loc->line = line;
	loc->column = col;
}

/* Validates svc alone and expects exactly `msg` (one line). */
static void expect_invalid(const struct veer_service_model *svc,
			   const char *msg)
{
	char err[ERR_LEN] = "";

	UNIT_CHECK(veer_service_validate(svc, err, sizeof(err)) == -1,
		   "expected \"%s\"", msg);
	UNIT_CHECK(!strcmp(err, msg), "got \"%s\", expected \"%s\"", err, msg);
	UNIT_CHECK(!strchr(err, '\n'), "multi-line \"%s\"", err);
}

static void test_model_basics(void)
{
	struct veer_model m;
	struct veer_service_model *svc;
	char err[ERR_LEN];
	size_t i;

	veer_model_init(&m);
	/* Enough services to make the array move a few times. */
	for (i = 0; i < 100; i++) {
		char name[32], vip[32];

		snprintf(name, sizeof(name), "svc-%zu", i);
		snprintf(vip, sizeof(vip), "10.96.%zu.%zu", i / 250,
			 i % 250 + 1);
		add_svc(&m, name, vip, 80, "10.0.0.1:8080");
	}
	CU_ASSERT_EQUAL(m.count, 100);
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == 0);
	svc = veer_model_find(&m, "svc-42");
	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	CU_ASSERT_STRING_EQUAL(svc->name, "svc-42");
	CU_ASSERT_PTR_NULL(veer_model_find(&m, "svc-100"));
	CU_ASSERT_PTR_NULL(veer_model_find(&m, "svc-"));
	CU_ASSERT_PTR_NULL(veer_model_find(&m, "svc-42 "));
	CU_ASSERT_EQUAL(veer_service_find_subset(svc, "v1"), 0);
	CU_ASSERT_EQUAL(veer_service_find_subset(svc, "v2"), -1);
	veer_model_free(&m);
	CU_ASSERT_EQUAL(m.count, 0);
	CU_ASSERT_PTR_NULL(m.services);
	/* Free twice is harmless: free re-initialises. */
	veer_model_free(&m);
}

static void test_add_backend_limit(void)
{
	struct veer_subset_model sub;
	struct veer_backend b = {.family = VEER_AF_INET};
	unsigned int i;

	memset(&sub, 0, sizeof(sub));
	for (i = 0; i < VEER_MAX_BACKENDS_PER_SUBSET; i++) {
		b.addr.v4 = htonl(0x0a000001 + i);
		b.port = htons(80);
		CU_ASSERT(veer_subset_add_backend(&sub, &b) == 0);
	}
	CU_ASSERT_EQUAL(sub.backend_count, VEER_MAX_BACKENDS_PER_SUBSET);
	CU_ASSERT(veer_subset_add_backend(&sub, &b) == -1);
	CU_ASSERT_EQUAL(sub.backend_count, VEER_MAX_BACKENDS_PER_SUBSET);
	CU_ASSERT(sub.backends[255].addr.v4 == htonl(0x0a000001 + 255));
	free(sub.backends);
}

static void test_copy_service(void)
{
	struct veer_model a, b;
	struct veer_service_model *src;
	size_t i;

	veer_model_init(&a);
	veer_model_init(&b);
	src = add_svc(&a, "orders", "fd00::10", 8080, "[fd10::2]:80");
	CU_ASSERT_FATAL(veer_model_copy_service(&b, src) == 0);
	CU_ASSERT_EQUAL_FATAL(b.count, 1);
	CU_ASSERT_STRING_EQUAL(b.services[0].name, "orders");
	CU_ASSERT(!memcmp(&b.services[0].key, &src->key, sizeof(src->key)));
	/* Deep: the backend arrays are distinct allocations. */
	CU_ASSERT(b.services[0].subsets[0].backends !=
		  src->subsets[0].backends);
	CU_ASSERT(!memcmp(b.services[0].subsets[0].backends,
			  src->subsets[0].backends,
			  sizeof(struct veer_backend)));
	/*
	 * Copying a service into its own model must survive the array
	 * moving under src.
	 */
	for (i = 0; i < 40; i++)
		CU_ASSERT_FATAL(veer_model_copy_service(&a, &a.services[0]) ==
				0);
	CU_ASSERT_EQUAL(a.count, 41);
	CU_ASSERT_STRING_EQUAL(a.services[40].name, "orders");
	CU_ASSERT_EQUAL(a.services[40].subsets[0].backend_count, 1);
	veer_model_free(&a);
	veer_model_free(&b);
}

static void test_validate_messages(void)
{
	struct veer_model m;
	struct veer_service_model *svc;
	struct veer_backend *many;
	char err[ERR_LEN];
	unsigned int i;

	veer_model_init(&m);
	svc = add_svc(&m, "customers", "10.96.0.10", 80, "10.0.0.1:80");
	CU_ASSERT(veer_service_validate(svc, err, sizeof(err)) == 0);

	/* No location: no prefix. */
	svc->subsets[0].weight = 90;
	expect_invalid(svc,
		       "service customers: subset weights sum to 90, must be "
		       "100");
	set_loc(&svc->loc, 3, 5);
	expect_invalid(svc, "x.yaml:3:5: service customers: subset weights "
			    "sum to 90, must be 100");
	svc->subsets[0].weight = 101;
	expect_invalid(svc, "x.yaml:3:5: service customers: subset v1: weight "
			    "101, at most 100");
	svc->subsets[0].weight = 100;
	/* Subset errors point at the subset when it has a location. */
	set_loc(&svc->subsets[0].loc, 7, 9);
	svc->subset_count = 2;
	snprintf(svc->subsets[1].name, sizeof(svc->subsets[1].name), "v1");
	set_loc(&svc->subsets[1].loc, 9, 9);
	expect_invalid(svc, "x.yaml:9:9: service customers: duplicate subset "
			    "name v1");
	snprintf(svc->subsets[1].name, sizeof(svc->subsets[1].name), "v 2");
	expect_invalid(svc, "x.yaml:9:9: service customers: subset 2 name "
			    "\"v 2\": only letters, digits, '.', '-' and '_' "
			    "allowed");
	memset(svc->subsets[1].name, 'a', sizeof(svc->subsets[1].name));
	expect_invalid(svc, "x.yaml:9:9: service customers: subset 2 name "
			    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": too long");
	snprintf(svc->subsets[1].name, sizeof(svc->subsets[1].name), "v3");
	svc->subsets[1].weight = 0;
	CU_ASSERT(veer_service_validate(svc, err, sizeof(err)) == 0);

	/* IPv4 backend behind an IPv6 VIP. */
	veer_addr_parse("fd00::10", &svc->key.vip, &svc->key.family);
	expect_invalid(svc, "x.yaml:7:9: service customers: subset v1: "
			    "backend 10.0.0.1:80 is IPv4 but the VIP is IPv6");
	veer_addr_parse("10.96.0.10", &svc->key.vip, &svc->key.family);

	svc->subset_count = VEER_MAX_SUBSETS + 1;
	expect_invalid(svc, "x.yaml:3:5: service customers: 9 subsets, at "
			    "most 8");
	svc->subset_count = 0;
	expect_invalid(svc, "x.yaml:3:5: service customers: no subsets, at "
			    "least 1 required");
	svc->subset_count = 2;

	/* A model can hold more backends than the map; the validator says. */
	many = calloc(VEER_MAX_BACKENDS_PER_SUBSET + 1, sizeof(*many));
	CU_ASSERT_PTR_NOT_NULL_FATAL(many);
	for (i = 0; i <= VEER_MAX_BACKENDS_PER_SUBSET; i++) {
		many[i].family = VEER_AF_INET;
		many[i].addr.v4 = htonl(0x0a010000 + i);
		many[i].port = htons(80);
	}
	free(svc->subsets[0].backends);
	svc->subsets[0].backends = many;
	svc->subsets[0].backend_count = VEER_MAX_BACKENDS_PER_SUBSET + 1;
	expect_invalid(svc, "x.yaml:7:9: service customers: subset v1: 257 "
			    "backends, at most 256");
	svc->subsets[0].backend_count = 2;
	many[1] = many[0];
	expect_invalid(svc, "x.yaml:7:9: service customers: subset v1: "
			    "duplicate backend 10.1.0.0:80");
	svc->subsets[0].backend_count = 1;
	/* Weight > 0 with no backends is fine: pods come and go. */
	svc->subsets[0].backend_count = 0;
	CU_ASSERT(veer_service_validate(svc, err, sizeof(err)) == 0);
	svc->subsets[0].backend_count = 1;

	svc->key.proto = IPPROTO_UDP;
	expect_invalid(svc, "x.yaml:3:5: service customers: protocol 17, only "
			    "TCP (6) supported");
	svc->key.proto = IPPROTO_TCP;
	svc->key.port = 0;
	expect_invalid(svc, "x.yaml:3:5: service customers: port 0");
	svc->key.port = htons(80);
	svc->flags = 0x80;
	expect_invalid(svc, "x.yaml:3:5: service customers: unknown flags "
			    "0x80");
	svc->flags = VEER_SVC_F_HASH_SRC_IP;
	CU_ASSERT(veer_service_validate(svc, err, sizeof(err)) == 0);

	snprintf(svc->name, sizeof(svc->name), "a b");
	expect_invalid(svc, "x.yaml:3:5: service name \"a b\": only letters, "
			    "digits, '.', '-', '_', ':' and '/' allowed");
	/* A newline in a name must not break the one-line contract. */
	snprintf(svc->name, sizeof(svc->name), "a\nb\"");
	expect_invalid(svc, "x.yaml:3:5: service name \"a\\x0ab\\x22\": only "
			    "letters, digits, '.', '-', '_', ':' and '/' "
			    "allowed");
	svc->name[0] = '\0';
	expect_invalid(svc, "x.yaml:3:5: service name \"\": must not be "
			    "empty");
	memset(svc->name, 'n', sizeof(svc->name));
	CU_ASSERT(veer_service_validate(svc, err, sizeof(err)) == -1);
	CU_ASSERT(strstr(err, "too long") != NULL);
	snprintf(svc->name, sizeof(svc->name), "customers");

	/* A tiny error buffer is truncated, never overrun. */
	svc->key.port = 0;
	memset(err, 'x', sizeof(err));
	CU_ASSERT(veer_service_validate(svc, err, 4) == -1);
	CU_ASSERT_STRING_EQUAL(err, "x.y");
	CU_ASSERT(veer_service_validate(svc, NULL, 0) == -1);
	veer_model_free(&m);
}

static void test_validate_duplicates(void)
{
	struct veer_model m;
	char err[ERR_LEN];

	veer_model_init(&m);
	add_svc(&m, "a", "10.96.0.1", 80, "10.0.0.1:80");
	add_svc(&m, "customers", "10.96.0.10", 80, "10.0.0.1:80");
	add_svc(&m, "b", "10.96.0.10", 81, "10.0.0.1:80");
	add_svc(&m, "c", "fd00::1", 80, "[fd00::2]:80");
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == 0);
	add_svc(&m, "orders", "10.96.0.10", 80, "10.0.0.1:80");
	set_loc(&m.services[4].loc, 12, 5);
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == -1);
	CU_ASSERT_STRING_EQUAL(err, "x.yaml:12:5: services customers and "
				    "orders both use VIP 10.96.0.10:80");
	m.services[4].key.port = htons(82);
	/* Names are checked first; the later definition is blamed. */
	add_svc(&m, "zz", "fd00::1", 80, "[fd00::2]:80");
	add_svc(&m, "customers", "10.96.0.99", 80, "10.0.0.1:80");
	set_loc(&m.services[6].loc, 20, 5);
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == -1);
	CU_ASSERT_STRING_EQUAL(err,
			       "x.yaml:20:5: duplicate service name customers");
	snprintf(m.services[6].name, sizeof(m.services[6].name), "d");
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == -1);
	CU_ASSERT_STRING_EQUAL(err, "services c and zz both use VIP "
				    "[fd00::1]:80");
	m.services[5].key.port = htons(443);
	CU_ASSERT(veer_model_validate(&m, err, sizeof(err)) == 0);
	veer_model_free(&m);
}

static void test_validate_addresses(void)
{
	struct veer_model m;
	struct veer_service_model *svc;

	veer_model_init(&m);
	svc = add_svc(&m, "s", "0.0.0.0", 80, "10.0.0.1:80");
	expect_invalid(svc, "service s: VIP 0.0.0.0:80 is the unspecified "
			    "address");
	veer_addr_parse("::ffff:10.0.0.1", &svc->key.vip, &svc->key.family);
	expect_invalid(svc, "service s: VIP [::ffff:10.0.0.1]:80 is "
			    "IPv4-mapped; write the IPv4 address");
	veer_addr_parse("10.96.0.1", &svc->key.vip, &svc->key.family);
	svc->key.vip.bytes[15] = 1;
	expect_invalid(svc, "service s: IPv4 VIP with non-zero padding");
	svc->key.vip.bytes[15] = 0;
	svc->key.family = 3;
	expect_invalid(svc, "service s: unknown address family 3");
	svc->key.family = VEER_AF_INET;
	svc->subsets[0].backends[0].addr.v4 = 0;
	expect_invalid(svc, "service s: subset v1: backend 0.0.0.0:80: not a "
			    "usable unicast address");
	veer_model_free(&m);
}

int unit_model_suite(void)
{
	static const struct unit_test tests[] = {
		{"add, find, free", test_model_basics},
		{"backend limit per subset", test_add_backend_limit},
		{"deep copy of a service", test_copy_service},
		{"validator messages", test_validate_messages},
		{"duplicate names and VIPs", test_validate_duplicates},
		{"VIP and backend addresses", test_validate_addresses},
	};

	return unit_add_suite("model", NULL, NULL, tests, ARRAY_SIZE(tests));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The store's host index (user/hostindex.c): the records a configuration
 * makes (a host with two ports and IPv4 + IPv6 entries, the same short
 * name in two namespaces, a ServiceEntry host, a native service), read
 * back to the same keys and routes; diffs; what cannot be indexed leaves
 * the index incomplete. The lookup through the store and the maps is
 * tests/e2e/test_weight_index.sh.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "hostindex.h"
#include "model.h"
#include "objset.h"
#include "unit.h"

static void add(struct veer_model *m, const char *name, const char *host,
		const char *vip, unsigned int port, const char *vs_ns,
		const char *vs_name, unsigned int index, const char *dest)
{
	struct veer_service_model *svc = veer_model_add_service(m);
	uint8_t family;

	CU_ASSERT_FATAL(svc != NULL);
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	snprintf(svc->host, sizeof(svc->host), "%s", host);
	CU_ASSERT_FATAL(veer_addr_parse(vip, &svc->key.vip, &family) == 0);
	svc->key.family = family;
	svc->key.port = htons((uint16_t)port);
	svc->key.proto = IPPROTO_TCP;
	snprintf(svc->route.vs_ns, sizeof(svc->route.vs_ns), "%s", vs_ns);
	snprintf(svc->route.vs_name, sizeof(svc->route.vs_name), "%s", vs_name);
	svc->route.index = index;
	svc->route.tcp = port == 8080;
	snprintf(svc->route.dest_host, sizeof(svc->route.dest_host), "%s",
		 dest);
}

#define SHOP "cart.shop.svc.cluster.local"
#define LAB "cart.lab.svc.cluster.local"

static void shop_model(struct veer_model *m)
{
	veer_model_init(m);
	add(m, "web", "", "10.96.3.10", 80, "", "", 0, "");
	add(m, SHOP ":8080/ipv6", SHOP, "fd00:96::1:10", 8080, "shop", "cart",
	    1, SHOP);
	add(m, SHOP ":80", SHOP, "10.96.1.10", 80, "shop", "cart", 0, "cart");
	add(m, SHOP ":80/ipv6", SHOP, "fd00:96::1:10", 80, "shop", "cart", 0,
	    "cart");
	add(m, SHOP ":8080", SHOP, "10.96.1.10", 8080, "shop", "cart", 1, SHOP);
	add(m, LAB, LAB, "10.96.2.10", 80, "lab", "cart-vs", 2, "-");
	/* A ServiceEntry host: no short name; no VirtualService. */
	add(m, "api.example.com", "api.example.com", "10.96.4.10", 443, "", "",
	    0, "");
}

static const struct veer_object *record(const struct veer_objset *set,
					const char *kind, const char *name)
{
	struct veer_object_key k;

	memset(&k, 0, sizeof(k));
	snprintf(k.kind, sizeof(k.kind), "%s", kind);
	snprintf(k.name, sizeof(k.name), "%s", name);
	return veer_objset_find(set, &k);
}

static int collect(const char *host, void *ctx)
{
	char *out = ctx;

	strcat(out, host);
	strcat(out, ";");
	return 0;
}

static void test_records_round_trip(void)
{
	struct veer_model m, back;
	struct veer_objset set;
	const struct veer_object *o;
	char hosts[512] = "";
	size_t i, j;

	shop_model(&m);
	CU_ASSERT_FATAL(veer_index_records(&m, &set) == 0);
	/* Three hosts, one short name (cart: both namespaces), complete. */
	UNIT_CHECK(set.live == 5, "%zu records", set.live);
	CU_ASSERT(record(&set, VEER_INDEX_KIND_HOST, SHOP) != NULL);
	CU_ASSERT(record(&set, VEER_INDEX_KIND_HOST, LAB) != NULL);
	CU_ASSERT(record(&set, VEER_INDEX_KIND_HOST, "api.example.com") !=
		  NULL);
	CU_ASSERT(record(&set, VEER_INDEX_KIND_HOST, "") == NULL);
	o = record(&set, VEER_INDEX_KIND_STATE, VEER_INDEX_STATE_NAME);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(o->len == strlen(VEER_INDEX_FORMAT));
	for (i = 0; i < set.count; i++)
		CU_ASSERT(veer_index_is_record(&set.objects[i].key));

	o = record(&set, VEER_INDEX_KIND_SHORT, "cart");
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(veer_index_parse_short(o->text, o->len, collect, hosts) == 0);
	UNIT_CHECK(!strcmp(hosts, LAB ";" SHOP ";"), "hosts '%s'", hosts);

	/* Every entry back with its key and route, sorted by name. */
	veer_model_init(&back);
	o = record(&set, VEER_INDEX_KIND_HOST, SHOP);
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT_FATAL(veer_index_parse_host(SHOP, o->text, o->len, &back) ==
			0);
	o = record(&set, VEER_INDEX_KIND_HOST, LAB);
	CU_ASSERT_FATAL(veer_index_parse_host(LAB, o->text, o->len, &back) ==
			0);
	UNIT_CHECK(back.count == 5, "%zu entries", back.count);
	UNIT_CHECK(!strcmp(back.services[0].name, SHOP ":80"), "first %s",
		   back.services[0].name);
	for (i = 0; i < back.count; i++) {
		const struct veer_service_model *b = &back.services[i], *w;

		w = veer_model_find(&m, b->name);
		UNIT_CHECK(w != NULL, "%s", b->name);
		if (!w)
			continue;
		UNIT_CHECK(!strcmp(w->host, b->host), "%s", b->name);
		UNIT_CHECK(!memcmp(&w->key, &b->key, sizeof(w->key)), "%s",
			   b->name);
		UNIT_CHECK(
			!strcmp(w->route.vs_ns, b->route.vs_ns) &&
				!strcmp(w->route.vs_name, b->route.vs_name) &&
				w->route.tcp == b->route.tcp &&
				w->route.index == b->route.index &&
				!strcmp(w->route.dest_host, b->route.dest_host),
			"route of %s", b->name);
	}
	/* No VirtualService: none read back. */
	veer_model_free(&back);
	veer_model_init(&back);
	o = record(&set, VEER_INDEX_KIND_HOST, "api.example.com");
	CU_ASSERT_FATAL(veer_index_parse_host("api.example.com", o->text,
					      o->len, &back) == 0);
	CU_ASSERT(back.count == 1 && !back.services[0].route.vs_name[0] &&
		  !back.services[0].route.vs_ns[0]);
	for (j = 0; j < back.count; j++)
		CU_ASSERT(back.services[j].key.family == VEER_AF_INET);
	veer_model_free(&back);
	veer_objset_free(&set);
	veer_model_free(&m);
}

static void test_diff(void)
{
	struct veer_model m;
	struct veer_objset before, after, changes;
	const struct veer_object *o;

	shop_model(&m);
	CU_ASSERT_FATAL(veer_index_records(&m, &before) == 0);
	/* The same configuration: nothing to write. */
	veer_objset_init(&changes);
	CU_ASSERT(veer_index_diff(&before, &before, &changes) == 0);
	CU_ASSERT(changes.live == 0);
	/* cart leaves lab, shop's route moves: two hosts and a short name. */
	m.count--; /* api.example.com */
	m.services[m.count - 1].host[0] = '\0'; /* lab's entry: native now */
	m.services[2].route.index = 3;
	CU_ASSERT_FATAL(veer_index_records(&m, &after) == 0);
	CU_ASSERT(veer_index_diff(&after, &before, &changes) == 0);
	UNIT_CHECK(changes.live == 4, "%zu changes", changes.live);
	o = record(&changes, VEER_INDEX_KIND_HOST, LAB);
	CU_ASSERT(o && o->len == 0);
	o = record(&changes, VEER_INDEX_KIND_HOST, "api.example.com");
	CU_ASSERT(o && o->len == 0);
	o = record(&changes, VEER_INDEX_KIND_HOST, SHOP);
	CU_ASSERT(o && o->len > 0);
	o = record(&changes, VEER_INDEX_KIND_SHORT, "cart");
	CU_ASSERT(o && o->len == strlen(SHOP "\n"));
	CU_ASSERT(record(&changes, VEER_INDEX_KIND_STATE,
			 VEER_INDEX_STATE_NAME) == NULL);
	veer_objset_free(&changes);
	veer_objset_free(&before);
	veer_objset_free(&after);
	veer_model_free(&m);
}

static void test_fields_and_limits(void)
{
	struct veer_model m, back;
	struct veer_objset set;
	const struct veer_object *o;
	char buf[64];

	/* A destination host with a blank and a '%': encoded, read back. */
	veer_model_init(&m);
	add(&m, "odd.example", "odd.example", "10.0.0.1", 80, "ns", "vs", 0,
	    "a b%c");
	CU_ASSERT_FATAL(veer_index_records(&m, &set) == 0);
	o = record(&set, VEER_INDEX_KIND_HOST, "odd.example");
	CU_ASSERT_FATAL(o != NULL);
	CU_ASSERT(memchr(o->text, '%', o->len) != NULL);
	veer_model_init(&back);
	CU_ASSERT(veer_index_parse_host("odd.example", o->text, o->len,
					&back) == 0);
	CU_ASSERT(back.count == 1 &&
		  !strcmp(back.services[0].route.dest_host, "a b%c"));
	CU_ASSERT(record(&set, VEER_INDEX_KIND_STATE, VEER_INDEX_STATE_NAME) !=
		  NULL);
	veer_model_free(&back);
	veer_objset_free(&set);
	/* A host no record can be named by: the index says it is not
	 * complete (readers scan). */
	snprintf(m.services[0].host, sizeof(m.services[0].host), "a b");
	CU_ASSERT_FATAL(veer_index_records(&m, &set) == 0);
	CU_ASSERT(record(&set, VEER_INDEX_KIND_STATE, VEER_INDEX_STATE_NAME) ==
		  NULL);
	veer_objset_free(&set);
	veer_model_free(&m);
	/* Damaged records are refused. */
	veer_model_init(&back);
	CU_ASSERT(veer_index_parse_host("h", "x 4 10.0.0.1 80 - - tcp 0 -", 27,
					&back) == -1);
	CU_ASSERT(veer_index_parse_host("h", "x 6 10.0.0.1 80 - - tcp 0 -\n",
					28, &back) == -1);
	CU_ASSERT(veer_index_parse_host("h", "x 4 10.0.0.1 0 - - tcp 0 -\n", 27,
					&back) == -1);
	CU_ASSERT(veer_index_parse_host("h", "x 4 10.0.0.1 80 - - udp 0 -\n",
					28, &back) == -1);
	CU_ASSERT(veer_index_parse_host("h", "x 4 10.0.0.1 80 %zz - tcp 0 -\n",
					30, &back) == -1);
	veer_model_free(&back);
	/* Short names: Kubernetes hosts only. */
	CU_ASSERT(veer_index_short_of(SHOP, buf, sizeof(buf)) &&
		  !strcmp(buf, "cart"));
	CU_ASSERT(!veer_index_short_of("cart.svc.cluster.local", buf,
				       sizeof(buf)));
	CU_ASSERT(!veer_index_short_of("a.b.c.svc.cluster.local", buf,
				       sizeof(buf)));
	CU_ASSERT(!veer_index_short_of("api.example.com", buf, sizeof(buf)));
}

int unit_hostindex_suite(void)
{
	static const struct unit_test tests[] = {
		{"host index: records of a configuration, read back",
		 test_records_round_trip},
		{"host index: what changes between two configurations",
		 test_diff},
		{"host index: encoded fields, what cannot be indexed, damage",
		 test_fields_and_limits},
	};

	return unit_add_suite("host index", NULL, NULL, tests,
			      ARRAY_SIZE(tests));
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The map store on the real pinned maps: entries counted in batches,
 * rule sets versioned and retired, a host's entries pruned, a refused
 * apply that writes nothing, a weight change planned from a named read.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fixture.h"
#include "maps.h"
#include "model.h"

#include "test_mapstore.h"

/*
 * `veer status` counts conntrack entries in batches, with a walk as the
 * fallback: over several batches (more than one buffer of 8192), after
 * deletions, and on an empty map, on an LRU map laid out as conntrack.
 */
static void test_ct_count(void)
{
	enum { FILL = 20011, REMOVED = 11, CAPACITY = 1 << 17 };
	struct veer_ct_entry entry = {};
	struct veer_ct_key key = {};
	unsigned int i;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "veer_ct_count", sizeof(key),
			    sizeof(entry), CAPACITY, NULL);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(veer_maps_count_entries(fd), 0);
	for (i = 0; i < FILL; i++) {
		key.saddr.v4 = htonl(0x0a000000 + i);
		key.sport = htons((uint16_t)(1024 + i % 50000));
		CU_ASSERT_EQUAL_FATAL(
			bpf_map_update_elem(fd, &key, &entry, BPF_NOEXIST), 0);
	}
	CU_ASSERT_EQUAL(veer_maps_count_entries(fd), FILL);
	for (i = 0; i < REMOVED; i++) {
		key.saddr.v4 = htonl(0x0a000000 + i * 7);
		key.sport = htons((uint16_t)(1024 + (i * 7) % 50000));
		CU_ASSERT_EQUAL(bpf_map_delete_elem(fd, &key), 0);
	}
	CU_ASSERT_EQUAL(veer_maps_count_entries(fd), FILL - REMOVED);
	close(fd);
}

/* Every byte of configuration state, to prove a failed apply wrote none. */
static size_t dump_config_maps(unsigned char **out)
{
	unsigned char key[64], next[64], *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream((char **)&buf, &len);
	int fds[] = {maps.services, maps.rules};
	size_t sizes[][2] = {
		{sizeof(struct veer_svc_key), sizeof(struct veer_service)},
		{sizeof(struct veer_rule_key), sizeof(struct veer_rule)}};
	static struct veer_rule value; /* the largest value */
	struct veer_svc_meta meta;
	struct veer_backend backend;
	uint32_t i;
	size_t m;

	for (m = 0; m < 2; m++) {
		void *prev = NULL;

		/* Hash order is stable while the map is unchanged. */
		while (bpf_map_get_next_key(fds[m], prev, next) == 0) {
			memcpy(key, next, sizes[m][0]);
			prev = key;
			if (bpf_map_lookup_elem(fds[m], key, &value) == 0) {
				fwrite(key, 1, sizes[m][0], f);
				fwrite(&value, 1, sizes[m][1], f);
			}
		}
	}
	for (i = 0; i <= maps.max_services; i++)
		if (bpf_map_lookup_elem(maps.svc_meta, &i, &meta) == 0)
			fwrite(&meta, 1, sizeof(meta), f);
	for (i = 0; i < maps.max_backends; i++)
		if (bpf_map_lookup_elem(maps.backends, &i, &backend) == 0)
			fwrite(&backend, 1, sizeof(backend), f);
	fclose(f);
	*out = buf;
	return len;
}

static void host_entry(struct veer_model *m, const char *name, const char *host,
		       const char *vip, unsigned int w1, unsigned int rules)
{
	struct veer_service_model *svc = veer_model_add_service(m);
	struct veer_backend be = {};
	struct veer_rule rule = {};
	unsigned int r;

	snprintf(svc->name, sizeof(svc->name), "%s", name);
	snprintf(svc->host, sizeof(svc->host), "%s", host);
	veer_addr_parse(vip, &svc->key.vip, &svc->key.family);
	svc->key.port = htons(80);
	svc->key.proto = 6;
	svc->subset_count = 2;
	snprintf(svc->subsets[0].name, VEER_SUBSET_NAME_MAX, "v1");
	snprintf(svc->subsets[1].name, VEER_SUBSET_NAME_MAX, "v2");
	svc->subsets[0].weight = w1;
	svc->subsets[1].weight = 100 - w1;
	veer_endpoint_parse(svc->key.family == VEER_AF_INET ? "10.30.0.1:80"
							    : "[fd30::1]:80",
			    &be.addr, &be.family, &be.port);
	veer_subset_add_backend(&svc->subsets[0], &be);
	rule.match_count = 1;
	rule.matches[0].condition_count = 1;
	rule.matches[0].conditions[0].field = VEER_COND_HEADER;
	rule.matches[0].conditions[0].op = VEER_COND_EXACT;
	for (r = 0; r < rules; r++) {
		struct veer_condition *c = &rule.matches[0].conditions[0];

		c->name_len =
			(uint8_t)snprintf(c->name, sizeof(c->name), "x-group");
		c->value_len = (uint8_t)snprintf(c->value, sizeof(c->value),
						 "test%u", r);
		rule.weights[1] = 100;
		veer_service_add_rule(svc, &rule);
	}
}

static int store_apply(struct veer_model *desired, bool prune, char *err)
{
	struct veer_model current;
	bool changed;
	int ret;

	veer_model_init(&current);
	ret = veer_maps_read_model(&maps, &current, err, VEER_ERR_LEN);
	if (!ret)
		ret = veer_maps_apply(&maps, &current, desired, prune, false,
				      NULL, &changed, err, VEER_ERR_LEN);
	veer_model_free(&current);
	return ret;
}

static bool rule_present(uint32_t id, uint32_t version, uint32_t index)
{
	struct veer_rule_key key = {id, version, index};
	static struct veer_rule rule;

	return bpf_map_lookup_elem(maps.rules, &key, &rule) == 0;
}

static const struct veer_service_model *find_live(struct veer_model *m,
						  const char *name)
{
	char err[VEER_ERR_LEN];

	veer_model_free(m);
	veer_model_init(m);
	if (veer_maps_read_model(&maps, m, err, sizeof(err)))
		return NULL;
	return veer_model_find(m, name);
}

/* Rule sets: a new version per change, the old one retired. */
static void test_store_rules(void)
{
	struct veer_model desired, live;
	const struct veer_service_model *svc;
	char err[VEER_ERR_LEN];
	uint32_t id, version;

	veer_model_init(&desired);
	veer_model_init(&live);
	host_entry(&desired, "ruled", "ruled.default.svc.cluster.local",
		   "10.96.9.1", 100, 1);
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, true, err), 0);
	svc = find_live(&live, "ruled");
	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	CU_ASSERT_EQUAL(svc->rule_count, 1);
	CU_ASSERT_STRING_EQUAL(svc->rules[0].matches[0].conditions[0].value,
			       "test0");
	CU_ASSERT_STRING_EQUAL(svc->host, "ruled.default.svc.cluster.local");
	id = svc->id;
	version = 1;
	CU_ASSERT_TRUE(rule_present(id, version, 0));

	/* Weights only: the rule set stays where it is. */
	veer_model_free(&desired);
	veer_model_init(&desired);
	host_entry(&desired, "ruled", "ruled.default.svc.cluster.local",
		   "10.96.9.1", 50, 1);
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, true, err), 0);
	CU_ASSERT_TRUE(rule_present(id, version, 0));
	CU_ASSERT_FALSE(rule_present(id, version + 1, 0));

	/* Two rules: written under the next version, the old set gone. */
	veer_model_free(&desired);
	veer_model_init(&desired);
	host_entry(&desired, "ruled", "ruled.default.svc.cluster.local",
		   "10.96.9.1", 50, 2);
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, true, err), 0);
	CU_ASSERT_FALSE(rule_present(id, version, 0));
	CU_ASSERT_TRUE(rule_present(id, version + 1, 0));
	CU_ASSERT_TRUE(rule_present(id, version + 1, 1));
	svc = find_live(&live, "ruled");
	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	CU_ASSERT_EQUAL(svc->rule_count, 2);
	CU_ASSERT_STRING_EQUAL(svc->rules[1].matches[0].conditions[0].value,
			       "test1");
	veer_model_free(&desired);
	veer_model_free(&live);
}

/* A host's files define all its entries: the ones they drop go. */
static void test_store_prune(void)
{
	struct veer_model desired, live;
	char err[VEER_ERR_LEN];

	veer_model_init(&desired);
	veer_model_init(&live);
	host_entry(&desired, "dual:80", "dual.default.svc.cluster.local",
		   "10.96.9.2", 100, 0);
	host_entry(&desired, "dual:80/ipv6", "dual.default.svc.cluster.local",
		   "fd00:96::9:2", 100, 0);
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, true, err), 0);
	CU_ASSERT_PTR_NOT_NULL(find_live(&live, "dual:80/ipv6"));

	/* Without pruning (veer weight), a partial model removes nothing. */
	veer_model_free(&desired);
	veer_model_init(&desired);
	host_entry(&desired, "dual:80", "dual.default.svc.cluster.local",
		   "10.96.9.2", 90, 0);
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, false, err), 0);
	CU_ASSERT_PTR_NOT_NULL(find_live(&live, "dual:80/ipv6"));
	CU_ASSERT_EQUAL(find_live(&live, "dual:80")->subsets[0].weight, 90);

	/* With pruning (veer apply), the IPv6 entry the host lost goes. */
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, true, err), 0);
	CU_ASSERT_PTR_NULL(find_live(&live, "dual:80/ipv6"));
	CU_ASSERT_PTR_NOT_NULL(find_live(&live, "dual:80"));
	veer_model_free(&desired);
	veer_model_free(&live);
}

/* Refused applies leave every configuration map byte-identical. */
static void test_store_failed_apply_changes_nothing(void)
{
	struct veer_model desired;
	unsigned char *before, *after;
	size_t before_len, after_len;
	char err[VEER_ERR_LEN];

	before_len = dump_config_maps(&before);
	CU_ASSERT_TRUE(before_len > 0);

	/* Another service's VIP:port, found only against the live maps. */
	veer_model_init(&desired);
	host_entry(&desired, "thief", "", "10.96.9.1", 100, 1);
	host_entry(&desired, "innocent", "", "10.96.9.3", 100, 1);
	CU_ASSERT_NOT_EQUAL(store_apply(&desired, true, err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "already used by service ruled"));
	veer_model_free(&desired);

	/* Invalid weights in the second of two services. */
	veer_model_init(&desired);
	host_entry(&desired, "fine", "", "10.96.9.4", 100, 0);
	host_entry(&desired, "broken", "", "10.96.9.5", 100, 0);
	desired.services[1].subsets[1].weight = 5;
	CU_ASSERT_NOT_EQUAL(store_apply(&desired, true, err), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "sum to 105"));
	veer_model_free(&desired);

	after_len = dump_config_maps(&after);
	CU_ASSERT_EQUAL(before_len, after_len);
	CU_ASSERT_TRUE(before_len == after_len &&
		       memcmp(before, after, before_len) == 0);
	free(before);
	free(after);
}

static bool named_many123(const struct veer_service_model *svc, void *ctx)
{
	(void)ctx;
	return !strcmp(svc->name, "many123");
}

/*
 * The weight-change path (as `veer weight`): a named read materialises
 * only the named service, and an apply planned against that partial model
 * rewrites it alone: every other service value is byte-identical and the
 * named one keeps its backend slots.
 */
static void test_store_named_weight_change(void)
{
	enum { MANY = 200 };
	struct veer_service before[MANY], after;
	struct veer_model desired, partial;
	struct veer_svc_key keys[MANY];
	char err[VEER_ERR_LEN], vip[32], name[32];
	bool changed;
	unsigned int i;

	veer_model_init(&desired);
	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "many%u", i);
		snprintf(vip, sizeof(vip), "10.96.%u.%u", 20 + i / 250,
			 1 + i % 250);
		host_entry(&desired, name, "", vip, 80, 0);
		keys[i] = desired.services[i].key;
	}
	CU_ASSERT_EQUAL_FATAL(store_apply(&desired, false, err), 0);
	veer_model_free(&desired);
	for (i = 0; i < MANY; i++)
		CU_ASSERT_EQUAL_FATAL(bpf_map_lookup_elem(maps.services,
							  &keys[i], &before[i]),
				      0);

	veer_model_init(&partial);
	CU_ASSERT_EQUAL_FATAL(veer_maps_read_model_filtered(&maps, &partial,
							    named_many123, NULL,
							    err, sizeof(err)),
			      0);
	CU_ASSERT_EQUAL_FATAL(partial.count, 1);
	CU_ASSERT_STRING_EQUAL(partial.services[0].name, "many123");
	CU_ASSERT_EQUAL(partial.services[0].subsets[0].backend_count, 1);

	veer_model_init(&desired);
	CU_ASSERT_EQUAL_FATAL(
		veer_model_copy_service(&desired, &partial.services[0]), 0);
	desired.services[0].subsets[0].weight = 30;
	desired.services[0].subsets[1].weight = 70;
	CU_ASSERT_EQUAL(veer_maps_apply(&maps, &partial, &desired, false, false,
					NULL, &changed, err, sizeof(err)),
			0);
	CU_ASSERT_TRUE(changed);

	for (i = 0; i < MANY; i++) {
		CU_ASSERT_EQUAL_FATAL(
			bpf_map_lookup_elem(maps.services, &keys[i], &after),
			0);
		if (i != 123) {
			CU_ASSERT_EQUAL(
				memcmp(&before[i], &after, sizeof(after)), 0);
			continue;
		}
		CU_ASSERT_EQUAL(after.subsets[0].weight, 30);
		CU_ASSERT_EQUAL(after.subsets[1].weight, 70);
		CU_ASSERT_EQUAL(after.generation, before[i].generation + 1);
		CU_ASSERT_EQUAL(after.id, before[i].id);
		CU_ASSERT_EQUAL(after.subsets[0].backend_base,
				before[i].subsets[0].backend_base);
	}
	veer_model_free(&desired);
	veer_model_free(&partial);
}

int add_mapstore_tests(CU_pSuite suite)
{
	return !CU_add_test(suite, "conntrack count in batches",
			    test_ct_count) ||
	       !CU_add_test(suite, "store: versioned rule sets",
			    test_store_rules) ||
	       !CU_add_test(suite,
			    "store: apply prunes a host's dropped entries",
			    test_store_prune) ||
	       !CU_add_test(suite, "store: refused apply changes no map byte",
			    test_store_failed_apply_changes_nothing) ||
	       !CU_add_test(suite, "store: weight change from a named read",
			    test_store_named_weight_change);
}

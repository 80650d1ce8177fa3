// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The map store's crash safety (issue 10, findings 3, 4 and 8), on real
 * but private BPF maps made here with bpf_map_create (no program, no pin,
 * nothing shared; freed with the test). Each test builds the state an
 * apply leaves when stopped at a given instant and checks that readers see
 * every service once and that apply repairs it; deletes go by identity; a
 * refused apply prints nothing. Needs root (CAP_BPF): without it the tests
 * say so and pass vacuously.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <CUnit/CUnit.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "maps.h"
#include "model.h"
#include "unit.h"
#include "veer_abi.h"

#define STORE_SERVICES 64
#define STORE_BACKENDS 256
#define STORE_RULES 256

static struct veer_maps maps;
static bool have_maps;

static int store_init(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, hash_opts,
		    .map_flags = BPF_F_NO_PREALLOC);
	LIBBPF_OPTS(bpf_map_create_opts, mmap_opts,
		    .map_flags = BPF_F_MMAPABLE);

	veer_maps_init(&maps);
	maps.services = bpf_map_create(
		BPF_MAP_TYPE_HASH, "t_services", sizeof(struct veer_svc_key),
		sizeof(struct veer_service), STORE_SERVICES, &hash_opts);
	maps.backends = bpf_map_create(
		BPF_MAP_TYPE_ARRAY, "t_backends", sizeof(__u32),
		sizeof(struct veer_backend), STORE_BACKENDS, NULL);
	maps.svc_meta = bpf_map_create(
		BPF_MAP_TYPE_ARRAY, "t_meta", sizeof(__u32),
		sizeof(struct veer_svc_meta), STORE_SERVICES + 1, &mmap_opts);
	maps.stats = bpf_map_create(
		BPF_MAP_TYPE_PERCPU_ARRAY, "t_stats", sizeof(__u32),
		sizeof(struct veer_stats),
		(STORE_SERVICES + 1) * VEER_STATS_ROWS_PER_SVC, NULL);
	maps.rules = bpf_map_create(
		BPF_MAP_TYPE_HASH, "t_rules", sizeof(struct veer_rule_key),
		sizeof(struct veer_rule), STORE_RULES, &hash_opts);
	maps.be_vips = bpf_map_create(
		BPF_MAP_TYPE_HASH, "t_be_vips", sizeof(struct veer_backend),
		sizeof(struct veer_backend_vips), STORE_BACKENDS, &hash_opts);
	maps.http_stats = bpf_map_create(
		BPF_MAP_TYPE_PERCPU_ARRAY, "t_http_stats", sizeof(__u32),
		sizeof(struct veer_http_stats), STORE_SERVICES + 1, NULL);
	have_maps = maps.services >= 0 && maps.backends >= 0 &&
		    maps.svc_meta >= 0 && maps.stats >= 0 && maps.rules >= 0 &&
		    maps.be_vips >= 0 && maps.http_stats >= 0;
	if (!have_maps)
		fprintf(stderr,
			"\n    store tests skipped: cannot create BPF maps "
			"(%s; they need root)\n",
			strerror(errno));
	maps.max_services = STORE_SERVICES;
	maps.max_backends = STORE_BACKENDS;
	maps.max_rules = STORE_RULES;
	return 0;
}

static int store_clean(void)
{
	veer_maps_close(&maps);
	return 0;
}

/* Empties every map: each test starts from nothing. */
static void store_reset(void)
{
	struct veer_svc_key skey, snext;
	struct veer_rule_key rkey, rnext;
	struct veer_backend bkey, bnext;
	struct veer_svc_meta none = {};
	__u32 i;

	while (bpf_map_get_next_key(maps.be_vips, NULL, &bnext) == 0) {
		bkey = bnext;
		bpf_map_delete_elem(maps.be_vips, &bkey);
	}
	while (bpf_map_get_next_key(maps.services, NULL, &snext) == 0) {
		skey = snext;
		bpf_map_delete_elem(maps.services, &skey);
	}
	while (bpf_map_get_next_key(maps.rules, NULL, &rnext) == 0) {
		rkey = rnext;
		bpf_map_delete_elem(maps.rules, &rkey);
	}
	for (i = 0; i <= STORE_SERVICES; i++)
		bpf_map_update_elem(maps.svc_meta, &i, &none, BPF_ANY);
}

static struct veer_svc_key key_of(const char *vip, unsigned int port)
{
	struct veer_svc_key key = {};

	veer_addr_parse(vip, &key.vip, &key.family);
	key.port = htons((uint16_t)port);
	key.proto = 6;
	return key;
}

/* A two-subset service (v1 weight w1) with one backend in each. */
static void add_svc(struct veer_model *m, const char *name, const char *host,
		    const char *vip, unsigned int port, unsigned int w1)
{
	struct veer_service_model *svc = veer_model_add_service(m);
	struct veer_backend be = {};

	CU_ASSERT_PTR_NOT_NULL_FATAL(svc);
	snprintf(svc->name, sizeof(svc->name), "%s", name);
	snprintf(svc->host, sizeof(svc->host), "%s", host);
	svc->key = key_of(vip, port);
	svc->subset_count = 2;
	snprintf(svc->subsets[0].name, VEER_SUBSET_NAME_MAX, "v1");
	snprintf(svc->subsets[1].name, VEER_SUBSET_NAME_MAX, "v2");
	svc->subsets[0].weight = w1;
	svc->subsets[1].weight = 100 - w1;
	veer_endpoint_parse("10.40.0.1:80", &be.addr, &be.family, &be.port);
	veer_subset_add_backend(&svc->subsets[0], &be);
	veer_endpoint_parse("10.40.0.2:80", &be.addr, &be.family, &be.port);
	veer_subset_add_backend(&svc->subsets[1], &be);
}

/* Reads the maps and applies desired as `veer apply` does; 0 or -1. */
static int apply(const struct veer_model *desired, FILE *out, char *err)
{
	struct veer_model current;
	bool changed;
	int ret;

	veer_model_init(&current);
	ret = veer_maps_read_model(&maps, &current, err, VEER_ERR_LEN);
	if (!ret)
		ret = veer_maps_apply(&maps, &current, desired, true, false,
				      out, &changed, err, VEER_ERR_LEN);
	veer_model_free(&current);
	return ret;
}

static long entries(void)
{
	return veer_maps_count_entries(maps.services);
}

static bool present(const struct veer_svc_key *key, struct veer_service *v)
{
	struct veer_service tmp;

	return bpf_map_lookup_elem(maps.services, key, v ? v : &tmp) == 0;
}

/* Every entry's key is the one its metadata row names. */
static bool keys_agree(void)
{
	struct veer_svc_key key, next;
	struct veer_service value;
	struct veer_svc_meta meta;
	void *prev = NULL;

	while (bpf_map_get_next_key(maps.services, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(maps.services, &key, &value) ||
		    bpf_map_lookup_elem(maps.svc_meta, &value.id, &meta) ||
		    memcmp(&meta.key, &key, sizeof(key)))
			return false;
	}
	return true;
}

static bool named_web(const struct veer_service_model *svc, void *ctx)
{
	return !strcmp(svc->name, (const char *)ctx);
}

/* web at 10.96.50.1:80 and other at 10.96.50.2:80, applied. */
static void two_services(struct veer_model *desired, const char *web_vip,
			 unsigned int w1)
{
	char err[VEER_ERR_LEN] = "";

	veer_model_init(desired);
	add_svc(desired, "web", "", web_vip, 80, w1);
	add_svc(desired, "other", "", "10.96.50.2", 80, 100);
	UNIT_CHECK(apply(desired, NULL, err) == 0, "%s", err);
}

/*
 * Stopped after publishing web at its new VIP, before deleting the old
 * entry: both keys carry web's id, the metadata names the new one.
 */
static void make_ghost(uint32_t *id_out)
{
	struct veer_svc_key old_key = key_of("10.96.50.1", 80);
	struct veer_svc_key new_key = key_of("10.96.50.9", 80);
	struct veer_service value;
	struct veer_svc_meta meta;

	CU_ASSERT_FATAL(present(&old_key, &value));
	CU_ASSERT_FATAL(bpf_map_lookup_elem(maps.svc_meta, &value.id, &meta) ==
			0);
	meta.key = new_key;
	CU_ASSERT_FATAL(bpf_map_update_elem(maps.svc_meta, &value.id, &meta,
					    BPF_ANY) == 0);
	value.generation++;
	value.subsets[0].weight = 0;
	value.subsets[1].weight = 100;
	CU_ASSERT_FATAL(bpf_map_update_elem(maps.services, &new_key, &value,
					    BPF_ANY) == 0);
	*id_out = value.id;
}

static void test_ghost_read_once_and_repaired(void)
{
	struct veer_svc_key old_key = key_of("10.96.50.1", 80);
	struct veer_svc_key new_key = key_of("10.96.50.9", 80);
	struct veer_model desired, live, named;
	struct veer_service_model *web;
	char err[VEER_ERR_LEN] = "";
	uint32_t id;

	if (!have_maps)
		return;
	store_reset();
	two_services(&desired, "10.96.50.1", 100);
	veer_model_free(&desired);
	make_ghost(&id);
	CU_ASSERT_EQUAL(entries(), 3);

	/* Readers: web once, at the key its metadata names. */
	veer_model_init(&live);
	UNIT_CHECK(veer_maps_read_model(&maps, &live, err, sizeof(err)) == 0,
		   "%s", err);
	UNIT_CHECK(live.count == 2, "full read lists %zu services, want 2",
		   live.count);
	web = veer_model_find(&live, "web");
	CU_ASSERT_PTR_NOT_NULL_FATAL(web);
	CU_ASSERT_EQUAL(memcmp(&web->key, &new_key, sizeof(new_key)), 0);
	CU_ASSERT_EQUAL(web->subsets[1].weight, 100);
	UNIT_CHECK(live.stale_count == 1, "%zu stale entries, want 1",
		   live.stale_count);
	veer_model_free(&live);
	veer_model_init(&named);
	CU_ASSERT_EQUAL(veer_maps_read_model_filtered(&maps, &named, named_web,
						      "web", err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(named.count, 1);
	veer_model_free(&named);

	/* The same new config again: the old key goes, nothing else. */
	two_services(&desired, "10.96.50.9", 0);
	CU_ASSERT_FALSE(present(&old_key, NULL));
	CU_ASSERT_TRUE(present(&new_key, NULL));
	CU_ASSERT_EQUAL(entries(), 2);
	CU_ASSERT_TRUE(keys_agree());
	veer_model_free(&desired);

	/* Or the old config again: web goes back, no entry left behind. */
	store_reset();
	two_services(&desired, "10.96.50.1", 100);
	make_ghost(&id);
	UNIT_CHECK(apply(&desired, NULL, err) == 0, "%s", err);
	CU_ASSERT_TRUE(present(&old_key, NULL));
	CU_ASSERT_FALSE(present(&new_key, NULL));
	CU_ASSERT_EQUAL(entries(), 2);
	CU_ASSERT_TRUE(keys_agree());
	veer_model_free(&desired);
}

/*
 * Stopped between the metadata (new key) and the publish: the only entry
 * is at the old key. It is read (fully and by name) and an apply of the
 * old config rewrites the metadata.
 */
static void test_meta_ahead_read_and_repaired(void)
{
	struct veer_svc_key old_key = key_of("10.96.50.1", 80);
	struct veer_model desired, live, named;
	struct veer_service value;
	struct veer_svc_meta meta;
	char err[VEER_ERR_LEN] = "";
	struct text out;

	if (!have_maps)
		return;
	store_reset();
	two_services(&desired, "10.96.50.1", 100);
	CU_ASSERT_FATAL(present(&old_key, &value));
	CU_ASSERT_FATAL(bpf_map_lookup_elem(maps.svc_meta, &value.id, &meta) ==
			0);
	meta.key = key_of("10.96.50.9", 80);
	CU_ASSERT_FATAL(bpf_map_update_elem(maps.svc_meta, &value.id, &meta,
					    BPF_ANY) == 0);

	veer_model_init(&live);
	CU_ASSERT_EQUAL(veer_maps_read_model(&maps, &live, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(live.count, 2);
	CU_ASSERT_PTR_NOT_NULL(veer_model_find(&live, "web"));
	veer_model_free(&live);
	veer_model_init(&named);
	CU_ASSERT_EQUAL(veer_maps_read_model_filtered(&maps, &named, named_web,
						      "web", err, sizeof(err)),
			0);
	UNIT_CHECK(named.count == 1, "named read finds %zu, want 1",
		   named.count);
	veer_model_free(&named);

	text_open(&out);
	UNIT_CHECK(apply(&desired, out.f, err) == 0, "%s", err);
	text_close(&out);
	UNIT_CHECK(strstr(out.buf, "service web: names repaired"),
		   "apply said: %s", out.buf);
	free(out.buf);
	CU_ASSERT_TRUE(keys_agree());
	CU_ASSERT_EQUAL(entries(), 2);
	veer_model_free(&desired);
}

/* veer delete takes the ghost too, and the metadata row. */
static void test_delete_takes_ghost(void)
{
	struct veer_model desired, live;
	struct veer_svc_meta meta;
	char err[VEER_ERR_LEN] = "";
	uint32_t id;

	if (!have_maps)
		return;
	store_reset();
	two_services(&desired, "10.96.50.1", 100);
	veer_model_free(&desired);
	make_ghost(&id);
	veer_model_init(&live);
	CU_ASSERT_EQUAL(veer_maps_read_model(&maps, &live, err, sizeof(err)),
			0);
	UNIT_CHECK(veer_maps_delete_service(&maps, &live, "web", err,
					    sizeof(err)) == 0,
		   "%s", err);
	veer_model_free(&live);
	CU_ASSERT_EQUAL(entries(), 1);
	CU_ASSERT_EQUAL(bpf_map_lookup_elem(maps.svc_meta, &id, &meta), 0);
	CU_ASSERT_EQUAL(meta.name[0], '\0');
}

/*
 * Finding 4: a host with one port is re-applied with two. Its entry on
 * :80 is renamed host -> host:80 on the same key, and pruning the old name
 * must not delete the key just published.
 */
static void test_port_count_change_keeps_port(void)
{
	const char *host = "ports.default.svc.cluster.local";
	struct veer_svc_key k80 = key_of("10.96.50.3", 80);
	struct veer_svc_key k8080 = key_of("10.96.50.3", 8080);
	struct veer_model desired, live;
	struct veer_service value;
	struct veer_svc_meta meta;
	char err[VEER_ERR_LEN] = "";
	char name80[VEER_NAME_MAX], name8080[VEER_NAME_MAX];

	if (!have_maps)
		return;
	store_reset();
	snprintf(name80, sizeof(name80), "%s:80", host);
	snprintf(name8080, sizeof(name8080), "%s:8080", host);
	veer_model_init(&desired);
	add_svc(&desired, host, host, "10.96.50.3", 80, 100);
	UNIT_CHECK(apply(&desired, NULL, err) == 0, "%s", err);
	veer_model_free(&desired);

	veer_model_init(&desired);
	add_svc(&desired, name80, host, "10.96.50.3", 80, 100);
	add_svc(&desired, name8080, host, "10.96.50.3", 8080, 100);
	UNIT_CHECK(apply(&desired, NULL, err) == 0, "%s", err);
	veer_model_free(&desired);

	UNIT_CHECK(present(&k80, &value), "the :80 entry is gone");
	CU_ASSERT_TRUE(present(&k8080, NULL));
	CU_ASSERT_EQUAL(entries(), 2);
	CU_ASSERT_TRUE(keys_agree());
	CU_ASSERT_EQUAL(bpf_map_lookup_elem(maps.svc_meta, &value.id, &meta),
			0);
	CU_ASSERT_STRING_EQUAL(meta.name, name80);
	veer_model_init(&live);
	CU_ASSERT_EQUAL(veer_maps_read_model(&maps, &live, err, sizeof(err)),
			0);
	CU_ASSERT_EQUAL(live.count, 2);
	CU_ASSERT_PTR_NOT_NULL(veer_model_find(&live, name80));
	CU_ASSERT_PTR_NOT_NULL(veer_model_find(&live, name8080));
	veer_model_free(&live);

	/* And back to one port: host:80 is renamed host again. */
	veer_model_init(&desired);
	add_svc(&desired, host, host, "10.96.50.3", 80, 100);
	UNIT_CHECK(apply(&desired, NULL, err) == 0, "%s", err);
	veer_model_free(&desired);
	CU_ASSERT_TRUE(present(&k80, NULL));
	CU_ASSERT_FALSE(present(&k8080, NULL));
	CU_ASSERT_EQUAL(entries(), 1);
	CU_ASSERT_TRUE(keys_agree());
}

/* Finding 8: a refused apply prints no per-service line, changes nothing. */
static void test_refused_apply_prints_nothing(void)
{
	struct veer_model desired;
	char err[VEER_ERR_LEN] = "", name[32], vip[32];
	struct text out;
	unsigned int i;

	if (!have_maps)
		return;
	store_reset();
	two_services(&desired, "10.96.50.1", 100);
	veer_model_free(&desired);

	/* More services than the table holds: refused at the end. */
	veer_model_init(&desired);
	for (i = 0; i < STORE_SERVICES + 1; i++) {
		snprintf(name, sizeof(name), "many%u", i);
		snprintf(vip, sizeof(vip), "10.96.51.%u", i + 1);
		add_svc(&desired, name, "", vip, 80, 100);
	}
	text_open(&out);
	CU_ASSERT_NOT_EQUAL(apply(&desired, out.f, err), 0);
	text_close(&out);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "service table full"));
	UNIT_CHECK(out.len == 0, "a refused apply printed %zu bytes: %.80s",
		   out.len, out.buf);
	free(out.buf);
	veer_model_free(&desired);
	CU_ASSERT_EQUAL(entries(), 2);
}

/* Rules no live entry names (an apply stopped before retiring them) go. */
static void test_orphan_rules_swept(void)
{
	struct veer_rule_key orphan = {1, 99, 0};
	struct veer_model desired;
	static struct veer_rule rule;
	char err[VEER_ERR_LEN] = "";

	if (!have_maps)
		return;
	store_reset();
	two_services(&desired, "10.96.50.1", 100);
	veer_model_free(&desired);
	CU_ASSERT_FATAL(
		bpf_map_update_elem(maps.rules, &orphan, &rule, BPF_ANY) == 0);
	two_services(&desired, "10.96.50.1", 50);
	veer_model_free(&desired);
	UNIT_CHECK(bpf_map_lookup_elem(maps.rules, &orphan, &rule) != 0,
		   "orphan rule (1, 99, 0) still there");
	(void)err;
}

/* The services the index lists for endpoint text; -1 if no row. */
static int index_row(const char *endpoint, struct veer_backend_vips *row)
{
	struct veer_backend key = {};

	veer_endpoint_parse(endpoint, &key.addr, &key.family, &key.port);
	return bpf_map_lookup_elem(maps.be_vips, &key, row) ? -1
							    : (int)row->count;
}

/*
 * The backend index follows apply and delete: an endpoint two services
 * share lists both; one that only a moved service used is gone from it;
 * a deleted service leaves the rows; a weight change leaves it as it is.
 */
static void test_backend_index(void)
{
	struct veer_svc_key web_key = key_of("10.96.50.1", 80),
			    other_key = key_of("10.96.50.2", 80);
	struct veer_model desired, current;
	struct veer_backend_vips row;
	char err[VEER_ERR_LEN] = "";

	if (!have_maps)
		return;
	store_reset();
	two_services(&desired, "10.96.50.1", 50);
	/* Both use 10.40.0.1:80 and 10.40.0.2:80 (add_svc). */
	CU_ASSERT_EQUAL(index_row("10.40.0.1:80", &row), 2);
	CU_ASSERT_TRUE(!memcmp(&row.vips[0], &web_key, sizeof(web_key)) ||
		       !memcmp(&row.vips[1], &web_key, sizeof(web_key)));
	CU_ASSERT_TRUE(!memcmp(&row.vips[0], &other_key, sizeof(other_key)) ||
		       !memcmp(&row.vips[1], &other_key, sizeof(other_key)));
	veer_model_free(&desired);

	/* web moves to 10.96.50.9: the rows name it there, not at .1. */
	two_services(&desired, "10.96.50.9", 50);
	CU_ASSERT_EQUAL(index_row("10.40.0.2:80", &row), 2);
	CU_ASSERT_TRUE(memcmp(&row.vips[0], &web_key, sizeof(web_key)) &&
		       memcmp(&row.vips[1], &web_key, sizeof(web_key)));
	veer_model_free(&desired);

	/* Deleting web leaves other alone in both rows. */
	veer_model_init(&current);
	UNIT_CHECK(!veer_maps_read_model(&maps, &current, err, sizeof(err)),
		   "%s", err);
	UNIT_CHECK(!veer_maps_delete_service(&maps, &current, "web", err,
					     sizeof(err)),
		   "%s", err);
	veer_model_free(&current);
	CU_ASSERT_EQUAL(index_row("10.40.0.1:80", &row), 1);
	CU_ASSERT_EQUAL(memcmp(&row.vips[0], &other_key, sizeof(other_key)), 0);

	/* A service whose backend changes: the old endpoint's row goes. */
	veer_model_init(&desired);
	add_svc(&desired, "other", "", "10.96.50.2", 80, 100);
	veer_endpoint_parse("10.40.0.3:80",
			    &desired.services[0].subsets[1].backends[0].addr,
			    &desired.services[0].subsets[1].backends[0].family,
			    &desired.services[0].subsets[1].backends[0].port);
	UNIT_CHECK(apply(&desired, NULL, err) == 0, "%s", err);
	veer_model_free(&desired);
	CU_ASSERT_EQUAL(index_row("10.40.0.2:80", &row), -1);
	CU_ASSERT_EQUAL(index_row("10.40.0.3:80", &row), 1);
}

/*
 * A service created under an id another service had starts its HTTP
 * counters from zero, as its L4 counters do; a changed one keeps them.
 */
static void test_http_stats_reset_on_create(void)
{
	int ncpus = libbpf_num_possible_cpus();
	struct veer_http_stats *dirty, sum;
	struct veer_model desired, current;
	char err[VEER_ERR_LEN] = "";
	__u32 id, web_id = 0;
	size_t i;
	int c;

	if (!have_maps)
		return;
	CU_ASSERT_FATAL(ncpus > 0);
	store_reset();
	dirty = calloc((size_t)ncpus, sizeof(*dirty));
	CU_ASSERT_FATAL(dirty != NULL);
	for (c = 0; c < ncpus; c++) {
		dirty[c].rule_requests[0] = 5;
		dirty[c].bound = 5;
	}
	for (id = 0; id <= STORE_SERVICES; id++)
		bpf_map_update_elem(maps.http_stats, &id, dirty, BPF_ANY);
	two_services(&desired, "10.96.50.1", 50);
	veer_model_free(&desired);
	veer_model_init(&current);
	UNIT_CHECK(!veer_maps_read_model(&maps, &current, err, sizeof(err)),
		   "%s", err);
	CU_ASSERT(current.count == 2);
	for (i = 0; i < current.count; i++) {
		UNIT_CHECK(!veer_maps_read_http_stats(&maps,
						      current.services[i].id,
						      &sum, err, sizeof(err)),
			   "%s", err);
		CU_ASSERT(sum.rule_requests[0] == 0 && sum.bound == 0);
		if (!strcmp(current.services[i].name, "web"))
			web_id = current.services[i].id;
	}
	veer_model_free(&current);
	/* A weight change is no creation: counters stay. */
	CU_ASSERT_FATAL(web_id != 0);
	bpf_map_update_elem(maps.http_stats, &web_id, dirty, BPF_ANY);
	two_services(&desired, "10.96.50.1", 80);
	veer_model_free(&desired);
	UNIT_CHECK(!veer_maps_read_http_stats(&maps, web_id, &sum, err,
					      sizeof(err)),
		   "%s", err);
	CU_ASSERT(sum.bound == 5 * (__u64)ncpus);
	free(dirty);
}

int unit_store_suite(void)
{
	static const struct unit_test tests[] = {
		{"store: an interrupted VIP move is read once and repaired",
		 test_ghost_read_once_and_repaired},
		{"store: metadata ahead of its entry is read and repaired",
		 test_meta_ahead_read_and_repaired},
		{"store: delete removes the stale entry of its service",
		 test_delete_takes_ghost},
		{"store: a host's port count change keeps the renamed entry",
		 test_port_count_change_keeps_port},
		{"store: a refused apply prints nothing",
		 test_refused_apply_prints_nothing},
		{"store: apply sweeps rules no entry names",
		 test_orphan_rules_swept},
		{"store: the backend index follows apply and delete",
		 test_backend_index},
		{"store: a created service's HTTP counters start at zero",
		 test_http_stats_reset_on_create},
	};

	return unit_add_suite("store (crash safety)", store_init, store_clean,
			      tests, ARRAY_SIZE(tests));
}

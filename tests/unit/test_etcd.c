// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The etcd gateway's JSON (etcd.c) and fleet mode's node status
 * (fleet.c): requests as the gateway reads them, replies and watch
 * messages as etcd 3.4's gateway writes them (proto3 JSON: int64 as
 * strings, false and 0 and PUT left out, bytes in base64).
 */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "etcd.h"
#include "fleet.h"
#include "unit.h"

static void test_base64(void)
{
	static const struct {
		const char *plain, *encoded;
	} cases[] = {
		{"", ""},
		{"f", "Zg=="},
		{"fo", "Zm8="},
		{"foo", "Zm9v"},
		{"foob", "Zm9vYg=="},
		{"/veer/default/objects/VirtualService/default/reviews",
		 "L3ZlZXIvZGVmYXVsdC9vYmplY3RzL1ZpcnR1YWxTZXJ2aWNlL2RlZmF1bHQv"
		 "cmV2aWV3cw=="},
		{"\xff\xfe\n", "//4K"},
	};
	static const char *const bad[] = {"Zg=", "Z!==", "Zm9v=", "===="};
	size_t i, len;
	char *out;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		out = etcd_base64_encode(cases[i].plain,
					 strlen(cases[i].plain));
		UNIT_CHECK(out && !strcmp(out, cases[i].encoded),
			   "encode '%s': got '%s'", cases[i].plain, out);
		free(out);
		out = etcd_base64_decode(cases[i].encoded,
					 strlen(cases[i].encoded), &len);
		UNIT_CHECK(out && len == strlen(cases[i].plain) &&
				   !memcmp(out, cases[i].plain, len),
			   "decode '%s'", cases[i].encoded);
		free(out);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		out = etcd_base64_decode(bad[i], strlen(bad[i]), &len);
		UNIT_CHECK(out == NULL, "'%s' is not base64", bad[i]);
		free(out);
	}
}

static void test_prefix_end(void)
{
	size_t len;
	char *end = etcd_prefix_end("/veer/a/", &len);

	UNIT_CHECK(end && len == 8 && !strcmp(end, "/veer/a0"), "got '%s'",
		   end);
	free(end);
	end = etcd_prefix_end("a\xff", &len);
	UNIT_CHECK(end && len == 1 && !strcmp(end, "b"), "got '%s'", end);
	free(end);
	end = etcd_prefix_end("\xff", &len);
	UNIT_CHECK(end && len == 1 && end[0] == '\0', "every key");
	free(end);
}

static void test_requests(void)
{
	const struct etcd_compare cmps[] = {{"a", 0}, {"b", 42}};
	const struct etcd_op ops[] = {
		{.kind = ETCD_OP_PUT, .key = "a", .value = "x", .value_len = 1},
		{.kind = ETCD_OP_DELETE, .key = "b"},
		{.kind = ETCD_OP_PUT,
		 .key = "c",
		 .value = "",
		 .value_len = 0,
		 .lease = 7},
	};
	char *text;

	text = etcd_json_range_request("foo", true, 5);
	UNIT_CHECK(text && !strcmp(text, "{\"key\":\"Zm9v\",\"range_end\":"
					 "\"Zm9w\",\"revision\":\"5\"}"),
		   "got %s", text);
	free(text);
	text = etcd_json_range_request("foo", false, 0);
	UNIT_CHECK(text && !strcmp(text, "{\"key\":\"Zm9v\"}"), "got %s", text);
	free(text);
	/* The newest key of a prefix: one, sorted by mod_revision. */
	text = etcd_json_newest_request("foo");
	UNIT_CHECK(text && !strcmp(text, "{\"key\":\"Zm9v\",\"range_end\":"
					 "\"Zm9w\",\"limit\":\"1\","
					 "\"sort_order\":\"DESCEND\","
					 "\"sort_target\":\"MOD\","
					 "\"keys_only\":true}"),
		   "got %s", text);
	free(text);
	text = etcd_json_txn_request(cmps, 2, ops, 3);
	UNIT_CHECK(
		text && !strcmp(text,
				"{\"compare\":[{\"target\":\"MOD\",\"result\":"
				"\"EQUAL\",\"key\":\"YQ==\",\"mod_revision\":"
				"\"0\"},{\"target\":\"MOD\",\"result\":"
				"\"EQUAL\",\"key\":\"Yg==\",\"mod_revision\":"
				"\"42\"}],\"success\":[{\"request_put\":{"
				"\"key\":\"YQ==\",\"value\":\"eA==\"}},{"
				"\"request_delete_range\":{\"key\":\"Yg==\"}},"
				"{\"request_put\":{\"key\":\"Yw==\",\"value\":"
				"\"\",\"lease\":\"7\"}}]}"),
		"got %s", text);
	free(text);
	text = etcd_json_watch_request("foo", 9);
	UNIT_CHECK(text && !strcmp(text, "{\"create_request\":{\"key\":"
					 "\"Zm9v\",\"range_end\":\"Zm9w\","
					 "\"start_revision\":\"9\"}}"),
		   "got %s", text);
	free(text);
}

static void test_range_reply(void)
{
	static const char reply[] =
		"{\"header\":{\"cluster_id\":\"1\",\"member_id\":\"2\","
		"\"revision\":\"12\",\"raft_term\":\"3\"},\"kvs\":[{\"key\":"
		"\"Zm9v\",\"create_revision\":\"2\",\"mod_revision\":\"11\","
		"\"version\":\"4\",\"value\":\"YmFy\"},{\"key\":\"Zm9w\","
		"\"create_revision\":\"5\",\"mod_revision\":\"5\","
		"\"version\":\"1\",\"lease\":\"99\"}],\"count\":\"2\"}";
	static const char empty[] = "{\"header\":{\"revision\":\"3\"}}";
	static const char newest[] =
		"{\"header\":{\"revision\":\"44\"},\"kvs\":[{\"key\":"
		"\"Zm9v\",\"mod_revision\":\"40\"}],\"more\":true,"
		"\"count\":\"5\"}";
	struct etcd_kvs kvs;
	char err[256];

	CU_ASSERT_FATAL(etcd_json_parse_range(reply, strlen(reply), &kvs, err,
					      sizeof(err)) == 0);
	CU_ASSERT_EQUAL(kvs.revision, 12);
	CU_ASSERT_EQUAL(kvs.total, 2);
	CU_ASSERT_EQUAL_FATAL(kvs.count, 2);
	CU_ASSERT_STRING_EQUAL(kvs.kvs[0].key, "foo");
	CU_ASSERT_STRING_EQUAL(kvs.kvs[0].value, "bar");
	CU_ASSERT_EQUAL(kvs.kvs[0].mod_revision, 11);
	CU_ASSERT_EQUAL(kvs.kvs[0].version, 4);
	CU_ASSERT_EQUAL(kvs.kvs[1].value_len, 0); /* proto3 left it out */
	CU_ASSERT_EQUAL(kvs.kvs[1].lease, 99);
	etcd_kvs_free(&kvs);
	CU_ASSERT_FATAL(etcd_json_parse_range(empty, strlen(empty), &kvs, err,
					      sizeof(err)) == 0);
	CU_ASSERT_EQUAL(kvs.count, 0);
	CU_ASSERT_EQUAL(kvs.total, 0); /* proto3 leaves a 0 count out */
	CU_ASSERT_EQUAL(kvs.revision, 3);
	etcd_kvs_free(&kvs);
	/* A limited range: one key of five, the newest. */
	CU_ASSERT_FATAL(etcd_json_parse_range(newest, strlen(newest), &kvs, err,
					      sizeof(err)) == 0);
	CU_ASSERT_EQUAL(kvs.count, 1);
	CU_ASSERT_EQUAL(kvs.total, 5);
	CU_ASSERT_EQUAL(kvs.kvs[0].mod_revision, 40);
	etcd_kvs_free(&kvs);
	UNIT_CHECK(etcd_json_parse_range("[1]", 3, &kvs, err, sizeof(err)) ==
				   -1 &&
			   strstr(err, "not a JSON object"),
		   "%s", err);
	UNIT_CHECK(etcd_json_parse_range("{\"kvs\":[{\"key\":\"@@@@\"}]}", 24,
					 &kvs, err, sizeof(err)) == -1 &&
			   strstr(err, "base64"),
		   "%s", err);
}

static void test_txn_reply(void)
{
	static const char ok[] = "{\"header\":{\"revision\":\"20\"},"
				 "\"succeeded\":true,\"responses\":[{"
				 "\"response_put\":{\"header\":{}}}]}";
	static const char lost[] = "{\"header\":{\"revision\":\"21\"}}";
	int64_t rev = 0;
	bool succeeded = false;
	char err[256];

	CU_ASSERT(etcd_json_parse_txn(ok, strlen(ok), &succeeded, &rev, err,
				      sizeof(err)) == 0);
	CU_ASSERT(succeeded);
	CU_ASSERT_EQUAL(rev, 20);
	CU_ASSERT(etcd_json_parse_txn(lost, strlen(lost), &succeeded, &rev, err,
				      sizeof(err)) == 0);
	CU_ASSERT(!succeeded); /* proto3 leaves out false */
}

static void test_watch_messages(void)
{
	static const char created[] =
		"{\"result\":{\"header\":{\"revision\":\"7\"},\"created\":"
		"true}}";
	static const char events[] =
		"{\"result\":{\"header\":{\"revision\":\"9\"},\"events\":[{"
		"\"kv\":{\"key\":\"YQ==\",\"create_revision\":\"8\","
		"\"mod_revision\":\"8\",\"version\":\"1\",\"value\":"
		"\"eA==\"}},{\"type\":\"DELETE\",\"kv\":{\"key\":\"Yg==\","
		"\"mod_revision\":\"9\"}}]}}";
	static const char compacted[] =
		"{\"result\":{\"header\":{\"revision\":\"30\"},\"canceled\":"
		"true,\"compact_revision\":\"25\",\"cancel_reason\":\"mvcc: "
		"required revision has been compacted\"}}";
	static const char error[] =
		"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":"
		"\"etcdserver: no leader\"}}";
	struct etcd_watch_message m;
	char err[256];

	CU_ASSERT_FATAL(etcd_json_parse_watch(created, strlen(created), &m, err,
					      sizeof(err)) == 0);
	CU_ASSERT(m.created && !m.canceled && m.count == 0);
	CU_ASSERT_EQUAL(m.revision, 7);
	etcd_watch_message_free(&m);

	CU_ASSERT_FATAL(etcd_json_parse_watch(events, strlen(events), &m, err,
					      sizeof(err)) == 0);
	CU_ASSERT_EQUAL_FATAL(m.count, 2);
	CU_ASSERT(!m.events[0].deleted);
	CU_ASSERT_STRING_EQUAL(m.events[0].kv.key, "a");
	CU_ASSERT_STRING_EQUAL(m.events[0].kv.value, "x");
	CU_ASSERT_EQUAL(m.events[0].kv.mod_revision, 8);
	CU_ASSERT(m.events[1].deleted);
	CU_ASSERT_STRING_EQUAL(m.events[1].kv.key, "b");
	CU_ASSERT_EQUAL(m.events[1].kv.mod_revision, 9);
	etcd_watch_message_free(&m);

	CU_ASSERT_FATAL(etcd_json_parse_watch(compacted, strlen(compacted), &m,
					      err, sizeof(err)) == 0);
	CU_ASSERT(m.canceled);
	CU_ASSERT_EQUAL(m.compact_revision, 25);
	CU_ASSERT(strstr(m.cancel_reason, "compacted") != NULL);
	etcd_watch_message_free(&m);

	UNIT_CHECK(etcd_json_parse_watch(error, strlen(error), &m, err,
					 sizeof(err)) == -1 &&
			   !strcmp(err, "watch: etcdserver: no leader"),
		   "%s", err);
}

static void test_error_text(void)
{
	static const char body[] =
		"{\"error\":\"etcdserver: too many operations in txn "
		"request\",\"message\":\"etcdserver: too many operations in "
		"txn request\",\"code\":3}";
	char buf[128];

	UNIT_CHECK(etcd_json_error_text(body, strlen(body), buf, sizeof(buf)) &&
			   !strcmp(buf, "etcdserver: too many operations in "
					"txn request"),
		   "%s", buf);
	CU_ASSERT_PTR_NULL(
		etcd_json_error_text("not json", 8, buf, sizeof(buf)));
}

static void test_node_status(void)
{
	struct veer_fleet_status st =
					 {
						 .node = "node-1",
						 .applied_revision = 41,
						 .last_error =
							 "a \"quoted\" error",
						 .last_error_time = 1700000000,
						 .version = "v1",
						 .time = 1700000005,
					 },
				 back;
	char err[256], *json = veer_fleet_status_json(&st);

	CU_ASSERT_PTR_NOT_NULL_FATAL(json);
	CU_ASSERT_FATAL(veer_fleet_status_parse(json, strlen(json), &back, err,
						sizeof(err)) == 0);
	CU_ASSERT(!memcmp(&st, &back, sizeof(st)));
	free(json);
	CU_ASSERT(veer_fleet_status_parse("[]", 2, &back, err, sizeof(err)) ==
		  -1);
}

static void test_names(void)
{
	static const struct {
		const char *name;
		bool ok;
	} cases[] = {
		{"node-1", true},
		{"a.b_c", true},
		{"", false},
		{"a/b", false},
		{"..", false},
		{"a b", false},
		/* 63 bytes, a DNS label's most; then 64 */
		{"a123456789b123456789c123456789d123456789e123456789f123456789"
		 "xyz",
		 true},
		{"a123456789b123456789c123456789d123456789e123456789f123456789"
		 "wxyz",
		 false},
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++)
		UNIT_CHECK(veer_fleet_name_ok(cases[i].name) == cases[i].ok,
			   "'%s'", cases[i].name);
}

int unit_etcd_suite(void)
{
	static const struct unit_test tests[] = {
		{"base64", test_base64},
		{"prefix end", test_prefix_end},
		{"request bodies", test_requests},
		{"range reply", test_range_reply},
		{"txn reply", test_txn_reply},
		{"watch messages", test_watch_messages},
		{"error text", test_error_text},
		{"node status JSON", test_node_status},
		{"node and cluster names", test_names},
	};

	return unit_add_suite("etcd", NULL, NULL, tests, ARRAY_SIZE(tests));
}

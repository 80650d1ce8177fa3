// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The object store file (objstore.c) and the YAML emitter it keeps objects
 * in (yaml_emit.c): round trips, the index, and every kind of bad store
 * file refused with its message and nothing read. Files go to a private
 * temporary directory, removed afterwards.
 */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "objstore.h"
#include "unit.h"
#include "yaml_emit.h"
#include "yaml_tree.h"

#define INDEX_OBJECTS 100000

static char dir[64];
static struct veer_objstore store;

static int objstore_init(void)
{
	char err[512];

	snprintf(dir, sizeof(dir), "/tmp/veer-objstore-XXXXXX");
	if (!mkdtemp(dir) || setenv(VEER_STATE_DIR_ENV, dir, 1))
		return -1;
	/* Levels that do not exist yet: writes must make them. */
	return veer_objstore_open(&store, "/sys/fs/bpf/unit", err, sizeof(err));
}

static int objstore_clean(void)
{
	char cmd[160];

	unsetenv(VEER_STATE_DIR_ENV);
	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void wipe(void)
{
	char cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", store.dir);
	CU_ASSERT_FATAL(system(cmd) == 0);
}

static void key_of(struct veer_object_key *k, const char *kind, const char *ns,
		   const char *name)
{
	memset(k, 0, sizeof(*k));
	snprintf(k->kind, sizeof(k->kind), "%s", kind);
	snprintf(k->ns, sizeof(k->ns), "%s", ns);
	snprintf(k->name, sizeof(k->name), "%s", name);
}

static void put(struct veer_objset *set, const char *kind, const char *ns,
		const char *name, const char *text)
{
	struct veer_object_key k;

	key_of(&k, kind, ns, name);
	CU_ASSERT_EQUAL_FATAL(
		veer_objset_put(set, &k, text, strlen(text), NULL, NULL), 0);
}

static char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	} else {
		buf[n] = '\0';
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static void spill(const char *p, const char *buf, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, buf, len) == (ssize_t)len);
	close(fd);
	CU_ASSERT_FATAL(chmod(p, 0600) == 0);
}

/* Makes the changes one committed transaction. */
static void commit(const struct veer_objset *changes)
{
	char err[512] = "";

	UNIT_CHECK(veer_objstore_prepare(&store, changes, err, sizeof(err)) ==
			   0,
		   "%s", err);
	UNIT_CHECK(veer_objstore_finish(&store, err, sizeof(err)) == 0, "%s",
		   err);
}

static void load(struct veer_objset *set)
{
	char err[512] = "";

	UNIT_CHECK(veer_objstore_load(&store, set, err, sizeof(err)) == 0, "%s",
		   err);
}

static void test_round_trip(void)
{
	struct veer_objset changes, back;
	struct veer_object_key k;
	char err[512] = "";

	wipe();
	CU_ASSERT_FALSE(veer_objstore_exists(&store));
	load(&back);
	CU_ASSERT_EQUAL(back.live, 0);
	veer_objset_free(&back);
	veer_objset_init(&changes);
	put(&changes, "VirtualService", "prod", "reviews", "kind: B\nx: 1\n");
	put(&changes, "DestinationRule", "default", "reviews", "kind: A\n");
	put(&changes, "native", "", "web", "services: []\n");
	commit(&changes);
	CU_ASSERT(veer_objstore_exists(&store));
	load(&back);
	CU_ASSERT_EQUAL_FATAL(back.live, 3);
	/* Sorted by kind, namespace, name. */
	CU_ASSERT_STRING_EQUAL(back.objects[0].key.kind, "DestinationRule");
	CU_ASSERT_STRING_EQUAL(back.objects[1].key.kind, "VirtualService");
	CU_ASSERT_STRING_EQUAL(back.objects[1].text, "kind: B\nx: 1\n");
	CU_ASSERT_STRING_EQUAL(back.objects[2].key.ns, "");
	veer_objset_free(&back);
	/* One object read alone; a missing one is 1. */
	veer_objset_init(&back);
	key_of(&k, "native", "", "web");
	CU_ASSERT_EQUAL(veer_objstore_read(&store, &k, &back, err, sizeof(err)),
			0);
	key_of(&k, "native", "", "nope");
	CU_ASSERT_EQUAL(veer_objstore_read(&store, &k, &back, err, sizeof(err)),
			1);
	CU_ASSERT_EQUAL(back.live, 1);
	veer_objset_free(&back);
	/* A deletion and a replacement in one transaction. */
	veer_objset_free(&changes);
	veer_objset_init(&changes);
	put(&changes, "VirtualService", "prod", "reviews", "");
	put(&changes, "native", "", "web", "services: [{}]\n");
	commit(&changes);
	load(&back);
	CU_ASSERT_EQUAL(back.live, 2);
	key_of(&k, "VirtualService", "prod", "reviews");
	CU_ASSERT_PTR_NULL(veer_objset_find(&back, &k));
	key_of(&k, "native", "", "web");
	CU_ASSERT_STRING_EQUAL(veer_objset_find(&back, &k)->text,
			       "services: [{}]\n");
	veer_objset_free(&back);
	veer_objset_free(&changes);
}

static void test_upsert_and_index(void)
{
	struct veer_objset set;
	struct veer_object_key k;
	struct veer_object *o;
	bool replaced, changed;
	char name[32];
	size_t i;

	veer_objset_init(&set);
	for (i = 0; i < INDEX_OBJECTS; i++) {
		snprintf(name, sizeof(name), "pod-%zu", i);
		put(&set, "Pod", i % 2 ? "a" : "b", name, name);
	}
	CU_ASSERT_EQUAL(set.live, INDEX_OBJECTS);
	/* Same name in two namespaces: two objects. */
	key_of(&k, "Pod", "a", "pod-1");
	CU_ASSERT_PTR_NOT_NULL(veer_objset_find(&set, &k));
	key_of(&k, "Pod", "b", "pod-1");
	CU_ASSERT_PTR_NULL(veer_objset_find(&set, &k));
	/* Upsert: same place, changed only when the text differs. */
	key_of(&k, "Pod", "b", "pod-10");
	CU_ASSERT_EQUAL(
		veer_objset_put(&set, &k, "pod-10", 6, &replaced, &changed), 0);
	CU_ASSERT(replaced);
	CU_ASSERT_FALSE(changed);
	CU_ASSERT_EQUAL(
		veer_objset_put(&set, &k, "new", 3, &replaced, &changed), 0);
	CU_ASSERT(replaced && changed);
	CU_ASSERT_STRING_EQUAL(set.objects[10].text, "new");
	/* Remove most: compaction keeps every survivor findable. */
	for (i = 0; i < INDEX_OBJECTS; i++) {
		if (i % 10 == 3)
			continue;
		snprintf(name, sizeof(name), "pod-%zu", i);
		key_of(&k, "Pod", i % 2 ? "a" : "b", name);
		CU_ASSERT_FATAL(veer_objset_remove(&set, &k));
	}
	CU_ASSERT_EQUAL(set.live, INDEX_OBJECTS / 10);
	CU_ASSERT(set.count < INDEX_OBJECTS / 2);
	for (i = 3; i < INDEX_OBJECTS; i += 10) {
		snprintf(name, sizeof(name), "pod-%zu", i);
		key_of(&k, "Pod", i % 2 ? "a" : "b", name);
		o = veer_objset_find(&set, &k);
		CU_ASSERT_FATAL(o != NULL);
		CU_ASSERT_STRING_EQUAL(o->text, name);
	}
	veer_objset_free(&set);
}

/* The shard file of key. */
static void shard_file(const struct veer_object_key *k, char *buf, size_t len)
{
	snprintf(buf, len, "%s/objects/%02x.yaml", store.dir,
		 veer_objstore_shard_of(k));
}

/* The shard file of the stored VirtualService default/reviews. */
static void vs_path(char *buf, size_t len)
{
	struct veer_object_key k;

	key_of(&k, "VirtualService", "default", "reviews");
	shard_file(&k, buf, len);
}

/* A VirtualService in namespace default that another shard holds. */
static const char *other_shard_name(void)
{
	static char name[32];
	struct veer_object_key vs, k;
	int i;

	key_of(&vs, "VirtualService", "default", "reviews");
	for (i = 0;; i++) {
		snprintf(name, sizeof(name), "other%d", i);
		key_of(&k, "VirtualService", "default", name);
		if (veer_objstore_shard_of(&k) != veer_objstore_shard_of(&vs))
			return name;
	}
}

/* That file with this body and a summary that matches it. */
static void write_raw(const char *summary_fmt, unsigned int format,
		      const char *body, long objects)
{
	char *buf = NULL, path[PATH_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	unsigned long crc = crc32(0L, (const Bytef *)body, (uInt)strlen(body));

	fprintf(f,
		"# veer object store, format %u; change it with veer apply "
		"and delete\n",
		format);
	fprintf(f, summary_fmt, objects, strlen(body), crc);
	fputs(body, f);
	fclose(f);
	vs_path(path, sizeof(path));
	spill(path, buf, len);
	free(buf);
}

#define GOOD_SUMMARY "# %ld objects, %zu bytes, crc32 0x%08lx\n"

static void expect_refused(const char *what, const char *expect)
{
	struct veer_objset set;
	char err[512] = "", path[PATH_MAX];

	vs_path(path, sizeof(path));
	CU_ASSERT_EQUAL(veer_objstore_load(&store, &set, err, sizeof(err)), -1);
	UNIT_CHECK(strstr(err, expect) != NULL, "%s: got '%s'", what, err);
	UNIT_CHECK(strstr(err, path) != NULL, "%s: file not named: '%s'", what,
		   err);
	UNIT_CHECK(strstr(err, "veer never resets it") ||
			   strstr(err, "format 2") ||
			   strstr(err, "no one else can write"),
		   "%s: no way out given: '%s'", what, err);
	UNIT_CHECK(!strchr(err, '\n'), "%s: not one line", what);
	CU_ASSERT_EQUAL(set.count, 0);
	CU_ASSERT_PTR_NULL(set.objects);
}

static void test_bad_files(void)
{
	const char *rec = "--- # VirtualService default reviews 8\nkind: A\n";
	struct veer_objset set;
	char *good, *bad, err[512], path[PATH_MAX], other[128];
	size_t len;

	wipe();
	veer_objset_init(&set);
	put(&set, "VirtualService", "default", "reviews", "kind: A\n");
	put(&set, "Service", "default", "reviews", "kind: B\n");
	commit(&set);
	veer_objset_free(&set);
	vs_path(path, sizeof(path));
	good = slurp(path, &len);
	CU_ASSERT_FATAL(good != NULL);

	spill(path, good, len - 5);
	expect_refused("truncated", "truncated or damaged");
	bad = strdup(good);
	bad[len - 3] ^= 0x20;
	spill(path, bad, len);
	expect_refused("flipped byte", "checksum");
	free(bad);
	write_raw(GOOD_SUMMARY, 2, rec, 1);
	expect_refused("format 2", "format 2; this veer reads format 1");
	spill(path, "hello: world\n", 13);
	expect_refused("not a store", "not a veer object store file");
	spill(path, "", 0);
	expect_refused("empty file", "not a veer object store file");
	write_raw(GOOD_SUMMARY, 1, rec, 2);
	expect_refused("count", "1 objects, the summary says 2");
	write_raw(GOOD_SUMMARY, 1,
		  "--- # VirtualService default reviews 8\nkind: A\n"
		  "--- # VirtualService default reviews 8\nkind: A\n",
		  2);
	expect_refused("duplicate key", "bad record");
	write_raw(GOOD_SUMMARY, 1,
		  "--- # VirtualService default reviews 99\nkind: A\n", 1);
	expect_refused("record past the end", "bad record");
	snprintf(other, sizeof(other),
		 "--- # VirtualService default %s 8\nkind: A\n",
		 other_shard_name());
	write_raw(GOOD_SUMMARY, 1, other, 1);
	expect_refused("another shard's object", "an object of another shard");
	write_raw(GOOD_SUMMARY, 1, "--- # VirtualService default reviews 0\n",
		  1);
	expect_refused("a deletion outside a transaction", "bad record");
	write_raw("# %ld objects, %zu bytes, crc 0x%08lx\n", 1, rec, 1);
	expect_refused("summary", "bad summary line");
	/* Only root (the caller) may write what veer trusts. */
	spill(path, good, len);
	CU_ASSERT_FATAL(chmod(path, 0666) == 0);
	expect_refused("world-writable", "mode 666");
	CU_ASSERT_FATAL(chmod(path, 0600) == 0);
	CU_ASSERT_EQUAL(veer_objstore_load(&store, &set, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(set.live, 2);
	veer_objset_free(&set);
	CU_ASSERT_FATAL(chmod(store.dir, 0777) == 0);
	CU_ASSERT_EQUAL(veer_objstore_open(&store, "/sys/fs/bpf/unit", err,
					   sizeof(err)),
			-1);
	UNIT_CHECK(strstr(err, "mode 777") != NULL, "%s", err);
	CU_ASSERT_FATAL(chmod(store.dir, 0700) == 0);
	free(good);
}

/*
 * A transaction is all or nothing: prepared and discarded, nothing
 * changed; killed half-way through finishing, the next finish completes
 * it; a prepare that fails leaves the store as it was.
 */
static void test_transactions(void)
{
	struct veer_objset changes, back, pending;
	char err[512] = "", blocker[PATH_MAX], path[PATH_MAX], *before, *after;
	size_t blen, alen, i;
	int status;
	pid_t pid;

	wipe();
	veer_objset_init(&changes);
	put(&changes, "VirtualService", "default", "reviews", "kind: A\n");
	commit(&changes);
	vs_path(path, sizeof(path));
	before = slurp(path, &blen);
	veer_objset_free(&changes);
	veer_objset_init(&changes);
	put(&changes, "VirtualService", "default", "reviews", "kind: B\n");
	for (i = 0; i < 5; i++) {
		char name[16];

		snprintf(name, sizeof(name), "pod-%zu", i);
		put(&changes, "Pod", "default", name, "kind: Pod\n");
	}
	/* Prepare that cannot write: nothing changes. */
	snprintf(blocker, sizeof(blocker), "%s/transaction.tmp", store.dir);
	CU_ASSERT_FATAL(mkdir(blocker, 0700) == 0);
	CU_ASSERT_EQUAL(
		veer_objstore_prepare(&store, &changes, err, sizeof(err)), -1);
	CU_ASSERT(strstr(err, "cannot create") != NULL);
	rmdir(blocker);
	CU_ASSERT_EQUAL(
		veer_objstore_pending(&store, &pending, err, sizeof(err)), 1);
	/* Prepared, then discarded: nothing changes either. */
	CU_ASSERT_EQUAL(
		veer_objstore_prepare(&store, &changes, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(veer_objstore_discard(&store, err, sizeof(err)), 0);
	after = slurp(path, &alen);
	CU_ASSERT(before && after && blen == alen &&
		  !memcmp(before, after, blen));
	free(after);
	load(&back);
	CU_ASSERT_EQUAL(back.live, 1);
	veer_objset_free(&back);
	/* Killed after the first object file: the transaction stays, and
	 * finishing it again gives every object. */
	CU_ASSERT_EQUAL(
		veer_objstore_prepare(&store, &changes, err, sizeof(err)), 0);
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		setenv("VEER_TEST_STORE_KILL", "finish", 1);
		veer_objstore_finish(&store, err, sizeof(err));
		_exit(0);
	}
	CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
	CU_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	CU_ASSERT_EQUAL(
		veer_objstore_pending(&store, &pending, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pending.live, 6);
	veer_objset_free(&pending);
	load(&back);
	/* One shard was written before the kill: part of the change. */
	CU_ASSERT(back.live >= 1 && back.live < 6);
	veer_objset_free(&back);
	CU_ASSERT_EQUAL(veer_objstore_finish(&store, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(
		veer_objstore_pending(&store, &pending, err, sizeof(err)), 1);
	load(&back);
	CU_ASSERT_EQUAL(back.live, 6);
	after = slurp(path, &alen);
	CU_ASSERT(after && strstr(after, "kind: B\n"));
	free(after);
	free(before);
	veer_objset_free(&back);
	veer_objset_free(&changes);
}

/* ---- The emitter: what it writes reads back as the same tree ---- */

static void test_emit_round_trip(void)
{
	static const char *const docs[] = {
		"a: 1\nb: \"1\"\nc: true\nd: \"true\"\ne: null\nf: ~\ng: \"\"\n"
		"h:\ni: 'a: b'\nj: \"x #y\"\nk: \"-\"\nl: -1\nm: 1.5\n"
		"n: \"caf\xc3\xa9\"\no: \"tab\\there\"\np: '*star'\n"
		"q: fd00:96::10\nr: \"10.0.0.1:80\"\ns: \"trailing:\"\n",
		"spec:\n  http:\n  - match:\n    - headers:\n        end-user: "
		"{exact: jason}\n    route:\n    - destination: {host: r, "
		"subset: v2}\n      weight: 100\n",
		"x: [[1, 2], [], {}]\ny: {}\nz: []\n\"key with: colon\": v\n",
		"{\"apiVersion\": \"v1\", \"kind\": \"Service\", \"n\": [80, "
		"\"80\", !!int \"81\", !!str 82, !!float 1]}",
		"- a\n- - b\n  - c\n- k: v\n  l: w\n",
		/* Document markers, if written plain at a line's start. */
		"\"--- ap\"\n",
		"\"... x\"\n",
		"\"---\": [\"...\"]\n",
	};
	struct veer_ytree t1, t2;
	char err[512], *text;
	size_t i, len;

	for (i = 0; i < ARRAY_SIZE(docs); i++) {
		memset(&t1, 0, sizeof(t1));
		memset(&t2, 0, sizeof(t2));
		UNIT_CHECK(veer_ytree_parse(&t1, "in", docs[i], strlen(docs[i]),
					    err, sizeof(err)) == 0,
			   "doc %zu: %s", i, err);
		CU_ASSERT_EQUAL_FATAL(
			veer_yaml_emit_document(t1.docs[0], &text, &len), 0);
		UNIT_CHECK(veer_ytree_parse(&t2, "out", text, len, err,
					    sizeof(err)) == 0,
			   "doc %zu: %s\n%s", i, err, text);
		UNIT_CHECK(t2.doc_count == 1 &&
				   veer_ynode_equal(t1.docs[0], t2.docs[0]),
			   "doc %zu differs:\n%s", i, text);
		free(text);
		veer_ytree_free(&t1);
		veer_ytree_free(&t2);
	}
}

int unit_objstore_suite(void)
{
	static const struct unit_test tests[] = {
		{"store round trip, sorted load, one object alone",
		 test_round_trip},
		{"upsert, same name in two namespaces, index at 100k",
		 test_upsert_and_index},
		{"truncated, damaged, foreign, unsafe stores refused",
		 test_bad_files},
		{"transactions: failed, discarded, killed mid-finish",
		 test_transactions},
		{"emitted YAML reads back as the same tree",
		 test_emit_round_trip},
	};

	return unit_add_suite("object store", objstore_init, objstore_clean,
			      tests, ARRAY_SIZE(tests));
}

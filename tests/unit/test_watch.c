// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer watch's pure parts (watch.h): the state file written and read
 * back, liveness by pid and start time, the version of a ConfigMap
 * volume (..data) or a plain directory, and the content hash.
 */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore.h"
#include "unit.h"
#include "watch.h"

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	CU_ASSERT_FATAL(fclose(f) == 0);
}

static void rm_tree(const char *dir)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CU_ASSERT(system(cmd) == 0);
}

static void test_state_round_trip(void)
{
	struct veer_watch_state s = {0}, back;
	char *text = NULL, tmpl[] = "/tmp/veer-unit-watch.XXXXXX", err[256];
	size_t len = 0;
	FILE *f;

	snprintf(s.dir, sizeof(s.dir), "/etc/veer/config");
	s.pid = 4242;
	s.start_time = 123456789ULL;
	s.generation = 21;
	s.hash = 0x0123456789abcdefULL;
	snprintf(s.version, sizeof(s.version), "/etc/veer/config/..2026_x");
	s.errors = 3;
	s.started = 1764349000.5;
	s.last_success = 1764349501.25;
	s.last_error_time = 1764349400.125;
	/* A message with a newline stays one line. */
	snprintf(s.last_error, sizeof(s.last_error),
		 "web.yaml:3:7: bad\nsecond line");
	f = open_memstream(&text, &len);
	CU_ASSERT_FATAL(f != NULL);
	CU_ASSERT(veer_watch_state_format(f, &s) == 0);
	CU_ASSERT_FATAL(fclose(f) == 0);
	CU_ASSERT_FATAL(veer_watch_state_parse(text, len, &back) == 0);
	CU_ASSERT_STRING_EQUAL(back.dir, s.dir);
	CU_ASSERT(back.pid == 4242 && back.start_time == 123456789ULL);
	CU_ASSERT(back.generation == 21 && back.errors == 3);
	CU_ASSERT(back.hash == s.hash);
	CU_ASSERT_STRING_EQUAL(back.version, s.version);
	CU_ASSERT(back.started == 1764349000.5);
	CU_ASSERT(back.last_success == 1764349501.25);
	CU_ASSERT(back.last_error_time == 1764349400.125);
	CU_ASSERT_STRING_EQUAL(back.last_error,
			       "web.yaml:3:7: bad second line");
	free(text);
	/* Not a state file. */
	CU_ASSERT(veer_watch_state_parse("dir /x\n", 7, &back) == -1);

	/* Through the store directory of a pin root, with a rename. */
	CU_ASSERT_FATAL(mkdtemp(tmpl) != NULL);
	setenv("VEER_STATE_DIR", tmpl, 1);
	CU_ASSERT(veer_watch_state_read("/sys/fs/bpf/unit", &back, err,
					sizeof(err)) == 1);
	{
		char path[PATH_MAX], store[PATH_MAX];

		CU_ASSERT_FATAL(veer_watch_state_path("/sys/fs/bpf/unit", path,
						      sizeof(path), err,
						      sizeof(err)) == 0);
		snprintf(store, sizeof(store), "%s/pins/sys/fs/bpf/unit/",
			 tmpl);
		CU_ASSERT(!strncmp(path, store, strlen(store)));
		CU_ASSERT_FATAL(veer_mkdir_parent(path, err, sizeof(err)) == 0);
		CU_ASSERT(veer_watch_state_write(path, &s, err, sizeof(err)) ==
			  0);
	}
	CU_ASSERT(veer_watch_state_read("/sys/fs/bpf/unit", &back, err,
					sizeof(err)) == 0);
	CU_ASSERT(back.generation == 21);
	unsetenv("VEER_STATE_DIR");
	rm_tree(tmpl);
}

static void test_alive(void)
{
	struct veer_watch_state s = {0};

	s.pid = (long)getpid();
	s.start_time = veer_proc_start_time(s.pid);
	CU_ASSERT(s.start_time > 0);
	CU_ASSERT(veer_watch_alive(&s));
	/* The same pid, started at another time: a reused pid. */
	s.start_time++;
	CU_ASSERT(!veer_watch_alive(&s));
	s.pid = 0;
	CU_ASSERT(!veer_watch_alive(&s));
	CU_ASSERT(veer_proc_start_time(-1) == 0);
}

/* The kubelet's layout: ..TS/ with the files, ..data -> ..TS, KEY links. */
static void test_version_and_hash(void)
{
	char tmpl[] = "/tmp/veer-unit-watch.XXXXXX", path[PATH_MAX];
	char ts1[PATH_MAX], ts2[PATH_MAX], version[PATH_MAX], err[256];
	uint64_t h1, h2, h3, h4;
	bool configmap;

	CU_ASSERT_FATAL(mkdtemp(tmpl) != NULL);
	/* A plain directory: itself; hidden files are not read. */
	put_file(tmpl, "web.yaml", "services: []\n");
	CU_ASSERT(veer_watch_version(tmpl, version, sizeof(version), &configmap,
				     err, sizeof(err)) == 0);
	CU_ASSERT(!configmap && !strcmp(version, tmpl));
	CU_ASSERT(veer_watch_hash(tmpl, &h1, err, sizeof(err)) == 0);
	put_file(tmpl, ".web.yaml.swp", "junk");
	CU_ASSERT(veer_watch_hash(tmpl, &h2, err, sizeof(err)) == 0);
	CU_ASSERT(h1 == h2);
	put_file(tmpl, "web.yaml", "services: [] \n");
	CU_ASSERT(veer_watch_hash(tmpl, &h3, err, sizeof(err)) == 0);
	CU_ASSERT(h3 != h1);
	snprintf(path, sizeof(path), "%s/web.yaml", tmpl);
	CU_ASSERT(unlink(path) == 0);
	CU_ASSERT(veer_watch_hash(tmpl, &h4, err, sizeof(err)) == -1);

	/* A ConfigMap volume: the directory ..data points to. */
	snprintf(ts1, sizeof(ts1), "%s/..2026_11_28_17_00_00.1", tmpl);
	snprintf(ts2, sizeof(ts2), "%s/..2026_11_28_17_00_01.2", tmpl);
	CU_ASSERT_FATAL(mkdir(ts1, 0700) == 0 && mkdir(ts2, 0700) == 0);
	put_file(ts1, "web.yaml", "services: []\n");
	put_file(ts2, "web.yaml", "services: []\n");
	snprintf(path, sizeof(path), "%s/..data", tmpl);
	CU_ASSERT_FATAL(symlink("..2026_11_28_17_00_00.1", path) == 0);
	snprintf(path, sizeof(path), "%s/web.yaml", tmpl);
	CU_ASSERT_FATAL(symlink("..data/web.yaml", path) == 0);
	CU_ASSERT(veer_watch_version(tmpl, version, sizeof(version), &configmap,
				     err, sizeof(err)) == 0);
	CU_ASSERT(configmap && !strcmp(version, ts1));
	CU_ASSERT(veer_watch_hash(version, &h2, err, sizeof(err)) == 0);
	/* The same content in another version: the same hash. */
	CU_ASSERT(veer_watch_hash(ts2, &h3, err, sizeof(err)) == 0);
	CU_ASSERT(h1 == h2 && h2 == h3);
	/* ..data pointing elsewhere than beside it is refused. */
	snprintf(path, sizeof(path), "%s/..data", tmpl);
	CU_ASSERT(unlink(path) == 0);
	CU_ASSERT(symlink("/etc", path) == 0);
	CU_ASSERT(veer_watch_version(tmpl, version, sizeof(version), &configmap,
				     err, sizeof(err)) == -1);
	CU_ASSERT(configmap);
	rm_tree(tmpl);
}

static void test_time(void)
{
	char buf[VEER_WATCH_TIME_LEN];

	CU_ASSERT_STRING_EQUAL(veer_watch_time(1764349501.25, buf, sizeof(buf)),
			       "2025-11-28T17:05:01.250Z");
}

int unit_watch_suite(void)
{
	static const struct unit_test tests[] = {
		{"state file round trip", test_state_round_trip},
		{"watcher liveness by pid and start time", test_alive},
		{"ConfigMap version and content hash", test_version_and_hash},
		{"log timestamps", test_time},
	};

	return unit_add_suite("watch", NULL, NULL, tests, ARRAY_SIZE(tests));
}

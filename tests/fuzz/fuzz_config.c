// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libFuzzer target for the configuration front door: the input is split on
 * 0xff bytes (never part of UTF-8 text) into up to four "files", loaded
 * together with veer_load_buffers over a model that already holds one
 * service, as `veer apply -f a -f b ...` would, then validated as the
 * planner would (veer_model_validate).
 *
 * Besides the sanitizers, it checks the loader's contract: on error the
 * model is exactly as before and the message is one non-empty line; on
 * success the model grew, every note is one line, and validation gives
 * 0 or one non-empty line. And the object store's: every document of a
 * file that parses is written back (yaml_emit) as YAML that parses to the
 * same tree, and each object the store would keep of it parses again as
 * one document.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "load.h"
#include "objset.h"
#include "yaml_emit.h"
#include "yaml_tree.h"

#define FUZZ_MAX_FILES 4
#define FUZZ_ERR_LEN 1024

static const char base_yaml[] = "services:\n"
				"  - name: base\n"
				"    vip: 10.96.0.1\n"
				"    port: 80\n"
				"    subsets:\n"
				"      - name: stable\n"
				"        weight: 100\n"
				"        backends: [\"10.0.0.1:80\"]\n";

static void check_note(void *ctx, const char *note)
{
	(void)ctx;
	if (!note[0] || strchr(note, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the store does with one file: write back, read again. */
static void check_round_trip(const char *buf, size_t len)
{
	struct veer_ytree in, back;
	struct veer_objset objects;
	char err[FUZZ_ERR_LEN], *text;
	size_t i, tlen;

	memset(&in, 0, sizeof(in));
	if (veer_ytree_parse(&in, "in", buf, len, err, sizeof(err))) {
		veer_ytree_free(&in);
		return;
	}
	for (i = 0; i < in.doc_count; i++) {
		if (!in.docs[i])
			continue;
		if (veer_yaml_emit_document(in.docs[i], &text, &tlen))
			abort();
		memset(&back, 0, sizeof(back));
		if (veer_ytree_parse(&back, "back", text, tlen, err,
				     sizeof(err)) ||
		    back.doc_count != 1 ||
		    !veer_ynode_equal(in.docs[i], back.docs[0]))
			abort();
		veer_ytree_free(&back);
		free(text);
	}
	veer_ytree_free(&in);
	veer_objset_init(&objects);
	if (veer_load_objects("in", buf, len, NULL, &objects, err,
			      sizeof(err)) == 0)
		for (i = 0; i < objects.count; i++) {
			memset(&back, 0, sizeof(back));
			if (veer_ytree_parse(
				    &back, "stored", objects.objects[i].text,
				    objects.objects[i].len, err, sizeof(err)) ||
			    back.doc_count != 1)
				abort();
			veer_ytree_free(&back);
		}
	veer_objset_free(&objects);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[FUZZ_MAX_FILES] = {"f0.yaml", "f1.yml",
							  "f2.json", "f3.yaml"};
	const char *bufs[FUZZ_MAX_FILES];
	size_t lens[FUZZ_MAX_FILES], n = 0, start = 0, i;
	char err[FUZZ_ERR_LEN];
	struct veer_model m;
	int ret;

	for (i = 0; i < size && n < FUZZ_MAX_FILES - 1; i++) {
		if (data[i] != 0xff)
			continue;
		bufs[n] = (const char *)data + start;
		lens[n++] = i - start;
		start = i + 1;
	}
	bufs[n] = (const char *)data + start;
	lens[n++] = size - start;

	for (i = 0; i < n; i++)
		check_round_trip(bufs[i], lens[i]);
	veer_model_init(&m);
	if (veer_load_native_buffer("base.yaml", base_yaml,
				    sizeof(base_yaml) - 1, &m, err,
				    sizeof(err)) < 0)
		abort();
	ret = veer_load_buffers(names, bufs, lens, n, NULL, &m, check_note,
				NULL, err, sizeof(err));
	if (ret == 0) {
		if (m.count < 2)
			abort();
		err[0] = '\0';
		ret = veer_model_validate(&m, err, sizeof(err));
		if (ret != 0 && (ret != -1 || !err[0] || strchr(err, '\n')))
			abort();
	} else {
		if (ret != -1 || !err[0] || strchr(err, '\n') || m.count != 1 ||
		    strcmp(m.services[0].name, "base"))
			abort();
	}
	veer_model_free(&m);
	return 0;
}

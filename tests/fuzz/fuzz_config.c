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
 * 0 or one non-empty line.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "load.h"

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

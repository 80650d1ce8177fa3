// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "abi_check.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "veer_abi.h"

struct map_layout {
	const char *name;
	unsigned int key_size;
	unsigned int value_size;
};

static const struct map_layout layouts[] = {
	{VEER_MAP_SERVICES, sizeof(struct veer_svc_key),
	 sizeof(struct veer_service)},
	{VEER_MAP_BACKENDS, sizeof(__u32), sizeof(struct veer_backend)},
	{VEER_MAP_SVC_META, sizeof(__u32), sizeof(struct veer_svc_meta)},
	{VEER_MAP_CT, sizeof(struct veer_ct_key), sizeof(struct veer_ct_entry)},
	{VEER_MAP_CT_SYN, sizeof(struct veer_ct_key),
	 sizeof(struct veer_ct_entry)},
	{VEER_MAP_CT_CLOSING, sizeof(struct veer_ct_key),
	 sizeof(struct veer_ct_entry)},
	{VEER_MAP_BACKEND_VIPS, sizeof(struct veer_backend),
	 sizeof(struct veer_backend_vips)},
	{VEER_MAP_STATS, sizeof(__u32), sizeof(struct veer_stats)},
	{VEER_MAP_RULES, sizeof(struct veer_rule_key),
	 sizeof(struct veer_rule)},
	{VEER_MAP_RUNTIME, sizeof(__u32), sizeof(struct veer_runtime)},
	{VEER_MAP_HTTP_PENDING, sizeof(struct veer_ct_key),
	 sizeof(struct veer_http_request)},
	{VEER_MAP_HTTP_STATS, sizeof(__u32), sizeof(struct veer_http_stats)},
	{VEER_MAP_HEALTH, sizeof(__u32), sizeof(struct veer_health)},
};

#define ABI_ADVICE                                                             \
	"made by another veer version; detach it with that version's "         \
	"'veer detach --all' (live connections lose their pinning), then "     \
	"attach again"

int veer_abi_check(const char *pin_root, char *err, size_t errlen)
{
	struct veer_runtime rt = {};
	char path[PATH_MAX];
	__u32 zero = 0;
	size_t i;

	for (i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		struct bpf_map_info info = {};
		__u32 info_len = sizeof(info);
		int fd, bad;

		snprintf(path, sizeof(path), "%s/%s", pin_root,
			 layouts[i].name);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		bad = bpf_obj_get_info_by_fd(fd, &info, &info_len) ||
		      info.key_size != layouts[i].key_size ||
		      info.value_size != layouts[i].value_size;
		if (!bad && !strcmp(layouts[i].name, VEER_MAP_RUNTIME) &&
		    !bpf_map_lookup_elem(fd, &zero, &rt) && rt.abi_version &&
		    (rt.abi_version < VEER_ABI_COMPAT_MIN ||
		     rt.abi_version > VEER_ABI_VERSION))
			bad = 1;
		close(fd);
		if (bad) {
			snprintf(err, errlen,
				 "%s has another layout than this veer "
				 "(ABI %u) expects: %s",
				 path, VEER_ABI_VERSION, ABI_ADVICE);
			return -1;
		}
	}
	return 0;
}

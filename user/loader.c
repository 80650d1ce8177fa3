// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "veer_abi.h"
#include "veer_tc.skel.h"
#include "veer_xdp.skel.h"
#include <linux/if_link.h>

int veer_pin_root_prepare(const char *pin_root, bool create, char *err,
			  size_t errlen)
{
	char parent[PATH_MAX];
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", pin_root);
	if (statfs(dirname(parent), &fs)) {
		snprintf(err, errlen, "cannot inspect %s: %s", parent,
			 strerror(errno));
		return -1;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		snprintf(err, errlen,
			 "%s is not a BPF filesystem (mount it: mount -t bpf "
			 "bpf %s)",
			 parent, parent);
		return -1;
	}
	if (create && mkdir(pin_root, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", pin_root,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static void prog_pin_path(char *buf, size_t len, const char *pin_root,
			  const char *name)
{
	snprintf(buf, len, "%s/%s", pin_root, name);
}

int veer_open_progs(const char *pin_root, int *ingress_fd, int *egress_fd,
		    char *err, size_t errlen)
{
	char path[PATH_MAX];

	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_INGRESS);
	*ingress_fd = bpf_obj_get(path);
	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_EGRESS);
	*egress_fd = bpf_obj_get(path);
	if (*ingress_fd < 0 || *egress_fd < 0) {
		snprintf(err, errlen, "veer is not loaded under %s", pin_root);
		if (*ingress_fd >= 0)
			close(*ingress_fd);
		if (*egress_fd >= 0)
			close(*egress_fd);
		return -1;
	}
	return 0;
}

/*
 * The shared runtime values are written by the load that created the maps;
 * a load that found them pinned keeps what is there (same hash seed, so
 * flows are placed as before).
 */
static int runtime_init(int fd, uint32_t seed, uint32_t grace_ms, char *err,
			size_t errlen)
{
	struct veer_runtime rt = {};
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &rt) == 0 && rt.abi_version)
		return 0;
	rt.hash_seed = seed;
	rt.abi_version = VEER_ABI_VERSION;
	rt.ct_close_grace_ns = (uint64_t)grace_ms * 1000000ULL;
	if (bpf_map_update_elem(fd, &zero, &rt, BPF_ANY)) {
		snprintf(err, errlen, "cannot write %s: %s", VEER_MAP_RUNTIME,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* A map pinned by an earlier load keeps its size, so the reuse check holds. */
static void adopt_pinned_size(struct bpf_map *map, const char *pin_root,
			      uint32_t wanted)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", pin_root, bpf_map__name(map));
	fd = bpf_obj_get(path);
	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &info_len))
		wanted = info.max_entries;
	if (fd >= 0)
		close(fd);
	bpf_map__set_max_entries(map, wanted);
}

int veer_load(const char *pin_root, const struct veer_load_opts *opts,
	      int *ingress_fd, int *egress_fd, bool *reused, char *err,
	      size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_tc *skel = NULL;
	char path[PATH_MAX];
	__u32 seed;
	int ret = -1;

	*reused = false;
	if (veer_open_progs(pin_root, ingress_fd, egress_fd, err, errlen) ==
	    0) {
		*reused = true;
		return 0;
	}
	if (opts->max_services == 0 || opts->max_backends == 0 ||
	    opts->ct_flows == 0) {
		snprintf(err, errlen, "map sizes must be positive");
		return -1;
	}

	skel = veer_tc__open_opts(&open_opts);
	if (!skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s",
			 strerror(errno));
		return -1;
	}
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		snprintf(err, errlen, "cannot seed the flow hash: %s",
			 strerror(errno));
		goto cleanup;
	}
	adopt_pinned_size(skel->maps.veer_services, pin_root,
			  opts->max_services);
	adopt_pinned_size(skel->maps.veer_svc_meta, pin_root,
			  opts->max_services + 1);
	adopt_pinned_size(skel->maps.veer_stats, pin_root,
			  (opts->max_services + 1) * VEER_STATS_ROWS_PER_SVC);
	adopt_pinned_size(skel->maps.veer_backends, pin_root,
			  opts->max_backends);
	adopt_pinned_size(skel->maps.veer_conntrack, pin_root,
			  opts->ct_flows * VEER_CT_ENTRIES_PER_FLOW);

	if (veer_tc__load(skel)) {
		snprintf(err, errlen,
			 "cannot load the BPF programs: %s (run with -v for "
			 "the verifier log)",
			 strerror(errno));
		goto cleanup;
	}
	if (runtime_init(bpf_map__fd(skel->maps.veer_runtime), seed,
			 opts->ct_close_grace_ms, err, errlen))
		goto cleanup;
	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_INGRESS);
	if (bpf_program__pin(skel->progs.veer_tc_ingress, path))
		goto pin_failed;
	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_EGRESS);
	if (bpf_program__pin(skel->progs.veer_tc_egress, path))
		goto pin_failed;
	*ingress_fd = dup(bpf_program__fd(skel->progs.veer_tc_ingress));
	*egress_fd = dup(bpf_program__fd(skel->progs.veer_tc_egress));
	ret = 0;
	goto cleanup;

pin_failed:
	snprintf(err, errlen, "cannot pin %s: %s", path, strerror(errno));
cleanup:
	veer_tc__destroy(skel);
	return ret;
}

int veer_load_xdp(const char *pin_root, int *xdp_fd, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_xdp *skel;
	struct bpf_map *map;
	char path[PATH_MAX];
	int ret = -1;

	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_XDP_INGRESS);
	*xdp_fd = bpf_obj_get(path);
	if (*xdp_fd >= 0)
		return 0;
	skel = veer_xdp__open_opts(&open_opts);
	if (!skel) {
		snprintf(err, errlen, "cannot open the XDP object: %s",
			 strerror(errno));
		return -1;
	}
	/* Every map exists already (the TC load made them): match sizes. */
	bpf_object__for_each_map(map, skel->obj) if (bpf_map__pin_path(map))
		adopt_pinned_size(map, pin_root, bpf_map__max_entries(map));
	if (veer_xdp__load(skel)) {
		snprintf(err, errlen,
			 "cannot load the XDP program: %s (run with -v for "
			 "the verifier log)",
			 strerror(errno));
		goto cleanup;
	}
	if (bpf_program__pin(skel->progs.veer_xdp_ingress, path)) {
		snprintf(err, errlen, "cannot pin %s: %s", path,
			 strerror(errno));
		goto cleanup;
	}
	*xdp_fd = dup(bpf_program__fd(skel->progs.veer_xdp_ingress));
	ret = 0;
cleanup:
	veer_xdp__destroy(skel);
	return ret;
}

void veer_xdp_query(int ifindex, uint32_t *prog_id, bool *native)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, opts);

	*prog_id = 0;
	*native = false;
	if (bpf_xdp_query(ifindex, 0, &opts))
		return;
	*prog_id = opts.prog_id;
	*native = opts.attach_mode == XDP_ATTACHED_DRV ||
		  opts.attach_mode == XDP_ATTACHED_HW;
}

int veer_xdp_attach(int ifindex, int xdp_fd, uint32_t own_prog_id, bool *native,
		    char *err, size_t errlen)
{
	uint32_t current;
	bool current_native;
	int ret;

	veer_xdp_query(ifindex, &current, &current_native);
	if (current && current != own_prog_id) {
		snprintf(err, errlen,
			 "another XDP program (id %u) is attached; veer will "
			 "not replace it",
			 current);
		return -1;
	}
	ret = bpf_xdp_attach(ifindex, xdp_fd, XDP_FLAGS_DRV_MODE, NULL);
	*native = ret == 0;
	if (ret)
		ret = bpf_xdp_attach(ifindex, xdp_fd, XDP_FLAGS_SKB_MODE, NULL);
	if (ret) {
		snprintf(err, errlen, "cannot attach XDP: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

int veer_xdp_detach(int ifindex, uint32_t own_prog_id)
{
	uint32_t current;
	bool native;

	veer_xdp_query(ifindex, &current, &native);
	if (!current || current != own_prog_id)
		return 0;
	bpf_xdp_detach(ifindex,
		       native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE, NULL);
	return 1;
}

static void tc_hook_init(struct bpf_tc_hook *hook, int ifindex,
			 enum bpf_tc_attach_point point)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = point;
}

static void tc_opts_init(struct bpf_tc_opts *opts, int prog_fd, __u32 flags)
{
	memset(opts, 0, sizeof(*opts));
	opts->sz = sizeof(*opts);
	opts->handle = VEER_TC_HANDLE;
	opts->priority = VEER_TC_PRIORITY;
	opts->prog_fd = prog_fd;
	opts->flags = flags;
}

int veer_tc_attach(int ifindex, int ingress_fd, int egress_fd, char *err,
		   size_t errlen)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int ret;

	tc_hook_init(&hook, ifindex, BPF_TC_INGRESS | BPF_TC_EGRESS);
	ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST) {
		snprintf(err, errlen, "cannot create the clsact qdisc: %s",
			 strerror(-ret));
		return -1;
	}
	if (ingress_fd >= 0) {
		tc_hook_init(&hook, ifindex, BPF_TC_INGRESS);
		tc_opts_init(&opts, ingress_fd, BPF_TC_F_REPLACE);
		ret = bpf_tc_attach(&hook, &opts);
		if (ret) {
			snprintf(err, errlen, "cannot attach to ingress: %s",
				 strerror(-ret));
			return -1;
		}
	}
	tc_hook_init(&hook, ifindex, BPF_TC_EGRESS);
	tc_opts_init(&opts, egress_fd, BPF_TC_F_REPLACE);
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		snprintf(err, errlen, "cannot attach to egress: %s",
			 strerror(-ret));
		/* Half attached would DNAT without un-NATing replies. */
		tc_hook_init(&hook, ifindex, BPF_TC_INGRESS);
		tc_opts_init(&opts, 0, 0);
		bpf_tc_detach(&hook, &opts);
		return -1;
	}
	return 0;
}

void veer_tc_detach_ingress(int ifindex)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;

	tc_hook_init(&hook, ifindex, BPF_TC_INGRESS);
	tc_opts_init(&opts, 0, 0);
	bpf_tc_detach(&hook, &opts);
}

int veer_tc_detach(int ifindex, char *err, size_t errlen)
{
	enum bpf_tc_attach_point points[] = {BPF_TC_INGRESS, BPF_TC_EGRESS};
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;
	int detached = 0, ret;
	size_t i;

	for (i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
		tc_hook_init(&hook, ifindex, points[i]);
		tc_opts_init(&opts, 0, 0);
		ret = bpf_tc_detach(&hook, &opts);
		if (ret == 0)
			detached++;
		else if (ret != -ENOENT && ret != -EINVAL) {
			snprintf(err, errlen, "cannot detach: %s",
				 strerror(-ret));
			return -1;
		}
	}
	if (!detached) {
		snprintf(err, errlen, "veer is not attached there");
		return -1;
	}
	return 0;
}

void veer_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id)
{
	struct bpf_tc_hook hook;
	struct bpf_tc_opts opts;

	tc_hook_init(&hook, ifindex, BPF_TC_INGRESS);
	tc_opts_init(&opts, 0, 0);
	*ingress_id = bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
	tc_hook_init(&hook, ifindex, BPF_TC_EGRESS);
	tc_opts_init(&opts, 0, 0);
	*egress_id = bpf_tc_query(&hook, &opts) ? 0 : opts.prog_id;
}

int veer_unpin_all(const char *pin_root, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct dirent *entry;
	DIR *dir = opendir(pin_root);

	if (!dir) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "cannot open %s: %s", pin_root,
			 strerror(errno));
		return -1;
	}
	while ((entry = readdir(dir))) {
		if (!strcmp(entry->d_name, ".") || !strcmp(entry->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, entry->d_name);
		if (unlink(path)) {
			snprintf(err, errlen, "cannot unpin %s: %s", path,
				 strerror(errno));
			closedir(dir);
			return -1;
		}
	}
	closedir(dir);
	if (rmdir(pin_root)) {
		snprintf(err, errlen, "cannot remove %s: %s", pin_root,
			 strerror(errno));
		return -1;
	}
	return 0;
}

uint32_t veer_pinned_prog_id(const char *pin_root, const char *name)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	char path[PATH_MAX];
	uint32_t id = 0;
	int fd;

	prog_pin_path(path, sizeof(path), pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len))
		id = info.id;
	close(fd);
	return id;
}

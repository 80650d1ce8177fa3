// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Attaching the loaded programs (TC, XDP, cgroup) and finding where
 * programs of a pin root are attached, in this network namespace or in
 * others.
 */
/* nftw() */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#define _GNU_SOURCE /* setns() */
#include "attach.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "veer_abi.h"

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

/*
 * A program is this pin root's when its name is veer's and it uses one of
 * the maps pinned there (each program uses some of them: ingress the
 * service table, egress conntrack, the socket programs the runtime map).
 */

bool veer_prog_is_ours(uint32_t prog_id, const char *pin_root)
{
	static const char *const maps[] = {
		VEER_MAP_SERVICES,   VEER_MAP_CT,    VEER_MAP_CT_SYN,
		VEER_MAP_CT_CLOSING, VEER_MAP_STATS, VEER_MAP_RUNTIME,
	};
	uint32_t ours[sizeof(maps) / sizeof(maps[0])];
	__u32 map_ids[VEER_PROG_MAP_IDS_MAX], i;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	bool found = false, any = false;
	size_t m;
	int fd;

	for (m = 0; m < sizeof(maps) / sizeof(maps[0]); m++)
		any |= (ours[m] = veer_pinned_map_id(pin_root, maps[m])) != 0;
	if (!prog_id || !any)
		return false;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	info.nr_map_ids = VEER_PROG_MAP_IDS_MAX;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len) &&
	    !strncmp(info.name, "veer_", 5))
		for (i = 0; i < info.nr_map_ids && i < VEER_PROG_MAP_IDS_MAX;
		     i++)
			for (m = 0; m < sizeof(maps) / sizeof(maps[0]); m++)
				found |= ours[m] && map_ids[i] == ours[m];
	close(fd);
	return found;
}

int veer_xdp_attach(int ifindex, int xdp_fd, const char *pin_root, bool *native,
		    char *err, size_t errlen)
{
	uint32_t current;
	bool current_native;
	int ret;

	veer_xdp_query(ifindex, &current, &current_native);
	if (current && !veer_prog_is_ours(current, pin_root)) {
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

int veer_xdp_detach(int ifindex, const char *pin_root)
{
	uint32_t current;
	bool native;

	veer_xdp_query(ifindex, &current, &native);
	if (!current || !veer_prog_is_ours(current, pin_root))
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

static const enum bpf_attach_type sock_attach[VEER_SOCK_PROG_COUNT] = {
	[VEER_SOCK_CONNECT4] = BPF_CGROUP_INET4_CONNECT,
	[VEER_SOCK_CONNECT6] = BPF_CGROUP_INET6_CONNECT,
	[VEER_SOCK_GETPEERNAME4] = BPF_CGROUP_INET4_GETPEERNAME,
	[VEER_SOCK_GETPEERNAME6] = BPF_CGROUP_INET6_GETPEERNAME,
};

static int open_cgroup(const char *path, char *err, size_t errlen)
{
	struct statfs fs;
	int fd = open(path, O_RDONLY | O_DIRECTORY);

	if (fd < 0) {
		if (err)
			snprintf(err, errlen, "cannot open cgroup %s: %s", path,
				 strerror(errno));
		return -1;
	}
	if (fstatfs(fd, &fs) || fs.f_type != CGROUP2_SUPER_MAGIC) {
		if (err)
			snprintf(err, errlen, "%s is not a cgroup2 directory",
				 path);
		close(fd);
		return -1;
	}
	return fd;
}

int veer_cgroup_replace(const char *path,
			const int old_fds[VEER_SOCK_PROG_COUNT],
			const int new_fds[VEER_SOCK_PROG_COUNT], char *err,
			size_t errlen)
{
	int cg = open_cgroup(path, err, errlen), i;

	if (cg < 0)
		return -1;
	for (i = VEER_SOCK_PROG_COUNT - 1; i >= 0; i--) {
		LIBBPF_OPTS(bpf_prog_attach_opts, opts,
			    .flags = BPF_F_ALLOW_MULTI | BPF_F_REPLACE,
			    .replace_prog_fd = old_fds[i]);

		if (bpf_prog_attach_opts(new_fds[i], cg, sock_attach[i],
					 &opts)) {
			snprintf(err, errlen, "cannot replace %s on %s: %s",
				 veer_sock_prog_names[i], path,
				 strerror(errno));
			close(cg);
			return -1;
		}
	}
	close(cg);
	return 0;
}

int veer_cgroup_attach(const char *path, const int fds[VEER_SOCK_PROG_COUNT],
		       char *err, size_t errlen)
{
	int cg = open_cgroup(path, err, errlen), i;

	if (cg < 0)
		return -1;
	/* Getpeername first: a rewritten socket can always say its VIP. */
	for (i = VEER_SOCK_PROG_COUNT - 1; i >= 0; i--) {
		if (bpf_prog_attach(fds[i], cg, sock_attach[i],
				    BPF_F_ALLOW_MULTI) &&
		    errno != EEXIST) {
			snprintf(err, errlen, "cannot attach %s to %s: %s",
				 veer_sock_prog_names[i], path,
				 strerror(errno));
			close(cg);
			return -1;
		}
	}
	close(cg);
	return 0;
}

unsigned int veer_cgroup_query(const char *path, const char *pin_root)
{
	unsigned int mask = 0;
	__u32 ids[64], count, flags, own;
	int cg = open_cgroup(path, NULL, 0), i;
	__u32 j;

	if (cg < 0)
		return 0;
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		own = veer_pinned_prog_id(pin_root, veer_sock_prog_pins[i]);
		count = sizeof(ids) / sizeof(ids[0]);
		if (!own ||
		    bpf_prog_query(cg, sock_attach[i], 0, &flags, ids, &count))
			continue;
		for (j = 0; j < count; j++)
			if (ids[j] == own)
				mask |= 1U << i;
	}
	close(cg);
	return mask;
}

int veer_cgroup_detach(const char *path, const char *pin_root)
{
	unsigned int mask = veer_cgroup_query(path, pin_root);
	char pin[PATH_MAX];
	int cg, i, fd, n = 0;

	if (!mask)
		return 0;
	cg = open_cgroup(path, NULL, 0);
	if (cg < 0)
		return 0;
	/* Connect first: no socket gets rewritten without its getpeername. */
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		if (!(mask & (1U << i)))
			continue;
		veer_prog_pin_path(pin, sizeof(pin), pin_root,
				   veer_sock_prog_pins[i]);
		fd = bpf_obj_get(pin);
		if (fd < 0)
			continue;
		if (!bpf_prog_detach2(fd, cg, sock_attach[i]))
			n++;
		close(fd);
	}
	close(cg);
	return n;
}

int veer_cgroup2_root(char *buf, size_t len)
{
	char dev[256], dir[PATH_MAX], type[64];
	FILE *f = fopen("/proc/mounts", "r");
	int ret = -1;

	if (!f)
		return -1;
	while (fscanf(f, "%255s %4095s %63s %*[^\n]", dev, dir, type) == 3) {
		if (!strcmp(type, "cgroup2")) {
			snprintf(buf, len, "%s", dir);
			ret = 0;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* nftw has no context argument: one walk at a time, through these. */
static struct {
	const char *pin_root;
	void (*fn)(const char *path, unsigned int mask, void *ctx);
	void *ctx;
} walk;

static int walk_one(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	unsigned int mask;

	(void)st;
	if (type != FTW_D)
		return 0;
	if (ftw->level > VEER_CGROUP_WALK_DEPTH)
		return 0;
	mask = veer_cgroup_query(path, walk.pin_root);
	if (mask)
		walk.fn(path, mask, walk.ctx);
	return 0;
}

void veer_cgroup_walk(const char *pin_root,
		      void (*fn)(const char *path, unsigned int mask,
				 void *ctx),
		      void *ctx)
{
	char root[PATH_MAX];

	if (!veer_pinned_prog_id(pin_root, VEER_PIN_PROG_CONNECT4) ||
	    veer_cgroup2_root(root, sizeof(root)))
		return;
	walk.pin_root = pin_root;
	walk.fn = fn;
	walk.ctx = ctx;
	nftw(root, walk_one, 32, FTW_PHYS | FTW_MOUNT);
}

/* ---- other network namespaces ---------------------------------------- */

/* Network namespaces looked at, at most (distinct ones, not processes). */
#define NETNS_SCAN_MAX 4096

/* Whether a program of pin_root is attached (TC or XDP) in the current
 * network namespace; the first such interface's name goes to ifname. */
static bool attached_in_current_netns(const char *pin_root, char *ifname,
				      size_t len)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	uint32_t in_id, eg_id, xdp_id;
	bool native, found = false;

	for (it = ifs; it && it->if_index && !found; it++) {
		veer_tc_query((int)it->if_index, &in_id, &eg_id);
		veer_xdp_query((int)it->if_index, &xdp_id, &native);
		found = veer_prog_is_ours(in_id, pin_root) ||
			veer_prog_is_ours(eg_id, pin_root) ||
			veer_prog_is_ours(xdp_id, pin_root);
		if (found)
			snprintf(ifname, len, "%s", it->if_name);
	}
	if (ifs)
		if_freenameindex(ifs);
	return found;
}

/* Looks into the namespace at path (unless seen already); 1 if found. */
static int look_into(const char *path, const char *name, const char *pin_root,
		     int self_fd, ino_t *seen, size_t *nseen, char *where,
		     size_t len)
{
	char ifname[IF_NAMESIZE];
	struct stat st;
	size_t i;
	int fd, found;

	if (stat(path, &st))
		return 0;
	for (i = 0; i < *nseen; i++)
		if (seen[i] == st.st_ino)
			return 0;
	if (*nseen < NETNS_SCAN_MAX)
		seen[(*nseen)++] = st.st_ino;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (setns(fd, CLONE_NEWNET)) {
		close(fd);
		return 0;
	}
	found = attached_in_current_netns(pin_root, ifname, sizeof(ifname));
	close(fd);
	if (setns(self_fd, CLONE_NEWNET))
		return -1; /* cannot get back: stop looking */
	if (found)
		snprintf(where, len, "%s (%s)", name, ifname);
	return found;
}

int veer_attached_elsewhere(const char *pin_root, char *where, size_t len)
{
	static ino_t seen[NETNS_SCAN_MAX];
	char path[PATH_MAX], name[NAME_MAX + 16];
	size_t nseen = 0;
	struct dirent *e;
	struct stat self;
	DIR *dir;
	int self_fd, found = 0;

	self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0 || fstat(self_fd, &self)) {
		if (self_fd >= 0)
			close(self_fd);
		return -1;
	}
	seen[nseen++] = self.st_ino;
	/* Named namespaces first: their names are what users type. */
	dir = opendir("/run/netns");
	while (dir && !found && (e = readdir(dir))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", e->d_name);
		snprintf(name, sizeof(name), "%s", e->d_name);
		found = look_into(path, name, pin_root, self_fd, seen, &nseen,
				  where, len);
	}
	if (dir)
		closedir(dir);
	dir = found ? NULL : opendir("/proc");
	while (dir && !found && (e = readdir(dir))) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/ns/net", e->d_name);
		snprintf(name, sizeof(name), "of pid %s", e->d_name);
		found = look_into(path, name, pin_root, self_fd, seen, &nseen,
				  where, len);
	}
	if (dir)
		closedir(dir);
	close(self_fd);
	return found;
}

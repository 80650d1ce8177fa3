// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* nftw() */
#define _XOPEN_SOURCE 700
#define _DEFAULT_SOURCE
#define _GNU_SOURCE /* setns() */
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <net/if.h>
#include <sched.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "abi_check.h"
#include "veer_abi.h"
#include "veer_tc.skel.h"
#include "veer_xdp.skel.h"
#include "veer_sock.skel.h"
#include <fcntl.h>
#include <ftw.h>
#include <linux/if_link.h>

/*
 * The name of the network namespace we are in when it looks like
 * `ip netns exec NAME` started us: the namespace is one of
 * /run/netns/NAME, and the pin root's parent is plain sysfs (ip netns exec
 * unshares the mounts and remounts /sys, which hides bpffs), and our mount
 * namespace is not init's (when init's can be read at all). NULL
 * otherwise.
 */
static const char *ip_netns_exec_name(const struct statfs *parent, char *buf,
				      size_t len)
{
	struct stat self_net, self_mnt, init_mnt, st;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (parent->f_type != SYSFS_MAGIC ||
	    stat("/proc/self/ns/net", &self_net) ||
	    stat("/proc/self/ns/mnt", &self_mnt))
		return NULL;
	if (stat("/proc/1/ns/mnt", &init_mnt) == 0 &&
	    self_mnt.st_dev == init_mnt.st_dev &&
	    self_mnt.st_ino == init_mnt.st_ino)
		return NULL;
	d = opendir("/run/netns");
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
		if (stat(path, &st) == 0 && st.st_dev == self_net.st_dev &&
		    st.st_ino == self_net.st_ino) {
			snprintf(buf, len, "%s", de->d_name);
			closedir(d);
			return buf;
		}
	}
	closedir(d);
	return NULL;
}

/* Owners veer trusts with its pins: root (and whoever runs veer). */
static bool trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * Every directory on the way to the pin root, "/" first, must be a real
 * directory (no symlink: lstat) owned by root, and writable by no one
 * else unless sticky (bpffs itself is mode 1777): then no other user can
 * swap the pin root for theirs. The pin root, when it exists, must be a
 * directory owned by root and writable by no one else, or another user
 * could hold the writers' lock, add or remove pins.
 */
/* One directory on the way (leaf: the pin root itself). 1 absent leaf. */
static int check_pin_dir(const char *pin_root, const char *path, bool leaf,
			 char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st)) {
		if (leaf && errno == ENOENT)
			return 1;
		snprintf(err, errlen, "pin root %s: cannot inspect %s: %s",
			 pin_root, path, strerror(errno));
		return -1;
	}
	if (S_ISLNK(st.st_mode) || !S_ISDIR(st.st_mode)) {
		if (leaf)
			snprintf(err, errlen, "pin root %s is %s", pin_root,
				 S_ISLNK(st.st_mode)
					 ? "a symlink; give the real directory"
					 : "not a directory");
		else
			snprintf(err, errlen, "pin root %s: %s is %s", pin_root,
				 path,
				 S_ISLNK(st.st_mode)
					 ? "a symlink; give the real path"
					 : "not a directory");
		return -1;
	}
	if (!trusted_owner(st.st_uid)) {
		if (leaf)
			snprintf(err, errlen,
				 "pin root %s is owned by uid %u, not root: "
				 "refusing to use it (remove it, or pick "
				 "another --pin-root)",
				 pin_root, (unsigned int)st.st_uid);
		else
			snprintf(err, errlen,
				 "pin root %s: %s is owned by uid %u, not "
				 "root: refusing to use it",
				 pin_root, path, (unsigned int)st.st_uid);
		return -1;
	}
	/* Sticky directories on the way are fine: bpffs is mode 1777. */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
	    (leaf || !(st.st_mode & S_ISVTX))) {
		if (leaf)
			snprintf(err, errlen,
				 "pin root %s is writable by others (mode "
				 "%04o): refusing to use it",
				 pin_root, (unsigned int)(st.st_mode & 07777));
		else
			snprintf(err, errlen,
				 "pin root %s: %s is writable by others (mode "
				 "%04o): refusing to use it",
				 pin_root, path,
				 (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * Every directory on the way to the pin root, "/" first, must be a real
 * directory (lstat: no symlink followed) owned by root and writable by no
 * one else unless sticky, so no other user can swap the pin root for
 * theirs. The pin root, when it exists, must be a directory owned by root
 * and writable by no one else: otherwise another user could hold the
 * writers' lock, or add and remove pins. 0 (also when the pin root does
 * not exist), or -1 with err.
 */
static int check_pin_path(const char *pin_root, char *err, size_t errlen)
{
	char path[PATH_MAX];
	size_t len = strlen(pin_root), i;
	int ret;

	while (len > 1 && pin_root[len - 1] == '/')
		len--;
	if (len >= sizeof(path) || pin_root[0] != '/') {
		snprintf(err, errlen, "pin root %s: not an absolute path",
			 pin_root);
		return -1;
	}
	if (check_pin_dir(pin_root, "/", len == 1, err, errlen) < 0)
		return -1;
	for (i = 1; i <= len; i++) {
		if (i < len && pin_root[i] != '/')
			continue;
		if (pin_root[i - 1] == '/')
			continue; /* "//" */
		memcpy(path, pin_root, i);
		path[i] = '\0';
		ret = check_pin_dir(pin_root, path, i == len, err, errlen);
		if (ret)
			return ret < 0 ? -1 : 0;
	}
	return 0;
}

int veer_pin_root_prepare(const char *pin_root, bool create, char *err,
			  size_t errlen)
{
	char parent[PATH_MAX], name[NAME_MAX + 1];
	struct statfs fs;

	snprintf(parent, sizeof(parent), "%s", pin_root);
	if (statfs(dirname(parent), &fs)) {
		snprintf(err, errlen, "cannot inspect %s: %s", parent,
			 strerror(errno));
		return -1;
	}
	if (fs.f_type != BPF_FS_MAGIC) {
		if (ip_netns_exec_name(&fs, name, sizeof(name)))
			snprintf(err, errlen,
				 "%s is not a BPF filesystem here: 'ip netns "
				 "exec' remounts /sys and hides bpffs; run "
				 "veer with 'nsenter --net=/run/netns/%s' "
				 "instead",
				 parent, name);
		else
			snprintf(err, errlen,
				 "%s is not a BPF filesystem (mount it: mount "
				 "-t bpf bpf %s)",
				 parent, parent);
		return -1;
	}
	if (check_pin_path(pin_root, err, errlen))
		return -1;
	if (create && mkdir(pin_root, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", pin_root,
			 strerror(errno));
		return -1;
	}
	/* Made just now, or by someone else in the meantime: check again. */
	return create ? check_pin_path(pin_root, err, errlen) : 0;
}

static void prog_pin_path(char *buf, size_t len, const char *pin_root,
			  const char *name)
{
	snprintf(buf, len, "%s/%s", pin_root, name);
}

/*
 * Pins prog at path, replacing a pin already there in one step (pinned
 * beside it, then renamed over it): the path always names a program, the
 * old one until the rename, the new one after. A load happens when a pin
 * is missing or for an upgrade; the other pins of the set are replaced.
 */
static int pin_program(struct bpf_program *prog, const char *path)
{
	char tmp[PATH_MAX];
	/* bpffs refuses names with dots. */
	if (snprintf(tmp, sizeof(tmp), "%s_new", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(tmp); /* left by an upgrade that died here */
	if (bpf_obj_pin(bpf_program__fd(prog), tmp))
		return -1;
	if (rename(tmp, path)) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
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

	if (bpf_map_lookup_elem(fd, &zero, &rt) == 0 && rt.abi_version) {
		/* Maps of an older, compatible ABI (veer_abi_check let them
		 * through): this load's programs now run on them. */
		if (rt.abi_version == VEER_ABI_VERSION)
			return 0;
		rt.abi_version = VEER_ABI_VERSION;
		if (bpf_map_update_elem(fd, &zero, &rt, BPF_EXIST)) {
			snprintf(err, errlen, "cannot write %s: %s",
				 VEER_MAP_RUNTIME, strerror(errno));
			return -1;
		}
		return 0;
	}
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

/* The kernel's description of the map pinned as name: 0, or -1. */
static int pinned_map_info(const char *pin_root, const char *name,
			   struct bpf_map_info *info)
{
	__u32 info_len = sizeof(*info);
	char path[PATH_MAX];
	int fd, ret;

	memset(info, 0, sizeof(*info));
	snprintf(path, sizeof(path), "%s/%s", pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	ret = bpf_obj_get_info_by_fd(fd, info, &info_len) ? -1 : 0;
	close(fd);
	return ret;
}

/*
 * A map pinned by an earlier load keeps its size and flags, so the reuse
 * check holds (maps pinned by an older veer, e.g. a metadata array made
 * before it was mmapable, are reused as they are).
 */
static void adopt_pinned_size(struct bpf_map *map, const char *pin_root,
			      uint32_t wanted)
{
	struct bpf_map_info info;

	if (!pinned_map_info(pin_root, bpf_map__name(map), &info)) {
		wanted = info.max_entries;
		bpf_map__set_map_flags(map, info.map_flags);
	}
	bpf_map__set_max_entries(map, wanted);
}

/*
 * The kernel's LRU keeps up to 128 free nodes per CPU on local lists, and
 * a CPU that cannot refill its list to that many from the global one
 * evicts the difference, even from a map that is far from full (seen:
 * 39 of 64 connections in a 128-entry table). This many entries more
 * than the working set keep evictions for when the working set itself
 * is exceeded.
 */
#define LRU_LOCAL_FREE_TARGET 128

uint32_t veer_lru_slack(void)
{
	int cpus = libbpf_num_possible_cpus();

	return (uint32_t)((cpus > 0 ? cpus : 1) + 1) * LRU_LOCAL_FREE_TARGET;
}

void veer_adopt_pinned_sizes(struct bpf_object *obj, const char *pin_root)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) if (bpf_map__pin_path(map))
		adopt_pinned_size(map, pin_root, bpf_map__max_entries(map));
}

/* max_entries of a pinned map; 0 if it is not pinned. */
static uint32_t pinned_max_entries(const char *pin_root, const char *name)
{
	struct bpf_map_info info;

	return pinned_map_info(pin_root, name, &info) ? 0 : info.max_entries;
}

#define SIZES_ADVICE                                                           \
	"maps already pinned keep their sizes; 'veer detach --all' and "       \
	"attach again to change them (live connections lose their pinning)"

int veer_load_sizes_agree(const char *pin_root,
			  const struct veer_load_opts *opts, unsigned int given,
			  char *err, size_t errlen)
{
	struct veer_runtime rt = {};
	char path[PATH_MAX];
	uint32_t have, zero = 0;
	int fd;

	const struct {
		unsigned int flag;
		const char *option, *map, *holds, *unit;
		uint32_t asked, per_unit, slack;
	} sizes[] = {
		{VEER_LOAD_GIVEN_MAX_SERVICES, "max-services",
		 VEER_MAP_SERVICES, "maps hold", "", opts->max_services, 1, 0},
		{VEER_LOAD_GIVEN_MAX_BACKENDS, "max-backends",
		 VEER_MAP_BACKENDS, "maps hold", "", opts->max_backends, 1, 0},
		{VEER_LOAD_GIVEN_CT_SIZE, "ct-size", VEER_MAP_CT,
		 "conntrack holds", " connections", opts->ct_flows,
		 VEER_CT_ENTRIES_PER_FLOW, veer_lru_slack()},
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		have = pinned_max_entries(pin_root, sizes[i].map);
		if (!(given & sizes[i].flag) || !have ||
		    have == sizes[i].asked * sizes[i].per_unit + sizes[i].slack)
			continue;
		snprintf(
			err, errlen,
			"--%s %u: the pinned %s %u%s; " SIZES_ADVICE,
			sizes[i].option, sizes[i].asked, sizes[i].holds,
			(have > sizes[i].slack ? have - sizes[i].slack : have) /
				sizes[i].per_unit,
			sizes[i].unit);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_RUNTIME);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_map_lookup_elem(fd, &zero, &rt) && rt.abi_version &&
	    (given & VEER_LOAD_GIVEN_CT_GRACE) &&
	    rt.ct_close_grace_ns !=
		    (uint64_t)opts->ct_close_grace_ms * 1000000ULL) {
		snprintf(err, errlen,
			 "--ct-close-grace %u: the pinned maps "
			 "use %llu ms; " SIZES_ADVICE,
			 opts->ct_close_grace_ms,
			 (unsigned long long)(rt.ct_close_grace_ns /
					      1000000ULL));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

bool veer_http_supported(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_loop,
				       NULL) == 1;
}

/* Maps one program uses, at most, as read here. */
#define PROG_MAP_IDS_MAX 32

/* The pin of a TC object's tail-call table: "<prefix><ingress prog id>". */
#define HTTP_TABLE_PIN_PREFIX "tc_http_progs_"

/* The id of the program behind fd; 0 on error. */
static uint32_t prog_fd_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &info_len) ? 0 : info.id;
}

/*
 * Removes the tail-call table pins of ingress programs that no longer
 * exist (upgraded and detached everywhere): their tables served nothing.
 */
static void http_table_prune(const char *pin_root)
{
	size_t plen = strlen(HTTP_TABLE_PIN_PREFIX);
	char path[PATH_MAX], *end;
	struct dirent *de;
	unsigned long id;
	DIR *dir;
	int fd;

	dir = opendir(pin_root);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, HTTP_TABLE_PIN_PREFIX, plen))
			continue;
		errno = 0;
		id = strtoul(de->d_name + plen, &end, 10);
		if (errno || *end || !id || id > UINT32_MAX)
			continue;
		fd = bpf_prog_get_fd_by_id((uint32_t)id);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != ENOENT)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, de->d_name);
		unlink(path);
	}
	closedir(dir);
}

/*
 * Fills the loaded TC object's tail-call table with its HTTP programs and
 * pins the table. The kernel empties a program array when the last file
 * descriptor or pin of it goes (its programs' references do not count),
 * so an unpinned table would be empty once this process exits. Each TC
 * object has its own table, pinned under its ingress program's id, so a
 * table keeps serving the programs that use it (an attach point not yet
 * upgraded) after an upgrade pins another one.
 */
static int http_table_fill(struct veer_tc *skel, const char *pin_root,
			   char *err, size_t errlen)
{
	const struct {
		__u32 slot;
		struct bpf_program *prog;
	} slots[] = {
		{VEER_TAIL_HTTP_INGRESS, skel->progs.veer_tc_http_ingress},
		{VEER_TAIL_HTTP_EGRESS, skel->progs.veer_tc_http_egress},
	};
	int table = bpf_map__fd(skel->maps.veer_http_progs);
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	uint32_t id;
	size_t i;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		int fd = bpf_program__fd(slots[i].prog);

		if (fd < 0 ||
		    bpf_map_update_elem(table, &slots[i].slot, &fd, BPF_ANY)) {
			snprintf(err, errlen,
				 "cannot put %s in the tail-call table: %s",
				 bpf_program__name(slots[i].prog),
				 strerror(fd < 0 ? EBADF : errno));
			return -1;
		}
	}
	id = prog_fd_id(bpf_program__fd(skel->progs.veer_tc_ingress));
	if (!id) {
		snprintf(err, errlen,
			 "cannot read the ingress program's id: %s",
			 strerror(errno));
		return -1;
	}
	http_table_prune(pin_root);
	snprintf(path, sizeof(path), "%s/" HTTP_TABLE_PIN_PREFIX "%u", pin_root,
		 id);
	snprintf(tmp, sizeof(tmp), "%s_new", path);
	unlink(tmp);
	if (bpf_obj_pin(table, tmp) || rename(tmp, path)) {
		snprintf(err, errlen, "cannot pin %s: %s", path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The map behind id when it is a program array; -1 otherwise. */
static int prog_array_by_id(__u32 id)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) ||
	    info.type != BPF_MAP_TYPE_PROG_ARRAY) {
		close(fd);
		return -1;
	}
	return fd;
}

enum veer_http_state veer_http_state(const char *pin_root)
{
	__u32 map_ids[PROG_MAP_IDS_MAX], i, slot, prog_id;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	enum veer_http_state state = VEER_HTTP_NO_TABLE;
	char path[PATH_MAX];
	int fd, table;

	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_INGRESS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return VEER_HTTP_NOT_LOADED;
	info.nr_map_ids = PROG_MAP_IDS_MAX;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		info.nr_map_ids = 0;
	close(fd);
	for (i = 0; i < info.nr_map_ids && i < PROG_MAP_IDS_MAX; i++) {
		table = prog_array_by_id(map_ids[i]);
		if (table < 0)
			continue;
		state = VEER_HTTP_ON;
		for (slot = VEER_TAIL_HTTP_INGRESS;
		     slot <= VEER_TAIL_HTTP_EGRESS; slot++)
			if (bpf_map_lookup_elem(table, &slot, &prog_id) ||
			    !prog_id)
				state = VEER_HTTP_EMPTY;
		close(table);
		break;
	}
	if (state != VEER_HTTP_ON && !veer_http_supported())
		state = VEER_HTTP_NO_KERNEL;
	return state;
}

const char *veer_http_state_text(enum veer_http_state state)
{
	switch (state) {
	case VEER_HTTP_ON:
		return "on";
	case VEER_HTTP_NO_KERNEL:
		return "off (this kernel lacks bpf_loop, 5.17+): services "
		       "with HTTP rules take their default route";
	case VEER_HTTP_NOT_LOADED:
		return "off (the tc programs are not loaded)";
	case VEER_HTTP_EMPTY:
		return "off (the HTTP programs are not in the loaded tc "
		       "ingress program's tail-call table; 'veer attach "
		       "--upgrade' puts them back): services with HTTP rules "
		       "take their default route";
	default:
		return "off (the loaded tc ingress program has no HTTP path): "
		       "services with HTTP rules take their default route";
	}
}

/*
 * Opens the TC object sized for opts and loads it, with or without the
 * HTTP programs. NULL with err set on failure.
 */
static struct veer_tc *tc_open_load(const char *pin_root,
				    const struct veer_load_opts *opts,
				    bool http, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_tc *skel = veer_tc__open_opts(&open_opts);

	if (!skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s",
			 strerror(errno));
		return NULL;
	}
	adopt_pinned_size(skel->maps.veer_services, pin_root,
			  opts->max_services);
	adopt_pinned_size(skel->maps.veer_svc_meta, pin_root,
			  opts->max_services + 1);
	adopt_pinned_size(skel->maps.veer_stats, pin_root,
			  (opts->max_services + 1) * VEER_STATS_ROWS_PER_SVC);
	adopt_pinned_size(skel->maps.veer_backends, pin_root,
			  opts->max_backends);
	adopt_pinned_size(skel->maps.veer_be_vips, pin_root,
			  opts->max_backends);
	adopt_pinned_size(skel->maps.veer_conntrack, pin_root,
			  opts->ct_flows * VEER_CT_ENTRIES_PER_FLOW +
				  veer_lru_slack());
	adopt_pinned_size(skel->maps.veer_ct_syn, pin_root,
			  VEER_CT_SIDE_FLOWS(opts->ct_flows) *
					  VEER_CT_ENTRIES_PER_FLOW +
				  veer_lru_slack());
	adopt_pinned_size(skel->maps.veer_ct_closing, pin_root,
			  VEER_CT_SIDE_FLOWS(opts->ct_flows) *
					  VEER_CT_ENTRIES_PER_FLOW +
				  veer_lru_slack());
	adopt_pinned_size(skel->maps.veer_http_req, pin_root,
			  VEER_DEFAULT_HTTP_PENDING + veer_lru_slack());
	adopt_pinned_size(skel->maps.veer_http_stats, pin_root,
			  opts->max_services + 1);
	bpf_program__set_autoload(skel->progs.veer_tc_http_ingress, http);
	bpf_program__set_autoload(skel->progs.veer_tc_http_egress, http);
	if (veer_tc__load(skel)) {
		snprintf(err, errlen,
			 "cannot load the BPF programs: %s (run with -v for "
			 "the verifier log)",
			 strerror(errno));
		veer_tc__destroy(skel);
		return NULL;
	}
	return skel;
}

int veer_load(const char *pin_root, const struct veer_load_opts *opts,
	      int *ingress_fd, int *egress_fd, bool *reused, char *err,
	      size_t errlen)
{
	struct veer_tc *skel = NULL;
	char path[PATH_MAX];
	bool http;
	__u32 seed;
	int ret = -1;

	*reused = false;
	if (veer_abi_check(pin_root, err, errlen))
		return -1;
	if (!opts->upgrade && veer_open_progs(pin_root, ingress_fd, egress_fd,
					      err, errlen) == 0) {
		*reused = true;
		return 0;
	}
	if (opts->max_services == 0 || opts->max_backends == 0 ||
	    opts->ct_flows == 0) {
		snprintf(err, errlen, "map sizes must be positive");
		return -1;
	}

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		snprintf(err, errlen, "cannot seed the flow hash: %s",
			 strerror(errno));
		return -1;
	}
	/*
	 * The HTTP programs need bpf_loop; without it they stay out and
	 * services with rules take their default route. A kernel that has
	 * bpf_loop but whose verifier refuses them (5.17 to 6.0 are not
	 * tested) must not lose the L4 path too: load again without them,
	 * and say so.
	 */
	http = veer_http_supported();
	skel = tc_open_load(pin_root, opts, http, err, errlen);
	if (!skel && http) {
		http = false;
		skel = tc_open_load(pin_root, opts, false, err, errlen);
		if (skel)
			fprintf(stderr,
				"veer: this kernel refused the HTTP programs "
				"(run with -v for the verifier log): HTTP "
				"routing is off, services with rules take "
				"their default route\n");
	}
	if (!skel)
		return -1;
	if (runtime_init(bpf_map__fd(skel->maps.veer_runtime), seed,
			 opts->ct_close_grace_ms, err, errlen))
		goto cleanup;
	if (http && http_table_fill(skel, pin_root, err, errlen))
		goto cleanup;
	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_INGRESS);
	if (pin_program(skel->progs.veer_tc_ingress, path))
		goto pin_failed;
	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_TC_EGRESS);
	if (pin_program(skel->progs.veer_tc_egress, path))
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

static struct veer_xdp *open_load_xdp(const char *pin_root, bool frags)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_xdp *skel;

	skel = veer_xdp__open_opts(&open_opts);
	if (!skel)
		return NULL;
	/* Every map exists already (the TC load made them): match sizes. */
	veer_adopt_pinned_sizes(skel->obj, pin_root);
	if (frags)
		bpf_program__set_flags(
			skel->progs.veer_xdp_ingress,
			bpf_program__flags(skel->progs.veer_xdp_ingress) |
				BPF_F_XDP_HAS_FRAGS);
	if (veer_xdp__load(skel)) {
		veer_xdp__destroy(skel);
		return NULL;
	}
	return skel;
}

static int load_xdp(const char *pin_root, bool upgrade, int *xdp_fd, char *err,
		    size_t errlen)
{
	struct veer_xdp *skel;
	char path[PATH_MAX];
	int ret = -1;

	prog_pin_path(path, sizeof(path), pin_root, VEER_PIN_PROG_XDP_INGRESS);
	*xdp_fd = upgrade ? -1 : bpf_obj_get(path);
	if (*xdp_fd >= 0)
		return 0;
	/*
	 * Multi-buffer aware where the kernel knows it (5.18+), so the
	 * program attaches to interfaces with jumbo MTUs (frames larger than
	 * a page arrive in fragments). Headers are only ever read from the
	 * first buffer. (On veth it does not keep GSO: veth drops it from its
	 * peer whenever any XDP program is attached.)
	 */
	skel = open_load_xdp(pin_root, true);
	if (!skel)
		skel = open_load_xdp(pin_root, false);
	if (!skel) {
		snprintf(err, errlen,
			 "cannot load the XDP program: %s (run with -v for "
			 "the verifier log)",
			 strerror(errno));
		return -1;
	}
	if (pin_program(skel->progs.veer_xdp_ingress, path)) {
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

int veer_load_xdp(const char *pin_root, int *xdp_fd, char *err, size_t errlen)
{
	return load_xdp(pin_root, false, xdp_fd, err, errlen);
}

int veer_load_xdp_upgrade(const char *pin_root, int *xdp_fd, char *err,
			  size_t errlen)
{
	return load_xdp(pin_root, true, xdp_fd, err, errlen);
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

/* The id of a map pinned under pin_root; 0 if it is not pinned. */
static uint32_t pinned_map_id(const char *pin_root, const char *name)
{
	struct bpf_map_info info;

	return pinned_map_info(pin_root, name, &info) ? 0 : info.id;
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
	__u32 map_ids[PROG_MAP_IDS_MAX], i;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	bool found = false, any = false;
	size_t m;
	int fd;

	for (m = 0; m < sizeof(maps) / sizeof(maps[0]); m++)
		any |= (ours[m] = pinned_map_id(pin_root, maps[m])) != 0;
	if (!prog_id || !any)
		return false;
	fd = bpf_prog_get_fd_by_id(prog_id);
	if (fd < 0)
		return false;
	info.nr_map_ids = PROG_MAP_IDS_MAX;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (!bpf_obj_get_info_by_fd(fd, &info, &info_len) &&
	    !strncmp(info.name, "veer_", 5))
		for (i = 0; i < info.nr_map_ids && i < PROG_MAP_IDS_MAX; i++)
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

/* ---- cgroup socket programs ------------------------------------------ */

const char *const veer_sock_prog_names[VEER_SOCK_PROG_COUNT] = {
	[VEER_SOCK_CONNECT4] = "connect4",
	[VEER_SOCK_CONNECT6] = "connect6",
	[VEER_SOCK_GETPEERNAME4] = "getpeername4",
	[VEER_SOCK_GETPEERNAME6] = "getpeername6",
};

static const char *const sock_pins[VEER_SOCK_PROG_COUNT] = {
	[VEER_SOCK_CONNECT4] = VEER_PIN_PROG_CONNECT4,
	[VEER_SOCK_CONNECT6] = VEER_PIN_PROG_CONNECT6,
	[VEER_SOCK_GETPEERNAME4] = VEER_PIN_PROG_GETPEERNAME4,
	[VEER_SOCK_GETPEERNAME6] = VEER_PIN_PROG_GETPEERNAME6,
};

static const enum bpf_attach_type sock_attach[VEER_SOCK_PROG_COUNT] = {
	[VEER_SOCK_CONNECT4] = BPF_CGROUP_INET4_CONNECT,
	[VEER_SOCK_CONNECT6] = BPF_CGROUP_INET6_CONNECT,
	[VEER_SOCK_GETPEERNAME4] = BPF_CGROUP_INET4_GETPEERNAME,
	[VEER_SOCK_GETPEERNAME6] = BPF_CGROUP_INET6_GETPEERNAME,
};

static void close_fds(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

static int load_sock(const char *pin_root, bool upgrade,
		     int fds[VEER_SOCK_PROG_COUNT], char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct bpf_program *progs[VEER_SOCK_PROG_COUNT];
	struct veer_sock *skel;
	char path[PATH_MAX];
	int i, ret = -1;

	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		prog_pin_path(path, sizeof(path), pin_root, sock_pins[i]);
		fds[i] = upgrade ? -1 : bpf_obj_get(path);
	}
	if (fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0)
		return 0;
	close_fds(fds, VEER_SOCK_PROG_COUNT);

	skel = veer_sock__open_opts(&open_opts);
	if (!skel) {
		snprintf(err, errlen, "cannot open the socket object: %s",
			 strerror(errno));
		return -1;
	}
	veer_adopt_pinned_sizes(skel->obj, pin_root);
	if (veer_sock__load(skel)) {
		snprintf(err, errlen,
			 "cannot load the socket programs: %s (run with -v "
			 "for the verifier log)",
			 strerror(errno));
		goto cleanup;
	}
	progs[VEER_SOCK_CONNECT4] = skel->progs.veer_connect4;
	progs[VEER_SOCK_CONNECT6] = skel->progs.veer_connect6;
	progs[VEER_SOCK_GETPEERNAME4] = skel->progs.veer_getpeername4;
	progs[VEER_SOCK_GETPEERNAME6] = skel->progs.veer_getpeername6;
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		prog_pin_path(path, sizeof(path), pin_root, sock_pins[i]);
		if (pin_program(progs[i], path)) {
			snprintf(err, errlen, "cannot pin %s: %s", path,
				 strerror(errno));
			goto cleanup;
		}
		fds[i] = dup(bpf_program__fd(progs[i]));
	}
	ret = 0;
cleanup:
	if (ret)
		close_fds(fds, VEER_SOCK_PROG_COUNT);
	veer_sock__destroy(skel);
	return ret;
}

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

int veer_load_sock(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
		   char *err, size_t errlen)
{
	return load_sock(pin_root, false, fds, err, errlen);
}

int veer_load_sock_upgrade(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
			   char *err, size_t errlen)
{
	return load_sock(pin_root, true, fds, err, errlen);
}

int veer_open_sock_progs(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT])
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		prog_pin_path(path, sizeof(path), pin_root, sock_pins[i]);
		fds[i] = bpf_obj_get(path);
	}
	if (fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0)
		return 0;
	close_fds(fds, VEER_SOCK_PROG_COUNT);
	return -1;
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
		own = veer_pinned_prog_id(pin_root, sock_pins[i]);
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
		prog_pin_path(pin, sizeof(pin), pin_root, sock_pins[i]);
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

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The pin root: whether it can be trusted and made, the programs and maps
 * pinned in it (opened, measured, removed).
 */
#define _GNU_SOURCE
#include "pin_root.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "veer_abi.h"

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

void veer_prog_pin_path(char *buf, size_t len, const char *pin_root,
			const char *name)
{
	snprintf(buf, len, "%s/%s", pin_root, name);
}

int veer_open_progs(const char *pin_root, int *ingress_fd, int *egress_fd,
		    char *err, size_t errlen)
{
	char path[PATH_MAX];

	veer_prog_pin_path(path, sizeof(path), pin_root,
			   VEER_PIN_PROG_TC_INGRESS);
	*ingress_fd = bpf_obj_get(path);
	veer_prog_pin_path(path, sizeof(path), pin_root,
			   VEER_PIN_PROG_TC_EGRESS);
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
void veer_adopt_pinned_size(struct bpf_map *map, const char *pin_root,
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
		veer_adopt_pinned_size(map, pin_root,
				       bpf_map__max_entries(map));
}

uint32_t veer_pinned_max_entries(const char *pin_root, const char *name)
{
	struct bpf_map_info info;

	return pinned_map_info(pin_root, name, &info) ? 0 : info.max_entries;
}

uint32_t veer_pinned_map_id(const char *pin_root, const char *name)
{
	struct bpf_map_info info;

	return pinned_map_info(pin_root, name, &info) ? 0 : info.id;
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

	veer_prog_pin_path(path, sizeof(path), pin_root, name);
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

const char *const veer_sock_prog_pins[VEER_SOCK_PROG_COUNT] = {
	[VEER_SOCK_CONNECT4] = VEER_PIN_PROG_CONNECT4,
	[VEER_SOCK_CONNECT6] = VEER_PIN_PROG_CONNECT6,
	[VEER_SOCK_GETPEERNAME4] = VEER_PIN_PROG_GETPEERNAME4,
	[VEER_SOCK_GETPEERNAME6] = VEER_PIN_PROG_GETPEERNAME6,
};

void veer_sock_progs_close(int fds[VEER_SOCK_PROG_COUNT])
{
	int i;

	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

int veer_open_sock_progs(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT])
{
	char path[PATH_MAX];
	int i;

	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		veer_prog_pin_path(path, sizeof(path), pin_root,
				   veer_sock_prog_pins[i]);
		fds[i] = bpf_obj_get(path);
	}
	if (fds[0] >= 0 && fds[1] >= 0 && fds[2] >= 0 && fds[3] >= 0)
		return 0;
	veer_sock_progs_close(fds);
	return -1;
}

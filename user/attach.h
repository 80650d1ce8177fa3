/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Attaching the loaded programs to interfaces (TC, XDP) and cgroups, and
 * finding where a pin root's programs are attached.
 */
#ifndef VEER_ATTACH_H
#define VEER_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pin_root.h"

/*
 * Attaches TC egress, and TC ingress unless ingress_fd < 0 (an upgrade
 * of an attach point that had none).
 */
int veer_tc_attach(int ifindex, int ingress_fd, int egress_fd, char *err,
		   size_t errlen);

/*
 * Whether program prog_id is one of veer's (by name) working on the maps
 * pinned under pin_root: found by what it is, not by its pin, so an
 * attached program whose pin was removed is still recognised.
 */
bool veer_prog_is_ours(uint32_t prog_id, const char *pin_root);

/*
 * Attaches the XDP program natively, or in generic (skb) mode when the
 * driver has no XDP; *native says which. Refuses to replace a program
 * that is not veer's (of this pin root). 0 or -1 with err.
 */
int veer_xdp_attach(int ifindex, int xdp_fd, const char *pin_root, bool *native,
		    char *err, size_t errlen);

/* Detaches veer's XDP program of this pin root; 1 if one was there. */
int veer_xdp_detach(int ifindex, const char *pin_root);

/* The XDP program on ifindex: its id (0: none) and whether native. */
void veer_xdp_query(int ifindex, uint32_t *prog_id, bool *native);

int veer_tc_detach(int ifindex, char *err, size_t errlen);

/*
 * Reports whether veer's filter sits on ifindex's ingress / egress hook;
 * the program ids are returned (0 when absent).
 */
void veer_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id);

/*
 * Replaces old_fds' programs by new_fds' on the cgroup at path, each with
 * one replacing attach (BPF_F_REPLACE). 0 or -1 with err.
 */
int veer_cgroup_replace(const char *path,
			const int old_fds[VEER_SOCK_PROG_COUNT],
			const int new_fds[VEER_SOCK_PROG_COUNT], char *err,
			size_t errlen);

/*
 * Attaches every socket program to the cgroup at path (alongside other
 * programs there: BPF_F_ALLOW_MULTI). 0 or -1 with err.
 */
int veer_cgroup_attach(const char *path, const int fds[VEER_SOCK_PROG_COUNT],
		       char *err, size_t errlen);

/* Detaches veer's socket programs from the cgroup; how many were there. */
int veer_cgroup_detach(const char *path, const char *pin_root);

/* Bit i set: veer's program i is attached to the cgroup at path. */
unsigned int veer_cgroup_query(const char *path, const char *pin_root);

/* Where cgroup2 is mounted (first cgroup2 in /proc/mounts). 0 or -1. */
int veer_cgroup2_root(char *buf, size_t len);

/*
 * Calls fn for every cgroup under the cgroup2 root where veer's socket
 * programs are attached (at most VEER_CGROUP_WALK_DEPTH deep).
 */
#define VEER_CGROUP_WALK_DEPTH 16
void veer_cgroup_walk(const char *pin_root,
		      void (*fn)(const char *path, unsigned int mask,
				 void *ctx),
		      void *ctx);

/*
 * Whether a TC or XDP program of pin_root is attached in another network
 * namespace (named ones under /run/netns first, then those of every
 * process): 1 with "NAME (IFNAME)" in where, 0 if none, -1 if this
 * process's own namespace cannot be opened. The caller's namespace is
 * the same on return.
 */
int veer_attached_elsewhere(const char *pin_root, char *where, size_t len);

#endif /* VEER_ATTACH_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Loading, pinning and attaching the data plane; finding where it is. */
#ifndef VEER_LOADER_H
#define VEER_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct veer_load_opts {
	uint32_t max_services;
	uint32_t max_backends;
	uint32_t ct_flows; /* connections; the map holds twice as many */
	uint32_t ct_close_grace_ms;
	/*
	 * Load new programs even when programs are pinned already, and
	 * replace their pins (an in-place upgrade over the same maps).
	 */
	bool upgrade;
};

#define VEER_LOAD_OPTS_DEFAULT                                                 \
	{                                                                      \
		.max_services = VEER_DEFAULT_MAX_SERVICES,                     \
		.max_backends = VEER_DEFAULT_MAX_BACKENDS,                     \
		.ct_flows = VEER_DEFAULT_CT_FLOWS,                             \
		.ct_close_grace_ms = VEER_DEFAULT_CT_CLOSE_GRACE_MS,           \
	}

/*
 * Checks that pin_root's parent is a BPF filesystem and creates pin_root.
 * 0, or -1 with a one-line message.
 */
int veer_pin_root_prepare(const char *pin_root, bool create, char *err,
			  size_t errlen);

/* Which veer_load_opts fields the user set explicitly. */
#define VEER_LOAD_GIVEN_MAX_SERVICES (1U << 0)
#define VEER_LOAD_GIVEN_MAX_BACKENDS (1U << 1)
#define VEER_LOAD_GIVEN_CT_SIZE (1U << 2)
#define VEER_LOAD_GIVEN_CT_GRACE (1U << 3)

/*
 * Maps already pinned keep their sizes (and the runtime map its close
 * grace): a size the user asked for explicitly that differs from them
 * cannot take effect. 0 when nothing given conflicts (or nothing is
 * pinned); -1 with a one-line message naming the option, the value in
 * force and how to change it.
 */
int veer_load_sizes_agree(const char *pin_root,
			  const struct veer_load_opts *opts, unsigned int given,
			  char *err, size_t errlen);

/*
 * Loads the programs and maps unless they are already pinned under
 * pin_root (then reuses them, and *reused says so). Maps that are pinned
 * already (conntrack kept across an upgrade) are reused by libbpf.
 * Fills the program fds. 0 or -1 with err.
 */
int veer_load(const char *pin_root, const struct veer_load_opts *opts,
	      int *ingress_fd, int *egress_fd, bool *reused, char *err,
	      size_t errlen);

/*
 * Entries each conntrack LRU map gets beyond what --ct-size asks for, so
 * that the kernel's per-CPU free lists never make it evict below that.
 */
uint32_t veer_lru_slack(void);

/*
 * Gives every pinned-by-name map of obj (opened, not loaded) the size and
 * flags of the map already pinned under pin_root, so libbpf reuses it.
 */
struct bpf_object;
void veer_adopt_pinned_sizes(struct bpf_object *obj, const char *pin_root);

/*
 * Whether this kernel can load the HTTP programs (they need bpf_loop,
 * 5.17+). veer_load leaves them out when it cannot.
 */
bool veer_http_supported(void);

/*
 * HTTP routing of the TC programs pinned under pin_root, as the kernel has
 * it: the pinned ingress program's tail-call table (the program array it
 * uses) holds both HTTP programs, or why not.
 */
enum veer_http_state {
	VEER_HTTP_ON,
	VEER_HTTP_NO_KERNEL, /* off: no bpf_loop here */
	VEER_HTTP_NO_TABLE, /* off: the ingress program uses no table */
	VEER_HTTP_EMPTY, /* off: its table lacks an HTTP program */
	VEER_HTTP_NOT_LOADED, /* no pinned tc ingress program */
};

enum veer_http_state veer_http_state(const char *pin_root);

/* "on", or "off (why): what happens" for `attach` and `status`. */
const char *veer_http_state_text(enum veer_http_state state);

/* Opens the pinned programs; -1 with err when not loaded. */
int veer_open_progs(const char *pin_root, int *ingress_fd, int *egress_fd,
		    char *err, size_t errlen);

/*
 * Loads (or reuses, when pinned) the XDP ingress program over the maps a
 * TC load created. 0 or -1 with err.
 */
int veer_load_xdp(const char *pin_root, int *xdp_fd, char *err, size_t errlen);

/* The same, always loading anew and replacing the pin (an upgrade). */
int veer_load_xdp_upgrade(const char *pin_root, int *xdp_fd, char *err,
			  size_t errlen);

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

/* The cgroup socket programs, in this order everywhere. */
enum veer_sock_prog {
	VEER_SOCK_CONNECT4,
	VEER_SOCK_CONNECT6,
	VEER_SOCK_GETPEERNAME4,
	VEER_SOCK_GETPEERNAME6,
	VEER_SOCK_PROG_COUNT,
};

extern const char *const veer_sock_prog_names[VEER_SOCK_PROG_COUNT];

/* Loads (or reuses, when pinned) the cgroup socket programs. */
int veer_load_sock(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
		   char *err, size_t errlen);

/* The same, always loading anew and replacing the pins (an upgrade). */
int veer_load_sock_upgrade(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
			   char *err, size_t errlen);

/* Opens the pinned socket programs: 0, or -1 if any is missing. */
int veer_open_sock_progs(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT]);

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
int veer_tc_detach(int ifindex, char *err, size_t errlen);

/*
 * Reports whether veer's filter sits on ifindex's ingress / egress hook;
 * the program ids are returned (0 when absent).
 */
void veer_tc_query(int ifindex, uint32_t *ingress_id, uint32_t *egress_id);

/*
 * Whether a TC or XDP program of pin_root is attached in another network
 * namespace (named ones under /run/netns first, then those of every
 * process): 1 with "NAME (IFNAME)" in where, 0 if none, -1 if this
 * process's own namespace cannot be opened. The caller's namespace is
 * the same on return.
 */
int veer_attached_elsewhere(const char *pin_root, char *where, size_t len);

/* Removes every pin under pin_root and the directory itself. */
int veer_unpin_all(const char *pin_root, char *err, size_t errlen);

/* Program id of a pinned program (0 when absent). */
uint32_t veer_pinned_prog_id(const char *pin_root, const char *name);

#endif /* VEER_LOADER_H */

/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pin root and what is pinned in it: trusted and prepared before a
 * load, its programs opened, its maps measured (a new load adopts their
 * sizes), everything unpinned by `detach --all`.
 */
#ifndef VEER_PIN_ROOT_H
#define VEER_PIN_ROOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Checks that pin_root's parent is a BPF filesystem and creates pin_root.
 * 0, or -1 with a one-line message.
 */
int veer_pin_root_prepare(const char *pin_root, bool create, char *err,
			  size_t errlen);

/* The path of the program pinned as name under pin_root. */
void veer_prog_pin_path(char *buf, size_t len, const char *pin_root,
			const char *name);

/* Opens the pinned programs; -1 with err when not loaded. */
int veer_open_progs(const char *pin_root, int *ingress_fd, int *egress_fd,
		    char *err, size_t errlen);

/* Program id of a pinned program (0 when absent). */
uint32_t veer_pinned_prog_id(const char *pin_root, const char *name);

/* The id of a map pinned under pin_root; 0 if it is not pinned. */
uint32_t veer_pinned_map_id(const char *pin_root, const char *name);

/* max_entries of a pinned map; 0 if it is not pinned. */
uint32_t veer_pinned_max_entries(const char *pin_root, const char *name);

/* Maps one program uses, at most, as read here. */
#define VEER_PROG_MAP_IDS_MAX 32

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
 * Gives map (opened, not loaded) the size and flags of the map pinned
 * under its name, or `wanted` entries when none is pinned.
 */
struct bpf_map;
void veer_adopt_pinned_size(struct bpf_map *map, const char *pin_root,
			    uint32_t wanted);

/* Removes every pin under pin_root and the directory itself. */
int veer_unpin_all(const char *pin_root, char *err, size_t errlen);

/* The cgroup socket programs, in this order everywhere. */
enum veer_sock_prog {
	VEER_SOCK_CONNECT4,
	VEER_SOCK_CONNECT6,
	VEER_SOCK_GETPEERNAME4,
	VEER_SOCK_GETPEERNAME6,
	VEER_SOCK_PROG_COUNT,
};

extern const char *const veer_sock_prog_names[VEER_SOCK_PROG_COUNT];
/* Their pins' names under the pin root. */
extern const char *const veer_sock_prog_pins[VEER_SOCK_PROG_COUNT];

/* Opens the pinned socket programs: 0, or -1 if any is missing. */
int veer_open_sock_progs(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT]);

/* Closes the socket programs' fds that are open and sets all to -1. */
void veer_sock_progs_close(int fds[VEER_SOCK_PROG_COUNT]);

#endif /* VEER_PIN_ROOT_H */

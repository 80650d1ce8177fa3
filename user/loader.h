/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Loading the data plane. With pin_root.h (the pins) and attach.h
 * (attaching, finding where programs are attached), which it includes:
 * everything about getting the programs into the kernel and to where the
 * packets are.
 */
#ifndef VEER_LOADER_H
#define VEER_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attach.h"
#include "pin_root.h"

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

/* A TC object's HTTP tail-call table, pinned as PIN_ROOT/PREFIX<ingress
 * program id>. */
#define VEER_HTTP_TABLE_PIN_PREFIX "tc_http_progs_"

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

/*
 * Loads (or reuses, when pinned) the XDP ingress program over the maps a
 * TC load created. 0 or -1 with err.
 */
int veer_load_xdp(const char *pin_root, int *xdp_fd, char *err, size_t errlen);

/* The same, always loading anew and replacing the pin (an upgrade). */
int veer_load_xdp_upgrade(const char *pin_root, int *xdp_fd, char *err,
			  size_t errlen);

/* Loads (or reuses, when pinned) the cgroup socket programs. */
int veer_load_sock(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
		   char *err, size_t errlen);

/* The same, always loading anew and replacing the pins (an upgrade). */
int veer_load_sock_upgrade(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
			   char *err, size_t errlen);

#endif /* VEER_LOADER_H */

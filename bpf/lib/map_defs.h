/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of the data plane. Pinned by name under the pin root, so all
 * entry points (TC, later XDP and cgroup) and every `veer` invocation share
 * one set. Sizes here are defaults; `veer attach` resizes before loading.
 */
#ifndef VEER_BPF_MAP_DEFS_H
#define VEER_BPF_MAP_DEFS_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "veer_abi.h"

/*
 * No preallocation on purpose: a replaced element is then freed only after
 * an RCU grace period, so a packet that looked up the old value keeps
 * reading it intact while `veer` publishes the new one. A preallocated
 * element could be recycled under that reader.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_DEFAULT_MAX_SERVICES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct veer_svc_key);
	__type(value, struct veer_service);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_services SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VEER_DEFAULT_MAX_BACKENDS);
	__type(key, __u32);
	__type(value, struct veer_backend);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_backends SEC(".maps");

/*
 * Indexed by service id; index 0 (VEER_SVC_ID_NONE) stays empty. Never read
 * by the data plane; mmapable so that `veer weight NAME` scans 10,000 names
 * in place instead of copying them out with syscalls.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, VEER_DEFAULT_MAX_SERVICES + 1);
	__type(key, __u32);
	__type(value, struct veer_svc_meta);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_svc_meta SEC(".maps");

/*
 * Conntrack, one table per connection state (see struct veer_ct_entry):
 * established connections, half-open ones, closed ones in their grace
 * period. Separate LRU maps so that a flood of one state can only evict
 * entries of that state.
 */
/* Which services each backend endpoint serves (struct veer_backend_vips). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_DEFAULT_MAX_BACKENDS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct veer_backend);
	__type(value, struct veer_backend_vips);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_be_vips SEC(".maps");

/* One conntrack table: pairs of struct veer_ct_entry by tuple. */
#define VEER_CT_TABLE(name, entries)                                           \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_LRU_HASH);                           \
		__uint(max_entries, entries);                                  \
		__type(key, struct veer_ct_key);                               \
		__type(value, struct veer_ct_entry);                           \
		__uint(pinning, LIBBPF_PIN_BY_NAME);                           \
	} name SEC(".maps")

#define VEER_CT_SIDE_ENTRIES                                                   \
	(VEER_CT_SIDE_FLOWS(VEER_DEFAULT_CT_FLOWS) * VEER_CT_ENTRIES_PER_FLOW)

VEER_CT_TABLE(veer_conntrack, VEER_DEFAULT_CT_ENTRIES);
VEER_CT_TABLE(veer_ct_syn, VEER_CT_SIDE_ENTRIES);
VEER_CT_TABLE(veer_ct_closing, VEER_CT_SIDE_ENTRIES);

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries,
	       (VEER_DEFAULT_MAX_SERVICES + 1) * VEER_STATS_ROWS_PER_SVC);
	__type(key, __u32);
	__type(value, struct veer_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_stats SEC(".maps");

/*
 * Routing rules by (service id, rule-set version, index), read by the TC
 * HTTP path once per connection.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VEER_DEFAULT_MAX_RULES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct veer_rule_key);
	__type(value, struct veer_rule);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_rules SEC(".maps");

/* Requests held for replay until their backend acknowledges them. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VEER_DEFAULT_HTTP_PENDING);
	__type(key, struct veer_ct_key);
	__type(value, struct veer_http_request);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_http_req SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VEER_DEFAULT_MAX_SERVICES + 1);
	__type(key, __u32);
	__type(value, struct veer_http_stats);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_http_stats SEC(".maps");
/*
 * Health signals (struct veer_health), indexed as veer_stats. Shared, not
 * per CPU: updated with atomic adds a few times per connection, and one
 * copy costs (max services + 1) x 9 rows x 480 bytes whatever the CPUs.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries,
	       (VEER_DEFAULT_MAX_SERVICES + 1) * VEER_STATS_ROWS_PER_SVC);
	__type(key, __u32);
	__type(value, struct veer_health);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_health SEC(".maps");
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct veer_runtime);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_runtime SEC(".maps");

/*
 * The HTTP programs, by VEER_TAIL_* slot. Not pinned: each loaded TC
 * object has its own, filled by the loader (empty on kernels that cannot
 * load the HTTP programs).
 */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, VEER_TAIL_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} veer_http_progs SEC(".maps");
#endif /* VEER_BPF_MAP_DEFS_H */

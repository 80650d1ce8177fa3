// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cgroup socket entry points, for processes on the node itself (they never
 * cross a node interface): connect() to a VIP is rewritten to the chosen
 * backend, and getpeername() reports the VIP back, so applications see the
 * address they dialled.
 *
 * Only what `veer attach --cgroup` loads belongs here: the decision's
 * BPF_PROG_TEST_RUN entry is tests/bpf/veer_sock_test.bpf.c (test-only).
 */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "lib/sock.h"

#define SOCK_STREAM_TYPE 1
#define CGROUP_SOCK_ALLOW 1
#define CGROUP_SOCK_REJECT 0

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct veer_sock_origin);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} veer_sock_orig SEC(".maps");

static __always_inline int veer_connect(struct bpf_sock_addr *ctx, __u8 family)
{
	struct veer_sock_req req = {};
	struct veer_sock_origin *origin;

	if (ctx->type != SOCK_STREAM_TYPE)
		return CGROUP_SOCK_ALLOW;
	req.family = family;
	if (family == VEER_AF_INET) {
		req.addr.v4 = ctx->user_ip4;
	} else {
		req.addr.words[0] = ctx->user_ip6[0];
		req.addr.words[1] = ctx->user_ip6[1];
		req.addr.words[2] = ctx->user_ip6[2];
		req.addr.words[3] = ctx->user_ip6[3];
	}
	/* user_port holds the port in network order in its low 16 bits. */
	req.port = (__be16)ctx->user_port;
	req.cookie = bpf_get_socket_cookie(ctx);
	req.netns_cookie = bpf_get_netns_cookie(ctx);
	veer_sock_lb(&req);
	if (req.verdict == VEER_SOCK_PASS)
		return CGROUP_SOCK_ALLOW;
	/* connect() fails with EPERM: better than a SYN to nowhere. */
	if (req.verdict == VEER_SOCK_NO_BACKEND)
		return CGROUP_SOCK_REJECT;

	origin = bpf_sk_storage_get(&veer_sock_orig, ctx->sk, 0,
				    BPF_SK_STORAGE_GET_F_CREATE);
	if (origin) {
		origin->family = family;
		origin->port = (__be16)ctx->user_port;
		origin->svc_id = req.svc_id;
		origin->subset = req.subset;
		if (family == VEER_AF_INET) {
			origin->vip.v4 = ctx->user_ip4;
		} else {
			origin->vip.words[0] = ctx->user_ip6[0];
			origin->vip.words[1] = ctx->user_ip6[1];
			origin->vip.words[2] = ctx->user_ip6[2];
			origin->vip.words[3] = ctx->user_ip6[3];
		}
	}
	if (family == VEER_AF_INET) {
		ctx->user_ip4 = req.addr.v4;
	} else {
		ctx->user_ip6[0] = req.addr.words[0];
		ctx->user_ip6[1] = req.addr.words[1];
		ctx->user_ip6[2] = req.addr.words[2];
		ctx->user_ip6[3] = req.addr.words[3];
	}
	ctx->user_port = req.port;
	return CGROUP_SOCK_ALLOW;
}

static __always_inline int veer_getpeername(struct bpf_sock_addr *ctx,
					    __u8 family)
{
	struct veer_sock_origin *origin;

	origin = bpf_sk_storage_get(&veer_sock_orig, ctx->sk, 0, 0);
	if (!origin || origin->family != family)
		return CGROUP_SOCK_ALLOW;
	if (family == VEER_AF_INET) {
		ctx->user_ip4 = origin->vip.v4;
	} else {
		ctx->user_ip6[0] = origin->vip.words[0];
		ctx->user_ip6[1] = origin->vip.words[1];
		ctx->user_ip6[2] = origin->vip.words[2];
		ctx->user_ip6[3] = origin->vip.words[3];
	}
	ctx->user_port = origin->port;
	return CGROUP_SOCK_ALLOW;
}

SEC("cgroup/connect4")
int veer_connect4(struct bpf_sock_addr *ctx)
{
	return veer_connect(ctx, VEER_AF_INET);
}

SEC("cgroup/connect6")
int veer_connect6(struct bpf_sock_addr *ctx)
{
	return veer_connect(ctx, VEER_AF_INET6);
}

SEC("cgroup/getpeername4")
int veer_getpeername4(struct bpf_sock_addr *ctx)
{
	return veer_getpeername(ctx, VEER_AF_INET);
}

SEC("cgroup/getpeername6")
int veer_getpeername6(struct bpf_sock_addr *ctx)
{
	return veer_getpeername(ctx, VEER_AF_INET6);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";

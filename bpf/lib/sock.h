/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Socket-level load balancing: one decision per connect(), no per-packet
 * work at all. The connection is pinned by construction: the socket is
 * connected to the backend itself.
 */
#ifndef VEER_BPF_SOCK_H
#define VEER_BPF_SOCK_H

#include "choose.h"
#include "consts.h"

/*
 * Looks the dialled address up, chooses as the packet paths do, counts
 * the new connection, and writes the backend into req.
 *
 * An IPv6 socket connecting to ::ffff:VIP reaches the IPv4 service (the
 * kernel runs only the connect6 hook for it, then connects over IPv4):
 * it is balanced as IPv4 and given the backend as ::ffff:backend.
 */
static __always_inline void veer_sock_lb(struct veer_sock_req *req)
{
	const struct veer_backend *backend;
	struct veer_svc_key key = {};
	union veer_addr src = {};
	struct veer_service *svc;
	struct veer_stats *stats;
	__u32 hash, seed = veer_hash_seed();
	bool v4mapped = false;
	__u8 chosen;

	req->verdict = VEER_SOCK_PASS;
	key.vip = req->addr;
	key.port = req->port;
	key.proto = IPPROTO_TCP_NUM;
	key.family = req->family;
	if (req->family == VEER_AF_INET6 && veer_addr_is_v4mapped(&req->addr)) {
		v4mapped = true;
		__builtin_memset(&key.vip, 0, sizeof(key.vip));
		key.vip.v4 = req->addr.words[3];
		key.family = VEER_AF_INET;
	}
	svc = bpf_map_lookup_elem(&veer_services, &key);
	if (!svc)
		return;
	/*
	 * No source port exists yet at connect(): the socket cookie tells
	 * connections apart. Under source-IP affinity every socket of one
	 * network namespace (a pod) hashes alike.
	 */
	src.words[0] = (__u32)req->cookie;
	src.words[1] = (__u32)(req->cookie >> 32);
	if (svc->flags & VEER_SVC_F_HASH_SRC_IP) {
		src.words[0] = (__u32)req->netns_cookie;
		src.words[1] = (__u32)(req->netns_cookie >> 32);
	}
	hash = veer_flow_hash(&src, &key.vip, 0, req->port, svc->flags, seed);
	backend = veer_choose_backend(svc, hash, seed, key.family, &chosen);
	if (!backend) {
		req->verdict = VEER_SOCK_NO_BACKEND;
		return;
	}
	req->svc_id = svc->id;
	req->subset = chosen;
	req->addr = backend->addr;
	if (v4mapped)
		veer_addr_v4mapped(&req->addr, backend->addr.v4);
	req->port = backend->port;
	req->verdict = VEER_SOCK_REWRITTEN;
	stats = veer_stats_row(svc->id, chosen);
	if (stats)
		stats->new_conns++;
	if (svc->rule_count) {
		/* connect() comes before any byte of the request: a service
		 * with HTTP rules takes its default route here, counted. */
		struct veer_http_stats *hs = veer_http_stats_of(svc->id);

		if (hs)
			hs->unseen_default++;
	}
}

#endif /* VEER_BPF_SOCK_H */

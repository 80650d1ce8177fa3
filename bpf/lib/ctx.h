/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The packet context the library is written against. Each entry point
 * defines VEER_CTX_SKB (TC) or VEER_CTX_XDP before including the library;
 * the rest of bpf/lib never names __sk_buff or xdp_md.
 */
#ifndef VEER_BPF_CTX_H
#define VEER_BPF_CTX_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "consts.h"
#include "veer_abi.h"
#include "veer_csum.h"

#if defined(VEER_CTX_SKB)
/* A macro, not a typedef: CO-RE relocates through struct names. */
#define veer_ctx_t struct __sk_buff

static __always_inline void *ctx_data(const veer_ctx_t *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *ctx_data_end(const veer_ctx_t *ctx)
{
	return (void *)(long)ctx->data_end;
}

static __always_inline __u32 ctx_wire_len(const veer_ctx_t *ctx)
{
	return ctx->len;
}

static __always_inline int ctx_store_bytes(veer_ctx_t *ctx, __u32 off,
					   const void *from, __u32 len)
{
	return bpf_skb_store_bytes(ctx, off, from, len, 0);
}

/* The skb helpers know about CHECKSUM_PARTIAL and CHECKSUM_COMPLETE. */
static __always_inline int ctx_l3_csum_replace(veer_ctx_t *ctx, __u32 off,
					       __u32 from, __u32 to, __u32 size)
{
	return bpf_l3_csum_replace(ctx, off, from, to, size);
}

static __always_inline int ctx_l4_csum_replace(veer_ctx_t *ctx, __u32 off,
					       __u32 from, __u32 to,
					       __u64 flags)
{
	return bpf_l4_csum_replace(ctx, off, from, to, flags);
}

#define CTX_ACT_OK TC_ACT_OK
#define CTX_ACT_DROP TC_ACT_SHOT

#elif defined(VEER_CTX_XDP)
#error "the XDP context lands with the XDP entry point"
#else
#error "define VEER_CTX_SKB or VEER_CTX_XDP before including bpf/lib"
#endif

#endif /* VEER_BPF_CTX_H */

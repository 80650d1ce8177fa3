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

/*
 * Makes the first len bytes (at most the packet's) readable through
 * ctx_data(); invalidates packet pointers. For the rare packets whose
 * headers may not be in the linear part (ICMP errors, icmp.h).
 */
static __always_inline void ctx_pull(veer_ctx_t *ctx, __u32 len)
{
	if ((long)ctx->data + len <= (long)ctx->data_end)
		return;
	bpf_skb_pull_data(ctx, len < ctx->len ? len : ctx->len);
}

#define CTX_ACT_OK TC_ACT_OK
#define CTX_ACT_DROP TC_ACT_SHOT

#elif defined(VEER_CTX_XDP)
#define veer_ctx_t struct xdp_md

static __always_inline void *ctx_data(const veer_ctx_t *ctx)
{
	return (void *)(long)ctx->data;
}

static __always_inline void *ctx_data_end(const veer_ctx_t *ctx)
{
	return (void *)(long)ctx->data_end;
}

/*
 * Offsets into the headers the parser accepted: below this bound, which
 * the verifier needs to see before pointer arithmetic.
 */
#define CTX_HDR_OFF_MAX 0xff
_Static_assert(VEER_L4_OFF_MAX + TCP_HDR_MIN_LEN <= CTX_HDR_OFF_MAX + 1,
	       "a TCP header at VEER_L4_OFF_MAX must stay under the mask");

/* Direct packet writes: XDP has no store/csum helpers that know the skb. */
static __always_inline int ctx_store_bytes(veer_ctx_t *ctx, __u32 off,
					   const void *from, __u32 len)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	__u8 *p = data + (off & CTX_HDR_OFF_MAX);

	if ((void *)(p + len) > end)
		return -1;
	if (len == 2)
		__builtin_memcpy(p, from, 2);
	else if (len == 4)
		__builtin_memcpy(p, from, 4);
	else if (len == 16)
		__builtin_memcpy(p, from, 16);
	else
		return -1;
	return 0;
}

static __always_inline __sum16 *ctx_csum_field(veer_ctx_t *ctx, __u32 off)
{
	void *data = ctx_data(ctx), *end = ctx_data_end(ctx);
	__sum16 *p = data + (off & CTX_HDR_OFF_MAX);

	if ((void *)(p + 1) > end)
		return NULL;
	return p;
}

/* Replaces a 2- or 4-byte value (raw, network order) under a checksum. */
static __always_inline int ctx_csum_replace(veer_ctx_t *ctx, __u32 off,
					    __u32 from, __u32 to, __u32 size)
{
	__sum16 *check = ctx_csum_field(ctx, off);
	__u16 old_words[2], new_words[2];

	if (!check)
		return -1;
	if (size == 2) {
		old_words[0] = (__u16)from;
		new_words[0] = (__u16)to;
		veer_csum_replace_words(check, old_words, new_words, 1);
		return 0;
	}
	__builtin_memcpy(old_words, &from, 4);
	__builtin_memcpy(new_words, &to, 4);
	veer_csum_replace_words(check, old_words, new_words, 2);
	return 0;
}

static __always_inline int ctx_l3_csum_replace(veer_ctx_t *ctx, __u32 off,
					       __u32 from, __u32 to, __u32 size)
{
	return ctx_csum_replace(ctx, off, from, to, size);
}

/*
 * As bpf_l4_csum_replace: the low 4 bits of flags give the size; size 0
 * means `to` is a checksum difference. Frames reaching XDP from a wire
 * carry complete checksums, so the pseudo-header flag changes nothing.
 */
static __always_inline int ctx_l4_csum_replace(veer_ctx_t *ctx, __u32 off,
					       __u32 from, __u32 to,
					       __u64 flags)
{
	__u32 size = flags & 0xf;
	__sum16 *check;

	if (size)
		return ctx_csum_replace(ctx, off, from, to, size);
	check = ctx_csum_field(ctx, off);
	if (!check)
		return -1;
	veer_csum_add_diff(check, to);
	return 0;
}

/* What XDP sees is what there is (the first buffer of a multi-buffer
 * frame): nothing to pull. */
static __always_inline void ctx_pull(veer_ctx_t *ctx, __u32 len)
{
	(void)ctx;
	(void)len;
}

#define CTX_ACT_OK XDP_PASS
#define CTX_ACT_DROP XDP_DROP
#else
#error "define VEER_CTX_SKB or VEER_CTX_XDP before including bpf/lib"
#endif

#endif /* VEER_BPF_CTX_H */

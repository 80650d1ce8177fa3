/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Load-time constants, written into .rodata by `veer attach` before the
 * programs are loaded, so the verifier sees them as constants.
 */
#ifndef VEER_BPF_CONFIG_H
#define VEER_BPF_CONFIG_H

#include "veer_abi.h"

/* Seeds the flow hash: placement cannot be predicted from outside. */
const volatile __u32 veer_hash_seed = 0;

/* How long a closed connection keeps being translated before it is freed. */
const volatile __u64 veer_ct_close_grace_ns =
	VEER_DEFAULT_CT_CLOSE_GRACE_MS * 1000000ULL;

#endif /* VEER_BPF_CONFIG_H */

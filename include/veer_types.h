/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fixed-width kernel types for headers shared by BPF programs (which get them
 * from vmlinux.h) and userspace (which gets them from the UAPI headers).
 */
#ifndef VEER_TYPES_H
#define VEER_TYPES_H

#if defined(__bpf__)
#include "vmlinux.h"
#else
#include <linux/types.h>
#include <linux/bpf.h> /* struct bpf_timer */
#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#endif

#endif /* VEER_TYPES_H */

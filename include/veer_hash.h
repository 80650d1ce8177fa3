/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Bob Jenkins' lookup3 (public domain), as in the kernel's jhash.h: fast,
 * well mixed, loop-free for fixed sizes, and identical in BPF and userspace.
 */
#ifndef VEER_HASH_H
#define VEER_HASH_H

#include "veer_types.h"

#define VEER_JHASH_INITVAL 0xdeadbeefU

static __always_inline __u32 veer_rol32(__u32 word, unsigned int shift)
{
	return (word << shift) | (word >> ((-shift) & 31));
}

#define veer_jhash_mix(a, b, c)                                                \
	do {                                                                   \
		a -= c;                                                        \
		a ^= veer_rol32(c, 4);                                         \
		c += b;                                                        \
		b -= a;                                                        \
		b ^= veer_rol32(a, 6);                                         \
		a += c;                                                        \
		c -= b;                                                        \
		c ^= veer_rol32(b, 8);                                         \
		b += a;                                                        \
		a -= c;                                                        \
		a ^= veer_rol32(c, 16);                                        \
		c += b;                                                        \
		b -= a;                                                        \
		b ^= veer_rol32(a, 19);                                        \
		a += c;                                                        \
		c -= b;                                                        \
		c ^= veer_rol32(b, 4);                                         \
		b += a;                                                        \
	} while (0)

#define veer_jhash_final(a, b, c)                                              \
	do {                                                                   \
		c ^= b;                                                        \
		c -= veer_rol32(b, 14);                                        \
		a ^= c;                                                        \
		a -= veer_rol32(c, 11);                                        \
		b ^= a;                                                        \
		b -= veer_rol32(a, 25);                                        \
		c ^= b;                                                        \
		c -= veer_rol32(b, 16);                                        \
		a ^= c;                                                        \
		a -= veer_rol32(c, 4);                                         \
		b ^= a;                                                        \
		b -= veer_rol32(a, 14);                                        \
		c ^= b;                                                        \
		c -= veer_rol32(b, 24);                                        \
	} while (0)

static __always_inline __u32 veer_jhash_3words(__u32 a, __u32 b, __u32 c,
					       __u32 initval)
{
	a += VEER_JHASH_INITVAL;
	b += VEER_JHASH_INITVAL;
	c += initval;
	veer_jhash_final(a, b, c);
	return c;
}

static __always_inline __u32 veer_jhash_2words(__u32 a, __u32 b, __u32 initval)
{
	return veer_jhash_3words(a, b, 0, initval);
}

/* Hash of a fixed 9-word flow description (two addresses and the ports). */
static __always_inline __u32 veer_jhash_9words(const __u32 *k, __u32 initval)
{
	__u32 a, b, c;

	a = b = c = VEER_JHASH_INITVAL + (9 << 2) + initval;
	a += k[0];
	b += k[1];
	c += k[2];
	veer_jhash_mix(a, b, c);
	a += k[3];
	b += k[4];
	c += k[5];
	veer_jhash_mix(a, b, c);
	a += k[6];
	b += k[7];
	c += k[8];
	veer_jhash_final(a, b, c);
	return c;
}

#endif /* VEER_HASH_H */

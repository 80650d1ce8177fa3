/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* What the lab's drop program (veer_drop.bpf.c) and its loader share. */
#ifndef VEER_DROP_H
#define VEER_DROP_H

/* Which TCP segments match (the flags of the segment). */
enum veer_drop_kind {
	VEER_DROP_SYN = 1, /* SYN without ACK */
	VEER_DROP_SYNACK = 2, /* SYN with ACK */
	VEER_DROP_DATA = 3, /* payload, no SYN, no RST */
	VEER_DROP_FIN = 4,
	VEER_DROP_RST = 5,
	VEER_DROP_ANY = 6, /* every TCP segment */
};

struct veer_drop_counters {
	__u64 matched; /* segments that matched kind and port */
	__u64 claims; /* matches counted against skip/count */
	__u64 flows; /* per_flow: flows seen matching */
	__u64 dropped;
};

#endif /* VEER_DROP_H */

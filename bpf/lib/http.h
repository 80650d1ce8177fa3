/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* HTTP routing by delayed binding (TC only). Work in progress. */
#ifndef VEER_BPF_HTTP_H
#define VEER_BPF_HTTP_H

#include "lb.h"

static __always_inline int veer_http_forward(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

static __always_inline int veer_http_reverse(struct __sk_buff *skb)
{
	(void)skb;
	return TC_ACT_OK;
}

#endif /* VEER_BPF_HTTP_H */

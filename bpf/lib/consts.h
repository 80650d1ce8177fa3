/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Protocol constants vmlinux.h does not carry (they are macros, not BTF). */
#ifndef VEER_BPF_CONSTS_H
#define VEER_BPF_CONSTS_H

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IPPROTO_TCP_NUM 6
#define IP_MF 0x2000
#define IP_OFFSET 0x1FFF
#define ETH_HDR_LEN 14
#define IPV4_HDR_MIN_LEN 20
#define IPV4_HDR_MAX_LEN 60
#define IPV6_HDR_LEN 40
#define TCP_HDR_MIN_LEN 20

/* IPv6 extension headers veer steps over to find TCP. */
#define IPV6_NEXTHDR_HOP 0
#define IPV6_NEXTHDR_ROUTING 43
#define IPV6_NEXTHDR_DEST 60
#define IPV6_EXT_MIN_LEN 8
/* At most this many, of at most this many bytes in all: real traffic
 * carries one or two small ones (a router alert, a jumbo option). */
#define IPV6_EXT_MAX_HDRS 4
#define IPV6_EXT_MAX_BYTES 128

/* The furthest a TCP header can start within a packet veer translates. */
#define VEER_L4_OFF_MAX (ETH_HDR_LEN + IPV6_HDR_LEN + IPV6_EXT_MAX_BYTES)
_Static_assert(VEER_L4_OFF_MAX >= ETH_HDR_LEN + IPV4_HDR_MAX_LEN,
	       "VEER_L4_OFF_MAX must cover IPv4 options too");

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

#define CLOCK_MONOTONIC 1

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

#define BPF_F_PSEUDO_HDR_FLAG (1ULL << 4)

#endif /* VEER_BPF_CONSTS_H */

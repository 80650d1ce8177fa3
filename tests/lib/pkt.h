/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Crafted TCP packets for BPF_PROG_TEST_RUN: built with correct checksums,
 * read back with every checksum recomputed from scratch. Shared by the
 * packet tests and the microbenchmark.
 */
#ifndef VEER_TEST_PKT_H
#define VEER_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "veer_abi.h"

/* Room for a VEER_HTTP_REQ_MAX request behind the largest headers. */
#define PKT_MAX 4096
#define ETH_HLEN_ 14
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define TC_OK 0
#define TC_SHOT 2
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

struct flow {
	int family;
	const char *client;
	const char *server; /* VIP for forward packets, backend for replies */
	uint16_t client_port;
	uint16_t server_port;
};

/*
 * IPv6 extension headers that build() puts between the IPv6 and the TCP
 * header, in order, while pkt_ipv6_ext_count is not 0: type (next-header
 * value), length in bytes (a multiple of 8, at least 8) and, for a routing
 * header, segments left. Options are PadN, so the headers are well formed.
 */
struct ipv6_ext {
	uint8_t type;
	uint16_t len;
	uint8_t segments_left;
};
#define IPV6_EXT_TEST_MAX 6
extern struct ipv6_ext pkt_ipv6_ext[IPV6_EXT_TEST_MAX];
extern unsigned int pkt_ipv6_ext_count;

#define TCP_OPTS_MAX 40

struct pkt_view {
	int family;
	union veer_addr saddr, daddr;
	uint16_t sport, dport; /* host order */
	uint8_t flags;
	bool ip_csum_ok;
	bool tcp_csum_ok;
	size_t payload_len;
	size_t ipv6_ext_len; /* bytes of extension headers before TCP */
	/* The rest in host order too. */
	uint8_t eth_dst[6], eth_src[6];
	uint8_t ttl; /* IPv4 TTL, IPv6 hop limit */
	size_t ip_len; /* IPv4 total length, IPv6 payload length field */
	uint32_t seq, ack;
	uint16_t window;
	size_t tcp_hlen; /* the data offset, in bytes */
	size_t opts_len; /* tcp_hlen - TCP_HLEN */
	uint8_t opts[TCP_OPTS_MAX];
	uint8_t payload[PKT_MAX]; /* payload_len bytes */
};

/* What build_tcp() puts in a segment beyond build()'s fields. */
struct tcp_spec {
	const uint8_t *opts; /* opts_len bytes: a multiple of 4, <= 40 */
	size_t opts_len;
	uint16_t window; /* 0: 0xffff, as build() */
	uint8_t ttl; /* TTL / hop limit; 0: 64, as build() */
	const uint8_t *payload; /* payload_len bytes (NULs allowed) */
	size_t payload_len;
};

/* eth + IP (+ pkt_ipv6_ext) + TCP + payload with correct checksums;
 * returns the length, 0 if it would not fit in PKT_MAX. */
size_t build(const struct flow *f, bool reply, uint8_t flags, uint32_t seq,
	     uint32_t ack, const char *payload, uint8_t *buf);

/* The same with TCP options, window, TTL and a binary payload (spec may
 * be NULL); 0 if it would not fit in PKT_MAX or the options are not
 * whole words. */
size_t build_tcp(const struct flow *f, bool reply, uint8_t flags, uint32_t seq,
		 uint32_t ack, const struct tcp_spec *spec, uint8_t *buf);

/*
 * Where buf's transport header starts (IPv4: after the IHL; IPv6: after any
 * hop-by-hop, routing, fragment and destination options headers), with its
 * protocol in *proto; 0 if the headers do not fit in len.
 */
size_t pkt_l4_off(const uint8_t *buf, size_t len, uint8_t *proto);

/* Parses buf (stepping over IPv6 extension headers), verifying the IPv4
 * and TCP checksums. 0 or -1. */
int view(const uint8_t *buf, size_t len, struct pkt_view *v);

/*
 * ICMP and ICMPv6 messages: eth + IP (no extension headers) + an 8-byte
 * ICMP header (type, code, checksum, then `rest`: bytes 4-7 in network
 * order, e.g. the next-hop MTU of "fragmentation needed" in its low 16
 * bits, the MTU of "packet too big") + body, with correct checksums (the
 * ICMPv6 one over its pseudo-header). For an error, body is the quoted
 * packet from its IP header on: pkt_quote() cuts one from build()'s
 * output. Returns the length, 0 if it would not fit in PKT_MAX.
 */
size_t build_icmp(int family, const char *src, const char *dst, uint8_t type,
		  uint8_t code, uint32_t rest, const uint8_t *body,
		  size_t body_len, uint8_t *buf);

/*
 * The IP packet of a frame build() made (its Ethernet header cut off),
 * cut to its first `keep` bytes (0: all of it), as an ICMP error quotes
 * it; written to out (PKT_MAX bytes). Returns its length.
 */
size_t pkt_quote(const uint8_t *frame, size_t len, size_t keep, uint8_t *out);

struct icmp_view {
	int family;
	union veer_addr saddr, daddr; /* outer */
	uint8_t type, code;
	uint32_t rest; /* bytes 4-7, host order */
	bool ip_csum_ok; /* outer IPv4 header (IPv6: true) */
	bool icmp_csum_ok; /* ICMP; ICMPv6 with its pseudo-header */
	/* The quoted packet, when the body holds an IP header of the
	 * outer family, and its ports when 4 bytes of them are there. */
	bool has_inner, has_ports;
	uint8_t inner_proto;
	union veer_addr inner_saddr, inner_daddr;
	uint16_t inner_sport, inner_dport; /* host order */
	bool inner_ip_csum_ok; /* quoted IPv4 header (IPv6: true) */
};

/* Parses an ICMP or ICMPv6 message build_icmp() made, verifying every
 * checksum from scratch. 0, or -1 if it is not one. */
int view_icmp(const uint8_t *buf, size_t len, struct icmp_view *v);

/*
 * One BPF_PROG_TEST_RUN of prog on `in` (repeat times); returns the
 * program's verdict, -1 on error. *out_len gets the output length and,
 * when duration_ns is not NULL, the kernel's average time per run.
 */
int run_repeat(int prog, const uint8_t *in, size_t len, uint8_t *out,
	       size_t *out_len, uint32_t repeat, uint32_t *duration_ns);

static inline int run(int prog, const uint8_t *in, size_t len, uint8_t *out,
		      size_t *out_len)
{
	return run_repeat(prog, in, len, out, out_len, 1, NULL);
}

#endif /* VEER_TEST_PKT_H */

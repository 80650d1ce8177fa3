// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#include "pkt.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

struct ipv6_ext pkt_ipv6_ext[IPV6_EXT_TEST_MAX];
unsigned int pkt_ipv6_ext_count;

/* Writes the configured extension headers at p; returns their length. */
static size_t put_ipv6_ext(uint8_t *p)
{
	size_t off = 0;
	unsigned int i;

	for (i = 0; i < pkt_ipv6_ext_count; i++) {
		const struct ipv6_ext *e = &pkt_ipv6_ext[i];
		uint8_t *h = p + off;

		h[0] = i + 1 < pkt_ipv6_ext_count ? pkt_ipv6_ext[i + 1].type
						  : 6;
		h[1] = (uint8_t)(e->len / 8 - 1);
		if (e->type == 43) { /* routing: type 4 (SRH), segments left */
			h[2] = 4;
			h[3] = e->segments_left;
		} else if (e->type == 44) { /* fragment: offset 0, M set */
			h[3] = 1;
		} else { /* options: one PadN over the rest */
			h[2] = 1;
			h[3] = (uint8_t)(e->len - 4);
		}
		off += e->len;
	}
	return off;
}

static uint32_t sum16(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Ones'-complement sum of the TCP pseudo-header plus segment. */
static uint32_t tcp_sum(int family, const uint8_t *l3, const uint8_t *tcp,
			size_t tcp_len)
{
	uint32_t sum = 0;

	if (family == AF_INET)
		sum = sum16(sum, l3 + 12, 8);
	else
		sum = sum16(sum, l3 + 8, 32);
	sum += 6 + (uint32_t)tcp_len;
	return sum16(sum, tcp, tcp_len);
}

/* Builds eth + IP + TCP + payload with correct checksums; returns length. */
size_t build(const struct flow *f, bool reply, uint8_t flags, uint32_t seq,
	     uint32_t ack, const char *payload, uint8_t *buf)
{
	struct tcp_spec spec = {
		.payload = (const uint8_t *)payload,
		.payload_len = payload ? strlen(payload) : 0,
	};

	return build_tcp(f, reply, flags, seq, ack, &spec, buf);
}

size_t build_tcp(const struct flow *f, bool reply, uint8_t flags, uint32_t seq,
		 uint32_t ack, const struct tcp_spec *spec, uint8_t *buf)
{
	static const struct tcp_spec none;
	const struct tcp_spec *x = spec ? spec : &none;
	size_t plen = x->payload_len, olen = x->opts_len;
	size_t thlen = TCP_HLEN + olen;
	size_t l3len = f->family == AF_INET ? IPV4_HLEN : IPV6_HLEN, ext = 0;
	unsigned int i;
	const char *src = reply ? f->server : f->client;
	const char *dst = reply ? f->client : f->server;
	uint16_t sport = reply ? f->server_port : f->client_port;
	uint16_t dport = reply ? f->client_port : f->server_port;
	uint8_t *l3 = buf + ETH_HLEN_, *tcp;
	uint16_t csum;

	if (f->family == AF_INET6)
		for (i = 0; i < pkt_ipv6_ext_count; i++)
			ext += pkt_ipv6_ext[i].len;
	if (olen > TCP_OPTS_MAX || (olen & 3) ||
	    ETH_HLEN_ + l3len + ext + thlen + plen > PKT_MAX)
		return 0;
	memset(buf, 0, PKT_MAX);
	memcpy(buf, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	if (f->family == AF_INET) {
		buf[12] = 0x08;
		buf[13] = 0x00;
		l3[0] = 0x45;
		l3[2] = (uint8_t)((IPV4_HLEN + thlen + plen) >> 8);
		l3[3] = (uint8_t)(IPV4_HLEN + thlen + plen);
		l3[6] = 0x40; /* DF */
		l3[8] = x->ttl ? x->ttl : 64;
		l3[9] = 6;
		inet_pton(AF_INET, src, l3 + 12);
		inet_pton(AF_INET, dst, l3 + 16);
		csum = (uint16_t)~fold(sum16(0, l3, IPV4_HLEN));
		l3[10] = (uint8_t)(csum >> 8);
		l3[11] = (uint8_t)csum;
	} else {
		buf[12] = 0x86;
		buf[13] = 0xdd;
		l3[0] = 0x60;
		l3[4] = (uint8_t)((ext + thlen + plen) >> 8);
		l3[5] = (uint8_t)(ext + thlen + plen);
		l3[6] = ext ? pkt_ipv6_ext[0].type : 6;
		put_ipv6_ext(l3 + IPV6_HLEN);
		l3len += ext;
		l3[7] = x->ttl ? x->ttl : 64;
		inet_pton(AF_INET6, src, l3 + 8);
		inet_pton(AF_INET6, dst, l3 + 24);
	}
	tcp = l3 + l3len;
	tcp[0] = (uint8_t)(sport >> 8);
	tcp[1] = (uint8_t)sport;
	tcp[2] = (uint8_t)(dport >> 8);
	tcp[3] = (uint8_t)dport;
	tcp[4] = (uint8_t)(seq >> 24);
	tcp[5] = (uint8_t)(seq >> 16);
	tcp[6] = (uint8_t)(seq >> 8);
	tcp[7] = (uint8_t)seq;
	tcp[8] = (uint8_t)(ack >> 24);
	tcp[9] = (uint8_t)(ack >> 16);
	tcp[10] = (uint8_t)(ack >> 8);
	tcp[11] = (uint8_t)ack;
	tcp[12] = (uint8_t)(thlen / 4 << 4);
	tcp[13] = flags;
	tcp[14] = x->window ? (uint8_t)(x->window >> 8) : 0xff;
	tcp[15] = x->window ? (uint8_t)x->window : 0xff;
	if (olen)
		memcpy(tcp + TCP_HLEN, x->opts, olen);
	if (plen)
		memcpy(tcp + thlen, x->payload, plen);
	csum = (uint16_t)~fold(tcp_sum(f->family, l3, tcp, thlen + plen));
	tcp[16] = (uint8_t)(csum >> 8);
	tcp[17] = (uint8_t)csum;
	return ETH_HLEN_ + l3len + thlen + plen;
}

static bool is_ipv6_ext(uint8_t type)
{
	return type == 0 || type == 43 || type == 44 || type == 60;
}

size_t pkt_l4_off(const uint8_t *buf, size_t len, uint8_t *proto)
{
	const uint8_t *l3 = buf + ETH_HLEN_;
	size_t off;

	if (len < ETH_HLEN_ + IPV4_HLEN)
		return 0;
	if (buf[12] == 0x08) {
		*proto = l3[9];
		return ETH_HLEN_ + (size_t)(l3[0] & 0xf) * 4;
	}
	if (len < ETH_HLEN_ + IPV6_HLEN)
		return 0;
	off = ETH_HLEN_ + IPV6_HLEN;
	for (*proto = l3[6]; is_ipv6_ext(*proto);) {
		if (off + 2 > len)
			return 0;
		*proto = buf[off];
		off += ((size_t)buf[off + 1] + 1) * 8;
	}
	return off;
}
int view(const uint8_t *buf, size_t len, struct pkt_view *v)
{
	const uint8_t *l3 = buf + ETH_HLEN_, *tcp;
	size_t l4, l3len, tcp_len;
	uint8_t proto;

	memset(v, 0, sizeof(*v));
	l4 = pkt_l4_off(buf, len, &proto);
	if (!l4 || proto != 6)
		return -1;
	l3len = l4 - ETH_HLEN_;
	if (buf[12] == 0x08) {
		if (l3len < IPV4_HLEN)
			return -1;
		v->family = AF_INET;
		memcpy(&v->saddr.v4, l3 + 12, 4);
		memcpy(&v->daddr.v4, l3 + 16, 4);
		v->ip_csum_ok = fold(sum16(0, l3, l3len)) == 0xffff;
		tcp_len = (size_t)(l3[2] << 8 | l3[3]);
		if (tcp_len < l3len)
			return -1;
		tcp_len -= l3len;
	} else {
		v->family = AF_INET6;
		memcpy(v->saddr.bytes, l3 + 8, 16);
		memcpy(v->daddr.bytes, l3 + 24, 16);
		v->ip_csum_ok = true;
		v->ipv6_ext_len = l3len - IPV6_HLEN;
		tcp_len = (size_t)(l3[4] << 8 | l3[5]);
		if (tcp_len < v->ipv6_ext_len)
			return -1;
		tcp_len -= v->ipv6_ext_len;
	}
	tcp = l3 + l3len;
	if (tcp_len < TCP_HLEN || l4 + tcp_len > len)
		return -1;
	memcpy(v->eth_dst, buf, 6);
	memcpy(v->eth_src, buf + 6, 6);
	v->ttl = v->family == AF_INET ? l3[8] : l3[7];
	v->ip_len = v->family == AF_INET ? (size_t)(l3[2] << 8 | l3[3])
					 : (size_t)(l3[4] << 8 | l3[5]);
	v->sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
	v->dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	v->seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 |
		 (uint32_t)tcp[6] << 8 | tcp[7];
	v->ack = (uint32_t)tcp[8] << 24 | (uint32_t)tcp[9] << 16 |
		 (uint32_t)tcp[10] << 8 | tcp[11];
	v->flags = tcp[13];
	v->window = (uint16_t)(tcp[14] << 8 | tcp[15]);
	v->tcp_hlen = (size_t)(tcp[12] >> 4) * 4;
	if (v->tcp_hlen < TCP_HLEN || v->tcp_hlen > tcp_len)
		return -1;
	v->opts_len = v->tcp_hlen - TCP_HLEN;
	memcpy(v->opts, tcp + TCP_HLEN, v->opts_len);
	v->payload_len = tcp_len - v->tcp_hlen;
	if (v->payload_len > sizeof(v->payload))
		return -1;
	memcpy(v->payload, tcp + v->tcp_hlen, v->payload_len);
	v->tcp_csum_ok = fold(tcp_sum(v->family, l3, tcp, tcp_len)) == 0xffff;
	return 0;
}

size_t pkt_quote(const uint8_t *frame, size_t len, size_t keep, uint8_t *out)
{
	size_t n = len > ETH_HLEN_ ? len - ETH_HLEN_ : 0;

	if (keep && keep < n)
		n = keep;
	memset(out, 0, PKT_MAX);
	memcpy(out, frame + ETH_HLEN_, n);
	return n;
}

size_t build_icmp(int family, const char *src, const char *dst, uint8_t type,
		  uint8_t code, uint32_t rest, const uint8_t *body,
		  size_t body_len, uint8_t *buf)
{
	size_t l3len = family == AF_INET ? IPV4_HLEN : IPV6_HLEN;
	size_t icmp_len = 8 + body_len;
	uint8_t *l3 = buf + ETH_HLEN_, *icmp = l3 + l3len;
	uint32_t sum = 0;
	uint16_t csum;

	if (ETH_HLEN_ + l3len + icmp_len > PKT_MAX)
		return 0;
	memset(buf, 0, PKT_MAX);
	memcpy(buf, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02", 12);
	icmp[0] = type;
	icmp[1] = code;
	icmp[4] = (uint8_t)(rest >> 24);
	icmp[5] = (uint8_t)(rest >> 16);
	icmp[6] = (uint8_t)(rest >> 8);
	icmp[7] = (uint8_t)rest;
	memcpy(icmp + 8, body, body_len);
	if (family == AF_INET) {
		buf[12] = 0x08;
		l3[0] = 0x45;
		l3[1] = 0xc0; /* what Linux sends errors with */
		l3[2] = (uint8_t)((IPV4_HLEN + icmp_len) >> 8);
		l3[3] = (uint8_t)(IPV4_HLEN + icmp_len);
		l3[8] = 64;
		l3[9] = 1;
		inet_pton(AF_INET, src, l3 + 12);
		inet_pton(AF_INET, dst, l3 + 16);
		csum = (uint16_t)~fold(sum16(0, l3, IPV4_HLEN));
		l3[10] = (uint8_t)(csum >> 8);
		l3[11] = (uint8_t)csum;
	} else {
		buf[12] = 0x86;
		buf[13] = 0xdd;
		l3[0] = 0x60;
		l3[4] = (uint8_t)(icmp_len >> 8);
		l3[5] = (uint8_t)icmp_len;
		l3[6] = 58;
		l3[7] = 64;
		inet_pton(AF_INET6, src, l3 + 8);
		inet_pton(AF_INET6, dst, l3 + 24);
		sum = sum16(0, l3 + 8, 32);
		sum += 58 + (uint32_t)icmp_len;
	}
	csum = (uint16_t)~fold(sum16(sum, icmp, icmp_len));
	icmp[2] = (uint8_t)(csum >> 8);
	icmp[3] = (uint8_t)csum;
	return ETH_HLEN_ + l3len + icmp_len;
}

int view_icmp(const uint8_t *buf, size_t len, struct icmp_view *v)
{
	const uint8_t *l3 = buf + ETH_HLEN_, *icmp, *in, *l4;
	size_t l3len, icmp_len, in_len, off;
	uint32_t sum = 0;
	uint8_t proto;

	memset(v, 0, sizeof(*v));
	if (len < ETH_HLEN_ + IPV4_HLEN)
		return -1;
	if (buf[12] == 0x08 && buf[13] == 0x00) {
		l3len = (size_t)(l3[0] & 0xf) * 4;
		if (l3[9] != 1 || l3len < IPV4_HLEN ||
		    (size_t)(l3[2] << 8 | l3[3]) < l3len ||
		    ETH_HLEN_ + (size_t)(l3[2] << 8 | l3[3]) > len)
			return -1;
		v->family = AF_INET;
		memcpy(&v->saddr.v4, l3 + 12, 4);
		memcpy(&v->daddr.v4, l3 + 16, 4);
		v->ip_csum_ok = fold(sum16(0, l3, l3len)) == 0xffff;
		icmp_len = (size_t)(l3[2] << 8 | l3[3]) - l3len;
	} else if (buf[12] == 0x86 && buf[13] == 0xdd) {
		l3len = IPV6_HLEN;
		if (len < ETH_HLEN_ + IPV6_HLEN || l3[6] != 58 ||
		    ETH_HLEN_ + IPV6_HLEN + (size_t)(l3[4] << 8 | l3[5]) > len)
			return -1;
		v->family = AF_INET6;
		memcpy(v->saddr.bytes, l3 + 8, 16);
		memcpy(v->daddr.bytes, l3 + 24, 16);
		v->ip_csum_ok = true;
		icmp_len = (size_t)(l3[4] << 8 | l3[5]);
		sum = sum16(0, l3 + 8, 32);
		sum += 58 + (uint32_t)icmp_len;
	} else {
		return -1;
	}
	if (icmp_len < 8)
		return -1;
	icmp = l3 + l3len;
	v->type = icmp[0];
	v->code = icmp[1];
	v->rest = (uint32_t)icmp[4] << 24 | (uint32_t)icmp[5] << 16 |
		  (uint32_t)icmp[6] << 8 | icmp[7];
	v->icmp_csum_ok = fold(sum16(sum, icmp, icmp_len)) == 0xffff;

	in = icmp + 8;
	in_len = icmp_len - 8;
	if (v->family == AF_INET) {
		if (in_len < IPV4_HLEN || in[0] >> 4 != 4 ||
		    (size_t)(in[0] & 0xf) * 4 > in_len)
			return 0;
		off = (size_t)(in[0] & 0xf) * 4;
		proto = in[9];
		memcpy(&v->inner_saddr.v4, in + 12, 4);
		memcpy(&v->inner_daddr.v4, in + 16, 4);
		v->inner_ip_csum_ok = fold(sum16(0, in, off)) == 0xffff;
	} else {
		if (in_len < IPV6_HLEN || in[0] >> 4 != 6)
			return 0;
		memcpy(v->inner_saddr.bytes, in + 8, 16);
		memcpy(v->inner_daddr.bytes, in + 24, 16);
		v->inner_ip_csum_ok = true;
		off = IPV6_HLEN;
		for (proto = in[6]; is_ipv6_ext(proto);) {
			if (off + 2 > in_len)
				return 0;
			proto = in[off];
			off += ((size_t)in[off + 1] + 1) * 8;
		}
	}
	v->has_inner = true;
	v->inner_proto = proto;
	if (off + 4 > in_len)
		return 0;
	l4 = in + off;
	v->has_ports = true;
	v->inner_sport = (uint16_t)(l4[0] << 8 | l4[1]);
	v->inner_dport = (uint16_t)(l4[2] << 8 | l4[3]);
	return 0;
}

int run_repeat(int prog, const uint8_t *in, size_t len, uint8_t *out,
	       size_t *out_len, uint32_t repeat, uint32_t *duration_ns)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out,
		    .data_size_out = PKT_MAX, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog, &opts)) {
		fprintf(stderr, "test run failed: %s\n", strerror(errno));
		return -1;
	}
	*out_len = opts.data_size_out;
	if (duration_ns)
		*duration_ns = opts.duration;
	return (int)opts.retval;
}

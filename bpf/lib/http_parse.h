/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * An HTTP/1.x request head read from a held copy of the client's first
 * segment, and the service's rules matched against it (Istio semantics:
 * rules in order, first match wins; a rule's match blocks are ORed, a
 * block's conditions ANDed; header names case-insensitive, values and
 * URIs case-sensitive; a condition on an absent header fails).
 *
 * One pass over the bytes (bpf_loop, one callback per byte) records the
 * request-target and each header line's name hash and value; conditions
 * then compare against that table, never scanning the bytes again.
 */
#ifndef VEER_BPF_HTTP_PARSE_H
#define VEER_BPF_HTTP_PARSE_H

#include "map_defs.h"

/* Header lines recorded per request; later ones cannot match. */
#define VEER_HTTP_MAX_HEADERS 64
#define VEER_HTTP_DATA_MASK (VEER_HTTP_REQ_MAX - 1)
/* "HTTP/1.x" */
#define VEER_HTTP_VERSION_LEN 8

#define VEER_HTTP_NO_PATH 0xffff /* path_len before the target ends */

/* What the parse found. */
#define VEER_HTTP_PARSING 0
#define VEER_HTTP_COMPLETE 1 /* request line and every header line */
#define VEER_HTTP_INCOMPLETE 2 /* ran out of bytes first */
#define VEER_HTTP_NOT_HTTP 3

struct veer_http_header {
	__u32 name_hash; /* FNV-1a of the lower-cased name */
	__u16 name_off;
	__u16 name_len;
	__u16 value_off;
	__u16 value_len;
};

/* Per-CPU: the request copy and what the parser made of it. */
struct veer_http_scratch {
	struct veer_http_request req;
	struct veer_http_header headers[VEER_HTTP_MAX_HEADERS];
	__u32 header_count;
	__u16 uri_off;
	__u16 uri_len;
	/* The path: the request-target up to its query string. */
	__u16 path_len;
	__u16 reserved;
	/* TCP options of the packet being rewritten (40 at most). */
	__u8 opts[64];
	__u8 new_opts[64];
	/* Room the 512-byte stack has not: an entry and a key in the
	 * making. */
	struct veer_ct_entry entry;
	struct veer_ct_key key;
	struct veer_ct_key fwd_key; /* the packet's own */
	struct veer_svc_key svc_key;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct veer_http_scratch);
} veer_http_tmp SEC(".maps");

static __always_inline struct veer_http_scratch *veer_http_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&veer_http_tmp, &zero);
}

#define VEER_FNV_OFFSET 2166136261U
#define VEER_FNV_PRIME 16777619U

static __always_inline __u8 veer_ascii_lower(__u8 c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static __always_inline __u32 veer_fnv_step(__u32 hash, __u8 c)
{
	return (hash ^ veer_ascii_lower(c)) * VEER_FNV_PRIME;
}

/* RFC 9110 5.6.2 tchar: what a header name may hold. */
static __always_inline int veer_http_is_tchar(__u8 c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	switch (c) {
	case '!':
	case '#':
	case '$':
	case '%':
	case '&':
	case '\'':
	case '*':
	case '+':
	case '-':
	case '.':
	case '^':
	case '_':
	case '`':
	case '|':
	case '~':
		return 1;
	}
	return 0;
}

/* Parser states, one per byte. */
enum {
	VEER_HP_METHOD,
	VEER_HP_URI,
	VEER_HP_VERSION,
	VEER_HP_REQ_LF,
	VEER_HP_LINE_START,
	VEER_HP_NAME,
	VEER_HP_VALUE_LEAD,
	VEER_HP_VALUE,
	VEER_HP_LINE_LF,
	VEER_HP_END_LF,
};

struct veer_http_parse_ctx {
	__u32 len;
	__u32 state;
	__u32 tok; /* where the current token started */
	__u32 hash;
	__u32 name_len;
	__u32 value_off;
	__u32 value_end; /* one past the last byte that is not OWS */
	__u32 result;
};

static __always_inline int veer_http_version_ok(const __u8 *data, __u32 off)
{
	return data[off & VEER_HTTP_DATA_MASK] == 'H' &&
	       data[(off + 1) & VEER_HTTP_DATA_MASK] == 'T' &&
	       data[(off + 2) & VEER_HTTP_DATA_MASK] == 'T' &&
	       data[(off + 3) & VEER_HTTP_DATA_MASK] == 'P' &&
	       data[(off + 4) & VEER_HTTP_DATA_MASK] == '/' &&
	       data[(off + 5) & VEER_HTTP_DATA_MASK] == '1' &&
	       data[(off + 6) & VEER_HTTP_DATA_MASK] == '.' &&
	       data[(off + 7) & VEER_HTTP_DATA_MASK] >= '0' &&
	       data[(off + 7) & VEER_HTTP_DATA_MASK] <= '9';
}

static __always_inline long veer_http_stop(struct veer_http_parse_ctx *p,
					   __u32 result)
{
	p->result = result;
	return 1;
}

/* One byte of the request head. Returns 1 to stop the loop. */
static long veer_http_parse_byte(__u32 i, void *arg)
{
	struct veer_http_parse_ctx *p = arg;
	struct veer_http_scratch *s = veer_http_scratch();
	struct veer_http_header *h;
	__u32 n;
	__u8 c;

	if (!s || i >= p->len)
		return veer_http_stop(p, VEER_HTTP_INCOMPLETE);
	c = s->req.data[i & VEER_HTTP_DATA_MASK];
	switch (p->state) {
	case VEER_HP_METHOD:
		if (c >= 'A' && c <= 'Z')
			return 0;
		if (c != ' ' || i == 0)
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		p->tok = i + 1;
		p->state = VEER_HP_URI;
		return 0;
	case VEER_HP_URI:
		/* Kept in the map value, not in p: the verifier tracks no
		 * map contents, so the callback's states stay few. */
		if (c == '?' && s->path_len == VEER_HTTP_NO_PATH)
			s->path_len = (__u16)(i - p->tok);
		if (c == ' ') {
			if (i == p->tok)
				return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
			s->uri_off = (__u16)p->tok;
			s->uri_len = (__u16)(i - p->tok);
			if (s->path_len == VEER_HTTP_NO_PATH)
				s->path_len = s->uri_len;
			p->tok = i + 1;
			p->state = VEER_HP_VERSION;
			return 0;
		}
		if (c <= ' ' || c >= 0x7f)
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		return 0;
	case VEER_HP_VERSION:
		if (c != '\r') {
			if (i - p->tok >= VEER_HTTP_VERSION_LEN)
				return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
			return 0;
		}
		if (i - p->tok != VEER_HTTP_VERSION_LEN ||
		    !veer_http_version_ok(s->req.data, p->tok))
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		p->state = VEER_HP_REQ_LF;
		return 0;
	case VEER_HP_REQ_LF:
	case VEER_HP_LINE_LF:
		if (c != '\n')
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		p->state = VEER_HP_LINE_START;
		return 0;
	case VEER_HP_LINE_START:
		if (c == '\r') {
			p->state = VEER_HP_END_LF;
			return 0;
		}
		/* Obsolete line folding (a leading space) is refused too. */
		if (!veer_http_is_tchar(c))
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		p->tok = i;
		p->hash = veer_fnv_step(VEER_FNV_OFFSET, c);
		p->state = VEER_HP_NAME;
		return 0;
	case VEER_HP_NAME:
		if (c == ':') {
			p->name_len = i - p->tok;
			p->state = VEER_HP_VALUE_LEAD;
			return 0;
		}
		if (!veer_http_is_tchar(c))
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		p->hash = veer_fnv_step(p->hash, c);
		return 0;
	case VEER_HP_VALUE_LEAD:
		if (c == ' ' || c == '\t')
			return 0;
		p->value_off = i;
		p->value_end = i; /* an empty value ends where it starts */
		if (c != '\r') {
			p->value_end = i + 1;
			p->state = VEER_HP_VALUE;
			return 0;
		}
		break; /* record the empty value below */
	case VEER_HP_VALUE:
		if (c != '\r') {
			if (c != ' ' && c != '\t')
				p->value_end = i + 1;
			return 0;
		}
		break;
	case VEER_HP_END_LF:
		if (c != '\n')
			return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
		return veer_http_stop(p, VEER_HTTP_COMPLETE);
	default:
		return veer_http_stop(p, VEER_HTTP_NOT_HTTP);
	}
	/* A header line ended (at its CR): record it. */
	n = s->header_count;
	if (n < VEER_HTTP_MAX_HEADERS) {
		h = &s->headers[n & (VEER_HTTP_MAX_HEADERS - 1)];
		h->name_hash = p->hash;
		h->name_off = (__u16)p->tok;
		h->name_len = (__u16)p->name_len;
		h->value_off = (__u16)p->value_off;
		h->value_len = (__u16)(p->value_end - p->value_off);
		s->header_count = n + 1;
	}
	p->state = VEER_HP_LINE_LF;
	return 0;
}

/*
 * Parses s->req (len bytes). Returns VEER_HTTP_COMPLETE,
 * VEER_HTTP_INCOMPLETE or VEER_HTTP_NOT_HTTP.
 */
static __noinline __u32 veer_http_parse(struct veer_http_scratch *s)
{
	struct veer_http_parse_ctx p = {};

	if (!s)
		return VEER_HTTP_NOT_HTTP;
	s->header_count = 0;
	s->uri_off = s->uri_len = 0;
	s->path_len = VEER_HTTP_NO_PATH;
	p.len = s->req.len;
	if (p.len > VEER_HTTP_REQ_MAX)
		p.len = VEER_HTTP_REQ_MAX;
	p.result = VEER_HTTP_PARSING;
	/* One more than the bytes: the call past the end says INCOMPLETE. */
	if (bpf_loop(VEER_HTTP_REQ_MAX + 1, veer_http_parse_byte, &p, 0) < 0)
		return VEER_HTTP_NOT_HTTP;
	return p.result == VEER_HTTP_PARSING ? VEER_HTTP_INCOMPLETE : p.result;
}

/* data[off..off+len) against a condition value: exact or prefix. */
static __always_inline int
veer_http_value_match(const struct veer_http_scratch *s, __u32 off, __u32 len,
		      const struct veer_condition *c)
{
	__u32 vlen = c->value_len, j;

	if (vlen >= VEER_MATCH_VALUE_MAX)
		return 0;
	if (c->op == VEER_COND_EXACT ? len != vlen : len < vlen)
		return 0;
	for (j = 0; j < VEER_MATCH_VALUE_MAX - 1; j++) {
		if (j >= vlen)
			break;
		if (s->req.data[(off + j) & VEER_HTTP_DATA_MASK] !=
		    (__u8)c->value[j])
			return 0;
	}
	return 1;
}

/* Whether data[off..off+len) is the condition's (lower-case) name. */
static __noinline int veer_http_name_eq(const struct veer_http_scratch *s,
					__u32 off,
					const struct veer_condition *c)
{
	__u32 j, nlen = c->name_len;

	for (j = 0; j < VEER_MATCH_NAME_MAX - 1; j++) {
		if (j >= nlen)
			return 1;
		if (veer_ascii_lower(
			    s->req.data[(off + j) & VEER_HTTP_DATA_MASK]) !=
		    (__u8)c->name[j])
			return 0;
	}
	return 1;
}

static __always_inline __u32 veer_http_name_hash(const struct veer_condition *c)
{
	__u32 hash = VEER_FNV_OFFSET, j;

	for (j = 0; j < VEER_MATCH_NAME_MAX - 1; j++) {
		if (j >= c->name_len)
			break;
		hash = veer_fnv_step(hash, (__u8)c->name[j]);
	}
	return hash;
}

/*
 * Whether the parsed request holds the condition. A global function: the
 * verifier checks it once, not at each of the rules' call sites. The
 * first header of the condition's name is the one compared.
 */
__noinline int veer_http_condition(const struct veer_http_scratch *s,
				   const struct veer_condition *c)
{
	const struct veer_http_header *h;
	__u32 i, n, nlen, hash;

	if (!s || !c)
		return 0;
	/* As Envoy: an exact uri is the path without its query string, a
	 * prefix is matched against the whole request-target. */
	if (c->field == VEER_COND_URI)
		return veer_http_value_match(
			s, s->uri_off,
			c->op == VEER_COND_EXACT ? s->path_len : s->uri_len, c);
	nlen = c->name_len;
	if (c->field != VEER_COND_HEADER || nlen == 0 ||
	    nlen >= VEER_MATCH_NAME_MAX)
		return 0;
	hash = veer_http_name_hash(c);
	n = s->header_count;
	for (i = 0; i < VEER_HTTP_MAX_HEADERS; i++) {
		if (i >= n)
			return 0;
		h = &s->headers[i];
		if (h->name_hash == hash && h->name_len == nlen &&
		    veer_http_name_eq(s, h->name_off, c))
			return veer_http_value_match(s, h->value_off,
						     h->value_len, c);
	}
	return 0;
}

struct veer_http_match_ctx {
	__u32 svc_id;
	__u32 version;
	__u32 count;
	__u32 matched; /* rule index, or VEER_RULE_DEFAULT */
};

static long veer_http_match_rule(__u32 i, void *arg)
{
	struct veer_http_match_ctx *m = arg;
	struct veer_rule_key key = {m->svc_id, m->version, i};
	const struct veer_http_scratch *s = veer_http_scratch();
	const struct veer_rule *rule;
	__u32 b, c, all;

	if (i >= m->count || !s)
		return 1;
	rule = bpf_map_lookup_elem(&veer_rules, &key);
	if (!rule)
		return 1; /* a rule set being replaced: default route */
	for (b = 0; b < VEER_MAX_MATCHES; b++) {
		if (b >= rule->match_count)
			break;
		all = 1;
		for (c = 0; c < VEER_MAX_CONDITIONS; c++) {
			if (c >= rule->matches[b].condition_count)
				break;
			if (!veer_http_condition(
				    s, &rule->matches[b].conditions[c])) {
				all = 0;
				break;
			}
		}
		if (all) {
			m->matched = i;
			return 1;
		}
	}
	return 0;
}

/* The first rule of the service the parsed request matches, or
 * VEER_RULE_DEFAULT. */
static __always_inline __u32 veer_http_match(const struct veer_service *svc)
{
	struct veer_http_match_ctx m = {
		.svc_id = svc->id,
		.version = svc->rules_version,
		.count = svc->rule_count,
		.matched = VEER_RULE_DEFAULT,
	};

	if (m.count > VEER_MAX_RULES)
		m.count = VEER_MAX_RULES;
	if (bpf_loop(VEER_MAX_RULES, veer_http_match_rule, &m, 0) < 0)
		return VEER_RULE_DEFAULT;
	return m.matched;
}

#endif /* VEER_BPF_HTTP_PARSE_H */

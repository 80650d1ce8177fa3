// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer native YAML -> model.
 *
 * The file is read with libyaml's event API and checked against the schema
 * as the events arrive, instead of building a document tree first: every
 * node is either consumed into the model or rejected on the spot, so memory
 * is bounded by the model, aliases can be refused before they are expanded
 * (no "billion laughs"), and nesting is bounded without recursion in
 * libyaml. The input is untrusted until veer_model_validate has passed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>
#include "addr.h"
#include "config.h"
#include "istio.h"
#include "diag.h"
#include "yaml_tree.h"

/* Deeper nesting than the schema needs (6) is refused long before this. */
#define CONFIG_MAX_DEPTH 32
/* Offending values quoted in errors are cut to this many bytes. */
#define QUOTE_VALUE_MAX 40
/* Room for a quoted value: every byte may become "\xNN", plus "...". */
#define QUOTE_BUF_MAX (QUOTE_VALUE_MAX * 4 + 8)
/* "service NAME: subset NAME: ", names raw or quoted. */
#define CONTEXT_MAX (2 * QUOTE_BUF_MAX + VEER_NAME_MAX + VEER_SUBSET_NAME_MAX)
/* Longest integer text accepted: 4294967295 has 10 digits. */
#define UINT_DIGITS_MAX 10
/* First read size for files whose size stat cannot tell (pipes). */
#define READ_CHUNK 65536
#define PORT_MAX 65535
#define UTF8_BOM "\xef\xbb\xbf"
/* How libyaml spells "!!" once resolved. */
#define VEER_YAML_STD_TAG_PREFIX "tag:yaml.org,2002:"

struct cfg {
	yaml_parser_t parser;
	yaml_event_t event; /* the current event, valid when have_event */
	bool have_event;
	unsigned int depth;
	const char *name; /* file name for messages */
	const char *buf; /* what libyaml reads: the input past any BOM */
	size_t len;
	size_t bom_len; /* bytes skipped, for byte offsets in messages */
	char *err;
	size_t errlen;
	/* Mixed files: documents that are Kubernetes objects, by index. */
	const bool *skip_doc;
	size_t skip_count;
};

__attribute__((format(printf, 3, 4))) static int
cfg_fail_at(struct cfg *c, const yaml_mark_t *mark, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	if (!c->err || c->errlen == 0)
		return -1;
	if (mark)
		snprintf(c->err, c->errlen, "%s:%zu:%zu: ", c->name,
			 mark->line + 1, mark->column + 1);
	else
		snprintf(c->err, c->errlen, "%s: ", c->name);
	used = strlen(c->err);
	if (used < c->errlen - 1) {
		va_start(ap, fmt);
		vsnprintf(c->err + used, c->errlen - used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Escapes a YAML value for a one-line message, cut to QUOTE_VALUE_MAX. */
static const char *quote(const char *value, size_t length, char *buf,
			 size_t len)
{
	return veer_quote(value, length, QUOTE_VALUE_MAX, buf, len);
}

static bool is_scalar(const struct cfg *c)
{
	return c->event.type == YAML_SCALAR_EVENT;
}

static bool scalar_is(const struct cfg *c, const char *text)
{
	size_t n = strlen(text);

	return c->event.data.scalar.length == n &&
	       !memcmp(c->event.data.scalar.value, text, n);
}

static bool is_plain(const struct cfg *c)
{
	return c->event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* YAML core schema nulls; only unquoted ones are null. */
static bool is_null(const struct cfg *c)
{
	return is_scalar(c) && is_plain(c) &&
	       (scalar_is(c, "") || scalar_is(c, "~") || scalar_is(c, "null") ||
		scalar_is(c, "Null") || scalar_is(c, "NULL"));
}

/* What the current node is, for "expected X, got Y" messages. */
static const char *describe(const struct cfg *c, char *buf, size_t len)
{
	char q[QUOTE_BUF_MAX];

	switch (c->event.type) {
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SCALAR_EVENT:
		if (is_null(c))
			return "null";
		quote((const char *)c->event.data.scalar.value,
		      c->event.data.scalar.length, q, sizeof(q));
		snprintf(buf, len, is_plain(c) ? "\"%s\"" : "string \"%s\"", q);
		return buf;
	default:
		return "something else";
	}
}

/* libyaml's error, with the hints yaml_tree.c adds (tabs, UTF-8). */
static int yaml_error(struct cfg *c)
{
	return veer_yaml_parser_error(&c->parser, c->name, c->buf, c->len,
				      c->bom_len, c->err, c->errlen);
}

/*
 * Advances to the next event and refuses the YAML features veer does not
 * want: aliases (expansion bombs, and action at a distance in a config),
 * anchors (only useful with aliases) and explicit tags (types come from the
 * schema, not the file).
 */
static int next(struct cfg *c)
{
	const yaml_event_t *ev = &c->event;
	const yaml_char_t *anchor = NULL, *tag = NULL;
	char q[QUOTE_BUF_MAX];

	if (c->have_event)
		yaml_event_delete(&c->event);
	c->have_event = false;
	if (!yaml_parser_parse(&c->parser, &c->event))
		return yaml_error(c);
	c->have_event = true;

	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		anchor = ev->data.alias.anchor;
		return cfg_fail_at(c, &ev->start_mark,
				   "alias *%s: aliases are not supported",
				   quote((const char *)anchor,
					 strlen((const char *)anchor), q,
					 sizeof(q)));
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		c->depth--;
		break;
	default:
		break;
	}
	if (anchor)
		return cfg_fail_at(c, &ev->start_mark,
				   "anchor &%s: anchors and aliases are not "
				   "supported",
				   quote((const char *)anchor,
					 strlen((const char *)anchor), q,
					 sizeof(q)));
	if (tag) {
		const char *t = (const char *)tag;
		size_t skip = strlen(VEER_YAML_STD_TAG_PREFIX);
		bool std = !strncmp(t, VEER_YAML_STD_TAG_PREFIX, skip);

		/* Tags are URIs with %-escapes decoded: quote them. */
		if (std)
			t += skip;
		return cfg_fail_at(c, &ev->start_mark,
				   "tag %s%s: explicit tags are not supported",
				   std ? "!!" : "",
				   quote(t, strlen(t), q, sizeof(q)));
	}
	if (ev->type == YAML_SEQUENCE_START_EVENT ||
	    ev->type == YAML_MAPPING_START_EVENT) {
		if (++c->depth > CONFIG_MAX_DEPTH)
			return cfg_fail_at(c, &ev->start_mark,
					   "nested deeper than %u levels",
					   CONFIG_MAX_DEPTH);
	}
	return 0;
}

/* Consumes the current node whatever it is (used past a limit). */
static int skip_node(struct cfg *c)
{
	unsigned int level;

	if (is_scalar(c))
		return 0;
	for (level = 1; level > 0;) {
		if (next(c) < 0)
			return -1;
		if (c->event.type == YAML_SEQUENCE_START_EVENT ||
		    c->event.type == YAML_MAPPING_START_EVENT)
			level++;
		else if (c->event.type == YAML_SEQUENCE_END_EVENT ||
			 c->event.type == YAML_MAPPING_END_EVENT)
			level--;
	}
	return 0;
}

/* A non-null scalar without NUL bytes, pointing into the current event. */
static int get_text(struct cfg *c, const char *field, const char **text,
		    size_t *length)
{
	char d[QUOTE_BUF_MAX + 16];

	*text = NULL;
	*length = 0;
	if (!is_scalar(c) || is_null(c))
		return cfg_fail_at(c, &c->event.start_mark,
				   "%s must be a string, got %s", field,
				   describe(c, d, sizeof(d)));
	*text = (const char *)c->event.data.scalar.value;
	*length = c->event.data.scalar.length;
	if (memchr(*text, '\0', *length))
		return cfg_fail_at(c, &c->event.start_mark,
				   "%s must not contain NUL characters", field);
	return 0;
}

static int get_string(struct cfg *c, const char *field, char *dst,
		      size_t dstsize)
{
	const char *text;
	size_t length;

	if (get_text(c, field, &text, &length) < 0)
		return -1;
	if (length == 0)
		return cfg_fail_at(c, &c->event.start_mark,
				   "%s must not be empty", field);
	if (length >= dstsize)
		return cfg_fail_at(c, &c->event.start_mark,
				   "%s is %zu bytes long, at most %zu", field,
				   length, dstsize - 1);
	memcpy(dst, text, length);
	dst[length] = '\0';
	return 0;
}

/*
 * Decimal only, unquoted, no sign, no leading zero: YAML 1.1 readers take
 * "010" as octal and "0x10" as hex, and a weight must mean the same to every
 * tool that reads the file.
 */
static int get_uint(struct cfg *c, const char *field, unsigned int min,
		    unsigned int max, unsigned int *out)
{
	unsigned long long value = 0;
	char d[QUOTE_BUF_MAX + 16];
	const char *text;
	size_t length, i;
	bool ok = false;

	if (is_scalar(c) && is_plain(c)) {
		text = (const char *)c->event.data.scalar.value;
		length = c->event.data.scalar.length;
		ok = length > 0 && length <= UINT_DIGITS_MAX &&
		     !(length > 1 && text[0] == '0');
		for (i = 0; ok && i < length; i++) {
			ok = text[i] >= '0' && text[i] <= '9';
			value = value * 10 +
				(unsigned long long)(text[i] - '0');
		}
	}
	if (!ok || value < min || value > max)
		return cfg_fail_at(c, &c->event.start_mark,
				   "%s must be an integer %u..%u, got %s",
				   field, min, max, describe(c, d, sizeof(d)));
	*out = (unsigned int)value;
	return 0;
}

/* YAML 1.2 core booleans only; yes/no/on/off mean different things to
 * different YAML versions.
 */
static int get_bool(struct cfg *c, const char *field, bool *out)
{
	char d[QUOTE_BUF_MAX + 16];

	if (is_scalar(c) && is_plain(c)) {
		if (scalar_is(c, "true") || scalar_is(c, "True") ||
		    scalar_is(c, "TRUE")) {
			*out = true;
			return 0;
		}
		if (scalar_is(c, "false") || scalar_is(c, "False") ||
		    scalar_is(c, "FALSE")) {
			*out = false;
			return 0;
		}
	}
	return cfg_fail_at(c, &c->event.start_mark,
			   "%s must be true or false, got %s", field,
			   describe(c, d, sizeof(d)));
}

/*
 * Mapping iteration with the schema's field list: returns the index of the
 * next field with the parser on its value, -2 at the end of the mapping,
 * -1 on error. Unknown and repeated keys are errors (a repeated key
 * silently overriding the first is how typos hide).
 */
static int next_field(struct cfg *c, const char *const *fields,
		      unsigned int nfields, const char *where,
		      unsigned int *seen)
{
	char q[QUOTE_BUF_MAX], d[QUOTE_BUF_MAX + 16];
	unsigned int i;

	if (next(c) < 0)
		return -1;
	if (c->event.type == YAML_MAPPING_END_EVENT)
		return -2;
	if (!is_scalar(c))
		return cfg_fail_at(c, &c->event.start_mark,
				   "keys %s must be strings, got %s", where,
				   describe(c, d, sizeof(d)));
	for (i = 0; i < nfields; i++)
		if (scalar_is(c, fields[i]))
			break;
	quote((const char *)c->event.data.scalar.value,
	      c->event.data.scalar.length, q, sizeof(q));
	if (i == nfields)
		return cfg_fail_at(c, &c->event.start_mark,
				   "unknown field \"%s\" %s", q, where);
	if (*seen & (1U << i))
		return cfg_fail_at(c, &c->event.start_mark,
				   "field \"%s\" given twice %s", q, where);
	*seen |= 1U << i;
	if (next(c) < 0)
		return -1;
	return (int)i;
}

static int expect_list(struct cfg *c, const char *what)
{
	char d[QUOTE_BUF_MAX + 16];

	if (c->event.type == YAML_SEQUENCE_START_EVENT)
		return 0;
	return cfg_fail_at(c, &c->event.start_mark, "%s must be a list, got %s",
			   what, describe(c, d, sizeof(d)));
}

static int expect_mapping(struct cfg *c, const char *what)
{
	char d[QUOTE_BUF_MAX + 16];

	if (c->event.type == YAML_MAPPING_START_EVENT)
		return 0;
	return cfg_fail_at(c, &c->event.start_mark,
			   "%s must be a mapping, got %s", what,
			   describe(c, d, sizeof(d)));
}

static void set_loc(struct cfg *c, struct veer_src_loc *loc,
		    const yaml_mark_t *mark)
{
	snprintf(loc->file, sizeof(loc->file), "%s", c->name);
	loc->line = (unsigned int)mark->line + 1;
	loc->column = (unsigned int)mark->column + 1;
}

/* A name as it goes in a message: as is, unless it would break the line. */
static const char *msg_name(const char *name, char *buf, size_t len)
{
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
			return quote(name, strlen(name), buf, len);
	return name;
}

/* "service NAME: subset NAME: " for the names known so far. */
static void context(const struct veer_service_model *svc,
		    const struct veer_subset_model *sub, char *buf, size_t len)
{
	char q[QUOTE_BUF_MAX];
	int n = 0;

	buf[0] = '\0';
	if (svc && svc->name[0])
		n = snprintf(buf, len,
			     "service %s: ", msg_name(svc->name, q, sizeof(q)));
	if (sub && sub->name[0] && n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 "subset %s: ", msg_name(sub->name, q, sizeof(q)));
}

/* Why an endpoint failed to parse, for a message that says what to fix. */
static const char *endpoint_problem(const char *text)
{
	const char *colon = strrchr(text, ':'), *close;
	union veer_addr addr;
	uint16_t port;
	uint8_t fam;

	if (text[0] == '[') {
		char host[INET6_ADDRSTRLEN];
		size_t n;

		close = strchr(text, ']');
		if (!close)
			return "missing ']'";
		n = (size_t)(close - text - 1);
		if (n >= sizeof(host))
			return "not an IPv6 address in brackets";
		memcpy(host, text + 1, n);
		host[n] = '\0';
		if (veer_addr_parse(host, &addr, &fam) < 0)
			return "not an IPv6 address in brackets";
		if (fam == VEER_AF_INET)
			return "brackets are only for IPv6 addresses";
		if (close[1] != ':')
			return "missing \":port\" after ']'";
		return "port must be an integer 1..65535";
	}
	if (!colon)
		return "missing \":port\"";
	if (strchr(text, ':') != colon)
		return "IPv6 addresses need brackets: \"[addr]:port\"";
	if (veer_port_parse(colon + 1, &port) < 0)
		return "port must be an integer 1..65535";
	return "not an IPv4 address";
}

static int parse_backends(struct cfg *c, struct veer_service_model *svc,
			  struct veer_subset_model *sub)
{
	char q[QUOTE_BUF_MAX], ctx[CONTEXT_MAX];
	yaml_mark_t list_mark = c->event.start_mark;
	unsigned int total = 0;

	if (is_null(c))
		return 0;
	if (expect_list(c, "backends") < 0)
		return -1;
	for (;;) {
		struct veer_backend be = {0};
		const char *text;
		size_t length;
		char ep[VEER_ENDPOINT_STRLEN];

		if (next(c) < 0)
			return -1;
		if (c->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (++total > VEER_MAX_BACKENDS_PER_SUBSET) {
			/* Keep counting for an error that says how many. */
			if (skip_node(c) < 0)
				return -1;
			continue;
		}
		/* Unquoted "[fd00::1]:80" reads as a one-entry mapping. */
		if (!is_scalar(c))
			return cfg_fail_at(c, &c->event.start_mark,
					   "backend must be a string, got %s; "
					   "quote IPv6 backends: "
					   "\"[addr]:port\"",
					   describe(c, q, sizeof(q)));
		if (get_text(c, "backend", &text, &length) < 0)
			return -1;
		if (length >= sizeof(ep) ||
		    veer_endpoint_parse(text, &be.addr, &be.family, &be.port)) {
			quote(text, length, q, sizeof(q));
			return cfg_fail_at(c, &c->event.start_mark,
					   "backend \"%s\": %s", q,
					   length >= sizeof(ep)
						   ? "too long"
						   : endpoint_problem(text));
		}
		if (veer_subset_add_backend(sub, &be) < 0)
			return cfg_fail_at(c, &c->event.start_mark,
					   "out of memory");
	}
	if (total > VEER_MAX_BACKENDS_PER_SUBSET) {
		context(svc, sub, ctx, sizeof(ctx));
		return cfg_fail_at(c, &list_mark, "%s%u backends, at most %u",
				   ctx, total, VEER_MAX_BACKENDS_PER_SUBSET);
	}
	return 0;
}

enum { SUB_NAME, SUB_WEIGHT, SUB_BACKENDS, SUB_NFIELDS };
static const char *const subset_fields[SUB_NFIELDS] = {
	[SUB_NAME] = "name",
	[SUB_WEIGHT] = "weight",
	[SUB_BACKENDS] = "backends",
};

static int parse_subset(struct cfg *c, struct veer_service_model *svc,
			struct veer_subset_model *sub)
{
	char ctx[CONTEXT_MAX];
	yaml_mark_t start = c->event.start_mark;
	unsigned int seen = 0;
	int f;

	if (expect_mapping(c, "subset") < 0)
		return -1;
	set_loc(c, &sub->loc, &start);
	while ((f = next_field(c, subset_fields, SUB_NFIELDS, "in subset",
			       &seen)) >= 0) {
		switch (f) {
		case SUB_NAME:
			if (get_string(c, "subset name", sub->name,
				       sizeof(sub->name)) < 0)
				return -1;
			break;
		case SUB_WEIGHT:
			if (get_uint(c, "weight", 0, VEER_WEIGHT_TOTAL,
				     &sub->weight) < 0)
				return -1;
			break;
		case SUB_BACKENDS:
			if (parse_backends(c, svc, sub) < 0)
				return -1;
			break;
		}
	}
	if (f == -1)
		return -1;
	context(svc, sub, ctx, sizeof(ctx));
	for (f = 0; f < SUB_NFIELDS; f++)
		if (f != SUB_BACKENDS && !(seen & (1U << f)))
			return cfg_fail_at(c, &start,
					   "%s%smissing required field \"%s\"",
					   ctx, sub->name[0] ? "" : "subset: ",
					   subset_fields[f]);
	return 0;
}

static int parse_subsets(struct cfg *c, struct veer_service_model *svc)
{
	char ctx[CONTEXT_MAX];
	yaml_mark_t list_mark = c->event.start_mark;
	unsigned int total = 0;

	if (is_null(c))
		return 0;
	if (expect_list(c, "subsets") < 0)
		return -1;
	for (;;) {
		if (next(c) < 0)
			return -1;
		if (c->event.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (++total > VEER_MAX_SUBSETS) {
			/* Keep counting for an error that says how many. */
			if (skip_node(c) < 0)
				return -1;
			continue;
		}
		/* Counted first so veer_model_free sees partial backends. */
		svc->subset_count = total;
		if (parse_subset(c, svc, &svc->subsets[total - 1]) < 0)
			return -1;
	}
	if (total > VEER_MAX_SUBSETS) {
		context(svc, NULL, ctx, sizeof(ctx));
		return cfg_fail_at(c, &list_mark, "%s%u subsets, at most %u",
				   ctx, total, VEER_MAX_SUBSETS);
	}
	return 0;
}

enum { SVC_NAME, SVC_VIP, SVC_PORT, SVC_SUBSETS, SVC_AFFINITY, SVC_NFIELDS };
static const char *const service_fields[SVC_NFIELDS] = {
	[SVC_NAME] = "name",
	[SVC_VIP] = "vip",
	[SVC_PORT] = "port",
	[SVC_SUBSETS] = "subsets",
	[SVC_AFFINITY] = "sourceIpAffinity",
};

static int parse_vip(struct cfg *c, struct veer_service_model *svc)
{
	char q[QUOTE_BUF_MAX], text[INET6_ADDRSTRLEN];
	const char *value;
	size_t length;

	if (get_text(c, "vip", &value, &length) < 0)
		return -1;
	if (length < sizeof(text)) {
		memcpy(text, value, length);
		text[length] = '\0';
		if (!veer_addr_parse(text, &svc->key.vip, &svc->key.family))
			return 0;
	}
	return cfg_fail_at(c, &c->event.start_mark,
			   "vip must be an IPv4 or IPv6 address (no brackets, "
			   "no port), got \"%s\"",
			   quote(value, length, q, sizeof(q)));
}

static int parse_service(struct cfg *c, struct veer_model *tmp)
{
	char ctx[CONTEXT_MAX];
	yaml_mark_t start = c->event.start_mark;
	struct veer_service_model *svc;
	unsigned int seen = 0, port;
	bool affinity = false;
	int f;

	if (expect_mapping(c, "service") < 0)
		return -1;
	/* tmp grows only here, so svc stays valid for this whole call. */
	svc = veer_model_add_service(tmp);
	if (!svc)
		return cfg_fail_at(c, &start, "out of memory");
	set_loc(c, &svc->loc, &start);
	svc->key.proto = IPPROTO_TCP;
	while ((f = next_field(c, service_fields, SVC_NFIELDS, "in service",
			       &seen)) >= 0) {
		switch (f) {
		case SVC_NAME:
			if (get_string(c, "service name", svc->name,
				       sizeof(svc->name)) < 0)
				return -1;
			break;
		case SVC_VIP:
			if (parse_vip(c, svc) < 0)
				return -1;
			break;
		case SVC_PORT:
			if (get_uint(c, "port", 1, PORT_MAX, &port) < 0)
				return -1;
			svc->key.port = htons((uint16_t)port);
			break;
		case SVC_SUBSETS:
			if (parse_subsets(c, svc) < 0)
				return -1;
			break;
		case SVC_AFFINITY:
			if (get_bool(c, "sourceIpAffinity", &affinity) < 0)
				return -1;
			if (affinity)
				svc->flags |= VEER_SVC_F_HASH_SRC_IP;
			break;
		}
	}
	if (f == -1)
		return -1;
	context(svc, NULL, ctx, sizeof(ctx));
	for (f = 0; f < SVC_NFIELDS; f++)
		if (f != SVC_AFFINITY && !(seen & (1U << f)))
			return cfg_fail_at(c, &start,
					   "%smissing required field \"%s\"",
					   svc->name[0] ? ctx : "service: ",
					   service_fields[f]);
	return 0;
}

static int parse_services(struct cfg *c, struct veer_model *tmp)
{
	if (is_null(c))
		return 0;
	if (expect_list(c, "services") < 0)
		return -1;
	for (;;) {
		if (next(c) < 0)
			return -1;
		if (c->event.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (parse_service(c, tmp) < 0)
			return -1;
	}
}

enum { TOP_SERVICES, TOP_NFIELDS };
static const char *const top_fields[TOP_NFIELDS] = {
	[TOP_SERVICES] = "services",
};

static int parse_document(struct cfg *c, struct veer_model *tmp)
{
	unsigned int seen = 0;
	int f;

	if (next(c) < 0)
		return -1;
	/* A document with only comments, or only "---". */
	if (is_null(c))
		return 0;
	if (expect_mapping(c, "the top level") < 0)
		return -1;
	while ((f = next_field(c, top_fields, TOP_NFIELDS, "at top level",
			       &seen)) >= 0) {
		if (parse_services(c, tmp) < 0)
			return -1;
	}
	return f == -1 ? -1 : 0;
}

/* Consumes one document's root node: the Istio loader reads that one. */
static int skip_document(struct cfg *c)
{
	unsigned int depth = 0;

	do {
		if (next(c) < 0)
			return -1;
		if (c->event.type == YAML_MAPPING_START_EVENT ||
		    c->event.type == YAML_SEQUENCE_START_EVENT)
			depth++;
		else if (c->event.type == YAML_MAPPING_END_EVENT ||
			 c->event.type == YAML_SEQUENCE_END_EVENT)
			depth--;
	} while (depth);
	return 0;
}

static int parse_stream(struct cfg *c, struct veer_model *tmp)
{
	size_t doc;

	/* STREAM-START, then documents (START ... END) until STREAM-END. */
	if (next(c) < 0)
		return -1;
	for (doc = 0;; doc++) {
		if (next(c) < 0)
			return -1;
		if (c->event.type == YAML_STREAM_END_EVENT)
			return 0;
		if (doc < c->skip_count && c->skip_doc[doc]) {
			if (skip_document(c) < 0)
				return -1;
		} else if (parse_document(c, tmp) < 0) {
			return -1;
		}
		if (next(c) < 0) /* DOCUMENT-END */
			return -1;
	}
}

/*
 * A native subset that takes connections (weight > 0) needs a backend, or
 * its SYNs are dropped: refused, as a typo more likely than intended. A
 * drained subset (weight 0) may have none. Istio entries (host set) keep
 * Istio's meaning, a route to a subset with no endpoints yet, with a note.
 */
static int check_live_subsets(const struct veer_model *model, size_t first,
			      char *err, size_t errlen)
{
	char q1[QUOTE_BUF_MAX], q2[QUOTE_BUF_MAX];
	size_t i;
	unsigned int s;

	for (i = first; i < model->count; i++) {
		const struct veer_service_model *svc = &model->services[i];

		if (svc->host[0])
			continue;
		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_subset_model *sub = &svc->subsets[s];
			const struct veer_src_loc *loc =
				sub->loc.line ? &sub->loc : &svc->loc;

			if (!sub->weight || sub->backend_count)
				continue;
			if (err && errlen)
				snprintf(err, errlen,
					 "%s:%u:%u: service %s: subset %s: "
					 "weight %u but no backends (its "
					 "connections would be dropped); give "
					 "it backends or weight 0",
					 loc->file, loc->line, loc->column,
					 msg_name(svc->name, q1, sizeof(q1)),
					 msg_name(sub->name, q2, sizeof(q2)),
					 sub->weight);
			return -1;
		}
	}
	return 0;
}

/*
 * Moves tmp's services to the end of *model if the result validates. The
 * move is a struct copy: the backend arrays change owner, so tmp forgets
 * them on success and keeps (and frees) them on failure.
 */
static int append_validated(struct veer_model *tmp, struct veer_model *model,
			    const char *name, char *err, size_t errlen)
{
	size_t old = model->count, i;

	for (i = 0; i < tmp->count; i++) {
		if (!veer_model_add_service(model)) {
			model->count = old;
			if (err && errlen)
				snprintf(err, errlen, "%s: out of memory",
					 name);
			return -1;
		}
	}
	if (tmp->count)
		memcpy(&model->services[old], tmp->services,
		       tmp->count * sizeof(*tmp->services));
	if (veer_model_validate(model, err, errlen) < 0 ||
	    check_live_subsets(model, old, err, errlen) < 0) {
		model->count = old;
		return -1;
	}
	tmp->count = 0;
	return 0;
}

static int commit(struct cfg *c, struct veer_model *tmp,
		  struct veer_model *model)
{
	return append_validated(tmp, model, c->name, c->err, c->errlen);
}

/* The native documents of a buffer; skip_doc marks the others. */
static int load_native(const char *name, const char *buf, size_t len,
		       const bool *skip_doc, size_t skip_count,
		       struct veer_model *model, char *err, size_t errlen)
{
	struct cfg c = {
		.name = name ? name : "<config>",
		.buf = buf ? buf : "",
		.len = buf ? len : 0,
		.err = err,
		.errlen = errlen,
		.skip_doc = skip_doc,
		.skip_count = skip_count,
	};
	struct veer_model tmp;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (c.len > VEER_CONFIG_MAX_BYTES)
		return cfg_fail_at(&c, NULL,
				   "%zu bytes, larger than the limit "
				   "of %d bytes",
				   c.len, VEER_CONFIG_MAX_BYTES);
	if (!yaml_parser_initialize(&c.parser))
		return cfg_fail_at(&c, NULL, "out of memory");
	/*
	 * Forced UTF-8, or libyaml would also take UTF-16 with a BOM. Forced,
	 * libyaml no longer drops a UTF-8 BOM but counts it as a column on
	 * line 1, which breaks the indentation of files whose first key
	 * starts at column 1. Skip it here; editors don't show it either.
	 */
	if (c.len >= sizeof(UTF8_BOM) - 1 &&
	    !memcmp(c.buf, UTF8_BOM, sizeof(UTF8_BOM) - 1)) {
		c.bom_len = sizeof(UTF8_BOM) - 1;
		c.buf += c.bom_len;
		c.len -= c.bom_len;
	}
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)c.buf,
				     c.len);
	veer_model_init(&tmp);

	ret = parse_stream(&c, &tmp);
	if (!ret && tmp.count == 0)
		ret = cfg_fail_at(&c, NULL, "no services defined");
	if (!ret)
		ret = commit(&c, &tmp, model);

	if (c.have_event)
		yaml_event_delete(&c.event);
	yaml_parser_delete(&c.parser);
	veer_model_free(&tmp);
	return ret;
}

int veer_config_load_buffer(const char *name, const char *buf, size_t len,
			    struct veer_model *model, char *err, size_t errlen)
{
	return load_native(name, buf, len, NULL, 0, model, err, errlen);
}

int veer_wait_ms(unsigned int *ms, char *err, size_t errlen)
{
	const char *text = getenv(VEER_WAIT_ENV), *p;
	unsigned long whole = 0, frac = 0, scale = 100;

	*ms = VEER_WAIT_DEFAULT_MS;
	if (!text || !*text)
		return 0;
	for (p = text; *p >= '0' && *p <= '9' && whole <= VEER_WAIT_MAX_S; p++)
		whole = whole * 10 + (unsigned long)(*p - '0');
	if (p != text && *p == '.' && p[1])
		for (p++; *p >= '0' && *p <= '9' && scale; p++, scale /= 10)
			frac += (unsigned long)(*p - '0') * scale;
	if (p == text || *p || whole > VEER_WAIT_MAX_S ||
	    (whole == VEER_WAIT_MAX_S && frac)) {
		if (err && errlen)
			snprintf(err, errlen,
				 "%s must be seconds 0..%u (e.g. 10 or 0.5), "
				 "got '%.32s'",
				 VEER_WAIT_ENV, VEER_WAIT_MAX_S, text);
		return -1;
	}
	*ms = (unsigned int)(whole * 1000 + frac);
	return 0;
}

void veer_wait_format(unsigned int ms, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%u.%03u", ms / 1000, ms % 1000);
	n = strlen(buf);
	while (n && buf[n - 1] == '0')
		buf[--n] = '\0';
	if (n && buf[n - 1] == '.')
		buf[--n] = '\0';
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A FIFO is opened without waiting for its writer (O_NONBLOCK); this waits
 * for one, at most VEER_WAIT, so `apply -f FIFO` with nobody writing fails
 * instead of hanging. Once a writer is there (or came, wrote and left) the
 * FIFO is read like a pipe, to its end, with no time limit: a slow
 * producer (`-f <(kubectl get ...)`) is fine. A byte read while probing is
 * returned in *first (*have_first). 0, or -1 with err.
 */
static int wait_for_writer(int fd, const char *path, char *first,
			   bool *have_first, char *err, size_t errlen)
{
	unsigned int wait_ms;
	long long deadline;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	bool writer_seen = false;
	ssize_t n;

	*have_first = false;
	if (veer_wait_ms(&wait_ms, err, errlen))
		return -1;
	deadline = now_ms() + wait_ms;
	for (;;) {
		n = read(fd, first, 1);
		if (n == 1) {
			*have_first = true;
			return 0;
		}
		if (n < 0 && errno == EAGAIN)
			return 0; /* a writer is there; no data yet */
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 strerror(errno));
			return -1;
		}
		if (n == 0 && writer_seen)
			return 0; /* it came and went without writing */
		if (n < 0)
			continue;
		/* No writer yet: probe again every 20 ms until the deadline. */
		long long left = deadline - now_ms();

		if (left <= 0) {
			char secs[VEER_WAIT_STRLEN];

			veer_wait_format(wait_ms, secs, sizeof(secs));
			snprintf(err, errlen,
				 "%s: FIFO, and no writer opened it within %s "
				 "s (%s sets the wait)",
				 path, secs, VEER_WAIT_ENV);
			return -1;
		}
		if (poll(&pfd, 1, left < 20 ? (int)left : 20) > 0 &&
		    (pfd.revents & POLLHUP))
			writer_seen = true;
	}
}

static int read_all(int fd, const char *path, const char *prefix,
		    size_t prefix_len, char **out, size_t *outlen, size_t hint,
		    char *err, size_t errlen)
{
	size_t cap = hint + prefix_len + 1, len = prefix_len;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	if (!buf) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memcpy(buf, prefix, prefix_len);
	for (;;) {
		if (len == cap) {
			/* Doubling, and one byte past the limit to see it. */
			cap = cap < READ_CHUNK ? READ_CHUNK : cap * 2;
			if (cap > VEER_CONFIG_MAX_BYTES + 1)
				cap = VEER_CONFIG_MAX_BYTES + 1;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				snprintf(err, errlen, "%s: out of memory",
					 path);
				return -1;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
				 strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		/* Pipes and growing files: stop at the first byte too many. */
		if (len > VEER_CONFIG_MAX_BYTES) {
			snprintf(err, errlen,
				 "%s: larger than the limit of %d bytes", path,
				 VEER_CONFIG_MAX_BYTES);
			free(buf);
			return -1;
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

/*
 * Reads a whole file (or "-", standard input) within the size limit. A
 * FIFO waits at most VEER_WAIT for a writer (wait_for_writer); standard
 * input is read as it comes: the user chose to pipe into veer.
 */
static int read_path(const char *path, char **buf, size_t *len, char *err,
		     size_t errlen)
{
	size_t hint = READ_CHUNK;
	struct stat st;
	int fd, ret;
	bool is_stdin = !strcmp(path, "-"), have_first = false;
	char first = 0;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = is_stdin
		     ? STDIN_FILENO
		     : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path,
			 strerror(errno));
		ret = -1;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(EISDIR));
		ret = -1;
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		/* Refused before reading: a sparse file costs nothing here. */
		if (st.st_size > VEER_CONFIG_MAX_BYTES) {
			snprintf(err, errlen,
				 "%s: %lld bytes, larger than the limit of %d "
				 "bytes",
				 path, (long long)st.st_size,
				 VEER_CONFIG_MAX_BYTES);
			ret = -1;
			goto out;
		}
		hint = (size_t)st.st_size;
	}
	if (!is_stdin && S_ISFIFO(st.st_mode) &&
	    wait_for_writer(fd, path, &first, &have_first, err, errlen)) {
		ret = -1;
		goto out;
	}
	/* From here on reads wait for data, as on any pipe. */
	if (!is_stdin &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			 strerror(errno));
		ret = -1;
		goto out;
	}
	ret = read_all(fd, path, &first, have_first ? 1 : 0, buf, len, hint,
		       err, errlen);
out:
	if (!is_stdin)
		close(fd);
	return ret;
}

int veer_config_load_file(const char *path, struct veer_model *model, char *err,
			  size_t errlen)
{
	char dummy[1], *buf = NULL;
	size_t len = 0;
	int ret;

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (read_path(path, &buf, &len, err, errlen) < 0)
		return -1;
	ret = veer_config_load_buffer(path, buf, len, model, err, errlen);
	free(buf);
	return ret;
}

/* ---- Several inputs, native and Istio ---- */

enum doc_format { DOC_EMPTY, DOC_K8S, DOC_NATIVE, DOC_UNKNOWN, DOC_MIXED };

static enum doc_format doc_format(const struct veer_ynode *root)
{
	if (veer_ynode_is_null(root))
		return DOC_EMPTY;
	if (veer_ynode_get(root, "kind") || veer_ynode_get(root, "apiVersion"))
		return DOC_K8S;
	if (veer_ynode_get(root, "services"))
		return DOC_NATIVE;
	return DOC_UNKNOWN;
}

/*
 * A file is one format, the other, or both (each document says which it
 * is: `veer get -o yaml` writes native and Istio documents into one
 * stream). A document of neither is left to a loader to name what is
 * wrong with it.
 */
static int file_format(const struct veer_ytree *tree, enum doc_format *out,
		       char *err, size_t errlen)
{
	const struct veer_ynode *first_unknown = NULL;
	enum doc_format f = DOC_EMPTY;
	size_t i;

	for (i = 0; i < tree->doc_count; i++) {
		const struct veer_ynode *doc = tree->docs[i];
		enum doc_format d = doc_format(doc);

		if (d == DOC_UNKNOWN && !first_unknown)
			first_unknown = doc;
		if (d != DOC_K8S && d != DOC_NATIVE)
			continue;
		if (f == DOC_EMPTY)
			f = d;
		else if (f != d)
			f = DOC_MIXED;
	}
	if (f == DOC_EMPTY && first_unknown) {
		snprintf(err, errlen,
			 "%s:%u:%u: neither Kubernetes objects (apiVersion, "
			 "kind, metadata) nor veer native config (services:)",
			 first_unknown->file, first_unknown->line,
			 first_unknown->column);
		return -1;
	}
	*out = f;
	return 0;
}

struct loader {
	struct veer_istio *ist;
	struct veer_ytree *trees; /* kept while ist points into them */
	size_t ntrees, cap;
	struct veer_model tmp; /* native and Istio services, in input order */
	size_t total; /* bytes of all inputs */
	size_t inputs;
	char first[256]; /* first input's name, for input-less messages */
	char *err;
	size_t errlen;
};

/* One input, held in memory: parsed, then loaded as its format says. */
static int load_one(struct loader *l, const char *name, const char *buf,
		    size_t len)
{
	struct veer_ytree *tree;
	enum doc_format f;

	if (!l->inputs++)
		snprintf(l->first, sizeof(l->first), "%s", name);
	if (len > VEER_CONFIG_MAX_TOTAL_BYTES - l->total) {
		snprintf(l->err, l->errlen,
			 "%s: the inputs together are larger than the limit "
			 "of %d bytes",
			 name, VEER_CONFIG_MAX_TOTAL_BYTES);
		return -1;
	}
	l->total += len;
	if (l->ntrees == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		struct veer_ytree *grown;

		grown = realloc(l->trees, cap * sizeof(*grown));
		if (!grown) {
			snprintf(l->err, l->errlen, "%s: out of memory", name);
			return -1;
		}
		l->trees = grown;
		l->cap = cap;
	}
	tree = &l->trees[l->ntrees++];
	if (veer_ytree_parse(tree, name, buf, len, l->err, l->errlen) < 0 ||
	    file_format(tree, &f, l->err, l->errlen) < 0)
		return -1;
	if (f == DOC_K8S)
		return veer_istio_add_tree(l->ist, tree, NULL, l->err,
					   l->errlen);
	if (f == DOC_MIXED) {
		bool *k8s = calloc(tree->doc_count ? tree->doc_count : 1, 1);
		size_t i;
		int ret;

		if (!k8s) {
			snprintf(l->err, l->errlen, "%s: out of memory", name);
			return -1;
		}
		for (i = 0; i < tree->doc_count; i++)
			k8s[i] = doc_format(tree->docs[i]) == DOC_K8S;
		ret = veer_istio_add_tree(l->ist, tree, k8s, l->err, l->errlen);
		if (!ret)
			ret = load_native(name, buf, len, k8s, tree->doc_count,
					  &l->tmp, l->err, l->errlen);
		free(k8s);
		return ret;
	}
	/* Only Istio objects point into their tree. */
	veer_ytree_free(tree);
	l->ntrees--;
	/* The native loader reads the text itself, event by event. */
	if (f == DOC_NATIVE)
		return veer_config_load_buffer(name, buf, len, &l->tmp, l->err,
					       l->errlen);
	/* Empty: nothing to do, as with kubectl. */
	return 0;
}

static int loader_init(struct loader *l, const char *ns, char *err,
		       size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->err = err;
	l->errlen = errlen;
	veer_model_init(&l->tmp);
	l->ist = veer_istio_new(ns);
	if (!l->ist) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int loader_finish(struct loader *l, struct veer_model *model,
			 veer_note_fn note, void *note_ctx)
{
	if (!l->inputs) {
		snprintf(l->err, l->errlen, "no input files");
		return -1;
	}
	/* Istio services go after the native ones, in definition order. */
	if (veer_istio_object_count(l->ist) &&
	    veer_istio_build(l->ist, &l->tmp, l->err, l->errlen) < 0)
		return -1;
	if (!l->tmp.count) {
		size_t n = veer_istio_object_count(l->ist);

		if (n)
			snprintf(l->err, l->errlen,
				 "%s: no services defined (%zu object%s read; "
				 "veer needs a ServiceEntry or Service with a "
				 "VIP)",
				 l->first, n, n == 1 ? "" : "s");
		else
			snprintf(l->err, l->errlen, "%s: no services defined",
				 l->first);
		return -1;
	}
	if (append_validated(&l->tmp, model, l->first, l->err, l->errlen) < 0)
		return -1;
	veer_istio_notes(l->ist, note, note_ctx);
	return 0;
}

static void loader_free(struct loader *l)
{
	size_t i;

	veer_istio_free(l->ist);
	for (i = 0; i < l->ntrees; i++)
		veer_ytree_free(&l->trees[i]);
	free(l->trees);
	veer_model_free(&l->tmp);
}

int veer_config_load_buffers_ns(const char *const *names,
				const char *const *bufs, const size_t *lens,
				size_t count, const char *default_namespace,
				struct veer_model *model, veer_note_fn note,
				void *note_ctx, char *err, size_t errlen)
{
	struct loader l;
	char dummy[1];
	size_t i;
	int ret = -1;

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (loader_init(&l, default_namespace, err, errlen) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		const char *name = names && names[i] ? names[i] : "<config>";

		if (load_one(&l, name, bufs[i] ? bufs[i] : "",
			     bufs[i] ? lens[i] : 0) < 0)
			goto out;
	}
	ret = loader_finish(&l, model, note, note_ctx);
out:
	loader_free(&l);
	return ret;
}

int veer_config_load_buffers(const char *const *names, const char *const *bufs,
			     const size_t *lens, size_t count,
			     struct veer_model *model, veer_note_fn note,
			     void *note_ctx, char *err, size_t errlen)
{
	return veer_config_load_buffers_ns(names, bufs, lens, count, NULL,
					   model, note, note_ctx, err, errlen);
}

static bool config_file_name(const char *name)
{
	static const char *const suffixes[] = {".yaml", ".yml", ".json"};
	size_t n = strlen(name), i;

	/* Hidden files: editor backups and lock files, not config. */
	if (name[0] == '.')
		return false;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t l = strlen(suffixes[i]);

		if (n > l && !strcmp(name + n - l, suffixes[i]))
			return true;
	}
	return false;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The config files of a directory as "dir/name", sorted by name. */
static int list_dir(const char *dir, char ***out, size_t *count, char *err,
		    size_t errlen)
{
	size_t n = 0, cap = 0, dlen = strlen(dir);
	const char *sep = dlen && dir[dlen - 1] == '/' ? "" : "/";
	char **names = NULL, **grown;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d) {
		snprintf(err, errlen, "%s: cannot open: %s", dir,
			 strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat st;
		char *path;

		if (!config_file_name(de->d_name))
			continue;
		path = malloc(dlen + strlen(de->d_name) + 2);
		if (!path)
			goto oom;
		sprintf(path, "%s%s%s", dir, sep, de->d_name);
		/* Not recursive: subdirectories are not read. */
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			free(path);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				free(path);
				goto oom;
			}
			names = grown;
		}
		names[n++] = path;
	}
	if (errno) {
		snprintf(err, errlen, "%s: cannot read: %s", dir,
			 strerror(errno));
		goto fail;
	}
	closedir(d);
	if (!n) {
		snprintf(err, errlen, "%s: no *.yaml, *.yml or *.json files",
			 dir);
		free(names);
		return -1;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	*out = names;
	*count = n;
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory", dir);
fail:
	closedir(d);
	while (n)
		free(names[--n]);
	free(names);
	return -1;
}

static int load_file_into(struct loader *l, const char *path)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	if (read_path(path, &buf, &len, l->err, l->errlen) < 0)
		return -1;
	ret = load_one(l, !strcmp(path, "-") ? "<stdin>" : path, buf, len);
	free(buf);
	return ret;
}

int veer_config_load_paths_ns(const char *const *paths, size_t count,
			      const char *default_namespace,
			      struct veer_model *model, veer_note_fn note,
			      void *note_ctx, char *err, size_t errlen)
{
	struct loader l;
	char dummy[1];
	size_t i, j;
	int ret = -1;

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (loader_init(&l, default_namespace, err, errlen) < 0)
		return -1;
	for (i = 0; i < count; i++) {
		struct stat st;
		char **files;
		size_t n;
		int r = 0;

		if (strcmp(paths[i], "-") && stat(paths[i], &st) == 0 &&
		    S_ISDIR(st.st_mode)) {
			if (list_dir(paths[i], &files, &n, err, errlen) < 0)
				goto out;
			for (j = 0; j < n; j++) {
				if (!r)
					r = load_file_into(&l, files[j]);
				free(files[j]);
			}
			free(files);
		} else {
			r = load_file_into(&l, paths[i]);
		}
		if (r < 0)
			goto out;
	}
	ret = loader_finish(&l, model, note, note_ctx);
out:
	loader_free(&l);
	return ret;
}

int veer_config_load_paths(const char *const *paths, size_t count,
			   struct veer_model *model, veer_note_fn note,
			   void *note_ctx, char *err, size_t errlen)
{
	return veer_config_load_paths_ns(paths, count, NULL, model, note,
					 note_ctx, err, errlen);
}

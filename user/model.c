// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The configuration model and its validator. Every source of configuration
 * goes through veer_model_validate before anything reaches the maps, so the
 * data plane can trust what it reads (weights sum to VEER_WEIGHT_TOTAL,
 * counts within the ABI limits, families consistent).
 */
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "diag.h"
#include "model.h"

/* First allocation of the services array; it doubles from there. */
#define MODEL_INITIAL_CAPACITY 8
/* Prefix "file:line:col: " with file truncated to veer_src_loc.file. */
/* Names quoted in messages are cut here so one bad name cannot flood. */
#define QUOTED_NAME_MAX 64
/* Room for a quoted name: every byte may become "\xNN", plus "...". */
#define QUOTE_BUF_MAX (QUOTED_NAME_MAX * 4 + 8)

const char *veer_host_namespace(const char *host, char *buf, size_t len)
{
	const char *dot = strchr(host, '.'), *end;
	size_t hl = strlen(host), dl = strlen(VEER_KUBE_DOMAIN);

	if (len)
		buf[0] = '\0';
	if (!dot || hl <= dl || strcmp(host + hl - dl, VEER_KUBE_DOMAIN))
		return NULL;
	end = host + hl - dl;
	if (end <= dot + 1 || memchr(dot + 1, '.', (size_t)(end - dot - 1)))
		return NULL;
	snprintf(buf, len, "%.*s", (int)(end - dot - 1), dot + 1);
	return buf;
}

void veer_model_init(struct veer_model *model)
{
	memset(model, 0, sizeof(*model));
}

static void subset_free(struct veer_subset_model *subset)
{
	free(subset->backends);
	subset->backends = NULL;
	subset->backend_count = 0;
}

void veer_model_free_service(struct veer_service_model *svc)
{
	unsigned int i;

	for (i = 0; i < VEER_MAX_SUBSETS; i++)
		subset_free(&svc->subsets[i]);
	free(svc->rules);
	svc->rules = NULL;
	svc->rule_count = 0;
}

int veer_service_add_rule(struct veer_service_model *svc,
			  const struct veer_rule *rule)
{
	struct veer_rule *grown;

	if (svc->rule_count >= VEER_MAX_RULES)
		return -1;
	grown = realloc(svc->rules, (svc->rule_count + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	grown[svc->rule_count++] = *rule;
	svc->rules = grown;
	return 0;
}

void veer_model_free(struct veer_model *model)
{
	size_t i;

	if (!model)
		return;
	for (i = 0; i < model->count; i++)
		veer_model_free_service(&model->services[i]);
	free(model->services);
	free(model->stale);
	veer_model_init(model);
}

struct veer_service_model *veer_model_add_service(struct veer_model *model)
{
	struct veer_service_model *svc;

	if (model->count == model->capacity) {
		size_t cap = model->capacity ? model->capacity * 2
					     : MODEL_INITIAL_CAPACITY;
		struct veer_service_model *grown;

		if (cap < model->capacity || cap > SIZE_MAX / sizeof(*grown))
			return NULL;
		grown = realloc(model->services, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		model->services = grown;
		model->capacity = cap;
	}
	svc = &model->services[model->count++];
	memset(svc, 0, sizeof(*svc));
	return svc;
}

int veer_subset_add_backend(struct veer_subset_model *subset,
			    const struct veer_backend *backend)
{
	struct veer_backend *grown;

	if (subset->backend_count >= VEER_MAX_BACKENDS_PER_SUBSET)
		return -1;
	/*
	 * Grow one element at a time: the array carries no capacity, and
	 * other code may hand us an exactly-sized one. At 256 entries the
	 * copying is negligible.
	 */
	grown = realloc(subset->backends,
			(subset->backend_count + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	grown[subset->backend_count++] = *backend;
	subset->backends = grown;
	return 0;
}

struct veer_service_model *veer_model_find(const struct veer_model *model,
					   const char *name)
{
	size_t i;

	for (i = 0; i < model->count; i++)
		if (!strncmp(model->services[i].name, name, VEER_NAME_MAX))
			return &model->services[i];
	return NULL;
}

int veer_service_find_subset(const struct veer_service_model *svc,
			     const char *name)
{
	unsigned int i;

	for (i = 0; i < svc->subset_count && i < VEER_MAX_SUBSETS; i++)
		if (!strncmp(svc->subsets[i].name, name, VEER_SUBSET_NAME_MAX))
			return (int)i;
	return -1;
}

int veer_model_copy_service(struct veer_model *dst,
			    const struct veer_service_model *src)
{
	struct veer_service_model copy, *slot;
	unsigned int i;

	/*
	 * Work on a local copy: src may live in dst->services, which
	 * veer_model_add_service can move.
	 */
	copy = *src;
	for (i = 0; i < VEER_MAX_SUBSETS; i++) {
		struct veer_subset_model *sub = &copy.subsets[i];
		size_t bytes = sub->backend_count * sizeof(*sub->backends);

		if (i >= copy.subset_count || !sub->backends ||
		    !sub->backend_count) {
			sub->backends = NULL;
			sub->backend_count = 0;
			continue;
		}
		sub->backends = malloc(bytes);
		if (!sub->backends)
			goto fail;
		memcpy(sub->backends, src->subsets[i].backends, bytes);
	}
	copy.rules = NULL;
	if (src->rule_count) {
		copy.rules = malloc(src->rule_count * sizeof(*copy.rules));
		if (!copy.rules)
			goto fail;
		memcpy(copy.rules, src->rules,
		       src->rule_count * sizeof(*copy.rules));
	}
	slot = veer_model_add_service(dst);
	if (!slot) {
		free(copy.rules);
		goto fail;
	}
	*slot = copy;
	return 0;
fail:
	/* Subsets past the failing one still point at src's arrays. */
	while (i-- > 0)
		subset_free(&copy.subsets[i]);
	return -1;
}

void veer_loc_prefix(const struct veer_src_loc *loc, char *buf, size_t len)
{
	if (!buf || len == 0)
		return;
	buf[0] = '\0';
	if (!loc || loc->line == 0)
		return;
	snprintf(buf, len, "%.*s:%u:%u: ", (int)sizeof(loc->file), loc->file,
		 loc->line, loc->column);
}

/* Formats "file:line:col: message" into err; returns -1 for tail calls. */
__attribute__((format(printf, 4, 5))) static int
fail(char *err, size_t errlen, const struct veer_src_loc *loc, const char *fmt,
     ...)
{
	bool located = loc && loc->line;
	va_list ap;

	va_start(ap, fmt);
	veer_vfail_at(err, errlen, located ? loc->file : NULL,
		      located ? loc->line : 0, located ? loc->column : 0, fmt,
		      ap);
	va_end(ap);
	return -1;
}

/*
 * Quotes a name that failed validation: it may hold anything, including
 * newlines that would break the one-line error contract.
 */
static const char *quote(const char *name, size_t max, char *buf, size_t len)
{
	size_t i, o = 0;

	for (i = 0; i < max && name[i] && o + 8 < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (i == QUOTED_NAME_MAX) {
			o += (size_t)snprintf(buf + o, len - o, "...");
			break;
		}
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
	return buf;
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/*
 * Returns NULL when `name` (a field of `max` bytes) is a valid name: letters,
 * digits, '.', '-', '_' and the characters of `extra`; else why not (charset
 * when a character is not allowed). A missing NUL means the name filled the
 * whole field.
 */
static const char *name_problem(const char *name, size_t max, const char *extra,
				const char *charset)
{
	size_t len = strnlen(name, max), i;

	if (len == 0)
		return "must not be empty";
	if (len == max)
		return "too long";
	for (i = 0; i < len; i++)
		if (!name_char_ok(name[i]) && !strchr(extra, name[i]))
			return charset;
	return NULL;
}

#define SUBSET_NAME_PROBLEM(name)                                              \
	name_problem(name, sizeof(name), "",                                   \
		     "only letters, digits, '.', '-' and '_' allowed")

/*
 * Service names may also hold ':' and '/': an Istio host with several
 * VIP:port entries names them "host:port" and "host:port/ipv6".
 */
#define SERVICE_NAME_PROBLEM(name)                                             \
	name_problem(name, sizeof(name), ":/",                                 \
		     "only letters, digits, '.', '-', '_', ':' and '/' "       \
		     "allowed")

static const char *family_name(uint8_t family)
{
	return family == VEER_AF_INET6 ? "IPv6" : "IPv4";
}

static bool addr_is_zero(const union veer_addr *addr)
{
	static const union veer_addr zero;

	return !memcmp(addr, &zero, sizeof(zero));
}

/* IPv4 keeps the last 12 bytes zero so equal addresses compare equal. */
static bool addr_layout_ok(const union veer_addr *addr, uint8_t family)
{
	static const __u8 zero[VEER_ADDR_LEN - 4];

	if (family == VEER_AF_INET6)
		return true;
	return !memcmp(&addr->bytes[4], zero, sizeof(zero));
}

/* ::ffff:a.b.c.d never matches: IPv4 traffic is keyed as VEER_AF_INET. */
static bool addr_is_v4_mapped(const union veer_addr *addr, uint8_t family)
{
	return family == VEER_AF_INET6 && veer_addr_is_v4mapped(addr);
}

static int validate_subset(const struct veer_service_model *svc,
			   unsigned int index, char *err, size_t errlen)
{
	const struct veer_subset_model *sub = &svc->subsets[index];
	const struct veer_src_loc *loc = sub->loc.line ? &sub->loc : &svc->loc;
	char qbuf[QUOTE_BUF_MAX], ep[VEER_ENDPOINT_STRLEN];
	const char *why;
	unsigned int i, j;

	why = SUBSET_NAME_PROBLEM(sub->name);
	if (why)
		return fail(
			err, errlen, loc,
			"service %s: subset %u name \"%s\": %s", svc->name,
			index + 1,
			quote(sub->name, sizeof(sub->name), qbuf, sizeof(qbuf)),
			why);
	for (i = 0; i < index; i++)
		if (!strcmp(svc->subsets[i].name, sub->name))
			return fail(err, errlen, loc,
				    "service %s: duplicate subset name %s",
				    svc->name, sub->name);
	if (sub->weight > VEER_WEIGHT_TOTAL)
		return fail(err, errlen, loc,
			    "service %s: subset %s: weight %u, at most %u",
			    svc->name, sub->name, sub->weight,
			    VEER_WEIGHT_TOTAL);
	if (sub->backend_count > VEER_MAX_BACKENDS_PER_SUBSET)
		return fail(err, errlen, loc,
			    "service %s: subset %s: %u backends, at most %u",
			    svc->name, sub->name, sub->backend_count,
			    VEER_MAX_BACKENDS_PER_SUBSET);
	if (sub->backend_count && !sub->backends)
		return fail(err, errlen, loc,
			    "service %s: subset %s: %u backends but no array",
			    svc->name, sub->name, sub->backend_count);
	for (i = 0; i < sub->backend_count; i++) {
		const struct veer_backend *be = &sub->backends[i];

		veer_endpoint_format(&be->addr, be->family, be->port, ep,
				     sizeof(ep));
		if (be->family != VEER_AF_INET && be->family != VEER_AF_INET6)
			return fail(err, errlen, loc,
				    "service %s: subset %s: backend %u has "
				    "unknown address family %u",
				    svc->name, sub->name, i + 1, be->family);
		if (be->family != svc->key.family)
			return fail(err, errlen, loc,
				    "service %s: subset %s: backend %s is %s "
				    "but the VIP is %s",
				    svc->name, sub->name, ep,
				    family_name(be->family),
				    family_name(svc->key.family));
		if (!addr_layout_ok(&be->addr, be->family) ||
		    addr_is_zero(&be->addr) ||
		    addr_is_v4_mapped(&be->addr, be->family))
			return fail(err, errlen, loc,
				    "service %s: subset %s: backend %s: "
				    "not a usable unicast address",
				    svc->name, sub->name, ep);
		if (be->port == 0)
			return fail(err, errlen, loc,
				    "service %s: subset %s: backend %s: "
				    "port 0",
				    svc->name, sub->name, ep);
		for (j = 0; j < i; j++)
			if (sub->backends[j].family == be->family &&
			    sub->backends[j].port == be->port &&
			    !memcmp(&sub->backends[j].addr, &be->addr,
				    sizeof(be->addr)))
				return fail(err, errlen, loc,
					    "service %s: subset %s: "
					    "duplicate backend %s",
					    svc->name, sub->name, ep);
	}
	return 0;
}

/* RFC 9110 token characters, lower case (header names are stored so). */
static bool header_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static int validate_condition(const struct veer_service_model *svc,
			      unsigned int r, const struct veer_condition *c,
			      char *err, size_t errlen)
{
	const struct veer_src_loc *loc = &svc->loc;
	size_t name_len = strnlen(c->name, sizeof(c->name));
	size_t value_len = strnlen(c->value, sizeof(c->value));
	size_t i;

	if (c->op != VEER_COND_EXACT && c->op != VEER_COND_PREFIX)
		return fail(err, errlen, loc,
			    "service %s: rule %u: unknown match operator %u",
			    svc->name, r + 1, c->op);
	if (name_len == sizeof(c->name) || value_len == sizeof(c->value) ||
	    name_len != c->name_len || value_len != c->value_len)
		return fail(err, errlen, loc,
			    "service %s: rule %u: match name or value too long "
			    "(at most %u and %u bytes)",
			    svc->name, r + 1, VEER_MATCH_NAME_MAX - 1,
			    VEER_MATCH_VALUE_MAX - 1);
	for (i = 0; i < value_len; i++)
		if ((unsigned char)c->value[i] < 0x20 ||
		    (unsigned char)c->value[i] == 0x7f)
			return fail(err, errlen, loc,
				    "service %s: rule %u: control character "
				    "in match value",
				    svc->name, r + 1);
	if (c->field == VEER_COND_URI) {
		if (name_len)
			return fail(err, errlen, loc,
				    "service %s: rule %u: a uri match has no "
				    "name",
				    svc->name, r + 1);
		return 0;
	}
	if (c->field != VEER_COND_HEADER)
		return fail(err, errlen, loc,
			    "service %s: rule %u: unknown match field %u",
			    svc->name, r + 1, c->field);
	if (name_len == 0)
		return fail(err, errlen, loc,
			    "service %s: rule %u: empty header name", svc->name,
			    r + 1);
	for (i = 0; i < name_len; i++)
		if (!header_char_ok(c->name[i]))
			return fail(err, errlen, loc,
				    "service %s: rule %u: header name must be "
				    "a lower-case HTTP token",
				    svc->name, r + 1);
	return 0;
}

static int validate_rule(const struct veer_service_model *svc, unsigned int r,
			 char *err, size_t errlen)
{
	const struct veer_rule *rule = &svc->rules[r];
	const struct veer_src_loc *loc = &svc->loc;
	unsigned int m, c, s, sum = 0;

	if (rule->match_count == 0 || rule->match_count > VEER_MAX_MATCHES)
		return fail(err, errlen, loc,
			    "service %s: rule %u: %u match blocks, 1 to %u "
			    "allowed",
			    svc->name, r + 1, rule->match_count,
			    VEER_MAX_MATCHES);
	for (m = 0; m < rule->match_count; m++) {
		const struct veer_match *match = &rule->matches[m];

		if (match->condition_count == 0 ||
		    match->condition_count > VEER_MAX_CONDITIONS)
			return fail(err, errlen, loc,
				    "service %s: rule %u: %u conditions in a "
				    "match block, 1 to %u allowed",
				    svc->name, r + 1, match->condition_count,
				    VEER_MAX_CONDITIONS);
		for (c = 0; c < match->condition_count; c++)
			if (validate_condition(svc, r, &match->conditions[c],
					       err, errlen))
				return -1;
	}
	for (s = 0; s < VEER_MAX_SUBSETS; s++) {
		if (s >= svc->subset_count && rule->weights[s])
			return fail(err, errlen, loc,
				    "service %s: rule %u: weight for subset "
				    "%u, which does not exist",
				    svc->name, r + 1, s + 1);
		sum += rule->weights[s];
	}
	if (sum != VEER_WEIGHT_TOTAL)
		return fail(err, errlen, loc,
			    "service %s: rule %u: route weights sum to %u, "
			    "must be %u",
			    svc->name, r + 1, sum, VEER_WEIGHT_TOTAL);
	return 0;
}

int veer_service_validate(const struct veer_service_model *svc, char *err,
			  size_t errlen)
{
	const struct veer_src_loc *loc = &svc->loc;
	char qbuf[QUOTE_BUF_MAX], ep[VEER_ENDPOINT_STRLEN];
	unsigned int i, sum = 0;
	const char *why;

	why = SERVICE_NAME_PROBLEM(svc->name);
	if (why)
		return fail(
			err, errlen, loc, "service name \"%s\": %s",
			quote(svc->name, sizeof(svc->name), qbuf, sizeof(qbuf)),
			why);
	if (svc->key.family != VEER_AF_INET && svc->key.family != VEER_AF_INET6)
		return fail(err, errlen, loc,
			    "service %s: unknown address family %u", svc->name,
			    svc->key.family);
	veer_endpoint_format(&svc->key.vip, svc->key.family, svc->key.port, ep,
			     sizeof(ep));
	if (svc->key.proto != IPPROTO_TCP)
		return fail(err, errlen, loc,
			    "service %s: protocol %u, only TCP (%u) supported",
			    svc->name, svc->key.proto, IPPROTO_TCP);
	if (!addr_layout_ok(&svc->key.vip, svc->key.family))
		return fail(err, errlen, loc,
			    "service %s: IPv4 VIP with non-zero padding",
			    svc->name);
	if (addr_is_zero(&svc->key.vip))
		return fail(err, errlen, loc,
			    "service %s: VIP %s is the unspecified address",
			    svc->name, ep);
	if (addr_is_v4_mapped(&svc->key.vip, svc->key.family))
		return fail(err, errlen, loc,
			    "service %s: VIP %s is IPv4-mapped; write the "
			    "IPv4 address",
			    svc->name, ep);
	if (svc->key.port == 0)
		return fail(err, errlen, loc, "service %s: port 0", svc->name);
	if (svc->flags & ~VEER_SVC_F_ALL)
		return fail(err, errlen, loc, "service %s: unknown flags 0x%x",
			    svc->name,
			    (unsigned int)(svc->flags & ~VEER_SVC_F_ALL));
	if (svc->subset_count == 0)
		return fail(err, errlen, loc,
			    "service %s: no subsets, at least 1 required",
			    svc->name);
	if (svc->subset_count > VEER_MAX_SUBSETS)
		return fail(err, errlen, loc,
			    "service %s: %u subsets, at most %u", svc->name,
			    svc->subset_count, VEER_MAX_SUBSETS);
	for (i = 0; i < svc->subset_count; i++) {
		if (validate_subset(svc, i, err, errlen) < 0)
			return -1;
		sum += svc->subsets[i].weight;
	}
	if (sum != VEER_WEIGHT_TOTAL)
		return fail(err, errlen, loc,
			    "service %s: subset weights sum to %u, must be %u",
			    svc->name, sum, VEER_WEIGHT_TOTAL);
	if (svc->rule_count > VEER_MAX_RULES)
		return fail(err, errlen, loc,
			    "service %s: %u match rules, at most %u", svc->name,
			    svc->rule_count, VEER_MAX_RULES);
	if (svc->rule_count && !svc->rules)
		return fail(err, errlen, loc, "service %s: rules missing",
			    svc->name);
	for (i = 0; i < svc->rule_count; i++)
		if (validate_rule(svc, i, err, errlen))
			return -1;
	why = svc->host[0] ? SERVICE_NAME_PROBLEM(svc->host) : NULL;
	if (why)
		return fail(err, errlen, loc, "service %s: host: %s", svc->name,
			    why);
	return 0;
}

/*
 * Duplicates are found by sorting, not by comparing all pairs: a 16 MiB file
 * can hold ~10^5 services. The sort is over pointers into one array, and
 * ties break on the pointer, i.e. on definition order, so each run of equal
 * entries starts with the first definition.
 */
typedef const struct veer_service_model *svc_ptr;

static int cmp_order(svc_ptr a, svc_ptr b)
{
	return a < b ? -1 : a > b;
}

static int cmp_name(const void *pa, const void *pb)
{
	svc_ptr a = *(const svc_ptr *)pa, b = *(const svc_ptr *)pb;
	int c = strncmp(a->name, b->name, VEER_NAME_MAX);

	return c ? c : cmp_order(a, b);
}

static int cmp_key(const void *pa, const void *pb)
{
	svc_ptr a = *(const svc_ptr *)pa, b = *(const svc_ptr *)pb;
	int c;

	/* Field by field, so padding could never matter. */
	c = memcmp(a->key.vip.bytes, b->key.vip.bytes, VEER_ADDR_LEN);
	if (!c)
		c = (int)a->key.port - (int)b->key.port;
	if (!c)
		c = (int)a->key.proto - (int)b->key.proto;
	if (!c)
		c = (int)a->key.family - (int)b->key.family;
	return c ? c : cmp_order(a, b);
}

/*
 * Sorts `sorted` with cmp and returns, among adjacent equal pairs, the one
 * whose later member was defined first, so errors follow file order.
 */
static bool find_duplicate(svc_ptr *sorted, size_t n,
			   int (*cmp)(const void *, const void *),
			   svc_ptr *first, svc_ptr *later)
{
	size_t i;

	qsort(sorted, n, sizeof(*sorted), cmp);
	*later = NULL;
	for (i = 1; i < n; i++) {
		svc_ptr a = sorted[i - 1], b = sorted[i];
		bool equal;

		if (cmp == cmp_name)
			equal = !strncmp(a->name, b->name, VEER_NAME_MAX);
		else
			equal = !memcmp(a->key.vip.bytes, b->key.vip.bytes,
					VEER_ADDR_LEN) &&
				a->key.port == b->key.port &&
				a->key.proto == b->key.proto &&
				a->key.family == b->key.family;
		if (equal && (!*later || b < *later)) {
			*first = a;
			*later = b;
		}
	}
	return *later != NULL;
}

static int check_duplicates(const struct veer_model *model, char *err,
			    size_t errlen)
{
	char ep[VEER_ENDPOINT_STRLEN];
	svc_ptr *sorted, first, later;
	size_t i, n = model->count;
	int ret = 0;

	if (n < 2)
		return 0;
	sorted = calloc(n, sizeof(*sorted));
	if (!sorted)
		return fail(err, errlen, NULL, "out of memory");
	for (i = 0; i < n; i++)
		sorted[i] = &model->services[i];
	if (find_duplicate(sorted, n, cmp_name, &first, &later)) {
		ret = fail(err, errlen, &later->loc,
			   "duplicate service name %s", later->name);
		goto out;
	}
	if (find_duplicate(sorted, n, cmp_key, &first, &later)) {
		veer_endpoint_format(&later->key.vip, later->key.family,
				     later->key.port, ep, sizeof(ep));
		ret = fail(err, errlen, &later->loc,
			   "services %s and %s both use VIP %s", first->name,
			   later->name, ep);
	}
out:
	free(sorted);
	return ret;
}

int veer_model_validate(const struct veer_model *model, char *err,
			size_t errlen)
{
	size_t i;

	for (i = 0; i < model->count; i++)
		if (veer_service_validate(&model->services[i], err, errlen) < 0)
			return -1;
	return check_duplicates(model, err, errlen);
}

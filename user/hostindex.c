// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The store's index of Istio hosts (hostindex.h). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "hostindex.h"
#include "objstore.h"

bool veer_index_is_record(const struct veer_object_key *key)
{
	return key->kind[0] == VEER_OBJSTORE_INDEX_MARK;
}

bool veer_index_short_of(const char *host, char *buf, size_t len)
{
	const char *dot = strchr(host, '.'), *end;
	size_t hl = strlen(host), dl = strlen(VEER_KUBE_DOMAIN);

	if (!dot || hl <= dl || strcmp(host + hl - dl, VEER_KUBE_DOMAIN))
		return false;
	end = host + hl - dl;
	/* NAME.NS: one dot, neither part empty. */
	if (dot == host || end <= dot + 1 ||
	    memchr(dot + 1, '.', (size_t)(end - dot - 1)) ||
	    (size_t)(dot - host) >= len)
		return false;
	snprintf(buf, len, "%.*s", (int)(dot - host), host);
	return true;
}

/* A field: "-" for none, blanks, '%' and controls as %XX. */
static void put_field(FILE *f, const char *s)
{
	if (!*s) {
		fputc('-', f);
		return;
	}
	if (!strcmp(s, "-")) {
		fputs("%2D", f);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == 0x7f || c == '%')
			fprintf(f, "%%%02X", c);
		else
			fputc(c, f);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The next field of a line (blank-separated) decoded into buf: false when
 * there is none, it does not fit, or its encoding is bad.
 */
static bool get_field(const char **p, const char *end, char *buf, size_t max)
{
	const char *s = *p;
	size_t n = 0;
	int hi, lo;

	if (s >= end || *s == ' ')
		return false;
	if (*s == '-' && (s + 1 == end || s[1] == ' ')) {
		buf[0] = '\0';
		*p = s + 1 < end ? s + 2 : s + 1;
		return max > 0;
	}
	for (; s < end && *s != ' '; s++) {
		char c = *s;

		if (c == '%') {
			if (end - s < 3 || (hi = hexval(s[1])) < 0 ||
			    (lo = hexval(s[2])) < 0)
				return false;
			c = (char)(hi * 16 + lo);
			s += 2;
		}
		if (!c || n + 1 >= max)
			return false;
		buf[n++] = c;
	}
	buf[n] = '\0';
	*p = s < end ? s + 1 : s;
	return true;
}

/* What a record name can hold: the store's token, and not "-". */
static bool token_ok(const char *s, size_t max)
{
	return veer_objstore_token_ok(s, max) && strcmp(s, "-") != 0;
}

static const struct veer_model *sort_model;

static int cmp_by_host(const void *a, const void *b)
{
	const struct veer_service_model *x =
		&sort_model->services[*(const size_t *)a];
	const struct veer_service_model *y =
		&sort_model->services[*(const size_t *)b];
	int c = strcmp(x->host, y->host);

	return c ? c : strcmp(x->name, y->name);
}

struct short_pair {
	char name[VEER_NAME_MAX];
	const char *host;
};

static int cmp_short(const void *a, const void *b)
{
	const struct short_pair *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->host, y->host);
}

static int put_record(struct veer_objset *out, const char *kind,
		      const char *name, FILE *f, char **text, size_t *len)
{
	struct veer_object_key key;
	int ret;

	if (fclose(f)) {
		free(*text);
		return -1;
	}
	memset(&key, 0, sizeof(key));
	snprintf(key.kind, sizeof(key.kind), "%s", kind);
	snprintf(key.name, sizeof(key.name), "%s", name);
	ret = veer_objset_put(out, &key, *text, *len, NULL, NULL);
	free(*text);
	*text = NULL;
	*len = 0;
	return ret;
}

/* One ~host record per host; false in *complete for a host it cannot be. */
static int host_records(const struct veer_model *model, const size_t *order,
			size_t n, struct veer_objset *out, bool *complete)
{
	char vip[64], *text = NULL;
	size_t i, j, len = 0;
	FILE *f;

	for (i = 0; i < n; i = j) {
		const struct veer_service_model *first =
			&model->services[order[i]];

		for (j = i + 1; j < n && !strcmp(model->services[order[j]].host,
						 first->host);
		     j++)
			;
		if (!token_ok(first->host, VEER_OBJ_NAME_MAX)) {
			*complete = false;
			continue;
		}
		f = open_memstream(&text, &len);
		if (!f)
			return -1;
		for (size_t k = i; k < j; k++) {
			const struct veer_service_model *svc =
				&model->services[order[k]];
			const struct veer_route_ref *r = &svc->route;

			put_field(f, svc->name);
			fprintf(f, " %u %s %u ",
				svc->key.family == VEER_AF_INET6 ? 6 : 4,
				veer_addr_format(&svc->key.vip, svc->key.family,
						 vip, sizeof(vip)),
				ntohs(svc->key.port));
			put_field(f, r->vs_name[0] ? r->vs_ns : "");
			fputc(' ', f);
			put_field(f, r->vs_name);
			fprintf(f, " %s %u ", r->tcp ? "tcp" : "http",
				r->index);
			put_field(f, r->dest_host);
			fputc('\n', f);
		}
		if (put_record(out, VEER_INDEX_KIND_HOST, first->host, f, &text,
			       &len))
			return -1;
	}
	return 0;
}

/* One ~short record per short name of the Kubernetes hosts. */
static int short_records(const struct veer_model *model, const size_t *order,
			 size_t n, struct veer_objset *out, bool *complete)
{
	struct short_pair *pairs;
	char *text = NULL;
	size_t i, j, m = 0, len = 0;
	int ret = 0;
	FILE *f;

	pairs = calloc(n ? n : 1, sizeof(*pairs));
	if (!pairs)
		return -1;
	for (i = 0; i < n; i++) {
		const char *host = model->services[order[i]].host;

		if (m && !strcmp(pairs[m - 1].host, host))
			continue; /* order groups a host's entries */
		if (!veer_index_short_of(host, pairs[m].name,
					 sizeof(pairs[m].name)))
			continue;
		if (!token_ok(pairs[m].name, VEER_OBJ_NAME_MAX)) {
			*complete = false;
			continue;
		}
		pairs[m++].host = host;
	}
	qsort(pairs, m, sizeof(*pairs), cmp_short);
	for (i = 0; i < m && !ret; i = j) {
		f = open_memstream(&text, &len);
		if (!f) {
			ret = -1;
			break;
		}
		for (j = i; j < m && !strcmp(pairs[j].name, pairs[i].name);
		     j++) {
			put_field(f, pairs[j].host);
			fputc('\n', f);
		}
		ret = put_record(out, VEER_INDEX_KIND_SHORT, pairs[i].name, f,
				 &text, &len);
	}
	free(pairs);
	return ret;
}

int veer_index_records(const struct veer_model *model, struct veer_objset *out)
{
	struct veer_object_key key;
	bool complete = true;
	size_t *order, n = 0, i;
	int ret;

	veer_objset_init(out);
	order = calloc(model->count ? model->count : 1, sizeof(*order));
	if (!order)
		return -1;
	for (i = 0; i < model->count; i++)
		if (model->services[i].host[0])
			order[n++] = i;
	sort_model = model;
	qsort(order, n, sizeof(*order), cmp_by_host);
	ret = host_records(model, order, n, out, &complete) ||
	      short_records(model, order, n, out, &complete);
	free(order);
	if (!ret && complete) {
		memset(&key, 0, sizeof(key));
		snprintf(key.kind, sizeof(key.kind), VEER_INDEX_KIND_STATE);
		snprintf(key.name, sizeof(key.name), VEER_INDEX_STATE_NAME);
		ret = veer_objset_put(out, &key, VEER_INDEX_FORMAT,
				      strlen(VEER_INDEX_FORMAT), NULL, NULL);
	}
	if (ret)
		veer_objset_free(out);
	return ret ? -1 : 0;
}

int veer_index_diff(const struct veer_objset *want,
		    const struct veer_objset *have, struct veer_objset *changes)
{
	const struct veer_object *o, *old;
	size_t i;

	for (i = 0; i < want->count; i++) {
		o = &want->objects[i];
		if (o->removed)
			continue;
		old = veer_objset_find(have, &o->key);
		if (old && old->len == o->len &&
		    !memcmp(old->text, o->text, o->len))
			continue;
		if (veer_objset_put(changes, &o->key, o->text, o->len, NULL,
				    NULL))
			return -1;
	}
	for (i = 0; i < have->count; i++) {
		o = &have->objects[i];
		if (o->removed || veer_objset_find(want, &o->key))
			continue;
		if (veer_objset_put(changes, &o->key, "", 0, NULL, NULL))
			return -1;
	}
	return 0;
}

/* One line of a ~host record into svc. */
static bool parse_host_line(const char *l, const char *end,
			    struct veer_service_model *svc)
{
	char fam[4], vip[64], port[8], kind[8], index[16], *tail;
	struct veer_route_ref *r = &svc->route;
	uint16_t port_host;
	uint8_t family;
	unsigned long v;

	if (!get_field(&l, end, svc->name, sizeof(svc->name)) ||
	    !get_field(&l, end, fam, sizeof(fam)) ||
	    !get_field(&l, end, vip, sizeof(vip)) ||
	    !get_field(&l, end, port, sizeof(port)) ||
	    !get_field(&l, end, r->vs_ns, sizeof(r->vs_ns)) ||
	    !get_field(&l, end, r->vs_name, sizeof(r->vs_name)) ||
	    !get_field(&l, end, kind, sizeof(kind)) ||
	    !get_field(&l, end, index, sizeof(index)) ||
	    !get_field(&l, end, r->dest_host, sizeof(r->dest_host)) ||
	    l != end || !svc->name[0])
		return false;
	if (veer_addr_parse(vip, &svc->key.vip, &family) ||
	    strcmp(fam, family == VEER_AF_INET6 ? "6" : "4") ||
	    veer_port_parse(port, &port_host))
		return false;
	svc->key.family = family;
	svc->key.port = htons(port_host);
	svc->key.proto = IPPROTO_TCP;
	if (strcmp(kind, "tcp") && strcmp(kind, "http"))
		return false;
	r->tcp = !strcmp(kind, "tcp");
	v = strtoul(index, &tail, 10);
	if (!index[0] || *tail || v > 1000000)
		return false;
	r->index = (unsigned int)v;
	return true;
}

int veer_index_parse_host(const char *host, const char *text, size_t len,
			  struct veer_model *out)
{
	const char *l = text, *end = text + len, *nl;
	struct veer_service_model *svc;

	for (; l < end; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(end - l));
		if (!nl)
			return -1;
		svc = veer_model_add_service(out);
		if (!svc)
			return -1;
		snprintf(svc->host, sizeof(svc->host), "%s", host);
		if (!parse_host_line(l, nl, svc))
			return -1;
	}
	return 0;
}

int veer_index_parse_short(const char *text, size_t len,
			   int (*fn)(const char *host, void *ctx), void *ctx)
{
	const char *l = text, *end = text + len, *nl, *p;
	char host[VEER_NAME_MAX];
	int ret;

	for (; l < end; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(end - l));
		p = l;
		if (!nl || !get_field(&p, nl, host, sizeof(host)) || p != nl ||
		    !host[0])
			return -1;
		ret = fn(host, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Typed reading of yaml_tree nodes, errors and notes (yaml_read.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "yaml_read.h"

/* Longest integer text accepted: 4294967295 has 10 digits. */
#define UINT_DIGITS_MAX 10
#define NOTE_MAX 1024

void veer_yreader_free(struct veer_yreader *r)
{
	size_t i;

	for (i = 0; i < r->note_count; i++)
		free(r->notes[i]);
	free(r->notes);
	r->notes = NULL;
	r->note_count = r->notes_dropped = 0;
}

int veer_yfail(struct veer_yreader *r, const ynode *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	veer_vfail_at(r->err, r->errlen, at ? at->file : NULL,
		      at ? at->line : 0, at ? at->column : 0, fmt, ap);
	va_end(ap);
	return -1;
}

void veer_ynote(struct veer_yreader *r, const ynode *at, const char *fmt, ...)
{
	char line[NOTE_MAX], **grown;
	va_list ap;

	if (r->note_count >= VEER_NOTES_MAX) {
		r->notes_dropped++;
		return;
	}
	va_start(ap, fmt);
	veer_vfail_at(line, sizeof(line), at ? at->file : NULL,
		      at ? at->line : 0, at ? at->column : 0, fmt, ap);
	va_end(ap);
	grown = realloc(r->notes, (r->note_count + 1) * sizeof(*grown));
	if (grown)
		r->notes = grown;
	if (!grown || !(r->notes[r->note_count] = strdup(line))) {
		r->notes_dropped++;
		return;
	}
	r->note_count++;
}

void veer_yreader_notes(const struct veer_yreader *r, veer_note_fn fn,
			void *ctx)
{
	char msg[64];
	size_t i;

	if (!fn)
		return;
	for (i = 0; i < r->note_count; i++)
		fn(ctx, r->notes[i]);
	if (r->notes_dropped) {
		snprintf(msg, sizeof(msg), "... and %zu more notes",
			 r->notes_dropped);
		fn(ctx, msg);
	}
}

const char *veer_yquote(const ynode *n, char *buf, size_t len)
{
	return veer_quote(n->text, n->len, VEER_YQUOTE_MAX, buf, len);
}

const char *veer_ydescribe(const ynode *n, char *buf, size_t len)
{
	char qb[VEER_YQUOTE_BUF];

	if (!n)
		return "nothing";
	switch (n->type) {
	case VEER_YNODE_MAP:
		return "a mapping";
	case VEER_YNODE_SEQ:
		return "a list";
	default:
		if (n->kind == VEER_YSCALAR_NULL)
			return "null";
		snprintf(buf, len, n->plain ? "%s" : "string \"%s\"",
			 veer_yquote(n, qb, sizeof(qb)));
		return buf;
	}
}

const char *veer_ydescribe_in(const struct veer_yreader *r, const ynode *n,
			      char *buf, size_t len)
{
	char q[VEER_YQUOTE_BUF];

	if (!r->native || !n || n->type != VEER_YNODE_SCALAR || !n->plain ||
	    n->kind == VEER_YSCALAR_NULL)
		return veer_ydescribe(n, buf, len);
	snprintf(buf, len, "\"%s\"", veer_yquote(n, q, sizeof(q)));
	return buf;
}

const ynode *veer_yopt(const ynode *n)
{
	return veer_ynode_is_null(n) ? NULL : n;
}

const ynode *veer_yfield(const ynode *map, const char *key)
{
	return veer_yopt(veer_ynode_get(map, key));
}

int veer_ywant(struct veer_yreader *r, const ynode *n, int type,
	       const char *what)
{
	char d[VEER_YDESCRIBE_BUF];

	if (n->type == type)
		return 0;
	return veer_yfail(r, n, "%s must be a %s, got %s", what,
			  type == VEER_YNODE_MAP ? "mapping" : "list",
			  veer_ydescribe_in(r, n, d, sizeof(d)));
}

int veer_yget_text(struct veer_yreader *r, const ynode *n, const char *what)
{
	char d[VEER_YDESCRIBE_BUF];

	bool scalar = n->type == VEER_YNODE_SCALAR;

	if (!scalar || n->kind == VEER_YSCALAR_NULL ||
	    (!r->native && n->kind != VEER_YSCALAR_STR)) {
		if (scalar && n->kind != VEER_YSCALAR_NULL)
			return veer_yfail(
				r, n, "%s must be a string, got %s; quote it",
				what, veer_ydescribe_in(r, n, d, sizeof(d)));
		return veer_yfail(r, n, "%s must be a string, got %s", what,
				  veer_ydescribe_in(r, n, d, sizeof(d)));
	}
	if (memchr(n->text, '\0', n->len))
		return veer_yfail(r, n, "%s must not contain NUL characters",
				  what);
	return 0;
}

int veer_yget_name(struct veer_yreader *r, const ynode *n, const char *what,
		   char *dst, size_t size)
{
	if (veer_yget_text(r, n, what) < 0)
		return -1;
	if (n->len == 0)
		return veer_yfail(r, n, "%s must not be empty", what);
	if (n->len >= size)
		return veer_yfail(r, n, "%s is %zu bytes long, at most %zu",
				  what, n->len, size - 1);
	memcpy(dst, n->text, n->len + 1);
	return 0;
}

int veer_yget_uint(struct veer_yreader *r, const ynode *n, const char *what,
		   unsigned int min, unsigned int max, unsigned int *out)
{
	unsigned long long value = 0;
	char d[VEER_YDESCRIBE_BUF];
	/* Natively, unquoted only: a weight means one number to every
	 * tool that reads the file. */
	bool ok = n->type == VEER_YNODE_SCALAR &&
		  (n->kind == VEER_YSCALAR_INT ||
		   (n->kind == VEER_YSCALAR_STR && !r->native)) &&
		  (n->plain || !r->native);
	size_t i;

	ok = ok && n->len > 0 && n->len <= UINT_DIGITS_MAX &&
	     !(n->len > 1 && n->text[0] == '0');
	for (i = 0; ok && i < n->len; i++) {
		ok = n->text[i] >= '0' && n->text[i] <= '9';
		value = value * 10 + (unsigned long long)(n->text[i] - '0');
	}
	if (!ok || value < min || value > max)
		return veer_yfail(r, n, "%s must be an integer %u..%u, got %s",
				  what, min, max,
				  veer_ydescribe_in(r, n, d, sizeof(d)));
	*out = (unsigned int)value;
	return 0;
}

int veer_yget_bool(struct veer_yreader *r, const ynode *n, const char *what,
		   bool *out)
{
	char d[VEER_YDESCRIBE_BUF];

	if (n->type == VEER_YNODE_SCALAR && n->kind == VEER_YSCALAR_BOOL) {
		*out = n->text[0] == 't' || n->text[0] == 'T';
		return 0;
	}
	return veer_yfail(r, n, "%s must be true or false, got %s", what,
			  veer_ydescribe_in(r, n, d, sizeof(d)));
}

int veer_yget_type_meta(struct veer_yreader *r, const ynode *obj,
			const ynode **api, const ynode **kind)
{
	*api = veer_yfield(obj, "apiVersion");
	*kind = veer_yfield(obj, "kind");
	if (!*api)
		return veer_yfail(r, obj, "apiVersion is required");
	if (!*kind)
		return veer_yfail(r, obj, "kind is required");
	if (veer_yget_text(r, *api, "apiVersion") < 0 ||
	    veer_yget_text(r, *kind, "kind") < 0)
		return -1;
	return 0;
}

bool veer_ytext_is_ci(const ynode *n, const char *name)
{
	return n->len == strlen(name) && !strncasecmp(n->text, name, n->len);
}

int veer_ycheck_fields(struct veer_yreader *r, const ynode *map,
		       const struct veer_field_spec *spec, size_t nspec,
		       const char *where)
{
	char qb[VEER_YQUOTE_BUF];
	size_t i, j;

	for (i = 0; i < map->len; i++) {
		const ynode *k = veer_ynode_key(map, i);

		for (j = 0; j < nspec; j++)
			if (veer_ynode_is(k, spec[j].name))
				break;
		if (j == nspec)
			return veer_yfail(r, k, "unknown field \"%s\" in %s",
					  veer_yquote(k, qb, sizeof(qb)),
					  where);
		/* Null is unset (YAML, protobuf JSON): nothing to refuse. */
		if (veer_ynode_is_null(veer_ynode_value(map, i)))
			continue;
		switch (spec[j].action) {
		case VEER_F_PROXY:
			veer_ynote(r, k, "ignored: %s%s (proxy feature)",
				   spec[j].why ? spec[j].why : "",
				   spec[j].name);
			break;
		case VEER_F_REFUSE:
			return veer_yfail(r, k, "%s", spec[j].why);
		default:
			break;
		}
	}
	return 0;
}

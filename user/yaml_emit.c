// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* yaml_tree nodes -> block YAML (yaml_emit.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "yaml_emit.h"

#define INDENT_STEP 2

/*
 * The length of a character YAML does not take as it is in a scalar (a C1
 * control, BOM, U+FFFE, U+FFFF: YAML's non-printable ones, and NEL, which
 * a double-quoted scalar folds as a line break) at t, or 0; *cp is it.
 */
static size_t needs_escape(const unsigned char *t, size_t n, unsigned int *cp)
{
	if (n >= 2 && t[0] == 0xc2 && t[1] >= 0x80 && t[1] <= 0x9f) {
		*cp = t[1];
		return 2;
	}
	if (n >= 3 && t[0] == 0xef &&
	    ((t[1] == 0xbb && t[2] == 0xbf) ||
	     (t[1] == 0xbf && (t[2] == 0xbe || t[2] == 0xbf)))) {
		*cp = ((t[1] & 0x3fu) << 6 | (t[2] & 0x3fu)) | 0xf000u;
		return 3;
	}
	return 0;
}

/*
 * A double-quoted string, YAML's or JSON's: both escape the quote and the
 * backslash alike, ASCII control characters each its own way
 * (control_format: \xNN for YAML, \u00NN for JSON), and what YAML would
 * not read back as written as \uNNNN, which both take.
 */
static void quoted(FILE *out, const char *text, size_t len,
		   const char *control_format)
{
	unsigned int cp;
	size_t i, n;

	fputc('"', out);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, control_format, c);
		else if ((n = needs_escape((const unsigned char *)text + i,
					   len - i, &cp))) {
			fprintf(out, "\\u%04x", cp);
			i += n - 1;
		} else {
			fputc(c, out);
		}
	}
	fputc('"', out);
}

void veer_yaml_emit_string(FILE *out, const char *text, size_t len)
{
	quoted(out, text, len, "\\x%02x");
}

/*
 * Text that a block context reads as one plain scalar, unchanged: printable
 * ASCII, no indicator first, no ": " or " #", no blank at either end.
 */
static bool plain_safe(const char *t, size_t n)
{
	size_t i;

	if (n == 0 || t[0] == ' ' || t[n - 1] == ' ' || t[n - 1] == ':')
		return false;
	/* A document marker at a line's start; a merge key. */
	if ((n >= 3 && (!strncmp(t, "---", 3) || !strncmp(t, "...", 3))) ||
	    (n == 2 && !strncmp(t, "<<", 2)))
		return false;
	if (strchr("?:,[]{}#&*!|>'\"%@`", t[0]) ||
	    (t[0] == '-' && (n == 1 || t[1] == ' ')))
		return false;
	/* At the start of a line these end or start a document. */
	if (n >= 3 && (!strncmp(t, "---", 3) || !strncmp(t, "...", 3)))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)t[i];

		if (c < 0x20 || c > 0x7e || c == '\\' || c == '"')
			return false;
		if (c == ':' && i + 1 < n && t[i + 1] == ' ')
			return false;
		if (c == '#' && i && t[i - 1] == ' ')
			return false;
	}
	return true;
}

static const char *kind_tag(unsigned char kind)
{
	switch (kind) {
	case VEER_YSCALAR_NULL:
		return "!!null";
	case VEER_YSCALAR_BOOL:
		return "!!bool";
	case VEER_YSCALAR_INT:
		return "!!int";
	case VEER_YSCALAR_FLOAT:
		return "!!float";
	default:
		return "!!str";
	}
}

void veer_yaml_emit_scalar(FILE *out, const struct veer_ynode *n)
{
	if (plain_safe(n->text, n->len) &&
	    veer_yaml_plain_kind(n->text, n->len) == n->kind) {
		fwrite(n->text, 1, n->len, out);
		return;
	}
	if (n->kind == VEER_YSCALAR_NULL && n->len == 0) {
		fputs("null", out);
		return;
	}
	/* A string needs only quotes; any other kind keeps it by its tag. */
	if (n->kind != VEER_YSCALAR_STR)
		fprintf(out, "%s ", kind_tag(n->kind));
	veer_yaml_emit_string(out, n->text, n->len);
}

static void emit_block(FILE *out, const struct veer_ynode *n,
		       unsigned int indent, bool inline_first);

static bool is_empty_collection(const struct veer_ynode *n)
{
	return n->type != VEER_YNODE_SCALAR && n->len == 0;
}

/* After "key:" or "-": the value on this line, or a block below it. */
static void emit_value(FILE *out, const struct veer_ynode *v,
		       unsigned int indent, bool after_dash)
{
	if (v->type == VEER_YNODE_SCALAR && v->len == 0 &&
	    v->kind == VEER_YSCALAR_NULL) {
		fputc('\n', out); /* "key:" alone: null, read back as written */
	} else if (v->type == VEER_YNODE_SCALAR) {
		fputc(' ', out);
		veer_yaml_emit_scalar(out, v);
		fputc('\n', out);
	} else if (is_empty_collection(v)) {
		fputs(v->type == VEER_YNODE_MAP ? " {}\n" : " []\n", out);
	} else if (after_dash) {
		/* "- key: v" / "- - v": the first line shares the dash's. */
		fputc(' ', out);
		emit_block(out, v, indent + INDENT_STEP, true);
	} else {
		fputc('\n', out);
		emit_block(out, v, indent + INDENT_STEP, false);
	}
}

static void emit_block(FILE *out, const struct veer_ynode *n,
		       unsigned int indent, bool inline_first)
{
	size_t i;

	for (i = 0; i < n->len; i++) {
		if (i || !inline_first)
			fprintf(out, "%*s", (int)indent, "");
		if (n->type == VEER_YNODE_MAP) {
			veer_yaml_emit_scalar(out, veer_ynode_key(n, i));
			fputc(':', out);
			emit_value(out, veer_ynode_value(n, i), indent, false);
		} else {
			fputc('-', out);
			emit_value(out, n->items[i], indent, true);
		}
	}
}

int veer_yaml_emit_document(const struct veer_ynode *node, char **text,
			    size_t *len)
{
	FILE *out;

	*text = NULL;
	*len = 0;
	out = open_memstream(text, len);
	if (!out)
		return -1;
	if (node->type == VEER_YNODE_SCALAR) {
		veer_yaml_emit_scalar(out, node);
		fputc('\n', out);
	} else if (is_empty_collection(node)) {
		fputs(node->type == VEER_YNODE_MAP ? "{}\n" : "[]\n", out);
	} else {
		emit_block(out, node, 0, false);
	}
	if (fclose(out)) {
		free(*text);
		*text = NULL;
		return -1;
	}
	return 0;
}

/* ---- JSON ---- */

static void json_string(FILE *out, const char *text, size_t len)
{
	quoted(out, text, len, "\\u%04x");
}

/* Whether text is a number by JSON's grammar (RFC 8259). */
static bool json_number_ok(const char *t)
{
	if (*t == '-')
		t++;
	if (*t == '0')
		t++;
	else if (*t >= '1' && *t <= '9')
		while (*t >= '0' && *t <= '9')
			t++;
	else
		return false;
	if (*t == '.') {
		if (*++t < '0' || *t > '9')
			return false;
		while (*t >= '0' && *t <= '9')
			t++;
	}
	if (*t == 'e' || *t == 'E') {
		if (*++t == '+' || *t == '-')
			t++;
		if (*t < '0' || *t > '9')
			return false;
		while (*t >= '0' && *t <= '9')
			t++;
	}
	return !*t;
}

/*
 * A YAML number as JSON: YAML 1.2 core reads "017" as decimal, "0o17" as
 * octal and "0x1F" as hex; floats such as ".5", "1." or "01.5" are no JSON
 * numbers as written. What has no JSON number (.inf, .nan, out of range, a
 * tagged text that is no number) stays a string.
 */
static void json_number(FILE *out, const struct veer_ynode *n)
{
	char text[64];
	char *end;
	const char *t = text;

	if (n->len >= sizeof(text) || !n->len ||
	    memchr(n->text, '\0', n->len)) {
		json_string(out, n->text, n->len);
		return;
	}
	memcpy(text, n->text, n->len);
	text[n->len] = '\0';
	if (n->kind == VEER_YSCALAR_INT) {
		long long v;
		int base = 10;

		if (t[0] == '0' && (t[1] == 'o' || t[1] == 'x')) {
			base = t[1] == 'o' ? 8 : 16;
			t += 2;
		}
		errno = 0;
		v = strtoll(t, &end, base);
		if (*end || end == t || errno ||
		    (base != 10 && (*t == '-' || *t == '+')))
			json_string(out, n->text, n->len);
		else
			fprintf(out, "%lld", v);
		return;
	}
	if (text[0] == '+')
		t++;
	if (json_number_ok(t)) {
		fprintf(out, "%s%s", t, strpbrk(t, ".eE") ? "" : ".0");
		return;
	}
	errno = 0;
	{
		double d = strtod(t, &end);

		/* strtod takes "inf", "nan" and hex: YAML does not. */
		if (*end || end == t || errno || d != d || d - d != 0 ||
		    strpbrk(t, "xXnNiI")) {
			json_string(out, n->text, n->len);
			return;
		}
		/* Still a float: 1.0, not 1. */
		snprintf(text, sizeof(text), "%.17g", d);
		fprintf(out, "%s%s", text, strpbrk(text, ".eE") ? "" : ".0");
	}
}

void veer_yaml_emit_json(FILE *out, const struct veer_ynode *n)
{
	size_t i;

	switch (n->type) {
	case VEER_YNODE_MAP:
		fputc('{', out);
		for (i = 0; i < n->len; i++) {
			const struct veer_ynode *k = veer_ynode_key(n, i);

			if (i)
				fputc(',', out);
			json_string(out, k->text, k->len);
			fputc(':', out);
			veer_yaml_emit_json(out, veer_ynode_value(n, i));
		}
		fputc('}', out);
		return;
	case VEER_YNODE_SEQ:
		fputc('[', out);
		for (i = 0; i < n->len; i++) {
			if (i)
				fputc(',', out);
			veer_yaml_emit_json(out, n->items[i]);
		}
		fputc(']', out);
		return;
	default:
		break;
	}
	switch (n->kind) {
	case VEER_YSCALAR_NULL:
		fputs("null", out);
		break;
	case VEER_YSCALAR_BOOL:
		fputs(n->text[0] == 't' || n->text[0] == 'T' ? "true" : "false",
		      out);
		break;
	case VEER_YSCALAR_INT:
	case VEER_YSCALAR_FLOAT:
		json_number(out, n);
		break;
	default:
		json_string(out, n->text, n->len);
	}
}

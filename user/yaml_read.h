/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Typed reading of yaml_tree nodes against a schema, shared by every
 * loader (veer native files, Istio and Kubernetes objects): each accessor
 * checks one node and, when it is wrong, writes one line
 * "file:line:col: what must be X, got Y" and returns -1. A reader also
 * keeps the notes a loader gathers (ignored fields, skipped kinds).
 */
#ifndef VEER_YAML_READ_H
#define VEER_YAML_READ_H

#include <stdbool.h>
#include <stddef.h>
#include "diag.h"
#include "yaml_tree.h"

/* Notes beyond this many are counted, not kept. */
#define VEER_NOTES_MAX 1000
/* Offending values quoted in messages are cut to this many bytes. */
#define VEER_YQUOTE_MAX 40
#define VEER_YQUOTE_BUF VEER_QUOTE_BUF(VEER_YQUOTE_MAX)
/* Room for veer_ydescribe: a quoted value and "string \"...\"". */
#define VEER_YDESCRIBE_BUF (VEER_YQUOTE_BUF + 16)

typedef struct veer_ynode ynode;

struct veer_yreader {
	char *err; /* where the one error line goes (may be NULL) */
	size_t errlen;
	char **notes;
	size_t note_count, notes_dropped;
	/*
	 * veer's native format: any scalar but null is text (`name: 1` is
	 * the name "1"), numbers and booleans must be unquoted, and plain
	 * values are quoted in messages too ("got \"abc\"").
	 */
	bool native;
};

/* Frees the notes; the reader can be used again. */
void veer_yreader_free(struct veer_yreader *r);

/* One line "file:line:col: message" (at may be NULL) in r->err; -1. */
__attribute__((format(printf, 3, 4))) int
veer_yfail(struct veer_yreader *r, const ynode *at, const char *fmt, ...);

/* Keeps a note "file:line:col: message"; one lost to memory is counted. */
__attribute__((format(printf, 3, 4))) void
veer_ynote(struct veer_yreader *r, const ynode *at, const char *fmt, ...);

/* Hands every note kept to fn, in order, then "... and N more notes". */
void veer_yreader_notes(const struct veer_yreader *r, veer_note_fn fn,
			void *ctx);

/* A scalar's text quoted for a message (veer_quote, cut). */
const char *veer_yquote(const ynode *n, char *buf, size_t len);
/* What a node is, for "must be X, got Y": "a mapping", "null", ... */
const char *veer_ydescribe(const ynode *n, char *buf, size_t len);
/* The same in r's style (r->native quotes plain values as well). */
const char *veer_ydescribe_in(const struct veer_yreader *r, const ynode *n,
			      char *buf, size_t len);

/* NULL for absent and null nodes: both mean "unset" in YAML and JSON. */
const ynode *veer_yopt(const ynode *n);
/* veer_yopt of the value under key. */
const ynode *veer_yfield(const ynode *map, const char *key);

/* The node is a mapping (VEER_YNODE_MAP) or a list (VEER_YNODE_SEQ). */
int veer_ywant(struct veer_yreader *r, const ynode *n, int type,
	       const char *what);
/*
 * A string: quoted, or plain text that is not a number, boolean or null
 * (kubectl refuses `version: 1` for a label, so does veer); no NUL.
 */
int veer_yget_text(struct veer_yreader *r, const ynode *n, const char *what);
/* A non-empty string of at most size - 1 bytes, copied to dst. */
int veer_yget_name(struct veer_yreader *r, const ynode *n, const char *what,
		   char *dst, size_t size);
/*
 * Decimal only and no leading zeros ("010" is octal to YAML 1.1 readers).
 * Quoted digits are accepted as well: protobuf's JSON mapping takes "80"
 * for an integer, so Istio does, and `kubectl patch` users write it.
 */
int veer_yget_uint(struct veer_yreader *r, const ynode *n, const char *what,
		   unsigned int min, unsigned int max, unsigned int *out);
int veer_yget_bool(struct veer_yreader *r, const ynode *n, const char *what,
		   bool *out);
/*
 * A Kubernetes object's apiVersion and kind (its TypeMeta), both required
 * strings; obj is a mapping.
 */
int veer_yget_type_meta(struct veer_yreader *r, const ynode *obj,
			const ynode **api, const ynode **kind);
/* Case-insensitive compare of a scalar with an enum name. */
bool veer_ytext_is_ci(const ynode *n, const char *name);

enum veer_field_action {
	VEER_F_USE, /* read by the code */
	VEER_F_SILENT, /* accepted, means nothing for veer */
	VEER_F_PROXY, /* accepted with a note: a proxy feature veer lacks */
	VEER_F_REFUSE, /* error with the given reason */
};

struct veer_field_spec {
	const char *name;
	enum veer_field_action action;
	const char *why; /* VEER_F_REFUSE: the message; VEER_F_PROXY: path */
};

/*
 * Checks the keys of a mapping against a field list: unknown keys are
 * errors (a typo must not silently change the routing), proxy features
 * are noted, refused ones are errors.
 */
int veer_ycheck_fields(struct veer_yreader *r, const ynode *map,
		       const struct veer_field_spec *spec, size_t nspec,
		       const char *where);

#define VEER_YCHECK_FIELDS(r, map, spec, where)                                \
	veer_ycheck_fields(r, map, spec, sizeof(spec) / sizeof(spec[0]), where)

#endif /* VEER_YAML_READ_H */

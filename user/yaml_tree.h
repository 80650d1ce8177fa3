/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * YAML text -> a read-only tree of nodes, each knowing where it was written,
 * which every loader reads (native.c, istio.c) and load.c sorts by format.
 * This is the one place libyaml is set up: UTF-8 forced, a BOM skipped, its
 * errors turned into "file:line:col: message" lines.
 *
 * The tree is bounded before anything is built: texts over
 * VEER_YAML_MAX_BYTES, more than VEER_YAML_MAX_NODES nodes or nesting
 * deeper than VEER_YAML_MAX_DEPTH are refused, and so are aliases and
 * anchors (no expansion bombs), tags outside the YAML core schema, invalid
 * UTF-8, complex and merge ("<<") keys and keys given twice in a mapping.
 */
#ifndef VEER_YAML_TREE_H
#define VEER_YAML_TREE_H

#include <stdbool.h>
#include <stddef.h>

/* Larger texts are refused before parsing (bounded memory and time). */
#define VEER_YAML_MAX_BYTES (16 * 1024 * 1024)
#define VEER_YAML_MAX_DEPTH 64
#define VEER_YAML_MAX_NODES 1000000
/* A stream (veer_ytree_stream) is bounded per object by the limits above
 * and as a whole by this many bytes. */
#define VEER_YAML_MAX_STREAM_BYTES (4ULL << 30)

enum veer_ynode_type {
	VEER_YNODE_SCALAR = 1,
	VEER_YNODE_MAP,
	VEER_YNODE_SEQ,
};

/*
 * What a scalar means under the YAML 1.2 core schema: quoted and block
 * scalars are strings, plain ones are resolved by their text, and a core
 * tag (!!str, !!int, ...) overrides both.
 */
enum veer_yscalar_kind {
	VEER_YSCALAR_STR = 1,
	VEER_YSCALAR_NULL,
	VEER_YSCALAR_BOOL,
	VEER_YSCALAR_INT,
	VEER_YSCALAR_FLOAT,
};

struct veer_ynode {
	const char *file; /* the tree's name, for "file:line:col" */
	unsigned int line; /* 1-based */
	unsigned int column; /* 1-based, in characters */
	unsigned char type; /* enum veer_ynode_type */
	unsigned char kind; /* scalars: enum veer_yscalar_kind */
	bool plain; /* scalars: written without quotes */
	/*
	 * The core tag written on the node ("!!int", "!"), NULL when none:
	 * a schema that takes types from itself alone refuses any.
	 */
	const char *tag;
	/* Scalar: bytes of text. Mapping: pairs. Sequence: items. */
	size_t len;
	/* Scalar: NUL-terminated text (may also hold NUL bytes itself). */
	const char *text;
	/* Sequence: len items. Mapping: 2 * len, key then value. */
	struct veer_ynode *const *items;
};

struct veer_ytree_arena;

struct veer_ytree {
	char *file; /* owned copy of the name */
	size_t doc_count;
	/* One root per document; a document with no content has a null. */
	struct veer_ynode **docs;
	size_t node_count;
	struct veer_ytree_arena *arena;
};

/*
 * Parses buf (UTF-8, an optional BOM, one or more documents) into *tree.
 * Returns 0, or -1 with one line "name:line:col: message" in err and
 * *tree empty. Free with veer_ytree_free either way.
 */
int veer_ytree_parse(struct veer_ytree *tree, const char *name, const char *buf,
		     size_t len, char *err, size_t errlen);
void veer_ytree_free(struct veer_ytree *tree);

/*
 * The fields of a mapping to keep (a table ends with a NULL key), and of
 * each kept value what to keep (inner; NULL: all of it). A list's items
 * are kept as the list is.
 */
struct veer_ykeep {
	const char *key;
	const struct veer_ykeep *inner;
	/* A list: only its items (mappings) where where_key is where_value. */
	const char *where_key, *where_value;
};

/*
 * A copy of node with only the fields keep names, in a tree of its own
 * (out->docs[0]); positions and file name stay those of node. 0, or -1
 * with err (out of memory) and *out empty.
 */
int veer_ytree_copy_kept(const struct veer_ynode *node,
			 const struct veer_ykeep *keep, struct veer_ytree *out,
			 char *err, size_t errlen);

/* A stream's text: a buffer (buf set), or fd read to its end after the
 * prefix (bytes already read from it). */
struct veer_ystream_input {
	const char *buf;
	size_t len;
	int fd;
	const char *prefix;
	size_t prefix_len;
};

/* One object of a stream, in a tree of its own: tree->docs[0]. */
struct veer_ystream_object {
	/* The reader may keep it: move *tree out and zero it. */
	struct veer_ytree *tree;
	/* An item of the list under this key at a document's top (NULL: a
	 * whole document). */
	const char *split_key;
	/* A whole document whose split lists were handed over item by item
	 * before it; it holds them as empty lists. */
	bool split;
};

/* 0, or -1 with the message in the reader's own err. */
typedef int (*veer_ystream_fn)(void *ctx, struct veer_ystream_object *obj);

/*
 * Parses a text of any size one object at a time: each document, and each
 * item of a list under one of split_keys (NULL-terminated; may be NULL) at
 * the top of a document, is built alone within the limits above (an
 * object) and handed to fn as it completes, items before their document.
 * Line and column numbers are those of the whole text. Returns 0, or -1
 * with err (fn's own, or "name:line:col: message").
 */
int veer_ytree_stream(const char *name, const struct veer_ystream_input *in,
		      const char *const *split_keys, veer_ystream_fn fn,
		      void *ctx, char *err, size_t errlen);

/* The value under `key` in a mapping, or NULL (also for non-mappings). */
const struct veer_ynode *veer_ynode_get(const struct veer_ynode *map,
					const char *key);
/* Mapping pair i: its key and value. */
const struct veer_ynode *veer_ynode_key(const struct veer_ynode *map, size_t i);
const struct veer_ynode *veer_ynode_value(const struct veer_ynode *map,
					  size_t i);
/* A scalar whose text is exactly `text`. */
bool veer_ynode_is(const struct veer_ynode *node, const char *text);
/* Absent, or a null scalar: how YAML and protobuf JSON say "unset". */
bool veer_ynode_is_null(const struct veer_ynode *node);

/*
 * The same tree: structure, mapping order, scalar kinds and texts (nulls
 * equal however spelt). What written-back YAML must read back as.
 */
bool veer_ynode_equal(const struct veer_ynode *a, const struct veer_ynode *b);

/* What a plain (unquoted, untagged) scalar of this text means: a kind. */
unsigned char veer_yaml_plain_kind(const char *text, size_t len);

#endif /* VEER_YAML_TREE_H */

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * libyaml events -> node tree. Built iteratively with an explicit stack (no
 * recursion on input depth anywhere), every node and string in an arena so
 * freeing is a walk over a few large blocks, and every limit checked before
 * the memory for it is taken.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>
#include "diag.h"
#include "yaml_tree.h"

/*
 * Arena blocks grow from ARENA_FIRST_BLOCK to ARENA_BLOCK (a stream keeps
 * one small tree per object, 100,000 of them); larger requests get a block
 * of their own.
 */
#define ARENA_FIRST_BLOCK 1024
#define ARENA_BLOCK (64 * 1024)
#define ARENA_ALIGN 8
/* Values quoted in messages are cut here. */
#define QUOTE_MAX 40
#define QUOTE_BUF (QUOTE_MAX * 4 + 8)
/* Mappings up to this size are checked for repeated keys pairwise. */
#define DUP_PAIRWISE_MAX 16
#define UTF8_BOM "\xef\xbb\xbf"
/* More than libyaml reads ahead of its events (its buffers: 16 KiB). */
#define READ_AHEAD_MAX (1024 * 1024)
/* The last bytes of a stream kept to place libyaml's errors in. */
#define STREAM_WINDOW (64 * 1024)
#define STD_TAG_PREFIX "tag:yaml.org,2002:"

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	/* Keeps data[] aligned for any node or pointer. */
	_Alignas(ARENA_ALIGN) unsigned char data[];
};

struct veer_ytree_arena {
	struct arena_block *head; /* the block being carved, then the rest */
};

static void *arena_alloc(struct veer_ytree_arena *a, size_t size)
{
	struct arena_block *b = a->head;
	size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	size_t block;

	if (need < size)
		return NULL;
	if (b && b->size - b->used >= need) {
		void *p = b->data + b->used;

		b->used += need;
		return p;
	}
	if (need > SIZE_MAX - sizeof(*b))
		return NULL;
	if (need > ARENA_BLOCK / 4) {
		/* A big string or child array: its own block, behind head. */
		b = malloc(sizeof(*b) + need);
		if (!b)
			return NULL;
		b->size = b->used = need;
		if (a->head) {
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = NULL;
			a->head = b;
		}
		return b->data;
	}
	block = a->head ? a->head->size * 2 : ARENA_FIRST_BLOCK;
	if (block > ARENA_BLOCK)
		block = ARENA_BLOCK;
	if (block < need)
		block = need;
	b = malloc(sizeof(*b) + block);
	if (!b)
		return NULL;
	b->size = block;
	b->used = need;
	b->next = a->head;
	a->head = b;
	return b->data;
}

/* A first block of exactly size bytes, for a tree whose size is known. */
static int arena_reserve(struct veer_ytree_arena *a, size_t size)
{
	struct arena_block *b;

	if (size > SIZE_MAX - sizeof(*b))
		return -1;
	b = malloc(sizeof(*b) + size);
	if (!b)
		return -1;
	b->size = size;
	b->used = 0;
	b->next = a->head;
	a->head = b;
	return 0;
}

static size_t aligned(size_t size)
{
	return (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

static void arena_free(struct veer_ytree_arena *a)
{
	struct arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

/*
 * The part of the text still at hand when libyaml reports an error: all of
 * it for a buffer, the last bytes read for a stream. line and column are
 * those of buf[0] (1-based, columns in characters), offset its byte offset
 * in the text (after a BOM).
 */
struct text_window {
	const char *buf;
	size_t len;
	size_t offset;
	size_t line, column;
};

/* Steps over one byte: how lines and columns (characters) advance. */
static void advance(const char *buf, size_t len, size_t i, size_t *line,
		    size_t *col)
{
	unsigned char ch = (unsigned char)buf[i];

	if (ch == '\n' ||
	    (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
		(*line)++;
		*col = 1;
	} else if ((ch & 0xc0) != 0x80) {
		/* Columns count characters, as libyaml's do. */
		(*col)++;
	}
}

/*
 * Byte offset -> 1-based line and column, or 0 and 0 when the window no
 * longer holds it.
 */
static void offset_position(const struct text_window *w, size_t offset,
			    size_t *line, size_t *col)
{
	size_t i;

	*line = 0;
	*col = 0;
	if (offset < w->offset)
		return;
	*line = w->line;
	*col = w->column;
	for (i = 0; i < offset - w->offset && i < w->len; i++)
		advance(w->buf, w->len, i, line, col);
}

/* The byte a libyaml mark points at, or -1. */
static int byte_at_mark(const struct text_window *w, const yaml_mark_t *mark)
{
	size_t i = 0, line = w->line, col = w->column;

	if (mark->line + 1 < line ||
	    (mark->line + 1 == line && mark->column + 1 < col))
		return -1;
	while (i < w->len &&
	       (line < mark->line + 1 ||
		(line == mark->line + 1 && col < mark->column + 1)))
		advance(w->buf, w->len, i++, &line, &col);
	/* Past the start of a character's continuation bytes. */
	while (i < w->len && ((unsigned char)w->buf[i] & 0xc0) == 0x80)
		i++;
	return i < w->len ? (unsigned char)w->buf[i] : -1;
}

/*
 * libyaml's parser error as "name:line:col: message", saying what to fix
 * where libyaml's message does not (tabs, UTF-8). w is what is left of the
 * text the parser was given and bom_len the bytes skipped before it.
 * Returns -1.
 */
static int parser_error(const yaml_parser_t *p, const char *name,
			const struct text_window *w, size_t bom_len, char *err,
			size_t errlen)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	size_t line, col;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return veer_fail_at(err, errlen, name, 0, 0, "out of memory");
	case YAML_READER_ERROR:
		offset_position(w, p->problem_offset, &line, &col);
		if (strstr(problem, "UTF-8"))
			return veer_fail_at(err, errlen, name, line, col,
					    "not valid UTF-8 at byte %zu (%s); "
					    "the file must be UTF-8 text",
					    p->problem_offset + bom_len,
					    problem);
		if (p->problem_value >= 0)
			return veer_fail_at(err, errlen, name, line, col,
					    "%s (character 0x%x)", problem,
					    p->problem_value);
		return veer_fail_at(err, errlen, name, line, col, "%s",
				    problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR: {
		const char *hint = "";

		/* libyaml's messages for a tab rarely say "tab". */
		if (byte_at_mark(w, &p->problem_mark) == '\t' &&
		    !strstr(problem, "tab"))
			hint = "; tabs cannot indent YAML";
		if (p->context)
			return veer_fail_at(
				err, errlen, name, p->problem_mark.line + 1,
				p->problem_mark.column + 1,
				"%s (%s at line %zu, column %zu)%s", problem,
				p->context, p->context_mark.line + 1,
				p->context_mark.column + 1, hint);
		return veer_fail_at(err, errlen, name, p->problem_mark.line + 1,
				    p->problem_mark.column + 1, "%s%s", problem,
				    hint);
	}
	default:
		return veer_fail_at(err, errlen, name, 0, 0,
				    "YAML error %d: %s", p->error, problem);
	}
}

struct builder;
static int parse_failed(struct builder *b);

/* An open collection: its node and the children gathered so far. */
struct frame {
	struct veer_ynode *node;
	struct veer_ynode **kids;
	size_t count, cap;
	/* A split list (streams): its items are handed over one by one. */
	const char *split_key;
};

/* A stream's input (fd), with the last bytes read kept for errors. */
struct stream_source {
	const struct veer_ystream_input *in;
	size_t prefix_used;
	bool started, eof;
	size_t total; /* bytes given to the parser */
	int read_errno; /* a read failed */
	bool too_big; /* over VEER_YAML_MAX_STREAM_BYTES */
	/*
	 * Characters read (libyaml's marks count characters), and where the
	 * object being built began: one larger than a whole object may be
	 * is refused while it is read, before libyaml holds all of it (one
	 * scalar of gigabytes).
	 */
	size_t chars, object_start;
	bool object_too_big;
	size_t bom_len;
	char window[STREAM_WINDOW];
	struct text_window win; /* over window[] */
};

struct builder {
	yaml_parser_t parser;
	yaml_event_t event;
	bool have_event;
	const char *name; /* for messages */
	struct veer_ytree *tree; /* where nodes go now */
	struct text_window win; /* a buffer's (streams: src->win) */
	size_t bom_len;
	struct frame stack[VEER_YAML_MAX_DEPTH];
	unsigned int depth;
	/* Documents gathered so far (moved to the arena at the end). */
	struct veer_ynode **docs;
	size_t doc_cap;
	char *err;
	size_t errlen;
	/*
	 * Streams (veer_ytree_stream): each document, and each item of a
	 * split list, is a tree of its own, handed to fn when complete.
	 */
	veer_ystream_fn fn;
	void *ctx;
	const char *const *split_keys;
	struct stream_source *src;
	struct veer_ytree doc, item;
	size_t doc_start, item_start, items_bytes; /* mark indexes */
	yaml_mark_t object_mark; /* where the object being built began */
	yaml_mark_t doc_mark;
	bool doc_split;
};

__attribute__((format(printf, 3, 4))) static int
b_fail(struct builder *b, const yaml_mark_t *mark, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (mark)
		return veer_fail_at(b->err, b->errlen, b->name, mark->line + 1,
				    mark->column + 1, "%s", msg);
	return veer_fail_at(b->err, b->errlen, b->name, 0, 0, "%s", msg);
}

static bool text_in(const char *text, size_t len, const char *const *set)
{
	for (; *set; set++)
		if (strlen(*set) == len && !memcmp(text, *set, len))
			return true;
	return false;
}

static bool all_digits(const char *s, size_t n, const char *digits)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (!strchr(digits, s[i]) || !s[i])
			return false;
	return true;
}

/* YAML 1.2 core schema float:
 * [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_core_float(const char *s, size_t n)
{
	size_t i = 0, d = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		i++;
		d++;
	}
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			i++;
			d++;
		}
	}
	if (d == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i >= n || !(s[i] >= '0' && s[i] <= '9'))
			return false;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	return i == n;
}

static unsigned char plain_kind(const char *s, size_t n)
{
	static const char *const nulls[] = {"",	    "~",    "null",
					    "Null", "NULL", NULL};
	static const char *const bools[] = {"true",  "True",  "TRUE", "false",
					    "False", "FALSE", NULL};
	static const char *const specials[] = {
		".inf",	 ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
		"-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};
	size_t sign = n && (s[0] == '-' || s[0] == '+');

	/* Most plain scalars are words: no null, bool or number starts so. */
	if (n && !memchr("~nNtTfF.+-0123456789", s[0], 20))
		return VEER_YSCALAR_STR;
	if (text_in(s, n, nulls))
		return VEER_YSCALAR_NULL;
	if (text_in(s, n, bools))
		return VEER_YSCALAR_BOOL;
	if (all_digits(s + sign, n - sign, "0123456789") ||
	    (n > 2 && s[0] == '0' && s[1] == 'o' &&
	     all_digits(s + 2, n - 2, "01234567")) ||
	    (n > 2 && s[0] == '0' && s[1] == 'x' &&
	     all_digits(s + 2, n - 2, "0123456789abcdefABCDEF")))
		return VEER_YSCALAR_INT;
	if (is_core_float(s, n) || text_in(s, n, specials))
		return VEER_YSCALAR_FLOAT;
	return VEER_YSCALAR_STR;
}

/*
 * Checks the event's anchor and tag; returns the scalar kind a core tag
 * imposes (0 when untagged), or -1. *spelled is the tag as the node keeps
 * it (NULL when untagged).
 */
static int check_props(struct builder *b, const yaml_char_t *anchor,
		       const yaml_char_t *tag, unsigned char type,
		       const char **spelled)
{
	static const struct {
		const char *name, *spelled;
		unsigned char type, kind;
	} core[] = {
		{"str", "!!str", VEER_YNODE_SCALAR, VEER_YSCALAR_STR},
		{"int", "!!int", VEER_YNODE_SCALAR, VEER_YSCALAR_INT},
		{"bool", "!!bool", VEER_YNODE_SCALAR, VEER_YSCALAR_BOOL},
		{"null", "!!null", VEER_YNODE_SCALAR, VEER_YSCALAR_NULL},
		{"float", "!!float", VEER_YNODE_SCALAR, VEER_YSCALAR_FLOAT},
		{"map", "!!map", VEER_YNODE_MAP, 0},
		{"seq", "!!seq", VEER_YNODE_SEQ, 0},
	};
	const yaml_mark_t *mark = &b->event.start_mark;
	char q[QUOTE_BUF];
	const char *t;
	size_t i, skip = strlen(STD_TAG_PREFIX);

	*spelled = NULL;
	if (anchor)
		return b_fail(b, mark,
			      "anchor &%s: anchors and aliases are not "
			      "supported",
			      veer_quote((const char *)anchor,
					 strlen((const char *)anchor),
					 QUOTE_MAX, q, sizeof(q)));
	if (!tag)
		return 0;
	t = (const char *)tag;
	/* "!" alone: the non-specific tag, i.e. "a string" for scalars. */
	if (!strcmp(t, "!")) {
		*spelled = "!";
		return type == VEER_YNODE_SCALAR ? VEER_YSCALAR_STR : 0;
	}
	if (!strncmp(t, STD_TAG_PREFIX, skip)) {
		for (i = 0; i < sizeof(core) / sizeof(core[0]); i++) {
			if (strcmp(t + skip, core[i].name))
				continue;
			if (core[i].type != type)
				return b_fail(b, mark,
					      "tag !!%s does not fit this "
					      "node",
					      core[i].name);
			*spelled = core[i].spelled;
			return core[i].kind;
		}
		return b_fail(b, mark,
			      "tag !!%s: only the YAML core tags are "
			      "supported (!!str, !!int, !!bool, !!null, "
			      "!!float, !!map, !!seq)",
			      veer_quote(t + skip, strlen(t + skip), QUOTE_MAX,
					 q, sizeof(q)));
	}
	/* Tags are URIs with %-escapes decoded: quote them. */
	return b_fail(b, mark,
		      "tag %s: only the YAML core tags are supported (!!str, "
		      "!!int, !!bool, !!null, !!float, !!map, !!seq)",
		      veer_quote(t, strlen(t), QUOTE_MAX, q, sizeof(q)));
}

/* Bytes of the object being built so far (a split list's items apart). */
static size_t object_bytes(const struct builder *b)
{
	size_t at = b->event.end_mark.index;

	if (b->tree == &b->item)
		return at - b->item_start;
	return at - b->doc_start - b->items_bytes;
}

static struct veer_ynode *new_node(struct builder *b, unsigned char type)
{
	struct veer_ynode *n;

	if (b->tree->node_count >= VEER_YAML_MAX_NODES) {
		b_fail(b, &b->event.start_mark, "more than %d YAML nodes%s",
		       VEER_YAML_MAX_NODES, b->fn ? " in one object" : "");
		return NULL;
	}
	if (b->fn && object_bytes(b) > VEER_YAML_MAX_BYTES) {
		b_fail(b, &b->event.start_mark,
		       "an object larger than the limit of %d bytes",
		       VEER_YAML_MAX_BYTES);
		return NULL;
	}
	n = arena_alloc(b->tree->arena, sizeof(*n));
	if (!n) {
		b_fail(b, NULL, "out of memory");
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	b->tree->node_count++;
	n->file = b->tree->file;
	n->type = type;
	n->line = (unsigned int)b->event.start_mark.line + 1;
	n->column = (unsigned int)b->event.start_mark.column + 1;
	return n;
}

static int push_child(struct builder *b, struct frame *f, struct veer_ynode *n)
{
	if (f->count == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct veer_ynode **grown;

		/* Bounded by VEER_YAML_MAX_NODES, so no overflow here. */
		grown = realloc(f->kids, cap * sizeof(*grown));
		if (!grown)
			return b_fail(b, NULL, "out of memory");
		f->kids = grown;
		f->cap = cap;
	}
	f->kids[f->count++] = n;
	return 0;
}

/* A key and its position in the mapping, for sorting. */
struct key_ref {
	const struct veer_ynode *key;
	size_t pos;
};

static int cmp_key_ref(const void *pa, const void *pb)
{
	const struct key_ref *a = pa, *b = pb;
	size_t n = a->key->len < b->key->len ? a->key->len : b->key->len;
	int c = memcmp(a->key->text, b->key->text, n);

	if (c)
		return c;
	if (a->key->len != b->key->len)
		return a->key->len < b->key->len ? -1 : 1;
	/* Ties in file order (not address order: the arena has blocks). */
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

static bool same_key(const struct veer_ynode *a, const struct veer_ynode *b)
{
	return a->len == b->len && !memcmp(a->text, b->text, a->len);
}

/*
 * A key given twice: YAML says it is an error, and parsers disagree on
 * which value wins, so the file would mean different things to kubectl and
 * veer. Large mappings are sorted rather than compared pairwise.
 */
static int check_duplicate_keys(struct builder *b, struct frame *f)
{
	const struct veer_ynode *first = NULL, *second = NULL;
	size_t pairs = f->count / 2, i, j, second_pos = 0;
	char q[QUOTE_BUF];

	if (pairs <= DUP_PAIRWISE_MAX) {
		for (i = 1; i < pairs && !second; i++)
			for (j = 0; j < i; j++)
				if (same_key(f->kids[2 * i], f->kids[2 * j])) {
					first = f->kids[2 * j];
					second = f->kids[2 * i];
					break;
				}
	} else {
		struct key_ref *keys = malloc(pairs * sizeof(*keys));

		if (!keys)
			return b_fail(b, NULL, "out of memory");
		for (i = 0; i < pairs; i++) {
			keys[i].key = f->kids[2 * i];
			keys[i].pos = i;
		}
		qsort(keys, pairs, sizeof(*keys), cmp_key_ref);
		for (i = 1; i < pairs; i++) {
			if (!same_key(keys[i - 1].key, keys[i].key))
				continue;
			/* The earliest second occurrence in the file. */
			if (!second || keys[i].pos < second_pos) {
				first = keys[i - 1].key;
				second = keys[i].key;
				second_pos = keys[i].pos;
			}
		}
		free(keys);
	}
	if (!second)
		return 0;
	return veer_fail_at(
		b->err, b->errlen, b->name, second->line, second->column,
		"key \"%s\" given twice (first at line %u, column %u)",
		veer_quote(second->text, second->len, QUOTE_MAX, q, sizeof(q)),
		first->line, first->column);
}

static int tree_init(struct veer_ytree *tree, const char *name, char *err,
		     size_t errlen)
{
	memset(tree, 0, sizeof(*tree));
	tree->file = strdup(name);
	tree->arena = calloc(1, sizeof(*tree->arena));
	if (!tree->file || !tree->arena)
		return veer_fail_at(err, errlen, name, 0, 0, "out of memory");
	return 0;
}

/* Drops the nodes of a tree that failed; keeps its name. */
static void tree_clear(struct veer_ytree *tree)
{
	arena_free(tree->arena);
	tree->arena = NULL;
	tree->docs = NULL;
	tree->doc_count = 0;
	tree->node_count = 0;
}

/* The documents gathered for b->tree, into its arena. */
static int seal_docs(struct builder *b)
{
	struct veer_ytree *tree = b->tree;
	struct veer_ynode **docs;

	if (!tree->doc_count)
		return 0;
	docs = arena_alloc(tree->arena, tree->doc_count * sizeof(*docs));
	if (!docs)
		return b_fail(b, NULL, "out of memory");
	memcpy(docs, b->docs, tree->doc_count * sizeof(*docs));
	tree->docs = docs;
	return 0;
}

/* Hands a finished object's tree to the stream's reader, then frees it. */
static int hand_over(struct builder *b, struct veer_ytree *tree,
		     const char *split_key)
{
	struct veer_ystream_object obj = {
		.tree = tree,
		.split_key = split_key,
		.split = !split_key && b->doc_split,
	};
	int ret = b->fn(b->ctx, &obj);

	veer_ytree_free(tree); /* unless the reader took it */
	return ret;
}

/* Whether the open collection is a split list: its items are objects. */
static const char *split_list(const struct builder *b)
{
	return b->depth == 2 ? b->stack[1].split_key : NULL;
}

/* A stream's object begins (at character index `at`, as counted). */
static void object_begins(struct builder *b, size_t at, const yaml_mark_t *mark)
{
	b->object_mark = *mark;
	if (b->src)
		b->src->object_start = at;
}

/* A split list's item begins: a tree of its own. */
static int item_begin(struct builder *b)
{
	if (tree_init(&b->item, b->name, b->err, b->errlen) < 0)
		return -1;
	b->tree = &b->item;
	b->item_start = b->event.start_mark.index;
	object_begins(b, b->item_start, &b->event.start_mark);
	return 0;
}

/* Attaches a finished node to the open collection, or makes it a root. */
static int attach(struct builder *b, struct veer_ynode *n)
{
	struct frame *f;

	if (split_list(b) && b->tree == &b->item) {
		struct veer_ynode **docs;

		docs = arena_alloc(b->item.arena, sizeof(*docs));
		if (!docs)
			return b_fail(b, NULL, "out of memory");
		docs[0] = n;
		b->item.docs = docs;
		b->item.doc_count = 1;
		b->items_bytes += b->event.end_mark.index - b->item_start;
		b->tree = &b->doc;
		/* The document goes on: its own size counts, not its items'. */
		object_begins(b, b->doc_start + b->items_bytes, &b->doc_mark);
		return hand_over(b, &b->item, split_list(b));
	}
	if (b->depth == 0) {
		if (b->tree->doc_count == b->doc_cap) {
			size_t cap = b->doc_cap ? b->doc_cap * 2 : 4;
			struct veer_ynode **grown;

			grown = realloc(b->docs, cap * sizeof(*grown));
			if (!grown)
				return b_fail(b, NULL, "out of memory");
			b->docs = grown;
			b->doc_cap = cap;
		}
		b->docs[b->tree->doc_count++] = n;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	/* Keys sit at even positions of a mapping. */
	if (f->node->type == VEER_YNODE_MAP && f->count % 2 == 0) {
		if (n->type != VEER_YNODE_SCALAR)
			return veer_fail_at(
				b->err, b->errlen, b->name, n->line, n->column,
				"mapping keys must be strings, not "
				"%s",
				n->type == VEER_YNODE_MAP ? "mappings"
							  : "lists");
		if (n->len == 0 && n->plain)
			return veer_fail_at(b->err, b->errlen, b->name, n->line,
					    n->column, "empty mapping key");
		/* YAML 1.1 merge keys: kubectl would merge, veer will not. */
		if (n->plain && n->len == 2 && !memcmp(n->text, "<<", 2))
			return veer_fail_at(
				b->err, b->errlen, b->name, n->line, n->column,
				"merge keys (<<) are not supported");
	}
	return push_child(b, f, n);
}

static int on_scalar(struct builder *b)
{
	const yaml_event_t *ev = &b->event;
	struct veer_ynode *n;
	const char *tag;
	char *text;
	int kind;

	kind = check_props(b, ev->data.scalar.anchor, ev->data.scalar.tag,
			   VEER_YNODE_SCALAR, &tag);
	if (kind < 0)
		return -1;
	if (split_list(b) && item_begin(b) < 0)
		return -1;
	n = new_node(b, VEER_YNODE_SCALAR);
	if (!n)
		return -1;
	n->tag = tag;
	text = arena_alloc(b->tree->arena, ev->data.scalar.length + 1);
	if (!text)
		return b_fail(b, NULL, "out of memory");
	memcpy(text, ev->data.scalar.value, ev->data.scalar.length);
	text[ev->data.scalar.length] = '\0';
	n->text = text;
	n->len = ev->data.scalar.length;
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	if (kind)
		n->kind = (unsigned char)kind;
	else if (n->plain)
		n->kind = plain_kind(text, n->len);
	else
		n->kind = VEER_YSCALAR_STR;
	return attach(b, n);
}

/*
 * A stream's document splits the list under one of the split keys at its
 * top: this list (just opened) is one when its key is such a key.
 */
static const char *splits(const struct builder *b)
{
	const struct frame *top = &b->stack[0];
	const struct veer_ynode *key;
	const char *const *k;

	if (!b->split_keys || b->depth != 1 ||
	    top->node->type != VEER_YNODE_MAP || top->count % 2 == 0)
		return NULL;
	key = top->kids[top->count - 1];
	for (k = b->split_keys; *k; k++)
		if (veer_ynode_is(key, *k))
			return *k;
	return NULL;
}

static int on_start(struct builder *b, unsigned char type)
{
	const yaml_event_t *ev = &b->event;
	const char *split_key = NULL;
	struct veer_ynode *n;
	struct frame *f;
	const char *tag;
	int kind;

	if (type == VEER_YNODE_MAP)
		kind = check_props(b, ev->data.mapping_start.anchor,
				   ev->data.mapping_start.tag, type, &tag);
	else
		kind = check_props(b, ev->data.sequence_start.anchor,
				   ev->data.sequence_start.tag, type, &tag);
	if (kind < 0)
		return -1;
	if (b->depth >= VEER_YAML_MAX_DEPTH)
		return b_fail(b, &ev->start_mark,
			      "nested deeper than %d levels",
			      VEER_YAML_MAX_DEPTH);
	if (type == VEER_YNODE_SEQ)
		split_key = splits(b);
	if (split_list(b) && item_begin(b) < 0)
		return -1;
	n = new_node(b, type);
	if (!n)
		return -1;
	n->tag = tag;
	f = &b->stack[b->depth++];
	f->node = n;
	f->count = 0;
	f->split_key = split_key;
	if (split_key)
		b->doc_split = true;
	return 0;
}

static int on_end(struct builder *b)
{
	struct frame *f = &b->stack[b->depth - 1];
	struct veer_ynode **items = NULL;

	if (f->node->type == VEER_YNODE_MAP) {
		if (check_duplicate_keys(b, f) < 0)
			return -1;
		f->node->len = f->count / 2;
	} else {
		f->node->len = f->count;
	}
	if (f->count) {
		items = arena_alloc(b->tree->arena, f->count * sizeof(*items));
		if (!items)
			return b_fail(b, NULL, "out of memory");
		memcpy(items, f->kids, f->count * sizeof(*items));
	}
	f->node->items = items;
	f->split_key = NULL;
	b->depth--;
	return attach(b, f->node);
}

/* Streams: a document begins in a tree of its own. */
static int document_begin(struct builder *b)
{
	if (!b->fn)
		return 0;
	if (tree_init(&b->doc, b->name, b->err, b->errlen) < 0)
		return -1;
	b->tree = &b->doc;
	b->doc_start = b->event.start_mark.index;
	b->items_bytes = 0;
	b->doc_mark = b->event.start_mark;
	object_begins(b, b->doc_start, &b->doc_mark);
	b->doc_split = false;
	return 0;
}

static int document_end(struct builder *b)
{
	if (!b->fn)
		return 0;
	if (seal_docs(b) < 0)
		return -1;
	return hand_over(b, &b->doc, NULL);
}

static int build(struct builder *b)
{
	char q[QUOTE_BUF];

	for (;;) {
		const yaml_event_t *ev = &b->event;
		int ret = 0;

		if (b->have_event)
			yaml_event_delete(&b->event);
		b->have_event = false;
		if (!yaml_parser_parse(&b->parser, &b->event))
			return parse_failed(b);
		b->have_event = true;
		switch (ev->type) {
		case YAML_STREAM_END_EVENT:
			return 0;
		case YAML_ALIAS_EVENT:
			return b_fail(
				b, &ev->start_mark,
				"alias *%s: aliases are not supported",
				veer_quote((const char *)ev->data.alias.anchor,
					   strlen((const char *)ev->data.alias
							  .anchor),
					   QUOTE_MAX, q, sizeof(q)));
		case YAML_SCALAR_EVENT:
			ret = on_scalar(b);
			break;
		case YAML_MAPPING_START_EVENT:
			ret = on_start(b, VEER_YNODE_MAP);
			break;
		case YAML_SEQUENCE_START_EVENT:
			ret = on_start(b, VEER_YNODE_SEQ);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			ret = on_end(b);
			break;
		case YAML_DOCUMENT_START_EVENT:
			ret = document_begin(b);
			break;
		case YAML_DOCUMENT_END_EVENT:
			ret = document_end(b);
			break;
		default: /* stream start */
			break;
		}
		if (ret < 0)
			return -1;
	}
}

/* The builder's parser and frames, freed. */
static void builder_free(struct builder *b)
{
	unsigned int i;

	if (b->have_event)
		yaml_event_delete(&b->event);
	yaml_parser_delete(&b->parser);
	for (i = 0; i < VEER_YAML_MAX_DEPTH; i++)
		free(b->stack[i].kids);
	free(b->docs);
	veer_ytree_free(&b->doc);
	veer_ytree_free(&b->item);
}

/*
 * Forced UTF-8, or libyaml would also take UTF-16 with a BOM. Forced,
 * libyaml no longer drops a UTF-8 BOM but counts it as a column on line 1,
 * which breaks the indentation of files whose first key starts at column
 * 1. It is skipped before the parser sees it; editors don't show it either.
 */
static bool skip_bom(const char **buf, size_t *len)
{
	if (*len < sizeof(UTF8_BOM) - 1 ||
	    memcmp(*buf, UTF8_BOM, sizeof(UTF8_BOM) - 1))
		return false;
	*buf += sizeof(UTF8_BOM) - 1;
	*len -= sizeof(UTF8_BOM) - 1;
	return true;
}

int veer_ytree_parse(struct veer_ytree *tree, const char *name, const char *buf,
		     size_t len, char *err, size_t errlen)
{
	struct builder b = {
		.tree = tree,
		.err = err,
		.errlen = errlen,
	};
	int ret = -1;

	if (err && errlen)
		err[0] = '\0';
	if (!name)
		name = "<config>";
	if (!buf)
		buf = "", len = 0;
	if (tree_init(tree, name, err, errlen) < 0)
		goto out;
	b.name = tree->file;
	if (len > VEER_YAML_MAX_BYTES) {
		veer_fail_at(err, errlen, name, 0, 0,
			     "%zu bytes, larger than the limit of %d bytes",
			     len, VEER_YAML_MAX_BYTES);
		goto out;
	}
	if (!yaml_parser_initialize(&b.parser)) {
		veer_fail_at(err, errlen, name, 0, 0, "out of memory");
		goto out;
	}
	if (skip_bom(&buf, &len))
		b.bom_len = sizeof(UTF8_BOM) - 1;
	b.win = (struct text_window){
		.buf = buf, .len = len, .line = 1, .column = 1};
	yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf,
				     len);
	ret = build(&b);
	if (!ret)
		ret = seal_docs(&b);
out:
	builder_free(&b);
	if (ret)
		tree_clear(tree); /* keep the name: callers may print it */
	return ret;
}

/* ---- Kept fields ---- */

static const struct veer_ykeep *kept(const struct veer_ykeep *keep,
				     const struct veer_ynode *key)
{
	for (; keep->key; keep++)
		if (veer_ynode_is(key, keep->key))
			return keep;
	return NULL;
}

/* Whether a list's item stays: sel (the entry that kept the list) says. */
static bool item_kept(const struct veer_ykeep *sel,
		      const struct veer_ynode *item)
{
	return !sel || !sel->where_key ||
	       veer_ynode_is(veer_ynode_get(item, sel->where_key),
			     sel->where_value);
}

/* The arena bytes copy_node takes for n (its tree is one block). */
static size_t copy_size(const struct veer_ynode *n,
			const struct veer_ykeep *keep,
			const struct veer_ykeep *sel)
{
	size_t size = aligned(sizeof(*n)), i;

	if (n->type == VEER_YNODE_SCALAR)
		return size + aligned(n->len + 1);
	for (i = 0; i < n->len; i++) {
		const struct veer_ykeep *k;

		if (n->type == VEER_YNODE_SEQ) {
			if (item_kept(sel, n->items[i]))
				size += copy_size(n->items[i], keep, NULL);
			continue;
		}
		k = keep ? kept(keep, n->items[2 * i]) : NULL;
		if (keep && !k)
			continue;
		size += copy_size(n->items[2 * i], NULL, NULL) +
			copy_size(n->items[2 * i + 1], k ? k->inner : NULL, k);
	}
	/* The items array is as large as the node's, used or not. */
	if (n->len)
		size += aligned((n->type == VEER_YNODE_MAP ? 2 : 1) * n->len *
				sizeof(struct veer_ynode *));
	return size;
}

/* Depth is bounded by the tree's own (VEER_YAML_MAX_DEPTH). */
static struct veer_ynode *copy_node(struct veer_ytree *out,
				    const struct veer_ynode *n,
				    const struct veer_ykeep *keep,
				    const struct veer_ykeep *sel)
{
	struct veer_ynode *c = arena_alloc(out->arena, sizeof(*c)), **items;
	size_t i, count = 0, slots;

	if (!c)
		return NULL;
	*c = *n;
	c->file = out->file;
	c->items = NULL;
	out->node_count++;
	if (n->type == VEER_YNODE_SCALAR) {
		char *text = arena_alloc(out->arena, n->len + 1);

		if (!text)
			return NULL;
		memcpy(text, n->text, n->len + 1);
		c->text = text;
		return c;
	}
	slots = n->type == VEER_YNODE_MAP ? 2 * n->len : n->len;
	if (!slots)
		return c;
	items = arena_alloc(out->arena, slots * sizeof(*items));
	if (!items)
		return NULL;
	for (i = 0; i < n->len; i++) {
		if (n->type == VEER_YNODE_SEQ) {
			if (!item_kept(sel, n->items[i]))
				continue;
			items[count] = copy_node(out, n->items[i], keep, NULL);
			if (!items[count++])
				return NULL;
			continue;
		}
		const struct veer_ykeep *k =
			keep ? kept(keep, n->items[2 * i]) : NULL;

		if (keep && !k)
			continue;
		items[count] = copy_node(out, n->items[2 * i], NULL, NULL);
		items[count + 1] = copy_node(out, n->items[2 * i + 1],
					     k ? k->inner : NULL, k);
		if (!items[count] || !items[count + 1])
			return NULL;
		count += 2;
	}
	c->items = items;
	c->len = n->type == VEER_YNODE_MAP ? count / 2 : count;
	return c;
}

int veer_ytree_copy_kept(const struct veer_ynode *node,
			 const struct veer_ykeep *keep, struct veer_ytree *out,
			 char *err, size_t errlen)
{
	struct veer_ynode **docs;

	if (tree_init(out, node->file ? node->file : "<config>", err, errlen) <
	    0)
		goto fail;
	/* One block of the exact size: 100,000 Pods are kept this way. */
	if (arena_reserve(out->arena, aligned(sizeof(*docs)) +
					      copy_size(node, keep, NULL)) <
	    0) {
		veer_fail_at(err, errlen, out->file, 0, 0, "out of memory");
		goto fail;
	}
	docs = arena_alloc(out->arena, sizeof(*docs));
	if (!docs || !(docs[0] = copy_node(out, node, keep, NULL))) {
		veer_fail_at(err, errlen, out->file, 0, 0, "out of memory");
		goto fail;
	}
	out->docs = docs;
	out->doc_count = 1;
	return 0;
fail:
	veer_ytree_free(out);
	return -1;
}

/* ---- Streams ---- */

/*
 * Moves line and column over len bytes: as advance() byte by byte, but by
 * memchr over the lines when there is no CR (a CR alone breaks a line).
 */
static void skip_text(const char *buf, size_t len, size_t avail, size_t *line,
		      size_t *col)
{
	const char *p = buf, *end = buf + len, *nl;
	size_t i;

	/* avail: bytes valid from buf on, to see a CR's LF past len. */
	if (memchr(buf, '\r', len)) {
		for (i = 0; i < len; i++)
			advance(buf, avail, i, line, col);
		return;
	}
	while ((nl = memchr(p, '\n', (size_t)(end - p)))) {
		(*line)++;
		*col = 1;
		p = nl + 1;
	}
	for (; p < end; p++)
		if (((unsigned char)*p & 0xc0) != 0x80)
			(*col)++;
}

/* Remembers bytes handed to the parser, the last STREAM_WINDOW of them. */
static void window_add(struct stream_source *s, const unsigned char *p,
		       size_t n)
{
	struct text_window *w = &s->win;
	size_t drop;

	if (w->len + n > STREAM_WINDOW) {
		/* Forget the older half (or all): lines counted as it goes. */
		drop = w->len < STREAM_WINDOW / 2 ? w->len : STREAM_WINDOW / 2;
		if (w->len + n - drop > STREAM_WINDOW)
			drop = w->len;
		skip_text(s->window, drop, w->len, &w->line, &w->column);
		memmove(s->window, s->window + drop, w->len - drop);
		w->len -= drop;
		w->offset += drop;
	}
	if (n > STREAM_WINDOW) {
		/* Larger than the window: only its end is kept. */
		skip_text((const char *)p, n - STREAM_WINDOW, n, &w->line,
			  &w->column);
		w->offset += n - STREAM_WINDOW;
		p += n - STREAM_WINDOW;
		n = STREAM_WINDOW;
	}
	memcpy(s->window + w->len, p, n);
	w->len += n;
}

/* Up to size bytes of the input: the prefix, then the descriptor. */
static size_t read_some(struct stream_source *s, unsigned char *buf,
			size_t size)
{
	const struct veer_ystream_input *in = s->in;
	ssize_t n;

	if (s->prefix_used < in->prefix_len) {
		size_t left = in->prefix_len - s->prefix_used;

		n = (ssize_t)(left < size ? left : size);
		memcpy(buf, in->prefix + s->prefix_used, (size_t)n);
		s->prefix_used += (size_t)n;
		return (size_t)n;
	}
	while (!s->eof) {
		n = read(in->fd, buf, size);
		if (n > 0)
			return (size_t)n;
		if (n == 0)
			s->eof = true;
		else if (errno != EINTR) {
			s->read_errno = errno;
			return 0;
		}
	}
	return 0;
}

static size_t count_chars(const unsigned char *p, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += (p[i] & 0xc0) != 0x80;
	return c;
}

/* libyaml's read handler: 1 with *got bytes (0 at the end), 0 on error. */
static int stream_read(void *data, unsigned char *buf, size_t size, size_t *got)
{
	struct stream_source *s = data;
	size_t n = read_some(s, buf, size), more;

	if (!s->started) {
		s->started = true;
		/* A short first read must not hide a BOM. */
		while (n && n < sizeof(UTF8_BOM) - 1 && !s->read_errno &&
		       (more = read_some(s, buf + n, size - n)))
			n += more;
		if (n >= sizeof(UTF8_BOM) - 1 &&
		    !memcmp(buf, UTF8_BOM, sizeof(UTF8_BOM) - 1)) {
			n -= sizeof(UTF8_BOM) - 1;
			memmove(buf, buf + sizeof(UTF8_BOM) - 1, n);
			s->bom_len = sizeof(UTF8_BOM) - 1;
			/* Nothing but the BOM yet: 0 bytes would mean the end.
			 */
			if (!n && !s->read_errno)
				n = read_some(s, buf, size);
		}
	}
	if (s->read_errno)
		return 0;
	if (n > VEER_YAML_MAX_STREAM_BYTES - s->total) {
		s->too_big = true;
		return 0;
	}
	s->chars += count_chars(buf, n);
	/* Past the object's limit by more than libyaml reads ahead. */
	if (s->chars - s->object_start > VEER_YAML_MAX_BYTES + READ_AHEAD_MAX) {
		s->object_too_big = true;
		return 0;
	}
	s->total += n;
	window_add(s, buf, n);
	*got = n;
	return 1;
}

/* A parse failed: the stream's own reason, or libyaml's. */
static int parse_failed(struct builder *b)
{
	if (b->src && b->src->read_errno)
		return veer_fail_at(b->err, b->errlen, b->name, 0, 0,
				    "cannot read: %s",
				    strerror(b->src->read_errno));
	if (b->src && b->src->object_too_big)
		return b_fail(b, &b->object_mark,
			      "an object larger than the limit of %d bytes",
			      VEER_YAML_MAX_BYTES);
	if (b->src && b->src->too_big)
		return veer_fail_at(
			b->err, b->errlen, b->name, 0, 0,
			"larger than the limit of %llu bytes",
			(unsigned long long)VEER_YAML_MAX_STREAM_BYTES);
	return parser_error(
		&b->parser, b->name, b->src ? &b->src->win : &b->win,
		b->src ? b->src->bom_len : b->bom_len, b->err, b->errlen);
}

int veer_ytree_stream(const char *name, const struct veer_ystream_input *in,
		      const char *const *split_keys, veer_ystream_fn fn,
		      void *ctx, char *err, size_t errlen)
{
	struct stream_source *src = NULL;
	struct builder b = {
		.name = name ? name : "<config>",
		.err = err,
		.errlen = errlen,
		.fn = fn,
		.ctx = ctx,
		.split_keys = split_keys,
	};
	const char *buf = in->buf;
	size_t len = in->len;
	int ret = -1;

	if (err && errlen)
		err[0] = '\0';
	if (!yaml_parser_initialize(&b.parser))
		return veer_fail_at(err, errlen, b.name, 0, 0, "out of memory");
	yaml_parser_set_encoding(&b.parser, YAML_UTF8_ENCODING);
	if (buf) {
		if (skip_bom(&buf, &len))
			b.bom_len = sizeof(UTF8_BOM) - 1;
		if (len > VEER_YAML_MAX_STREAM_BYTES) {
			veer_fail_at(
				err, errlen, b.name, 0, 0,
				"larger than the limit of %llu bytes",
				(unsigned long long)VEER_YAML_MAX_STREAM_BYTES);
			goto out;
		}
		b.win = (struct text_window){
			.buf = buf, .len = len, .line = 1, .column = 1};
		yaml_parser_set_input_string(&b.parser,
					     (const unsigned char *)buf, len);
	} else {
		src = calloc(1, sizeof(*src));
		if (!src) {
			veer_fail_at(err, errlen, b.name, 0, 0,
				     "out of memory");
			goto out;
		}
		src->in = in;
		src->win = (struct text_window){
			.buf = src->window, .line = 1, .column = 1};
		b.src = src;
		yaml_parser_set_input(&b.parser, stream_read, src);
	}
	ret = build(&b);
out:
	builder_free(&b);
	free(src);
	return ret;
}

void veer_ytree_free(struct veer_ytree *tree)
{
	if (!tree)
		return;
	arena_free(tree->arena);
	free(tree->file);
	memset(tree, 0, sizeof(*tree));
}

const struct veer_ynode *veer_ynode_get(const struct veer_ynode *map,
					const char *key)
{
	size_t i, n = strlen(key);

	if (!map || map->type != VEER_YNODE_MAP)
		return NULL;
	for (i = 0; i < map->len; i++) {
		const struct veer_ynode *k = map->items[2 * i];

		if (k->len == n && !memcmp(k->text, key, n))
			return map->items[2 * i + 1];
	}
	return NULL;
}

const struct veer_ynode *veer_ynode_key(const struct veer_ynode *map, size_t i)
{
	return map->items[2 * i];
}

const struct veer_ynode *veer_ynode_value(const struct veer_ynode *map,
					  size_t i)
{
	return map->items[2 * i + 1];
}

bool veer_ynode_is(const struct veer_ynode *node, const char *text)
{
	size_t n = strlen(text);

	return node && node->type == VEER_YNODE_SCALAR && node->len == n &&
	       !memcmp(node->text, text, n);
}

bool veer_ynode_is_null(const struct veer_ynode *node)
{
	return !node || (node->type == VEER_YNODE_SCALAR &&
			 node->kind == VEER_YSCALAR_NULL);
}

unsigned char veer_yaml_plain_kind(const char *text, size_t len)
{
	return plain_kind(text, len);
}

bool veer_ynode_equal(const struct veer_ynode *a, const struct veer_ynode *b)
{
	size_t i, n;

	/* A null is a null however it was spelt ("", "~", "null"). */
	if (a->type == VEER_YNODE_SCALAR && a->kind == VEER_YSCALAR_NULL)
		return b->type == a->type && b->kind == a->kind;
	if (a->type != b->type || a->len != b->len)
		return false;
	if (a->type == VEER_YNODE_SCALAR)
		return a->kind == b->kind && !memcmp(a->text, b->text, a->len);
	n = a->type == VEER_YNODE_MAP ? 2 * a->len : a->len;
	for (i = 0; i < n; i++)
		if (!veer_ynode_equal(a->items[i], b->items[i]))
			return false;
	return true;
}

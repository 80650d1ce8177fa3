// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer get KIND[,KIND...] [NAME]: the stored objects, as applied (the
 * object store, objstore.h), listed like kubectl lists them.
 */
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "objects.h"
#include "objstore.h"
#include "output.h"
#include "yaml_emit.h"

#define KINDS_MAX 16

/* The kinds of "vs,dr" ("all": every kind); 0, or -1 when one is not. */
static int parse_kinds(const char *arg, const char **kinds, size_t *count)
{
	char copy[256], *part, *save = NULL;

	*count = 0;
	if (strlen(arg) >= sizeof(copy))
		return -1;
	snprintf(copy, sizeof(copy), "%s", arg);
	for (part = strtok_r(copy, ",", &save); part;
	     part = strtok_r(NULL, ",", &save)) {
		if (!strcmp(part, "all")) {
			*count = 0;
			return 1;
		}
		if (*count == KINDS_MAX || !veer_kind_canonical(part))
			return -1;
		kinds[(*count)++] = veer_kind_canonical(part);
	}
	return *count ? 0 : -1;
}

bool get_names_kinds(const char *arg)
{
	const char *kinds[KINDS_MAX];
	size_t n;

	return parse_kinds(arg, kinds, &n) >= 0;
}

static bool wanted(const struct veer_object *o, const char *const *kinds,
		   size_t nkinds, const char *ns, const char *name)
{
	size_t i;

	if (nkinds) {
		for (i = 0; i < nkinds; i++)
			if (!strcmp(o->key.kind, kinds[i]))
				break;
		if (i == nkinds)
			return false;
	}
	if (ns && o->key.ns[0] && strcmp(o->key.ns, ns))
		return false;
	return !name || !strcmp(o->key.name, name);
}

static int print_objects(const struct veer_objset *set, int format)
{
	struct veer_ytree tree;
	char err[VEER_ERR_LEN], id[VEER_OBJECT_ID_MAX];
	int kind_w = (int)strlen("KIND"), ns_w = (int)strlen("NAMESPACE");
	size_t i, n = 0;

	/* Columns as wide as their widest value, as kubectl prints them. */
	for (i = 0; i < set->count; i++) {
		const struct veer_object *o = &set->objects[i];

		if ((int)strlen(o->key.kind) > kind_w)
			kind_w = (int)strlen(o->key.kind);
		if ((int)strlen(o->key.ns) > ns_w)
			ns_w = (int)strlen(o->key.ns);
	}
	if (format == VEER_FORMAT_TABLE)
		printf("%-*s   %-*s   %s\n", kind_w, "KIND", ns_w, "NAMESPACE",
		       "NAME");
	if (format == VEER_FORMAT_JSON)
		printf("{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[");
	for (i = 0; i < set->count; i++) {
		const struct veer_object *o = &set->objects[i];

		if (o->removed)
			continue;
		if (format == VEER_FORMAT_TABLE) {
			printf("%-*s   %-*s   %s\n", kind_w, o->key.kind, ns_w,
			       o->key.ns[0] ? o->key.ns : "-", o->key.name);
			continue;
		}
		if (format == VEER_FORMAT_YAML) {
			printf("---\n%.*s", (int)o->len, o->text);
			continue;
		}
		memset(&tree, 0, sizeof(tree));
		if (veer_ytree_parse(&tree,
				     veer_object_id(&o->key, id, sizeof(id)),
				     o->text, o->len, err, sizeof(err)) ||
		    tree.doc_count != 1) {
			veer_ytree_free(&tree);
			fail("%s", err);
			return EXIT_FAILED;
		}
		if (n++)
			putchar(',');
		veer_yaml_emit_json(stdout, tree.docs[0]);
		veer_ytree_free(&tree);
	}
	if (format == VEER_FORMAT_JSON)
		printf("]}\n");
	return 0;
}

int get_objects(int argc, char **argv, const char *ns, bool all_namespaces,
		int format)
{
	const char *kinds[KINDS_MAX], *name = argc > 1 ? argv[1] : NULL;
	struct veer_objstore store;
	struct veer_objset all, shown;
	struct veer_object_key key;
	char err[VEER_ERR_LEN], id[VEER_OBJECT_ID_MAX], buf[CLI_QUOTE_BUF];
	size_t nkinds, i;
	int ret = EXIT_FAILED, r;

	if (argc > 2) {
		fail("expected KIND[,KIND...] [NAME]");
		return EXIT_USAGE;
	}
	if (parse_kinds(argv[0], kinds, &nkinds) < 0) {
		fail("unknown kind in '%s' (%s, or all)",
		     cli_quote(argv[0], buf), veer_kind_list());
		return EXIT_USAGE;
	}
	if (name && nkinds != 1) {
		fail("NAME needs one KIND");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	if (!ns && !all_namespaces)
		ns = "default";
	if (all_namespaces)
		ns = NULL;
	veer_objset_init(&all);
	veer_objset_init(&shown);
	if (veer_objstore_open(&store, cli.pin_root, err, sizeof(err)))
		goto fail;
	if (name) {
		/* One object: one file, whatever the store holds. */
		memset(&key, 0, sizeof(key));
		snprintf(key.kind, sizeof(key.kind), "%s", kinds[0]);
		if (veer_kind_namespaced(kinds[0]))
			snprintf(key.ns, sizeof(key.ns), "%s",
				 ns ? ns : "default");
		snprintf(key.name, sizeof(key.name), "%s", name);
		r = veer_objstore_read(&store, &key, &shown, err, sizeof(err));
		if (r < 0)
			goto fail;
		if (r == 1) {
			fail("%s: not found",
			     veer_object_id(&key, id, sizeof(id)));
			goto out;
		}
	} else {
		if (veer_objstore_load(&store, &all, err, sizeof(err)))
			goto fail;
		for (i = 0; i < all.count; i++) {
			const struct veer_object *o = &all.objects[i];

			if (!o->removed && wanted(o, kinds, nkinds, ns, NULL) &&
			    veer_objset_put(&shown, &o->key, o->text, o->len,
					    NULL, NULL)) {
				snprintf(err, sizeof(err), "out of memory");
				goto fail;
			}
		}
	}
	ret = print_objects(&shown, format);
	goto out;
fail:
	fail("%s", err);
out:
	veer_objset_free(&all);
	veer_objset_free(&shown);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Changes through the object store (configure.h). */
#include <stdlib.h>
#include <string.h>

#include "configure.h"
#include "load.h"
#include "objects.h"
#include "objstore.h"
#include "output.h"

#define ADOPTED_NAME "the maps"

/* Notes held until the change succeeded: a refused one says only why. */
struct notes {
	char *text;
	size_t len;
	FILE *f;
};

static void note_hold(void *ctx, const char *note)
{
	struct notes *n = ctx;

	if (n->f)
		fprintf(n->f, "%s\n", note);
}

/* Hands the held notes on, one a call. */
static void notes_release(struct notes *n, veer_note_fn note, void *ctx)
{
	char *line, *next;

	if (n->f && fclose(n->f) == 0 && note && n->text)
		for (line = n->text; *line; line = next) {
			next = strchr(line, '\n');
			*next++ = '\0';
			note(ctx, line);
		}
	n->f = NULL;
	free(n->text);
	n->text = NULL;
}

struct session {
	const char *pin_root;
	const struct veer_maps *maps; /* NULL: a dry run, nothing loaded */
	struct veer_objstore store;
	bool loaded; /* stored holds the whole store */
	struct veer_objset stored;
	/* Made from the maps when there was no store yet: to be stored. */
	struct veer_objset adopted;
	struct veer_model current; /* what the maps hold, when read here */
	/* What the maps hold: current, or what the caller read (in part). */
	const struct veer_model *cur;
	struct notes notes;
	char *err;
	size_t errlen;
};

static void session_free(struct session *s)
{
	veer_objset_free(&s->stored);
	veer_objset_free(&s->adopted);
	veer_model_free(&s->current);
	if (s->notes.f)
		fclose(s->notes.f);
	free(s->notes.text);
}

/* Puts (and for len 0, removes) every object of changes into set. */
static int overlay(struct veer_objset *set, const struct veer_objset *changes)
{
	size_t i;

	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];

		if (o->removed)
			continue;
		if (!o->len)
			veer_objset_remove(set, &o->key);
		else if (veer_objset_put(set, &o->key, o->text, o->len, NULL,
					 NULL))
			return -1;
	}
	return 0;
}

/* The whole of what the maps hold into s->current. */
static int read_current(struct session *s)
{
	veer_model_free(&s->current);
	veer_model_init(&s->current);
	s->cur = &s->current;
	if (!s->maps)
		return 0;
	return veer_maps_read_model(s->maps, &s->current, s->err, s->errlen);
}

/* The model the objects of set make together. */
static int build(struct session *s, const struct veer_objset *set,
		 struct veer_model *model)
{
	struct veer_objset none;
	struct veer_load_request req = {
		.stored = set,
		.input_objects = &none,
	};
	int ret;

	veer_objset_init(&none);
	ret = veer_load_config(&req, model, note_hold, &s->notes, s->err,
			       s->errlen);
	veer_objset_free(&none);
	return ret;
}

/*
 * A change that a killed process left: its objects were validated whole
 * before they were written, so it is finished, maps first.
 */
static int finish_interrupted(struct session *s)
{
	struct veer_objset pending;
	struct veer_model desired;
	bool changed;
	int ret;

	ret = veer_objstore_pending(&s->store, &pending, s->err, s->errlen);
	if (ret)
		return ret == 1 ? 0 : -1;
	veer_model_init(&desired);
	ret = veer_objstore_load(&s->store, &s->stored, s->err, s->errlen);
	if (!ret)
		s->loaded = true;
	if (!ret && overlay(&s->stored, &pending))
		ret = veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				   "out of memory");
	/* The whole configuration is written: what the maps hold, whole. */
	if (!ret && s->maps && s->cur != &s->current)
		ret = read_current(s);
	if (!ret && s->maps)
		ret = build(s, &s->stored, &desired) ||
		      veer_maps_apply(s->maps, &s->current, &desired,
				      VEER_APPLY_ALL, false, NULL, &changed,
				      s->err, s->errlen) ||
		      veer_objstore_finish(&s->store, s->err, s->errlen) ||
		      read_current(s);
	if (!ret && s->maps)
		fprintf(s->notes.f,
			"finished a change that was interrupted (%zu "
			"object%s)\n",
			pending.live, pending.live == 1 ? "" : "s");
	veer_model_free(&desired);
	veer_objset_free(&pending);
	return ret ? -1 : 0;
}

/*
 * Maps that an older veer filled, with no store: their services become
 * objects (as `veer get -o yaml` writes them) that the change stores.
 */
static int adopt_maps(struct session *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	int ret;

	if (veer_objstore_exists(&s->store))
		return 0;
	if (s->cur != &s->current && read_current(s))
		return -1;
	if (!s->current.count)
		return 0;
	f = open_memstream(&buf, &len);
	if (!f)
		return veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				    "out of memory");
	ret = veer_print_yaml_adopted(f, &s->current, s->err, s->errlen);
	if (fclose(f) && !ret)
		ret = veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				   "out of memory");
	if (!ret)
		ret = veer_load_objects(ADOPTED_NAME, buf, len, NULL,
					&s->adopted, s->err, s->errlen);
	free(buf);
	if (!ret && overlay(&s->stored, &s->adopted))
		ret = veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				   "out of memory");
	if (!ret)
		fprintf(s->notes.f,
			"no object store at %s: the %zu service%s in the maps "
			"(set by an older veer) become %zu stored objects\n",
			s->store.dir, s->current.count,
			s->current.count == 1 ? "" : "s", s->adopted.live);
	return ret;
}

/*
 * Opens the store, finishes what an interrupted change left, reads the
 * maps (unless the caller read them: known) and, unless lazy, the whole
 * store.
 */
static int session_open(struct session *s, const char *pin_root,
			const struct veer_maps *maps,
			const struct veer_model *known, bool lazy, char *err,
			size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (err && errlen)
		err[0] = '\0';
	s->pin_root = pin_root;
	s->maps = maps;
	s->err = err;
	s->errlen = errlen;
	veer_objset_init(&s->stored);
	veer_objset_init(&s->adopted);
	veer_model_init(&s->current);
	s->notes.f = open_memstream(&s->notes.text, &s->notes.len);
	if (!s->notes.f)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	s->cur = known;
	if (veer_objstore_open(&s->store, pin_root, err, errlen) ||
	    (!known && read_current(s)) || finish_interrupted(s))
		return -1;
	/* No store yet: the maps' services are adopted, whole. */
	if (!s->loaded && !veer_objstore_exists(&s->store))
		lazy = false;
	if (!s->loaded && !lazy) {
		if (veer_objstore_load(&s->store, &s->stored, err, errlen))
			return -1;
		s->loaded = true;
	}
	return s->loaded ? adopt_maps(s) : 0;
}

/* ---- apply, delete ---- */

/* What happened to one object, for its line; NULL: nothing. */
static const char *action_of(const struct veer_objset *stored,
			     const struct veer_object *o, size_t set)
{
	static const char *const gone[] = {
		[1] = "deleted",
		[2] = "pruned",
		[3] = "replaced (adopted from the maps of an older veer; your "
		      "objects for its host take its place)",
	};
	const struct veer_object *old = veer_objset_find(stored, &o->key);

	if (!o->len)
		return gone[set];
	if (!old)
		return "created";
	if (old->len == o->len && !memcmp(old->text, o->text, o->len))
		return NULL;
	return "configured";
}

/*
 * What the change does to the store: the objects that differ from what is
 * stored (and, the first time, every adopted one), deletions as len 0.
 */
static int collect_changes(struct session *s, const struct veer_change *c,
			   const struct veer_objset *inputs,
			   const struct veer_objset *pruned,
			   const struct veer_objset *replaced,
			   struct veer_objset *changes, FILE *lines)
{
	const struct veer_objset *sets[] = {&s->adopted, inputs, pruned,
					    replaced};
	char id[VEER_OBJECT_ID_MAX];
	const char *action;
	size_t i, k;

	for (k = 0; k < 4; k++) {
		for (i = 0; i < sets[k]->count; i++) {
			struct veer_object o = sets[k]->objects[i];

			if (o.removed)
				continue;
			if (c->op == VEER_CHANGE_DELETE && k == 1)
				o.len = 0;
			/* Adopted objects go in whole; the lines are the
			 * inputs'. */
			action = k ? action_of(&s->stored, &o, k) : NULL;
			if (k && !action)
				continue;
			if (veer_objset_put(changes, &o.key,
					    o.len ? o.text : "", o.len, NULL,
					    NULL))
				return veer_fail_at(s->err, s->errlen, NULL, 0,
						    0, "out of memory");
			if (action)
				fprintf(lines, "%s: %s%s\n",
					veer_object_id(&o.key, id, sizeof(id)),
					action, c->dry_run ? " (dry run)" : "");
		}
	}
	return 0;
}

/* Every object a delete names must be stored: kubectl's NotFound. */
static int check_deleted_exist(struct session *s, const struct veer_objset *set)
{
	char id[VEER_OBJECT_ID_MAX];
	size_t i;

	for (i = 0; i < set->count; i++)
		if (!set->objects[i].removed &&
		    !veer_objset_find(&s->stored, &set->objects[i].key))
			return veer_fail_at(s->err, s->errlen, NULL, 0, 0,
					    "%s: not found",
					    veer_object_id(&set->objects[i].key,
							   id, sizeof(id)));
	return 0;
}

/*
 * Stores the changes and makes the maps hold desired, all or nothing (see
 * configure.h). *changed: whether the maps changed.
 */
static int commit(struct session *s, const struct veer_objset *changes,
		  const struct veer_model *desired, enum veer_apply_scope scope,
		  FILE *out, bool *changed)
{
	bool prepared = changes->live > 0;
	struct veer_plan *plan;
	int ret;

	/*
	 * Planned first (the model checked, every id and slot found): a
	 * change the planner refuses must never be left as the transaction
	 * that finish_interrupted then applies.
	 */
	if (veer_plan_make(&plan, s->maps, s->cur, desired, scope, false, out,
			   changed, s->err, s->errlen))
		return -1;
	if (prepared &&
	    veer_objstore_prepare(&s->store, changes, s->err, s->errlen)) {
		veer_plan_finish(plan, -1);
		return -1;
	}
	veer_objstore_test_point("prepared");
	ret = veer_plan_write(plan, s->err, s->errlen);
	veer_plan_finish(plan, ret);
	if (ret) {
		if (prepared)
			veer_objstore_discard(&s->store, NULL, 0);
		return -1;
	}
	veer_objstore_test_point("applied");
	if (prepared && veer_objstore_finish(&s->store, s->err, s->errlen))
		return -1;
	return 0;
}

/* delete KIND NAME: the keys, as objects the input names. */
static int fill_keys(const struct veer_change *c, struct veer_objset *set)
{
	size_t i;

	for (i = 0; i < c->key_count; i++)
		if (veer_objset_put(set, &c->keys[i], "", 0, NULL, NULL))
			return -1;
	return 0;
}

int veer_change_run(const char *pin_root, const struct veer_maps *maps,
		    const struct veer_change *c, FILE *out, veer_note_fn note,
		    void *note_ctx, char *err, size_t errlen)
{
	struct veer_objset inputs, pruned, replaced, changes;
	struct veer_load_request req = {
		.paths = c->paths,
		.path_count = c->path_count,
		.default_namespace = c->default_namespace,
		.inputs_remove = c->op == VEER_CHANGE_DELETE,
		.prune = c->prune,
		.input_objects = &inputs,
		.pruned = &pruned,
		.replaced = &replaced,
	};
	char *lines_text = NULL, *plan_text = NULL;
	size_t lines_len = 0, plan_len = 0;
	FILE *lines = NULL, *plan = NULL;
	struct veer_model desired;
	struct session s;
	bool changed = false;
	int ret = -1;

	veer_objset_init(&inputs);
	veer_objset_init(&pruned);
	veer_objset_init(&replaced);
	veer_objset_init(&changes);
	veer_model_init(&desired);
	if (session_open(&s, pin_root, maps, NULL, false, err, errlen))
		goto out;
	req.stored = &s.stored;
	lines = open_memstream(&lines_text, &lines_len);
	plan = open_memstream(&plan_text, &plan_len);
	if (!lines || !plan || fill_keys(c, &inputs)) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (veer_load_config(&req, &desired, note_hold, &s.notes, err,
			     errlen) ||
	    (c->op == VEER_CHANGE_DELETE && check_deleted_exist(&s, &inputs)) ||
	    collect_changes(&s, c, &inputs, &pruned, &replaced, &changes,
			    lines))
		goto out;
	if (c->dry_run)
		ret = veer_maps_apply(maps, s.cur, &desired, VEER_APPLY_ALL,
				      true, plan, &changed, err, errlen);
	else
		ret = commit(&s, &changes, &desired, VEER_APPLY_ALL, plan,
			     &changed);
	if (ret)
		goto out;
	ret = -1;
	if (fclose(lines) | fclose(plan)) {
		lines = plan = NULL;
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	lines = plan = NULL;
	/* Objects first, then the services they made change. */
	fwrite(lines_text, 1, lines_len, out);
	fwrite(plan_text, 1, plan_len, out);
	if (!changed && !changes.live)
		fprintf(out, "no changes\n");
	fflush(out);
	notes_release(&s.notes, note, note_ctx);
	ret = 0;
out:
	if (lines)
		fclose(lines);
	if (plan)
		fclose(plan);
	free(lines_text);
	free(plan_text);
	session_free(&s);
	veer_model_free(&desired);
	veer_objset_free(&inputs);
	veer_objset_free(&pruned);
	veer_objset_free(&replaced);
	veer_objset_free(&changes);
	return ret;
}

int veer_change_restore(const char *pin_root, const struct veer_maps *maps,
			size_t *objects, size_t *services, veer_note_fn note,
			void *note_ctx, char *err, size_t errlen)
{
	struct veer_objset none;
	struct veer_model desired;
	struct session s;
	bool changed;
	int ret = -1;

	*objects = *services = 0;
	veer_objset_init(&none);
	veer_model_init(&desired);
	if (session_open(&s, pin_root, maps, NULL, false, err, errlen) ||
	    build(&s, &s.stored, &desired) ||
	    commit(&s, &none, &desired, VEER_APPLY_ALL, NULL, &changed))
		goto out;
	*objects = s.stored.live;
	*services = desired.count;
	notes_release(&s.notes, note, note_ctx);
	ret = 0;
out:
	session_free(&s);
	veer_model_free(&desired);
	return ret;
}

/* ---- weight ---- */

/* The weights of svc's subsets, for the objects that define them. */
static size_t weights_of(const struct veer_service_model *svc,
			 struct veer_route_weight *w)
{
	size_t n = 0;
	unsigned int i;

	for (i = 0; i < svc->subset_count; i++)
		w[n++] = (struct veer_route_weight){
			.subset = svc->subsets[i].name,
			.weight = svc->subsets[i].weight,
		};
	return n;
}

/* The stored object of key: from the session's set, or read alone. */
static const struct veer_object *object_of(struct session *s,
					   const struct veer_objset *changes,
					   const struct veer_object_key *key)
{
	const struct veer_object *o = veer_objset_find(changes, key);

	if (o)
		return o;
	if (!s->loaded && veer_objstore_read(&s->store, key, &s->stored, s->err,
					     s->errlen) < 0)
		return NULL;
	return veer_objset_find(&s->stored, key);
}

/* A rewritten object (text, malloc'd: taken) into the change. */
static int put_rewritten(struct session *s, struct veer_objset *changes,
			 const struct veer_object_key *key, char *text,
			 size_t len)
{
	int ret = veer_objset_put(changes, key, text, len, NULL, NULL);

	free(text);
	return ret ? veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				  "out of memory")
		   : 0;
}

static int native_weights(struct session *s,
			  const struct veer_service_model *svc,
			  struct veer_objset *changes)
{
	struct veer_route_weight w[VEER_MAX_SUBSETS];
	struct veer_object_key key;
	const struct veer_object *o;
	char *text;
	size_t len;

	memset(&key, 0, sizeof(key));
	snprintf(key.kind, sizeof(key.kind), "%s", VEER_NATIVE_KIND);
	snprintf(key.name, sizeof(key.name), "%s", svc->name);
	o = object_of(s, changes, &key);
	if (!o)
		return *s->err ? -1
			       : veer_fail_at(s->err, s->errlen, NULL, 0, 0,
					      "service %s: no stored object "
					      "defines it",
					      svc->name);
	if (veer_objects_set_native_weights(
		    VEER_STORED_PREFIX VEER_NATIVE_KIND, o->text, o->len, w,
		    weights_of(svc, w), &text, &len, s->err, s->errlen))
		return -1;
	return put_rewritten(s, changes, &key, text, len);
}

/* The default route of the VirtualService behind an Istio service. */
static int route_weights(struct session *s,
			 const struct veer_service_model *svc,
			 const struct veer_model *built,
			 struct veer_objset *changes)
{
	struct veer_route_weight w[VEER_MAX_SUBSETS];
	const struct veer_service_model *b = veer_model_find(built, svc->name);
	struct veer_object_key key;
	const struct veer_object *o;
	char *text;
	size_t len;

	if (!b || !b->route.vs_name[0])
		return veer_fail_at(
			s->err, s->errlen, NULL, 0, 0,
			"service %s: no VirtualService routes host %s, so "
			"there is no stored object to keep the weights in; "
			"apply one",
			svc->name, svc->host);
	memset(&key, 0, sizeof(key));
	snprintf(key.kind, sizeof(key.kind), "VirtualService");
	snprintf(key.ns, sizeof(key.ns), "%s", b->route.vs_ns);
	snprintf(key.name, sizeof(key.name), "%s", b->route.vs_name);
	o = object_of(s, changes, &key);
	if (!o)
		return veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				    "service %s: VirtualService %s/%s is not "
				    "stored",
				    svc->name, key.ns, key.name);
	if (veer_objects_set_route(VEER_STORED_PREFIX "VirtualService", o->text,
				   o->len, b->route.tcp, b->route.index,
				   b->route.dest_host, w, weights_of(svc, w),
				   &text, &len, s->err, s->errlen))
		return -1;
	return put_rewritten(s, changes, &key, text, len);
}

int veer_change_weights(const char *pin_root, const struct veer_maps *maps,
			const struct veer_model *current,
			const struct veer_model *desired, FILE *out,
			veer_note_fn note, void *note_ctx, char *err,
			size_t errlen)
{
	struct veer_objset changes;
	struct veer_model built;
	struct session s;
	bool istio = false, changed;
	size_t i;
	int ret = -1;

	veer_objset_init(&changes);
	veer_model_init(&built);
	for (i = 0; i < desired->count; i++)
		istio |= desired->services[i].host[0] != '\0';
	/* Native services are read one by one; Istio ones need the routes,
	 * which only the whole configuration says. */
	if (session_open(&s, pin_root, maps, current, !istio, err, errlen) ||
	    (istio && build(&s, &s.stored, &built)))
		goto out;
	/* Adopted objects are stored with the change, weights written in. */
	if (overlay(&changes, &s.adopted)) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	for (i = 0; i < desired->count; i++) {
		const struct veer_service_model *svc = &desired->services[i];

		if (svc->host[0] ? route_weights(&s, svc, &built, &changes)
				 : native_weights(&s, svc, &changes))
			goto out;
	}
	ret = commit(&s, &changes, desired, VEER_APPLY_NAMED, out, &changed);
	if (!ret)
		notes_release(&s.notes, note, note_ctx);
out:
	session_free(&s);
	veer_model_free(&built);
	veer_objset_free(&changes);
	return ret;
}

int veer_change_native_key(const char *pin_root, const char *name,
			   struct veer_svc_key *key, char *err, size_t errlen)
{
	struct veer_objstore store;
	struct veer_object_key k;
	struct veer_objset one;
	struct veer_model model;
	int ret;

	if (strlen(name) >= sizeof(k.name))
		return 1;
	memset(&k, 0, sizeof(k));
	snprintf(k.kind, sizeof(k.kind), "%s", VEER_NATIVE_KIND);
	snprintf(k.name, sizeof(k.name), "%s", name);
	veer_objset_init(&one);
	veer_model_init(&model);
	ret = veer_objstore_open(&store, pin_root, err, errlen);
	if (!ret)
		ret = veer_objstore_read(&store, &k, &one, err, errlen);
	if (!ret &&
	    veer_load_native_buffer(VEER_STORED_PREFIX VEER_NATIVE_KIND,
				    one.objects[0].text, one.objects[0].len,
				    &model, err, errlen))
		ret = -1;
	if (!ret && model.count == 1)
		*key = model.services[0].key;
	else if (!ret)
		ret = 1;
	veer_model_free(&model);
	veer_objset_free(&one);
	return ret;
}

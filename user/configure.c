// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Changes through the object store (configure.h). */
#include <stdlib.h>
#include <string.h>

#include "configure.h"
#include "hostindex.h"
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

/*
 * Puts (and for len 0, removes) every object of changes into set; the
 * index's records are not objects and stay out.
 */
static int overlay(struct veer_objset *set, const struct veer_objset *changes)
{
	size_t i;

	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];

		if (o->removed || veer_index_is_record(&o->key))
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

/* The model the objects of set make together, notes to note. */
static int model_of(const struct veer_objset *set, struct veer_model *model,
		    veer_note_fn note, void *note_ctx, char *err, size_t errlen)
{
	struct veer_objset none;
	struct veer_load_request req = {
		.stored = set,
		.input_objects = &none,
	};
	int ret;

	veer_objset_init(&none);
	ret = veer_load_config(&req, model, note, note_ctx, err, errlen);
	veer_objset_free(&none);
	return ret;
}

static int build(struct session *s, const struct veer_objset *set,
		 struct veer_model *model)
{
	return model_of(set, model, note_hold, &s->notes, s->err, s->errlen);
}

int veer_change_model(const struct veer_objset *stored,
		      struct veer_model *model, char *err, size_t errlen)
{
	return model_of(stored, model, NULL, NULL, err, errlen);
}

/*
 * The index records that make the stored index the one of model (the
 * whole configuration), into changes: written in the same transaction.
 */
static int index_changes(struct session *s, const struct veer_model *model,
			 struct veer_objset *changes)
{
	struct veer_objset want, have;
	int ret;

	if (veer_index_records(model, &want))
		return veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				    "out of memory");
	ret = veer_objstore_load_index(&s->store, &have, s->err, s->errlen);
	if (!ret && veer_index_diff(&want, &have, changes))
		ret = veer_fail_at(s->err, s->errlen, NULL, 0, 0,
				   "out of memory");
	veer_objset_free(&want);
	veer_objset_free(&have);
	return ret ? -1 : 0;
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
/* An empty session (session_free frees it whatever it returns). */
static int session_init(struct session *s, const struct veer_maps *maps,
			char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (err && errlen)
		err[0] = '\0';
	s->maps = maps;
	s->err = err;
	s->errlen = errlen;
	veer_objset_init(&s->stored);
	veer_objset_init(&s->adopted);
	veer_model_init(&s->current);
	s->notes.f = open_memstream(&s->notes.text, &s->notes.len);
	if (!s->notes.f)
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	return 0;
}

static int session_open(struct session *s, const char *pin_root,
			const struct veer_maps *maps,
			const struct veer_model *known, bool lazy, char *err,
			size_t errlen)
{
	if (session_init(s, maps, err, errlen))
		return -1;
	s->pin_root = pin_root;
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

/* A change's lines are out: "no changes" if nothing did, then the notes. */
static void say_done(struct session *s, FILE *out, bool nothing,
		     veer_note_fn note, void *note_ctx)
{
	if (nothing)
		fprintf(out, "no changes\n");
	fflush(out);
	notes_release(&s->notes, note, note_ctx);
}

/* What the loader is asked for one apply or delete. */
static struct veer_load_request load_request(const struct veer_change *c,
					     struct veer_objset *inputs,
					     struct veer_objset *pruned,
					     struct veer_objset *replaced)
{
	return (struct veer_load_request){
		.paths = c->paths,
		.path_count = c->path_count,
		.objects = c->objects,
		.default_namespace = c->default_namespace,
		.inputs_remove = c->op == VEER_CHANGE_DELETE,
		.prune = c->prune,
		.input_objects = inputs,
		.pruned = pruned,
		.replaced = replaced,
	};
}

int veer_change_run(const char *pin_root, const struct veer_maps *maps,
		    const struct veer_change *c, FILE *out, veer_note_fn note,
		    void *note_ctx, char *err, size_t errlen)
{
	struct veer_objset inputs, pruned, replaced, changes;
	struct veer_load_request req =
		load_request(c, &inputs, &pruned, &replaced);
	char *lines_text = NULL, *plan_text = NULL;
	size_t lines_len = 0, plan_len = 0;
	FILE *lines = NULL, *plan = NULL;
	struct veer_model desired;
	struct session s;
	bool changed = false;
	size_t objects_changed;
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
	objects_changed = changes.live;
	/* The index of what the store will hold, in the same transaction. */
	if (!c->dry_run && maps && index_changes(&s, &desired, &changes))
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
	say_done(&s, out, !changed && !objects_changed, note, note_ctx);
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
	struct veer_objset index;
	struct veer_model desired;
	struct session s;
	bool changed;
	int ret = -1;

	*objects = *services = 0;
	veer_objset_init(&index);
	veer_model_init(&desired);
	/* A store from before the index gets it here. */
	if (session_open(&s, pin_root, maps, NULL, false, err, errlen) ||
	    build(&s, &s.stored, &desired) ||
	    index_changes(&s, &desired, &index) ||
	    commit(&s, &index, &desired, VEER_APPLY_ALL, NULL, &changed))
		goto out;
	*objects = s.stored.live;
	*services = desired.count;
	notes_release(&s.notes, note, note_ctx);
	ret = 0;
out:
	session_free(&s);
	veer_model_free(&desired);
	veer_objset_free(&index);
	return ret;
}

/* ---- changes to another store's objects (the fleet's) ---- */

/*
 * A session over a copy of `stored` and no maps or store of this node:
 * what collect_changes and the weight rewriters need. 0, or -1 with err.
 */
static int session_detached(struct session *s, const struct veer_objset *stored,
			    char *err, size_t errlen)
{
	if (session_init(s, NULL, err, errlen))
		return -1;
	s->cur = &s->current;
	s->loaded = true;
	if (overlay(&s->stored, stored))
		return veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
	return 0;
}

/* The planner's lines for current -> desired, no maps: validates desired. */
static int plan_lines(const struct veer_model *current,
		      const struct veer_model *desired,
		      enum veer_apply_scope scope, bool dry_run, FILE *out,
		      bool *changed, char *err, size_t errlen)
{
	struct veer_plan *plan;

	if (veer_plan_make(&plan, NULL, current, desired, scope, dry_run, out,
			   changed, err, errlen))
		return -1;
	veer_plan_finish(plan, 0);
	return 0;
}

int veer_change_compute(const struct veer_objset *stored,
			const struct veer_change *c,
			struct veer_objset *changes, FILE *out,
			veer_note_fn note, void *note_ctx, char *err,
			size_t errlen)
{
	struct veer_objset inputs, pruned, replaced;
	struct veer_load_request req =
		load_request(c, &inputs, &pruned, &replaced);
	char *lines_text = NULL;
	size_t lines_len = 0;
	FILE *lines = NULL;
	struct veer_model before, desired;
	struct session s;
	bool changed = false;
	int ret = -1;

	veer_objset_init(&inputs);
	veer_objset_init(&pruned);
	veer_objset_init(&replaced);
	veer_model_init(&before);
	veer_model_init(&desired);
	if (session_detached(&s, stored, err, errlen))
		goto out;
	req.stored = &s.stored;
	lines = open_memstream(&lines_text, &lines_len);
	if (!lines || fill_keys(c, &inputs)) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	/*
	 * What the objects make now, for the services' lines. Objects that
	 * do not hold together (written by hand) must not block the change
	 * that repairs them: their lines then say every service is new.
	 */
	if (veer_change_model(&s.stored, &before, err, errlen)) {
		veer_model_free(&before);
		veer_model_init(&before);
	}
	if (veer_load_config(&req, &desired, note_hold, &s.notes, err,
			     errlen) ||
	    (c->op == VEER_CHANGE_DELETE && check_deleted_exist(&s, &inputs)) ||
	    collect_changes(&s, c, &inputs, &pruned, &replaced, changes,
			    lines) ||
	    plan_lines(&before, &desired, VEER_APPLY_ALL, c->dry_run, lines,
		       &changed, err, errlen))
		goto out;
	if (fclose(lines)) {
		lines = NULL;
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	lines = NULL;
	fwrite(lines_text, 1, lines_len, out);
	say_done(&s, out, !changed && !changes->live, note, note_ctx);
	ret = 0;
out:
	if (lines)
		fclose(lines);
	free(lines_text);
	session_free(&s);
	veer_model_free(&before);
	veer_model_free(&desired);
	veer_objset_free(&inputs);
	veer_objset_free(&pruned);
	veer_objset_free(&replaced);
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
	o = veer_objset_find(&s->stored, key);
	if (o || s->loaded)
		return o;
	if (veer_objstore_read(&s->store, key, &s->stored, s->err, s->errlen) <
	    0)
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
			const struct veer_model *desired,
			const struct veer_weight_found *found, FILE *out,
			veer_note_fn note, void *note_ctx, char *err,
			size_t errlen)
{
	struct veer_objset changes;
	struct veer_model built;
	const struct veer_model *routes = &built;
	struct session s;
	bool istio = false, changed;
	size_t i;
	int ret = -1;

	veer_objset_init(&changes);
	veer_model_init(&built);
	for (i = 0; i < desired->count; i++)
		istio |= desired->services[i].host[0] != '\0';
	if (found && found->indexed)
		routes = &found->entries;
	/*
	 * Native services are read one by one; Istio ones need the routes:
	 * the index says them, or else only the whole configuration does.
	 */
	if (session_open(&s, pin_root, maps, current,
			 !istio || routes != &built, err, errlen) ||
	    (istio && routes == &built && build(&s, &s.stored, &built)))
		goto out;
	/* The objects found were read before any interrupted change was
	 * finished: only then still the store's. */
	if (found && !s.loaded && overlay(&s.stored, &found->objects)) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	/* Adopted objects are stored with the change, weights written in. */
	if (overlay(&changes, &s.adopted)) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	/* The whole configuration was read: its index goes with the change
	 * (a store from before the index gets it here). */
	if (istio && routes == &built && index_changes(&s, &built, &changes))
		goto out;
	for (i = 0; i < desired->count; i++) {
		const struct veer_service_model *svc = &desired->services[i];

		if (svc->host[0] ? route_weights(&s, svc, routes, &changes)
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

void veer_weight_found_init(struct veer_weight_found *found)
{
	memset(found, 0, sizeof(*found));
	veer_model_init(&found->entries);
	veer_objset_init(&found->objects);
}

void veer_weight_found_free(struct veer_weight_found *found)
{
	veer_model_free(&found->entries);
	veer_objset_free(&found->objects);
}

struct lookup {
	const struct veer_objstore *store;
	struct veer_weight_found *found;
	/* The ~host records read: each host once. */
	struct veer_objset hosts;
	char *err;
	size_t errlen;
};

/* The native service `name`, from its stored object: 0, 1 none, -1. */
static int lookup_native(struct lookup *l, const char *name)
{
	struct veer_service_model *svc;
	struct veer_object_key k;
	struct veer_model model;
	const struct veer_object *o;
	int ret;

	if (strlen(name) >= sizeof(k.name))
		return 1;
	memset(&k, 0, sizeof(k));
	snprintf(k.kind, sizeof(k.kind), "%s", VEER_NATIVE_KIND);
	snprintf(k.name, sizeof(k.name), "%s", name);
	ret = veer_objstore_read(l->store, &k, &l->found->objects, l->err,
				 l->errlen);
	if (ret)
		return ret;
	o = veer_objset_find(&l->found->objects, &k);
	veer_model_init(&model);
	ret = veer_load_native_buffer(VEER_STORED_PREFIX VEER_NATIVE_KIND,
				      o->text, o->len, &model, l->err,
				      l->errlen);
	if (!ret && model.count == 1) {
		svc = veer_model_add_service(&l->found->entries);
		if (!svc)
			ret = veer_fail_at(l->err, l->errlen, NULL, 0, 0,
					   "out of memory");
		else {
			snprintf(svc->name, sizeof(svc->name), "%s",
				 model.services[0].name);
			svc->key = model.services[0].key;
		}
	} else if (!ret) {
		ret = 1;
	}
	veer_model_free(&model);
	return ret;
}

/* The entries of host, from its ~host record (once): 0 or -1. */
static int lookup_host(const char *host, void *ctx)
{
	struct lookup *l = ctx;
	struct veer_object_key k;
	const struct veer_object *o;
	int ret;

	if (strlen(host) >= sizeof(k.name) || strchr(host, ' '))
		return 0;
	memset(&k, 0, sizeof(k));
	snprintf(k.kind, sizeof(k.kind), VEER_INDEX_KIND_HOST);
	snprintf(k.name, sizeof(k.name), "%s", host);
	if (veer_objset_find(&l->hosts, &k))
		return 0;
	ret = veer_objstore_read(l->store, &k, &l->hosts, l->err, l->errlen);
	if (ret)
		return ret < 0 ? -1 : 0;
	o = veer_objset_find(&l->hosts, &k);
	if (veer_index_parse_host(host, o->text, o->len, &l->found->entries))
		return veer_fail_at(l->err, l->errlen, NULL, 0, 0,
				    "the store's index of host %s is damaged; "
				    "veer apply rewrites it",
				    host);
	return 0;
}

/* The hosts whose short name is name, from its ~short record. */
static int lookup_short(struct lookup *l, const char *name)
{
	struct veer_object_key k;
	struct veer_objset one;
	int ret;

	if (strlen(name) >= sizeof(k.name))
		return 0;
	memset(&k, 0, sizeof(k));
	snprintf(k.kind, sizeof(k.kind), VEER_INDEX_KIND_SHORT);
	snprintf(k.name, sizeof(k.name), "%s", name);
	veer_objset_init(&one);
	ret = veer_objstore_read(l->store, &k, &one, l->err, l->errlen);
	if (ret == 0) {
		ret = veer_index_parse_short(one.objects[0].text,
					     one.objects[0].len, lookup_host,
					     l);
		if (ret > 0)
			ret = veer_fail_at(l->err, l->errlen, NULL, 0, 0,
					   "the store's index of short name "
					   "%s is damaged; veer apply "
					   "rewrites it",
					   name);
	}
	veer_objset_free(&one);
	return ret < 0 ? -1 : 0;
}

/* Whether the store's index is there and covers every host. */
static int index_complete(struct lookup *l)
{
	struct veer_object_key k;
	struct veer_objset one;
	int ret;

	if (veer_objstore_pending_exists(l->store))
		return 1; /* the next writer finishes it: scan */
	memset(&k, 0, sizeof(k));
	snprintf(k.kind, sizeof(k.kind), VEER_INDEX_KIND_STATE);
	snprintf(k.name, sizeof(k.name), VEER_INDEX_STATE_NAME);
	veer_objset_init(&one);
	ret = veer_objstore_read(l->store, &k, &one, l->err, l->errlen);
	if (ret == 0 && (one.objects[0].len != strlen(VEER_INDEX_FORMAT) ||
			 memcmp(one.objects[0].text, VEER_INDEX_FORMAT,
				one.objects[0].len)))
		ret = 1; /* another format: scan */
	veer_objset_free(&one);
	return ret;
}

int veer_change_lookup(const char *pin_root, const char *arg, const char *ns,
		       struct veer_weight_found *found, char *err,
		       size_t errlen)
{
	char host[VEER_OBJ_NAME_MAX + 32];
	struct veer_objstore store;
	struct lookup l = {&store, found, {0}, err, errlen};
	const char *colon = strchr(arg, ':');
	int ret;

	veer_objset_init(&l.hosts);
	ret = veer_objstore_open(&store, pin_root, err, errlen);
	if (!ret)
		ret = lookup_native(&l, arg);
	if (ret > 0)
		ret = 0;
	if (!ret)
		ret = index_complete(&l);
	if (ret) {
		veer_objset_free(&l.hosts);
		return ret < 0 ? -1 : 0;
	}
	/*
	 * Every host whose entries `arg` may name (cmd.h's naming): arg as
	 * a host, the host of an entry name (HOST:PORT[/ipv6]), NAME.NS, and
	 * a short name in -n's namespace or in any (the ~short record).
	 */
	ret = lookup_host(arg, &l);
	if (!ret && colon) {
		snprintf(host, sizeof(host), "%.*s", (int)(colon - arg), arg);
		ret = lookup_host(host, &l);
	}
	if (!ret && strchr(arg, '.')) {
		snprintf(host, sizeof(host), "%s" VEER_KUBE_DOMAIN, arg);
		ret = lookup_host(host, &l);
	} else if (!ret && ns) {
		snprintf(host, sizeof(host), "%s.%s" VEER_KUBE_DOMAIN, arg, ns);
		ret = lookup_host(host, &l);
	} else if (!ret) {
		ret = lookup_short(&l, arg);
	}
	found->indexed = ret == 0;
	veer_objset_free(&l.hosts);
	return ret;
}

/* Drops the changes that would write what is already stored. */
static void drop_unchanged(const struct veer_objset *stored,
			   struct veer_objset *changes)
{
	size_t i;

	for (i = 0; i < changes->count; i++) {
		const struct veer_object *o = &changes->objects[i];
		const struct veer_object *old =
			veer_objset_find(stored, &o->key);

		if (!o->removed && old && old->len == o->len &&
		    !memcmp(old->text, o->text, o->len))
			veer_objset_remove(changes, &o->key);
	}
}

int veer_change_weights_compute(const struct veer_objset *stored,
				const struct veer_model *built,
				const struct veer_model *desired,
				struct veer_objset *changes, FILE *out,
				char *err, size_t errlen)
{
	struct veer_model after;
	struct session s;
	bool changed;
	size_t i;
	int ret = -1;

	veer_model_init(&after);
	if (session_detached(&s, stored, err, errlen))
		goto out;
	for (i = 0; i < desired->count; i++) {
		const struct veer_service_model *svc = &desired->services[i];

		if (svc->host[0] ? route_weights(&s, svc, built, changes)
				 : native_weights(&s, svc, changes))
			goto out;
	}
	drop_unchanged(&s.stored, changes);
	/* The objects with the change must still make a valid whole. */
	if (overlay(&s.stored, changes)) {
		veer_fail_at(err, errlen, NULL, 0, 0, "out of memory");
		goto out;
	}
	if (veer_change_model(&s.stored, &after, err, errlen) ||
	    veer_model_validate(&after, err, errlen) ||
	    plan_lines(built, desired, VEER_APPLY_NAMED, false, out, &changed,
		       err, errlen))
		goto out;
	if (!changes->live)
		fprintf(out, "no changes\n");
	fflush(out);
	ret = 0;
out:
	session_free(&s);
	veer_model_free(&after);
	return ret;
}

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer apply, veer weight and veer delete: the commands that change the
 * services in the maps.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "configure.h"
#include "fleet.h"
#include "istio.h"
#include "objects.h"
#include "loader.h"
#include "veer_abi.h"

#define VEER_MAX_CONFIG_FILES 64
_Static_assert(VEER_MAX_CONFIG_FILES <= CLI_STRINGS_MAX,
	       "struct cli_strings holds every -f");

struct apply_opts {
	struct cli_strings files;
	const char *ns; /* objects without metadata.namespace go here */
	bool dry_run;
	bool prune;
	struct fleet_target fleet;
};

/*
 * The maps a change works on: open and locked, or (a dry run with nothing
 * loaded) none. *have says which. 0, or -1 with err.
 */
static int open_for_change(struct veer_maps *maps, bool dry_run, bool *have,
			   char *err, size_t errlen)
{
	int opened = -1;

	veer_maps_init(maps);
	*have = false;
	if (veer_pin_root_prepare(cli.pin_root, false, err, errlen) == 0)
		opened = veer_maps_open(cli.pin_root, maps, err, errlen);
	if (opened == -2 && dry_run)
		return 0;
	if (opened || veer_maps_lock(maps, cli.pin_root, err, errlen))
		return -1;
	*have = true;
	return 0;
}

static bool model_has_rules(const struct veer_model *model)
{
	size_t i;

	for (i = 0; i < model->count; i++)
		if (model->services[i].rule_count)
			return true;
	return false;
}

int run_change(const struct veer_change *c, FILE *out, char *err, size_t errlen)
{
	struct veer_maps maps;
	char msg[VEER_ERR_LEN];
	bool have;
	int ret = 0;

	if (open_for_change(&maps, c->dry_run, &have, err, errlen)) {
		veer_maps_close(&maps);
		return EXIT_FAILED;
	}
	if (veer_change_run(cli.pin_root, have ? &maps : NULL, c, out, cmd_note,
			    NULL, msg, sizeof(msg))) {
		snprintf(err, errlen, "%s (nothing was changed)", msg);
		ret = EXIT_FAILED;
	}
	if (!ret && have) {
		enum veer_http_state http = veer_http_state(cli.pin_root);
		struct veer_model model;

		/* Rules the kernel cannot act on yet: say so. */
		veer_model_init(&model);
		if (http != VEER_HTTP_ON &&
		    veer_maps_read_model(&maps, &model, msg, sizeof(msg)) ==
			    0 &&
		    model_has_rules(&model)) {
			snprintf(msg, sizeof(msg),
				 VEER_RULES_NOTE_PREFIX "HTTP routing is %s",
				 veer_http_state_text(http));
			cmd_note(NULL, msg);
		}
		veer_model_free(&model);
	}
	veer_maps_close(&maps);
	return ret;
}

/* run_change, its lines to stdout, an error as the command's one line. */
static int change(const struct veer_change *c)
{
	char err[VEER_ERR_LEN];
	int ret;

	if (require_root())
		return EXIT_FAILED;
	ret = run_change(c, stdout, err, sizeof(err));
	if (ret)
		fail("%s", err);
	return ret;
}

/* apply --etcd: the change against the fleet's objects. */
static int fleet_apply_compute(const void *arg,
			       const struct veer_objset *stored,
			       struct veer_objset *changes, FILE *out)
{
	char err[VEER_ERR_LEN];

	if (veer_change_compute(stored, arg, changes, out, cmd_note, NULL, err,
				sizeof(err))) {
		fail("%s (nothing was changed)", err);
		return EXIT_FAILED;
	}
	return 0;
}

static int run_apply(const void *opts, int argc, char **argv)
{
	const struct apply_opts *o = opts;
	struct veer_change c = {
		.op = VEER_CHANGE_APPLY,
		.paths = o->files.item,
		.path_count = (size_t)o->files.count,
		.default_namespace = o->ns,
		.prune = o->prune,
		.dry_run = o->dry_run,
	};

	(void)argv;
	if (argc != 0 || o->files.count == 0) {
		fail("expected -f FILE (one or more)");
		return EXIT_USAGE;
	}
	if (o->fleet.etcd)
		return fleet_change(&o->fleet, "apply", o->dry_run,
				    fleet_apply_compute, &c);
	return change(&c);
}

static const struct apply_opts apply_defaults = {
	.ns = "default",
	.fleet = FLEET_TARGET_DEFAULTS,
};

static const struct cli_option apply_options[] = {
	{
		.name = "file",
		.flag = 'f',
		.type = CLI_STRINGS,
		.field = offsetof(struct apply_opts, files),
		.metavar = "FILE|DIR",
		.what = "files",
		.max = VEER_MAX_CONFIG_FILES,
		.help = "a file, or a directory of them; repeat for more",
	},
	NAMESPACE_OPTION(struct apply_opts, ns,
			 "namespace of objects that name none, as with "
			 "kubectl apply -n"),
	{
		.name = "prune",
		.type = CLI_FLAG,
		.field = offsetof(struct apply_opts, prune),
		.help = "also delete stored objects of the kinds and "
			"namespaces in FILEs that FILEs no longer hold",
	},
	{
		.name = "dry-run",
		.type = CLI_FLAG,
		.field = offsetof(struct apply_opts, dry_run),
		.help = "print what would change, change nothing",
	},
	FLEET_OPTIONS(struct apply_opts, fleet),
	{},
};

/* The options' help follows it, from apply_options. */
static const char apply_details[] =
	"  Files are veer's native YAML or Istio/Kubernetes YAML\n"
	"  (VirtualService, DestinationRule, ServiceEntry, WorkloadEntry,\n"
	"  Service, Pod, List); a directory means its *.yaml, *.yml and\n"
	"  *.json files. As with kubectl, each object (a native service, an\n"
	"  Istio or Kubernetes object) is stored by kind, namespace and name\n"
	"  (see veer get KIND), and the maps hold what all stored objects\n"
	"  say together: a VirtualService can be applied alone once its\n"
	"  host's Service and DestinationRule were applied before. The\n"
	"  whole is parsed and validated before anything is written; a bad\n"
	"  file changes nothing. Each service switches atomically. The\n"
	"  store survives a reboot: veer attach restores it.\n"
	"  With --etcd, the objects go to the fleet's configuration in\n"
	"  etcd instead (one transaction, validated the same way against\n"
	"  the objects already there); the nodes' watchers apply it.\n";

const struct cli_command apply_command = {
	.name = "apply",
	.args = "-f FILE|DIR [-f FILE|DIR ...] [-n NAMESPACE] [--prune] "
		"[--dry-run] [--etcd URLS [--cluster NAME]]",
	.summary = "create or update the objects in FILEs",
	.details = apply_details,
	CLI_OPTIONS(apply_options, apply_defaults),
	.run = run_apply,
};

/* ---- weight ---------------------------------------------------------- */

/* weight: -n, to pick SERVICE among namespaces; the fleet. */
struct weight_opts {
	const char *ns;
	struct fleet_target fleet;
};

static const struct weight_opts weight_defaults = {
	.fleet = FLEET_TARGET_DEFAULTS,
};

static const struct cli_option weight_options[] = {
	NAMESPACE_OPTION(struct weight_opts, ns,
			 "the namespace SERVICE is looked up in"),
	FLEET_OPTIONS(struct weight_opts, fleet),
	{},
};

/* What `veer weight` was asked to change. */
struct weight_change {
	const char *service;
	const char *ns;
	char **assignments; /* SUBSET=WEIGHT */
	int assignment_count;
};

/*
 * Checks the SUBSET=WEIGHT arguments before anything is opened: a bad one
 * is a bad command line (exit 2) whatever the maps hold.
 */
static int check_assignments(const struct weight_change *o)
{
	char name[VEER_SUBSET_NAME_MAX], other[VEER_SUBSET_NAME_MAX];
	char buf[CLI_QUOTE_BUF], wbuf[CLI_QUOTE_BUF];
	const char *eq;
	uint32_t weight;
	int i, j;

	for (i = 0; i < o->assignment_count; i++) {
		const char *arg = o->assignments[i];

		eq = strchr(arg, '=');
		if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
			fail("expected SUBSET=WEIGHT, got '%s'",
			     cli_quote(arg, buf));
			return EXIT_USAGE;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
		if (cli_parse_u32(eq + 1, 0, VEER_WEIGHT_TOTAL, &weight)) {
			fail("weight of %s must be an integer 0..%d, got '%s'",
			     cli_quote(name, buf), VEER_WEIGHT_TOTAL,
			     cli_quote(eq + 1, wbuf));
			return EXIT_USAGE;
		}
		for (j = 0; j < i; j++) {
			eq = strchr(o->assignments[j], '=');
			snprintf(other, sizeof(other), "%.*s",
				 (int)(eq - o->assignments[j]),
				 o->assignments[j]);
			if (!strcmp(name, other)) {
				fail("subset %s given twice",
				     cli_quote(name, buf));
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* The assignments (checked by check_assignments) applied to one entry. */
static int apply_assignments(struct veer_service_model *svc,
			     const struct weight_change *o)
{
	char name[VEER_SUBSET_NAME_MAX], buf[CLI_QUOTE_BUF];
	const struct veer_subset_model *sub;
	const char *eq;
	uint32_t weight;
	int i, index;
	unsigned int s;

	for (i = 0; i < o->assignment_count; i++) {
		const char *arg = o->assignments[i];

		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
		if (cli_parse_u32(eq + 1, 0, VEER_WEIGHT_TOTAL, &weight))
			return EXIT_USAGE; /* check_assignments said why */
		index = veer_service_find_subset(svc, name);
		if (index < 0) {
			fail("service %s has no subset '%s'", svc->name,
			     cli_quote(name, buf));
			return EXIT_FAILED;
		}
		svc->subsets[index].weight = weight;
	}
	/*
	 * As in a native file: a subset that takes connections needs
	 * backends. An Istio entry keeps Istio's meaning (a route to a subset
	 * with no endpoints yet; apply noted it).
	 */
	for (s = 0; s < svc->subset_count && !svc->host[0]; s++) {
		sub = &svc->subsets[s];
		if (sub->weight && !sub->backend_count) {
			fail("service %s: subset %s has no backends, its "
			     "weight must stay 0 (nothing was changed)",
			     svc->name, sub->name);
			return EXIT_FAILED;
		}
	}
	return 0;
}

/*
 * The candidates found (veer_change_lookup) read from the maps at their
 * keys: 0, 1 when one is not there as the store says (then the caller
 * scans), -1 with err.
 */
static int read_found(const struct veer_maps *maps,
		      const struct veer_weight_found *found,
		      struct veer_model *current, char *err, size_t errlen)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < found->entries.count && !ret; i++) {
		const struct veer_service_model *want =
			&found->entries.services[i];

		ret = veer_maps_read_service_at(maps, &want->key, want->name,
						current, err, errlen);
		if (!ret && strcmp(current->services[current->count - 1].host,
				   want->host))
			ret = 1;
	}
	return ret;
}

/*
 * The services `veer weight` names, from the maps: in O(1) where the
 * store says they live (a native service by its object, an Istio host by
 * the store's index); by a scan of the names when the store cannot say
 * (no index yet, a change pending, nothing found: then the scan's
 * messages).
 */
static int read_weighted(const struct veer_maps *maps,
			 struct veer_model *current,
			 struct veer_weight_found *found,
			 const struct weight_change *o)
{
	char err[VEER_ERR_LEN];
	int ret;

	ret = veer_change_lookup(cli.pin_root, o->service, o->ns, found, err,
				 sizeof(err));
	if (ret == 0 && found->entries.count && (found->indexed || !o->ns))
		ret = read_found(maps, found, current, err, sizeof(err));
	else if (ret == 0)
		ret = 1;
	if (ret < 0) {
		fail("%s", err);
		return -1;
	}
	if (ret == 0)
		return 0;
	/* Not where the store says: the routes are not known either. */
	found->indexed = false;
	veer_model_free(current);
	veer_model_init(current);
	return read_model_named(maps, current, o->service, o->ns);
}

int change_weights(const char *service, const char *ns, char **assignments,
		   int count, FILE *out)
{
	struct weight_change o = {
		.service = service,
		.ns = ns,
		.assignments = assignments,
		.assignment_count = count,
	};
	struct veer_model current, desired;
	struct veer_weight_found found;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED, rc;
	size_t i;

	rc = check_assignments(&o);
	if (rc)
		return rc;
	veer_model_init(&current);
	veer_model_init(&desired);
	veer_weight_found_init(&found);
	if (open_maps_locked(&maps))
		goto cleanup_models;
	if (read_weighted(&maps, &current, &found, &o))
		goto cleanup;
	if (select_services(&current, o.service, o.ns, &desired))
		goto cleanup;
	/* Every entry of a host (each port, each family) moves together. */
	for (i = 0; i < desired.count && !rc; i++)
		rc = apply_assignments(&desired.services[i], &o);
	if (rc) {
		ret = rc;
		goto cleanup;
	}
	if (veer_change_weights(cli.pin_root, &maps, &current, &desired, &found,
				out, cmd_note, NULL, err, sizeof(err))) {
		fail("%s (nothing was changed)", err);
		goto cleanup;
	}
	ret = 0;
cleanup:
	veer_maps_close(&maps);
cleanup_models:
	veer_model_free(&current);
	veer_model_free(&desired);
	veer_weight_found_free(&found);
	return ret;
}

/* ---- --etcd: the fleet's configuration ---------------------------- */

/*
 * weight --etcd: the services named, in the configuration the fleet's
 * objects make, with the assignments (as change_weights does to the
 * maps), written through to the objects that hold the weights.
 */
static int fleet_weight_compute(const void *arg,
				const struct veer_objset *stored,
				struct veer_objset *changes, FILE *out)
{
	const struct weight_change *o = arg;
	struct veer_model built, desired;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED, rc = 0;
	size_t i;

	veer_model_init(&built);
	veer_model_init(&desired);
	if (veer_change_model(stored, &built, err, sizeof(err))) {
		fail("the fleet's configuration does not load: %s", err);
		goto out;
	}
	if (select_services(&built, o->service, o->ns, &desired))
		goto out;
	for (i = 0; i < desired.count && !rc; i++)
		rc = apply_assignments(&desired.services[i], o);
	if (rc) {
		ret = rc;
		goto out;
	}
	if (veer_change_weights_compute(stored, &built, &desired, changes, out,
					err, sizeof(err))) {
		fail("%s (nothing was changed)", err);
		goto out;
	}
	ret = 0;
out:
	veer_model_free(&built);
	veer_model_free(&desired);
	return ret;
}

static int run_weight(const void *opts, int argc, char **argv)
{
	const struct weight_opts *options = opts;
	struct weight_change o = {.ns = options->ns};
	int rc;

	if (argc < 2) {
		fail("expected SERVICE SUBSET=WEIGHT [SUBSET=WEIGHT ...]");
		return EXIT_USAGE;
	}
	/* A bad command line is exit 2 whoever runs it. */
	o.service = argv[0];
	o.assignments = &argv[1];
	o.assignment_count = argc - 1;
	rc = check_assignments(&o);
	if (rc)
		return rc;
	if (options->fleet.etcd)
		return fleet_change(&options->fleet, "weight", false,
				    fleet_weight_compute, &o);
	if (require_root())
		return EXIT_FAILED;
	return change_weights(argv[0], options->ns, &argv[1], argc - 1, stdout);
}

static const char weight_details[] =
	"  Subsets not named keep their weight. Weight 0 drains a subset:\n"
	"  no new connections, existing ones continue. With --etcd, the\n"
	"  weights change in the fleet's configuration in etcd (the objects\n"
	"  that hold them, in one transaction; read again and retried when\n"
	"  another writer came first).\n" NAMING;

const struct cli_command weight_command = {
	.name = "weight",
	.args = "SERVICE [-n NAMESPACE] [--etcd URLS [--cluster NAME]] "
		"SUBSET=W [SUBSET=W ...]",
	.summary = "change subset weights (must sum to 100); live connections "
		   "stay",
	.details = weight_details,
	CLI_OPTIONS(weight_options, weight_defaults),
	.run = run_weight,
};

/* ---- delete ---------------------------------------------------------- */

struct delete_opts {
	struct cli_strings files;
	const char *ns;
	bool dry_run;
};

static const struct delete_opts delete_defaults = {};

static const struct cli_option delete_options[] = {
	{
		.name = "file",
		.flag = 'f',
		.type = CLI_STRINGS,
		.field = offsetof(struct delete_opts, files),
		.metavar = "FILE|DIR",
		.what = "files",
		.max = VEER_MAX_CONFIG_FILES,
		.help = "delete the objects these files hold",
	},
	NAMESPACE_OPTION(struct delete_opts, ns,
			 "the namespace of NAME, of objects in FILEs that "
			 "name none, or SERVICE is looked up in (default "
			 "'default')"),
	{
		.name = "dry-run",
		.type = CLI_FLAG,
		.field = offsetof(struct delete_opts, dry_run),
		.help = "print what would change, change nothing",
	},
	{},
};

/*
 * `veer delete SERVICE`, from before the object store: the native
 * services it names go as their objects; an Istio host is made by
 * objects the user names.
 */
static int delete_services(const struct delete_opts *o, const char *arg,
			   struct veer_change *c)
{
	static struct veer_object_key keys[VEER_MAX_CONFIG_FILES];
	struct veer_model current, chosen;
	struct veer_maps maps;
	size_t i;
	int ret = EXIT_FAILED;

	veer_model_init(&current);
	veer_model_init(&chosen);
	if (require_root() || open_maps(&maps))
		goto out;
	if (read_model(&maps, &current) == 0 &&
	    select_services(&current, arg, o->ns, &chosen) == 0) {
		ret = 0;
		for (i = 0; i < chosen.count && !ret; i++) {
			const struct veer_service_model *svc =
				&chosen.services[i];

			if (svc->host[0] || i == VEER_MAX_CONFIG_FILES) {
				fail("service %s comes from Istio/Kubernetes "
				     "objects: delete those (veer get "
				     "vs,dr,se,svc -A; veer delete KIND NAME "
				     "or -f FILE)",
				     svc->name);
				ret = EXIT_FAILED;
				break;
			}
			memset(&keys[i], 0, sizeof(keys[i]));
			snprintf(keys[i].kind, sizeof(keys[i].kind), "%s",
				 VEER_NATIVE_KIND);
			snprintf(keys[i].name, sizeof(keys[i].name), "%s",
				 svc->name);
		}
		c->keys = keys;
		c->key_count = chosen.count;
	}
	veer_maps_close(&maps);
out:
	veer_model_free(&current);
	veer_model_free(&chosen);
	return ret;
}

static int run_delete(const void *opts, int argc, char **argv)
{
	const struct delete_opts *o = opts;
	struct veer_object_key key;
	struct veer_change c = {
		.op = VEER_CHANGE_DELETE,
		.paths = o->files.item,
		.path_count = (size_t)o->files.count,
		.default_namespace = o->ns,
		.dry_run = o->dry_run,
	};
	const char *kind;
	char buf[CLI_QUOTE_BUF];
	int ret;

	if (o->files.count) {
		if (argc) {
			fail("expected -f FILE or KIND NAME, not both");
			return EXIT_USAGE;
		}
		return change(&c);
	}
	if (argc == 2) {
		kind = veer_kind_canonical(argv[0]);
		if (!kind) {
			fail("unknown kind '%s' (%s)", cli_quote(argv[0], buf),
			     veer_kind_list());
			return EXIT_USAGE;
		}
		memset(&key, 0, sizeof(key));
		snprintf(key.kind, sizeof(key.kind), "%s", kind);
		if (veer_kind_namespaced(kind))
			snprintf(key.ns, sizeof(key.ns), "%s",
				 o->ns ? o->ns : "default");
		if (strlen(argv[1]) >= sizeof(key.name)) {
			fail("name too long: '%s'", cli_quote(argv[1], buf));
			return EXIT_USAGE;
		}
		snprintf(key.name, sizeof(key.name), "%s", argv[1]);
		c.keys = &key;
		c.key_count = 1;
		return change(&c);
	}
	if (argc != 1) {
		fail("expected -f FILE, KIND NAME or SERVICE");
		return EXIT_USAGE;
	}
	if (veer_kind_canonical(argv[0])) {
		fail("expected KIND NAME: which %s?", argv[0]);
		return EXIT_USAGE;
	}
	ret = delete_services(o, argv[0], &c);
	return ret ? ret : change(&c);
}

static const char delete_details[] =
	"  Removes stored objects: those in FILEs (as with kubectl delete\n"
	"  -f), or one by KIND (vs, dr, se, we, svc, pod, native) and NAME.\n"
	"  What is left must still be a valid configuration, or nothing is\n"
	"  deleted. A host whose last object goes has its services removed:\n"
	"  no new connections, live ones finish. SERVICE (a native service's\n"
	"  name) deletes that service's object.\n";

const struct cli_command delete_command = {
	.name = "delete",
	.args = "-f FILE|DIR ... | KIND NAME | SERVICE [-n NAMESPACE] "
		"[--dry-run]",
	.summary = "remove objects: their services take no new connections",
	.details = delete_details,
	CLI_OPTIONS(delete_options, delete_defaults),
	.run = run_delete,
};

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer apply, veer weight and veer delete: the commands that change the
 * services in the maps.
 */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "config.h"
#include "loader.h"
#include "veer_abi.h"

#define VEER_MAX_CONFIG_FILES 64
_Static_assert(VEER_MAX_CONFIG_FILES <= CLI_STRINGS_MAX,
	       "struct cli_strings holds every -f");

struct apply_opts {
	struct cli_strings files;
	const char *ns; /* objects without metadata.namespace go here */
	bool dry_run;
};

/* Loader notes (skipped kinds, ignored fields) go to stderr, one a line. */
static void print_note(void *ctx, const char *note)
{
	(void)ctx;
	fprintf(stderr, "veer: %s: note: %s\n", cli.command, note);
}

static bool model_has_rules(const struct veer_model *model)
{
	size_t i;

	for (i = 0; i < model->count; i++)
		if (model->services[i].rule_count)
			return true;
	return false;
}

static int run_apply(const void *opts, int argc, char **argv)
{
	const struct apply_opts *o = opts;
	struct veer_model desired, current;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED, opened;
	bool changed;

	(void)argv;
	if (argc != 0 || o->files.count == 0) {
		fail("expected -f FILE (one or more)");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;

	veer_model_init(&desired);
	veer_model_init(&current);
	veer_maps_init(&maps);
	if (veer_config_load_paths_ns(o->files.item, (size_t)o->files.count,
				      o->ns, &desired, print_note, NULL, err,
				      sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	if (veer_model_validate(&desired, err, sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	opened = -1;
	if (veer_pin_root_prepare(cli.pin_root, false, err, sizeof(err)) == 0)
		opened = veer_maps_open(cli.pin_root, &maps, err, sizeof(err));
	if (opened && !(opened == -2 && o->dry_run)) {
		fail("%s", err);
		goto cleanup;
	}
	if (opened == 0 &&
	    veer_maps_lock(&maps, cli.pin_root, err, sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	if (opened == 0 && read_model(&maps, &current))
		goto cleanup;
	if (opened == 0 && model_has_rules(&desired)) {
		enum veer_http_state http = veer_http_state(cli.pin_root);

		if (http != VEER_HTTP_ON) {
			snprintf(err, sizeof(err),
				 "header/uri rules: HTTP routing is %s",
				 veer_http_state_text(http));
			print_note(NULL, err);
		}
	}
	if (veer_maps_apply(opened == 0 ? &maps : NULL, &current, &desired,
			    true, o->dry_run, stdout, &changed, err,
			    sizeof(err))) {
		fail("%s (nothing was changed)", err);
		goto cleanup;
	}
	if (!changed)
		printf("no changes\n");
	ret = 0;
cleanup:
	veer_maps_close(&maps);
	veer_model_free(&desired);
	veer_model_free(&current);
	return ret;
}

static const struct apply_opts apply_defaults = {
	.ns = "default",
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
		.name = "dry-run",
		.type = CLI_FLAG,
		.field = offsetof(struct apply_opts, dry_run),
		.help = "print what would change, change nothing",
	},
	{},
};

/* The options' help follows it, from apply_options. */
static const char apply_details[] =
	"  Files are veer's native YAML or Istio/Kubernetes YAML\n"
	"  (VirtualService, DestinationRule, ServiceEntry, WorkloadEntry,\n"
	"  Service, Pod, List); a directory means its *.yaml, *.yml and\n"
	"  *.json files. Everything is parsed and validated before anything\n"
	"  is written; a bad file changes nothing. Each service switches\n"
	"  atomically. Entries a host no longer defines are removed; other\n"
	"  services are left alone.\n";

const struct cli_command apply_command = {
	.name = "apply",
	.args = "-f FILE|DIR [-f FILE|DIR ...] [-n NAMESPACE] [--dry-run]",
	.summary = "create or update the services defined in FILEs",
	.details = apply_details,
	CLI_OPTIONS(apply_options, apply_defaults),
	.run = run_apply,
};

/* ---- weight ---------------------------------------------------------- */

/* weight and delete: -n, to pick SERVICE among namespaces. */
struct service_opts {
	const char *ns;
};

static const struct service_opts service_defaults = {};

static const struct cli_option service_options[] = {
	NAMESPACE_OPTION(struct service_opts, ns,
			 "the namespace SERVICE is looked up in"),
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

static int run_weight(const void *opts, int argc, char **argv)
{
	const struct service_opts *options = opts;
	struct weight_change o = {.ns = options->ns};
	struct veer_model current, desired;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED, rc = 0;
	size_t i;
	bool changed;

	if (argc < 2) {
		fail("expected SERVICE SUBSET=WEIGHT [SUBSET=WEIGHT ...]");
		return EXIT_USAGE;
	}
	o.service = argv[0];
	o.assignments = &argv[1];
	o.assignment_count = argc - 1;
	rc = check_assignments(&o);
	if (rc)
		return rc;
	if (require_root())
		return EXIT_FAILED;

	veer_model_init(&current);
	veer_model_init(&desired);
	if (open_maps_locked(&maps))
		goto cleanup_models;
	if (read_model_named(&maps, &current, o.service, o.ns))
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
	if (veer_maps_apply(&maps, &current, &desired, false, false, stdout,
			    &changed, err, sizeof(err))) {
		fail("%s (nothing was changed)", err);
		goto cleanup;
	}
	ret = 0;
cleanup:
	veer_maps_close(&maps);
cleanup_models:
	veer_model_free(&current);
	veer_model_free(&desired);
	return ret;
}

static const char weight_details[] =
	"  Subsets not named keep their weight. Weight 0 drains a subset:\n"
	"  no new connections, existing ones continue.\n" NAMING;

const struct cli_command weight_command = {
	.name = "weight",
	.args = "SERVICE [-n NAMESPACE] SUBSET=W [SUBSET=W ...]",
	.summary = "change subset weights (must sum to 100); live connections "
		   "stay",
	.details = weight_details,
	CLI_OPTIONS(service_options, service_defaults),
	.run = run_weight,
};

/* ---- delete ---------------------------------------------------------- */

static int run_delete(const void *opts, int argc, char **argv)
{
	const char *ns = ((const struct service_opts *)opts)->ns;
	struct veer_model current, chosen;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED;
	size_t i;

	if (argc != 1) {
		fail("expected one SERVICE");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	veer_model_init(&current);
	veer_model_init(&chosen);
	if (open_maps_locked(&maps))
		goto out;
	if (read_model(&maps, &current) == 0 &&
	    select_services(&current, argv[0], ns, &chosen) == 0) {
		ret = 0;
		for (i = 0; i < chosen.count; i++) {
			if (veer_maps_delete_service(&maps, &current,
						     chosen.services[i].name,
						     err, sizeof(err))) {
				fail("%s", err);
				ret = EXIT_FAILED;
				continue;
			}
			printf("service %s: deleted\n",
			       chosen.services[i].name);
		}
	}
	veer_maps_close(&maps);
out:
	veer_model_free(&current);
	veer_model_free(&chosen);
	return ret;
}

const struct cli_command delete_command = {
	.name = "delete",
	.args = "SERVICE [-n NAMESPACE]",
	.summary = "remove a service: no new connections; live ones finish",
	.details = NAMING,
	CLI_OPTIONS(service_options, service_defaults),
	.run = run_delete,
};

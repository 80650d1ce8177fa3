// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer get, veer stats and veer status: what the maps hold, what the
 * services counted, and what is loaded and attached where.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "health.h"
#include "objstore.h"
#include "loader.h"
#include "metrics.h"
#include "output.h"
#include "veer_abi.h"
#include "watch.h"

struct view_opts {
	const char *ns; /* -n: only this namespace's hosts */
	int format; /* enum veer_format */
	bool all_namespaces; /* get KIND -A */
};

/* The SERVICE of get and stats: NULL, all of them. */
static int view_service(int argc, char **argv, const char **service)
{
	if (argc > 1) {
		fail("expected at most one SERVICE");
		return EXIT_USAGE;
	}
	*service = argc == 1 ? argv[0] : NULL;
	return 0;
}

/* Reads the model, keeping only service when one is named. */
static int read_view(const struct view_opts *o, const char *service,
		     struct veer_maps *maps, struct veer_model *view)
{
	return open_maps(maps) || read_selected(maps, service, o->ns, view) ? -1
									    : 0;
}

static int run_get(const void *opts, int argc, char **argv)
{
	const struct view_opts *o = opts;
	const char *service;
	struct veer_model view;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret;

	if (argc && get_names_kinds(argv[0]))
		return get_objects(argc, argv, o->ns, o->all_namespaces,
				   o->format);
	if (o->all_namespaces) {
		fail("-A lists objects: veer get KIND -A");
		return EXIT_USAGE;
	}
	ret = view_service(argc, argv, &service);
	if (ret)
		return ret;
	if (require_root())
		return EXIT_FAILED;
	veer_model_init(&view);
	veer_maps_init(&maps);
	ret = EXIT_FAILED;
	if (read_view(o, service, &maps, &view) == 0) {
		qsort(view.services, view.count, sizeof(*view.services),
		      cmp_service_name);
		if (o->format != VEER_FORMAT_YAML) {
			veer_print_services(stdout, &view,
					    (enum veer_format)o->format);
			ret = 0;
		} else if (veer_print_yaml(stdout, &view, err, sizeof(err))) {
			fail("%s", err);
		} else {
			ret = 0;
		}
	}
	veer_maps_close(&maps);
	veer_model_free(&view);
	return ret;
}

/*
 * The services' counters in the Prometheus text format; the conntrack
 * fill too when all services are shown (it is the node's, not theirs).
 */
static int print_prometheus(const struct veer_maps *maps,
			    const struct veer_model *view, bool with_ct)
{
	struct veer_metrics_snapshot snap;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED;

	if (veer_metrics_snapshot_read_model(maps, view, &snap,
					     with_ct ? VEER_METRICS_READ_CT : 0,
					     err, sizeof(err))) {
		fail("%s", err);
		return EXIT_FAILED;
	}
	/* The node's, like the conntrack fill: with every service. */
	if (with_ct)
		veer_metrics_read_watch(&snap, cli.pin_root);
	if (veer_metrics_write(stdout, &snap))
		fail("cannot write the metrics: %s", strerror(errno));
	else
		ret = 0;
	veer_metrics_snapshot_free(&snap);
	return ret;
}

static int run_stats(const void *opts, int argc, char **argv)
{
	struct veer_stats(*rows)[VEER_STATS_ROWS_PER_SVC] = NULL;
	struct veer_http_stats *http = NULL;
	struct veer_health(*health)[VEER_STATS_ROWS_PER_SVC] = NULL;
	const struct view_opts *o = opts;
	const char *service;
	struct veer_model view;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	size_t i;
	int ret;

	ret = view_service(argc, argv, &service);
	if (ret)
		return ret;
	if (require_root())
		return EXIT_FAILED;
	veer_model_init(&view);
	veer_maps_init(&maps);
	ret = EXIT_FAILED;
	if (read_view(o, service, &maps, &view))
		goto out;
	if (o->format == VEER_FORMAT_PROMETHEUS) {
		ret = print_prometheus(&maps, &view, !service && !o->ns);
		goto out;
	}
	qsort(view.services, view.count, sizeof(*view.services),
	      cmp_service_name);
	rows = calloc(view.count ? view.count : 1, sizeof(*rows));
	http = calloc(view.count ? view.count : 1, sizeof(*http));
	health = calloc(view.count ? view.count : 1, sizeof(*health));
	if (!rows || !http || !health) {
		fail("out of memory");
		goto out;
	}
	for (i = 0; i < view.count; i++) {
		if (veer_maps_read_stats(&maps, view.services[i].id, rows[i],
					 err, sizeof(err)) ||
		    veer_maps_read_http_stats(&maps, view.services[i].id,
					      &http[i], err, sizeof(err)) ||
		    veer_maps_read_health(&maps, view.services[i].id, health[i],
					  err, sizeof(err))) {
			fail("%s", err);
			goto out;
		}
	}
	veer_print_stats(
		stdout, &view,
		(const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows, http,
		(const struct veer_health(*)[VEER_STATS_ROWS_PER_SVC])health,
		(enum veer_format)o->format);
	ret = 0;
out:
	free(rows);
	free(http);
	free(health);
	veer_maps_close(&maps);
	veer_model_free(&view);
	return ret;
}

/* stats': no yaml (a hole: see struct cli_option's names). */
static const char *const view_formats[] = {
	[VEER_FORMAT_TABLE] = "table",
	[VEER_FORMAT_JSON] = "json",
	[VEER_FORMAT_YAML] = "",
	[VEER_FORMAT_PROMETHEUS] = "prometheus",
	NULL,
};
/* get's: no prometheus (stats' alone). */
static const char *const get_formats[] = {
	[VEER_FORMAT_TABLE] = "table",
	[VEER_FORMAT_JSON] = "json",
	[VEER_FORMAT_YAML] = "yaml",
	[VEER_FORMAT_PROMETHEUS] = "",
	NULL,
};

/* -o FORMAT, one of formats. */
#define OUTPUT_OPTION(formats, help_text)                                      \
	{                                                                      \
		.name = "output", .flag = 'o', .type = CLI_ENUM,               \
		.field = offsetof(struct view_opts, format), .names = formats, \
		.what = "output format", .help = help_text,                    \
	}

static const struct view_opts view_defaults = {
	.format = VEER_FORMAT_TABLE,
};

/* stats' options. */
static const struct cli_option view_options[] = {
	OUTPUT_OPTION(view_formats,
		      "how to print them: table, json, or prometheus (the "
		      "text exposition format, for node_exporter's textfile "
		      "collector)"),
	NAMESPACE_OPTION(struct view_opts, ns,
			 "with SERVICE, the namespace it is looked up in; "
			 "without, only the hosts of that namespace"),
	{},
};

/* get: the view options, and -A for objects. */
static const struct cli_option get_options[] = {
	OUTPUT_OPTION(get_formats, "how to print them (table, json or yaml)"),
	NAMESPACE_OPTION(struct view_opts, ns,
			 "with SERVICE, the namespace it is looked up in; "
			 "with KIND, the objects of that namespace (default "
			 "'default'); without either, only the hosts of that "
			 "namespace"),
	{
		.name = "all-namespaces",
		.flag = 'A',
		.type = CLI_FLAG,
		.field = offsetof(struct view_opts, all_namespaces),
		.help = "with KIND, the objects of every namespace",
	},
	{},
};

const struct cli_command get_command = {
	.name = "get",
	.args = "[SERVICE | KIND[,KIND...] [NAME]] [-n NAMESPACE | -A] "
		"[-o table|json|yaml]",
	.summary = "show services held in the maps, or stored objects",
	.details =
		"  Without KIND: the services, subsets, weights and backends\n"
		"  the maps hold; -o yaml prints them as Istio YAML\n"
		"  (ServiceEntry, DestinationRule, VirtualService) for "
		"another\n"
		"  node's veer apply. With KIND (vs, dr, se, we, svc, pod,\n"
		"  native, a list of them, or all): the stored objects as "
		"they\n"
		"  were applied; -o yaml gives a file veer apply accepts "
		"back.\n" NAMING,
	CLI_OPTIONS(get_options, view_defaults),
	.run = run_get,
};

const struct cli_command stats_command = {
	.name = "stats",
	.args = "[SERVICE] [-n NAMESPACE] [-o table|json|prometheus]",
	.summary = "show per-subset counters and each subset's share of "
		   "connections",
	.details = NAMING
	"  -o prometheus prints the text exposition format 0.0.4 (the\n"
	"  same as veer metrics serves); with no SERVICE and no -n, the\n"
	"  conntrack fill too.\n",
	CLI_OPTIONS(view_options, view_defaults),
	.run = run_stats,
};

/* ---- status ---------------------------------------------------------- */

static void print_cgroup_found(const char *path, unsigned int mask, void *ctx)
{
	int *attached = ctx, i;
	bool first = true;

	printf("%s cgroup %s:", (*attached)++ ? "           " : "attached:  ",
	       path);
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		if (!(mask & (1U << i)))
			continue;
		printf("%s %s", first ? "" : ",", veer_sock_prog_names[i]);
		first = false;
	}
	putchar('\n');
}

static void print_prog_id(const char *what, uint32_t id)
{
	if (id)
		printf("%s id %u", what, id);
	else
		printf("%s (pin missing)", what);
}

/*
 * Established entries that left the table without their connection
 * closing: the LRU's evictions (the table was full). Derived from the
 * services' counters, which start when a service is created: entries
 * that entered (two per pair promoted: a handshake, or a lost flow the
 * backend confirmed; one per entry restored from its sibling) minus
 * those that left by a close (two each) minus those there now. A lower
 * bound when services were deleted with entries evicted.
 *
 * The table is counted between two reads of the counters, and
 * connections keep opening and closing meanwhile: entries counted as
 * entered are taken from the read before (fewer), those counted as
 * closed from the read after (more), so a connection closing while the
 * table is counted never shows as an eviction.
 */
static int sum_service_stats(const struct veer_model *model,
			     const struct veer_maps *maps,
			     struct veer_stats *all)
{
	struct veer_stats rows[VEER_STATS_ROWS_PER_SVC];
	char err[VEER_ERR_LEN];
	size_t i;

	memset(all, 0, sizeof(*all));
	for (i = 0; i < model->count; i++) {
		if (veer_maps_read_stats(maps, model->services[i].id, rows, err,
					 sizeof(err)))
			return -1;
		veer_stats_add(all, rows, VEER_STATS_ROWS_PER_SVC);
	}
	return 0;
}

static void print_ct_evictions(const struct veer_stats *before,
			       const struct veer_stats *after, long established)
{
	long long evicted;

	evicted =
		VEER_CT_ENTRIES_PER_FLOW * ((long long)before->ct_established -
					    (long long)after->ct_closed) +
		(long long)before->ct_restored - established;
	printf("            %lld established entries evicted (table full) "
	       "since their services were created\n",
	       evicted > 0 ? evicted : 0);
}

/* Established-table fill, in percent, at which `veer status` warns. */
#define CT_FULL_WARN_PERCENT 90

static void print_ct_census(const struct veer_ct_census *c,
			    const struct veer_maps *maps)
{
	double fill = maps->ct_entries ? 100.0 * (double)c->established /
						 (double)maps->ct_entries
				       : 0.0;

	printf("conntrack:  %ld established (%ld / %u entries, %.1f%% "
	       "full)\n",
	       c->established / VEER_CT_ENTRIES_PER_FLOW, c->established,
	       maps->ct_entries, fill);
	printf("            %ld half-open (%ld / %u entries; %ld past the "
	       "handshake timeout)\n",
	       c->half_open / VEER_CT_ENTRIES_PER_FLOW, c->half_open,
	       maps->ct_syn_entries, c->half_open_stale);
	printf("            %ld closing (%ld / %u entries; %ld past the %llu "
	       "ms grace)\n",
	       c->closing / VEER_CT_ENTRIES_PER_FLOW, c->closing,
	       maps->ct_closing_entries, c->closing_expired,
	       c->grace_ns / 1000000ULL);
	if (fill >= CT_FULL_WARN_PERCENT)
		printf("warning:    conntrack is %.0f%% full: new connections "
		       "now evict the idlest established ones; attach with a "
		       "larger --ct-size\n",
		       fill);
}

/*
 * Where the objects are kept, how many, and whether a change waits to be
 * finished; a damaged store is said here too (status does not fail on it).
 */
static void print_store(void)
{
	struct veer_objstore store;
	struct veer_objset objects, pending;
	char err[VEER_ERR_LEN];
	int r;

	if (veer_objstore_open(&store, cli.pin_root, err, sizeof(err))) {
		printf("store:      %s\n", err);
		return;
	}
	if (!veer_objstore_exists(&store)) {
		printf("store:      %s (nothing applied yet)\n", store.dir);
		return;
	}
	if (veer_objstore_load(&store, &objects, err, sizeof(err))) {
		printf("store:      %s\nwarning:    %s\n", store.dir, err);
		return;
	}
	printf("store:      %s, %zu object%s\n", store.dir, objects.live,
	       objects.live == 1 ? "" : "s");
	veer_objset_free(&objects);
	r = veer_objstore_pending(&store, &pending, err, sizeof(err));
	if (r == 0)
		printf("warning:    a change of %zu object%s was interrupted; "
		       "the next apply, delete or weight finishes it\n",
		       pending.live, pending.live == 1 ? "" : "s");
	else if (r < 0)
		printf("warning:    %s\n", err);
	veer_objset_free(&pending);
}

/*
 * The pin root's veer watch: its DIR, whether it still runs (its pid
 * with the same start time), the generation it applied and when, and
 * its last error.
 */
static void print_watch(const char **not_ready)
{
	char err[VEER_ERR_LEN], t[VEER_WATCH_TIME_LEN];
	struct veer_watch_state w;
	int r = veer_watch_state_read(cli.pin_root, &w, err, sizeof(err));

	if (r) {
		printf("watch:      no watch running\n");
		if (r < 0)
			printf("warning:    %s\n", err);
		return;
	}
	if (!veer_watch_alive(&w))
		*not_ready = "the pin root's veer watch is not running";
	else if (!w.last_success)
		*not_ready = "veer watch has applied no configuration yet";
	if (veer_watch_alive(&w))
		printf("watch:      %s (pid %ld, since %s)\n", w.dir, w.pid,
		       veer_watch_time(w.started, t, sizeof(t)));
	else
		printf("watch:      no watch running (the last one, pid %ld, "
		       "watched %s)\n",
		       w.pid, w.dir);
	printf("            generation %" PRIu64, w.generation);
	if (w.last_success)
		printf(", last applied %s (%s)",
		       veer_watch_time(w.last_success, t, sizeof(t)),
		       w.version);
	else
		printf(", nothing applied yet");
	putchar('\n');
	if (w.errors)
		printf("            last error %s (%" PRIu64 " in all): %s\n",
		       veer_watch_time(w.last_error_time, t, sizeof(t)),
		       w.errors, w.last_error);
}

struct status_opts {
	bool ready;
};

static const struct status_opts status_defaults = {0};

static const struct cli_option status_options[] = {
	{
		.name = "ready",
		.type = CLI_FLAG,
		.field = offsetof(struct status_opts, ready),
		.help = "end with a readiness verdict and exit 1 unless veer "
			"serves: programs loaded and attached, and the pin "
			"root's veer watch, if any, running with a "
			"configuration applied",
	},
	{},
};

/* --ready's verdict, last: "ready: yes", or why not and exit 1. */
static int ready_verdict(const struct status_opts *o, const char *not_ready,
			 int ret)
{
	if (!o->ready)
		return ret;
	if (!not_ready && ret)
		not_ready = "the maps could not be read";
	if (not_ready) {
		printf("ready:      no: %s\n", not_ready);
		return EXIT_FAILED;
	}
	printf("ready:      yes\n");
	return 0;
}

static int run_status(const void *opts, int argc, char **argv)
{
	const struct status_opts *o = opts;
	const char *not_ready = NULL;
	struct if_nameindex *ifs, *it;
	struct veer_model model;
	struct veer_maps maps;
	uint32_t in_id, eg_id, pin_in, pin_eg, pin_xdp, xdp_id;
	unsigned long backends = 0;
	struct veer_ct_census census;
	struct veer_stats before, after;
	bool stats_read;
	char err[VEER_ERR_LEN], path[PATH_MAX];
	bool native;
	size_t i;
	unsigned int s;
	int attached = 0, ret = EXIT_FAILED;

	(void)argv;
	if (argc != 0) {
		fail("takes no arguments");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	pin_in = veer_pinned_prog_id(cli.pin_root, VEER_PIN_PROG_TC_INGRESS);
	pin_eg = veer_pinned_prog_id(cli.pin_root, VEER_PIN_PROG_TC_EGRESS);
	printf("pin root:   %s\n", cli.pin_root);
	print_store();
	print_watch(&not_ready);
	snprintf(path, sizeof(path), "%s/%s", cli.pin_root, VEER_MAP_SERVICES);
	if (!pin_in && !pin_eg && access(path, F_OK)) {
		printf("programs:   not loaded\n");
		return ready_verdict(o, "programs not loaded", 0);
	}
	pin_xdp = veer_pinned_prog_id(cli.pin_root, VEER_PIN_PROG_XDP_INGRESS);
	/* A missing pin is reported, not taken for "not loaded": attached
	 * programs are recognised by their maps (veer attach re-pins). */
	printf("programs:   ");
	print_prog_id("tc ingress", pin_in);
	print_prog_id(", tc egress", pin_eg);
	if (pin_xdp)
		printf(", xdp ingress id %u", pin_xdp);
	if (veer_pinned_prog_id(cli.pin_root, VEER_PIN_PROG_CONNECT4))
		printf(", cgroup socket programs");
	putchar('\n');
	printf("HTTP routing: %s\n",
	       veer_http_state_text(veer_http_state(cli.pin_root)));
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		veer_tc_query((int)it->if_index, &in_id, &eg_id);
		veer_xdp_query((int)it->if_index, &xdp_id, &native);
		if (xdp_id && !veer_prog_is_ours(xdp_id, cli.pin_root))
			xdp_id = 0; /* someone else's XDP program */
		if (!in_id && !eg_id && !xdp_id)
			continue;
		printf("%s %s: %s%s, tc egress%s%s\n",
		       attached++ ? "           " : "attached:  ", it->if_name,
		       xdp_id  ? (native ? "xdp ingress (native)"
					 : "xdp ingress (generic)")
		       : in_id ? "tc ingress"
			       : "ingress missing",
		       !xdp_id ? ""
		       : in_id ? ", tc ingress (HTTP rules)"
			       : ", tc ingress missing (HTTP rules unserved)",
		       eg_id ? "" : " (missing)",
		       (!in_id || in_id == pin_in) && eg_id == pin_eg &&
				       (!xdp_id || xdp_id == pin_xdp)
			       ? ""
			       : " (other program ids: stale attach)");
	}
	if (ifs)
		if_freenameindex(ifs);
	veer_cgroup_walk(cli.pin_root, print_cgroup_found, &attached);
	if (!attached) {
		printf("attached:   nowhere in this network namespace or "
		       "cgroup tree\n");
		if (!not_ready)
			not_ready = "attached nowhere";
	}

	veer_model_init(&model);
	if (open_maps(&maps))
		goto out;
	if (read_model(&maps, &model))
		goto close;
	for (i = 0; i < model.count; i++)
		for (s = 0; s < model.services[i].subset_count; s++)
			backends += model.services[i].subsets[s].backend_count;
	stats_read = !sum_service_stats(&model, &maps, &before);
	if (veer_maps_ct_census(&maps, &census, err, sizeof(err))) {
		fail("%s", err);
		goto close;
	}
	stats_read = stats_read && !sum_service_stats(&model, &maps, &after);
	printf("services:   %zu / %u\n", model.count, maps.max_services);
	printf("backends:   %lu / %u slots\n", backends, maps.max_backends);
	print_ct_census(&census, &maps);
	if (stats_read)
		print_ct_evictions(&before, &after, census.established);
	ret = 0;
close:
	veer_maps_close(&maps);
out:
	veer_model_free(&model);
	return ready_verdict(o, not_ready, ret);
}

static const char status_details[] =
	"  Nothing loaded is not an error (exit 0) unless --ready is given:\n"
	"  then the last line says whether veer serves, for a readiness\n"
	"  probe (deploy/daemonset.yaml uses it).\n";

const struct cli_command status_command = {
	.name = "status",
	.args = "[--ready]",
	.summary = "show what is loaded, where it is attached and how full "
		   "maps are",
	.details = status_details,
	CLI_OPTIONS(status_options, status_defaults),
	.run = run_status,
};

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer attach and veer detach: programs loaded, pinned and attached to
 * interfaces and cgroups, upgraded in place, and taken off again.
 */
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "configure.h"
#include "objstore.h"
#include "loader.h"
#include "veer_abi.h"

/* Bound for map size options: keeps size arithmetic far from overflow. */
#define VEER_MAX_MAP_ENTRIES (1U << 28)

/* A bare --cgroup: the cgroup2 root. */
static const char *cgroup2_root(void)
{
	static char root[PATH_MAX];

	if (veer_cgroup2_root(root, sizeof(root))) {
		fail("--cgroup without a path, and no cgroup2 mount found");
		return NULL;
	}
	return root;
}

/* --cgroup [PATH]; bare, the cgroup2 root. */
#define CGROUP_OPTION(opts_type, path_field, help_text)                        \
	{                                                                      \
		.name = "cgroup", .type = CLI_OPTIONAL_PATH,                   \
		.field = offsetof(opts_type, path_field), .metavar = "PATH",   \
		.absent = cgroup2_root, .help = help_text,                     \
	}

enum attach_mode {
	ATTACH_TC,
	ATTACH_XDP, /* XDP ingress, TC egress (and TC ingress) */
};

static int restore_store(void)
{
	struct veer_objstore store;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	size_t objects, services;
	long held;
	int ret = -1;

	if (veer_objstore_open(&store, cli.pin_root, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	if (!veer_objstore_exists(&store))
		return 0;
	if (veer_maps_open(cli.pin_root, &maps, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	held = veer_maps_count_entries(maps.services);
	if (held != 0) {
		veer_maps_close(&maps);
		return 0;
	}
	if (veer_change_restore(cli.pin_root, &maps, &objects, &services,
				cmd_note, NULL, err, sizeof(err)))
		fail("cannot restore the stored configuration: %s (the "
		     "programs are loaded; attach again once the store is "
		     "fixed)",
		     err);
	else if (objects)
		ret = printf("restored %zu object%s (%zu service%s) from %s\n",
			     objects, objects == 1 ? "" : "s", services,
			     services == 1 ? "" : "s", store.dir) < 0;
	else
		ret = 0;
	veer_maps_close(&maps);
	return ret;
}

struct attach_opts {
	int mode; /* enum attach_mode */
	const char *cgroup; /* --cgroup PATH: socket LB for local processes */
	struct veer_load_opts load;
	unsigned int
		given; /* VEER_LOAD_GIVEN_*: sizes set on the command line */
	bool upgrade; /* --upgrade: new programs over the pinned maps */
};

/* Cgroups where this pin root's socket programs are attached. */
struct cgroup_list {
	char (*paths)[PATH_MAX];
	size_t n, cap;
	bool oom;
};

static void collect_cgroup(const char *path, unsigned int mask, void *ctx)
{
	struct cgroup_list *l = ctx;

	(void)mask;
	if (l->n == l->cap) {
		size_t grown = l->cap ? 2 * l->cap : 16;
		char(*np)[PATH_MAX] = realloc(l->paths, grown * PATH_MAX);

		if (!np) {
			l->oom = true;
			return;
		}
		l->paths = np;
		l->cap = grown;
	}
	snprintf(l->paths[l->n++], PATH_MAX, "%s", path);
}

/*
 * The socket programs' part of an upgrade: new programs loaded and
 * pinned, then swapped in on every cgroup that ran the old ones (found
 * before the pins change: the walk knows programs by their pinned ids).
 */
static int upgrade_cgroups(void)
{
	int old_fds[VEER_SOCK_PROG_COUNT], new_fds[VEER_SOCK_PROG_COUNT];
	struct cgroup_list cgroups = {};
	char err[VEER_ERR_LEN];
	int failures = 0, i;
	size_t c;

	if (veer_open_sock_progs(cli.pin_root, old_fds))
		return 0; /* never loaded: nothing to upgrade */
	veer_cgroup_walk(cli.pin_root, collect_cgroup, &cgroups);
	if (cgroups.oom ||
	    veer_load_sock_upgrade(cli.pin_root, new_fds, err, sizeof(err))) {
		fail("%s (socket programs not replaced)",
		     cgroups.oom ? "out of memory" : err);
		failures = 1;
		goto out;
	}
	for (c = 0; c < cgroups.n; c++) {
		if (veer_cgroup_replace(cgroups.paths[c], old_fds, new_fds, err,
					sizeof(err))) {
			fail("%s", err);
			failures++;
			continue;
		}
		printf("upgraded cgroup %s: connect4, connect6, getpeername4, "
		       "getpeername6\n",
		       cgroups.paths[c]);
	}
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++)
		close(new_fds[i]);
out:
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++)
		close(old_fds[i]);
	free(cgroups.paths);
	return failures ? -1 : 0;
}

/* Whether an interface of this namespace runs this pin root's XDP program
 * (recognised by its maps: its pin may be gone). */
static bool own_xdp_attached_here(void)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	uint32_t xdp_id;
	bool native, found = false;

	for (it = ifs; it && it->if_index && !found; it++) {
		veer_xdp_query((int)it->if_index, &xdp_id, &native);
		found = xdp_id && veer_prog_is_ours(xdp_id, cli.pin_root);
	}
	if (ifs)
		if_freenameindex(ifs);
	return found;
}

/*
 * In-place upgrade: this build's programs are loaded over the pinned maps
 * (their layout checked first), their pins replaced, and every TC and XDP
 * attach point in this network namespace that runs the old programs is
 * switched to the new ones with one replacing attach each: no packet
 * meets a missing program, and conntrack, configuration and counters are
 * the same maps as before. The new program fds come back for the rest of
 * the attach.
 */
static int upgrade(const struct attach_opts *o, int *in_fd, int *eg_fd,
		   int *xdp_fd)
{
	uint32_t old_in = veer_pinned_prog_id(cli.pin_root,
					      VEER_PIN_PROG_TC_INGRESS),
		 old_eg = veer_pinned_prog_id(cli.pin_root,
					      VEER_PIN_PROG_TC_EGRESS),
		 old_xdp = veer_pinned_prog_id(cli.pin_root,
					       VEER_PIN_PROG_XDP_INGRESS),
		 in_id, eg_id, xdp_id, new_xdp = 0;
	struct veer_load_opts load = o->load;
	struct if_nameindex *ifs, *it;
	char err[VEER_ERR_LEN];
	bool reused, native;
	int points = 0, failures = 0;

	if (!old_in || !old_eg) {
		fail("nothing to upgrade: veer's programs are not pinned under "
		     "%s (attach without --upgrade)",
		     cli.pin_root);
		return -1;
	}
	load.upgrade = true;
	if (veer_load(cli.pin_root, &load, in_fd, eg_fd, &reused, err,
		      sizeof(err)) ||
	    ((old_xdp || o->mode == ATTACH_XDP || own_xdp_attached_here()) &&
	     veer_load_xdp_upgrade(cli.pin_root, xdp_fd, err, sizeof(err)))) {
		fail("%s (nothing was replaced)", err);
		return -1;
	}
	if (*xdp_fd >= 0)
		new_xdp = veer_pinned_prog_id(cli.pin_root,
					      VEER_PIN_PROG_XDP_INGRESS);
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		int ifindex = (int)it->if_index;

		bool xdp_ours;

		veer_tc_query(ifindex, &in_id, &eg_id);
		veer_xdp_query(ifindex, &xdp_id, &native);
		/* Old programs are recognised by their maps, not pins. */
		xdp_ours = *xdp_fd >= 0 && xdp_id &&
			   veer_prog_is_ours(xdp_id, cli.pin_root);
		if (!xdp_ours &&
		    !(eg_id && veer_prog_is_ours(eg_id, cli.pin_root)))
			continue;
		/*
		 * Egress first, as in attach: replies never lack un-NAT. XDP
		 * attach points get TC ingress too (an older veer's had
		 * none): XDP hands services with HTTP rules to it.
		 */
		if (veer_tc_attach(ifindex, in_id || xdp_ours ? *in_fd : -1,
				   *eg_fd, err, sizeof(err)) ||
		    (xdp_ours && veer_xdp_attach(ifindex, *xdp_fd, cli.pin_root,
						 &native, err, sizeof(err)))) {
			fail("%s: %s", it->if_name, err);
			failures++;
			continue;
		}
		printf("upgraded %s: %s\n", it->if_name,
		       xdp_ours ? "xdp ingress, tc ingress+egress"
				: "tc ingress+egress");
		points++;
	}
	if (ifs)
		if_freenameindex(ifs);
	printf("HTTP routing: %s\n",
	       veer_http_state_text(veer_http_state(cli.pin_root)));
	printf("upgrade: tc programs %u/%u -> %u/%u", old_in, old_eg,
	       veer_pinned_prog_id(cli.pin_root, VEER_PIN_PROG_TC_INGRESS),
	       veer_pinned_prog_id(cli.pin_root, VEER_PIN_PROG_TC_EGRESS));
	if (new_xdp)
		printf(", xdp %u -> %u", old_xdp, new_xdp);
	printf(" over the same maps; %d attach point%s in this network "
	       "namespace switched\n",
	       points, points == 1 ? "" : "s");
	if (upgrade_cgroups())
		failures++;
	return failures ? -1 : 0;
}

static int run_attach(const void *opts, int argc, char **argv)
{
	const struct attach_opts *o = opts;
	const char *dev = argc ? argv[0] : NULL;
	bool xdp = o->mode == ATTACH_XDP;
	struct veer_maps lock;
	int sock_fds[VEER_SOCK_PROG_COUNT] = {-1, -1, -1, -1};
	char err[VEER_ERR_LEN];
	int i, ifindex, in_fd = -1, eg_fd = -1, xdp_fd = -1;
	int ret = EXIT_FAILED;
	bool reused = true, native = false;

	if (argc > 1 || (argc == 0 && !o->cgroup && !o->upgrade)) {
		fail("expected one interface name, or --cgroup PATH, or both");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	ifindex = dev ? (int)if_nametoindex(dev) : 0;
	if (dev && !ifindex) {
		fail("no interface named '%s'", dev);
		return EXIT_FAILED;
	}
	/*
	 * One attach (or apply) at a time per pin root: two first attaches
	 * would both create the maps and one would fail to pin them.
	 */
	veer_maps_init(&lock);
	if (veer_pin_root_prepare(cli.pin_root, true, err, sizeof(err)) ||
	    veer_maps_lock(&lock, cli.pin_root, err, sizeof(err)) ||
	    veer_load_sizes_agree(cli.pin_root, &o->load, o->given, err,
				  sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	if (o->upgrade) {
		if (upgrade(o, &in_fd, &eg_fd, &xdp_fd))
			goto cleanup;
		if (!dev && !o->cgroup) {
			ret = 0;
			goto cleanup;
		}
	}
	if ((in_fd < 0 && veer_load(cli.pin_root, &o->load, &in_fd, &eg_fd,
				    &reused, err, sizeof(err))) ||
	    (xdp && xdp_fd < 0 &&
	     veer_load_xdp(cli.pin_root, &xdp_fd, err, sizeof(err))) ||
	    (o->cgroup &&
	     veer_load_sock(cli.pin_root, sock_fds, err, sizeof(err)))) {
		fail("%s", err);
		goto cleanup;
	}
	if (restore_store())
		goto cleanup;
	if (o->cgroup) {
		if (veer_cgroup_attach(o->cgroup, sock_fds, err, sizeof(err))) {
			fail("%s", err);
			goto cleanup;
		}
		printf("attached to cgroup %s (connect4, connect6, "
		       "getpeername4, getpeername6)%s\n",
		       o->cgroup, reused ? "" : "; programs loaded and pinned");
		reused = true;
		if (!dev) {
			ret = 0;
			goto cleanup;
		}
	}
	/*
	 * Egress first and ingress last: replies are always translated
	 * before the first packet is DNATed. Switching modes leaves no gap
	 * with neither ingress program: to XDP, TC ingress stays (XDP hands
	 * it services with HTTP rules); to TC, XDP goes once TC ingress is
	 * in place.
	 */
	if (xdp) {
		/*
		 * TC ingress too: XDP passes the packets of services with
		 * HTTP rules that it has no established entry for, and TC
		 * binds them. Attached before XDP, so it is never without.
		 */
		if (veer_tc_attach(ifindex, in_fd, eg_fd, err, sizeof(err)) ||
		    veer_xdp_attach(ifindex, xdp_fd, cli.pin_root, &native, err,
				    sizeof(err))) {
			fail("%s", err);
			goto cleanup;
		}
	} else {
		if (veer_tc_attach(ifindex, in_fd, eg_fd, err, sizeof(err))) {
			fail("%s", err);
			goto cleanup;
		}
		veer_xdp_detach(ifindex, cli.pin_root);
	}
	printf("attached to %s (%s)%s\n", dev,
	       !xdp	? "tc ingress+egress"
	       : native ? "xdp native ingress, tc egress; tc ingress for HTTP "
			  "rules"
			: "xdp generic ingress, tc egress; tc ingress for HTTP "
			  "rules",
	       reused ? "" : "; programs loaded and pinned");
	printf("HTTP routing: %s\n",
	       veer_http_state_text(veer_http_state(cli.pin_root)));
	ret = 0;
cleanup:
	if (in_fd >= 0)
		close(in_fd);
	if (eg_fd >= 0)
		close(eg_fd);
	if (xdp_fd >= 0)
		close(xdp_fd);
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++)
		if (sock_fds[i] >= 0)
			close(sock_fds[i]);
	veer_maps_close(&lock);
	return ret;
}

static const char *const attach_modes[] = {
	[ATTACH_TC] = "tc",
	[ATTACH_XDP] = "xdp",
	NULL,
};

static const struct attach_opts attach_defaults = {
	.mode = ATTACH_TC,
	.load = VEER_LOAD_OPTS_DEFAULT,
};

#define SIZE_OPTION(opt_name, metavar_text, load_field, given_bit, help_text)  \
	{                                                                      \
		.name = opt_name, .type = CLI_U32,                             \
		.field = offsetof(struct attach_opts, load.load_field),        \
		.metavar = metavar_text, .help = help_text, .min = 1,          \
		.max = VEER_MAX_MAP_ENTRIES, .given = given_bit,               \
	}

static const struct cli_option attach_options[] = {
	{
		.name = "mode",
		.type = CLI_ENUM,
		.field = offsetof(struct attach_opts, mode),
		.names = attach_modes,
		.what = "mode",
		.help = "xdp: the ingress work in XDP (native when the driver "
			"has it, else generic), replies still through TC "
			"egress, and services with HTTP rules bound by TC "
			"ingress. Attaching again with the other mode "
			"switches over.",
	},
	CGROUP_OPTION(struct attach_opts, cgroup,
		      "socket-level LB for processes in the cgroup2 PATH "
		      "(default: the cgroup2 root): connect() to a VIP goes "
		      "straight to the chosen backend, no per-packet work; "
		      "getpeername() reports the VIP. With DEV too, both are "
		      "attached."),
	SIZE_OPTION("max-services", "N", max_services,
		    VEER_LOAD_GIVEN_MAX_SERVICES, "services"),
	SIZE_OPTION("max-backends", "N", max_backends,
		    VEER_LOAD_GIVEN_MAX_BACKENDS,
		    "backend slots, all services"),
	SIZE_OPTION("ct-size", "N", ct_flows, VEER_LOAD_GIVEN_CT_SIZE,
		    "established connections tracked (2 map entries each; "
		    "half-open and closing tables get an eighth each)"),
	SIZE_OPTION("ct-close-grace", "MS", ct_close_grace_ms,
		    VEER_LOAD_GIVEN_CT_GRACE,
		    "how long a closed connection is still translated"),
	{
		.name = "upgrade",
		.type = CLI_FLAG,
		.field = offsetof(struct attach_opts, upgrade),
		.help = "load this build's programs over the pinned maps and "
			"switch every attach point of this network namespace "
			"and every cgroup to them (one replacing attach each; "
			"DEV optional)",
	},
	{},
};

/* The options' help follows it, from attach_options. */
static const char attach_details[] =
	"  Loads and pins the programs and maps under the pin root unless\n"
	"  they are there already, then attaches TC ingress (DNAT) and\n"
	"  egress (reverse NAT) on DEV, and says whether HTTP routing (rules\n"
	"  on headers and uri; kernel 5.17+) is on. Sizes apply to the\n"
	"  first load only; maps already pinned keep theirs (and their\n"
	"  conntrack): a size given that differs from them is refused.\n";

const struct cli_command attach_command = {
	.name = "attach",
	/* Within 80 columns after "usage: veer attach ". */
	.args = "[DEV] [--mode tc|xdp] [--cgroup [PATH]]\n"
		"                   [--max-services N] [--max-backends N] "
		"[--ct-size N]\n"
		"                   [--ct-close-grace MS] [--upgrade]",
	.summary = "load veer (once) and attach it to the interface clients "
		   "arrive on",
	.details = attach_details,
	CLI_OPTIONS(attach_options, attach_defaults),
	.given_field = offsetof(struct attach_opts, given),
	.run = run_attach,
};

/* ---- detach ---------------------------------------------------------- */

struct detach_opts {
	bool all;
	const char *cgroup;
};

/* Detaches from every interface of this network namespace. */
static int detach_everywhere(int *count)
{
	struct if_nameindex *ifs = if_nameindex(), *it;
	uint32_t in_id, eg_id;
	char err[VEER_ERR_LEN];
	int failures = 0;

	*count = 0;
	if (!ifs)
		return -1;
	for (it = ifs; it->if_index; it++) {
		int xdp = veer_xdp_detach((int)it->if_index, cli.pin_root);

		veer_tc_query((int)it->if_index, &in_id, &eg_id);
		if (!in_id && !eg_id && !xdp)
			continue;
		if ((in_id || eg_id) &&
		    veer_tc_detach((int)it->if_index, err, sizeof(err))) {
			fail("%s: %s", it->if_name, err);
			failures++;
			continue;
		}
		printf("detached from %s\n", it->if_name);
		(*count)++;
	}
	if_freenameindex(ifs);
	return failures ? -1 : 0;
}

static void detach_cgroup_found(const char *path, unsigned int mask, void *ctx)
{
	(void)mask;
	if (veer_cgroup_detach(path, cli.pin_root))
		printf("detached from cgroup %s\n", path);
	(*(int *)ctx)++;
}

static int run_detach(const void *opts, int argc, char **argv)
{
	const struct detach_opts *o = opts;
	const char *cgroup = o->cgroup, *dev;
	struct veer_objstore store;
	char where[PATH_MAX];
	char err[VEER_ERR_LEN];
	int ifindex, count, xdp;

	if (o->all ? argc != 0 || cgroup : argc != (cgroup ? 0 : 1)) {
		fail(o->all ? "--all takes no interface or cgroup"
			    : "expected one interface name, --cgroup PATH, or "
			      "--all");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	if (cgroup) {
		if (!veer_cgroup_detach(cgroup, cli.pin_root)) {
			fail("veer is not attached to cgroup %s", cgroup);
			return EXIT_FAILED;
		}
		printf("detached from cgroup %s\n", cgroup);
		return 0;
	}
	if (o->all) {
		/* Nothing is detached when the pins are not veer's to remove.
		 */
		if (veer_pin_root_prepare(cli.pin_root, false, err,
					  sizeof(err))) {
			fail("%s", err);
			return EXIT_FAILED;
		}
		/*
		 * Pins go last, and not while another namespace still runs
		 * these programs: the next attach would make fresh maps and
		 * its live connections would lose their pinning.
		 */
		if (veer_attached_elsewhere(cli.pin_root, where,
					    sizeof(where)) > 0) {
			fail("nothing detached: veer (pin root %s) is also "
			     "attached in network namespace %s; detach it "
			     "there first (nsenter --net=... veer detach "
			     "--all), or here interface by interface",
			     cli.pin_root, where);
			return EXIT_FAILED;
		}
		/* Cgroups first: no local connect() rewritten meanwhile. */
		count = 0;
		veer_cgroup_walk(cli.pin_root, detach_cgroup_found, &count);
		if (detach_everywhere(&count))
			return EXIT_FAILED;
		if (veer_unpin_all(cli.pin_root, err, sizeof(err))) {
			fail("%s", err);
			return EXIT_FAILED;
		}
		printf("removed pins under %s\n", cli.pin_root);
		if (veer_objstore_open(&store, cli.pin_root, err,
				       sizeof(err)) == 0 &&
		    veer_objstore_exists(&store))
			printf("the object store stays at %s: veer attach "
			       "restores it\n",
			       store.dir);
		return 0;
	}
	dev = argv[0];
	ifindex = (int)if_nametoindex(dev);
	if (!ifindex) {
		fail("no interface named '%s'", dev);
		return EXIT_FAILED;
	}
	/* Ingress (XDP, then TC) before egress: no DNAT without un-NAT. */
	xdp = veer_xdp_detach(ifindex, cli.pin_root);
	if (veer_tc_detach(ifindex, err, sizeof(err)) && !xdp) {
		fail("%s: %s", dev, err);
		return EXIT_FAILED;
	}
	printf("detached from %s\n", dev);
	return 0;
}

static const struct detach_opts detach_defaults = {};

static const struct cli_option detach_options[] = {
	{
		.name = "all",
		.type = CLI_FLAG,
		.field = offsetof(struct detach_opts, all),
		.help = "detach from every interface of this network "
			"namespace and every cgroup, then remove the pins",
	},
	CGROUP_OPTION(struct detach_opts, cgroup,
		      "detach the socket programs from the cgroup2 PATH "
		      "(default: the cgroup2 root)"),
	{},
};

const struct cli_command detach_command = {
	.name = "detach",
	.args = "DEV | --cgroup [PATH] | --all",
	.summary = "detach from DEV, or from every interface and remove the "
		   "pins",
	.details = "  Live connections through DEV lose their translation.\n",
	CLI_OPTIONS(detach_options, detach_defaults),
	.run = run_detach,
};

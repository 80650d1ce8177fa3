// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer: the command that loads, attaches and configures the data plane.
 * Table-driven: each subcommand has one options struct, one parser and one
 * runner; defaults live in the *_defaults() of each options struct.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "config.h"
#include "loader.h"
#include "maps.h"
#include "model.h"
#include "output.h"
#include "veer_abi.h"

#define VEER_MAX_CONFIG_FILES 64
/* Bound for map size options: keeps size arithmetic far from overflow. */
#define VEER_MAX_MAP_ENTRIES (1U << 28)

/* Exit codes: 0 success, 1 the operation failed, 2 the command line is bad. */
#define EXIT_FAILED 1
#define EXIT_USAGE 2

struct globals {
	const char *pin_root;
	bool verbose;
	const char *command;
};

static struct globals g = {
	.pin_root = VEER_PIN_ROOT_DEFAULT,
};

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "veer: %s: ", g.command);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	/* Without -v veer prints its own one-line error instead. */
	if (!g.verbose)
		return 0;
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

static int parse_u32(const char *text, uint32_t min, uint32_t max,
		     uint32_t *out)
{
	unsigned long long v;
	char *end;

	/* Digits only: strtoull would also skip leading blanks, take signs. */
	if (!text || *text < '0' || *text > '9')
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || v < min || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/*
 * An argument as it goes in a message: control characters (a newline
 * would split the one error line) and backslashes escaped, cut short.
 * len must be at least 9.
 */
static const char *printable(const char *text, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	for (; *text && n + 8 < len; text++) {
		unsigned char c = (unsigned char)*text;

		if (c >= 0x20 && c != 0x7f && c != '\\') {
			buf[n++] = (char)c;
		} else if (c == '\n' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = c == '\n' ? 'n' : '\\';
		} else {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[c >> 4];
			buf[n++] = hex[c & 15];
		}
	}
	if (*text) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

#define PRINTABLE_MAX 160

/* getopt is silent (opterr = 0) so that every error carries veer's prefix. */
static int bad_option(char **argv)
{
	char buf[PRINTABLE_MAX];

	fail("unknown option or missing value: '%s'",
	     printable(argv[optind - 1], buf, sizeof(buf)));
	return EXIT_USAGE;
}

static int no_options(int argc, char **argv)
{
	static const struct option none[] = {{NULL, 0, NULL, 0}};

	if (getopt_long(argc, argv, "", none, NULL) != -1)
		return bad_option(argv);
	return 0;
}

/* Every command but --help touches BPF objects. */
static int require_root(void)
{
	if (geteuid() != 0) {
		fail("must run as root (needs CAP_BPF and CAP_NET_ADMIN)");
		return -1;
	}
	return 0;
}

static int open_maps(struct veer_maps *maps)
{
	char err[VEER_ERR_LEN];
	int ret;

	if (veer_pin_root_prepare(g.pin_root, false, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	ret = veer_maps_open(g.pin_root, maps, err, sizeof(err));
	if (ret)
		fail("%s", err);
	return ret;
}

/* For commands that change the maps: one writer at a time. */
static int open_maps_locked(struct veer_maps *maps)
{
	char err[VEER_ERR_LEN];

	if (open_maps(maps))
		return -1;
	if (veer_maps_lock(maps, g.pin_root, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

static int read_model(const struct veer_maps *maps, struct veer_model *model)
{
	char err[VEER_ERR_LEN];

	if (veer_maps_read_model(maps, model, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

/* ---- naming services --------------------------------------------------- */

static const struct option ns_longopts[] = {
	{"namespace", required_argument, NULL, 'n'},
	{NULL, 0, NULL, 0},
};

#define KUBE_DOMAIN ".svc.cluster.local"

/* The namespace of a Kubernetes-style host, or NULL. */
static const char *host_namespace(const char *host, char *buf, size_t len)
{
	const char *dot = strchr(host, '.'), *end;
	size_t hl = strlen(host), dl = strlen(KUBE_DOMAIN);

	if (!dot || hl <= dl || strcmp(host + hl - dl, KUBE_DOMAIN))
		return NULL;
	end = host + hl - dl;
	if (end <= dot + 1 || memchr(dot + 1, '.', (size_t)(end - dot - 1)))
		return NULL;
	snprintf(buf, len, "%.*s", (int)(end - dot - 1), dot + 1);
	return buf;
}

/*
 * Does `arg` name this entry? Its exact name; its host; or, as Istio and
 * kubectl resolve them, "name" (in namespace ns, or any namespace when ns
 * is NULL) and "name.namespace" for NAME.NAMESPACE.svc.cluster.local.
 */
static bool names_entry(const struct veer_service_model *svc, const char *arg,
			const char *ns)
{
	char want[VEER_NAME_MAX * 2], buf[VEER_NAME_MAX];
	const char *host = svc->host[0] ? svc->host : NULL, *hns;

	if (!strcmp(svc->name, arg) || (host && !strcmp(host, arg)))
		return !ns || !host ||
		       ((hns = host_namespace(host, buf, sizeof(buf))) &&
			!strcmp(hns, ns)) ||
		       !strcmp(svc->name, arg);
	if (!host || !(hns = host_namespace(host, buf, sizeof(buf))))
		return false;
	if (strchr(arg, '.')) {
		snprintf(want, sizeof(want), "%s" KUBE_DOMAIN, arg);
		return !strcmp(host, want);
	}
	if (ns && strcmp(hns, ns))
		return false;
	snprintf(want, sizeof(want), "%s.%s" KUBE_DOMAIN, arg, hns);
	return !strcmp(host, want);
}

static int cmp_service_name(const void *a, const void *b)
{
	return strcmp(((const struct veer_service_model *)a)->name,
		      ((const struct veer_service_model *)b)->name);
}

/*
 * Copies into *out every entry `arg` names, sorted by name. A short name found
 * in several namespaces is refused: the user picks one with -n.
 */
static int select_services(const struct veer_model *all, const char *arg,
			   const char *ns, struct veer_model *out)
{
	const char *first_host = NULL;
	char buf[VEER_NAME_MAX], other[VEER_NAME_MAX];
	size_t i;

	for (i = 0; i < all->count; i++) {
		const struct veer_service_model *svc = &all->services[i];

		if (!names_entry(svc, arg, ns))
			continue;
		if (!first_host)
			first_host = svc->host;
		else if (strcmp(first_host, svc->host) &&
			 host_namespace(svc->host, buf, sizeof(buf)) &&
			 host_namespace(first_host, other, sizeof(other)) &&
			 strcmp(buf, other)) {
			fail("'%s' is ambiguous: %s and %s; add -n NAMESPACE",
			     arg, first_host, svc->host);
			return -1;
		}
		if (veer_model_copy_service(out, svc)) {
			fail("out of memory");
			return -1;
		}
	}
	qsort(out->services, out->count, sizeof(*out->services),
	      cmp_service_name);
	if (out->count == 0) {
		if (ns)
			fail("no service named '%s' in namespace %s", arg, ns);
		else
			fail("no service named '%s'", arg);
		return -1;
	}
	return 0;
}

/*
 * The value of --cgroup, which is optional: --cgroup=PATH, --cgroup PATH
 * (an absolute path: interface names never start with '/'), or bare
 * --cgroup for the cgroup2 root.
 */
static const char *cgroup_arg(int argc, char **argv, char *root, size_t len)
{
	if (optarg)
		return optarg;
	if (optind < argc && argv[optind][0] == '/')
		return argv[optind++];
	if (veer_cgroup2_root(root, len)) {
		fail("--cgroup without a path, and no cgroup2 mount found");
		return NULL;
	}
	return root;
}

/* Reads the model, in full only for the entries `arg` names. */
struct name_filter {
	const char *arg;
	const char *ns;
};

static bool filter_named(const struct veer_service_model *svc, void *ctx)
{
	const struct name_filter *f = ctx;

	return names_entry(svc, f->arg, f->ns);
}

static int read_model_named(const struct veer_maps *maps,
			    struct veer_model *model, const char *arg,
			    const char *ns)
{
	struct name_filter f = {arg, ns};
	char err[VEER_ERR_LEN];

	if (veer_maps_read_model_filtered(maps, model, filter_named, &f, err,
					  sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

/* ---- attach ---------------------------------------------------------- */

struct attach_opts {
	const char *dev;
	bool xdp; /* --mode xdp: XDP ingress, TC egress (and TC ingress) */
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

	if (veer_open_sock_progs(g.pin_root, old_fds))
		return 0; /* never loaded: nothing to upgrade */
	veer_cgroup_walk(g.pin_root, collect_cgroup, &cgroups);
	if (cgroups.oom ||
	    veer_load_sock_upgrade(g.pin_root, new_fds, err, sizeof(err))) {
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
		found = xdp_id && veer_prog_is_ours(xdp_id, g.pin_root);
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
static int upgrade(struct attach_opts *o, int *in_fd, int *eg_fd, int *xdp_fd)
{
	uint32_t old_in = veer_pinned_prog_id(g.pin_root,
					      VEER_PIN_PROG_TC_INGRESS),
		 old_eg = veer_pinned_prog_id(g.pin_root,
					      VEER_PIN_PROG_TC_EGRESS),
		 old_xdp = veer_pinned_prog_id(g.pin_root,
					       VEER_PIN_PROG_XDP_INGRESS),
		 in_id, eg_id, xdp_id, new_xdp = 0;
	struct if_nameindex *ifs, *it;
	char err[VEER_ERR_LEN];
	bool reused, native;
	int points = 0, failures = 0;

	if (!old_in || !old_eg) {
		fail("nothing to upgrade: veer's programs are not pinned under "
		     "%s (attach without --upgrade)",
		     g.pin_root);
		return -1;
	}
	o->load.upgrade = true;
	if (veer_load(g.pin_root, &o->load, in_fd, eg_fd, &reused, err,
		      sizeof(err)) ||
	    ((old_xdp || o->xdp || own_xdp_attached_here()) &&
	     veer_load_xdp_upgrade(g.pin_root, xdp_fd, err, sizeof(err)))) {
		fail("%s (nothing was replaced)", err);
		return -1;
	}
	if (*xdp_fd >= 0)
		new_xdp = veer_pinned_prog_id(g.pin_root,
					      VEER_PIN_PROG_XDP_INGRESS);
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		int ifindex = (int)it->if_index;

		bool xdp_ours;

		veer_tc_query(ifindex, &in_id, &eg_id);
		veer_xdp_query(ifindex, &xdp_id, &native);
		/* Old programs are recognised by their maps, not pins. */
		xdp_ours = *xdp_fd >= 0 && xdp_id &&
			   veer_prog_is_ours(xdp_id, g.pin_root);
		if (!xdp_ours &&
		    !(eg_id && veer_prog_is_ours(eg_id, g.pin_root)))
			continue;
		/*
		 * Egress first, as in attach: replies never lack un-NAT. XDP
		 * attach points get TC ingress too (an older veer's had
		 * none): XDP hands services with HTTP rules to it.
		 */
		if (veer_tc_attach(ifindex, in_id || xdp_ours ? *in_fd : -1,
				   *eg_fd, err, sizeof(err)) ||
		    (xdp_ours && veer_xdp_attach(ifindex, *xdp_fd, g.pin_root,
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
	       veer_http_state_text(veer_http_state(g.pin_root)));
	printf("upgrade: tc programs %u/%u -> %u/%u", old_in, old_eg,
	       veer_pinned_prog_id(g.pin_root, VEER_PIN_PROG_TC_INGRESS),
	       veer_pinned_prog_id(g.pin_root, VEER_PIN_PROG_TC_EGRESS));
	if (new_xdp)
		printf(", xdp %u -> %u", old_xdp, new_xdp);
	printf(" over the same maps; %d attach point%s in this network "
	       "namespace switched\n",
	       points, points == 1 ? "" : "s");
	if (upgrade_cgroups())
		failures++;
	return failures ? -1 : 0;
}

static int run_attach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"max-services", required_argument, NULL, 's'},
		{"max-backends", required_argument, NULL, 'b'},
		{"ct-size", required_argument, NULL, 'c'},
		{"ct-close-grace", required_argument, NULL, 'g'},
		{"mode", required_argument, NULL, 'm'},
		{"cgroup", optional_argument, NULL, 'C'},
		{"upgrade", no_argument, NULL, 'u'},
		{NULL, 0, NULL, 0},
	};
	struct attach_opts o = {.load = VEER_LOAD_OPTS_DEFAULT};
	struct veer_maps lock;
	char cgroup_root[PATH_MAX];
	int sock_fds[VEER_SOCK_PROG_COUNT] = {-1, -1, -1, -1};
	char err[VEER_ERR_LEN];
	int opt, ifindex, in_fd = -1, eg_fd = -1, xdp_fd = -1;
	int ret = EXIT_FAILED;
	bool reused = true, native = false;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'm') {
			if (strcmp(optarg, "tc") && strcmp(optarg, "xdp")) {
				fail("unknown mode '%s' (tc or xdp)", optarg);
				return EXIT_USAGE;
			}
			o.xdp = !strcmp(optarg, "xdp");
			continue;
		}
		if (opt == 'C') {
			o.cgroup = cgroup_arg(argc, argv, cgroup_root,
					      sizeof(cgroup_root));
			if (!o.cgroup)
				return EXIT_FAILED;
			continue;
		}
		if (opt == 'u') {
			o.upgrade = true;
			continue;
		}
		uint32_t *target = opt == 's'	? &o.load.max_services
				   : opt == 'b' ? &o.load.max_backends
				   : opt == 'c' ? &o.load.ct_flows
				   : opt == 'g' ? &o.load.ct_close_grace_ms
						: NULL;

		o.given |= opt == 's'	? VEER_LOAD_GIVEN_MAX_SERVICES
			   : opt == 'b' ? VEER_LOAD_GIVEN_MAX_BACKENDS
			   : opt == 'c' ? VEER_LOAD_GIVEN_CT_SIZE
			   : opt == 'g' ? VEER_LOAD_GIVEN_CT_GRACE
					: 0;

		if (!target)
			return bad_option(argv);
		if (parse_u32(optarg, 1, VEER_MAX_MAP_ENTRIES, target)) {
			const struct option *lo = longopts;

			/* Name the option, whether its value was glued on
			 * (--ct-size=0) or the next argument. */
			while (lo->name && lo->val != opt)
				lo++;
			fail("bad value '%s' for --%s (1..%u)", optarg,
			     lo->name, VEER_MAX_MAP_ENTRIES);
			return EXIT_USAGE;
		}
	}
	if (optind < argc - 1 || (optind == argc && !o.cgroup && !o.upgrade)) {
		fail("expected one interface name, or --cgroup PATH, or both");
		return EXIT_USAGE;
	}
	o.dev = optind < argc ? argv[optind] : NULL;
	if (require_root())
		return EXIT_FAILED;
	ifindex = o.dev ? (int)if_nametoindex(o.dev) : 0;
	if (o.dev && !ifindex) {
		fail("no interface named '%s'", o.dev);
		return EXIT_FAILED;
	}
	/*
	 * One attach (or apply) at a time per pin root: two first attaches
	 * would both create the maps and one would fail to pin them.
	 */
	veer_maps_init(&lock);
	if (veer_pin_root_prepare(g.pin_root, true, err, sizeof(err)) ||
	    veer_maps_lock(&lock, g.pin_root, err, sizeof(err)) ||
	    veer_load_sizes_agree(g.pin_root, &o.load, o.given, err,
				  sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	if (o.upgrade) {
		if (upgrade(&o, &in_fd, &eg_fd, &xdp_fd))
			goto cleanup;
		if (!o.dev && !o.cgroup) {
			ret = 0;
			goto cleanup;
		}
	}
	if ((in_fd < 0 && veer_load(g.pin_root, &o.load, &in_fd, &eg_fd,
				    &reused, err, sizeof(err))) ||
	    (o.xdp && xdp_fd < 0 &&
	     veer_load_xdp(g.pin_root, &xdp_fd, err, sizeof(err))) ||
	    (o.cgroup &&
	     veer_load_sock(g.pin_root, sock_fds, err, sizeof(err)))) {
		fail("%s", err);
		goto cleanup;
	}
	if (o.cgroup) {
		if (veer_cgroup_attach(o.cgroup, sock_fds, err, sizeof(err))) {
			fail("%s", err);
			goto cleanup;
		}
		printf("attached to cgroup %s (connect4, connect6, "
		       "getpeername4, getpeername6)%s\n",
		       o.cgroup, reused ? "" : "; programs loaded and pinned");
		reused = true;
		if (!o.dev) {
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
	if (o.xdp) {
		/*
		 * TC ingress too: XDP passes the packets of services with
		 * HTTP rules that it has no established entry for, and TC
		 * binds them. Attached before XDP, so it is never without.
		 */
		if (veer_tc_attach(ifindex, in_fd, eg_fd, err, sizeof(err)) ||
		    veer_xdp_attach(ifindex, xdp_fd, g.pin_root, &native, err,
				    sizeof(err))) {
			fail("%s", err);
			goto cleanup;
		}
	} else {
		if (veer_tc_attach(ifindex, in_fd, eg_fd, err, sizeof(err))) {
			fail("%s", err);
			goto cleanup;
		}
		veer_xdp_detach(ifindex, g.pin_root);
	}
	printf("attached to %s (%s)%s\n", o.dev,
	       !o.xdp	? "tc ingress+egress"
	       : native ? "xdp native ingress, tc egress; tc ingress for HTTP "
			  "rules"
			: "xdp generic ingress, tc egress; tc ingress for HTTP "
			  "rules",
	       reused ? "" : "; programs loaded and pinned");
	printf("HTTP routing: %s\n",
	       veer_http_state_text(veer_http_state(g.pin_root)));
	ret = 0;
cleanup:
	if (in_fd >= 0)
		close(in_fd);
	if (eg_fd >= 0)
		close(eg_fd);
	if (xdp_fd >= 0)
		close(xdp_fd);
	for (opt = 0; opt < VEER_SOCK_PROG_COUNT; opt++)
		if (sock_fds[opt] >= 0)
			close(sock_fds[opt]);
	veer_maps_close(&lock);
	return ret;
}

/* ---- detach ---------------------------------------------------------- */

struct detach_opts {
	const char *dev;
	bool all;
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
		int xdp = veer_xdp_detach((int)it->if_index, g.pin_root);

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
	if (veer_cgroup_detach(path, g.pin_root))
		printf("detached from cgroup %s\n", path);
	(*(int *)ctx)++;
}

static int run_detach(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"all", no_argument, NULL, 'a'},
		{"cgroup", optional_argument, NULL, 'C'},
		{NULL, 0, NULL, 0},
	};
	struct detach_opts o = {};
	char where[PATH_MAX];
	const char *cgroup = NULL;
	char cgroup_root[PATH_MAX];
	char err[VEER_ERR_LEN];
	int opt, ifindex, count, xdp;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (opt == 'C') {
			cgroup = cgroup_arg(argc, argv, cgroup_root,
					    sizeof(cgroup_root));
			if (!cgroup)
				return EXIT_FAILED;
		} else if (opt == 'a') {
			o.all = true;
		} else {
			return bad_option(argv);
		}
	}
	if (o.all ? optind != argc || cgroup
		  : optind != argc - (cgroup ? 0 : 1)) {
		fail(o.all ? "--all takes no interface or cgroup"
			   : "expected one interface name, --cgroup PATH, or "
			     "--all");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	if (cgroup) {
		if (!veer_cgroup_detach(cgroup, g.pin_root)) {
			fail("veer is not attached to cgroup %s", cgroup);
			return EXIT_FAILED;
		}
		printf("detached from cgroup %s\n", cgroup);
		return 0;
	}
	if (o.all) {
		/* Nothing is detached when the pins are not veer's to remove.
		 */
		if (veer_pin_root_prepare(g.pin_root, false, err,
					  sizeof(err))) {
			fail("%s", err);
			return EXIT_FAILED;
		}
		/*
		 * Pins go last, and not while another namespace still runs
		 * these programs: the next attach would make fresh maps and
		 * its live connections would lose their pinning.
		 */
		if (veer_attached_elsewhere(g.pin_root, where, sizeof(where)) >
		    0) {
			fail("nothing detached: veer (pin root %s) is also "
			     "attached in network namespace %s; detach it "
			     "there first (nsenter --net=... veer detach "
			     "--all), or here interface by interface",
			     g.pin_root, where);
			return EXIT_FAILED;
		}
		/* Cgroups first: no local connect() rewritten meanwhile. */
		count = 0;
		veer_cgroup_walk(g.pin_root, detach_cgroup_found, &count);
		if (detach_everywhere(&count))
			return EXIT_FAILED;
		if (veer_unpin_all(g.pin_root, err, sizeof(err))) {
			fail("%s", err);
			return EXIT_FAILED;
		}
		printf("removed pins under %s\n", g.pin_root);
		return 0;
	}
	o.dev = argv[optind];
	ifindex = (int)if_nametoindex(o.dev);
	if (!ifindex) {
		fail("no interface named '%s'", o.dev);
		return EXIT_FAILED;
	}
	/* Ingress (XDP, then TC) before egress: no DNAT without un-NAT. */
	xdp = veer_xdp_detach(ifindex, g.pin_root);
	if (veer_tc_detach(ifindex, err, sizeof(err)) && !xdp) {
		fail("%s: %s", o.dev, err);
		return EXIT_FAILED;
	}
	printf("detached from %s\n", o.dev);
	return 0;
}

/* ---- apply ----------------------------------------------------------- */

struct apply_opts {
	const char *files[VEER_MAX_CONFIG_FILES];
	int file_count;
	const char *ns; /* objects without metadata.namespace go here */
	bool dry_run;
};

/* Loader notes (skipped kinds, ignored fields) go to stderr, one a line. */
static void print_note(void *ctx, const char *note)
{
	(void)ctx;
	fprintf(stderr, "veer: %s: note: %s\n", g.command, note);
}

static bool model_has_rules(const struct veer_model *model)
{
	size_t i;

	for (i = 0; i < model->count; i++)
		if (model->services[i].rule_count)
			return true;
	return false;
}

static int run_apply(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"file", required_argument, NULL, 'f'},
		{"dry-run", no_argument, NULL, 'd'},
		{"namespace", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	struct apply_opts o = {};
	struct veer_model desired, current;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int opt, ret = EXIT_FAILED, opened;
	bool changed;

	while ((opt = getopt_long(argc, argv, "f:n:", longopts, NULL)) != -1) {
		if (opt == 'f') {
			if (o.file_count == VEER_MAX_CONFIG_FILES) {
				fail("at most %d files", VEER_MAX_CONFIG_FILES);
				return EXIT_USAGE;
			}
			o.files[o.file_count++] = optarg;
		} else if (opt == 'd') {
			o.dry_run = true;
		} else if (opt == 'n') {
			o.ns = optarg;
		} else {
			return bad_option(argv);
		}
	}
	if (optind != argc || o.file_count == 0) {
		fail("expected -f FILE (one or more)");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;

	veer_model_init(&desired);
	veer_model_init(&current);
	veer_maps_init(&maps);
	if (veer_config_load_paths_ns(o.files, (size_t)o.file_count, o.ns,
				      &desired, print_note, NULL, err,
				      sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	if (veer_model_validate(&desired, err, sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	opened = -1;
	if (veer_pin_root_prepare(g.pin_root, false, err, sizeof(err)) == 0)
		opened = veer_maps_open(g.pin_root, &maps, err, sizeof(err));
	if (opened && !(opened == -2 && o.dry_run)) {
		fail("%s", err);
		goto cleanup;
	}
	if (opened == 0 &&
	    veer_maps_lock(&maps, g.pin_root, err, sizeof(err))) {
		fail("%s", err);
		goto cleanup;
	}
	if (opened == 0 && read_model(&maps, &current))
		goto cleanup;
	if (opened == 0 && model_has_rules(&desired)) {
		enum veer_http_state http = veer_http_state(g.pin_root);

		if (http != VEER_HTTP_ON) {
			snprintf(err, sizeof(err),
				 "header/uri rules: HTTP routing is %s",
				 veer_http_state_text(http));
			print_note(NULL, err);
		}
	}
	if (veer_maps_apply(opened == 0 ? &maps : NULL, &current, &desired,
			    true, o.dry_run, stdout, &changed, err,
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

/* ---- weight ---------------------------------------------------------- */

struct weight_opts {
	const char *service;
	const char *ns;
	char **assignments; /* SUBSET=WEIGHT */
	int assignment_count;
};

/*
 * Checks the SUBSET=WEIGHT arguments before anything is opened: a bad one
 * is a bad command line (exit 2) whatever the maps hold.
 */
static int check_assignments(const struct weight_opts *o)
{
	char name[VEER_SUBSET_NAME_MAX], other[VEER_SUBSET_NAME_MAX];
	char buf[PRINTABLE_MAX], wbuf[PRINTABLE_MAX];
	const char *eq;
	uint32_t weight;
	int i, j;

	for (i = 0; i < o->assignment_count; i++) {
		const char *arg = o->assignments[i];

		eq = strchr(arg, '=');
		if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(name)) {
			fail("expected SUBSET=WEIGHT, got '%s'",
			     printable(arg, buf, sizeof(buf)));
			return EXIT_USAGE;
		}
		snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
		if (parse_u32(eq + 1, 0, VEER_WEIGHT_TOTAL, &weight)) {
			fail("weight of %s must be an integer 0..%d, got '%s'",
			     printable(name, buf, sizeof(buf)),
			     VEER_WEIGHT_TOTAL,
			     printable(eq + 1, wbuf, sizeof(wbuf)));
			return EXIT_USAGE;
		}
		for (j = 0; j < i; j++) {
			eq = strchr(o->assignments[j], '=');
			snprintf(other, sizeof(other), "%.*s",
				 (int)(eq - o->assignments[j]),
				 o->assignments[j]);
			if (!strcmp(name, other)) {
				fail("subset %s given twice",
				     printable(name, buf, sizeof(buf)));
				return EXIT_USAGE;
			}
		}
	}
	return 0;
}

/* The assignments (checked by check_assignments) applied to one entry. */
static int apply_assignments(struct veer_service_model *svc,
			     const struct weight_opts *o)
{
	char name[VEER_SUBSET_NAME_MAX], buf[PRINTABLE_MAX];
	const struct veer_subset_model *sub;
	const char *eq;
	uint32_t weight;
	int i, index;
	unsigned int s;

	for (i = 0; i < o->assignment_count; i++) {
		const char *arg = o->assignments[i];

		eq = strchr(arg, '=');
		snprintf(name, sizeof(name), "%.*s", (int)(eq - arg), arg);
		if (parse_u32(eq + 1, 0, VEER_WEIGHT_TOTAL, &weight))
			return EXIT_USAGE; /* check_assignments said why */
		index = veer_service_find_subset(svc, name);
		if (index < 0) {
			fail("service %s has no subset '%s'", svc->name,
			     printable(name, buf, sizeof(buf)));
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

static int run_weight(int argc, char **argv)
{
	struct weight_opts o = {};
	struct veer_model current, desired;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret = EXIT_FAILED, rc = 0, opt;
	size_t i;
	bool changed;

	while ((opt = getopt_long(argc, argv, "n:", ns_longopts, NULL)) != -1) {
		if (opt != 'n')
			return bad_option(argv);
		o.ns = optarg;
	}
	if (argc - optind < 2) {
		fail("expected SERVICE SUBSET=WEIGHT [SUBSET=WEIGHT ...]");
		return EXIT_USAGE;
	}
	o.service = argv[optind];
	o.assignments = &argv[optind + 1];
	o.assignment_count = argc - optind - 1;
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

/* ---- delete ---------------------------------------------------------- */

static int run_delete(int argc, char **argv)
{
	struct veer_model current, chosen;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	const char *ns = NULL;
	int ret = EXIT_FAILED, opt;
	size_t i;

	while ((opt = getopt_long(argc, argv, "n:", ns_longopts, NULL)) != -1) {
		if (opt != 'n')
			return bad_option(argv);
		ns = optarg;
	}
	if (argc - optind != 1) {
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
	    select_services(&current, argv[optind], ns, &chosen) == 0) {
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

/* ---- get / stats ----------------------------------------------------- */

struct view_opts {
	const char *service; /* NULL: all */
	const char *ns; /* -n: only this namespace's hosts */
	enum veer_format format;
};

static int parse_view_opts(int argc, char **argv, struct view_opts *o)
{
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"namespace", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	o->service = NULL;
	o->ns = NULL;
	o->format = VEER_FORMAT_TABLE;
	while ((opt = getopt_long(argc, argv, "o:n:", longopts, NULL)) != -1) {
		if (opt == 'n') {
			o->ns = optarg;
			continue;
		}
		if (opt != 'o')
			return bad_option(argv);
		if (veer_format_parse(optarg, &o->format)) {
			fail("unknown output format '%s' (table, json or "
			     "yaml)",
			     optarg);
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fail("expected at most one SERVICE");
		return EXIT_USAGE;
	}
	if (argc - optind == 1)
		o->service = argv[optind];
	return 0;
}

/* Reads the model, keeping only o->service when one is named. */
static int read_view(const struct view_opts *o, struct veer_maps *maps,
		     struct veer_model *view)
{
	struct veer_model all;
	char buf[VEER_NAME_MAX];
	const char *hns;
	int ret = -1;
	size_t i;

	veer_model_init(&all);
	if (open_maps(maps) ||
	    (o->service ? read_model_named(maps, &all, o->service, o->ns)
			: read_model(maps, &all)))
		goto out;
	if (o->service) {
		ret = select_services(&all, o->service, o->ns, view);
		goto out;
	}
	if (!o->ns) {
		*view = all;
		return 0;
	}
	for (i = 0; i < all.count; i++) {
		hns = host_namespace(all.services[i].host, buf, sizeof(buf));
		if (hns && !strcmp(hns, o->ns) &&
		    veer_model_copy_service(view, &all.services[i])) {
			fail("out of memory");
			goto out;
		}
	}
	ret = 0;
out:
	veer_model_free(&all);
	return ret;
}

static int run_get(int argc, char **argv)
{
	struct view_opts o;
	struct veer_model view;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	int ret;

	ret = parse_view_opts(argc, argv, &o);
	if (ret)
		return ret;
	if (require_root())
		return EXIT_FAILED;
	veer_model_init(&view);
	veer_maps_init(&maps);
	ret = EXIT_FAILED;
	if (read_view(&o, &maps, &view) == 0) {
		qsort(view.services, view.count, sizeof(*view.services),
		      cmp_service_name);
		if (o.format != VEER_FORMAT_YAML) {
			veer_print_services(stdout, &view, o.format);
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

static int run_stats(int argc, char **argv)
{
	struct veer_stats(*rows)[VEER_STATS_ROWS_PER_SVC] = NULL;
	struct veer_http_stats *http = NULL;
	struct view_opts o;
	struct veer_model view;
	struct veer_maps maps;
	char err[VEER_ERR_LEN];
	size_t i;
	int ret;

	ret = parse_view_opts(argc, argv, &o);
	if (ret)
		return ret;
	if (o.format == VEER_FORMAT_YAML) {
		fail("stats are printed as table or json");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	veer_model_init(&view);
	veer_maps_init(&maps);
	ret = EXIT_FAILED;
	if (read_view(&o, &maps, &view))
		goto out;
	qsort(view.services, view.count, sizeof(*view.services),
	      cmp_service_name);
	rows = calloc(view.count ? view.count : 1, sizeof(*rows));
	http = calloc(view.count ? view.count : 1, sizeof(*http));
	if (!rows || !http) {
		fail("out of memory");
		goto out;
	}
	for (i = 0; i < view.count; i++) {
		if (veer_maps_read_stats(&maps, view.services[i].id, rows[i],
					 err, sizeof(err)) ||
		    veer_maps_read_http_stats(&maps, view.services[i].id,
					      &http[i], err, sizeof(err))) {
			fail("%s", err);
			goto out;
		}
	}
	veer_print_stats(
		stdout, &view,
		(const struct veer_stats(*)[VEER_STATS_ROWS_PER_SVC])rows, http,
		o.format);
	ret = 0;
out:
	free(rows);
	free(http);
	veer_maps_close(&maps);
	veer_model_free(&view);
	return ret;
}

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

static int run_status(int argc, char **argv)
{
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

	if (no_options(argc, argv))
		return EXIT_USAGE;
	if (optind != argc) {
		fail("takes no arguments");
		return EXIT_USAGE;
	}
	if (require_root())
		return EXIT_FAILED;
	pin_in = veer_pinned_prog_id(g.pin_root, VEER_PIN_PROG_TC_INGRESS);
	pin_eg = veer_pinned_prog_id(g.pin_root, VEER_PIN_PROG_TC_EGRESS);
	printf("pin root:   %s\n", g.pin_root);
	snprintf(path, sizeof(path), "%s/%s", g.pin_root, VEER_MAP_SERVICES);
	if (!pin_in && !pin_eg && access(path, F_OK)) {
		printf("programs:   not loaded\n");
		return 0;
	}
	pin_xdp = veer_pinned_prog_id(g.pin_root, VEER_PIN_PROG_XDP_INGRESS);
	/* A missing pin is reported, not taken for "not loaded": attached
	 * programs are recognised by their maps (veer attach re-pins). */
	printf("programs:   ");
	print_prog_id("tc ingress", pin_in);
	print_prog_id(", tc egress", pin_eg);
	if (pin_xdp)
		printf(", xdp ingress id %u", pin_xdp);
	if (veer_pinned_prog_id(g.pin_root, VEER_PIN_PROG_CONNECT4))
		printf(", cgroup socket programs");
	putchar('\n');
	printf("HTTP routing: %s\n",
	       veer_http_state_text(veer_http_state(g.pin_root)));
	ifs = if_nameindex();
	for (it = ifs; it && it->if_index; it++) {
		veer_tc_query((int)it->if_index, &in_id, &eg_id);
		veer_xdp_query((int)it->if_index, &xdp_id, &native);
		if (xdp_id && !veer_prog_is_ours(xdp_id, g.pin_root))
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
	veer_cgroup_walk(g.pin_root, print_cgroup_found, &attached);
	if (!attached)
		printf("attached:   nowhere in this network namespace or "
		       "cgroup tree\n");

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
	return ret;
}

/* ---- command table --------------------------------------------------- */

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
	const char *details;
};

#define NAMING                                                                 \
	"  SERVICE is a service name, an Istio host, or a Kubernetes short\n"  \
	"  name (customers, customers.prod); -n NAMESPACE picks among\n"       \
	"  namespaces. A host with several entries (ports, IPv4 and IPv6)\n"   \
	"  is addressed as a whole.\n"

static const struct command commands[] = {
	{"attach", run_attach,
	 "[DEV] [--mode tc|xdp] [--cgroup [PATH]] [--max-services N]\n"
	 "                   [--max-backends N] [--ct-size N] "
	 "[--ct-close-grace MS] [--upgrade]",
	 "load veer (once) and attach it to the interface clients arrive on",
	 "  Loads and pins the programs and maps under the pin root unless\n"
	 "  they are there already, then attaches TC ingress (DNAT) and\n"
	 "  egress (reverse NAT) on DEV, and says whether HTTP routing (rules\n"
	 "  on headers and uri; kernel 5.17+) is on. Sizes apply to the\n"
	 "  first load only; maps already pinned keep theirs (and their\n"
	 "  conntrack): a size given that differs from them is refused.\n"
	 "  --mode xdp         the ingress work in XDP (native when the\n"
	 "                     driver has it, else generic), replies still\n"
	 "                     through TC egress, and services with HTTP\n"
	 "                     rules bound by TC ingress; tc is the default.\n"
	 "                     Attaching again with the other mode switches\n"
	 "                     over.\n"
	 "  --cgroup [PATH]    socket-level LB for processes in the cgroup2\n"
	 "                     PATH (default: the cgroup2 root): connect() to "
	 "a\n"
	 "                     VIP goes straight to the chosen backend, no\n"
	 "                     per-packet work; getpeername() reports the\n"
	 "                     VIP. With DEV too, both are attached.\n"
	 "  --max-services N   services (default 1024)\n"
	 "  --max-backends N   backend slots, all services (default 65536)\n"
	 "  --ct-size N        established connections tracked (2 map\n"
	 "                     entries each; half-open and closing tables\n"
	 "                     get an eighth each) (default 1048576)\n"
	 "  --ct-close-grace MS  how long a closed connection is still\n"
	 "                     translated (default 10000)\n"
	 "  --upgrade          load this build's programs over the pinned\n"
	 "                     maps and switch every attach point of this\n"
	 "                     network namespace and every cgroup to them\n"
	 "                     (one replacing attach each; DEV optional)\n"},
	{"detach", run_detach, "DEV | --cgroup [PATH] | --all",
	 "detach from DEV, or from every interface and remove the pins",
	 "  Live connections through DEV lose their translation.\n"},
	{"apply", run_apply,
	 "-f FILE|DIR [-f FILE|DIR ...] [-n NAMESPACE] [--dry-run]",
	 "create or update the services defined in FILEs",
	 "  Files are veer's native YAML or Istio/Kubernetes YAML\n"
	 "  (VirtualService, DestinationRule, ServiceEntry, WorkloadEntry,\n"
	 "  Service, Pod, List); a directory means its *.yaml, *.yml and\n"
	 "  *.json files. Everything is parsed and validated before anything\n"
	 "  is written; a bad file changes nothing. Each service switches\n"
	 "  atomically. Entries a host no longer defines are removed; other\n"
	 "  services are left alone.\n"
	 "  -n NAMESPACE       namespace of objects that name none (default\n"
	 "                     'default'), as with kubectl apply -n\n"
	 "  --dry-run          print what would change, change nothing\n"},
	{"weight", run_weight, "SERVICE [-n NAMESPACE] SUBSET=W [SUBSET=W ...]",
	 "change subset weights (must sum to 100); live connections stay",
	 "  Subsets not named keep their weight. Weight 0 drains a subset:\n"
	 "  no new connections, existing ones continue.\n" NAMING},
	{"get", run_get, "[SERVICE] [-n NAMESPACE] [-o table|json|yaml]",
	 "show services, subsets, weights and backends held in the maps",
	 "  -o yaml prints Istio YAML (ServiceEntry, DestinationRule,\n"
	 "  VirtualService) that 'veer apply' accepts back.\n" NAMING},
	{"stats", run_stats, "[SERVICE] [-n NAMESPACE] [-o table|json]",
	 "show per-subset counters and each subset's share of connections",
	 NAMING},
	{"status", run_status, "",
	 "show what is loaded, where it is attached and how full maps are", ""},
	{"delete", run_delete, "SERVICE [-n NAMESPACE]",
	 "remove a service: no new connections; live ones finish", NAMING},
};

#define COMMAND_COUNT (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	size_t i;

	fprintf(out,
		"usage: veer [--pin-root DIR] [-v] COMMAND [ARGS]\n\n"
		"Weighted TCP traffic splitting between service versions, in "
		"eBPF.\n\ncommands:\n");
	for (i = 0; i < COMMAND_COUNT; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
	fprintf(out,
		"\nglobal options:\n"
		"  --pin-root DIR  where maps and programs are pinned "
		"(default %s,\n"
		"                  or $%s)\n"
		"  -v, --verbose   show libbpf and verifier messages\n"
		"  -h, --help      this help; 'veer COMMAND --help' for one "
		"command\n"
		"\nenvironment:\n"
		"  VEER_WAIT       seconds a writer waits for the pin root's "
		"lock, and\n"
		"                  apply -f for a FIFO's writer (default 10)\n",
		VEER_PIN_ROOT_DEFAULT, VEER_PIN_ROOT_ENV);
}

static void command_usage(const struct command *cmd)
{
	printf("usage: veer %s %s\n\n%s.\n%s%s", cmd->name, cmd->args,
	       cmd->summary, *cmd->details ? "\n" : "", cmd->details);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"pin-root", required_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *env = getenv(VEER_PIN_ROOT_ENV);
	const struct command *cmd = NULL;
	int opt, i;
	size_t c;

	g.command = "veer";
	if (env && *env)
		g.pin_root = env;
	/* '+': stop at the command; its options belong to it. */
	while ((opt = getopt_long(argc, argv, "+vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			g.pin_root = optarg;
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (c = 0; c < COMMAND_COUNT; c++)
		if (!strcmp(argv[optind], commands[c].name))
			cmd = &commands[c];
	if (!cmd) {
		fprintf(stderr,
			"veer: unknown command '%s' (see veer --help)\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	g.command = cmd->name;
	if (g.pin_root[0] != '/' || strlen(g.pin_root) >= 200) {
		fail("pin root must be an absolute path under 200 bytes");
		return EXIT_USAGE;
	}
	for (i = optind + 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			command_usage(cmd);
			return 0;
		}
		if (!strcmp(argv[i], "--"))
			break;
	}
	libbpf_set_print(libbpf_print);
	argc -= optind;
	argv += optind;
	/* 0, not 1: glibc then forgets main's '+' (stop at first word) mode. */
	optind = 0;
	/* Usage errors from getopt itself get veer's prefix. */
	opterr = 0;
	return cmd->run(argc, argv);
}

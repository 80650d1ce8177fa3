// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Loading the data plane: the TC, XDP and socket objects from their
 * skeletons (the only file that includes them), sized like the maps
 * already pinned, their programs pinned in one step each; the HTTP
 * programs' tail-call table and what the kernel says of it.
 */
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "abi_check.h"
#include "veer_abi.h"
#include "veer_sock.skel.h"
#include "veer_tc.skel.h"
#include "veer_xdp.skel.h"

/*
 * Pins prog at path, replacing a pin already there in one step (pinned
 * beside it, then renamed over it): the path always names a program, the
 * old one until the rename, the new one after. A load happens when a pin
 * is missing or for an upgrade; the other pins of the set are replaced.
 */
static int pin_program(struct bpf_program *prog, const char *path)
{
	char tmp[PATH_MAX];
	/* bpffs refuses names with dots. */
	if (snprintf(tmp, sizeof(tmp), "%s_new", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(tmp); /* left by an upgrade that died here */
	if (bpf_obj_pin(bpf_program__fd(prog), tmp))
		return -1;
	if (rename(tmp, path)) {
		int saved = errno;

		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * The shared runtime values are written by the load that created the maps;
 * a load that found them pinned keeps what is there (same hash seed, so
 * flows are placed as before).
 */
static int runtime_init(int fd, uint32_t seed, uint32_t grace_ms, char *err,
			size_t errlen)
{
	struct veer_runtime rt = {};
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(fd, &zero, &rt) == 0 && rt.abi_version) {
		/* Maps of an older, compatible ABI (veer_abi_check let them
		 * through): this load's programs now run on them. */
		if (rt.abi_version == VEER_ABI_VERSION)
			return 0;
		rt.abi_version = VEER_ABI_VERSION;
		if (bpf_map_update_elem(fd, &zero, &rt, BPF_EXIST)) {
			snprintf(err, errlen, "cannot write %s: %s",
				 VEER_MAP_RUNTIME, strerror(errno));
			return -1;
		}
		return 0;
	}
	rt.hash_seed = seed;
	rt.abi_version = VEER_ABI_VERSION;
	rt.ct_close_grace_ns = (uint64_t)grace_ms * 1000000ULL;
	if (bpf_map_update_elem(fd, &zero, &rt, BPF_ANY)) {
		snprintf(err, errlen, "cannot write %s: %s", VEER_MAP_RUNTIME,
			 strerror(errno));
		return -1;
	}
	return 0;
}

#define SIZES_ADVICE                                                           \
	"maps already pinned keep their sizes; 'veer detach --all' and "       \
	"attach again to change them (live connections lose their pinning)"

int veer_load_sizes_agree(const char *pin_root,
			  const struct veer_load_opts *opts, unsigned int given,
			  char *err, size_t errlen)
{
	struct veer_runtime rt = {};
	char path[PATH_MAX];
	uint32_t have, zero = 0;
	int fd;

	const struct {
		unsigned int flag;
		const char *option, *map, *holds, *unit;
		uint32_t asked, per_unit, slack;
	} sizes[] = {
		{VEER_LOAD_GIVEN_MAX_SERVICES, "max-services",
		 VEER_MAP_SERVICES, "maps hold", "", opts->max_services, 1, 0},
		{VEER_LOAD_GIVEN_MAX_BACKENDS, "max-backends",
		 VEER_MAP_BACKENDS, "maps hold", "", opts->max_backends, 1, 0},
		{VEER_LOAD_GIVEN_CT_SIZE, "ct-size", VEER_MAP_CT,
		 "conntrack holds", " connections", opts->ct_flows,
		 VEER_CT_ENTRIES_PER_FLOW, veer_lru_slack()},
	};
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		have = veer_pinned_max_entries(pin_root, sizes[i].map);
		if (!(given & sizes[i].flag) || !have ||
		    have == sizes[i].asked * sizes[i].per_unit + sizes[i].slack)
			continue;
		snprintf(
			err, errlen,
			"--%s %u: the pinned %s %u%s; " SIZES_ADVICE,
			sizes[i].option, sizes[i].asked, sizes[i].holds,
			(have > sizes[i].slack ? have - sizes[i].slack : have) /
				sizes[i].per_unit,
			sizes[i].unit);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", pin_root, VEER_MAP_RUNTIME);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (!bpf_map_lookup_elem(fd, &zero, &rt) && rt.abi_version &&
	    (given & VEER_LOAD_GIVEN_CT_GRACE) &&
	    rt.ct_close_grace_ns !=
		    (uint64_t)opts->ct_close_grace_ms * 1000000ULL) {
		snprintf(err, errlen,
			 "--ct-close-grace %u: the pinned maps "
			 "use %llu ms; " SIZES_ADVICE,
			 opts->ct_close_grace_ms,
			 (unsigned long long)(rt.ct_close_grace_ns /
					      1000000ULL));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

bool veer_http_supported(void)
{
	return libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, BPF_FUNC_loop,
				       NULL) == 1;
}

/* The id of the program behind fd; 0 on error. */
static uint32_t prog_fd_id(int fd)
{
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);

	return bpf_obj_get_info_by_fd(fd, &info, &info_len) ? 0 : info.id;
}

/*
 * Removes the tail-call table pins of ingress programs that no longer
 * exist (upgraded and detached everywhere): their tables served nothing.
 */
static void http_table_prune(const char *pin_root)
{
	size_t plen = strlen(VEER_HTTP_TABLE_PIN_PREFIX);
	char path[PATH_MAX], *end;
	struct dirent *de;
	unsigned long id;
	DIR *dir;
	int fd;

	dir = opendir(pin_root);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, VEER_HTTP_TABLE_PIN_PREFIX, plen))
			continue;
		errno = 0;
		id = strtoul(de->d_name + plen, &end, 10);
		if (errno || *end || !id || id > UINT32_MAX)
			continue;
		fd = bpf_prog_get_fd_by_id((uint32_t)id);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		if (errno != ENOENT)
			continue;
		snprintf(path, sizeof(path), "%s/%s", pin_root, de->d_name);
		unlink(path);
	}
	closedir(dir);
}

/*
 * Fills the loaded TC object's tail-call table with its HTTP programs and
 * pins the table. The kernel empties a program array when the last file
 * descriptor or pin of it goes (its programs' references do not count),
 * so an unpinned table would be empty once this process exits. Each TC
 * object has its own table, pinned under its ingress program's id, so a
 * table keeps serving the programs that use it (an attach point not yet
 * upgraded) after an upgrade pins another one.
 */
static int http_table_fill(struct veer_tc *skel, const char *pin_root,
			   char *err, size_t errlen)
{
	const struct {
		__u32 slot;
		struct bpf_program *prog;
	} slots[] = {
		{VEER_TAIL_HTTP_INGRESS, skel->progs.veer_tc_http_ingress},
		{VEER_TAIL_HTTP_EGRESS, skel->progs.veer_tc_http_egress},
	};
	int table = bpf_map__fd(skel->maps.veer_http_progs);
	char path[PATH_MAX], tmp[PATH_MAX + 8];
	uint32_t id;
	size_t i;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		int fd = bpf_program__fd(slots[i].prog);

		if (fd < 0 ||
		    bpf_map_update_elem(table, &slots[i].slot, &fd, BPF_ANY)) {
			snprintf(err, errlen,
				 "cannot put %s in the tail-call table: %s",
				 bpf_program__name(slots[i].prog),
				 strerror(fd < 0 ? EBADF : errno));
			return -1;
		}
	}
	id = prog_fd_id(bpf_program__fd(skel->progs.veer_tc_ingress));
	if (!id) {
		snprintf(err, errlen,
			 "cannot read the ingress program's id: %s",
			 strerror(errno));
		return -1;
	}
	http_table_prune(pin_root);
	snprintf(path, sizeof(path), "%s/" VEER_HTTP_TABLE_PIN_PREFIX "%u",
		 pin_root, id);
	snprintf(tmp, sizeof(tmp), "%s_new", path);
	unlink(tmp);
	if (bpf_obj_pin(table, tmp) || rename(tmp, path)) {
		snprintf(err, errlen, "cannot pin %s: %s", path,
			 strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The map behind id when it is a program array; -1 otherwise. */
static int prog_array_by_id(__u32 id)
{
	struct bpf_map_info info = {};
	__u32 info_len = sizeof(info);
	int fd = bpf_map_get_fd_by_id(id);

	if (fd < 0)
		return -1;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len) ||
	    info.type != BPF_MAP_TYPE_PROG_ARRAY) {
		close(fd);
		return -1;
	}
	return fd;
}

enum veer_http_state veer_http_state(const char *pin_root)
{
	__u32 map_ids[VEER_PROG_MAP_IDS_MAX], i, slot, prog_id;
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	enum veer_http_state state = VEER_HTTP_NO_TABLE;
	char path[PATH_MAX];
	int fd, table;

	veer_prog_pin_path(path, sizeof(path), pin_root,
			   VEER_PIN_PROG_TC_INGRESS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return VEER_HTTP_NOT_LOADED;
	info.nr_map_ids = VEER_PROG_MAP_IDS_MAX;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		info.nr_map_ids = 0;
	close(fd);
	for (i = 0; i < info.nr_map_ids && i < VEER_PROG_MAP_IDS_MAX; i++) {
		table = prog_array_by_id(map_ids[i]);
		if (table < 0)
			continue;
		state = VEER_HTTP_ON;
		for (slot = VEER_TAIL_HTTP_INGRESS;
		     slot <= VEER_TAIL_HTTP_EGRESS; slot++)
			if (bpf_map_lookup_elem(table, &slot, &prog_id) ||
			    !prog_id)
				state = VEER_HTTP_EMPTY;
		close(table);
		break;
	}
	if (state != VEER_HTTP_ON && !veer_http_supported())
		state = VEER_HTTP_NO_KERNEL;
	return state;
}

const char *veer_http_state_text(enum veer_http_state state)
{
	switch (state) {
	case VEER_HTTP_ON:
		return "on";
	case VEER_HTTP_NO_KERNEL:
		return "off (this kernel lacks bpf_loop, 5.17+): services "
		       "with HTTP rules take their default route";
	case VEER_HTTP_NOT_LOADED:
		return "off (the tc programs are not loaded)";
	case VEER_HTTP_EMPTY:
		return "off (the HTTP programs are not in the loaded tc "
		       "ingress program's tail-call table; 'veer attach "
		       "--upgrade' puts them back): services with HTTP rules "
		       "take their default route";
	default:
		return "off (the loaded tc ingress program has no HTTP path): "
		       "services with HTTP rules take their default route";
	}
}

/*
 * Opens the TC object sized for opts and loads it, with or without the
 * HTTP programs. NULL with err set on failure.
 */
static struct veer_tc *tc_open_load(const char *pin_root,
				    const struct veer_load_opts *opts,
				    bool http, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_tc *skel = veer_tc__open_opts(&open_opts);

	if (!skel) {
		snprintf(err, errlen, "cannot open the BPF object: %s",
			 strerror(errno));
		return NULL;
	}
	veer_adopt_pinned_size(skel->maps.veer_services, pin_root,
			       opts->max_services);
	veer_adopt_pinned_size(skel->maps.veer_svc_meta, pin_root,
			       opts->max_services + 1);
	veer_adopt_pinned_size(skel->maps.veer_stats, pin_root,
			       (opts->max_services + 1) *
				       VEER_STATS_ROWS_PER_SVC);
	veer_adopt_pinned_size(skel->maps.veer_backends, pin_root,
			       opts->max_backends);
	veer_adopt_pinned_size(skel->maps.veer_be_vips, pin_root,
			       opts->max_backends);
	veer_adopt_pinned_size(skel->maps.veer_conntrack, pin_root,
			       opts->ct_flows * VEER_CT_ENTRIES_PER_FLOW +
				       veer_lru_slack());
	veer_adopt_pinned_size(skel->maps.veer_ct_syn, pin_root,
			       VEER_CT_SIDE_FLOWS(opts->ct_flows) *
					       VEER_CT_ENTRIES_PER_FLOW +
				       veer_lru_slack());
	veer_adopt_pinned_size(skel->maps.veer_ct_closing, pin_root,
			       VEER_CT_SIDE_FLOWS(opts->ct_flows) *
					       VEER_CT_ENTRIES_PER_FLOW +
				       veer_lru_slack());
	veer_adopt_pinned_size(skel->maps.veer_http_req, pin_root,
			       VEER_DEFAULT_HTTP_PENDING + veer_lru_slack());
	veer_adopt_pinned_size(skel->maps.veer_http_stats, pin_root,
			       opts->max_services + 1);
	veer_adopt_pinned_size(skel->maps.veer_health, pin_root,
			       (opts->max_services + 1) *
				       VEER_STATS_ROWS_PER_SVC);
	bpf_program__set_autoload(skel->progs.veer_tc_http_ingress, http);
	bpf_program__set_autoload(skel->progs.veer_tc_http_egress, http);
	if (veer_tc__load(skel)) {
		snprintf(err, errlen,
			 "cannot load the BPF programs: %s (run with -v for "
			 "the verifier log)",
			 strerror(errno));
		veer_tc__destroy(skel);
		return NULL;
	}
	return skel;
}

int veer_load(const char *pin_root, const struct veer_load_opts *opts,
	      int *ingress_fd, int *egress_fd, bool *reused, char *err,
	      size_t errlen)
{
	struct veer_tc *skel = NULL;
	char path[PATH_MAX];
	bool http;
	__u32 seed;
	int ret = -1;

	*reused = false;
	if (veer_abi_check(pin_root, err, errlen))
		return -1;
	if (!opts->upgrade && veer_open_progs(pin_root, ingress_fd, egress_fd,
					      err, errlen) == 0) {
		*reused = true;
		return 0;
	}
	if (opts->max_services == 0 || opts->max_backends == 0 ||
	    opts->ct_flows == 0) {
		snprintf(err, errlen, "map sizes must be positive");
		return -1;
	}

	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed)) {
		snprintf(err, errlen, "cannot seed the flow hash: %s",
			 strerror(errno));
		return -1;
	}
	/*
	 * The HTTP programs need bpf_loop; without it they stay out and
	 * services with rules take their default route. A kernel that has
	 * bpf_loop but whose verifier refuses them (5.17 to 6.0 are not
	 * tested) must not lose the L4 path too: load again without them,
	 * and say so.
	 */
	http = veer_http_supported();
	skel = tc_open_load(pin_root, opts, http, err, errlen);
	if (!skel && http) {
		http = false;
		skel = tc_open_load(pin_root, opts, false, err, errlen);
		if (skel)
			fprintf(stderr,
				"veer: this kernel refused the HTTP programs "
				"(run with -v for the verifier log): HTTP "
				"routing is off, services with rules take "
				"their default route\n");
	}
	if (!skel)
		return -1;
	if (runtime_init(bpf_map__fd(skel->maps.veer_runtime), seed,
			 opts->ct_close_grace_ms, err, errlen))
		goto cleanup;
	if (http && http_table_fill(skel, pin_root, err, errlen))
		goto cleanup;
	veer_prog_pin_path(path, sizeof(path), pin_root,
			   VEER_PIN_PROG_TC_INGRESS);
	if (pin_program(skel->progs.veer_tc_ingress, path))
		goto pin_failed;
	veer_prog_pin_path(path, sizeof(path), pin_root,
			   VEER_PIN_PROG_TC_EGRESS);
	if (pin_program(skel->progs.veer_tc_egress, path))
		goto pin_failed;
	*ingress_fd = dup(bpf_program__fd(skel->progs.veer_tc_ingress));
	*egress_fd = dup(bpf_program__fd(skel->progs.veer_tc_egress));
	ret = 0;
	goto cleanup;

pin_failed:
	snprintf(err, errlen, "cannot pin %s: %s", path, strerror(errno));
cleanup:
	veer_tc__destroy(skel);
	return ret;
}

static struct veer_xdp *open_load_xdp(const char *pin_root, bool frags)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct veer_xdp *skel;

	skel = veer_xdp__open_opts(&open_opts);
	if (!skel)
		return NULL;
	/* Every map exists already (the TC load made them): match sizes. */
	veer_adopt_pinned_sizes(skel->obj, pin_root);
	if (frags)
		bpf_program__set_flags(
			skel->progs.veer_xdp_ingress,
			bpf_program__flags(skel->progs.veer_xdp_ingress) |
				BPF_F_XDP_HAS_FRAGS);
	if (veer_xdp__load(skel)) {
		veer_xdp__destroy(skel);
		return NULL;
	}
	return skel;
}

static int load_xdp(const char *pin_root, bool upgrade, int *xdp_fd, char *err,
		    size_t errlen)
{
	struct veer_xdp *skel;
	char path[PATH_MAX];
	int ret = -1;

	veer_prog_pin_path(path, sizeof(path), pin_root,
			   VEER_PIN_PROG_XDP_INGRESS);
	*xdp_fd = upgrade ? -1 : bpf_obj_get(path);
	if (*xdp_fd >= 0)
		return 0;
	/*
	 * Multi-buffer aware where the kernel knows it (5.18+), so the
	 * program attaches to interfaces with jumbo MTUs (frames larger than
	 * a page arrive in fragments). Headers are only ever read from the
	 * first buffer. (On veth it does not keep GSO: veth drops it from its
	 * peer whenever any XDP program is attached.)
	 */
	skel = open_load_xdp(pin_root, true);
	if (!skel)
		skel = open_load_xdp(pin_root, false);
	if (!skel) {
		snprintf(err, errlen,
			 "cannot load the XDP program: %s (run with -v for "
			 "the verifier log)",
			 strerror(errno));
		return -1;
	}
	if (pin_program(skel->progs.veer_xdp_ingress, path)) {
		snprintf(err, errlen, "cannot pin %s: %s", path,
			 strerror(errno));
		goto cleanup;
	}
	*xdp_fd = dup(bpf_program__fd(skel->progs.veer_xdp_ingress));
	ret = 0;
cleanup:
	veer_xdp__destroy(skel);
	return ret;
}

int veer_load_xdp(const char *pin_root, int *xdp_fd, char *err, size_t errlen)
{
	return load_xdp(pin_root, false, xdp_fd, err, errlen);
}

int veer_load_xdp_upgrade(const char *pin_root, int *xdp_fd, char *err,
			  size_t errlen)
{
	return load_xdp(pin_root, true, xdp_fd, err, errlen);
}

static int load_sock(const char *pin_root, bool upgrade,
		     int fds[VEER_SOCK_PROG_COUNT], char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = pin_root);
	struct bpf_program *progs[VEER_SOCK_PROG_COUNT];
	struct veer_sock *skel;
	char path[PATH_MAX];
	int i, ret = -1;

	if (!upgrade && veer_open_sock_progs(pin_root, fds) == 0)
		return 0;
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++)
		fds[i] = -1;

	skel = veer_sock__open_opts(&open_opts);
	if (!skel) {
		snprintf(err, errlen, "cannot open the socket object: %s",
			 strerror(errno));
		return -1;
	}
	veer_adopt_pinned_sizes(skel->obj, pin_root);
	if (veer_sock__load(skel)) {
		snprintf(err, errlen,
			 "cannot load the socket programs: %s (run with -v "
			 "for the verifier log)",
			 strerror(errno));
		goto cleanup;
	}
	progs[VEER_SOCK_CONNECT4] = skel->progs.veer_connect4;
	progs[VEER_SOCK_CONNECT6] = skel->progs.veer_connect6;
	progs[VEER_SOCK_GETPEERNAME4] = skel->progs.veer_getpeername4;
	progs[VEER_SOCK_GETPEERNAME6] = skel->progs.veer_getpeername6;
	for (i = 0; i < VEER_SOCK_PROG_COUNT; i++) {
		veer_prog_pin_path(path, sizeof(path), pin_root,
				   veer_sock_prog_pins[i]);
		if (pin_program(progs[i], path)) {
			snprintf(err, errlen, "cannot pin %s: %s", path,
				 strerror(errno));
			goto cleanup;
		}
		fds[i] = dup(bpf_program__fd(progs[i]));
	}
	ret = 0;
cleanup:
	if (ret)
		veer_sock_progs_close(fds);
	veer_sock__destroy(skel);
	return ret;
}

int veer_load_sock(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
		   char *err, size_t errlen)
{
	return load_sock(pin_root, false, fds, err, errlen);
}

int veer_load_sock_upgrade(const char *pin_root, int fds[VEER_SOCK_PROG_COUNT],
			   char *err, size_t errlen)
{
	return load_sock(pin_root, true, fds, err, errlen);
}

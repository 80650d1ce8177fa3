// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the commands share: the pinned maps opened with a one-line error,
 * and services named as Istio and kubectl name them (cmd.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "loader.h"
#include "metrics.h"

void cmd_note(void *ctx, const char *note)
{
	(void)ctx;
	fprintf(stderr, "veer: %s: note: %s\n", cli.command, note);
}

int require_root(void)
{
	if (geteuid() != 0) {
		fail("must run as root (needs CAP_BPF and CAP_NET_ADMIN)");
		return -1;
	}
	return 0;
}

int open_maps(struct veer_maps *maps)
{
	char err[VEER_ERR_LEN];
	int ret;

	if (veer_pin_root_prepare(cli.pin_root, false, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	ret = veer_maps_open(cli.pin_root, maps, err, sizeof(err));
	if (ret)
		fail("%s", err);
	return ret;
}

/* For commands that change the maps: one writer at a time. */
int open_maps_locked(struct veer_maps *maps)
{
	char err[VEER_ERR_LEN];

	if (open_maps(maps))
		return -1;
	if (veer_maps_lock(maps, cli.pin_root, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

int read_model(const struct veer_maps *maps, struct veer_model *model)
{
	char err[VEER_ERR_LEN];

	if (veer_maps_read_model(maps, model, err, sizeof(err))) {
		fail("%s", err);
		return -1;
	}
	return 0;
}

/* ---- naming services --------------------------------------------------- */

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
		       ((hns = veer_host_namespace(host, buf, sizeof(buf))) &&
			!strcmp(hns, ns)) ||
		       !strcmp(svc->name, arg);
	if (!host || !(hns = veer_host_namespace(host, buf, sizeof(buf))))
		return false;
	if (strchr(arg, '.')) {
		snprintf(want, sizeof(want), "%s" VEER_KUBE_DOMAIN, arg);
		return !strcmp(host, want);
	}
	if (ns && strcmp(hns, ns))
		return false;
	snprintf(want, sizeof(want), "%s.%s" VEER_KUBE_DOMAIN, arg, hns);
	return !strcmp(host, want);
}

int cmp_service_name(const void *a, const void *b)
{
	return strcmp(((const struct veer_service_model *)a)->name,
		      ((const struct veer_service_model *)b)->name);
}

/*
 * Copies into *out every entry `arg` names, sorted by name. A short name found
 * in several namespaces is refused: the user picks one with -n.
 */
int select_services(const struct veer_model *all, const char *arg,
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
			 veer_host_namespace(svc->host, buf, sizeof(buf)) &&
			 veer_host_namespace(first_host, other,
					     sizeof(other)) &&
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

int read_model_named(const struct veer_maps *maps, struct veer_model *model,
		     const char *arg, const char *ns)
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

int read_selected(const struct veer_maps *maps, const char *service,
		  const char *ns, struct veer_model *view)
{
	struct veer_model all;
	char buf[VEER_NAME_MAX];
	const char *hns;
	int ret = -1;
	size_t i;

	veer_model_init(&all);
	if (service ? read_model_named(maps, &all, service, ns)
		    : read_model(maps, &all))
		goto out;
	if (service) {
		ret = select_services(&all, service, ns, view);
		goto out;
	}
	if (!ns) {
		*view = all;
		return 0;
	}
	for (i = 0; i < all.count; i++) {
		hns = veer_host_namespace(all.services[i].host, buf,
					  sizeof(buf));
		if (hns && !strcmp(hns, ns) &&
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

/* ---- long-running commands (top, rollout) ------------------------------ */

volatile sig_atomic_t cmd_stopping;

static void on_stop_signal(int sig)
{
	(void)sig;
	cmd_stopping = 1;
}

void cmd_catch_stop(void)
{
	struct sigaction sa = {.sa_handler = on_stop_signal};

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

void cmd_nap(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (!cmd_stopping && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int read_selected_metrics(const struct veer_maps *maps, const char *service,
			  const char *ns, struct veer_metrics_snapshot *out)
{
	struct veer_model view;
	char err[VEER_ERR_LEN];
	int ret = -1;

	veer_model_init(&view);
	if (read_selected(maps, service, ns, &view))
		goto out;
	if (veer_metrics_snapshot_read_model(maps, &view, out, 0, err,
					     sizeof(err))) {
		fail("%s", err);
		goto out;
	}
	ret = 0;
out:
	veer_model_free(&view);
	return ret;
}

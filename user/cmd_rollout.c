// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer rollout SERVICE --to SUBSET: progressive delivery on the data
 * plane's own counters. Each step sets the canary's weight (the rest to
 * the stable subset) through `veer weight`'s path, holds, and judges the
 * canary over the hold from two snapshots of the counters (metrics.h):
 * the share of its new connections that failed, absolute and against
 * the stable subset's. A breach (the --rollback-after'th; one before it
 * holds again) sets the weights back to the stable subset at once and
 * exits 3 naming the signal; the end is the canary at 100 and exit 0.
 * The steps, holds and thresholds may come from an Argo Rollout or a
 * Flagger Canary (rollout_plan.c). Killed midway, the weights stay at the step
 * it was at (store and maps agree, as after any `veer weight`).
 *
 * A failed connection is one the data plane saw fail: the backend refused
 * it (an RST to its SYN), reset it before sending any data, or left its
 * SYN unanswered (veer_health; with maps older than that, a handshake
 * aborted), or it was dropped for want of a backend. HTTP services also
 * have their first responses' status classes and time to first byte
 * judged (--max-5xx-rate, --max-p99). Where
 * connections are placed at connect() only (cgroup mode) neither a
 * handshake nor a failure is seen: a canary that cannot be judged is not
 * promoted.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "health.h"
#include "load.h"
#include "metrics.h"
#include "rollout_plan.h"

#define ROLLOUT_SAMPLE_MS 1000 /* samples for --plot */
#define ROLLOUT_SAMPLES_MAX 100000
#define ROLLOUT_PCT_BUF 16

/* The options a --file also gives: set on the command line, they win. */
enum {
	GIVEN_STEPS = 1 << 0,
	GIVEN_INTERVAL = 1 << 1,
	GIVEN_MAX_FAILURE_RATE = 1 << 2,
	GIVEN_MAX_5XX_RATE = 1 << 3,
	GIVEN_MAX_P99 = 1 << 4,
	GIVEN_ROLLBACK_AFTER = 1 << 5,
};

struct rollout_opts {
	const char *ns;
	const char *to;
	const char *from;
	const char *file; /* an Argo Rollout or a Flagger Canary; - stdin */
	const char *steps;
	unsigned int interval_ms;
	unsigned int min_conns;
	unsigned int max_holds;
	unsigned int rollback_after; /* breached holds */
	const char *max_failure_rate; /* percent, a decimal */
	const char *max_failure_excess; /* points over the stable subset */
	const char *max_5xx_rate; /* percent */
	unsigned int max_p99_ms; /* 0: not checked */
	const char *plot;
	unsigned int given; /* GIVEN_* */
};

/* What one hold saw of one subset. */
struct hold_counts {
	uint64_t conns;
	uint64_t failed;
	/* Handshakes seen to end either way (none: the socket path). */
	uint64_t seen;
	uint64_t responses, responses_5xx; /* HTTP services' first ones */
	/* Histograms (veer_health): time to first byte, handshake time. */
	__u64 ttfb[VEER_HIST_BUCKETS], handshake[VEER_HIST_BUCKETS];
};

/* One point of the --plot series. */
struct sample {
	double t; /* seconds since the start */
	unsigned int weight; /* the canary's */
	double canary_rate, stable_rate; /* new connections a second */
	double canary_failed_pct;
};

struct rollout {
	const struct rollout_opts *o;
	const char *service;
	char stable[VEER_SUBSET_NAME_MAX];
	/* The steps, and what a --file set that the command line did not. */
	struct veer_rollout_plan plan;
	unsigned int hold_ms; /* a step's hold unless it has its own */
	unsigned int rollback_after, breaches; /* breached holds */
	double max_rate, max_excess; /* fractions; max_excess < 0: off */
	double max_5xx; /* fraction */
	double max_p99; /* seconds; 0: off */
	struct veer_maps maps;
	struct timespec start;
	struct sample *samples;
	size_t nsamples;
	unsigned int weight; /* the canary's now */
	FILE *quiet; /* where a step's weight change lines go */
};

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* The service's counters now (one snapshot of the selected entries). */
static int snap(struct rollout *r, struct veer_metrics_snapshot *out)
{
	if (read_selected_metrics(&r->maps, r->service, r->o->ns, out))
		return -1;
	if (!out->count) {
		fail("%s: no such service", r->service);
		veer_metrics_snapshot_free(out);
		return -1;
	}
	return 0;
}

/*
 * A subset's counts in delta, summed over the service's entries (every
 * port and family of a host moves together).
 */
static struct hold_counts counts_of(const struct veer_metrics_snapshot *delta,
				    const char *subset, bool have_health)
{
	struct hold_counts c = {0};
	size_t i;
	unsigned int s;

	for (i = 0; i < delta->count; i++) {
		const struct veer_metrics_service *svc = &delta->services[i];

		for (s = 0; s < svc->subset_count; s++) {
			const struct veer_stats *row = &svc->rows[s];

			if (strcmp(svc->subset_names[s], subset))
				continue;
			const struct veer_health *h = &svc->health[s];
			unsigned int b;

			c.conns += row->new_conns;
			/* Refused, reset before any data, SYN unanswered
			 * (veer_health; before ABI 6, handshakes aborted). */
			c.failed +=
				row->no_backend +
				(have_health ? h->refused + h->syn_unanswered +
						       h->reset_before_data
					     : row->ct_aborted);
			c.seen += veer_health_outcomes(row, h);
			c.responses += h->responses_1xx + h->responses_2xx +
				       h->responses_3xx + h->responses_4xx +
				       h->responses_5xx;
			c.responses_5xx += h->responses_5xx;
			for (b = 0; b < VEER_HIST_BUCKETS; b++) {
				c.ttfb[b] += h->ttfb[b];
				c.handshake[b] += h->handshake[b];
			}
		}
	}
	return c;
}

/* The subset names of the service: --to must be one, --from too. */
static int check_subsets(struct rollout *r,
			 const struct veer_metrics_snapshot *snap)
{
	const struct veer_metrics_service *svc = &snap->services[0];
	bool to = false, from = false;
	unsigned int s;

	for (s = 0; s < svc->subset_count; s++) {
		to |= !strcmp(svc->subset_names[s], r->o->to);
		if (r->o->from)
			from |= !strcmp(svc->subset_names[s], r->o->from);
		else if (strcmp(svc->subset_names[s], r->o->to) &&
			 !r->stable[0])
			snprintf(r->stable, sizeof(r->stable), "%s",
				 svc->subset_names[s]);
	}
	if (r->o->from)
		snprintf(r->stable, sizeof(r->stable), "%s", r->o->from);
	if (!to) {
		fail("%s has no subset %s", svc->name, r->o->to);
		return -1;
	}
	if ((r->o->from && !from) || !r->stable[0] ||
	    !strcmp(r->stable, r->o->to)) {
		fail("%s: no stable subset to roll out from (--from SUBSET)",
		     svc->name);
		return -1;
	}
	if (svc->subset_count > 2 && !r->o->from) {
		fail("%s has %u subsets: say which is the stable one (--from "
		     "SUBSET)",
		     svc->name, svc->subset_count);
		return -1;
	}
	return 0;
}

/* Sets the canary to w and the stable subset to the rest. */
static int set_weight(struct rollout *r, unsigned int w, FILE *out)
{
	char a[2][VEER_SUBSET_NAME_MAX + ROLLOUT_PCT_BUF];
	char *args[2] = {a[0], a[1]};

	snprintf(a[0], sizeof(a[0]), "%s=%u", r->o->to, w);
	snprintf(a[1], sizeof(a[1]), "%s=%u", r->stable, 100 - w);
	if (change_weights(r->service, r->o->ns, args, 2, out ? out : r->quiet))
		return -1;
	r->weight = w;
	return 0;
}

static void record(struct rollout *r, const struct veer_metrics_snapshot *a,
		   const struct veer_metrics_snapshot *b)
{
	struct veer_metrics_snapshot d;
	struct hold_counts c, s;
	double secs = veer_metrics_elapsed(a, b);
	struct sample *p;

	if (!r->o->plot || r->nsamples == ROLLOUT_SAMPLES_MAX || secs <= 0 ||
	    veer_metrics_diff(a, b, &d))
		return;
	c = counts_of(&d, r->o->to, r->maps.health >= 0);
	s = counts_of(&d, r->stable, r->maps.health >= 0);
	veer_metrics_snapshot_free(&d);
	p = realloc(r->samples, (r->nsamples + 1) * sizeof(*p));
	if (!p)
		return;
	r->samples = p;
	p = &r->samples[r->nsamples++];
	p->t = since(&r->start);
	p->weight = r->weight;
	p->canary_rate = (double)c.conns / secs;
	p->stable_rate = (double)s.conns / secs;
	p->canary_failed_pct =
		c.conns ? 100.0 * (double)c.failed / (double)c.conns : 0;
}

/*
 * Holds at the current weight, sampling every ROLLOUT_SAMPLE_MS, until
 * the hold is over; the counts of the whole hold into *canary, *stable.
 */
static int hold(struct rollout *r, unsigned int hold_ms,
		struct hold_counts *canary, struct hold_counts *stable,
		double *secs)
{
	struct veer_metrics_snapshot first, prev, now, d;
	struct timespec t0;
	unsigned int left = hold_ms, ms;
	int ret = -1;

	veer_metrics_snapshot_init(&now);
	veer_metrics_snapshot_init(&prev);
	if (snap(r, &first))
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (left && !cmd_stopping) {
		ms = left < ROLLOUT_SAMPLE_MS ? left : ROLLOUT_SAMPLE_MS;
		cmd_nap(ms);
		left -= ms;
		veer_metrics_snapshot_free(&prev);
		prev = now;
		veer_metrics_snapshot_init(&now);
		if (snap(r, &now))
			goto out;
		record(r, prev.count ? &prev : &first, &now);
	}
	if (cmd_stopping)
		goto out;
	if (veer_metrics_diff(&first, &now, &d)) {
		fail("out of memory");
		goto out;
	}
	*canary = counts_of(&d, r->o->to, r->maps.health >= 0);
	*stable = counts_of(&d, r->stable, r->maps.health >= 0);
	*secs = veer_metrics_elapsed(&first, &now);
	veer_metrics_snapshot_free(&d);
	ret = 0;
out:
	veer_metrics_snapshot_free(&first);
	veer_metrics_snapshot_free(&prev);
	veer_metrics_snapshot_free(&now);
	return ret;
}

static double rate_of(const struct hold_counts *c)
{
	return c->conns ? (double)c->failed / (double)c->conns : 0;
}

static double rate_5xx(const struct hold_counts *c)
{
	return c->responses ? (double)c->responses_5xx / (double)c->responses
			    : 0;
}

/*
 * The latency a step is judged on: time to first byte where responses
 * were seen (an HTTP service), else the backend handshake.
 */
static double p99_judged(const struct hold_counts *c, const char **what)
{
	double ttfb = veer_hist_percentile(c->ttfb, 99);

	*what = isnan(ttfb) ? "handshake" : "first-byte";
	return isnan(ttfb) ? veer_hist_percentile(c->handshake, 99) : ttfb;
}

/* The last point: the weight now, the rates as last seen. */
static void record_end(struct rollout *r)
{
	struct sample *p;

	if (!r->o->plot || !r->nsamples || r->nsamples == ROLLOUT_SAMPLES_MAX)
		return;
	p = realloc(r->samples, (r->nsamples + 1) * sizeof(*p));
	if (!p)
		return;
	r->samples = p;
	p[r->nsamples] = p[r->nsamples - 1];
	p[r->nsamples].t = since(&r->start);
	p[r->nsamples].weight = r->weight;
	r->nsamples++;
}

/* The plot: weights and signals over time, drawn by gnuplot. */
static int plot(const struct rollout *r, const char *outcome)
{
	char data[] = "/tmp/veer-rollout-XXXXXX";
	int fd = mkstemp(data), status;
	FILE *f, *g;
	size_t i;

	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		fail("--plot: cannot write a data file: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	for (i = 0; i < r->nsamples; i++)
		fprintf(f, "%.3f %u %.3f %.3f %.3f\n", r->samples[i].t,
			r->samples[i].weight, r->samples[i].canary_rate,
			r->samples[i].stable_rate,
			r->samples[i].canary_failed_pct);
	fclose(f);
	g = popen("gnuplot", "w");
	if (!g) {
		fail("--plot: cannot run gnuplot: %s", strerror(errno));
		unlink(data);
		return -1;
	}
	fprintf(g,
		"set terminal pngcairo size 1000,600 noenhanced\n"
		"set output '%s'\n"
		"set title 'veer rollout %s: %s to %s (%s)'\n"
		"set xlabel 'seconds'\n"
		"set ylabel 'weight %%, failed %%'\n"
		"set y2label 'new connections / s'\n"
		"set yrange [0:105]\n"
		"set y2range [0:*]\n"
		"set ytics nomirror\n"
		"set y2tics\n"
		"set key outside bottom center horizontal\n"
		"plot '%s' using 1:2 with steps lw 2 title '%s weight', "
		"'' using 1:5 with lines title '%s failed %%', "
		"'' using 1:3 axes x1y2 with lines title '%s conn/s', "
		"'' using 1:4 axes x1y2 with lines title '%s conn/s'\n",
		r->o->plot, r->service, r->stable, r->o->to, outcome, data,
		r->o->to, r->o->to, r->o->to, r->stable);
	status = pclose(g);
	unlink(data);
	if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fail("--plot: gnuplot failed to draw %s", r->o->plot);
		return -1;
	}
	return 0;
}

/* Back to the stable subset at once; 3, the exit status of a rollback. */
static int roll_back(struct rollout *r, const char *why)
{
	printf("rollback: %s; %s back to %s=100\n", why, r->service, r->stable);
	fflush(stdout);
	if (set_weight(r, 0, NULL))
		fail("the rollback's weight change failed: weights are still "
		     "%s=%u",
		     r->o->to, r->weight);
	return 3;
}

/* What a hold's counts say of the canary. */
enum verdict {
	VERDICT_OK,
	VERDICT_THIN, /* fewer than --min-connections: held again */
	VERDICT_BLIND, /* nothing seen to complete or fail (cgroup mode) */
	VERDICT_BREACH,
};

/* The hold's line, up to its verdict. */
static void print_hold(const struct rollout *r, unsigned int step,
		       const struct hold_counts *canary,
		       const struct hold_counts *stable, double secs)
{
	const char *p99_what;
	double p99;

	printf("step %u/%u: %s %u%%: %.1f s, %s %llu connections, %llu failed "
	       "(%.2f%%); %s %llu, %llu failed (%.2f%%)",
	       step + 1, r->plan.nsteps, r->o->to, r->plan.steps[step].weight,
	       secs, r->o->to, (unsigned long long)canary->conns,
	       (unsigned long long)canary->failed, 100 * rate_of(canary),
	       r->stable, (unsigned long long)stable->conns,
	       (unsigned long long)stable->failed, 100 * rate_of(stable));
	if (canary->responses)
		printf("; %s 5xx %.2f%% of %llu", r->o->to,
		       100 * rate_5xx(canary),
		       (unsigned long long)canary->responses);
	p99 = p99_judged(canary, &p99_what);
	/* Under a millisecond in microseconds, so small bounds do not
	 * print as 0.0 ms. */
	if (!isnan(p99) && !isinf(p99) && p99 < 1e-3)
		printf("; %s p99 <= %.0f us", p99_what, 1e6 * p99);
	else if (!isnan(p99) && !isinf(p99))
		printf("; %s p99 <= %.1f ms", p99_what, 1000 * p99);
}

/* The verdict on a hold at weight, and why where it is not ok. */
static enum verdict judge(const struct rollout *r, unsigned int weight,
			  const struct hold_counts *canary,
			  const struct hold_counts *stable, char *why,
			  size_t len)
{
	const char *p99_what;
	double rate = rate_of(canary), p99 = p99_judged(canary, &p99_what);

	/* Nothing is judged on fewer connections. */
	if (canary->conns < r->o->min_conns)
		return VERDICT_THIN;
	if (!canary->seen) {
		snprintf(why, len,
			 "cannot see how %s's connections fare: none was seen "
			 "to complete or fail (placed at connect() only: "
			 "cgroup mode)",
			 r->o->to);
		return VERDICT_BLIND;
	}
	if (rate > r->max_rate) {
		snprintf(why, len,
			 "%s failure rate %.2f%% > %.2f%% over %llu "
			 "connections at %u%%",
			 r->o->to, 100 * rate, 100 * r->max_rate,
			 (unsigned long long)canary->conns, weight);
		return VERDICT_BREACH;
	}
	if (r->max_excess >= 0 && rate - rate_of(stable) > r->max_excess) {
		snprintf(why, len,
			 "%s failure rate %.2f%% is %.2f points over %s's "
			 "(> %.2f) at %u%%",
			 r->o->to, 100 * rate, 100 * (rate - rate_of(stable)),
			 r->stable, 100 * r->max_excess, weight);
		return VERDICT_BREACH;
	}
	if (canary->responses && rate_5xx(canary) > r->max_5xx) {
		snprintf(why, len,
			 "%s 5xx rate %.2f%% > %.2f%% over %llu responses at "
			 "%u%%",
			 r->o->to, 100 * rate_5xx(canary), 100 * r->max_5xx,
			 (unsigned long long)canary->responses, weight);
		return VERDICT_BREACH;
	}
	if (r->max_p99 > 0 && !isnan(p99) && p99 > r->max_p99) {
		snprintf(why, len, "%s %s p99 %s %.0f ms > %.0f ms at %u%%",
			 r->o->to, p99_what, isinf(p99) ? "over" : "up to",
			 isinf(p99) ? 1000 * veer_hist_le_seconds(
						     VEER_HIST_BUCKETS - 2)
				    : 1000 * p99,
			 1000 * r->max_p99, weight);
		return VERDICT_BREACH;
	}
	return VERDICT_OK;
}

static int run_steps(struct rollout *r)
{
	struct hold_counts canary, stable;
	char why[256];
	unsigned int i, weight, thin_holds;
	double secs;

	for (i = 0; i < r->plan.nsteps && !cmd_stopping; i++) {
		weight = r->plan.steps[i].weight;
		if (set_weight(r, weight, NULL))
			return EXIT_FAILED;
		if (weight == 100)
			break;
		/* Held until judged ok; a breach short of --rollback-after
		 * and a hold with too few connections are held again. */
		for (thin_holds = 0;
		     thin_holds < r->o->max_holds && !cmd_stopping;) {
			if (hold(r,
				 r->plan.steps[i].hold_ms
					 ? r->plan.steps[i].hold_ms
					 : r->hold_ms,
				 &canary, &stable, &secs)) {
				if (cmd_stopping)
					break; /* said below */
				return EXIT_FAILED;
			}
			print_hold(r, i, &canary, &stable, secs);
			switch (judge(r, weight, &canary, &stable, why,
				      sizeof(why))) {
			case VERDICT_THIN:
				printf(": fewer than %u, holding on\n",
				       r->o->min_conns);
				fflush(stdout);
				thin_holds++;
				continue;
			case VERDICT_BLIND:
				printf(": cannot judge\n");
				return roll_back(r, why);
			case VERDICT_BREACH:
				if (++r->breaches >= r->rollback_after) {
					printf(": breach\n");
					return roll_back(r, why);
				}
				printf(": breach %u of %u, holding again: %s\n",
				       r->breaches, r->rollback_after, why);
				fflush(stdout);
				continue;
			case VERDICT_OK:
				break;
			}
			printf(": ok\n");
			break;
		}
		fflush(stdout);
		if (!cmd_stopping && thin_holds == r->o->max_holds) {
			snprintf(why, sizeof(why),
				 "%s had fewer than %u connections in %u "
				 "holds at %u%%: not enough traffic to judge",
				 r->o->to, r->o->min_conns, r->o->max_holds,
				 weight);
			return roll_back(r, why);
		}
	}
	if (cmd_stopping) {
		printf("stopped: %s stays at %s=%u %s=%u (veer rollout or "
		       "veer weight carries on)\n",
		       r->service, r->o->to, r->weight, r->stable,
		       100 - r->weight);
		return EXIT_FAILED;
	}
	printf("done: %s=100\n", r->o->to);
	return 0;
}

/*
 * The steps, holds and thresholds: the command line's where it gives
 * them (GIVEN_*), else --file's, else the defaults. 0, or an exit code
 * after one line; nothing has been touched yet either way.
 */
static int settle_plan(struct rollout *r)
{
	const struct rollout_opts *o = r->o;
	char err[VEER_ERR_LEN], *buf;
	size_t len;
	unsigned int i;
	int ret;

	veer_rollout_plan_init(&r->plan);
	if (o->file) {
		if (veer_load_read_file(o->file, &buf, &len, err,
					sizeof(err))) {
			fail("%s", err);
			return EXIT_FAILED;
		}
		ret = veer_rollout_plan_read(
			strcmp(o->file, "-") ? o->file : "<stdin>", buf, len,
			&r->plan, err, sizeof(err));
		free(buf);
		if (ret) {
			fail("%s (nothing was changed)", err);
			return EXIT_FAILED;
		}
	}
	if ((!o->file || (o->given & GIVEN_STEPS)) &&
	    veer_rollout_parse_steps(&r->plan, o->steps)) {
		fail("--steps %s: increasing weights from 1 to 100, comma "
		     "separated, ending at 100",
		     o->steps);
		return EXIT_USAGE;
	}
	/* --interval is every step's hold, a file's pauses included. */
	r->hold_ms = o->interval_ms;
	if (o->given & GIVEN_INTERVAL)
		for (i = 0; i < r->plan.nsteps; i++)
			r->plan.steps[i].hold_ms = 0;
	else if (r->plan.hold_ms)
		r->hold_ms = r->plan.hold_ms;
	r->rollback_after =
		r->plan.rollback_after && !(o->given & GIVEN_ROLLBACK_AFTER)
			? r->plan.rollback_after
			: o->rollback_after;
	r->max_p99 = (r->plan.max_p99_ms && !(o->given & GIVEN_MAX_P99)
			      ? r->plan.max_p99_ms
			      : o->max_p99_ms) /
		     1000.0;
	r->max_rate = r->plan.max_failure_rate >= 0 &&
				      !(o->given & GIVEN_MAX_FAILURE_RATE)
			      ? r->plan.max_failure_rate
			      : veer_rollout_parse_pct(o->max_failure_rate);
	r->max_5xx =
		r->plan.max_5xx_rate >= 0 && !(o->given & GIVEN_MAX_5XX_RATE)
			? r->plan.max_5xx_rate
			: veer_rollout_parse_pct(o->max_5xx_rate);
	if (r->max_5xx < 0) {
		fail("--max-5xx-rate is a percentage from 0 to 100");
		return EXIT_USAGE;
	}
	r->max_excess = o->max_failure_excess
				? veer_rollout_parse_pct(o->max_failure_excess)
				: -2;
	if (r->max_rate < 0 || r->max_excess == -1) {
		fail("--max-failure-rate and --max-failure-excess are "
		     "percentages from 0 to 100");
		return EXIT_USAGE;
	}
	return 0;
}

static int run_rollout(const void *opts, int argc, char **argv)
{
	const struct rollout_opts *o = opts;
	struct rollout r = {.o = o};
	struct veer_metrics_snapshot first;
	int ret = EXIT_USAGE;

	if (argc != 1) {
		fail("expected one SERVICE");
		return EXIT_USAGE;
	}
	r.service = argv[0];
	if (!o->to) {
		fail("--to SUBSET is required");
		return EXIT_USAGE;
	}
	ret = settle_plan(&r);
	if (ret)
		return ret;
	if (require_root())
		return EXIT_FAILED;
	r.quiet = fopen("/dev/null", "w");
	if (!r.quiet) {
		fail("/dev/null: %s", strerror(errno));
		return EXIT_FAILED;
	}
	cmd_catch_stop();
	clock_gettime(CLOCK_MONOTONIC, &r.start);
	veer_maps_init(&r.maps);
	veer_metrics_snapshot_init(&first);
	ret = EXIT_FAILED;
	if (open_maps(&r.maps) || snap(&r, &first) || check_subsets(&r, &first))
		goto out;
	ret = run_steps(&r);
	record_end(&r);
	if (o->plot && plot(&r, ret == 0   ? "promoted"
				: ret == 3 ? "rolled back"
					   : "stopped"))
		ret = ret ? ret : EXIT_FAILED;
out:
	fclose(r.quiet);
	free(r.samples);
	veer_metrics_snapshot_free(&first);
	veer_maps_close(&r.maps);
	return ret;
}

static const struct rollout_opts rollout_defaults = {
	.steps = "10,25,50,100",
	.interval_ms = 30000,
	.min_conns = 100,
	.max_holds = 5,
	.rollback_after = 1,
	.max_failure_rate = "1",
	.max_5xx_rate = "1",
};

static const struct cli_option rollout_options[] = {
	NAMESPACE_OPTION(struct rollout_opts, ns,
			 "the namespace SERVICE is looked up in"),
	{
		.name = "to",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, to),
		.metavar = "SUBSET",
		.help = "the canary subset, rolled out to 100 (required)",
	},
	{
		.name = "from",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, from),
		.metavar = "SUBSET",
		.help = "the stable subset (default: the other one of two)",
	},
	{
		.name = "file",
		.flag = 'f',
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, file),
		.metavar = "FILE",
		.help = "take the steps, holds and thresholds from an Argo "
			"Rollouts Rollout or a Flagger Canary (- reads "
			"standard "
			"input); options given on the command line win",
	},
	{
		.name = "steps",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, steps),
		.metavar = "W,W,...",
		.help = "the canary's weights, increasing, ending at 100",
		.given = GIVEN_STEPS,
	},
	{
		.name = "interval",
		.type = CLI_U32,
		.field = offsetof(struct rollout_opts, interval_ms),
		.metavar = "MS",
		.min = VEER_ROLLOUT_HOLD_MIN_MS,
		.max = VEER_ROLLOUT_HOLD_MAX_MS,
		.help = "how long each step holds before it is judged; "
			"given, it also replaces a --file's pauses and "
			"interval",
		.given = GIVEN_INTERVAL,
	},
	{
		.name = "min-connections",
		.type = CLI_U32,
		.field = offsetof(struct rollout_opts, min_conns),
		.metavar = "N",
		.min = 1,
		.max = 100000000,
		.help = "the canary's new connections a step needs to be "
			"judged healthy; a hold with fewer is held again",
	},
	{
		.name = "max-holds",
		.type = CLI_U32,
		.field = offsetof(struct rollout_opts, max_holds),
		.metavar = "N",
		.min = 1,
		.max = 1000,
		.help = "holds a step may take to reach --min-connections; "
			"then it rolls back (not enough traffic to judge)",
	},
	{
		.name = "rollback-after",
		.type = CLI_U32,
		.field = offsetof(struct rollout_opts, rollback_after),
		.metavar = "N",
		.min = 1,
		.max = VEER_ROLLOUT_BREACHES_MAX,
		.help = "roll back at the Nth breached hold of the rollout; "
			"a breached hold before it is held again at the same "
			"weight (Flagger's threshold)",
		.given = GIVEN_ROLLBACK_AFTER,
	},
	{
		.name = "max-failure-rate",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, max_failure_rate),
		.metavar = "PCT",
		.help = "the most of the canary's new connections in a hold "
			"that may fail (refused, aborted, or no backend)",
		.given = GIVEN_MAX_FAILURE_RATE,
	},
	{
		.name = "max-failure-excess",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, max_failure_excess),
		.metavar = "PCT",
		.help = "the most the canary's failure rate may exceed the "
			"stable subset's, in points (default: not checked)",
	},
	{
		.name = "max-5xx-rate",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, max_5xx_rate),
		.metavar = "PCT",
		.help = "the most of the canary's HTTP responses in a hold "
			"that may be 5xx (HTTP services: the first response "
			"of each connection)",
		.given = GIVEN_MAX_5XX_RATE,
	},
	{
		.name = "max-p99",
		.type = CLI_U32,
		.field = offsetof(struct rollout_opts, max_p99_ms),
		.metavar = "MS",
		.min = 1,
		.max = VEER_ROLLOUT_P99_MAX_MS,
		.help = "the canary's 99th percentile time to first byte "
			"(HTTP services; else backend handshake time) in a "
			"hold, at most (log2 buckets: read as up to twice "
			"the true value; default: not checked)",
		.given = GIVEN_MAX_P99,
	},
	{
		.name = "plot",
		.type = CLI_STRING,
		.field = offsetof(struct rollout_opts, plot),
		.metavar = "FILE.png",
		.help = "draw the canary's weight, connections a second and "
			"failures over time (gnuplot)",
	},
	{},
};

static const char rollout_details[] =
	"  Each step sets the canary's weight (the stable subset gets the\n"
	"  rest), holds --interval, and judges the canary's new connections\n"
	"  in the hold: a breach (the --rollback-after'th; one before it is\n"
	"  held again) sets the weights back to the stable subset at once\n"
	"  and exits 3 saying which signal breached and by how much;\n"
	"  the last step (100) exits 0. One line per step. Killed or\n"
	"  interrupted, the weights stay at the step reached (exit 1).\n"
	"\n"
	"  --file reads one Argo Rollouts Rollout (argoproj.io/v1alpha1):\n"
	"  each setWeight of spec.strategy.canary.steps is a step, held as\n"
	"  long as the pause {duration} after it says (--interval where none\n"
	"  does), and 100 is added after a last setWeight below it, as Argo\n"
	"  promotes; or one Flagger Canary (flagger.app/v1beta1):\n"
	"  spec.analysis stepWeights, or stepWeight up to maxWeight, then\n"
	"  100, each held interval; threshold is --rollback-after;\n"
	"  request-success-rate min M is --max-failure-rate and\n"
	"  --max-5xx-rate 100-M, request-duration max D is --max-p99 D.\n"
	"  Indefinite pauses, other steps, A/B testing, webhooks and other\n"
	"  metrics are refused. Options given on the command line win over\n"
	"  the file (--interval over its pauses too); the file is read and\n"
	"  checked before any weight changes.\n";

const struct cli_command rollout_command = {
	.name = "rollout",
	.args = "SERVICE --to SUBSET [--from SUBSET] [-f FILE] [--steps W,...] "
		"[--interval MS]",
	.summary = "move a service to a subset step by step, rolling back "
		   "on failures",
	.details = rollout_details,
	CLI_OPTIONS(rollout_options, rollout_defaults),
	.given_field = offsetof(struct rollout_opts, given),
	.run = run_rollout,
};

// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * veer top: every service's subsets, live, from two snapshots of the
 * counters an interval apart (metrics.h): weight, the subset's share of
 * the service's new connections, connections a second, connections open,
 * failures and 5xx responses a second, and the median and 99th
 * percentile of the backend handshake and of the time to first byte. A
 * full-screen view (ncurses; 80 columns are enough, wider terminals widen
 * the service column), or with --batch N plain text frames for scripts,
 * as top -b does.
 */
#include <curses.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "health.h"
#include "metrics.h"

#define TOP_INTERVAL_MIN_MS 100
#define TOP_INTERVAL_MAX_MS 60000
#define TOP_BATCH_MAX 100000
/* The service column's width at 80 columns, and at most. */
#define TOP_SERVICE_WIDTH 14
#define TOP_SERVICE_WIDTH_MAX 64
#define TOP_LINE_MAX 512
#define TOP_KEYS "s/S: sort by the next/previous column  r: reverse  q: quit"

struct top_opts {
	const char *ns;
	unsigned int interval_ms;
	unsigned int batch;
	int sort; /* a column, enum top_col */
	bool reverse;
};

/* One subset of one service over one interval. */
struct top_row {
	const char *service;
	const char *subset;
	double weight;
	double share; /* % of the service's new connections; NAN: none */
	double conn_rate;
	double active;
	double fail_rate; /* refused, reset before data, unanswered, none */
	double rate_5xx;
	/* Percentiles as log2 buckets' bounds in seconds; NAN: none. */
	double hs50, hs99, fb50, fb99;
};

enum top_col {
	COL_SERVICE,
	COL_SUBSET,
	COL_WEIGHT,
	COL_SHARE,
	COL_CONN_RATE,
	COL_ACTIVE,
	COL_FAIL_RATE,
	COL_5XX_RATE,
	COL_HANDSHAKE,
	COL_FIRST_BYTE,
	COL_COUNT,
};

static const char *const sort_names[] = {
	[COL_SERVICE] = "service",
	[COL_SUBSET] = "subset",
	[COL_WEIGHT] = "weight",
	[COL_SHARE] = "share",
	[COL_CONN_RATE] = "conn/s",
	[COL_ACTIVE] = "active",
	[COL_FAIL_RATE] = "fail/s",
	[COL_5XX_RATE] = "5xx/s",
	[COL_HANDSHAKE] = "handshake",
	[COL_FIRST_BYTE] = "first-byte",
	NULL,
};

/* Titles, widths (the service column's is set per frame), formats. */
static const struct {
	const char *title;
	int width;
	int decimals; /* numbers: digits after the point */
} cols[COL_COUNT] = {
	[COL_SERVICE] = {"SERVICE", TOP_SERVICE_WIDTH, 0},
	[COL_SUBSET] = {"SUBSET", 6, 0},
	[COL_WEIGHT] = {"W", 3, 0},
	[COL_SHARE] = {"SHARE", 5, 1},
	[COL_CONN_RATE] = {"CONN/S", 7, 1},
	[COL_ACTIVE] = {"ACTIVE", 6, 0},
	[COL_FAIL_RATE] = {"FAIL/S", 6, 1},
	[COL_5XX_RATE] = {"5XX/S", 6, 1},
	[COL_HANDSHAKE] = {"HS50/99", 9, 0},
	[COL_FIRST_BYTE] = {"FB50/99", 9, 0},
};

static double row_value(const struct top_row *r, int col)
{
	switch (col) {
	case COL_WEIGHT:
		return r->weight;
	case COL_SHARE:
		return r->share;
	case COL_CONN_RATE:
		return r->conn_rate;
	case COL_ACTIVE:
		return r->active;
	case COL_FAIL_RATE:
		return r->fail_rate;
	case COL_5XX_RATE:
		return r->rate_5xx;
	case COL_HANDSHAKE:
		return r->hs99;
	case COL_FIRST_BYTE:
		return r->fb99;
	default:
		return 0;
	}
}

static const struct top_opts *sort_by; /* qsort has no context */

static int cmp_rows(const void *pa, const void *pb)
{
	const struct top_row *a = pa, *b = pb;
	int c = 0;
	double x, y;

	if (sort_by->sort == COL_SERVICE || sort_by->sort == COL_SUBSET) {
		c = strcmp(
			sort_by->sort == COL_SERVICE ? a->service : a->subset,
			sort_by->sort == COL_SERVICE ? b->service : b->subset);
	} else {
		/* Largest first; NAN (no value) last. */
		x = row_value(a, sort_by->sort);
		y = row_value(b, sort_by->sort);
		if (isnan(x) || isnan(y))
			c = isnan(x) - isnan(y);
		else
			c = x < y ? 1 : x > y ? -1 : 0;
	}
	if (!c)
		c = strcmp(a->service, b->service);
	if (!c)
		c = strcmp(a->subset, b->subset);
	return sort_by->reverse ? -c : c;
}

/*
 * The rows of one interval: delta is after - before, after the counters'
 * totals now. Open connections: handshakes completed minus pairs closed
 * or aborted since the service was made (a pair the conntrack table
 * evicts silently stays counted); unknown where the socket path alone
 * places connections (it sees connect(), never the close).
 */
static size_t make_rows(const struct veer_metrics_snapshot *delta,
			const struct veer_metrics_snapshot *after,
			double seconds, struct top_row *rows)
{
	size_t i, n = 0;
	unsigned int s;

	for (i = 0; i < delta->count; i++) {
		const struct veer_metrics_service *d = &delta->services[i];
		const struct veer_metrics_service *a =
			veer_metrics_snapshot_find(after, d->name);
		uint64_t total = 0;

		for (s = 0; s < d->subset_count; s++)
			total += d->rows[s].new_conns;
		for (s = 0; s < d->subset_count; s++) {
			const struct veer_stats *dr = &d->rows[s];
			const struct veer_health *dh = &d->health[s];
			const struct veer_stats *ar = a ? &a->rows[s] : dr;
			struct top_row *r = &rows[n++];

			/* Names from after, the snapshot that stays. */
			r->service = a ? a->name : d->name;
			r->subset = a ? a->subset_names[s] : d->subset_names[s];
			r->weight = d->weights[s];
			r->share = total && !isnan(seconds)
					   ? 100.0 * (double)dr->new_conns /
						     (double)total
					   : NAN;
			r->conn_rate = (double)dr->new_conns / seconds;
			r->active = a ? (double)a->live[s] : NAN;
			/* Placed at connect() only (cgroup): nothing seen. */
			if (ar->new_conns &&
			    !veer_health_outcomes(ar, a ? &a->health[s]
							: &d->health[s]))
				r->active = NAN;
			r->fail_rate =
				(double)(dh->refused + dh->reset_before_data +
					 dh->syn_unanswered + dr->no_backend) /
				seconds;
			r->rate_5xx = (double)dh->responses_5xx / seconds;
			/* ...nor a failure nor a response. */
			if (isnan(r->active))
				r->fail_rate = r->rate_5xx = NAN;
			r->hs50 = veer_hist_percentile(dh->handshake, 50);
			r->hs99 = veer_hist_percentile(dh->handshake, 99);
			r->fb50 = veer_hist_percentile(dh->ttfb, 50);
			r->fb99 = veer_hist_percentile(dh->ttfb, 99);
		}
	}
	return n;
}

/* A duration in at most 4 characters: 512u, 131m, 4.2s, >4s. */
static void duration(char *out, size_t len, double s)
{
	if (isnan(s))
		snprintf(out, len, "-");
	else if (isinf(s))
		snprintf(out, len, ">%.0fs",
			 veer_hist_le_seconds(VEER_HIST_BUCKETS - 2));
	else if (s < 1e-3)
		snprintf(out, len, "%.0fu", s * 1e6);
	else if (s < 1)
		snprintf(out, len, "%.0fm", s * 1e3);
	else
		snprintf(out, len, "%.1fs", s);
}

/* One cell, right-aligned numbers, left-aligned names cut to width. */
static int cell(char *out, size_t len, const struct top_row *r, int col,
		int width)
{
	double v;

	if (col == COL_SERVICE || col == COL_SUBSET) {
		const char *t = col == COL_SERVICE ? r->service : r->subset;

		return snprintf(out, len, "%-*.*s", width, width, t);
	}
	if (col == COL_HANDSHAKE || col == COL_FIRST_BYTE) {
		char p50[16], p99[16], both[40];

		duration(p50, sizeof(p50),
			 col == COL_HANDSHAKE ? r->hs50 : r->fb50);
		duration(p99, sizeof(p99),
			 col == COL_HANDSHAKE ? r->hs99 : r->fb99);
		if (!strcmp(p50, "-"))
			snprintf(both, sizeof(both), "-");
		else
			snprintf(both, sizeof(both), "%s/%s", p50, p99);
		return snprintf(out, len, "%*s", width, both);
	}
	v = row_value(r, col);
	if (isnan(v))
		return snprintf(out, len, "%*s", width, "-");
	return snprintf(out, len, "%*.*f", width, cols[col].decimals, v);
}

/* The frame's lines: a title, the column header, then the rows. */
struct frame {
	char (*lines)[TOP_LINE_MAX];
	size_t count;
};

static void render(struct frame *f, const struct top_opts *o,
		   const struct top_row *rows, size_t nrows, size_t services,
		   double seconds, int screen_cols)
{
	int service_width = TOP_SERVICE_WIDTH, c, w;
	char stamp[32], span[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i, at;

	if (screen_cols > 80)
		service_width += screen_cols - 80;
	if (service_width > TOP_SERVICE_WIDTH_MAX)
		service_width = TOP_SERVICE_WIDTH_MAX;
	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%H:%M:%S", &tm);
	if (isnan(seconds))
		snprintf(span, sizeof(span), "no rates yet");
	else
		snprintf(span, sizeof(span), "last %.3f s", seconds);
	snprintf(f->lines[0], TOP_LINE_MAX,
		 "veer top %s  %zu service%s  %s  sorted by %s%s", stamp,
		 services, services == 1 ? "" : "s", span, sort_names[o->sort],
		 o->reverse ? ", reversed" : "");
	for (c = 0, at = 0; c < COL_COUNT; c++) {
		w = c == COL_SERVICE ? service_width : cols[c].width;
		at += (size_t)snprintf(f->lines[1] + at, TOP_LINE_MAX - at,
				       c == COL_SERVICE || c == COL_SUBSET
					       ? "%s%-*s"
					       : "%s%*s",
				       c ? " " : "", w, cols[c].title);
	}
	for (i = 0; i < nrows; i++) {
		char *line = f->lines[2 + i];

		for (c = 0, at = 0; c < COL_COUNT && at < TOP_LINE_MAX; c++) {
			w = c == COL_SERVICE ? service_width : cols[c].width;
			if (c)
				line[at++] = ' ';
			at += (size_t)cell(line + at, TOP_LINE_MAX - at,
					   &rows[i], c, w);
		}
	}
	f->count = 2 + nrows;
}

struct top_state {
	const struct top_opts *o;
	const char *service;
	struct veer_maps maps;
	struct veer_metrics_snapshot before, after;
	struct top_row *rows;
	size_t nrows, services;
	double seconds;
	struct frame frame;
};

/* A snapshot of the selected services now. */
static int snap(struct top_state *t, struct veer_metrics_snapshot *out)
{
	return read_selected_metrics(&t->maps, t->service, t->o->ns, out);
}

/* Room for the rows of the services in snap. */
static int make_room(struct top_state *t,
		     const struct veer_metrics_snapshot *snap)
{
	size_t i, subsets = 0;

	for (i = 0; i < snap->count; i++)
		subsets += snap->services[i].subset_count;
	free(t->rows);
	free(t->frame.lines);
	t->rows = calloc(subsets ? subsets : 1, sizeof(*t->rows));
	t->frame.lines = calloc(subsets + 2, sizeof(*t->frame.lines));
	if (!t->rows || !t->frame.lines) {
		fail("out of memory");
		return -1;
	}
	return 0;
}

/*
 * The first frame, before an interval has passed: weights and open
 * connections, no rates (NAN: "-").
 */
static int first_rows(struct top_state *t)
{
	if (make_room(t, &t->after))
		return -1;
	t->seconds = NAN;
	t->nrows = make_rows(&t->after, &t->after, NAN, t->rows);
	t->services = t->after.count;
	return 0;
}

/* after becomes before; a new after, and the rows between them. */
static int step(struct top_state *t)
{
	struct veer_metrics_snapshot delta;

	veer_metrics_snapshot_free(&t->before);
	t->before = t->after;
	veer_metrics_snapshot_init(&t->after);
	if (snap(t, &t->after))
		return -1;
	if (veer_metrics_diff(&t->before, &t->after, &delta)) {
		fail("out of memory");
		return -1;
	}
	if (make_room(t, &delta)) {
		veer_metrics_snapshot_free(&delta);
		return -1;
	}
	t->seconds = veer_metrics_elapsed(&t->before, &t->after);
	if (t->seconds <= 0)
		t->seconds = 1e-3;
	t->nrows = make_rows(&delta, &t->after, t->seconds, t->rows);
	t->services = delta.count;
	veer_metrics_snapshot_free(&delta);
	return 0;
}

static void sort_rows(struct top_state *t)
{
	sort_by = t->o;
	qsort(t->rows, t->nrows, sizeof(*t->rows), cmp_rows);
}

static void print_frame(struct top_state *t)
{
	size_t i;

	sort_rows(t);
	render(&t->frame, t->o, t->rows, t->nrows, t->services, t->seconds, 80);
	for (i = 0; i < t->frame.count; i++)
		printf("%s\n", t->frame.lines[i]);
	printf("\n");
	fflush(stdout);
}

/* The first frame at once (no rates yet), then one an interval. */
static int run_batch(struct top_state *t)
{
	unsigned int n;

	if (first_rows(t))
		return -1;
	print_frame(t);
	for (n = 1; n < t->o->batch && !cmd_stopping; n++) {
		cmd_nap(t->o->interval_ms);
		if (cmd_stopping || step(t))
			break;
		print_frame(t);
	}
	return cmd_stopping || n == t->o->batch ? 0 : -1;
}

static int run_screen(struct top_state *t, struct top_opts *o)
{
	SCREEN *scr;
	int key, ret = 0;
	size_t i;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fail("top needs a terminal; --batch N prints N frames as "
		     "text");
		return -1;
	}
	scr = newterm(NULL, stdout, stdin);
	if (!scr) {
		fail("cannot drive this terminal (TERM=%s); --batch N prints "
		     "N frames as text",
		     getenv("TERM") ? getenv("TERM") : "");
		return -1;
	}
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	if (first_rows(t)) {
		endwin();
		delscreen(scr);
		return -1;
	}
	/* The first frame at once; then one an interval, or at a key. */
	for (key = 0; !cmd_stopping; key = getch()) {
		if (key == 'q' || key == 'Q')
			break;
		if (key == 's')
			o->sort = (o->sort + 1) % COL_COUNT;
		else if (key == 'S')
			o->sort = (o->sort + COL_COUNT - 1) % COL_COUNT;
		else if (key == 'r')
			o->reverse = !o->reverse;
		/* A key only re-sorts; the counters move on the interval. */
		if (key == ERR && step(t)) {
			ret = -1;
			break;
		}
		sort_rows(t);
		render(&t->frame, o, t->rows, t->nrows, t->services, t->seconds,
		       COLS);
		erase();
		for (i = 0; i < t->frame.count && (int)i < LINES - 1; i++)
			mvaddnstr((int)i, 0, t->frame.lines[i], COLS);
		mvaddnstr(LINES - 1, 0, TOP_KEYS, COLS);
		refresh();
		timeout((int)o->interval_ms);
	}
	endwin();
	delscreen(scr);
	return ret;
}

static int run_top(const void *opts, int argc, char **argv)
{
	struct top_opts o = *(const struct top_opts *)opts;
	struct top_state t = {.o = &o};
	int ret = EXIT_FAILED;

	if (argc > 1) {
		fail("expected at most one SERVICE");
		return EXIT_USAGE;
	}
	t.service = argc == 1 ? argv[0] : NULL;
	if (require_root())
		return EXIT_FAILED;
	cmd_catch_stop();
	veer_maps_init(&t.maps);
	veer_metrics_snapshot_init(&t.before);
	veer_metrics_snapshot_init(&t.after);
	if (open_maps(&t.maps) || snap(&t, &t.after))
		goto out;
	if (o.batch ? run_batch(&t) : run_screen(&t, &o))
		goto out;
	ret = 0;
out:
	free(t.rows);
	free(t.frame.lines);
	veer_metrics_snapshot_free(&t.before);
	veer_metrics_snapshot_free(&t.after);
	veer_maps_close(&t.maps);
	return ret;
}

static const struct top_opts top_defaults = {
	.interval_ms = 1000,
	.sort = COL_CONN_RATE,
};

static const struct cli_option top_options[] = {
	NAMESPACE_OPTION(struct top_opts, ns,
			 "only this namespace's hosts, or the namespace "
			 "SERVICE is looked up in"),
	{
		.name = "interval",
		.flag = 'd',
		.type = CLI_U32,
		.field = offsetof(struct top_opts, interval_ms),
		.metavar = "MS",
		.min = TOP_INTERVAL_MIN_MS,
		.max = TOP_INTERVAL_MAX_MS,
		.help = "time between frames, in milliseconds",
	},
	{
		.name = "batch",
		.flag = 'b',
		.type = CLI_U32,
		.field = offsetof(struct top_opts, batch),
		.metavar = "N",
		.min = 1,
		.max = TOP_BATCH_MAX,
		.help = "print N frames as plain text, then exit (no "
			"terminal needed)",
	},
	{
		.name = "sort",
		.type = CLI_ENUM,
		.field = offsetof(struct top_opts, sort),
		.names = sort_names,
		.what = "column",
		.help = "the column rows are sorted by (numbers largest "
			"first)",
	},
	{
		.name = "reverse",
		.type = CLI_FLAG,
		.field = offsetof(struct top_opts, reverse),
		.help = "reverse the order",
	},
	{},
};

static const char top_details[] =
	"  One row per subset of each service (or of SERVICE): its weight,\n"
	"  its share of the service's new connections in the last interval,\n"
	"  new connections a second, connections open (handshakes completed\n"
	"  minus pairs closed; '-' where only the cgroup socket path places\n"
	"  them: it never sees a close), failures a second (refused, reset\n"
	"  before any data, SYN unanswered, no backend), 5xx responses a\n"
	"  second (HTTP services), and the median/99th percentile of the\n"
	"  backend handshake (HS) and of the time to first byte (FB, HTTP\n"
	"  services) in the interval: u, m, s for micro-, milliseconds and\n"
	"  seconds, as log2 buckets' bounds (at most twice the true value).\n"
	"  Keys: s / S next / previous sort column, r reverse, q quit.\n";

const struct cli_command top_command = {
	.name = "top",
	.args = "[SERVICE] [-n NAMESPACE] [-d MS] [-b N] [--sort COLUMN]",
	.summary = "watch every subset's share, connections, failures and "
		   "latency live",
	.details = top_details,
	CLI_OPTIONS(top_options, top_defaults),
	.run = run_top,
};

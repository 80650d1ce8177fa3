// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A rollout's plan (rollout_plan.h): --steps, or an Argo Rollouts Rollout
 * or a Flagger Canary read through the YAML tree. A file is taken only
 * where veer can do what it says: steps that are not weights or timed
 * pauses, manual gates, A/B testing, webhooks and metrics other than
 * Flagger's two builtins are refused with their position, not skipped,
 * so that a rollout never runs on a plan its author did not write.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout_plan.h"
#include "yaml_read.h"

#define ARGO_API "argoproj.io/v1alpha1"
#define FLAGGER_API "flagger.app/v1beta1"
#define EXPECTED_KINDS                                                         \
	"an Argo Rollouts Rollout (" ARGO_API ") or a Flagger Canary "         \
	"(" FLAGGER_API ")"
/* "steps[99].pause.duration" and the like. */
#define WHAT_MAX 64
/* Flagger's builtin metrics, the only ones veer has signals for. */
#define METRIC_SUCCESS_RATE "request-success-rate"
#define METRIC_DURATION "request-duration"

void veer_rollout_plan_init(struct veer_rollout_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	plan->max_failure_rate = -1;
	plan->max_5xx_rate = -1;
}

/* A percentage 0..100 as written ("0.5", "99"); -1 when not one. */
static double parse_percent(const char *text)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= 0 && v <= 100))
		return -1;
	return v;
}

double veer_rollout_parse_pct(const char *text)
{
	double v = parse_percent(text);

	return v < 0 ? -1 : v / 100;
}

/* Whether weight may be the plan's next step: 1..100, above the last. */
static bool weight_follows(const struct veer_rollout_plan *plan,
			   unsigned int weight)
{
	return weight >= 1 && weight <= 100 &&
	       plan->nsteps < VEER_ROLLOUT_STEPS_MAX &&
	       (!plan->nsteps || weight > plan->steps[plan->nsteps - 1].weight);
}

static void add_step(struct veer_rollout_plan *plan, unsigned int weight)
{
	plan->steps[plan->nsteps].weight = weight;
	plan->steps[plan->nsteps].hold_ms = 0;
	plan->nsteps++;
}

int veer_rollout_parse_steps(struct veer_rollout_plan *plan, const char *text)
{
	const char *p = text;
	char *end;
	unsigned long v;

	plan->nsteps = 0;
	while (*p) {
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || end == p || v > 100 ||
		    !weight_follows(plan, (unsigned int)v) ||
		    (*end && *end != ','))
			return -1;
		add_step(plan, (unsigned int)v);
		p = *end ? end + 1 : end;
		if (*end && !*p)
			return -1;
	}
	return plan->nsteps && plan->steps[plan->nsteps - 1].weight == 100 ? 0
									   : -1;
}

/* "30s", "5m", "1h", "1m30s", "500ms" (Go's units, whole numbers), or
 * whole seconds ("30", 30: Argo's pause). Milliseconds, or -1. */
static long long parse_duration_ms(const char *text, size_t len)
{
	static const struct {
		const char *name;
		unsigned long long ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	const char *p = text, *stop = text + len;
	unsigned long long total = 0, value;
	size_t u, digits, n;

	if (!len)
		return -1;
	for (n = 0; n < len && text[n] >= '0' && text[n] <= '9'; n++)
		;
	if (n == len && len <= 9)
		return atoll(text) * 1000;
	while (p < stop) {
		for (value = 0, digits = 0;
		     p < stop && *p >= '0' && *p <= '9' && digits < 9;
		     p++, digits++)
			value = value * 10 + (unsigned long long)(*p - '0');
		if (!digits || (p < stop && *p >= '0' && *p <= '9'))
			return -1;
		/* "ms" before "m": the longest unit that fits. */
		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
			n = strlen(units[u].name);
			if ((size_t)(stop - p) >= n &&
			    !memcmp(p, units[u].name, n))
				break;
		}
		if (u == sizeof(units) / sizeof(units[0]))
			return -1;
		p += n;
		total += value * units[u].ms;
		if (total > (unsigned long long)VEER_ROLLOUT_HOLD_MAX_MS * 2)
			return (long long)total;
	}
	return (long long)total;
}

/* A hold's duration at n, in the bounds of --interval. */
static int read_duration(struct veer_yreader *rd, const ynode *n,
			 const char *what, unsigned int *ms)
{
	char d[VEER_YDESCRIBE_BUF];
	long long v = -1;

	if (n->type == VEER_YNODE_SCALAR &&
	    (n->kind == VEER_YSCALAR_INT || n->kind == VEER_YSCALAR_STR))
		v = parse_duration_ms(n->text, n->len);
	if (v < 0)
		return veer_yfail(rd, n,
				  "%s must be a duration like 30s, 5m, 1h or "
				  "1m30s (a bare number is seconds), got %s",
				  what, veer_ydescribe(n, d, sizeof(d)));
	if (v < VEER_ROLLOUT_HOLD_MIN_MS || v > VEER_ROLLOUT_HOLD_MAX_MS)
		return veer_yfail(rd, n, "%s must be from %ums to %uh, got %s",
				  what, VEER_ROLLOUT_HOLD_MIN_MS,
				  VEER_ROLLOUT_HOLD_MAX_MS / 3600000,
				  veer_ydescribe(n, d, sizeof(d)));
	*ms = (unsigned int)v;
	return 0;
}

/* A mapping or list that must be there. */
static const ynode *required(struct veer_yreader *rd, const ynode *map,
			     const char *key, int type, const char *what)
{
	const ynode *n = veer_yfield(map, key);

	if (!n) {
		veer_yfail(rd, map, "%s is required", what);
		return NULL;
	}
	return veer_ywant(rd, n, type, what) ? NULL : n;
}

/* A step's weight, which must increase on the one before. */
static int add_weight(struct veer_yreader *rd, struct veer_rollout_plan *plan,
		      const ynode *n, const char *what)
{
	unsigned int w;

	if (veer_yget_uint(rd, n, what, 1, 100, &w))
		return -1;
	if (!weight_follows(plan, w))
		return veer_yfail(rd, n,
				  "%s %u does not increase on the weight "
				  "before it (%u): veer's steps only move "
				  "towards the canary",
				  what, w,
				  plan->steps[plan->nsteps - 1].weight);
	add_step(plan, w);
	return 0;
}

/* steps[i].pause: the hold of the weight set before it. */
static int read_pause(struct veer_yreader *rd, struct veer_rollout_plan *plan,
		      size_t i, const ynode *key, const ynode *pause)
{
	const ynode *duration = pause && pause->type == VEER_YNODE_MAP
					? veer_yfield(pause, "duration")
					: NULL;
	struct veer_rollout_step *last;
	char what[WHAT_MAX];
	unsigned int ms;

	if (pause && pause->type != VEER_YNODE_MAP)
		return veer_ywant(rd, pause, VEER_YNODE_MAP, "pause");
	if (!duration)
		return veer_yfail(rd, key,
				  "steps[%zu]: a pause without a duration "
				  "waits for a manual promotion, which veer "
				  "does not have; give it one "
				  "(pause: {duration: 5m})",
				  i);
	if (!plan->nsteps)
		return veer_yfail(rd, key,
				  "steps[%zu]: a pause before any setWeight: "
				  "veer holds only at a canary weight",
				  i);
	last = &plan->steps[plan->nsteps - 1];
	if (last->weight == 100)
		return veer_yfail(rd, key,
				  "steps[%zu]: a pause after setWeight 100: "
				  "the rollout ends at 100, nothing is held "
				  "there",
				  i);
	snprintf(what, sizeof(what), "steps[%zu].pause.duration", i);
	if (read_duration(rd, duration, what, &ms))
		return -1;
	/* Two pauses in a row wait for both, as in Argo. */
	if (last->hold_ms + (unsigned long long)ms > VEER_ROLLOUT_HOLD_MAX_MS)
		return veer_yfail(rd, duration,
				  "steps[%zu]: the pauses after setWeight %u "
				  "add up to more than %uh",
				  i, last->weight,
				  VEER_ROLLOUT_HOLD_MAX_MS / 3600000);
	last->hold_ms += ms;
	return 0;
}

/* spec.strategy.canary.steps: setWeight and timed pauses, nothing else. */
static int read_argo(struct veer_yreader *rd, const ynode *obj,
		     struct veer_rollout_plan *plan)
{
	const ynode *spec, *strategy, *canary, *steps;
	char what[WHAT_MAX], q[VEER_YQUOTE_BUF];
	size_t i;

	if (!(spec = required(rd, obj, "spec", VEER_YNODE_MAP, "spec")) ||
	    !(strategy = required(rd, spec, "strategy", VEER_YNODE_MAP,
				  "spec.strategy")))
		return -1;
	if (!veer_yfield(strategy, "canary"))
		return veer_yfail(rd, strategy,
				  "spec.strategy.canary is required: veer "
				  "follows canary steps (not blueGreen)");
	if (!(canary = required(rd, strategy, "canary", VEER_YNODE_MAP,
				"spec.strategy.canary")) ||
	    !(steps = required(rd, canary, "steps", VEER_YNODE_SEQ,
			       "spec.strategy.canary.steps")))
		return -1;
	for (i = 0; i < steps->len; i++) {
		const ynode *step = steps->items[i], *key, *value;

		snprintf(what, sizeof(what), "steps[%zu]", i);
		if (veer_ywant(rd, step, VEER_YNODE_MAP, what))
			return -1;
		if (step->len != 1)
			return veer_yfail(rd, step,
					  "steps[%zu] must have one field "
					  "(setWeight or pause), got %zu",
					  i, step->len);
		key = veer_ynode_key(step, 0);
		value = veer_yopt(veer_ynode_value(step, 0));
		if (veer_ynode_is(key, "setWeight")) {
			snprintf(what, sizeof(what), "steps[%zu].setWeight", i);
			if (!value)
				return veer_yfail(rd, key, "%s has no value",
						  what);
			if (add_weight(rd, plan, value, what))
				return -1;
		} else if (veer_ynode_is(key, "pause")) {
			if (read_pause(rd, plan, i, key, value))
				return -1;
		} else {
			return veer_yfail(rd, key,
					  "steps[%zu]: %s steps are not "
					  "supported: veer sets weights and "
					  "holds (setWeight, pause) and judges "
					  "on its own counters",
					  i, veer_yquote(key, q, sizeof(q)));
		}
	}
	if (!plan->nsteps)
		return veer_yfail(rd, steps,
				  "spec.strategy.canary.steps has no "
				  "setWeight step");
	return 0;
}

static const struct veer_field_spec analysis_fields[] = {
	{"interval", VEER_F_USE, NULL},
	{"threshold", VEER_F_USE, NULL},
	{"stepWeight", VEER_F_USE, NULL},
	{"maxWeight", VEER_F_USE, NULL},
	{"stepWeights", VEER_F_USE, NULL},
	{"metrics", VEER_F_USE, NULL},
	/* Pod readiness and notifications: the cluster's business. */
	{"primaryReadyThreshold", VEER_F_SILENT, NULL},
	{"canaryReadyThreshold", VEER_F_SILENT, NULL},
	{"alerts", VEER_F_SILENT, NULL},
	{"iterations", VEER_F_REFUSE,
	 "iterations: A/B testing (iterations on matched requests) is not "
	 "supported: veer shifts weights (stepWeight, stepWeights)"},
	{"match", VEER_F_REFUSE,
	 "match: A/B testing (routing by request headers) is not supported: "
	 "veer shifts weights (stepWeight, stepWeights)"},
	{"mirror", VEER_F_REFUSE, "mirror: veer does not mirror traffic"},
	{"mirrorWeight", VEER_F_REFUSE,
	 "mirrorWeight: veer does not mirror traffic"},
	{"webhooks", VEER_F_REFUSE,
	 "webhooks: veer calls no webhooks (load tests, gates, rollback "
	 "hooks); remove them to roll out with veer"},
	{"stepWeightPromotion", VEER_F_REFUSE,
	 "stepWeightPromotion: veer promotes by setting the canary to 100 at "
	 "once"},
	{"sessionAffinity", VEER_F_REFUSE,
	 "sessionAffinity: veer's canary routing has no cookie affinity"},
};

static const struct veer_field_spec metric_fields[] = {
	{"name", VEER_F_USE, NULL},
	{"thresholdRange", VEER_F_USE, NULL},
	/* The query's window: veer judges the whole hold. */
	{"interval", VEER_F_SILENT, NULL},
	{"templateRef", VEER_F_REFUSE,
	 "templateRef: custom metrics are not supported: veer judges its own "
	 "counters (" METRIC_SUCCESS_RATE ", " METRIC_DURATION ")"},
	{"templateVariables", VEER_F_REFUSE,
	 "templateVariables: custom metrics are not supported"},
	{"query", VEER_F_REFUSE,
	 "query: custom metrics are not supported: veer judges its own "
	 "counters (" METRIC_SUCCESS_RATE ", " METRIC_DURATION ")"},
};

static const struct veer_field_spec range_fields[] = {
	{"min", VEER_F_USE, NULL},
	{"max", VEER_F_USE, NULL},
};

/*
 * One of Flagger's builtins, onto veer's signals: request-success-rate
 * min M bounds both the failed connections and (HTTP services) the 5xx
 * first responses at 100 - M percent; request-duration max D is the p99
 * in milliseconds (Flagger's is a p99 too).
 */
static int read_metric(struct veer_yreader *rd, const ynode *metric, size_t i,
		       struct veer_rollout_plan *plan)
{
	const ynode *name, *range, *min, *max;
	char what[WHAT_MAX], q[VEER_YQUOTE_BUF], d[VEER_YDESCRIBE_BUF];
	bool success;
	double pct;

	snprintf(what, sizeof(what), "metrics[%zu]", i);
	if (veer_ywant(rd, metric, VEER_YNODE_MAP, what))
		return -1;
	name = veer_yfield(metric, "name");
	if (!name)
		return veer_yfail(rd, metric, "%s: name is required", what);
	if (veer_yget_text(rd, name, "a metric's name"))
		return -1;
	success = veer_ynode_is(name, METRIC_SUCCESS_RATE);
	if (!success && !veer_ynode_is(name, METRIC_DURATION))
		return veer_yfail(rd, name,
				  "metric \"%s\" is not supported: veer "
				  "judges " METRIC_SUCCESS_RATE
				  " and " METRIC_DURATION " only",
				  veer_yquote(name, q, sizeof(q)));
	if ((success && plan->max_failure_rate >= 0) ||
	    (!success && plan->max_p99_ms))
		return veer_yfail(rd, name, "metric \"%s\" given twice",
				  veer_yquote(name, q, sizeof(q)));
	if (VEER_YCHECK_FIELDS(rd, metric, metric_fields, what))
		return -1;
	snprintf(what, sizeof(what), "metrics[%zu].thresholdRange", i);
	if (!(range = required(rd, metric, "thresholdRange", VEER_YNODE_MAP,
			       what)) ||
	    VEER_YCHECK_FIELDS(rd, range, range_fields, what))
		return -1;
	min = veer_yfield(range, "min");
	max = veer_yfield(range, "max");
	if (!success) {
		if (min || !max)
			return veer_yfail(rd, min ? min : range,
					  METRIC_DURATION
					  " takes "
					  "thresholdRange.max (milliseconds) "
					  "only");
		return veer_yget_uint(rd, max, METRIC_DURATION " max", 1,
				      VEER_ROLLOUT_P99_MAX_MS,
				      &plan->max_p99_ms);
	}
	if (max || !min)
		return veer_yfail(rd, max ? max : range,
				  METRIC_SUCCESS_RATE
				  " takes "
				  "thresholdRange.min (percent) only");
	pct = min->type == VEER_YNODE_SCALAR &&
			      (min->kind == VEER_YSCALAR_INT ||
			       min->kind == VEER_YSCALAR_FLOAT)
		      ? parse_percent(min->text)
		      : -1;
	if (pct < 0)
		return veer_yfail(rd, min,
				  METRIC_SUCCESS_RATE
				  " min must be a "
				  "percentage from 0 to 100, got %s",
				  veer_ydescribe(min, d, sizeof(d)));
	plan->max_failure_rate = plan->max_5xx_rate = (100 - pct) / 100;
	return 0;
}

/* spec.analysis.stepWeights, or stepWeight up to maxWeight. */
static int read_weights(struct veer_yreader *rd, const ynode *analysis,
			struct veer_rollout_plan *plan)
{
	const ynode *list = veer_yfield(analysis, "stepWeights"),
		    *step = veer_yfield(analysis, "stepWeight"),
		    *max = veer_yfield(analysis, "maxWeight");
	unsigned int step_weight, max_weight = 100, w;
	char what[WHAT_MAX];
	size_t i;

	if (list) {
		if (step || max)
			return veer_yfail(rd, step ? step : max,
					  "give stepWeights, or stepWeight "
					  "with maxWeight, not both");
		if (veer_ywant(rd, list, VEER_YNODE_SEQ, "stepWeights"))
			return -1;
		for (i = 0; i < list->len; i++) {
			snprintf(what, sizeof(what), "stepWeights[%zu]", i);
			if (add_weight(rd, plan, list->items[i], what))
				return -1;
		}
		if (!plan->nsteps)
			return veer_yfail(rd, list, "stepWeights is empty");
		return 0;
	}
	if (!step)
		return veer_yfail(rd, analysis,
				  "spec.analysis needs stepWeight (with "
				  "maxWeight) or stepWeights");
	if (veer_yget_uint(rd, step, "stepWeight", 1, 100, &step_weight) ||
	    (max && veer_yget_uint(rd, max, "maxWeight", 1, 100, &max_weight)))
		return -1;
	if (max_weight < step_weight)
		return veer_yfail(rd, max,
				  "maxWeight %u is below stepWeight %u: no "
				  "step would be taken",
				  max_weight, step_weight);
	for (w = step_weight; w <= max_weight; w += step_weight)
		add_step(plan, w);
	return 0;
}

/* spec.analysis: the weights, their hold, the threshold, the metrics. */
static int read_flagger(struct veer_yreader *rd, const ynode *obj,
			struct veer_rollout_plan *plan)
{
	const ynode *spec, *analysis, *n, *metrics;
	size_t i;

	if (!(spec = required(rd, obj, "spec", VEER_YNODE_MAP, "spec")) ||
	    !(analysis = required(rd, spec, "analysis", VEER_YNODE_MAP,
				  "spec.analysis")) ||
	    VEER_YCHECK_FIELDS(rd, analysis, analysis_fields, "spec.analysis"))
		return -1;
	if (read_weights(rd, analysis, plan))
		return -1;
	if ((n = veer_yfield(analysis, "interval")) &&
	    read_duration(rd, n, "interval", &plan->hold_ms))
		return -1;
	if ((n = veer_yfield(analysis, "threshold")) &&
	    veer_yget_uint(rd, n, "threshold", 1, VEER_ROLLOUT_BREACHES_MAX,
			   &plan->rollback_after))
		return -1;
	metrics = veer_yfield(analysis, "metrics");
	if (metrics && veer_ywant(rd, metrics, VEER_YNODE_SEQ, "metrics"))
		return -1;
	for (i = 0; metrics && i < metrics->len; i++)
		if (read_metric(rd, metrics->items[i], i, plan))
			return -1;
	return 0;
}

/* The one object of the text: empty documents are passed over. */
static const ynode *only_object(struct veer_yreader *rd,
				const struct veer_ytree *tree, const char *name)
{
	const ynode *obj = NULL;
	size_t i;

	for (i = 0; i < tree->doc_count; i++) {
		if (!tree->docs[i])
			continue;
		if (obj) {
			veer_yfail(rd, tree->docs[i],
				   "a second document: veer rollout follows "
				   "one object");
			return NULL;
		}
		obj = tree->docs[i];
	}
	if (!obj)
		veer_fail_at(rd->err, rd->errlen, name, 0, 0,
			     "empty: expected " EXPECTED_KINDS);
	return obj;
}

static int read_object(struct veer_yreader *rd, const ynode *obj,
		       struct veer_rollout_plan *plan)
{
	const ynode *api, *kind;
	char d[VEER_YDESCRIBE_BUF], q[VEER_YQUOTE_BUF];
	bool argo;

	if (obj->type != VEER_YNODE_MAP)
		return veer_yfail(rd, obj,
				  "expected " EXPECTED_KINDS ", got %s",
				  veer_ydescribe(obj, d, sizeof(d)));
	if (veer_yget_type_meta(rd, obj, &api, &kind))
		return -1;
	argo = veer_ynode_is(kind, "Rollout");
	if (!argo && !veer_ynode_is(kind, "Canary"))
		return veer_yfail(rd, kind,
				  "kind \"%s\" is not followed: expected "
				  "" EXPECTED_KINDS,
				  veer_yquote(kind, q, sizeof(q)));
	if (!veer_ynode_is(api, argo ? ARGO_API : FLAGGER_API))
		return veer_yfail(rd, api,
				  "apiVersion \"%s\" is not supported for %s "
				  "(%s)",
				  veer_yquote(api, q, sizeof(q)),
				  argo ? "Rollout" : "Canary",
				  argo ? ARGO_API : FLAGGER_API);
	return argo ? read_argo(rd, obj, plan) : read_flagger(rd, obj, plan);
}

int veer_rollout_plan_read(const char *name, const char *buf, size_t len,
			   struct veer_rollout_plan *plan, char *err,
			   size_t errlen)
{
	struct veer_yreader rd = {.err = err, .errlen = errlen};
	struct veer_ytree tree;
	const ynode *obj;
	int ret = -1;

	veer_rollout_plan_init(plan);
	memset(&tree, 0, sizeof(tree));
	if (veer_ytree_parse(&tree, name, buf, len, err, errlen))
		goto out;
	obj = only_object(&rd, &tree, name);
	if (!obj || read_object(&rd, obj, plan))
		goto out;
	/* Both promote to 100 after the last step. */
	if (plan->steps[plan->nsteps - 1].weight < 100)
		add_step(plan, 100);
	ret = 0;
out:
	if (ret)
		veer_rollout_plan_init(plan);
	veer_yreader_free(&rd);
	veer_ytree_free(&tree);
	return ret;
}

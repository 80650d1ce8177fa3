// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * `veer rollout`'s plan (user/rollout_plan.c): --steps, and Argo Rollouts
 * Rollouts and Flagger Canaries read to their exact steps, holds and
 * thresholds; every refusal as one line at its position, the plan left
 * empty. The rollout itself, from a file, is tests/e2e/test_rollout.sh.
 */
#include <stdio.h>
#include <string.h>

#include "rollout_plan.h"
#include "unit.h"

#define ERR_LEN 512
#define PLAN_TEXT_LEN 1024

/* "20@10000 40 100": each step's weight, and @hold where it has one. */
static const char *plan_text(const struct veer_rollout_plan *plan, char *buf,
			     size_t len)
{
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < plan->nsteps && used < len; i++) {
		used += (size_t)snprintf(buf + used, len - used, "%s%u",
					 i ? " " : "", plan->steps[i].weight);
		if (plan->steps[i].hold_ms && used < len)
			used += (size_t)snprintf(buf + used, len - used, "@%u",
						 plan->steps[i].hold_ms);
	}
	return buf;
}

static int read_text(const char *text, struct veer_rollout_plan *plan,
		     char *err)
{
	err[0] = '\0';
	return veer_rollout_plan_read("r.yaml", text, strlen(text), plan, err,
				      ERR_LEN);
}

#define ARGO_HEAD                                                              \
	"apiVersion: argoproj.io/v1alpha1\n"                                   \
	"kind: Rollout\n"                                                      \
	"metadata: {name: web}\n"                                              \
	"spec:\n"                                                              \
	"  replicas: 5\n"                                                      \
	"  strategy:\n"                                                        \
	"    canary:\n"                                                        \
	"      canaryService: web-canary\n"                                    \
	"      steps:\n"

#define FLAGGER_HEAD                                                           \
	"apiVersion: flagger.app/v1beta1\n"                                    \
	"kind: Canary\n"                                                       \
	"metadata: {name: web}\n"                                              \
	"spec:\n"                                                              \
	"  targetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n"    \
	"  analysis:\n"

struct good_case {
	const char *label;
	const char *yaml;
	const char *steps; /* plan_text */
	unsigned int hold_ms, rollback_after, max_p99_ms;
	double max_failure_rate, max_5xx_rate; /* -1: not set */
};

static const struct good_case good_cases[] = {
	{"argo: each pause holds its own setWeight; 100 added",
	 ARGO_HEAD "      - setWeight: 20\n"
		   "      - pause: {duration: 10s}\n"
		   "      - setWeight: 40\n"
		   "      - pause: {duration: 1m30s}\n"
		   "      - setWeight: 60\n"
		   "      - setWeight: 80\n"
		   "      - pause: {duration: 45}\n",
	 "20@10000 40@90000 60 80@45000 100", 0, 0, 0, -1, -1},
	{"argo: units, quoted seconds, two pauses in a row add up",
	 ARGO_HEAD "      - setWeight: 5\n"
		   "      - pause: {duration: 500ms}\n"
		   "      - setWeight: 10\n"
		   "      - pause: {duration: \"30\"}\n"
		   "      - pause: {duration: 1h}\n"
		   "      - setWeight: 100\n",
	 "5@500 10@3630000 100", 0, 0, 0, -1, -1},
	{"argo: a last setWeight of 100 is not added again",
	 ARGO_HEAD "      - setWeight: 50\n"
		   "      - setWeight: 100\n",
	 "50 100", 0, 0, 0, -1, -1},
	{"flagger: stepWeight up to maxWeight, interval, threshold, metrics",
	 FLAGGER_HEAD "    interval: 1m\n"
		      "    threshold: 5\n"
		      "    maxWeight: 50\n"
		      "    stepWeight: 10\n"
		      "    primaryReadyThreshold: 100\n"
		      "    metrics:\n"
		      "    - name: request-success-rate\n"
		      "      thresholdRange: {min: 99}\n"
		      "      interval: 1m\n"
		      "    - name: request-duration\n"
		      "      thresholdRange: {max: 500}\n"
		      "      interval: 30s\n",
	 "10 20 30 40 50 100", 60000, 5, 500, 0.01, 0.01},
	{"flagger: stepWeight not dividing maxWeight stops below it",
	 FLAGGER_HEAD "    stepWeight: 20\n"
		      "    maxWeight: 50\n",
	 "20 40 100", 0, 0, 0, -1, -1},
	{"flagger: stepWeight alone goes to 100 (maxWeight's default)",
	 FLAGGER_HEAD "    stepWeight: 25\n", "25 50 75 100", 0, 0, 0, -1, -1},
	{"flagger: stepWeights, a decimal success rate",
	 FLAGGER_HEAD "    interval: 30s\n"
		      "    stepWeights: [1, 2, 10, 80]\n"
		      "    metrics:\n"
		      "    - name: request-success-rate\n"
		      "      thresholdRange: {min: 99.5}\n",
	 "1 2 10 80 100", 30000, 0, 0, 0.005, 0.005},
};

static void test_good(void)
{
	char err[ERR_LEN], text[PLAN_TEXT_LEN];
	struct veer_rollout_plan plan;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good_cases); i++) {
		const struct good_case *t = &good_cases[i];

		UNIT_CHECK(read_text(t->yaml, &plan, err) == 0, "%s: %s",
			   t->label, err);
		UNIT_CHECK(
			!strcmp(plan_text(&plan, text, sizeof(text)), t->steps),
			"%s: steps %s, want %s", t->label, text, t->steps);
		UNIT_CHECK(plan.hold_ms == t->hold_ms &&
				   plan.rollback_after == t->rollback_after &&
				   plan.max_p99_ms == t->max_p99_ms,
			   "%s: hold %u threshold %u p99 %u", t->label,
			   plan.hold_ms, plan.rollback_after, plan.max_p99_ms);
		UNIT_CHECK(plan.max_failure_rate > t->max_failure_rate - 1e-9 &&
				   plan.max_failure_rate <
					   t->max_failure_rate + 1e-9 &&
				   plan.max_5xx_rate > t->max_5xx_rate - 1e-9 &&
				   plan.max_5xx_rate < t->max_5xx_rate + 1e-9,
			   "%s: failure rate %g, 5xx %g", t->label,
			   plan.max_failure_rate, plan.max_5xx_rate);
	}
}

struct bad_case {
	const char *label;
	const char *yaml;
	const char *where; /* the line's start: "r.yaml:L:C: " */
	const char *what; /* in the message */
};

static const struct bad_case bad_cases[] = {
	{"empty", "", "r.yaml: ", "empty: expected an Argo Rollouts Rollout"},
	{"not YAML", ARGO_HEAD "      - setWeight: [\n",
	 "r.yaml:11:1: ", "did not find expected node content"},
	{"two documents",
	 ARGO_HEAD "      - setWeight: 50\n---\n" FLAGGER_HEAD
		   "    stepWeight: 10\n",
	 "r.yaml:12:1: ", "a second document"},
	{"a list", "- setWeight: 10\n", "r.yaml:1:1: ",
	 "expected an Argo Rollouts Rollout (argoproj.io/v1alpha1) or a "
	 "Flagger Canary (flagger.app/v1beta1), got a list"},
	{"wrong kind", "apiVersion: apps/v1\nkind: Deployment\n",
	 "r.yaml:2:7: ", "kind \"Deployment\" is not followed"},
	{"no kind", "apiVersion: argoproj.io/v1alpha1\n",
	 "r.yaml:1:1: ", "kind is required"},
	{"Rollout of another version",
	 "apiVersion: argoproj.io/v1\nkind: Rollout\n", "r.yaml:1:13: ",
	 "apiVersion \"argoproj.io/v1\" is not supported for Rollout "
	 "(argoproj.io/v1alpha1)"},
	{"no spec", "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\n",
	 "r.yaml:1:1: ", "spec is required"},
	{"blueGreen",
	 "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n"
	 "  strategy:\n    blueGreen: {activeService: web}\n",
	 "r.yaml:5:5: ", "spec.strategy.canary is required"},
	{"no steps",
	 "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n"
	 "  strategy:\n    canary: {steps: []}\n",
	 "r.yaml:5:21: ", "spec.strategy.canary.steps has no setWeight step"},
	{"steps not a list",
	 "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nspec:\n"
	 "  strategy:\n    canary: {steps: 10}\n",
	 "r.yaml:5:21: ", "spec.strategy.canary.steps must be a list, got 10"},
	{"indefinite pause",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {}\n",
	 "r.yaml:11:9: ",
	 "steps[1]: a pause without a duration waits for a manual "
	 "promotion, which veer does not have; give it one"},
	{"null pause", ARGO_HEAD "      - setWeight: 20\n      - pause:\n",
	 "r.yaml:11:9: ", "manual promotion"},
	{"pause first", ARGO_HEAD "      - pause: {duration: 1m}\n",
	 "r.yaml:10:9: ", "steps[0]: a pause before any setWeight"},
	{"pause at 100",
	 ARGO_HEAD "      - setWeight: 100\n      - pause: {duration: 1m}\n",
	 "r.yaml:11:9: ", "steps[1]: a pause after setWeight 100"},
	{"setCanaryScale",
	 ARGO_HEAD "      - setWeight: 20\n"
		   "      - setCanaryScale: {replicas: 3}\n",
	 "r.yaml:11:9: ", "steps[1]: setCanaryScale steps are not supported"},
	{"analysis step", ARGO_HEAD "      - analysis: {templates: []}\n",
	 "r.yaml:10:9: ", "steps[0]: analysis steps are not supported"},
	{"experiment step", ARGO_HEAD "      - experiment: {}\n",
	 "r.yaml:10:9: ", "steps[0]: experiment steps are not supported"},
	{"setHeaderRoute step", ARGO_HEAD "      - setHeaderRoute: {}\n",
	 "r.yaml:10:9: ", "steps[0]: setHeaderRoute steps are not supported"},
	{"setMirrorRoute step", ARGO_HEAD "      - setMirrorRoute: {}\n",
	 "r.yaml:10:9: ", "steps[0]: setMirrorRoute steps are not supported"},
	{"plugin step", ARGO_HEAD "      - plugin: {name: x}\n",
	 "r.yaml:10:9: ", "steps[0]: plugin steps are not supported"},
	{"two fields in a step",
	 ARGO_HEAD "      - setWeight: 20\n        pause: {duration: 1m}\n",
	 "r.yaml:10:9: ", "steps[0] must have one field"},
	{"weight 0", ARGO_HEAD "      - setWeight: 0\n", "r.yaml:10:20: ",
	 "steps[0].setWeight must be an integer 1..100, got 0"},
	{"negative weight", ARGO_HEAD "      - setWeight: -10\n",
	 "r.yaml:10:20: ", "must be an integer 1..100, got -10"},
	{"weight over 100", ARGO_HEAD "      - setWeight: 101\n",
	 "r.yaml:10:20: ", "must be an integer 1..100, got 101"},
	{"weight going down",
	 ARGO_HEAD "      - setWeight: 50\n      - setWeight: 20\n",
	 "r.yaml:11:20: ",
	 "steps[1].setWeight 20 does not increase on the weight before it "
	 "(50)"},
	{"weight repeated",
	 ARGO_HEAD "      - setWeight: 50\n      - setWeight: 50\n",
	 "r.yaml:11:20: ", "does not increase"},
	{"duration unit",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {duration: 10x}\n",
	 "r.yaml:11:27: ",
	 "steps[1].pause.duration must be a duration like 30s, 5m, 1h or "
	 "1m30s (a bare number is seconds), got 10x"},
	{"fractional duration",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {duration: 1.5m}\n",
	 "r.yaml:11:27: ", "must be a duration"},
	{"negative duration",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {duration: -5}\n",
	 "r.yaml:11:27: ", "must be a duration"},
	{"duration too short",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {duration: 50ms}\n",
	 "r.yaml:11:27: ",
	 "steps[1].pause.duration must be from 100ms to 24h, got 50ms"},
	{"duration too long",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {duration: 25h}\n",
	 "r.yaml:11:27: ", "must be from 100ms to 24h"},
	{"pauses adding up past a day",
	 ARGO_HEAD "      - setWeight: 20\n      - pause: {duration: 20h}\n"
		   "      - pause: {duration: 5h}\n",
	 "r.yaml:12:27: ", "add up to more than 24h"},
	{"canary without analysis",
	 "apiVersion: flagger.app/v1beta1\nkind: Canary\nspec: {}\n",
	 "r.yaml:3:7: ", "spec.analysis is required"},
	{"no weights", FLAGGER_HEAD "    interval: 1m\n", "r.yaml:7:5: ",
	 "spec.analysis needs stepWeight (with maxWeight) or stepWeights"},
	{"iterations (A/B)", FLAGGER_HEAD "    iterations: 10\n    match: []\n",
	 "r.yaml:7:5: ", "iterations: A/B testing"},
	{"webhooks",
	 FLAGGER_HEAD "    stepWeight: 10\n    webhooks: [{name: load}]\n",
	 "r.yaml:8:5: ", "webhooks: veer calls no webhooks"},
	{"unknown analysis field", FLAGGER_HEAD "    stepweight: 10\n",
	 "r.yaml:7:5: ", "unknown field \"stepweight\" in spec.analysis"},
	{"maxWeight below stepWeight",
	 FLAGGER_HEAD "    stepWeight: 30\n    maxWeight: 20\n",
	 "r.yaml:8:16: ", "maxWeight 20 is below stepWeight 30"},
	{"stepWeight over 100", FLAGGER_HEAD "    stepWeight: 110\n",
	 "r.yaml:7:17: ", "stepWeight must be an integer 1..100, got 110"},
	{"stepWeights and stepWeight",
	 FLAGGER_HEAD "    stepWeight: 10\n    stepWeights: [10, 20]\n",
	 "r.yaml:7:17: ", "give stepWeights, or stepWeight"},
	{"stepWeights going down", FLAGGER_HEAD "    stepWeights: [10, 5]\n",
	 "r.yaml:7:23: ",
	 "stepWeights[1] 5 does not increase on the weight before it (10)"},
	{"stepWeights empty", FLAGGER_HEAD "    stepWeights: []\n",
	 "r.yaml:7:18: ", "stepWeights is empty"},
	{"bad interval",
	 FLAGGER_HEAD "    stepWeight: 10\n    interval: soon\n",
	 "r.yaml:8:15: ", "interval must be a duration"},
	{"threshold 0", FLAGGER_HEAD "    stepWeight: 10\n    threshold: 0\n",
	 "r.yaml:8:16: ", "threshold must be an integer 1..1000, got 0"},
	{"unknown metric",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: error-budget\n"
		      "      thresholdRange: {max: 1}\n",
	 "r.yaml:9:13: ",
	 "metric \"error-budget\" is not supported: veer judges "
	 "request-success-rate and request-duration only"},
	{"custom template on a builtin name",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: request-duration\n"
		      "      templateRef: {name: latency}\n"
		      "      thresholdRange: {max: 1}\n",
	 "r.yaml:10:7: ", "templateRef: custom metrics are not supported"},
	{"success rate without min",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: request-success-rate\n"
		      "      thresholdRange: {max: 99}\n",
	 "r.yaml:10:29: ", "request-success-rate takes thresholdRange.min"},
	{"success rate over 100",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: request-success-rate\n"
		      "      thresholdRange: {min: 101}\n",
	 "r.yaml:10:29: ",
	 "request-success-rate min must be a percentage from 0 to 100, got "
	 "101"},
	{"duration with min",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: request-duration\n"
		      "      thresholdRange: {min: 100}\n",
	 "r.yaml:10:29: ", "request-duration takes thresholdRange.max"},
	{"metric twice",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: request-duration\n"
		      "      thresholdRange: {max: 100}\n"
		      "    - name: request-duration\n"
		      "      thresholdRange: {max: 200}\n",
	 "r.yaml:11:13: ", "metric \"request-duration\" given twice"},
	{"metric without thresholdRange",
	 FLAGGER_HEAD "    stepWeight: 10\n    metrics:\n"
		      "    - name: request-duration\n",
	 "r.yaml:9:7: ", "metrics[0].thresholdRange is required"},
};

static void test_bad(void)
{
	char err[ERR_LEN];
	struct veer_rollout_plan plan;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *t = &bad_cases[i];

		UNIT_CHECK(read_text(t->yaml, &plan, err) == -1, "%s: accepted",
			   t->label);
		UNIT_CHECK(!strncmp(err, t->where, strlen(t->where)) &&
				   strstr(err, t->what) && !strchr(err, '\n'),
			   "%s: \"%s\", want \"%s...%s\"", t->label, err,
			   t->where, t->what);
		UNIT_CHECK(plan.nsteps == 0 && plan.hold_ms == 0 &&
				   plan.max_failure_rate < 0,
			   "%s: the plan was left set", t->label);
	}
}

static void test_steps_option(void)
{
	static const struct {
		const char *text;
		const char *steps; /* NULL: refused */
	} cases[] = {
		{"10,25,50,100", "10 25 50 100"},
		{"100", "100"},
		{"1,2,3,100", "1 2 3 100"},
		{"10,50", NULL},
		{"50,10,100", NULL},
		{"10,10,100", NULL},
		{"0,100", NULL},
		{"10,101", NULL},
		{"10,,100", NULL},
		{"10,100,", NULL},
		{"", NULL},
		{"ten,100", NULL},
	};
	char text[PLAN_TEXT_LEN];
	struct veer_rollout_plan plan;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int ret;

		veer_rollout_plan_init(&plan);
		ret = veer_rollout_parse_steps(&plan, cases[i].text);
		if (!cases[i].steps) {
			UNIT_CHECK(ret == -1, "--steps %s: accepted",
				   cases[i].text);
			continue;
		}
		UNIT_CHECK(ret == 0 &&
				   !strcmp(plan_text(&plan, text, sizeof(text)),
					   cases[i].steps),
			   "--steps %s: %d, %s", cases[i].text, ret, text);
	}
	CU_ASSERT(veer_rollout_parse_pct("0.5") == 0.005);
	CU_ASSERT(veer_rollout_parse_pct("100") == 1);
	CU_ASSERT(veer_rollout_parse_pct("101") == -1);
	CU_ASSERT(veer_rollout_parse_pct("1x") == -1);
}

int unit_rollout_plan_suite(void)
{
	static const struct unit_test tests[] = {
		{"rollout plan: Argo Rollouts and Flagger objects, read",
		 test_good},
		{"rollout plan: what is refused, and where", test_bad},
		{"rollout plan: --steps and percentages", test_steps_option},
	};

	return unit_add_suite("rollout plan", NULL, NULL, tests,
			      ARRAY_SIZE(tests));
}

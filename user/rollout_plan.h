/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What `veer rollout` follows: the canary's weights step by step, how long
 * each step holds, and what it judges a hold on. From --steps, or read
 * from one Argo Rollouts Rollout or Flagger Canary (--file); the command
 * line decides what it gives explicitly, a file the rest.
 */
#ifndef VEER_ROLLOUT_PLAN_H
#define VEER_ROLLOUT_PLAN_H

#include <stddef.h>

/* Weights increase from 1 to 100: no plan can have more steps. */
#define VEER_ROLLOUT_STEPS_MAX 100
/* A hold's bounds, from --interval or a file's durations. */
#define VEER_ROLLOUT_HOLD_MIN_MS 100U
#define VEER_ROLLOUT_HOLD_MAX_MS 86400000U
/* --max-p99's and Flagger request-duration's bound. */
#define VEER_ROLLOUT_P99_MAX_MS 3600000U
/* --rollback-after's and Flagger threshold's bound. */
#define VEER_ROLLOUT_BREACHES_MAX 1000U

struct veer_rollout_step {
	unsigned int weight; /* the canary's, 1..100 */
	unsigned int hold_ms; /* 0: the plan's default hold */
};

struct veer_rollout_plan {
	struct veer_rollout_step steps[VEER_ROLLOUT_STEPS_MAX];
	unsigned int nsteps;
	/* What a file set; 0, or < 0 for rates, where it set nothing. */
	unsigned int hold_ms; /* every step's hold (Flagger interval) */
	unsigned int rollback_after; /* breached holds (Flagger threshold) */
	double max_failure_rate, max_5xx_rate; /* fractions */
	unsigned int max_p99_ms;
};

/* An empty plan: no steps, nothing set. */
void veer_rollout_plan_init(struct veer_rollout_plan *plan);

/* A percentage "0.5" or "5" into a fraction; -1 when not one (0..100). */
double veer_rollout_parse_pct(const char *text);

/*
 * "10,25,50,100" into plan's steps (increasing, 1..100, the last 100; no
 * holds of their own): 0, or -1.
 */
int veer_rollout_parse_steps(struct veer_rollout_plan *plan, const char *text);

/*
 * buf, one Argo Rollouts Rollout (argoproj.io/v1alpha1) or Flagger Canary
 * (flagger.app/v1beta1) named name, into *plan (initialised here). 0, or
 * -1 with one line "name:line:col: message" in err; what cannot be
 * followed as written is refused, never approximated.
 */
int veer_rollout_plan_read(const char *name, const char *buf, size_t len,
			   struct veer_rollout_plan *plan, char *err,
			   size_t errlen);

#endif /* VEER_ROLLOUT_PLAN_H */

/*
 * reliability.h - customer reliability score (客户信用度), DESIGN.md's model.
 *
 * A weighted beta-binomial over the customer's history (groupbuyd feeds
 * it the events with every distributor, and the VIP level of the
 * distributor asking):
 *   w        = 0.5 ^ (age_days / half_life_days)        weight of an event
 *   S        = sum of w over `completed`
 *   F        = sum of w * f, f = weight_defaulted for `defaulted`,
 *              weight_withdrawn / weight_deposit_expired for those kinds
 *   alpha    = prior_alpha_base + prior_alpha_per_vip * vip_level
 *   beta     = prior_beta
 *   p        = (alpha + S) / (alpha + beta + S + F)
 *   score    = 100 * p rounded half up, an integer in 0..100
 * With the defaults a new customer scores 75, one fresh default takes a new
 * customer to 60, a VIP 1 customer starts at 83.
 *
 * Invariants: parameters are finite, half_life_days > 0, the priors alpha
 * and beta > 0, the per-VIP increment and the failure weights >= 0
 * (reliability_params_validate). Then alpha + beta + S + F > 0 and p lies in
 * (0, 1) for any history; an event never weighs more than 1 (an age below 0,
 * e.g. from clock skew, counts as 0), so one event moves the score by a
 * bounded amount. The score's half-up rounding is done on the quotient of
 * 200 * (alpha + S) + D by 2 * D (D the denominator) in one division, so an
 * exact half is not lost to binary representation: p = 11.5 / 20 = 0.575
 * scores 58, where floor(100 * p + 0.5) on the double p would give 57. Code
 * that needs a score (SQL included) takes it from here, never re-derives it
 * from a stored p_complete.
 *
 * The decay w lives in SQL only (gb_customer_history): ages are taken on
 * the database's clock, and a history is summed per kind where it is
 * stored. This module receives those sums as a tally (per kind: count and
 * the sum of decayed weights, reliability_tally_add_group) and does the
 * rest (an event more than 1000 half-lives old weighs 0 there). The tally
 * keeps raw decayed weights per kind, so the failure weights are applied
 * only when p is computed.
 *
 * Refit (DESIGN.md "Refit", below): the seven parameters fitted to a
 * distributor's own history by minimising the log loss of p_complete at
 * join time, inside a box of [RELIABILITY_FIT_LOW, RELIABILITY_FIT_HIGH]
 * times the reference defaults. Refit needs the decay at half-lives SQL
 * never used, so it evaluates it itself on event ages
 * (reliability_decay), the one other place the decay is written;
 * tests/unit/domain/test_reliability.c holds it to the formula and
 * tests/api/admin/test_refit.py to the join's scores.
 *
 * Doubles are fine here: a score is not money. The module is pure: no I/O,
 * no global state besides the constant defaults; only the refit allocates
 * (its work space, freed before it returns).
 */
#ifndef GROUPBUYD_RELIABILITY_H
#define GROUPBUYD_RELIABILITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELIABILITY_VIP_MAX   3
#define RELIABILITY_SCORE_MAX 100

struct reliability_params {
    double half_life_days;         /* > 0; default 180 */
    double prior_alpha_base;       /* > 0; default 3 */
    double prior_alpha_per_vip;    /* >= 0; default 2 */
    double prior_beta;             /* > 0; default 1 */
    double weight_withdrawn;       /* >= 0; default 0.5 */
    double weight_deposit_expired; /* >= 0; default 0.5 */
    double weight_defaulted;       /* >= 0; default 1 */
};

extern const struct reliability_params reliability_default_params;

/* Checks every field against the invariants above. On failure, *bad_field
 * (when not NULL) is the name of the first faulty field, as spelled in
 * struct reliability_params, for the config loader's message. */
bool reliability_params_validate(const struct reliability_params *params,
                                 const char **bad_field)
    __attribute__((warn_unused_result));

/* A history event's kind; the names are those of API.md and the schema. */
enum reliability_event_kind {
    RELIABILITY_COMPLETED,       /* paid after a success */
    RELIABILITY_WITHDRAWN,       /* withdrew while open */
    RELIABILITY_DEFAULTED,       /* did not pay the balance in time */
    RELIABILITY_DEPOSIT_EXPIRED, /* did not pay the deposit in time */
};
#define RELIABILITY_EVENT_KINDS 4

/* "completed", "withdrawn", "defaulted", "deposit_expired"; NULL for a
 * value outside the enum. */
const char *reliability_event_kind_name(enum reliability_event_kind kind);

/* Running totals of one customer's history. */
struct reliability_tally {
    int64_t count[RELIABILITY_EVENT_KINDS]; /* events per kind */
    double weight[RELIABILITY_EVENT_KINDS]; /* sum of decayed w per kind */
};

/* Empties a tally (a zeroed struct is an empty tally too). */
void reliability_tally_init(struct reliability_tally *tally);

/* Adds a group of events of one kind, as gb_customer_history aggregates
 * them: count and the sum of 0.5 ^ (max(age_days, 0) / half_life_days).
 * False, tally untouched, for a kind outside the enum, count < 0, or a
 * weight_sum that is not finite, is negative, or exceeds count (no event
 * weighs more than 1). */
bool reliability_tally_add_group(struct reliability_tally *tally,
                                 enum reliability_event_kind kind,
                                 int64_t count, double weight_sum)
    __attribute__((warn_unused_result));

struct reliability_result {
    double p_complete; /* (alpha + S) / (alpha + beta + S + F), in (0, 1) */
    int score;         /* 100 * p_complete rounded half up, 0..100 */
    double s;          /* S: decayed weight of completions */
    double f;          /* F: decayed, weighted failures */
};

/* Computes p_complete and score from a tally. False, *out untouched, when
 * params are invalid or vip_level is outside 0..RELIABILITY_VIP_MAX. */
bool reliability_score_tally(const struct reliability_params *params,
                             int vip_level,
                             const struct reliability_tally *tally,
                             struct reliability_result *out)
    __attribute__((warn_unused_result));

/* ------------------------------------------------------------------ refit
 *
 * A case is one participation whose outcome is known (paid: completed;
 * defaulted, withdrawn, expired: not), with the customer's VIP level and
 * the events of their history that happened before the join, each as its
 * kind and its age at the join in days. Its p_complete under a parameter
 * set is the model's formula on that history.
 *
 * The fit: an outer golden-section search of ln(half_life) over the box,
 * and for each half-life the six other parameters by a projected,
 * damped Newton method in the logarithms of the parameters (the loss is
 * smooth; with the half-life fixed each case is a ratio of two linear
 * functions of them, so the gradient and Hessian are exact sums over the
 * cases). The best point found is answered; it is never worse on the
 * training cases than the starting point clipped into the box.
 */

#define RELIABILITY_PARAMS   7
#define RELIABILITY_FIT_LOW  0.25
#define RELIABILITY_FIT_HIGH 4.0

/* The API's and the config's names ("half_life_days", ...) in the order of
 * struct reliability_params. */
extern const char *const reliability_param_names[RELIABILITY_PARAMS];
void reliability_params_to_array(const struct reliability_params *p, double *v);
void reliability_params_from_array(const double *v,
                                   struct reliability_params *p);

/* 0.5 ^ (max(age_days, 0) / half_life_days); 0 beyond 1000 half-lives (as
 * gb_customer_history). */
double reliability_decay(double age_days, double half_life_days);

struct reliability_event {
    double age_days; /* at the join */
    enum reliability_event_kind kind;
};

struct reliability_case {
    size_t first, count; /* its events: events[first .. first + count) */
    int vip_level;       /* 0..RELIABILITY_VIP_MAX */
    bool completed;      /* the outcome */
};

struct reliability_cases {
    const struct reliability_case *cases;
    size_t ncases;
    const struct reliability_event *events;
    size_t nevents;
};

/* True when every case's events lie inside events[], its VIP level is in
 * range, and every age and kind is valid (finite ages). */
bool reliability_cases_valid(const struct reliability_cases *c);

struct reliability_fit_score {
    double log_loss; /* -mean(y ln p + (1 - y) ln(1 - p)) */
    double brier;    /* mean (p - y)^2 */
    size_t cases;
};

/* Scores params on the cases. False on invalid params or cases, or none. */
bool reliability_evaluate(const struct reliability_params *params,
                          const struct reliability_cases *c,
                          struct reliability_fit_score *out)
    __attribute__((warn_unused_result));

/* Fits the parameters to the cases, starting from start (clipped into the
 * box around reliability_default_params). False on invalid input, no
 * case, or no memory; then *out is untouched. */
bool reliability_fit(const struct reliability_cases *train,
                     const struct reliability_params *start,
                     struct reliability_params *out)
    __attribute__((warn_unused_result));

#endif

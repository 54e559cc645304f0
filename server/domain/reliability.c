/*
 * reliability.c - the weighted beta-binomial score (see reliability.h).
 *
 * Everything is computed from the tally of decayed weights that
 * gb_customer_history (SQL) sums per kind.
 */
#include "domain/reliability.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const struct reliability_params reliability_default_params = {
    .half_life_days = 180.0,
    .prior_alpha_base = 3.0,
    .prior_alpha_per_vip = 2.0,
    .prior_beta = 1.0,
    .weight_withdrawn = 0.5,
    .weight_deposit_expired = 0.5,
    .weight_defaulted = 1.0,
};

static const char *const reliability_kind_names[RELIABILITY_EVENT_KINDS] = {
    [RELIABILITY_COMPLETED] = "completed",
    [RELIABILITY_WITHDRAWN] = "withdrawn",
    [RELIABILITY_DEFAULTED] = "defaulted",
    [RELIABILITY_DEPOSIT_EXPIRED] = "deposit_expired",
};

static bool reliability_kind_valid(enum reliability_event_kind kind)
{
    return (unsigned)kind < RELIABILITY_EVENT_KINDS;
}

bool reliability_params_validate(const struct reliability_params *params,
                                 const char **bad_field)
{
    const struct {
        const char *name;
        double value;
        bool zero_ok;
    } fields[] = {
        {"half_life_days", params->half_life_days, false},
        {"prior_alpha_base", params->prior_alpha_base, false},
        {"prior_alpha_per_vip", params->prior_alpha_per_vip, true},
        {"prior_beta", params->prior_beta, false},
        {"weight_withdrawn", params->weight_withdrawn, true},
        {"weight_deposit_expired", params->weight_deposit_expired, true},
        {"weight_defaulted", params->weight_defaulted, true},
    };

    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        double v = fields[i].value;
        bool ok = isfinite(v) && (fields[i].zero_ok ? v >= 0.0 : v > 0.0);

        if (!ok) {
            if (bad_field)
                *bad_field = fields[i].name;
            return false;
        }
    }
    return true;
}

const char *reliability_event_kind_name(enum reliability_event_kind kind)
{
    return reliability_kind_valid(kind) ? reliability_kind_names[kind] : NULL;
}

void reliability_tally_init(struct reliability_tally *tally)
{
    memset(tally, 0, sizeof *tally);
}

bool reliability_tally_add_group(struct reliability_tally *tally,
                                 enum reliability_event_kind kind,
                                 int64_t count, double weight_sum)
{
    if (!reliability_kind_valid(kind) || count < 0 || !isfinite(weight_sum) ||
        weight_sum < 0.0 || weight_sum > (double)count)
        return false;
    tally->count[kind] += count;
    tally->weight[kind] += weight_sum;
    return true;
}

bool reliability_score_tally(const struct reliability_params *params,
                             int vip_level,
                             const struct reliability_tally *tally,
                             struct reliability_result *out)
{
    double alpha, s, f, num, den, score;

    if (!reliability_params_validate(params, NULL) || vip_level < 0 ||
        vip_level > RELIABILITY_VIP_MAX)
        return false;
    alpha = params->prior_alpha_base + params->prior_alpha_per_vip * vip_level;
    s = tally->weight[RELIABILITY_COMPLETED];
    f = tally->weight[RELIABILITY_WITHDRAWN] * params->weight_withdrawn +
        tally->weight[RELIABILITY_DEPOSIT_EXPIRED] *
            params->weight_deposit_expired +
        tally->weight[RELIABILITY_DEFAULTED] * params->weight_defaulted;
    num = alpha + s;
    den = alpha + params->prior_beta + s + f;

    /* floor(100 * num / den + 1/2) as one division, exact for the dyadic
     * sums that fresh and half-life-old events produce. */
    score = floor((200.0 * num + den) / (2.0 * den));
    if (score < 0.0)
        score = 0.0;
    if (score > RELIABILITY_SCORE_MAX)
        score = RELIABILITY_SCORE_MAX;

    out->p_complete = num / den;
    out->score = (int)score;
    out->s = s;
    out->f = f;
    return true;
}

/* ------------------------------------------------------------------ refit */

const char *const reliability_param_names[RELIABILITY_PARAMS] = {
    "half_life_days",   "prior_alpha_base", "prior_alpha_per_vip",
    "prior_beta",       "weight_withdrawn", "weight_deposit_expired",
    "weight_defaulted",
};

void reliability_params_to_array(const struct reliability_params *p, double *v)
{
    v[0] = p->half_life_days;
    v[1] = p->prior_alpha_base;
    v[2] = p->prior_alpha_per_vip;
    v[3] = p->prior_beta;
    v[4] = p->weight_withdrawn;
    v[5] = p->weight_deposit_expired;
    v[6] = p->weight_defaulted;
}

void reliability_params_from_array(const double *v,
                                   struct reliability_params *p)
{
    p->half_life_days = v[0];
    p->prior_alpha_base = v[1];
    p->prior_alpha_per_vip = v[2];
    p->prior_beta = v[3];
    p->weight_withdrawn = v[4];
    p->weight_deposit_expired = v[5];
    p->weight_defaulted = v[6];
}

double reliability_decay(double age_days, double half_life_days)
{
    double halvings = (age_days > 0.0 ? age_days : 0.0) / half_life_days;
    return halvings > 1000.0 ? 0.0 : exp2(-halvings);
}

bool reliability_cases_valid(const struct reliability_cases *c)
{
    if (c->ncases > 0 && c->cases == NULL)
        return false;
    for (size_t i = 0; i < c->ncases; i++) {
        const struct reliability_case *k = &c->cases[i];
        if (k->vip_level < 0 || k->vip_level > RELIABILITY_VIP_MAX ||
            k->first > c->nevents || k->count > c->nevents - k->first)
            return false;
    }
    for (size_t i = 0; i < c->nevents; i++)
        if (!reliability_kind_valid(c->events[i].kind) ||
            !isfinite(c->events[i].age_days))
            return false;
    return true;
}

/* One case reduced for a fixed half-life: the VIP level, the outcome and
 * the decayed weight of each kind. */
struct reliability_row {
    double vip, y, s, w, x, d; /* completed, withdrawn, expired, defaulted */
};

static void reliability_rows(const struct reliability_cases *c, double h,
                             struct reliability_row *rows)
{
    for (size_t i = 0; i < c->ncases; i++) {
        const struct reliability_case *k = &c->cases[i];
        double sum[RELIABILITY_EVENT_KINDS] = {0};
        for (size_t e = k->first; e < k->first + k->count; e++)
            sum[c->events[e].kind] +=
                reliability_decay(c->events[e].age_days, h);
        rows[i] = (struct reliability_row){
            .vip = (double)k->vip_level,
            .y = k->completed ? 1.0 : 0.0,
            .s = sum[RELIABILITY_COMPLETED],
            .w = sum[RELIABILITY_WITHDRAWN],
            .x = sum[RELIABILITY_DEPOSIT_EXPIRED],
            .d = sum[RELIABILITY_DEFAULTED],
        };
    }
}

/* The six parameters besides the half-life, in the order of
 * reliability_param_names[1..6]: A = x0 + x1 vip + S, B = x2 + x3 W + x4 X
 * + x5 D, p = A / (A + B). */
#define RELIABILITY_LINEAR 6

static void reliability_features(const struct reliability_row *r, double *fa,
                                 double *fb)
{
    fa[0] = 1.0, fa[1] = r->vip, fa[2] = fa[3] = fa[4] = fa[5] = 0.0;
    fb[0] = fb[1] = 0.0, fb[2] = 1.0, fb[3] = r->w, fb[4] = r->x, fb[5] = r->d;
}

/* Mean log loss of x over the rows. */
static double reliability_rows_loss(const struct reliability_row *rows,
                                    size_t n, const double *x)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const struct reliability_row *r = &rows[i];
        double a = x[0] + x[1] * r->vip + r->s;
        double b = x[2] + x[3] * r->w + x[4] * r->x + x[5] * r->d;
        sum -= r->y > 0.5 ? log(a / (a + b)) : log(b / (a + b));
    }
    return sum / (double)n;
}

/* Gradient g and Hessian h of the mean loss in t = ln x. */
static void
reliability_rows_derivatives(const struct reliability_row *rows, size_t n,
                             const double *x, double *g,
                             double h[RELIABILITY_LINEAR][RELIABILITY_LINEAR])
{
    double gx[RELIABILITY_LINEAR] = {0};
    double hx[RELIABILITY_LINEAR][RELIABILITY_LINEAR] = {{0}};
    for (size_t i = 0; i < n; i++) {
        const struct reliability_row *r = &rows[i];
        double fa[RELIABILITY_LINEAR], fb[RELIABILITY_LINEAR];
        reliability_features(r, fa, fb);
        double a = x[0] + x[1] * r->vip + r->s;
        double b = x[2] + x[3] * r->w + x[4] * r->x + x[5] * r->d;
        double z = a + b;
        /* loss = -(y ln a + (1 - y) ln b - ln z) */
        double ca = r->y / a - 1.0 / z, cb = (1.0 - r->y) / b - 1.0 / z;
        double haa = r->y / (a * a), hbb = (1.0 - r->y) / (b * b),
               hz = 1.0 / (z * z);
        for (int j = 0; j < RELIABILITY_LINEAR; j++) {
            gx[j] -= fa[j] * ca + fb[j] * cb;
            for (int k = 0; k <= j; k++)
                hx[j][k] += fa[j] * fa[k] * haa + fb[j] * fb[k] * hbb -
                            (fa[j] + fb[j]) * (fa[k] + fb[k]) * hz;
        }
    }
    for (int j = 0; j < RELIABILITY_LINEAR; j++) {
        g[j] = x[j] * gx[j] / (double)n;
        for (int k = 0; k <= j; k++) {
            h[j][k] = x[j] * x[k] * hx[j][k] / (double)n;
            h[k][j] = h[j][k];
        }
        h[j][j] += g[j];
    }
}

/* Solves m d = -g by Cholesky for the coordinates in free[]; false when m
 * is not positive definite there. */
static bool reliability_solve(double m[RELIABILITY_LINEAR][RELIABILITY_LINEAR],
                              const double *g, const bool *free_, double *d)
{
    int idx[RELIABILITY_LINEAR], nf = 0;
    for (int j = 0; j < RELIABILITY_LINEAR; j++) {
        d[j] = 0.0;
        if (free_[j])
            idx[nf++] = j;
    }
    double l[RELIABILITY_LINEAR][RELIABILITY_LINEAR] = {{0}};
    for (int i = 0; i < nf; i++) {
        for (int j = 0; j <= i; j++) {
            double s = m[idx[i]][idx[j]];
            for (int k = 0; k < j; k++)
                s -= l[i][k] * l[j][k];
            if (i == j) {
                if (!(s > 0.0))
                    return false;
                l[i][i] = sqrt(s);
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    double y[RELIABILITY_LINEAR];
    for (int i = 0; i < nf; i++) {
        double s = -g[idx[i]];
        for (int k = 0; k < i; k++)
            s -= l[i][k] * y[k];
        y[i] = s / l[i][i];
    }
    for (int i = nf - 1; i >= 0; i--) {
        double s = y[i];
        for (int k = i + 1; k < nf; k++)
            s -= l[k][i] * d[idx[k]];
        d[idx[i]] = s / l[i][i];
    }
    return true;
}

/* The box in logarithms around the reference defaults. */
static void reliability_box(double *lo, double *hi)
{
    double def[RELIABILITY_PARAMS];
    reliability_params_to_array(&reliability_default_params, def);
    for (int j = 0; j < RELIABILITY_PARAMS; j++) {
        lo[j] = log(def[j] * RELIABILITY_FIT_LOW);
        hi[j] = log(def[j] * RELIABILITY_FIT_HIGH);
    }
}

/* Minimises the loss over the six linear parameters (logs t, in the box
 * lo..hi, improved in place) for fixed rows; answers the loss. */
static double reliability_fit_linear(const struct reliability_row *rows,
                                     size_t n, double *t, const double *lo,
                                     const double *hi)
{
    double x[RELIABILITY_LINEAR], loss;
    for (int j = 0; j < RELIABILITY_LINEAR; j++)
        x[j] = exp(t[j]);
    loss = reliability_rows_loss(rows, n, x);
    double mu = 1e-3;
    for (int iter = 0; iter < 100; iter++) {
        double g[RELIABILITY_LINEAR], h[RELIABILITY_LINEAR][RELIABILITY_LINEAR];
        bool free_[RELIABILITY_LINEAR];
        reliability_rows_derivatives(rows, n, x, g, h);
        double gnorm = 0.0;
        for (int j = 0; j < RELIABILITY_LINEAR; j++) {
            /* at a bound and pushing outwards: held there */
            free_[j] = !((t[j] <= lo[j] && g[j] > 0.0) ||
                         (t[j] >= hi[j] && g[j] < 0.0));
            if (free_[j])
                gnorm += g[j] * g[j];
        }
        if (gnorm < 1e-20)
            break;
        bool improved = false;
        for (int tries = 0; tries < 40 && !improved; tries++) {
            double m[RELIABILITY_LINEAR][RELIABILITY_LINEAR],
                d[RELIABILITY_LINEAR];
            memcpy(m, h, sizeof m);
            for (int j = 0; j < RELIABILITY_LINEAR; j++)
                m[j][j] += mu * (1.0 + fabs(h[j][j]));
            if (!reliability_solve(m, g, free_, d)) {
                mu *= 10.0;
                continue;
            }
            double tn[RELIABILITY_LINEAR], xn[RELIABILITY_LINEAR];
            for (int j = 0; j < RELIABILITY_LINEAR; j++) {
                tn[j] = t[j] + d[j];
                if (tn[j] < lo[j])
                    tn[j] = lo[j];
                if (tn[j] > hi[j])
                    tn[j] = hi[j];
                xn[j] = exp(tn[j]);
            }
            double ln = reliability_rows_loss(rows, n, xn);
            if (ln <= loss) {
                double gain = loss - ln;
                memcpy(t, tn, sizeof tn);
                memcpy(x, xn, sizeof xn);
                loss = ln;
                mu = mu / 4.0 > 1e-9 ? mu / 4.0 : 1e-9;
                improved = true;
                if (gain < 1e-13)
                    return loss;
            } else {
                mu *= 4.0;
            }
        }
        if (!improved)
            break;
    }
    return loss;
}

/* The loss at half-life exp(u) with the linear parameters fitted, warm
 * started from t (updated). */
static double reliability_fit_at(const struct reliability_cases *c,
                                 struct reliability_row *rows, double u,
                                 double *t, const double *lo, const double *hi)
{
    reliability_rows(c, exp(u), rows);
    return reliability_fit_linear(rows, c->ncases, t, lo, hi);
}

bool reliability_evaluate(const struct reliability_params *params,
                          const struct reliability_cases *c,
                          struct reliability_fit_score *out)
{
    if (!reliability_params_validate(params, NULL) || c->ncases == 0 ||
        !reliability_cases_valid(c))
        return false;
    double ll = 0.0, brier = 0.0;
    for (size_t i = 0; i < c->ncases; i++) {
        const struct reliability_case *k = &c->cases[i];
        double sum[RELIABILITY_EVENT_KINDS] = {0};
        for (size_t e = k->first; e < k->first + k->count; e++)
            sum[c->events[e].kind] += reliability_decay(c->events[e].age_days,
                                                        params->half_life_days);
        struct reliability_tally tally;
        reliability_tally_init(&tally);
        for (int kind = 0; kind < RELIABILITY_EVENT_KINDS; kind++)
            tally.weight[kind] = sum[kind];
        struct reliability_result r;
        if (!reliability_score_tally(params, k->vip_level, &tally, &r))
            return false;
        double p = r.p_complete, y = k->completed ? 1.0 : 0.0;
        double pc = p < 1e-15 ? 1e-15 : p > 1.0 - 1e-15 ? 1.0 - 1e-15 : p;
        ll -= k->completed ? log(pc) : log1p(-pc);
        brier += (p - y) * (p - y);
    }
    out->log_loss = ll / (double)c->ncases;
    out->brier = brier / (double)c->ncases;
    out->cases = c->ncases;
    return true;
}

bool reliability_fit(const struct reliability_cases *train,
                     const struct reliability_params *start,
                     struct reliability_params *out)
{
    if (train->ncases == 0 || !reliability_cases_valid(train) ||
        !reliability_params_validate(start, NULL))
        return false;
    struct reliability_row *rows = malloc(train->ncases * sizeof *rows);
    if (rows == NULL)
        return false;
    double lo[RELIABILITY_PARAMS], hi[RELIABILITY_PARAMS],
        v[RELIABILITY_PARAMS];
    reliability_box(lo, hi);
    reliability_params_to_array(start, v);
    double t0[RELIABILITY_PARAMS];
    for (int j = 0; j < RELIABILITY_PARAMS; j++) {
        /* a zero weight (allowed in config) starts at the box's floor */
        t0[j] = v[j] > 0.0 ? log(v[j]) : lo[j];
        if (t0[j] < lo[j])
            t0[j] = lo[j];
        if (t0[j] > hi[j])
            t0[j] = hi[j];
    }
    /* best point so far: half-life u, linear parameters t */
    double best_u = t0[0], best_t[RELIABILITY_LINEAR];
    memcpy(best_t, t0 + 1, sizeof best_t);
    double best =
        reliability_fit_at(train, rows, best_u, best_t, lo + 1, hi + 1);
    /* golden section over ln(half-life), warm started from the best */
    const double phi = 0.61803398874989484820;
    double a = lo[0], b = hi[0];
    double c1 = b - phi * (b - a), c2 = a + phi * (b - a);
    double t1[RELIABILITY_LINEAR], t2[RELIABILITY_LINEAR];
    memcpy(t1, best_t, sizeof t1);
    memcpy(t2, best_t, sizeof t2);
    double f1 = reliability_fit_at(train, rows, c1, t1, lo + 1, hi + 1);
    double f2 = reliability_fit_at(train, rows, c2, t2, lo + 1, hi + 1);
    while (b - a > 1e-3) {
        if (f1 <= f2) {
            if (f1 < best) {
                best = f1, best_u = c1;
                memcpy(best_t, t1, sizeof best_t);
            }
            b = c2, c2 = c1, f2 = f1;
            memcpy(t2, t1, sizeof t2);
            c1 = b - phi * (b - a);
            f1 = reliability_fit_at(train, rows, c1, t1, lo + 1, hi + 1);
        } else {
            if (f2 < best) {
                best = f2, best_u = c2;
                memcpy(best_t, t2, sizeof best_t);
            }
            a = c1, c1 = c2, f1 = f2;
            memcpy(t1, t2, sizeof t1);
            c2 = a + phi * (b - a);
            f2 = reliability_fit_at(train, rows, c2, t2, lo + 1, hi + 1);
        }
    }
    if (f1 < best) {
        best = f1, best_u = c1;
        memcpy(best_t, t1, sizeof best_t);
    }
    if (f2 < best) {
        best_u = c2;
        memcpy(best_t, t2, sizeof best_t);
    }
    free(rows);
    v[0] = exp(best_u);
    for (int j = 0; j < RELIABILITY_LINEAR; j++)
        v[j + 1] = exp(best_t[j]);
    reliability_params_from_array(v, out);
    return true;
}

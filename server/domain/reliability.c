/*
 * reliability.c - the weighted beta-binomial score (see reliability.h).
 *
 * Everything is computed from the tally of decayed weights that
 * gb_customer_history (SQL) sums per kind.
 */
#include "domain/reliability.h"

#include <math.h>
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

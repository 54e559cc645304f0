"""The forecast's model written out in Python, for the API tests to hold the
server's answers to (import beside helpers: `from forecast_helpers import *`).

It follows the further joins one by one, as the design says they happen,
without the Poisson thinning server/domain/forecast.c computes with: A joins
arrive (Poisson with mean lam), the first `room` of them are taken
(max_quantity), each taken one completes with p_bar (Binomial), the live
participations complete with their own p (exact Poisson-binomial), and

    joins J = n + taken           (decide the tier)
    completers C = X + completed  (decide success: C >= m, and the units)

Money changes hands only when the campaign succeeds, at the final tier's
price, for q_bar units a completer. Small lam only (the sums enumerate A).
"""
import math

__all__ = ["pb_pmf", "dpois", "dbinom", "reference_forecast", "tier_of"]


def pb_pmf(ps):
    """P(X = k) for the sum of Bernoulli(p) over ps."""
    dist = [1.0]
    for p in ps:
        nxt = [0.0] * (len(dist) + 1)
        for k, v in enumerate(dist):
            nxt[k] += v * (1 - p)
            nxt[k + 1] += v * p
        dist = nxt
    return dist


def dpois(a, mu):
    if mu == 0:
        return 1.0 if a == 0 else 0.0
    return math.exp(a * math.log(mu) - mu - math.lgamma(a + 1))


def dbinom(k, r, p):
    if p == 0:
        return 1.0 if k == 0 else 0.0
    if p == 1:
        return 1.0 if k == r else 0.0
    return math.exp(math.lgamma(r + 1) - math.lgamma(k + 1) - math.lgamma(r - k + 1)
                    + k * math.log(p) + (r - k) * math.log1p(-p))


def tier_of(tiers, count):
    """Index of the tier with the greatest threshold <= max(count, 1)."""
    c = max(count, 1)
    t = 0
    for i, tier in enumerate(tiers):
        if tier["threshold"] <= c + 1e-9:
            t = i
    return t


def reference_forecast(ps, lam, p_bar, m, tiers, q_bar=1.0, live_quantity=None,
                       max_quantity=0, basis="participants", cost=None):
    """The forecast of the module's header, by enumeration. tiers: the
    ladder as the API gives it ({threshold, unit_price_cents[,
    cost_price_cents]}); cost: the cost price of tiers without one."""
    n = len(ps)
    live_q = n if live_quantity is None else live_quantity
    room = math.inf
    if max_quantity:
        room = max(0, math.floor((max_quantity - live_q) / q_bar + 1e-9))
    px = pb_pmf(ps)
    out = {"success": 0.0, "joins": 0.0, "participants": 0.0, "revenue": 0.0,
           "cost": 0.0, "price_w": 0.0, "price_any": 0.0,
           "prob": [0.0] * len(tiers), "completers": [0.0] * len(tiers)}
    amax = int(lam + 12 * math.sqrt(lam) + 60)
    for a in range(amax + 1):
        pa = dpois(a, lam)
        if pa == 0:
            continue
        taken = min(a, room)
        joins = n + taken
        count = live_q + q_bar * taken if basis == "quantity" else joins
        t = tier_of(tiers, count)
        price = tiers[t]["unit_price_cents"]
        unit_cost = tiers[t].get("cost_price_cents", cost or 0)
        out["joins"] += pa * joins
        out["price_any"] += pa * price
        for k in range(int(taken) + 1):
            pk = pa * dbinom(k, int(taken), p_bar)
            if pk == 0:
                continue
            for x, w0 in enumerate(px):
                w = pk * w0
                c = x + k
                out["participants"] += w * c
                if c < m:
                    continue
                out["success"] += w
                out["prob"][t] += w
                out["completers"][t] += w * c
                out["price_w"] += w * price
                out["revenue"] += w * price * q_bar * c
                out["cost"] += w * unit_cost * q_bar * c
    s = out["success"]
    # below 1e-12 (server/domain/forecast.h, FORECAST_PRICE_MIN_SUCCESS) the
    # price given success is at the limit of double precision: the price over
    # all outcomes instead
    out["price"] = out["price_w"] / s if s > 1e-12 else out["price_any"]
    return out

/*
 * forecast.c - Poisson-binomial tail P(X >= m) and mean, exactly and fast.
 *
 * See forecast.h for the contract and the two methods. Invariants kept
 * here:
 *
 * - A distribution under construction is a `struct pmf`: c[i] is
 *   P(S = off + i) for i < len, len >= 1, every c[i] >= 0 (FFT noise below
 *   zero is clamped), mean and var are those of S over the node's p, and
 *   the true mass outside [off, off + len) is at most 4 FORECAST_TRIM_EPS
 *   per node trimmed so far (pmf_trim).
 * - The answer is taken from whichever tail is smaller, P(X >= m) directly
 *   or 1 - P(X < m), so that the rounding of a sum near 1 does not cost
 *   relative accuracy in the other tail; it is clamped to [0, 1].
 * - No global state: the FFT twiddles and work space live in a `struct
 *   tree` on the stack of one call.
 * - p is validated before anything else, so a bad p_i is refused whatever m;
 *   the DP path allocates K doubles and nothing else.
 */
#include "domain/forecast.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Factors shorter than this on either side are convolved directly; above,
 * the FFT is cheaper (measured with callgrind on n = 100,000). */
#define FORECAST_DIRECT_MAX 128

struct pmf {
    double *c;   /* owned, malloc'd */
    size_t len;  /* >= 1 */
    size_t off;  /* c[i] = P(S = off + i) */
    double mean; /* sum of p over the node */
    double var;  /* sum of p (1 - p) over the node */
};

bool forecast_probabilities_valid(const double *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!(p[i] >= 0.0 && p[i] <= 1.0)) /* also refuses NaN */
            return false;
    }
    return true;
}

/* Neumaier's compensated sum of x[0..n). */
static double forecast_sum(const double *x, size_t n)
{
    double s = 0.0, comp = 0.0;

    for (size_t i = 0; i < n; i++) {
        double t = s + x[i];
        if (fabs(s) >= fabs(x[i]))
            comp += (s - t) + x[i];
        else
            comp += (x[i] - t) + s;
        s = t;
    }
    return s + comp;
}

bool forecast_expected_participants(const double *p, size_t n, double *out)
{
    if (!forecast_probabilities_valid(p, n))
        return false;
    *out = n == 0 ? 0.0 : forecast_sum(p, n);
    return true;
}

static double forecast_clamp01(double x)
{
    if (!(x > 0.0)) /* also maps a NaN, which cannot happen, to 0 */
        return 0.0;
    return x < 1.0 ? x : 1.0;
}

/*
 * Truncated recurrence, 1 <= m <= n. With successes counted, state j < m
 * holds P(S_i = j) and mass stepping past m - 1 is absorbed (it has
 * reached m): the result is 1 - P(X < m). With failures counted, state
 * j <= n - m holds P(F_i = j) and the result is P(F <= n - m) itself.
 */
static bool forecast_dp(const double *p, size_t n, size_t m, double *out)
{
    size_t fail_max = n - m; /* X >= m  <=>  failures <= n - m */
    bool count_successes = m <= fail_max + 1;
    size_t k = count_successes ? m : fail_max + 1; /* states 0..k-1 */
    size_t top = 0; /* highest state that may be non-zero */
    double *q = calloc(k, sizeof *q);

    if (!q)
        return false;
    q[0] = 1.0;
    for (size_t i = 0; i < n; i++) {
        double up = count_successes ? p[i] : 1.0 - p[i];
        double stay = count_successes ? 1.0 - p[i] : p[i];

        if (top + 1 < k)
            top++;
        for (size_t j = top; j > 0; j--)
            q[j] = q[j] * stay + q[j - 1] * up;
        q[0] *= stay;
    }
    double below = forecast_sum(q, k);
    free(q);
    *out = forecast_clamp01(count_successes ? 1.0 - below : below);
    return true;
}

/* ln(1 / FORECAST_TRIM_EPS), for the Bernstein window. */
#define FORECAST_LN_INV_EPS 48.354286952874959

/* Shared by all nodes of one tree: FFT twiddles and work space, grown on
 * demand, so that a tree makes O(log n) allocations for them in all. */
struct tree {
    double *tw;   /* tw[k], tw[half + k]: cos, -sin of 2 pi k / tw_n */
    size_t tw_n;  /* largest FFT size so far (0: none) */
    double *work; /* 2 * work_n doubles: re, im */
    size_t work_n;
};

/*
 * Narrows d to the entries that can matter. First the Bernstein window:
 * for independent X_i in [0, 1], P(|S - mean| >= t) <= 2 exp(-t^2 / (2 (var
 * + t / 3))), which is <= 2 FORECAST_TRIM_EPS for t below; this bound holds
 * for the true distribution, so FFT noise far out in the tails, which no
 * mass test can tell from probability, is cut away with it. Then each tail
 * is trimmed while its computed mass stays <= FORECAST_TRIM_EPS (this takes
 * exact zeros, e.g. from p_i = 1). At most 4 FORECAST_TRIM_EPS is lost.
 */
static void pmf_trim(struct pmf *d)
{
    const double l = FORECAST_LN_INV_EPS;
    double t = l / 3.0 + sqrt(l * l / 9.0 + 2.0 * l * d->var) + 1.0;
    double first = ceil(d->mean - t), last = floor(d->mean + t);
    size_t lo = 0, hi = d->len;

    if (first > (double)d->off)
        lo = first - (double)d->off < (double)d->len
                 ? (size_t)(first - (double)d->off)
                 : d->len - 1;
    if (last < (double)(d->off + d->len - 1))
        hi = last >= (double)d->off + (double)lo
                 ? (size_t)(last - (double)d->off) + 1
                 : lo + 1;

    double left = 0.0, right = 0.0;
    while (hi - lo > 1 && left + d->c[lo] <= FORECAST_TRIM_EPS)
        left += d->c[lo++];
    while (hi - lo > 1 && right + d->c[hi - 1] <= FORECAST_TRIM_EPS)
        right += d->c[--hi];
    if (lo > 0)
        memmove(d->c, d->c + lo, (hi - lo) * sizeof *d->c);
    d->off += lo;
    d->len = hi - lo;
}

/* Distribution of the sum of Bernoulli(p[0..cnt)), by the recurrence. */
static bool pmf_leaf(const double *p, size_t cnt, struct pmf *d)
{
    double *c = malloc((cnt + 1) * sizeof *c);

    if (!c)
        return false;
    c[0] = 1.0;
    d->mean = 0.0;
    d->var = 0.0;
    for (size_t i = 0; i < cnt; i++) {
        c[i + 1] = c[i] * p[i];
        for (size_t j = i; j > 0; j--)
            c[j] = c[j] * (1.0 - p[i]) + c[j - 1] * p[i];
        c[0] *= 1.0 - p[i];
        d->mean += p[i];
        d->var += p[i] * (1.0 - p[i]);
    }
    d->c = c;
    d->len = cnt + 1;
    d->off = 0;
    return true;
}

/* Makes room for an FFT of size nfft (a power of two). */
static bool tree_reserve(struct tree *t, size_t nfft)
{
    if (nfft > t->tw_n) {
        double *tw = malloc(nfft * sizeof *tw);
        if (!tw)
            return false;
        const double two_pi = 6.283185307179586476925286766559;
        size_t half = nfft / 2;
        for (size_t k = 0; k < half; k++) {
            double angle = two_pi * (double)k / (double)nfft;
            tw[k] = cos(angle);
            tw[half + k] = -sin(angle);
        }
        free(t->tw);
        t->tw = tw;
        t->tw_n = nfft;
    }
    if (nfft > t->work_n) {
        double *work = malloc(2 * nfft * sizeof *work);
        if (!work)
            return false;
        free(t->work);
        t->work = work;
        t->work_n = nfft;
    }
    return true;
}

/* In-place radix-2 FFT of (re, im)[0..nfft), nfft a power of two <= tw_n,
 * twiddles from t; the inverse transform (sign flipped, not scaled) when
 * `inverse`. */
static void forecast_fft(const struct tree *t, double *re, double *im,
                         size_t nfft, bool inverse)
{
    const double *tw_re = t->tw, *tw_im = t->tw + t->tw_n / 2;
    size_t stride = t->tw_n / nfft;

    for (size_t i = 1, j = 0; i < nfft; i++) {
        size_t bit = nfft >> 1;
        for (; j & bit; bit >>= 1)
            j ^= bit;
        j ^= bit;
        if (i < j) {
            double x = re[i];
            re[i] = re[j];
            re[j] = x;
            x = im[i];
            im[i] = im[j];
            im[j] = x;
        }
    }
    double sign = inverse ? -1.0 : 1.0;
    for (size_t span = 2; span <= nfft; span <<= 1) {
        size_t half = span / 2, step = stride * (nfft / span);
        for (size_t k = 0; k < half; k++) {
            double wr = tw_re[k * step], wi = sign * tw_im[k * step];
            for (size_t u = k; u < nfft; u += span) {
                size_t v = u + half;
                double xr = re[v] * wr - im[v] * wi;
                double xi = re[v] * wi + im[v] * wr;
                re[v] = re[u] - xr;
                im[v] = im[u] - xi;
                re[u] += xr;
                im[u] += xi;
            }
        }
    }
}

/*
 * out[0..la+lb-1) = a * b by FFT. Both real inputs ride in one complex
 * transform (a in the real part, b in the imaginary part); with
 * Z = FFT(a + ib), A_k B_k = (Z_k^2 - conj(Z_{N-k})^2) / 4i, so a product
 * costs two transforms of size N >= la + lb - 1.
 */
static bool forecast_convolve_fft(struct tree *t, const double *a, size_t la,
                                  const double *b, size_t lb, double *out)
{
    size_t len = la + lb - 1, nfft = 1;

    while (nfft < len)
        nfft <<= 1;
    if (!tree_reserve(t, nfft))
        return false;
    double *re = t->work, *im = t->work + nfft;

    for (size_t i = 0; i < nfft; i++) {
        re[i] = i < la ? a[i] : 0.0;
        im[i] = i < lb ? b[i] : 0.0;
    }
    forecast_fft(t, re, im, nfft, false);
    for (size_t k = 0; k <= nfft / 2; k++) {
        size_t nk = (nfft - k) & (nfft - 1);
        double zr = re[k], zi = im[k];
        double wr = re[nk], wi = -im[nk]; /* conj(Z_{N-k}) */
        double dr = (zr * zr - zi * zi) - (wr * wr - wi * wi);
        double di = 2.0 * (zr * zi - wr * wi);
        /* (dr + i di) / 4i = (di - i dr) / 4 */
        re[k] = di / 4.0;
        im[k] = -dr / 4.0;
        re[nk] = re[k]; /* the product is Hermitian */
        im[nk] = -im[k];
    }
    forecast_fft(t, re, im, nfft, true);
    for (size_t i = 0; i < len; i++)
        out[i] = re[i] / (double)nfft;
    return true;
}

/* out[0..la+lb-1) = a * b, term by term (out does not overlap a or b). */
static void forecast_convolve_direct(const double *restrict a, size_t la,
                                     const double *restrict b, size_t lb,
                                     double *restrict out)
{
    memset(out, 0, (la + lb - 1) * sizeof *out);
    for (size_t i = 0; i < la; i++) {
        for (size_t j = 0; j < lb; j++)
            out[i + j] += a[i] * b[j];
    }
}

/* out = a * b (distribution of the sum), clamped to >= 0. */
static bool pmf_mul(struct tree *t, const struct pmf *a, const struct pmf *b,
                    struct pmf *out)
{
    size_t len = a->len + b->len - 1;
    double *c = malloc(len * sizeof *c);

    if (!c)
        return false;
    if (a->len <= FORECAST_DIRECT_MAX || b->len <= FORECAST_DIRECT_MAX)
        forecast_convolve_direct(a->c, a->len, b->c, b->len, c);
    else if (!forecast_convolve_fft(t, a->c, a->len, b->c, b->len, c)) {
        free(c);
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (c[i] < 0.0)
            c[i] = 0.0;
    }
    out->c = c;
    out->len = len;
    out->off = a->off + b->off;
    out->mean = a->mean + b->mean;
    out->var = a->var + b->var;
    return true;
}

/* Distribution of the sum of Bernoulli(p[0..n)), n >= 1, trimmed. */
static bool pmf_build(struct tree *t, const double *p, size_t n,
                      struct pmf *out)
{
    if (n <= FORECAST_TREE_LEAF) {
        if (!pmf_leaf(p, n, out))
            return false;
        pmf_trim(out);
        return true;
    }
    struct pmf a, b;
    size_t half = n / 2;
    bool ok = false;

    if (!pmf_build(t, p, half, &a))
        return false;
    if (!pmf_build(t, p + half, n - half, &b))
        goto fail_a;
    ok = pmf_mul(t, &a, &b, out);
    free(b.c);
fail_a:
    free(a.c);
    if (ok)
        pmf_trim(out);
    return ok;
}

/* Tree method, 1 <= m <= n. */
static bool forecast_tree(const double *p, size_t n, size_t m, double *out)
{
    struct tree t = {0};
    struct pmf d;
    bool ok = pmf_build(&t, p, n, &d);

    free(t.tw);
    free(t.work);
    if (!ok)
        return false;
    /* states below m: c[0 .. split) */
    size_t split = m <= d.off ? 0 : m - d.off;
    if (split > d.len)
        split = d.len;
    double below = forecast_sum(d.c, split);
    double above = forecast_sum(d.c + split, d.len - split);
    free(d.c);
    *out = forecast_clamp01(above <= below ? above : 1.0 - below);
    return true;
}

bool forecast_success_probability_by(const double *p, size_t n,
                                     int64_t min_participants,
                                     enum forecast_method method, double *out)
{
    if (!forecast_probabilities_valid(p, n))
        return false;
    if (min_participants <= 0) {
        *out = 1.0;
        return true;
    }
    if ((uint64_t)min_participants > (uint64_t)n) {
        *out = 0.0;
        return true;
    }

    size_t m = (size_t)min_participants;
    size_t states = m <= n - m + 1 ? m : n - m + 1;

    if (method == FORECAST_METHOD_AUTO)
        method = states <= FORECAST_DP_MAX_STATES ? FORECAST_METHOD_DP
                                                  : FORECAST_METHOD_TREE;
    if (method == FORECAST_METHOD_DP)
        return forecast_dp(p, n, m, out);
    return forecast_tree(p, n, m, out);
}

bool forecast_success_probability(const double *p, size_t n,
                                  int64_t min_participants, double *out)
{
    return forecast_success_probability_by(p, n, min_participants,
                                           FORECAST_METHOD_AUTO, out);
}

/* ------------------------------------------------------------------------
 * Part 2: the whole forecast.
 * ------------------------------------------------------------------------
 */

/* ln(sqrt(2 pi)) */
#define FORECAST_LN_SQRT_2PI 0.918938533204672741780329736406

/* Loader's stirlerr(k) = ln(k!) - (k + 1/2) ln k + k - ln sqrt(2 pi), for
 * an integer k >= 1: the series beyond 15, lgamma below (exact enough
 * there). */
static double forecast_stirlerr(double k)
{
    const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260,
                 s3 = 1.0 / 1680, s4 = 1.0 / 1188;
    if (k <= 15.0)
        return lgamma(k + 1.0) - (k + 0.5) * log(k) + k - FORECAST_LN_SQRT_2PI;
    double kk = k * k;
    if (k > 500)
        return (s0 - s1 / kk) / k;
    if (k > 80)
        return (s0 - (s1 - s2 / kk) / kk) / k;
    if (k > 35)
        return (s0 - (s1 - (s2 - s3 / kk) / kk) / kk) / k;
    return (s0 - (s1 - (s2 - (s3 - s4 / kk) / kk) / kk) / kk) / k;
}

/* Loader's bd0(x, mu) = x ln(x / mu) + mu - x, without cancellation. */
static double forecast_bd0(double x, double mu)
{
    if (fabs(x - mu) < 0.1 * (x + mu)) {
        double v = (x - mu) / (x + mu), s = (x - mu) * v, ej = 2.0 * x * v;
        v *= v;
        for (int j = 1; j < 1000; j++) {
            ej *= v;
            double s1 = s + ej / (double)(2 * j + 1);
            if (s1 == s)
                return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / mu) + mu - x;
}

/* P(Y = k), Y ~ Poisson(mu), mu > 0. */
static double forecast_dpois(double k, double mu)
{
    if (k == 0.0)
        return exp(-mu);
    return exp(-forecast_stirlerr(k) - forecast_bd0(k, mu)) /
           sqrt(6.283185307179586476925286766559 * k);
}

bool forecast_poisson(double mu, double **c, size_t *off, size_t *len)
{
    if (!(mu >= 0.0 && mu <= FORECAST_LAMBDA_MAX))
        return false;
    if (mu == 0.0) {
        double *one = malloc(sizeof *one);
        if (!one)
            return false;
        one[0] = 1.0;
        *c = one;
        *off = 0;
        *len = 1;
        return true;
    }
    /* Bernstein for a Poisson law (a limit of Bernoulli sums, variance mu):
     * beyond mean +- t the mass is <= 2 FORECAST_TRIM_EPS. */
    const double l = FORECAST_LN_INV_EPS;
    double t = l / 3.0 + sqrt(l * l / 9.0 + 2.0 * l * mu) + 2.0;
    double lo = floor(mu - t), hi = ceil(mu + t);
    if (lo < 0.0)
        lo = 0.0;
    size_t n = (size_t)(hi - lo) + 1, mode = (size_t)(floor(mu) - lo);
    double *p = malloc(n * sizeof *p);
    if (!p)
        return false;
    p[mode] = forecast_dpois(floor(mu), mu);
    for (size_t i = mode + 1; i < n; i++)
        p[i] = p[i - 1] * mu / (lo + (double)i);
    for (size_t i = mode; i > 0; i--)
        p[i - 1] = p[i] * (lo + (double)i) / mu;
    double total = forecast_sum(p, n);
    for (size_t i = 0; i < n; i++)
        p[i] /= total;
    *c = p;
    *off = (size_t)lo;
    *len = n;
    return true;
}

/* P(Y = k), Y ~ Binomial(r, p), 0 < k < r, 0 < p < 1 (Loader). */
static double forecast_dbinom(double k, double r, double p)
{
    double q = 1.0 - p;
    double lc = forecast_stirlerr(r) - forecast_stirlerr(k) -
                forecast_stirlerr(r - k) - forecast_bd0(k, r * p) -
                forecast_bd0(r - k, r * q);
    return exp(lc) * sqrt(r / (6.283185307179586476925286766559 * k * (r - k)));
}

/* Binomial(r, p) probabilities on the window where the mass lies, as
 * forecast_poisson. */
static bool forecast_binomial(double r, double p, double **c, size_t *off,
                              size_t *len)
{
    if (r == 0.0 || p == 0.0 || p == 1.0) {
        double *one = malloc(sizeof *one);
        if (!one)
            return false;
        one[0] = 1.0;
        *c = one;
        *off = p == 1.0 ? (size_t)r : 0;
        *len = 1;
        return true;
    }
    const double l = FORECAST_LN_INV_EPS;
    double mu = r * p;
    double t = l / 3.0 + sqrt(l * l / 9.0 + 2.0 * l * mu * (1.0 - p)) + 2.0;
    double lo = floor(mu - t), hi = ceil(mu + t);
    if (lo < 0.0)
        lo = 0.0;
    if (hi > r)
        hi = r;
    double mode_k = floor((r + 1.0) * p);
    if (mode_k > hi)
        mode_k = hi;
    if (mode_k < lo)
        mode_k = lo;
    size_t n = (size_t)(hi - lo) + 1, mode = (size_t)(mode_k - lo);
    double *v = malloc(n * sizeof *v);
    if (!v)
        return false;
    v[mode] = mode_k == 0.0 ? pow(1.0 - p, r)
              : mode_k == r ? pow(p, r)
                            : forecast_dbinom(mode_k, r, p);
    double odds = p / (1.0 - p);
    for (size_t i = mode + 1; i < n; i++) {
        double k = lo + (double)i - 1.0; /* v[i] from P(k) */
        v[i] = v[i - 1] * (r - k) / (k + 1.0) * odds;
    }
    for (size_t i = mode; i > 0; i--) {
        double k = lo + (double)i; /* v[i - 1] = P(k - 1) from P(k) */
        v[i - 1] = v[i] * k / (r - k + 1.0) / odds;
    }
    double total = forecast_sum(v, n);
    for (size_t i = 0; i < n; i++)
        v[i] /= total;
    *c = v;
    *off = (size_t)lo;
    *len = n;
    return true;
}

/* X's distribution: the exact Poisson-binomial law of p[0..n), trimmed
 * (n = 0: X = 0). */
static bool forecast_live_pmf(const double *p, size_t n, struct pmf *d)
{
    if (n == 0) {
        d->c = malloc(sizeof *d->c);
        if (!d->c)
            return false;
        d->c[0] = 1.0;
        d->len = 1;
        d->off = 0;
        d->mean = d->var = 0.0;
        return true;
    }
    struct tree t = {0};
    bool ok = pmf_build(&t, p, n, d);
    free(t.tw);
    free(t.work);
    return ok;
}

/* A Poisson law as cumulative sums: cdf[i] = P(Y <= off + i). */
struct forecast_cdf {
    double *cdf;
    size_t off, len;
};

static bool forecast_cdf_new(double mu, struct forecast_cdf *f)
{
    double *c;
    if (!forecast_poisson(mu, &c, &f->off, &f->len))
        return false;
    for (size_t i = 1; i < f->len; i++)
        c[i] += c[i - 1];
    f->cdf = c;
    return true;
}

/* P(Y < k) for any integer k (also far below or above the window). */
static double forecast_cdf_below(const struct forecast_cdf *f, double k)
{
    if (k <= (double)f->off)
        return 0.0;
    double i = k - (double)f->off - 1.0; /* index of P(Y <= k - 1) */
    if (i >= (double)(f->len - 1))
        return 1.0;
    return f->cdf[(size_t)i];
}

/* The tails of X: s0[i] = P(X >= off + i), s1[i] = E[X; X >= off + i],
 * i = 0..len (s0[len] = s1[len] = 0). */
struct forecast_tails {
    double *s0, *s1;
    size_t off, len;
};

static bool forecast_tails_new(const struct pmf *d, struct forecast_tails *t)
{
    t->s0 = malloc((d->len + 1) * sizeof *t->s0);
    t->s1 = malloc((d->len + 1) * sizeof *t->s1);
    if (!t->s0 || !t->s1) {
        free(t->s0);
        free(t->s1);
        return false;
    }
    t->off = d->off;
    t->len = d->len;
    t->s0[d->len] = t->s1[d->len] = 0.0;
    for (size_t i = d->len; i > 0; i--) {
        t->s0[i - 1] = t->s0[i] + d->c[i - 1];
        t->s1[i - 1] = t->s1[i] + d->c[i - 1] * (double)(d->off + i - 1);
    }
    return true;
}

/* P(X >= k), E[X; X >= k] for any integer k. */
static void forecast_tails_at(const struct forecast_tails *t, double k,
                              double *s0, double *s1)
{
    size_t i;
    if (k <= (double)t->off)
        i = 0;
    else if (k >= (double)(t->off + t->len))
        i = t->len;
    else
        i = (size_t)(k - (double)t->off);
    *s0 = t->s0[i];
    *s1 = t->s1[i];
}

static bool forecast_model_valid(const struct forecast_model *m)
{
    if (!forecast_probabilities_valid(m->p, m->n) || m->live_quantity < 0 ||
        !(m->arrivals >= 0.0) || isinf(m->arrivals) ||
        !(m->p_arrival >= 0.0 && m->p_arrival <= 1.0) ||
        !(m->quantity_per_join >= 1.0 && m->quantity_per_join <= 1e12) ||
        m->max_quantity < 0 || m->ntiers < 1 ||
        m->ntiers > FORECAST_MAX_TIERS || m->tiers == NULL ||
        m->tiers[0].threshold != 1)
        return false;
    for (size_t i = 0; m->quantity && i < m->n; i++)
        if (m->quantity[i] < 1)
            return false;
    for (size_t t = 0; t < m->ntiers; t++) {
        if (m->tiers[t].unit_price_cents < 0 ||
            m->tiers[t].cost_price_cents < 0 ||
            (t > 0 && m->tiers[t].threshold <= m->tiers[t - 1].threshold))
            return false;
    }
    return true;
}

/* The tier a count of joins j is on (low[] as forecast_run builds it). */
static size_t forecast_tier_of(const double *low, size_t nt, double j)
{
    size_t t = 0;
    while (t + 1 < nt && low[t + 1] <= j)
        t++;
    return t;
}

/*
 * Two branches, exact: while fewer than r = jmax - n further joins arrive
 * (A < r), A splits into completers B and the others D, independent
 * Poissons, and nothing is capped; once r or more arrive (A >= r), exactly
 * r are taken, the joins stand at jmax and the completers among the r
 * taken are Binomial(r, p_bar).
 */
bool forecast_run(const struct forecast_model *m, struct forecast_outcome *out)
{
    if (!forecast_model_valid(m))
        return false;
    const double inf = INFINITY;
    double lambda =
        m->arrivals < FORECAST_LAMBDA_MAX ? m->arrivals : FORECAST_LAMBDA_MAX;
    double pa = m->p_arrival, q = m->quantity_per_join, n = (double)m->n;
    double r = inf; /* further joins the cap lets in */
    if (m->max_quantity > 0) {
        double room = (double)(m->max_quantity - m->live_quantity);
        r = room > 0.0 ? floor(room / q + 1e-9) : 0.0;
    }
    /* Tier t covers joins in [low[t], low[t + 1]): thresholds in joins. */
    size_t nt = m->ntiers;
    double low[FORECAST_MAX_TIERS + 1];
    low[0] = -inf;
    low[nt] = inf;
    for (size_t t = 1; t < nt; t++) {
        double th = (double)m->tiers[t].threshold;
        if (!m->quantity_basis)
            low[t] = th;
        else if (th <= (double)m->live_quantity)
            low[t] = -inf;
        else
            low[t] = n + ceil((th - (double)m->live_quantity) / q - 1e-9);
    }
    double mp = m->min_participants > 0 ? (double)m->min_participants : 0.0;

    struct pmf x = {0};
    struct forecast_tails xt = {0};
    struct forecast_cdf dl = {0}, al = {0};
    double *b = NULL, *y = NULL;
    size_t boff, blen, yoff = 0, ylen = 0;
    bool ok = false;
    if (!forecast_live_pmf(m->p, m->n, &x))
        return false;
    if (!forecast_tails_new(&x, &xt) ||
        !forecast_poisson(lambda * pa, &b, &boff, &blen) ||
        !forecast_cdf_new(lambda * (1.0 - pa), &dl) ||
        !forecast_cdf_new(lambda, &al))
        goto done;
    double capped = isinf(r) ? 0.0 : 1.0 - forecast_cdf_below(&al, r);
    if (capped > 0.0 && !forecast_binomial(r, pa, &y, &yoff, &ylen))
        goto done;

    double prob[FORECAST_MAX_TIERS] = {0}, comp[FORECAST_MAX_TIERS] = {0},
           any[FORECAST_MAX_TIERS] = {0};
    double participants = 0.0, joins = 0.0, s0, s1;
    /* A < r: J = n + b + d, C = X + b, d < r - b */
    for (size_t i = 0; i < blen; i++) {
        double wb = b[i], bb = (double)(boff + i), base = n + bb;
        if (wb == 0.0 || bb >= r)
            continue;
        double top = r - bb; /* D < top */
        double below_top = forecast_cdf_below(&dl, top);
        forecast_tails_at(&xt, mp - bb, &s0, &s1);
        double win = s0, g = s1 + bb * s0; /* P(C >= m), E[C; C >= m] */
        forecast_tails_at(&xt, 0.0, &s0, &s1);
        participants += wb * below_top * (s1 + bb * s0);
        for (size_t t = 0; t < nt; t++) {
            double hi = low[t + 1] - base < top ? low[t + 1] - base : top;
            double pt = forecast_cdf_below(&dl, hi) -
                        forecast_cdf_below(&dl, low[t] - base);
            if (pt <= 0.0)
                continue;
            prob[t] += wb * win * pt;
            comp[t] += wb * g * pt;
            any[t] += wb * pt;
        }
    }
    for (size_t j = 0; j < al.len; j++) {
        double a = (double)(al.off + j);
        if (a >= r)
            break;
        joins += (al.cdf[j] - (j ? al.cdf[j - 1] : 0.0)) * (n + a);
    }
    if (capped > 0.0) {
        /* A >= r: J = jmax on its tier, C = X + Binomial(r, p_bar) */
        size_t tc = forecast_tier_of(low, nt, n + r);
        double win = 0.0, g = 0.0, all = 0.0;
        for (size_t k = 0; k < ylen; k++) {
            double kk = (double)(yoff + k);
            forecast_tails_at(&xt, mp - kk, &s0, &s1);
            win += y[k] * s0;
            g += y[k] * (s1 + kk * s0);
            forecast_tails_at(&xt, 0.0, &s0, &s1);
            all += y[k] * (s1 + kk * s0);
        }
        prob[tc] += capped * win;
        comp[tc] += capped * g;
        any[tc] += capped;
        participants += capped * all;
        joins += capped * (n + r);
    }

    double p_sum = forecast_sum(m->p, m->n), pq_sum = 0.0;
    for (size_t i = 0; i < m->n; i++)
        pq_sum += m->p[i] * (m->quantity ? (double)m->quantity[i] : 1.0);
    double success = 0.0, price_w = 0.0, price_any = 0.0;
    out->expected_revenue_cents = out->expected_cost_cents = 0.0;
    for (size_t t = 0; t < nt; t++) {
        double price = (double)m->tiers[t].unit_price_cents;
        double cost = (double)m->tiers[t].cost_price_cents;
        out->tier_probability[t] = forecast_clamp01(prob[t]);
        out->tier_completers[t] = comp[t];
        out->tier_revenue_cents[t] = price * q * comp[t];
        out->tier_cost_cents[t] = cost * q * comp[t];
        out->expected_revenue_cents += out->tier_revenue_cents[t];
        out->expected_cost_cents += out->tier_cost_cents[t];
        success += prob[t];
        price_w += prob[t] * price;
        price_any += any[t] * price;
    }
    out->ntiers = nt;
    out->success_probability = forecast_clamp01(success);
    out->expected_unit_price_cents =
        success > FORECAST_PRICE_MIN_SUCCESS ? price_w / success : price_any;
    out->expected_participants = participants;
    out->expected_joins = joins;
    double future = participants - p_sum;
    out->expected_quantity = pq_sum + q * (future > 0.0 ? future : 0.0);
    ok = true;
done:
    free(x.c);
    free(xt.s0);
    free(xt.s1);
    free(b);
    free(y);
    free(dl.cdf);
    free(al.cdf);
    return ok;
}

/* ------------------------------------------------------------------------
 * Part 3: the arrivals.
 * ------------------------------------------------------------------------
 */

const char *forecast_basis_name(enum forecast_basis basis)
{
    return basis == FORECAST_BASIS_HISTORY ? "history" : "prior";
}

static bool forecast_history_usable(const struct forecast_history *h)
{
    return h != NULL && h->campaigns >= FORECAST_HISTORY_MIN_CAMPAIGNS;
}

static bool forecast_history_valid(const struct forecast_history *h)
{
    if (h == NULL)
        return true;
    if (h->campaigns < 0 || h->invitation_campaigns < 0 || h->invited < 0 ||
        h->invited_joined < 0 || !(h->mean_joins >= 0.0) ||
        isinf(h->mean_joins) ||
        !(h->p_complete >= 0.0 && h->p_complete <= 1.0) ||
        !(h->quantity_per_join >= 0.0) || isinf(h->quantity_per_join))
        return false;
    for (size_t k = 0; k < FORECAST_CURVE_POINTS; k++)
        if (!(h->curve[k] >= 0.0 && h->curve[k] <= 1.0))
            return false;
    return true;
}

double forecast_share_by(const struct forecast_history *h, double tau)
{
    if (!(tau > 0.0))
        tau = 0.0;
    if (tau > 1.0)
        tau = 1.0;
    if (!forecast_history_usable(h))
        return tau;
    double x = tau * (double)(FORECAST_CURVE_POINTS - 1);
    size_t k = (size_t)floor(x);
    if (k >= FORECAST_CURVE_POINTS - 1)
        return h->curve[FORECAST_CURVE_POINTS - 1];
    double f = x - (double)k;
    return h->curve[k] + f * (h->curve[k + 1] - h->curve[k]);
}

/* q clamped to [1, per_customer_limit]. */
static double forecast_units(double q, int64_t per_customer_limit)
{
    double top = per_customer_limit >= 1 ? (double)per_customer_limit : 1.0;
    if (!(q >= 1.0))
        return 1.0;
    return q < top ? q : top;
}

bool forecast_arrivals_campaign(const struct forecast_history *h, double tau,
                                size_t n, int64_t live_quantity, double p_sum,
                                double p_new, int64_t per_customer_limit,
                                struct forecast_arrivals *out)
{
    if (!forecast_history_valid(h) || isnan(tau) || live_quantity < 0 ||
        !(p_sum >= 0.0 && p_sum <= (double)n) ||
        !(p_new >= 0.0 && p_new <= 1.0))
        return false;
    bool hist = forecast_history_usable(h);
    if (!(tau > 0.0))
        tau = 0.0;
    if (tau > 1.0)
        tau = 1.0;
    double f = forecast_share_by(h, tau);
    out->share_by_now = f;
    out->join_share = 0.0;
    if (f < FORECAST_MIN_SHARE)
        f = FORECAST_MIN_SHARE;
    if (tau >= 1.0)
        out->expected = 0.0; /* ended: nobody else can join */
    else if (n > 0)
        out->expected = (double)n * (1.0 - f) / f;
    else
        out->expected = hist ? h->mean_joins * (1.0 - f) : 0.0;
    if (hist) {
        out->basis = FORECAST_BASIS_HISTORY;
        out->campaigns_used = h->campaigns;
        out->p_complete = h->p_complete;
        out->quantity_per_join =
            forecast_units(h->quantity_per_join, per_customer_limit);
    } else {
        out->basis = FORECAST_BASIS_PRIOR;
        out->campaigns_used = 0;
        out->p_complete = n > 0 ? p_sum / (double)n : p_new;
        out->quantity_per_join =
            forecast_units(n > 0 ? (double)live_quantity / (double)n : 1.0,
                           per_customer_limit);
    }
    return true;
}

bool forecast_arrivals_audience(const struct forecast_history *h,
                                int64_t audience, double p_new,
                                int64_t per_customer_limit,
                                struct forecast_arrivals *out)
{
    if (!forecast_history_valid(h) || audience < 0 ||
        !(p_new >= 0.0 && p_new <= 1.0))
        return false;
    bool invited = h != NULL &&
                   h->invitation_campaigns >= FORECAST_HISTORY_MIN_CAMPAIGNS &&
                   h->invited > 0;
    out->share_by_now = 0.0;
    out->join_share = invited ? (double)h->invited_joined / (double)h->invited
                              : FORECAST_PRIOR_JOIN_SHARE;
    if (out->join_share > 1.0)
        out->join_share = 1.0;
    out->expected = (double)audience * out->join_share;
    out->basis = invited ? FORECAST_BASIS_HISTORY : FORECAST_BASIS_PRIOR;
    out->campaigns_used = invited ? h->invitation_campaigns : 0;
    bool hist = forecast_history_usable(h);
    out->p_complete = hist ? h->p_complete : p_new;
    out->quantity_per_join =
        forecast_units(hist ? h->quantity_per_join : 1.0, per_customer_limit);
    return true;
}

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

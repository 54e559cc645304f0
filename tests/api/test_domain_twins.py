"""The one domain rule that runs on both sides, held side against side.

- The tier price lives twice, both live: pricing_unit_price (C) answers the
  progress and each participation, gb_tier_price (SQL) fixes the final
  price at close. 5,000 random ladders and counts go to both: to SQL in one
  query, to C through build/tools/tier_price (tests/tools/tier_price.c, the
  real pricing.c); every answer must agree, and agree with the rule as
  written here.
"""
import os
import random
import subprocess

from conftest import ROOT

TOOL = os.path.join(ROOT, "build", "tools", "tier_price")


def c_tier_prices(cases):
    """Runs the C pricing over cases [(ladder, count)]. The tool is built
    here so that it is never older than pricing.c."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    subprocess.run(["make", "--no-print-directory", "-s", "build/tools/tier_price"],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    text = "".join("%d %d %s\n" % (count, len(ladder),
                                    " ".join("%d %d" % t for t in ladder))
                   for ladder, count in cases)
    out = subprocess.run([TOOL], input=text, capture_output=True, text=True, check=True,
                         env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    return [int(x) if x != "invalid" else x for x in out.stdout.split()]


def random_ladder(rng):
    """A valid ladder: first threshold 1, thresholds up, prices down, >= 1."""
    n = rng.randint(1, 20)
    span = rng.choice([1, 3, 10, 1000, 10 ** 6, 10 ** 15])
    thresholds = [1] + sorted(rng.sample(range(2, 2 + span * n), n - 1))
    top = rng.choice([n, n + 1, 100, 9900, 10 ** 6, 2 ** 53])
    prices = sorted(rng.sample(range(1, top + 1), n), reverse=True)
    return list(zip(thresholds, prices))


def rule(ladder, count):
    """DESIGN.md: the price of the tier with the greatest threshold <=
    max(count, 1)."""
    return [p for t, p in ladder if t <= max(count, 1)][-1]


def test_tier_price_is_the_same_in_c_and_sql(db):
    rng = random.Random(5000)
    cases = []
    for _ in range(5000):
        ladder = random_ladder(rng)
        t = rng.choice(ladder)[0]
        count = rng.choice([0, 1, t - 1, t, t + 1, ladder[-1][0] + rng.randint(0, 10 ** 6),
                            rng.randint(0, 2 * ladder[-1][0])])
        cases.append((ladder, max(count, 0)))
    with db.cursor() as cur:
        cur.execute(
            "SELECT gb_tier_price(l, c) FROM unnest(%s::jsonb[], %s::bigint[])"
            " WITH ORDINALITY AS u (l, c, i) ORDER BY i",
            (["[%s]" % ", ".join('{"threshold": %d, "unit_price_cents": %d}' % t
                                 for t in ladder) for ladder, _ in cases],
             [count for _, count in cases]))
        sql = [r[0] for r in cur.fetchall()]
    c = c_tier_prices(cases)
    want = [rule(ladder, count) for ladder, count in cases]
    assert len(c) == len(sql) == len(cases)
    bad = [(cases[i], c[i], sql[i], want[i]) for i in range(len(cases))
           if not c[i] == sql[i] == want[i]]
    assert bad == [], bad[:3]

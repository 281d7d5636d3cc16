#!/usr/bin/env python3
"""Reference values for shared/stats tests, computed independently with SciPy and statsmodels.

Regenerate with:  /usr/bin/python3 scripts/stats-fixtures.py > test/fixtures/stats-reference.json
(needs Debian's python3-scipy and python3-statsmodels)
and the delta method's (numpy only):
                  /usr/bin/python3 scripts/stats-fixtures.py delta-method > test/fixtures/delta-method-reference.json
and Welch's test with Hall's skewness transformation (numpy, scipy):
                  /usr/bin/python3 scripts/stats-fixtures.py skew-welch > test/fixtures/skew-welch-reference.json
and A/A revenue through the default cap with two generators, outside the suite (printed;
docs/statistics.md, "Capping"), e.g.:
                  /usr/bin/python3 scripts/stats-fixtures.py capping-aa mulberry32 24 1000 90000 10000
and the novelty check on a ratio (numpy only):
                  /usr/bin/python3 scripts/stats-fixtures.py novelty-ratio > test/fixtures/novelty-ratio-reference.json
and the guardrails' one-sided mixture (printed; pasted into shared/stats/one-sided.test.ts):
                  /usr/bin/python3 scripts/stats-fixtures.py one-sided-mixture

and CUPED and the Bayesian readout, from GrowthBook's gbstats itself (its source, packages/stats
of github.com/growthbook/growthbook, on the path: GBSTATS=/path/to/packages/stats; numpy, scipy
and pydantic; pandas is stubbed, gbstats uses it only to build DataFrames):
                  GBSTATS=... /usr/bin/python3 scripts/stats-fixtures.py cuped > test/fixtures/cuped-reference.json
"""
import json
import math
import random
import sys

import numpy as np


def delta_method_fixture():
    """Ratio metrics per unit (x, y), kept to 2 decimals: numpy's ratio and delta-method
    variance (Deng, Knoblich & Lu 2018, eq. for Var(x-bar / y-bar) from sample moments,
    ddof=1), and a bootstrap variance over units as a check of the approximation itself."""
    rng = np.random.default_rng(20261201)
    cases = []
    for n, shape in [(30, "clicks"), (200, "clicks"), (1000, "clicks"), (1000, "revenue"), (400, "sparse"), (2000, "revenue")]:
        if shape == "clicks":  # clicks per session: y sessions >= 1, x clicks among them
            y = 1 + rng.poisson(3, n)
            x = rng.binomial(y, 0.3)
        elif shape == "revenue":  # revenue per order: lognormal order values
            y = rng.poisson(1.5, n)
            x = np.array([np.round(np.exp(3 + rng.standard_normal(k)).sum(), 2) for k in y])
        else:  # most units without any denominator event
            y = np.where(rng.random(n) < 0.15, 1 + rng.poisson(2, n), 0)
            x = np.round(y * rng.uniform(0, 5, n), 2)
        x = np.round(x.astype(float), 2)
        y = y.astype(float)
        mx, my = x.mean(), y.mean()
        vx, vy = x.var(ddof=1), y.var(ddof=1)
        cov = np.cov(x, y, ddof=1)[0, 1]
        ratio = x.sum() / y.sum()
        variance = (vx / my**2 - 2 * mx * cov / my**3 + mx**2 * vy / my**4) / n
        boot = []
        for _ in range(4000):
            i = rng.integers(0, n, n)
            if y[i].sum() > 0:
                boot.append(x[i].sum() / y[i].sum())
        cases.append({
            "shape": shape,
            "x": [float(v) for v in x],
            "y": [float(v) for v in y],
            "ratio": float(ratio),
            "variance": float(variance),
            "bootstrapVariance": float(np.var(boot, ddof=1)),
        })
    return json.dumps({"generatedBy": "scripts/stats-fixtures.py delta-method with numpy " + np.__version__, "cases": cases})


def one_sided_mixture_fixture():
    """The guardrails' one-sided mixture (shared/stats/one-sided.ts): log Λ by numerical
    integration of exp(η S − η² I / 2) against a half-normal N(0, τ²) on η > 0 (SciPy's quad),
    S = η̂/V, I = 1/V: an independent check of the closed form."""
    from scipy import integrate
    from scipy import stats as sstats
    cases = []
    for harm, V, tau2 in [(0.004, 1e-5, 9e-5), (-0.002, 4e-6, 3e-5), (0.01, 4e-6, 3e-5), (0.0, 1e-4, 1e-3)]:
        S, I = harm / V, 1 / V
        f = lambda e: math.exp(e * S - e * e * I / 2) * 2 * sstats.norm.pdf(e, 0, math.sqrt(tau2))
        value = integrate.quad(f, 0, math.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
        cases.append({"harm": harm, "V": V, "tau2": tau2, "logLambda": math.log(value)})
    return json.dumps(cases)


if sys.argv[1:] == ["one-sided-mixture"]:
    print(one_sided_mixture_fixture())

def cuped_fixture():
    """Pairs of arms as sufficient statistics (n, Σy, Σy², Σx, Σx², Σxy), x the pre-exposure
    value of y (0 for units without history), drawn per unit with numpy. gbstats computes
    θ (compute_theta), the absolute and the relative effect with their standard errors
    (EffectMoments on RegressionAdjustedStatistic, θ pooled over both arms), and
    EffectBayesianABTest's chance to win, risk and credible interval with its default
    (improper) prior and with a proper N(0, 0.3²) prior on the relative effect. SampleMean
    statistics throughout: our variances are (n − 1)-unbiased for binary metrics too."""
    import os
    import types

    sys.path.insert(0, os.environ["GBSTATS"])
    stub = types.ModuleType("pandas")
    stub.DataFrame = object
    sys.modules.setdefault("pandas", stub)
    from gbstats.bayesian.tests import EffectBayesianABTest, EffectBayesianConfig, GaussianPrior
    from gbstats.frequentist.tests import FrequentistConfig, TwoSidedTTest
    from gbstats.models.statistics import RegressionAdjustedStatistic, SampleMeanStatistic, compute_theta

    rng = np.random.default_rng(20261202)
    cases = []
    for i in range(24):
        shape = ["revenue", "binary", "counts", "sparse-history"][i % 4]
        rho = [0.0, 0.3, 0.7, 0.9][(i // 4) % 4]
        arms = []
        for arm, lift in (("control", 0.0), ("treatment", rng.choice([0.0, 0.02, 0.1]))):
            n = int(rng.choice([150, 1000, 5000, 40000]))
            z1 = rng.standard_normal(n)
            z2 = rho * z1 + np.sqrt(1 - rho * rho) * rng.standard_normal(n)
            if shape == "binary":
                y = (z2 > 1 - lift).astype(float)
                x = (z1 > 1).astype(float)
            elif shape == "counts":
                y = np.floor(np.exp(0.5 * z2 + 1 + lift))
                x = np.floor(np.exp(0.5 * z1 + 1))
            else:
                y = np.round(np.exp(2 + z2) * (1 + lift), 2)
                x = np.round(np.exp(2 + z1), 2)
                if shape == "sparse-history":
                    x = np.where(rng.random(n) < 0.4, x, 0.0)
            arms.append({"n": n, "sumY": float(y.sum()), "sumYSquares": float((y * y).sum()),
                         "sumX": float(x.sum()), "sumXSquares": float((x * x).sum()), "sumXY": float((x * y).sum())})

        def stat(a):
            return RegressionAdjustedStatistic(
                n=a["n"],
                post_statistic=SampleMeanStatistic(n=a["n"], sum=a["sumY"], sum_squares=a["sumYSquares"]),
                pre_statistic=SampleMeanStatistic(n=a["n"], sum=a["sumX"], sum_squares=a["sumXSquares"]),
                post_pre_sum_of_products=a["sumXY"],
                theta=None,
            )

        a, b = stat(arms[0]), stat(arms[1])
        absolute = TwoSidedTTest([(a, b)], FrequentistConfig(difference_type="absolute")).moments_result
        relative = TwoSidedTTest([(a, b)], FrequentistConfig(difference_type="relative")).moments_result
        flat = EffectBayesianABTest([(a, b)]).compute_result()
        proper = EffectBayesianABTest(
            [(a, b)], EffectBayesianConfig(prior_effect=GaussianPrior(mean=0, variance=0.09, proper=True))
        ).compute_result()
        inverse = EffectBayesianABTest([(a, b)], EffectBayesianConfig(inverse=True)).compute_result()

        def bayes(r):
            return {"chanceToWin": float(r.chanceToWin), "risk": [float(v) for v in r.risk],
                    "ci": [float(v) for v in r.ci], "mean": float(r.uplift.mean), "stddev": float(r.uplift.stddev)}

        cases.append({
            "shape": shape,
            "rho": rho,
            "control": arms[0],
            "treatment": arms[1],
            "theta": float(compute_theta(a, b)),
            "absolute": {"estimate": float(absolute.point_estimate), "standardError": float(absolute.standard_error)},
            "relative": {"estimate": float(relative.point_estimate), "standardError": float(relative.standard_error)},
            "bayesian": bayes(flat),
            "bayesianProperPrior": bayes(proper),
            "bayesianInverse": bayes(inverse),
        })
    return json.dumps({"generatedBy": "scripts/stats-fixtures.py cuped with gbstats (growthbook/growthbook packages/stats) and numpy " + np.__version__, "alpha": 0.05, "properPrior": {"mean": 0, "variance": 0.09}, "cases": cases})


def novelty_ratio_fixture():
    """The novelty check on a ratio (stats-lambda/src/report/novelty.ts), from the units' own
    (x, y) at looks e and d: the early ratio's and the later changes' ratio's delta-method
    variances from NumPy's sample moments (ddof=1), the bounds on the later part from the
    units' sums, and z. Also the z with the exact per-unit later variance and covariance."""
    rng = np.random.default_rng(2026122206)
    def arm(early_units, later_units, p_early, p_late):
        # sessions (1 + geometric) and clicks per session; early units keep theirs and add more.
        se = 1 + rng.geometric(0.4, early_units) - 1
        xe = rng.binomial(se, p_early)
        more = rng.geometric(0.5, early_units) - 1
        xd_early = xe + rng.binomial(more, p_late)
        sl = 1 + rng.geometric(0.4, later_units) - 1
        xl = rng.binomial(sl, p_late)
        return ([[int(a), int(b)] for a, b in zip(xe, se)],
                [[int(a), int(b)] for a, b in zip(np.concatenate([xd_early, xl]), np.concatenate([se + more, sl]))])
    def parts(early, late, growth):
        xe, ye = np.array(early, float).T
        xd, yd = np.array(late, float).T
        ne, nd = len(xe), len(xd)
        dx, dy = xd.copy(), yd.copy()
        dx[:ne] -= xe
        dy[:ne] -= ye
        def delta_var(x, y):  # Deng, Knoblich & Lu 2018: (1/n)(s²x/μy² − 2μx·sxy/μy³ + μx²·s²y/μy⁴)
            c = np.cov(x, y, ddof=1)
            mx, my = x.mean(), y.mean()
            return (c[0, 0] / my**2 - 2 * mx * c[0, 1] / my**3 + mx**2 * c[1, 1] / my**4) / len(x)
        re, rl = xe.sum() / ye.sum(), dx.sum() / dy.sum()
        minkowski = (np.sqrt(((xd - rl * yd) ** 2).sum()) + np.sqrt(((xe - rl * ye) ** 2).sum())) ** 2
        growing = (xd**2).sum() - (xe**2).sum() + rl**2 * ((yd**2).sum() - (ye**2).sum())
        bound = min(minkowski, growing) if growth == "monotone" else minkowski
        s_e = ((xe - re * ye) ** 2).sum()
        exact_cov = abs(((xe - re * ye) * (dx[:ne] - rl * dy[:ne])).sum()) / (ye.sum() * dy.sum())
        return {
            "early": (re, delta_var(xe, ye)),
            "late": (rl, bound * nd / ((nd - 1) * dy.sum() ** 2)),
            "lateExact": (rl, delta_var(dx, dy)),
            "cov": np.sqrt(s_e * bound) / (ye.sum() * dy.sum()),
            "covExact": exact_cov,
        }
    def z(t, c, late="late", cov="cov"):
        def lift(a, b):
            return a[0] / b[0] - 1, a[1] / b[0] ** 2 + a[0] ** 2 * b[1] / b[0] ** 4
        (la, va), (lb, vb) = lift(t["early"], c["early"]), lift(t[late], c[late])
        covariance = t[cov] / (c["early"][0] * c[late][0]) + c[cov] * t["early"][0] * t[late][0] / (c["early"][0] * c[late][0]) ** 2
        return (lb - la) / np.sqrt(va + vb + 2 * covariance)
    control = arm(60, 50, 0.3, 0.3)
    treatment = arm(70, 40, 0.45, 0.3)
    out = {"control": {"early": control[0], "late": control[1]}, "treatment": {"early": treatment[0], "late": treatment[1]}}
    for growth in ["monotone", "any"]:
        t, c = parts(*treatment, growth), parts(*control, growth)
        out[growth] = {"z": float(z(t, c)), "zExact": float(z(t, c, "lateExact", "covExact")),
                       "treatmentLateVariance": float(t["late"][1]), "treatmentLateExactVariance": float(t["lateExact"][1])}
    out["generatedBy"] = "scripts/stats-fixtures.py novelty-ratio with numpy " + np.__version__
    return json.dumps(out)


def skew_welch_fixture():
    """Welch's test with Hall's (1992) skewness transformation (shared/stats/welch.ts), from the
    arms' values: the arms' third central moments by SciPy (scipy.stats.moment), pooled, the
    skewness of the difference of means a = μ3·(1/n_t² − 1/n_c²)/S³, the p-value of g(T) = T + aT²/3 + a²T³/27 + a/6 under
    Student's t with Welch's df, and both intervals found by root-finding on the test itself
    ({δ: |g((D − δ)/S)| ≤ c} and {ρ: |g((x̄_t − ρx̄_c)/√(v_t + ρ²v_c))| ≤ c}), not by the
    closed-form inverse the TypeScript uses."""
    from scipy import optimize, stats
    rng = np.random.default_rng(2026122201)
    cases = []
    for n_c, n_t, buyers, lift in [(900, 100, 0.3, 0.0), (2000, 250, 0.2, 0.3), (300, 300, 0.5, 0.1), (150, 1200, 0.4, -0.2), (4000, 500, 0.3, 0.5)]:
        def arm(n, scale):
            values = np.where(rng.random(n) < buyers, np.round(np.exp(3 + 1.5 * rng.standard_normal(n)) * scale, 2), 0.0)
            return np.minimum(values, 400.0)
        control, treatment = arm(n_c, 1.0), arm(n_t, 1 + lift)
        mc, mt = control.mean(), treatment.mean()
        vc, vt = control.var(ddof=1) / n_c, treatment.var(ddof=1) / n_t
        se = math.sqrt(vc + vt)
        df = (vc + vt) ** 2 / (vc**2 / (n_c - 1) + vt**2 / (n_t - 1))
        pooled = (stats.moment(control, 3) * n_c + stats.moment(treatment, 3) * n_t) / (n_c + n_t)
        a = pooled * (1 / n_t**2 - 1 / n_c**2) / se**3
        g = lambda t: t + a * t * t / 3 + a * a * t**3 / 27 + a / 6
        c = stats.t.ppf(0.975, df)
        d = mt - mc
        p = 2 * stats.t.sf(abs(g(d / se)), df)
        span = 20 * se
        ci = [optimize.brentq(lambda delta: g((d - delta) / se) - c, d - span, d + span, xtol=1e-14),
              optimize.brentq(lambda delta: g((d - delta) / se) + c, d - span, d + span, xtol=1e-14)]
        f = lambda rho: g((mt - rho * mc) / math.sqrt(vt + rho * rho * vc))
        ratio = mt / mc
        def root(target, lo, hi):  # None where the set is unbounded on that side
            try:
                return optimize.brentq(lambda rho: f(rho) - target, lo, hi, xtol=1e-14) - 1
            except ValueError:
                return None
        rel = [root(c, ratio - 1e3, ratio), root(-c, ratio, ratio + 1e3)]
        cases.append({"control": [float(x) for x in control], "treatment": [float(x) for x in treatment],
                      "alpha": 0.05, "skew": float(a), "pValue": float(p), "ci": ci, "relativeCi": rel if None not in rel else None})
    return json.dumps({"generatedBy": "scripts/stats-fixtures.py skew-welch with numpy " + np.__version__
                       + ", scipy " + __import__("scipy").__version__, "cases": cases})


def capping_aa(generator, seed, experiments, split):
    """A/A revenue through the default cap, outside the suite (issue 22, item 3): per arm
    ~10% buyers (binomial by its normal approximation), lognormal(3, 2) values scaled and
    bucketed as capping.simulation.test.ts does, the pooled non-zero quantile at the default
    percentile (1 − 25/n of the smallest arm, within 97.5–99.5%, rank at most 50 from the end)
    rounded out to its bucket's edge, Welch's t on the capped values and the same t corrected for
    skew (shared/stats/welch.ts: Hall's transformation at the pooled third moment). `generator`:
    "numpy" (PCG64) or "mulberry32" (the suite's, drawn in the suite's order: with the same seed
    the experiments are the suite's own)."""
    from scipy import stats
    scale, log_scale = 10_000, math.log2(10_000)
    if generator == "numpy":
        rng = np.random.default_rng(seed)
        one_normal, normals = rng.standard_normal, rng.standard_normal
    else:
        position = [0]
        def uniforms(count):
            i = np.arange(position[0] + 1, position[0] + count + 1, dtype=np.uint64)
            position[0] += count
            state = ((np.uint64(seed & 0xFFFFFFFF) + i * np.uint64(0x6D2B79F5)) & np.uint64(0xFFFFFFFF)).astype(np.uint32)
            with np.errstate(over="ignore"):
                t = (state ^ (state >> np.uint32(15))) * (np.uint32(1) | state)
                t = (t + ((t ^ (t >> np.uint32(7))) * (np.uint32(61) | t))) ^ t
                return (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0
        def one_normal():  # Box–Muller, the cosine only (test/support/simulated-rows.ts normals)
            a, b = uniforms(2)
            return math.sqrt(-2 * math.log(a or 1e-12)) * math.cos(2 * math.pi * b)
        def normals(count):  # both of each pair (capping.simulation.test.ts armRows)
            u = uniforms(2 * ((count + 1) // 2)).reshape(-1, 2)
            r = np.sqrt(-2 * np.log(np.where(u[:, 0] == 0, 1e-12, u[:, 0])))
            return np.stack([r * np.cos(2 * np.pi * u[:, 1]), r * np.sin(2 * np.pi * u[:, 1])], 1).ravel()[:count]
    counts = {"welch": [0, 0], "corrected": [0, 0]}
    for _ in range(experiments):
        arms = []
        for units in split:
            buyers = int(round(units * 0.1 + math.sqrt(units * 0.1 * 0.9) * one_normal()))
            log2 = (3 + 2 * normals(buyers)) / math.log(2) + log_scale
            arms.append((units, np.maximum(1, np.round(2**log2)) / scale, np.maximum(1, np.floor(log2) + 1).astype(int)))
        percentile = min(0.995, max(0.975, 1 - 25 / min(len(a[1]) for a in arms)))
        cumulative = np.cumsum(np.bincount(np.concatenate([a[2] for a in arms])))
        total = int(cumulative[-1])
        rank = max(math.ceil(min(percentile, 0.9) * total), min(math.ceil(percentile * total), total - 50))
        cap = 2.0 ** int(np.searchsorted(cumulative, max(1, rank))) / scale
        moments = []
        for units, values, _ in arms:
            x = np.concatenate([np.minimum(values, cap), np.zeros(units - len(values))])
            moments.append((units, x.mean(), x.var(ddof=1), stats.moment(x, 3) * units))
        (nc, mc, vc, m3c), (nt, mt, vt, m3t) = moments
        se = math.sqrt(vc / nc + vt / nt)
        df = (vc / nc + vt / nt) ** 2 / ((vc / nc) ** 2 / (nc - 1) + (vt / nt) ** 2 / (nt - 1))
        critical = stats.t.ppf(0.975, df)
        t = (mt - mc) / se
        a = (m3c + m3t) / (nc + nt) * (1 / nt**2 - 1 / nc**2) / se**3
        for name, value in [("welch", t), ("corrected", t + a * t * t / 3 + a * a * t**3 / 27 + a / 6)]:
            counts[name][0] += value > critical
            counts[name][1] += value < -critical
    return json.dumps({name: {"positive": int(p), "negative": int(n), "rate": (p + n) / experiments,
                              "standardError": math.sqrt((p + n) / experiments * (1 - (p + n) / experiments) / experiments)}
                       for name, (p, n) in counts.items()})


if sys.argv[1:2] == ["capping-aa"]:
    _, generator, seed, experiments, control_units, treatment_units = sys.argv[1:]
    print(capping_aa(generator, int(seed), int(experiments), (int(control_units), int(treatment_units))))
    sys.exit(0)

if sys.argv[1:] == ["skew-welch"]:
    print(skew_welch_fixture())
    sys.exit(0)

if sys.argv[1:] == ["novelty-ratio"]:
    print(novelty_ratio_fixture())
    sys.exit(0)

if sys.argv[1:] == ["cuped"]:
    print(cuped_fixture())
    sys.exit(0)

if sys.argv[1:] == ["delta-method"]:
    print(delta_method_fixture())
    sys.exit(0)

from scipy import optimize, special, stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

random.seed(20261125)
cases = []
for i in range(40):
    def arm():
        n = random.choice([2, 3, 10, 50, 400, 5000, 120000])
        mu = random.uniform(-5, 50)
        sd = random.uniform(0.01, 30)
        if i % 5 == 0:  # conversion-style data: proportions
            p = random.uniform(0.01, 0.6)
            conversions = round(n * p)
            return {"n": n, "sum": float(conversions), "sumSquares": float(conversions)}
        xs = [random.gauss(mu, sd) for _ in range(min(n, 2000))]
        # scale a smaller sample's sums up to n draws of the same distribution shape
        factor = n / len(xs)
        s = sum(xs) * factor
        ss = sum(x * x for x in xs) * factor
        return {"n": n, "sum": s, "sumSquares": ss}

    control, treatment = arm(), arm()
    alpha = random.choice([0.05, 0.01, 0.1])

    def moments(a):
        mean = a["sum"] / a["n"]
        var = max(0.0, (a["sumSquares"] - a["sum"] ** 2 / a["n"]) / (a["n"] - 1))
        return mean, var

    mc, vc = moments(control)
    mt, vt = moments(treatment)
    result = stats.ttest_ind_from_stats(mt, vt ** 0.5, treatment["n"], mc, vc ** 0.5, control["n"], equal_var=False)
    se2 = vc / control["n"] + vt / treatment["n"]
    df = se2 ** 2 / ((vc / control["n"]) ** 2 / (control["n"] - 1) + (vt / treatment["n"]) ** 2 / (treatment["n"] - 1))
    critical = stats.t.ppf(1 - alpha / 2, df)
    half = critical * se2 ** 0.5
    case = {
        "control": control,
        "treatment": treatment,
        "alpha": alpha,
        "pValue": float(result.pvalue),
        "ci": [mt - mc - half, mt - mc + half],
    }
    # Fieller's set {rho: (mt - rho mc)^2 <= z^2 (vt/nt + rho^2 vc/nc)}, found by root-finding
    # around the ratio (independent of the closed form in shared/stats/fieller.ts).
    svc, svt = vc / control["n"], vt / treatment["n"]
    if mc * mc > critical * critical * svc and mc != 0:
        g = lambda rho: (mt - rho * mc) ** 2 - critical ** 2 * (svt + rho * rho * svc)
        ratio = mt / mc
        width = 1.0
        while g(ratio - width) < 0 or g(ratio + width) < 0:
            width *= 2
        lo = optimize.brentq(g, ratio - width, ratio, xtol=1e-15, rtol=1e-15, maxiter=500)
        hi = optimize.brentq(g, ratio, ratio + width, xtol=1e-15, rtol=1e-15, maxiter=500)
        # The lift is (mt - mc) / |mc|: rho - 1 for a positive control mean, 1 - rho for a negative one.
        case["relativeCi"] = [lo - 1, hi - 1] if mc > 0 else [1 - hi, 1 - lo]
    cases.append(case)

# Sequential SRM: the Dirichlet-multinomial Bayes factor (Lindon & Malek 2020), K = 1000.
def srm_log_bf(counts, weights, prior=1000.0):
    total = sum(w for w in weights if w > 0)
    log = 0.0
    n = 0
    for x, w in zip(counts, weights):
        p = max(0.0, w) / total
        if p == 0:
            if x > 0:
                return math.inf
            continue
        n += x
        log += special.gammaln(prior * p + x) - special.gammaln(prior * p) - x * math.log(p)
    return log + special.gammaln(prior) - special.gammaln(prior + n)

srm = []
for counts, weights in [([5000, 5000], [50, 50]), ([5100, 4900], [50, 50]), ([5200, 4800], [50, 50]), ([900, 1100, 1000], [1, 1, 1]), ([9100, 900], [90, 10]), ([33, 67], [50, 50]), ([600, 400], [50, 50]), ([202000, 198000], [50, 50]), ([500, 3, 500], [50, 0, 50])]:
    log_bf = srm_log_bf(counts, weights)
    srm.append({"counts": counts, "weights": weights, "pValue": float(min(1.0, math.exp(-log_bf))), "chiSquarePValue": float(stats.chisquare(counts, [sum(counts) * w / sum(weights) for w in weights]).pvalue) if all(w > 0 for w in weights) else 0.0})

rng = random.Random(1125)
corrections = []
for i in range(12):
    m = rng.choice([2, 3, 5, 8, 12])
    p_values = [rng.choice([rng.uniform(0, 0.02), rng.uniform(0, 0.2), rng.uniform(0, 1)]) for _ in range(m)]
    alpha = rng.choice([0.05, 0.1])
    entry = {"pValues": p_values, "alpha": alpha}
    for method, name in [("holm", "holm"), ("fdr_bh", "benjamini-hochberg"), ("bonferroni", "bonferroni")]:
        reject, adjusted, _, _ = multipletests(p_values, alpha=alpha, method=method)
        entry[name] = {"adjusted": [float(x) for x in adjusted], "reject": [bool(x) for x in reject]}
    corrections.append(entry)

# Capping: zero-inflated lognormal values, the cap at the pooled quantile (zeros included;
# `nonZero`: over the non-zero values, the report's default)
# rounded out to its power-of-two bucket edge (values scaled by 1e4), and each arm's
# capped mean and variance.
capping = []
np_rng = np.random.default_rng(1125)
for percentile in [0.99, 0.95, 0.999]:
    arms = []
    for size in [800, 300]:
        converted = np_rng.random(size) < 0.1
        values = np.where(converted, np.round(np.exp(3 + 2 * np_rng.standard_normal(size)), 2), 0.0)
        arms.append([float(v) for v in values])
    pooled = np.array(arms[0] + arms[1])
    q = float(np.quantile(pooled, percentile, method="inverted_cdf"))
    cap = None
    if q > 0:
        scaled = round(q * 1e4)
        cap = 2 ** (math.floor(math.log2(scaled)) + 1) / 1e4
    capped = [np.minimum(np.array(a), cap) if cap is not None else np.array(a) for a in arms]
    entry = {"percentile": percentile, "arms": arms, "cap": cap, "means": [float(c.mean()) for c in capped], "variances": [float(c.var(ddof=1)) for c in capped]}
    # The default since issue 22: the quantile over the non-zero values only (gbstats' ignoreZeros),
    # its rank at most 50 from the end (MIN_CAPPED_UNITS) but not below the 90th percentile's
    # (MAX_GUARDED_PERCENTILE); inverted_cdf's rank is ⌈p·N⌉.
    values = np.sort(pooled[pooled != 0])
    floor = math.ceil(min(percentile, 0.9) * len(values))
    rank = max(1, floor, min(math.ceil(percentile * len(values)), len(values) - 50))
    q = float(values[rank - 1])
    cap = 2 ** (math.floor(math.log2(round(q * 1e4))) + 1) / 1e4
    capped = [np.minimum(np.array(a), cap) for a in arms]
    entry["nonZero"] = {"cap": cap, "means": [float(c.mean()) for c in capped], "variances": [float(c.var(ddof=1)) for c in capped]}
    capping.append(entry)

# Fixed-horizon sample size per arm, two-sided, power 0.8 (statsmodels, Cohen's h).
sample_sizes = []
for rate, mde in [(0.1, 0.05), (0.05, 0.1), (0.3, 0.02)]:
    h = proportion_effectsize(rate * (1 + mde), rate)
    sample_sizes.append({"rate": rate, "mde": mde, "alpha": 0.05, "perArm": float(NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1))})

print(json.dumps({
    "generatedBy": "scripts/stats-fixtures.py with scipy " + __import__("scipy").__version__ + ", statsmodels " + __import__("statsmodels").__version__,
    "welch": cases,
    "srm": srm,
    "corrections": corrections,
    "capping": capping,
    "sampleSizes": sample_sizes,
}, indent=1))

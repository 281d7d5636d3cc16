#!/usr/bin/env python3
"""Reference values for shared/stats tests, computed independently with SciPy.

Regenerate with:  python3 scripts/stats-fixtures.py > test/fixtures/stats-reference.json
(needs python3 with scipy, e.g. Debian's python3-scipy)
"""
import json
import random

from scipy import stats

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
    half = stats.t.ppf(1 - alpha / 2, df) * se2 ** 0.5
    cases.append({
        "control": control,
        "treatment": treatment,
        "alpha": alpha,
        "pValue": float(result.pvalue),
        "ci": [mt - mc - half, mt - mc + half],
    })

srm = []
for counts, weights in [([5000, 5000], [50, 50]), ([5100, 4900], [50, 50]), ([5200, 4800], [50, 50]), ([900, 1100, 1000], [1, 1, 1]), ([9100, 900], [90, 10]), ([33, 67], [50, 50])]:
    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    srm.append({"counts": counts, "weights": weights, "pValue": float(stats.chisquare(counts, expected).pvalue)})

print(json.dumps({"generatedBy": "scripts/stats-fixtures.py with scipy " + __import__("scipy").__version__, "welch": cases, "srm": srm}, indent=1))

"""rliable's estimates on the score matrices of a JSON file (argv[1]), as JSON on stdout.

For each matrix: rliable.metrics' point estimates (mean, median, IQM,
optimality gap) and, from the same StratifiedBootstrap rliable's
get_interval_estimates uses, quantiles of the bootstrap replicates, so the
caller can check that its percentile interval falls where rliable's would,
up to Monte-Carlo noise. For each pair: probability_of_improvement and the
quantiles of its StratifiedIndependentBootstrap replicates.
"""
import json
import sys
import warnings

import numpy as np
from rliable import library as rly
from rliable import metrics

QUANTILES = [0.5, 1.0, 2.5, 4.5, 95.5, 97.5, 99.0, 99.5]


def main():
    warnings.simplefilter("ignore", FutureWarning)  # arch: random_state -> generator
    spec = json.load(open(sys.argv[1]))
    reps = spec["reps"]
    out = {"matrices": {}, "pairs": []}
    for name, rows in spec["matrices"].items():
        gamma = spec["gammas"][name]
        estimators = {
            "mean": metrics.aggregate_mean,
            "median": metrics.aggregate_median,
            "iqm": metrics.aggregate_iqm,
            "optimality_gap": lambda s, g=gamma: metrics.aggregate_optimality_gap(s, g),
        }
        scores = np.array(rows, dtype=np.float64)
        entry = {}
        for key, fn in estimators.items():
            bs = rly.StratifiedBootstrap(scores, random_state=np.random.RandomState(0))
            replicates = np.asarray(bs.apply(fn, reps)).ravel()
            point, ci = rly.get_interval_estimates({name: scores}, fn, reps=reps, random_state=np.random.RandomState(0))
            entry[key] = {
                "point": float(fn(scores)),
                "ci": [float(v) for v in np.ravel(ci[name])],
                "quantiles": dict(zip(map(str, QUANTILES), map(float, np.percentile(replicates, QUANTILES)))),
            }
        out["matrices"][name] = entry
    for x, y in spec["pairs"]:
        sx, sy = np.array(spec["matrices"][x]), np.array(spec["matrices"][y])
        bs = rly.StratifiedIndependentBootstrap(sx, sy, random_state=np.random.RandomState(0))
        replicates = np.asarray(bs.apply(metrics.probability_of_improvement, reps)).ravel()
        out["pairs"].append({
            "x": x, "y": y,
            "point": float(metrics.probability_of_improvement(sx, sy)),
            "quantiles": dict(zip(map(str, QUANTILES), map(float, np.percentile(replicates, QUANTILES)))),
        })
    json.dump(out, sys.stdout)


main()

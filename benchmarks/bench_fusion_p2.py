"""Benchmark P2: kvqae's vectorised fusion-weight grid search vs `ranx.optimize_fusion`, side by side.

Same input for both: 3 synthetic runs x 1,000 queries x 100 candidates (overlapping candidate pools, a few
relevant documents per query, runs of different quality), weighted sum of per-query z-scores (ranx "zmuv",
kvqae "zscore-query", missing candidates = 0 as in ranx), metric MRR@100, step 0.1, weights summing to 1.

Prints both wall times, the speed ratio (goal >= 50x) and both chosen weight vectors with their MRR@100 under
both implementations. ranx's grid keeps only the weight vectors whose float sum is exactly 1.0
(62 of the 66 for
3 runs at step 0.1); kvqae uses integer compositions (all 66), so where the best vector is one ranx skips they
differ for that reason alone, which the printout shows.

Usage: .venv/bin/python benchmarks/bench_fusion_p2.py [--queries 1000] [--candidates 100] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def make_runs(n_queries: int, n_cands: int, seed: int):
    from kvqae.data.runs import Run

    rng = np.random.default_rng(seed)
    pool = int(n_cands * 1.6)  # candidates of one query come from a pool of this size: runs overlap partially
    qrels: dict[str, dict[str, int]] = {}
    runs = {name: {} for name in ("text", "image", "cross")}
    quality = {"text": 1.0, "image": 0.6, "cross": 1.4}  # how far relevant documents stand out in each run
    for i in range(n_queries):
        q = f"q{i:05d}"
        n_rel = int(rng.integers(1, 4))
        rel = set(rng.choice(pool, n_rel, replace=False).tolist())
        qrels[q] = {f"d{q}_{d}": 1 for d in rel}
        for name, run in runs.items():
            docs = rng.choice(pool, n_cands, replace=False)
            scale = rng.uniform(0.5, 2.0)  # per-query score scale differs between runs
            scores = rng.normal(size=n_cands) + quality[name] * np.isin(docs, list(rel))
            run[q] = {f"d{q}_{d}": float(s * scale) for d, s in zip(docs, scores, strict=True)}
    return {n: Run(r, name=n) for n, r in runs.items()}, qrels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--candidates", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3, help="kvqae timing: best of this many runs")
    args = ap.parse_args()

    import ranx

    from kvqae.fusion.search import grid_search

    runs, qrels = make_runs(args.queries, args.candidates, args.seed)
    names = list(runs)
    print(
        f"input: {len(names)} runs x {args.queries} queries x {args.candidates} candidates; "
        f"metric mrr@100, step 0.1, weights sum to 1"
    )

    # warm ranx's numba kernels (compiled on first use) outside the timed region, to be fair to it
    small_q = dict(list(qrels.items())[:5])
    small = [ranx.Run({q: runs[n].scores[q] for q in small_q}) for n in names]
    ranx.fuse(small, norm="zmuv", method="wsum", params={"weights": [0.2, 0.3, 0.5]})
    ranx.evaluate(ranx.Qrels(small_q), small[0], "mrr@100")

    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        ours = grid_search(
            [runs[n] for n in names],
            qrels,
            method="wsum",
            norm="zscore-query",
            default_minimum=False,
            metric="mrr@100",
            step=0.1,
        )
        times.append(time.perf_counter() - t0)
    t_ours = min(times)

    r_qrels = ranx.Qrels(qrels)
    r_runs = [ranx.Run(runs[n].scores, name=n) for n in names]
    t0 = time.perf_counter()
    best = ranx.optimize_fusion(
        qrels=r_qrels, runs=r_runs, norm="zmuv", method="wsum", metric="mrr@100", show_progress=False
    )
    t_ranx = time.perf_counter() - t0
    ranx_w = [float(w) for w in best["weights"]]

    grid = {tuple(round(x, 6) for x in g): s for g, s in zip(ours.grid, ours.scores, strict=True)}
    ours_at_ranx = grid[tuple(round(x, 6) for x in ranx_w)]
    ranx_at_ours = ranx.evaluate(
        r_qrels, ranx.fuse(r_runs, norm="zmuv", method="wsum", params={"weights": ours.weights}), "mrr@100"
    )
    ranx_at_ranx = ranx.evaluate(
        r_qrels, ranx.fuse(r_runs, norm="zmuv", method="wsum", params={"weights": ranx_w}), "mrr@100"
    )
    print(
        f"kvqae grid_search : {t_ours * 1000:9.1f} ms  "
        f"({len(ours.grid)} weight vectors, best of {args.repeat})"
    )
    print(f"ranx optimize     : {t_ranx * 1000:9.1f} ms")
    print(f"speed-up          : {t_ranx / t_ours:9.1f}x  (goal >= 50x)")
    print(
        f"kvqae weights {names}: {ours.weights}  MRR@100 kvqae={ours.best_score:.6f} ranx={ranx_at_ours:.6f}"
    )
    print(f"ranx  weights {names}: {ranx_w}  MRR@100 kvqae={ours_at_ranx:.6f} ranx={ranx_at_ranx:.6f}")
    same = np.allclose(ours.weights, ranx_w)
    tie = abs(ours.best_score - ours_at_ranx) < 1e-12
    print("agree:", "yes" if same else ("tie (same MRR@100)" if tie else "no"))


if __name__ == "__main__":
    main()

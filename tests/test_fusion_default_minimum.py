"""Default-minimum modes against a reference written from the rules, and hand-computed examples.

Reference rules (the seeds' code, meerqat `ir/fuse.py`, for "raw"; ranx's missing = 0 for "off"):
- "raw": for each run and query it answered with at least one candidate, every candidate of the union of all
  runs for that query that the run missed gets the run's minimum raw score for the query; then the run is
  normalised, the filled scores included.
- "normalized": the run is normalised first; then each missed candidate gets the minimum normalised score.
- "off": normalised, missed candidates score 0.
The fused score is sum_r w_r * score_r(candidate), a run without the candidate (and without any candidate
for the query) adding 0. The reference works on plain dicts, one document at a time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.fusion.core import fuse, resolve_default_minimum, run_score_stats, zscore_statistics

Scores = dict[str, dict[str, float]]

# ------------------------------------------------------------------------------------------- reference


def _mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and population std; all-equal values have exactly their value as mean (they normalise to 0)."""
    mean = values[0] if min(values) == max(values) else sum(values) / len(values)
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def ref_normalise(run: Scores, norm: str) -> Scores:
    """One run's scores normalised by the definitions of docs/fusion_evaluate.md (ties by id)."""
    out: Scores = {}
    if norm == "zscore":
        mean, std = _mean_std([v for docs in run.values() for v in docs.values()])
    for q, docs in run.items():
        if not docs:
            out[q] = {}
            continue
        if norm == "zscore":
            out[q] = {d: (v - mean) / max(std, 1e-9) for d, v in docs.items()}
        elif norm == "zscore-query":
            m, s = _mean_std(list(docs.values()))
            out[q] = {d: (v - m) / max(s, 1e-9) for d, v in docs.items()}
        elif norm == "minmax":
            lo, hi = min(docs.values()), max(docs.values())
            out[q] = {d: (v - lo) / max(hi - lo, 1e-9) for d, v in docs.items()}
        elif norm == "rank":
            order = sorted(docs, key=lambda d: (-docs[d], d))
            out[q] = {d: 1 - i / len(order) for i, d in enumerate(order)}
        else:
            out[q] = dict(docs)
    return out


def ref_fuse(runs: list[Scores], weights: list[float], norm: str, mode: str) -> Scores:
    queries = sorted({q for run in runs for q in run})
    union = {q: set().union(*(run.get(q, {}) for run in runs)) for q in queries}
    runs = [{q: dict(docs) for q, docs in run.items()} for run in runs]
    if mode == "raw":
        for run in runs:
            for q, docs in run.items():
                if docs:
                    low = min(docs.values())
                    for d in union[q]:
                        docs.setdefault(d, low)
    normed = [ref_normalise(run, norm) for run in runs]
    if mode == "normalized":
        for run in normed:
            for q, docs in run.items():
                if docs:
                    low = min(docs.values())
                    for d in union[q]:
                        docs.setdefault(d, low)
    fused: Scores = {}
    for q in queries:
        fused[q] = {}
        for d in union[q]:
            fused[q][d] = sum(w * run.get(q, {}).get(d, 0.0) for w, run in zip(weights, normed, strict=True))
    return fused


# ----------------------------------------------------------------------------------------------- tests


def _random_runs(seed: int) -> list[Run]:
    """Three runs with partly overlapping candidates, ties, an empty result list and a missing query."""
    rng = np.random.default_rng(seed)
    runs = []
    for r in range(3):
        scores: Scores = {}
        for i in range(12):
            n = int(rng.integers(1, 9))
            docs = rng.choice(20, n, replace=False)
            scores[f"q{i}"] = {f"d{d:02d}": float(np.round(rng.normal(3 * r, 1 + r), 1)) for d in docs}
        runs.append(Run(scores, f"r{r}"))
    runs[1].scores["q3"] = {}  # e.g. no face in the image
    del runs[2].scores["q5"]  # a query this run never answered
    return runs


@pytest.mark.parametrize("mode", ["raw", "normalized", "off"])
@pytest.mark.parametrize("norm", ["zscore", "zscore-query", "minmax", "rank", "none"])
@pytest.mark.parametrize("method", ["wsum", "combsum"])
def test_modes_equal_reference(mode, norm, method):
    for seed in range(3):
        runs = _random_runs(seed)
        weights = [0.5, 0.3, 0.2] if method == "wsum" else [1.0, 1.0, 1.0]
        ours = fuse(
            runs, method=method, norm=norm, weights=weights, default_minimum=mode, allow_missing_queries=True
        )
        ref = ref_fuse([r.scores for r in runs], weights, norm, mode)
        assert set(ours.scores) == set(ref)
        for q, docs in ref.items():
            assert set(ours.scores[q]) == set(docs), q
            for d, v in docs.items():
                assert ours.scores[q][d] == pytest.approx(v, abs=1e-9), (q, d)


def test_modes_differ_where_the_statistics_change():
    runs = _random_runs(0)
    out = {
        m: fuse(runs, norm="zscore", default_minimum=m, allow_missing_queries=True).scores
        for m in ("raw", "normalized", "off")
    }
    assert out["raw"] != out["normalized"] and out["normalized"] != out["off"]
    # under minmax the minimum maps to 0 either way: "raw" and "normalized" agree
    mm = {
        m: fuse(runs, norm="minmax", default_minimum=m, allow_missing_queries=True).scores
        for m in ("raw", "normalized")
    }
    assert all(mm["raw"][q] == pytest.approx(mm["normalized"][q]) for q in mm["raw"])


# Two runs, one query: A misses z, B misses x.
A = Run({"q": {"x": 3.0, "y": 1.0}}, "A")
B = Run({"q": {"y": 10.0, "z": 20.0}}, "B")
R2 = math.sqrt(2)


def test_raw_mode_by_hand():
    # A filled: x=3, y=1, z=1 -> mean 5/3, std sqrt(8/9) -> x = sqrt 2, y = z = -1/sqrt 2
    # B filled: x=10, y=10, z=20 -> mean 40/3, std 10 sqrt(2) / 3 -> x = y = -1/sqrt 2, z = sqrt 2
    fused = fuse([A, B], norm="zscore", weights=[0.5, 0.5], default_minimum="raw")
    half = 0.5 * (R2 - 1 / R2)
    assert fused.scores["q"] == pytest.approx({"x": half, "y": -1 / R2, "z": half})
    assert zscore_statistics([A, B], "raw") == [
        pytest.approx((5 / 3, math.sqrt(8 / 9))),
        pytest.approx((40 / 3, 10 * R2 / 3)),
    ]
    # one new question normalised with the statistics recorded on the fit split gives the same scores
    stats = zscore_statistics([A, B])  # the default for "zscore" is "raw"
    again = fuse([A, B], norm="zscore", weights=[0.5, 0.5], zscore_stats=stats)
    assert again.scores["q"] == pytest.approx(fused.scores["q"])


def test_normalized_and_off_modes_by_hand():
    # A: x=3, y=1 -> z-scores 1, -1 (mean 2, std 1); B: y=10, z=20 -> -1, 1
    normalized = fuse([A, B], norm="zscore", weights=[0.5, 0.5], default_minimum="normalized")
    assert normalized.scores["q"] == pytest.approx({"x": 0.0, "y": -1.0, "z": 0.0})  # missing = -1
    off = fuse([A, B], norm="zscore", weights=[0.5, 0.5], default_minimum="off")
    assert off.scores["q"] == pytest.approx({"x": 0.5, "y": -1.0, "z": 0.5})  # missing = 0
    assert zscore_statistics([A, B], "normalized") == [pytest.approx(run_score_stats(r)) for r in (A, B)]
    # minmax: the raw minimum normalises to 0, as the normalised minimum does
    raw_mm = fuse([A, B], norm="minmax", weights=[0.5, 0.5], default_minimum="raw")
    assert raw_mm.scores["q"] == pytest.approx({"x": 0.5, "y": 0.0, "z": 0.5})
    # rank: filled candidates take part in the ranking (ties by id): A ranks x, y, z -> 1, 2/3, 1/3
    raw_rank = fuse([A, B], norm="rank", weights=[1.0, 0.0], default_minimum="raw")
    assert raw_rank.scores["q"] == pytest.approx({"x": 1.0, "y": 2 / 3, "z": 1 / 3})


def test_mode_names_defaults_and_legacy_booleans():
    assert resolve_default_minimum("zscore") == "raw" and resolve_default_minimum("zscore-query") == "raw"
    assert resolve_default_minimum("minmax") == "off" and resolve_default_minimum("rank", None) == "off"
    assert resolve_default_minimum("minmax", True) == "normalized"
    assert resolve_default_minimum("zscore", False) == "off"
    assert resolve_default_minimum("none", " RAW ") == "raw"
    with pytest.raises(InputError, match="default_minimum"):
        resolve_default_minimum("zscore", "on")
    assert fuse([A, B], weights=[0.5, 0.5]).meta["fusion"]["default_minimum"] == "raw"
    # rrf is rank-based: the mode does not change it
    assert fuse([A, B], method="rrf", default_minimum="raw").scores == fuse([A, B], method="rrf").scores
    # combmnz multiplies by the runs that really retrieved the candidate, filled ones not counted
    mnz = fuse([A, B], method="combmnz", norm="none", default_minimum="raw")
    assert mnz.scores["q"] == pytest.approx({"x": 3.0 + 10.0, "y": 2 * (1.0 + 10.0), "z": 1.0 + 20.0})


def test_config_models_read_modes_and_legacy_booleans(tmp_path):
    from kvqae.ask.bundle import BundleFusion
    from kvqae.config import parse_config
    from kvqae.fusion.cli import FuseFitConfig
    from kvqae.pipeline import FusionSection

    base = {"runs": ["a.json"], "questions": "q.jsonl", "out": "w.json"}
    cases = [(True, "normalized"), (False, "off"), (None, None), ("raw", "raw"), ("Normalized", "normalized")]
    for given, read in cases:
        assert parse_config(FuseFitConfig, {**base, "default_minimum": given}).default_minimum == read
        assert parse_config(FusionSection, {"default_minimum": given}).default_minimum == read
        fusion = parse_config(BundleFusion, {"weights": {"a": 1.0}, "default_minimum": given})
        assert fusion.default_minimum == read
    assert parse_config(FusionSection, {}).default_minimum is None
    dumped = BundleFusion(weights={"a": 1.0}, default_minimum=True).model_dump(mode="json")
    assert dumped["default_minimum"] == "normalized"
    for model, data in [(FuseFitConfig, base), (FusionSection, {}), (BundleFusion, {"weights": {"a": 1.0}})]:
        with pytest.raises(InputError, match="default_minimum"):
            parse_config(model, {**data, "default_minimum": "sometimes"})

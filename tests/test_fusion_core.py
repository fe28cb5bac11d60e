"""Fusion: hand-computed normalisations and methods, default-minimum, ranx parity, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import ranx

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.fusion.core import build_matrix, fuse, normalize

# Two runs over two queries; run B misses "x" for q1 and has "z" that A lacks.
A = Run({"q1": {"x": 3.0, "y": 1.0}, "q2": {"x": 2.0, "y": 4.0, "w": 0.0}}, "A")
B = Run({"q1": {"y": 10.0, "z": 20.0}, "q2": {"x": 5.0, "y": 5.0}}, "B")


def _normed(norm: str) -> dict[tuple[str, str, str], float]:
    m = build_matrix([A, B])
    out = normalize(m.scores, norm)
    res = {}
    for r, name in enumerate(["A", "B"]):
        for i, q in enumerate(m.qids):
            for j, d in enumerate(m.cand_ids[i]):
                if m.valid[i, j] and not math.isnan(out[r, i, j]):
                    res[(name, q, d)] = float(out[r, i, j])
    return res


def test_matrix_union_sorted_and_padded():
    m = build_matrix([A, B])
    assert m.qids == ["q1", "q2"]
    assert m.cand_ids.tolist() == [["x", "y", "z"], ["w", "x", "y"]]
    assert m.valid.all()
    assert np.isnan(m.scores[1, 0, 0]) and m.scores[0, 0, 0] == 3.0 and m.scores[1, 0, 2] == 20.0


def test_zscore_global_hand_computed():
    # A's five scores 3, 1, 2, 4, 0: mean 2, population std sqrt(2)
    n = _normed("zscore")
    assert n[("A", "q1", "x")] == pytest.approx(1 / math.sqrt(2))
    assert n[("A", "q2", "w")] == pytest.approx(-2 / math.sqrt(2))
    # B: 10, 20, 5, 5: mean 10, var (0 + 100 + 25 + 25) / 4 = 37.5
    assert n[("B", "q1", "z")] == pytest.approx(10 / math.sqrt(37.5))


def test_zscore_query_minmax_rank_hand_computed():
    zq = _normed("zscore-query")
    assert zq[("A", "q1", "x")] == pytest.approx(1.0) and zq[("A", "q1", "y")] == pytest.approx(-1.0)
    # B q2: two equal scores -> std 0 -> floored at 1e-9, values 0
    assert zq[("B", "q2", "x")] == 0.0
    mm = _normed("minmax")
    assert (
        mm[("A", "q2", "x")] == pytest.approx(0.5)
        and mm[("A", "q2", "y")] == 1.0
        and mm[("A", "q2", "w")] == 0
    )
    rk = _normed("rank")
    # A q2 ranking y, x, w: 1 - i/3
    assert rk[("A", "q2", "y")] == 1.0 and rk[("A", "q2", "x")] == pytest.approx(2 / 3)
    assert rk[("A", "q2", "w")] == pytest.approx(1 / 3)
    # ties break by id: B q2 x before y
    assert rk[("B", "q2", "x")] == 1.0 and rk[("B", "q2", "y")] == 0.5
    assert _normed("none")[("B", "q1", "z")] == 20.0


def test_wsum_default_minimum_and_zero_fill():
    # minmax per query: A q1 x=1, y=0; B q1 y=0, z=1 (x missing from B)
    with_min = fuse([A, B], method="wsum", norm="minmax", weights=[0.4, 0.6], default_minimum=True)
    # x: 0.4*1 + 0.6*min_B(q1)=0 -> 0.4 ; y: 0 + 0 ; z: A min (0) * 0.4 + 0.6 * 1
    assert with_min.scores["q1"] == pytest.approx({"x": 0.4, "y": 0.0, "z": 0.6})
    zs = fuse([A, B], method="wsum", norm="zscore-query", weights=[0.5, 0.5], default_minimum="normalized")
    # B q1 z-scores: y=-1, z=1 -> missing x takes -1; A q1: x=1, y=-1; A misses z -> -1
    assert zs.scores["q1"] == pytest.approx({"x": 0.0, "y": -1.0, "z": 0.0})
    legacy = fuse([A, B], method="wsum", norm="zscore-query", weights=[0.5, 0.5], default_minimum=True)
    assert legacy.scores == zs.scores and legacy.meta["fusion"]["default_minimum"] == "normalized"
    zs0 = fuse([A, B], method="wsum", norm="zscore-query", weights=[0.5, 0.5], default_minimum=False)
    assert zs0.scores["q1"] == pytest.approx({"x": 0.5, "y": -1.0, "z": 0.5})
    # ranking: ties (x, z at 0.0) broken by id
    assert list(zs.scores["q1"]) == ["x", "z", "y"]
    # the default for z-scores is the seeds' "raw" mode: A q1 becomes x=3, y=1, z=1 and B q1 x=10, y=10, z=20
    # before the z-score, so x = z = 0.5 * (sqrt(2) - 1 / sqrt(2)) and y = -1 / sqrt(2) (hand-computed in
    # tests/test_fusion_default_minimum.py)
    raw = fuse([A, B], method="wsum", norm="zscore-query", weights=[0.5, 0.5])
    assert raw.meta["fusion"]["default_minimum"] == "raw"
    assert raw.scores["q1"] == pytest.approx({"x": 0.5 ** 1.5, "y": -(0.5 ** 0.5), "z": 0.5 ** 1.5})


def test_rrf_combsum_combmnz_hand_computed():
    rrf = fuse([A, B], method="rrf", rrf_k=60)
    # q1: A ranks x, y; B ranks z, y
    assert rrf.scores["q1"]["y"] == pytest.approx(1 / 62 + 1 / 62)
    assert rrf.scores["q1"]["x"] == pytest.approx(1 / 61)
    assert rrf.scores["q1"]["z"] == pytest.approx(1 / 61)
    cs = fuse([A, B], method="combsum", norm="none", default_minimum=False)
    assert cs.scores["q2"] == pytest.approx({"x": 7.0, "y": 9.0, "w": 0.0})
    mnz = fuse([A, B], method="combmnz", norm="none", default_minimum=False)
    assert mnz.scores["q2"] == pytest.approx({"x": 14.0, "y": 18.0, "w": 0.0})
    assert mnz.scores["q1"] == pytest.approx({"x": 3.0, "y": 22.0, "z": 20.0})
    top1 = fuse([A, B], method="combmnz", norm="none", default_minimum=False, k=1)
    assert top1.scores == {"q1": {"y": 22.0}, "q2": {"y": 18.0}}


def _random_runs(seed: int, n_runs: int = 3, n_q: int = 15, n_c: int = 12, pool: int = 30):
    rng = np.random.default_rng(seed)
    return [
        Run(
            {
                f"q{i}": {f"d{j}": float(rng.normal()) for j in rng.choice(pool, n_c, replace=False)}
                for i in range(n_q)
            },
            f"r{r}",
        )
        for r in range(n_runs)
    ]


def _max_diff(ours: Run, theirs) -> float:
    assert set(ours.scores) == set(theirs.run)
    diff = 0.0
    for q, docs in theirs.run.items():
        assert set(docs) == set(ours.scores[q])
        diff = max(diff, max(abs(ours.scores[q][d] - v) for d, v in docs.items()))
    return diff


@pytest.mark.parametrize(
    ("norm", "ranx_norm"), [("zscore-query", "zmuv"), ("minmax", "min-max"), ("rank", "rank")]
)
def test_wsum_equals_ranx_fuse(norm, ranx_norm):
    runs = _random_runs(1)
    weights = [0.2, 0.3, 0.5]
    ours = fuse(runs, method="wsum", norm=norm, weights=weights, default_minimum=False)  # ranx fills 0
    theirs = ranx.fuse(
        [ranx.Run(r.scores) for r in runs], norm=ranx_norm, method="wsum", params={"weights": weights}
    )
    assert _max_diff(ours, theirs) < 1e-9


@pytest.mark.parametrize(("method", "ranx_method"), [("rrf", "rrf"), ("combsum", "sum"), ("combmnz", "mnz")])
def test_methods_equal_ranx_fuse(method, ranx_method):
    runs = _random_runs(2)
    ours = fuse(runs, method=method, norm="minmax", default_minimum=False)
    theirs = ranx.fuse([ranx.Run(r.scores) for r in runs], norm="min-max", method=ranx_method)
    assert _max_diff(ours, theirs) < 1e-9


def test_zscore_query_with_default_minimum_equals_ranx_on_full_overlap():
    # same candidates in every run: nothing is missing, so default-minimum changes nothing
    rng = np.random.default_rng(3)
    runs = [
        Run({f"q{i}": {f"d{j}": float(rng.normal()) for j in range(8)} for i in range(6)}, f"r{r}")
        for r in range(2)
    ]
    ours = fuse(runs, method="wsum", norm="zscore-query", weights=[0.7, 0.3])
    theirs = ranx.fuse(
        [ranx.Run(r.scores) for r in runs], norm="zmuv", method="wsum", params={"weights": [0.7, 0.3]}
    )
    assert _max_diff(ours, theirs) < 1e-9


def test_bad_input_errors_name_run_and_query():
    bad = Run({"q1": {"x": float("nan")}}, "bad")
    with pytest.raises(InputError, match=r"bad.json: query q1: .*not finite"):
        fuse([bad, A], sources=["bad.json", "a.json"], allow_missing_queries=True)
    with pytest.raises(InputError, match="empty"):
        fuse([Run({}, "e"), A])
    other = Run({"q1": {"x": 1.0}, "q9": {"x": 1.0}}, "other")
    with pytest.raises(InputError, match=r"other.json: query q2: query missing"):
        fuse([A, other], sources=["a.json", "other.json"])
    with pytest.raises(InputError, match="different levels"):
        fuse([A, Run(B.scores, "B", level="entity")])
    with pytest.raises(InputError, match="weights"):
        fuse([A, B], weights=[1.0])
    with pytest.raises(InputError, match="unknown normalisation"):
        fuse([A, B], norm="softmax")
    with pytest.raises(InputError, match="unknown fusion method"):
        fuse([A, B], method="borda")


def test_empty_result_list_of_a_query_is_allowed():
    # a query with no embedding gets an empty list in a run: it contributes nothing (0) for that run
    a = Run({"q1": {"x": 1.0, "y": 0.0}, "q2": {}}, "a")
    b = Run({"q1": {"x": 0.0, "y": 1.0}, "q2": {"x": 2.0, "y": 1.0}}, "b")
    out = fuse([a, b], method="wsum", norm="minmax", weights=[0.5, 0.5])
    assert out.scores["q2"] == pytest.approx({"x": 0.5, "y": 0.0})


def test_fixed_zscore_statistics_by_hand():
    """One query normalised with recorded (mean, std) instead of its own, as `kvqae ask` does."""
    from kvqae.data.runs import Run
    from kvqae.fusion.core import fuse, run_score_stats

    assert run_score_stats(Run({"q1": {"a": 1.0, "b": 3.0}, "q2": {"a": 5.0, "c": 3.0}})) == (3.0, 2 ** 0.5)
    text = Run({"q": {"a": 0.9, "b": 0.5}}, "text")
    image = Run({"q": {"b": 0.8}}, "image")
    fused = fuse([text, image], weights=[0.5, 0.5], zscore_stats=[(0.5, 0.2), (0.6, 0.1)])
    # a: 0.5 * (0.9 - 0.5) / 0.2 + 0.5 * image's minimum for q, (0.8 - 0.6) / 0.1 = 1 + 1 = 2
    # b: 0.5 * (0.5 - 0.5) / 0.2 + 0.5 * (0.8 - 0.6) / 0.1 = 0 + 1 = 1
    assert fused.scores["q"] == {"a": pytest.approx(2.0), "b": pytest.approx(1.0)}


def test_non_finite_weights_and_an_unused_norm_are_refused():
    """`kvqae fuse combine --weights nan,1` used to write a run of NaN scores (with an empty passage id) that
    no command can read back; an unknown --norm was accepted silently under rrf, which ignores it."""
    for bad in ([float("nan"), 1.0], [float("inf"), 1.0]):
        with pytest.raises(InputError, match=r'field "weights": weights must be finite numbers'):
            fuse([A, B], method="rrf", weights=bad)
    with pytest.raises(InputError, match=r'field "norm": unknown normalisation \'bogus\''):
        fuse([A, B], method="rrf", norm="bogus")

"""Weight grid search: grid construction, equality with a brute-force loop, weights file round trip, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.metrics import evaluate_run
from kvqae.fusion.core import fuse
from kvqae.fusion.search import apply_weights, grid_search, load_weights, weight_grid


def test_weight_grid():
    g = weight_grid(3, 0.1)
    assert g.shape == (66, 3)  # C(12, 2): integer compositions, none lost to float round-off
    assert np.allclose(g.sum(axis=1), 1.0)
    assert g[0].tolist() == [0.0, 0.0, 1.0] and g[-1].tolist() == [1.0, 0.0, 0.0]
    assert weight_grid(2, 0.25).tolist() == [[0, 1], [0.25, 0.75], [0.5, 0.5], [0.75, 0.25], [1, 0]]
    assert weight_grid(2, 0.5, sum_to_one=False).shape == (8, 2)  # 3 x 3 minus all-zero
    with pytest.raises(InputError, match="step"):
        weight_grid(2, 0.3)


def _runs(seed: int, n_q: int = 30):
    rng = np.random.default_rng(seed)
    qrels, runs = {}, [{}, {}, {}]
    for i in range(n_q):
        q = f"q{i}"
        rel = int(rng.integers(0, 20))
        qrels[q] = {f"d{rel}": 1}
        for r, run in enumerate(runs):
            docs = rng.choice(20, 12, replace=False)
            run[q] = {f"d{d}": float(rng.normal() + (0.8 + 0.4 * r) * (d == rel)) * (1 + r) for d in docs}
    return [Run(r, f"run{i}") for i, r in enumerate(runs)], qrels


@pytest.mark.parametrize(
    ("method", "norm"), [("wsum", "zscore"), ("wsum", "minmax"), ("rrf", "none"), ("combmnz", "zscore-query")]
)
def test_grid_search_equals_brute_force(method, norm):
    runs, qrels = _runs(0)
    res = grid_search(runs, qrels, method=method, norm=norm, metric="mrr@10", step=0.1)
    brute = []
    for w in weight_grid(3, 0.1):
        fused = fuse(runs, method=method, norm=norm, weights=w.tolist())
        brute.append(evaluate_run(fused, qrels, ["mrr@10"])[0]["mrr@10"])
    assert np.allclose(res.scores, brute, atol=1e-12)
    best = len(brute) - 1 - int(np.argmax(brute[::-1]))  # last maximum, as ranx
    assert res.weights == pytest.approx(weight_grid(3, 0.1)[best].tolist())
    assert res.best_score == pytest.approx(max(brute))


def test_weights_file_round_trip_and_apply(tmp_path):
    runs, qrels = _runs(1)
    res = grid_search(runs, qrels, metric="p@1", step=0.25)
    path = res.save(tmp_path / "w.json")
    data = load_weights(path)
    assert data["weights"] == res.weights and data["norm"] == "zscore" and data["default_minimum"] == "raw"
    test_runs, _ = _runs(2)
    fused = apply_weights(path, test_runs, k=5)
    direct = fuse(test_runs, method="wsum", norm="zscore", weights=res.weights, k=5)
    assert fused.scores == direct.scores
    with pytest.raises(InputError, match="3 weights but 2 runs"):
        apply_weights(path, test_runs[:2])
    (tmp_path / "bad.json").write_text(json.dumps({"weights": [1]}))
    with pytest.raises(InputError, match="format"):
        load_weights(tmp_path / "bad.json")


@pytest.mark.parametrize(
    ("saved", "mode"), [(True, "normalized"), (False, "off"), (None, "raw"), ("raw", "raw")]
)
def test_weights_files_default_minimum_legacy_booleans(tmp_path, saved, mode):
    """`true` in a weights file written before the modes is the post-normalisation minimum."""
    runs, qrels = _runs(5)
    data = grid_search(runs, qrels, step=0.5, default_minimum=mode).to_dict()
    data["default_minimum"] = saved
    (tmp_path / "w.json").write_text(json.dumps(data))
    assert load_weights(tmp_path / "w.json")["default_minimum"] == (None if saved is None else mode)
    fused = apply_weights(tmp_path / "w.json", runs)
    assert fused.scores == fuse(runs, weights=data["weights"], default_minimum=mode).scores
    assert fused.meta["fusion"]["default_minimum"] == mode
    data["default_minimum"] = "sometimes"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="default_minimum"):
        load_weights(tmp_path / "bad.json")


def test_grid_search_mismatched_splits():
    runs, qrels = _runs(3)
    short = Run({q: d for q, d in list(runs[1].scores.items())[:-1]}, "short")
    with pytest.raises(InputError, match="query missing"):
        grid_search([runs[0], short], qrels)


def _write_questions(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_cli_fit_and_apply(tmp_path):
    runs, qrels = _runs(4, n_q=12)
    paths = []
    for r in runs:
        paths.append(r.save(tmp_path / f"{r.name}.json"))
    (tmp_path / "qrels.json").write_text(json.dumps(qrels))
    _write_questions(tmp_path / "val.jsonl", [{"id": q, "question": "?", "answers": ["x"]} for q in qrels])
    cli = CliRunner()
    args = [
        "fuse",
        "fit",
        "--questions",
        str(tmp_path / "val.jsonl"),
        "--qrels",
        str(tmp_path / "qrels.json"),
        "--out",
        str(tmp_path / "w.json"),
        "--step",
        "0.5",
        "--metric",
        "mrr@100",
        "--no-progress",
        "--plot",
        str(tmp_path / "grid.png"),
    ]
    for p in paths:
        args += ["--run", str(p)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "w.json").read_text())
    expected = grid_search(runs, qrels, step=0.5, metric="mrr@100")
    assert saved["weights"] == expected.weights and len(saved["grid"]) == 6
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
    args = ["fuse", "apply", "--weights", str(tmp_path / "w.json"), "--out", str(tmp_path / "fused.trec")]
    for p in paths:
        args += ["--run", str(p)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    fused = Run.load(tmp_path / "fused.trec")
    direct = fuse(runs, weights=expected.weights)
    assert [d for d, _ in fused.ranked("q0")] == [d for d, _ in direct.ranked("q0")]
    assert fused.scores["q0"] == pytest.approx(direct.scores["q0"])
    result = cli.invoke(
        app,
        [
            "fuse",
            "combine",
            "--run",
            str(paths[0]),
            "--run",
            str(paths[1]),
            "--method",
            "rrf",
            "--out",
            str(tmp_path / "rrf.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert Run.load(tmp_path / "rrf.json").scores == fuse(runs[:2], method="rrf").scores
    base = ["fuse", "combine", "--run", str(paths[0]), "--run", str(paths[1]), "--method", "wsum"]
    for flags, mode in [
        ([], "raw"),
        (["--default-minimum", "normalized"], "normalized"),
        (["--default-minimum", "raw"], "raw"),
        (["--no-default-minimum"], "off"),
    ]:
        out = tmp_path / f"combined-{mode}-{len(flags)}.json"
        result = cli.invoke(app, [*base, *flags, "--out", str(out)])
        assert result.exit_code == 0, result.output
        expected_run = fuse(runs[:2], default_minimum=mode)
        assert all(Run.load(out).scores[q] == pytest.approx(d) for q, d in expected_run.scores.items())
    result = cli.invoke(app, [*base, "--default-minimum", "yes", "--out", str(tmp_path / "bad.json")])
    assert isinstance(result.exception, InputError) and result.exception.field == "default_minimum"

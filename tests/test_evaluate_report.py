"""Reports (JSON, Markdown, LaTeX, significance, heat map) and the `kvqae evaluate` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.report import (
    SystemScores,
    best_by_weight,
    latex_table,
    markdown_table,
    plot_weight_grid,
    significance,
    write_report,
)

SYSTEMS = [
    SystemScores(
        "text",
        "ViQuAE",
        {"mrr@100": 0.25, "p@1": 0.125},
        {"mrr@100": {"a": 0.5, "b": 0.0, "c": 0.25}, "p@1": {"a": 0.0, "b": 0.0, "c": 0.375}},
    ),
    SystemScores(
        "fusion",
        "ViQuAE",
        {"mrr@100": 0.5, "p@1": 0.1},
        {"mrr@100": {"a": 1.0, "b": 0.5, "c": 0.0}, "p@1": {"a": 0.3, "b": 0.0, "c": 0.0}},
    ),
    SystemScores("fusion", "InfoSeek", {"mrr@100": 0.3}),
]


def test_markdown_and_latex_layout():
    md = markdown_table(SYSTEMS)
    lines = md.strip().splitlines()
    assert lines[0] == "| System | ViQuAE MRR@100 | ViQuAE P@1 | InfoSeek MRR@100 |"
    assert lines[2] == "| text | 25.0 | **12.5** | – |"
    assert lines[3] == "| fusion | **50.0** | 10.0 | **30.0** |"
    tex = latex_table(SYSTEMS, caption="Results_1")
    assert r"\multicolumn{2}{c}{ViQuAE} & \multicolumn{1}{c}{InfoSeek} \\" in tex
    assert r"\cmidrule(lr){2-3} \cmidrule(lr){4-4}" in tex
    assert r"text & 25.0 & \textbf{12.5} & -- \\" in tex
    assert r"\caption{Results\_1}" in tex
    # OT1 prints |, < and > as other glyphs
    assert r"\caption{a\textbar{}b \textless{}c\textgreater{}}" in latex_table(SYSTEMS, caption="a|b <c>")


def test_significance_uses_paired_t_test():
    from scipy.stats import ttest_rel

    rows = significance(SYSTEMS, ["mrr@100"], test="student")
    assert len(rows) == 1 and rows[0]["a"] == "text" and rows[0]["b"] == "fusion"
    expected = ttest_rel([0.5, 0.0, 0.25], [1.0, 0.5, 0.0]).pvalue
    assert rows[0]["p_value"] == pytest.approx(expected)


def test_write_report_and_heatmap(tmp_path):
    grid = [[a / 10, b / 10, (10 - a - b) / 10] for a in range(11) for b in range(11 - a)]
    scores = [g[0] * 0.3 + g[1] * 0.1 for g in grid]
    result = {
        "grid": grid,
        "scores": scores,
        "weights": [1.0, 0.0, 0.0],
        "metric": "mrr@100",
        "step": 0.1,
        "sum_to_one": True,
        "run_names": ["text", "image", "cross"],
    }
    paths = write_report(tmp_path / "rep", SYSTEMS[:2], weight_grid=result)
    data = json.loads(paths["json"].read_text())
    assert [s["name"] for s in data["systems"]] == ["text", "fusion"]
    assert data["systems"][0]["per_query"]["mrr@100"] == {"a": 0.5, "b": 0.0, "c": 0.25}
    assert data["significance"]["test"] == "student" and len(data["significance"]["pairs"]) == 2
    assert "| text | 25.0 |" in paths["markdown"].read_text()
    assert paths["latex"].read_text().startswith(r"\begin{table}")
    from PIL import Image

    with Image.open(paths["heatmap"]) as im:
        assert im.format == "PNG" and im.size == (624, 504)
    two = {
        "grid": [[0, 1], [0.5, 0.5], [1, 0]],
        "scores": [0.1, 0.3, 0.2],
        "weights": [0.5, 0.5],
        "metric": "p@1",
        "run_names": ["a", "b"],
    }
    assert plot_weight_grid(two, tmp_path / "two.png").stat().st_size > 1000
    # 4 runs (two retrieval entries with their entity contexts): one line per run
    four = {"grid": [[1, 0, 0, 0], [0.5, 0.5, 0, 0], [0.5, 0, 0, 0.5], [0, 0, 0.5, 0.5]],
            "scores": [0.1, 0.4, 0.3, 0.2], "weights": [0.5, 0.5, 0, 0], "run_names": ["a", "b", "c", "d"]}
    assert plot_weight_grid(four, tmp_path / "four.png").stat().st_size > 1000
    weights, top = best_by_weight(np.asarray(four["grid"], float), np.asarray(four["scores"]), 0)
    assert weights.tolist() == [0, 0.5, 1] and top.tolist() == [0.2, 0.4, 0.1]
    with pytest.raises(InputError, match="2 or more runs"):
        plot_weight_grid({**two, "sum_to_one": False}, tmp_path / "x.png")


@pytest.fixture()
def tiny_setup(tmp_path):
    from kvqae.data.kb import build_kb

    arts = [
        {"id": "paris", "title": "Paris", "text": "Paris is the capital of France. It has the Eiffel Tower."},
        {"id": "rome", "title": "Rome", "text": "Rome is the capital of Italy. The Colosseum is there."},
        {"id": "oslo", "title": "Oslo", "text": "Oslo is in Norway. It is cold in winter."},
    ]
    (tmp_path / "arts.jsonl").write_text("".join(json.dumps(a) + "\n" for a in arts))
    kb = build_kb(tmp_path / "arts.jsonl", tmp_path / "kb", words=8, check_images=False, progress=False)
    qs = [
        {"id": "q1", "question": "Capital of France?", "answers": ["Paris"]},
        {"id": "q2", "question": "Where is the Colosseum?", "answers": ["Rome"]},
        {"id": "q3", "question": "Where is Oslo?", "answers": ["Norway"]},
    ]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    pids = kb.passage_ids
    rng = np.random.default_rng(0)
    runs = []
    for name in ("text", "image"):
        run = Run({q["id"]: {p: float(rng.normal()) for p in pids} for q in qs}, name, level="passage")
        runs.append(run.save(tmp_path / f"{name}.json"))
    return tmp_path, kb, runs


def test_cli_evaluate_retrieval(tiny_setup):
    from kvqae.data.questions import load_questions
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import qrels_for_kb

    tmp, kb, runs = tiny_setup
    args = [
        "evaluate",
        "retrieval",
        "--questions",
        str(tmp / "q.jsonl"),
        "--kb",
        str(tmp / "kb"),
        "--out",
        str(tmp / "rep"),
        "--dataset",
        "Tiny",
        "--metric",
        "mrr@100",
        "--metric",
        "p@1",
    ]
    for r in runs:
        args += ["--run", str(r)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp / "rep" / "report.json").read_text())
    loaded = [Run.load(r) for r in runs]
    qrels = qrels_for_kb(loaded, load_questions(tmp / "q.jsonl"), kb)
    assert qrels["q1"] and all(
        kb.entity_of(p) == "paris" for p in qrels["q1"]
    )  # only Paris passages say Paris
    expected, _ = evaluate_run(loaded[0], qrels, ["mrr@100", "p@1"])
    assert report["systems"][0]["mean"] == pytest.approx(expected)
    assert json.loads((tmp / "rep" / "qrels.json").read_text()) == qrels
    assert "| System | Tiny MRR@100 | Tiny P@1 |" in (tmp / "rep" / "report.md").read_text()


def test_cli_evaluate_answers(tmp_path):
    qs = [
        {"id": "q1", "question": "?", "answers": ["the Eiffel Tower"]},
        {"id": "q2", "question": "?", "answers": ["Rome", "Roma"]},
        {"id": "q3", "question": "?", "answers": ["x"]},
    ]
    (tmp_path / "q.jsonl").write_text("".join(json.dumps(q) + "\n" for q in qs))
    preds = [
        {"id": "q1", "answer": "Eiffel tower!", "passage_id": "p#0", "score": 1.0, "start": 0, "end": 2},
        {"id": "q2", "answer": "in Roma city", "passage_id": "p#1", "score": 0.5, "start": 0, "end": 3},
    ]
    (tmp_path / "p.jsonl").write_text("".join(json.dumps(p) + "\n" for p in preds))
    result = CliRunner().invoke(
        app,
        [
            "evaluate",
            "answers",
            str(tmp_path / "p.jsonl"),
            "--questions",
            str(tmp_path / "q.jsonl"),
            "--out",
            str(tmp_path / "s.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "s.json").read_text())
    # EM: 1, 0, 0 (q3 has no prediction); F1: 1, 2*(1/3*1)/(1/3+1) = 0.5, 0
    assert data["mean"]["em"] == pytest.approx(1 / 3)
    assert data["mean"]["f1"] == pytest.approx((1 + 0.5) / 3)
    assert data["missing_predictions"] == 1
    (tmp_path / "bad.jsonl").write_text(json.dumps({"id": "q9", "answer": "a"}) + "\n")
    result = CliRunner().invoke(
        app, ["evaluate", "answers", str(tmp_path / "bad.jsonl"), "--questions", str(tmp_path / "q.jsonl")]
    )
    assert result.exit_code != 0 and "q9" in str(result.exception)


def test_cli_fuse_fit_with_kb_relevance(tiny_setup):
    from kvqae.data.questions import load_questions
    from kvqae.evaluate.relevance import qrels_for_kb
    from kvqae.fusion.search import grid_search

    tmp, kb, runs = tiny_setup
    args = [
        "fuse",
        "fit",
        "--questions",
        str(tmp / "q.jsonl"),
        "--kb",
        str(tmp / "kb"),
        "--out",
        str(tmp / "w.json"),
        "--step",
        "0.25",
        "--no-progress",
    ]
    for r in runs:
        args += ["--run", str(r)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    loaded = [Run.load(r) for r in runs]
    qrels = qrels_for_kb(loaded, load_questions(tmp / "q.jsonl"), kb)
    expected = grid_search(loaded, qrels, step=0.25)
    saved = json.loads((tmp / "w.json").read_text())
    assert saved["weights"] == expected.weights and saved["scores"] == pytest.approx(expected.scores)

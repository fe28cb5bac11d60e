"""`kvqae run PIPELINE.yaml` end to end on a tiny synthetic world with locally built tiny models."""

from __future__ import annotations

import json

import pytest
import yaml
from typer.testing import CliRunner

from conftest import write_tiny_pipeline
from kvqae.cli import app


def test_run_pipeline_end_to_end(tmp_path, tiny_world_dir, tiny_clip, tiny_reader_dir):
    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions
    from kvqae.data.runs import Run
    from kvqae.evaluate.metrics import evaluate_run
    from kvqae.evaluate.relevance import load_qrels

    config = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, tiny_reader_dir)
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    kb = KnowledgeBase.load(out / "kb")
    test_qs = load_questions(tiny_world_dir / "questions_test.jsonl")
    passage_ids = set(kb.passage_ids)

    runs = {
        name: Run.load(out / "runs" / "test" / f"{name}.json")
        for name in ("image-title", "image-image", "text-passage", "fusion")
    }
    for name, run in runs.items():
        assert set(run.scores) == {q.id for q in test_qs}, name
        assert run.level == "passage"
        for docs in run.scores.values():
            assert set(docs) <= passage_ids
            assert len(docs) <= 20

    weights = json.loads((out / "fusion_weights.json").read_text())
    assert weights["run_names"] == ["image-title", "image-image", "text-passage"]
    assert sum(weights["weights"]) == pytest.approx(1.0)
    assert all(w in (0.0, 0.5, 1.0) for w in weights["weights"])

    # the report's figures are those of the saved runs against the saved qrels
    report = json.loads((out / "report" / "report.json").read_text())
    qrels = load_qrels(out / "report" / "qrels.json")
    by_name = {s["name"]: s for s in report["systems"]}
    for name, run in runs.items():
        mean, _ = evaluate_run(run, qrels, ["mrr@100", "p@1"], query_ids=[q.id for q in test_qs])
        assert by_name[name]["mean"]["mrr@100"] == pytest.approx(mean["mrr@100"])
        assert by_name[name]["mean"]["p@1"] == pytest.approx(mean["p@1"])
    assert {"em", "f1"} <= set(by_name["fusion"]["mean"])

    preds = [json.loads(line) for line in (out / "predictions" / "test.jsonl").read_text().splitlines()]
    assert [p["id"] for p in preds] == [q.id for q in test_qs]
    for p in preds:
        if p["passage_id"] is not None:
            assert kb.passage_text(p["passage_id"])[p["start"] : p["end"]] == p["answer"]
    assert "| fusion |" in (out / "report" / "report.md").read_text()
    assert (out / "report" / "weights_heatmap.png").stat().st_size > 0

    # a second run reuses every stage output; an edited input recomputes them
    again = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert again.exit_code == 0, again.output
    assert "[encode]" not in again.output and "[kb]" not in again.output
    test_file = tiny_world_dir / "questions_test.jsonl"
    original = test_file.read_text()
    try:
        test_file.write_text(original + "\n")  # same questions, but the file changed
        changed = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    finally:
        test_file.write_text(original)
    assert changed.exit_code == 0, changed.output
    assert "inputs changed" in changed.output and "[encode] test questions" in changed.output


def test_run_pipeline_rejects_bad_config(tmp_path, tiny_world_dir, tiny_clip, tiny_reader_dir):
    config = write_tiny_pipeline(tmp_path, tiny_world_dir, tiny_clip, tiny_reader_dir, eval_split="dev")
    result = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert result.exit_code != 0
    assert "eval_split" in str(result.exception)

    bad = yaml.safe_load(config.read_text())
    bad["retrieval"][0]["mode"] = "image-sound"
    config.write_text(yaml.safe_dump(bad))
    result = CliRunner().invoke(app, ["run", str(config)])
    assert result.exit_code != 0
    assert "retrieval.0.mode" in str(result.exception)


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("retrieval", [{"mode": "text-passage", "encoder": "bm25", "name": "../../x"}], "retrieval.0.name"),
        ("retrieval", [{"mode": "text-passage", "encoder": "bm25", "name": ".."}], "retrieval.0.name"),
        ("questions", {"../up": "q.jsonl"}, "questions"),
    ],
)
def test_pipeline_names_cannot_write_outside_the_output(tmp_path, key, value, field):
    """Run and split names become file names under output/runs/: a name with a path in it used to write
    there (`name: ../../../../x` -> a run file beside the output folder)."""
    from kvqae.errors import InputError
    from kvqae.pipeline import load_pipeline_config

    config = {
        "output": "out",
        "kb": {"source": "kb"},
        "questions": {"test": "q.jsonl"},
        "retrieval": [{"mode": "text-passage", "encoder": "bm25"}],
        key: value,
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(InputError, match=f'field "{field}": .* is not a plain name'):
        load_pipeline_config(path)

"""Joint mode writes its learned fusion weights as a weights file that `kvqae fuse apply` and `kvqae run`
(`fusion.weights`) use as they are."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.runs import Run
from kvqae.errors import InputError

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def joint_model(tmp_path_factory, tiny_world_dir, tiny_clip):
    """`kvqae train clip --mode joint` for a few steps on the tiny world, learned weights started at
    (0.25, 0.75), checkpoint kept; returns (model dir, command output)."""
    from kvqae.data.kb import build_kb

    folder = tmp_path_factory.mktemp("joint")
    build_kb(tiny_world_dir / "articles.jsonl", folder / "kb", words=40, progress=False)
    cfg = {
        "mode": "cross",  # the --mode option below overrides it
        "model": f"clip:{tiny_clip}",
        "kb": str(folder / "kb"),
        # the tiny world puts its questions in validation and test: train on the validation ones
        "questions": str(tiny_world_dir / "questions_validation.jsonl"),
        "validation_fraction": 0.0,  # no validation: the last epoch is the selected one
        "output_dir": str(folder / "unused"),
        "lr": 1e-3,
        "epochs": 2,
        "max_steps": 4,
        "batch_size": 4,
        "keep_checkpoints": True,
        "joint": {"learn_weights": True, "weights": [1.0, 3.0], "weights_lr": 0.3},
    }
    (folder / "joint.yaml").write_text(yaml.safe_dump(cfg))
    out = folder / "model"
    args = ["train", "clip", str(folder / "joint.yaml"), "--mode", "joint", "--out", str(out)]
    args.append("--no-progress")
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return out, res.output


def test_joint_training_writes_the_learned_weights_as_a_fusion_weights_file(joint_model):
    from kvqae.fusion.search import load_weights

    out, output = joint_model
    path = out / "fusion_weights.json"
    assert f"fusion weights file (kvqae fuse apply --weights): {path}" in output
    data = load_weights(path)  # the format `kvqae fuse fit` writes
    assert data["run_names"] == ["image-image", "image-title"]
    assert (data["method"], data["norm"], data["default_minimum"]) == ("wsum", "none", "raw")
    w = data["weights"]
    assert all(x > 0 for x in w) and sum(w) == pytest.approx(1.0, abs=1e-6)
    # exactly the model's softmax over its two learned logits (the selected = last epoch's)
    state = torch.load(out.with_name("model.work") / "checkpoint" / "state.pt", weights_only=False)
    assert w == pytest.approx(torch.softmax(state["weights"]["logits"], 0).tolist(), abs=1e-7)
    assert w == pytest.approx(json.loads((out / "kvqae_train.json").read_text())["joint_weights"])
    assert abs(w[0] - 0.25) > 1e-3  # learned: moved from the start (1, 3) / 4


def test_fuse_apply_with_the_joint_weights_gives_the_hand_computed_scores(joint_model, tmp_path):
    out, _ = joint_model
    w0, w1 = json.loads((out / "fusion_weights.json").read_text())["weights"]
    Run({"q1": {"p1": 0.9, "p2": 0.5}, "q2": {"p3": 0.4}}, name="image-image").save(tmp_path / "ii.json")
    Run({"q1": {"p2": 0.8, "p3": 0.2}, "q2": {"p3": 0.6, "p1": 0.1}}, name="image-title").save(
        tmp_path / "it.json"
    )
    res = CliRunner().invoke(app, ["fuse", "apply", "--weights", str(out / "fusion_weights.json"),
                                   "--run", str(tmp_path / "it.json"), "--run", str(tmp_path / "ii.json"),
                                   "--out", str(tmp_path / "fused.json")])
    assert res.exit_code == 0, res.output
    fused = Run.load(tmp_path / "fused.json").scores
    # w_mono * image->image + w_cross * image->title on the raw cosines; a run that missed a candidate gives
    # it its lowest score for that query (q1: image->title 0.2, image->image 0.5; q2: image->image 0.4)
    expected = {
        "q1": {"p1": w0 * 0.9 + w1 * 0.2, "p2": w0 * 0.5 + w1 * 0.8, "p3": w0 * 0.5 + w1 * 0.2},
        "q2": {"p3": w0 * 0.4 + w1 * 0.6, "p1": w0 * 0.4 + w1 * 0.1},
    }
    assert set(fused) == set(expected)
    for q, docs in expected.items():
        assert fused[q] == pytest.approx(docs, abs=1e-12)


def _pipeline(folder, world, model, **fusion):
    spec = {
        "output": "out",
        "kb": {"source": str(world / "articles.jsonl"), "words": 40},
        "questions": {"validation": str(world / "questions_validation.jsonl"),
                      "test": str(world / "questions_test.jsonl")},
        "retrieval": [{"mode": "image-title", "encoder": f"clip:{model}"},
                      {"mode": "image-image", "encoder": f"clip:{model}"}],
        "k": 20,
        "fusion": fusion,
    }
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    return folder / "pipeline.yaml"


def test_pipeline_applies_the_joint_weights_file_without_fitting(joint_model, tmp_path, tiny_world_dir):
    from kvqae.fusion.search import apply_weights

    model, _ = joint_model
    weights_file = model / "fusion_weights.json"
    w_mono, w_cross = json.loads(weights_file.read_text())["weights"]
    config = _pipeline(tmp_path, tiny_world_dir, model, weights=str(weights_file))
    res = CliRunner().invoke(app, ["run", str(config), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert f"from {weights_file}" in res.output
    assert "[encode] validation" not in res.output  # nothing fitted: the fit split is not even searched
    out = tmp_path / "out"
    saved = json.loads((out / "fusion_weights.json").read_text())
    assert saved["run_names"] == ["image-title", "image-image"]  # the pipeline's order ...
    assert saved["weights"] == pytest.approx([w_cross, w_mono])  # ... each run keeping its own weight
    assert saved["extra"]["weights_file"] == str(weights_file)
    runs = [Run.load(out / "runs" / "test" / f"{n}.json") for n in ("image-image", "image-title")]
    expected = apply_weights(weights_file, runs, k=20)
    fused = Run.load(out / "runs" / "test" / "fusion.json")
    assert fused.scores.keys() == expected.scores.keys()
    for q, docs in expected.scores.items():
        assert fused.scores[q] == pytest.approx(docs)
    bundle = json.loads((out / "bundle.json").read_text())
    assert bundle["fusion"]["weights"] == pytest.approx({"image-image": w_mono, "image-title": w_cross})
    assert bundle["fusion"]["norm"] == "none"
    assert not (out / "report" / "weights_heatmap.png").exists()  # no grid was searched


def test_pipeline_refuses_a_weights_file_for_other_runs(joint_model, tmp_path, tiny_world_dir):
    from kvqae.pipeline import check_pipeline, load_pipeline_config

    model, _ = joint_model
    other = json.loads((model / "fusion_weights.json").read_text())
    other["run_names"] = ["image-image", "text-passage"]
    (tmp_path / "other.json").write_text(json.dumps(other))
    cfg = load_pipeline_config(_pipeline(tmp_path / "p", tiny_world_dir, model, weights="../other.json"))
    assert cfg.fusion.weights == tmp_path / "p" / ".." / "other.json"  # relative to the YAML file
    with pytest.raises(InputError, match="runs named"):
        check_pipeline(cfg)

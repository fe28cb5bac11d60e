"""`kvqae train clip` end to end (KB + questions files), config validation, entity mode heads, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from PIL import Image
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.errors import InputError

COLOURS = {
    "red_tower": (220, 30, 30),
    "green_hall": (30, 200, 40),
    "blue_bridge": (40, 60, 230),
    "yellow_gate": (240, 220, 30),
}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture()
def world(tmp_path):
    """A 4-entity KB with reference images and 3 questions (own photos) per entity, split train/validation."""
    from kvqae.data.kb import build_kb

    rows, questions = [], []
    for eid, colour in COLOURS.items():
        Image.new("RGB", (32, 32), colour).save(tmp_path / f"{eid}.png")
        title = eid.replace("_", " ").title()
        rows.append(
            {
                "id": eid,
                "title": title,
                "text": f"{title} is a place in Oldtown.",
                "image": f"{eid}.png",
                "types": ["place"],
            }
        )
        for j in range(3):
            img = Image.new("RGB", (40, 40), tuple(max(0, c - 25 * j) for c in colour))
            img.save(tmp_path / f"{eid}_q{j}.png")
            questions.append(
                {
                    "id": f"{eid}_q{j}",
                    "question": "What is this?",
                    "image": f"{eid}_q{j}.png",
                    "answers": [title],
                    "entity": eid,
                    "meta": {"split": "validation" if j == 2 else "train"},
                }
            )
    (tmp_path / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "questions.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    build_kb(tmp_path / "articles.jsonl", tmp_path / "kb", progress=False)
    return tmp_path


def test_train_clip_cli_cross_mode_end_to_end(world, tiny_clip):
    cfg = {
        "mode": "mono",
        "model": f"clip:{tiny_clip}",
        "kb": str(world / "kb"),
        "questions": str(world / "questions.jsonl"),
        "train_split": "train",
        "validation_split": "validation",
        "output_dir": str(world / "unused"),
        "lr": 1e-3,
        "epochs": 2,
        "batch_size": 4,
    }
    (world / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    out = world / "cross-model"
    res = CliRunner().invoke(
        app, ["train", "clip", str(world / "cfg.yaml"), "--mode", "cross", "--out", str(out), "--no-progress"]
    )
    assert res.exit_code == 0, res.output
    assert "cross: 4 steps" in res.output  # 8 train questions, 4 entities, batch 4 -> 2 batches x 2 epochs
    log = json.loads((out / "kvqae_train.json").read_text())
    assert log["mode"] == "cross" and log["train_pairs"] == 8 and log["val_pairs"] == 4
    vals = [h["val_mrr"] for h in log["history"]]
    assert log["best_epoch"] == int(np.argmax(vals)) and log["best_val_mrr"] == pytest.approx(max(vals))
    assert not (world / "cross-model.work").exists()  # work files removed when keep_checkpoints is false
    # the encoders load the result by path
    from kvqae.encode.registry import load_encoder

    enc = load_encoder(f"clip:{out}")
    assert enc.encode_texts(["Red Tower"], role="title").shape == (1, 32)


def test_config_errors_name_the_field(tmp_path):
    from kvqae.config import load_config
    from kvqae.train.trainer import TrainClipConfig

    (tmp_path / "bad.yaml").write_text("model: x\noutput_dir: y\nlearning_rate: 0.1\n")
    with pytest.raises(InputError, match="learning_rate"):
        load_config(TrainClipConfig, tmp_path / "bad.yaml")
    (tmp_path / "bad2.yaml").write_text(
        "model: x\noutput_dir: y\njoint: {fusion: loss, learn_weights: true}\n"
    )
    with pytest.raises(InputError, match="learn_weights needs fusion: score"):
        load_config(TrainClipConfig, tmp_path / "bad2.yaml")
    res = CliRunner().invoke(app, ["train", "clip", str(tmp_path / "bad.yaml")])
    assert res.exit_code != 0


def _entity_pairs():
    from kvqae.train.data import TrainPair

    pairs = []
    for i, (eid, colour) in enumerate(COLOURS.items()):
        title = eid.replace("_", " ").title()
        text = f"{title}. {title} is near Oldtown."
        pairs.append(
            TrainPair(
                eid,
                Image.new("RGB", (32, 32), colour),
                text=text,
                id=f"p{i}",
                spans=[(0, len(title), "place"), (len(text) - 8, len(text) - 1, "city")],
            )
        )
    return pairs


def test_entity_mode_saves_heads_and_resume_continues(tmp_path, tiny_clip):
    from kvqae.train.model import EntityAwareHeads, load_clip
    from kvqae.train.trainer import TrainClipConfig, train_clip

    pairs = _entity_pairs()
    base = {
        "mode": "entity",
        "model": str(tiny_clip),
        "output_dir": str(tmp_path / "ea"),
        "lr": 1e-3,
        "batch_size": 4,
        "progress": False,
        "keep_checkpoints": True,
        "entity": {"bidirectional_mlm": True},
    }
    first = train_clip(TrainClipConfig(**base, epochs=1), train_pairs=pairs, val_pairs=pairs)
    assert first.steps == 1 and len(first.history) == 1
    assert (tmp_path / "ea.work" / "checkpoint" / "state.pt").exists()
    second = train_clip(TrainClipConfig(**base, epochs=3), train_pairs=pairs, val_pairs=pairs)
    assert second.steps == 3 and [h["epoch"] for h in second.history] == [0, 1, 2]
    assert second.history[0] == first.history[0]  # resumed, not retrained
    model, tok, _ = load_clip(str(tmp_path / "ea"))
    heads = EntityAwareHeads.load(tmp_path / "ea", model)
    assert heads.types == ["city", "place"]
    assert heads.mlm.decoder.weight is model.text_model.embeddings.token_embedding.weight
    assert tok.mask_token == "[MASK]"


def test_entity_mode_contrastive_only_has_no_heads(tmp_path, tiny_clip):
    from kvqae.train.trainer import TrainClipConfig, train_clip

    cfg = TrainClipConfig(
        mode="entity",
        model=str(tiny_clip),
        output_dir=str(tmp_path / "ea"),
        lr=1e-3,
        batch_size=4,
        progress=False,
        entity={"mlm": False, "entity_type": False},
    )
    result = train_clip(cfg, train_pairs=_entity_pairs())
    assert set(k for k in result.history[0] if k.startswith("loss_")) == {"loss_contrastive", "loss_total"}
    assert result.best_val_mrr is None  # no validation pairs: the last epoch is kept
    assert not (tmp_path / "ea" / "kvqae_heads.json").exists()


def test_too_few_pairs_is_an_input_error(tmp_path, tiny_clip):
    from kvqae.train.trainer import TrainClipConfig, train_clip

    cfg = TrainClipConfig(mode="entity", model=str(tiny_clip), output_dir=str(tmp_path / "x"), progress=False)
    with pytest.raises(InputError, match="at least two"):
        train_clip(cfg, train_pairs=_entity_pairs()[:1])


def test_ablation_command_on_a_tiny_world(tmp_path, tiny_clip):
    from kvqae.world.generate import WorldConfig, generate_world

    generate_world(
        tmp_path / "world", WorldConfig(n_entities=8, image_size=32, article_words=80), progress=False
    )
    cfg = {
        "model": str(tiny_clip),
        "world": str(tmp_path / "world"),
        "output_dir": str(tmp_path / "abl"),
        "train": {"lr": 1e-3, "epochs": 1, "batch_size": 4},
        "entity_train": {"entity": {"ner": False, "max_passages_per_entity": 1}},
    }
    (tmp_path / "abl.yaml").write_text(yaml.safe_dump(cfg))
    res = CliRunner().invoke(
        app,
        ["train", "ablation", str(tmp_path / "abl.yaml"), "--variants", "mono,cross,ea+mlm", "--no-progress"],
    )
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "abl" / "ablation.json").read_text())
    assert [r["name"] for r in result["rows"]] == ["start", "mono", "cross", "ea+mlm", "mono|cross"]
    test_lines = (tmp_path / "world" / "questions_test.jsonl").read_text().strip().splitlines()
    assert result["test_questions"] == len(test_lines)
    rows = {r["name"]: r for r in result["rows"]}
    # the fused recipe takes image->image from mono and image->title from cross
    assert rows["mono|cross"]["image_image_mrr"] == pytest.approx(rows["mono"]["image_image_mrr"])
    assert rows["mono|cross"]["image_title_mrr"] == pytest.approx(rows["cross"]["image_title_mrr"])
    for r in result["rows"]:
        assert 0 < r["image_image_mrr"] <= 1 and 0 <= r["fused_p1"] <= 1
    assert "| mono|cross |" in res.output
    assert (tmp_path / "abl" / "models" / "ea_mlm" / "kvqae_heads.json").exists()


def test_mrr_p1_hand_computed():
    from kvqae.fusion.core import norm_zscore_query
    from kvqae.train.ablation import mrr_p1

    scores = np.array([[0.9, 0.1, 0.5], [0.2, 0.3, 0.8], [0.1, 0.2, 0.3]])
    gold = np.array([0, 1, 0])  # ranks 1, 2, 3
    mrr, p1 = mrr_p1(scores, gold, k=2)
    assert mrr == pytest.approx((1 + 0.5 + 0) / 3)  # rank 3 is beyond k=2
    assert p1 == pytest.approx(1 / 3)
    z = norm_zscore_query(np.array([[1.0, 2.0, 3.0]]))  # the per-query z-score the ablation fuses with
    assert z[0].tolist() == pytest.approx([-1.2247449, 0.0, 1.2247449])

"""`kvqae demo`: training pairs stay honest, the reader init is a real truncated MiniLM, and on a small world
the trained system shows the seeds' ordering (fusion above every single mode, all far above random)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvqae.world.generate import WorldConfig


def _random_mrr(n_passages: int, k: int = 100) -> float:
    """Expected MRR@k of a random ranking of `n_passages` with one relevant passage."""
    return sum(1.0 / r for r in range(1, min(k, n_passages) + 1)) / n_passages


def test_random_mrr_hand_computed():
    # 3 passages, one relevant: ranks 1, 2, 3 equally likely -> (1 + 1/2 + 1/3) / 3
    assert _random_mrr(3) == pytest.approx((1 + 0.5 + 1 / 3) / 3)


def test_clip_pairs_use_no_validation_or_test_image(tmp_path):
    from kvqae.data.kb import build_kb
    from kvqae.demo import DemoConfig, clip_pairs
    from kvqae.world import generate_world

    world_cfg = WorldConfig(n_entities=12, depictions_per_entity=5, questions_per_entity=3, seed=3)
    world = generate_world(tmp_path / "w", world_cfg, progress=False)
    kb = build_kb(world / "articles.jsonl", tmp_path / "kb", progress=False)
    cfg = DemoConfig(world=world_cfg)
    train, val = clip_pairs(world, kb, cfg)

    rows = [json.loads(line) for line in (world / "depictions.jsonl").read_text().splitlines()]
    held = {str((world / r["image"]).resolve()) for r in rows if r["split"] != "train"}
    train_deps = {str((world / r["image"]).resolve()) for r in rows if r["split"] == "train"}
    # default "cross": exactly the training depictions, each with its entity's title
    assert {str(Path(p.image).resolve()) for p in train} == train_deps and len(train) == len(train_deps)
    assert all(p.text == kb.title_of(p.entity) for p in train)

    # "cross-kb" + augment: every KB image (+ a grey and an edge copy of it) and every training depiction
    kb_cfg = cfg.model_copy(update={"clip_training": "cross-kb", "clip_augment": True})
    train, _ = clip_pairs(world, kb, kb_cfg)
    assert len(train) == 3 * 12 + len(train_deps)
    paths = [str(Path(p.image).resolve()) for p in train if isinstance(p.image, str)]
    assert len(paths) == 12 + len(train_deps)
    assert not held & set(paths)
    assert all(p.text == kb.title_of(p.entity) for p in train)
    # validation pairs are the validation questions' images
    val_q = [json.loads(line) for line in (world / "questions_validation.jsonl").read_text().splitlines()]
    assert len(val) == len(val_q)

    joint_train, _ = clip_pairs(world, kb, cfg.model_copy(update={"clip_training": "joint"}))
    n_train_q = len((world / "questions_train.jsonl").read_text().splitlines())
    assert len(joint_train) == n_train_q
    assert all(p.target_image == kb.image_of(p.entity) for p in joint_train)


def test_reader_keeps_minilm_first_layers(minilm_path):
    """The world reader starts from MiniLM's first layers (ReaderTrainConfig.layers): same weights."""
    import torch
    from transformers import AutoModel

    from kvqae.read.model import Reader
    from kvqae.read.train import keep_first_layers

    reader = Reader.load(minilm_path)
    keep_first_layers(reader.model, 2)
    full = AutoModel.from_pretrained(str(minilm_path))
    assert reader.model.config.num_hidden_layers == 2 and len(reader.model.bert.encoder.layer) == 2
    for name, p in reader.model.bert.encoder.layer[1].named_parameters():
        assert torch.equal(p, dict(full.encoder.layer[1].named_parameters())[name])


def test_demo_small_world_ordering(tmp_path):
    """Two 30-entity worlds (seeds 0 and 1) at style shift 0.5, CLIP trained from scratch on each, retrieval +
    fusion (no reader). Per world: every mode far above random and fusion above every single mode. Across the
    two worlds: cross-modal (image->title) above mono-modal (image->image) on mean MRR@100 (one 54-question
    test split is too small for a single world to decide it; see docs/demo.md for the figures)."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.demo import DemoConfig, run_demo

    per_world = []
    for seed in (0, 1):
        out = tmp_path / f"demo{seed}"
        cfg = DemoConfig(
            out=out,
            world=WorldConfig(
                n_entities=30, depictions_per_entity=64, questions_per_entity=4, held_out_per_entity=2,
                seed=seed,
            ),
            clip_epochs=16,
            clip_minutes=None,  # every epoch, however busy the machine: the figures must not depend on it
            read_answers=False,
            seed=seed,
        )
        res = run_demo(cfg, progress=False, log=lambda m: None)
        mrr = {s.name: s.mean["mrr@100"] for s in res["systems"]}
        chance = _random_mrr(len(KnowledgeBase.load(out / "kb").passage_ids))
        assert set(mrr) == {"image-title", "image-image", "text-passage", "fusion"}
        for name, value in mrr.items():
            assert value > 2 * chance, (seed, name, value, chance)
        for name in ("image-title", "image-image", "text-passage"):
            assert mrr["fusion"] >= mrr[name], (seed, mrr)
        assert (out / "report" / "README.md").exists()
        per_world.append(mrr)
    # the seeds' cross-modal > mono-modal under style shift
    mean = {k: sum(m[k] for m in per_world) / len(per_world) for k in per_world[0]}
    assert mean["image-title"] > mean["image-image"], per_world

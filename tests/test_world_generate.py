"""The synthetic entity world: determinism, splits, names with cues, style shift, pipeline formats, CLI."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kvqae.errors import InputError
from kvqae.world import SPLITS, WorldConfig, generate_world
from kvqae.world.entities import COLOURS, CUE_WORDS, PATTERNS, SECONDARY, Entity, title_cues
from kvqae.world.render import entity_layer

SMALL = {"n_entities": 24, "image_size": 48, "unseen_share": 0.25}


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _digest(world: Path) -> dict[str, str]:
    return {
        str(p.relative_to(world)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(world.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    return generate_world(tmp_path_factory.mktemp("world") / "w", WorldConfig(**SMALL), progress=False)


def test_same_seed_identical_bytes_different_seed_differs(tmp_path, world):
    again = generate_world(tmp_path / "again", WorldConfig(**SMALL), progress=False)
    assert _digest(again) == _digest(world)
    other = _digest(generate_world(tmp_path / "other", WorldConfig(**SMALL, seed=1), progress=False))
    base = _digest(world)
    assert other["articles.jsonl"] != base["articles.jsonl"]
    # the drawings themselves change, not just the text
    kb = [k for k in base if k.startswith("images/kb/")]
    assert sum(other[k] != base[k] for k in kb) > len(kb) // 2


def test_counts_and_splits(world):
    meta = json.loads((world / "world.json").read_text())
    articles = _rows(world / "articles.jsonl")
    assert len(articles) == 24 and meta["counts"]["entities"] == 24
    # 6 unseen entities (3 validation-only, 3 test-only, 1 question each: as many as a seen entity asks in
    # a held-out split), 18 seen entities whose 4 questions use depictions 0 (test), 1 (validation), 2, 3
    # (train)
    expected = {"train": 18 * 2, "validation": 18 + 3 * 1, "test": 18 + 3 * 1}
    questions = {s: _rows(world / f"questions_{s}.jsonl") for s in SPLITS}
    assert {s: len(q) for s, q in questions.items()} == expected == meta["counts"]["questions"]
    images = {s: {q["image"] for q in qs} for s, qs in questions.items()}
    assert not images["train"] & images["validation"]
    assert not images["train"] & images["test"]
    assert not images["validation"] & images["test"]
    # unseen entities never appear in train; seen entities appear in all three splits
    entities = {e["id"]: e for e in _rows(world / "entities.jsonl")}
    train_entities = {q["entity"] for q in questions["train"]}
    unseen = {e for e, row in entities.items() if row["group"] != "seen"}
    assert len(unseen) == 6 and not unseen & train_entities
    assert train_entities == set(entities) - unseen


def test_held_out_per_entity_balances_evaluation_splits(tmp_path):
    cfg = WorldConfig(**{**SMALL, "n_entities": 12}, depictions_per_entity=7, questions_per_entity=6,
                      held_out_per_entity=2)
    world = generate_world(tmp_path / "w", cfg, progress=False)
    entities = {e["id"]: e for e in _rows(world / "entities.jsonl")}
    questions = {s: _rows(world / f"questions_{s}.jsonl") for s in SPLITS}
    for split in ("validation", "test"):
        per_entity: dict[str, int] = {}
        for q in questions[split]:
            per_entity[q["entity"]] = per_entity.get(q["entity"], 0) + 1
        assert set(per_entity.values()) == {2}, (split, per_entity)  # seen and unseen entities alike
    # 9 seen entities ask 6 - 2 - 2 = 2 training questions each; unseen ones none
    assert len(questions["train"]) == 9 * 2
    depictions = _rows(world / "depictions.jsonl")
    seen = [d for d in depictions if entities[d["entity"]]["group"] == "seen"]
    expected = {0: "test", 1: "test", 2: "validation", 3: "validation", 4: "train", 6: "train"}
    assert all(d["split"] == expected[d["depiction"]] for d in seen if d["depiction"] in expected)
    meta = json.loads((world / "world.json").read_text())
    assert meta["config"]["held_out_per_entity"] == 2


def test_questions_answerable_from_articles(world):
    articles = {a["id"]: a for a in _rows(world / "articles.jsonl")}
    entities = {e["id"]: e for e in _rows(world / "entities.jsonl")}
    for split in SPLITS:
        for q in _rows(world / f"questions_{split}.jsonl"):
            assert q["entity"] in articles
            text = articles[q["entity"]]["text"]
            assert all(re.search(rf"\b{re.escape(a)}\b", text) for a in q["answers"]), q
            ent = entities[q["entity"]]
            word = "person" if ent["type"] == "person" else ent["noun"].lower()
            assert f"this {word}" in q["question"] and ent["title"] not in q["question"]
            assert (world / q["image"]).is_file()
    # articles are long enough for several 100-word passages
    assert min(len(a["text"].split()) for a in articles.values()) >= 200


def test_names_carry_cues_at_configured_share(tmp_path):
    path = generate_world(tmp_path / "w", WorldConfig(**SMALL, cue_name_share=0.5), progress=False)
    rows = _rows(path / "entities.jsonl")
    cue = [e for e in rows if e["cue_name"]]
    assert len(cue) == 12
    for e in rows:
        colour, pattern = title_cues(e["title"])
        if e["cue_name"]:
            assert (colour, pattern) == (e["colour"], e["pattern"]) and e["noun"] in e["title"]
        else:
            assert not {w.lower() for w in e["title"].split()} & CUE_WORDS
    assert len({e["title"] for e in rows}) == len(rows)


def _colour_counts(img: np.ndarray) -> dict[str, int]:
    pix = img.reshape(-1, 3).astype(float)
    return {
        name: int((np.linalg.norm(pix - np.array(rgb), axis=1) < 40).sum()) for name, rgb in COLOURS.items()
    }


def test_named_colour_is_the_visible_body_colour(world):
    for e in _rows(world / "entities.jsonl"):
        img = np.asarray(Image.open(world / "images" / "kb" / f"{e['id']}.png").convert("RGB"))
        counts = _colour_counts(img)
        assert counts[e["colour"]] >= 0.03 * img.shape[0] * img.shape[1], e
        if e["colour"] != "Onyx":  # outlines and details are near-black, so Onyx is left out of the contest
            others = {k: v for k, v in counts.items() if k not in ("Onyx", e["colour"])}
            assert counts[e["colour"]] > max(others.values()), (e, counts)


@pytest.mark.parametrize("pattern", list(PATTERNS))
def test_pattern_covers_part_of_the_body(pattern):
    ent = Entity(
        id="x",
        type="building",
        noun="Tower",
        colour="Azure",
        pattern=pattern,
        secondary="white",
        variant=0,
        aspect=1.0,
        pattern_scale=1.0,
    )
    rgb, alpha = entity_layer(ent, 128)
    body = np.asarray(alpha) == 255
    pix = np.asarray(rgb)[body].astype(int)
    share = (np.abs(pix - np.array(SECONDARY["white"])).sum(axis=1) < 30).mean()
    assert 0.1 < share < 0.7, share


def _kb_distances(world: Path) -> tuple[float, float]:
    """Mean over depictions of (mean absolute pixel difference, 1 - correlation of pixels) to the KB image."""
    absolute, decorrelation = [], []
    for d in _rows(world / "depictions.jsonl"):
        kb = np.asarray(
            Image.open(world / "images" / "kb" / f"{d['entity']}.png").convert("RGB"), dtype=float
        )
        q = np.asarray(Image.open(world / d["image"]).convert("RGB"), dtype=float)
        absolute.append(np.abs(kb - q).mean())
        decorrelation.append(1 - np.corrcoef(kb.ravel(), q.ravel())[0, 1])
    return float(np.mean(absolute)), float(np.mean(decorrelation))


def test_style_shift_moves_question_images_away_from_kb_image(tmp_path):
    worlds = {
        s: generate_world(tmp_path / f"s{s}", WorldConfig(**SMALL, style_shift=s), progress=False)
        for s in (0.0, 0.5, 1.0)
    }
    dist = {s: _kb_distances(w) for s, w in worlds.items()}
    # decorrelation, not absolute difference: a sketch on light paper is close to the plain KB background in
    # absolute terms while sharing almost no structure with the KB drawing
    assert dist[0.0][1] < dist[0.5][1] < dist[1.0][1]
    assert dist[0.0][0] < dist[0.5][0]
    styles = {s: {d["pose"]["style"] for d in _rows(w / "depictions.jsonl")} for s, w in worlds.items()}
    assert styles[0.0] == {"photo"} and "photo" not in styles[1.0]


def test_distractors_share_attributes_but_never_draw_identically(tmp_path):
    cfg = WorldConfig(**SMALL, distractor_share=1.0, distractor_similarity=1.0)
    rows = _rows(generate_world(tmp_path / "w", cfg, progress=False) / "entities.jsonl")
    by_id = {e["id"]: e for e in rows}
    assert all(e["lookalike_of"] for e in rows[1:])
    keys = ("type", "noun", "colour", "pattern", "secondary", "variant", "aspect", "pattern_scale")
    for e in rows[1:]:
        anchor = by_id[e["lookalike_of"]]
        assert (e["type"], e["noun"], e["colour"], e["pattern"]) == (
            anchor["type"],
            anchor["noun"],
            anchor["colour"],
            anchor["pattern"],
        )
    assert len({tuple(e[k] for k in keys) for e in rows}) == len(rows)
    none = _rows(
        generate_world(tmp_path / "n", WorldConfig(**SMALL, distractor_share=0.0), progress=False)
        / "entities.jsonl"
    )
    assert not any(e["lookalike_of"] for e in none)


def test_formats_load_with_pipeline_readers(tmp_path, world):
    from kvqae.data.kb import build_kb
    from kvqae.data.questions import load_questions

    kb = build_kb(world / "articles.jsonl", tmp_path / "kb", progress=False)
    articles = _rows(world / "articles.jsonl")
    assert len(kb) == len(articles)
    for a in articles:
        assert Path(kb.image_of(a["id"])).resolve() == (world / a["image"]).resolve()
        assert kb.title_of(a["id"]) == a["title"] and kb.types_of(a["id"]) == a["types"]
        assert len(kb.passages_of(a["id"])) >= 2
    qs = load_questions(world / "questions_test.jsonl", check_images=True)
    assert len(qs) == len(_rows(world / "questions_test.jsonl"))
    assert all(kb.has_entity(q.entity) and Path(q.image).is_file() for q in qs)
    assert {q.question_type for q in qs} <= {"Time", "Numerical", "String"}


def test_output_is_replaced_atomically(tmp_path):
    out = tmp_path / "w"
    out.mkdir()
    (out / "stale.txt").write_text("old")
    generate_world(out, WorldConfig(n_entities=6, image_size=16, depictions_per_entity=1), progress=False)
    assert not (out / "stale.txt").exists()
    assert len(list((out / "images" / "depictions").iterdir())) == 6


def test_config_rejects_bad_values():
    from kvqae.config import parse_config

    with pytest.raises(InputError, match="style_shift"):
        parse_config(WorldConfig, {"style_shift": 1.5})
    with pytest.raises(InputError, match="types"):
        parse_config(WorldConfig, {"types": ["dragon"]})
    with pytest.raises(InputError, match="n_entitis"):
        parse_config(WorldConfig, {"n_entitis": 5})


def test_cli_world(tmp_path):
    from typer.testing import CliRunner

    from kvqae.cli import app

    out = tmp_path / "cli-world"
    result = CliRunner().invoke(
        app,
        [
            "world",
            "--out",
            str(out),
            "--entities",
            "12",
            "--seed",
            "3",
            "--image-size",
            "24",
            "--cue-share",
            "0.25",
            "--no-progress",
        ],
    )
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "world.json").read_text())
    assert meta["config"]["n_entities"] == 12 and meta["config"]["seed"] == 3
    assert meta["counts"]["cue_names"] == 3
    assert Image.open(out / "images" / "kb" / "e00000.png").size == (24, 24)
    assert "12 entities" in result.output
    bad = CliRunner().invoke(app, ["world", "--out", str(tmp_path / "bad"), "--style-shift", "2"])
    assert isinstance(bad.exception, InputError) and "--style-shift" in str(bad.exception)  # the flag typed
    assert not (tmp_path / "bad").exists()


def test_image_title_pairs_keep_held_out_images_out(world):
    from kvqae.world import image_title_pairs

    pairs = image_title_pairs(world)
    # 24 KB images + 18 seen entities x 2 train depictions
    assert len(pairs) == 24 + 18 * 2
    held_out = {q["image"] for s in ("validation", "test") for q in _rows(world / f"questions_{s}.jsonl")}
    used = {str(p.relative_to(world.resolve())) for p, _, _ in pairs}
    assert not used & held_out
    titles = {a["id"]: a["title"] for a in _rows(world / "articles.jsonl")}
    assert all(p.is_file() and titles[e] == t for p, e, t in pairs)
    assert len(image_title_pairs(world, splits=(), include_kb=True)) == 24
    with pytest.raises(InputError, match="splits"):
        image_title_pairs(world, splits=("dev",))

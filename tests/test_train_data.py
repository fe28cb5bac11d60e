"""Training data: entity-centric batches, entity-span masking, span finding, pairs from a KB and questions."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from PIL import Image

from kvqae.errors import InputError
from kvqae.train.data import (
    Collator,
    EntityCentricBatchSampler,
    SpanFinder,
    TrainPair,
    entity_pairs,
    question_pairs,
    type_vocabulary,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_entity_centric_sampler_never_repeats_an_entity_in_a_batch():
    # 5 entities, skewed counts: entity "a" has 6 items, so it needs 6 batches
    entities = ["a"] * 6 + ["b"] * 3 + ["c"] * 2 + ["d", "e"]
    sampler = EntityCentricBatchSampler(entities, batch_size=4, seed=3, min_size=1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = sampler.batches()
        for b in batches:
            assert len(b) <= 4
            assert len({entities[i] for i in b}) == len(b)
        # with min_size=1 every item is used exactly once per epoch
        assert sorted(i for b in batches for i in b) == list(range(len(entities)))
    # the default min_size=2 drops a trailing batch that holds a single item (no negative)
    default = EntityCentricBatchSampler(entities, batch_size=4, seed=3)
    assert all(len(b) >= 2 for b in default.batches())
    # order changes with the epoch (seed + epoch)
    sampler.set_epoch(0)
    first = sampler.batches()
    sampler.set_epoch(1)
    assert sampler.batches() != first


def test_sampler_rejects_batch_of_one():
    with pytest.raises(InputError):
        EntityCentricBatchSampler(["a", "b"], batch_size=1)


def _collator(tiny_clip, mode="entity", types=None):
    from transformers import AutoImageProcessor, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tiny_clip))
    proc = AutoImageProcessor.from_pretrained(str(tiny_clip))
    return Collator(mode, tok, proc, 77, mask_token_id=tok.mask_token_id, type_vocab=types or {}), tok


def test_collator_masks_every_token_of_each_entity_span(tiny_clip):
    collate, tok = _collator(tiny_clip, types={"building": 0, "person": 1})
    text = "Aldebrand Tower is tall."
    # WordPiece: [CLS] al ##de ##brand tower is tall . [SEP]; the span "Aldebrand" covers 3 word pieces
    pair = TrainPair(
        "e1",
        Image.new("RGB", (40, 30), "red"),
        text=text,
        spans=[(0, 9, "building"), (19, 23, "unknown-type")],
    )
    batch = collate([pair, TrainPair("e2", Image.new("RGB", (20, 20), "blue"), text="Tall.", spans=[])])
    ids = tok(text)["input_ids"]
    assert batch["input_ids"][0].tolist() == ids  # the contrastive pass sees the unmasked text
    assert batch["masked_input_ids"][0].tolist() == [
        ids[0],
        103,
        103,
        103,
        ids[4],
        ids[5],
        103,
        ids[7],
        ids[8],
    ]
    assert batch["mlm_labels"][0].tolist() == [-100, ids[1], ids[2], ids[3], -100, -100, ids[6], -100, -100]
    # a type outside the vocabulary is masked for MLM but not labelled for the type head
    assert batch["type_labels"][0].tolist() == [-100, 0, 0, 0, -100, -100, -100, -100, -100]
    assert (batch["mlm_labels"][1] == -100).all()
    assert batch["pixel_values"].shape == (2, 3, 32, 32)


def test_collator_mono_and_joint_fields(tiny_clip):
    collate, _ = _collator(tiny_clip, mode="joint")
    img = Image.new("RGB", (32, 32), "green")
    batch = collate([TrainPair("e", img, target_image=img, text="Green Hall")] * 2)
    assert set(batch) == {"pixel_values", "target_pixel_values", "input_ids", "attention_mask"}
    with pytest.raises(InputError, match="missing.png"):
        collate([TrainPair("e", "/nonexistent/missing.png", target_image=img, text="x")])


def test_span_finder_title_matches_and_kb_typed_ner():
    finder = SpanFinder(ner=False)
    spans = finder.find(["Red Tower. The Red Tower stands near Redtower."], ["Red Tower"], ["building"])
    assert spans == [[(0, 9, "building"), (15, 24, "building")]]


def test_span_finder_with_spacy_ner():
    text = "Barack Obama visited Paris in 2009."
    # KB types: the title match wins over NER's PERSON span; "Paris" (no KB title) is masked, untyped
    spans = SpanFinder(ner=True).find([text], ["Barack Obama"], ["human"])[0]
    assert spans[0] == (0, 12, "human")
    labels = {text[s:e]: t for s, e, t in spans}
    assert labels["Paris"] == ""
    assert type_vocabulary([TrainPair("x", None, spans=spans)]) == ["human"]
    # NER labels: every span, the title match included, typed by spaCy
    spans = SpanFinder(ner=True, type_source="ner").find([text], ["Barack Obama"], ["human"])[0]
    labels = {text[s:e]: t for s, e, t in spans}
    assert labels["Barack Obama"] == "PERSON" and labels["Paris"] == "GPE"
    assert type_vocabulary([TrainPair("x", None, spans=spans)]) == sorted(set(labels.values()))


@pytest.fixture()
def small_kb(tmp_path):
    from kvqae.data.kb import build_kb

    for name, colour in (("red", "red"), ("blue", "blue")):
        Image.new("RGB", (16, 16), colour).save(tmp_path / f"{name}.png")
    rows = [
        {
            "id": "red_tower",
            "title": "Red Tower",
            "text": "Red Tower is a tower. " * 30,
            "image": "red.png",
            "types": ["building"],
        },
        {
            "id": "blue_hall",
            "title": "Blue Hall",
            "text": "Blue Hall is a hall.",
            "image": "blue.png",
            "types": ["building"],
        },
        {"id": "no_image", "title": "Ghost", "text": "Ghost has no image."},
    ]
    (tmp_path / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return build_kb(tmp_path / "articles.jsonl", tmp_path / "kb", progress=False)


def test_question_pairs_per_mode(small_kb, tmp_path):
    from kvqae.data.questions import Question

    img = str(tmp_path / "red.png")
    qs = [
        Question("q1", "what?", image=img, entity="red_tower"),
        Question("q2", "what?", image=img, entity="Blue Hall"),  # resolved by title
        Question("q3", "what?", image=img, entity="no_image"),  # entity without reference image
        Question("q4", "what?", image=None, entity="red_tower"),
        Question("q5", "what?", image=img, entity="not_in_kb"),
    ]
    mono = question_pairs(qs, small_kb, "mono")
    assert [(p.id, p.entity) for p in mono] == [("q1", "red_tower"), ("q2", "blue_hall")]
    assert mono[0].target_image == str(tmp_path / "red.png") and mono[0].text is None
    cross = question_pairs(qs, small_kb, "cross")
    assert [(p.id, p.text) for p in cross] == [("q1", "Red Tower"), ("q2", "Blue Hall"), ("q3", "Ghost")]
    joint = question_pairs(qs, small_kb, "joint")
    assert [p.id for p in joint] == ["q1", "q2"] and joint[1].text == "Blue Hall"
    with pytest.raises(InputError, match="no usable training question"):
        question_pairs(qs[3:], small_kb, "cross")


def test_entity_pairs_one_per_passage_with_title_spans(small_kb):
    pairs = entity_pairs(small_kb, ner=False)
    counts = Counter(p.entity for p in pairs)
    assert counts == {"red_tower": len(small_kb.passages_of("red_tower")), "blue_hall": 1}
    assert counts["red_tower"] >= 2
    blue = next(p for p in pairs if p.entity == "blue_hall")
    # passage text is "{title}. {chunk}": the title occurs twice
    assert blue.text == "Blue Hall. Blue Hall is a hall."
    assert blue.spans == [(0, 9, "building"), (11, 20, "building")]
    assert len(entity_pairs(small_kb, ner=False, max_passages_per_entity=1)) == 2


def _check_plan(entities, batches, batch_size):
    for b in batches:
        assert 2 <= len(b) <= batch_size
        assert len({entities[i] for i in b}) == len(b)


def test_sampler_uses_every_item_once_at_the_trainers_settings():
    import numpy as np

    rng = np.random.default_rng(0)
    sizes = np.clip(rng.zipf(1.8, size=500), 1, 60)
    entities = [f"e{k}" for k, s in enumerate(sizes) for _ in range(s)]
    sampler = EntityCentricBatchSampler(entities, batch_size=32, seed=0)  # the trainer's defaults
    assert sampler.unused == 0
    plans = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        batches = sampler.batches()
        _check_plan(entities, batches, 32)
        assert sorted(i for b in batches for i in b) == list(range(len(entities)))
        assert len(batches) == len(sampler)
        plans.append(batches)
    assert plans[0] != plans[1] != plans[2]
    again = EntityCentricBatchSampler(entities, batch_size=32, seed=0)
    again.set_epoch(1)
    assert again.batches() == plans[1]  # deterministic by (seed, epoch)
    other = EntityCentricBatchSampler(entities, batch_size=32, seed=1)
    other.set_epoch(1)
    assert other.batches() != plans[1]


def test_sampler_hand_computed_cases():
    # a, a, b, c with batches of 2: "a" needs two batches, so each holds one "a" and one of b / c
    entities = ["a", "a", "b", "c"]
    sampler = EntityCentricBatchSampler(entities, batch_size=2, seed=5)
    batches = sampler.batches()
    assert sorted(sorted(entities[i] for i in b) for b in batches) == [["a", "b"], ["a", "c"]]
    assert len(sampler) == 2 and sampler.unused == 0
    # 50 items, 13 = ceil(50 / 4) batches dealt round-robin: 11 of 4 and 2 of 3, every item used
    skewed = ["a"] * 10 + ["b"] * 10 + [f"x{i}" for i in range(30)]
    sampler = EntityCentricBatchSampler(skewed, batch_size=4, seed=0)
    batches = sampler.batches()
    assert sorted(len(b) for b in batches) == [3] * 2 + [4] * 11 and sampler.unused == 0
    _check_plan(skewed, batches, 4)
    # one entity with most items: only one batch can hold a negative; the rest is counted, not hidden
    lopsided = ["a"] * 10 + ["b"]
    sampler = EntityCentricBatchSampler(lopsided, batch_size=4, seed=0)
    assert [sorted(lopsided[i] for i in b) for b in sampler.batches()] == [["a", "b"]]
    assert len(sampler) == 1 and sampler.unused == 9


def test_sampler_drop_last_makes_only_full_batches():
    entities = ["a"] * 3 + [f"x{i}" for i in range(8)]
    sampler = EntityCentricBatchSampler(entities, batch_size=4, seed=2, drop_last=True)
    batches = sampler.batches()
    assert [len(b) for b in batches] == [4, 4] and len(sampler) == 2 and sampler.unused == 3
    _check_plan(entities, batches, 4)

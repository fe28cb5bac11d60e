"""Entity-aware pretraining defaults: one entity-type vocabulary per run (KB types, else spaCy NER labels,
never both; the source recorded in the saved model) and the bidirectional masked pass by default."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from kvqae.errors import InputError
from kvqae.train.data import UNTYPED, SpanFinder, entity_pairs, resolve_type_source, type_vocabulary

pytestmark = pytest.mark.usefixtures("one_torch_thread")

# real names, so spaCy's small model labels them (PERSON, GPE, ...) the same way on every run
ARTICLES = [
    ("barack_obama", "Barack Obama", "human", "Barack Obama visited Paris in 2009 with Angela Merkel."),
    ("angela_merkel", "Angela Merkel", "human", "Angela Merkel was born in Hamburg in 1954."),
    ("eiffel_tower", "Eiffel Tower", "tower", "The Eiffel Tower stands in Paris, France."),
    ("big_ben", "Big Ben", "tower", "Big Ben is a clock in London near Westminster."),
]
NER_LABELS = {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW",
              "LANGUAGE", "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL"}


def _kb(folder, with_types: bool):
    from kvqae.data.kb import build_kb

    folder.mkdir(exist_ok=True)
    rows = []
    for i, (eid, title, etype, text) in enumerate(ARTICLES):
        Image.new("RGB", (32, 32), (60 * i, 200 - 40 * i, 90)).save(folder / f"{eid}.png")
        row = {"id": eid, "title": title, "text": text, "image": f"{eid}.png"}
        if with_types:
            row["types"] = [etype]
        rows.append(row)
    (folder / "articles.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return build_kb(folder / "articles.jsonl", folder / "kb", progress=False)


@pytest.fixture(scope="module")
def typed_kb(tmp_path_factory):
    return _kb(tmp_path_factory.mktemp("typed"), with_types=True)


@pytest.fixture(scope="module")
def untyped_kb(tmp_path_factory):
    return _kb(tmp_path_factory.mktemp("untyped"), with_types=False)


def _spans_by_text(pairs):
    return {(p.entity, p.text[s:e]): t for p in pairs for s, e, t in p.spans}


def test_kb_types_win_and_ner_labels_are_never_mixed_in(typed_kb):
    assert resolve_type_source(typed_kb, "auto", ner=True) == "kb"
    pairs = entity_pairs(typed_kb, ner=True)
    spans = _spans_by_text(pairs)
    assert {t for t in spans.values()} <= {"human", "tower", UNTYPED}
    assert type_vocabulary(pairs) == ["human", "tower"]
    assert spans[("barack_obama", "Barack Obama")] == "human"  # the passage's own title: its KB type
    assert spans[("eiffel_tower", "Eiffel Tower")] == "tower"
    # an NER mention of another KB entity takes that entity's KB type (not PERSON) ...
    assert spans[("barack_obama", "Angela Merkel")] == "human"
    # ... and a mention that is no KB title (spaCy: GPE) is masked but has no type label
    assert spans[("barack_obama", "Paris")] == UNTYPED


def test_ner_labels_when_the_kb_has_no_types(untyped_kb):
    assert resolve_type_source(untyped_kb, "auto", ner=True) == "ner"
    pairs = entity_pairs(untyped_kb, ner=True)
    spans = _spans_by_text(pairs)
    vocab = type_vocabulary(pairs)
    assert vocab and set(vocab) <= NER_LABELS
    # the passage's own title is typed with spaCy's label of that mention, like every other span
    assert spans[("barack_obama", "Barack Obama")] == "PERSON"
    assert spans[("barack_obama", "Paris")] == "GPE"


def test_type_source_choices_and_errors(typed_kb, untyped_kb):
    assert resolve_type_source(untyped_kb, "auto", ner=False) == "none"
    assert resolve_type_source(typed_kb, "ner", ner=True) == "ner"  # forced: KB types ignored
    with pytest.raises(InputError, match="no entity types"):
        resolve_type_source(untyped_kb, "kb", ner=True)
    with pytest.raises(InputError, match="needs ner: true"):
        resolve_type_source(typed_kb, "ner", ner=False)
    # forced NER on a typed KB: only spaCy labels, even for the passage's own title
    finder = SpanFinder(typed_kb, ner=True, type_source="ner")
    spans = finder.find(["Barack Obama visited Paris."], ["Barack Obama"], ["human"])[0]
    assert [t for _, _, t in spans] == ["PERSON", "GPE"]


def _train(kb, tmp_path, tiny_clip, name):
    from kvqae.train.trainer import TrainClipConfig, train_clip

    cfg = TrainClipConfig(mode="entity", model=str(tiny_clip), kb=str(kb.path),
                          output_dir=str(tmp_path / name), lr=1e-3, batch_size=4, validation_fraction=0.0,
                          progress=False)
    assert cfg.entity.bidirectional_mlm and cfg.entity.type_source == "auto"  # the defaults under test
    return train_clip(cfg).output_dir


@pytest.mark.parametrize(("kind", "source"), [("typed", "kb"), ("untyped", "ner")])
def test_saved_model_records_the_type_source(kind, source, typed_kb, untyped_kb, tmp_path, tiny_clip):
    from kvqae.train.model import EntityAwareHeads, load_clip

    out = _train(typed_kb if kind == "typed" else untyped_kb, tmp_path, tiny_clip, kind)
    heads_cfg = json.loads((out / "kvqae_heads.json").read_text())
    log = json.loads((out / "kvqae_train.json").read_text())
    assert heads_cfg["type_source"] == log["type_source"] == source
    if source == "kb":
        assert heads_cfg["types"] == ["human", "tower"]
    else:
        assert "PERSON" in heads_cfg["types"] and set(heads_cfg["types"]) <= NER_LABELS
    model, _, _ = load_clip(str(out))
    heads = EntityAwareHeads.load(out, model)
    assert heads.type_source == source and heads.entity_type is not None


def test_no_types_with_type_loss_is_an_input_error(untyped_kb, tmp_path, tiny_clip):
    from kvqae.train.trainer import TrainClipConfig, train_clip

    cfg = TrainClipConfig(mode="entity", model=str(tiny_clip), kb=str(untyped_kb.path),
                          output_dir=str(tmp_path / "x"), batch_size=4, progress=False, entity={"ner": False})
    with pytest.raises(InputError, match="no training span has a type"):
        train_clip(cfg)


def test_default_masked_pass_is_bidirectional_contrastive_pass_stays_causal(tiny_clip):
    """With the default options the MLM loss of the title (first tokens) depends on the words after it;
    the retrieval embedding is still CLIP's own causal `get_text_features`."""
    from kvqae.train.data import Collator, TrainPair
    from kvqae.train.model import EntityAwareHeads, ensure_mask_token, load_clip
    from kvqae.train.objective import LossSwitches, Objective
    from kvqae.train.trainer import EntityOptions

    torch.manual_seed(0)
    model, tok, proc = load_clip(str(tiny_clip))
    model.eval()
    mask_id = ensure_mask_token(model, tok)
    heads = EntityAwareHeads(model, ["building"])
    collate = Collator("entity", tok, proc, 77, mask_token_id=mask_id, type_vocab={"building": 0})
    img = Image.new("RGB", (32, 32), "red")
    batches = [collate([TrainPair("e", img, text=f"Red Tower. It stands in {w}.", spans=[(0, 9, "building")]),
                        TrainPair("f", img, text="Blue Hall.", spans=[(0, 9, "building")])])
               for w in ("Oldtown", "the harbour")]

    def mlm_sum(bidirectional: bool, batch) -> float:
        obj = Objective("entity", model, heads=heads, switches=LossSwitches(mlm=True, entity_type=True),
                        bidirectional_mlm=bidirectional)
        with torch.no_grad():
            return float(obj.aux_sums(batch)["mlm"])

    default = EntityOptions().bidirectional_mlm
    assert default is True
    assert mlm_sum(default, batches[0]) != pytest.approx(mlm_sum(default, batches[1]), abs=1e-6)
    # causal: the title's masked tokens only see what is left of them, identical in both texts
    assert mlm_sum(False, batches[0]) == pytest.approx(mlm_sum(False, batches[1]), abs=1e-6)
    obj = Objective("entity", model, heads=heads, switches=LossSwitches(mlm=True), bidirectional_mlm=default)
    fn, inputs = obj.towers(batches[0])["text"]
    with torch.no_grad():
        ref = model.get_text_features(**inputs)
        ref = ref.pooler_output if hasattr(ref, "pooler_output") else ref
        assert torch.equal(fn(**inputs), ref.float())

"""search_store and the retrieval modes: runs with raw scores, missing queries, mismatch refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.index import VectorIndex
from kvqae.search import MODES, infer_mode, search_embeddings, search_store

KB_IDS = ["A", "B", "C", "D"]
KB_VECS = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0.8, 0.6, 0, 0], [0, 0, 1, 0]], dtype=np.float32)


def write_embeddings(directory: Path, vectors, ids, *, encoder="clip:m", field="title", kind="text",
                     missing=()) -> Path:
    vectors = np.asarray(vectors, dtype=np.float32)
    directory.mkdir(parents=True)
    np.save(directory / "vectors.npy", vectors)
    (directory / "ids.json").write_text(json.dumps(list(ids)))
    (directory / "meta.json").write_text(json.dumps({
        "encoder": encoder, "field": field, "kind": kind, "dim": int(vectors.shape[1]), "dtype": "float32",
        "normalized": False, "count": len(ids), "missing": list(missing)}))
    return directory


def test_search_store_hand_known_run_with_missing_queries():
    index = VectorIndex.from_vectors(KB_VECS, KB_IDS)
    q = np.array([[0, 0, 2, 0], [np.nan] * 4, [0.6, 0.8, 0, 0]], dtype=np.float32)
    run = search_store(q, ["q1", "q2", "q3"], index, k=2, name="img", level="entity", missing=["q4"])
    assert run.name == "img" and run.level == "entity"
    assert list(run.scores) == ["q1", "q2", "q3", "q4"]
    assert run.scores["q2"] == {} and run.scores["q4"] == {}
    assert run.ranked("q1")[0] == ("D", pytest.approx(1.0)) and len(run.scores["q1"]) == 2  # then a 0.0 tie
    assert [d for d, _ in run.ranked("q3")] == ["C", "B"]
    assert run.scores["q3"]["C"] == pytest.approx(0.96, abs=1e-6)
    assert run.scores["q3"]["B"] == pytest.approx(0.8, abs=1e-6)


def test_search_store_run_roundtrips(tmp_path):
    index = VectorIndex.from_vectors(KB_VECS, KB_IDS)
    q = np.array([[0.6, 0.8, 0, 0], [1, 0.1, 0, 0]], dtype=np.float32)
    run = search_store(q, ["a", "b"], index, k=3, name="t")
    for name in ("r.json", "r.trec"):
        back = Run.load(run.save(tmp_path / name), level="entity")
        assert back.scores == run.scores and back.name == "t"


def test_mode_table_and_inference():
    assert {m: (MODES[m].query_kind, MODES[m].kb_field, MODES[m].level) for m in MODES} == {
        "image-image": ("image", "image", "entity"),
        "image-title": ("image", "title", "entity"),
        "text-passage": ("text", "passage", "passage"),
        "image-passage": ("image", "passage", "passage"),
    }
    assert infer_mode("image", "title").name == "image-title"
    with pytest.raises(InputError) as e:
        infer_mode("text", "image")
    assert e.value.field == "mode"


def test_search_embeddings_infers_mode_and_checks_encoder(tmp_path):
    kb = write_embeddings(tmp_path / "titles", KB_VECS, KB_IDS, field="title", kind="text")
    VectorIndex.build(kb, tmp_path / "idx")
    q = write_embeddings(tmp_path / "qimg", [[0, 1, 0, 0]], ["q1"], field="image", kind="image",
                         missing=["q2"])
    run = search_embeddings(q, tmp_path / "idx", k=2)
    assert run.name == "image-title" and run.level == "entity" and run.meta["mode"] == "image-title"
    assert [d for d, _ in run.ranked("q1")] == ["B", "C"] and run.scores["q2"] == {}

    other = write_embeddings(tmp_path / "qother", [[0, 1, 0, 0]], ["q1"], encoder="clip:other", kind="image",
                             field="image")
    with pytest.raises(InputError) as e:
        search_embeddings(other, tmp_path / "idx")
    assert e.value.field == "encoder" and str(tmp_path / "idx") in str(e.value)
    wide = write_embeddings(tmp_path / "qwide", np.ones((1, 8)), ["q1"], kind="image", field="image")
    with pytest.raises(InputError) as e:
        search_embeddings(wide, tmp_path / "idx")
    assert e.value.field == "dim" and str(tmp_path / "idx") in str(e.value)


def test_explicit_mode_must_fit_queries_and_index(tmp_path):
    kb = write_embeddings(tmp_path / "titles", KB_VECS, KB_IDS, field="title", kind="text")
    VectorIndex.build(kb, tmp_path / "idx")
    qtext = write_embeddings(tmp_path / "qtext", [[0, 1, 0, 0]], ["q1"], field="question", kind="text")
    with pytest.raises(InputError) as e:
        search_embeddings(qtext, tmp_path / "idx", mode="image-title")
    assert e.value.field == "kind"
    qimg = write_embeddings(tmp_path / "qimg", [[0, 1, 0, 0]], ["q1"], field="image", kind="image")
    with pytest.raises(InputError) as e:
        search_embeddings(qimg, tmp_path / "idx", mode="image-image")
    assert e.value.field == "field"
    with pytest.raises(InputError, match="unknown mode"):
        search_embeddings(qimg, tmp_path / "idx", mode="image-everything")


def test_partial_results_from_an_ivf_index_are_kept_without_padding():
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(200, 8)).astype(np.float32)
    index = VectorIndex.from_vectors(vectors, [f"e{i}" for i in range(200)], factory="IVF4,Flat", nprobe=1)
    scores, labels = index.search_labels(vectors[:3], 200)  # one list of 4 cannot hold 200 vectors
    found = (labels >= 0).sum(axis=1)
    assert (found < 200).all() and (found > 0).all()
    assert np.isneginf(scores[labels < 0]).all()
    run = search_store(vectors[:3], ["a", "b", "c"], index, k=200)
    assert [len(run.scores[q]) for q in "abc"] == found.tolist()
    assert run.ranked("a")[0][0] == "e0"  # a vector's own row is its best match

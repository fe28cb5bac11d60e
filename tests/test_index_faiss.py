"""VectorIndex: exact search, directories, approximate factories, query checks, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kvqae.errors import InputError
from kvqae.index import VectorIndex, measure_recall, read_embeddings, recall_at_k

# Four hand-placed unit vectors: A and C are close, B and D are orthogonal to A.
HAND_IDS = ["A", "B", "C", "D"]
HAND = np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0.8, 0.6, 0, 0], [0, 0, 1, 0]], dtype=np.float32)


def write_embeddings(directory: Path, vectors: np.ndarray, ids: list[str], *, encoder: str = "test:enc",
                     field: str = "image", kind: str = "image", missing: list[str] | None = None,
                     meta_extra: dict | None = None) -> Path:
    """An embeddings directory in the contract's format, written by hand."""
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    (directory / "ids.json").write_text(json.dumps(ids))
    meta = {"encoder": encoder, "field": field, "kind": kind, "dim": int(vectors.shape[1]),
            "dtype": "float32", "normalized": False, "count": len(ids), "missing": missing or []}
    meta.update(meta_extra or {})
    (directory / "meta.json").write_text(json.dumps(meta))
    return directory


def test_exact_search_returns_hand_known_neighbours():
    index = VectorIndex.from_vectors(HAND, HAND_IDS)
    q = np.array([[1, 0.1, 0, 0]], dtype=np.float32)
    scores, ids = index.search(q, 3)
    assert ids == [["A", "C", "B"]]
    norm = np.sqrt(1.01)
    np.testing.assert_allclose(scores[0], [1 / norm, (0.8 + 0.06) / norm, 0.1 / norm], rtol=1e-5)


def test_vectors_are_normalised_so_scores_are_cosines():
    scaled = HAND * np.array([[5.0], [1.0], [0.1], [3.0]], dtype=np.float32)
    index = VectorIndex.from_vectors(scaled, HAND_IDS)
    scores, ids = index.search(np.array([[2.0, 0, 0, 0]], dtype=np.float32), 2)
    assert ids == [["A", "C"]]
    np.testing.assert_allclose(scores[0], [1.0, 0.8], rtol=1e-5)


def test_k_larger_than_count_returns_everything():
    index = VectorIndex.from_vectors(HAND, HAND_IDS)
    scores, ids = index.search(np.array([[0, 0, 1, 0]], dtype=np.float32), 100)
    assert scores.shape == (1, 4)
    assert ids[0][0] == "D" and sorted(ids[0]) == sorted(HAND_IDS)


def test_nan_query_gets_empty_result_and_others_are_unaffected():
    index = VectorIndex.from_vectors(HAND, HAND_IDS)
    q = np.array([[np.nan] * 4, [0, 1, 0, 0]], dtype=np.float32)
    scores, ids = index.search(q, 2)
    assert ids[0] == []
    assert np.isneginf(scores[0]).all()
    assert ids[1] == ["B", "C"]


def test_build_load_roundtrip(tmp_path):
    emb = write_embeddings(tmp_path / "emb", HAND, HAND_IDS, encoder="clip:x", field="title", kind="text",
                           missing=["E"])
    out = tmp_path / "idx"
    built = VectorIndex.build(emb, out)
    assert sorted(p.name for p in out.iterdir()) == ["ids.json", "index.faiss", "meta.json"]
    meta = json.loads((out / "meta.json").read_text())
    assert {k: meta[k] for k in ("encoder", "field", "dim", "factory", "metric", "count", "normalized")} == {
        "encoder": "clip:x", "field": "title", "dim": 4, "factory": "Flat", "metric": "ip", "count": 4,
        "normalized": True}
    assert json.loads((out / "ids.json").read_text()) == HAND_IDS
    loaded = VectorIndex.load(out)
    q = np.array([[0.6, 0.8, 0, 0], [0, 0, 0.5, 0.5]], dtype=np.float32)
    s1, i1 = built.search(q, 4)
    s2, i2 = loaded.search(q, 4)
    assert i1 == i2
    assert i2[0][:2] == ["C", "B"]  # C·q = 0.96, B·q = 0.8
    np.testing.assert_array_equal(s1, s2)
    assert loaded.path == out and loaded.encoder == "clip:x" and loaded.field == "title"


def test_ivf_matches_exact_when_every_list_is_probed():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(600, 16)).astype(np.float32)
    queries = rng.normal(size=(40, 16)).astype(np.float32)
    ids = [f"e{i}" for i in range(600)]
    exact = VectorIndex.from_vectors(vectors, ids)
    ivf = VectorIndex.from_vectors(vectors, ids, factory="IVF4,Flat")
    assert ivf.index.is_trained and ivf.index.ntotal == 600
    es, el = exact.search_labels(queries, 10)
    full_s, full_l = ivf.search_labels(queries, 10, nprobe=4)
    np.testing.assert_array_equal(full_l, el)
    np.testing.assert_allclose(full_s, es, rtol=1e-5)
    res = measure_recall(vectors, queries, "IVF4,Flat", 10, nprobe=1)
    assert 0.0 < res.recall <= 1.0 and res.queries == 40 and res.k == 10
    assert measure_recall(vectors, queries, "IVF4,Flat", 10, nprobe=4).recall == 1.0


def test_nprobe_is_saved_and_reapplied(tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    emb = write_embeddings(tmp_path / "emb", vectors, [str(i) for i in range(300)])
    VectorIndex.build(emb, tmp_path / "idx", "IVF4,Flat", nprobe=3)
    import faiss

    loaded = VectorIndex.load(tmp_path / "idx")
    assert loaded.meta["nprobe"] == 3
    assert faiss.extract_index_ivf(loaded.index).nprobe == 3


def test_recall_at_k_hand_computed():
    exact = np.array([[0, 1, 2, 3], [4, 5, 6, 7], [-1, -1, -1, -1]])
    approx = np.array([[0, 1, 9, 9], [7, 6, 5, 4], [1, 2, 3, 4]])
    assert recall_at_k(exact, approx) == pytest.approx((0.5 + 1.0) / 2)


def test_check_query_refuses_other_encoder_and_dim(tmp_path):
    emb = write_embeddings(tmp_path / "emb", HAND, HAND_IDS, encoder="clip:a")
    VectorIndex.build(emb, tmp_path / "idx")
    index = VectorIndex.load(tmp_path / "idx")
    index.check_query("clip:a", 4)  # the matching encoder passes
    with pytest.raises(InputError) as e:
        index.check_query("clip:b", 4)
    assert e.value.field == "encoder" and e.value.path == str(tmp_path / "idx")
    assert "clip:b" in str(e.value) and str(tmp_path / "idx") in str(e.value)
    with pytest.raises(InputError) as e:
        index.check_query("clip:a", 8)
    assert e.value.field == "dim" and str(tmp_path / "idx") in str(e.value)


def test_bad_factory_is_an_input_error_and_leaves_no_directory(tmp_path):
    emb = write_embeddings(tmp_path / "emb", HAND, HAND_IDS)
    with pytest.raises(InputError) as e:
        VectorIndex.build(emb, tmp_path / "idx", "NotAnIndex42")
    assert e.value.field == "factory"
    assert not (tmp_path / "idx").exists()


def test_embeddings_errors_name_file_and_record(tmp_path):
    bad = HAND.copy()
    bad[2, 1] = np.nan
    write_embeddings(tmp_path / "nan", bad, HAND_IDS)
    with pytest.raises(InputError) as e:
        read_embeddings(tmp_path / "nan")
    assert e.value.record == "C" and e.value.path.endswith("vectors.npy")
    assert read_embeddings(tmp_path / "nan", allow_nan=True).ids == HAND_IDS  # fine for queries
    write_embeddings(tmp_path / "count", HAND, HAND_IDS, meta_extra={"count": 5})
    with pytest.raises(InputError, match="count 5") as e:
        read_embeddings(tmp_path / "count")
    assert e.value.field == "count"
    write_embeddings(tmp_path / "dup", HAND, ["A", "B", "A", "D"])
    with pytest.raises(InputError, match="duplicate id 'A'"):
        read_embeddings(tmp_path / "dup")


def test_load_refuses_inconsistent_directory(tmp_path):
    emb = write_embeddings(tmp_path / "emb", HAND, HAND_IDS)
    VectorIndex.build(emb, tmp_path / "idx")
    (tmp_path / "idx" / "ids.json").write_text(json.dumps(HAND_IDS[:3]))
    with pytest.raises(InputError) as e:
        VectorIndex.load(tmp_path / "idx")
    assert e.value.field == "count"
    with pytest.raises(InputError, match="index directory not found"):
        VectorIndex.load(tmp_path / "nope")

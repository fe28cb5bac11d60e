"""Streaming index builds at scale: chunked reads, exact streaming scan, refine, search settings, ids.npy."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.errors import InputError
from kvqae.index import VectorIndex
from kvqae.index.build import auto_factory, build_streaming
from kvqae.index.recall import measure_index_recall, recall_at_k
from kvqae.index.refine import REFINE_FILE
from kvqae.index.stream import (
    exact_search_stream,
    iter_chunks,
    merge_topk,
    open_vectors,
    read_sample,
    sample_rows,
)

runner = CliRunner()


pytestmark = pytest.mark.usefixtures("one_faiss_thread")  # conftest: tiny Faiss trainings on 2 cores


def write_embeddings(directory: Path, vectors: np.ndarray, ids: list[str] | None = None,
                     encoder: str = "test:enc") -> Path:
    directory.mkdir(parents=True)
    ids = ids if ids is not None else [f"p{i}" for i in range(len(vectors))]
    np.save(directory / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    (directory / "ids.json").write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
    (directory / "meta.json").write_text(json.dumps({
        "encoder": encoder, "field": "passage", "kind": "text", "dim": int(vectors.shape[1]),
        "dtype": "float32", "normalized": False, "count": len(ids), "missing": []}))
    return directory


def clustered(n: int, dim: int, centres: int, seed: int, spread: float = 0.3) -> np.ndarray:
    """Points around `centres` random directions (real embeddings are clustered, unlike plain Gaussians)."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centres, dim))
    return (c[rng.integers(0, centres, n)] + spread * rng.normal(size=(n, dim))).astype(np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


# -- streaming reads --
def test_chunks_cover_every_row_when_the_chunk_size_does_not_divide_n(tmp_path):
    x = np.arange(23 * 3, dtype=np.float32).reshape(23, 3)
    np.save(tmp_path / "v.npy", x)
    vf = open_vectors(tmp_path / "v.npy")
    chunks = list(iter_chunks(vf, 5))
    assert [first for first, _ in chunks] == [0, 5, 10, 15, 20]
    assert [len(c) for _, c in chunks] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), x)
    np.testing.assert_array_equal(vf.read_rows(np.array([7, 2, 3, 7])), x[[7, 2, 3, 7]])
    rows = sample_rows(23, 6, seed=4)
    assert len(set(rows.tolist())) == 6 and (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(read_sample(vf, 6, seed=4), x[rows])
    np.testing.assert_array_equal(sample_rows(23, 6, seed=4), rows)  # seeded
    assert len(sample_rows(23, 100)) == 23


def test_float16_and_float64_files_are_read_as_float32(tmp_path):
    x = np.array([[1.5, -2.0], [0.25, 4.0]])
    for dtype in (np.float16, np.float64):
        np.save(tmp_path / "v.npy", x.astype(dtype))
        got = open_vectors(tmp_path / "v.npy").read(0, 2)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, x.astype(np.float32))


def test_streaming_flat_build_equals_the_in_memory_build(tmp_path):
    x = clustered(1037, 16, 20, seed=1) * 3.0  # not normalised: the build normalises chunk by chunk
    emb = write_embeddings(tmp_path / "emb", x)
    streamed = VectorIndex.build(emb, tmp_path / "idx", chunk_rows=100)  # 100 does not divide 1037
    in_memory = VectorIndex.from_vectors(x, [f"p{i}" for i in range(1037)])
    q = np.random.default_rng(2).normal(size=(25, 16)).astype(np.float32)
    s1, ids1 = streamed.search(q, 10)
    s2, ids2 = in_memory.search(q, 10)
    assert ids1 == ids2
    np.testing.assert_array_equal(s1, s2)
    loaded = VectorIndex.load(tmp_path / "idx")
    s3, ids3 = loaded.search(q, 10)
    assert ids3 == ids1 and np.array_equal(s3, s1)
    assert sorted(p.name for p in (tmp_path / "idx").iterdir()) == ["ids.json", "index.faiss", "meta.json"]


def test_the_build_never_loads_the_whole_vectors_file(tmp_path, monkeypatch):
    emb = write_embeddings(tmp_path / "emb", clustered(300, 8, 5, seed=3))

    def refuse(*args, **kwargs):
        raise AssertionError("np.load must not be used to read vectors.npy")

    monkeypatch.setattr(np, "load", refuse)
    monkeypatch.setattr(np, "memmap", refuse)
    index = build_streaming(emb, tmp_path / "idx", "IVF4,Flat", nprobe=4, chunk_rows=64)
    assert index.count == 300 and index.meta["train_sample"] == 300


# -- exact streaming search --
def test_merge_topk_keeps_the_best_scores_ties_by_label():
    s, lab = merge_topk(np.array([[0.9, 0.5]], np.float32), np.array([[4, 7]]),
                        np.array([[0.5, 0.7]], np.float32), np.array([[2, -1]]), 3)
    np.testing.assert_array_equal(lab, [[4, 2, 7]])  # 0.9, then the two 0.5 by label; the -1 slot is dropped
    np.testing.assert_array_equal(s, np.array([[0.9, 0.5, 0.5]], np.float32))


def test_exact_streaming_search_equals_brute_force(tmp_path):
    x = clustered(531, 12, 8, seed=5)
    np.save(tmp_path / "v.npy", x)
    q = np.random.default_rng(6).normal(size=(9, 12)).astype(np.float32)
    q[4] = np.nan  # a query without an embedding
    scores, labels = exact_search_stream(open_vectors(tmp_path / "v.npy"), q, 15, chunk_rows=97)
    sims = unit(q) @ unit(x).T
    for row in range(9):
        if row == 4:
            assert (labels[4] == -1).all() and np.isneginf(scores[4]).all()
            continue
        expect = np.argsort(-sims[row], kind="stable")[:15]
        np.testing.assert_array_equal(labels[row], expect)
        np.testing.assert_allclose(scores[row], sims[row][expect], rtol=1e-5, atol=1e-6)
    _, all_rows = exact_search_stream(open_vectors(tmp_path / "v.npy"), q[:1], 10_000, chunk_rows=100)
    assert sorted(all_rows[0].tolist()) == list(range(531))  # k beyond n: every row, once


# -- refine --
def test_refine_improves_recall_and_returns_exact_scores(tmp_path):
    x = clustered(3000, 16, 30, seed=7, spread=0.5)
    emb = write_embeddings(tmp_path / "emb", x)
    # 4 bytes per vector (PQ4x4): the compressed ranking is coarse, re-ranking 10x the candidates fixes it
    index = build_streaming(emb, tmp_path / "idx", "IVF8,PQ4x4", nprobe=8, refine=True, refine_factor=10,
                            chunk_rows=700)
    assert (tmp_path / "idx" / REFINE_FILE).exists() and index.meta["refine"] == REFINE_FILE
    loaded = VectorIndex.load(tmp_path / "idx")
    q = x[np.random.default_rng(8).choice(3000, 60, replace=False)] + 0.2
    _, exact = exact_search_stream(open_vectors(emb / "vectors.npy"), q, 10)
    _, plain = loaded.search_labels(q, 10, refine_factor=0)
    scores, refined = loaded.search_labels(q, 10)  # the saved default: 10
    r_plain, r_refined = recall_at_k(exact, plain), recall_at_k(exact, refined)
    assert r_refined >= 0.9 and r_refined > r_plain + 0.2, (r_plain, r_refined)
    stored = np.load(tmp_path / "idx" / REFINE_FILE).astype(np.float32)  # the normalised vectors, float16
    np.testing.assert_allclose(stored, unit(x), atol=1e-3)
    expect = np.einsum("qd,qkd->qk", unit(q), stored[refined])
    np.testing.assert_allclose(scores, expect, rtol=1e-5, atol=1e-6)
    assert (np.diff(scores, axis=1) <= 0).all()


# -- search settings --
def test_search_settings_are_saved_shown_and_overridable(tmp_path):
    emb = write_embeddings(tmp_path / "emb", clustered(800, 8, 10, seed=9))
    res = runner.invoke(app, ["index", "build", str(emb), "--out", str(tmp_path / "idx"), "--factory",
                              "IVF16_HNSW8,Flat", "--nprobe", "2", "--ef-search", "24", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert '"nprobe": 2, "ef_search": 24' in res.output
    info = json.loads(runner.invoke(app, ["index", "info", str(tmp_path / "idx")]).output)
    assert info["nprobe"] == 2 and info["ef_search"] == 24
    assert info["search_params"] == {"nprobe": 2, "ef_search": 24, "refine_factor": None}
    index = VectorIndex.load(tmp_path / "idx")
    ivf = faiss.extract_index_ivf(index.index)
    hnsw = faiss.downcast_index(ivf.quantizer).hnsw
    assert (ivf.nprobe, hnsw.efSearch) == (2, 24)
    q = np.random.default_rng(1).normal(size=(3, 8)).astype(np.float32)
    index.search(q, 5, nprobe=16, ef_search=40)
    assert (ivf.nprobe, hnsw.efSearch) == (16, 40)
    index.search(q, 5)  # no override: back to the saved defaults
    assert (ivf.nprobe, hnsw.efSearch) == (2, 24)
    with pytest.raises(InputError, match="ef_search only applies"):
        build_streaming(emb, tmp_path / "flat", "Flat", ef_search=8)
    with pytest.raises(InputError, match="nprobe only applies"):
        build_streaming(emb, tmp_path / "flat", "Flat", nprobe=8)
    assert not (tmp_path / "flat").exists()


def test_search_command_overrides_settings(tmp_path):
    emb = write_embeddings(tmp_path / "emb", clustered(400, 8, 6, seed=10))
    q = write_embeddings(tmp_path / "q", clustered(5, 8, 6, seed=11), ids=[f"q{i}" for i in range(5)])
    build_streaming(emb, tmp_path / "idx", "IVF8,Flat", nprobe=1)
    base = ["search", "--queries", str(q), "--index", str(tmp_path / "idx"), "--mode", "text-passage",
            "--k", "20", "--no-progress"]
    assert runner.invoke(app, [*base, "--out", str(tmp_path / "a.json")]).exit_code == 0
    res = runner.invoke(app, [*base, "--nprobe", "8", "--out", str(tmp_path / "b.json")])
    assert res.exit_code == 0, res.output
    a = json.loads((tmp_path / "a.json").read_text())["run"]
    b = json.loads((tmp_path / "b.json").read_text())["run"]
    exact = VectorIndex.from_vectors(np.load(emb / "vectors.npy"), [f"p{i}" for i in range(400)])
    _, truth = exact.search(np.load(q / "vectors.npy"), 20)
    # nprobe 8 of 8 lists is exhaustive: the exact top 20; the saved nprobe 1 misses some
    assert [sorted(b[f"q{i}"]) for i in range(5)] == [sorted(t) for t in truth]
    assert [sorted(a[f"q{i}"]) for i in range(5)] != [sorted(t) for t in truth]
    res = runner.invoke(app, [*base, "--refine-factor", "-1", "--out", str(tmp_path / "c.json")])
    assert isinstance(res.exception, InputError) and "--refine-factor must be >= 0" in str(res.exception)


# -- ids --
def test_ids_npy_round_trip_decodes_only_the_hits(tmp_path):
    ids = ["Zürich#0", "東京#1", "a", "plain-id-3", "Ωmega"]
    x = np.eye(5, dtype=np.float32)
    emb = write_embeddings(tmp_path / "emb", x, ids=ids)
    index = build_streaming(emb, tmp_path / "idx", "Flat", ids_format="npy")
    assert index.meta["ids_file"] == "ids.npy" and not (tmp_path / "idx" / "ids.json").exists()
    loaded = VectorIndex.load(tmp_path / "idx")
    assert isinstance(loaded._ids, np.ndarray)  # memory-mapped bytes, not a list of str
    scores, found = loaded.search(x[[1, 4]], 1)
    assert found == [["東京#1"], ["Ωmega"]]
    np.testing.assert_array_equal(loaded.ids_of(np.array([[0, 2], [4, 0]])),
                                  np.array([["Zürich#0", "a"], ["Ωmega", "Zürich#0"]], dtype=object))
    assert isinstance(loaded._ids, np.ndarray)  # still not decoded as a whole
    assert loaded.ids == ids and loaded.count == 5
    in_memory = VectorIndex.from_vectors(x, ids)  # save() writes either format
    in_memory.save(tmp_path / "saved", ids_format="npy")
    assert VectorIndex.load(tmp_path / "saved").search(x[:1], 1)[1] == [["Zürich#0"]]
    in_memory.save(tmp_path / "saved-json")
    assert json.loads((tmp_path / "saved-json" / "ids.json").read_text(encoding="utf-8")) == ids


# -- auto --
def test_auto_factory_choices():
    assert auto_factory(150_000, 768).factory == "Flat"
    big = auto_factory(11_900_000, 768)
    assert big.factory == "PCAR256,IVF65536_HNSW32,PQ128" and big.refine and big.refine_factor == 16
    assert big.train_sample == 1_000_000 and big.nprobe == 128 and big.ef_search >= big.nprobe
    one = auto_factory(1_000_000, 768)  # 1M / 64 per list = 15,625 -> 16,384 lists, 32 training rows each
    assert one.factory == "PCAR256,IVF16384_HNSW32,PQ128" and one.train_sample == 524_288
    assert auto_factory(300_000, 128).factory == "IVF4096_HNSW32,PQ64"  # no PCA below 256 dims; 2 dims a byte
    assert auto_factory(300_000, 90).factory == "IVF4096_HNSW32,PQ45"  # PQ needs m | d


def test_auto_builds_flat_for_a_small_collection(tmp_path):
    emb = write_embeddings(tmp_path / "emb", clustered(50, 4, 3, seed=12))
    index = build_streaming(emb, tmp_path / "idx", "auto")
    assert index.factory == "Flat" and index.refine is None and "refine" not in index.meta


# -- recall of a built index --
def test_recall_command_on_a_built_index(tmp_path):
    x = clustered(600, 8, 10, seed=13)
    emb = write_embeddings(tmp_path / "emb", x)
    q = write_embeddings(tmp_path / "q", x[:40] + 0.05, ids=[f"q{i}" for i in range(40)])
    build_streaming(emb, tmp_path / "flat", "Flat")
    res = runner.invoke(app, ["index", "recall", str(tmp_path / "flat"), "--embeddings", str(emb),
                              "--queries", str(q), "--sample", "10", "--k", "7", "--json", "--no-progress"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["recall"] == 1.0 and out["queries"] == 10 and out["k"] == 7 and out["factory"] == "Flat"
    build_streaming(emb, tmp_path / "ivf", "IVF16,Flat", nprobe=1)
    one = measure_index_recall(tmp_path / "ivf", emb, q, 20)
    every = measure_index_recall(tmp_path / "ivf", emb, q, 20, nprobe=16)
    assert every.recall == 1.0 and one.recall < 1.0 and (one.nprobe, every.nprobe) == (1, 16)
    res = runner.invoke(app, ["index", "recall", "--embeddings", str(emb), "--queries", str(q)])
    assert isinstance(res.exception, InputError) and "INDEX_DIR" in str(res.exception)


# -- bad input --
def test_bad_inputs_are_input_errors(tmp_path):
    x = clustered(200, 8, 4, seed=14)
    emb = write_embeddings(tmp_path / "emb", x)
    index = build_streaming(emb, tmp_path / "idx", "Flat")
    with pytest.raises(InputError, match=r"expected \(n, 8\)"):
        index.search(np.ones((2, 5), np.float32), 3)
    with pytest.raises(InputError, match=r"expected \(n, 8\)"):
        exact_search_stream(open_vectors(emb / "vectors.npy"), np.ones((2, 5), np.float32), 3)
    with pytest.raises(InputError, match=r"expected \(n, 8\)"):
        measure_index_recall(index, emb, np.ones((2, 5), np.float32), 3)
    bad = write_embeddings(tmp_path / "cut", x)
    data = (bad / "vectors.npy").read_bytes()
    (bad / "vectors.npy").write_bytes(data[:-100])  # truncated
    with pytest.raises(InputError, match="truncated") as err:
        build_streaming(bad, tmp_path / "out", "Flat")
    assert "vectors.npy" in str(err.value) and not (tmp_path / "out").exists()
    (bad / "vectors.npy").write_bytes(b"not a numpy file at all")
    with pytest.raises(InputError, match="vectors.npy"):
        build_streaming(bad, tmp_path / "out", "Flat")
    nan = x.copy()
    nan[150, 3] = np.nan
    with pytest.raises(InputError, match="p150"):
        build_streaming(write_embeddings(tmp_path / "nan", nan), tmp_path / "out", "Flat", chunk_rows=64)
    with pytest.raises(InputError, match="p150"):  # found by the training sample too
        build_streaming(tmp_path / "nan", tmp_path / "out", "IVF2,Flat")
    with pytest.raises(InputError, match="refine_factor"):
        index.search(x[:1], 3, refine_factor=-1)
    ivf = build_streaming(emb, tmp_path / "ivf", "IVF4,Flat")
    with pytest.raises(InputError, match="not built from them"):
        measure_index_recall(ivf, write_embeddings(tmp_path / "other", x[:50]), x[:2], 3)


# -- two-level k-means (many lists) --
def test_allocate_splits_lists_in_proportion_without_exceeding_group_sizes():
    from kvqae.index.training import allocate

    np.testing.assert_array_equal(allocate(np.array([10, 5, 1]), 8), [5, 3, 0])  # 5, 2.5, 0.5: ties in order
    np.testing.assert_array_equal(allocate(np.array([1, 10]), 6), [1, 5])
    np.testing.assert_array_equal(allocate(np.array([2, 2, 100]), 90), [2, 2, 86])
    with pytest.raises(ValueError):
        allocate(np.array([2, 3]), 6)


def test_two_level_training_fills_the_quantizer(tmp_path, monkeypatch):
    import kvqae.index.training as kmeans

    monkeypatch.setattr(kmeans, "TWO_LEVEL_MIN_NLIST", 16)  # use it on a small index
    x = clustered(2000, 8, 40, seed=15)
    centres = kmeans.two_level_centroids(unit(x), 64, seed=1)
    assert centres.shape == (64, 8)
    np.testing.assert_allclose(np.linalg.norm(centres, axis=1), 1.0, rtol=1e-5)
    emb = write_embeddings(tmp_path / "emb", x)
    index = build_streaming(emb, tmp_path / "idx", "IVF64,Flat", nprobe=64)
    assert faiss.extract_index_ivf(index.index).quantizer.ntotal == 64
    q = x[:20] + 0.1
    _, exact = exact_search_stream(open_vectors(emb / "vectors.npy"), q, 10)
    assert recall_at_k(exact, index.search_labels(q, 10)[1]) == 1.0  # every list probed: exact
    lists = faiss.extract_index_ivf(index.index).invlists
    sizes = np.array([lists.list_size(i) for i in range(64)])
    assert sizes.sum() == 2000 and (sizes > 0).sum() >= 48  # the lists are used, not a few giant ones


def _share_in_nearest_list(index: VectorIndex, vectors: np.ndarray) -> float:
    """Share of the indexed vectors stored in the inverted list of their exactly nearest centre."""
    ivf = faiss.extract_index_ivf(index.index)
    hnsw_quantizer = faiss.downcast_index(ivf.quantizer)
    centres = faiss.downcast_index(hnsw_quantizer.storage).reconstruct_n(0, ivf.nlist)
    nearest = np.argmax(unit(vectors) @ centres.T, axis=1)
    stored = np.empty(len(vectors), dtype=np.int64)
    for lst in range(ivf.nlist):
        n = ivf.invlists.list_size(lst)
        if n:
            stored[faiss.rev_swig_ptr(ivf.invlists.get_ids(lst), n)] = lst
    return float(np.mean(stored == nearest))


def test_add_ef_search_finds_each_vectors_nearest_list(tmp_path):
    vectors = clustered(6000, 16, 300, seed=4, spread=0.6)
    emb = write_embeddings(tmp_path / "emb", vectors)
    shares = {}
    for ef in (1, 256):
        index = build_streaming(emb, tmp_path / f"idx{ef}", "IVF256_HNSW4,Flat", add_ef_search=ef,
                                ef_search=32)
        assert index.meta["add_ef_search"] == ef
        shares[ef] = _share_in_nearest_list(index, vectors)
        # the saved search breadth, not the one used while adding, applies on load
        loaded = VectorIndex.load(tmp_path / f"idx{ef}")
        assert faiss.downcast_index(faiss.extract_index_ivf(loaded.index).quantizer).hnsw.efSearch == 32
    # a greedy one-candidate walk of a sparse graph misplaces vectors; 256 candidates over 256 centres cannot
    assert shares[256] == 1.0 and shares[1] < 0.99
    with pytest.raises(InputError, match="ef_search only applies"):
        build_streaming(emb, tmp_path / "flat", "Flat", add_ef_search=8)
    assert not (tmp_path / "flat").exists()

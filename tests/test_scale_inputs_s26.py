"""Inputs session 26's fuzz sweep of the scale path found mishandled: a sharded build that read the whole
store, a loaded refine index and a running build that reopened their files by path (a folder rebuilt or
replaced meanwhile mixed two versions), `index recall` against embeddings of another encoder or field,
control characters in store ids, all-zero query vectors answered with arbitrary passages, and three
benchmark scripts (an evaluate step that failed with exit 0, `--skip-build` on a stale index, a small
sample's spectrum)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest

from cli_run import kvqae
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.index import VectorIndex
from kvqae.index.build import build_streaming, open_embeddings
from kvqae.index.recall import measure_index_recall
from kvqae.index.refine import REFINE_FILE
from kvqae.index.shards import build_sharded
from kvqae.index.stream import exact_search_stream, open_vectors

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))


pytestmark = pytest.mark.usefixtures("one_faiss_thread")  # conftest: tiny Faiss trainings on 2 cores


def store(directory: Path, vectors: np.ndarray, ids: list[str] | None = None, *, encoder: str = "test:enc",
          field: str = "passage", kind: str = "text") -> Path:
    """A hand-made embeddings store (vectors.npy, ids.json, meta.json)."""
    directory.mkdir(parents=True)
    ids = ids if ids is not None else [f"p{i}" for i in range(len(vectors))]
    np.save(directory / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    (directory / "ids.json").write_text(json.dumps(ids), encoding="utf-8")
    (directory / "meta.json").write_text(json.dumps({
        "encoder": encoder, "field": field, "kind": kind, "dim": int(vectors.shape[1]), "count": len(ids),
        "missing": []}), encoding="utf-8")
    return directory


def swap_in(path: Path, vectors: np.ndarray, **meta) -> None:
    """Replace the store `path` as `encode` does: the new folder written beside it, then renamed over it."""
    new = path.with_name(path.name + ".new")
    store(new, vectors, **meta)
    old = path.with_name(path.name + ".old")
    os.replace(path, old)
    os.replace(new, path)
    shutil.rmtree(old)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def rng_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


# -- 1. a sharded build streams its shards' rows ------------------------------------------------------------
def test_sharded_build_streams_the_store_instead_of_loading_it(tmp_path, monkeypatch):
    x = rng_vectors(90, 6, seed=1)
    emb = store(tmp_path / "emb", x.astype(np.float16))  # a float16 store was copied whole to float32

    def refuse(*args, **kwargs):
        raise AssertionError("the sharded build must not map or load the whole vectors.npy")

    monkeypatch.setattr(np, "load", refuse)
    monkeypatch.setattr(np, "memmap", refuse)
    sharded = build_sharded(emb, tmp_path / "idx", 3, "Flat", chunk_rows=7)
    monkeypatch.undo()
    whole = VectorIndex.build(emb, tmp_path / "whole")
    q = rng_vectors(5, 6, seed=2)
    s1, ids1 = sharded.search(q, 10)
    s2, ids2 = whole.search(q, 10)
    assert ids1 == ids2
    np.testing.assert_allclose(s1, s2, atol=1e-6)
    assert [e["count"] for e in sharded.meta["shards"]] == [30, 30, 30]
    assert not list(tmp_path.glob("idx/*.embeddings"))  # no copy of the rows per shard any more


def test_a_nan_in_a_later_shard_names_the_store_and_leaves_no_index(tmp_path):
    x = rng_vectors(40, 4, seed=3)
    x[33, 1] = np.nan
    emb = store(tmp_path / "emb", x)
    with pytest.raises(InputError, match=r"emb/vectors\.npy: p33: .*NaN/inf"):
        build_sharded(emb, tmp_path / "idx", 2, "Flat", chunk_rows=8)
    assert not (tmp_path / "idx").exists()


# -- 2. a loaded refine index keeps reading the refine file it loaded ---------------------------------------
def test_a_loaded_refine_index_keeps_its_refine_file_when_the_folder_is_rebuilt(tmp_path):
    old_x, new_x = rng_vectors(60, 8, seed=4), rng_vectors(60, 8, seed=5)
    build_streaming(store(tmp_path / "old", old_x), tmp_path / "idx", "Flat", refine=True, refine_factor=3)
    loaded = VectorIndex.load(tmp_path / "idx")  # what `kvqae serve` holds
    build_streaming(store(tmp_path / "new", new_x), tmp_path / "idx", "Flat", refine=True, refine_factor=3)
    q = rng_vectors(4, 8, seed=6)
    scores, labels = loaded.search_labels(q, 5)
    expect = np.einsum("qd,qkd->qk", unit(q), unit(old_x)[labels])  # the old vectors, not the new file's
    np.testing.assert_allclose(scores, expect, atol=2e-3)
    loaded.save(tmp_path / "copy")  # the copy holds the refine file the index reads, too
    copied = np.load(tmp_path / "copy" / REFINE_FILE).astype(np.float32)
    np.testing.assert_allclose(copied, unit(old_x), atol=2e-3)


# -- 3. a build reads one store, even if it is replaced meanwhile -------------------------------------------
def test_a_store_replaced_mid_build_does_not_mix_into_the_index(tmp_path, monkeypatch):
    import kvqae.index.faiss_index as faiss_index

    old_x, new_x = rng_vectors(16, 4, seed=7), rng_vectors(16, 4, seed=8)
    emb = store(tmp_path / "emb", old_x)
    add = faiss_index.add_vectors
    calls = []

    def add_then_replace(index, chunk, factory):
        add(index, chunk, factory)
        calls.append(len(chunk))
        if len(calls) == 1:  # an `encode` of the same items finishes while the build runs
            swap_in(emb, new_x)

    monkeypatch.setattr(faiss_index, "add_vectors", add_then_replace)  # imported by the build at its start
    index = build_streaming(emb, tmp_path / "idx", "Flat", chunk_rows=4)
    assert calls == [4, 4, 4, 4]
    np.testing.assert_allclose(index.index.reconstruct_n(0, 16), unit(old_x), atol=1e-6)


def test_a_store_replaced_while_being_opened_is_opened_again(tmp_path, monkeypatch):
    import kvqae.index.embeddings as embeddings

    emb = store(tmp_path / "emb", rng_vectors(5, 3, seed=9), [f"a{i}" for i in range(5)])
    read = embeddings.read_meta_and_ids
    calls = []

    def read_then_replace(directory):
        out = read(directory)
        calls.append(1)
        if len(calls) == 1:  # ids and meta read from the old folder, the vectors would come from the new
            swap_in(emb, rng_vectors(5, 3, seed=10), ids=[f"b{i}" for i in range(5)])
        return out

    monkeypatch.setattr(embeddings, "read_meta_and_ids", read_then_replace)
    src = open_embeddings(emb)
    assert len(calls) == 2 and src.ids[0] == "b0"
    np.testing.assert_array_equal(src.vectors.read(0, 5), np.load(emb / "vectors.npy"))


# -- 4. index recall refuses embeddings of another encoder or field -----------------------------------------
@pytest.mark.parametrize("other, field_name", [({"encoder": "test:other"}, "encoder"),
                                               ({"field": "title"}, "field")])
def test_index_recall_refuses_embeddings_the_index_was_not_built_from(tmp_path, monkeypatch, capsys, other,
                                                                      field_name):
    x = rng_vectors(50, 6, seed=11)
    build_streaming(store(tmp_path / "emb", x), tmp_path / "idx", "Flat")
    twin = store(tmp_path / "twin", rng_vectors(50, 6, seed=12), **other)  # same count and dim
    queries = store(tmp_path / "q", rng_vectors(3, 6, seed=13), [f"q{i}" for i in range(3)],
                    field="question")
    with pytest.raises(InputError, match=rf'twin/meta\.json: field "{field_name}": the embeddings are'):
        measure_index_recall(tmp_path / "idx", twin, queries, 5)
    code, err = kvqae(monkeypatch, capsys, "index", "recall", tmp_path / "idx", "--embeddings", twin,
                      "--queries", queries, "--k", "5", "--no-progress")
    assert code == 2 and err.count("\n") == 1 and f'field "{field_name}"' in err
    assert measure_index_recall(tmp_path / "idx", tmp_path / "emb", queries, 5).recall == 1.0


# -- 5. control characters in store ids ---------------------------------------------------------------------
def test_control_characters_in_store_ids_are_refused_at_build_and_search(tmp_path, monkeypatch, capsys):
    bad = store(tmp_path / "bad", rng_vectors(3, 4, seed=14), ["ok", "end\x7f", "x"])
    code, err = kvqae(monkeypatch, capsys, "index", "build", bad, "--out", tmp_path / "idx", "--no-progress")
    assert code == 2 and err.count("\n") == 1
    assert "bad/ids.json: position 2:" in err and "control character '\\x7f'" in err
    assert not (tmp_path / "idx").exists()
    code, err = kvqae(monkeypatch, capsys, "index", "build", bad, "--out", tmp_path / "idx", "--shards", "2",
                      "--no-progress")
    assert code == 2 and "position 2" in err
    good = store(tmp_path / "good", rng_vectors(3, 4, seed=15))
    VectorIndex.build(good, tmp_path / "idx")
    queries = store(tmp_path / "q", rng_vectors(2, 4, seed=16), ["q1", "tab\tin"], field="question")
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", queries, "--index", tmp_path / "idx",
                      "--mode", "text-passage", "--out", tmp_path / "run.json", "--no-progress")
    assert code == 2 and "q/ids.json: position 2:" in err and "'\\t'" in err
    assert not (tmp_path / "run.json").exists()


# -- 6. all-zero vectors ------------------------------------------------------------------------------------
def test_an_all_zero_query_gets_no_results_and_a_note(tmp_path, monkeypatch, capsys):
    x = rng_vectors(20, 4, seed=17)
    x[3] = 0.0  # noted, not refused, at build
    code, err = kvqae(monkeypatch, capsys, "index", "build", store(tmp_path / "emb", x), "--out",
                      tmp_path / "idx", "--no-progress")
    assert code == 0 and "note: 1 of 20 vectors are all zero" in err
    q = np.zeros((3, 4), np.float32)
    q[0] = x[5]
    q[2] = np.nan
    queries = store(tmp_path / "q", q, ["q0", "zero", "nan"], field="question")
    code, err = kvqae(monkeypatch, capsys, "search", "--queries", queries, "--index", tmp_path / "idx",
                      "--mode", "text-passage", "--k", "4", "--out", tmp_path / "run.json", "--no-progress")
    assert code == 0 and "note: 1 of 3 queries have an all-zero vector" in err
    run = Run.load(tmp_path / "run.json")
    assert run.scores["zero"] == {} and run.scores["nan"] == {} and len(run.scores["q0"]) == 4
    index = VectorIndex.load(tmp_path / "idx")
    assert index.meta["zero_vectors"] == 1
    _, labels = index.search_labels(q, 4)
    _, exact = exact_search_stream(open_vectors(tmp_path / "emb" / "vectors.npy"), q, 4)
    assert (labels[1:] == -1).all() and (exact[1:] == -1).all() and (labels[0] >= 0).all()


# -- 7. bench_scale_pipeline: the evaluate step runs, a failed step fails the script ------------------------
def test_scale_pipeline_evaluate_step_runs_and_a_failed_step_exits_non_zero(tmp_path):
    import bench_scale_pipeline as bench

    args = Namespace(entities=12, passages=40, queries=3, top=4, seed=0)
    bench.prepare(tmp_path / "w", args)
    for step in ("map", "fuse"):
        bench.run_step(step, "new", tmp_path / "w")
    result = bench.run_step("evaluate", "new", tmp_path / "w")  # was a TypeError: missing 'ctx'
    assert set(result["mean"]) == {"fused", "text-passage"}
    assert (tmp_path / "w" / "report_new" / "qrels.json").is_file()
    with pytest.raises(SystemExit) as stop:  # evaluate without fuse's output: the step fails
        bench.main(["--entities", "12", "--passages", "40", "--queries", "3", "--top", "4", "--work",
                    str(tmp_path / "w2"), "--steps", "evaluate", "--no-old", "--timeout", "120"])
    assert stop.value.code == 1


# -- 8. bench_scale_p4: --skip-build on another index, the report's real k and threads ----------------------
def test_scale_p4_refuses_a_stale_index_and_reports_the_real_k_and_threads(tmp_path, capsys):
    import bench_scale_p4 as p4

    def key(**changes):
        given = {"n": 1000, "seed": 0, "factory": "auto", "generator": "", **changes}
        return p4.build_key(Namespace(**given))

    (tmp_path / "index").mkdir()
    with pytest.raises(SystemExit, match="index_built_for.json missing"):
        p4.check_skip_build(tmp_path, key())
    p4.record_build(tmp_path, key())
    p4.check_skip_build(tmp_path, key())  # the same vectors and factory: reused
    for changed in ({"n": 2000}, {"seed": 1}, {"factory": "Flat"}, {"generator": "identity=5"}):
        with pytest.raises(SystemExit, match="--skip-build: the index .* was built for other"):
            p4.check_skip_build(tmp_path, key(**changed))
    search = {"params": {}, "cache": "as-is", "recall": 1.0, "qps_batched": 500.0, "qps_single": 90.0,
              "search_rss_gb": 0.2}
    p4.report({"n": 1000, "dim": 64, "k": 10, "threads": 4, "exact": {}, "search": [search],
               "distributions": {}})
    out = capsys.readouterr().out
    assert "1,000 x 64 (4 threads)" in out and "| recall@10 |" in out and "recall@100 |" not in out


# -- 9. scale_vectors: fewer passages than 2/3 of the dimension ---------------------------------------------
def test_scale_vectors_profile_of_a_small_sample(tmp_path):
    from scale_vectors import Generator, VectorModel, profile, spectrum

    small = VectorModel(dim=64, topics=8, global_rank=4, rank=4, passages_per_entity=2.0)
    gen = Generator(small, 10)  # 10 passages, 64-d: 2/3 of the dimension is 43 components
    passages = np.concatenate(list(gen.chunks()))
    q, about = gen.queries(5)
    pca = profile(q, passages, gen.owner, about)["spectrum"]["pca"]
    assert len(pca) == 5 and pca == sorted(pca) and pca[-1] == 1.0
    assert spectrum(passages[:1])["pca"] == [1.0] * 5  # one passage: no variance, no division by zero
    big = spectrum(np.random.default_rng(0).normal(size=(200, 24)))["pca"]
    assert big[-1] < 1.0  # enough passages: unchanged

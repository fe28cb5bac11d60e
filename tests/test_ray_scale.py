"""Scale-out on Ray: Ray-encoded embeddings equal local ones (and resume), sharded search equals unsharded
search in one process and with one Ray actor per shard, and bad `--ray` addresses fail with one clear error.

The tests that run work on Ray share one local Ray with 2 CPUs (started once, shut down at the end). They
are marked slow: each Ray worker process imports torch / faiss, and the four took 2 minutes on the shared
2-core machine at load 4-6 (Ray start 8 s, each encode test 45-50 s; 3-4 minutes at load 11-14); the
sharding, merging and address tests run without Ray, in about 15 s, in the default suite."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.encode.base import Encoder
from kvqae.encode.registry import load_encoder
from kvqae.encode.store import encode_kb, encode_to_dir, partial_dir
from kvqae.errors import InputError
from kvqae.index.faiss_index import VectorIndex
from kvqae.index.shards import ShardedIndex, build_sharded, merge_shard_results, shard_ranges
from kvqae.io import write_json

runner = CliRunner()
on_ray = pytest.mark.slow  # starts Ray worker processes (see the module docstring)
# Inner products may differ in the last float bits between Faiss calls on different matrix shapes / thread
# counts (BLAS blocking): scores are compared to 1e-6, ids exactly.
ATOL = 1e-6


def same_runs(a: dict, b: dict) -> bool:
    """Two run files' `run` mappings: the same queries, the same ids in the same order, scores within ATOL."""
    return list(a) == list(b) and all(
        list(a[q]) == list(b[q]) and np.allclose(list(a[q].values()), list(b[q].values()), rtol=0, atol=ATOL)
        for q in a)


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        try:
            ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
        except Exception as e:  # noqa: BLE001 - any failure to start means this machine cannot run Ray
            pytest.skip(f"a local Ray cannot start here: {e}")
    yield ray
    ray.shutdown()


def write_embeddings(directory: Path, vectors: np.ndarray, *, field: str, kind: str, prefix: str) -> Path:
    directory.mkdir(parents=True)
    np.save(directory / "vectors.npy", np.asarray(vectors, dtype=np.float32))
    (directory / "ids.json").write_text(json.dumps([f"{prefix}{i}" for i in range(len(vectors))]))
    write_json(directory / "meta.json", {"encoder": "fake:enc", "field": field, "kind": kind,
                                         "dim": int(vectors.shape[1]), "count": len(vectors), "missing": []})
    return directory


@pytest.fixture(scope="module")
def vectors(tmp_path_factory) -> dict[str, Path]:
    """103 random passage vectors (dim 16), their unsharded Flat index, and 30 query vectors (one NaN row)."""
    root = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(7)
    kb = write_embeddings(root / "kb", rng.normal(size=(103, 16)), field="passage", kind="text", prefix="p")
    q = rng.normal(size=(30, 16))
    q[3] = np.nan
    queries = write_embeddings(root / "q", q, field="question", kind="text", prefix="q")
    VectorIndex.build(kb, root / "full")
    return {"root": root, "kb": kb, "queries": queries, "full": root / "full"}


# ---------------------------------------------------------------------------------------- sharding, no Ray


def test_shard_ranges_hand_computed():
    assert shard_ranges(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert shard_ranges(3, 5) == [(0, 1), (1, 2), (2, 3)]  # more shards than rows: one row each
    assert shard_ranges(0, 4) == [(0, 0)]
    assert shard_ranges(7, 1) == [(0, 7)]
    with pytest.raises(InputError, match="must be >= 1"):
        shard_ranges(5, 0)


def test_merge_orders_by_score_then_global_row():
    # shard A (offset 0): rows 1, 0; shard B (offset 2): its rows 0, 1 = global 2, 3; 0.9 is a tie
    a = (np.array([[0.9, 0.5]], np.float32), np.array([[1, 0]]))
    b = (np.array([[0.9, 0.7]], np.float32), np.array([[0, 1]]))
    scores, labels = merge_shard_results([a, b], [0, 2], 3)
    assert labels.tolist() == [[1, 2, 3]]
    np.testing.assert_array_equal(scores, np.array([[0.9, 0.9, 0.7]], np.float32))
    empty = (np.array([[-np.inf]], np.float32), np.array([[-1]]))  # an unfilled slot stays last
    scores, labels = merge_shard_results([empty, (np.array([[0.1]], np.float32), np.array([[0]]))], [0, 5], 2)
    assert labels.tolist() == [[5, -1]] and scores[0, 1] == -np.inf


@pytest.mark.parametrize("shards", [1, 4])
def test_sharded_search_in_process_equals_unsharded(vectors, shards):
    sharded = build_sharded(vectors["kb"], vectors["root"] / f"s{shards}", shards)
    assert sharded.n_shards == shards and sharded.count == 103
    assert [e["count"] for e in sharded.meta["shards"]] == ([103] if shards == 1 else [26, 26, 26, 25])
    full = VectorIndex.load(vectors["full"])
    q = np.load(vectors["queries"] / "vectors.npy")
    for k in (1, 10, 103, 400):
        s_full, ids_full = full.search(q, k)
        s_sh, ids_sh = sharded.search(q, k)
        assert ids_sh == ids_full
        np.testing.assert_allclose(s_sh, s_full, rtol=0, atol=ATOL)
    assert ids_sh[3] == [] and ShardedIndex.load(vectors["root"] / f"s{shards}").count == 103


def test_more_shards_than_vectors_in_process(tmp_path):
    rng = np.random.default_rng(3)
    kb = write_embeddings(tmp_path / "kb", rng.normal(size=(5, 8)), field="passage", kind="text", prefix="p")
    sharded = build_sharded(kb, tmp_path / "s", 9)
    assert sharded.n_shards == 5 and [e["offset"] for e in sharded.meta["shards"]] == [0, 1, 2, 3, 4]
    q = rng.normal(size=(4, 8))
    full = VectorIndex.build(kb, tmp_path / "full")
    for k in (1, 3, 5, 9):
        s_full, ids_full = full.search(q, k)
        s_sh, ids_sh = sharded.search(q, k)
        assert ids_sh == ids_full and len(ids_sh[0]) == min(k, 5)
        np.testing.assert_allclose(s_sh, s_full, rtol=0, atol=ATOL)


def test_sharded_cli_build_info_and_search_without_ray(vectors, tmp_path):
    idx = tmp_path / "idx"
    res = runner.invoke(app, ["index", "build", str(vectors["kb"]), "--out", str(idx), "--shards", "3",
                              "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "3 shards of 34 to 35 vectors" in res.output
    assert sorted(p.name for p in idx.iterdir()) == ["meta.json", "shard-000", "shard-001", "shard-002"]
    info = json.loads(runner.invoke(app, ["index", "info", str(idx)]).output)
    assert info["n_shards"] == 3 and info["count"] == 103 and info["kind"] == "kvqae-sharded-index"
    assert [(s["offset"], s["ntotal"]) for s in info["shards"]] == [(0, 35), (35, 34), (69, 34)]
    # the shard is a normal index directory
    assert VectorIndex.load(idx / "shard-001").ids[0] == "p35"
    # rebuilding over the same --out is allowed (it is an index), and the search equals the unsharded one
    assert runner.invoke(app, ["index", "build", str(vectors["kb"]), "--out", str(idx), "--shards", "2",
                               "--no-progress"]).exit_code == 0
    runs = {}
    for name, index in (("full", vectors["full"]), ("sharded", idx)):
        res = runner.invoke(app, ["search", "--queries", str(vectors["queries"]), "--index", str(index),
                                  "--k", "7", "--out", str(tmp_path / f"{name}.json"), "--no-progress"])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads((tmp_path / f"{name}.json").read_text())["run"]
    assert same_runs(runs["sharded"], runs["full"])


def test_shards_option_errors(vectors, tmp_path):
    res = runner.invoke(app, ["index", "build", str(vectors["kb"]), "--out", str(tmp_path / "x"), "--shards",
                              "0"])
    assert res.exit_code != 0 and not (tmp_path / "x").exists()
    res = runner.invoke(app, ["index", "build", str(vectors["kb"]), "--out", str(tmp_path / "x"), "--shards",
                              "2", "--bm25"])
    assert isinstance(res.exception, InputError) and "BM25" in str(res.exception)


# ---------------------------------------------------------------------------------------- addresses


def test_bad_addresses_fail_with_one_clear_error(vectors, tmp_path):
    from kvqae.ray_cluster import parse_address, ray_session

    assert parse_address(None) == ("", None) and parse_address("auto") == ("auto", None)
    assert parse_address("ray://head.example:10001") == ("ray://head.example:10001", ("head.example", 10001))
    for bad in ("nonsense", "ray://", "host:99999", "http://x:1"):
        with pytest.raises(InputError, match="expected local, auto, HOST:PORT or ray://HOST:PORT"):
            parse_address(bad)
    unreachable = pytest.raises(InputError, match="cannot reach a Ray cluster at 127.0.0.1:1")
    with unreachable, ray_session("127.0.0.1:1"):
        pass
    res = runner.invoke(app, ["encode", "kb", str(tmp_path), "-e", "st:minilm", "-f", "passage", "--out",
                              str(tmp_path / "e"), "--ray", "not an address"])
    assert isinstance(res.exception, InputError) and "--ray" in str(res.exception)
    res = runner.invoke(app, ["encode", "kb", str(tmp_path), "-e", "st:minilm", "-f", "passage", "--out",
                              str(tmp_path / "e"), "--ray-actors", "2"])
    assert isinstance(res.exception, InputError) and "--ray-actors needs --ray" in str(res.exception)
    # --ray on an unsharded index: refused before anything runs
    res = runner.invoke(app, ["search", "--queries", str(vectors["queries"]), "--index", str(vectors["full"]),
                              "--out", str(tmp_path / "r.json"), "--ray", "local"])
    assert isinstance(res.exception, InputError) and "sharded index" in str(res.exception)


# ---------------------------------------------------------------------------------------- on Ray


@on_ray
def test_ray_search_equals_unsharded(ray_local, vectors, tmp_path):
    from kvqae.search.ray_search import ray_sharded_index

    build_sharded(vectors["kb"], tmp_path / "s3", 3)
    full = VectorIndex.load(vectors["full"])
    q = np.load(vectors["queries"] / "vectors.npy")
    with ray_sharded_index(tmp_path / "s3", "local") as idx:
        assert len(idx.actors) == 3
        for k in (1, 10, 400):
            s_full, ids_full = full.search(q, k)
            s_ray, ids_ray = idx.search(q, k)
            assert ids_ray == ids_full
            np.testing.assert_allclose(s_ray, s_full, rtol=0, atol=ATOL)
    assert ray_local.is_initialized()  # the module's Ray was reused, not shut down

    # through the CLI: the run file equals the unsharded search's
    runs = {}
    for name, extra in (("full", ["--index", str(vectors["full"])]),
                        ("ray", ["--index", str(tmp_path / "s3"), "--ray", "local"])):
        res = runner.invoke(app, ["search", "--queries", str(vectors["queries"]), *extra, "--k", "5",
                                  "--out", str(tmp_path / f"{name}.json"), "--no-progress"])
        assert res.exit_code == 0, res.output
        runs[name] = json.loads((tmp_path / f"{name}.json").read_text())["run"]
    assert same_runs(runs["ray"], runs["full"])
    assert len(runs["ray"]) == 30 and runs["ray"]["q3"] == {}


@on_ray
def test_ray_search_more_shards_than_vectors(ray_local, tmp_path):
    from kvqae.search.ray_search import ray_sharded_index

    kb = write_embeddings(tmp_path / "kb", np.eye(2, 4), field="passage", kind="text", prefix="p")
    build_sharded(kb, tmp_path / "s", 5)
    with ray_sharded_index(tmp_path / "s", None) as idx:
        assert len(idx.actors) == 2
        scores, ids = idx.search(np.array([[0.0, 1.0, 0, 0], [1.0, 0.2, 0, 0]]), 5)
    assert ids == [["p1", "p0"], ["p0", "p1"]]
    np.testing.assert_allclose(scores, [[1.0, 0.0], [1 / np.sqrt(1.04), 0.2 / np.sqrt(1.04)]], atol=1e-6)
    # a shard gone missing is one InputError naming it, before any actor starts
    shutil.rmtree(tmp_path / "s" / "shard-001")
    with pytest.raises(InputError, match="shard-001"), ray_sharded_index(tmp_path / "s", None):
        pass


class FakeRay:
    def __init__(self, **resources: float) -> None:
        self.resources = resources

    def cluster_resources(self) -> dict[str, float]:
        return self.resources


def test_actor_pool_one_per_gpu_else_per_cpu():
    from kvqae.encode.ray_encode import _pool

    assert _pool(FakeRay(CPU=2.0), 10, None, None) == (2, False)
    assert _pool(FakeRay(CPU=64.0, GPU=4.0), 10, None, None) == (4, True)
    assert _pool(FakeRay(CPU=64.0, GPU=4.0), 3, None, None) == (3, True)  # never more actors than shards
    assert _pool(FakeRay(CPU=64.0, GPU=4.0), 10, 2, False) == (2, False)
    with pytest.raises(InputError, match="has none"):
        _pool(FakeRay(CPU=8.0), 10, None, True)


class Crashing(Encoder):
    """A real encoder that raises after `calls` batches (a simulated interruption)."""

    def __init__(self, inner: Encoder, calls: int) -> None:
        self.inner, self.left = inner, calls
        self.spec, self.dim, self.modalities = inner.spec, inner.dim, inner.modalities
        self.normalized, self.image_size = inner.normalized, inner.image_size

    def encode_texts(self, texts, role="passage"):
        if self.left == 0:
            raise KeyboardInterrupt("simulated interruption")
        self.left -= 1
        return self.inner.encode_texts(texts, role)


@on_ray
def test_ray_encode_resumes_and_equals_local(ray_local, prose_kb, tmp_path):
    """One Ray run (the costly part: each actor loads torch and the model) checks both: it resumes a local
    run that died after 2 of 4 shards, and the shards it encodes equal the local ones."""
    from kvqae.encode.store import kb_items

    minilm = load_encoder("st:minilm")
    local = encode_kb(prose_kb, minilm, "passage", tmp_path / "local", batch_size=3, progress=False)
    want = np.load(local / "vectors.npy")
    assert want.shape == (12, 384)  # 4 shards of 3 passages

    ids, items, kind, role = kb_items(prose_kb, "passage")
    out = tmp_path / "ray"
    with pytest.raises(KeyboardInterrupt):
        encode_to_dir(Crashing(minilm, 2), ids, items, kind=kind, role=role, field="passage", out_dir=out,
                      batch_size=3, progress=False)
    assert len(list(partial_dir(out).glob("shard-*.npy"))) == 2
    # markers: shards found in the partial directory are reused, not encoded again
    np.save(partial_dir(out) / "shard-000000.npy", np.full((3, 384), 0.5, np.float32))
    np.save(partial_dir(out) / "shard-000001.npy", np.full((3, 384), 0.25, np.float32))

    res = runner.invoke(app, ["encode", "kb", str(prose_kb.path), "-e", "st:minilm", "-f", "passage", "--out",
                              str(out), "--batch-size", "3", "--ray", "local", "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "wrote" in res.output and "12 vectors of dim 384" in res.output
    for name in ("ids.json", "meta.json"):
        assert (out / name).read_text() == (local / name).read_text()
    got = np.load(out / "vectors.npy")
    np.testing.assert_array_equal(got[:3], 0.5)
    np.testing.assert_array_equal(got[3:6], 0.25)
    np.testing.assert_allclose(got[6:], want[6:], atol=1e-6)  # shards 2-3, encoded on Ray
    assert not partial_dir(out).exists()


@on_ray
def test_ray_encode_images_and_unreadable_image(ray_local, tiny_clip, tmp_path):
    from PIL import Image

    from kvqae.encode.ray_encode import encode_to_dir_ray

    ids, paths = [], []
    for i in range(7):
        p = tmp_path / f"img{i}.{'jpg' if i % 2 else 'png'}"
        Image.new("RGB", (60, 50), (30 * i, 200 - 20 * i, (70 * i) % 256)).save(p)
        ids.append(f"e{i}")
        paths.append(str(p))
    spec = f"clip:{tiny_clip}"
    local = encode_to_dir(load_encoder(spec), ids, paths, kind="image", field="image",
                          out_dir=tmp_path / "loc", batch_size=3, progress=False)
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
    out = tmp_path / "ray"
    # the worker's InputError comes back as the local one (file and id); the good shards stay for a resume
    with pytest.raises(InputError, match=r"broken\.jpg: id zz: field \"image\": unreadable image"):
        encode_to_dir_ray(spec, [*ids, "zz"], [*paths, str(bad)], kind="image", role="passage", field="image",
                          out_dir=out, address="local", batch_size=3, progress=False)
    assert not out.exists()
    encode_to_dir_ray(spec, ids, paths, kind="image", role="passage", field="image", out_dir=out,
                      address="local", batch_size=3, progress=False)
    assert (out / "meta.json").read_text() == (local / "meta.json").read_text()
    np.testing.assert_allclose(np.load(out / "vectors.npy"), np.load(local / "vectors.npy"), atol=1e-6)

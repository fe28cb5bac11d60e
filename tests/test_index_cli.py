"""`kvqae index build / info / recall` through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.errors import InputError

runner = CliRunner()


def write_embeddings(directory: Path, vectors: np.ndarray, ids: list[str], encoder: str = "test:enc",
                     field: str = "image", kind: str = "image") -> Path:
    directory.mkdir(parents=True)
    np.save(directory / "vectors.npy", vectors.astype(np.float32))
    (directory / "ids.json").write_text(json.dumps(ids))
    (directory / "meta.json").write_text(json.dumps({
        "encoder": encoder, "field": field, "kind": kind, "dim": int(vectors.shape[1]), "dtype": "float32",
        "normalized": False, "count": len(ids), "missing": []}))
    return directory


@pytest.fixture()
def dirs(tmp_path):
    rng = np.random.default_rng(3)
    emb = write_embeddings(tmp_path / "emb", rng.normal(size=(400, 12)), [f"E{i}" for i in range(400)])
    qemb = write_embeddings(tmp_path / "q", rng.normal(size=(30, 12)), [f"q{i}" for i in range(30)])
    return tmp_path, emb, qemb


def test_build_and_info(dirs):
    tmp, emb, _ = dirs
    res = runner.invoke(app, ["index", "build", str(emb), "--out", str(tmp / "idx")])
    assert res.exit_code == 0, res.output
    assert "indexed 400 vectors (dim 12, Flat)" in res.output
    res = runner.invoke(app, ["index", "info", str(tmp / "idx")])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["count"] == 400 and info["dim"] == 12 and info["factory"] == "Flat" and info["metric"] == "ip"
    assert info["faiss_type"] == "IndexFlatIP" and info["encoder"] == "test:enc"


def test_build_with_factory(dirs):
    tmp, emb, _ = dirs
    res = runner.invoke(app, ["index", "build", str(emb), "--out", str(tmp / "ivf"), "--factory", "IVF4,Flat",
                              "--nprobe", "2"])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp / "ivf" / "meta.json").read_text())
    assert meta["factory"] == "IVF4,Flat" and meta["nprobe"] == 2


def test_recall_command(dirs):
    _, emb, qemb = dirs
    args = ["index", "recall", "--embeddings", str(emb), "--queries", str(qemb), "--factory", "IVF4,Flat",
            "--k", "10"]
    res = runner.invoke(app, [*args, "--nprobe", "4", "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["recall"] == 1.0 and out["queries"] == 30 and out["k"] == 10  # every list probed = exact
    assert out["exact_search_s"] >= 0 and out["approx_search_s"] >= 0
    res = runner.invoke(app, [*args, "--nprobe", "1"])
    assert res.exit_code == 0, res.output
    for part in ("recall@10: ", "exact search: ", "approximate search: "):
        assert part in res.output


def test_recall_refuses_other_dim(dirs):
    tmp, emb, _ = dirs
    other = write_embeddings(tmp / "q8", np.ones((3, 8)), ["a", "b", "c"])
    res = runner.invoke(app, ["index", "recall", "--embeddings", str(emb), "--queries", str(other),
                              "--factory", "IVF4,Flat"])
    assert isinstance(res.exception, InputError) and res.exception.field == "dim"


@pytest.mark.parametrize("factory,needle", [
    ("HNSW0", "HNSW neighbours M must be >= 2"),  # Faiss abort()
    ("IVF2_HNSW1,Flat", "HNSW neighbours M must be >= 2"),  # segfault
    ("NSG4", "NSG degree R must be >= 5"),  # hangs
    ("PQ4x0", "PQ bits per code must be >= 1"),  # SIGFPE
    ("IDMap,Flat", "Faiss cannot add vectors to 'IDMap,Flat'"),  # RuntimeError traceback
])
def test_build_refuses_factories_faiss_crashes_on(dirs, factory, needle):
    tmp, emb, _ = dirs
    with pytest.raises(InputError, match=needle):
        runner.invoke(app, ["index", "build", str(emb), "--out", str(tmp / "idx"), "--factory", factory,
                            "--no-progress"], catch_exceptions=False)
    assert not (tmp / "idx").exists()

"""Recall@k of an approximate Faiss index against exact inner-product search on the same vectors."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.index.embeddings import read_embeddings
from kvqae.index.faiss_index import VectorIndex


@dataclass
class RecallResult:
    """recall@k (mean over queries of |approx top-k ∩ exact top-k| / |exact top-k|) and timings in seconds."""

    factory: str
    k: int
    nprobe: int | None
    recall: float
    queries: int
    exact_search_s: float
    approx_search_s: float
    approx_build_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def recall_at_k(exact_labels: np.ndarray, approx_labels: np.ndarray) -> float:
    """Mean fraction of each query's exact neighbours (labels >= 0) that the approximate search also found.

    Rows whose exact result is empty (NaN query) are skipped; 0.0 if every row is.
    """
    fractions = []
    for ex, ap in zip(exact_labels, approx_labels, strict=True):
        truth = set(ex[ex >= 0].tolist())
        if truth:
            fractions.append(len(truth.intersection(ap[ap >= 0].tolist())) / len(truth))
    return float(np.mean(fractions)) if fractions else 0.0


def measure_recall(
    vectors: np.ndarray,
    queries: np.ndarray,
    factory: str,
    k: int = 100,
    *,
    nprobe: int | None = None,
    ids: list[str] | None = None,
) -> RecallResult:
    """Build exact (`Flat`) and approximate (`factory`) indexes on `vectors`; search `queries` in both.

    Both indexes see the same L2-normalised vectors; NaN query rows are ignored.
    """
    ids = ids if ids is not None else [str(i) for i in range(len(vectors))]
    exact = VectorIndex.from_vectors(vectors, ids, factory="Flat")
    t0 = time.perf_counter()
    approx = VectorIndex.from_vectors(vectors, ids, factory=factory, nprobe=nprobe)
    build_s = time.perf_counter() - t0
    valid = np.isfinite(np.asarray(queries, dtype=np.float32)).all(axis=1)
    if not valid.any():
        raise InputError("no query has an embedding", field="queries")
    q = np.asarray(queries, dtype=np.float32)[valid]
    t0 = time.perf_counter()
    _, ex = exact.search_labels(q, k)
    exact_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, ap = approx.search_labels(q, k)
    approx_s = time.perf_counter() - t0
    return RecallResult(factory, int(k), nprobe, recall_at_k(ex, ap), int(valid.sum()), exact_s, approx_s,
                        build_s)


def measure_recall_dirs(
    embeddings_dir: str | Path,
    queries_dir: str | Path,
    factory: str,
    k: int = 100,
    *,
    nprobe: int | None = None,
) -> RecallResult:
    """`measure_recall` on two embeddings directories (KB, queries) of the same encoder and dim."""
    emb = read_embeddings(embeddings_dir)
    qemb = read_embeddings(queries_dir, allow_nan=True)
    if qemb.dim != emb.dim:
        raise InputError(f"query dim {qemb.dim} does not match the embeddings dim {emb.dim}",
                         path=qemb.path, field="dim")
    if qemb.encoder != emb.encoder:
        raise InputError(f"query encoder {qemb.encoder!r} does not match {emb.encoder!r}", path=qemb.path,
                         field="encoder")
    return measure_recall(emb.vectors, qemb.vectors, factory, k, nprobe=nprobe, ids=emb.ids)

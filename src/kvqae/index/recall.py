"""Recall@k of an approximate Faiss index against exact inner-product search on the same vectors.

Two ways: `measure_recall` / `measure_recall_dirs` build both indexes in memory (small collections);
`measure_index_recall` measures an index directory already built, against an exact top-k computed by scanning
the embeddings chunk by chunk (kvqae.index.stream): it never loads all vectors, so it works at 10M+ scale.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.index.embeddings import read_embeddings, searchable_rows
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

    Both indexes see the same L2-normalised vectors; NaN and all-zero query rows are ignored.
    """
    ids = ids if ids is not None else [str(i) for i in range(len(vectors))]
    exact = VectorIndex.from_vectors(vectors, ids, factory="Flat")
    t0 = time.perf_counter()
    approx = VectorIndex.from_vectors(vectors, ids, factory=factory, nprobe=nprobe)
    build_s = time.perf_counter() - t0
    valid = searchable_rows(np.asarray(queries, dtype=np.float32))
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


@dataclass
class IndexRecallResult:
    """recall@k of a built index (mean over the sampled queries) with its search settings and timings."""

    index: str
    factory: str
    k: int
    recall: float
    queries: int
    nprobe: int | None
    ef_search: int | None
    refine_factor: int | None
    search_s: float  # the index's search of all sampled queries, one batch
    queries_per_s: float
    exact_scan_s: float  # the streaming exact scan over every vector

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_index_recall(
    index: VectorIndex | str | Path,
    embeddings_dir: str | Path,
    queries: np.ndarray | str | Path,
    k: int = 100,
    *,
    sample: int | None = None,
    seed: int = 0,
    nprobe: int | None = None,
    ef_search: int | None = None,
    refine_factor: int | None = None,
    chunk_rows: int | None = None,
    progress: bool = False,
) -> IndexRecallResult:
    """Recall@k of `index` (built from `embeddings_dir`, rows in the same order) on `queries` (an array or a
    query embeddings directory; NaN rows skipped; `sample` of them drawn with `seed` when given), against the
    exact inner-product top-k found by a streaming scan of `embeddings_dir/vectors.npy`. The search settings
    default to those saved with the index."""
    from kvqae.index.build import open_embeddings
    from kvqae.index.stream import DEFAULT_CHUNK_ROWS, exact_search_stream

    idx = index if isinstance(index, VectorIndex) else VectorIndex.load(index)
    src = open_embeddings(embeddings_dir)
    if src.vectors.rows != idx.count or src.vectors.dim != idx.dim:
        raise InputError(f"the index holds {idx.count} x {idx.dim} vectors, the embeddings "
                         f"{src.vectors.rows} x {src.vectors.dim}: not built from them", path=src.path,
                         field="count")
    check_built_from(idx, src.meta, src.path)
    q = _query_matrix(queries, idx)
    if sample is not None and sample < len(q):
        q = q[np.sort(np.random.default_rng(seed).choice(len(q), size=sample, replace=False))]
    t0 = time.perf_counter()
    _, approx = idx.search_labels(q, k, nprobe=nprobe, ef_search=ef_search, refine_factor=refine_factor)
    search_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, exact = exact_search_stream(src.vectors, q, k, chunk_rows=chunk_rows or DEFAULT_CHUNK_ROWS,
                                   normalize=idx.normalized, progress=progress)
    exact_s = time.perf_counter() - t0
    params = idx.search_params(nprobe=nprobe, ef_search=ef_search, refine_factor=refine_factor)
    return IndexRecallResult(str(idx.path), idx.factory, int(k), recall_at_k(exact, approx), len(q),
                             params["nprobe"], params["ef_search"], params["refine_factor"], search_s,
                             len(q) / max(search_s, 1e-9), exact_s)


def check_built_from(index: VectorIndex, meta: dict[str, Any], path: Path) -> None:
    """The embeddings (their meta.json) must be of the field and encoder the index was built from: the same
    count and dim from another encoder or field gave a recall figure of nothing in particular."""
    for key in ("field", "encoder"):
        have, built = str(meta.get(key, "")), str(index.meta.get(key, ""))
        if have != built:
            raise InputError(f"the embeddings are {key} {have!r}, the index was built from {key} {built!r} "
                             f"({index.meta.get('source') or index.path}): give the embeddings it indexed",
                             path=path / "meta.json", field=key)


def _query_matrix(queries: np.ndarray | str | Path, index: VectorIndex) -> np.ndarray:
    """The searchable (finite, not all zero) query rows as float32 `(n, dim)`; a directory must match the
    index's encoder."""
    if isinstance(queries, (str, Path)):
        qemb = read_embeddings(queries, allow_nan=True)
        if qemb.encoder != index.encoder:
            raise InputError(f"query encoder {qemb.encoder!r} does not match the index encoder "
                             f"{index.encoder!r}", path=qemb.path, field="encoder")
        q, where = qemb.vectors, qemb.path
    else:
        q, where = np.asarray(queries, dtype=np.float32), None
    if q.ndim != 2 or q.shape[1] != index.dim:
        raise InputError(f"queries have shape {q.shape}, expected (n, {index.dim})", path=where, field="dim")
    q = q[searchable_rows(q)]  # what a search leaves empty (NaN, all zero) says nothing of recall
    if len(q) == 0:
        raise InputError("no query has an embedding", path=where, field="queries")
    return q


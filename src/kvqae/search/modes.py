"""Retrieval modes: query embeddings searched in a KB index, producing a `kvqae.data.runs.Run`.

| mode            | query (embeddings `kind`)   | KB index (`field`) | run level |
|-----------------|-----------------------------|--------------------|-----------|
| `image-image`   | question image (`image`)    | entity `image`     | entity    |
| `image-title`   | question image (`image`)    | entity `title`     | entity    |
| `text-passage`  | question text (`text`)      | `passage`          | passage   |
| `image-passage` | question image (`image`)    | `passage`          | passage   |
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.provenance import KB_KEY, stamp
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.index.embeddings import MODEL_FINGERPRINT, Embeddings, read_embeddings, zero_rows
from kvqae.index.faiss_index import VectorIndex
from kvqae.index.shards import load_index

DEFAULT_K = 100


@dataclass(frozen=True)
class Mode:
    """One retrieval mode: which query embeddings go against which KB index, and the level of the run."""

    name: str
    query_kind: str  # "image" or "text": the `kind` of the query embeddings directory
    kb_field: str  # the `field` of the KB embeddings the index was built from
    level: str  # "entity" or "passage"
    description: str


MODES: dict[str, Mode] = {
    m.name: m
    for m in (
        Mode("image-image", "image", "image", "entity", "question image -> entity image (mono-modal)"),
        Mode("image-title", "image", "title", "entity", "question image -> entity title (cross-modal)"),
        Mode("text-passage", "text", "passage", "passage", "question text -> passage (DPR-style)"),
        Mode("image-passage", "image", "passage", "passage", "question image -> passage text (cross-modal)"),
    )
}


def get_mode(name: str) -> Mode:
    if name not in MODES:
        raise InputError(f"unknown mode {name!r}; choose one of {', '.join(MODES)}", field="mode")
    return MODES[name]


def infer_mode(query_kind: str, index_field: str) -> Mode:
    """The mode whose query kind and KB field match; InputError when none does."""
    for mode in MODES.values():
        if mode.query_kind == query_kind and mode.kb_field == index_field:
            return mode
    raise InputError(f"no retrieval mode for {query_kind!r} queries against a {index_field!r} index; "
                     f"modes: {', '.join(f'{m.name} ({m.description})' for m in MODES.values())}",
                     field="mode")


def search_store(
    query_vectors: np.ndarray,
    query_ids: Sequence[str],
    index: VectorIndex,
    k: int = DEFAULT_K,
    name: str = "run",
    level: str = "entity",
    *,
    missing: Iterable[str] = (),
    progress: bool = False,
    meta: dict[str, Any] | None = None,
    nprobe: int | None = None,
    ef_search: int | None = None,
    refine_factor: int | None = None,
) -> Run:
    """Search every query vector in `index` and return a Run with the raw scores of the top `k` ids.

    `query_vectors` `(n, dim)` rows match `query_ids`; a NaN row, an all-zero row (no direction to search:
    every passage scored 0.0; counted in the run's meta as `zero_queries`) and every id in `missing` (queries
    that got no embedding) get an empty result rather than an error. Scores are the index's inner products
    (cosine when normalised), as Python floats. `nprobe` / `ef_search` / `refine_factor` override the
    index's saved search settings (None: keep them).
    """
    query_vectors = np.asarray(query_vectors, dtype=np.float32)
    if len(query_ids) != len(query_vectors):
        raise InputError(f"{len(query_ids)} query ids for {len(query_vectors)} vectors", field="query_ids")
    if level not in ("entity", "passage"):
        raise InputError(f"level must be 'entity' or 'passage', got {level!r}", field="level")
    params = {key: v for key, v in (("nprobe", nprobe), ("ef_search", ef_search),
                                    ("refine_factor", refine_factor)) if v is not None}
    scores, labels = index.search_labels(query_vectors, k, progress=progress, **params)
    # one vectorised gather (with ids.npy only these rows are decoded); -1 slots are masked below
    found_ids = index.ids_of(np.maximum(labels, 0))
    complete = (labels >= 0).all(axis=1)
    out: dict[str, dict[str, float]] = {}
    rows = zip(query_ids, complete, found_ids, scores, labels, strict=True)
    for qid, ok, id_row, score_row, label_row in rows:
        if ok:
            out[str(qid)] = dict(zip(id_row.tolist(), score_row.tolist(), strict=True))
        else:
            keep = label_row >= 0
            out[str(qid)] = dict(zip(id_row[keep].tolist(), score_row[keep].tolist(), strict=True))
    for qid in missing:
        out.setdefault(str(qid), {})
    run_meta = {"k": int(k), "index": str(index.path) if index.path else None, "encoder": index.encoder,
                "index_field": index.field}
    stamp(run_meta, (getattr(index, "meta", None) or {}).get(KB_KEY))  # its ids' KB (kvqae.data.provenance)
    zero = int(zero_rows(query_vectors).sum())  # a NaN row is not zero: it has no embedding
    if zero:  # searched as nothing (VectorIndex.search_labels); `kvqae search` notes it
        run_meta["zero_queries"] = zero
    run_meta.update(meta or {})
    return Run(out, name, level, run_meta)


def check_mode(mode: Mode, queries: Embeddings, index: VectorIndex) -> None:
    """Refuse query embeddings / an index not fitting `mode` (InputError naming the directory and field)."""
    kind = queries.meta.get("kind")
    if kind is not None and kind != mode.query_kind:
        raise InputError(f"mode {mode.name} needs {mode.query_kind} queries, these are {kind}",
                         path=queries.path, field="kind")
    if index.field and index.field != mode.kb_field:
        raise InputError(f"mode {mode.name} needs an index of {mode.kb_field} embeddings, this one "
                         f"indexes {index.field!r}", path=index.path, field="field")


def search_embeddings(
    queries: str | Path | Embeddings,
    index: str | Path | VectorIndex,
    mode: str | None = None,
    k: int = DEFAULT_K,
    *,
    name: str | None = None,
    progress: bool = False,
    nprobe: int | None = None,
    ef_search: int | None = None,
    refine_factor: int | None = None,
) -> Run:
    """Run one retrieval mode: a query embeddings directory against an index directory.

    The query encoder spec and dim must equal the index's (else InputError naming the index). `mode`
    defaults to the one matching the query `kind` and the index `field`. Returns a Run at the mode's level.
    `nprobe` / `ef_search` / `refine_factor` override the index's saved search settings.
    """
    qemb = queries if isinstance(queries, Embeddings) else read_embeddings(queries, allow_nan=True)
    # A path may hold a sharded index (kvqae.index.shards), searched shard by shard in this process; an index
    # object (VectorIndex, ShardedIndex, RayShardedIndex) is used as it is.
    idx = load_index(index) if isinstance(index, (str, Path)) else index
    idx.check_query(qemb.encoder, qemb.dim, qemb.meta.get(MODEL_FINGERPRINT))
    if mode is None:
        kind = qemb.meta.get("kind")
        if kind is None or not idx.field:
            raise InputError("cannot infer the retrieval mode (query 'kind' or index 'field' unknown): "
                             "pass a mode",
                             field="mode")
        m = infer_mode(str(kind), idx.field)
    else:
        m = get_mode(mode)
    check_mode(m, qemb, idx)
    return search_store(qemb.vectors, qemb.ids, idx, k, name or m.name, m.level, missing=qemb.missing,
                        progress=progress,
                        meta={"mode": m.name, "queries": str(qemb.path) if qemb.path else None},
                        nprobe=nprobe, ef_search=ef_search, refine_factor=refine_factor)

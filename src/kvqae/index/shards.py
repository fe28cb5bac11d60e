"""Sharded vector indexes: one embeddings directory indexed as S normal index directories.

Layout of `kvqae index build EMB --out DIR --shards S`:

- `DIR/shard-000/`, `DIR/shard-001/`, ...: each a normal index directory (`kvqae index info` / `kvqae search`
  work on it alone) over a contiguous range of the embeddings' rows, built exactly as `kvqae index build`
  builds an index (same factory and options; an index that needs training is trained on its own shard);
- `DIR/meta.json`: `{"kind": "kvqae-sharded-index", "encoder", "field", "dim", "factory", "metric", "count",
  "normalized", "source", "missing", "shards": [{"dir", "offset", "count"}, ...]}`; a shard's `offset` is the
  row of the embeddings where it starts, so global row = offset + row in the shard.

Searching (`ShardedIndex`, in this process, one shard after the other; `kvqae.search.ray_search` does the
same with one Ray actor per shard): each shard returns its top k, the lists are merged into one top k per
query by score, equal scores in global row order. For an exact (Flat) index the result is the unsharded
search's, with two float-level caveats: BLAS may round an inner product differently for another matrix shape
or thread count (last bits: up to 1.3e-7 measured on unit vectors), and Faiss does not order exactly equal
scores, so among ties the unsharded index may list (or, at the cut, keep) other ids with the same score.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.provenance import KB_KEY, stamp
from kvqae.errors import InputError
from kvqae.index.embeddings import MODEL_FINGERPRINT
from kvqae.index.faiss_index import IndexMeta

SHARDED_KIND = "kvqae-sharded-index"
META_FILE = "meta.json"


def is_sharded_index(path: str | Path) -> bool:
    """True when `path` is a directory whose meta.json says it is a sharded index."""
    meta = Path(path) / META_FILE
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("kind") == SHARDED_KIND
    except (OSError, ValueError, AttributeError):
        return False


def shard_ranges(n: int, shards: int) -> list[tuple[int, int]]:
    """Split rows `0..n` into `min(shards, n)` (at least 1) contiguous `(start, stop)` ranges whose sizes
    differ by at most one, the larger ones first."""
    if shards < 1:
        raise InputError("must be >= 1", field="shards")
    s = max(1, min(shards, n))
    size, extra = divmod(n, s)
    bounds = np.cumsum([0] + [size + (i < extra) for i in range(s)])
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def build_sharded(
    embeddings_dir: str | Path,
    out_dir: str | Path,
    shards: int,
    factory: str = "Flat",
    *,
    nprobe: int | None = None,
    progress: bool = False,
    **options: Any,
) -> ShardedIndex:
    """Index `embeddings_dir` as `shards` shard indexes under `out_dir` (appears atomically, complete).

    Each shard is built by `VectorIndex.build` with `factory`, `nprobe` and `options` (whatever `kvqae index
    build` passes it). More shards than vectors gives one vector per shard; no vectors is an InputError.
    Returns the sharded index, loaded in this process.

    Streams like the unsharded build: each shard is built straight from its rows of `embeddings_dir`
    (`EmbeddingsSource.slice`: no copy, chunks checked for NaN/inf and converted as they are read), through
    one descriptor of `vectors.npy` held for the whole build. Reading the whole store up front (NaN check
    and float32 copy) took 755 MB of RSS for 200k x 384 where the unsharded build took 322 MB."""
    from kvqae.index.build import check_some_vectors, open_embeddings
    from kvqae.index.faiss_index import VectorIndex
    from kvqae.io import atomic_dir, write_json
    from kvqae.progress import track

    src = open_embeddings(embeddings_dir)  # checks meta.json, ids.json and the vectors' header and size
    try:
        missing = len(src.meta.get("missing") or [])
        check_some_vectors(len(src.ids), missing, src.path)  # here, not from a shard's rows
        ranges = shard_ranges(len(src.ids), shards)
        entries, zero = [], 0
        with atomic_dir(Path(out_dir)) as tmp:
            for i, (start, stop) in enumerate(track(ranges, f"building {len(ranges)} shards",
                                                    enabled=progress)):
                name = f"shard-{i:03d}"
                # only the shard's meta is kept: its index (in memory) is let go before the next is built
                shard_meta = VectorIndex.build(src.slice(start, stop), tmp / name, factory, nprobe=nprobe,
                                               **options).meta
                # Say where the shard's rows come from in the store (global row = offset + row).
                shard_meta.update(source=str(src.path), shard=i, offset=start)
                write_json(tmp / name / META_FILE, shard_meta)
                entries.append({"dir": name, "offset": start, "count": stop - start})
                zero += int(shard_meta.get("zero_vectors", 0))
            meta = {"kind": SHARDED_KIND, "encoder": str(src.meta.get("encoder", "")),
                    "field": str(src.meta.get("field", "")), "dim": src.vectors.dim,
                    "factory": str(shard_meta.get("factory", factory)), "metric": "ip", "count": len(src.ids),
                    "normalized": True, "source": str(src.path), "missing": missing,
                    "embeddings_kind": src.meta.get("kind"), "shards": entries}
            stamp(meta, src.meta.get(KB_KEY))  # the KB of the ids (kvqae.data.provenance)
            if src.meta.get(MODEL_FINGERPRINT):
                meta[MODEL_FINGERPRINT] = src.meta[MODEL_FINGERPRINT]
            if shard_meta.get("nprobe") is not None:
                meta["nprobe"] = shard_meta["nprobe"]
            if zero:
                meta["zero_vectors"] = zero
            write_json(tmp / META_FILE, meta)
    finally:
        src.close()
    return ShardedIndex.load(out_dir)


def read_sharded_meta(directory: str | Path) -> dict[str, Any]:
    """The top-level meta.json of a sharded index, checked (InputError naming the file and field)."""
    from kvqae.io import read_json
    from kvqae.safety import expect_folder

    directory = expect_folder(directory, "index directory")
    path = directory / META_FILE
    meta = read_json(path)
    if not isinstance(meta, dict) or meta.get("kind") != SHARDED_KIND:
        raise InputError(f"not a sharded index (kind is not {SHARDED_KIND!r})", path=path, field="kind")
    for key in ("encoder", "dim", "count", "shards"):
        if key not in meta:
            raise InputError("missing key", path=path, field=key)
    shards = meta["shards"]
    if not isinstance(shards, list) or not shards:
        raise InputError("expected a non-empty list of shards", path=path, field="shards")
    expected = 0
    for i, entry in enumerate(shards):
        if not isinstance(entry, dict) or not {"dir", "offset", "count"} <= entry.keys():
            raise InputError("expected {dir, offset, count}", path=path, record=f"shard {i}", field="shards")
        if entry["offset"] != expected or Path(str(entry["dir"])).name != entry["dir"]:
            raise InputError(f"shard offset {entry['offset']} (expected {expected}) or dir {entry['dir']!r} "
                             "is off", path=path, record=f"shard {i}", field="shards")
        expected += int(entry["count"])
    if expected != int(meta["count"]):
        raise InputError(f"shards hold {expected} vectors but count says {meta['count']}", path=path,
                         field="count")
    return meta


def merge_shard_results(results: list[tuple[np.ndarray, np.ndarray]], offsets: list[int],
                        k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-shard `(scores, labels)` (labels local to the shard, -1 = empty) -> one top `k` per query:
    scores `(n, k)` float32 best first and global row labels, equal scores in ascending global row."""
    scores = np.concatenate([s for s, _ in results], axis=1)
    labels = np.concatenate([np.where(lab >= 0, lab + off, -1) for (_, lab), off in
                             zip(results, offsets, strict=True)], axis=1)
    scores = np.where(labels < 0, -np.inf, scores).astype(np.float32)
    order = np.lexsort((labels, -scores), axis=1)[:, :k]
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(labels, order, axis=1)


class ShardedIndex(IndexMeta):
    """A sharded index searched like a `VectorIndex` (same `search_labels` / `search` / `ids_of` /
    `check_query` / `info`, so `kvqae.search.modes` takes either), with global row labels.

    This class loads every shard in this process and searches them one after the other; subclasses
    replace `_search_shards` and `_shard_ids` to search elsewhere (kvqae.search.ray_search).
    """

    def __init__(self, meta: dict[str, Any], path: Path, shards: list[Any] | None = None) -> None:
        self.meta = meta
        self.path = path
        self.shards = shards or []  # loaded VectorIndex per shard (empty in subclasses searching elsewhere)
        self.offsets = [int(e["offset"]) for e in meta["shards"]]
        self._id_array: np.ndarray | None = None

    @classmethod
    def load(cls, directory: str | Path) -> ShardedIndex:
        """Read the top meta.json and load every shard (each checked against it)."""
        from kvqae.index.faiss_index import VectorIndex

        directory = Path(directory)
        meta = read_sharded_meta(directory)
        shards = []
        for entry in meta["shards"]:
            shard = VectorIndex.load(directory / entry["dir"])
            check_shard(meta, entry, shard.meta, directory)
            shards.append(shard)
        return cls(meta, directory, shards)

    # -- dim, encoder, field, factory, normalized come from IndexMeta, as for VectorIndex --
    @property
    def count(self) -> int:
        return int(self.meta["count"])

    @property
    def n_shards(self) -> int:
        return len(self.offsets)

    def _where(self) -> str:
        return str(self.path)

    def check_query(self, encoder_spec: str, dim: int, fingerprint: str | None = None) -> None:
        """`faiss_index.check_query_match` against this index's meta (InputError naming the index dir)."""
        from kvqae.index.faiss_index import check_query_match

        check_query_match(self.meta, self._where(), encoder_spec, dim, fingerprint)

    # -- searching --
    def _search_shards(self, queries: np.ndarray, k: int, params: dict[str, Any],
                       progress: bool) -> list[tuple[np.ndarray, np.ndarray]]:
        from kvqae.progress import track

        return [shard.search_labels(queries, k, **params)
                for shard in track(self.shards, "searching shards", enabled=progress)]

    def _shard_ids(self, shard: int, local: np.ndarray) -> np.ndarray:
        return shard_ids(self.shards[shard], local)

    def search_labels(self, queries: np.ndarray, k: int, *, progress: bool = False,
                      **params: Any) -> tuple[np.ndarray, np.ndarray]:
        """Like `VectorIndex.search_labels`: scores `(n, min(k, count))` float32 and global row labels
        (-1 / -inf for NaN query rows and unfilled slots). `params` (normalize, nprobe, ...) go to every
        shard's `search_labels`."""
        if k < 1:
            raise InputError("must be >= 1", field="k")
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"queries have shape {queries.shape}, expected (n, {self.dim})",
                             path=self._where(), field="dim")
        params = {key: v for key, v in params.items() if v is not None}
        results = self._search_shards(queries, int(k), params, progress)
        return merge_shard_results(results, self.offsets, min(int(k), self.count))

    def ids_of(self, labels: np.ndarray) -> np.ndarray:
        """The ids of global row `labels` (any shape, all >= 0), as an object array of the same shape."""
        labels = np.asarray(labels, dtype=np.int64)
        out = np.empty(labels.shape, dtype=object)
        shard_of = np.searchsorted(np.asarray(self.offsets), labels, side="right") - 1
        for s in np.unique(shard_of):
            mask = shard_of == s
            out[mask] = self._shard_ids(int(s), labels[mask] - self.offsets[s])
        return out

    @property
    def id_array(self) -> np.ndarray:
        """All ids in global row order (object array)."""
        if self._id_array is None:
            self._id_array = self.ids_of(np.arange(self.count))
        return self._id_array

    def search(self, queries: np.ndarray, k: int, *, progress: bool = False,
               **params: Any) -> tuple[np.ndarray, list[list[str]]]:
        """Like `VectorIndex.search`: `(scores, ids)` with one list of found ids per query, best first."""
        scores, labels = self.search_labels(queries, k, progress=progress, **params)
        found = self.ids_of(np.maximum(labels, 0))
        return scores, [row[lab >= 0].tolist() for row, lab in zip(found, labels, strict=True)]

    def info(self) -> dict[str, Any]:
        """The top-level meta plus the path (what `kvqae index info` prints)."""
        return {**self.meta, "path": self._where(), "n_shards": self.n_shards}


def shard_ids(index: Any, local: np.ndarray) -> np.ndarray:
    """The ids of rows `local` of a loaded shard (`ids_of` decodes only those rows of an `ids.npy`)."""
    return index.ids_of(local) if hasattr(index, "ids_of") else index.id_array[local]


def check_shard(meta: dict[str, Any], entry: dict[str, Any], shard_meta: dict[str, Any],
                directory: Path) -> None:
    """A shard must hold the count the top meta says, from the same encoder, with the same dim."""
    for key, want in (("count", entry["count"]), ("dim", meta["dim"]), ("encoder", meta["encoder"])):
        if shard_meta.get(key) != want:
            raise InputError(f"shard has {key} {shard_meta.get(key)!r} but the sharded index says {want!r}",
                             path=directory / str(entry["dir"]) / META_FILE, field=key)


def sharded_info(directory: str | Path) -> dict[str, Any]:
    """`kvqae index info` of a sharded index: the top meta plus each shard's own info (loaded one by one)."""
    from kvqae.index.faiss_index import VectorIndex

    meta = read_sharded_meta(directory)
    shards = []
    for entry in meta["shards"]:
        info = VectorIndex.load(Path(directory) / entry["dir"]).info()
        shards.append({**entry, "faiss_type": info["faiss_type"], "ntotal": info["ntotal"]})
    return {**meta, "path": str(directory), "n_shards": len(shards), "shards": shards}


def load_index(directory: str | Path) -> Any:
    """A `VectorIndex`, or a `ShardedIndex` (loaded in this process) when `directory` is sharded."""
    if is_sharded_index(directory):
        return ShardedIndex.load(directory)
    from kvqae.index.faiss_index import VectorIndex

    return VectorIndex.load(directory)

"""Vector indexes with a Faiss backend, saved as an index directory.

Index directory (docs/ARCHITECTURE.md): `index.faiss` (the Faiss index), `ids.json` (row -> id) or, for
large indexes, `ids.npy` (fixed-width UTF-8 bytes, memory-mapped, decoded only for the hits), optionally
`refine.f16.npy` (float16 vectors for exact re-ranking, kvqae.index.refine) and `meta.json`
`{"encoder", "field", "dim", "factory", "metric": "ip", "count", "normalized", "nprobe"?, "ef_search"?,
"refine_factor"?, "refine"?, "ids_file"?, ...}`. `nprobe`, `ef_search` and `refine_factor` are the default
search settings; each search may override them.

The default is exact inner product (`Flat` -> `IndexFlatIP`) on L2-normalised vectors, i.e. cosine similarity.
Any Faiss factory string (`"IVF256,Flat"`, `"HNSW32"`, `"IVF1024,PQ16"`, ...) can be used instead; indexes
that need training are trained on the vectors being indexed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.provenance import KB_KEY, stamp
from kvqae.errors import InputError
from kvqae.index.embeddings import MODEL_FINGERPRINT, Embeddings, l2_normalize, searchable_rows
from kvqae.io import atomic_dir, read_json

INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"
IDS_NPY_FILE = "ids.npy"
META_FILE = "meta.json"
ADD_BATCH = 100_000  # vectors per Faiss add call, for the progress bar
SEARCH_BATCH = 4096  # queries per Faiss call: large enough for BLAS, small enough for a live progress bar


def _faiss():
    import faiss  # heavy import kept out of module import

    return faiss


# Factory parameters that Faiss (1.15) does not refuse but crashes on (abort, segfault, SIGFPE) or hangs on
# while training or adding: (pattern, smallest value that works, what the number is).
_FACTORY_MINIMUMS = (
    (re.compile(r"HNSW(\d+)"), 2, "HNSW neighbours M"),
    (re.compile(r"NSG(\d+)"), 5, "NSG degree R"),
    (re.compile(r"RR(\d+)"), 1, "random rotation size"),
    (re.compile(r"IVF(\d+)"), 1, "IVF list count"),
    (re.compile(r"PQ\d+x(\d+)"), 1, "PQ bits per code"),
)


# ... and the largest that is sane: the HNSW graph stores 2 x M neighbours (4 bytes each) per vector, so
# "HNSW100000" took 1.6 GB for 2,000 vectors and would take ~16 GB for a 20k-passage KB
_FACTORY_MAXIMUMS = ((re.compile(r"HNSW(\d+)"), 512, "HNSW neighbours M"),)


def check_factory(factory: str) -> None:
    """Refuse the factory parameters Faiss would crash the process on (see `_FACTORY_MINIMUMS`) or that
    would take memory out of all proportion (`_FACTORY_MAXIMUMS`)."""
    for pattern, low, what in _FACTORY_MINIMUMS:
        for match in pattern.finditer(factory):
            if int(match.group(1)) < low:
                raise InputError(f"{factory!r}: the {what} must be >= {low} (got {match.group(0)})",
                                 field="factory")
    for pattern, high, what in _FACTORY_MAXIMUMS:
        for match in pattern.finditer(factory):
            if int(match.group(1)) > high:
                raise InputError(f"{factory!r}: the {what} must be <= {high} (got {match.group(0)}; each "
                                 "vector keeps 2 x M neighbours: 16-64 is usual)", field="factory")


def make_faiss_index(dim: int, factory: str = "Flat"):
    """A Faiss index for inner product built from a factory string; a bad string is an InputError."""
    faiss = _faiss()
    check_factory(factory)
    try:
        return faiss.index_factory(int(dim), factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1] if str(e).strip() else "unknown error"
        raise InputError(f"Faiss cannot build {factory!r}: {first}", field="factory") from None


def add_vectors(index: Any, vectors: np.ndarray, factory: str) -> None:
    """`index.add(vectors)`, with Faiss's refusal as an InputError naming the factory ("IDMap,Flat" wants
    ids this code does not give; NSG needs 100 vectors or more), not a RuntimeError traceback."""
    try:
        index.add(vectors)
    except RuntimeError as e:
        last = (str(e).strip().splitlines() or ["unknown error"])[-1]
        raise InputError(f"Faiss cannot add vectors to {factory!r}: {last}", field="factory") from None


def _check_breadth(value: int, field: str) -> None:
    """A search breadth Faiss can hold (a C int), >= 1; a larger one overflowed in Faiss."""
    from kvqae.safety import MAX_SEARCH_BREADTH

    if not 1 <= value <= MAX_SEARCH_BREADTH:
        raise InputError(f"must be between 1 and {MAX_SEARCH_BREADTH}, got {value}", field=field)


def set_nprobe(index: Any, nprobe: int) -> None:
    """Set the number of inverted lists visited per query (IVF indexes, also inside pre-transforms)."""
    faiss = _faiss()
    _check_breadth(nprobe, "nprobe")
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        raise InputError("nprobe only applies to IVF indexes", field="nprobe") from None
    ivf.nprobe = int(nprobe)


def set_ef_search(index: Any, ef_search: int) -> None:
    """Set HNSW's search breadth: of an HNSW index, or of the HNSW graph over an IVF index's list centres
    (where it must be >= nprobe for the lists found to be the nearest ones)."""
    faiss = _faiss()
    _check_breadth(ef_search, "ef_search")
    inner = faiss.downcast_index(index)
    if isinstance(inner, faiss.IndexPreTransform):
        inner = faiss.downcast_index(inner.index)
    if not hasattr(inner, "hnsw"):
        try:
            inner = faiss.downcast_index(faiss.extract_index_ivf(index).quantizer)
        except RuntimeError:
            inner = None
    if inner is None or not hasattr(inner, "hnsw"):
        raise InputError("ef_search only applies to HNSW indexes and IVF indexes with an HNSW quantizer",
                         field="ef_search")
    inner.hnsw.efSearch = int(ef_search)


def set_search_params(index: Any, *, nprobe: int | None = None, ef_search: int | None = None) -> None:
    """Apply the search settings that are not None (InputError when the index has no such setting)."""
    if nprobe is not None:
        set_nprobe(index, nprobe)
    if ef_search is not None:
        set_ef_search(index, ef_search)


class IndexMeta:
    """What `VectorIndex` and sharded indexes tell from their `meta` dict: dim, encoder, field, factory."""

    meta: dict[str, Any]

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def encoder(self) -> str:
        return str(self.meta.get("encoder", ""))

    @property
    def field(self) -> str:
        return str(self.meta.get("field", ""))

    @property
    def factory(self) -> str:
        return str(self.meta.get("factory", "Flat"))

    @property
    def normalized(self) -> bool:
        return bool(self.meta.get("normalized", True))


def check_id_list(ids: list, path: Path) -> None:
    """The ids of an index's rows (`ids.json`, Faiss or BM25) are distinct strings: a null, a number or a
    repeated id became the string "None" / "5" or a passage retrieved twice under one id (one of the two rows
    lost from every run), silently."""
    seen: set[str] = set()
    for row, value in enumerate(ids):
        if not isinstance(value, str):
            raise InputError(f"id at row {row} is {value!r}, not a string", path=path)
        if value in seen:
            raise InputError(f"duplicate id {value!r} (row {row})", path=path)
        seen.add(value)


# what other kvqae folders say they are in their meta.json ("kind"): named when one is given as a vector index
_FOLDER_KINDS = {"kvqae-kb": "a knowledge base", "kvqae-bm25-index": "a BM25 index (search it as such)",
                 "kvqae-sharded-index": "a sharded index"}


def folder_kind(directory: Path) -> str | None:
    """What a kvqae folder that is not a vector index is ("a knowledge base", "a BM25 index ..."), from the
    "kind" of its meta.json; None when it says nothing readable."""
    try:
        kind = json.loads((directory / META_FILE).read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return _FOLDER_KINDS.get(kind) if isinstance(kind, str) else None


def check_query_match(meta: dict[str, Any], where: str, encoder_spec: str, dim: int,
                      fingerprint: str | None = None) -> None:
    """Refuse queries from another encoder spec, of another dimension, or - when both the queries and the
    index's embeddings record one - from other model weights under the same spec (a local model retrained
    in place after the index was built: its queries searched the old vectors, MRR 31.7 -> 13.0 with no
    word). InputError naming `where` (the index folder)."""
    encoder = str(meta.get("encoder", ""))
    if str(encoder_spec) != encoder:
        raise InputError(f"query encoder {encoder_spec!r} does not match the index encoder {encoder!r}",
                         path=where, field="encoder")
    if int(dim) != int(meta.get("dim", -1)):
        raise InputError(f"query dim {dim} does not match the index dim {meta.get('dim')}", path=where,
                         field="dim")
    built = meta.get(MODEL_FINGERPRINT)
    if fingerprint and built and fingerprint != built:
        raise InputError(
            f"the model files of {encoder!r} changed since the index was built (weights {built[:10]} then, "
            f"{fingerprint[:10]} now: retrained or replaced in place?); its vectors and the queries' would "
            "not match: encode the KB again and rebuild the index (kvqae run does both), or use the model "
            "the index was built with", path=where, field="encoder")


class VectorIndex(IndexMeta):
    """A searchable set of vectors with string ids.

    Attributes: `index` (the Faiss index), `ids` (list of str, row order), `meta` (dict, saved as meta.json),
    `path` (the directory it was loaded from / saved to, or None for an in-memory index), `refine` (a
    `RefineStore` when the directory keeps float16 vectors for re-ranking, else None).
    The ids may be given as a numpy array of UTF-8 bytes (`ids.npy`, possibly memory-mapped): `ids_of` then
    decodes only the rows asked for, while `ids` / `id_array` decode them all (once) for older callers.
    """

    def __init__(self, index: Any, ids: list[str] | np.ndarray, meta: dict[str, Any],
                 path: Path | None = None) -> None:
        if index.ntotal != len(ids):
            raise InputError(f"index holds {index.ntotal} vectors but there are {len(ids)} ids",
                             path=path, field="ids")
        self.index = index
        self._ids = ids
        self.meta = meta
        self.path = path
        self.refine = None
        self._id_array: np.ndarray | None = None
        self._applied: tuple[int | None, int | None] | None = None  # (nprobe, ef_search) last set on `index`

    # -- properties --
    @property
    def ids(self) -> list[str]:
        """All ids in row order (decoded from `ids.npy` on first use: slow for millions, prefer `ids_of`)."""
        if not isinstance(self._ids, list):
            self._ids = self.id_array.tolist()
        return self._ids

    @property
    def count(self) -> int:
        return len(self._ids)

    @property
    def id_array(self) -> np.ndarray:
        """The ids as a numpy object array (row -> id), for vectorised label -> id lookups."""
        if self._id_array is None:
            if isinstance(self._ids, list):
                self._id_array = np.asarray(self._ids, dtype=object)
            else:
                self._id_array = _decode(np.asarray(self._ids))
        return self._id_array

    def ids_of(self, labels: np.ndarray) -> np.ndarray:
        """The ids of row `labels` (any shape, all >= 0) as an object array of the same shape; with `ids.npy`
        only these rows are read and decoded."""
        labels = np.asarray(labels, dtype=np.int64)
        if isinstance(self._ids, list) or self._id_array is not None:
            return self.id_array[labels]
        uniq, inverse = np.unique(labels, return_inverse=True)
        return _decode(np.asarray(self._ids[uniq]))[inverse].reshape(labels.shape)

    def search_params(self, *, nprobe: int | None = None, ef_search: int | None = None,
                      refine_factor: int | None = None) -> dict[str, int | None]:
        """The settings a search uses: each given value, else the one saved in meta.json (else None)."""
        return {"nprobe": nprobe if nprobe is not None else self.meta.get("nprobe"),
                "ef_search": ef_search if ef_search is not None else self.meta.get("ef_search"),
                "refine_factor": (refine_factor if refine_factor is not None
                                  else self.meta.get("refine_factor") if self.refine is not None else None)}

    def attach_refine(self, path: str | Path) -> None:
        """Re-rank searches with the float16 vectors of `path` (`refine.f16.npy`)."""
        from kvqae.index.refine import RefineStore

        self.refine = RefineStore(path, self.count, self.dim)

    def _where(self) -> str:
        return str(self.path) if self.path is not None else "<in-memory index>"

    # -- building --
    @classmethod
    def from_vectors(
        cls,
        vectors: np.ndarray,
        ids: list[str],
        *,
        encoder: str = "",
        field: str = "",
        factory: str = "Flat",
        normalize: bool = True,
        nprobe: int | None = None,
        extra_meta: dict[str, Any] | None = None,
        progress: bool = False,
    ) -> VectorIndex:
        """Index `vectors` `(n, dim)` under `ids` in memory.

        `normalize`: L2-normalise the vectors first (inner product = cosine). `factory`: Faiss factory string;
        indexes that need training (IVF, PQ, ...) are trained on these vectors. `nprobe`: default number of
        lists visited per query for IVF indexes (saved in meta and applied on load). `progress`: a bar.
        """
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise InputError(f"expected a 2-D array, got shape {vectors.shape}", field="vectors")
        if len(ids) != vectors.shape[0]:
            raise InputError(f"{len(ids)} ids for {vectors.shape[0]} vectors", field="ids")
        if normalize:
            vectors = l2_normalize(vectors)
        vectors = np.ascontiguousarray(vectors)
        dim = int(vectors.shape[1])
        index = make_faiss_index(dim, factory)
        if not index.is_trained:
            if len(vectors) == 0:
                raise InputError(f"{factory!r} needs training but there are no vectors", field="factory")
            from kvqae.index.training import configure_training

            configure_training(index, seed=None, niter=None)  # only: no polysemous training (slow, unused)
            try:
                index.train(vectors)
            except RuntimeError as e:
                raise InputError(f"training {factory!r} failed: {str(e).strip().splitlines()[-1]}",
                                 field="factory") from None
        if len(vectors):
            from kvqae.progress import track

            starts = range(0, len(vectors), ADD_BATCH)
            for start in track(starts, "indexing", total=len(starts), enabled=progress):
                add_vectors(index, vectors[start:start + ADD_BATCH], factory)
        if nprobe is not None:
            set_nprobe(index, nprobe)
        meta: dict[str, Any] = {
            "encoder": encoder,
            "field": field,
            "dim": dim,
            "factory": factory,
            "metric": "ip",
            "count": len(ids),
            "normalized": bool(normalize),
        }
        if nprobe is not None:
            meta["nprobe"] = int(nprobe)
        meta.update(extra_meta or {})
        return cls(index, list(ids), meta)

    @classmethod
    def from_embeddings(
        cls, emb: Embeddings, *, factory: str = "Flat", nprobe: int | None = None, progress: bool = False
    ) -> VectorIndex:
        """Index an embeddings directory already read with `read_embeddings` (vectors L2-normalised first)."""
        return cls.from_vectors(
            emb.vectors,
            emb.ids,
            encoder=str(emb.meta.get("encoder", "")),
            field=str(emb.meta.get("field", "")),
            factory=factory,
            normalize=True,
            nprobe=nprobe,
            progress=progress,
            extra_meta={"kind": emb.meta.get("kind"), "source": str(emb.path) if emb.path else None,
                        "missing": len(emb.missing),
                        **stamp({}, emb.meta.get(KB_KEY))},  # the KB of the ids (kvqae.data.provenance)
        )

    @classmethod
    def build(
        cls,
        embeddings_dir: str | Path | Any,
        out_dir: str | Path,
        factory: str = "Flat",
        *,
        nprobe: int | None = None,
        progress: bool = False,
        **options: Any,
    ) -> VectorIndex:
        """Index an embeddings directory (or an open `kvqae.index.build.EmbeddingsSource`, e.g. a shard's
        rows) with `factory` ("auto" picks one) and save the directory `out_dir`,
        streaming: vectors are read chunk by chunk, never all at once (kvqae.index.build.build_streaming,
        which takes the other `options`: ef_search, refine, refine_factor, train_sample, chunk_rows, seed,
        ids_format). Returns the saved index (its `path` is `out_dir`); the directory appears only once
        complete."""
        from kvqae.index.build import build_streaming

        return build_streaming(embeddings_dir, out_dir, factory, nprobe=nprobe, progress=progress, **options)

    # -- persistence --
    def save(self, out_dir: str | Path, *, ids_format: str = "auto") -> Path:
        """Write `index.faiss`, the ids (`ids.json`, or `ids.npy` for large indexes / `ids_format="npy"`) and
        `meta.json` into `out_dir` atomically (replacing an old one). An attached refine file is copied."""
        from kvqae.index.build import write_ids
        from kvqae.index.refine import REFINE_FILE

        out_dir = Path(out_dir)
        with atomic_dir(out_dir) as tmp:
            if self.refine is not None:  # the file this index reads, even if its folder was rebuilt since
                self.refine.copy_to(tmp / REFINE_FILE)
            self.meta["ids_file"] = write_ids(tmp, self.ids, ids_format)
            self.write_index_files(tmp)
        self.path = out_dir
        if self.refine is not None:
            self.attach_refine(out_dir / REFINE_FILE)
        return out_dir

    def write_index_files(self, directory: Path) -> None:
        """Write `index.faiss` and `meta.json` into `directory` (the ids are written by the caller)."""
        _faiss().write_index(self.index, str(directory / INDEX_FILE))
        (directory / META_FILE).write_text(json.dumps(self.meta, indent=2, ensure_ascii=False) + "\n",
                                           encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """Load an index directory written by `save` / `build`; InputError naming the file if it is off."""
        faiss = _faiss()
        from kvqae.safety import expect_folder

        directory = expect_folder(directory, "index directory")
        ids_name = IDS_NPY_FILE if (directory / IDS_NPY_FILE).exists() else IDS_FILE
        if not (directory / INDEX_FILE).exists() and (other := folder_kind(directory)) is not None:
            raise InputError(f"not a vector index folder: it is {other}", path=directory)
        for name in (INDEX_FILE, ids_name, META_FILE):
            if not (directory / name).exists():
                raise InputError("file not found", path=directory / name)
        # read_json names the file and the position (a truncated ids.json named the folder, no position)
        meta = read_json(directory / META_FILE, "index metadata")
        ids = (_load_id_bytes(directory / IDS_NPY_FILE) if ids_name == IDS_NPY_FILE
               else read_json(directory / IDS_FILE, "index ids"))
        if not isinstance(meta, dict):
            raise InputError("expected a JSON object", path=directory / META_FILE)
        for key in ("encoder", "dim", "factory", "count"):
            if key not in meta:
                raise InputError("missing key", path=directory / META_FILE, field=key)
        if not isinstance(ids, (list, np.ndarray)):
            raise InputError("expected a list of ids", path=directory / IDS_FILE)
        # A hand-edited meta.json: `int(None)` or a list was a TypeError traceback, 32.5 passed as 32.
        for key in ("dim", "count", "nprobe", "ef_search"):
            value = meta.get(key)
            if (value is not None or key in ("dim", "count")) and (
                    isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise InputError(f"expected a whole number >= 0, got {value!r}", path=directory / META_FILE,
                                 field=key)
        if isinstance(ids, list):
            check_id_list(ids, directory / IDS_FILE)
        try:
            index = faiss.read_index(str(directory / INDEX_FILE))
        except RuntimeError as e:
            raise InputError(f"unreadable Faiss index ({str(e).strip().splitlines()[-1]})",
                             path=directory / INDEX_FILE) from None
        if index.d != meta["dim"]:
            raise InputError(f"index has dim {index.d} but meta says {meta['dim']}",
                             path=directory / META_FILE, field="dim")
        if index.ntotal != len(ids) or meta["count"] != len(ids):
            raise InputError(f"index holds {index.ntotal} vectors, {ids_name} {len(ids)}, "
                             f"meta count {meta['count']}",
                             path=directory, field="count")
        try:
            set_search_params(index, nprobe=meta.get("nprobe"), ef_search=meta.get("ef_search"))
        except InputError as e:
            raise InputError(e.reason, path=directory / META_FILE, field=e.field) from None
        loaded = cls(index, ids, meta, directory)
        if meta.get("refine"):
            loaded.attach_refine(directory / str(meta["refine"]))
        return loaded

    # -- querying --
    def check_query(self, encoder_spec: str, dim: int, fingerprint: str | None = None) -> None:
        """`check_query_match` against this index's meta (InputError naming the index dir)."""
        check_query_match(self.meta, self._where(), encoder_spec, dim, fingerprint)

    def search_labels(
        self,
        queries: np.ndarray,
        k: int,
        *,
        normalize: bool | None = None,
        nprobe: int | None = None,
        ef_search: int | None = None,
        refine_factor: int | None = None,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search and return raw Faiss arrays: scores `(n, k')` float32 and row labels `(n, k')` int64.

        `k' = min(k, count)`. NaN query rows (no embedding), all-zero rows (no direction: every row would
        score 0.0) and unfilled slots get label -1 and score -inf.
        `normalize`: L2-normalise queries first (default: when the index is normalised, giving cosine scores).
        `nprobe`, `ef_search`, `refine_factor`: override the index's saved settings for this search. With a
        refine file and `refine_factor` >= 1, the index proposes `k * refine_factor` candidates and the `k`
        best by exact inner product (float16 vectors) are returned with those exact scores; 0 turns it off.
        """
        if k < 1:
            raise InputError("must be >= 1", field="k")
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim == 1:
            queries = queries[None, :]
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"queries have shape {queries.shape}, expected (n, {self.dim})",
                             path=self._where(), field="dim")
        n = queries.shape[0]
        k_eff = min(int(k), self.count)
        scores = np.full((n, k_eff), -np.inf, dtype=np.float32)
        labels = np.full((n, k_eff), -1, dtype=np.int64)
        rows = np.flatnonzero(searchable_rows(queries))
        if k_eff == 0 or rows.size == 0:
            return scores, labels
        if normalize is None:
            normalize = self.normalized
        params = self.search_params(nprobe=nprobe, ef_search=ef_search, refine_factor=refine_factor)
        if refine_factor is not None and refine_factor < 0:
            raise InputError("must be >= 0", field="refine_factor")
        if refine_factor and self.refine is None:  # was an AttributeError traceback
            raise InputError(f"a refine factor ({refine_factor}) needs an index built with --refine (it "
                             "holds no refine file)", path=self.path, field="refine_factor")
        if (params["nprobe"], params["ef_search"]) != self._applied:  # Faiss settings persist on the index
            set_search_params(self.index, nprobe=params["nprobe"], ef_search=params["ef_search"])
            self._applied = (params["nprobe"], params["ef_search"])
        rf = int(params["refine_factor"] or 0)
        k_search = min(k_eff * rf, self.count) if rf else k_eff
        from kvqae.progress import track

        starts = range(0, rows.size, SEARCH_BATCH)
        for start in track(starts, "searching", total=len(starts), enabled=progress):
            batch_rows = rows[start:start + SEARCH_BATCH]
            q = queries[batch_rows]
            q = l2_normalize(q) if normalize else np.ascontiguousarray(q)
            d, i = self.index.search(q, k_search)
            if rf:
                d, i = self.refine.rerank(q, i, k_eff)
            scores[batch_rows] = d
            labels[batch_rows] = i
        scores[labels < 0] = -np.inf
        return scores, labels

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        normalize: bool | None = None,
        nprobe: int | None = None,
        ef_search: int | None = None,
        refine_factor: int | None = None,
        progress: bool = False,
    ) -> tuple[np.ndarray, list[list[str]]]:
        """Search `queries` `(n, dim)` for their `k` best rows (settings as in `search_labels`).

        Returns `(scores, ids)`: scores `(n, min(k, count))` float32 (best first; -inf where nothing was
        found) and, per query, the list of found ids in score order. A NaN or all-zero query row gets an
        empty id list.
        """
        scores, labels = self.search_labels(queries, k, normalize=normalize, nprobe=nprobe,
                                            ef_search=ef_search, refine_factor=refine_factor,
                                            progress=progress)
        found_ids = self.ids_of(np.maximum(labels, 0))
        return scores, [id_row[row >= 0].tolist() for row, id_row in zip(labels, found_ids, strict=True)]

    def info(self) -> dict[str, Any]:
        """Meta plus what Faiss reports (trained, ntotal, type) and the default search settings."""
        return {**self.meta, "path": self._where(), "faiss_type": type(self.index).__name__,
                "is_trained": bool(self.index.is_trained), "ntotal": int(self.index.ntotal),
                "search_params": self.search_params()}


def _load_id_bytes(path: Path) -> np.ndarray:
    """`ids.npy`: a 1-D fixed-width bytes array, memory-mapped (pages are read only for the ids used)."""
    try:
        ids = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise InputError(f"unreadable .npy file ({e})", path=path) from None
    if ids.ndim != 1 or ids.dtype.kind != "S":
        raise InputError(f"expected a 1-D bytes array, got {ids.dtype} {ids.shape}", path=path)
    return ids


def _decode(raw: np.ndarray) -> np.ndarray:
    """UTF-8 bytes array -> object array of str (same shape)."""
    out = np.empty(raw.shape, dtype=object)
    out.ravel()[:] = [b.decode("utf-8") for b in raw.ravel().tolist()]
    return out


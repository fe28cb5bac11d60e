"""Vector indexes with a Faiss backend, saved as an index directory.

Index directory (docs/ARCHITECTURE.md): `index.faiss` (the Faiss index), `ids.json` (row -> id) and
`meta.json` `{"encoder", "field", "dim", "factory", "metric": "ip", "count", "normalized", ...}`.

The default is exact inner product (`Flat` -> `IndexFlatIP`) on L2-normalised vectors, i.e. cosine similarity.
Any Faiss factory string (`"IVF256,Flat"`, `"HNSW32"`, `"IVF1024,PQ16"`, ...) can be used instead; indexes
that need training are trained on the vectors being indexed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.index.embeddings import Embeddings, l2_normalize, read_embeddings
from kvqae.io import atomic_dir

INDEX_FILE = "index.faiss"
IDS_FILE = "ids.json"
META_FILE = "meta.json"
ADD_BATCH = 100_000  # vectors per Faiss add call, for the progress bar
SEARCH_BATCH = 4096  # queries per Faiss call: large enough for BLAS, small enough for a live progress bar


def _faiss():
    import faiss  # heavy import kept out of module import

    return faiss


def make_faiss_index(dim: int, factory: str = "Flat"):
    """A Faiss index for inner product built from a factory string; a bad string is an InputError."""
    faiss = _faiss()
    try:
        return faiss.index_factory(int(dim), factory, faiss.METRIC_INNER_PRODUCT)
    except RuntimeError as e:
        first = str(e).strip().splitlines()[-1] if str(e).strip() else "unknown error"
        raise InputError(f"Faiss cannot build {factory!r}: {first}", field="factory") from None


def set_nprobe(index: Any, nprobe: int) -> None:
    """Set the number of inverted lists visited per query (IVF indexes, also inside pre-transforms)."""
    faiss = _faiss()
    if nprobe < 1:
        raise InputError("must be >= 1", field="nprobe")
    try:
        ivf = faiss.extract_index_ivf(index)
    except RuntimeError:
        raise InputError("nprobe only applies to IVF indexes", field="nprobe") from None
    ivf.nprobe = int(nprobe)


class VectorIndex:
    """A searchable set of vectors with string ids.

    Attributes: `index` (the Faiss index), `ids` (list of str, row order), `meta` (dict, saved as meta.json),
    `path` (the directory it was loaded from / saved to, or None for an in-memory index).
    """

    def __init__(self, index: Any, ids: list[str], meta: dict[str, Any], path: Path | None = None) -> None:
        if index.ntotal != len(ids):
            raise InputError(f"index holds {index.ntotal} vectors but there are {len(ids)} ids",
                             path=path, field="ids")
        self.index = index
        self.ids = ids
        self.meta = meta
        self.path = path
        self._id_array: np.ndarray | None = None

    # -- properties --
    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def count(self) -> int:
        return len(self.ids)

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

    @property
    def id_array(self) -> np.ndarray:
        """The ids as a numpy object array (row -> id), for vectorised label -> id lookups."""
        if self._id_array is None:
            self._id_array = np.asarray(self.ids, dtype=object)
        return self._id_array

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
            try:
                index.train(vectors)
            except RuntimeError as e:
                raise InputError(f"training {factory!r} failed: {str(e).strip().splitlines()[-1]}",
                                 field="factory") from None
        if len(vectors):
            from kvqae.progress import track

            starts = range(0, len(vectors), ADD_BATCH)
            for start in track(starts, "indexing", total=len(starts), enabled=progress):
                index.add(vectors[start:start + ADD_BATCH])
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
                        "missing": len(emb.missing)},
        )

    @classmethod
    def build(
        cls,
        embeddings_dir: str | Path,
        out_dir: str | Path,
        factory: str = "Flat",
        *,
        nprobe: int | None = None,
        progress: bool = False,
    ) -> VectorIndex:
        """Read an embeddings directory, index it with `factory` and save the index directory `out_dir`.

        Returns the saved index (its `path` is `out_dir`). The directory appears only once complete."""
        emb = read_embeddings(embeddings_dir, mmap=True)  # memory-mapped: only the normalised copy is in RAM
        index = cls.from_embeddings(emb, factory=factory, nprobe=nprobe, progress=progress)
        index.save(out_dir)
        return index

    # -- persistence --
    def save(self, out_dir: str | Path) -> Path:
        """Write `index.faiss`, `ids.json`, `meta.json` into `out_dir` atomically (replacing an old one)."""
        faiss = _faiss()
        out_dir = Path(out_dir)
        with atomic_dir(out_dir) as tmp:
            faiss.write_index(self.index, str(tmp / INDEX_FILE))
            (tmp / IDS_FILE).write_text(json.dumps(self.ids, ensure_ascii=False), encoding="utf-8")
            (tmp / META_FILE).write_text(json.dumps(self.meta, indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
        self.path = out_dir
        return out_dir

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """Load an index directory written by `save` / `build`; InputError naming the file if it is off."""
        faiss = _faiss()
        from kvqae.safety import expect_folder

        directory = expect_folder(directory, "index directory")
        for name in (INDEX_FILE, IDS_FILE, META_FILE):
            if not (directory / name).exists():
                raise InputError("file not found", path=directory / name)
        try:
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            ids = json.loads((directory / IDS_FILE).read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON ({e.msg})", path=directory) from None
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text (byte {e.start})", path=directory) from None
        if not isinstance(meta, dict):
            raise InputError("expected a JSON object", path=directory / META_FILE)
        for key in ("encoder", "dim", "factory", "count"):
            if key not in meta:
                raise InputError("missing key", path=directory / META_FILE, field=key)
        if not isinstance(ids, list):
            raise InputError("expected a list of ids", path=directory / IDS_FILE)
        try:
            index = faiss.read_index(str(directory / INDEX_FILE))
        except RuntimeError as e:
            raise InputError(f"unreadable Faiss index ({str(e).strip().splitlines()[-1]})",
                             path=directory / INDEX_FILE) from None
        if index.d != int(meta["dim"]):
            raise InputError(f"index has dim {index.d} but meta says {meta['dim']}",
                             path=directory / META_FILE, field="dim")
        if index.ntotal != len(ids) or int(meta["count"]) != len(ids):
            raise InputError(f"index holds {index.ntotal} vectors, ids.json {len(ids)}, "
                             f"meta count {meta['count']}",
                             path=directory, field="count")
        if meta.get("nprobe") is not None:
            set_nprobe(index, int(meta["nprobe"]))
        return cls(index, [str(i) for i in ids], meta, directory)

    # -- querying --
    def check_query(self, encoder_spec: str, dim: int) -> None:
        """Refuse queries from another encoder or of another dimension (InputError naming the index dir)."""
        if str(encoder_spec) != self.encoder:
            raise InputError(
                f"query encoder {encoder_spec!r} does not match the index encoder {self.encoder!r}",
                path=self._where(), field="encoder")
        if int(dim) != self.dim:
            raise InputError(f"query dim {dim} does not match the index dim {self.dim}", path=self._where(),
                             field="dim")

    def search_labels(
        self,
        queries: np.ndarray,
        k: int,
        *,
        normalize: bool | None = None,
        nprobe: int | None = None,
        progress: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search and return raw Faiss arrays: scores `(n, k')` float32 and row labels `(n, k')` int64.

        `k' = min(k, count)`. NaN query rows (no embedding) and unfilled slots get label -1 and score -inf.
        `normalize`: L2-normalise queries first (default: when the index is normalised, giving cosine scores).
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
        valid = np.isfinite(queries).all(axis=1)
        rows = np.flatnonzero(valid)
        if k_eff == 0 or rows.size == 0:
            return scores, labels
        if normalize is None:
            normalize = self.normalized
        if nprobe is not None:
            set_nprobe(self.index, nprobe)
        from kvqae.progress import track

        starts = range(0, rows.size, SEARCH_BATCH)
        for start in track(starts, "searching", total=len(starts), enabled=progress):
            batch_rows = rows[start:start + SEARCH_BATCH]
            q = queries[batch_rows]
            q = l2_normalize(q) if normalize else np.ascontiguousarray(q)
            d, i = self.index.search(q, k_eff)
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
        progress: bool = False,
    ) -> tuple[np.ndarray, list[list[str]]]:
        """Search `queries` `(n, dim)` for their `k` best rows.

        Returns `(scores, ids)`: scores `(n, min(k, count))` float32 (best first; -inf where nothing was
        found) and, per query, the list of found ids in score order. A NaN query row gets an empty id list.
        """
        scores, labels = self.search_labels(queries, k, normalize=normalize, nprobe=nprobe, progress=progress)
        id_arr = self.id_array
        out: list[list[str]] = []
        for row in labels:
            found = row[row >= 0]
            out.append(id_arr[found].tolist())
        return scores, out

    def info(self) -> dict[str, Any]:
        """Meta plus what Faiss reports (trained, ntotal, type)."""
        return {**self.meta, "path": self._where(), "faiss_type": type(self.index).__name__,
                "is_trained": bool(self.index.is_trained), "ntotal": int(self.index.ntotal)}

"""Streaming index build: train on a sample, add chunk by chunk, never hold all vectors in memory.

`build_streaming(EMB, OUT, factory)` reads `EMB/vectors.npy` with positional reads (kvqae.index.stream),
L2-normalises each chunk, trains the Faiss index (when it needs training) on a seeded random sample of rows
(kvqae.index.training), adds the chunks with a progress bar and, with `refine`, writes the normalised vectors
as float16 beside the index (`refine.f16.npy`) for exact re-ranking at search time. Peak memory is the index
itself plus two chunks and the training sample.

`--factory auto` (`auto_factory`) picks the index from the number of vectors `n` and their dimension:

- `n < AUTO_FLAT_MAX` (200k): `Flat`, exact (n x dim x 4 bytes of RAM, 0.6 GB at 200k x 768);
- otherwise `PCAR{d'},IVF{nlist}_HNSW32,PQ{m}` with refine: a PCA projection (plus random rotation) down to
  `d' = min(dim, 256)` numbers, so that list assignment, PQ encoding and training work on 256 instead of 768;
  `nlist` inverted lists of about 64 vectors (a power of two between 4,096 and 65,536), found by two-level
  k-means on 32 rows per list (at most 1M rows), with an HNSW graph over the list centres so that assigning a
  vector to its list costs a few hundred distances instead of `nlist`; `m = d'/2` bytes of PQ code per vector
  (at most 128; d'/4 until session 7, which lost 0.03 of recall@100 at 11.9M);
  searched with nprobe 128, efSearch 256 and 16 x k candidates re-ranked exactly. Smaller lists proved
  necessary on clustered data whose neighbours spread over many entities (docs/index_search.md has the
  figures behind these choices).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.provenance import KB_KEY, stamp
from kvqae.errors import InputError
from kvqae.index.embeddings import MODEL_FINGERPRINT, zero_rows
from kvqae.index.stream import DEFAULT_CHUNK_ROWS, VectorFile, iter_chunks, open_vectors, read_sample
from kvqae.index.training import train_index

AUTO_FLAT_MAX = 200_000
AUTO_LIST_SIZE = 64  # vectors per inverted list
AUTO_MIN_NLIST, AUTO_MAX_NLIST = 4096, 65536
AUTO_POINTS_PER_LIST = 32  # k-means sample per list: enough for stable centres, cost linear in it
AUTO_MAX_TRAIN = 1_000_000  # ... but at most this many rows (3 GB of float32 at 768-d)
AUTO_DIMS_PER_PQ_BYTE, AUTO_MAX_PQ_BYTES = 2, 128  # PQ code: one byte per 2 reduced dimensions, at most 128
AUTO_NPROBE = 128
AUTO_EF_SEARCH = 256  # well above nprobe: at nprobe 16, efSearch 16 gave recall 0.66, efSearch 64 0.82
AUTO_REFINE_FACTOR = 16  # at 11.9M clustered vectors: recall@100 0.945 with 8, 0.953 with 16 (108 q/s)
KMEANS_ITERATIONS = 10  # Faiss's default is 25; centres barely move after 10 on embedding data
IDS_NPY_MIN = 1_000_000  # indexes this large store ids as ids.npy (fixed-width bytes, memory-mapped)


@dataclass(frozen=True)
class AutoChoice:
    """What `--factory auto` picked: the factory string and the default search / training settings."""

    factory: str
    nprobe: int | None
    ef_search: int | None
    refine: bool
    refine_factor: int | None
    train_sample: int


def auto_factory(n: int, dim: int) -> AutoChoice:
    """The index `--factory auto` builds for `n` vectors of `dim` numbers (see the module docstring)."""
    if n < AUTO_FLAT_MAX:
        return AutoChoice("Flat", None, None, False, None, 0)
    nlist = 2 ** round(math.log2(n / AUTO_LIST_SIZE))
    nlist = int(min(AUTO_MAX_NLIST, max(AUTO_MIN_NLIST, nlist)))
    reduced = min(dim, 256)
    m = max(1, min(AUTO_MAX_PQ_BYTES, reduced // AUTO_DIMS_PER_PQ_BYTE))
    while reduced % m:  # PQ needs m | d'
        m -= 1
    pca = f"PCAR{reduced}," if reduced < dim else ""
    return AutoChoice(f"{pca}IVF{nlist}_HNSW32,PQ{m}", AUTO_NPROBE, AUTO_EF_SEARCH, True, AUTO_REFINE_FACTOR,
                      min(n, AUTO_POINTS_PER_LIST * nlist, AUTO_MAX_TRAIN))


def default_train_sample(index: Any, n: int) -> int:
    """Training rows for a factory not chosen by `auto`: 32 per inverted list (at least 65,536), all when
    fewer; indexes without lists (PQ, HNSW-PQ) get 65,536 rows."""
    import faiss

    try:
        nlist = faiss.extract_index_ivf(index).nlist
    except RuntimeError:
        nlist = 0
    return int(min(n, max(65_536, AUTO_POINTS_PER_LIST * nlist)))


@dataclass
class EmbeddingsSource:
    """An embeddings directory opened for streaming: the vectors file (held open), ids and meta (vectors not
    loaded)."""

    vectors: VectorFile
    ids: list[str]
    meta: dict[str, Any]
    path: Path

    @property
    def vec_path(self) -> Path:
        return self.vectors.path

    def slice(self, start: int, stop: int) -> EmbeddingsSource:
        """Rows `[start, stop)` as a source of their own (a shard): same descriptor, their ids, nothing read;
        meta says their count and no missing items (those belong to the whole store)."""
        vectors = self.vectors.slice(start, stop)
        return EmbeddingsSource(vectors, self.ids[start:start + vectors.rows],
                                {**self.meta, "count": vectors.rows, "missing": []}, self.path)

    def close(self) -> None:
        """Close the vectors file (and every slice's, which share it)."""
        self.vectors.close()


_OPEN_TRIES = 3  # a store replaced while being opened is opened again, this many times at most


def _identity(path: Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def open_embeddings(directory: str | Path) -> EmbeddingsSource:
    """Open and check an embeddings directory without reading its vectors (InputError naming the file).

    `vectors.npy` stays open (one descriptor for the whole build: a store replaced by a rename meanwhile, an
    `encode` finishing, cannot mix its rows in); a folder swapped while meta.json, ids.json and the vectors
    were being opened is opened again, so the three come from one folder."""
    from kvqae.index.embeddings import _meta_int, read_meta_and_ids
    from kvqae.safety import expect_folder

    directory = expect_folder(directory, "embeddings directory")
    for _ in range(_OPEN_TRIES):
        before = _identity(directory)
        directory, meta, ids = read_meta_and_ids(directory)
        vf = open_vectors(directory / "vectors.npy")
        if _identity(directory) == before:
            break
        vf.close()
    else:
        raise InputError(f"replaced {_OPEN_TRIES} times while being opened: run the command again once it "
                         "is written", path=directory)
    meta_path, ids_path = directory / "meta.json", directory / "ids.json"
    if len(ids) != vf.rows:
        raise InputError(f"{len(ids)} ids for {vf.rows} vectors", path=ids_path)
    if _meta_int(meta, "dim", meta_path) != vf.dim:
        raise InputError(f"meta says dim {meta['dim']} but vectors have dim {vf.dim}", path=meta_path,
                         field="dim")
    if "count" in meta and _meta_int(meta, "count", meta_path) != vf.rows:
        raise InputError(f"meta says count {meta['count']} but there are {vf.rows} vectors", path=meta_path,
                         field="count")
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise InputError(f"duplicate id {dup!r}", path=ids_path, record=dup)
    if not isinstance(meta.get("missing") or [], list):  # as read_embeddings: len(5) was a TypeError
        raise InputError("expected a list of ids", path=meta_path, field="missing")
    return EmbeddingsSource(vf, ids, meta, directory)


def _check_finite(chunk: np.ndarray, first: int, src: EmbeddingsSource) -> None:
    """A KB vector with NaN/inf is an InputError naming its id (read_embeddings does the same)."""
    bad = ~np.isfinite(chunk).all(axis=1)
    if bad.any():
        row = first + int(np.flatnonzero(bad)[0])
        raise InputError("vector has NaN/inf values", path=src.vec_path, record=src.ids[row], field="vectors")


def _train(index: Any, src: EmbeddingsSource, factory: str, size: int, seed: int) -> int:
    """Train `index` on `size` sampled rows (normalised); returns the number of rows used."""

    if src.vectors.rows == 0:
        raise InputError(f"{factory!r} needs training but there are no vectors", field="factory")
    sample = read_sample(src.vectors, size, seed, normalize=True)
    if not np.isfinite(sample).all():
        _find_bad_row(src)
    try:
        train_index(index, sample, seed=seed, niter=KMEANS_ITERATIONS)
    except RuntimeError as e:
        raise InputError(f"training {factory!r} on {len(sample)} vectors failed: "
                         f"{str(e).strip().splitlines()[-1]}", field="factory") from None
    return len(sample)


def _find_bad_row(src: EmbeddingsSource) -> None:
    """The sample holds a NaN/inf row: scan in order to name the first bad id."""
    for first, chunk in iter_chunks(src.vectors):
        _check_finite(chunk, first, src)


def write_ids(directory: Path, ids: list[str], fmt: str = "auto") -> str:
    """Write the ids as `ids.npy` (fixed-width UTF-8 bytes; memory-mapped on load, decoded per hit) or
    `ids.json`. `fmt`: "npy", "json", or "auto" (npy from IDS_NPY_MIN ids). Returns the file name."""
    if fmt not in ("auto", "npy", "json"):
        raise InputError(f"unknown ids format {fmt!r}; choose auto, npy or json", field="ids_format")
    if fmt == "auto":
        fmt = "npy" if len(ids) >= IDS_NPY_MIN else "json"
    if fmt == "npy":
        encoded = [i.encode("utf-8") for i in ids]
        if any(b"\x00" in e for e in encoded):  # numpy's fixed-width bytes drop trailing NULs
            raise InputError("an id holds a NUL character; use the json ids format", field="ids")
        width = max((len(e) for e in encoded), default=1)
        np.save(directory / "ids.npy", np.array(encoded, dtype=f"S{max(1, width)}"), allow_pickle=False)
        return "ids.npy"
    (directory / "ids.json").write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
    return "ids.json"


def check_some_vectors(count: int, missing: int, path: Path) -> None:
    """An embeddings folder of 0 vectors is an InputError: its index, written silently, would find nothing."""
    if count == 0:
        why = f"all {missing} items have no embedding (meta.json: missing)" if missing else "it holds none"
        raise InputError(f"no vectors to index: {why}", path=path)


def build_streaming(
    embeddings_dir: str | Path | EmbeddingsSource,
    out_dir: str | Path,
    factory: str = "Flat",
    *,
    nprobe: int | None = None,
    ef_search: int | None = None,
    add_ef_search: int | None = None,
    refine: bool | None = None,
    refine_factor: int | None = None,
    train_sample: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    seed: int = 0,
    ids_format: str = "auto",
    progress: bool = False,
):
    """Build the index directory `out_dir` from the embeddings directory `embeddings_dir` (or an
    `EmbeddingsSource` already open, e.g. a shard's slice, left open), streaming.

    `factory`: a Faiss factory string or "auto". `nprobe` / `ef_search` / `refine_factor`: default search
    settings saved in meta.json (auto picks them when None). `refine`: keep float16 vectors for exact
    re-ranking (default: what auto picks; off for an explicit factory). `train_sample`: rows to train on
    (default: auto's, or `default_train_sample`). `add_ef_search`: HNSW search breadth used while adding, to
    find each vector's list in an IVF index with an HNSW quantizer (None: Faiss's 16, cheap but inexact: at
    11.9M vectors and 65,536 lists only 18.5 % of the vectors sampled sat in their nearest list).
    All-zero vectors are indexed (they score 0.0 against every query) and counted in meta.json
    (`zero_vectors`), which `kvqae index build` notes. Returns the saved `VectorIndex` (its `path` is
    `out_dir`).
    """
    for name, value in (("chunk_rows", chunk_rows), ("train_sample", train_sample), ("nprobe", nprobe),
                        ("ef_search", ef_search), ("add_ef_search", add_ef_search),
                        ("refine_factor", refine_factor)):
        if value is not None and value < (0 if name == "refine_factor" else 1):
            raise InputError(f"must be >= {0 if name == 'refine_factor' else 1}, got {value}", field=name)
    opened = not isinstance(embeddings_dir, EmbeddingsSource)
    src = open_embeddings(embeddings_dir) if opened else embeddings_dir
    try:  # one descriptor for the whole build, closed at its end (a source given stays the caller's)
        return _build(src, out_dir, factory, nprobe=nprobe, ef_search=ef_search, add_ef_search=add_ef_search,
                      refine=refine, refine_factor=refine_factor, train_sample=train_sample,
                      chunk_rows=chunk_rows, seed=seed, ids_format=ids_format, progress=progress)
    finally:
        if opened:
            src.close()


def _build(src: EmbeddingsSource, out_dir: str | Path, factory: str, *, nprobe: int | None,
           ef_search: int | None, add_ef_search: int | None, refine: bool | None, refine_factor: int | None,
           train_sample: int | None, chunk_rows: int, seed: int, ids_format: str, progress: bool):
    """`build_streaming` on an open source (arguments as there, already range-checked)."""
    import time

    from kvqae.index.faiss_index import VectorIndex, add_vectors, make_faiss_index, set_search_params
    from kvqae.index.refine import REFINE_FILE, RefineWriter
    from kvqae.io import atomic_dir
    from kvqae.progress import track

    n, dim = src.vectors.shape
    check_some_vectors(n, len(src.meta.get("missing") or []), src.path)
    choice = auto_factory(n, dim) if factory == "auto" else None
    if choice is not None:
        factory = choice.factory
        nprobe = choice.nprobe if nprobe is None else nprobe
        ef_search = choice.ef_search if ef_search is None else ef_search
        refine = choice.refine if refine is None else refine
    refine = bool(refine)
    if refine_factor and not refine:  # saved as null, silently: nothing to re-rank with
        raise InputError(f"a refine factor re-ranks with the float16 copy --refine keeps; {factory} is built "
                         "without it: add --refine (or leave --refine-factor out)", field="--refine-factor")
    if refine and refine_factor is None:
        refine_factor = choice.refine_factor if choice is not None and choice.refine_factor else None
        refine_factor = refine_factor or AUTO_REFINE_FACTOR
    index = make_faiss_index(dim, factory)
    # Refuse settings the index lacks before any work, on a throw-away copy: a search breadth set on the
    # index itself would also slow down adding (each vector's list is found by an HNSW search; with efSearch
    # 256 instead of Faiss's 16 the add phase took several times longer). Applied on load instead.
    set_search_params(make_faiss_index(dim, factory), nprobe=nprobe, ef_search=ef_search)
    if add_ef_search is not None:  # refused here, before training, for an index without an HNSW graph
        try:
            set_search_params(index, ef_search=add_ef_search)
        except InputError as e:
            raise InputError(e.reason, field="--add-ef-search") from None
    if train_sample is not None and index.is_trained:  # nothing to train: the sample was ignored
        raise InputError(f"{factory} needs no training (only IVF and PQ indexes train): leave --train-sample "
                         "out", field="--train-sample")
    timings: dict[str, float] = {}
    used = 0
    if not index.is_trained:
        t0 = time.perf_counter()
        size = train_sample or (choice.train_sample if choice is not None and choice.train_sample
                                else default_train_sample(index, n))
        if progress:
            print(f"training {factory} on {min(size, n)} of {n} vectors ...", flush=True)
        used = _train(index, src, factory, size, seed)
        timings["train_s"] = round(time.perf_counter() - t0, 3)
    meta: dict[str, Any] = {
        "encoder": str(src.meta.get("encoder", "")), "field": str(src.meta.get("field", "")), "dim": dim,
        "factory": factory, "metric": "ip", "count": n, "normalized": True, "kind": src.meta.get("kind"),
        "source": str(src.path), "missing": len(src.meta.get("missing") or []),
    }
    stamp(meta, src.meta.get(KB_KEY))  # the KB of the ids (kvqae.data.provenance)
    if src.meta.get(MODEL_FINGERPRINT):  # the weights that made the vectors: queries are checked against them
        meta[MODEL_FINGERPRINT] = src.meta[MODEL_FINGERPRINT]
    for key, value in (("nprobe", nprobe), ("ef_search", ef_search), ("refine_factor", refine_factor)):
        if value is not None:
            meta[key] = int(value)
    if used:
        meta["train_sample"] = used
    if add_ef_search is not None:
        meta["add_ef_search"] = int(add_ef_search)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        writer = RefineWriter(tmp / REFINE_FILE, n, dim) if refine else None
        t0 = time.perf_counter()
        chunks = iter_chunks(src.vectors, chunk_rows, normalize=True)
        zero = 0
        for first, chunk in track(chunks, "indexing", total=-(-n // chunk_rows), enabled=progress):
            _check_finite(chunk, first, src)
            zero += int(zero_rows(chunk).sum())  # noted, not refused: an item may truly embed to nothing
            add_vectors(index, chunk, factory)
            if writer is not None:
                writer.write(chunk)
        timings["add_s"] = round(time.perf_counter() - t0, 3)
        if zero:
            meta["zero_vectors"] = zero
        if writer is not None:
            writer.close()
            meta["refine"] = REFINE_FILE
        meta["ids_file"] = write_ids(tmp, src.ids, ids_format)
        meta["build"] = timings
        result = VectorIndex(index, src.ids, meta)
        result.write_index_files(tmp)
    result.path = out_dir
    if refine:
        result.attach_refine(out_dir / REFINE_FILE)
    return result

"""Streaming access to large `vectors.npy` files: chunked reads, sampled reads and exact top-k by scanning.

Nothing here holds all vectors in memory: rows are read with plain positional reads (`os.preadv`) after the
`.npy` header into fresh buffers, so memory is one chunk at a time (a whole-file `np.memmap` would let the
process's resident set grow to the file's size as pages are touched). The file is opened once, by
`open_vectors`, and every read goes through that descriptor: a file replaced at its path afterwards (an
`encode` or `index build` finishing with a rename) cannot mix its rows into what is being read.

Reusable pieces (also called by benchmarks/bench_scale_p4.py):

- `open_vectors(path)` -> `VectorFile` (header checked, truncation detected, the file held open),
  `.read(start, stop)`, `.read_rows(rows)`, `.slice(start, stop)`;
- `iter_chunks(vf, chunk_rows, normalize=...)` -> `(start, float32 chunk)` pairs;
- `sample_rows(n, size, seed)`, `read_sample(vf, size, seed)`: a seeded training sample read in row order;
- `exact_search_stream(vf, queries, k)`: exact inner-product top-k over every row, chunk by chunk, with a
  running top-k merge (`merge_topk`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from kvqae.errors import InputError
from kvqae.index.embeddings import l2_normalize, searchable_rows

DEFAULT_CHUNK_ROWS = 100_000  # 100k x 768 float32 = 307 MB per chunk: big enough for BLAS, small next to RAM
_MAX_READ = 1 << 30  # bytes per preadv call (Linux caps one call at ~2 GiB)


class FileHandle:
    """One read-only OS file descriptor, closed by `close()` or when the last object holding it is collected.

    Shared by a `VectorFile` and its slices, so every read of them sees the same file (inode), whatever
    happens to its path afterwards."""

    def __init__(self, path: Path) -> None:
        self.fd = -1  # set first: __del__ runs even when the open fails
        self.fd = os.open(path, os.O_RDONLY)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True)
class VectorFile:
    """A 2-D float `.npy` file opened for positional reads: `rows` x `dim` values of `dtype` at `offset`.

    `handle`: the descriptor `open_vectors` opened, used by every read (a VectorFile made by hand, without
    one, opens its path at its first read and keeps that)."""

    path: Path
    rows: int
    dim: int
    dtype: np.dtype
    offset: int  # bytes before row 0 (magic + header)
    handle: FileHandle | None = field(default=None, compare=False, repr=False)

    @property
    def row_bytes(self) -> int:
        return self.dim * self.dtype.itemsize

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.dim)

    def descriptor(self) -> int:
        """The held descriptor; a VectorFile made by hand (no handle) opens its path now and keeps it."""
        if self.handle is None:
            object.__setattr__(self, "handle", FileHandle(self.path))  # frozen: set once, like a cache
        if self.handle.fd < 0:
            raise ValueError(f"{self.path}: read after close")
        return self.handle.fd

    def close(self) -> None:
        """Close the descriptor (shared with every slice of this file)."""
        if self.handle is not None:
            self.handle.close()

    def slice(self, start: int, stop: int) -> VectorFile:
        """Rows `[start, stop)` as a VectorFile of their own (same descriptor; nothing is read)."""
        start, stop = max(0, int(start)), min(self.rows, int(stop))
        return replace(self, rows=max(0, stop - start), offset=self.offset + start * self.row_bytes)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows `[start, stop)` as a new float32 array `(stop - start, dim)` (one positional read)."""
        start, stop = max(0, int(start)), min(self.rows, int(stop))
        buf = np.empty((max(0, stop - start), self.dim), dtype=self.dtype)
        if buf.size:
            _pread_into(self.descriptor(), buf, self.offset + start * self.row_bytes, self.path)
        return buf.astype(np.float32, copy=False)

    def read_rows(self, rows: np.ndarray) -> np.ndarray:
        """The given rows (any order, repeats allowed) as float32 `(len(rows), dim)`, in the order given.

        Rows are read once each, in increasing order, runs of consecutive rows in one call."""
        rows = np.asarray(rows, dtype=np.int64).ravel()
        if rows.size and (rows.min() < 0 or rows.max() >= self.rows):
            raise InputError(f"row out of range [0, {self.rows})", path=self.path, field="rows")
        ordered = rows.size < 2 or bool((np.diff(rows) > 0).all())  # a sorted sample: no reordering copy
        uniq, inverse = (rows, None) if ordered else np.unique(rows, return_inverse=True)
        buf = np.empty((uniq.size, self.dim), dtype=self.dtype)
        read_runs(self.descriptor(), buf, uniq, self.offset, self.row_bytes, self.path)
        out = buf.astype(np.float32, copy=False)
        return out if inverse is None else out[inverse]


def _pread_into(fd: int, buf: np.ndarray, offset: int, path: Path) -> None:
    """Fill `buf` (C-contiguous) from file offset `offset`; a short file is an InputError."""
    view = memoryview(buf).cast("B")
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:done + _MAX_READ]], offset + done)
        if got <= 0:
            raise InputError(f"file ends early (wanted {len(view)} bytes at offset {offset}, got {done})",
                             path=path)
        done += got


def read_runs(fd: int, buf: np.ndarray, rows: np.ndarray, offset: int, row_bytes: int, path: Path,
              threads: int = 1) -> None:
    """Read sorted unique `rows` of a row-major file into `buf` (`len(rows)` rows), one call per run of
    consecutive rows (a query's neighbours often sit side by side: passages are stored entity by entity).

    `threads` > 1 splits the runs between threads: each read releases the GIL, so on a machine where a
    positional read costs several microseconds the reads overlap the Python loop of the other thread."""
    if rows.size == 0:
        return
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    starts = np.concatenate(([0], breaks)).tolist()
    ends = np.concatenate((breaks, [rows.size])).tolist()
    view = memoryview(buf).cast("B")
    rows_list = rows.tolist()

    def read(first: int, last: int) -> None:
        for a, b in zip(starts[first:last], ends[first:last], strict=True):
            got = os.preadv(fd, [view[a * row_bytes:b * row_bytes]], offset + rows_list[a] * row_bytes)
            if got != (b - a) * row_bytes:  # runs are far below 2 GiB: a short read means the file shrank
                raise InputError(f"file ends early (row {rows_list[a]})", path=path)

    n = len(starts)
    if threads <= 1 or n < 1024:
        read(0, n)
        return
    from concurrent.futures import ThreadPoolExecutor

    cuts = [n * i // threads for i in range(threads + 1)]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for job in [pool.submit(read, cuts[i], cuts[i + 1]) for i in range(threads)]:
            job.result()


def open_vectors(path: str | Path) -> VectorFile:
    """Open a 2-D float `.npy` file (float16/32/64, C order), parse its header and check its size; the file
    stays open (`VectorFile.handle`) and every later read goes through that descriptor.

    Raises InputError naming the file for a corrupt header, a wrong shape or dtype, Fortran order, or a
    file shorter (truncated) or longer than its header says."""
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    # header and size from the descriptor, not the path: all of it describes the file the reads will see
    try:
        handle = FileHandle(path)
        with os.fdopen(os.dup(handle.fd), "rb") as f:
            f.seek(0)
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            offset = f.tell()
    except (ValueError, OSError, EOFError, SyntaxError) as e:
        raise InputError(f"unreadable .npy header ({e})", path=path) from None
    dtype = np.dtype(dtype)
    if len(shape) != 2:
        raise InputError(f"expected a 2-D array, got shape {shape}", path=path)
    if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8) or not dtype.isnative:
        raise InputError(f"expected native float vectors, got {dtype}", path=path)
    if fortran:
        raise InputError("expected a C-ordered array, got Fortran order", path=path)
    rows, dim = int(shape[0]), int(shape[1])
    if dim == 0:
        raise InputError(f"vectors have dimension 0 (shape {shape}): nothing to index or search", path=path)
    expected = offset + rows * dim * dtype.itemsize
    size = os.fstat(handle.fd).st_size
    if size != expected:
        state = "truncated" if size < expected else "longer than its header says"
        raise InputError(f"{state}: {rows} x {dim} {dtype} needs {expected} bytes, the file has {size}",
                         path=path)
    return VectorFile(path, rows, dim, dtype, offset, handle)


def iter_chunks(
    vf: VectorFile,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    *,
    normalize: bool = False,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield `(first_row, chunk)` for rows `[start, stop)`, `chunk_rows` at a time, as float32 (L2-normalised
    row by row when `normalize`). The next chunk is read by a background thread while the caller works on
    this one (file reads release the GIL), so at most two chunks are in memory."""
    from concurrent.futures import ThreadPoolExecutor

    if chunk_rows < 1:
        raise InputError("must be >= 1", field="chunk_rows")
    stop = vf.rows if stop is None else min(int(stop), vf.rows)
    firsts = list(range(int(start), stop, chunk_rows))
    if not firsts:
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(vf.read, firsts[0], min(stop, firsts[0] + chunk_rows))
        for i, first in enumerate(firsts):
            chunk = pending.result()
            if i + 1 < len(firsts):
                pending = pool.submit(vf.read, firsts[i + 1], min(stop, firsts[i + 1] + chunk_rows))
            yield first, (normalize_in_place(chunk) if normalize else chunk)


def sample_rows(n: int, size: int, seed: int = 0) -> np.ndarray:
    """`min(size, n)` distinct row numbers in `[0, n)`, drawn with `seed`, sorted (so reads go forward)."""
    size = min(int(size), int(n))
    if size <= 0:
        return np.zeros(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(int(n), size=size, replace=False)).astype(np.int64)


def read_sample(vf: VectorFile, size: int, seed: int = 0, *, normalize: bool = False) -> np.ndarray:
    """A seeded random sample of `min(size, rows)` rows (float32, in row order), e.g. to train an index."""
    x = vf.read_rows(sample_rows(vf.rows, size, seed))
    return normalize_in_place(x) if normalize else x


def normalize_in_place(x: np.ndarray) -> np.ndarray:
    """`l2_normalize` without the copy (same arithmetic, so the same values), for fresh float32 buffers."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    ok = np.isfinite(norms) & (norms > 0)
    np.divide(x, norms, out=x, where=ok)
    return x


def merge_topk(
    scores: np.ndarray, labels: np.ndarray, new_scores: np.ndarray, new_labels: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two per-query top lists into the best `k` (score descending, then label ascending).

    Label -1 marks an empty slot (its score is taken as -inf)."""
    s = np.concatenate([scores, new_scores], axis=1)
    lab = np.concatenate([labels, new_labels], axis=1)
    s = np.where(lab < 0, -np.inf, s)
    order = np.lexsort((lab, -s), axis=1)[:, :k]
    return np.take_along_axis(s, order, axis=1).astype(np.float32), np.take_along_axis(lab, order, axis=1)


def exact_search_stream(
    vf: VectorFile,
    queries: np.ndarray,
    k: int,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    normalize: bool = True,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-`k` of every query over all rows of `vf`, one chunk in memory at a time.

    `normalize`: L2-normalise both rows and queries (cosine, as the indexes do). Returns scores
    `(nq, min(k, rows))` float32, best first, and row labels int64; NaN and all-zero query rows get -inf / -1
    (as `VectorIndex.search_labels` gives them, so recall compares like with like)."""
    import faiss

    from kvqae.progress import track

    if k < 1:
        raise InputError("must be >= 1", field="k")
    queries = np.asarray(queries, dtype=np.float32)
    if queries.ndim != 2 or queries.shape[1] != vf.dim:
        raise InputError(f"queries have shape {queries.shape}, expected (n, {vf.dim})", field="dim")
    k_eff = min(int(k), vf.rows)
    scores = np.full((len(queries), k_eff), -np.inf, dtype=np.float32)
    labels = np.full((len(queries), k_eff), -1, dtype=np.int64)
    valid = np.flatnonzero(searchable_rows(queries))
    if valid.size == 0 or k_eff == 0:
        return scores, labels
    q = queries[valid]
    q = l2_normalize(q) if normalize else np.ascontiguousarray(q)
    best_s, best_l = scores[valid], labels[valid]
    n_chunks = -(-vf.rows // chunk_rows)
    for first, chunk in track(iter_chunks(vf, chunk_rows, normalize=normalize), "exact scan",
                              total=n_chunks, enabled=progress):
        d, i = faiss.knn(q, chunk, min(k_eff, len(chunk)), metric=faiss.METRIC_INNER_PRODUCT)
        i = np.where(i >= 0, i + first, -1)
        best_s, best_l = merge_topk(best_s, best_l, d, i, k_eff)
    scores[valid], labels[valid] = best_s, best_l
    return scores, labels

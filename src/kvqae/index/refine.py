"""Exact re-ranking of a compressed index's candidates against float16 copies of the vectors on disk.

`refine.f16.npy` (in the index directory) holds the indexed vectors, L2-normalised as indexed, as float16
`(count, dim)` in row order: half the size of float32, written chunk by chunk while the index is built.
At search time the compressed index proposes `k * refine_factor` candidates per query; `RefineStore.rerank`
reads only those rows (sorted, consecutive rows in one read, into a small buffer: the process never maps the
file, so its resident memory does not grow towards the file's size) and keeps the `k` best by exact inner
product (float32 arithmetic on the float16 values). The file is opened once, when the index is loaded, and
read through that descriptor for the object's life: an index folder rebuilt in place while a process (kvqae
serve) holds the loaded index cannot pair the old index with the new refine file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np

from kvqae.errors import InputError
from kvqae.index.stream import open_vectors, read_runs

REFINE_FILE = "refine.f16.npy"
RERANK_BATCH = 128  # queries per read: 128 x 1,000 candidates x 768 x 2 bytes = 197 MB of buffer at most
# Positional reads overlap across threads (the GIL is released during each read); when the rows are not in
# the page cache, 8 reads in flight keep the disk's queue busy (measured at 11.9M: docs/index_search.md).
READ_THREADS = 8
SCORE_BATCH = 16  # queries scored at once: 16 x 1,000 x 768 float32 = 49 MB


class RefineWriter:
    """Write `rows` x `dim` float16 rows to a `.npy` file, chunk by chunk, without holding them in memory."""

    def __init__(self, path: str | Path, rows: int, dim: int) -> None:
        self.path = Path(path)
        self.rows, self.dim, self.written = int(rows), int(dim), 0
        self._f = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float16)), "fortran_order": False,
                  "shape": (self.rows, self.dim)}
        np.lib.format.write_array_header_2_0(self._f, header)

    def write(self, chunk: np.ndarray) -> None:
        """Append the next rows (float32 or float16, `(n, dim)`)."""
        if chunk.ndim != 2 or chunk.shape[1] != self.dim or self.written + len(chunk) > self.rows:
            raise ValueError(f"chunk of shape {chunk.shape} does not fit "
                             f"({self.written}/{self.rows} written)")
        self._f.write(np.ascontiguousarray(chunk, dtype=np.float16).tobytes())
        self.written += len(chunk)

    def close(self) -> None:
        """Flush and close; every declared row must have been written."""
        self._f.close()
        if self.written != self.rows:
            raise ValueError(f"{self.written} of {self.rows} refine rows written")


class RefineStore:
    """Read-only float16 vectors of an index directory, used to re-rank candidates exactly."""

    def __init__(self, path: str | Path, count: int, dim: int) -> None:
        self.file = open_vectors(path)  # held open: every rerank reads this file, whatever the path becomes
        if self.file.dtype != np.float16 or self.file.shape != (int(count), int(dim)):
            raise InputError(f"expected float16 ({count}, {dim}), got {self.file.dtype} {self.file.shape}",
                             path=path)
        if hasattr(os, "posix_fadvise"):  # rows are read at random: no read-ahead of the pages after them
            os.posix_fadvise(self.file.descriptor(), 0, 0, os.POSIX_FADV_RANDOM)
        self._fp16 = None  # a Faiss fp16 decoder, made on first use

    def copy_to(self, target: str | Path) -> None:
        """Write the held file (not whatever its path now holds) to `target`."""
        with os.fdopen(os.dup(self.file.descriptor()), "rb") as src, open(target, "wb") as out:
            src.seek(0)
            shutil.copyfileobj(src, out, 16 << 20)

    def _decode(self, half: np.ndarray) -> np.ndarray:
        """float16 -> float32, exactly; Faiss's fp16 decoder is vectorised (5 ns a value on the 2-core
        machine, numpy's `astype` 20 ns)."""
        import faiss

        if self._fp16 is None:
            self._fp16 = faiss.IndexScalarQuantizer(self.file.dim, faiss.ScalarQuantizer.QT_fp16)
        flat = np.ascontiguousarray(half).reshape(-1, self.file.dim)
        return self._fp16.sa_decode(flat.view(np.uint8)).reshape(half.shape)

    def rerank(self, queries: np.ndarray, candidates: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact inner products of `queries` `(n, dim)` float32 with their `candidates` `(n, m)` row labels
        (-1 = none); returns the best `min(k, m)` per query: scores float32 `(n, k')` (-inf where fewer
        candidates) and labels int64 (score descending, ties by label)."""
        n, m = candidates.shape
        k_eff = min(int(k), m)
        scores = np.full((n, k_eff), -np.inf, dtype=np.float32)
        labels = np.full((n, k_eff), -1, dtype=np.int64)
        fd = self.file.descriptor()  # the file opened at load, not the path (see the module docstring)
        for start in range(0, n, RERANK_BATCH):
            stop = min(n, start + RERANK_BATCH)
            s, lab = self._rerank_batch(fd, queries[start:stop], candidates[start:stop], k_eff)
            scores[start:stop], labels[start:stop] = s, lab
        return scores, labels

    def _rerank_batch(self, fd: int, q: np.ndarray, cand: np.ndarray,
                      k: int) -> tuple[np.ndarray, np.ndarray]:
        valid = cand >= 0
        uniq = np.unique(cand[valid])
        buf = np.empty((uniq.size, self.file.dim), dtype=np.float16)
        read_runs(fd, buf, uniq, self.file.offset, self.file.row_bytes, self.file.path, threads=READ_THREADS)
        if uniq.size == 0:
            return (np.full((len(q), k), -np.inf, dtype=np.float32), np.full((len(q), k), -1, dtype=np.int64))
        pos = np.searchsorted(uniq, np.where(valid, cand, uniq[0]))
        s = np.empty(cand.shape, dtype=np.float32)
        for a in range(0, len(q), SCORE_BATCH):
            rows = self._decode(buf[pos[a:a + SCORE_BATCH]])  # (b, m, dim) float32
            # einsum, not BLAS: a batch of small products, where BLAS threads only add synchronisation
            s[a:a + SCORE_BATCH] = np.einsum("bmd,bd->bm", rows, q[a:a + SCORE_BATCH])
        s[~valid] = -np.inf
        lab = np.where(valid, cand, -1)
        order = np.lexsort((lab, -s), axis=1)[:, :k]
        return np.take_along_axis(s, order, axis=1), np.take_along_axis(lab, order, axis=1)

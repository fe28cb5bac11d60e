"""Read an embeddings directory (`vectors.npy`, `ids.json`, `meta.json`) without depending on `kvqae.encode`.

The format is the contract in docs/ARCHITECTURE.md; this reader checks it so that an index or a search
never runs on mismatched files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from tokenize import TokenError
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.io import read_json

# meta key of an embeddings store and of an index built from it: `kvqae.encode.registry.model_fingerprint` of
# the local model that made the vectors (absent for hub names and packaged models)
MODEL_FINGERPRINT = "model_fingerprint"


@dataclass
class Embeddings:
    """Vectors `(n, dim)` float32, their ids (row order) and the directory's `meta.json`."""

    vectors: np.ndarray
    ids: list[str]
    meta: dict[str, Any]
    path: Path | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def encoder(self) -> str:
        return str(self.meta.get("encoder", ""))


def read_meta_and_ids(directory: str | Path) -> tuple[Path, dict[str, Any], list[str]]:
    """An embeddings directory's checked path, `meta.json` (an object with "encoder" and "dim") and `ids.json`
    (non-empty strings), without touching the vectors; InputError naming the file otherwise."""
    from kvqae.safety import expect_folder

    directory = expect_folder(directory, "embeddings directory")
    meta_path, ids_path = directory / "meta.json", directory / "ids.json"
    meta = read_json(meta_path)
    if not isinstance(meta, dict):
        raise InputError("expected a JSON object", path=meta_path)
    for key in ("encoder", "dim"):
        if key not in meta:
            raise InputError("missing key", path=meta_path, field=key)
    ids = read_json(ids_path)
    if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
        raise InputError("expected a list of non-empty string ids", path=ids_path)
    check_id_list_chars(ids, ids_path)
    return directory, meta, ids


_ID_BLOCK = 100_000  # ids joined per regex scan: one C-level scan instead of a Python call per id


def check_id_list_chars(ids: list[str], path: Path) -> None:
    """No id holds a control character (`kvqae.io.check_id_chars`, as for KB and question ids): an index or a
    search took 'end\\x7f' and wrote a run that `fuse combine` then refused. InputError naming `path` and the
    id's position (counted from 1)."""
    from kvqae.io import CONTROL_CHARS, check_id_chars

    for start in range(0, len(ids), _ID_BLOCK):
        block = ids[start:start + _ID_BLOCK]
        if CONTROL_CHARS.search("".join(block)):  # rare: only then look for the id, one by one
            at = next(i for i, value in enumerate(block) if CONTROL_CHARS.search(value))
            check_id_chars(block[at], "id", {"path": path, "record": f"position {start + at + 1}"})


def zero_rows(vectors: np.ndarray) -> np.ndarray:
    """Bool per row of `vectors` `(n, dim)`: every value is 0 (no direction: cosine 0 with anything)."""
    return ~(np.asarray(vectors) != 0).any(axis=1)


def searchable_rows(vectors: np.ndarray) -> np.ndarray:
    """Bool per query row: finite and not all zero. A NaN row has no embedding and an all-zero row no
    direction (every passage would score 0.0, k of them returned in arbitrary order): neither is searched."""
    vectors = np.asarray(vectors)
    return np.isfinite(vectors).all(axis=1) & ~zero_rows(vectors)


def read_embeddings(directory: str | Path, *, allow_nan: bool = False, mmap: bool = False) -> Embeddings:
    """Load and validate an embeddings directory.

    `allow_nan`: query embeddings may hold NaN rows (no embedding, e.g. no face); KB embeddings may not.
    `mmap`: memory-map `vectors.npy` (read-only) instead of reading it into memory.
    Raises InputError naming the file and field on any inconsistency (shape, dtype, counts, dim,
    duplicate ids).
    """
    directory, meta, ids = read_meta_and_ids(directory)
    meta_path, ids_path, vec_path = directory / "meta.json", directory / "ids.json", directory / "vectors.npy"
    if not vec_path.exists():
        raise InputError("file not found", path=vec_path)
    try:
        vectors = np.load(vec_path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError, SyntaxError, TokenError) as e:  # a corrupt header or body
        raise InputError(f"unreadable .npy file ({e})", path=vec_path) from None
    if vectors.ndim != 2:
        raise InputError(f"expected a 2-D array, got shape {vectors.shape}", path=vec_path)
    if not np.issubdtype(vectors.dtype, np.floating):
        raise InputError(f"expected float vectors, got {vectors.dtype}", path=vec_path)
    if vectors.dtype != np.float32:
        vectors = vectors.astype(np.float32)
    n, dim = vectors.shape
    if dim == 0:
        raise InputError(f"vectors have dimension 0 (shape {vectors.shape}): nothing to index or search",
                         path=vec_path)
    if len(ids) != n:
        raise InputError(f"{len(ids)} ids for {n} vectors", path=ids_path)
    if _meta_int(meta, "dim", meta_path) != dim:
        raise InputError(f"meta says dim {meta['dim']} but vectors have dim {dim}", path=meta_path,
                         field="dim")
    if "count" in meta and _meta_int(meta, "count", meta_path) != n:
        raise InputError(f"meta says count {meta['count']} but there are {n} vectors", path=meta_path,
                         field="count")
    if len(set(ids)) != n:
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))  # type: ignore[func-returns-value]
        raise InputError(f"duplicate id {dup!r}", path=ids_path, record=dup)
    if not allow_nan and n:
        bad = ~np.isfinite(vectors).all(axis=1)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError("vector has NaN/inf values", path=vec_path, record=ids[row], field="vectors")
    missing = meta.get("missing") or []
    if not isinstance(missing, list):
        raise InputError("expected a list of ids", path=meta_path, field="missing")
    return Embeddings(vectors, ids, meta, directory, [str(m) for m in missing])


def _meta_int(meta: dict[str, Any], key: str, path: Path) -> int:
    """`meta[key]` as an integer (a float such as 3.0 allowed); anything else is an InputError."""
    value = meta[key]
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"must be an integer, got {value!r:.40}", path=path, field=key)
    return value


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Row-wise L2 normalisation into a new float32 array; zero and NaN rows stay as they are."""
    out = np.array(vectors, dtype=np.float32, copy=True)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    ok = np.isfinite(norms) & (norms > 0)
    np.divide(out, norms, out=out, where=ok)
    return out

"""`PassageTable`: entity -> passages and passage -> entity for a whole KB, no Python object per passage.

A ViQuAE-sized KB has 1.5M entities and 11.9M passages: one Python string per passage id costs gigabytes and
tens of seconds before a single run is mapped. The table keeps

* the entity ids in one pandas Index over Arrow strings (hash lookups; E strings, no per-passage data);
* `start` / `count` (E,) int64: each entity's slice of the *flat order* of passages (entity row, then
  article position);
* the passage ids themselves only when they cannot be derived: in a KB written by `build_kb` passage `j` of
  an entity is `"{entity_id}#{j}"` (positions 0..n-1), so ids are made only for the passages a run reaches.
  Other ids (a hand-made KB, a mapping) are kept as one Arrow string array in flat order (`ids`).

`PassageTable.load(kb_dir)` reads just the `entity_id` column of entities.parquet and `entity_id`, `position`,
`passage_id` of passages.parquet, batch by batch (never the texts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.provenance import kb_digest
from kvqae.errors import InputError

_BATCH_ROWS = 1 << 16  # passages per Arrow batch while scanning passages.parquet
_SCAN_COLUMNS = ("entity_id", "position", "passage_id")


def _entity_index(values: Any):
    """A unique-checked pandas Index over Arrow strings (from a pd.Index, an Arrow array or str sequence)."""
    import pandas as pd
    import pyarrow as pa

    if isinstance(values, pd.Index):
        index = values
    else:
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        if not isinstance(values, pa.Array):
            values = pa.array(list(values), type=pa.large_string())
        if values.null_count:
            raise InputError("entity id is missing (null)", field="entity_id")
        index = pd.Index(pd.array(values, dtype=pd.StringDtype("pyarrow")))
    if not index.is_unique:
        duplicated = index[index.duplicated()][0]
        raise InputError(f"entity id {duplicated!r} appears twice", field="entity_id")
    return index


def _as_large_strings(values: Any):
    """An Arrow large_string array from an Arrow (chunked) array or a sequence of str."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks() if values.num_chunks else pa.array([], type=pa.large_string())
    if not isinstance(values, pa.Array):
        values = pa.array(list(values), type=pa.large_string())
    return values if values.type == pa.large_string() else pc.cast(values, pa.large_string())


def _joined_ids(entity_ids, offsets: np.ndarray):
    """Arrow array of `"{entity}#{offset}"` (entity_ids: Arrow strings, one per offset)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    numbers = pc.cast(pa.array(np.asarray(offsets, dtype=np.int64)), pa.large_string())
    hash_sign = pa.scalar("#", pa.large_string())
    return pc.binary_join_element_wise(_as_large_strings(entity_ids), numbers, hash_sign)


def _canonical_int(text: str) -> int:
    """`text` as a non-negative int if it is written as `str(int)` would write it ("7", not "07"), else -1."""
    if text.isascii() and text.isdigit() and (text == "0" or text[0] != "0"):
        return int(text)
    return -1


class _Scan:
    """One pass over the passage rows (Arrow batches, file order).

    Check pass (`collect=False`): passages per entity, and whether the ids are derivable as build_kb writes
    them: each entity's passages one contiguous run of rows, positions 0, 1, 2, ... along it, every id
    `"{entity_id}#{position}"`. Nothing per passage is kept. Collect pass (`collect=True`, only when that
    fails): entity row, position and id of every passage, to sort them into flat order (`_flat_ids`).
    """

    def __init__(self, index, *, collect: bool, where: Path | None) -> None:
        self.index = index
        self.collect = collect
        self.where = where
        self.count = np.zeros(len(index), dtype=np.int64)
        self.rows: list[np.ndarray] = []
        self.positions: list[np.ndarray] = []
        self.ids: list[Any] = []
        self.derivable = True
        self._done = np.zeros(len(index), dtype=bool)  # entities whose run of passages has ended
        self._last = (-1, -1)  # entity row and position of the previous passage (across batches)
        self.seen = 0

    def add(self, entity_ids, positions, passage_ids) -> None:
        """One batch of passage rows (Arrow arrays)."""
        n = len(entity_ids)
        for column, name in ((entity_ids, "entity_id"), (positions, "position"), (passage_ids, "passage_id")):
            if column.null_count:
                bad = self.seen + int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
                # rows counted from 1, as `KnowledgeBase.load` names them (it said row 0 for the first)
                raise InputError("missing value (null)", path=self.where, record=f"row {bad + 1}", field=name)
        run_rows, lengths = self._entity_runs(entity_ids, passage_ids)
        np.add.at(self.count, run_rows, lengths)
        rows = np.repeat(run_rows, lengths)
        pos = positions.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
        if self.collect:
            self.rows.append(rows)
            self.positions.append(pos)
            self.ids.append(_as_large_strings(passage_ids))
        elif self.derivable and n:
            self.derivable = self._derivable(rows, pos, run_rows, entity_ids, passage_ids)
        self.seen += n

    def _entity_runs(self, entity_ids, passage_ids) -> tuple[np.ndarray, np.ndarray]:
        """Entity row and length of each run of equal consecutive entity ids (passages of one entity are
        contiguous in KBs written by kvqae, so each entity is looked up once)."""
        import pyarrow.compute as pc

        n = len(entity_ids)
        change = np.ones(n, dtype=bool)
        if n > 1:
            change[1:] = ~pc.equal(entity_ids[1:], entity_ids[:-1]).to_numpy(zero_copy_only=False)
        first = np.flatnonzero(change)
        run_rows = self.index.get_indexer(entity_ids.take(first).to_numpy(zero_copy_only=False))
        if (run_rows < 0).any():  # said "passage of an entity missing from entities", naming no entity
            bad = int(first[np.flatnonzero(run_rows < 0)[0]])
            raise InputError(f"entity {entity_ids[bad].as_py()!r} is not in entities.parquet",
                             path=self.where, record=f"row {self.seen + bad + 1}", field="entity_id")
        return run_rows, np.diff(np.append(first, n))

    def _derivable(self, rows, pos, run_rows, entity_ids, passage_ids) -> bool:
        """Whether this batch keeps the ids derivable (see the class doc)."""
        import pyarrow.compute as pc

        prev_rows = np.concatenate(([self._last[0]], rows[:-1]))
        prev_pos = np.concatenate(([self._last[1]], pos[:-1]))
        same = rows == prev_rows
        # positions count up from 0 within an entity's run; an entity never comes back after its run
        new_runs = run_rows if run_rows[0] != self._last[0] else run_rows[1:]
        if not np.all(np.where(same, pos == prev_pos + 1, pos == 0)) or self._done[new_runs].any():
            return False
        if len(np.unique(new_runs)) != len(new_runs):
            return False
        self._done[run_rows] = True
        self._last = (int(rows[-1]), int(pos[-1]))
        joined = _joined_ids(entity_ids, pos)
        return pc.all(pc.equal(joined, _as_large_strings(passage_ids))).as_py() is not False


def _flat_ids(index, scan: _Scan):
    """The ids of a collect pass in flat order (sorted by entity row, then position; a stable sort: equal
    positions keep file order), or None when, once sorted, they turn out derivable after all (rows of a
    kvqae KB written in another order)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    rows = np.concatenate(scan.rows) if scan.rows else np.empty(0, dtype=np.int64)
    positions = np.concatenate(scan.positions) if scan.positions else np.empty(0, dtype=np.int64)
    ids = _concat(scan.ids)
    _check_unique_ids(ids, scan.where)
    step_row, step_pos = np.diff(rows), np.diff(positions)
    if not np.all((step_row > 0) | ((step_row == 0) & (step_pos > 0))):  # not already in flat order
        order = np.lexsort((positions, rows))
        rows, positions, ids = rows[order], positions[order], ids.take(pa.array(order))
    start = np.cumsum(scan.count) - scan.count
    if np.array_equal(positions, np.arange(len(rows)) - start[rows]):
        entity_ids = pa.array(index.array, type=pa.large_string()).take(pa.array(rows))
        if pc.all(pc.equal(_joined_ids(entity_ids, positions), ids)).as_py() is not False:
            return None
    return ids


def _check_unique_ids(ids, where: Path | None) -> None:
    """No passage id twice (ids in file order): a repeated id mapped an entity run to the first passage of
    that id only, and the other one was silently never retrieved (`KnowledgeBase.load` refuses it too)."""
    import pyarrow.compute as pc

    if len(ids) == 0 or pc.count_distinct(ids).as_py() == len(ids):
        return
    repeated = ids.to_pandas().duplicated().to_numpy()
    row = int(repeated.argmax())
    raise InputError(f"duplicate id {ids[row].as_py()!r}", path=where, record=f"row {row + 1}",
                     field="passage_id")


class PassageTable:
    """Entity -> passages (and back) as flat arrays, for mapping many runs against one KB.

    `entity_index` (E,) the entity ids (pandas Index over Arrow strings); `start`/`count` (E,) int64 each
    entity's slice of the flat passage order (entity row, then article position); `ids` None when passage `j`
    of every entity is `"{entity_id}#{j}"` (the caller vouches for it), else an Arrow string array (P,) of the
    passage ids in flat order. Build it once (`load`, `from_kb`, `from_mapping`) and pass it to
    `entity_run_to_passages` / `passage_run_to_entities` in place of the KB.
    """

    def __init__(self, entity_ids: Any, start: np.ndarray, count: np.ndarray,
                 passage_ids: Any = None) -> None:
        import pyarrow as pa

        self.entity_index = _entity_index(entity_ids)
        self.start = np.asarray(start, dtype=np.int64)
        self.count = np.asarray(count, dtype=np.int64)
        if not len(self.start) == len(self.count) == len(self.entity_index):
            raise ValueError("entity_ids, start and count must have one entry per entity")
        self.ids = None if passage_ids is None else _as_large_strings(passage_ids)
        if self.ids is not None and len(self.ids) != int(self.count.sum()):
            raise ValueError(f"{len(self.ids)} passage ids for {int(self.count.sum())} passages")
        self._entity_arrow = pa.array(self.entity_index.array, type=pa.large_string())
        self.kb_digest: str | None = None  # the passages' digest of the KB read (kvqae.data.provenance)

    def __len__(self) -> int:
        return len(self.entity_index)

    @property
    def n_passages(self) -> int:
        return int(self.count.sum())

    def __repr__(self) -> str:
        kind = "derived ids" if self.ids is None else "stored ids"
        return f"PassageTable(entities={len(self)}, passages={self.n_passages}, {kind})"

    # building -------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | Path, *, progress: bool = False) -> PassageTable:
        """From a KB directory, reading only `entity_id` of entities.parquet and `entity_id`, `position`,
        `passage_id` of passages.parquet (batch by batch). Passage ids are stored only when some are not
        `"{entity_id}#{j}"` (then passages.parquet is read a second time, keeping them as Arrow strings)."""
        import pyarrow as pa

        from kvqae.data.kb import ENTITIES_FILE, PASSAGES_FILE, open_kb_dir, open_kb_parquet

        path, meta = open_kb_dir(path)
        entities = open_kb_parquet(path / ENTITIES_FILE, ["entity_id"])
        passages_file = path / PASSAGES_FILE
        passages = open_kb_parquet(passages_file, _SCAN_COLUMNS)
        if not pa.types.is_integer(passages.schema_arrow.field("position").type):
            raise InputError("must be an integer column", path=passages_file, field="position")
        try:
            index = _entity_index(entities.read(columns=["entity_id"]).column(0))
        except InputError as e:
            raise InputError(e.reason, path=path / ENTITIES_FILE, field="entity_id") from None
        scan = _scan_file(passages_file, passages, index, collect=False, progress=progress)
        ids = None
        if not scan.derivable:  # rare (KBs not written by kvqae): read again, keeping the ids this time
            scan = _scan_file(passages_file, passages, index, collect=True, progress=progress)
            ids = _flat_ids(index, scan)
        table = cls(index, np.cumsum(scan.count) - scan.count, scan.count, ids)
        table.kb_digest = kb_digest(meta)
        return table

    @classmethod
    def from_kb(cls, kb: Any) -> PassageTable:
        """From a loaded KnowledgeBase (its `entities` / `passages` DataFrames: entity_id, passage_id,
        position); the same table as `load` on its directory."""
        import pyarrow as pa

        index = _entity_index(pa.array(kb.entities["entity_id"], type=pa.large_string()))
        frame = kb.passages
        columns = (pa.array(frame["entity_id"], type=pa.large_string()),
                   pa.array(frame["position"], type=pa.int64()),
                   pa.array(frame["passage_id"], type=pa.large_string()))
        scan = _Scan(index, collect=False, where=None)
        scan.add(*columns)
        ids = None
        if not scan.derivable:
            scan = _Scan(index, collect=True, where=None)
            scan.add(*columns)
            ids = _flat_ids(index, scan)
        table = cls(index, np.cumsum(scan.count) - scan.count, scan.count, ids)
        table.kb_digest = kb_digest(kb)
        return table

    @classmethod
    def from_mapping(cls, kb: Any, entity_ids: Sequence[str] | None = None) -> PassageTable:
        """From anything with `passages_of` (called once per entity of `entity_ids`, default `kb.entity_ids`)
        or a mapping entity -> passage ids in article order. A passage may belong to several entities here."""
        if entity_ids is None:
            entity_ids = list(kb) if isinstance(kb, Mapping) else kb.entity_ids
        entity_ids = list(entity_ids)
        if hasattr(kb, "passages_of"):
            plists = [kb.passages_of(e) for e in entity_ids]
        elif isinstance(kb, Mapping):
            plists = [kb[e] for e in entity_ids]
        else:
            raise TypeError("kb must have passages_of(entity_id) or be a mapping entity -> passage ids")
        count = np.fromiter(map(len, plists), dtype=np.int64, count=len(plists))
        table = cls(entity_ids, np.cumsum(count) - count, count, list(chain.from_iterable(plists)))
        owner = np.repeat(np.arange(len(count)), count)
        derived = _joined_ids(table._entity_arrow.take(owner), np.arange(len(owner)) - table.start[owner])
        if derived.equals(table.ids):  # standard ids: no need to keep them
            table.ids = None
        return table

    # entity -> passages ---------------------------------------------------------------------------------
    def rows(self, entity_ids: Sequence[str]) -> np.ndarray:
        """Row of each entity id (-1 when unknown)."""
        return self.entity_index.get_indexer(np.asarray(entity_ids, dtype=object))

    def passage_ids_at(self, rows: np.ndarray, offsets: np.ndarray) -> list[str]:
        """Ids of passage `offsets[i]` (0-based, article order) of entity row `rows[i]`, as Python strings;
        only these ids are ever materialised."""
        import pyarrow as pa

        rows = np.asarray(rows, dtype=np.int64)
        offsets = np.asarray(offsets, dtype=np.int64)
        if len(rows) == 0:
            return []
        if self.ids is None:
            return _joined_ids(self._entity_arrow.take(pa.array(rows)), offsets).to_pylist()
        return self.ids.take(pa.array(self.start[rows] + offsets)).to_pylist()

    def passages_of(self, entity_id: str) -> list[str]:
        """Passage ids of one entity in article order (KeyError when unknown)."""
        row = self.entity_index.get_loc(entity_id)
        n = int(self.count[row])
        return self.passage_ids_at(np.full(n, row), np.arange(n))

    # passage -> entity ----------------------------------------------------------------------------------
    def entity_rows_of(self, passage_ids: Sequence[str]) -> np.ndarray:
        """Entity row of each passage id (-1 when the KB has no such passage). With stored ids, a passage
        listed under several entities (only possible through `from_mapping`) belongs to the first one."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if len(passage_ids) == 0:
            return np.empty(0, dtype=np.int64)
        if self.ids is None:  # "{entity}#{j}": split at the last "#", check j against the entity's count
            parts = [pid.rpartition("#") for pid in passage_ids]
            rows = self.rows([p[0] for p in parts])
            offsets = np.fromiter((_canonical_int(p[2]) if p[1] else -1 for p in parts), dtype=np.int64,
                                  count=len(parts))
            ok = (rows >= 0) & (offsets >= 0)
            ok[ok] &= offsets[ok] < self.count[rows[ok]]
            return np.where(ok, rows, -1)
        flat = pc.index_in(pa.array(list(passage_ids), type=pa.large_string()), value_set=self.ids)
        flat = flat.fill_null(-1).to_numpy().astype(np.int64)
        # the owner of flat row f is the last entity starting at or before f (entities without passages
        # share their start with the next one, which is the one holding f)
        owner = np.searchsorted(self.start, flat, side="right") - 1
        return np.where(flat >= 0, owner, -1)

    def entity_of(self, passage_id: str) -> str:
        """Entity id of one passage (KeyError when unknown), like `KnowledgeBase.entity_of`."""
        row = int(self.entity_rows_of([passage_id])[0])
        if row < 0:
            raise KeyError(f"unknown passage id {passage_id!r}")
        return str(self.entity_index[row])

    def entity_ids_at(self, rows: np.ndarray) -> list[str]:
        """Entity ids of entity rows (all >= 0) as Python strings."""
        return self.entity_index[np.asarray(rows, dtype=np.int64)].tolist()


def _concat(chunks: list[Any]):
    import pyarrow as pa

    return pa.concat_arrays(chunks) if chunks else pa.array([], type=pa.large_string())


def _scan_file(file: Path, parquet, index, *, collect: bool, progress: bool) -> _Scan:
    """One pass over passages.parquet (only the three id columns), batch by batch."""
    import pyarrow as pa

    from kvqae.progress import track

    scan = _Scan(index, collect=collect, where=file)
    batches = parquet.iter_batches(batch_size=_BATCH_ROWS, columns=list(_SCAN_COLUMNS))
    total = -(-parquet.metadata.num_rows // _BATCH_ROWS)
    try:
        for batch in track(batches, "Reading passage ids", total=total, enabled=progress):
            scan.add(*(batch.column(c) for c in _SCAN_COLUMNS))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
        raise InputError(f"unreadable parquet ({e})", path=file) from None
    return scan

"""The rows of a KB that some runs and questions touch, read batch by batch, as a small `KnowledgeBase`.

Judging relevance (`kvqae evaluate retrieval --kb`, `kvqae fuse fit --kb`) needs the text of the passages the
runs retrieved, the entity of those passages and the questions' gold entities: a few hundred thousand rows of
a ViQuAE-sized KB (11.9M passages, gigabytes of text). `KnowledgeBase.load` would hold every row and build
per-passage dictionaries; `load_kb_subset` streams the parquet files and keeps only the matching rows, in
file order, so for the ids and references asked for the subset answers exactly as the full KB does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.kb import (
    ENTITIES_FILE,
    ENTITY_COLUMNS,
    PASSAGE_COLUMNS,
    PASSAGES_FILE,
    KnowledgeBase,
    check_passage_entities,
    check_table,
    open_kb_dir,
    open_kb_parquet,
    plain_columns,
)
from kvqae.errors import InputError

_BATCH_ROWS = 1 << 15  # rows per batch when reading every column
_KEY_BATCH_MAX = 1 << 21  # rows per batch when reading only the id columns to match


class KbSubset(KnowledgeBase):
    """A KnowledgeBase over a few rows: the per-passage accessors that judging relevance calls once per
    retrieved passage answer from dictionaries over these rows (pandas' per-item access on Arrow columns
    costs ~0.2 ms a call, minutes for a run of 1,000 x 1,000 passages). Same answers, same KeyErrors."""

    @cached_property
    def _passage_fields(self) -> tuple[dict[str, str], dict[str, str]]:
        ids = self.passage_ids  # a repeated id keeps its last row, as KnowledgeBase's lookups do
        return (dict(zip(ids, self.passages["text"].tolist(), strict=True)),
                dict(zip(ids, self.passages["entity_id"].tolist(), strict=True)))

    @cached_property
    def _entity_texts(self) -> dict[str, str]:  # a repeated id keeps its last row, as `_entity_row` does
        return dict(zip(self.entity_ids, self.entities["text"].tolist(), strict=True))

    def _get(self, table: dict[str, str], key: str, what: str) -> str:
        try:
            return table[key]
        except KeyError:
            raise KeyError(f"unknown {what} id {key!r} in {self.path}") from None

    def passage_text(self, passage_id: str) -> str:
        return self._get(self._passage_fields[0], passage_id, "passage")

    def entity_of(self, passage_id: str) -> str:
        return self._get(self._passage_fields[1], passage_id, "passage")

    def text_of(self, entity_id: str) -> str:
        return self._get(self._entity_texts, entity_id, "entity")


def _is_in(column, values):
    """Boolean mask of `column` values found in `values` (an Arrow string array); nulls are not found."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        column = pc.cast(column, pa.string())  # e.g. a column of nulls only
    return pc.fill_null(pc.is_in(column, value_set=values.cast(column.type)), False)


def _entity_mask(batch, keys):
    """Entity rows whose id, QID, title or title with "_" for " " is one of `keys` (the alias rules of
    `KnowledgeBase.resolve`)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    title = batch.column("title")
    if not (pa.types.is_string(title.type) or pa.types.is_large_string(title.type)):
        title = pc.cast(title, pa.string())  # a column of nulls only, or a pandas category (a dictionary)
    mask = _is_in(batch.column("entity_id"), keys)
    for column in (batch.column("wikidata_id"), title,
                   pc.replace_substring(title, pattern=" ", replacement="_")):
        mask = pc.or_(mask, _is_in(column, keys))
    return mask


def _matching_rows(parquet, key_columns: Sequence[str], keep, n_wanted: int) -> np.ndarray:
    """Row numbers (sorted) of the rows for which `keep(batch)` is true, reading only `key_columns`.

    Arrow's `is_in` hashes its value set on every call, so the batches grow with the set (up to 2M rows of
    key columns): ~1 s per 32k-row batch for a 900k-id run would be minutes over 11.9M passages."""
    batch_rows = max(_BATCH_ROWS, min(4 * n_wanted, _KEY_BATCH_MAX))
    found, offset = [], 0
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(key_columns)):
        found.append(np.flatnonzero(keep(batch).to_numpy(zero_copy_only=False)) + offset)
        offset += len(batch)
    return np.concatenate(found) if found else np.empty(0, dtype=np.int64)


def _take_rows(parquet, columns: Sequence[str], rows: np.ndarray, progress: bool, what: str):
    """Rows `rows` (sorted row numbers) of every column, reading only the row groups that hold some,
    batch by batch (memory: one batch of all columns)."""
    import pyarrow as pa

    from kvqae.progress import track

    sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.metadata.num_row_groups)]
    ends = np.cumsum(sizes)
    groups = np.unique(np.searchsorted(ends, rows, side="right")).tolist()
    kept = []
    for group in track(groups, f"Reading {what}", enabled=progress):
        offset = int(ends[group] - sizes[group])
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS, row_groups=[group], columns=list(columns)):
            lo, hi = np.searchsorted(rows, [offset, offset + len(batch)])
            if hi > lo:
                kept.append(batch.take(pa.array(rows[lo:hi] - offset)))
            offset += len(batch)
    schema = parquet.schema_arrow
    return pa.Table.from_batches(kept, schema=pa.schema([schema.field(c) for c in columns])).to_pandas()


def _subset(file: Path, columns: Sequence[str], key_columns: Sequence[str], keep, n_wanted: int,
            what: str, progress: bool):
    """Rows of one KB table for which `keep(batch of key_columns)` is true, as a DataFrame (file order),
    checked as `KnowledgeBase.load` checks the whole table (`check_table`: a null text was an AttributeError
    traceback while judging relevance)."""
    import pyarrow as pa

    parquet = open_kb_parquet(file, columns)
    try:
        rows = _matching_rows(parquet, key_columns, keep, n_wanted) if n_wanted else np.empty(0, np.int64)
        frame = _take_rows(parquet, columns, rows, progress, what)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OSError) as e:
        raise InputError(f"unreadable parquet ({e})", path=file) from None
    plain_columns(frame)
    check_table(file, frame, rows)
    return frame, rows


def _check_entities_exist(path: Path, passages, rows: np.ndarray) -> None:
    """The entity of every passage read is in entities.parquet (reading its `entity_id` column only): a
    passage of an unknown entity was judged against no entity, silently irrelevant."""
    import pyarrow as pa

    if passages.empty:
        return
    wanted = pa.array(sorted(set(passages["entity_id"].tolist())), type=pa.string())
    parquet = open_kb_parquet(path / ENTITIES_FILE, ["entity_id"])
    known: list[str] = []
    for batch in parquet.iter_batches(batch_size=_KEY_BATCH_MAX, columns=["entity_id"]):
        column = batch.column(0)
        known.extend(column.filter(_is_in(column, wanted)).to_pylist())
    check_passage_entities(path / PASSAGES_FILE, passages["entity_id"], known, rows)


def load_kb_subset(path: str | Path, *, passage_ids: Iterable[str] = (), entity_keys: Iterable[str] = (),
                   progress: bool = False) -> KbSubset:
    """A `KbSubset` holding only the passages of `passage_ids` and the entities that `entity_keys` name
    (entity id, Wikidata QID, title, or title with `_` for spaces), read from the KB directory `path`.

    For those ids and keys `passage_text`, `entity_of`, `text_of`, `title_of` and `resolve` answer as the
    full KB does (every row a key could resolve to is kept, in file order); anything else is unknown
    (KeyError / None). `meta` is the full KB's, so its `entities` / `passages` counts are the full ones.
    """
    import pyarrow as pa

    path, meta = open_kb_dir(path)
    wanted_passages = pa.array(sorted(set(passage_ids)), type=pa.string())
    wanted_keys = pa.array(sorted(set(entity_keys)), type=pa.string())
    entities, _ = _subset(path / ENTITIES_FILE, ENTITY_COLUMNS, ("entity_id", "title", "wikidata_id"),
                          lambda b: _entity_mask(b, wanted_keys), len(wanted_keys), "entities", progress)
    passages, rows = _subset(path / PASSAGES_FILE, PASSAGE_COLUMNS, ("passage_id",),
                             lambda b: _is_in(b.column("passage_id"), wanted_passages), len(wanted_passages),
                             "passages", progress)
    _check_entities_exist(path, passages, rows)
    return KbSubset(path, entities, passages, meta)


def kb_for_runs(path: str | Path, runs: Sequence[Any], questions: Sequence[Any], *,
                progress: bool = False) -> KnowledgeBase:
    """The subset of the KB at `path` that `kvqae.evaluate.relevance.qrels_for_kb(runs, questions, kb)`
    reads: the passages of passage-level runs, the entities of entity-level runs and every question's
    entity reference (as given and with `_` for spaces, as `resolve` tries them)."""
    passage_ids: set[str] = set()
    keys: set[str] = set()
    for run in runs:
        target = passage_ids if run.level == "passage" else keys
        for docs in run.scores.values():
            target.update(docs)
    for q in questions:
        if q.entity:
            keys.update((q.entity, q.entity.replace("_", " ")))
    return load_kb_subset(path, passage_ids=passage_ids, entity_keys=keys, progress=progress)

"""Map an entity-level run to passages.

Rules (docs/ARCHITECTURE.md): one entity -> all its passages in article order, at the entity's score, so
the entity rank order is kept (every passage of a better entity ranks above every passage of a worse one);
several entities -> one passage keeps the best score.

Why scores are nudged: `Run.ranked` orders by (-score, docid). If every passage of an entity had exactly the
entity's score, ties would be broken by docid, and `"E#10" < "E#2"` would scramble the article order. So,
per query:

* entities are taken in `Run.ranked` order (score desc, then id); entities with exactly equal scores form a
  tie group;
* passage number `j` of a tie group (counting through the group's entities in order, then article order)
  gets `score - j * step`, so the group's first passage keeps the raw entity score;
* `step = min(gap, tiny) / T`, where `gap` is the smallest difference between distinct entity scores of the
  query, `tiny = 1e-6 * max(1, max |score|)` and `T` the largest number of passages in one tie group. Hence
  every passage of a group stays strictly above the next group's raw score, and no passage moves more than
  `tiny` from its entity's score.

The resulting order is exactly (entity rank, article position) with strictly decreasing scores, which
survives saving (JSON and TREC keep float repr) and any re-sorting. Limit: entity scores that differ by less
than about 1e-13 (relative) cannot be separated in float64; such entities may interleave.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import chain
from typing import Any, Protocol

import numpy as np

from kvqae.data.provenance import kb_digest, stamp
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.search.passage_table import PassageTable  # noqa: F401  (part of this module's API)

TINY = 1e-6  # largest allowed nudge, relative to max(1, |score|)


class PassageSource(Protocol):
    """Anything that lists an entity's passage ids in article order (e.g. `kvqae.data.kb.KnowledgeBase`)."""

    def passages_of(self, entity_id: str) -> list[str]: ...


def _lookup_fn(kb: PassageSource | Mapping[str, Sequence[str]]) -> Callable[[str], Sequence[str]]:
    if hasattr(kb, "passages_of"):
        return kb.passages_of  # type: ignore[union-attr]
    if isinstance(kb, Mapping):
        return lambda e: kb[e]
    raise TypeError("kb must have a passages_of(entity_id) method or be a mapping entity -> passage ids")


def _known(lookup: Callable[[str], Sequence[str]], entity: str) -> bool:
    try:
        lookup(entity)
    except (KeyError, InputError):
        return False
    return True


def _segment_passage_scores(
    entity_scores: np.ndarray, counts: np.ndarray, starts: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Passage scores for many queries at once (the rule in the module doc), fully vectorised.

    `entity_scores` (E,) float64 and `counts` (E,) passages per entity, concatenated over queries; `starts`
    (Q,) the first entity row of each query (every query non-empty, scores non-increasing inside each).
    Returns `(scores, owner)`: (P,) passage scores and (P,) the entity row of each passage, P = counts.sum().
    """
    n = len(entity_scores)
    total = int(counts.sum())
    owner = np.repeat(np.arange(n), counts)
    if total == 0:
        return np.empty(0, dtype=np.float64), owner
    query_of = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    is_start = np.zeros(n, dtype=bool)
    is_start[starts] = True
    new_group = is_start.copy()  # a tie group = consecutive entities of one query with equal scores
    new_group[1:] |= entity_scores[1:] != entity_scores[:-1]
    first = np.flatnonzero(new_group)
    group_of = np.cumsum(new_group) - 1
    entity_start = np.cumsum(counts) - counts  # first passage slot of each entity
    group_total = np.add.reduceat(counts, first)
    t_max = np.maximum(np.maximum.reduceat(group_total, group_of[starts]), 1)
    tiny = TINY * np.maximum(1.0, np.maximum.reduceat(np.abs(entity_scores), starts))
    gaps = np.full(n, np.inf)
    diff = entity_scores[:-1] - entity_scores[1:]
    inside = (diff > 0) & ~is_start[1:]
    gaps[:-1][inside] = diff[inside]
    gap = np.minimum.reduceat(gaps, starts)  # inf when a query has a single distinct score
    step = np.minimum(gap, tiny) / t_max
    offset = np.arange(total) - entity_start[first][group_of[owner]]
    return entity_scores[owner] - offset * step[query_of[owner]], owner


def passage_scores(entity_scores: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Scores of one query's passages, its entities already in rank order (scores non-increasing).

    `entity_scores` (n,) float64, `counts` (n,) passages per entity; returns (counts.sum(),) float64, strictly
    decreasing whenever float64 can resolve it (module doc).
    """
    entity_scores = np.asarray(entity_scores, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    if len(entity_scores) == 0:
        return np.empty(0, dtype=np.float64)
    return _segment_passage_scores(entity_scores, counts, np.zeros(1, dtype=np.int64))[0]


def entity_run_to_passages(
    run: Run,
    kb: PassageTable | PassageSource | Mapping[str, Sequence[str]],
    k: int | None = None,
    *,
    name: str | None = None,
) -> Run:
    """Turn an entity-level `run` into a passage-level Run via `kb.passages_of` (or a mapping entity -> ids).

    Passages follow (entity rank, article position); scores are the entity's raw score nudged down by at
    most 1e-6 relative so that order is explicit (module doc). A passage reached from several entities keeps
    its best score. `k`: keep only the first `k` passages per query (None keeps all). Queries with no
    entities stay empty. An entity the KB does not know is an InputError naming the query and entity.
    `kb.passages_of` is called once per distinct entity; all scoring is vectorised over every query at once.
    A `PassageTable` built once from the KB skips the per-entity calls (faster when mapping several runs).
    """
    if run.level != "entity":
        raise InputError(f"run {run.name!r} is already at {run.level!r} level", field="level")
    if k is not None and k < 1:
        raise InputError("must be >= 1", field="k")
    lookup = None if isinstance(kb, PassageTable) else _lookup_fn(kb)
    out: dict[str, dict[str, float]] = {qid: {} for qid in run.scores}
    queries = [qid for qid, docs in run.scores.items() if docs]
    meta: dict[str, Any] = {**run.meta, "from_level": "entity", "entity_run": run.name,
                            "passage_order": "entity rank, then article position "
                                             "(scores nudged <= 1e-6 relative)"}
    if k is not None:
        meta["passages_k"] = int(k)
    # the ids are this KB's passages from here on (kvqae.data.provenance)
    stamp(meta, kb.kb_digest if isinstance(kb, PassageTable) else kb_digest(kb))
    if not queries:
        return Run(out, name or run.name, "passage", meta)

    # Flatten every query's entities (in Run.ranked order) into one array.
    ents: list[str] = []
    values: list[float] = []
    lengths = []
    for qid in queries:
        docs = run.scores[qid]
        scores = list(docs.values())
        if all(a > b for a, b in zip(scores, scores[1:], strict=False)):  # search output: ranked
            ents.extend(docs)
            values.extend(scores)
        else:
            ranked = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))
            ents.extend(e for e, _ in ranked)
            values.extend(v for _, v in ranked)
        lengths.append(len(docs))
    entity_scores = np.asarray(values, dtype=np.float64)
    starts = np.cumsum(lengths) - np.asarray(lengths)

    if isinstance(kb, PassageTable):
        rows = kb.rows(ents)
        if (rows < 0).any():
            bad = ents[int(np.flatnonzero(rows < 0)[0])]
            qid = next(q for q in queries if bad in run.scores[q])
            raise InputError(f"entity {bad!r} is not in the knowledge base", record=f"query {qid}",
                             field=f"run {run.name}")
        counts = kb.count[rows]
        scores_arr, owner = _segment_passage_scores(entity_scores, counts, starts)
        entity_start = np.cumsum(counts) - counts
        # only the passages reached are given Python ids
        pids = kb.passage_ids_at(rows[owner], np.arange(len(owner)) - entity_start[owner])
    else:
        # One lookup per distinct entity.
        slot: dict[str, int] = {}
        uniq_list = [slot.setdefault(ent, len(slot)) for ent in ents]  # entity row -> distinct number
        try:
            plists = [lookup(ent) for ent in slot]
        except (KeyError, InputError):
            bad = next(e for e in slot if not _known(lookup, e))
            qid = next(q for q in queries if bad in run.scores[q])
            raise InputError(f"entity {bad!r} is not in the knowledge base", record=f"query {qid}",
                             field=f"run {run.name}") from None
        n_pids = np.fromiter(map(len, plists), dtype=np.int64, count=len(plists))
        counts = n_pids[np.asarray(uniq_list, dtype=np.int64)]
        scores_arr, owner = _segment_passage_scores(entity_scores, counts, starts)
        # Passage ids in the same (entity row, article position) order as the scores.
        pids = list(chain.from_iterable(map(plists.__getitem__, uniq_list)))
        entity_start = np.cumsum(counts) - counts
    scores_list = scores_arr.tolist()
    bounds = np.append(entity_start[starts], len(owner)).tolist()
    for j, qid in enumerate(queries):
        lo, hi = bounds[j], bounds[j + 1]
        row = dict(zip(pids[lo:hi], scores_list[lo:hi], strict=True))
        if len(row) < hi - lo:  # shared passages: scores decrease, so the first occurrence is the best
            row = {}
            for pid, score in zip(pids[lo:hi], scores_list[lo:hi], strict=True):
                row.setdefault(pid, score)
        if k is not None and len(row) > k:
            row = dict(zip(list(row)[:k], list(row.values())[:k], strict=True))
        out[qid] = row
    return Run(out, name or run.name, "passage", meta)


def _entities_by_table(run: Run, table: PassageTable) -> Callable[[str], str]:
    """`entity_of` for every passage of `run`, looked up in `table` in one vectorised call; a passage the
    table does not know is an InputError naming the query and passage."""
    pids = [pid for docs in run.scores.values() for pid in docs]
    rows = table.entity_rows_of(pids)
    if (rows < 0).any():
        bad = pids[int(np.flatnonzero(rows < 0)[0])]
        qid = next(q for q, docs in run.scores.items() if bad in docs)
        raise InputError(f"passage {bad!r} is not in the knowledge base", record=f"query {qid}",
                         field=f"run {run.name}")
    # a dict over the run's passages only (a passage shared by queries is looked up once per query)
    return dict(zip(pids, table.entity_ids_at(rows), strict=True)).__getitem__


def passage_run_to_entities(run: Run, entity_of: Callable[[str], str] | PassageTable, *,
                            name: str | None = None) -> Run:
    """An entity-level Run from a passage-level one: each entity scored by its best passage in `run`.

    `entity_of`: a `PassageTable` (all passages looked up at once; an unknown passage is an InputError) or a
    function passage_id -> entity_id (e.g. `KnowledgeBase.entity_of`). Queries keep their order; an empty
    query stays empty; entities come in the order of their first passage.
    """
    if run.level != "passage":
        raise InputError(f"run {run.name!r} is at {run.level!r} level, not passage", field="level")
    if isinstance(entity_of, PassageTable):
        entity_of = _entities_by_table(run, entity_of)
    out: dict[str, dict[str, float]] = {}
    for qid, docs in run.scores.items():
        best: dict[str, float] = {}
        for pid, score in docs.items():
            entity = entity_of(pid)
            if entity not in best or score > best[entity]:
                best[entity] = score
        out[qid] = best
    return Run(out, name or run.name, "entity", {**run.meta, "from_level": "passage", "aggregate": "max"})


def entity_context_run(run: Run, entity_of: Callable[[str], str] | PassageTable | None, table: PassageTable,
                       k: int | None = None, *, name: str | None = None) -> Run:
    """The "entity context" of a passage run: every passage of each retrieved entity, scored by that
    entity's best passage (`passage_run_to_entities` then `entity_run_to_passages`). Fused with the passage
    run itself, it lets a question's description of the entity (matching one passage, often the first) lift
    the entity's other passages, where the answer is. Named `<run>@entity` by default. `entity_of` None:
    passages are mapped back to entities through `table` too (no per-passage dictionary of the whole KB)."""
    entities = passage_run_to_entities(run, table if entity_of is None else entity_of,
                                       name=name or f"{run.name}@entity")
    return entity_run_to_passages(entities, table, k)

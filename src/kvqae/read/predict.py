"""Batch reading: answer every question from the top-K passages of a run and write predictions (JSON lines).

Prediction rows: `{"id", "answer", "passage_id", "score", "start", "end", "confidence"}` (`confidence`: the
evidence ranking's probability of the answer, null without it); `start`/`end` are char offsets
of the answer in the passage's text in the KB (`kb.passage_text(passage_id)[start:end] == answer`). A
question with no retrieved passage gets an empty answer with `passage_id` null.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kvqae.errors import InputError


def read_questions(
    model: str | Path | Any,
    kb: Any,
    questions: list[Any],
    run: Any,
    out: str | Path,
    *,
    top_k: int = 24,
    retrieval_weight: float | None = None,
    max_answer_tokens: int | None = None,
    batch_rows: int = 32,
    device: str = "cpu",
    progress: bool = True,
    ranked_out: str | Path | None = None,
) -> int:
    """Read each question's top-`top_k` passages of `run` with the reader `model` (path/name or a loaded
    `Reader`) and write predictions to `out` atomically. Returns the number of predictions written.

    `ranked_out`: also write the run with each question's read passages re-ordered by the reader's evidence
    (`kvqae.rerank.reader.reader_rank`; named `<run>+reader`), atomically."""
    import json

    from kvqae.io import atomic_path
    from kvqae.progress import track
    from kvqae.read.model import Reader

    reader = model if isinstance(model, Reader) else Reader.load(model, device=device)
    updates = {}
    if retrieval_weight is not None:
        updates["retrieval_weight"] = retrieval_weight
    if max_answer_tokens is not None:
        updates["max_answer_tokens"] = max_answer_tokens
    if updates:
        reader.settings = reader.settings.model_copy(update=updates)
    count = 0
    reranked: dict[str, dict[str, float]] = {}
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8") as f:
        for q in track(questions, "reading", enabled=progress):
            ranked = run.ranked(q.id)
            pred, reranked_q = read_and_rank(reader, kb, q.question, ranked, top_k, query=q.id, source=run,
                                             batch_rows=batch_rows)
            reranked[q.id] = dict(reranked_q)
            row = pred.to_json(q.id)
            for key in ("score", "confidence"):  # JSON has no NaN or infinity
                if row[key] is not None and not math.isfinite(row[key]):
                    row[key] = None
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    if ranked_out is not None:
        from kvqae.data.runs import Run

        meta = {**run.meta, "reader_rank": {"weight": reader.settings.passage_weight, "top_k": top_k}}
        Run(reranked, name=f"{run.name}+reader", level=run.level, meta=meta).save(ranked_out)
    return count


def read_and_rank(
    reader: Any,
    kb: Any,
    question: str,
    ranked: list[tuple[str, float]],
    top_k: int,
    *,
    query: str = "question",
    source: Any = None,
    batch_rows: int = 32,
    looked_up: list[str] | None = None,
) -> tuple[Any, list[tuple[str, float]]]:
    """Read the top `top_k` of `ranked` (passage id, score; best first) and the passages the reader's
    `article_lookup` adds from the first one's article (`kvqae.read.lookup`: its lead, a person's birth or
    death sentences; after the retrieved ones, at the lowest read score) -> (best `Prediction`, `ranked`
    with the read passages re-ordered by the reader's evidence, `kvqae.rerank.reader.reader_rank` with
    the reader's `passage_weight`; the first read passage's article's passages ahead of the others' when
    it holds at least the reader's `first_article_share` of them (`first_article_first`); the answer's
    passage first when its confidence reaches the reader's `answer_first` and it is of the article that
    order puts first, or when it was looked up or a rule chose it from the first read passage's article;
    unchanged when that weight is 0).

    `looked_up`: those passages when the caller has them already (`article_lookup` of the same top
    `top_k`; `kvqae ask` lists them).

    The one reading step shared by `read_questions` (batch) and `kvqae ask` / `kvqae serve`. A passage id
    the KB does not know is an InputError naming the run (`source`: its file when loaded from one), the query
    and the id."""
    from kvqae.rerank.reader import first_article_first, lead_with, reader_rank

    head = list(ranked[:top_k])
    if looked_up is None:
        looked_up = article_lookup(reader, kb, question, head)
    if looked_up:  # read after the retrieved passages, at the lowest read score
        head += [(pid, head[-1][1]) for pid in looked_up]
        extra = set(looked_up)
        ranked = head + [x for x in ranked[top_k:] if x[0] not in extra]
    passages = ranked_passages(kb, head, query=query, source=source)
    reading = reader.read(question, passages, batch_rows=batch_rows)
    weight = reader.settings.passage_weight
    best = reading.predictions[0]
    if not weight:
        return best, list(ranked)
    order = reader_rank(ranked, reading.passage_evidence, weight)
    articles = {p.passage_id: _entity(kb, p.passage_id) for p in passages}
    lead = articles[passages[0].passage_id] if passages else None  # a question with no passage reads none
    order = first_article_first(order, articles, lead, reader.settings.first_article_share)
    if best.passage_id in looked_up or (best.by_rule and _entity(kb, best.passage_id) == lead):
        return best, lead_with(order, best.passage_id)  # the answer's evidence, of the retrieval's article
    first = answer_passage(best, passages, reader.settings.answer_first)
    if first is None or _entity(kb, passages[first].passage_id) != _entity(kb, order[0][0]):
        return best, order
    return best, lead_with(order, passages[first].passage_id)


def article_lookup(reader: Any, kb: Any, question: str, head: list[tuple[str, float]]) -> list[str]:
    """Passages of the first read passage's article to read besides `head` (`kvqae.read.lookup`: its lead,
    or for a birth / death question the passages that state it; at most the reader's `article_lookup`);
    [] when the KB cannot list an article's passages. `read_and_rank` reads them after `head`; `kvqae ask`
    computes them first, to list every read passage, and hands them to it."""
    from kvqae.read.lookup import lookup_passages

    limit = getattr(reader.settings, "article_lookup", 0)
    if not limit or not head:
        return []
    try:
        entity = kb.entity_of(head[0][0])
        article, title = kb.passages_of(entity), kb.title_of(entity)
    except (AttributeError, KeyError, InputError):
        return []
    return lookup_passages(question, article, kb.passage_text, title, {pid for pid, _ in head}, limit)


def answer_passage(prediction: Any, passages: list[Any], min_confidence: float | None) -> int | None:
    """Index of the passage `prediction` was read from when its confidence is at least `min_confidence`
    (the reader's order then puts it first if it is of the article the order puts first); None otherwise
    or when `min_confidence` is None."""
    if min_confidence is None or prediction.confidence is None or prediction.confidence < min_confidence:
        return None
    ids = [p.passage_id for p in passages]
    return ids.index(prediction.passage_id) if prediction.passage_id in ids else None


def _entity(kb: Any, passage_id: str) -> str | None:
    """The passage's entity, when the KB can tell."""
    try:
        return kb.entity_of(passage_id)
    except (AttributeError, KeyError, InputError):
        return None


def ranked_passages(kb: Any, ranked: list[tuple[str, float]], *, query: str, source: Any = None) -> list[Any]:
    """`PassageInput`s (text and entity title from the KB) of a ranked `(passage_id, score)` list; an id the
    KB does not know is an InputError naming the run (`source`: its file when loaded from one), the query and
    the id."""
    from kvqae.data.runs import unknown_passage
    from kvqae.read.model import PassageInput

    passages = []
    for pid, score in ranked:
        try:
            text = kb.passage_text(pid)
        except (KeyError, InputError):
            raise unknown_passage(source, query, pid) from None
        passages.append(PassageInput(pid, text, score, _title(kb, pid), _position(kb, pid)))
    return passages


def _position(kb: Any, passage_id: str) -> int | None:
    """The passage's place in its article (0: the lead), when the KB can tell."""
    try:
        return kb.position_of(passage_id)
    except (AttributeError, KeyError, InputError):
        return None


def _title(kb: Any, passage_id: str) -> str | None:
    """The title of the passage's entity, when the KB can tell."""
    try:
        return kb.title_of(kb.entity_of(passage_id))
    except (AttributeError, KeyError, InputError):
        return None

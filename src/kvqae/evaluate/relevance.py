"""Relevance judgements (qrels) built from runs, as in the seeds' code.

- A passage is relevant to a question when its text contains one of the question's answers or aliases:
  both sides SQuAD-normalised (`normalize_answer`), matched on word boundaries ("rome" is not found in
  "romeo"). InfoSeek Numerical questions: the passage is relevant when a number written in it falls in the
  accepted range (`answer_eval`), or it contains an answer string.
- An entity is relevant when the question has a gold entity id (then only that entity, retrieved or not), else
  when its article contains the answer (same test as passages).
- Qrels are built only for the candidates a run retrieved (plus gold entities), so judgements from several
  runs can be merged (`merge_qrels`). The recall of a run is then relative to what the merged runs found,
  not to every relevant document of the KB: do not read it as true recall.

Functions take plain texts and callables (doc id -> text), not KB objects, so they work on any source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.answers import _numbers, normalize_answer, numerical_targets
from kvqae.io import read_json, write_json

Qrels = dict[str, dict[str, int]]


class QuestionLike(Protocol):
    """What relevance needs from a question (kvqae.data.questions.Question fits)."""

    id: str
    answers: list[str]
    entity: str | None
    question_type: str | None
    answer_eval: list | None


def answer_strings(
    answers: Sequence[str], question_type: str | None = None, answer_eval: Sequence[Any] | None = None
) -> list[str]:
    """Normalised, non-empty answer strings to look for: answers plus string aliases of `answer_eval`
    (not for Numerical questions, whose `answer_eval` holds range bounds)."""
    items: list[str] = [a for a in answers if isinstance(a, str)]
    if answer_eval and (question_type or "").lower() != "numerical":
        items += [a for a in answer_eval if isinstance(a, str)]
    out = []
    for a in items:
        n = normalize_answer(a)
        if n and n not in out:
            out.append(n)
    return out


def contains_answer(text: str, answers: Sequence[str], *, normalized: bool = False) -> bool:
    """True when the SQuAD-normalised `text` contains a normalised answer as whole words.

    `normalized=True`: both `text` and `answers` are already normalised (saves work in loops).
    """
    norm_text = text if normalized else normalize_answer(text)
    padded = f" {norm_text} "
    for a in answers:
        na = a if normalized else normalize_answer(a)
        if na and f" {na} " in padded:
            return True
    return False


def contains_number_in_range(text: str, answer_eval: Sequence[Any], *, rel_tol: float = 0.1) -> bool:
    """True when a number written in `text` lies in an accepted interval of an InfoSeek Numerical question."""
    targets = numerical_targets(answer_eval, rel_tol=rel_tol)
    return any(lo <= x <= hi for x in _numbers(text) for lo, hi in targets)


def is_relevant(
    text: str,
    answers: Sequence[str],
    question_type: str | None = None,
    answer_eval: Sequence[Any] | None = None,
) -> bool:
    """Relevance of one passage (or article) text to a question's answers (see the module docstring)."""
    if contains_answer(text, answer_strings(answers, question_type, answer_eval), normalized=False):
        return True
    return (
        (question_type or "").lower() == "numerical"
        and bool(answer_eval)
        and contains_number_in_range(text, answer_eval)
    )


def qrels_from_run(
    run: Run,
    questions: Iterable[QuestionLike],
    text_of: Callable[[str], str],
    *,
    level: str | None = None,
    entity_of: Callable[[str], str] | None = None,
    resolve_entity: Callable[[str | None], str | None] | None = None,
    passage_requires_entity: bool = False,
    source: str | None = None,
) -> Qrels:
    """Judge every candidate of `run`; returns `{qid: {docid: 1}}` (relevant ones only; every
    question has a key).

    `text_of(docid)`: the passage text (passage level) or article text (entity level).
    `resolve_entity(question.entity)`: the question's gold entity as a doc id of this KB, or None (default:
    the reference as is). Entity level: a question with a gold entity has exactly that entity as relevant.
    Passage level with `passage_requires_entity`: a passage must also belong to the gold entity
    (`entity_of(passage_id)`); a question whose entity is not in the KB has no relevant passage, and an
    InputError says when no question's entity is. A run query that is not a question is an InputError
    (mismatched splits).
    """
    level = level or run.level
    resolve = resolve_entity or (lambda ref: ref)
    qs = {q.id: q for q in questions}
    extra = [q for q in run.scores if q not in qs]
    if extra:
        raise InputError(
            "query of the run is not in the questions (mismatched splits?)",
            path=source or run.name,
            record=f"query {extra[0]}",
        )
    if passage_requires_entity and entity_of is None:
        raise InputError("passage_requires_entity needs entity_of (passage id -> entity id)")
    norm_cache: dict[str, str] = {}
    qrels: Qrels = {}
    golds = {qid: resolve(q.entity) if q.entity else None for qid, q in qs.items()}
    named = [q.entity for q in qs.values() if q.entity]
    if passage_requires_entity and named and all(g is None for g in golds.values()):
        # each passage would then have been judged as if the setting were off
        raise InputError(
            f"none of the {len(named)} questions' entities (such as {named[0]!r}) is an entity of the KB, so "
            "no passage can belong to one: check that the questions and the KB name entities alike (ids, "
            "titles or Wikidata ids), or drop passage_requires_entity", path=source or run.source or run.name)
    def check_known(docid: str, qid: str) -> str:
        try:
            return text_of(docid)
        except KeyError:
            raise InputError(
                f"unknown {level} id {docid!r} (run and KB do not match?)",
                path=source or run.source or run.name,
                record=f"query {qid}",
            ) from None

    for qid, q in qs.items():
        gold = golds[qid]
        if passage_requires_entity and q.entity and gold is None:
            qrels[qid] = {}  # its entity is not in the KB: none of the KB's passages belongs to it
            continue
        judged: dict[str, int] = {}
        if level == "entity" and gold is not None:
            for docid in run.scores.get(qid, {}):  # an id the KB lacks scored 0 silently
                check_known(docid, qid)
            judged[gold] = 1
            qrels[qid] = judged
            continue
        wanted = answer_strings(q.answers, q.question_type, q.answer_eval)
        numerical = (q.question_type or "").lower() == "numerical" and bool(q.answer_eval)
        for docid in run.scores.get(qid, {}):
            norm = norm_cache.get(docid)
            text = check_known(docid, qid) if norm is None else ""  # before entity_of, which would raise
            if passage_requires_entity and gold is not None and entity_of(docid) != gold:
                continue
            if norm is None:
                norm = norm_cache[docid] = normalize_answer(text)
            if contains_answer(norm, wanted, normalized=True) or (
                numerical and contains_number_in_range(text_of(docid), q.answer_eval or [])
            ):
                judged[docid] = 1
        qrels[qid] = judged
    return qrels


def merge_qrels(*many: Mapping[str, Mapping[str, int]]) -> Qrels:
    """Union of several qrels (a document relevant in any keeps its highest relevance)."""
    out: Qrels = {}
    for qrels in many:
        for q, docs in qrels.items():
            row = out.setdefault(q, {})
            for d, r in docs.items():
                row[d] = max(int(r), row.get(d, 0))
    return out


def qrels_for_kb(
    runs: Sequence[Run],
    questions: Sequence[QuestionLike],
    kb: Any,
    *,
    passage_requires_entity: bool = False,
    sources: Sequence[str] | None = None,
) -> Qrels:
    """Merged qrels of `runs` against a `kvqae.data.kb.KnowledgeBase` (passage or entity level per run). A
    passage run made over another build of the KB is an InputError (`kvqae.data.provenance`)."""
    from kvqae.data.provenance import check_run_kb

    per = []
    for i, run in enumerate(runs):
        check_run_kb(run, kb, run_source=None if sources is None else sources[i])
        text_of = kb.passage_text if run.level == "passage" else kb.text_of
        per.append(
            qrels_from_run(
                run,
                questions,
                text_of,
                level=run.level,
                entity_of=kb.entity_of,
                resolve_entity=kb.resolve,
                passage_requires_entity=passage_requires_entity,
                source=None if sources is None else sources[i],
            )
        )
    return merge_qrels(*per)


def check_relevance_source(kb: str | Path | None, qrels: str | Path | None) -> None:
    """Relevance comes from one place: judged from the runs against a KB, or given as qrels (before, with both
    the qrels won silently and the KB was never read)."""
    if kb is not None and qrels is not None:
        raise InputError("give --kb (to judge relevance from the runs against the KB) or --qrels (to use "
                         "given judgements), not both")


def save_qrels(path: str | Path, qrels: Mapping[str, Mapping[str, int]]) -> Path:
    write_json(path, {q: dict(d) for q, d in qrels.items()})
    return Path(path)


def load_qrels(path: str | Path) -> Qrels:
    """Read qrels: JSON `{qid: {docid: relevance}}`, or TREC qrels lines `qid 0 docid relevance` (what
    pyserini and trec_eval use; they were "invalid JSON (Expecting value at column 1)")."""
    from kvqae.io import existing_file, first_byte

    path = Path(path)
    first = first_byte(existing_file(path))
    if first and first not in (b"{", b"["):
        return _load_trec_qrels(path)
    data = read_json(path, "qrels file")
    if not isinstance(data, dict):
        raise InputError("expected {qid: {docid: relevance}}", path=path)
    out: Qrels = {}
    for q, docs in data.items():
        if not isinstance(docs, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in docs.values()
        ):
            raise InputError("expected {docid: int relevance}", path=path, record=f"query {q}")
        if any(not str(d).strip() for d in docs):  # matched the run matrix's padding: R@5 150.0
            raise InputError("a document id is empty", path=path, record=f"query {q}")
        spaced = next((i for i in (q, *docs) if i != i.strip()), None)
        if spaced is not None:  # " d1" judged nothing: run and question ids never hold such spaces
            raise InputError(f"id {spaced!r} begins or ends with a space, so it matches no run or question "
                             "id; remove the spaces", path=path, record=f"query {q}")
        out[str(q)] = {str(d): int(v) for d, v in docs.items()}
    return _check_some_relevant(out, path)


def _check_some_relevant(qrels: Qrels, path: Path) -> Qrels:
    """Judgements that call nothing relevant make every metric 0 with no hint why (a file of only 0s,
    or relevance written as 0/-1 where 1 was meant)."""
    judged = [v for docs in qrels.values() for v in docs.values()]
    if judged and not any(v > 0 for v in judged):
        raise InputError("no document is judged relevant (relevance > 0) for any query, so every metric "
                         "would be 0", path=path)
    return qrels


_RELEVANCE = re.compile(r"-?[0-9]+")


def _load_trec_qrels(path: Path) -> Qrels:
    """TREC qrels: one `query iteration document relevance` line per judgement (whitespace-separated)."""
    from kvqae.io import read_text

    out: Qrels = {}
    for lineno, line in enumerate(read_text(path, "qrels file").splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        # ASCII digits only: "--1" and "²" passed a str.isdigit() test, then int() raised a ValueError
        if len(fields) != 4 or not _RELEVANCE.fullmatch(fields[3]):
            raise InputError("expected TREC qrels lines 'query 0 document relevance' or JSON {qid: {docid: "
                             f"relevance}}, got {line[:60]!r}", path=path, record=lineno)
        docs = out.setdefault(fields[0], {})
        if fields[2] in docs:
            raise InputError(f"document {fields[2]!r} judged twice for query {fields[0]!r}", path=path,
                             record=lineno)
        docs[fields[2]] = int(fields[3])
    return _check_some_relevant(out, path)

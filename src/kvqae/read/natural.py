"""Natural-looking reader training questions: cloze translation plus wh-movement and entity descriptions.

Cloze questions keep the wh-word where the answer was ("Aristotle was born in where?"); people ask
"Where was this Greek philosopher born?". This module rewrites a passage sentence around an answer span
with spaCy's dependency parse:

- the answer phrase is the constituent holding the answer (a number's noun: "how many termites");
- a subject answer is replaced in place ("Who founded the Lyceum?");
- an object or a prepositional phrase attached to the main verb is fronted, with subject-auxiliary
  inversion ("Where was Aristotle born?"), the copula moved ("What is the capital of Alaska?"), or
  do-support and the verb's lemma ("When did Einstein buy a house?"); material before the subject moves to
  the end ("... in 1929");
- the subject, when it is a pronoun or the article's title, is often replaced by a description of the
  entity taken from the article's first sentence ("X was a German-born theoretical physicist" -> "this
  theoretical physicist"), as KVQAE questions refer to the entity in the picture.

Sentences the rules cannot rewrite fall back to the in-place cloze form, so the generator never produces
fewer questions than cloze translation. Deterministic for a given doc and generator.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from kvqae.read.cloze import wh_phrase

_SUBJECT_DEPS = ("nsubj", "nsubjpass")
_FRONTABLE_DEPS = ("dobj", "attr", "oprd", "dative")
_PRONOUNS = {"he", "she", "it", "they"}
_POSSESSIVES = {"his", "her", "its", "their"}
_DO_BY_TAG = {"VBD": "did", "VBZ": "does", "VBP": "do"}
_MODIFIER_DEPS = ("amod", "compound", "npadvmod", "nmod", "hmod", "punct")


def entity_description(doc: Any, title: str) -> tuple[str, str] | None:
    """(short, long) description of an article's entity from its first "X is/was a ... NOUN" sentence.

    "Albert Einstein was a German-born theoretical physicist who ..." -> ("physicist", "German-born
    theoretical physicist"). None when the first sentence has no such predicate noun.
    """
    for sent in doc.sents:
        text = sent.text.strip()
        if title and text.startswith(f"{title}.") and len(sent) <= len(title.split()) + 2:
            continue  # the "{title}. " prefix KB passages carry
        root = sent.root
        if root.lemma_ != "be":
            return None
        attr = next((t for t in root.children if t.dep_ == "attr" and t.pos_ == "NOUN"), None)
        if attr is None:
            return None
        mods = [t for t in attr.lefts if t.dep_ in _MODIFIER_DEPS]
        first = min((t.left_edge.i for t in mods), default=attr.i)
        short_start = attr.i
        while short_start >= 2 and doc[short_start - 1].text == "-":
            short_start -= 2  # keep hyphenated nouns whole: "film-maker"
        short = doc[short_start : attr.i + 1].text.lower()
        words = doc[first : attr.i + 1].text
        if not re.fullmatch(r"[\w\- ']+", words) or len(words.split()) > 5:
            words = short
        return short, words
    return None


def _answer_phrase(ent: Any) -> Any:
    """The constituent an answer span heads (or modifies: a number's noun, an adjective's noun)."""
    head = ent.root
    if head.dep_ in ("nummod", "compound", "amod", "poss") and head.head.pos_ in ("NOUN", "PROPN"):
        head = head.head
    return head


def _render(tokens: list[Any], replace: dict[int, str]) -> str:
    """Tokens joined with their original spacing; `replace[i]` stands in for token i's text."""
    parts = []
    for t in tokens:
        parts.append(replace.get(t.i, t.text) + t.whitespace_)
    return "".join(parts).strip()


def _finish(q: str) -> str | None:
    q = re.sub(r"\s+", " ", q).strip().strip(" ,;:")
    q = re.sub(r"\s+([,.;:])", r"\1", q).rstrip(" .;:!,")
    if len(q.split()) < 3:
        return None
    return q[0].upper() + q[1:] + "?"


def _lower_first(t: Any) -> str:
    """A sentence-initial token moved inside the question loses its capital unless it is a name."""
    if t.tag_ in ("NNP", "NNPS") or t.text == "I":
        return t.text
    return t.text.lower()


def wh_question(sent: Any, ent: Any, label: str, subject_ref: str | None) -> str | None:
    """A wh-question about answer span `ent` (a spaCy span inside `sent`), or None when the rules do not
    apply. `subject_ref` replaces a pronoun subject or possessive (the caller replaces a title mention)."""
    root = sent.root
    if root.pos_ not in ("VERB", "AUX"):
        return None
    head = _answer_phrase(ent)
    wh = wh_phrase(label)
    if head.dep_ in ("nsubj", "nsubjpass") and head.head == root:
        return _subject_question(sent, ent, head, wh)
    if head.dep_ == "pobj" and head.head.dep_ == "prep" and head.head.head == root:
        prep = head.head
        phrase = list(prep.subtree)
        if len(phrase) > len(ent) + 4:
            return None
        bare = ent.start == head.left_edge.i and ent.end == head.right_edge.i + 1
        if wh in ("where", "when") and bare:
            front = wh
        else:
            wh = "what" if wh in ("where", "when") else wh
            front = _phrase_with_wh(head, ent, wh, prefix=prep.text.lower())
        return _fronted_question(sent, root, phrase, front, subject_ref)
    if head.dep_ in _FRONTABLE_DEPS and head.head == root:
        phrase = list(head.subtree)
        if len(phrase) > len(ent) + 4:
            return None
        if head.dep_ == "attr":  # "The capital is Juneau" asks "What is the capital?"
            wh = "what" if wh in ("where", "when") else wh
        return _fronted_question(sent, root, phrase, _phrase_with_wh(head, ent, wh), subject_ref)
    return None


def _phrase_with_wh(head: Any, ent: Any, wh: str, prefix: str = "") -> str:
    """The fronted phrase: the answer's constituent with the answer replaced by the wh-phrase."""
    toks = [t for t in head.subtree if not (ent.start <= t.i < ent.end)]
    rest = " ".join(t.text for t in toks if t.dep_ not in ("det", "punct") and t.i > ent.end - 1)
    words = f"{wh} {rest}".strip() if wh in ("how many", "how much", "which", "what") else wh
    return f"{prefix} {words}".strip()


def _subject_question(sent: Any, ent: Any, head: Any, wh: str) -> str | None:
    subj = list(head.subtree)
    before = [t for t in sent if t.i < subj[0].i and not t.is_space]
    after = [t for t in sent if t.i > subj[-1].i and not t.is_space]
    after = [t for t in after if not (t.dep_ == "punct" and t.i == sent.end - 1)]
    if not after:
        return None
    phrase = _phrase_with_wh(head, ent, "what" if wh in ("where", "when") else wh)
    return _finish(f"{phrase} {_render(after, {})} {_moved_tail(before)}")


def _moved_tail(before: list[Any]) -> str:
    """Material that stood before the subject ("In 1929, ..."), moved to the end of the question."""
    if not before:
        return ""
    return _render(before, {before[0].i: _lower_first(before[0])}).strip(" ,")


def _fronted_question(
    sent: Any, root: Any, phrase: list[Any], front: str, subject_ref: str | None
) -> str | None:
    subject = next((c for c in root.children if c.dep_ in _SUBJECT_DEPS), None)
    if subject is None:
        return None
    removed = {t.i for t in phrase}
    subj_toks = list(subject.subtree)
    subj_ids = {t.i for t in subj_toks}
    aux = next((c for c in root.lefts if c.dep_ in ("aux", "auxpass")), None)
    replace: dict[int, str] = {}
    if aux is not None:
        mover, removed_extra = aux.text.lower(), {aux.i}
    elif root.lemma_ == "be":
        mover, removed_extra = root.text.lower(), {root.i}
    elif root.tag_ in _DO_BY_TAG:
        mover, removed_extra = _DO_BY_TAG[root.tag_], set()
        replace[root.i] = root.lemma_
    else:
        return None
    subject_text = _subject_text(subj_toks, subject_ref)
    before = [
        t
        for t in sent
        if t.i < subj_toks[0].i and t.i not in removed and t.i not in removed_extra and not t.is_space
    ]
    after = [
        t
        for t in sent
        if t.i > subj_toks[-1].i
        and t.i not in removed
        and t.i not in removed_extra
        and t.i not in subj_ids
        and not t.is_space
    ]
    if after and after[-1].dep_ == "punct" and after[-1].i == sent.end - 1:
        after = after[:-1]
    body = _render(after, replace)
    return _finish(f"{front} {mover} {subject_text} {body} {_moved_tail(before)}")


def _subject_text(subj_toks: list[Any], subject_ref: str | None) -> str:
    first = subj_toks[0]
    low = first.text.lower()
    if subject_ref and len(subj_toks) == 1 and low in _PRONOUNS:
        return subject_ref
    if subject_ref and low in _POSSESSIVES:
        return f"{subject_ref}'s " + _render(subj_toks[1:], {})
    return _render(subj_toks, {first.i: _lower_first(first)})


def subject_reference(title: str, description: tuple[str, str] | None, rng: np.random.Generator) -> str:
    """How a question names the article's entity: its title, or "this <description>" (short or long)."""
    if not description or rng.random() < 0.4:
        return title
    short, long = description
    return f"this {long if rng.random() < 0.5 else short}"


def refer_to_entity(question: str, title: str, ref: str) -> str:
    """Replace the title (or its last word, for people named by surname) in a question by `ref`."""
    if ref == title or not title:
        return question
    names = [title] + ([title.split()[-1]] if 2 <= len(title.split()) <= 3 else [])
    for name in names:
        for m in re.finditer(rf"\b{re.escape(name)}\b", question):
            if len(name) > 2 and _standalone(question, m.start(), m.end()):
                out = question[: m.start()] + ref + question[m.end() :]
                return out[0].upper() + out[1:]
    return question


def _standalone(text: str, start: int, end: int) -> bool:
    """A mention not inside a longer name: not "the Alabama Supreme Court", not "American Civil War"."""
    before = text[:start].split()
    after = text[end:].split()
    prev = before[-1] if before else ""
    nxt = after[0] if after else ""
    if prev.lower() == "the" or (prev[:1].isupper() and len(before) > 1):
        return False
    return not (nxt[:1].isupper() or nxt == "'s" and len(after) > 1 and after[1][:1].isupper())

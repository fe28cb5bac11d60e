"""Words and their meanings: "Which Latin plea, meaning 'no contest', ...?" and "What does its name mean?".

Articles give a foreign or technical term beside its meaning in a few fixed shapes: the term and its gloss
in brackets or quotes ('Pleas of "nolo contendere" (no contest)', '"maanhaar jackal" (Afrikaans for "mane
jackal")', 'the Middle Egyptian word dbt "mud brick."'), and a name's origin with what it means ('derived
from Latin albedo "whiteness"', 'from the Latin words for "south" and "Asia", hence "South Asia"'). The
reader, trained on names, dates and numbers, takes another word of the sentence. So

* a question that gives a meaning in quotes and asks for the word (`asked_gloss`: "Which Latin plea,
  meaning 'no contest', ...?") is answered with the term right before that meaning in the first read
  article's passages (`term_before_gloss`);
* a question asking what a word or a name means (`asks_meaning`: "What does the Latin word behind the name
  of ... mean?") is answered with the quoted meaning after "meaning", "means", "hence" or "literally", else
  after a language's word ("Latin albedo "whiteness""), in a sentence about a name or a word
  (`stated_meaning`).

* a question asking the subject's word in a language (`asked_language`: "What's the Hebrew cognate of the
  word Allah?", "What is it called in French?") is answered with the word before "in <language>" ("Elohim
  in Hebrew") or after "<language> <noun> is" ("The corresponding Aramaic form is Elah")
  (`word_in_language`).

`prefer_gloss` puts any of them first; `kvqae.read.lookup` reads the passages holding one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from kvqae.read.answer_choice import rule_answer_first

_QUOTES = "\"'“”‘’"
# "meaning 'no contest'", "meaning “mud brick”", "which means 'I hope so'"
_ASKED_GLOSS = re.compile(rf"\b(?:meaning|means|for)\s+[{_QUOTES}]([^{_QUOTES}]{{1,60}})[{_QUOTES}]",
                          re.IGNORECASE)
_ASKS_WORD = re.compile(r"^\s*(?:which|what|tell\s+me|name|from\s+which)\b", re.IGNORECASE)
# "What does ... mean?", "What do the Latin words behind its name mean?", "What is the meaning of its name?"
_ASKS_MEANING = re.compile(r"^\s*what\s+(?:does|do|did)\b.*\bmean\s*\??\s*$|^\s*what\s+is\s+the\s+"
                           r"(?:literal\s+)?meaning\s+of\b", re.IGNORECASE)
_WORD = r"[^\W\d_][\w'’-]*"
# the term right before a gloss's opening: a quoted phrase or one word, then a bracket, a quote or "Afrikaans
# for" before the gloss
_BEFORE_GLOSS = re.compile(
    rf"(?:[{_QUOTES}]([^{_QUOTES}]{{1,40}})[{_QUOTES}]|({_WORD}))\s*[(\[]?\s*"
    rf"(?:(?:[A-Z][a-z]+\s+)?(?:for|meaning)\s+)?[{_QUOTES}]?\s*$")
_MEANING_AFTER = re.compile(
    rf"\b(?:meaning|means|meant|hence|literally|lit\.)\s*(?:,\s*)?[{_QUOTES}]([^{_QUOTES}]{{1,40}})[{_QUOTES}]")
_LANGUAGE_WORD = re.compile(
    rf"\b(?:Latin|Greek|Arabic|French|German|Italian|Spanish|Old\s+English|Hebrew|Persian|Sanskrit)\s+"
    rf"(?!words?\b){_WORD}\s+[{_QUOTES}]([^{_QUOTES}]{{1,40}})[{_QUOTES}]")
_ABOUT_WORDS = re.compile(r"\b(?:name[sd]?|word|term|derived|derives|comes\s+from|from\s+the)\b",
                          re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")


def asked_gloss(question: str) -> str | None:
    """The meaning a question gives in quotes while asking for the word ("Which Latin plea, meaning 'no
    contest', ...?" -> "no contest"); None for another question."""
    if _ASKS_WORD.search(question) is None:
        return None
    m = _ASKED_GLOSS.search(question)
    return None if m is None else m.group(1).strip(" ,.")


# "What's the Hebrew cognate of the word Allah?", "What is the Russian version of this tool called?", "What is
# this city called in French?"
_ASKED_LANGUAGE = re.compile(
    r"^\s*(?:[Ww]hat|[Ww]hich)\b.*?\b([A-Z][a-z]+)\s+(?:word|name|term|cognate|version|form|equivalent|"
    r"translation|spelling)s?\b|^\s*[Ww]hat\b.*\b(?:called|known\s+as|named)\s+in\s+([A-Z][a-z]+)\s*\??\s*$")


def asked_language(question: str) -> str | None:
    """The language whose word for the subject `question` asks ("What's the Hebrew cognate of ...?" ->
    "Hebrew", "What is it called in French?" -> "French"); None for another question."""
    m = _ASKED_LANGUAGE.search(question)
    return None if m is None else (m.group(1) or m.group(2))


def word_in_language(text: str, language: str) -> tuple[int, int] | None:
    """(start, end) in `text` of the word a sentence gives in `language`: the word before "in <language>"
    ("Elohim in Hebrew") or after "<language> <noun> is" / "<language> <noun>, the" ("The corresponding
    Aramaic form is Elah", "The Russian abacus, the schoty"); None when none does."""
    lang = re.escape(language)
    before = re.search(rf"({_WORD}(?:\s+{_WORD})?)\s+in\s+{lang}\b", text)
    after = re.search(rf"\b{lang}\s+[a-z][\w-]*(?:\s+is|\s+was|,)\s+(?:the\s+)?({_WORD})", text)
    found = [m for m in (before, after) if m is not None]
    if not found:
        return None
    m = min(found, key=lambda m: m.start())
    a, b = m.span(1)
    if m is before:  # "ʾĒl in Canaanite and Elohim in Hebrew": the last word before "in"
        a = b - len(text[a:b].split()[-1])
    return a, b


def asks_meaning(question: str) -> bool:
    """Whether `question` asks what a word or a name means ("What does ... mean?")."""
    return _ASKS_MEANING.search(question) is not None


def term_before_gloss(text: str, gloss: str) -> tuple[int, int] | None:
    """(start, end) in `text` of the term standing right before the first mention of `gloss` (its words, any
    case, after a bracket or a quote): a quoted phrase, else one word; None when no mention has one."""
    words = r"[\s-]+".join(re.escape(w) for w in gloss.split())
    for m in re.finditer(rf"(?<![\w]){words}(?![\w])", text, re.IGNORECASE):
        if m.start() == 0 or text[m.start() - 1] not in _QUOTES + "([":
            continue  # a gloss is quoted or bracketed
        before = _BEFORE_GLOSS.search(text[max(0, m.start() - 80) : m.start()])
        if before is not None:
            base = max(0, m.start() - 80)
            group = 1 if before.group(1) is not None else 2
            return base + before.start(group), base + before.end(group)
    return None


def stated_meaning(text: str) -> tuple[int, int] | None:
    """(start, end) in `text` of the quoted meaning of a name or a word: after "meaning" / "means" /
    "hence" / "literally" in a sentence about a name or a word, else after a language's word ("Latin albedo
    "whiteness""); None when no such sentence gives one."""
    begin = 0
    fallback = None
    for finish in [m.start() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        sentence = text[begin:finish]
        if _ABOUT_WORDS.search(sentence):
            meanings = list(_MEANING_AFTER.finditer(sentence))
            if meanings:
                return begin + meanings[-1].start(1), begin + meanings[-1].end(1)
            word = _LANGUAGE_WORD.search(sentence)
            if word is not None and fallback is None:
                fallback = (begin + word.start(1), begin + word.end(1))
        begin = finish
    return fallback


def prefer_gloss(
    candidates: Sequence[Any], texts: Sequence[str], titles: Sequence[str | None], question: str,
    positions: Sequence[int | None] | None = None,
) -> list[Any]:
    """`candidates` with, when `question` gives a meaning and asks the word, the term before it, when it
    asks what a word means, the meaning stated, or when it asks the subject's word in a language, that
    word, from the first read article's passages (in article order with `positions`) first; unchanged
    otherwise."""
    gloss = asked_gloss(question)
    if gloss is not None:
        return rule_answer_first(candidates, texts, titles, lambda text, _t: term_before_gloss(text, gloss),
                                 positions)
    if asks_meaning(question):
        return rule_answer_first(candidates, texts, titles, lambda text, _t: stated_meaning(text), positions)
    language = asked_language(question)
    if language is not None:
        return rule_answer_first(candidates, texts, titles,
                                 lambda text, _t: word_in_language(text, language), positions)
    return list(candidates)

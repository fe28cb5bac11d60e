"""Reading past the retrieved passages when a question asks a person's birth or death.

"When was this man born?" and "Where did she die?" are what people ask most about a photo of a person, and
the answer sits in a known place of the person's article: the lead's lifespan parenthesis for the dates,
the sentence with "born" / "died" for the places ("Tarkovsky died in Paris on 29 December 1986", passage
19 of 40). Retrieval finds the article but often not that passage: "die" is one word of the question, and
the person's description matches every passage. So for such a question the article of the first read
passage (the retrieval's best guess at the person) is looked up in the KB, and up to `limit` of its
passages that can hold the answer are read too (`lookup_passages`): for a date its lead, and when the
lead's parenthesis lacks that date (a removed template leaves "(born Alisa Rosenbaum,; – March 6, 1982)")
the passages with "born" / "died" and a date after it (`kvqae.read.lifespan.verb_date`); for a place the
passages with "born" / "died" followed by "in" / "at" / "near" and a capitalised word that is not a month,
in a sentence about the subject (`kvqae.read.lifeplace`, which then picks the place).
"""

from __future__ import annotations

from collections.abc import Sequence

from kvqae.read.lifeplace import PLACE_AFTER, asked_life_place, life_verbs
from kvqae.read.lifespan import asked_life_event, life_dates, verb_date


def asks_life_event(question: str) -> bool:
    """Whether `question` asks when or where someone was born or died (what `lookup_passages` serves)."""
    return asked_life_event(question) is not None or asked_life_place(question) is not None


def lookup_passages(
    question: str, article: Sequence[tuple[str, str]], title: str | None, read: set[str], limit: int
) -> list[str]:
    """Ids of passages of `article` ((passage id, text) in article order; its first is the lead) to read
    besides the `read` ones for `question`, at most `limit`, in article order: the lead when the question
    asks a birth or death date (and the passages dating that event after "born" / "died" when the lead's
    parenthesis does not), the passages with a birth / death place sentence about the article's subject
    (`title`) when it asks where; [] for any other question."""
    if limit <= 0 or not article:
        return []
    if (event := asked_life_event(question)) is not None:
        dates, subject, _ = life_dates(article[0][1], title)
        wanted = [article[0][0]]
        if not (subject and event in dates):  # the lead lacks it: "born ... on February 2, 1905"
            wanted += [pid for pid, text in article[1:] if verb_date(text, title, event) is not None]
    elif (event := asked_life_place(question)) is not None:
        wanted = [pid for pid, text in article if _names_a_place(text, title, event)]
    else:
        return []
    return [pid for pid in wanted if pid not in read][:limit]


def _names_a_place(text: str, title: str | None, event: str) -> bool:
    """Whether a "born" / "died" of `text` about the subject is followed closely by a place-like phrase."""
    return any(PLACE_AFTER.search(text, start, stop) for start, stop in life_verbs(text, title, event))

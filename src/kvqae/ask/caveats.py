"""Caveats shown beside an answer: what the asker should know before trusting it.

A KVQAE question often names its subject only by pointing at the photo ("Where was this man born?"). Without a
photo that retrieval could search (none was given, or the bundle retrieves by text only), nothing in the
question says which man: the system still answers, about whichever article the other words match best, and
the asker should be told that this is a guess rather than find out from a confident-looking answer.
"""

from __future__ import annotations

import re

# "this man", "these animals", "that building", "the pictured church", "the building shown", "this": the
# subject pointed at in the photo
_POINTING = re.compile(r"\b(?:this|these|that|those)\b|\bthe (?:pictured|depicted|photographed)\b|"
                       r"\b(?:shown|pictured|depicted)\b(?: here| in the (?:photo|picture|image))?",
                       re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_][\w'’-]*|\d[\d,.]*")
# words that say nothing about which entity is meant: function words, wh-words, and the common nouns a
# pointing phrase is made of ("this man", "this place")
_PLAIN_TEXT = """
a an the of in on at to for from by with and or as is was were are be been being has have had do does did
can could will would shall should may might must this these that those it its it's they them their he him
his she her who whom whose what which when where why how there here about into onto over under after before
during since until than then so such not no only also very much many more most some any one ones
through across near around within between among along behind below above inside outside upon
man men woman women person people boy girl child children guy lady gentleman individual figure
place building thing object animal creature plant structure site city town country location landmark area
photo picture image photograph statue monument shown pictured depicted photographed seen here
"""
_PLAIN = frozenset(_PLAIN_TEXT.split())


def pointed_subject(question: str) -> bool:
    """Whether `question` names what it asks about only by pointing at a photo: it holds a pointing word
    ("this", "these", "shown", ...) and at most two other words that could tell which entity is meant ("Where
    was this man born?": "born"; "What is the capital of this country?": "capital"), not a description
    ("Where was this Soviet film director born?").

    >>> pointed_subject("Where was this man born?"), pointed_subject("Who built the building shown?")
    (True, True)
    >>> pointed_subject("Where was this Soviet film director of Solaris born?")
    False
    >>> pointed_subject("Where was Albert Einstein born?")
    False
    """
    if not _POINTING.search(question):
        return False
    telling = [w for w in _WORD.findall(question) if w.lower() not in _PLAIN]
    return len(telling) <= 2


def caveats(question: str, *, image_searched: bool, image_modes: bool,
            image_given: bool = False) -> list[str]:
    """Notes for the asker about how far the answer to `question` can be trusted (empty: none).
    `image_searched`: a photo was given and searched; `image_modes`: the bundle can search photos;
    `image_given`: a photo came with the question (searched or not)."""
    unused = "the photo was not used: this bundle retrieves by text only"
    if not image_searched and pointed_subject(question):
        why = ("no photo was given" if image_modes else unused if image_given
               else "this bundle searches text only, so a photo would not be used")
        return [f"the question points at its subject (\"this ...\") and {why}: it says little about "
                "which entity is meant, so the entity and the answer below may well be about another "
                "one; name or describe the subject"]
    if image_given and not image_modes:
        return [f"{unused}, so the answer comes from the question's words alone"]
    return []

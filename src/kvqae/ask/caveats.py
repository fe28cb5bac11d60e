"""Caveats shown beside an answer: what the asker should know before trusting it.

A KVQAE question often names its subject only by pointing at the photo ("Where was this man born?"). Without a
photo that retrieval could search (none was given, or the bundle retrieves by text only), nothing in the
question says which man: the system still answers, about whichever article the other words match best, and
the asker should be told that this is a guess rather than find out from a confident-looking answer.

The same holds when the question's words are not in the passages the reader read ("Who painted the Mona
Lisa?" over a KB without the painting, "asdfgh qwerty"): retrieval always returns its best passages and the
reader always picks a span from them, with a confidence that is relative to the other spans it saw, so a
question the KB cannot answer still gets a confident-looking answer (`unmatched_words`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

# "this man", "these animals", "that building", "the pictured church", "the building shown", "this": the
# subject pointed at in the photo
_POINTING = re.compile(r"\b(?:this|these|that|those|he|she|it|they|him|them)\b|"
                       r"\bthe (?:pictured|depicted|photographed)\b|"
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
me my you your we us i please tell know give show say explain describe name year date day time number
"""
_PLAIN = frozenset(_PLAIN_TEXT.split())
# the note is given when at least this share of the question's telling words is missing from the passages
# read. Through `Answerer.ask` over `wiki-output`: 5 of 578 hand-written dev-set questions get it; of 50
# questions about things outside that KB and nonsense strings, 29 do. Only above a half ("Who designed the
# Colosseum?" is half: "designed" is found), 2 and 12 of the first 39; any missing capitalised word instead:
# 31 of the 578 (top 8 passages).
MISSING_SHARE = 0.5


def pointed_subject(question: str) -> bool:
    """Whether `question` names what it asks about only by pointing at a photo: it holds a pointing word
    ("this", "these", "shown", ...) and at most two other words that could tell which entity is meant ("Where
    was this man born?": "born"; "What is the capital of this country?": "capital"), not a description
    ("Where was this Soviet film director born?").

    >>> pointed_subject("Where was this man born?"), pointed_subject("Who built the building shown?")
    (True, True)
    >>> pointed_subject("Where was this Soviet film director of Solaris born?")
    False
    >>> pointed_subject("Where was Albert Einstein born?"), pointed_subject("When was he born?")
    (False, True)
    """
    if not _POINTING.search(question):
        return False
    telling = [w for w in _WORD.findall(question) if w.lower() not in _PLAIN]
    return len(telling) <= 2


def unmatched_words(question: str, passages: list[str]) -> tuple[list[str], list[str]]:
    """The question's telling words (neither function words nor pointing nouns, see `pointed_subject`) and
    those of them that no passage of `passages` holds, compared by stem ("born" matches "Born"; "died"
    matches "die"), each in the question's spelling and order, without repeats.

    >>> unmatched_words("Who painted the Mona Lisa?", ["Art is a diverse range of human activities ..."])
    (['painted', 'Mona', 'Lisa'], ['painted', 'Mona', 'Lisa'])
    >>> unmatched_words("Where was this man born?", ["Albert Einstein was born in Ulm"])
    (['born'], [])
    """
    from kvqae.read.words import content_stems, word_stems

    telling: dict[str, str] = {}  # stem (or a number as written) -> first spelling in the question
    for word in _WORD.findall(question):
        if word.lower() in _PLAIN:
            continue
        if word[0].isdigit():  # "1,000,000" is one number, not "1" and "000" found anywhere
            telling.setdefault(word.rstrip(".,"), word)
            continue
        for stem in word_stems(word):  # "sun-dried" -> "sun", "dri"
            if stem is not None and stem not in telling:
                telling[stem] = word
    found: set[str] = set()
    for text in passages:
        found |= content_stems(text)
    missing = {word: None for key, word in telling.items()
               if key not in found and not (key[0].isdigit() and _mentions_number(passages, key))}
    return list(dict.fromkeys(telling.values())), list(missing)


def _mentions_number(passages: list[str], number: str) -> bool:
    pattern = re.compile(rf"(?<![\d,.]){re.escape(number)}(?![\d]|[,.]\d)")
    return any(pattern.search(text) for text in passages)


def weak_match_note(question: str, passages: list[str], *, answered: bool = True) -> str | None:
    """A note when at least half (`MISSING_SHARE`) of the question's telling words appear in none of the
    `passages` read, or when it has none ("Who is it?"): the KB may not hold what the question asks about.
    None otherwise. `answered`: a reader gave an answer (else the note speaks of the passages shown)."""
    telling, missing = unmatched_words(question, passages)
    what = "the answer is likely a guess" if answered else "the passages shown may be about something else"
    if not telling:
        return f"the question holds no word that says what it asks about, so {what}"
    if len(missing) < MISSING_SHARE * len(telling):
        return None
    words = [w if len(w) <= 30 else w[:27] + "..." for w in missing[:6]]
    shown = ", ".join(f'"{w}"' for w in words) + (", ..." if len(missing) > 6 else "")
    return (f"none of the passages read mentions {shown} ({len(missing)} of the {len(telling)} words of the "
            f"question that say what it is about): the knowledge base may not cover what the question asks "
            f"about, so {what}")


# a proper name: capitalised words, maybe joined by "of" / "the" / a particle, a number after ("Apollo 11")
_NAME = r"[A-Z][\w'’.-]*(?:\s+(?:(?:of|the|de|da|del|von|van|la|le)\s+)?(?:[A-Z][\w'’.-]*|\d+\b))*"
# nouns of what a named entity has or is to others: "the wife of Napoleon", "Lincoln's birthplace"
_RELATION_TEXT = """
wife husband spouse widow father mother son sons daughter daughters brother brothers sister sisters child
children parent parents grandfather grandmother grandson granddaughter uncle aunt nephew niece cousin twin
capital president leader king queen ruler emperor currency anthem flag motto birthplace hometown
founder author creator designer architect inventor composer owner
"""
_RELATIONS = "|".join(sorted(set(_RELATION_TEXT.split())))
# the shapes in which a question names the entity it asks about (and no other entity the answer may be of)
_SUBJECT_SHAPES = (
    # "Who was the wife of Napoleon?", "What is the capital of Azerbaijan?"
    re.compile(rf"\b(?:{_RELATIONS})\s+of\s+(?:the\s+)?({_NAME})\s*[?.!]*\s*$"),
    # "Who was Napoleon's wife?", "Where is Lincoln's birthplace?"
    re.compile(rf"(?<![\w'’])({_NAME})['’]s\s+(?:(?:first|second|third|last|eldest|youngest|only)\s+)?"
               rf"(?:{_RELATIONS})\b"),
    # "Where was Barack Obama born?", "When did Elvis Presley die?"
    re.compile(rf"^\s*(?i:when|where|in\s+(?:which|what)\s+[a-z]+)\s+(?:was|is|did|does)\s+({_NAME})\s+"
               r"(?:born|die|died|buried)\b"),
    # "Who was Napoleon?"
    re.compile(rf"^\s*(?i:who|what)\s+(?:was|is|were|are)\s+({_NAME})\s*\?*\s*$"),
)
_WH_WORDS = frozenset({"what", "which", "who", "whom", "whose", "when", "where", "why", "how", "in", "the"})


# words that may stand beside a relation and still leave it without an owner: "the current president"
_MODIFIER_TEXT = """
current present former first second third last late new old official national eldest youngest only real
"""
_RELATION_MODIFIERS = frozenset(_MODIFIER_TEXT.split())
_RELATION_WORDS = frozenset(_RELATION_TEXT.split())


def ownerless_relation(question: str) -> str | None:
    """The relation `question` asks for when it says nothing of whose it is - every word that could tell
    which entity is meant is a relation ("president", "capital", "wife") or a word beside one ("current"):
    "Who is the president?" -> "president"; None otherwise ("Who is the president of France?", "Who was
    Napoleon's wife?", a question pointing at a photo, which `pointed_subject` covers).

    >>> ownerless_relation("Who is the president?"), ownerless_relation("What is the capital?")
    ('president', 'capital')
    >>> ownerless_relation("Who was the first wife?"), ownerless_relation("Who is the president of France?")
    ('first wife', None)
    >>> ownerless_relation("Who was this man's wife?"), ownerless_relation("What is photosynthesis?")
    (None, None)
    """
    if _POINTING.search(question):
        return None
    telling = [w for w in _WORD.findall(question) if w.lower() not in _PLAIN]
    words = [w.lower() for w in telling]
    if not any(w in _RELATION_WORDS for w in words) or any(
            w not in _RELATION_WORDS and w not in _RELATION_MODIFIERS for w in words):
        return None
    return " ".join(words)


def named_subject(question: str) -> str | None:
    """The proper name `question` asks about, in a shape that makes it the subject ("Who was the wife of
    Napoleon?", "What is Lincoln's birthplace?", "When did Elvis Presley die?"); None when it names none so.

    >>> named_subject("Who was the wife of Napoleon?"), named_subject("When did Elvis Presley die?")
    ('Napoleon', 'Elvis Presley')
    >>> named_subject("Who won the Battle of Hastings?"), named_subject("Where was this man born?")
    (None, None)
    >>> named_subject("What is the highest point of Africa's largest country?")
    """
    for shape in _SUBJECT_SHAPES:
        m = shape.search(question)
        if m is not None and m.group(1).split()[0].lower() not in _WH_WORDS:
            return m.group(1)
    return None


def other_subject_note(question: str, title: str, lead: str) -> str | None:
    """A note when `question` names its subject (`named_subject`) and the article the answer comes from
    (`title`, its first passage `lead`) is not about it: no word of the name is in the title, and the lead
    does not mention the name ("Where was Barack Obama born?" answered from "Apollo 11", which mentions
    Obama in a later passage). None otherwise."""
    name = named_subject(question)
    if name is None:
        return None
    words = {w.lower() for w in _WORD.findall(name) if (len(w) > 2 or w[0].isdigit()) and w.lower() != "the"}
    if words & {w.lower() for w in _WORD.findall(title)} or name.lower() in lead.lower():
        return None
    return (f'the question asks about "{name}", but the answer comes from the article "{title}", which is '
            f"not about it: the knowledge base may hold no article about {name}, so the answer is likely a "
            "guess")


def caveats(question: str, *, image_searched: bool, image_modes: bool,
            image_given: bool = False) -> list[str]:
    """Notes for the asker about how far the answer to `question` can be trusted (empty: none).
    `image_searched`: a photo was given and searched; `image_modes`: the bundle can search photos;
    `image_given`: a photo came with the question (searched or not)."""
    unused = "the photo was not used: this bundle retrieves by text only"
    if not image_searched and pointed_subject(question):
        why = ("no photo was given" if image_modes else unused if image_given
               else "this bundle searches text only, so a photo would not be used")
        return [f"the question points at its subject ({_pointer(question)}) and {why}: it says little about "
                "which entity is meant, so the entity and the answer below may well be about another "
                "one; name or describe the subject"]
    if not image_searched and (relation := ownerless_relation(question)) is not None:
        return [f'the question asks for "the {relation}" without saying of what or whom, and no photo was '
                "searched: the entity and the answer below are whichever the words matched; name the subject "
                f'("the {relation} of ...")']
    if image_given and not image_modes:
        return [f"{unused}, so the answer comes from the question's words alone"]
    return []


def _pointer(question: str) -> str:
    """The pointing words of `question` as the note quotes them: '"this ..."', '"he"', '"shown"'."""
    found = _POINTING.search(question)
    word = found.group(0) if found else "this"
    return f'"{word} ..."' if word.lower() in ("this", "these", "that", "those") else f'"{word}"'


# a photo this small or this flat shows nothing to recognise: the image modes still return their nearest
# entities, with scores as confident as for a real photo (a 1x1 PNG and a black 6000x6000 one both got an
# answer at 92% confidence). The demo's pictures are 64x64 with a channel spread of 23 or more.
MIN_PHOTO_SIDE = 16
MIN_PHOTO_SPREAD = 3.0


def photo_note(image: Image.Image) -> str | None:
    """A note when the photo is too small (shorter side under `MIN_PHOTO_SIDE` pixels) or too flat (every
    colour channel's standard deviation under `MIN_PHOTO_SPREAD` of 255: one colour) to show anything;
    None for any other photo."""
    from PIL import ImageStat

    width, height = image.size
    what = None
    if min(width, height) < MIN_PHOTO_SIDE:
        what = f"is {width}x{height} pixels, too small to show anything"
    else:
        thumb = image.convert("RGB")
        thumb.thumbnail((256, 256))
        if max(ImageStat.Stat(thumb).stddev) < MIN_PHOTO_SPREAD:
            what = "is almost one flat colour: it shows nothing to recognise"
    if what is None:
        return None
    return (f"the photo {what}, so the entity found from it is a guess and the answer below may well be "
            "about another one")

"""A reader's settings: how passages are encoded and spans decoded and which answer rules apply, saved with
the model in `kvqae_reader.json` (`SETTINGS_FILE`) and read back by `load_settings`."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field

from kvqae.config import ConfigModel
from kvqae.errors import InputError
from kvqae.read.evidence import EvidenceSettings

SETTINGS_FILE = "kvqae_reader.json"


# what each answer rule (its setting's name) reads, as the page and `kvqae ask` say it under a rule's answer
RULE_SAYS = {
    "gaps": "the phrase after the words the question puts before its gap, in a sentence repeating it",
    "subjects": "the noun phrase before the question's predicate, in a sentence repeating it",
    "life_dates": "the date of the lifespan the article's lead opens with",
    "event_dates": "the date of a sentence about the subject with the question's verb",
    "life_places": "the place after \"born\" / \"died\" in a sentence about the subject",
    "birth_names": "the name after \"born\" / \"née\" in a sentence about the subject",
    "nationality": "the nationality in the first sentence of the article's lead",
    "occupations": "the description in the first sentence of the article's lead",
    "education": "the school named after \"studied at\" / \"graduated from\" in a sentence about the subject",
    "awards": "the award named after \"won\" / \"received\" in a sentence about the subject",
    "attributes": "a statement of the asked attribute about the subject (\"its capital is ...\")",
    "family": "a statement of the asked relative about the subject (\"his wife, ...\", \"born to ...\")",
    "agents": "who did it, after \"<verb> by\" in a sentence about the subject",
    "parties": "the party the article's read passages name most",
    "offices": "the present holder of the asked office (\"the current President ... is\")",
    "borders": "the neighbour stated on the asked side in a border sentence about the subject",
    "naming": "the name after \"called\" / \"known as\" in a sentence describing the thing asked about",
    "colours": "the colour word of the sentence sharing the most of the question's words",
    "glosses": "the term before the quoted meaning the question gives, or the quoted meaning of a name",
    "abbreviations": "the words whose initials spell the abbreviation, beside its letters in the article",
    "ranks": "the ordinal superlative (\"sixth-smallest\") of the sentence most like the question",
    "teachers": "the person after \"a pupil of\" / \"studied under\" in a sentence about the subject",
}


class ReaderSettings(ConfigModel):
    """How passages are encoded and spans decoded; saved with the model in `kvqae_reader.json`."""

    max_length: int = 256  # tokens per (question, passage window) row
    stride: int = 64  # overlap between windows of a passage longer than one row
    max_question_tokens: int = 64  # the question is cut to this many tokens first
    max_answer_tokens: int = 30  # longest answer span, in tokens
    retrieval_weight: float = 0.0  # weight of the retrieval log-probability added to the span log-probability
    # Prefer spans of the kind the question asks for ("when" -> a date, "how many" -> a number, "who" -> a
    # name; kvqae.read.answer_types) among the best TYPED_CANDIDATES spans.
    answer_type_filter: bool = True
    # Read only the N windows of each passage that share the most question words (None: every window).
    # With a shorter max_length this reads the part of a passage around the question's words: fewer tokens.
    windows_per_passage: int | None = None
    # Snap candidate spans to spaCy entities of the label the question asks for ("which city" -> GPE) and
    # prefer those (kvqae.read.answer_choice); needs answer_type_filter.
    entity_spans: bool = True
    # End each answer where its phrase ends: before a sentence break or a comma clause, and take in the noun
    # the question asks for (kvqae.read.phrase: "Shiloh. Johnston" -> "Shiloh"; "which battle" -> "Battle of
    # Shiloh"); a "when" question's bare year gives way to a fuller date of it among the next candidates.
    # The candidates are scored and ranked on the spans as read.
    phrase_spans: bool = True
    # Mend an answer's edges (kvqae.read.edges): the words after a copula inside it ("adobe is the Bam
    # Citadel" -> "the Bam Citadel"), a date's year after its month and day ("July 16" -> "July 16, 1969"),
    # a date or a number without the phrase after it ("2005 in Aichi Prefecture" -> "2005"; session 24)
    answer_edges: bool = True
    # A question asking when someone was born or died takes the date of the lifespan parenthesis a read
    # article lead opens with, "X (26 July 1894 – 22 November 1963) was ..." (kvqae.read.lifespan).
    life_dates: bool = True
    # "In which year did this tennis player retire?", "When was this bridge opened?": the date in the first
    # sentence about the subject holding the question's verb ("retired ... on September 3, 2006"), in the
    # first read article's passages (kvqae.read.eventdate; session 23)
    event_dates: bool = True
    # "Where was this man born?" / "... die?": the place after "born" / "died" in a sentence about the
    # article's subject comes first (kvqae.read.lifeplace; session 12)
    life_places: bool = True
    # "What was the birth name of this novelist?": the name after "born" in a sentence about the article's
    # subject or its lead's parenthesis, "Ayn Rand (born Alisa Zinov'yevna Rosenbaum; ...)"
    # (kvqae.read.birthname; session 22)
    birth_names: bool = True
    # The answer rules look through the first read article's passages in article order, its lead first,
    # not in reading order: a biography states birth, family and works early, and a later passage's "born"
    # or "by" is often about something else ("the nation was born ... in Liberty"; session 22)
    rules_in_article_order: bool = True
    # "What is the nationality of this man?": the nationality right after "is a" / "was an" in the lead of
    # the article read first comes first (kvqae.read.nationality; session 14)
    nationality: bool = True
    # "What was the profession of this man?" / "What sport does he play?": the lead's "is a / was an
    # <description>" without its nationalities and praise ("a pioneering Canadian-born American motion
    # picture director, producer" -> "motion picture director"; "tennis player" -> "tennis"), for a person
    # (kvqae.read.occupation; session 23)
    occupations: bool = True
    # "Which university did this man attend?" / "Where did she study?": the institution named after
    # "graduated from" / "studied at" / "enrolled at" ... in a sentence about the subject, in the first read
    # article's passages (kvqae.read.education; session 23)
    education: bool = True
    # "What award did this physicist win?": the award named right after "won" / "received" / "was awarded"
    # in a sentence about the subject (with the question's year, when it names one), in the first read
    # article's passages (kvqae.read.award; session 23)
    awards: bool = True
    # "Which party did this president belong to?": the "<Name> Party" the first read article's read passages
    # name most (kvqae.read.party; session 23)
    parties: bool = True
    # "What is the capital of this state?": the value of the first "the capital of X is Y" / "its capital, Y"
    # statement about the subject in the read passages of the article read first comes first
    # (kvqae.read.attribute; session 15)
    attributes: bool = True
    # "Who was the first wife of this man?": the person of the first "his (first) wife, X" / "he married X" /
    # "X, the son of <subject>" statement about the subject in the read passages of the article read first
    # comes first (kvqae.read.family; session 15)
    # "Who is the president of this country?": the holder of the office in "The current President of the
    # Republic is X" / "X has been President since 1999", in the first read article's passages
    # (kvqae.read.office; session 24)
    offices: bool = True
    # "Which country borders this country to the west?": the neighbour a border sentence about the subject
    # states on that side ("bordered ... to the west by Morocco", "Tennessee to the north"), in the first
    # read article's passages (kvqae.read.border; session 29)
    borders: bool = True
    # "What's the study of agriculture called?": the name after "called" / "known as" / "named" in a sentence
    # whose words before it hold the question's thing, in the first read article's passages
    # (kvqae.read.naming; session 29)
    naming: bool = True
    # "What colour do acids turn blue litmus?": the colour word of the first read article's sentence sharing
    # the most of the question's words, not one the question names (kvqae.read.colour; session 29)
    colours: bool = True
    # a thing asked for: the phrase where the question's gap stands (kvqae.read.gap; session 30)
    gaps: bool = True
    # a thing asked as the subject of its verb ("Which acid is used in car batteries?"): the noun phrase
    # before the question's predicate in a sentence repeating it (kvqae.read.subject; session 31). Off by
    # default: +3 on the read sets, but -3 on the sets never read (docs/read.md step 35)
    subjects: bool = False
    # "Which Latin plea, meaning 'no contest', ...?": the term right before that meaning ('"nolo contendere"
    # (no contest)'); "What does its name mean?": the quoted meaning after "meaning" / "hence" or a Latin
    # word, in the first read article's passages (kvqae.read.gloss; session 29)
    glosses: bool = True
    # "What does ASCII stand for?": the words whose initials spell it, before the letters in brackets or
    # after "abbreviated from" / "short for" / "stands for", in the first read article's passages
    # (kvqae.read.acronym; session 31)
    abbreviations: bool = True
    # "How does Andorra rank in size?": the ordinal superlative ("sixth-smallest", "41st largest") of the
    # first read article's sentence sharing the most of the question's words (kvqae.read.rank; session 29)
    ranks: bool = True
    family: bool = True
    # "Who was the teacher of this philosopher?": the person after "a pupil of" / "studied under" / "was
    # taught by" in a sentence about the subject, in the first read article's passages (kvqae.read.teacher;
    # session 24)
    teachers: bool = True
    # "Who wrote this essay?": the person after "written ... by" in a sentence about the subject (or after a
    # work's lead "is a ... by") in the read passages of the article read first comes first
    # (kvqae.read.agent; session 15)
    agents: bool = True
    # An answer that is a part of a name mentioned in full in the read passages of its article becomes the
    # full name: "Douglas" -> "Stephen A. Douglas" (kvqae.read.names). Off: +2-4 EM on the dev set's
    # validation half, -2 on its test half with each of three readers (README, sessions 10 and 15). Never
    # applied to an answer a rule (an attribute, a birth place, ...) found whole.
    full_names: bool = False
    # Rank the candidates (the reader's spans + every entity of an asked-for label in the passages) by the
    # span score and the evidence around them (kvqae.read.evidence); None: the answer_choice tiers alone.
    evidence: EvidenceSettings | None = Field(default_factory=EvidenceSettings)
    # Weight of the reader's evidence when it re-orders the passages it read (kvqae.rerank.reader: z-scored
    # retrieval score + this x z-scored best candidate evidence); 0: the retrieval order stays.
    passage_weight: float = Field(default=0.5, ge=0.0, allow_inf_nan=False)
    # In that order, the passage the answer comes from goes first when the answer's confidence is at least
    # this and it is of the article the order puts first (kvqae.read.predict.read_and_rank; None: never).
    # 0.25 since session 12's evidence (flatter confidences): validation P@1 of the three seed readers
    # 80.9 / 78.7 / 80.9 at 0.5, 83.1 each at 0.25, 85.4 / 83.1 / 83.1 at 0 (a tie: the gate stays)
    answer_first: float | None = Field(default=0.25, ge=0.0, le=1.0)
    # With the evidence ranking: among the answers of the asked kind, those of the first read passage's
    # article (the retrieval's best guess at the entity asked about; told by `PassageInput.title`) come
    # first, the other articles' after them (session 13: the demo world's reader answered about other
    # entities, fusion top-5 EM 36.1 -> 48.1; the dev set's validation answers do not change)
    first_article_answers: bool = True
    # In the reader's order, the read passages of the first one's article go ahead of the others' when that
    # article holds at least this share of the read passages (retrieval is sure of the entity; None: never;
    # session 13: validation P@1 +1 question with each seed reader, the demo world unchanged)
    first_article_share: float | None = Field(default=0.5, ge=0.0, le=1.0)
    # Also read up to this many passages of the first read passage's article besides the retrieved ones:
    # its lead, or for a question asking when or where someone was born or died its passages stating it
    # (kvqae.read.lookup via kvqae.read.predict.read_and_rank; 0: only the retrieved passages; session 14)
    article_lookup: int = Field(default=2, ge=0)


def window_stride(length: int) -> int:
    """Overlap of a passage's windows of `length` tokens: a third of a window, at most 64 tokens."""
    return min(64, length // 3)


def load_settings(path: str | Path) -> ReaderSettings:
    """Settings saved in a reader directory; defaults when the directory has no `kvqae_reader.json` (a plain
    Hugging Face model). A folder `kvqae train reader` wrote (it has `training.json`) without that file was
    copied in part: loading it with defaults would silently drop its fitted evidence weights, so that is an
    InputError."""
    from kvqae.config import parse_config

    f = Path(path) / SETTINGS_FILE
    if not f.exists():
        if (Path(path) / "training.json").is_file():
            raise InputError(f"{SETTINGS_FILE} is missing beside training.json: a reader `kvqae train "
                             "reader` wrote, copied in part (its settings and fitted evidence weights are in "
                             "that file); copy it back or train again", path=path)
        return ReaderSettings()
    try:
        payload = json.loads(f.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON ({e.msg})", path=f) from None
    return parse_config(ReaderSettings, payload.get("settings", {}), path=f)

"""Birth and death dates from a lead's lifespan parenthesis (kvqae.read.lifespan): hand cases, and through
the reader with hand-set logits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.lifespan import asked_life_event, avoid_life_dates, life_dates, prefer_life_date, year_of
from reader_logits import peaked_logits, token_at

HUXLEY = ("Aldous Huxley. Aldous Leonard Huxley (26 July 1894 – 22 November 1963) was an English writer. "
          "He wrote Brave New World in 1932.")
WIFE = "Aldous Huxley. and in 1956 he married Laura Huxley (19 April 1920 – 10 February 2005), a violinist."


def spans(text: str, title: str | None = None) -> dict[str, str]:
    dates, _, _ = life_dates(text, title)
    return {k: text[a:b] for k, (a, b) in dates.items()}


@pytest.mark.parametrize("question, event", [
    ("When was this man born?", "birth"),
    ("In which year did this writer die?", "death"),
    ("What is her date of birth?", "birth"),
    ("When did the philosopher born in Danzig die?", "death"),  # the last one is asked about
    ("On what date did Andrei Tarkovsky die in Paris?", "death"),
    ("In which year was this president assassinated?", "death"),  # session 14
    ("When was this Confederate general killed?", "death"),
    ("In which city was he born?", None),  # a place, not a date
    ("Where did he die?", None),
    ("Who was born in 1900?", None),
    ("When did the war end?", None),
    # "Russian-born" describes the person; the question asks about something else (session 19)
    ("In what year did this Russian-born novelist move to the United States?", None),
    ("When was this German-born physicist born?", "birth"),
])
def test_asked_life_event(question, event):
    assert asked_life_event(question) == event


def test_life_dates_of_leads():
    assert spans(HUXLEY) == {"birth": "26 July 1894", "death": "22 November 1963"}
    assert spans("Andre Agassi. Andre Kirk Agassi (born April 29, 1970) is a tennis player.") == {
        "birth": "April 29, 1970"}
    # transliterations before a ";" are skipped; a BC year range splits at its dash
    assert spans("Aristotle. Aristotle (Aristotélēs; 384–322 BC) was a Greek philosopher.") == {
        "birth": "384", "death": "322 BC"}
    # a birth date the markup stripping lost: the death date is still there
    assert spans("Ayn Rand. Ayn Rand (born Alisa Rosenbaum,; – March 6, 1982) was a novelist.") == {
        "death": "March 6, 1982"}
    # parentheses that are not lifespans
    assert spans("Alabama. Alabama (/ˌæləˈbæmə/) is a state.") == {}
    assert spans("Animation. films (US, 1957–1967) were made.") == {"death": "1967"}
    assert spans("Alkane. the formula (1 – x) gives") == {}
    far = "Albert Einstein. " + "word " * 60 + "Mileva Marić (1875–1948)"
    assert spans(far) == {}  # opens past the lead's first characters


def test_life_dates_tell_the_subject_from_people_mentioned():
    assert life_dates(HUXLEY, "Aldous Huxley")[1] is True
    assert life_dates(WIFE, "Aldous Huxley")[1] is True  # "Laura Huxley" shares the family name...
    assert life_dates(HUXLEY, "Aldous Huxley")[2] < life_dates(WIFE, "Aldous Huxley")[2]  # ...but opens later
    # a chunk that opens with a parenthesis: the "Title. " prefix is not a name before it
    assert life_dates("Anarchism. (1883–1907) edited by Moses Harman", "Anarchism")[1] is False
    ueshiba = "Aikido. founder Morihei Ueshiba (14 December 1883 – 26 April 1969)"
    assert life_dates(ueshiba, "Aikido")[1] is False


def test_year_of():
    assert HUXLEY[slice(*year_of(HUXLEY, HUXLEY.index("26 July"), HUXLEY.index(" –")))] == "1894"
    assert year_of("no year", 0, 7) == (0, 7)


def test_prefer_life_date_moves_or_adds_the_leads_date():
    texts = [WIFE, HUXLEY]
    titles = ["Aldous Huxley", "Aldous Huxley"]
    wrong = Candidate(1, HUXLEY.index("1932"), HUXLEY.index("1932") + 4, -1.0, 0.5)
    out = prefer_life_date([wrong], texts, titles, "When was this author of Brave New World born?")
    assert [(c.passage, HUXLEY[c.start:c.end]) for c in out] == [(1, "26 July 1894"), (1, "1932")]
    assert out[0].score == -2.0 and out[0].probability == 0.0  # a new candidate, below every other
    out = prefer_life_date([wrong], texts, titles, "In which year did this author die?")
    assert HUXLEY[out[0].start:out[0].end] == "1963"  # the year alone for "which year"
    # a candidate already on the date moves up, keeping its score
    right = Candidate(1, *year_of(HUXLEY, HUXLEY.index("26 July"), HUXLEY.index(" –")), -3.0, 0.1)
    out = prefer_life_date([wrong, right], texts, titles, "What year was Huxley born?")
    assert out == [replace(right, rule=True), wrong]
    # no life event asked, or no passage with a lifespan: unchanged
    assert prefer_life_date([wrong], texts, titles, "When did he write Brave New World?") == [wrong]
    no_lifespan = ["Aldous Huxley. He wrote in 1932."]
    assert prefer_life_date([wrong], no_lifespan, [None], "When was he born?") == [wrong]
    # without the article's title: the first passage with a lifespan (here the wife's)
    out = prefer_life_date([wrong], texts, [None, None], "When was he born?")
    assert (out[0].passage, WIFE[out[0].start:out[0].end]) == (0, "19 April 1920")


def test_avoid_life_dates_puts_the_lifespan_behind_other_dates():
    texts = [WIFE, HUXLEY]
    titles = ["Aldous Huxley", "Aldous Huxley"]
    at = HUXLEY.index("1894")
    birth = Candidate(1, at, at + 4, -1.0, 0.5)
    book = Candidate(1, HUXLEY.index("1932"), HUXLEY.index("1932") + 4, -2.0, 0.2)
    wife = Candidate(0, WIFE.index("1920"), WIFE.index("1920") + 4, -3.0, 0.1)
    # a date not of a birth or death: lifespan dates go last (the wife's too: she shares the name), in order
    question = "In which year did this English writer publish it?"
    assert avoid_life_dates([birth, wife, book], texts, titles, question) == [book, birth, wife]
    assert avoid_life_dates([birth, wife, book], texts, [None, None], question) == [birth, wife, book]
    # a birth, a death or a lifetime asked, no date asked, or only lifespan dates: unchanged
    for question in ("When was this English writer born?", "In which century did this writer live?",
                     "Who was this English writer's wife?"):
        assert avoid_life_dates([birth, book], texts, titles, question) == [birth, book]
    assert avoid_life_dates([birth], texts, titles, "When did he publish it?") == [birth]


def test_reader_answers_a_birth_question_from_the_lead(tmp_path):
    from kvqae.read.model import PassageInput, Reader, ReaderSettings, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    reader._entities = lambda t: []  # no NER: the span model and the rules alone
    question = "When was this author of Brave New World born?"
    feats = reader.featurize(question, [HUXLEY])
    # the span model's best span is "1932"
    start, end = peaked_logits(feats, {token_at(feats, HUXLEY.index("1932")): 6.0})
    passages = [PassageInput("Aldous_Huxley#0", HUXLEY, 0.0, "Aldous Huxley")]
    reader.settings = ReaderSettings(max_answer_tokens=4, life_dates=False)
    assert reader.decode(feats, start, end, passages, kind="time", question=question)[0].answer == "1932"
    reader.settings = ReaderSettings(max_answer_tokens=4)
    best = reader.decode(feats, start, end, passages, kind="time", question=question)[0]
    assert best.answer == "26 July 1894" and HUXLEY[best.start:best.end] == best.answer


RAND_LEAD = "Ayn Rand. Ayn Rand (born Alisa Rosenbaum,; – March 6, 1982) was an American novelist."
RAND_BIRTH = "Ayn Rand. Rand was born Alisa Rosenbaum on February 2, 1905, to a family in Saint Petersburg."


def test_a_lead_without_the_date_gives_way_to_the_born_sentence():
    # a removed template left the lead's parenthesis without the birth date (session 14)
    from kvqae.read.lifespan import verb_date

    assert RAND_BIRTH[slice(*verb_date(RAND_BIRTH, "Ayn Rand", "birth"))] == "February 2, 1905"
    assert verb_date(RAND_BIRTH, "Ayn Rand", "death") is None
    assert verb_date("Ayn Rand. Her father was born on 3 May 1870.", "Ayn Rand", "birth") is None
    texts, titles = [RAND_LEAD, RAND_BIRTH], ["Ayn Rand", "Ayn Rand"]
    out = prefer_life_date([], texts, titles, "When was this novelist born?")
    assert (out[0].passage, RAND_BIRTH[out[0].start:out[0].end]) == (1, "February 2, 1905")
    out = prefer_life_date([], texts, titles, "In which year was this novelist born?")
    assert RAND_BIRTH[out[0].start:out[0].end] == "1905"
    # the lead's own date still comes first when it has one
    out = prefer_life_date([], texts, titles, "When did this novelist die?")
    assert (out[0].passage, RAND_LEAD[out[0].start:out[0].end]) == (0, "March 6, 1982")
    # only in the article read first: another article's "born" sentence is not its subject's
    assert prefer_life_date([], texts, ["Apollo", "Ayn Rand"], "When was this novelist born?") == []

"""Answer spans end where their phrase ends (kvqae.read.phrase), by hand and through the reader."""

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.model import PassageInput, Reader, build_tiny_reader
from kvqae.read.phrase import asked_nouns, extend_to_asked_noun, prefer_full_date, trim_to_phrase


@pytest.mark.parametrize(
    ("span", "expected"),
    [
        ("Shiloh. Johnston", "Shiloh"),  # into the next sentence
        ("Brave New World, set in a dystopian London", "Brave New World"),  # a clause after a comma
        ("Puerto Rico Trench, in the North Atlantic", "Puerto Rico Trench"),
        ("rubidium (Rb), caesium (Cs), and francium", "rubidium (Rb)"),  # the rest of a list
        ("in 1809. The war began", "in 1809"),
        ("February 12, 1809", "February 12, 1809"),  # a comma before a number stays
        ("Montgomery, Alabama", "Montgomery, Alabama"),  # ... and before a name
        ("Washington, D.C.", "Washington, D.C."),
        ("Samuel A. Ward", "Samuel A. Ward"),  # a single-letter abbreviation is no sentence break
        ("U.S. President", "U.S. President"),  # nor a dotted one
        ("Mr. Jones", "Mr. Jones"),  # nor a title
        ("St. Louis", "St. Louis"),
        ("Semyon Dezhnyov's", "Semyon Dezhnyov"),  # a possessive ending
        ("the Lyceum of Aristotle\u2019s", "the Lyceum of Aristotle"),
        ("Achilles' shield, the famous one", "Achilles' shield"),  # inside the span: kept
        ("Achilles'", "Achilles"),
        ("Orycteropus afer) is a medium-sized", "Orycteropus afer"),  # out of a parenthesis
        ("André-Marie Ampère (1775–1836", "André-Marie Ampère"),  # into one it does not close
        ("Treaty of Paris (1783)", "Treaty of Paris (1783)"),  # balanced: kept
        ("(born 1970", "(born 1970"),  # never trimmed to nothing
        (", and so on", ", and so on"),
    ],
)
def test_trim_to_phrase_by_hand(span, expected):
    a, b = trim_to_phrase(span, 0, len(span))
    assert span[a:b] == expected and a == 0


def test_trim_to_phrase_keeps_offsets_in_the_whole_text():
    text = "He died at the Battle of Shiloh. Johnston was buried in Texas."
    start = text.index("Shiloh")
    a, b = trim_to_phrase(text, start, text.index(" was"))
    assert (a, b) == (start, start + len("Shiloh"))
    # a break before the span (outside it) changes nothing
    a, b = trim_to_phrase(text, text.index("Johnston"), text.index(" was"))
    assert text[a:b] == "Johnston"


@pytest.fixture(scope="module")
def tiny_reader(tmp_path_factory):
    return Reader.load(build_tiny_reader(tmp_path_factory.mktemp("phrase") / "tiny", seed=0))


def read_proposing(reader, monkeypatch, text, start, end, question, **settings):
    """`reader`'s answer to `question` over `text` when its one proposed span is [start, end)."""
    reader.settings = reader.settings.model_copy(update={"evidence": None, "entity_spans": False, **settings})
    monkeypatch.setattr(Reader, "_proposals", lambda self, *a, **k: [Candidate(0, start, end, -1.0, 0.4)])
    return reader.predict(question, [PassageInput("p0", text, 1.0)])[0]


def test_the_reader_answers_with_the_trimmed_phrase(tiny_reader, monkeypatch):
    text = "Albert Sidney Johnston died at Shiloh. Johnston was the highest-ranking officer to die."
    start, end = text.index("Shiloh"), text.index(" was")
    # The reader's best span runs into the next sentence; the answer stops at the sentence break.
    question = "Where did Johnston die?"
    pred = read_proposing(tiny_reader, monkeypatch, text, start, end, question, answer_type_filter=False,
                          phrase_spans=True)
    assert (pred.answer, pred.start, pred.end) == ("Shiloh", start, start + 6)
    assert (pred.score, pred.probability, pred.passage_id) == (-1.0, 0.4, "p0")
    pred = read_proposing(tiny_reader, monkeypatch, text, start, end, question, answer_type_filter=False,
                          phrase_spans=False)
    assert pred.answer == "Shiloh. Johnston"


@pytest.mark.parametrize(
    ("question", "nouns"),
    [
        ("At which battle did the highest-ranking officer die?", {"battle"}),
        ("What trophy is awarded to the winner?", {"trophy"}),
        ("In which New York concert hall did it premiere?", {"new", "york", "concert", "hall"}),
        ("Which treaties ended the war?", {"treaty", "ended"}),  # singular; stops at "the"
        ("Which islands lie off the coast?", {"island", "lie", "off"}),
        ("What is the capital of Alaska?", set()),  # "what" + a function word: no asked noun
        ("When was Abraham Lincoln born?", set()),
        # session 29: "the name of the X" asks an X; the name of "this X" is the pictured entity's
        ("What's the name of the airport on this island?", {"airport"}),
        ("What is the name of the river that flows through it?", {"river"}),
        ("What is the name of this airport?", set()),
    ],
)
def test_asked_nouns_by_hand(question, nouns):
    assert asked_nouns(question) == nouns


def test_extend_to_asked_noun_by_hand():
    text = "He died at the Battle of Shiloh in 1862; the Lamar Hunt Trophy is given. Carnegie Hall opened."

    def widened(word, question):
        a = text.index(word)
        a, b = extend_to_asked_noun(text, a, a + len(word), asked_nouns(question))
        return text[a:b]

    assert widened("Shiloh", "At which battle did he die?") == "Battle of Shiloh"  # "<Noun> of" before
    assert widened("Lamar Hunt", "What trophy is awarded?") == "Lamar Hunt Trophy"  # the noun after
    assert widened("Carnegie", "In which New York concert hall did it premiere?") == "Carnegie Hall"
    assert widened("Shiloh", "Where did he die?") == "Shiloh"  # no asked noun
    assert widened("Shiloh", "Which war did he die in?") == "Shiloh"  # another noun
    lower = "the battle of Shiloh"  # not a name: the lower-case noun stays out
    a = lower.index("Shiloh")
    assert extend_to_asked_noun(lower, a, a + 6, frozenset({"battle"})) == (a, a + 6)


def test_the_reader_answer_takes_in_the_asked_noun(tiny_reader, monkeypatch):
    text = "Albert Sidney Johnston died at the Battle of Shiloh. Johnston was the highest-ranking officer."
    start, end = text.index("Shiloh"), text.index(" was")
    pred = read_proposing(tiny_reader, monkeypatch, text, start, end, "At which battle did Johnston die?",
                          answer_type_filter=True, phrase_spans=True)
    assert (pred.answer, pred.start, pred.end) == ("Battle of Shiloh", text.index("Battle"), start + 6)


def test_prefer_full_date_by_hand():
    text = "Animal Farm was first published in England on 17 August 1945. A 1995 film; 1803 – April 6, 1945."
    spans = {"1945": text.index("1945."), "17 August 1945": text.index("17 August"),
             "1995": text.index("1995")}
    cand = {k: Candidate(0, a, a + len(k), -1.0) for k, a in spans.items()}
    mixed = text.index("1803")
    cand["1803 – April 6, 1945"] = Candidate(0, mixed, mixed + len("1803 – April 6, 1945"), -1.0)

    def first(order, question, within=5):
        out = prefer_full_date([cand[k] for k in order], [text], question, within=within)
        assert sorted(out, key=id) == sorted((cand[k] for k in order), key=id)  # a reordering only
        return text[out[0].start : out[0].end]

    when = "When was Animal Farm first published?"
    assert first(["1945", "1995", "17 August 1945"], when) == "17 August 1945"  # the fuller date of that year
    assert first(["1945", "1995", "17 August 1945"], "In what year was it published?") == "1945"  # a year
    assert first(["1945", "1995", "17 August 1945"], "Who published it?") == "1945"  # not a time question
    assert first(["1945", "1995", "17 August 1945"], when, within=2) == "1945"  # too far down
    assert first(["1945", "1803 – April 6, 1945"], when) == "1945"  # holds another year: not the same date
    assert first(["1995", "17 August 1945"], when) == "1995"  # another year: no fuller date of it
    assert first(["17 August 1945", "1945"], when) == "17 August 1945"  # already a full date


def reshaped(shape, span: str, question: str) -> str:
    """What `shape(text, start, end, question)` makes of `span` inside a sentence."""
    text = f"It came out on {span}, they say."
    a = text.index(span)
    got = shape(text, a, a + len(span), question)
    return text[got[0] : got[1]]


def test_year_of_date_by_hand():
    from kvqae.read.phrase import year_of_date

    def year(span, question="In which year was it published?"):
        return reshaped(year_of_date, span, question)

    assert year("17 August 1945") == "1945" and year("July 20, 1969") == "1969"
    assert year("17 August 1945", "When was it published?") == "17 August 1945"  # not asked for the year
    assert year("1945") == "1945" and year("the 1960s") == "the 1960s"  # no month: unchanged
    assert year("March 1861 until April 1865") == "March 1861 until April 1865"  # two years: unchanged
    assert year("March 322 BC") == "322 BC"  # the era stays with its year


def test_drop_hedge_by_hand():
    from kvqae.read.phrase import drop_hedge

    def answer(span, question="How many termites can it eat in one night?"):
        return reshaped(drop_hedge, span, question)

    assert answer("about 250,000") == "250,000"
    assert answer("more than 2,000 houses") == "2,000 houses"
    assert answer("approximately 8%", "What percentage is due to farming?") == "8%"
    assert answer("around 4,000 years", "For how long has the word existed?") == "4,000 years"
    assert answer("c. 1450", "When was it built?") == "1450"
    assert answer("as many as 50,000") == "50,000" and answer("in excess of 300") == "300"
    assert answer("as early as 1863", "When did the word first appear?") == "1863"
    assert answer("early as 1863", "When did the word first appear?") == "1863"  # a span begun inside it
    assert answer("as late as 1990", "When was it last used?") == "1990"
    # a figure must follow; the question must ask a date or a number; never trimmed to nothing
    assert answer("about two weeks") == "about two weeks"
    assert answer("about 250,000", "What did the aardwolf eat?") == "about 250,000"
    assert answer("about") == "about"
    assert answer("Some 300", "Who came?") == "Some 300"


def test_names_with_the_asked_noun_by_hand():
    from kvqae.read.phrase import asked_common_nouns, names_with_noun

    def names(question, text):
        return [text[a:b] for a, b in names_with_noun(text, asked_common_nouns(question))]

    assert names("Which sea in this ocean is the eels' spawning ground?",
                 "The eels spawn in the Sargasso Sea, east of Florida.") == ["Sargasso Sea"]
    assert names("Which famous tar pits contain asphalt?",
                 "The La Brea Tar Pits hold it.") == ["La Brea Tar Pits"]
    assert names("At which theatre was it screened?",
                 "It was shown at Grauman's Egyptian Theatre in 2001.") == ["Grauman's Egyptian Theatre"]
    assert names("At which battle did he die?",
                 "He died at the Battle of Shiloh in 1862.") == ["Battle of Shiloh"]
    # a noun written capitalised in the question (a nationality) is not asked; a lone noun names nothing
    assert asked_common_nouns("Which American composer wrote it?") == frozenset({"composer", "wrote"})
    assert names("Which sea is it?", "The Sea was calm.") == []
    assert names("Who wrote it?", "The Sargasso Sea.") == []


def test_drop_hedge_drops_a_focus_word_before_a_figure():
    from kvqae.read.phrase import drop_hedge

    question = "How many students came to his lectures?"
    assert reshaped(drop_hedge, "only five", question) == "five"
    assert reshaped(drop_hedge, "exactly 36", "How many seconds ahead is it?") == "36"
    assert reshaped(drop_hedge, "only the best", question) == "only the best"  # no figure follows


def test_a_name_holding_the_asked_name_noun_goes_first():
    # "Which institute / award / farm ...?" is answered by a name holding the noun ("Frankfurt Zoo" for
    # "which zoo"); not "which state / island" (Virginia, Lesbos)
    from types import SimpleNamespace

    from kvqae.read.model import _split_by_noun
    from kvqae.read.phrase import NAME_HEAD_NOUNS, asked_common_nouns, holds_noun

    assert holds_noun("Institute for Advanced Study", frozenset({"institute"}))
    assert holds_noun("the La Brea Tar Pits", frozenset({"pit"}))
    assert not holds_noun("New Jersey", frozenset({"institute"}))
    assert asked_common_nouns("In which German zoo did it live?") & NAME_HEAD_NOUNS == {"zoo"}
    assert not asked_common_nouns("Which state was the first to ratify it?") & NAME_HEAD_NOUNS
    text = "It lived in Germany, at the Frankfurt Zoo, for 17 years."
    feats = [SimpleNamespace(candidate=SimpleNamespace(passage=0, start=text.index(w),
                                                       end=text.index(w) + len(w)))
             for w in ("Germany", "Frankfurt Zoo")]
    held, other = _split_by_noun(feats, [text], frozenset({"zoo"}))
    assert [text[f.candidate.start:f.candidate.end] for f in held + other] == ["Frankfurt Zoo", "Germany"]
    assert _split_by_noun(feats, [text], frozenset({"farm"})) == (feats, [])  # none holds it: unchanged
    assert _split_by_noun(feats, [text], frozenset()) == (feats, [])


def test_expand_contractions_by_hand():
    from kvqae.read.words import expand_contractions

    assert expand_contractions("What's the capital of Alaska?") == "What is the capital of Alaska?"
    assert expand_contractions("who’s he, and where's it?") == "who is he, and where is it?"
    possessive = "What is Lincoln's birthplace?"
    assert expand_contractions(possessive) == possessive


def test_extend_to_a_lower_case_asked_noun_after_a_name():
    from kvqae.read.phrase import asked_head

    for text, word, question, expected in [
        ("the first letter of the Phoenician alphabet (which", "Phoenician", "Aleph was the first letter of "
         "which alphabet?", "Phoenician alphabet"),
        ("The Proto-Canaanite script, later", "Proto-Canaanite", "Which script was first?",
         "Proto-Canaanite script"),
        # a name that stands alone is answered without the noun; the question's verbs are no head
        ("the Saturn V rocket and", "Saturn V", "Which rocket launched it?", "Saturn V"),
        ("The Jeffrey pine is noted", "Jeffrey", "Which pine makes n-heptane?", "Jeffrey"),
        ("the Treaty of Paris ended the war", "Treaty of Paris", "Which treaty ended the war?",
         "Treaty of Paris"),
        ("They speak the Arabic language at home", "Arabic", "Which language do they speak?", "Arabic"),
        ("a common alphabet today", "common", "Which alphabet is it?", "common"),  # not after a name
    ]:
        a = text.index(word)
        start, end = extend_to_asked_noun(text, a, a + len(word), asked_nouns(question), asked_head(question))
        assert text[start:end] == expected
    assert asked_head("What is the capital of Alaska?") is None
    assert asked_head("What's the name of the airport on it?") == "airport"

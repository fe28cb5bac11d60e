"""Who made or did something to the subject (kvqae.read.agent): which questions ask it, which statements
say it, on hand-made text; the look-up of the passages saying it; a tiny reader's answer."""

from __future__ import annotations

import pytest

from kvqae.read.agent import asked_agent, prefer_agent, stated_agent
from kvqae.read.answer_choice import Candidate
from reader_logits import best_with_peak


@pytest.mark.parametrize(("question", "participles"), [
    ("Who wrote this satirical essay?", "written"),
    ("Which American composer wrote this symphonic poem?", "written"),
    ("Who first isolated this metal?", None),  # a verb the rule does not know
    # a killing is stated with any of its verbs (session 23)
    ("Who assassinated this president?", "killed|assassinated|murdered|shot|slain"),
    ("Who shot this president?", "killed|assassinated|murdered|shot|slain"),
    ("By whom was this novella written?", "written"),
    ("Who was this bridge designed by?", "designed"),
    ("Who is the founder of this league?", "founded|established"),
    ("Who was the architect of this cathedral?", "designed"),
    # no agent asked: a passive asks for the thing, a relative, a place
    ("Which unit is named after this physicist?", None),
    ("Who is the wife of this man?", None),
    ("Where was this bridge built?", None),
    # the verb's object is something else, the entity only named after it (session 19)
    ("Who created the lyre for this Greek god?", None),
    ("Who killed the mother of this hero?", None),
    ("Who founded the league that this team plays in?", None),
    ("Who designed this building in Paris?", "designed"),
    ("Who assassinated the 16th President of the United States?", "killed|assassinated|murdered|shot|slain"),
])
def test_asked_agent(question, participles):
    assert asked_agent(question) == participles


ESSAY = ("A Modest Proposal. A Modest Proposal is a satirical essay written and published anonymously by "
         "Jonathan Swift in 1729. Swift's friend was later defeated by Charles Jervas. His father was killed "
         "by Tom Ryder.")


@pytest.mark.parametrize(("text", "title", "participles", "person"), [
    (ESSAY, "A Modest Proposal", "written", "Jonathan Swift"),  # "written and published anonymously by"
    (ESSAY, "A Modest Proposal", "defeated", None),  # a sentence about another person
    (ESSAY, "A Modest Proposal", "killed", None),  # about the subject's father
    ("Abraham Lincoln. Lincoln was assassinated by John Wilkes Booth, an actor.", "Abraham Lincoln",
     "assassinated", "John Wilkes Booth"),
    # session 23: "Who shot Lincoln?" asks the killing; a time between the verb and "by"
    ("Abraham Lincoln. Lincoln was assassinated by John Wilkes Booth, an actor.", "Abraham Lincoln",
     asked_agent("Who shot Abraham Lincoln?"), "John Wilkes Booth"),
    ("Achilles. He was killed near the end of the Trojan War by Paris, who shot him.", "Achilles",
     asked_agent("Who killed Achilles?"), "Paris"),
    ("Aikido. It was founded in 1942 by the Aikikai Foundation.", "Aikido", "founded|established",
     "Aikikai Foundation"),  # "it", a year between, an organisation after "the"
    # a work's lead "is a ... by X" for a verb that makes works, not for one that does not
    ("An American in Paris. An American in Paris is a jazz-influenced orchestral piece by the American "
     "composer George Gershwin.", "An American in Paris", "composed", "George Gershwin"),
    ("An American in Paris. An American in Paris is a jazz-influenced orchestral piece by the American "
     "composer George Gershwin.", "An American in Paris", "directed", None),
])
def test_stated_agent_by_hand(text, title, participles, person):
    span = stated_agent(text, title, participles)
    assert (text[span[0]:span[1]] if span else None) == person


def test_a_person_entity_goes_before_a_nationality():
    text = "Autism. The word autism was coined by the Swiss psychiatrist Eugen Bleuler in 1910."
    swiss, eugen = text.index("Swiss"), text.index("Eugen")
    entities = [(swiss, swiss + 5, "NORP"), (eugen, eugen + 13, "PERSON")]
    span = stated_agent(text, "Autism", "coined", entities)
    assert text[span[0]:span[1]] == "Eugen Bleuler"


def test_prefer_agent_puts_the_stated_person_first_and_looks_it_up():
    from kvqae.read.lookup import lookup_passages

    other = "A Modest Proposal. The essay mocks the rich."
    swift = Candidate(1, ESSAY.index("Swift's"), ESSAY.index("Swift's") + 5, -1.0, 0.5)
    question = "Who wrote this satirical essay?"
    out = prefer_agent([swift], [other, ESSAY], ["A Modest Proposal"] * 2, question, lambda text: [])
    assert (ESSAY[out[0].start:out[0].end], out[0].rule, out[1:]) == ("Jonathan Swift", True, [swift])
    assert prefer_agent([swift], [other, ESSAY], ["Essay", "A Modest Proposal"], question,
                        lambda text: []) == [swift]  # stated in another article than the one read first
    article = {"Essay#0": other, "Essay#1": "A Modest Proposal. It was reprinted.", "Essay#2": ESSAY}
    assert lookup_passages(question, list(article), article.__getitem__, "A Modest Proposal", set(),
                           2) == ["Essay#0", "Essay#2"]


def test_the_reader_answers_an_agent_from_its_statement(tmp_path):
    from kvqae.read.model import Reader, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    reader._entities = lambda text: []
    question = "Who wrote this satirical essay?"

    def best(**settings):  # the span model's answer: a name of a later sentence
        return best_with_peak(reader, question, ESSAY, "A Modest Proposal", "Charles", **settings)

    assert best(agents=False).answer == "Charles"
    ruled = best()
    assert ruled.answer == "Jonathan Swift" and ruled.by_rule and ruled.confidence is None


HUXLEY = ["Aldous Huxley. Huxley wrote the novel Brave New World in 1931. He lived in California.",
          "Aldous Huxley. His essay Heaven and Hell was illustrated by Ralph Steadman. He moved in 1937."]


def test_the_subject_made_a_work_without_an_article_of_its_own():
    # session 22: "Who wrote Brave New World?" read from the Aldous Huxley article: its subject is the answer
    from kvqae.read.agent import subject_as_agent

    titles = ["Aldous Huxley", "Aldous Huxley"]
    assert subject_as_agent(HUXLEY, titles, "Who wrote Brave New World?") == (0, 0, len("Aldous Huxley"))
    # the question names the article, points at "this" one, or names a work the article never reads
    assert subject_as_agent(HUXLEY, titles, "Who wrote Huxley's Brave New World?") is None
    assert subject_as_agent(HUXLEY, titles, "Who wrote this novel, Brave New World?") is None
    assert subject_as_agent(HUXLEY, titles, "Who wrote Animal Farm?") is None
    # no "he" / "she" in the article: no person made it
    place = ["Angola. The song Kuduro Dance was recorded in 1996 in Luanda."]
    assert subject_as_agent(place, ["Angola"], "Who recorded Kuduro Dance?") is None


def test_another_works_by_statement_is_not_the_answer():
    other = Candidate(1, 0, 5, -1.0)
    titles = ["Aldous Huxley", "Aldous Huxley"]
    out = prefer_agent([other], HUXLEY, titles, "Who illustrated Brave New World?", lambda text: [])
    # "illustrated by Ralph Steadman" is about another work of the subject's: the subject made this one
    assert (out[0].passage, HUXLEY[0][out[0].start:out[0].end], out[0].rule) == (0, "Aldous Huxley", True)


def test_a_works_whole_title_makes_the_sentence_about_it():
    # "Children" in the essay's full title is no relative of someone else's
    text = ("A Modest Proposal. A Modest Proposal For preventing the Children of Poor People From being a "
            "Burthen, is a satirical essay written and published anonymously by Jonathan Swift in 1729.")
    span = stated_agent(text, "A Modest Proposal", "written")
    assert text[span[0]:span[1]] == "Jonathan Swift"


def test_a_work_is_the_subjects_when_a_possessive_or_the_subject_making_it_comes_before_it():
    from kvqae.read.agent import owns_work

    assert owns_work("Aldous Huxley. He is known for his novels including Brave New World.", "Aldous Huxley",
                     "Brave New World")
    tarkovsky = "Andrei Tarkovsky"
    assert owns_work("Andrei Tarkovsky. Tarkovsky's films include Solaris (1972).", tarkovsky, "Solaris")
    assert owns_work("Andrei Tarkovsky. He then directed Mirror in 1975 and Stalker in 1979.", tarkovsky,
                     "Stalker")
    # named, not made: the subject spoke of it
    lincoln = "Abraham Lincoln. Lincoln redirected emphasis to the Declaration of Independence."
    assert not owns_work(lincoln, "Abraham Lincoln", "Declaration of Independence")
    from kvqae.read.agent import subject_as_agent

    question = "Who wrote Declaration of Independence?"
    assert subject_as_agent([lincoln], ["Abraham Lincoln"], question) is None

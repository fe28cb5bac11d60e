"""A politician's party (kvqae.read.party): which questions ask it, which names count, the party named most
moving first; every answer rule's name saying what it reads."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.party import asks_party, party_names, prefer_party


@pytest.mark.parametrize(("question", "asked"), [
    ("Which political party did this president belong to?", True),
    ("What party was this senator a member of?", True),
    ("What is the party affiliation of this man?", True),
    ("Who hosted the party?", False),
    ("Where was this president born?", False),
])
def test_asks_party(question, asked):
    assert asks_party(question) is asked


def test_party_names_drop_a_leading_the_and_a_party_of_another_kind():
    text = "The Whig Party split. He joined the new Republican Party. Tea Party protests followed."
    assert [name for name, _ in party_names(text)] == ["Whig Party", "Republican Party"]
    name, (start, end) = party_names(text)[0]
    assert text[start:end] == "Whig Party"


def test_prefer_party_takes_the_party_the_article_names_most_about_the_subject():
    lead = "Jan Vos. Vos was a Whig Party leader. In 1854 he helped build the new Republican Party."
    later = ("Jan Vos. The Republican Party grew. His rival led the Democratic Party, and the Democratic "
             "Party lost. The Democratic Party split.")
    other = "Piet Smit. Smit led the Democratic Party and the Democratic Party and the Democratic Party."
    texts, titles = [later, lead, other], ["Jan Vos", "Jan Vos", "Piet Smit"]
    wrong = Candidate(0, later.index("Democratic"), later.index("Democratic") + 16, -1.0, 0.6)
    question = "Which party did this man belong to?"
    out = prefer_party([wrong], texts, titles, question, [5, 0, 0])
    # about Vos: Whig and Republican once each (not his rival's Democratic Party, named most); the tie goes
    # to the Republican Party, named twice in all of Vos's passages; another article's are not counted
    assert (out[0].passage, lead[out[0].start:out[0].end], out[0].rule) == (1, "Republican Party", True)
    assert prefer_party([wrong], texts, titles, "Where was this man born?", [5, 0, 0]) == [wrong]
    silent = ["Jan Vos. No party.", "Jan Vos. His rival led the Whig Party."]
    assert prefer_party([wrong], silent, titles[:2], question) == [wrong]
    # a party the question names is not the one it asks for
    before = "Which party was this man a leader of before he helped build the Republican Party?"
    out = prefer_party([wrong], texts, titles, before, [5, 0, 0])
    assert (out[0].passage, lead[out[0].start:out[0].end]) == (1, "Whig Party")


def test_every_answer_rule_says_what_it_reads_and_is_a_reader_setting():
    from kvqae.read.settings import RULE_SAYS, ReaderSettings

    settings = ReaderSettings()
    off_by_default = {"subjects"}  # session 31: it lost answers on the sets never read (docs/read.md step 35)
    for name, says in RULE_SAYS.items():
        assert getattr(settings, name) is (name not in off_by_default) and says


def test_a_party_question_looks_up_the_passages_naming_one_about_the_subject():
    from kvqae.read.lookup import lookup_passages

    article = {"Vos#0": "Jan Vos. Jan Vos was a painter.", "Vos#1": "Jan Vos. His rival led the Whig Party.",
               "Vos#2": "Jan Vos. In 1854 he joined the Republican Party."}
    assert lookup_passages("Which party did this painter belong to?", list(article), article.__getitem__,
                           "Jan Vos", {"Vos#0"}, 2) == ["Vos#2"]

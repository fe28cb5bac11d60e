"""Birth names (kvqae.read.birthname): which questions ask for one, the name after "born" in a statement
about the article's subject, on hand-made text; the rule puts it first."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.birthname import asks_birth_name, prefer_birth_name, stated_birth_name


@pytest.mark.parametrize(("question", "asks"), [
    ("What was the birth name of this novelist?", True),
    ("What was the real name of Ayn Rand?", True),
    ("What was her maiden name?", True),
    ("What was this actor's name at birth?", True),
    ("With which name was this director born?", True),
    ("Where was this novelist born?", False),
    ("What is the name of this novelist's first book?", False),
])
def test_asks_birth_name(question, asks):
    assert asks_birth_name(question) is asks


@pytest.mark.parametrize(("text", "title", "name"), [
    # the lead's parenthesis
    ("Ayn Rand. Ayn Rand (born Alisa Zinov'yevna Rosenbaum; – March 6, 1982) was a Russian-born American "
     "novelist.", "Ayn Rand", "Alisa Zinov'yevna Rosenbaum"),
    # a sentence opening with "Born": its subject is the article's
    ("Allan Dwan. Born Joseph Aloysius Dwan in Toronto, Ontario, Dwan was the younger son.", "Allan Dwan",
     "Joseph Aloysius Dwan"),
    # the subject's own sentence, the name ending before "on"
    ("Ayn Rand. Rand was born Alisa Rosenbaum on February 2, 1905.", "Ayn Rand", "Alisa Rosenbaum"),
    # a date, a place, a one-word adjective, someone else's birth: no name
    ("Ayn Rand. Rand was born February 2, 1905, in Saint Petersburg.", "Ayn Rand", None),
    ("Ayn Rand. Rand was born in Saint Petersburg.", "Ayn Rand", None),
    ("Jan Vos. Vos was born Catholic in Delft.", "Jan Vos", None),
    ("Jan Vos. His father was born Karel Johannes Vos.", "Jan Vos", None),
])
def test_stated_birth_name(text, title, name):
    span = stated_birth_name(text, title)
    assert (text[span[0]:span[1]] if span else None) == name


def test_a_maiden_name_may_be_one_word_after_nee():
    text = "Mary Lincoln. Mary Lincoln (née Todd; 1818 – 1882) was the wife of Abraham Lincoln."
    span = stated_birth_name(text, "Mary Lincoln", maiden=True)
    assert text[span[0]:span[1]] == "Todd"
    assert stated_birth_name(text, "Mary Lincoln") is None  # "née" answers only a maiden name


def test_prefer_birth_name_puts_the_name_first_and_looks_in_article_order():
    lead = "Ayn Rand. Ayn Rand (born Alisa Rosenbaum; – 1982) was a novelist."
    later = "Ayn Rand. Rand was born Alisa Zinovyevna Rosenbaum on February 2, 1905."
    other = Candidate(0, 0, 3, -1.0)
    question = "What was the birth name of Ayn Rand?"
    texts, titles = [later, lead], ["Ayn Rand", "Ayn Rand"]
    out = prefer_birth_name([other], texts, titles, question, lambda text: [])
    assert (out[0].passage, later[out[0].start:out[0].end], out[0].rule) == (
        0, "Alisa Zinovyevna Rosenbaum", True)  # reading order: the first read passage states it
    out = prefer_birth_name([other], texts, titles, question, lambda text: [], positions=[5, 0])
    assert (out[0].passage, lead[out[0].start:out[0].end]) == (1, "Alisa Rosenbaum")  # the lead first
    assert prefer_birth_name([other], texts, titles, "Where was Ayn Rand born?", lambda text: []) == [other]

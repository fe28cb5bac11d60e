"""Session 31's answer rules and answer edges on any text: they answer or leave the candidates alone, and a
span they give lies inside its text (Hypothesis, with questions and passages built from the words the rules
look for, so that the rules' inner paths run, not only their early exits)."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kvqae.read.acronym import asked_abbreviation, expansion, stated_expansion
from kvqae.read.answer_types import asked_dimension, has_dimension
from kvqae.read.edges import with_era, year_of_range
from kvqae.read.gap import SpacyTags
from kvqae.read.subject import asked_subject, stated_subject

_WORDS = ["Which", "What", "acid", "is", "used", "in", "car", "batteries", "of", "these", "ASCII", "NASA",
          "stand", "for", "short", "(", ")", ",", ".", "American", "Standard", "Code", "Information",
          "Interchange", "abbreviated", "from", "how", "many", "hours", "deep", "BC", "B.C.", "AD", "8th",
          "century", "1844", "to", "1947", "until", "year", "km2", "metres", "sulfuric", "the", "é", "—",
          "\u200b", "\n", "?", "'", '"', "U.S.", "DoD", "-", "3400", "c."]
_TEXT = st.lists(st.one_of(st.sampled_from(_WORDS), st.text(max_size=6)), max_size=40).map(" ".join)
_FUZZ = settings(max_examples=150, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow])
_TAGS = SpacyTags.load()


def _inside(span, text: str) -> bool:
    return span is None or 0 <= span[0] <= span[1] <= len(text)


@_FUZZ
@given(question=_TEXT, text=_TEXT, title=st.one_of(st.none(), _TEXT))
@example("What does ASCII stand for ?", "ASCII , abbreviated from American Standard Code for", "ASCII")
@example("What does this stand for ?", "Standard Code for Information Interchange (ASCII", "ASCII")
def test_abbreviations_on_any_text(question, text, title):
    asked = asked_abbreviation(question)
    assert asked is None or isinstance(asked, str)
    if asked is not None:
        assert _inside(stated_expansion(text, title, asked), text)
    assert _inside(expansion(text, question[:12]), text)


@_FUZZ
@given(question=_TEXT, answer=_TEXT)
def test_dimensions_on_any_text(question, answer):
    dimension = asked_dimension(question)
    assert dimension in (None, "length", "area", "time", "mass")
    for name in ("length", "area", "time", "mass"):
        assert has_dimension(answer, name) in (True, False)


@_FUZZ
@given(question=_TEXT, text=_TEXT, data=st.data())
def test_edges_stay_inside_the_text(question, text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for edge in (with_era, year_of_range):
        a, b = edge(text, start, end, question)
        assert 0 <= a <= b <= len(text)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(question=_TEXT, text=_TEXT)
@example("Which acid is used in car batteries ?", "( used in car batteries sulfuric acid ( used in car")
@example("Which acid is used in car batteries?", "sulfuric acid, \u200b (used in car batteries).")
def test_subjects_on_any_text(question, text):
    asked = asked_subject(question, _TAGS(question))
    if asked is not None:
        found = stated_subject(text, asked, _TAGS)
        assert found is None or _inside(found[0], text)

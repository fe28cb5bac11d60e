"""A person's nationality from their article's lead (kvqae.read.nationality), on hand-made text and
entities, and through a tiny reader's decoding."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.nationality import asks_nationality, lead_nationality, prefer_nationality
from reader_logits import best_with_peak

AGASSI = ("Andre Agassi. Andre Kirk Agassi (born April 29, 1970) is an American retired professional tennis "
          "player. He beat the Swiss Roger Federer and the Australian Rod Laver's record.")
RAND = "Ayn Rand. Ayn Rand (1905 – 1982) was a Russian-born American novelist and philosopher."
LATER = "Andre Agassi. the Swiss player said that Agassi was an American of Armenian descent."


def entities(text: str) -> list[tuple[int, int, str]]:
    """A hand-made NER: the nationalities of the texts above and one person."""
    out = []
    for name, label in [("American", "NORP"), ("Swiss", "NORP"), ("Australian", "NORP"), ("Russian", "NORP"),
                        ("Armenian", "NORP"), ("Rod Laver", "PERSON")]:
        start = text.find(name)
        if start >= 0:
            out.append((start, start + len(name), label))
    return out


@pytest.mark.parametrize(("question", "asked"), [
    ("What is the nationality of this tennis player?", True),
    ("What nationality was the author of Brave New World?", True),
    ("Which country is this tennis player from?", False),
])
def test_asks_nationality(question, asked):
    from kvqae.read.answer_types import expected_kind, expected_labels

    assert asks_nationality(question) is asked
    if asked:  # a name, of a people or a country ("American"), not of a person ("Laver")
        assert expected_kind(question) == "name" and expected_labels(question) == {"NORP", "GPE"}


def test_lead_nationality_by_hand():
    start, end = lead_nationality(AGASSI, "Andre Agassi", entities(AGASSI))
    assert AGASSI[start:end] == "American"  # right after "is an", not a rival's later on
    start, end = lead_nationality(RAND, "Ayn Rand", entities(RAND))
    assert RAND[start:end] == "American"  # "Russian-born American": where she was born comes first
    # not a lead (the passage opens mid-sentence), another article, or no title: nothing
    assert lead_nationality(LATER, "Andre Agassi", entities(LATER)) is None
    assert lead_nationality(AGASSI, "Tennis", entities(AGASSI)) is None
    assert lead_nationality(AGASSI, None, entities(AGASSI)) is None
    # a lead whose copula has no nationality within reach
    plain = "Andre Agassi. Andre Agassi is a retired professional tennis player who later met Swiss fans."
    assert lead_nationality(plain, "Andre Agassi", entities(plain)) is None


def test_prefer_nationality_moves_or_adds_the_leads_nationality():
    texts, titles = [LATER, AGASSI], ["Andre Agassi", "Andre Agassi"]
    laver = Candidate(1, AGASSI.index("Rod Laver"), AGASSI.index("Rod Laver") + 9, -1.0, 0.5)
    question = "What is the nationality of this tennis player?"
    out = prefer_nationality([laver], texts, titles, question, entities)
    assert (out[0].passage, AGASSI[out[0].start:out[0].end], out[0].score, out[0].probability) == (
        1, "American", -2.0, 0.0)
    assert out[1:] == [laver]
    american = Candidate(1, AGASSI.index("American"), AGASSI.index("American") + 8, -3.0, 0.1)
    assert prefer_nationality([laver, american], texts, titles, question, entities) == [
        replace(american, rule=True), laver]
    # another question, or the lead of another article than the one read first: unchanged
    assert prefer_nationality([laver], texts, titles, "Who beat him?", entities) == [laver]
    assert prefer_nationality([laver], texts, ["Tennis", "Andre Agassi"], question, entities) == [laver]


def test_the_reader_answers_a_nationality_from_the_lead(tmp_path):
    from kvqae.read.model import Reader, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    reader._entities = entities
    question = "What is the nationality of this tennis player?"

    def best(**settings):  # the span model's answer: a rival's nationality
        return best_with_peak(reader, question, AGASSI, "Andre Agassi", "Swiss", **settings)

    assert best(nationality=False).answer == "Swiss"
    ruled = best()
    assert ruled.answer == "American" and ruled.confidence is None  # a rule's answer carries none

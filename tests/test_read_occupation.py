"""A person's occupation or sport from their article's lead (kvqae.read.occupation): which questions ask
for one, what a lead's description gives, on hand-made text; the rule moving the answer first."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.occupation import asked_occupation, lead_description, lead_sport, prefer_occupation


@pytest.mark.parametrize(("question", "asked"), [
    ("What was the profession of this man?", "occupation"),
    ("What is this woman's occupation?", "occupation"),
    ("What did this man do for a living?", "occupation"),
    ("What does this person do?", "occupation"),
    ("What was his job?", "occupation"),
    ("What sport did this man play?", "sport"),
    ("Which sport is this athlete known for?", "sport"),
    # not an occupation: a time, a count, another question
    ("When did this man start his career?", None),
    ("How many jobs did he have?", None),
    ("What did this man write in 1920?", None),
    ("Where was this man born?", None),
    # a name other than an occupation, asked about a job
    ("Which studio offered this director a job as a scriptwriter?", None),
    ("Who gave him his first job?", None),
    ("Which profession did he take up?", "occupation"),
])
def test_asked_occupation(question, asked):
    assert asked_occupation(question) == asked


def _norp(text: str, *words: str) -> list[tuple[int, int, str]]:
    return [(text.index(w), text.index(w) + len(w), "NORP") for w in words]


@pytest.mark.parametrize(("text", "nationalities", "occupation", "sport"), [
    # nationalities and the words before them, praise, then the first of a list
    ("Jan Vos. Jan Vos (1850-1901) was a pioneering Dutch-born Belgian motion picture director, producer "
     "and screenwriter.", ("Belgian",), "motion picture director", None),
    ("Jan Vos. Jan Kees Vos (born 1970) is an American retired professional tennis player and former World "
     "No. 1.", ("American",), "tennis player", "tennis"),
    ("Jan Vos. Vos was a Dutch philosopher and scientist born in Delft.", ("Dutch",), "philosopher", None),
    ("Jan Vos. Jan Vos is a Canadian ice hockey player who plays for Delft.", ("Canadian",),
     "ice hockey player", "ice hockey"),
    ("Jan Vos. Jan Vos is a Dutch footballer who plays for Ajax.", ("Dutch",), "footballer", "football"),
    # no NER: the praise words still go; a definite copula names an office, not a profession
    ("Jan Vos. Jan Vos was a renowned painter of Delft.", (), "painter of Delft", None),
    ("Jan Vos. Jan Vos was the 16th mayor of Delft.", (), None, None),
    # not the lead of this subject
    ("Jan Vos. In 1880 Vos was a painter.", (), None, None),
])
def test_lead_description_and_sport(text, nationalities, occupation, sport):
    entities = _norp(text, *nationalities)
    found = lead_description(text, "Jan Vos", entities)
    assert (text[slice(*found)] if found else None) == occupation
    found = lead_sport(text, "Jan Vos", entities)
    assert (text[slice(*found)] if found else None) == sport


def test_prefer_occupation_puts_the_leads_occupation_first_for_a_person():
    lead = "Jan Vos. Jan Vos (1850-1901) was a Dutch painter and etcher. He lived in Delft."
    later = "Jan Vos. He studied at Leiden. His brother sailed. He married in 1880."
    texts, titles = [later, lead], ["Jan Vos", "Jan Vos"]
    leiden = Candidate(0, later.index("Leiden"), later.index("Leiden") + 6, -1.0, 0.6)
    ner = lambda text: _norp(text, "Dutch") if text is lead else []  # noqa: E731
    out = prefer_occupation([leiden], texts, titles, "What was the profession of this man?", ner, [3, 0])
    assert (out[0].passage, lead[out[0].start:out[0].end], out[0].rule) == (1, "painter", True)
    assert out[1] == leiden
    # a question asking no occupation, or an article that is no person's, keeps the ranking
    assert prefer_occupation([leiden], texts, titles, "Where did he study?", ner, [3, 0]) == [leiden]
    city = ["Delft. Delft is a Dutch city on the Schie. It is old.", "Delft. The town grew."]
    kept = Candidate(0, 0, 5, -1.0, 0.6)
    assert prefer_occupation([kept], city, ["Delft", "Delft"], "What was the job of Delft?", ner) == [kept]

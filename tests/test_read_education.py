"""Where a person studied (kvqae.read.education): which questions ask it, which statements name the
institution, on hand-made text; the rule moving the answer first; the look-up of the passages naming one."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.education import asked_school, prefer_school, stated_school


@pytest.mark.parametrize(("question", "kind"), [
    ("Which university did this man attend?", "university"),
    ("From which college did she graduate?", "college"),
    ("Which high school did he go to?", "school"),
    ("Which institution did this physicist study at?", "university"),
    ("Where did this woman study?", "any"),
    ("Where was this writer educated?", "any"),
    ("What is the alma mater of this actor?", "any"),
    # not where someone studied: where they taught, or another question about a university
    ("At which institution is this mathematician a professor?", None),
    ("Which university did he teach at?", None),
    ("Where was this man born?", None),
])
def test_asked_school(question, kind):
    assert asked_school(question) == kind


VOS = ("Jan Vos. His father attended Leiden University. After Delft School, he went on to Haarlem College. "
       "Vos went on to give lectures at Utrecht University. In 1870, he enrolled in the two-year drawing "
       "course at the Royal Academy of Fine Arts. Vos graduated with honours from the University of "
       "Amsterdam in 1875.")


@pytest.mark.parametrize(("kind", "institution"), [
    ("any", "Haarlem College"),  # not his father's; "went on to" followed right away by the name
    ("school", "Haarlem College"),
    ("academy", "Royal Academy of Fine Arts"),  # "enrolled" then a few words before it
    ("university", "Haarlem College"),  # a college counts for a university
    ("institute", "Haarlem College"),
])
def test_stated_school_by_hand(kind, institution):
    span = stated_school(VOS, "Jan Vos", kind)
    assert (VOS[span[0]:span[1]] if span else None) == institution


def test_a_lecture_or_another_persons_school_is_not_where_the_subject_studied():
    text = ("Jan Vos. Vos went on to give lectures at Utrecht University. His wife studied at Leiden "
            "University.")
    assert stated_school(text, "Jan Vos", "university") is None
    text = "Jan Vos. Vos graduated with honours from the University of Amsterdam. It was 1875."
    span = stated_school(text, "Jan Vos", "university")
    assert text[span[0]:span[1]] == "University of Amsterdam"  # the name stops at its sentence's end


def test_prefer_school_and_the_lookup():
    from kvqae.read.lookup import lookup_passages

    lead = "Jan Vos. Jan Vos was a Dutch painter."
    texts, titles = [lead, VOS], ["Jan Vos", "Jan Vos"]
    other = Candidate(0, 9, 16, -1.0, 0.7)
    out = prefer_school([other], texts, titles, "Which school did this painter attend?")
    assert (out[0].passage, VOS[out[0].start:out[0].end], out[0].rule) == (1, "Haarlem College", True)
    assert prefer_school([other], texts, titles, "Where did this painter die?") == [other]
    article = {"Vos#0": lead, "Vos#1": "Jan Vos. He painted boats.", "Vos#2": VOS}
    assert lookup_passages("Where did this painter study?", list(article), article.__getitem__, "Jan Vos",
                           {"Vos#0"}, 2) == ["Vos#2"]

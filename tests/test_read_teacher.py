"""Who taught the subject (kvqae.read.teacher): the questions that ask it, and the name after "a pupil of" /
"studied under" in a sentence about the article's subject, on hand-made text."""

from __future__ import annotations

import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.teacher import asks_teacher, prefer_teacher, stated_teacher


@pytest.mark.parametrize(("question", "asks"), [
    ("Who was the teacher of Aristotle?", True),
    ("Who was the teacher of this Greek philosopher of Stagira?", True),
    ("Who were the teachers of this painter?", True),
    ("Who taught this composer?", True),
    ("Under whom did she study?", True),
    ("Which Macedonian king did this Greek philosopher tutor?", False),  # asks the pupil
    ("Who was taught by Plato?", False),
    ("Who was the father of Aristotle?", False),
])
def test_asks_teacher_by_hand(question, asks):
    assert asks_teacher(question) is asks


def found(text: str, title: str) -> str | None:
    span = stated_teacher(text, title)
    return None if span is None else text[span[0] : span[1]]


def test_stated_teacher_takes_the_name_after_the_phrase_about_the_subject():
    text = ("Aristotle. He founded a library in the Lyceum. The fact that Aristotle was a pupil of Plato "
            "shaped his early views.")
    assert found(text, "Aristotle") == "Plato"
    vos = "Jan Vos. His brother was a pupil of Jan Smit. In 1880 he studied under the painter Anton Mauve."
    assert found(vos, "Jan Vos") == "Anton Mauve"  # not the brother's teacher; a description passed over
    assert found("Jan Vos. Vos was tutored by Maria de la Cruz at home.", "Jan Vos") == "Maria de la Cruz"
    assert found("Jan Vos. His son was a student of Otto Dix.", "Jan Vos") is None


def test_prefer_teacher_puts_the_stated_teacher_first_unless_another_pupil_is_named():
    texts = ["Aristotle. The fact that Aristotle was a pupil of Plato shaped his views. He lived in Chalkis."]
    start = texts[0].index("Chalkis")
    read = [Candidate(0, start, start + len("Chalkis"), 3.0)]
    first = prefer_teacher(read, texts, ["Aristotle"], "Who was the teacher of this Greek philosopher?")[0]
    assert texts[0][first.start : first.end] == "Plato" and first.rule
    # the question names a pupil whose article is not the one read first: nothing changes
    named = "Which philosopher was the tutor of Alexander the Great?"
    other = prefer_teacher(read, texts, ["Aristotle"], named)
    assert other == read

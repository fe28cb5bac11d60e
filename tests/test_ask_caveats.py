"""`kvqae.ask.caveats`: when an answer comes with a note that its entity is a guess."""

from __future__ import annotations

import pytest

from kvqae.ask.caveats import caveats, pointed_subject


@pytest.mark.parametrize(("question", "pointed"), [
    ("Where was this man born?", True),  # "born" alone says nothing about which man
    ("What is the capital of this country?", True),
    ("Who painted this?", True),
    ("Who built the building shown in the photo?", True),
    ("Which river flows through this city?", True),
    ("When did this Austrian composer of The Magic Flute die?", False),  # described: retrieval can find it
    ("In which year was this painting by Vermeer made?", False),
    ("Where was Albert Einstein born?", False),  # named, nothing pointed at
    ("In which city was the physicist who developed general relativity born?", False),
])
def test_pointed_subject_by_hand(question, pointed):
    assert pointed_subject(question) is pointed


def test_caveats_say_why_the_photo_is_missing():
    question = "Where was this man born?"
    (given,) = caveats(question, image_searched=False, image_modes=True)
    assert "no photo was given" in given and "name or describe the subject" in given
    (text_only,) = caveats(question, image_searched=False, image_modes=False)
    assert "searches text only" in text_only
    assert caveats(question, image_searched=True, image_modes=True) == []
    assert caveats("Where was Albert Einstein born?", image_searched=False, image_modes=True) == []


def test_caveats_say_a_photo_was_not_used_by_a_text_bundle():
    """A photo sent to a bundle that retrieves by text only is ignored, and the asker is told so (session
    18): the answer comes from the question's words."""
    named = "Where was Albert Einstein born?"
    (note,) = caveats(named, image_searched=False, image_modes=False, image_given=True)
    assert note.startswith("the photo was not used: this bundle retrieves by text only")
    (pointed,) = caveats("Where was this man born?", image_searched=False, image_modes=False,
                         image_given=True)
    assert "the photo was not used" in pointed and "name or describe the subject" in pointed
    assert caveats(named, image_searched=True, image_modes=True, image_given=True) == []

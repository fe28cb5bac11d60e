"""Full names for partial answers (kvqae.read.names): hand-made passages and entity lists."""

from __future__ import annotations

from kvqae.read.names import full_name

LINCOLN = ("Abraham Lincoln. In 1858 Lincoln ran against Stephen A. Douglas for the Senate. Douglas won the "
           "seat. Lincoln married Mary Todd in 1842; Mary was the daughter of a banker.")
LATER = "Abraham Lincoln. After the debates Douglas returned to Washington and Frankfurt am Main hosted none."
HUXLEY = "Aldous Huxley. He wrote Brave New World in 1932 and Brave New World Revisited in 1958."


def entities(text: str) -> list[tuple[int, int, str]]:
    """A hand-made NER: every listed name where it occurs."""
    names = {"Stephen A. Douglas": "PERSON", "Douglas": "PERSON", "Mary Todd": "PERSON", "Mary": "PERSON",
             "Washington": "GPE", "Frankfurt am Main": "GPE", "Brave New World": "WORK_OF_ART",
             "Brave New World Revisited": "WORK_OF_ART"}
    out = []
    for name, label in names.items():
        at = text.find(name)
        while at >= 0:
            out.append((at, at + len(name), label))
            at = text.find(name, at + 1)
    return out


def answer(texts, passage, word, nth=0, titles=None):
    text = texts[passage]
    at = -1
    for _ in range(nth + 1):
        at = text.index(word, at + 1)
    i, a, b = full_name(passage, at, at + len(word), texts, titles or ["Abraham Lincoln"] * len(texts),
                        entities)
    return i, texts[i][a:b]


def test_a_surname_takes_the_full_name_mentioned_before_it():
    texts = [LINCOLN]
    assert answer(texts, 0, "Douglas", nth=1) == (0, "Stephen A. Douglas")  # "Douglas won the seat"
    assert answer(texts, 0, "Douglas") == (0, "Stephen A. Douglas")  # the mention holding the answer
    # one word of a person's name also completes forwards: "Mary" -> "Mary Todd"
    assert answer(texts, 0, "Mary", nth=1) == (0, "Mary Todd")


def test_the_full_name_may_come_from_another_passage_of_the_same_article():
    texts = [LATER, LINCOLN]
    assert answer(texts, 0, "Douglas") == (1, "Stephen A. Douglas")
    # not from another article's passage
    assert answer(texts, 0, "Douglas", titles=["Abraham Lincoln", "Stephen Douglas"]) == (0, "Douglas")


def test_places_works_and_non_names_keep_their_form():
    texts = [LATER]
    assert answer(texts, 0, "Frankfurt") == (0, "Frankfurt")  # a place is not completed
    assert answer([HUXLEY], 0, "Brave New World", titles=["Aldous Huxley"]) == (0, "Brave New World")
    assert answer([LINCOLN], 0, "daughter") == (0, "daughter")  # lower-case: not a name
    assert answer([LINCOLN], 0, "1842") == (0, "1842")


def test_reader_answers_with_the_full_name(tmp_path):
    import numpy as np

    from kvqae.read.model import PassageInput, Reader, ReaderSettings, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    reader._entities = entities
    question = "Who won the Senate seat?"
    feats = reader.featurize(question, [LINCOLN])
    ctx = np.nonzero(feats.context_mask[0])[0]
    seat = LINCOLN.index("Douglas won")
    token = next(t for t in ctx if feats.offsets[0, t, 0] == seat)
    start = np.full(feats.context_mask.shape, -10.0)
    end = np.full(feats.context_mask.shape, -10.0)
    start[0, token], end[0, token] = 6.0, 6.0  # the span model's best span: "Douglas" of "Douglas won"
    passages = [PassageInput("Abraham_Lincoln#3", LINCOLN, 0.0, "Abraham Lincoln")]
    reader.settings = ReaderSettings(max_answer_tokens=4, full_names=False, evidence=None)
    assert reader.decode(feats, start, end, passages, kind="name", question=question)[0].answer == "Douglas"
    reader.settings = ReaderSettings(max_answer_tokens=4, full_names=True, evidence=None)
    best = reader.decode(feats, start, end, passages, kind="name", question=question)[0]
    assert best.answer == "Stephen A. Douglas" and LINCOLN[best.start:best.end] == best.answer

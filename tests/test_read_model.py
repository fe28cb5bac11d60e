"""The reader on a tiny locally built BERT: encoding, global normalisation, offsets, save/load."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from kvqae.read.decode import global_log_softmax
from kvqae.read.model import PassageInput, Reader, ReaderSettings, build_tiny_reader, load_settings

PASSAGES = [
    "Marie Curie. Marie Curie was born in Warsaw in 1867 and moved to Paris in 1891.",
    "Eiffel Tower. The tower in Paris was built between 1887 and 1889 by Gustave Eiffel's company.",
    "Apollo 11. Neil Armstrong and Buzz Aldrin landed on the Moon on July 20, 1969.",
]
QUESTION = "When did Neil Armstrong land on the Moon?"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tiny_reader_dir(tmp_path_factory):
    return build_tiny_reader(tmp_path_factory.mktemp("reader") / "tiny", seed=0)


@pytest.fixture(scope="module")
def reader(tiny_reader_dir):
    return Reader.load(tiny_reader_dir)


def test_context_mask_covers_passage_tokens_only(reader):
    feats = reader.featurize(QUESTION, PASSAGES)
    assert feats.num_rows == 3
    ids = feats.inputs["input_ids"].numpy()
    special = {reader.tokenizer.cls_token_id, reader.tokenizer.sep_token_id, reader.tokenizer.pad_token_id}
    q_len = len(reader.tokenizer(QUESTION, add_special_tokens=False)["input_ids"])
    for r in range(3):
        ctx = np.nonzero(feats.context_mask[r])[0]
        assert ctx[0] == q_len + 2  # [CLS] question [SEP] then the passage
        assert not any(int(ids[r, t]) in special for t in ctx)
        # Offsets index the ORIGINAL passage text: detokenised context == the lower-cased passage words.
        a, b = feats.offsets[r, ctx[0], 0], feats.offsets[r, ctx[-1], 1]
        assert PASSAGES[feats.row_passage[r]][a:b] == PASSAGES[r]


def test_gold_spans_become_token_targets(reader):
    text = PASSAGES[2]
    a = text.index("July 20, 1969")
    feats = reader.featurize(QUESTION, PASSAGES, [[], [], [(a, a + len("July 20, 1969"))]])
    assert feats.start_targets.sum() == 1 and feats.end_targets.sum() == 1
    r, s = map(int, np.argwhere(feats.start_targets)[0])
    r2, e = map(int, np.argwhere(feats.end_targets)[0])
    assert r == r2 == 2
    assert text[feats.offsets[r, s, 0] : feats.offsets[r, e, 1]] == "July 20, 1969"


def test_long_passages_are_windowed_and_answers_map_back(tiny_reader_dir):
    reader = Reader.load(tiny_reader_dir, settings=ReaderSettings(max_length=40, stride=8))
    long_text = "Filler. " + " ".join(f"word{i}" for i in range(60)) + " The answer is Zanzibar."
    feats = reader.featurize("Where is it?", [PASSAGES[0], long_text])
    assert feats.num_rows > 2 and set(feats.row_passage.tolist()) == {0, 1}
    # Put a strong span on the token "zanzibar" in the last window of passage 2.
    start = np.zeros(feats.context_mask.shape)
    end = np.zeros(feats.context_mask.shape)
    r = int(np.nonzero(feats.row_passage == 1)[0][-1])
    ids = feats.inputs["input_ids"][r].tolist()
    zan = reader.tokenizer("zanzibar", add_special_tokens=False)["input_ids"]
    t0 = next(i for i in range(len(ids)) if ids[i : i + len(zan)] == zan)
    start[r, t0] = end[r, t0 + len(zan) - 1] = 30.0
    pred = reader.decode(feats, start, end, [PassageInput("p0", PASSAGES[0]), PassageInput("p1", long_text)])[
        0
    ]
    assert (pred.passage_id, pred.answer) == ("p1", "Zanzibar")
    assert long_text[pred.start : pred.end] == "Zanzibar"


def test_predict_answers_from_a_passage_with_probabilities_summing_to_one(reader):
    passages = [PassageInput(f"p{i}", t, float(i)) for i, t in enumerate(PASSAGES)]
    tiers = Reader(reader.model, reader.tokenizer, reader.settings.model_copy(update={"evidence": None}))
    preds = tiers.predict(QUESTION, passages, top_n=5)
    assert len(preds) == 5
    # "When ...?": spans holding a date come first, each group best score first (without the evidence
    # ranking, which tests/test_read_evidence.py checks)
    from kvqae.read.answer_types import fits

    groups = [[p.score for p in preds if fits(p.answer, "time") == f] for f in (True, False)]
    assert [fits(p.answer, "time") for p in preds] == sorted((fits(p.answer, "time") for p in preds),
                                                             reverse=True)
    assert all(g == sorted(g, reverse=True) for g in groups)
    plain = Reader(reader.model, reader.tokenizer, ReaderSettings(answer_type_filter=False))
    scores = [p.score for p in plain.predict(QUESTION, passages, top_n=5)]
    assert scores == sorted(scores, reverse=True)
    for p in preds:
        text = PASSAGES[int(p.passage_id[1:])]
        assert text[p.start : p.end] == p.answer and p.answer
        assert 0.0 < p.probability <= 1.0
    for p in reader.predict(QUESTION, passages, top_n=5):  # evidence-ranked: offsets still hold
        assert PASSAGES[int(p.passage_id[1:])][p.start : p.end] == p.answer and p.answer
    feats = reader.featurize(QUESTION, PASSAGES)
    start, _ = reader.logits(feats)
    probs = np.exp(global_log_softmax(start.numpy(), feats.context_mask))
    assert probs.sum() == pytest.approx(1.0, abs=1e-6)
    # The span probability reported equals p_start * p_end of the chosen tokens.
    assert sum(p.probability for p in preds) < 1.0


def test_no_passages_gives_an_empty_answer(reader):
    pred = reader.predict(QUESTION, [])[0]
    assert pred.answer == "" and pred.passage_id is None


def test_save_load_round_trip_keeps_settings_and_outputs(reader, tmp_path):
    reader.settings = ReaderSettings(max_length=128, max_answer_tokens=7, retrieval_weight=0.5)
    reader.save(tmp_path / "r", extra={"note": "x"})
    again = Reader.load(tmp_path / "r")
    assert load_settings(tmp_path / "r") == again.settings == reader.settings
    feats = reader.featurize(QUESTION, PASSAGES)
    a, _ = reader.logits(feats)
    b, _ = again.logits(again.featurize(QUESTION, PASSAGES))
    assert torch.allclose(a, b)


def test_encoder_without_span_head_loads_with_a_new_head(minilm_path):
    r = Reader.load(minilm_path)
    assert r.model.qa_outputs.out_features == 2
    assert r.settings == ReaderSettings()


LONG = (
    "Filler words about nothing in particular fill this opening part of the passage for a while. "
    "More filler about other matters keeps going here. The tower in Paris was built by Gustave Eiffel. "
    "Closing filler text ends the passage after the fact."
)


def test_windows_per_passage_keeps_the_window_sharing_most_question_words(tiny_reader_dir):
    settings = ReaderSettings(max_length=32, stride=8, windows_per_passage=1)
    reader = Reader.load(tiny_reader_dir, settings=settings)
    question = "Who built the tower in Paris?"
    every = Reader.load(tiny_reader_dir, settings=settings.model_copy(update={"windows_per_passage": None}))
    all_rows = every.featurize(question, [LONG, PASSAGES[0]])
    feats = reader.featurize(question, [LONG, PASSAGES[0]])
    assert all_rows.num_rows > 2  # the long passage needs several windows
    assert feats.row_passage.tolist() == [0, 1]  # one window per passage, in passage order
    ctx = np.nonzero(feats.context_mask[0])[0]
    window = LONG[feats.offsets[0, ctx[0], 0] : feats.offsets[0, ctx[-1], 1]]
    assert "tower in Paris" in window  # "tower", "paris", "built" are the question words it holds
    # the kept rows' encodings equal those rows in the full encoding (same offsets, trimmed padding)
    assert feats.inputs["input_ids"].shape[1] <= all_rows.inputs["input_ids"].shape[1]


def test_windows_per_passage_in_training_keeps_a_window_with_the_answer(tiny_reader_dir):
    settings = ReaderSettings(max_length=32, stride=8, windows_per_passage=1)
    reader = Reader.load(tiny_reader_dir, settings=settings)
    # a question sharing no word with the answer's window: training still keeps the window holding it
    a = LONG.index("Gustave Eiffel")
    feats = reader.featurize("Filler opening nothing particular?", [LONG], [[(a, a + len("Gustave Eiffel"))]])
    assert feats.num_rows == 1
    assert feats.start_targets.sum() == 1 and feats.end_targets.sum() == 1
    r, s = map(int, np.argwhere(feats.start_targets)[0])
    e = int(np.argwhere(feats.end_targets)[0][1])
    assert LONG[feats.offsets[r, s, 0] : feats.offsets[r, e, 1]] == "Gustave Eiffel"


def test_keep_first_layers_cuts_the_encoder_and_saves_the_depth(tmp_path):
    from kvqae.errors import InputError
    from kvqae.read.train import keep_first_layers

    src = build_tiny_reader(tmp_path / "deep", layers=3)
    reader = Reader.load(src)
    keep_first_layers(reader.model, 2)
    assert len(reader.model.bert.encoder.layer) == 2
    reader.save(tmp_path / "cut")
    assert Reader.load(tmp_path / "cut").model.config.num_hidden_layers == 2
    with pytest.raises(InputError, match="layers"):
        keep_first_layers(reader.model, 5)


def test_expected_kind_and_fits_by_hand():
    from kvqae.read.answer_types import expected_kind, fits

    assert expected_kind("In what year did the war end?") == "time"
    assert expected_kind("On which date was it signed?") == "time"
    assert expected_kind("How tall is this tower in metres?") == "number"
    assert expected_kind("Whose portrait hangs here?") == "name"
    assert expected_kind("Which city lies on the river?") == "name"
    assert expected_kind("Which instrument did he play?") == "thing"  # a common noun, not a date or count
    assert expected_kind("Which American composer wrote this symphonic poem?") == "name"
    assert expected_kind("At which battle did he die?") == "name"
    assert expected_kind("What is the capital of the Yellowhammer State?") == "name"
    assert expected_kind("What was the name of the school he founded?") == "name"
    assert expected_kind("What did he study in Athens?") == "thing"
    assert expected_kind("How did he die?") is None
    assert fits("17 August 1945", "time") and fits("the 5th century", "time") and not fits("Paris", "time")
    assert fits("250,000", "number") and fits("two million", "number") and not fits("many", "number")
    assert not fits("1514. Onyx Knight studied", "time")  # runs over a sentence end
    # a clause holding a year is no date: at most 6 words ("about 80 million years ago" fits)
    assert not fits("Samuel Gottlieb Gmelin (1744–1774) published the Historia Fucorum", "time")
    assert fits("about 80 million years ago", "time") and fits("the late 4th century BC", "time")
    assert not fits("over 5,000 species of frogs and toads live in wetlands", "number")
    assert fits("Steffi Graf", "name") and not fits("his wife", "name") and not fits("Louis XIV 1643", "name")
    assert fits("anything", None)
    # a question opening with "who" asks for a name, whatever clause follows (session 12)
    assert expected_kind("Who became president when the colony became independent?") == "name"
    assert expected_kind("Which currency is used here?") == "thing"  # a common noun: "euro"
    # a name may open with "the"; its next word is then capitalised (session 12)
    assert fits("the Soviet Union", "name") and fits("the Battle of Shiloh", "name")
    assert not fits("the end of it", "name") and not fits("the", "name") and not fits("BC", "name")
    assert not fits("About", "name") and not fits("The", "name") and fits("Aboutville", "name")


def test_a_thing_is_no_bare_date_or_number():
    """Session 19: any other "what" / "which" asks for a thing; a bare date or number ("February 1788 – 21
    September 1860" for "What kind of pets did he keep?") does not answer it, while what asks a measure,
    an age, a share or a date keeps its kind."""
    from kvqae.read.answer_types import expected_kind, fits, quantity_only

    kinds = {
        "What kind of pets did this German philosopher keep?": "thing",
        "What is the scientific name of this mammal?": "thing",
        "At what age did he die?": "number",
        "What is the atomic number of this element?": "number",
        "What share of its species are frogs?": "number",
        "What was his date of birth?": "time",
        "At what time did the ship sink?": "time",
    }
    assert {q: expected_kind(q) for q in kinds} == kinds
    for answer in ("1962", "about 250,000", "February 1788 – 21 September 1860", "three", "the 1990s",
                   "twenty-seven years"):
        assert quantity_only(answer) and not fits(answer, "thing"), answer
    for answer in ("poodles", "F-111", "Super Bowl 50", "cyclic cohomology"):
        assert not quantity_only(answer) and fits(answer, "thing"), answer
    # a thing is a phrase, not a clause
    assert not fits("Schopenhauer settled permanently in Frankfurt in 1833 where he", "thing")
    assert not fits("poodles. He", "thing")


def test_a_measure_keeps_its_unit():
    from kvqae.read.answer_types import asks_measure, has_unit, with_unit

    assert asks_measure("How long is this animal's gestation period?")
    assert asks_measure("What is the area of this microstate?")
    assert asks_measure("What is this mountain's elevation?")
    assert not asks_measure("How many people live here?") and not asks_measure("How old was he?")
    text = "an area of 468 km2 (181 sq mi); about two and a quarter hours outside; 3 in 2010; 12 people"
    def shown(answer: str) -> str:
        start = text.index(answer)
        return text[start : with_unit(text, start, start + len(answer))]
    assert shown("468") == "468 km2" and shown("181") == "181 sq mi"
    assert shown("two and a quarter") == "two and a quarter hours"
    assert shown("3") == "3" and shown("12") == "12"  # "in" and "people" are no units
    assert shown("area") == "area"  # no number: unchanged
    assert has_unit("468 km2") and has_unit("seven months") and has_unit("181 sq mi") and has_unit("8,848 m")
    assert not has_unit("three") and not has_unit("about 250,000") and not has_unit("Kmart")


def test_a_measure_prefers_numbers_with_a_unit():
    """Session 19: "How long is its gestation period?" takes "seven months" over a bare "three" the span
    model scores higher; a question asking a count keeps the bare number."""
    from types import SimpleNamespace

    from kvqae.read.answer_choice import Candidate
    from kvqae.read.model import _split_by_kind

    text = "It has three teats. Gestation lasts seven months, and one young is born."
    def feat(word: str) -> SimpleNamespace:
        return SimpleNamespace(candidate=Candidate(0, text.index(word), text.index(word) + len(word), 0.0))
    three, seven = feat("three"), feat("seven")
    pool, rest = _split_by_kind([three, seven], [text], "number", measure=True)
    assert pool == [seven] and rest == [three]
    pool, rest = _split_by_kind([three, seven], [text], "number")  # a count: both numbers fit
    assert pool == [three, seven] and rest == []
    only = _split_by_kind([three], [text], "number", measure=True)  # none with a unit: the numbers stay
    assert only == ([three], [])


def test_the_asked_dimension_of_a_measure():
    """Session 31: "how deep" asks a length, "area" an area, "how long did ... burn" a time, "how long is the
    river" leaves it open; a unit's dimension is read from the answer ("358 km2" is an area, no length)."""
    from kvqae.read.answer_types import asked_dimension, expected_kind, has_dimension

    assert asked_dimension("How deep is Ohrid Lake at its deepest point?") == "length"
    assert asked_dimension("How tall is this tower?") == "length"
    assert asked_dimension("What is the area of this microstate?") == "area"
    assert asked_dimension("How long did the engine burn?") == "time"
    assert asked_dimension("What is the half-life of caesium-137?") == "time"
    assert asked_dimension("How heavy is this bell?") == "mass"
    assert asked_dimension("How long is the Danube?") is None  # a length or a time: open
    assert asked_dimension("How many lakes does it have?") is None  # a count, no measure
    # a count of a unit asks a measure in it (session 31: "within how many hours" read "two", not "48 hours")
    assert asked_dimension("Within how many hours of arrest must it take place?") == "time"
    assert asked_dimension("How many miles long is it?") == "length"
    assert asked_dimension("How many square miles does it cover?") == "area"
    assert expected_kind("What was the life expectancy in this country in 2013?") == "number"
    assert has_dimension("289 metres", "length") and has_dimension("8,848 m", "length")
    assert not has_dimension("358 km2", "length") and not has_dimension("330 square miles", "length")
    assert has_dimension("358 km2", "area") and has_dimension("330 square miles", "area")
    assert has_dimension("4 minutes and 13 seconds", "time") and not has_dimension("13 km", "time")
    assert has_dimension("2,100 kg", "mass") and not has_dimension("2,100 m", "mass")


def test_a_measure_prefers_the_asked_dimension():
    """Session 31: "How deep is the lake?" took the lake's area ("358 km2") over its depth; with the asked
    dimension the length comes first, and with no length in the candidates any unit still does."""
    from types import SimpleNamespace

    from kvqae.read.answer_choice import Candidate
    from kvqae.read.model import _split_by_kind

    text = "The lake covers 358 km2 and is 289 metres deep; it is 3 million years old."
    def feat(words: str) -> SimpleNamespace:
        return SimpleNamespace(candidate=Candidate(0, text.index(words), text.index(words) + len(words), 0.0))
    area, depth, age = feat("358 km2"), feat("289 metres"), feat("3 million years")
    pool, rest = _split_by_kind([area, depth, age], [text], "number", measure=True, dimension="length")
    assert pool == [depth] and rest == [area, age]
    pool, _ = _split_by_kind([area, age], [text], "number", measure=True, dimension="length")
    assert pool == [area, age]  # no length among them: every measure with a unit stays
    pool, _ = _split_by_kind([area, depth, age], [text], "number", measure=True)
    assert pool == [area, depth, age]  # no dimension asked: any unit


def test_a_year_question_prefers_answers_that_write_a_year():
    """Session 27: "In what year did aikido become the official name ...?" was answered "twentieth
    century", "In which year did Ward write the tune?" "Fourth of July": dates, but no year."""
    from types import SimpleNamespace

    from kvqae.read.answer_choice import Candidate
    from kvqae.read.answer_types import asks_year
    from kvqae.read.model import _split_by_kind

    text = "Sung on the Fourth of July, the tune, written in 1882, is more than 100 years old."
    def feat(words: str) -> SimpleNamespace:
        return SimpleNamespace(candidate=Candidate(0, text.index(words), text.index(words) + len(words), 0.0))
    july, year, age = feat("Fourth of July"), feat("1882"), feat("100 years")
    assert asks_year("In which year did Ward write the tune?") and not asks_year("When did Ward write it?")
    assert _split_by_kind([july, age, year], [text], "time", year=True) == ([year], [july, age])
    assert _split_by_kind([july, age, year], [text], "time") == ([july, age, year], [])  # "when": all dates
    assert _split_by_kind([july], [text], "time", year=True) == ([july], [])  # no year at all: dates stay


def test_the_main_clause_decides_the_kind():
    from kvqae.read.answer_types import expected_kind, expected_labels, main_clause

    # a later wh-word opens a clause that describes something; it does not say what is asked (session 17)
    assert main_clause("At which college was she a professor when she made the trip?") == (
        "which college was she a professor ")
    assert expected_kind("At which college was she a professor when she made the trip?") == "name"
    assert expected_labels("At which college was she a professor when she made the trip?") == {"ORG", "NORP"}
    # "who uses" describes the person asked about: "abacist" is no capitalised name
    assert expected_kind("What is a person who uses an abacus called?") == "thing"
    assert expected_kind("How old was he when he died?") == "number"
    assert expected_kind("In which city was the physicist who developed relativity born?") == "name"
    assert main_clause("Name the founder.") == "Name the founder."
    # a measure is asked right after "what is (the)", not anywhere in the question
    assert expected_kind("What is the state bird of the largest U.S. state by area?") == "thing"
    assert expected_kind("What is this mountain's elevation?") == "number"
    assert expected_kind("What is the total land area of this country?") == "number"


def test_answer_type_preference_picks_the_best_fitting_span(reader):
    # one-token answers, so "Paris 1889" (which holds a year too) is not a candidate
    reader = Reader(reader.model, reader.tokenizer, ReaderSettings(max_answer_tokens=1))
    text = "Paris 1889"
    passages = [PassageInput("p", text)]
    feats = reader.featurize("When was it built?", [text])
    ctx = np.nonzero(feats.context_mask[0])[0]  # tokens: "paris", "1889"
    start = np.full(feats.context_mask.shape, -10.0)
    end = np.full(feats.context_mask.shape, -10.0)
    start[0, ctx[0]], end[0, ctx[0]] = 5.0, 5.0  # "Paris" scores best ...
    start[0, ctx[-1]], end[0, ctx[-1]] = 3.0, 3.0  # ... "1889" second
    assert reader.decode(feats, start, end, passages)[0].answer == "Paris"
    assert reader.decode(feats, start, end, passages, kind="time")[0].answer == "1889"
    assert reader.decode(feats, start, end, passages, kind="name")[0].answer == "Paris"


def test_whole_words_widens_to_word_boundaries():
    from kvqae.read.model import whole_words

    text = "It lies in Mareidor, by the sea."
    a = text.index("Mareidor")
    assert whole_words(text, a, a + 7) == (a, a + 8)  # "Mareido" -> "Mareidor"
    assert whole_words(text, a + 2, a + 8) == (a, a + 8)
    assert whole_words(text, a, a + 8) == (a, a + 8)  # already whole: unchanged

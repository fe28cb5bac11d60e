"""Evidence ranking of candidate answers (kvqae.read.evidence): hand-computed features, the conditional
logit fit against a hand-solved optimum, and the reader end to end on hand-set logits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kvqae.read.answer_choice import Candidate
from kvqae.read.evidence import (
    CandidateFeatures,
    EvidenceSettings,
    answer_confidence,
    candidate_features,
    fit_weights,
    rank,
    sentence_bounds,
    sentence_evidence,
    stem_weights,
    window_share,
)
from kvqae.read.model import content_stems
from reader_logits import peaked_logits, token_at

SHOT = "Lincoln was born in Kentucky. Years later the president was shot by John Wilkes Booth at the theatre."


def at(text: str, word: str) -> tuple[int, int]:
    return text.index(word), text.index(word) + len(word)


def test_stem_weights_are_inverse_document_frequencies():
    passages = [{"capit", "alabama"}, {"alabama"}, {"alabama", "citi"}]
    w = stem_weights({"capit", "alabama", "moon"}, passages)
    assert w["capit"] == pytest.approx(math.log(1 + 3 / 1))
    assert w["alabama"] == pytest.approx(math.log(2))
    assert w["moon"] == 0.0  # in no passage: it can never match


def test_window_share_counts_question_words_near_the_candidate():
    text = "The capital of Alabama is Montgomery and Birmingham is the largest city."
    weights = {"capit": 1.0, "alabama": 3.0}
    a, b = at(text, "Montgomery")
    # 3 words to the left: "of Alabama is" -> alabama (3 of 4); 4 words reach "capital" too
    assert window_share(text, a, b, weights, 3, stems=content_stems) == pytest.approx(0.75)
    assert window_share(text, a, b, weights, 4, stems=content_stems) == pytest.approx(1.0)
    a, b = at(text, "Birmingham")
    assert window_share(text, a, b, weights, 3, stems=content_stems) == 0.0
    # the candidate's own words never count
    a, b = at(text, "Alabama")
    assert window_share(text, a, b, {"alabama": 1.0}, 5, stems=content_stems) == 0.0
    assert window_share(text, a, b, {}, 5, stems=content_stems) == 0.0


def test_candidate_features_add_unproposed_entities_and_rank_by_the_linear_score():
    text = SHOT
    (la, lb), (ka, kb), (ba, bb) = at(text, "Lincoln"), at(text, "Kentucky"), at(text, "John Wilkes Booth")
    ents = [(la, lb, "PERSON"), (ka, kb, "GPE"), (ba, bb, "PERSON")]
    booth = Candidate(0, *at(text, "Booth"), -3.0, 0.05)
    proposed = [Candidate(0, la, lb, -0.5), Candidate(0, ka, kb, -2.0), booth]
    question = "Who shot the president at the theatre?"
    feats = candidate_features(proposed, [text], ["Abraham Lincoln"], question,
                               labels=frozenset({"PERSON"}), entities_of=lambda t: ents, window_words=3,
                               near_words=2, stems=content_stems)
    got = {text[f.candidate.start:f.candidate.end]: f.values for f in feats}
    assert list(got) == ["Lincoln", "Kentucky", "Booth", "John Wilkes Booth"]  # proposed first, then entities
    assert got["Lincoln"] == (-0.5, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # a PERSON, but it echoes the title
    assert got["Kentucky"] == (-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)  # no PERSON
    # one passage: every present stem weighs log 2; "was shot by" / "at the theatre" hold 2 of 3 stems,
    # the 2 words either side ("shot by" / "at the") 1 of 3
    # the second sentence holds all 3 stems (sentence 1); "who shot" names no focus word (focus 0)
    assert got["John Wilkes Booth"] == pytest.approx((-3.0, 1.0, 0.0, 2 / 3, 1 / 3, 0.0, 1.0, 0.0))
    assert got["Booth"][4] == 0.0  # "John Wilkes" / "at the"
    assert feats[-1].candidate.probability == 0.05  # and its probability
    settings = EvidenceSettings(span=0.5, entity=4.0, echo=-4.0, window=6.0)
    ranked = [text[c.start:c.end] for c in rank(feats, settings)]
    # John Wilkes Booth: -1.5 + 4 + 6 * 2/3 = 6.5; Booth ("by John Wilkes" | "at the theatre": 1 of 3):
    # -1.5 + 4 + 2 = 4.5; Lincoln: -0.25 + 4 - 4 = -0.25; Kentucky: -1
    assert ranked == ["John Wilkes Booth", "Booth", "Lincoln", "Kentucky"]
    # an entity that overlaps no proposed span takes the lowest proposed score - 1
    alone = candidate_features(proposed[:1], [text], [None], question, labels=frozenset({"PERSON"}),
                               entities_of=lambda t: ents, window_words=3, stems=content_stems)
    assert alone[1].values[0] == -1.5 and alone[1].candidate.probability == 0.0


def test_weights_saved_without_near_load_with_near_zero():
    # a reader saved before the `near` feature: its 4 weights were fitted without it
    old = EvidenceSettings.model_validate({"span": 0.48, "entity": 4.2, "echo": -4.1, "window": 6.3,
                                           "window_words": 12})
    assert old.near == 0.0 and list(old.weights()) == [0.48, 4.2, -4.1, 6.3, 0.0, 0.0, 0.0, 0.0]
    # ... and one saved before `other` keeps it 0 even if a later default sets it
    five = EvidenceSettings.model_validate({"span": 0.5, "near": 1.0})
    assert five.other == 0.0 and five.near == 1.0
    # ... and one saved before `sentence` / `focus` (session 11's readers) keeps them 0
    six = EvidenceSettings.model_validate({"span": 0.45, "near": 5.4, "other": 0.0})
    assert six.sentence == 0.0 and six.focus == 0.0 and EvidenceSettings().sentence > 0
    assert EvidenceSettings().near > 0 and EvidenceSettings(window_words=3).near == EvidenceSettings().near
    assert EvidenceSettings.model_validate({"near": 2.0, "span": 1.0}).near == 2.0


def test_near_window_decides_between_candidates_the_wide_window_ties():
    # both cities share "capital ... Africa" within 12 words; only Algiers stands next to "capital"
    text = "Its capital is Algiers. It is the largest country of Africa and borders Tunis in the north."
    question = "What is the capital of the largest country in Africa?"
    ents = [(*at(text, "Algiers"), "GPE"), (*at(text, "Tunis"), "GPE")]
    feats = candidate_features([], [text], [None], question, labels=frozenset({"GPE"}),
                               entities_of=lambda t: ents, window_words=12, near_words=2, stems=content_stems)
    values = {text[f.candidate.start:f.candidate.end]: f.values for f in feats}
    # 12 words either side: capital, largest, country, africa for both; 2 words: "capital is" | "and borders"
    assert values["Algiers"][3] == values["Tunis"][3] == pytest.approx(1.0)
    assert values["Algiers"][4] == pytest.approx(0.25) and values["Tunis"][4] == 0.0
    ranked = rank(feats, EvidenceSettings(span=0.0, entity=1.0, echo=-1.0, window=1.0, near=1.0))
    assert text[ranked[0].start:ranked[0].end] == "Algiers"


def test_fit_weights_reaches_the_hand_solved_optimum():
    # one group, two candidates, feature 1 on the correct one: loss(w) = log(1 + e^-w) + l2 w^2,
    # so the optimum solves 1 / (1 + e^w) = 2 l2 w (bisection below)
    l2 = 0.1
    w = fit_weights([(np.array([[1.0], [0.0]]), np.array([True, False]))], l2=l2)
    lo, hi = 0.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if 1 / (1 + math.exp(mid)) > 2 * l2 * mid else (lo, mid)
    assert w[0] == pytest.approx(lo, abs=1e-4)
    # a feature marking the correct candidates gets a positive weight, one marking wrong ones negative;
    # a group with no correct candidate is skipped
    groups = [(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]), np.array([True, False, False])),
              (np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([False, True])),
              (np.array([[5.0, 5.0]]), np.array([False]))]
    w = fit_weights(groups, l2=0.01)
    assert w[0] > 1.0 and w[1] < -1.0
    assert np.array_equal(fit_weights([(np.ones((2, 3)), np.zeros(2, bool))]), np.zeros(3))


def test_spacy_prefetch_equals_one_by_one():
    from kvqae.read.answer_choice import SpacyEntities

    ner = SpacyEntities.load()
    texts = ["George Orwell wrote Animal Farm in England.", "Juneau is the capital of Alaska since 1906."]
    one = [ner.nlp(t) for t in texts]
    ner.prefetch(texts)
    expected = [tuple((e.start_char, e.end_char, e.label_) for e in d.ents) for d in one]
    assert [ner(t) for t in texts] == expected
    assert ner(texts[0]) is ner(texts[0])


def test_reader_picks_the_entity_near_the_question_words(tmp_path):
    from kvqae.read.model import TYPED_CANDIDATES, PassageInput, Reader, ReaderSettings, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    text = SHOT
    ents = [(*at(text, "Lincoln"), "PERSON"), (*at(text, "Kentucky"), "GPE"),
            (*at(text, "John Wilkes Booth"), "PERSON")]
    reader._entities = lambda t: ents  # hand-made NER in place of spaCy's
    question = "Who shot the president at the theatre?"
    feats = reader.featurize(question, [text])
    start, end = peaked_logits(feats, {token_at(feats, 0): 6.0})  # the reader's best span is "Lincoln"
    passages = [PassageInput("p", text, 0.0, None)]
    evidence = EvidenceSettings(span=0.1, entity=4.0, echo=-4.0, window=6.0, window_words=3)
    reader.settings = ReaderSettings(max_answer_tokens=1, evidence=None)
    assert reader.decode(feats, start, end, passages, kind="name", question=question)[0].answer == "Lincoln"
    reader.settings = ReaderSettings(max_answer_tokens=1, evidence=evidence)
    best = reader.decode(feats, start, end, passages, kind="name", question=question)[0]
    assert best.answer == "John Wilkes Booth" and text[best.start:best.end] == best.answer
    # its confidence is the evidence softmax over the candidates the reader scored
    cands, labels = reader._choose(reader._proposals(feats, start, end, passages, TYPED_CANDIDATES), passages,
                                   question, "name", all_entities=True)
    scored = reader._features(cands, passages, question, labels, evidence)
    # ... those of the asked kind: the lower-case words the tiny reader also proposes are no names
    named = [f for f in scored if text[f.candidate.start:f.candidate.end][0].isupper()]
    assert 3 <= len(named) < len(scored)
    expected = answer_confidence(named, [text], evidence.weights())
    assert best.confidence == pytest.approx(expected[(0, best.start, best.end)])
    assert 0.5 < best.confidence < 1.0
    reader.settings = ReaderSettings(max_answer_tokens=1, evidence=None)
    assert reader.decode(feats, start, end, passages, kind="name", question=question)[0].confidence is None


def test_other_label_entities_join_name_questions_with_their_own_feature():
    # the small NER model calls a city an organisation: "Alberta's capital Edmonton" -> ORG
    text = "Its capital Edmonton lies north of Calgary, the largest city."
    ents = [(*at(text, "Edmonton"), "ORG"), (*at(text, "Calgary"), "GPE")]
    question = "What is the capital of the province?"
    places = frozenset({"GPE", "LOC", "NORP"})
    kwargs = dict(labels=places, entities_of=lambda t: ents, window_words=12, near_words=2,
                  stems=content_stems)
    without = candidate_features([], [text], [None], question, **kwargs)
    assert [text[f.candidate.start:f.candidate.end] for f in without] == ["Calgary"]
    names = frozenset({"GPE", "LOC", "NORP", "ORG", "PERSON"})
    feats = candidate_features([], [text], [None], question, other_labels=names, **kwargs)
    values = {text[f.candidate.start:f.candidate.end]: f.values for f in feats}
    # asked-for entities first, then the others; `other` only for the entity of a label not asked for
    assert list(values) == ["Calgary", "Edmonton"]
    assert values["Calgary"][1] == 1.0 and values["Calgary"][5] == 0.0
    assert values["Edmonton"][1] == 0.0 and values["Edmonton"][5] == 1.0
    # near (2 words): "Its capital" | "lies north" holds "capital", the one question stem in the text
    assert values["Edmonton"][4] == pytest.approx(1.0) and values["Calgary"][4] == 0.0
    weights = dict(span=0.0, entity=2.0, echo=-1.0, window=0.0, near=2.0)
    top = rank(feats, EvidenceSettings(**weights, other=1.0))[0]
    assert text[top.start:top.end] == "Edmonton"  # 2 + 1 = 3 > 2; with other -1: 1 < 2
    top = rank(feats, EvidenceSettings(**weights, other=-1.0))[0]
    assert text[top.start:top.end] == "Calgary"


def test_answer_confidence_is_the_softmax_summed_over_one_answer():
    texts = ["Edmonton is the capital.", "Calgary and Edmonton."]
    feats = [CandidateFeatures(Candidate(0, 0, 8, 0.0), (1.0,)),   # "Edmonton"
             CandidateFeatures(Candidate(1, 0, 7, 0.0), (0.0,)),   # "Calgary"
             CandidateFeatures(Candidate(1, 12, 20, 0.0), (0.0,))]  # "Edmonton" again
    conf = answer_confidence(feats, texts, np.array([math.log(2)]))
    # scores log 2, 0, 0 -> softmax 2/4, 1/4, 1/4; both Edmontons share 3/4
    assert conf[(0, 0, 8)] == pytest.approx(0.75) and conf[(1, 12, 20)] == pytest.approx(0.75)
    assert conf[(1, 0, 7)] == pytest.approx(0.25)
    assert answer_confidence([], texts, np.array([1.0])) == {}


def test_sentence_bounds_by_hand():
    text = "Its capital is Algiers. It borders Tunisia! Was it French? Yes. (It was) Done"
    a, b = at(text, "Algiers")
    assert text[slice(*sentence_bounds(text, a, b))] == "Its capital is Algiers."
    a, b = at(text, "Tunisia")
    assert text[slice(*sentence_bounds(text, a, b))] == "It borders Tunisia!"
    a, b = at(text, "It was")
    assert text[slice(*sentence_bounds(text, a, b))] == "(It was) Done"
    a, b = at(text, "Yes")
    assert text[slice(*sentence_bounds(text, a, b))] == "Yes."
    # a span over a sentence break widens its sentence to hold it
    a, b = text.index("Algiers"), text.index("borders") + len("borders")
    assert text[slice(*sentence_bounds(text, a, b))] == "Its capital is Algiers. It borders Tunisia!"


def test_focus_counts_the_asked_noun_inside_the_candidate_name():
    # "Which sea ...?": "Sargasso Sea" names a sea itself; the share of the question's words still leaves
    # the candidate's own words out
    text = "The European eel spawns in the Sargasso Sea. It lives in rivers of France."
    weights = {"sea": 1.0, "eel": 1.0}
    a, b = at(text, "Sargasso Sea")
    assert sentence_evidence(text, a, b, weights, {"sea"}, stems=content_stems) == (pytest.approx(0.5), 1.0)
    a, b = at(text, "France")
    assert sentence_evidence(text, a, b, weights, {"sea"}, stems=content_stems) == (0.0, 0.0)


def test_sentence_evidence_reaches_the_relation_word_beyond_the_near_window():
    # "capital" stands 5 words before Algiers: past the 4-word `near` window, inside its sentence
    text = ("Algeria is the largest country in Africa and the Arab world. Its capital and most populous "
            "city is Algiers, in the far north.")
    question = "What is the capital of the largest country in Africa?"
    weights = {"capit": 1.0, "largest": 1.0, "countri": 1.0, "africa": 1.0}
    focus = {"capit"}
    a, b = at(text, "Algiers")
    assert window_share(text, a, b, weights, 4, stems=content_stems) == 0.0
    assert sentence_evidence(text, a, b, weights, focus, stems=content_stems) == (pytest.approx(0.25), 1.0)
    a, b = at(text, "Arab")
    assert sentence_evidence(text, a, b, weights, focus, stems=content_stems) == (pytest.approx(0.75), 0.0)
    # the features as `candidate_features` computes them: focus from the question's "what is the capital"
    ents = [(*at(text, "Algiers"), "GPE"), (*at(text, "Arab"), "NORP")]
    feats = candidate_features([], [text], [None], question, labels=frozenset({"GPE", "NORP"}),
                               entities_of=lambda t: ents, window_words=12, stems=content_stems)
    values = {text[f.candidate.start:f.candidate.end]: f.values for f in feats}
    assert values["Algiers"][6:] == (pytest.approx(0.25), 1.0)
    assert values["Arab"][6:] == (pytest.approx(0.75), 0.0)
    top = rank(feats, EvidenceSettings(span=0, entity=1, echo=-1, window=0, near=0, sentence=1, focus=2))[0]
    assert text[top.start:top.end] == "Algiers"  # 1 + 0.25 + 2 > 1 + 0.75


def test_an_answer_of_the_asked_kind_comes_first_with_evidence(tmp_path):
    # session 12: the evidence ranking answered "Who ...?" with a date ("March 1861") when the date had the
    # better span score and words; an answer of the asked kind now comes first whenever there is one
    from kvqae.read.model import PassageInput, Reader, ReaderSettings, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    text = "The president was shot in 1865 by Booth."
    ents = [(*at(text, "1865"), "DATE"), (*at(text, "Booth"), "PERSON")]
    reader._entities = lambda t: ents
    question = "Who shot the president?"
    feats = reader.featurize(question, [text])
    # the reader's best span by far is the year
    start, end = peaked_logits(feats, {token_at(feats, text.index("1865")): 8.0})
    passages = [PassageInput("p", text, 0.0, None)]
    # the span score outweighs Booth's PERSON entity: 0.5 * (~0 - (~-18)) > 4
    evidence = EvidenceSettings(span=0.5, entity=4.0, echo=-4.0, window=0, near=0, sentence=0, focus=0)
    reader.settings = ReaderSettings(max_answer_tokens=1, evidence=evidence)
    assert reader.decode(feats, start, end, passages, kind=None, question=question)[0].answer == "1865"
    best = reader.decode(feats, start, end, passages, kind="name", question=question)
    assert best[0].answer == "Booth"
    # the date still follows (it is a candidate, only not first) and the confidence counts names only
    assert "1865" in [p.answer for p in reader.decode(feats, start, end, passages, kind="name",
                                                        question=question, top_n=40)]
    # "Booth" is the one name among the candidates ("The" opens a sentence, names nothing)
    assert best[0].confidence == pytest.approx(1.0)


def test_answers_come_from_the_first_read_passages_article_first(tmp_path):
    # session 13: the demo world's reader answered about other entities than the one retrieval put first;
    # among answers of the asked kind, the first read passage's article now comes first
    from kvqae.read.model import PassageInput, Reader, ReaderSettings, build_tiny_reader

    reader = Reader.load(build_tiny_reader(tmp_path / "tiny", seed=0))
    ours, theirs = "The president was shot by Booth.", "The photo was shot by Armstrong."
    ents = {ours: [(*at(ours, "Booth"), "PERSON")], theirs: [(*at(theirs, "Armstrong"), "PERSON")]}
    reader._entities = lambda t: ents[t]
    question = "Who shot it?"
    feats = reader.featurize(question, [ours, theirs])
    start = np.full(feats.context_mask.shape, -10.0)
    end = start.copy()
    row = int(np.nonzero(feats.row_passage == 1)[0][0])  # the other article's passage: its best span by far
    token = next(int(t) for t in np.nonzero(feats.context_mask[row])[0]
                 if feats.offsets[row, t, 0] == theirs.index("Armstrong"))
    start[row, token] = end[row, token] = 8.0
    passages = [PassageInput("lincoln#4", ours, 2.0, "Abraham Lincoln"),
                PassageInput("apollo#1", theirs, 1.0, "Apollo 11")]
    evidence = EvidenceSettings(span=0.5, entity=4.0, echo=0, window=0, near=0, sentence=0, focus=0)

    def answers(**settings) -> list[str]:
        reader.settings = ReaderSettings(max_answer_tokens=1, evidence=evidence, **settings)
        return [p.answer for p in reader.decode(feats, start, end, passages, kind="name", question=question,
                                                top_n=40)]

    assert answers(first_article_answers=False)[0] == "Armstrong"
    got = answers()
    assert got[0] == "Booth" and "Armstrong" in got  # the other article's answer follows
    # the confidences are unchanged: the softmax over every candidate of the asked kind
    reader.settings = ReaderSettings(max_answer_tokens=1, evidence=evidence)
    booth = reader.decode(feats, start, end, passages, kind="name", question=question)[0]
    assert booth.passage_id == "lincoln#4" and booth.confidence < 0.5
    # unknown titles: one pool, ranked by evidence alone
    passages = [PassageInput("a", ours, 2.0, None), PassageInput("b", theirs, 1.0, None)]
    assert answers()[0] == "Armstrong"

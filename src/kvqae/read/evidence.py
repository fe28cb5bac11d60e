"""Ranking candidate answers by the reader's span score and the evidence around them.

The small reader reads one short window of each passage and proposes its best spans; on people's questions
the right answer is often not among them, or among them below a span of the right kind in a sentence about
something else. People's questions name the kind of entity they want, and the answer usually stands near
the question's other words. So the candidates are

* the reader's spans after `kvqae.read.answer_choice.choose` (snapped to entities, deduplicated), and
* every named entity of an asked-for label in any of the read passages (spaCy NER), read or not,

and each gets a linear score over eight features (`CandidateFeatures`):

* `span`: the reader's span score (log-probability under the global softmax); an entity the reader did
  not propose takes the score (and probability) of the best proposed span it overlaps, else the lowest
  proposed score - 1 (and probability 0);
* `entity`: 1 when the candidate lies inside a named entity of an asked-for label;
* `echo`: 1 when all its words are in the question or in its passage's title (unless the question asks
  who or what the pictured entity is);
* `window`: the share of the question's content-word stems found within `window_words` words either side
  of the candidate, each stem weighted by its inverse document frequency over the read passages (so the
  entity's own name, found in every passage of its article, counts little);
* `near`: the same share within `near_words` words (4): the answer usually stands right beside the
  question's relation word ("Its capital ... is Algiers"), where a 12-word window also reaches the
  neighbouring clause's entities;
* `other`: 1 inside an entity of a name label the question did not ask for (the small NER model calls
  some cities organisations); such entities join a name question's candidates only when this weight is
  not 0 - it is 0 by default (it gained on the dev set's validation half, lost on its test half);
* `sentence`: the same share within the candidate's sentence (fixed windows reach into the neighbouring
  sentences, and miss the relation word of a long sentence);
* `focus`: 1 when the candidate's sentence holds a word naming what the question asks for
  (`kvqae.read.answer_types.focus_words`: "capital" in "What is the capital of ...?" finds "Its capital and
  most populous city is Algiers", where "capital" stands five words from the answer), the candidate's own
  words included ("the Sargasso Sea" for "Which sea ...?").

A name question's entities also include the names that end with a capitalised noun of its "which/what"
phrase ("La Brea Tar Pits" for "Which tar pits ...?", `kvqae.read.phrase.names_with_noun`), which the small
NER model may not tag.

The weights (`EvidenceSettings`) were fitted on the natural-question dev set's validation half (89
questions, the candidates of the three `make reader` readers of seeds 0 / 1 / 2 pooled) with `fit_weights`
(a conditional logit: each question's candidates compete in one softmax); refit them for another domain
with `kvqae read-fit`; the reader ranks the candidates of the asked answer kind first (a date never
answers "who" while a name is there; `kvqae.read.model`), and the weights are fitted on those. Weights saved
before a feature existed (`near`, `other`, `sentence`, `focus`) load with its weight 0: they were fitted
without it. Being a
conditional logit, the softmax of the candidates' scores is a probability of each answer
(`answer_confidence`, summed over the mentions of one answer): the reader's `confidence`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import model_validator

from kvqae.config import ConfigModel
from kvqae.read.answer_choice import Candidate, Entity, abbreviations, asks_identity, echoes
from kvqae.read.answer_types import focus_words
from kvqae.read.phrase import trim_to_phrase

_WORD = re.compile(r"\w+")
# a sentence ends at . ! or ? followed by space and a capital, a quote or a bracket ("St. Louis" is cut too,
# which only shortens that sentence's window)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
FEATURES = ("span", "entity", "echo", "window", "near", "other", "sentence", "focus")
_LATER_FEATURES = ("near", "other", "sentence", "focus")


class EvidenceSettings(ConfigModel):
    """Weights of the candidate features (see the module doc) and the windows' half-widths in words."""

    span: float = 0.39
    entity: float = 2.15
    echo: float = -4.56
    window: float = 2.56
    near: float = 4.26
    # off: validation EM +0 / +3.4 / +2.3 with the three seed readers, test -1.1 / -1.1 / -2.3 (README)
    other: float = 0.0
    sentence: float = 3.01
    focus: float = 2.02
    window_words: int = 12
    near_words: int = 4

    @model_validator(mode="before")
    @classmethod
    def _fitted_without_later_features(cls, data: Any) -> Any:
        """Weights saved with a reader before a later feature existed were fitted without it: its weight is
        0 (and a 0 `other` weight keeps the other labels' entities out of the candidates)."""
        if isinstance(data, dict) and any(f in data for f in FEATURES):
            return {**{f: 0.0 for f in _LATER_FEATURES if f not in data}, **data}
        return data

    def weights(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in FEATURES], dtype=np.float64)


@dataclass(frozen=True)
class CandidateFeatures:
    """One candidate (passage index, char span) and its feature values, in `FEATURES` order."""

    candidate: Candidate
    values: tuple[float, ...]


def stem_weights(question_stems: set[str], passage_stems: Sequence[set[str]]) -> dict[str, float]:
    """Inverse document frequency of each question stem over the passages: log(1 + n / df); 0 when no
    passage holds it (it can never match)."""
    n = len(passage_stems)
    out = {}
    for stem in question_stems:
        df = sum(stem in s for s in passage_stems)
        out[stem] = math.log(1 + n / df) if df else 0.0
    return out


def window_share(
    text: str, start: int, end: int, weights: dict[str, float], words: int, *,
    stems: Callable[[str], set[str]],
) -> float:
    """Weighted share of the question stems (`weights`) found within `words` words before `start` and
    after `end` in `text`, the candidate's own stems excluded. 0 when the weights sum to 0."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    left = _WORD.findall(text[:start])[-words:] if words else []
    right = _WORD.findall(text[end:])[:words] if words else []
    near = stems(" ".join(left + right)) - stems(text[start:end])
    return sum(w for s, w in weights.items() if s in near) / total


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """[begin, finish) of the sentence of `text` holding the span [start, end) (widened to hold all of it
    when the span runs over a sentence break)."""
    begin, finish = 0, len(text)
    for m in _SENTENCE_BREAK.finditer(text):
        if m.end() <= start:
            begin = m.end()
        elif m.start() >= end:
            finish = m.start()
            break
    return begin, finish


def sentence_evidence(
    text: str, start: int, end: int, weights: dict[str, float], focus: set[str], *,
    stems: Callable[[str], set[str]],
) -> tuple[float, float]:
    """(`sentence`, `focus`) of the candidate [start, end) of `text`: the weighted share of the question
    stems (`weights`) in the rest of its sentence, and 1.0 when that holds a `focus` stem (else 0.0)."""
    begin, finish = sentence_bounds(text, start, end)
    own = stems(text[start:end])
    around = stems(text[begin:start] + " " + text[end:finish]) - own
    total = sum(weights.values())
    share = sum(w for s, w in weights.items() if s in around) / total if total > 0 else 0.0
    # a name holding the asked noun names it too: "the Sargasso Sea" for "Which sea ...?"
    return share, float(bool(focus & (around | own)))


def candidate_features(
    proposed: Sequence[Candidate],
    texts: Sequence[str],
    titles: Sequence[str | None],
    question: str,
    *,
    labels: frozenset[str] | None,
    entities_of: Callable[[str], Sequence[Entity]] | None,
    window_words: int,
    stems: Callable[[str], set[str]],
    near_words: int = 4,
    other_labels: frozenset[str] | None = None,
) -> list[CandidateFeatures]:
    """Features of the reader's `proposed` candidates (deduplicated, in their order) followed by every
    entity of a label in `labels` or in `other_labels` in `texts` not proposed already (passage order,
    then text order). `other`: 1 inside an entity of a label in `other_labels` but in none of `labels`."""
    question_stems = stems(question)
    focus = stems(" ".join(focus_words(question)))
    shortened = abbreviations(question)
    weights = stem_weights(question_stems, [stems(t) for t in texts])
    identity = asks_identity(question)
    floor = min((c.score for c in proposed), default=0.0) - 1.0
    all_entities = ([entities_of(t) for t in texts] if labels and entities_of is not None
                    else [[] for _ in texts])
    entities = [[e for e in ents if e[2] in labels] for ents in all_entities] if labels else all_entities
    asked = labels or frozenset()
    others = ([[e for e in ents if e[2] in other_labels and e[2] not in asked] for ents in all_entities]
              if other_labels else [[] for _ in texts])
    pool: dict[tuple[int, int, int], Candidate] = {}
    for c in proposed:
        pool.setdefault((c.passage, c.start, c.end), c)
    for i, ents in enumerate(entities):
        for a, b, _ in [*ents, *others[i]]:
            if (i, a, b) not in pool:
                overlapping = [c for c in proposed if c.passage == i and c.start < b and c.end > a]
                best = max(overlapping, key=lambda c: c.score, default=None)
                pool[(i, a, b)] = (Candidate(i, a, b, floor, 0.0) if best is None
                                   else Candidate(i, a, b, best.score, best.probability))
    out = []
    for (i, a, b), c in pool.items():
        text = texts[i]
        title = titles[i]
        title_stems = stems(title) if title and not identity else set()
        inside = any(ea <= a and b <= eb for ea, eb, _ in entities[i])
        inside_other = not inside and any(ea <= a and b <= eb for ea, eb, _ in others[i])
        values = (
            c.score,
            float(inside),
            # judged on the answer as shown, cut to its phrase: "Achilles (Akhilleus" is shown "Achilles"
            float(echoes(text[slice(*trim_to_phrase(text, a, b))], question_stems, title_stems, shortened)),
            window_share(text, a, b, weights, window_words, stems=stems),
            window_share(text, a, b, weights, near_words, stems=stems),
            float(inside_other),
            *sentence_evidence(text, a, b, weights, focus, stems=stems),
        )
        out.append(CandidateFeatures(c, values))
    return out


def answer_confidence(features: Sequence[CandidateFeatures], texts: Sequence[str],
                      weights: np.ndarray) -> dict[tuple[int, int, int], float]:
    """For each candidate (passage, start, end): the conditional logit's probability of its answer - the
    softmax of all candidates' linear scores (what `fit_weights` fits), summed over the candidates whose
    text normalises to the same answer (SQuAD rules: "Edmonton" in three passages is one answer)."""
    from kvqae.evaluate.answers import normalize_answer

    if not features:
        return {}
    scores = np.array([f.values for f in features], dtype=np.float64) @ weights
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    keys = [(f.candidate.passage, f.candidate.start, f.candidate.end) for f in features]
    answers = [normalize_answer(texts[p][a:b]) for p, a, b in keys]
    total: dict[str, float] = {}
    for answer, p in zip(answers, probs, strict=True):
        total[answer] = total.get(answer, 0.0) + float(p)
    return {key: total[answer] for key, answer in zip(keys, answers, strict=True)}


def rank(features: Sequence[CandidateFeatures], settings: EvidenceSettings) -> list[Candidate]:
    """Candidates by decreasing linear score (ties keep the given order)."""
    if not features:
        return []
    scores = np.array([f.values for f in features], dtype=np.float64) @ settings.weights()
    order = sorted(range(len(features)), key=lambda i: -scores[i])
    return [features[i].candidate for i in order]


def fit_weights(
    groups: Sequence[tuple[np.ndarray, np.ndarray]], *, l2: float = 0.001, max_iter: int = 200
) -> np.ndarray:
    """Weights of a conditional logit: each group is (features (n, d), correct (n,) bool), its candidates
    compete in one softmax, and the loss is the mean negative log of the correct candidates' total
    probability + `l2` * |w|^2. Groups without a correct candidate carry no signal and are skipped.
    Returns w (d,); zeros when no group has a correct candidate."""
    import torch

    usable = [(torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(g, dtype=torch.bool))
              for x, g in groups if len(g) and np.any(g)]
    dim = groups[0][0].shape[1] if groups else 0
    w = torch.zeros(dim, dtype=torch.float64, requires_grad=True)
    if not usable:
        return w.detach().numpy()
    optim = torch.optim.LBFGS([w], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        optim.zero_grad()
        nll = sum(torch.logsumexp(x @ w, 0) - torch.logsumexp((x @ w)[g], 0) for x, g in usable)
        loss = nll / len(usable) + l2 * (w**2).sum()
        loss.backward()
        return loss

    optim.step(closure)
    return w.detach().numpy()

"""Re-ranking the passages the reader read by the reader's own evidence.

The retrievers and the proximity re-ranking usually find the right article but often put one of its other
passages above the one holding the answer. The reader looks at every read passage closely: each candidate
answer gets a linear evidence score (`kvqae.read.evidence`: span score, asked-for entity, echo, question
words nearby), and a passage's evidence is the best score of its candidates. The read passages are then
ordered by

    z(retrieval score) + weight * z(passage evidence)

(z: standardised over the read passages; a passage without any candidate takes the lowest evidence - 1).
Passages beyond the read ones keep their order below them. When the reader is confident of its answer
(`ReaderSettings.answer_first`: its confidence at least 0.25) and the answer comes from the article that
order puts first, the answer's passage goes first: it is the evidence the answer is shown with (validation
P@1 +2.2 / +1.1 / +1.1 with the three readers; README, session 11). Another article's passage is not
promoted: on the synthetic world that cost 5 of 108 questions. Before that, when the first read passage's
article (the retrieval's best guess at the entity asked about) holds at least `first_article_share` (0.5) of
the read passages, its passages go ahead of the other articles' (`first_article_first`; session 13:
validation P@1 +1 question with each of three readers, test and the synthetic world unchanged). On the
natural-question dev set's validation half the evidence order lifted P@1 of the re-ranked fused run from
71.4 to 75.5 with each of three readers trained with different seeds (weight 0.5; README: "Text retrieval
on natural questions").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from kvqae.rerank.scores import standardise


def fill_missing(evidence: Sequence[float]) -> np.ndarray:
    """Evidence per passage with NaN / -inf (no candidate) replaced by the lowest finite value - 1 (all
    zeros when no passage has any)."""
    ev = np.asarray(evidence, dtype=np.float64)
    finite = np.isfinite(ev)
    if not finite.any():
        return np.zeros_like(ev)
    return np.where(finite, ev, ev[finite].min() - 1.0)


def reader_rank(
    ranked: Sequence[tuple[str, float]], evidence: Sequence[float], weight: float
) -> list[tuple[str, float]]:
    """`ranked` (passage id, score), best first, with its first `len(evidence)` passages (the read ones,
    `evidence[i]` for `ranked[i]`) re-ordered by z(score) + weight * z(evidence), as the module says. The
    passages after them follow in their order, their scores shifted to stay below. Returns (id, new score),
    best first; ties keep the given order."""
    n = len(evidence)
    if n > len(ranked):
        raise ValueError(f"{n} evidence values for {len(ranked)} ranked passages")
    if n == 0:
        return list(ranked)
    read = np.array([s for _, s in ranked[:n]], dtype=np.float64)
    scores = standardise(read) + weight * standardise(fill_missing(evidence))
    order = sorted(range(n), key=lambda i: -scores[i])
    out = [(ranked[i][0], float(scores[i])) for i in order]
    rest = ranked[n:]
    if rest:
        shift = float(scores.min()) - 1.0 - max(s for _, s in rest)
        out += [(pid, s + shift) for pid, s in rest]
    return out


def lead_with(order: Sequence[tuple[str, float]], passage_id: str) -> list[tuple[str, float]]:
    """`order` (passage id, score; best first) with `passage_id` moved to the front at the best score + 1
    (the answer's passage, `kvqae.read.predict.read_and_rank`); the others keep their order and scores."""
    if passage_id not in {pid for pid, _ in order}:
        raise ValueError(f"passage {passage_id!r} to put first is not in the order")
    if order[0][0] == passage_id:
        return list(order)
    return [(passage_id, order[0][1] + 1.0)] + [(pid, s) for pid, s in order if pid != passage_id]


def first_article_first(
    order: Sequence[tuple[str, float]], articles: Mapping[str, str | None], first: str | None,
    min_share: float | None,
) -> list[tuple[str, float]]:
    """`order` (passage id, score; best first; its first `len(articles)` passages the read ones, `articles`
    their article each) with the read passages of article `first` (the first read passage's: the
    retrieval's best guess at the entity asked about) ahead of the other read ones, each group keeping its
    order, when `first` holds at least `min_share` of the read passages; unchanged otherwise, or when
    `min_share` or `first` is None. Scores are re-issued to stay decreasing."""
    n = len(articles)
    if min_share is None or first is None or n == 0:
        return list(order)
    read = list(order[:n])
    if {pid for pid, _ in read} != set(articles):
        raise ValueError("the first passages of the order are not the read ones")
    ours = [x for x in read if articles[x[0]] == first]
    if len(ours) < min_share * n:
        return list(order)
    head = ours + [x for x in read if articles[x[0]] != first]
    scores = sorted((score for _, score in read), reverse=True)
    return [(pid, score) for (pid, _), score in zip(head, scores, strict=True)] + list(order[n:])

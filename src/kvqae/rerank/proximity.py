"""Re-ranking a passage run by term proximity: the question's words close together in one passage.

Fused retrieval usually finds the right entity but ranks another of its passages above the one that answers
("Where was this philosopher born?": every Aristotle passage matches the entity's description). The answering
passage holds the question's other words near each other. For each query, the top `top_n` passages of the
run are re-scored:

    score = z(run score) + weight * coverage [+ lead if the passage is its article's first]

`z` standardises the run's scores over those passages (mean 0, standard deviation 1; all 0 when they tie), and
`coverage` is the largest share, over every window of `words` consecutive words of the passage, of the
question's content-word stems found in the window, each stem weighted by its inverse document frequency over
the `top_n` passages (`kvqae.read.evidence.stem_weights`: a stem found in all of them, like the entity's own
name, counts little). `lead` (optional, `RerankSettings.lead`, 0 by default) favours an article's first
passage: on Wikipedia the lead states the dates, places and definitions people ask about ("When was Andre
Agassi born?" -> "(born April 29, 1970)" in the lead, not "was born in Las Vegas" further on); on the dev set
it gained on validation and lost on test, so it is off. `agreement` (optional, `RerankSettings.agreement`,
0 by default) adds `agreement` x the share of the `top_n` passages that come from the passage's own article:
the words of "What is the highest mountain in this northernmost U.S. state?" fit an Alabama passage best
("The highest point is Mount Cheaha"), while 7 of the 8 fused passages are Alaska's. Passages below `top_n`
keep their order under the re-scored ones.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.read.evidence import stem_weights
from kvqae.rerank.scores import standardise
from kvqae.rerank.settings import DEFAULT_TOP_N, DEFAULT_WEIGHT, DEFAULT_WORDS


def window_coverage(stems: Sequence[str | None], weights: Mapping[str, float], words: int) -> float:
    """Largest weighted share of the `weights` stems found together in `words` consecutive positions of
    `stems` (one stem per word, None for a stopword); 0 when the weights sum to 0 or `stems` is empty."""
    total = sum(weights.values())
    if total <= 0 or not stems:
        return 0.0
    best = 0.0
    width = max(1, min(words, len(stems)))
    for start in range(len(stems) - width + 1):
        found = {s for s in stems[start : start + width] if s in weights}
        best = max(best, sum(weights[s] for s in found))
    return best / total


def proximity_scores(
    question: str, texts: Sequence[str], *, words: int, stems: Callable[[str], list[str | None]]
) -> np.ndarray:
    """`window_coverage` of each text for the question's content stems, IDF-weighted over `texts`.
    `stems(text)`: one stem per word of the text (None for stopwords)."""
    sequences = [stems(t) for t in texts]
    question_stems = {s for s in stems(question) if s is not None}
    weights = stem_weights(question_stems, [{s for s in seq if s is not None} for seq in sequences])
    return np.array([window_coverage(seq, weights, words) for seq in sequences], dtype=np.float64)


def rerank_query(
    ranked: Sequence[tuple[str, float]], question: str, text_of: Callable[[str], str], *, weight: float,
    words: int, top_n: int, stems: Callable[[str], list[str | None]], lead: float = 0.0,
    is_lead: Callable[[str], bool] | None = None, agreement: float = 0.0,
    article_of: Callable[[str], str] | None = None,
) -> dict[str, float]:
    """New scores of one query's ranked `(passage_id, score)` list (see the module doc); `lead` is added to
    the passages `is_lead` says are their article's first, `agreement` x the share of the re-scored
    passages of the same article (`article_of(passage_id)`) to every passage."""
    head, tail = list(ranked[:top_n]), list(ranked[top_n:])
    if not head:
        return {}
    z = standardise(np.array([s for _, s in head], dtype=np.float64))
    if weight:
        texts = [text_of(pid) for pid, _ in head]
        z = z + weight * proximity_scores(question, texts, words=words, stems=stems)
    if lead and is_lead is not None:
        z = z + lead * np.array([float(is_lead(pid)) for pid, _ in head])
    if agreement and article_of is not None:
        z = z + agreement * article_shares([article_of(pid) for pid, _ in head])
    out = {pid: float(s) for (pid, _), s in zip(head, z, strict=True)}
    floor = float(z.min()) - 1.0
    for i, (pid, _) in enumerate(tail):
        out[pid] = floor - i
    return out


def article_shares(articles: Sequence[str]) -> np.ndarray:
    """For each position, the share of `articles` equal to its article: ["A", "B", "A", "A"] ->
    [0.75, 0.25, 0.75, 0.75]."""
    counts = Counter(articles)
    return np.array([counts[a] / len(articles) for a in articles], dtype=np.float64)


def rerank_run(
    run: Run, questions: Mapping[str, str], text_of: Callable[[str], str], *,
    weight: float = DEFAULT_WEIGHT, words: int = DEFAULT_WORDS, top_n: int = DEFAULT_TOP_N,
    stems: Callable[[str], list[str | None]] | None = None, lead: float = 0.0,
    is_lead: Callable[[str], bool] | None = None, agreement: float = 0.0,
    article_of: Callable[[str], str] | None = None,
) -> Run:
    """`run` re-ranked by term proximity, query by query; `questions`: query id -> question text;
    `text_of(passage_id)`: the passage's text; `lead` added to the passages `is_lead(passage_id)` says are
    their article's first; `agreement` x the share of the re-scored passages from the same article
    (`article_of(passage_id)`). A query without a question is an InputError."""
    if not math.isfinite(weight) or weight < 0:
        raise InputError(f"the proximity weight must be a finite number >= 0, got {weight}", field="weight")
    if not math.isfinite(lead) or lead < 0:
        raise InputError(f"the lead bonus must be a finite number >= 0, got {lead}", field="lead")
    if not math.isfinite(agreement) or agreement < 0:
        raise InputError(f"the agreement bonus must be a finite number >= 0, got {agreement}",
                         field="agreement")
    if run.level != "passage":
        raise InputError(f"proximity re-ranking needs a passage-level run, got level {run.level!r}",
                         field="level")
    if stems is None:
        from kvqae.read.words import word_stems

        stems = word_stems
    scores = {}
    for qid in run.query_ids():
        if qid not in questions:
            raise InputError("query not in the questions file (mismatched splits?)", record=f"query {qid}")
        scores[qid] = rerank_query(run.ranked(qid), questions[qid], text_of, weight=weight, words=words,
                                   top_n=top_n, stems=stems, lead=lead, is_lead=is_lead,
                                   agreement=agreement, article_of=article_of)
    meta = {**run.meta, "rerank": {"method": "proximity", "weight": weight, "words": words, "top_n": top_n,
                                   "lead": lead if is_lead is not None else 0.0,
                                   "agreement": agreement if article_of is not None else 0.0}}
    return Run(scores=scores, name=f"{run.name}+proximity", level="passage", meta=meta)

"""Hand-set reader logits for tests: every context token at -10 but the ones a test makes the span model's
best spans, so that what the rules after the span model do can be checked on a real (tiny) reader."""

from __future__ import annotations

import numpy as np


def token_at(feats, char_start: int) -> int:
    """The context token of row 0 of `feats` that starts at character `char_start` of its passage."""
    ctx = np.nonzero(feats.context_mask[0])[0]
    return next(int(t) for t in ctx if feats.offsets[0, t, 0] == char_start)


def peaked_logits(feats, peaks: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """(start, end) logits shaped like `feats.context_mask`, -10 everywhere but `peaks` (token of row 0 ->
    logit, as start and as end: one-token spans)."""
    start = np.full(feats.context_mask.shape, -10.0)
    end = np.full(feats.context_mask.shape, -10.0)
    for token, value in peaks.items():
        start[0, token], end[0, token] = value, value
    return start, end


def best_with_peak(reader, question: str, text: str, title: str, peak: str, **settings):
    """`reader`'s best prediction for `question` over `text` (one passage of the article `title`) when the
    span model's best span is the word of `text` starting where `peak` does (logit 8, -10 elsewhere), ranked
    by span score and asked-for entity alone, with the reader settings `settings` (a rule off, ...)."""
    from kvqae.read.evidence import EvidenceSettings
    from kvqae.read.model import PassageInput, ReaderSettings

    feats = reader.featurize(question, [text])
    start, end = peaked_logits(feats, {token_at(feats, text.index(peak)): 8.0})
    evidence = EvidenceSettings(span=1.0, entity=1.0, echo=0, window=0, near=0, sentence=0, focus=0)
    reader.settings = ReaderSettings(max_answer_tokens=4, evidence=evidence, **settings)
    passages = [PassageInput(f"{title.replace(' ', '_')}#0", text, 0.0, title)]
    return reader.decode(feats, start, end, passages, kind="name", question=question)[0]

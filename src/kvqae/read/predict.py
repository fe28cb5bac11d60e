"""Batch reading: answer every question from the top-K passages of a run and write predictions (JSON lines).

Prediction rows: `{"id", "answer", "passage_id", "score", "start", "end"}`; `start`/`end` are char offsets
of the answer in the passage's text in the KB (`kb.passage_text(passage_id)[start:end] == answer`). A
question with no retrieved passage gets an empty answer with `passage_id` null.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kvqae.errors import InputError


def read_questions(
    model: str | Path | Any,
    kb: Any,
    questions: list[Any],
    run: Any,
    out: str | Path,
    *,
    top_k: int = 24,
    retrieval_weight: float | None = None,
    max_answer_tokens: int | None = None,
    batch_rows: int = 32,
    device: str = "cpu",
    progress: bool = True,
) -> int:
    """Read each question's top-`top_k` passages of `run` with the reader `model` (path/name or a loaded
    `Reader`) and write predictions to `out` atomically. Returns the number of predictions written."""
    import json

    from kvqae.io import atomic_path
    from kvqae.progress import track
    from kvqae.read.model import PassageInput, Reader

    reader = model if isinstance(model, Reader) else Reader.load(model, device=device)
    updates = {}
    if retrieval_weight is not None:
        updates["retrieval_weight"] = retrieval_weight
    if max_answer_tokens is not None:
        updates["max_answer_tokens"] = max_answer_tokens
    if updates:
        reader.settings = reader.settings.model_copy(update=updates)
    count = 0
    with atomic_path(out) as tmp, tmp.open("w", encoding="utf-8") as f:
        for q in track(questions, "reading", enabled=progress):
            passages = []
            for pid, score in run.ranked(q.id, top_k):
                try:
                    text = kb.passage_text(pid)
                except (KeyError, InputError):
                    raise InputError(
                        "passage id not in the KB",
                        path=getattr(run, "name", None),
                        record=f"query {q.id}",
                        field=pid,
                    ) from None
                passages.append(PassageInput(pid, text, score))
            pred = reader.predict(q.question, passages, batch_rows=batch_rows)[0]
            row = pred.to_json(q.id)
            if not math.isfinite(row["score"]):
                row["score"] = None
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count

"""Runs: for each query, the retrieved ids with their raw scores.

Two on-disk formats, chosen by extension:
- TREC (`.trec`, `.txt`, `.run`): `qid Q0 docid rank score name`, one line per retrieved id.
- JSON (`.json`): `{"name": str, "level": "entity"|"passage", "run": {qid: {docid: score}}}`.
Raw scores are kept so fusion can be fit later without searching again.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kvqae.errors import InputError
from kvqae.io import atomic_path

TREC_SUFFIXES = {".trec", ".txt", ".run"}


@dataclass
class Run:
    """Retrieval results: `scores[qid][docid] = raw score` (higher is better)."""

    scores: dict[str, dict[str, float]]
    name: str = "run"
    level: str = "passage"  # "entity" or "passage": what the doc ids refer to
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.scores)

    def query_ids(self) -> list[str]:
        return list(self.scores)

    def ranked(self, qid: str, k: int | None = None) -> list[tuple[str, float]]:
        """(docid, score) pairs of one query, best first; ties broken by docid for determinism."""
        items = sorted(self.scores.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        return items if k is None else items[:k]

    def top_k(self, k: int) -> Run:
        return Run({q: dict(self.ranked(q, k)) for q in self.scores}, self.name, self.level, dict(self.meta))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        with atomic_path(path) as tmp:
            if path.suffix in TREC_SUFFIXES:
                with tmp.open("w", encoding="utf-8") as f:
                    for qid in self.scores:
                        for rank, (docid, score) in enumerate(self.ranked(qid), start=1):
                            f.write(f"{qid} Q0 {docid} {rank} {score!r} {self.name}\n")
            elif path.suffix == ".json":
                payload = {"name": self.name, "level": self.level, "meta": self.meta, "run": self.scores}
                tmp.write_text(json.dumps(payload), encoding="utf-8")
            else:
                raise InputError("unknown run format: use .json or .trec", path=path)
        return path

    @classmethod
    def load(cls, path: str | Path, *, level: str | None = None) -> Run:
        path = Path(path)
        if not path.exists():
            raise InputError("run file not found", path=path)
        if path.suffix == ".json":
            return _load_json(path, level)
        if path.suffix in TREC_SUFFIXES:
            return _load_trec(path, level)
        raise InputError("unknown run format: use .json or .trec", path=path)

    @classmethod
    def from_mapping(
        cls, scores: Mapping[str, Mapping[str, float]], name: str = "run", level: str = "passage"
    ) -> Run:
        return cls(
            {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in scores.items()}, name, level
        )


def _load_json(path: Path, level: str | None) -> Run:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON ({e.msg})", path=path) from None
    if not isinstance(payload, dict) or not isinstance(payload.get("run"), dict):
        raise InputError("expected an object with a 'run' mapping", path=path, field="run")
    scores: dict[str, dict[str, float]] = {}
    for qid, docs in payload["run"].items():
        if not isinstance(docs, dict):
            raise InputError(
                "expected a mapping docid -> score", path=path, record=f"query {qid}", field="run"
            )
        row = {}
        for docid, score in docs.items():
            if not isinstance(score, (int, float)) or isinstance(score, bool) or math.isnan(score):
                raise InputError(f"score of {docid!r} is not a number", path=path, record=f"query {qid}")
            row[str(docid)] = float(score)
        scores[str(qid)] = row
    return Run(
        scores,
        str(payload.get("name", path.stem)),
        level or payload.get("level", "passage"),
        dict(payload.get("meta", {})),
    )


def _load_trec(path: Path, level: str | None) -> Run:
    scores: dict[str, dict[str, float]] = {}
    name = path.stem
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 6:
                raise InputError("expected 6 columns: qid Q0 docid rank score name", path=path, record=lineno)
            qid, _, docid, _, score, name = parts
            try:
                value = float(score)
            except ValueError:
                raise InputError(
                    f"score {score!r} is not a number", path=path, record=lineno, field="score"
                ) from None
            row = scores.setdefault(qid, {})
            if docid in row:
                raise InputError(
                    f"document {docid!r} appears twice for query {qid!r}",
                    path=path,
                    record=lineno,
                    field="docid",
                )
            row[docid] = value
    return Run(scores, name, level or "passage")

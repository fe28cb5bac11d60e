"""Extra reader training questions from a generated world: every fact the evaluation splits do not ask.

The world's own training split asks a few facts per entity; a reader trained only on those sees ~100
questions. Each entity states six facts in its article (`entities.jsonl` keeps their values), and the
validation and test questions ask only some of them. Every other fact, in every question wording of its
schema, is a fair training question: its answer is never an evaluation answer of that entity, so the reader
learns how the world's questions map to its sentences without seeing an evaluation fact.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from kvqae.errors import InputError
from kvqae.world.articles import QUESTION_TYPES, SCHEMAS
from kvqae.world.entities import Entity

_ENTITY_FIELDS = {f.name for f in dataclasses.fields(Entity)}


def unasked_fact_questions(
    world_dir: str | Path, exclude_splits: tuple[str, ...] = ("validation", "test")
) -> list[dict[str, Any]]:
    """Question rows ({"id", "question", "answers", "entity", "question_type"}) for each fact of each entity
    that no question of `exclude_splits` asks (a fact is asked when its value is one of that question's
    answers), one per question wording."""
    world = Path(world_dir)
    asked: dict[str, set[str]] = {}
    for split in exclude_splits:
        for row in _rows(world / f"questions_{split}.jsonl"):
            asked.setdefault(str(row["entity"]), set()).update(map(str, row.get("answers", [])))
    out: list[dict[str, Any]] = []
    for lineno, row in enumerate(_rows(world / "entities.jsonl"), 1):
        facts = row.get("facts")
        if not isinstance(facts, dict):
            raise InputError("missing facts", path=world / "entities.jsonl", record=lineno, field="facts")
        entity = Entity(**{k: v for k, v in row.items() if k in _ENTITY_FIELDS})
        taken = asked.get(entity.id, set())
        for kind, schema in SCHEMAS[entity.type].items():
            value = str(facts[kind])
            if value in taken:
                continue
            answers = [value] + ([f"{value} {schema.unit}"] if kind == "number" and schema.unit else [])
            for t, wording in enumerate(schema.questions):
                out.append(
                    {
                        "id": f"{entity.id}-fact-{kind}-{t}",
                        "question": wording.format(t=entity.type_word),
                        "answers": answers,
                        "entity": entity.id,
                        "question_type": QUESTION_TYPES[kind],
                    }
                )
    return out


def _rows(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        raise InputError("world file not found", path=path)
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

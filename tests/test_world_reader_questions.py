"""Extra reader questions from a world: every fact no evaluation question asks, never an evaluation one."""

from __future__ import annotations

import json

from kvqae.world.articles import SCHEMAS
from kvqae.world.reader_questions import unasked_fact_questions


def _rows(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_unasked_facts_exclude_every_evaluation_answer(tiny_world_dir):
    rows = unasked_fact_questions(tiny_world_dir)
    asked = {}
    for split in ("validation", "test"):
        for q in _rows(tiny_world_dir / f"questions_{split}.jsonl"):
            asked.setdefault(q["entity"], set()).update(q["answers"])
    entities = {e["id"]: e for e in _rows(tiny_world_dir / "entities.jsonl")}
    assert rows
    for r in rows:
        assert not set(r["answers"]) & asked.get(r["entity"], set())
        assert r["answers"][0] in entities[r["entity"]]["facts"].values()
    # every unasked fact, in every wording of its schema
    expected = 0
    for eid, e in entities.items():
        for kind, schema in SCHEMAS[e["type"]].items():
            if e["facts"][kind] not in asked.get(eid, set()):
                expected += len(schema.questions)
    assert len(rows) == expected
    assert len({r["id"] for r in rows}) == len(rows)


def test_answers_occur_in_the_entity_article(tiny_world_dir):
    articles = {a["id"]: a["text"] for a in _rows(tiny_world_dir / "articles.jsonl")}
    for r in unasked_fact_questions(tiny_world_dir):
        assert r["answers"][0] in articles[r["entity"]]

"""PassageTable (entity <-> passages without per-passage Python objects) and the KB subset used to judge runs:
both must answer exactly as the full `KnowledgeBase` does."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kvqae.data.kb import KnowledgeBase, _schemas, build_kb
from kvqae.data.kb_subset import kb_for_runs, load_kb_subset
from kvqae.data.questions import Question
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.relevance import qrels_for_kb
from kvqae.search.passages import (
    PassageTable,
    entity_context_run,
    entity_run_to_passages,
    passage_run_to_entities,
)


def write_kb(folder: Path, entities: list[tuple], passages: list[tuple], *, row_group: int = 3) -> Path:
    """A KB directory in build_kb's layout from (entity_id, title, wikidata_id) and (passage_id, entity_id,
    position, text) rows, in the given row order; small row groups so readers cross batch boundaries."""
    entity_schema, passage_schema = _schemas()
    folder.mkdir(parents=True)
    pq.write_table(pa.table({
        "entity_id": [e[0] for e in entities], "title": [e[1] for e in entities],
        "text": [f"About {e[1]}." for e in entities], "image": [None] * len(entities),
        "types": [[] for _ in entities], "wikidata_id": [e[2] for e in entities],
    }, schema=entity_schema), folder / "entities.parquet", row_group_size=row_group)
    titles = {e[0]: e[1] for e in entities}
    pq.write_table(pa.table({
        "passage_id": [p[0] for p in passages], "entity_id": [p[1] for p in passages],
        "position": [p[2] for p in passages], "title": [titles.get(p[1], "?") for p in passages],
        "text": [p[3] for p in passages],
    }, schema=passage_schema), folder / "passages.parquet", row_group_size=row_group)
    (folder / "meta.json").write_text(json.dumps({"kind": "kvqae-kb", "entities": len(entities),
                                                  "passages": len(passages)}))
    return folder


@pytest.fixture(scope="module")
def built_kb(tmp_path_factory) -> KnowledgeBase:
    """A KB from build_kb: X has 12 passages ("X#10" < "X#2" as strings), Y 3, Z 1; ids contain "#"."""
    folder = tmp_path_factory.mktemp("kb")
    words = {"X": 12, "Y": 3, "Z": 1, "A#b": 2}
    rows = [{"id": e, "title": f"Title {e}", "text": " ".join(f"{e.lower()}{i}" for i in range(2 * n)),
             "wikidata_id": f"Q{i}"} for i, (e, n) in enumerate(words.items())]
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return build_kb(folder / "a.jsonl", folder / "kb", words=2, progress=False)


@pytest.fixture(scope="module")
def zero_kb(tmp_path_factory) -> Path:
    """Standard ids, an entity without passages (W) between two with passages, passage rows shuffled."""
    folder = tmp_path_factory.mktemp("zero") / "kb"
    entities = [("A", "Alpha", "Q1"), ("W", "Empty", "Q2"), ("B", "Beta", "Q3"), ("V", "Void", None)]
    passages = [("B#1", "B", 1, "beta one gold"), ("A#0", "A", 0, "alpha zero"), ("B#0", "B", 0, "beta zero"),
                ("A#2", "A", 2, "alpha two gold"), ("A#1", "A", 1, "alpha one")]
    return write_kb(folder, entities, passages, row_group=2)


def test_load_maps_runs_exactly_as_the_knowledge_base(built_kb):
    kb = built_kb
    table = PassageTable.load(kb.path)
    assert table.ids is None and table.n_passages == len(kb.passages) == 18  # ids derived, none stored
    assert table.passages_of("X") == kb.passages_of("X") == [f"X#{i}" for i in range(12)]
    assert table.passages_of("A#b") == ["A#b#0", "A#b#1"]
    run = Run({"q1": {"Y": 0.5, "X": 0.9, "Z": 0.2}, "q2": {"Z": 0.3, "A#b": 0.3, "Y": 0.3}, "q3": {},
               "q4": {"X": -1.0, "Y": 2.5}}, "r", "entity")
    for k in (None, 1, 14):
        expected = entity_run_to_passages(run, kb, k)  # the old path: KnowledgeBase.passages_of
        got = entity_run_to_passages(run, table, k)
        assert got.scores == expected.scores
        assert [list(d) for d in got.scores.values()] == [list(d) for d in expected.scores.values()]
    assert list(got.scores["q1"])[:3] == ["X#0", "X#1", "X#2"]
    assert PassageTable.from_kb(kb).ids is None
    for bad in ("Q", "X#0"):
        with pytest.raises(InputError, match=f"entity '{bad}' is not in the knowledge base") as e:
            entity_run_to_passages(Run({"q": {"X": 2.0}, "q9": {bad: 1.0}}, "r", "entity"), table)
        assert e.value.record == "query q9"


def test_entities_without_passages_and_shuffled_rows(zero_kb):
    table = PassageTable.load(zero_kb)
    assert table.ids is None
    assert table.count.tolist() == [3, 0, 2, 0] and table.start.tolist() == [0, 3, 3, 5]
    assert table.passages_of("W") == [] and table.passages_of("A") == ["A#0", "A#1", "A#2"]
    run = Run({"q": {"W": 0.9, "B": 0.8, "V": 0.7, "A": 0.1}, "empty": {"W": 1.0}}, "r", "entity")
    got = entity_run_to_passages(run, table)
    assert list(got.scores["q"]) == ["B#0", "B#1", "A#0", "A#1", "A#2"]
    assert got.scores["q"]["B#0"] == 0.8 and got.scores["q"]["A#0"] == 0.1 and got.scores["empty"] == {}
    assert got.scores == entity_run_to_passages(run, PassageTable.from_kb(KnowledgeBase.load(zero_kb))).scores


def test_passage_to_entity_reverse_mapping(built_kb, zero_kb):
    table = PassageTable.load(built_kb.path)
    pids = ["X#11", "A#b#1", "Y#2", "X#12", "X#01", "X", "Nope#0", "A#b#", "Y#-1", "X#٣"]
    rows = table.entity_rows_of(pids)
    assert table.entity_ids_at(rows[:3]) == ["X", "A#b", "Y"]
    assert rows[3:].tolist() == [-1] * 7  # past the last passage, non-canonical numbers, no "#", unknown
    assert table.entity_of("Z#0") == built_kb.entity_of("Z#0") == "Z"
    with pytest.raises(KeyError):
        table.entity_of("Z#1")
    run = Run({"q1": {"X#3": 0.2, "Y#0": 0.9, "X#0": 0.5}, "q2": {}, "q3": {"A#b#1": 1.0}}, "p")
    by_table = passage_run_to_entities(run, table)
    by_kb = passage_run_to_entities(run, built_kb.entity_of)
    assert by_table.scores == by_kb.scores == {"q1": {"X": 0.5, "Y": 0.9}, "q2": {}, "q3": {"A#b": 1.0}}
    assert list(by_table.scores["q1"]) == ["X", "Y"]  # order of first passage, as before
    ctx = entity_context_run(run, None, table, k=4)
    assert ctx.scores == entity_context_run(run, built_kb.entity_of, table, k=4).scores
    assert list(ctx.scores["q1"]) == ["Y#0", "Y#1", "Y#2", "X#0"]
    with pytest.raises(InputError, match="passage 'X#99' is not in the knowledge base") as e:
        passage_run_to_entities(Run({"q1": {"X#0": 1.0}, "q2": {"X#99": 1.0}}, "p"), table)
    assert e.value.record == "query q2"
    zero = PassageTable.load(zero_kb)
    assert zero.entity_ids_at(zero.entity_rows_of(["B#0", "A#2"])) == ["B", "A"]
    assert zero.entity_rows_of(["W#0"]).tolist() == [-1]


def test_non_standard_passage_ids_are_stored_and_map_back(tmp_path):
    entities = [("E1", "One", None), ("E0", "Zero", None), ("E2", "Two", None)]
    passages = [("p-9", "E1", 5, "x"), ("E2#0", "E2", 0, "y"), ("p-3", "E1", 2, "z"), ("E2#7", "E2", 1, "w")]
    folder = write_kb(tmp_path / "kb", entities, passages, row_group=3)
    table = PassageTable.load(folder)
    assert table.ids is not None and table.ids.to_pylist() == ["p-3", "p-9", "E2#0", "E2#7"]  # flat order
    assert table.passages_of("E1") == ["p-3", "p-9"] and table.passages_of("E0") == []
    assert PassageTable.from_kb(KnowledgeBase.load(folder)).ids.to_pylist() == table.ids.to_pylist()
    run = Run({"q": {"E2": 0.5, "E1": 0.9, "E0": 0.95}}, "r", "entity")
    assert list(entity_run_to_passages(run, table).scores["q"]) == ["p-3", "p-9", "E2#0", "E2#7"]
    rows = table.entity_rows_of(["E2#7", "p-9", "E1#0", "E2#1"])
    assert rows.tolist()[2:] == [-1, -1] and table.entity_ids_at(rows[:2]) == ["E2", "E1"]
    # ids "{entity}#{position}" whose positions have a gap are not derivable either
    gap = write_kb(tmp_path / "gap", [("A", "A", None)], [("A#0", "A", 0, "a"), ("A#2", "A", 2, "b")])
    assert PassageTable.load(gap).ids.to_pylist() == ["A#0", "A#2"]


def test_from_mapping_keeps_shared_passages_and_drops_derivable_ids():
    shared = PassageTable.from_mapping({"E1": ["P1", "S"], "E2": ["S", "P2"], "E3": []})
    assert shared.ids.to_pylist() == ["P1", "S", "S", "P2"]
    assert shared.entity_ids_at(shared.entity_rows_of(["S", "P2"])) == ["E1", "E2"]  # shared: first entity
    assert PassageTable.from_mapping({"A": ["A#0", "A#1"], "B": []}).ids is None


def test_bad_kb_tables_are_input_errors(tmp_path):
    orphan = write_kb(tmp_path / "orphan", [("A", "A", None)], [("A#0", "A", 0, "a"), ("B#0", "B", 0, "b")])
    with pytest.raises(InputError, match="entity 'B' is not in entities.parquet") as e:
        PassageTable.load(orphan)
    assert e.value.record == "row 2" and e.value.field == "entity_id"  # as KnowledgeBase.load names it
    dup = write_kb(tmp_path / "dup", [("A", "A", None), ("A", "A2", None)], [("A#0", "A", 0, "a")])
    with pytest.raises(InputError, match="entity id 'A' appears twice"):
        PassageTable.load(dup)
    # two rows, as meta.json says (a count that disagrees is refused first)
    pq.write_table(pa.table({"passage_id": ["A#0", "B#0"], "entity_id": ["A", "B"]}),
                   orphan / "passages.parquet")
    with pytest.raises(InputError, match="missing column") as e:
        PassageTable.load(orphan)
    assert e.value.field == "position" and str(e.value.path).endswith("passages.parquet")
    with pytest.raises(InputError, match="not a knowledge base directory"):
        PassageTable.load(tmp_path)


def test_kb_subset_answers_as_the_full_kb(tmp_path):
    entities = [("Paris", "Paris", "Q90"), ("Paris_(band)", "Paris (band)", "Q7"), ("Lyon", "Lyon", "Q456"),
                ("Q90", "Q90 alias", None), ("Other", "Paris", "Q9"), ("Nice", "Nice", "Q33")]
    passages = [("Paris#0", "Paris", 0, "Paris is the capital, population 2 million."),
                ("Paris#1", "Paris", 1, "The Seine flows here."), ("Lyon#0", "Lyon", 0, "Lyon on the Rhone."),
                ("Paris_(band)#0", "Paris_(band)", 0, "A band from the Seine valley."),
                ("Nice#0", "Nice", 0, "Nice, by the sea.")]
    folder = write_kb(tmp_path / "kb", entities, passages, row_group=2)
    full = KnowledgeBase.load(folder)
    refs = ["Q90", "Paris", "Paris_(band)", "Paris (band)", "Lyon", "Q456", "Nowhere", "Q7"]
    sub = load_kb_subset(folder, passage_ids=["Paris#1", "Lyon#0", "Gone#3"],
                         entity_keys=[k for r in refs for k in (r, r.replace("_", " "))])
    assert sub.passages["passage_id"].tolist() == ["Paris#1", "Lyon#0"]
    assert sub.entities["entity_id"].tolist() == ["Paris", "Paris_(band)", "Lyon", "Q90", "Other"]  # not Nice
    assert [sub.resolve(r) for r in refs] == [full.resolve(r) for r in refs]
    assert full.resolve("Q90") == "Q90" and full.resolve("Paris (band)") == "Paris_(band)"  # ids win
    assert sub.passage_text("Lyon#0") == full.passage_text("Lyon#0") and sub.entity_of("Paris#1") == "Paris"
    assert sub.text_of("Other") == full.text_of("Other") == "About Paris."
    for lookup, key in ((sub.passage_text, "Paris#0"), (sub.entity_of, "Nice#0"), (sub.text_of, "Nice")):
        with pytest.raises(KeyError):
            lookup(key)  # not asked for
    questions = [Question("a", "?", answers=["Seine"], entity="Q90"),
                 Question("b", "?", answers=["Rhone"], entity="Paris_(band)"),
                 Question("c", "?", answers=["capital"])]
    runs = [Run({"a": {"Paris#1": 1.0, "Paris_(band)#0": 0.5}, "b": {"Lyon#0": 2.0}, "c": {"Paris#0": 1.0}},
                "p"),
            Run({"a": {"Lyon": 1.0}, "b": {"Paris": 1.0}, "c": {"Other": 0.3, "Lyon": 0.1}}, "e", "entity")]
    loose = qrels_for_kb(runs, questions, kb_for_runs(folder, runs, questions))
    strict = qrels_for_kb(runs, questions, kb_for_runs(folder, runs, questions), passage_requires_entity=True)
    assert loose == qrels_for_kb(runs, questions, full)
    assert strict == qrels_for_kb(runs, questions, full, passage_requires_entity=True)
    assert loose == {"a": {"Paris#1": 1, "Paris_(band)#0": 1, "Q90": 1},
                     "b": {"Lyon#0": 1, "Paris_(band)": 1}, "c": {"Paris#0": 1}}
    assert strict == {"a": {"Q90": 1}, "b": {"Paris_(band)": 1}, "c": {"Paris#0": 1}}
    only_passages = kb_for_runs(folder, runs[:1], [])
    assert len(only_passages.passages) == 4 and len(only_passages.entities) == 0

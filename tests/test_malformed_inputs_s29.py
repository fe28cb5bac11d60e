"""Session 29: hand-edited KB tables read by the streaming readers (`evaluate retrieval --kb`, `fuse fit --kb`
and `search --to-passages` never saw `KnowledgeBase.load`'s checks: a null text was an AttributeError
traceback, a passage of an unknown entity or a repeated passage id was read without a word), shell variables
and `~` in YAML paths, a JSON-lines file given where one JSON document is expected, and a types file that
types nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cli_run import kvqae
from kvqae.data.kb import KnowledgeBase, build_kb
from kvqae.data.kb_subset import load_kb_subset
from kvqae.errors import InputError
from kvqae.search.passage_table import PassageTable
from test_malformed_inputs_s27_run import _pipeline  # the BM25 PIPELINE.yaml over the tiny world


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture()
def kb_dir(tmp_path) -> Path:
    """A built KB of 3 one-passage articles (A, B, C)."""
    rows = [{"id": e, "title": f"Title {e}", "text": f"{e} is a place with a river."} for e in "ABC"]
    source = _write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return build_kb(source, tmp_path / "kb", progress=False).path


def _edit_passages(kb: Path, column: str, values: list) -> None:
    """passages.parquet with `column` replaced by `values` (its type kept), as a hand edit would leave it."""
    table = pq.read_table(kb / "passages.parquet")
    i = table.schema.get_field_index(column)
    table = table.set_column(i, table.schema.field(i), pa.array(values, type=table.schema.field(i).type))
    pq.write_table(table, kb / "passages.parquet")


def _run(path: Path, docs: list[str]) -> Path:
    return _write(path, json.dumps({"name": "r", "level": "passage",
                                    "run": {"q1": {d: 1.0 - i / 10 for i, d in enumerate(docs)}}}))


@pytest.mark.parametrize(("column", "values", "message"), [
    ("text", ["A. x", None, "C. z"], 'row 2: field "text": missing value (null)'),
    ("entity_id", ["A", "Z", "C"], "row 2: field \"entity_id\": entity 'Z' is not in entities.parquet"),
    ("passage_id", ["A#0", "A#0", "C#0"], "row 2: field \"passage_id\": duplicate id 'A#0'"),
])
def test_the_kb_subset_checks_the_rows_it_reads_as_the_full_kb_does(kb_dir, column, values, message):
    # evaluate retrieval --kb judged a null text with an AttributeError traceback ('NoneType' has no
    # 'lower'), and a passage of an unknown entity as silently irrelevant
    _edit_passages(kb_dir, column, values)
    expected = f"{kb_dir / 'passages.parquet'}: {message}"
    for load in (KnowledgeBase.load, lambda kb: load_kb_subset(kb, passage_ids=["A#0", "B#0", "C#0"])):
        with pytest.raises(InputError) as err:
            load(kb_dir)
        assert str(err.value) == expected


def test_evaluate_retrieval_on_a_kb_with_a_null_text_is_one_error(kb_dir, tmp_path, monkeypatch, capsys):
    _edit_passages(kb_dir, "text", ["A. x", None, "C. z"])
    _write(tmp_path / "q.jsonl", '{"id": "q1", "question": "Where?", "answers": ["river"], "entity": "B"}\n')
    run = _run(tmp_path / "r.json", ["B#0"])
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", run, "--questions",
                      tmp_path / "q.jsonl", "--kb", kb_dir, "-o", tmp_path / "rep")
    assert code == 2 and "Traceback" not in err and not (tmp_path / "rep").exists()
    assert err.strip() == f'error: {kb_dir / "passages.parquet"}: row 2: field "text": missing value (null)'


def test_the_subset_reads_only_the_rows_it_needs(kb_dir):
    # a null text in a passage no run names is not read (a ViQuAE-sized KB is never read whole)
    _edit_passages(kb_dir, "text", ["A. x", None, "C. z"])
    assert load_kb_subset(kb_dir, passage_ids=["A#0"]).passage_text("A#0") == "A. x"


@pytest.mark.parametrize(("column", "values", "message"), [
    ("entity_id", [None, "B", "C"], 'row 1: field "entity_id": missing value (null)'),
    ("entity_id", ["A", "Z", "C"], "row 2: field \"entity_id\": entity 'Z' is not in entities.parquet"),
    ("passage_id", ["A#0", "A#0", "C#0"], "row 2: field \"passage_id\": duplicate id 'A#0'"),
])
def test_the_passage_table_names_rows_as_the_kb_does(kb_dir, column, values, message):
    # it said "row 0" for the first row (KnowledgeBase.load: "row 1"), named the passage and not the entity
    # missing, and took a repeated passage id: `search --to-passages` then mapped both entities to one passage
    _edit_passages(kb_dir, column, values)
    for load in (KnowledgeBase.load, PassageTable.load):
        with pytest.raises(InputError) as err:
            load(kb_dir)
        assert str(err.value) == f"{kb_dir / 'passages.parquet'}: {message}"


# ----------------------------------------------------------------------------------- YAML paths


@pytest.mark.parametrize(("extra", "field", "variable"), [
    ({"output": "$HOME/runs/x"}, "output", "$HOME"),
    ({"output": "${SCRATCH}/x"}, "output", "${SCRATCH}"),
    ({"kb": {"source": "$DATA/articles.jsonl"}}, "kb.source", "$DATA"),
    ({"retrieval": [{"mode": "text-passage", "encoder": "st:$MODELS/minilm"}]}, "retrieval.0.encoder",
     "$MODELS"),
])
def test_a_shell_variable_in_a_pipeline_path_is_refused(tiny_world_dir, tmp_path, monkeypatch, capsys, extra,
                                                         field, variable):
    # YAML keeps "$HOME" as written: the outputs went to a folder named "$HOME" beside the YAML file
    config = _pipeline(tmp_path / "conf", tiny_world_dir, **extra)
    code, err = kvqae(monkeypatch, capsys, "run", config, "--no-progress")
    assert code == 2 and f'error: {config}: field "{field}": ' in err
    assert (f"holds the shell variable {variable}, which kvqae does not expand (only ~ is): write the path "
            "out") in err
    assert not list((tmp_path / "conf").glob("$*")) and not (tmp_path / "conf/out").exists()


def test_a_path_with_a_dollar_that_exists_is_kept(tiny_world_dir, tmp_path):
    from kvqae.pipeline import load_pipeline_config
    from kvqae.pipeline_config import check_pipeline

    (tmp_path / "conf/my$dir").mkdir(parents=True)
    config = _pipeline(tmp_path / "conf", tiny_world_dir, output="my$dir")
    check_pipeline(load_pipeline_config(config))


def test_tilde_in_training_configs_is_the_home_folder(tmp_path, monkeypatch):
    # `train clip` / `train ablation` YAML kept "~/kb" as written: "knowledge base directory not found", and
    # `output_dir: ~/models/clip` a folder named "~" in the current folder
    from kvqae.train.ablation import AblationConfig
    from kvqae.train.trainer import TrainClipConfig

    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = TrainClipConfig(model="clip:m", kb="~/kb", questions="~/q.jsonl", validation_questions="~/v.jsonl",
                          output_dir="~/models/clip")
    assert (cfg.kb, cfg.questions, cfg.validation_questions, cfg.output_dir) == (
        f"{tmp_path}/kb", f"{tmp_path}/q.jsonl", f"{tmp_path}/v.jsonl", f"{tmp_path}/models/clip")
    abl = AblationConfig(model="preset:tiny", output_dir="~/abl", world="~/world")
    assert (abl.output_dir, abl.world) == (f"{tmp_path}/abl", f"{tmp_path}/world")
    assert TrainClipConfig(model="m", output_dir="out~1").output_dir == "out~1"  # only a leading ~


# ------------------------------------------------------------------- JSON lines for one JSON document


def test_json_lines_given_for_one_json_document_says_so(tmp_path, monkeypatch, capsys):
    # a questions file given as qrels, weights or a run said "line 2: invalid JSON (Extra data at column 1)"
    questions = _write(tmp_path / "q.jsonl", '{"id": "q1", "question": "Who?", "answers": ["x"]}\n'
                                             '{"id": "q2", "question": "Where?", "answers": ["y"]}\n')
    run = _run(tmp_path / "r.json", ["A#0"])
    code, err = kvqae(monkeypatch, capsys, "evaluate", "retrieval", "--run", run, "--questions", questions,
                      "--qrels", questions, "-o", tmp_path / "rep")
    assert code == 2 and err.strip() == (
        f"error: {questions}: line 2: invalid JSON (Extra data at column 1; a second JSON value starts on "
        "this line after a complete one: the file looks like JSON lines (one value per line), but one JSON "
        "document is expected here)")
    _write(tmp_path / "w.json", json.dumps({"weights": [1]}) + "\n" + json.dumps({"weights": [2]}) + "\n")
    code, err = kvqae(monkeypatch, capsys, "fuse", "apply", "--run", run, "--weights", tmp_path / "w.json",
                      "--out", tmp_path / "f.json")
    assert code == 2 and "w.json: line 2: invalid JSON (Extra data at column 1; a second JSON value" in err
    # other syntax errors keep their message
    code, err = kvqae(monkeypatch, capsys, "fuse", "apply", "--run", run, "--weights",
                      _write(tmp_path / "x.json", '{"weights": [1]} x'), "--out", tmp_path / "f.json")
    assert code == 2 and err.strip().endswith("x.json: line 1: invalid JSON (Extra data at column 18)")


# ----------------------------------------------------------------------------------- kb build --types-from


def test_a_types_file_that_types_nothing_is_noted(tmp_path, monkeypatch, capsys):
    # a file keyed by QIDs over articles without a wikidata_id typed no entity; only "0 with types" said it
    source = _write(tmp_path / "a.jsonl", '{"id": "A", "title": "Alpha", "text": "Alpha is a town."}\n')
    types = _write(tmp_path / "types.json", json.dumps({"Q90": ["city"]}))
    code, err = kvqae(monkeypatch, capsys, "kb", "build", source, "--types-from", types, "--out",
                      tmp_path / "kb", "--no-progress")
    assert code == 0 and err.strip() == (
        f"note: --types-from {types} gave no entity a type: none of its keys is the Wikidata id, the id or "
        "the title of an article here (or those it names have no labels); a file keyed by QIDs needs "
        "articles with a wikidata_id or its records' wikipedia_title")
    _write(types, json.dumps({"Q90": ["city"], "A": ["town"]}))
    code, err = kvqae(monkeypatch, capsys, "kb", "build", source, "--types-from", types, "--out",
                      tmp_path / "kb2", "--no-progress")
    assert code == 0 and err == "" and KnowledgeBase.load(tmp_path / "kb2").types_of("A") == ["town"]

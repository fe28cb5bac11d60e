"""Issue 14 items 5 and 6, by hand: valid files are accepted (long lines, a BOM, a JSON list of articles) and
invalid ones are refused the same way everywhere (empty files, TREC ranks, repeated ids, runs that do not
match the questions or the weights, splits that do not exist), each with one InputError naming the place.
Also the cases the reader fuzz suite (test_fuzz_readers.py) found."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.articles import detect_article_format, read_articles
from kvqae.data.questions import detect_question_format, load_questions
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.predictions import load_predictions
from kvqae.fusion.core import fuse
from kvqae.fusion.search import WEIGHTS_FORMAT, apply_weights, load_weights
from kvqae.index.embeddings import read_embeddings
from kvqae.pipeline import load_pipeline_config

BOM = b"\xef\xbb\xbf"
LONG_TEXT = "word " * 20_000  # 100 KB: one JSON line well over 64 KiB


def _jsonl(path: Path, rows: list[dict], *, bom: bool = False) -> Path:
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes((BOM if bom else b"") + data)
    return path


# ------------------------------------------------------------------------- item 6: valid files accepted


def test_article_line_over_64_kib_is_detected_and_read(tmp_path):
    path = _jsonl(tmp_path / "a.jsonl", [{"id": "Big", "title": "Big", "text": LONG_TEXT}])
    assert path.stat().st_size > 1 << 16
    assert detect_article_format(path) == "jsonl"
    [article] = read_articles(path)
    assert article.id == "Big" and len(article.text) > 1 << 16


def test_viquae_article_over_64_kib_is_detected(tmp_path):
    path = _jsonl(tmp_path / "kb.jsonl", [{"wikipedia_title": "Big One", "text": LONG_TEXT}])
    assert detect_article_format(path) == "viquae"
    assert [a.id for a in read_articles(path)] == ["Big_One"]


@pytest.mark.parametrize("layout", ["jsonl", "list"])
def test_utf8_bom_is_accepted_by_article_and_question_readers(tmp_path, layout):
    article = {"id": "A", "title": "Ä", "text": "Some text."}
    question = {"id": "q1", "question": "Who?", "answers": ["Ä"]}
    for name, row in (("a.json", article), ("q.json", question)):
        text = json.dumps([row]) if layout == "list" else json.dumps(row) + "\n"
        (tmp_path / name).write_bytes(BOM + text.encode())
    assert detect_article_format(tmp_path / "a.json") == "jsonl"
    assert [a.title for a in read_articles(tmp_path / "a.json")] == ["Ä"]
    assert detect_question_format(tmp_path / "q.json") == "kvqae"
    assert [q.answers for q in load_questions(tmp_path / "q.json")] == [["Ä"]]


def test_utf8_bom_is_accepted_in_csv_runs_and_weights(tmp_path):
    (tmp_path / "q.csv").write_bytes(BOM + b"question,answer\nWho?,Ada|Lovelace\n")
    assert [q.answers for q in load_questions(tmp_path / "q.csv")] == [["Ada", "Lovelace"]]
    (tmp_path / "r.trec").write_bytes(BOM + b"q1 Q0 d1 1 2.5 bm25\n")
    assert Run.load(tmp_path / "r.trec").scores == {"q1": {"d1": 2.5}}
    (tmp_path / "r.json").write_bytes(BOM + json.dumps({"run": {"q1": {"d1": 1}}}).encode())
    assert Run.load(tmp_path / "r.json").scores == {"q1": {"d1": 1.0}}
    weights = {
        "format": WEIGHTS_FORMAT,
        "weights": [1.0],
        "method": "wsum",
        "norm": "none",
        "default_minimum": None,
        "rrf_k": 60,
    }
    (tmp_path / "w.json").write_bytes(BOM + json.dumps(weights).encode())
    assert load_weights(tmp_path / "w.json")["weights"] == [1.0]


def test_json_list_of_articles_is_read(tmp_path):
    rows = [{"id": "A", "title": "A", "text": "First."}, {"id": "B", "title": "B", "text": "Second."}]
    (tmp_path / "articles.json").write_text(json.dumps(rows, indent=2))
    assert detect_article_format(tmp_path / "articles.json") == "jsonl"
    assert [a.id for a in read_articles(tmp_path / "articles.json")] == ["A", "B"]
    assert [a.id for a in read_articles(tmp_path / "articles.json", "jsonl")] == ["A", "B"]
    rows[1]["id"] = "A"
    (tmp_path / "articles.json").write_text(json.dumps(rows))
    with pytest.raises(InputError, match=r'row 2: field "id": duplicate id .A. \(first at row 1\)'):
        list(read_articles(tmp_path / "articles.json"))


@pytest.mark.parametrize("content", [b"", b"\n  \n", BOM, BOM + b"\n"])
@pytest.mark.parametrize(
    ("name", "read"),
    [
        ("a.jsonl", lambda p: list(read_articles(p))),
        ("a.jsonl", lambda p: list(read_articles(p, "jsonl"))),
        ("dump.xml", lambda p: list(read_articles(p))),
        ("q.jsonl", load_questions),
        ("q.csv", load_questions),
        ("run.json", Run.load),
        ("run.trec", Run.load),
        ("w.json", load_weights),
        ("pipeline.yaml", load_pipeline_config),
    ],
)
def test_empty_file_says_file_is_empty(tmp_path, content, name, read):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(InputError, match="file is empty") as e:
        read(tmp_path / name)
    assert str(e.value).startswith(str(tmp_path / name))


def test_unknown_article_format_names_the_cli_flag(tmp_path):
    (tmp_path / "a.txt").write_text("plain text, neither JSON nor XML\n")
    with pytest.raises(InputError, match="pass --format jsonl, mediawiki or viquae") as e:
        detect_article_format(tmp_path / "a.txt")
    assert "fmt=" not in str(e.value)
    with pytest.raises(InputError, match=r"unknown articles format .xml. \(--format takes auto, jsonl"):
        list(read_articles(tmp_path / "a.txt", "xml"))


def test_json_error_names_the_line_of_a_long_file(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"id": "q1", "question": "a", "answers": ["b"]}) + "\n{oops\n")
    with pytest.raises(InputError, match=r"q.jsonl: line 2: invalid JSON"):
        load_questions(path)


# ------------------------------------------------------------------------ item 5: consistent validation


@pytest.mark.parametrize("rank", ["1.5", "x", "-1", "one"])
def test_trec_rank_must_be_an_integer(tmp_path, rank):
    (tmp_path / "r.trec").write_text(f"q1 Q0 d1 1 2.0 run\nq1 Q0 d2 {rank} 1.0 run\n")
    with pytest.raises(
        InputError, match=r'r.trec: line 2: field "rank": rank .* is not a non-negative integer'
    ):
        Run.load(tmp_path / "r.trec")


def test_trec_nan_score_is_refused_like_json(tmp_path):
    (tmp_path / "r.trec").write_text("q1 Q0 d1 1 nan run\n")
    with pytest.raises(InputError, match='field "score"'):
        Run.load(tmp_path / "r.trec")


def test_json_run_refuses_a_repeated_document_or_query(tmp_path):
    path = tmp_path / "r.json"
    path.write_text('{"name": "x", "run": {"q1": {"d1": 1.0, "d2": 0.5, "d1": 0.1}}}')
    with pytest.raises(InputError, match=r"query q1: field \"run\": document 'd1' appears twice"):
        Run.load(path)
    path.write_text('{"run": {"q1": {"d1": 1.0}, "q1": {"d2": 0.5}}}')
    with pytest.raises(InputError, match="query 'q1' appears twice"):
        Run.load(path)


def test_json_run_checks_name_level_and_huge_scores(tmp_path):
    path = tmp_path / "r.json"
    for payload, field in [
        ({"run": {"q": {"d": 1}}, "level": "doc"}, "level"),
        ({"run": {"q": {"d": 1}}, "name": 3}, "name"),
        ({"run": {"q": {"d": 1}}, "meta": [1]}, "meta"),
    ]:
        path.write_text(json.dumps(payload))
        with pytest.raises(InputError, match=f'field "{field}"'):
            Run.load(path)
    path.write_text('{"run": {"q": {"d": 1' + "0" * 400 + "}}}")  # beyond float range
    with pytest.raises(InputError, match="overflows a float"):
        Run.load(path)


def _read_args(tmp_path: Path, kb: Path, run: Path, questions: Path) -> list[str]:
    model = tmp_path / "model"  # looks like a model folder: the run is checked before the model loads
    model.mkdir(exist_ok=True)
    (model / "config.json").write_text("{}")
    return [
        "read",
        "--run",
        str(run),
        "--kb",
        str(kb),
        "--questions",
        str(questions),
        "--model",
        str(model),
        "--out",
        str(tmp_path / "p.jsonl"),
        "--no-progress",
    ]


@pytest.mark.parametrize(
    ("scores", "message"),
    [({}, "run is empty"), ({"q1": {"Apollo_11#0": 1.0}, "q9": {"Apollo_11#0": 1.0}}, "query q9")],
)
def test_read_refuses_an_empty_run_or_queries_not_in_the_questions(prose_kb, tmp_path, scores, message):
    run = Run.from_mapping(scores).save(tmp_path / "run.json")
    questions = _jsonl(tmp_path / "q.jsonl", [{"id": "q1", "question": "When?", "answers": ["1969"]}])
    res = CliRunner().invoke(app, _read_args(tmp_path, prose_kb.path, run, questions))
    assert isinstance(res.exception, InputError), res.output
    assert message in str(res.exception) and str(run) in str(res.exception)
    assert not (tmp_path / "p.jsonl").exists()


def _weights_file(path: Path, names: list[str], weights: list[float]) -> Path:
    path.write_text(
        json.dumps(
            {
                "format": WEIGHTS_FORMAT,
                "weights": weights,
                "method": "wsum",
                "norm": "zscore",
                "default_minimum": None,
                "rrf_k": 60,
                "run_names": names,
            }
        )
    )
    return path


def assert_same_scores(run: Run, expected: Run) -> None:
    assert run.scores.keys() == expected.scores.keys()
    for qid, docs in expected.scores.items():
        assert run.scores[qid] == pytest.approx(docs)


def _two_runs() -> list[Run]:
    text = Run({"q1": {"a": 3.0, "b": 1.0, "c": 0.0}, "q2": {"a": 1.0, "b": 2.0}}, "text")
    image = Run({"q1": {"a": 0.0, "b": 5.0}, "q2": {"c": 1.0, "b": 0.5}}, "image")
    return [text, image]


def test_apply_weights_matches_runs_by_name(tmp_path):
    text, image = _two_runs()
    path = _weights_file(tmp_path / "w.json", ["text", "image"], [0.8, 0.2])
    expected = fuse([text, image], norm="zscore", weights=[0.8, 0.2])
    swapped = apply_weights(path, [image, text])
    assert_same_scores(swapped, expected)


def test_apply_weights_refuses_runs_named_otherwise(tmp_path):
    text, image = _two_runs()
    path = _weights_file(tmp_path / "w.json", ["text", "image"], [0.8, 0.2])
    other = Run(image.scores, "image-v2")
    with pytest.raises(
        InputError, match=r"fitted on runs named \['text', 'image'\] .* named \['text', 'image-v2'\]"
    ):
        apply_weights(path, [text, other])


def test_fuse_apply_cli_refuses_a_run_name_mismatch(tmp_path):
    text, image = _two_runs()
    weights = _weights_file(tmp_path / "w.json", ["text", "image"], [0.8, 0.2])
    paths = [text.save(tmp_path / "text.json"), Run(image.scores, "cross").save(tmp_path / "cross.json")]
    args = ["fuse", "apply", "--weights", str(weights), "--out", str(tmp_path / "fused.json")]
    for p in paths:
        args += ["--run", str(p)]
    res = CliRunner().invoke(app, args)
    assert isinstance(res.exception, InputError) and "run_names" in str(res.exception)
    assert not (tmp_path / "fused.json").exists()
    image.save(tmp_path / "image.json")
    args = [
        "fuse",
        "apply",
        "--weights",
        str(weights),
        "--out",
        str(tmp_path / "fused.json"),
        "--run",
        str(tmp_path / "image.json"),
        "--run",
        str(tmp_path / "text.json"),
    ]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    expected = fuse([text, image], norm="zscore", weights=[0.8, 0.2])
    assert_same_scores(Run.load(tmp_path / "fused.json"), expected)


def _pipeline(tmp_path: Path, **extra) -> Path:
    spec = {
        "output": "out",
        "kb": {"source": "articles.jsonl"},
        "questions": {"validation": "val.jsonl", "test": "test.jsonl"},
        "retrieval": [{"mode": "text-passage", "encoder": "bm25"}],
        **extra,
    }
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump(spec))
    return tmp_path / "pipeline.yaml"


def test_fit_split_must_name_a_questions_split(tmp_path):
    with pytest.raises(InputError, match=r"field \"fit_split\": 'dev' is not one of the question splits"):
        load_pipeline_config(_pipeline(tmp_path, fit_split="dev"))
    with pytest.raises(InputError, match=r"field \"eval_split\": 'dev'"):
        load_pipeline_config(_pipeline(tmp_path, eval_split="dev"))
    assert load_pipeline_config(_pipeline(tmp_path, fit_split="test")).fit_split == "test"
    assert load_pipeline_config(_pipeline(tmp_path, fit_split=None)).fit_split is None


def test_fit_split_through_the_cli(tmp_path):
    res = CliRunner().invoke(
        app, ["run", str(_pipeline(tmp_path)), "--set", "fit_split=dev", "--no-progress"]
    )
    assert isinstance(res.exception, InputError) and "fit_split" in str(res.exception)
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------- found by the reader fuzz suite


def test_image_names_the_os_refuses_are_input_errors(tmp_path):
    for image in ["x" * 300, "a\x00b"]:
        row = {"id": "A", "title": "A", "text": "Text.", "image": image}
        path = _jsonl(tmp_path / "a.jsonl", [row])
        with pytest.raises(InputError, match='field "image"'):
            list(read_articles(path))
        question = _jsonl(
            tmp_path / "q.jsonl", [{"id": "q", "question": "?", "answers": ["a"], "image": image}]
        )
        with pytest.raises(InputError, match='field "image"'):
            load_questions(question, check_images=True)


def test_prediction_score_beyond_float_range(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"id": "q1", "answer": "a", "score": 1' + "0" * 400 + "}\n")
    with pytest.raises(InputError, match='line 1: field "score": must be a finite number'):
        load_predictions(tmp_path / "p.jsonl")


def _embeddings(folder: Path, meta: dict, vectors: bytes | None = None) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "meta.json").write_text(json.dumps(meta))
    (folder / "ids.json").write_text('["a"]')
    if vectors is None:
        buf = io.BytesIO()
        np.save(buf, np.zeros((1, 2), dtype=np.float32))
        vectors = buf.getvalue()
    (folder / "vectors.npy").write_bytes(vectors)
    return folder


def test_embeddings_meta_and_header_errors(tmp_path):
    folder = _embeddings(tmp_path / "e", {"encoder": "x", "dim": [2]})
    with pytest.raises(InputError, match='field "dim": must be an integer'):
        read_embeddings(folder)
    assert read_embeddings(_embeddings(tmp_path / "e", {"encoder": "x", "dim": 2.0, "count": 1})).dim == 2
    header = b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': Fal}se, 'shape': (1, 2), }" + b" " * 58
    folder = _embeddings(tmp_path / "e", {"encoder": "x", "dim": 2}, header + b"\n" + b"\x00" * 8)
    with pytest.raises(InputError, match="unreadable .npy file"):
        read_embeddings(folder)


@pytest.mark.parametrize("text", ["output: 2001-02-30\n", 'output: "\\Ue000CBAF"\n', "a: [\n  b\n"])
def test_pipeline_yaml_errors_are_one_line(tmp_path, text):
    (tmp_path / "pipeline.yaml").write_text(text)
    with pytest.raises(InputError, match="invalid YAML") as e:
        load_pipeline_config(tmp_path / "pipeline.yaml")
    assert "\n" not in str(e.value)


def test_input_error_is_always_one_line():
    e = InputError("bad value\n  second line\r\nthird", path="f.json", record=3, field="x")
    assert str(e) == 'f.json: line 3: field "x": bad value second line third'


def test_set_paths_are_relative_to_the_current_folder(tmp_path):
    """Session 24: `kvqae run conf/p.yaml --set output=runs/x` wrote into conf/runs/x, beside the YAML file;
    a path typed on the command line is the shell's, relative to where the user stands."""
    from kvqae.config import parse_config
    from kvqae.pipeline import PipelineConfig, load_pipeline_yaml, resolve_set_paths

    conf = tmp_path / "conf"
    conf.mkdir()
    config = _pipeline(conf)
    data = load_pipeline_yaml(config)
    data["output"] = "runs/x"  # as --set output=runs/x leaves it
    cfg = parse_config(PipelineConfig, data, path=config)
    here = tmp_path / "elsewhere"
    resolved = resolve_set_paths(cfg, conf, {"output"}, here)
    assert Path(resolved.output) == here / "runs" / "x"
    assert Path(resolved.kb.source) == conf / "articles.jsonl"  # the YAML's own paths: beside it
    assert Path(resolve_set_paths(cfg, conf, set(), here).output) == conf / "runs" / "x"

"""Malformed inputs, sweep 3: each gave an unclear error before and now gets one InputError (or JSON error)
naming the place. A duplicate question id said "first at 1" (not "line 1"); a question of only control or
invisible characters was loaded (the service and `kvqae ask` refuse it); a non-UTF-8 Encyclopedic-VQA CSV
said "after line 0"; type errors named Python types ("got NoneType"); the service answered a JSON body with
"Field required" and a text `image` field with pydantic's "Expected UploadFile, received: <class 'str'>"."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kvqae.cli import app
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.serve.app import create_app

runner = CliRunner()


def _invoke(*args) -> InputError:
    res = runner.invoke(app, [str(a) for a in args])
    assert isinstance(res.exception, InputError), res.output
    return res.exception


def _rows(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


# ------------------------------------------------------------------------- question files


@pytest.mark.parametrize("name,text,key", [
    ("q.jsonl", _rows({"id": "a", "question": "Q?", "answers": []},
                      {"id": "a", "question": "R?", "answers": []}), "id"),
    ("i.jsonl", _rows({"data_id": "a", "question": "Q?", "answer": ["x"]},
                      {"data_id": "a", "question": "R?", "answer": ["y"]}), "data_id"),
], ids=["kvqae", "infoseek"])
def test_a_duplicate_question_id_names_the_line_of_the_first(tmp_path, name, text, key):
    (tmp_path / name).write_text(text)
    out = tmp_path / "out.jsonl"
    err = _invoke("questions", "convert", tmp_path / name, "--out", out)
    assert str(err).endswith(f'{name}: line 2: field "{key}": duplicate id \'a\' (first at line 1)')
    assert not out.exists()


@pytest.mark.parametrize("name,data,key", [
    ("q.jsonl", _rows({"id": "a", "question": "\u0000\u200b", "answers": ["x"]}), "question"),
    ("v.jsonl", _rows({"id": "a", "input": "\u200b\u200d", "output": {"answer": ["x"]}}), "input"),
    ("e.csv", "question,answer\nWho?,x\n\u200b\u2060,y\n", "question"),
], ids=["kvqae", "viquae", "evqa"])
def test_a_question_of_only_control_or_invisible_characters_is_refused(tmp_path, name, data, key):
    (tmp_path / name).write_text(data, encoding="utf-8")
    line = 3 if name.endswith(".csv") else 1
    with pytest.raises(InputError) as err:
        load_questions(tmp_path / name)
    assert str(err.value) == (f'{tmp_path / name}: line {line}: field "{key}": must not be empty '
                              "(it holds only control or invisible characters)")


def test_a_non_utf8_evqa_csv_names_the_line(tmp_path):
    path = tmp_path / "e.csv"
    path.write_bytes(b"question,answer\nWho?,Ada\nWhere?,Caf\xe9\n")  # Latin-1, line 3
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert str(err.value) == f"{path}: line 3: not UTF-8 text (byte 10)"  # was "(after line 0)"


# ------------------------------------------------------------------------- JSON type names


def test_type_errors_name_json_types_not_python_ones(tmp_path):
    (tmp_path / "a.jsonl").write_text(_rows({"id": "a", "title": "A", "text": None}))
    out = tmp_path / "kb"
    err = _invoke("kb", "build", tmp_path / "a.jsonl", "--out", out, "--no-progress")
    assert str(err).endswith('a.jsonl: line 1: field "text": must be a string, got null')  # was NoneType
    assert not out.exists()
    (tmp_path / "q.jsonl").write_text(_rows({"id": 1.5, "question": "Q?", "answers": []}))
    with pytest.raises(InputError, match=r'field "id": must be a string or integer, got float$'):
        load_questions(tmp_path / "q.jsonl")
    (tmp_path / "r.json").write_text(json.dumps({"name": None, "run": {"q": {"d": 1.0}}}))
    with pytest.raises(InputError, match=r'r\.json: field "name": must be a string, got null$'):
        Run.load(tmp_path / "r.json")


# ------------------------------------------------------------------------- the service


@pytest.fixture(scope="module")
def client() -> TestClient:
    """The app over a stand-in answerer: these requests are refused before any model would run."""
    return TestClient(create_app(SimpleNamespace(), examples=[]), raise_server_exceptions=False)


def _error(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    return resp.json()["error"]


@pytest.mark.parametrize("body", [
    {"json": {"question": "Who is this?"}},
    {"json": {"question": 5}},
    {"json": ["Who?"]},
    {"content": b"Who?", "headers": {"content-type": "text/plain"}},
], ids=["json", "json-number", "json-list", "text"])
def test_service_refuses_a_body_that_is_not_a_form_with_415(client, body):
    err = _error(client.post("/api/ask", **body), 415)
    assert err["message"].startswith("the request body is ")  # was 422 'field "question": Field required'
    assert 'with a "question" field' in err["message"]


def test_service_names_an_image_sent_as_text_not_as_an_upload(client):
    photo = base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
    err = _error(client.post("/api/ask", data={"question": "Who?", "image": photo}), 422)
    assert err["field"] == "image"
    assert err["message"] == ('field "image": must be an uploaded file (a form part with a file name), '
                              "not text")



def test_service_names_the_question_when_a_form_field_is_over_the_parsers_limit(client):
    # a 2 MB question in a multipart form: the form parser stops at 1 MB with a bare 400 and no field
    resp = client.post("/api/ask", files={"question": (None, "w" * (2 * 2**20))})
    err = _error(resp, 413)
    assert err["field"] == "question" and "1,000 characters" in err["message"]


@pytest.mark.parametrize("run,field", [
    ({"run": {"q1\u0000": {"p1": 1.0}}}, "query"),
    ({"run": {"q1": {"": 1.0}}}, "document"),
    ({"run": {" ": {"p1": 1.0}}}, "query"),
], ids=["nul-in-query", "empty-document", "blank-query"])
def test_json_run_ids_must_be_printable_and_not_empty(tmp_path, run, field):
    path = tmp_path / "r.json"
    path.write_text(json.dumps(run))
    with pytest.raises(InputError) as err:
        Run.load(path)
    assert "r.json" in str(err.value) and f'field "{field}"' in str(err.value)
    assert "\u0000" not in str(err.value)  # the id is shown escaped, not raw


def test_questions_convert_refuses_an_out_name_of_another_format(tmp_path):
    # it writes JSON lines: an .csv name was read back as a CSV and failed ("missing column")
    source = tmp_path / "q.jsonl"
    source.write_text(_rows({"id": "a", "question": "Q?", "answers": ["x"]}))
    err = _invoke("questions", "convert", source, "--out", tmp_path / "q.csv")
    assert 'field "out"' in str(err) and ".csv" in str(err) and not (tmp_path / "q.csv").exists()
    res = runner.invoke(app, ["questions", "convert", str(source), "--out", str(tmp_path / "q2.json")])
    assert res.exit_code == 0 and [q.id for q in load_questions(tmp_path / "q2.json")] == ["a"]

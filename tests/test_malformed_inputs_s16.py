"""Malformed inputs, sweep 6: the leftovers of sweep 5. A JSON-lines file or a TREC run with bare CR line
endings (classic Mac, some spreadsheet exports) said "Extra data at column 59" or "expected 6 columns"; a
question holding U+FFFD (bytes that were not UTF-8: a Latin-1 form, a badly %-encoded URL) was answered;
a form of more than 1,000 parts got Starlette's bare 400; `kvqae world --style-shift nan` named the
field `style_shift`, not the flag typed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import service_stand_in
from cli_run import kvqae as _kvqae
from kvqae.ask.answer import check_question
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.io import read_jsonl
from service_stand_in import service_error

asked, client = service_stand_in.asked, service_stand_in.client  # the service stand-in's fixtures
FORM = {"content-type": "application/x-www-form-urlencoded"}


# ------------------------------------------------------------------------- line endings


def _cr_file(path: Path, *lines: str) -> Path:
    path.write_bytes("".join(line + "\r" for line in lines).encode())
    return path


def test_json_lines_with_bare_cr_line_endings_are_read_line_by_line(tmp_path):
    rows = [{"id": "q1", "question": "Who is it?", "answers": ["A"]},
            {"id": "q2", "question": "Where is it?", "answers": ["B"]}]
    path = _cr_file(tmp_path / "q.jsonl", *map(json.dumps, rows))
    assert list(read_jsonl(path)) == [(1, rows[0]), (2, rows[1])]
    assert [q.id for q in load_questions(path)] == ["q1", "q2"]


def test_a_broken_record_of_a_bare_cr_file_is_named_by_its_own_line(tmp_path):
    first = json.dumps({"id": "q1", "question": "a"})
    path = _cr_file(tmp_path / "q.jsonl", first, '{"id": "q2", "question"')
    with pytest.raises(InputError) as err:
        list(read_jsonl(path))
    assert err.value.record == 2 and "Extra data" not in str(err.value)


def test_crlf_and_mixed_line_endings_number_lines_as_an_editor_does(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_bytes(b'{"id": "a"}\r\n\r\n{"id": "b"}\r{"id": "c"}\n{"id": "d"\n')
    with pytest.raises(InputError) as err:
        list(read_jsonl(path))
    assert err.value.record == 5  # a, blank, b, c, then the broken d
    path.write_bytes(b'{"id": "a"}\r\n{"id": "b"}\r{"id": "c"}\n')
    assert [n for n, _ in read_jsonl(path)] == [1, 2, 3]


def test_a_trec_run_with_bare_cr_line_endings_loads(tmp_path):
    path = _cr_file(tmp_path / "r.trec", "q1 Q0 d1 1 2.5 sys", "q1 Q0 d2 2 1.5 sys", "q2 Q0 d1 1 0.5 sys")
    run = Run.load(path)
    assert run.scores == {"q1": {"d1": 2.5, "d2": 1.5}, "q2": {"d1": 0.5}}


# ------------------------------------------------------------------------- U+FFFD in an asked question


def test_an_asked_question_with_a_replacement_character_is_refused_at_its_place():
    with pytest.raises(InputError) as err:
        check_question("O\ufffd est n\u00e9 cet homme ?")
    assert err.value.field == "question" and "U+FFFD" in str(err.value) and "character 2" in str(err.value)
    assert check_question("  Où est né cet homme ?  ") == "Où est né cet homme ?"


def test_a_question_file_may_hold_a_replacement_character(tmp_path):
    # one damaged question in a dataset of thousands must not stop a run
    path = tmp_path / "q.jsonl"
    row = {"id": "q1", "question": "Who is \ufffd?", "answers": ["A"]}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    assert [q.question for q in load_questions(path)] == ["Who is \ufffd?"]


def test_service_refuses_a_latin1_form_instead_of_answering_damaged_words(client, asked):
    asked.clear()
    body = "question=O%F9%20est%20n%E9%20cet%20homme%20%3F"  # %-encoded Latin-1, not UTF-8
    resp = client.post("/api/ask", content=body, headers=FORM)
    err = service_error(resp, 422)
    assert err["field"] == "question" and "U+FFFD" in err["message"] and "UTF-8" in err["message"]
    assert asked == []
    # the same question in UTF-8 reaches the models
    client.post("/api/ask", data={"question": "Où est né cet homme ?"})
    assert asked == [("Où est né cet homme ?", False)]


def test_cli_ask_refuses_a_replacement_character(monkeypatch, capsys, tmp_path):
    code, err = _kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who is th\ufffd man?")
    assert code != 0 and "U+FFFD" in err and "Traceback" not in err


# ------------------------------------------------------------------------- forms and flags


def test_service_names_a_form_of_too_many_parts(client, asked):
    asked.clear()
    body = "&".join(f"f{i}=x" for i in range(1200)) + "&question=Who"
    resp = client.post("/api/ask", content=body, headers=FORM)
    err = service_error(resp, 400)
    assert "too many parts" in err["message"] and '"question"' in err["message"]
    assert asked == []


@pytest.mark.parametrize("flag,value", [("--style-shift", "nan"), ("--cue-share", "2"), ("--entities", "1")])
def test_world_names_the_flag_typed_not_the_config_field(monkeypatch, capsys, tmp_path, flag, value):
    code, err = _kvqae(monkeypatch, capsys, "world", "--out", tmp_path / "w", flag, value)
    assert code != 0 and f'"{flag}"' in err and "_" not in err.split(":")[1].split('"')[1]
    assert not (tmp_path / "w").exists()


def test_demo_names_the_flag_typed(monkeypatch, capsys, tmp_path):
    code, err = _kvqae(monkeypatch, capsys, "demo", "--out", tmp_path / "d", "--style-shift", "nan")
    assert code != 0 and '"--style-shift"' in err and "style_shift" not in err

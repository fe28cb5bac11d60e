"""Malformed inputs, sweep 4: each was accepted (or gave an unclear error) before and now gets one error
naming the place. A control character (NUL, ESC, DEL) inside a visible question was loaded from question
files and passed to `kvqae ask` and the service; a form field sent twice to `POST /api/ask` silently kept
one value; an unterminated quote in an Encyclopedic-VQA CSV read the rest of the file into one field (an
answer of many lines, or 'field "answer": must not be empty' on the last line)."""

from __future__ import annotations

import json

import pytest

import service_stand_in
from cli_run import kvqae as _kvqae
from image_bytes import png_bytes
from kvqae.ask.answer import check_question
from kvqae.data.questions import load_questions
from kvqae.errors import InputError
from service_stand_in import service_error

ALLOWED = "only tab, line feed and carriage return are allowed"

asked, client = service_stand_in.asked, service_stand_in.client  # the service stand-in's fixtures


def _rows(*rows: dict) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)




# ------------------------------------------------------------------------- control characters in a question


@pytest.mark.parametrize("name,data,key,char,line", [
    ("q.jsonl", _rows({"id": "a", "question": "Who?", "answers": ["x"]},
                      {"id": "b", "question": "Who\u0000 is it?", "answers": ["x"]}), "question", "\\x00", 2),
    ("v.jsonl", _rows({"id": "a", "input": "Who is\u001b[31m it?", "output": {"answer": ["x"]}}),
     "input", "\\x1b", 1),
    ("i.jsonl", _rows({"data_id": "a", "question": "Who\u007f?", "answer": ["x"]}), "question", "\\x7f", 1),
    ("e.csv", "question,answer\nWho?,x\nWho\x00?,y\n", "question", "\\x00", 3),
], ids=["kvqae", "viquae", "infoseek", "evqa"])
def test_a_control_character_inside_a_question_is_refused(tmp_path, name, data, key, char, line):
    (tmp_path / name).write_text(data, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_questions(tmp_path / name)
    position = {"\\x00": 4, "\\x1b": 7, "\\x7f": 4}[char]
    assert str(err.value) == (f'{tmp_path / name}: line {line}: field "{key}": must not hold the control '
                              f"character '{char}' (at character {position}; {ALLOWED})")
    assert "\x00" not in str(err.value)  # shown escaped, not raw


def test_the_position_counts_from_the_value_as_written(tmp_path):
    # leading spaces are stripped from a loaded question, but the position is the one in the file's value
    (tmp_path / "q.jsonl").write_text(_rows({"id": "a", "question": "  Who\u0085?", "answers": ["x"]}))
    with pytest.raises(InputError, match=r"control character '\\x85' \(at character 6; "):
        load_questions(tmp_path / "q.jsonl")


def test_tabs_line_breaks_and_invisible_format_characters_inside_a_question_still_load(tmp_path):
    (tmp_path / "q.jsonl").write_text(_rows(
        {"id": "a", "question": " Who\tis\r\nshe? ", "answers": ["x"]},
        {"id": "b", "question": "\u200bWho\u2028is he?", "answers": ["y"]},
    ))
    assert [q.question for q in load_questions(tmp_path / "q.jsonl")] == ["Who\tis\r\nshe?",
                                                                         "\u200bWho\u2028is he?"]


def test_a_question_of_only_control_characters_is_still_called_empty(tmp_path):
    # the emptiness check comes first: a NUL alone is "empty", not "holds a NUL"
    (tmp_path / "q.jsonl").write_text(_rows({"id": "a", "question": "\u0000\u200b", "answers": ["x"]}))
    with pytest.raises(InputError, match=r"must not be empty \(it holds only control or invisible"):
        load_questions(tmp_path / "q.jsonl")
    with pytest.raises(InputError, match=r'^field "question": the question is empty$'):
        check_question("\x00 \x1b")


def test_ask_refuses_a_control_character_with_one_error_line(monkeypatch, capsys, tmp_path):
    assert str(pytest.raises(InputError, check_question, "Who\x00 is it?").value) == (
        f'field "question": must not hold the control character \'\\x00\' (at character 4; {ALLOWED})')
    # refused before the bundle is looked at: tmp_path has no bundle.json
    code, err = _kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who\x1b[2J is it?")
    assert code == 2 and err.count("\n") == 1, err
    assert err == (f'error: field "question": must not hold the control character \'\\x1b\' '
                   f"(at character 4; {ALLOWED})\n")


# ------------------------------------------------------------------------- the service


@pytest.mark.parametrize("form", [
    {"data": {"question": "Who\x00 is it?"}},
    {"files": {"question": (None, "Who\x00 is it?")}},
], ids=["urlencoded", "multipart"])
def test_service_refuses_a_control_character_in_the_question_with_422(client, asked, form):
    asked.clear()
    err = service_error(client.post("/api/ask", **form), 422)
    assert err["field"] == "question"
    assert err["message"] == (f'field "question": must not hold the control character \'\\x00\' '
                              f"(at character 4; {ALLOWED})")
    assert asked == []


@pytest.mark.parametrize("form,field", [
    ({"data": {"question": ["Who is it?", "Where is it?"]}}, "question"),
    ({"files": [("question", (None, "Who?")), ("question", (None, "Where?")),
                ("question", (None, "When?"))]}, "question"),
    ({"data": {"question": "Who?"}, "files": [("image", ("a.png", png_bytes(), "image/png")),
                                             ("image", ("b.png", png_bytes(), "image/png"))]}, "image"),
], ids=["urlencoded-question", "multipart-question-3", "image"])
def test_service_refuses_a_form_field_sent_twice_with_422(client, asked, form, field):
    asked.clear()
    count = 3 if field == "question" and "files" in form else 2
    err = service_error(client.post("/api/ask", **form), 422)
    assert err["field"] == field
    assert err["message"] == f'field "{field}": was given {count} times; it must be sent once'
    assert asked == []  # refused before any image is decoded or model runs


def test_service_still_takes_each_field_once(client, asked):
    asked.clear()
    files = {"image": ("a.png", png_bytes(), "image/png")}
    err = service_error(client.post("/api/ask", data={"question": "Who is it?"}, files=files), 400)
    assert err["message"] == "stand-in: no models here"
    assert asked == [("Who is it?", True)]
    # a missing question is still pydantic's "Field required", not a count
    err = service_error(client.post("/api/ask", files=files), 422)
    assert err["field"] == "question" and "required" in err["message"]


# ------------------------------------------------------------------------- unterminated CSV quotes

NEVER_CLOSED = ("malformed CSV: the quoted field that starts on this line is never closed (its closing '\"' "
                'is missing; a quote inside a quoted field is written twice: "")')


@pytest.mark.parametrize("text,line", [
    ('question,answer\nWho?,x\nWhere?,"Paris\nWhat?,z\nWhen?,1999\n', 3),  # was: loaded, answer of 3 lines
    ('question,answer\nWho?,x\n"Where?,y\nWhat?,z\n', 3),  # was: line 4: field "answer": must not be empty
    ('question,answer\n"Who?,x\n', 2),
    ('"question,answer\nWho?,x\n', 1),
], ids=["answer", "question", "last-line", "header"])
def test_an_unterminated_quote_in_an_evqa_csv_names_the_line_it_starts_on(tmp_path, text, line):
    path = tmp_path / "e.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert str(err.value) == f"{path}: line {line}: {NEVER_CLOSED}"


def test_an_unterminated_quote_past_the_csv_field_limit_names_its_line(tmp_path):
    # the reader stops at its field size limit (128 KB) before the end of the file
    path = tmp_path / "e.csv"
    path.write_text('question,answer\nWho?,x\n"Where?,y\n' + "What is it?,z\n" * 20000, encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_questions(path)
    assert str(err.value) == f"{path}: line 3: {NEVER_CLOSED}"


def test_a_stray_quote_closed_by_a_later_field_names_both_lines(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text('question,answer\nWho?,x\n"Where?,y\nWhat?,z\nWhen?,"1999, spring"\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_questions(path)  # was: loaded, question 'Where?,y\nWhat?,z\nWhen?,1999' with answer 'spring"'
    assert str(err.value) == (f"{path}: line 5: malformed CSV (',' expected after '\"') in the quoted field "
                              "that starts at line 3")
    path.write_text('question,answer\nWho?,x\n"Wh"ere?,y\n', encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_questions(path)  # was: loaded as 'Where?'; the line is the one the reader fails on (was line 2)
    assert str(err.value) == f"{path}: line 3: malformed CSV (',' expected after '\"')"


def test_a_well_formed_csv_with_quoted_multiline_fields_still_loads(tmp_path):
    path = tmp_path / "e.csv"
    rows = [
        "question,answer,question_type\r\n",
        '"Who is\r\nthis ""player""?","Ada, the ""first""|Ada",multi\r\n',
        "\r\n",
        'Where?,"Paris\n(France)",single\r\n',
        'When?,"""1999""",single\r\n',
        'Who drew "this"?,"",single\r\n',
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "".join(rows).encode())
    with pytest.raises(InputError) as err:
        load_questions(path)  # the last row's answer is empty: the line after the multi-line ones is exact
    assert str(err.value) == f'{path}: line 8: field "answer": must not be empty'
    path.write_bytes(b"\xef\xbb\xbf" + "".join(rows[:-1]).encode())
    got = [(q.id, q.question, q.answers) for q in load_questions(path)]
    assert got == [
        ("0", 'Who is\r\nthis "player"?', ['Ada, the "first"', "Ada"]),
        ("1", "Where?", ["Paris\n(France)"]),
        ("2", "When?", ['"1999"']),
    ]
    path.write_text('question,answer\nWho drew "this"?,x\n', encoding="utf-8")  # quotes inside unquoted text
    assert [q.question for q in load_questions(path)] == ['Who drew "this"?']


def test_questions_convert_prints_the_unterminated_quote_as_one_error_line(monkeypatch, capsys, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text('question,answer\nWho?,"x\nWhat?,z\n', encoding="utf-8")
    out = tmp_path / "q.jsonl"
    code, err = _kvqae(monkeypatch, capsys, "questions", "convert", path, "--out", out)
    assert (code, err) == (2, f"error: {path}: line 2: {NEVER_CLOSED}\n")
    assert not out.exists()

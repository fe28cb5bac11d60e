"""Questions: one dataclass, readers for the benchmark layouts, and the kvqae JSONL writer.

Layouts (`fmt`):
- `"kvqae"`: JSON lines `{"id", "question", "image"?: path relative to the file, "answers": [str], "entity"?,
  "question_type"?, "answer_eval"?: list, "meta"?: object}`.
- `"viquae"`: ViQuAE (KILT-like) rows, JSON lines or a JSON list: `id`, `input` (question), `image` (file
  name, resolved against `images_dir` or the file's folder), `output` {`original_answer`, `answer`: [str],
  `normalized_aliases`: [str]}, `wikidata_id`. answers = original answer then the aliases of
  `output.answer`; entity = the QID; `normalized_aliases` and `original_answer` go to `meta`.
- `"infoseek"`: InfoSeek JSON lines: `data_id`, `question`, `answer`: [str], `answer_eval` (aliases, a
  `[low, high]` range or values), `question_type`, `entity_id`? (QID), `image_id` -> image
  `<images_dir>/<image_id>.jpg` when `images_dir` is given, else None. `data_split`, `entity_text`,
  `image_id` go to `meta`.
- `"evqa"`: Encyclopedic-VQA CSV: `question`, `answer` (`|`-separated alternatives), `dataset_image_ids`
  (`|`-separated; the first one is the question image `<images_dir>/<id>.jpg` when `images_dir` is given),
  `wikipedia_title` (entity = title with `_`), `wikipedia_url`, `question_type`; `id` = 0-based row index
  when absent.
- `"auto"`: `.csv` -> evqa; JSON rows with `input`+`output` -> viquae, with `data_id` -> infoseek, else kvqae.

Entity references are the dataset's own (QID or title); `KnowledgeBase.resolve` maps them to KB entity ids.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvqae.data.articles import title_to_id
from kvqae.errors import InputError
from kvqae.io import (
    check_id_chars,
    check_misspelt_keys,
    check_question_chars,
    check_visible_id,
    decode_utf8,
    existing_file,
    first_byte,
    first_json_row,
    is_address,
    is_file,
    is_folder,
    json_type,
    read_json_rows,
    shows_text,
)

QUESTION_FORMATS = ("kvqae", "viquae", "infoseek", "evqa")


@dataclass
class Question:
    """One visual question: id, text, absolute image path (or None), accepted answers, the entity it is about
    (dataset reference: entity id, QID or title), question type, benchmark answer_eval, extra meta."""

    id: str
    question: str
    image: str | None = None
    answers: list[str] = field(default_factory=list)
    entity: str | None = None
    question_type: str | None = None
    answer_eval: list | None = None
    meta: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------- helpers


def _where(path: Path, record: Any) -> dict[str, Any]:
    return {"path": path, "record": record}


def _get_str(obj: dict, key: str, where: dict, *, required: bool = True, nonempty: bool = True) -> str | None:
    if key not in obj or obj[key] is None:
        if required:
            raise InputError("missing field", field=key, **where)
        return None
    value = obj[key]
    if not isinstance(value, str):
        raise InputError(f"must be a string, got {json_type(value)}", field=key, **where)
    value = value.strip()
    if not value:
        if required and nonempty:
            raise InputError("must not be empty", field=key, **where)
        return None
    return value


def _check_visible(raw: str, key: str, where: dict) -> str:
    """`raw` stripped, when at least one character shows and none is a control character but tab, line feed
    and carriage return; otherwise an InputError (a question of only control or invisible format characters,
    a NUL inside one), as `kvqae ask` and the service refuse it. `raw` is the value as read, so that the
    place of a control character counts from its first character."""
    if not shows_text(raw):
        raise InputError(
            "must not be empty (it holds only control or invisible characters)", field=key, **where
        )
    check_question_chars(raw, key, where)
    return raw.strip()


def _get_question(obj: dict, key: str, where: dict) -> str:
    """The required question text of `obj[key]` (see `_get_str` and `_check_visible`)."""
    _get_str(obj, key, where)  # present, a string, not blank
    return _check_visible(obj[key], key, where)


def _get_id(obj: dict, key: str, where: dict) -> str:
    if key not in obj or obj[key] is None:
        raise InputError("missing field", field=key, **where)
    value = obj[key]
    # Integer ids are common in exported datasets; bool is an int subclass but never an id.
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f"must be a string or integer, got {json_type(value)}", field=key, **where)
    value = str(value).strip()
    if not value:
        raise InputError("must not be empty", field=key, **where)
    check_id_chars(value, key, where)
    check_visible_id(value, key, where)
    return value


def _str_list(value: Any, key: str, where: dict) -> list[str]:
    """The strings of a JSON list, stripped, blanks and repeats left out; anything else is an InputError
    that says which item is not a string (a year written as a number, 1889, said only "must be a list of
    strings")."""
    if not isinstance(value, list):
        hint = (f" (write {json.dumps([str(value)], ensure_ascii=False):.60} for one answer)"
                if isinstance(value, str | int | float) and not isinstance(value, bool) else "")
        raise InputError(f"must be a list of strings, got {json_type(value)}{hint}", field=key, **where)
    for i, item in enumerate(value, start=1):
        if not isinstance(item, str):
            shown = json.dumps(item, ensure_ascii=False)[:40]
            hint = (f'; write it as a string: "{shown}"' if isinstance(item, int | float)
                    and not isinstance(item, bool) else "")
            raise InputError(f"must be a list of strings: item {i} is not a string: {shown} "
                             f"({json_type(item)}){hint}", field=key, **where)
    return _unique(value)


def _unique(values: list[str]) -> list[str]:
    out: list[str] = []
    for v in values:
        v = v.strip()
        if v and v not in out:
            out.append(v)
    return out


def _check_unique(qid: str, seen: dict[Any, Any], where: dict, key: str) -> None:
    """`qid` is new in the file; one written before in another Unicode normalisation ("café" composed and
    decomposed: two questions that print alike, and runs keyed by either) is refused too, as KBs refuse it."""
    import unicodedata

    if qid in seen:
        raise InputError(f"duplicate id {qid!r} (first at {seen[qid]})", field=key, **where)
    composed = ("NFC", unicodedata.normalize("NFC", qid))
    if composed in seen:
        first = seen[composed]
        raise InputError(f"id {ascii(qid)} is {ascii(first)} (at {seen[first]}) written in another Unicode "
                         "normalisation (composed vs decomposed accents); give each question one id",
                         field=key, **where)
    record = where["record"]
    seen[qid] = f"line {record}" if isinstance(record, int) else str(record)
    seen[composed] = qid


def _check_question_image(image: str | None, where: dict, key: str, check: bool, *,
                          relative: bool = False) -> None:
    """With `check`, `image` names an image file; `relative`: it was written relative to the questions
    file's folder (or `images_dir`), which the message then says (not to the current folder)."""
    if check and image is not None and is_folder(image):  # was "not found"
        raise InputError(f"image {image} is a folder, not an image file", field=key, **where)
    if check and image is not None and not is_file(image):
        how = " (a relative image path is read from the questions file's folder)" if relative else ""
        raise InputError(f"image not found: {image}{how}", field=key, **where)


# --------------------------------------------------------------------------------------- detection


def detect_question_format(path: str | Path) -> str:
    """Pick the question layout of `path`: `.csv` -> evqa, else from the keys of the first JSON row."""
    path = existing_file(path)
    if path.suffix.lower() == ".csv":
        return "evqa"
    if path.suffix.lower() in (".tsv", ".tab") and first_byte(path) not in (b"{", b"[", b""):
        # read as JSON lines: "line 1: invalid JSON (Expecting value at column 1)" said nothing of why
        raise InputError("a tab-separated file is not a questions layout kvqae reads: write JSON lines (one "
                         '{"id", "question", "answers": [...]} object per line), a JSON list of them, or an '
                         "Encyclopedic-VQA .csv", path=path)
    obj = first_json_row(path)
    if obj is None:
        raise InputError("no questions in file (an empty JSON list)", path=path)
    if "input" in obj and "output" in obj:
        return "viquae"
    if "data_id" in obj:
        return "infoseek"
    if "question" not in obj and "answers" not in obj:
        # a run, an articles or a predictions file said 'line 1: field "id" (or "question"): missing field'
        keys = ", ".join(sorted(str(k) for k in obj)[:8]) or "none"
        raise InputError(
            f'not a questions file: its first row has neither "question" nor "answers" (its keys: {keys}); '
            "expected kvqae, ViQuAE or InfoSeek rows, or an Encyclopedic-VQA .csv",
            path=path,
        )
    return "kvqae"


def load_questions(
    path: str | Path,
    fmt: str = "auto",
    *,
    images_dir: str | Path | None = None,
    check_images: bool = False,
) -> list[Question]:
    """Read every question of `path` in file order (see the module docstring for layouts).

    `images_dir`: where image names/ids are resolved (viquae, infoseek, evqa). `check_images=True` makes a
    question image that does not exist an InputError (otherwise it is recorded as given).
    """
    path = Path(path)
    if fmt == "auto":
        fmt = detect_question_format(path)
    readers = {"kvqae": _read_kvqae, "viquae": _read_viquae, "infoseek": _read_infoseek, "evqa": _read_evqa}
    if fmt not in readers:
        raise InputError(
            f"unknown questions format {fmt!r} (--format takes auto, {', '.join(QUESTION_FORMATS)})",
            path=path,
        )
    base = None if images_dir is None else Path(images_dir).resolve()
    return list(readers[fmt](path, base, check_images))


# ----------------------------------------------------------------------------------------- readers


_KVQAE_KEYS = ("id", "question", "image", "answers", "entity", "question_type", "answer_eval", "meta")


def _read_kvqae(path: Path, images_dir: Path | None, check: bool) -> Iterator[Question]:
    seen: dict[Any, Any] = {}
    folder = path.parent.resolve()
    for obj, where in read_json_rows(path):
        check_misspelt_keys(obj, _KVQAE_KEYS, "kvqae questions", where)  # "imgae": read without its photo
        qid = _get_id(obj, "id", where)
        _check_unique(qid, seen, where, "id")
        text = _get_question(obj, "question", where)
        if "answers" not in obj:  # "missing field" left a user without gold answers nowhere to go
            raise InputError('missing field (write "answers": [] for a question whose answer is not known: '
                             "it is answered, and scores 0 when evaluated)", field="answers", **where)
        answers = _str_list(obj["answers"], "answers", where)
        if obj["answers"] and not answers:  # [""] was read as [], silently: a question no answer can match
            raise InputError('every answer is empty (write "answers": [] for a question whose answer is not '
                             "known)", field="answers", **where)
        image_value = _get_str(obj, "image", where, required=False)
        image = None
        if image_value is not None and is_address(image_value):
            if check:  # an image mode would open it: was "image file not found" at encoding, mangled
                raise InputError(f"image {image_value!r} is an address, not a file path: kvqae fetches "
                                 "nothing; download the photo and give its path relative to the questions "
                                 "file", field="image", **where)
            image = image_value  # as written (a text mode never opens it)
        elif image_value is not None:
            image = (
                str((images_dir or folder) / image_value) if not os.path.isabs(image_value) else image_value
            )
            image = os.path.normpath(image)
            _check_question_image(image, where, "image", check, relative=not os.path.isabs(image_value))
        answer_eval = obj.get("answer_eval")
        if answer_eval is not None and not isinstance(answer_eval, list):
            raise InputError("must be a list or null", field="answer_eval", **where)
        _check_infoseek_eval(answer_eval or [], where)  # the layout `questions convert` writes, too
        meta = obj.get("meta")
        meta = {} if meta is None else meta  # [] and false were read as {} too
        if not isinstance(meta, dict):
            raise InputError(f"must be an object, got {json_type(meta)}", field="meta", **where)
        yield Question(
            id=qid,
            question=text,
            image=image,
            answers=answers,
            entity=_get_str(obj, "entity", where, required=False),
            question_type=_get_str(obj, "question_type", where, required=False),
            answer_eval=answer_eval,
            meta=meta,
        )


def _read_viquae(path: Path, images_dir: Path | None, check: bool) -> Iterator[Question]:
    seen: dict[Any, Any] = {}
    base = images_dir or path.parent.resolve()
    for obj, where in read_json_rows(path):
        qid = _get_id(obj, "id", where)
        _check_unique(qid, seen, where, "id")
        text = _get_question(obj, "input", where)
        if "output" not in obj:
            raise InputError("missing field", field="output", **where)
        outputs = obj["output"]
        outputs = [outputs] if isinstance(outputs, dict) else outputs
        if not isinstance(outputs, list) or not outputs or not all(isinstance(o, dict) for o in outputs):
            raise InputError("must be an object (or a list of objects)", field="output", **where)
        answers: list[str] = []
        originals: list[str] = []
        aliases: list[str] = []
        for out in outputs:
            original = _get_str(out, "original_answer", where, required=False)
            if original is not None:
                originals.append(original)
                answers.append(original)
            if "answer" in out and out["answer"] is not None:
                raw = out["answer"]
                answers.extend(_str_list([raw] if isinstance(raw, str) else raw, "output.answer", where))
            if out.get("normalized_aliases") is not None:
                aliases.extend(_str_list(out["normalized_aliases"], "output.normalized_aliases", where))
        answers = _unique(answers)
        if not answers:
            raise InputError("no answer (original_answer or answer)", field="output", **where)
        image_name = _get_str(obj, "image", where, required=False)
        image = None if image_name is None else os.path.normpath(str(base / image_name))
        _check_question_image(image, where, "image", check)
        meta: dict[str, Any] = {"original_answer": originals[0] if originals else answers[0]}
        if aliases:
            meta["normalized_aliases"] = _unique(aliases)
        yield Question(
            id=qid,
            question=text,
            image=image,
            answers=answers,
            entity=_get_str(obj, "wikidata_id", where, required=False),
            meta=meta,
        )


def _read_infoseek(path: Path, images_dir: Path | None, check: bool) -> Iterator[Question]:
    seen: dict[Any, Any] = {}
    for obj, where in read_json_rows(path):
        qid = _get_id(obj, "data_id", where)
        _check_unique(qid, seen, where, "data_id")
        text = _get_question(obj, "question", where)
        if "answer" not in obj:
            raise InputError("missing field", field="answer", **where)
        raw = obj["answer"]
        answers = _str_list([raw] if isinstance(raw, str) else raw, "answer", where)
        answer_eval = obj.get("answer_eval")
        if answer_eval is not None and not isinstance(answer_eval, list):
            raise InputError("must be a list", field="answer_eval", **where)
        _check_infoseek_eval(answer_eval or [], where)
        image_id = _get_str(obj, "image_id", where, required=False)
        image = None
        if image_id is not None and images_dir is not None:
            image = str(images_dir / f"{image_id}.jpg")
            _check_question_image(image, where, "image_id", check)
        meta = {k: obj[k] for k in ("image_id", "data_split", "entity_text") if isinstance(obj.get(k), str)}
        yield Question(
            id=qid,
            question=text,
            image=image,
            answers=answers,
            entity=_get_str(obj, "entity_id", where, required=False),
            question_type=_get_str(obj, "question_type", where, required=False),
            answer_eval=answer_eval,
            meta=meta,
        )


def _check_infoseek_eval(values: list, where: dict) -> None:
    """InfoSeek's `answer_eval` holds strings (aliases, numbers, years as written), numbers, or Numerical
    `{"wikidata", "range"}` objects; anything else (null, a nested list) was matched as its `str()`: "None"
    scored as a right answer."""
    for i, value in enumerate(values):
        # a NaN or infinite number was read from a bare NaN / Infinity and matched the prediction "nan"
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = (isinstance(value, str) or number
              or (isinstance(value, dict) and set(value) <= {"wikidata", "range"} and value))
        if not ok:
            raise InputError(f"item {i} must be a string, a finite number or a {{\"wikidata\", \"range\"}} "
                             f"object, got {value if isinstance(value, float) else json_type(value)}",
                             field="answer_eval", **where)


_EVQA_REQUIRED = ("question", "answer")


def _evqa_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, row) of an Encyclopedic-VQA CSV file (UTF-8, BOM allowed); CSV and encoding problems
    are InputErrors naming the line."""
    if not first_byte(existing_file(path)):
        raise InputError("file is empty", path=path)
    with path.open(encoding="utf-8-sig", newline="") as f:
        # strict: a quote never closed is an error at the end of the file (not the rest of the file read
        # into one field), and so is a quoted field closed before other text ("a"b, a stray quote closed by
        # a later field's opening quote)
        reader = csv.DictReader(f, strict=True)
        try:
            # "question, answer": the columns are named without the spaces around them ("answer" was missing)
            names = [name.strip() for name in reader.fieldnames or []]
            reader.fieldnames = names
            for column in _EVQA_REQUIRED:
                if column not in names:
                    raise InputError("missing column", path=path, record=1, field=column)
            twice = next((name for name in names if name and names.count(name) > 1), None)
            if twice is not None:  # DictReader keeps the last column of a name: the first was dropped
                raise InputError("column given twice in the header", path=path, record=1, field=twice)
            for row in reader:
                # The row's last physical line: exact for the usual single-line rows.
                yield reader.line_num, row
        except UnicodeDecodeError:
            raise _utf8_error(path) from None
        except csv.Error as e:
            # the csv reader's own count: DictReader's stays at the last row it returned
            raise _csv_error(path, e, reader.reader.line_num) from None


def _csv_error(path: Path, err: csv.Error, line_num: int) -> InputError:
    """The error for `err` of the CSV reader at `line_num`, naming the line where the quoted field at fault
    starts: the reader stops at the end of the file, at its field size limit or at a later field's quote, far
    from it."""
    try:
        found = _quote_fault(path)
    except UnicodeDecodeError:  # text that is not UTF-8 soon after the error: the reader's line only
        found = None
    if found is not None and found[0] <= line_num:
        opened, never_closed = found
        if never_closed:
            return InputError(
                "malformed CSV: the quoted field that starts on this line is never closed (its closing '\"' "
                'is missing; a quote inside a quoted field is written twice: "")',
                path=path,
                record=opened,
            )
        if opened < line_num:
            return InputError(f"malformed CSV ({err}) in the quoted field that starts at line {opened}",
                              path=path, record=line_num)
    return InputError(f"malformed CSV ({err})", path=path, record=line_num)


def _quote_fault(path: Path) -> tuple[int, bool] | None:
    """(line, never closed) of the quoted field that stops a strict CSV reader: the one still open at the end
    of the file (True), or the first one closed by a quote followed by other text than a comma or a line end
    (False); None when there is none. Follows the csv module's default dialect (`,` and `"`, a quote doubled
    inside quotes)."""
    state, opened = "start", 0  # at the start of a field, in an unquoted field, quoted, a quote in quoted
    with path.open(encoding="utf-8-sig", newline="") as f:
        for lineno, line in enumerate(f, start=1):
            if '"' not in line:  # a line starts at the start of a field or inside quotes; it ends as it began
                continue
            for c in line:
                if state == "quote":  # the quote just seen closed the field unless another one follows
                    if c == '"':
                        state = "quoted"
                        continue
                    if c not in ",\r\n":
                        return opened, False
                    state = "start"
                if state == "quoted":
                    if c == '"':
                        state = "quote"
                elif c == '"' and state == "start":
                    state, opened = "quoted", lineno
                elif c in ",\r\n":
                    state = "start"
                else:
                    state = "field"
    return (opened, True) if state == "quoted" else None


def _utf8_error(path: Path) -> InputError:
    """The error naming the first line of `path` that is not UTF-8 (the CSV reader decodes ahead in blocks,
    so its line count does not say where)."""
    with path.open("rb") as f:
        for lineno, raw in enumerate(f, start=1):
            try:
                decode_utf8(raw, path, lineno)
            except InputError as e:
                return e
    return InputError("not UTF-8 text", path=path)


def _evqa_question(row: dict[str, Any], index: int, where: dict, images_dir: Path | None) -> Question:
    if None in row:
        raise InputError("more values than header columns", **where)
    raw = row.get("question") or ""
    if not raw.strip():
        raise InputError("must not be empty", field="question", **where)
    text = _check_visible(raw, "question", where)
    answers = _unique((row.get("answer") or "").split("|"))
    if not answers:
        raise InputError("must not be empty", field="answer", **where)
    image_ids = [s.strip() for s in (row.get("dataset_image_ids") or "").split("|") if s.strip()]
    image = None if not image_ids or images_dir is None else str(images_dir / f"{image_ids[0]}.jpg")
    title = (row.get("wikipedia_title") or "").strip()
    meta: dict[str, Any] = {"dataset_image_ids": image_ids}
    for key in ("wikipedia_title", "wikipedia_url", "dataset_name", "encyclopedic_vqa_split"):
        if (row.get(key) or "").strip():
            meta[key] = row[key].strip()
    qid = (row.get("id") or "").strip() or str(index)
    check_id_chars(qid, "id", where)  # as the JSON readers do: a tab in an id cannot go into a run file
    check_visible_id(qid, "id", where)
    return Question(
        id=qid,
        question=text,
        image=image,
        answers=answers,
        entity=title_to_id(title) if title else None,  # the KB's rule: "Apollo  11" -> "Apollo_11"
        question_type=(row.get("question_type") or "").strip() or None,
        meta=meta,
    )


def _read_evqa(path: Path, images_dir: Path | None, check: bool) -> Iterator[Question]:
    seen: dict[Any, Any] = {}
    for index, (lineno, row) in enumerate(_evqa_rows(path)):
        where = _where(path, lineno)
        question = _evqa_question(row, index, where, images_dir)
        _check_unique(question.id, seen, where, "id")
        _check_question_image(question.image, where, "dataset_image_ids", check)
        yield question


# ----------------------------------------------------------------------------------------- writing


def question_to_row(q: Question, folder: Path | None = None) -> dict[str, Any]:
    """kvqae JSONL row of a question; the image is written relative to `folder` when it lies inside it."""
    row: dict[str, Any] = {"id": q.id, "question": q.question, "answers": list(q.answers)}
    if q.image is not None:
        image = q.image
        if folder is not None:
            absolute = Path(image).resolve()
            if absolute.is_relative_to(folder.resolve()):
                image = absolute.relative_to(folder.resolve()).as_posix()
        row["image"] = image
    for key in ("entity", "question_type", "answer_eval"):
        value = getattr(q, key)
        if value is not None:
            row[key] = value
    if q.meta:
        row["meta"] = q.meta
    return row


def save_questions(path: str | Path, questions: list[Question]) -> Path:
    """Write `questions` as kvqae JSON lines (atomically); images inside the file's folder become relative."""
    from kvqae.io import write_jsonl

    path = Path(path)
    write_jsonl(path, [question_to_row(q, path.parent) for q in questions])
    return path

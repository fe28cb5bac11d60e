"""Runs: for each query, the retrieved ids with their raw scores.

Two on-disk formats, chosen by extension:
- TREC (`.trec`, `.txt`, `.run`): `qid Q0 docid rank score name`, one line per retrieved id; the rank is a
  non-negative integer, the score a finite number (not NaN nor +-inf), a document at most once per query.
- JSON (`.json`): `{"name": str, "level": "entity"|"passage", "run": {qid: {docid: score}}}`; a query or a
  document of a query given twice is an error (not silently the last one); scores are finite numbers.
Raw scores are kept so fusion can be fit later without searching again.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvqae.errors import InputError
from kvqae.io import (
    CONTROL_CHARS,
    atomic_path,
    binary_lines,
    check_id_chars,
    decode_utf8,
    existing_file,
    first_byte,
    json_type,
    read_json,
)

TREC_SUFFIXES = {".trec", ".txt", ".run"}  # any case: "r.TREC" too
UNKNOWN_FORMAT = "unknown run format: use .json, or .trec, .txt or .run for a TREC run"


@dataclass
class Run:
    """Retrieval results: `scores[qid][docid] = raw score` (higher is better)."""

    scores: dict[str, dict[str, float]]
    name: str = "run"
    level: str = "passage"  # "entity" or "passage": what the doc ids refer to
    meta: dict = field(default_factory=dict)
    # the file `Run.load` read this run from (None: made in memory), so that errors found later (a passage
    # the KB lacks) name the file to fix rather than the run's name; never saved, not compared
    source: str | None = field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return len(self.scores)

    def query_ids(self) -> list[str]:
        return list(self.scores)

    def ranked(self, qid: str, k: int | None = None) -> list[tuple[str, float]]:
        """(docid, score) pairs of one query, best first; ties broken by docid for determinism."""
        items = sorted(self.scores.get(qid, {}).items(), key=lambda kv: (-kv[1], kv[0]))
        return items if k is None else items[:k]

    def top_k(self, k: int) -> Run:
        return Run({q: dict(self.ranked(q, k)) for q in self.scores}, self.name, self.level, dict(self.meta),
                   self.source)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        with atomic_path(path) as tmp:
            if path.suffix.lower() in TREC_SUFFIXES:
                _check_trec_token(self.name, "run name", path)
                with tmp.open("w", encoding="utf-8") as f:
                    for qid in self.scores:
                        _check_trec_token(qid, "query id", path)
                        for rank, (docid, score) in enumerate(self.ranked(qid), start=1):
                            _check_trec_token(docid, "document id", path)
                            f.write(f"{qid} Q0 {docid} {rank} {score!r} {self.name}\n")
            elif path.suffix.lower() == ".json":
                payload = {"name": self.name, "level": self.level, "meta": self.meta, "run": self.scores}
                tmp.write_text(json.dumps(payload), encoding="utf-8")
            else:
                raise InputError(UNKNOWN_FORMAT, path=path)
        return path

    @classmethod
    def load(cls, path: str | Path, *, level: str | None = None) -> Run:
        path = existing_file(path, "run file")
        if path.suffix.lower() == ".json":
            run = _load_json(path, level)
        elif path.suffix.lower() in TREC_SUFFIXES:
            run = _load_trec(path, level)
        else:
            raise InputError(UNKNOWN_FORMAT, path=path)
        run.source = str(path)
        return run

    @classmethod
    def from_mapping(
        cls, scores: Mapping[str, Mapping[str, float]], name: str = "run", level: str = "passage"
    ) -> Run:
        return cls(
            {str(q): {str(d): float(s) for d, s in docs.items()} for q, docs in scores.items()}, name, level
        )


LEVELS = ("entity", "passage")
_INTEGER = re.compile(r"[0-9]+")


def unknown_passage(run: Any, query: str, passage_id: str) -> InputError:
    """The error for a passage id of `run` (a `Run`, or None) that the KB lacks: it names the file the run was
    loaded from (the run's name when it was made in memory), the query and the passage id."""
    source, name = getattr(run, "source", None), getattr(run, "name", None)
    also = f" (run {name!r})" if source is not None and name is not None else ""
    return InputError(f"passage id {passage_id!r} is not in the KB{also}", path=source or name,
                      record=f"query {query}")


class _Pairs(list):
    """A JSON object kept as its (key, value) pairs, so that a key given twice can be reported."""


_BLANK = re.compile(r"\s")


def _check_trec_token(value: str, what: str, path: Path) -> None:
    """A TREC line is split on whitespace: a name or id holding a space (or nothing) would shift its columns
    and make the file unreadable, so it is refused before the file is written."""
    if not value or _BLANK.search(value):
        raise InputError(f"{what} {value!r} is empty or holds whitespace, which a TREC run cannot store; "
                         "write a .json run instead", path=path)


def check_saveable(path: str | Path, name: str, query_ids: Iterable[str], doc_ids: Iterable[str]) -> None:
    """What `Run.save(path)` would refuse, checked before any work: an unknown suffix, or for a TREC run a
    name or id holding whitespace (a command writing two outputs then fails before writing the first)."""
    path = Path(path)
    if path.suffix.lower() in TREC_SUFFIXES:
        _check_trec_token(name, "run name", path)
        for qid in query_ids:
            _check_trec_token(qid, "query id", path)
        for docid in doc_ids:
            _check_trec_token(docid, "document id", path)
    elif path.suffix.lower() != ".json":
        raise InputError(UNKNOWN_FORMAT, path=path)


def _unique(
    pairs: Any, path: Path, record: str | None, what: str, field: str | None = "run"
) -> dict[str, Any]:
    """The mapping of a JSON object read as `_Pairs`; a repeated key is an InputError."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise InputError(f"{what} {key!r} appears twice", path=path, record=record, field=field)
        out[key] = value
    return out


def _plain(value: Any) -> Any:
    """`value` with every `_Pairs` turned back into a dict (the last of repeated keys wins)."""
    if isinstance(value, _Pairs):
        return {k: _plain(v) for k, v in value}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class _Overflowed(float):
    """A JSON number too large for a float (`1e400`), read as +-inf but keeping its text, so that the error
    says it overflows (Python's JSON reads the literal `Infinity` otherwise, without `parse_float`)."""

    text: str

    def __new__(cls, text: str) -> _Overflowed:
        number = super().__new__(cls, text)
        number.text = text
        return number


def _json_float(text: str) -> float:
    """`parse_float` of JSON runs: the float, or `_Overflowed` when the number is beyond float range."""
    number = float(text)
    return _Overflowed(text) if math.isinf(number) else number


def _overflow(text: str, docid: str, path: Path, record: str | int) -> InputError:
    """The error for a score written as a number too large for a float (a 400-digit integer, `1e400`): it
    is a number, so "not a number" misled."""
    shown = text if len(text) <= 24 else f"{text[:12]}..., {len(text)} characters"
    return InputError(f"score of {docid!r} ({shown}) overflows a float: its magnitude is beyond the largest "
                      "float (about 1.8e308); rescale the scores", path=path, record=record, field="score")


def _score(value: Any, docid: str, path: Path, record: str | int) -> float:
    """A raw score as a finite float: never NaN, +-inf, a bool or a string. Infinities are refused like NaN:
    every use of the scores (z-scores, fusion, re-ranking) subtracts them, giving NaN and numpy warnings."""
    if isinstance(value, _Overflowed):
        raise _overflow(value.text, docid, path, record)
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range: a number all the same
            raise _overflow(str(value), docid, path, record) from None
    if number is None or math.isnan(number):
        raise InputError(f"score of {docid!r} is not a number", path=path, record=record, field="score")
    if math.isinf(number):
        raise InputError(f"score of {docid!r} is not finite ({number})", path=path, record=record,
                         field="score")
    return number


def _check_level(level: Any, path: Path) -> str:
    if level not in LEVELS:
        raise InputError(f"must be one of {list(LEVELS)}, got {level!r}", path=path, field="level")
    return level


def _check_id(value: str, field: str, where: dict[str, Any]) -> None:
    """A JSON run's query or document id is not empty, holds no control character (a TREC run could not
    store it, and errors would print it raw) and no space at either end."""
    if not value.strip():
        raise InputError("an empty id", field=field, **where)
    check_id_chars(value, field, where)
    if value != value.strip():  # questions' ids are read stripped and KB ids hold no space: it matched none
        raise InputError(f"id {value!r} begins or ends with a space, so it matches no question or KB id "
                         "(those are read without surrounding spaces); remove the spaces",
                         field=field, **where)


def _load_json(path: Path, level: str | None) -> Run:
    payload = read_json(path, "run file", object_pairs_hook=_Pairs, parse_float=_json_float)
    if not isinstance(payload, _Pairs):
        raise InputError("expected an object with a 'run' mapping", path=path, field="run")
    top = _unique(payload, path, None, "key", field=None)
    if not isinstance(top.get("run"), _Pairs):
        raise InputError("expected an object with a 'run' mapping", path=path, field="run")
    scores: dict[str, dict[str, float]] = {}
    for qid, docs in _unique(top["run"], path, None, "query").items():
        _check_id(qid, "query", {"path": path, "record": f"query {qid!r}"})
        record = f"query {qid}"
        if not isinstance(docs, _Pairs):
            raise InputError("expected a mapping docid -> score", path=path, record=record, field="run")
        row = _unique(docs, path, record, "document")
        for docid in row:
            _check_id(docid, "document", {"path": path, "record": record})
        scores[qid] = {docid: _score(v, docid, path, record) for docid, v in row.items()}
    name = top.get("name", path.stem)
    if not isinstance(name, str):
        raise InputError(f"must be a string, got {json_type(name)}", path=path, field="name")
    if found := CONTROL_CHARS.search(name) or _INVISIBLE_NAME_CHARS.search(name):
        # a line break split the report's table rows; a NUL went raw into report.md and report.tex
        raise InputError(f"run name {name[:60]!r} holds the character {found.group()!r}, which the report's "
                         "tables cannot show; rename the run", path=path, field="name")
    return Run(scores, name, _check_level(level or top.get("level", "passage"), path), _meta(top, path))


# a direction control turns the rest of a report's row round
_INVISIBLE_NAME_CHARS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _meta(top: dict[str, Any], path: Path) -> dict[str, Any]:
    """The optional `meta` object of a JSON run, as plain dicts."""
    try:
        meta = _plain(top.get("meta")) if top.get("meta") is not None else {}
    except RecursionError:
        raise InputError("nested too deeply", path=path, field="meta") from None
    if not isinstance(meta, dict):
        raise InputError(f"must be an object, got {json_type(meta)}", path=path, field="meta")
    return meta


def _trec_line(parts: list[str], path: Path, lineno: int) -> tuple[str, str, float]:
    """(qid, docid, score) of one split TREC line: 6 columns, an integer rank, a numeric score."""
    if len(parts) != 6:
        raise InputError("expected 6 columns: qid Q0 docid rank score name", path=path, record=lineno)
    qid, _, docid, rank, score, _ = parts
    if not _INTEGER.fullmatch(rank):
        raise InputError(
            f"rank {rank!r} is not a non-negative integer", path=path, record=lineno, field="rank"
        )
    try:  # Python's float() also reads "1_000", which no TREC tool writes or reads: refused
        value = float(score) if "_" not in score else math.nan
    except ValueError:
        value = math.nan
    if math.isnan(value):
        raise InputError(f"score {score!r} is not a number", path=path, record=lineno, field="score")
    if math.isinf(value) and score.lstrip("+-").lower() not in ("inf", "infinity"):
        raise _overflow(score, docid, path, lineno)  # "1e400", 400 digits: float() gave inf, not an error
    if math.isinf(value):  # refused like NaN (see `_score`)
        raise InputError(f"score of {docid!r} for query {qid!r} is not finite ({score})", path=path,
                         record=lineno, field="score")
    return qid, docid, value


def _trec_lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(line number, columns) of each non-blank line of a UTF-8 text file (BOM allowed), read line by line."""
    with path.open("rb") as f:
        for lineno, raw in binary_lines(f):
            parts = decode_utf8(raw, path, lineno).split()
            if parts:
                yield lineno, parts


def _load_trec(path: Path, level: str | None) -> Run:
    if not first_byte(path):
        raise InputError("file is empty", path=path)
    scores: dict[str, dict[str, float]] = {}
    ranks: dict[str, list[tuple[tuple[int, str], float, str, int]]] = {}
    name, first = path.stem, None
    for lineno, parts in _trec_lines(path):
        qid, docid, value = _trec_line(parts, path, lineno)
        ranks.setdefault(qid, []).append((_rank_key(parts[3]), value, docid, lineno))
        if first is None:
            name, first = parts[5], lineno
        elif parts[5] != name:  # two runs in one file (`cat a.trec b.trec`): one would take the other's name
            raise InputError(f"run name {parts[5]!r} differs from {name!r} of line {first}: a TREC file "
                             "holds one run; split the runs into one file each", path=path, record=lineno,
                             field="name")
        row = scores.setdefault(qid, {})
        if docid in row:
            raise InputError(
                f"document {docid!r} appears twice for query {qid!r}", path=path, record=lineno, field="docid"
            )
        row[docid] = value
    _check_rank_order(ranks, path)
    return Run(scores, name, _check_level(level or "passage", path))


def _rank_key(rank: str) -> tuple[int, str]:
    """A sort key of a TREC rank (ASCII digits) in numeric order, without int(): a 5,000-digit rank is over
    Python's conversion limit."""
    digits = rank.lstrip("0") or "0"
    return len(digits), digits


def _check_rank_order(ranks: dict[str, list[tuple[tuple[int, str], float, str, int]]], path: Path) -> None:
    """Whether the file's ranks and scores give opposite orders: over every query's (rank, score, docid,
    line), sorted by rank, no score falls from one rank to the next and some rise. That is a run of
    distances (lower is better) written as scores: kvqae ranks by score, higher first, as trec_eval does, so
    it was read upside down without a word. Ties, repeated ranks and a few rises among falls (a re-ranker
    that kept the first stage's ranks) are no contradiction: trec_eval reads those by score too."""
    first_rise = None
    for qid, lines in ranks.items():
        lines = sorted(lines)
        for above, below in zip(lines, lines[1:], strict=False):
            if above[0] == below[0] or above[1] == below[1]:
                continue
            if below[1] < above[1]:
                return  # the scores fall with the rank somewhere: the file's order is the scores'
            if first_rise is None:
                first_rise = (qid, above, below)
    if first_rise is not None:
        qid, above, below = first_rise
        raise InputError(
            f"query {qid!r}: document {below[2]!r} at rank {below[0][1]} scores {below[1]!r}, more than "
            f"{above[2]!r} at rank {above[0][1]} ({above[1]!r}), and no score in the file falls as the rank "
            "grows: the ranks and the scores give opposite orders; kvqae ranks by score, higher first (as "
            "trec_eval does): for distances (lower is better) write the negated distance as the score",
            path=path, record=below[3], field="score")

"""Fuzz every input reader: whatever the bytes, reading ends in success or in one InputError.

Inputs are generated two ways: structurally plausible files (the right keys with wrong types or values,
missing fields, unicode, a UTF-8 BOM, lines over 64 KiB, duplicate ids, NaN/inf, negative and huge
numbers, JSON lines or a JSON list) mutated at the byte level (truncated, bytes inserted), and raw
random bytes. Each test writes its files under a fresh temporary folder per example.

Readers: articles (jsonl, viquae, mediawiki, auto; the types file), questions (kvqae, viquae, infoseek,
evqa, auto), runs (JSON, TREC), predictions, qrels, embeddings directories (meta.json, ids.json,
vectors.npy), fusion weights files (loaded and applied) and pipeline YAML. The default suite generates
MAX_EXAMPLES_TOTAL (630) cases in about 15 s; KVQAE_FUZZ_SCALE=10 generates ten times as many.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from kvqae.data.articles import load_type_table, read_articles
from kvqae.data.questions import load_questions
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.evaluate.predictions import load_predictions
from kvqae.evaluate.relevance import load_qrels
from kvqae.fusion.search import apply_weights
from kvqae.index.embeddings import read_embeddings
from kvqae.pipeline import load_pipeline_config

BOM = b"\xef\xbb\xbf"
MISSING = object()  # a field left out of a generated record


# KVQAE_FUZZ_SCALE=10 runs ten times as many cases; KVQAE_FUZZ_SHRINK=1 shrinks a failing case (slow with
# the 75 KB lines, so the default suite reports the case as generated).
SCALE = float(os.environ.get("KVQAE_FUZZ_SCALE", "1"))
PHASES = [Phase.explicit, Phase.reuse, Phase.generate] + (
    [Phase.shrink] if os.environ.get("KVQAE_FUZZ_SHRINK") else []
)


def fuzz(n: int) -> settings:
    """Hypothesis settings of one fuzz test: `n` examples (times SCALE), no deadline, no database on disk."""
    return settings(
        max_examples=max(1, round(n * SCALE)),
        deadline=None,
        database=None,
        phases=PHASES,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


EXAMPLES = {  # generated cases per test: 630 in all, about 15 s on one core
    "articles": 80,
    "mediawiki": 40,
    "types": 20,
    "questions": 80,
    "evqa": 40,
    "runs_json": 50,
    "runs_trec": 40,
    "predictions": 30,
    "qrels": 20,
    "embeddings": 40,
    "weights": 40,
    "pipeline": 50,
    "raw": 100,
}
MAX_EXAMPLES_TOTAL = sum(EXAMPLES.values())


def expect_input_error_or_success(read: Callable[[], Any]) -> None:
    """Run `read`; an InputError must be one line (the CLI prints it as `error: ...`, exit 2). Anything else
    than an InputError propagates and fails the test."""
    try:
        read()
    except InputError as e:
        assert "\n" not in str(e) and "\r" not in str(e), repr(str(e))


def in_tmp(files: dict[str, bytes], read: Callable[[Path], Any]) -> None:
    """Write `files` into a fresh folder and check `read(folder)`."""
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        for name, data in files.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        expect_input_error_or_success(lambda: read(folder))


# ------------------------------------------------------------------------------------------ strategies

SPECIAL_TEXTS = [
    "",
    " ",
    "\n",
    "a b",
    "Q42",
    "é✓",
    "\ufeff",
    "\x00",
    "../x",
    "/",
    ".",
    "x" * 300,
    "a/" * 3000,
]
texts = st.text(max_size=12) | st.sampled_from(SPECIAL_TEXTS)
names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True) | st.sampled_from(
    ["é✓", "Q42", "x" * 300]
)
numbers = (
    st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, -1, 10**400, 1e308])
)
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def record(draw: st.DrawFn, fields: dict[str, st.SearchStrategy]) -> dict[str, Any]:
    """A JSON object with these keys and well-typed values, then up to two fields spoilt (any JSON value, or
    left out), plus maybe a stray key: most records get far into validation before they fail, if they do."""
    out = {key: draw(strategy) for key, strategy in fields.items()}
    for key in draw(st.lists(st.sampled_from(list(fields)), max_size=2, unique=True)):
        value = draw(json_values | st.just(MISSING))
        if value is MISSING:
            del out[key]
        else:
            out[key] = value
    out.update(draw(st.dictionaries(texts, json_values, max_size=1)))
    return out


def dumps(value: Any, ascii_only: bool) -> str:
    """JSON text; numbers too long for Python's int->str limit become a 5,000-digit literal."""
    try:
        return json.dumps(value, ensure_ascii=ascii_only)
    except ValueError:
        return "1" * 5000


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """`data` as is, with a BOM, truncated, with random bytes inserted, or with a huge line appended."""
    how = draw(st.sampled_from(["same", "bom", "truncate", "insert", "huge"]))
    if how == "bom":
        return BOM + data
    if how == "truncate":
        return data[: draw(st.integers(0, len(data)))]
    if how == "insert":
        at = draw(st.integers(0, len(data)))
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:]
    if how == "huge":
        return data + b'\n{"id": "h", "text": "' + b"x" * 70_000 + b'"}\n'
    return data


@st.composite
def json_rows_file(draw: st.DrawFn, rows: st.SearchStrategy) -> bytes:
    """A JSON-lines file or a JSON list of generated rows (first row repeated for duplicate ids), mutated."""
    items = draw(st.lists(rows, max_size=4))
    if items and draw(st.booleans()):
        items.append(items[0])
    ascii_only = draw(st.booleans())
    if draw(st.booleans()):
        text = "\n".join(dumps(r, ascii_only) for r in items) + draw(st.sampled_from(["", "\n", "\n\n  \n"]))
    else:
        text = "[" + ", ".join(dumps(r, ascii_only) for r in items) + "]"
    return draw(mutated(text.encode("utf-8", "surrogatepass")))


prose = names | st.just("word " * 15_000)  # a 75 KB article on one line
paths = names | texts  # image paths: plain names, then "", "..", NUL, 300-character names...
ARTICLE = record(
    {
        "id": names,
        "title": names,
        "text": prose,
        "image": st.none() | paths,
        "types": st.lists(texts, max_size=2),
        "wikidata_id": st.none() | names,
    }
)
VIQUAE_ARTICLE = record(
    {
        "wikipedia_title": names,
        "text": prose | st.fixed_dictionaries({"paragraph": st.lists(texts | json_values, max_size=3)}),
        "image": st.none() | paths,
        "wikidata_info": st.fixed_dictionaries({"wikidata_id": names, "types": st.lists(texts, max_size=2)}),
    }
)
answers = st.lists(names, min_size=1, max_size=3)
KVQAE_Q = record(
    {
        "id": names | st.integers(),
        "question": names,
        "answers": answers,
        "image": st.none() | paths,
        "entity": st.none() | names,
        "question_type": st.none() | names,
        "answer_eval": st.none() | st.lists(json_values, max_size=2),
        "meta": st.dictionaries(names, json_values, max_size=2),
    }
)
VIQUAE_Q = record(
    {
        "id": names | st.integers(),
        "input": names,
        "image": st.none() | paths,
        "wikidata_id": names,
        "output": record({"original_answer": names, "answer": answers, "normalized_aliases": answers}),
    }
)
INFOSEEK_Q = record(
    {
        "data_id": names | st.integers(),
        "question": names,
        "answer": answers | names,
        "answer_eval": st.lists(json_values, max_size=2),
        "question_type": names,
        "entity_id": names,
        "image_id": paths,
    }
)


# ------------------------------------------------------------------------------------------------ tests


@fuzz(EXAMPLES["articles"])
@given(
    data=json_rows_file(ARTICLE | VIQUAE_ARTICLE),
    fmt=st.sampled_from(["auto", "jsonl", "viquae", "mediawiki"]),
    name=st.sampled_from(["articles.jsonl", "kb.json", "a.txt"]),
    check_images=st.booleans(),
)
def test_articles(data: bytes, fmt: str, name: str, check_images: bool) -> None:
    in_tmp({name: data}, lambda d: list(read_articles(d / name, fmt, check_images=check_images)))


PAGE_TEXT = st.sampled_from(
    [
        "{{Infobox|a=b}}",
        "[[Paris|the capital]]",
        "<ref>x</ref>",
        "== See also ==",
        "'''bold'''",
        "{{unclosed",
        "[[File:x.jpg|thumb]]",
        "<!-- c",
        "&amp;",
        "]]",
    ]
)


@st.composite
def mediawiki_file(draw: st.DrawFn) -> bytes:
    pages = []
    for _ in range(draw(st.integers(0, 3))):
        title = draw(texts)
        body = " ".join(draw(st.lists(PAGE_TEXT | texts, max_size=6)))
        parts = [f"<title>{_xml(title)}</title>", f"<ns>{draw(st.sampled_from(['0', '1', 'x', '']))}</ns>"]
        if draw(st.booleans()):
            parts.append('<redirect title="x"/>')
        parts.append(f"<revision><text>{_xml(body)}</text></revision>")
        pages.append("<page>" + "".join(parts) + "</page>")
    root = draw(st.sampled_from(["mediawiki", "other"]))
    return draw(mutated(f"<{root}>{''.join(pages)}</{root}>".encode("utf-8", "surrogatepass")))


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;")


@fuzz(EXAMPLES["mediawiki"])
@given(data=mediawiki_file(), name=st.sampled_from(["dump.xml", "dump.txt"]))
def test_mediawiki_articles(data: bytes, name: str) -> None:
    in_tmp({name: data}, lambda d: list(read_articles(d / name)))


@fuzz(EXAMPLES["types"])
@given(
    data=st.dictionaries(
        texts,
        st.lists(texts)
        | json_values
        | st.fixed_dictionaries({"instanceof": json_values, "wikipedia_title": texts}),
        max_size=3,
    )
    .map(lambda v: dumps(v, False).encode("utf-8", "surrogatepass"))
    .flatmap(mutated)
)
def test_types_file(data: bytes) -> None:
    in_tmp({"types.json": data}, lambda d: load_type_table(d / "types.json"))


@fuzz(EXAMPLES["questions"])
@given(
    data=json_rows_file(KVQAE_Q | VIQUAE_Q | INFOSEEK_Q),
    fmt=st.sampled_from(["auto", "kvqae", "viquae", "infoseek", "evqa"]),
    images_dir=st.booleans(),
    check_images=st.booleans(),
)
def test_questions(data: bytes, fmt: str, images_dir: bool, check_images: bool) -> None:
    def read(d: Path) -> None:
        load_questions(d / "q.jsonl", fmt, images_dir=d if images_dir else None, check_images=check_images)

    in_tmp({"q.jsonl": data}, read)


EVQA_COLUMNS = [
    "question",
    "answer",
    "dataset_image_ids",
    "wikipedia_title",
    "wikipedia_url",
    "question_type",
    "id",
    "dataset_name",
]


@st.composite
def evqa_file(draw: st.DrawFn) -> bytes:
    columns = draw(st.lists(st.sampled_from(EVQA_COLUMNS) | texts, max_size=6))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for _ in range(draw(st.integers(0, 3))):
        writer.writerow(draw(st.lists(texts | st.just("a|b||c"), max_size=len(columns) + 1)))
    return draw(mutated(buf.getvalue().encode("utf-8", "surrogatepass")))


@fuzz(EXAMPLES["evqa"])
@given(data=evqa_file(), fmt=st.sampled_from(["auto", "evqa"]), check_images=st.booleans())
def test_evqa_questions(data: bytes, fmt: str, check_images: bool) -> None:
    in_tmp(
        {"q.csv": data}, lambda d: load_questions(d / "q.csv", fmt, images_dir=d, check_images=check_images)
    )


def _object(pairs: list[tuple[str, str]]) -> str:
    """A JSON object from (key, JSON text) pairs, keys possibly repeated."""
    return "{" + ", ".join(f"{json.dumps(k)}: {v}" for k, v in pairs) + "}"


@st.composite
def json_run_file(draw: st.DrawFn) -> bytes:
    doc_ids = st.sampled_from(["d1", "d2", "d1"]) | texts
    queries = []
    for _ in range(draw(st.integers(0, 3))):
        docs = draw(
            st.lists(
                st.tuples(
                    doc_ids, numbers.map(lambda v: dumps(v, True)) | json_values.map(lambda v: dumps(v, True))
                ),
                max_size=4,
            )
        )
        queries.append(
            (
                draw(st.sampled_from(["q1", "q2"]) | texts),
                _object(docs) if draw(st.integers(0, 4)) else dumps(draw(json_values), True),
            )
        )
    pairs = [("run", _object(queries))] if draw(st.integers(0, 5)) else []
    for key in ("name", "level", "meta"):
        if draw(st.booleans()):
            good = {"name": texts, "level": st.sampled_from(["entity", "passage"]), "meta": st.just({})}[key]
            pairs.append((key, dumps(draw(good | json_values), True)))
    return draw(mutated(_object(pairs).encode()))


@fuzz(EXAMPLES["runs_json"])
@given(data=json_run_file(), level=st.sampled_from([None, "entity", "passage"]))
def test_json_runs(data: bytes, level: str | None) -> None:
    in_tmp({"run.json": data}, lambda d: Run.load(d / "run.json", level=level))


TREC_TOKEN = st.sampled_from(
    ["q1", "Q0", "d1", "1", "0", "-1", "1.5", "nan", "inf", "-inf", "1e999", "x", "٣"]
)


@st.composite
def trec_file(draw: st.DrawFn) -> bytes:
    lines = [
        " ".join(draw(st.lists(TREC_TOKEN | texts.filter(lambda t: t.strip()), min_size=4, max_size=7)))
        for _ in range(draw(st.integers(0, 4)))
    ]
    if lines and draw(st.booleans()):
        lines.append(lines[0])
    return draw(mutated("\n".join(lines).encode("utf-8", "surrogatepass")))


@fuzz(EXAMPLES["runs_trec"])
@given(data=trec_file(), name=st.sampled_from(["run.trec", "run.txt"]))
def test_trec_runs(data: bytes, name: str) -> None:
    in_tmp({name: data}, lambda d: Run.load(d / name))


PREDICTION = record(
    {
        "id": names | st.integers(),
        "answer": texts,
        "score": numbers,
        "passage_id": names,
        "start": numbers,
        "end": numbers,
    }
)


@fuzz(EXAMPLES["predictions"])
@given(data=json_rows_file(PREDICTION))
def test_predictions(data: bytes) -> None:
    in_tmp({"pred.jsonl": data}, lambda d: load_predictions(d / "pred.jsonl"))


@fuzz(EXAMPLES["qrels"])
@given(
    data=st.dictionaries(
        texts, st.dictionaries(texts, st.integers(-2, 3) | json_values, max_size=3) | json_values, max_size=3
    )
    .map(lambda v: dumps(v, True).encode())
    .flatmap(mutated)
)
def test_qrels(data: bytes) -> None:
    in_tmp({"qrels.json": data}, lambda d: load_qrels(d / "qrels.json"))


@st.composite
def embeddings_dir(draw: st.DrawFn) -> dict[str, bytes]:
    n, dim = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    meta = draw(
        record(
            {
                "encoder": texts,
                "dim": st.just(dim) | numbers,
                "count": st.just(n) | numbers,
                "missing": st.lists(texts, max_size=2),
            }
        )
    )
    ids = draw(st.lists(st.sampled_from(["a", "b", "a"]) | texts, min_size=n, max_size=n) | json_values)
    dtype = draw(st.sampled_from(["float32", "float64", "int64", "float16"]))
    values = np.asarray(
        draw(st.lists(st.floats(width=32), min_size=n * dim, max_size=n * dim)), dtype="float64"
    )
    with np.errstate(all="ignore"):
        vectors = values.astype(dtype)
    shape = draw(st.sampled_from([(n, dim), (n * dim,), (1, n, dim)]))
    buf = io.BytesIO()
    np.save(buf, vectors.reshape(shape))
    files = {
        "meta.json": dumps(meta, True).encode(),
        "ids.json": dumps(ids, True).encode(),
        "vectors.npy": buf.getvalue(),
    }
    victim = draw(st.sampled_from([None, *files]))
    if victim is not None:
        files[victim] = draw(mutated(files[victim]))
    return files


@fuzz(EXAMPLES["embeddings"])
@given(files=embeddings_dir(), allow_nan=st.booleans())
def test_embeddings(files: dict[str, bytes], allow_nan: bool) -> None:
    in_tmp(files, lambda d: read_embeddings(d, allow_nan=allow_nan))


RUNS = [
    Run({"q1": {"d1": 1.0, "d2": 0.5}, "q2": {"d3": 2.0}}, "text"),
    Run({"q1": {"d2": 3.0}, "q2": {"d3": 1.0, "d4": 0.0}}, "image"),
]
WEIGHTS = record(
    {
        "format": st.just("kvqae-fusion-weights/1") | texts,
        "weights": st.lists(numbers, min_size=2, max_size=2) | st.lists(numbers, max_size=3),
        "method": st.sampled_from(["wsum", "rrf", "combsum", "combmnz", "max"]),
        "norm": st.sampled_from(["zscore", "zscore-query", "minmax", "rank", "none", "l2"]),
        "default_minimum": st.booleans() | st.none() | st.sampled_from(["off", "raw", "normalized", "max"]),
        "rrf_k": numbers,
        "run_names": st.permutations(["text", "image"]) | st.lists(texts, max_size=3),
    }
)


@fuzz(EXAMPLES["weights"])
@given(data=WEIGHTS.map(lambda v: dumps(v, True).encode()).flatmap(mutated), k=st.none() | st.integers(1, 3))
def test_weights_files(data: bytes, k: int | None) -> None:
    in_tmp({"w.json": data}, lambda d: apply_weights(d / "w.json", RUNS, k=k))


PIPELINE = record(
    {
        "output": texts,
        "kb": record({"source": texts, "format": texts, "words": numbers, "types_from": texts}),
        "questions": st.dictionaries(st.sampled_from(["test", "validation", "dev"]), texts, max_size=2),
        "retrieval": st.lists(
            record(
                {
                    "mode": st.sampled_from(["text-passage", "image-title", "x"]),
                    "encoder": st.sampled_from(["bm25", "clip:m", "st:minilm"]) | texts,
                    "name": texts,
                    "entity_context": st.booleans(),
                }
            ),
            max_size=2,
        ),
        "k": numbers,
        "eval_split": st.sampled_from(["test", "validation", "dev"]) | texts,
        "fit_split": st.sampled_from(["test", "validation", "dev"]) | texts | st.none(),
        "fusion": st.none() | record({"method": texts, "step": numbers}),
        "reader": st.none() | record({"model": texts, "top_k": numbers}),
    }
)
YAML_SNIPPETS = st.sampled_from(
    [
        "",
        "- a\n",
        "k: [\n",
        "a: 2001-02-30\n",
        "? [a]\n: b\n",
        "k: !!python/name:os\n",
        "\t- x",
        "k: &a [*a]\n",
        "x: 1\nx: 2\n",
    ]
)


def _yaml(value: Any) -> bytes:
    return yaml.safe_dump(value, allow_unicode=True).encode("utf-8", "surrogatepass")


@fuzz(EXAMPLES["pipeline"])
@given(data=(PIPELINE.map(_yaml) | YAML_SNIPPETS.map(str.encode)).flatmap(mutated))
def test_pipeline_yaml(data: bytes) -> None:
    in_tmp({"pipeline.yaml": data}, lambda d: load_pipeline_config(d / "pipeline.yaml"))


RAW_READERS: list[tuple[str, Callable[[Path], Any]]] = [
    ("a.jsonl", lambda p: list(read_articles(p))),
    ("a.xml", lambda p: list(read_articles(p))),
    ("kb.json", lambda p: list(read_articles(p, "viquae"))),
    ("q.jsonl", lambda p: load_questions(p)),
    ("q.csv", lambda p: load_questions(p)),
    ("r.json", Run.load),
    ("r.trec", Run.load),
    ("p.jsonl", load_predictions),
    ("qrels.json", load_qrels),
    ("types.json", load_type_table),
    ("w.json", lambda p: apply_weights(p, RUNS)),
    ("pipeline.yaml", load_pipeline_config),
    ("meta.json", lambda p: read_embeddings(p.parent)),
]


@fuzz(EXAMPLES["raw"])
@given(data=st.binary(max_size=200), which=st.sampled_from(range(len(RAW_READERS))))
def test_raw_bytes(data: bytes, which: int) -> None:
    name, read = RAW_READERS[which]
    files = {name: data}
    if name == "meta.json":
        files["ids.json"] = b'["a"]'
    in_tmp(files, lambda d: read(d / name))


def test_case_budget() -> None:
    """The default suite generates at least 300 cases."""
    assert MAX_EXAMPLES_TOTAL >= 300

"""Knowledge bases: chunking, building, loading, and article-reader validation."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from kvqae.data.articles import Article, load_entity_types, read_articles, title_to_id
from kvqae.data.kb import KnowledgeBase, build_kb, chunk_text, make_passages, split_sentences
from kvqae.errors import InputError

# ---------------------------------------------------------------------------------------- chunking


def test_plain_chunks_are_fixed_word_windows():
    text = " ".join(f"w{i}" for i in range(250))
    chunks = chunk_text(text, 100)
    assert [len(c.split()) for c in chunks] == [100, 100, 50]
    assert chunks[0].split()[0] == "w0" and chunks[0].split()[-1] == "w99"
    assert chunks[2].split()[0] == "w200" and chunks[2].split()[-1] == "w249"
    # Line breaks and runs of spaces become single spaces.
    assert chunk_text("a  b\n\nc\td", 3) == ["a b c", "d"]


def test_sentence_split_handles_abbreviations_initials_and_lines():
    text = "Dr. Smith met John F. Kennedy in 1960. He left! (Then) it rained.\nNew paragraph without stop"
    assert [" ".join(s) for s in split_sentences(text)] == [
        "Dr. Smith met John F. Kennedy in 1960.",
        "He left!",
        "(Then) it rained.",
        "New paragraph without stop",
    ]
    # A period followed by a lower-case word does not end a sentence.
    assert len(split_sentences("The value is 3.5 approx. and more. End.")) == 2


def test_sentence_aligned_chunks_pack_whole_sentences():
    text = "Aa bb cc. Dd ee ff gg. Hh ii."  # sentences of 3, 4 and 2 words
    assert chunk_text(text, 5, sentence_aligned=True) == ["Aa bb cc.", "Dd ee ff gg.", "Hh ii."]
    assert chunk_text(text, 7, sentence_aligned=True) == ["Aa bb cc. Dd ee ff gg.", "Hh ii."]
    assert chunk_text(text, 9, sentence_aligned=True) == ["Aa bb cc. Dd ee ff gg. Hh ii."]
    # A sentence longer than the budget is kept whole, alone.
    assert chunk_text("One two three four five. Six.", 2, sentence_aligned=True) == [
        "One two three four five.",
        "Six.",
    ]


def test_passages_have_title_prefix_and_positional_ids():
    rows = make_passages("Ada_Lovelace", "Ada Lovelace", "x " * 150, words=100)
    assert [r["passage_id"] for r in rows] == ["Ada_Lovelace#0", "Ada_Lovelace#1"]
    assert [r["position"] for r in rows] == [0, 1]
    assert rows[0]["text"] == "Ada Lovelace. " + " ".join(["x"] * 100)
    assert rows[1]["text"] == "Ada Lovelace. " + " ".join(["x"] * 50)
    assert all(r["entity_id"] == "Ada_Lovelace" and r["title"] == "Ada Lovelace" for r in rows)


def test_title_to_id():
    assert title_to_id("Apollo 11") == "Apollo_11"
    assert title_to_id(" New  York\tCity ") == "New_York_City"


# ---------------------------------------------------------------------------------------- building


def _write_articles(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def _png(path: Path, color=(200, 10, 10)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (32, 24), color).save(path)
    return path


@pytest.fixture()
def articles_file(tmp_path: Path) -> Path:
    _png(tmp_path / "src" / "img" / "ada.png")
    return _write_articles(
        tmp_path / "src" / "articles.jsonl",
        [
            {
                "id": "ada",
                "title": "Ada Lovelace",
                "text": " ".join(f"a{i}" for i in range(230)),
                "image": "img/ada.png",
                "types": ["human"],
                "wikidata_id": "Q7259",
            },
            {"id": "eiffel", "title": "Eiffel Tower", "text": "The tower is in Paris. It is tall."},
        ],
    )


def test_build_kb_writes_contract_layout(articles_file: Path, tmp_path: Path):
    kb = build_kb(articles_file, tmp_path / "kb", progress=False)
    assert sorted(p.name for p in (tmp_path / "kb").iterdir()) == [
        "entities.parquet",
        "meta.json",
        "passages.parquet",
    ]
    assert kb.entity_ids == ["ada", "eiffel"]
    # 230 words -> 100 + 100 + 30; the short article -> one passage.
    assert kb.passage_ids == ["ada#0", "ada#1", "ada#2", "eiffel#0"]
    assert kb.passages_of("ada") == ["ada#0", "ada#1", "ada#2"]
    assert kb.entity_of("ada#2") == "ada"
    assert kb.passage_text("eiffel#0") == "Eiffel Tower. The tower is in Paris. It is tall."
    assert kb.passage_text("ada#2") == "Ada Lovelace. " + " ".join(f"a{i}" for i in range(200, 230))
    assert kb.title_of("eiffel") == "Eiffel Tower"
    assert kb.image_of("ada") == str((articles_file.parent / "img" / "ada.png").resolve())
    assert kb.image_of("eiffel") is None
    assert kb.types_of("ada") == ["human"] and kb.types_of("eiffel") == []
    assert kb.wikidata_id_of("ada") == "Q7259"
    assert (
        kb.resolve("Q7259") == "ada" and kb.resolve("Eiffel_Tower") == "eiffel" and kb.resolve("nope") is None
    )
    assert list(kb.passages["position"]) == [0, 1, 2, 0]
    meta = json.loads((tmp_path / "kb" / "meta.json").read_text())
    assert (meta["entities"], meta["passages"], meta["words"], meta["source_format"]) == (2, 4, 100, "jsonl")
    with pytest.raises(KeyError):
        kb.passages_of("missing")
    again = KnowledgeBase.load(tmp_path / "kb")
    pd.testing.assert_frame_equal(again.passages, kb.passages)


def test_build_is_deterministic(articles_file: Path, tmp_path: Path):
    build_kb(articles_file, tmp_path / "kb1", words=7, sentence_aligned=True, progress=False)
    build_kb(articles_file, tmp_path / "kb2", words=7, sentence_aligned=True, progress=False)
    for name in ("entities.parquet", "passages.parquet"):
        pd.testing.assert_frame_equal(
            pd.read_parquet(tmp_path / "kb1" / name), pd.read_parquet(tmp_path / "kb2" / name)
        )
        assert (tmp_path / "kb1" / name).read_bytes() == (tmp_path / "kb2" / name).read_bytes()


def test_limit_and_words_options(articles_file: Path, tmp_path: Path):
    kb = build_kb(articles_file, tmp_path / "kb", words=50, limit=1, progress=False)
    assert kb.entity_ids == ["ada"]
    assert kb.passage_ids == [f"ada#{i}" for i in range(5)]  # 230 words / 50 -> 5 chunks


def test_types_from_plain_mapping(articles_file: Path, tmp_path: Path):
    types = tmp_path / "types.json"
    types.write_text(json.dumps({"Q7259": ["human", "mathematician"], "eiffel": ["tower"]}))
    kb = build_kb(articles_file, tmp_path / "kb", types_from=types, progress=False)
    assert kb.types_of("ada") == ["human", "mathematician"]  # existing label kept once, first
    assert kb.types_of("eiffel") == ["tower"]


def test_failed_build_leaves_no_directory(articles_file: Path, tmp_path: Path, monkeypatch):
    import kvqae.data.kb as kbmod

    calls = {"n": 0}
    real = kbmod.make_passages

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(kbmod, "make_passages", flaky)
    with pytest.raises(KeyboardInterrupt):
        build_kb(articles_file, tmp_path / "out" / "kb", progress=False)
    assert list((tmp_path / "out").iterdir()) == []  # neither the KB nor a temp dir


def test_failed_rebuild_keeps_previous_kb(articles_file: Path, tmp_path: Path):
    build_kb(articles_file, tmp_path / "kb", progress=False)
    bad = _write_articles(tmp_path / "bad.jsonl", [{"id": "x", "title": "X", "text": "ok"}, {"id": "y"}])
    with pytest.raises(InputError):
        build_kb(bad, tmp_path / "kb", progress=False)
    assert KnowledgeBase.load(tmp_path / "kb").entity_ids == ["ada", "eiffel"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "kb", "src"]


def test_load_rejects_non_kb_dirs(tmp_path: Path):
    with pytest.raises(InputError, match="not found"):
        KnowledgeBase.load(tmp_path / "nothing")
    (tmp_path / "d").mkdir()
    with pytest.raises(InputError, match="entities.parquet is missing"):
        KnowledgeBase.load(tmp_path / "d")
    for name in ("entities.parquet", "passages.parquet"):
        (tmp_path / "d" / name).write_bytes(b"")
    (tmp_path / "d" / "meta.json").write_text('{"kind": "embeddings"}')
    with pytest.raises(InputError, match="kind"):
        KnowledgeBase.load(tmp_path / "d")


# -------------------------------------------------------------------------------------- validation

GOOD = {"id": "a", "title": "A", "text": "Some text."}


def _truncated(path: Path, fmt: str) -> None:
    img = Image.effect_noise((64, 64), 50).convert("RGB")
    img.save(path, format=fmt)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


BAD_CASES = {
    "missing title": ({"id": "b", "text": "x"}, "title", "missing field"),
    "text not a string": ({"id": "b", "title": "B", "text": 3}, "text", "must be a string"),
    "empty text": ({"id": "b", "title": "B", "text": "  "}, "text", "must not be empty"),
    "empty title": ({"id": "b", "title": "", "text": "x"}, "title", "must not be empty"),
    "id with space": ({"id": "b c", "title": "B", "text": "x"}, "id", "whitespace"),
    "duplicate id": ({"id": "a", "title": "B", "text": "x"}, "id", "duplicate"),
    "types not a list": (
        {"id": "b", "title": "B", "text": "x", "types": "human"},
        "types",
        "list of strings",
    ),
    "image escapes": ({"id": "b", "title": "B", "text": "x", "image": "../outside.png"}, "image", "escapes"),
    "image missing": ({"id": "b", "title": "B", "text": "x", "image": "nope.png"}, "image", "not found"),
    "image garbage": ({"id": "b", "title": "B", "text": "x", "image": "garbage.png"}, "image", "unreadable"),
    "truncated png": ({"id": "b", "title": "B", "text": "x", "image": "trunc.png"}, "image", "unreadable"),
    "truncated jpeg": ({"id": "b", "title": "B", "text": "x", "image": "trunc.jpg"}, "image", "unreadable"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_articles_name_file_line_and_field(case: str, tmp_path: Path):
    row, field, reason = BAD_CASES[case]
    folder = tmp_path / "src"
    folder.mkdir()
    _png(tmp_path / "outside.png")
    (folder / "garbage.png").write_bytes(b"not an image at all")
    _truncated(folder / "trunc.png", "PNG")
    _truncated(folder / "trunc.jpg", "JPEG")
    path = _write_articles(folder / "articles.jsonl", [GOOD, row])
    with pytest.raises(InputError) as info:
        list(read_articles(path))
    err = info.value
    assert (err.path, err.record, err.field) == (str(path), 2, field)
    assert reason in str(err) and str(err).startswith(f'{path}: line 2: field "{field}"')


def test_unknown_format_and_bad_json(tmp_path: Path):
    path = _write_articles(tmp_path / "a.jsonl", [GOOD, "{not json"])
    with pytest.raises(InputError, match="line 2: invalid JSON"):
        list(read_articles(path))
    with pytest.raises(InputError, match="unknown articles format"):
        list(read_articles(path, "csv"))


# -------------------------------------------------------------------------------- viquae KB layout


def test_viquae_kb_rows_json_list_and_lines(tmp_path: Path):
    _png(tmp_path / "images" / "eiffel.jpg")
    rows = [
        {
            "wikipedia_title": "Eiffel Tower",
            "text": {"paragraph": ["Eiffel Tower\n", "It is in Paris.\n"]},
            "image": "eiffel.jpg",
            "wikidata_info": {"wikidata_id": "Q243", "types": ["tower"]},
        },
        {
            "wikipedia_title": "Paris",
            "text": "Paris is a city.",
            "image": None,
            "wikidata_info": {"wikidata_id": "Q90"},
        },
    ]
    as_list = tmp_path / "kb.json"
    as_list.write_text(json.dumps(rows))
    as_lines = _write_articles(tmp_path / "kb.jsonl", rows)
    for path in (as_list, as_lines):
        articles = list(read_articles(path, images_dir=tmp_path / "images"))
        assert articles[0] == Article(
            id="Eiffel_Tower",
            title="Eiffel Tower",
            text="It is in Paris.",  # the first paragraph only repeats the title
            image=str((tmp_path / "images" / "eiffel.jpg").resolve()),
            types=["tower"],
            wikidata_id="Q243",
        )
        assert (articles[1].id, articles[1].image, articles[1].wikidata_id) == ("Paris", None, "Q90")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([rows[1], {"wikipedia_title": "X", "text": 5}]))
    with pytest.raises(InputError) as info:
        list(read_articles(bad))
    assert (info.value.record, info.value.field) == ("row 2", "text")


# --------------------------------------------------------------------------------------- mediawiki

WIKI_PAGE = """{{Infobox person|name=Ada|birth_date={{birth date|1815|12|10}}}}
'''Ada Lovelace''' ({{IPAc-en|ˈ|l|ʌ|v}}; 10 December 1815)<ref>{{cite book|title=X}}</ref> was an
[[England|English]] [[mathematician]].<ref name="a"/> <!-- hidden note -->
[[File:Ada.jpg|thumb|A portrait of [[Ada Lovelace]]]]

== Early life ==
She was the daughter of [[Lord Byron]].
{| class="wikitable"
|-
| cell || cell
|}
Her notes are famous.<ref name="b">Note text.</ref> See [http://example.org the site].

== See also ==
* [[Charles Babbage]]

== References ==
{{reflist}}
[[Category:1815 births]]
[[fr:Ada Lovelace]]
"""

WIKI_EXPECTED = (
    "Ada Lovelace (10 December 1815) was an\nEnglish mathematician.\n"
    "She was the daughter of Lord Byron.\nHer notes are famous. See the site."
)


def _export(pages: list[tuple[str, str, str, bool]], *, namespace: bool = True) -> str:
    xmlns = ' xmlns="http://www.mediawiki.org/xml/export-0.10/"' if namespace else ""
    body = []
    for title, ns, text, redirect in pages:
        red = f'<redirect title="{title}x" />' if redirect else ""
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        body.append(
            f"<page><title>{title}</title><ns>{ns}</ns><id>1</id>{red}"
            f'<revision><id>2</id><text xml:space="preserve">{escaped}</text></revision></page>'
        )
    return f"<mediawiki{xmlns}><siteinfo><sitename>W</sitename></siteinfo>{''.join(body)}</mediawiki>"


@pytest.mark.parametrize("namespace", [True, False])
def test_mediawiki_export_to_clean_articles(tmp_path: Path, namespace: bool):
    import bz2

    xml = _export(
        [
            ("Ada Lovelace", "0", WIKI_PAGE, False),
            ("AdaL", "0", "#REDIRECT [[Ada Lovelace]]", True),
            ("Talk:Ada Lovelace", "1", "Talk text.", False),
            ("Only template", "0", "{{Infobox|x=1}}", False),
        ],
        namespace=namespace,
    )
    path = tmp_path / "dump.xml.bz2"
    path.write_bytes(bz2.compress(xml.encode("utf-8")))
    articles = list(read_articles(path))
    assert [a.id for a in articles] == ["Ada_Lovelace"]  # redirect, talk page and empty page skipped
    assert articles[0].title == "Ada Lovelace"
    assert articles[0].text == WIKI_EXPECTED


def test_mediawiki_malformed_xml(tmp_path: Path):
    path = tmp_path / "dump.xml"
    path.write_text("<mediawiki>\n<page><title>A</title>\n</mediawiki>")
    with pytest.raises(InputError, match="malformed XML") as info:
        list(read_articles(path))
    assert info.value.record == 3


@pytest.fixture(scope="module")
def sample_kb(shared_dir: Path, tmp_path_factory) -> KnowledgeBase:
    return build_kb(
        shared_dir / "data" / "wikipedia" / "enwiki-2016-sample.xml.bz2",
        tmp_path_factory.mktemp("wiki") / "kb",
        types_from=shared_dir / "data" / "viquae" / "viquae_entities.json",
        progress=False,
    )


@pytest.mark.shared
def test_real_wikipedia_sample_gives_clean_prose(sample_kb: KnowledgeBase):
    assert len(sample_kb) >= 100
    for title in ("Albert Einstein", "Abraham Lincoln", "Apollo 11", "Animal Farm", "Atlantic Ocean"):
        assert sample_kb.resolve(title) == title.replace(" ", "_")
    einstein = sample_kb.entities.set_index("entity_id").loc["Albert_Einstein", "text"]
    assert einstein.startswith(
        "Albert Einstein (14 March 1879 – 18 April 1955) was a German-born theoretical physicist."
    )
    assert len(einstein.split()) > 5000
    for text in sample_kb.entities["text"]:
        for marker in ("{{", "}}", "[[", "]]", "<ref", "</", "{|", "|}", "'''", "==", "thumb|", "Category:"):
            assert marker not in text
        assert not any(line.startswith(("|", "*", "#", ":", "!")) for line in text.split("\n"))
    # Passages: 100 words + the title prefix; positions follow article order.
    lengths = sample_kb.passages["text"].str.split().map(len)
    title_words = sample_kb.passages["title"].str.split().map(len)
    assert ((lengths - title_words) <= 100).all()
    pids = sample_kb.passages_of("Albert_Einstein")
    assert pids[:3] == ["Albert_Einstein#0", "Albert_Einstein#1", "Albert_Einstein#2"]
    assert sample_kb.passage_text(pids[0]).startswith("Albert Einstein. Albert Einstein (14 March 1879")


@pytest.mark.shared
def test_real_types_annotate_by_title(sample_kb: KnowledgeBase, shared_dir: Path):
    types = load_entity_types(shared_dir / "data" / "viquae" / "viquae_entities.json")
    assert len(types) == 2397
    assert types["Q41746"] == ["mythological Greek character"]
    # The dump has no QIDs: matching by title fills both the types and the QID.
    assert sample_kb.types_of("Achilles") == ["mythological Greek character"]
    assert sample_kb.wikidata_id_of("Achilles") == "Q41746"
    assert sample_kb.resolve("Q91") == "Abraham_Lincoln"


# --------------------------------------------------------------------------------------------- CLI


def test_cli_kb_build_and_info(articles_file: Path, tmp_path: Path):
    from typer.testing import CliRunner

    from kvqae.cli import app

    runner = CliRunner()
    out = tmp_path / "kb"
    result = runner.invoke(
        app, ["kb", "build", str(articles_file), "--out", str(out), "--words", "50", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert "2 entities (1 with an image, 1 with types), 6 passages" in result.output
    assert KnowledgeBase.load(out).meta["words"] == 50
    result = runner.invoke(app, ["kb", "info", str(out), "--sample", "1"])
    assert result.exit_code == 0, result.output
    assert "entities: 2  passages: 6" in result.output and "- ada#0: Ada Lovelace. a0 a1" in result.output
    result = runner.invoke(app, ["kb", "info", str(tmp_path)])
    assert isinstance(result.exception, InputError)


def test_check_images_off_records_paths_without_opening(tmp_path: Path):
    path = _write_articles(tmp_path / "a.jsonl", [{**GOOD, "image": "later.png"}])
    with pytest.raises(InputError, match="image not found"):
        list(read_articles(path))
    kb = build_kb(path, tmp_path / "kb", check_images=False, progress=False)
    assert kb.image_of("a") == str(tmp_path / "later.png")
    # Still refused: paths escaping the articles folder.
    bad = _write_articles(tmp_path / "b.jsonl", [{**GOOD, "image": "/etc/passwd"}])
    with pytest.raises(InputError, match="escapes"):
        list(read_articles(bad, check_images=False))


# ---------------------------------------------------------------------- hand-edited KB folders, hostile text


def _tiny_kb(tmp_path: Path) -> Path:
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "a", "title": "A", "text": "one two three"}\n'
                   '{"id": "b", "title": "B", "text": "four five"}\n', encoding="utf-8")
    return build_kb(src, tmp_path / "kb", progress=False).path


@pytest.mark.parametrize("table,column,value,needle", [
    ("passages", "text", None, 'row 1: field "text": missing value (null)'),
    ("passages", "text", 7, 'field "text": must hold strings, the column has type int64'),
    ("passages", "passage_id", "x", 'row 2: field "passage_id": duplicate id \'x\''),
    ("passages", "entity_id", "zzz", "row 1: field \"entity_id\": entity 'zzz' is not in entities.parquet"),
    ("passages", "position", "0", 'field "position": must hold integers'),
    ("entities", "types", "person", 'field "types": must hold lists of strings'),
    # runs name passages by these ids: a search wrote a run no command could read again (session 17)
    ("passages", "passage_id", " ", 'row 1: field "passage_id": an empty id'),
    ("passages", "passage_id", "a\tb", 'row 1: field "passage_id": id \'a\\tb\' holds the control character'),
])
def test_kb_load_refuses_edited_tables(tmp_path: Path, table, column, value, needle):
    """A KB folder whose parquet was edited by hand: one InputError naming the file, row and column (was a
    pandas AttributeError/TypeError in `kb info`, `index build --bm25`, `reader-data`, `train retriever`)."""
    kb = _tiny_kb(tmp_path)
    frame = pd.read_parquet(kb / f"{table}.parquet")
    frame[column] = [value] * len(frame) if value is not None else [None, *frame[column].tolist()[1:]]
    frame.to_parquet(kb / f"{table}.parquet")
    with pytest.raises(InputError) as err:
        KnowledgeBase.load(kb)
    assert f"{table}.parquet" in str(err.value) and needle in str(err.value)


def test_jsonl_lone_surrogate_is_input_error(tmp_path: Path):
    """"\\ud800" alone parses to a str that parquet cannot encode (was a UnicodeEncodeError traceback)."""
    src = tmp_path / "a.jsonl"
    src.write_text('{"id": "a", "title": "A \\ud83d\\ude00", "text": "t"}\n'
                   '{"id": "b", "title": "\\ud800", "text": "t"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"a\.jsonl: line 2: .*lone UTF-16 surrogate"):
        build_kb(src, tmp_path / "kb", progress=False)
    assert not (tmp_path / "kb").exists()


def test_wikitext_cleanup_is_linear_on_hostile_runs():
    """Runs that made the cleanup regexes rescan from every position (quadratic: ~17 s for a 40 kB line)."""
    import time

    from kvqae.data.wikitext import _drop_ref_pairs, wikitext_to_text

    assert _drop_ref_pairs("a<ref>x</ref>b<REF name=n>y</ref >c<ref>open") == "abc<ref>open"
    t0 = time.perf_counter()
    assert wikitext_to_text("x " + ", " * 20000).startswith("x,")
    assert wikitext_to_text("x" + "\u2003" * 40000 + "y").endswith("\u2003y")
    assert time.perf_counter() - t0 < 3


def test_a_kb_without_types_saved_again_by_pandas_still_loads(tmp_path: Path):
    """pandas writes a column of empty lists back as list<null>: fixing a title by hand made the KB
    unloadable ("types: must hold lists of strings")."""
    kb = _tiny_kb(tmp_path)
    frame = pd.read_parquet(kb / "entities.parquet")
    frame.loc[frame["entity_id"] == "a", "title"] = "Alpha"
    frame.to_parquet(kb / "entities.parquet")
    loaded = KnowledgeBase.load(kb)
    assert loaded.title_of("a") == "Alpha" and loaded.types_of("a") == []

"""Knowledge bases: articles chunked into passages, stored as a directory of parquet files.

Layout (see docs/ARCHITECTURE.md):
- `entities.parquet`: entity_id, title, text, image (absolute path or null), types (list of str), wikidata_id.
- `passages.parquet`: passage_id (`"{entity_id}#{position}"`), entity_id, position, title,
  text (`"{title}. {chunk}"`).
- `meta.json`: `{"kind": "kvqae-kb", "source", "source_format", "words", "sentence_aligned", "types_from",
  "limit", "entities", "passages", "kvqae_version"}`.

`build_kb` streams articles and writes parquet in batches, so memory is bounded by the id set, not the corpus.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvqae.data.articles import Article, load_type_table, read_articles
from kvqae.data.provenance import KB_META_KEY, PassageDigest
from kvqae.errors import InputError
from kvqae.io import json_error_reason, not_utf8

if TYPE_CHECKING:
    import numpy as np

ENTITIES_FILE = "entities.parquet"
PASSAGES_FILE = "passages.parquet"
META_FILE = "meta.json"
KB_KIND = "kvqae-kb"
_BATCH = 5000  # articles per parquet row group

ENTITY_COLUMNS = ("entity_id", "title", "text", "image", "types", "wikidata_id")
PASSAGE_COLUMNS = ("passage_id", "entity_id", "position", "title", "text")

# ---------------------------------------------------------------------------------------- chunking

# Tokens ending in a period that do not end a sentence.
_ABBREVIATIONS = {
    "mr.",
    "mrs.",
    "ms.",
    "dr.",
    "prof.",
    "st.",
    "jr.",
    "sr.",
    "vs.",
    "e.g.",
    "i.e.",
    "cf.",
    "no.",
    "vol.",
    "fig.",
    "approx.",
    "ca.",
    "c.",
    "b.",
    "d.",
    "fl.",
    "gen.",
    "col.",
    "lt.",
    "sgt.",
    "capt.",
    "rev.",
    "hon.",
    "mt.",
    "ft.",
    "op.",
    "pp.",
    "p.",
    "ed.",
    "eds.",
    "al.",
    "inc.",
    "ltd.",
    "co.",
    "corp.",
}
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")
_SENTENCE_START = re.compile(r"^[\"'“‘(\[]*[A-Z0-9À-ÖØ-Þ]")
_INITIAL = re.compile(r"^[A-Z]\.$")  # "F." in "John F. Kennedy"


def _ends_sentence(token: str, next_token: str | None) -> bool:
    if not _SENTENCE_END.search(token):
        return False
    if next_token is None:
        return True
    if token.lower() in _ABBREVIATIONS or _INITIAL.match(token):
        return False
    return bool(_SENTENCE_START.match(next_token))


def split_sentences(text: str) -> list[list[str]]:
    """Sentences of `text` as lists of words (whitespace tokens).

    A sentence ends at a line break or after a word ending in `.`, `!` or `?` (closing quotes and brackets
    allowed) that is followed by a capitalised word or a digit; common abbreviations and initials don't end
    one.
    """
    sentences: list[list[str]] = []
    for paragraph in text.split("\n"):
        tokens = paragraph.split()
        current: list[str] = []
        for i, token in enumerate(tokens):
            current.append(token)
            if _ends_sentence(token, tokens[i + 1] if i + 1 < len(tokens) else None):
                sentences.append(current)
                current = []
        if current:
            sentences.append(current)
    return sentences


def chunk_text(text: str, words: int = 100, *, sentence_aligned: bool = False) -> list[str]:
    """Split `text` into chunks of at most `words` whitespace-separated words, in order.

    Plain mode: consecutive `words`-word windows (the last one shorter). Sentence-aligned mode: whole
    sentences are packed greedily while the chunk stays within `words`; a sentence longer than `words` is a
    chunk by itself.
    Whitespace inside a chunk is normalised to single spaces.
    """
    if words < 1:
        raise ValueError("words must be >= 1")
    if not sentence_aligned:
        tokens = text.split()
        return [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
    chunks: list[str] = []
    current: list[str] = []
    for sentence in split_sentences(text):
        if current and len(current) + len(sentence) > words:
            chunks.append(" ".join(current))
            current = []
        current.extend(sentence)
        if len(current) >= words:  # full, or one over-long sentence: close it now
            chunks.append(" ".join(current))
            current = []
    if current:
        chunks.append(" ".join(current))
    return chunks


def make_passages(
    entity_id: str, title: str, text: str, *, words: int = 100, sentence_aligned: bool = False
) -> list[dict[str, Any]]:
    """Passage rows of one article, in article order: `{"passage_id", "entity_id", "position", "title",
    "text"}` with text `"{title}. {chunk}"` and passage id `"{entity_id}#{position}"`."""
    return [
        {
            "passage_id": f"{entity_id}#{position}",
            "entity_id": entity_id,
            "position": position,
            "title": title,
            "text": f"{title}. {chunk}",
        }
        for position, chunk in enumerate(chunk_text(text, words, sentence_aligned=sentence_aligned))
    ]


# ---------------------------------------------------------------------------------------- building


def _schemas():
    import pyarrow as pa

    entities = pa.schema(
        [
            ("entity_id", pa.string()),
            ("title", pa.string()),
            ("text", pa.string()),
            ("image", pa.string()),
            ("types", pa.list_(pa.string())),
            ("wikidata_id", pa.string()),
        ]
    )
    passages = pa.schema(
        [
            ("passage_id", pa.string()),
            ("entity_id", pa.string()),
            ("position", pa.int64()),
            ("title", pa.string()),
            ("text", pa.string()),
        ]
    )
    return entities, passages


def _batched(items: Iterable[Article], size: int) -> Iterator[list[Article]]:
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def build_kb(
    source: str | Path,
    out_dir: str | Path,
    *,
    fmt: str = "auto",
    words: int = 100,
    sentence_aligned: bool = False,
    types_from: str | Path | None = None,
    limit: int | None = None,
    images_dir: str | Path | None = None,
    check_images: bool = True,
    progress: bool = True,
) -> KnowledgeBase:
    """Read articles from `source`, chunk them into passages and write the KB directory `out_dir` atomically.

    `fmt`: auto | jsonl | mediawiki | viquae (see `kvqae.data.articles`). `types_from`: a types file
    (viquae_entities.json or `{key: [labels]}`) whose labels are added to matching entities. `limit`: keep
    only the first N articles. `images_dir`/`check_images`: see `read_articles`. Returns the loaded KB. On
    any error (bad input, interruption) no directory is left at `out_dir` (an existing KB there is kept).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kvqae import __version__
    from kvqae.io import atomic_dir, check_id_chars, check_question_chars, check_visible_id
    from kvqae.progress import track
    from kvqae.safety import check_out_not_input

    source = Path(source)
    if words < 1:
        raise InputError("must be >= 1", field="words")
    if limit is not None and limit < 1:
        raise InputError("must be >= 1", field="limit")
    if fmt == "auto":
        from kvqae.data.articles import detect_article_format

        fmt = detect_article_format(source)
    table = load_type_table(types_from) if types_from is not None else None
    articles: Iterable[Article] = read_articles(source, fmt, images_dir=images_dir, check_images=check_images)
    if limit is not None:
        articles = islice(articles, limit)
    articles = track(articles, f"Building KB from {source.name}", total=limit, enabled=progress)

    entity_schema, passage_schema = _schemas()
    seen: set[str] = set()
    looks: dict[str, str] = {}  # NFC form of each entity id -> the id as written
    qids: dict[str, str] = {}  # Wikidata id -> the entity id that has it
    image_dirs: set[str] = set()  # folders of the entity images: the KB must not be written over them
    n_entities = n_passages = 0
    digest = PassageDigest()  # of every passage's id and text, in order (kvqae.data.provenance)
    with atomic_dir(out_dir) as tmp:
        with (
            pq.ParquetWriter(tmp / ENTITIES_FILE, entity_schema) as ent_writer,
            pq.ParquetWriter(tmp / PASSAGES_FILE, passage_schema) as pas_writer,
        ):
            for batch in _batched(articles, _BATCH):
                entity_rows: dict[str, list] = {c: [] for c in ENTITY_COLUMNS}
                passage_rows: dict[str, list] = {c: [] for c in PASSAGE_COLUMNS}
                for article in batch:
                    if table is not None:
                        article = table.annotate(article)
                    if article.id in seen:  # readers check this too; a last guard for custom iterables
                        raise InputError(f"duplicate entity id {article.id!r}", path=source, field="id")
                    # every reader's ids (a MediaWiki title with a control character too), before any is
                    # written: the check on loading came after the swap, over the KB it replaced
                    where = {"path": source, "record": f"article {article.title!r}"}
                    check_id_chars(article.id, "id", where)
                    check_visible_id(article.id, "id", where)
                    check_question_chars(article.title, "title", where)  # a NUL reached `kb info`'s output
                    check_question_chars(article.text, "text", where)
                    seen.add(article.id)
                    _check_look_alike(article, looks, qids, source)
                    if article.image:
                        image_dirs.add(os.path.dirname(article.image))
                    for column, value in zip(ENTITY_COLUMNS, _entity_values(article), strict=True):
                        entity_rows[column].append(value)
                    for row in make_passages(
                        article.id,
                        article.title,
                        article.text,
                        words=words,
                        sentence_aligned=sentence_aligned,
                    ):
                        for column in PASSAGE_COLUMNS:
                            passage_rows[column].append(row[column])
                        digest.add(row["passage_id"], row["text"])
                n_entities += len(batch)
                n_passages += len(passage_rows["passage_id"])
                ent_writer.write_table(pa.table(entity_rows, schema=entity_schema))
                pas_writer.write_table(pa.table(passage_rows, schema=passage_schema))
        if n_entities == 0:
            raise InputError("no articles found", path=source)
        check_out_not_input(out_dir, {"entity images": sorted(image_dirs)}, inside_ok=True)
        meta = {
            "kind": KB_KIND,
            "source": str(source.resolve()),
            "source_format": fmt,
            "words": words,
            "sentence_aligned": sentence_aligned,
            "types_from": None if types_from is None else str(Path(types_from).resolve()),
            "limit": limit,
            "entities": n_entities,
            "passages": n_passages,
            KB_META_KEY: digest.hexdigest(),
            "kvqae_version": __version__,
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        # every check a reader makes, before the new KB replaces anything at out_dir
        built = KnowledgeBase.load(tmp)
    built.path = Path(out_dir)
    return built


def typed_entities(kb: KnowledgeBase) -> int:
    """How many entities of `kb` have at least one type."""
    return int(kb.entities["types"].map(lambda types: types is not None and len(types) > 0).sum())


def untyped_note(option: str, types_from: str | Path) -> str:
    """The note for a types file that typed no entity (`option`: how the command was given it, e.g.
    "--types-from"): a file keyed by QIDs over articles without any said nothing but "0 with types"."""
    return (f"note: {option} {types_from} gave no entity a type: none of its keys is the Wikidata id, the id "
            "or the title of an article here (or those it names have no labels); a file keyed by QIDs needs "
            "articles with a wikidata_id or its records' wikipedia_title")


def _entity_values(article: Article) -> tuple:
    return (article.id, article.title, article.text, article.image, list(article.types), article.wikidata_id)


# ----------------------------------------------------------------------------------------- loading


def open_kb_dir(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Check that `path` is a KB directory (its three files, a `meta.json` of kind kvqae-kb); returns
    `(path, meta)`. Readers that load only some columns (`kvqae.search.passages.PassageTable.load`,
    `kvqae.data.kb_subset`) start here too, so every reader refuses the same bad input the same way."""
    from kvqae.safety import expect_folder

    path = expect_folder(path, "knowledge base directory")
    for name in (ENTITIES_FILE, PASSAGES_FILE, META_FILE):
        if not (path / name).is_file():
            # a folder, a pipe or a device of that name is not "missing": say what it is
            what = ("is missing" if not (path / name).exists() else
                    "is a folder, not a file" if (path / name).is_dir() else "is not a regular file")
            raise InputError(f"not a knowledge base directory: {name} {what}", path=path)
    try:
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON ({json_error_reason(e)})", path=path / META_FILE,
                         record=e.lineno) from None
    except UnicodeDecodeError as e:
        raise InputError(not_utf8(e), path=path / META_FILE) from None
    if not isinstance(meta, dict) or meta.get("kind") != KB_KIND:
        raise InputError(
            f'not a knowledge base: "kind" is not {KB_KIND!r}', path=path / META_FILE, field="kind"
        )
    _check_counts(path, meta)
    return path, meta


def _check_counts(path: Path, meta: dict[str, Any]) -> None:
    """`meta.json`'s "entities" / "passages" counts (when recorded) are the row counts of the tables, read
    from the parquet footers (no data read): a table edited or replaced by hand is refused by every reader."""
    import pyarrow.parquet as pq

    for key, name in (("entities", ENTITIES_FILE), ("passages", PASSAGES_FILE)):
        if meta.get(key) is None:
            continue
        if isinstance(meta[key], bool) or not isinstance(meta[key], int):
            raise InputError(f"must be an integer, got {meta[key]!r:.40}", path=path / META_FILE, field=key)
        try:
            rows = pq.read_metadata(path / name).num_rows
        except Exception as e:  # pyarrow raises several error types for corrupt files
            raise InputError(f"unreadable parquet ({e})", path=path / name) from None
        if rows != meta[key]:
            raise InputError(f"says {meta[key]} {key} but {name} has {rows} rows", path=path / META_FILE,
                             field=key)


def open_kb_parquet(file: Path, columns: Iterable[str]):
    """A `pyarrow.parquet.ParquetFile` of a KB table whose schema has `columns` (InputError otherwise), for
    readers that stream a few columns batch by batch instead of loading the whole table."""
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(file)
    except Exception as e:  # pyarrow raises several error types for corrupt files
        raise InputError(f"unreadable parquet ({e})", path=file) from None
    names = set(parquet.schema_arrow.names)
    missing = [c for c in columns if c not in names]
    if missing:
        raise InputError("missing column", path=file, field=missing[0])
    return parquet


# Columns every row must fill (the others may be null: image, wikidata_id, types) and the id columns.
_REQUIRED = {ENTITIES_FILE: ("entity_id", "title", "text"), PASSAGES_FILE: PASSAGE_COLUMNS}
_ID_COLUMN = {ENTITIES_FILE: "entity_id", PASSAGES_FILE: "passage_id"}


def _check_look_alike(article: Article, looks: dict[str, str], qids: dict[str, str], source: Any) -> None:
    """Refuse an entity whose id is another's in a different Unicode normalisation ("Café" composed and
    decomposed: two entities that print alike, a question naming one never finds the other) or whose Wikidata
    id another entity already has (`resolve` gave the first, so the second could never be a gold entity)."""
    import unicodedata

    key = unicodedata.normalize("NFC", article.id)
    if looks.setdefault(key, article.id) != article.id:
        raise InputError(f"entity id {ascii(article.id)} is {ascii(looks[key])} written in another Unicode "
                         "normalisation (composed vs decomposed accents); keep one article", path=source,
                         record=f"entity {article.id!r}", field="id")
    qid = article.wikidata_id
    if qid and qids.setdefault(qid, article.id) != article.id:
        raise InputError(f"Wikidata id {qid!r} is already the id of entity {qids[qid]!r}: a question naming "
                         f"{qid} would resolve to that one only; keep one article per Wikidata id",
                         path=source, record=f"entity {article.id!r}", field="wikidata_id")


def check_table(file: Path, frame, rows: np.ndarray | None = None) -> None:
    """A KB table as `build_kb` writes it: the column types of its schema, no null in a required column and
    unique ids; InputError naming the file, the row and the column otherwise (instead of a pandas error in
    whichever command first reads the value). `rows`: the file's row number (0-based) of each row of `frame`
    when it holds some rows only (`kvqae.data.kb_subset`), so the message names the row of the file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pq.read_schema(file)
    for column in ENTITY_COLUMNS if file.name == ENTITIES_FILE else PASSAGE_COLUMNS:
        kind = schema.field(column).type
        if pa.types.is_dictionary(kind):  # a pandas `category` column: its values are what counts
            kind = kind.value_type
        if column == "position":
            ok = pa.types.is_integer(kind)
        elif column == "types":
            # lists of nothing but empty lists: a KB without types, saved again by pandas (list<null>)
            ok = pa.types.is_null(kind) or (
                (pa.types.is_list(kind) or pa.types.is_large_list(kind))
                and (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)
                     or pa.types.is_null(kind.value_type)))
        else:
            ok = pa.types.is_string(kind) or pa.types.is_large_string(kind) or (
                pa.types.is_null(kind) and column not in _REQUIRED[file.name])
        if not ok:
            want = {"position": "integers", "types": "lists of strings"}.get(column, "strings")
            raise InputError(f"must hold {want}, the column has type {kind}", path=file, field=column)
    for column in _REQUIRED[file.name]:
        empty = frame[column].isna()
        if empty.any():
            row = int(empty.to_numpy().argmax())
            raise InputError("missing value (null)", path=file, record=_row_name(row, rows), field=column)
    ids = frame[_ID_COLUMN[file.name]]
    _check_ids(file, ids.astype(str), rows)
    repeated = ids.duplicated()
    if repeated.any():
        row = int(repeated.to_numpy().argmax())
        raise InputError(f"duplicate id {ids.iat[row]!r}", path=file, record=_row_name(row, rows),
                         field=_ID_COLUMN[file.name])


def plain_columns(frame) -> None:
    """Turn the pandas `category` columns of a KB table (a table saved by pandas after `astype("category")`,
    stored as a parquet dictionary) into plain columns of their values, in place: every reader then sees the
    strings (and integers) `build_kb` writes. Called before `check_table`, which names a bad value."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            # with a null, an integer category cannot hold it: object, so that `check_table` names the row
            plain = values.cat.categories.dtype if not values.isna().any() else object
            frame[column] = values.astype(plain)


def check_passage_entities(file: Path, entity_ids, known, rows: np.ndarray | None = None) -> None:
    """Every passage's entity (the Series `entity_ids` of passages.parquet's rows) is one of `known` (entity
    ids of entities.parquet); `rows` as in `check_table`."""
    unknown = ~entity_ids.isin(known)
    if unknown.any():
        row = int(unknown.to_numpy().argmax())
        raise InputError(f"entity {entity_ids.iat[row]!r} is not in {ENTITIES_FILE}", path=file,
                         record=_row_name(row, rows), field="entity_id")


def _row_name(row: int, rows: np.ndarray | None = None) -> str:
    """"row N" (1-based, as a spreadsheet counts) of row `row` of a table, or of the file row `rows[row]`."""
    return f"row {(row if rows is None else int(rows[row])) + 1}"


def _check_ids(file: Path, ids, rows: np.ndarray | None = None) -> None:
    """No empty id and none with a control character: runs name passages and entities by these ids, and a run
    file cannot carry such an id (every command reading the run refused it, long after the KB was built)."""
    from kvqae.io import CONTROL_CHARS, check_id_chars

    field, empty = _ID_COLUMN[file.name], ids.str.strip() == ""
    if empty.any():
        row = int(empty.to_numpy().argmax())
        raise InputError("an empty id", path=file, record=_row_name(row, rows), field=field)
    odd = ids.str.contains(CONTROL_CHARS.pattern, regex=True)
    if odd.any():
        row = int(odd.to_numpy().argmax())
        check_id_chars(ids.iat[row], field, {"path": file, "record": _row_name(row, rows)})


class KnowledgeBase:
    """A built KB directory: `entities` and `passages` DataFrames plus id lookups (built lazily, once)."""

    def __init__(self, path: Path, entities, passages, meta: dict[str, Any]) -> None:
        self.path = path
        self.entities = entities
        self.passages = passages
        self.meta = meta

    @classmethod
    def load(cls, path: str | Path) -> KnowledgeBase:
        """Load a directory written by `build_kb`; anything else is an InputError naming what is wrong."""
        import pandas as pd

        path, meta = open_kb_dir(path)
        frames = []
        for name, columns in ((ENTITIES_FILE, ENTITY_COLUMNS), (PASSAGES_FILE, PASSAGE_COLUMNS)):
            try:
                frame = pd.read_parquet(path / name)
            except Exception as e:  # pyarrow raises several error types for corrupt files
                raise InputError(f"unreadable parquet ({e})", path=path / name) from None
            missing = [c for c in columns if c not in frame.columns]
            if missing:
                raise InputError("missing column", path=path / name, field=missing[0])
            plain_columns(frame)
            check_table(path / name, frame)
            frames.append(frame)
        check_passage_entities(path / PASSAGES_FILE, frames[1]["entity_id"], frames[0]["entity_id"])
        return cls(path, frames[0], frames[1], meta)

    def __len__(self) -> int:
        return len(self.entities)

    def __repr__(self) -> str:
        return (
            f"KnowledgeBase({str(self.path)!r}, entities={len(self.entities)}, passages={len(self.passages)})"
        )

    # ids -------------------------------------------------------------------------------------------------
    @cached_property
    def entity_ids(self) -> list[str]:
        return self.entities["entity_id"].tolist()

    @cached_property
    def passage_ids(self) -> list[str]:
        return self.passages["passage_id"].tolist()

    @cached_property
    def _entity_row(self) -> dict[str, int]:
        return {eid: i for i, eid in enumerate(self.entity_ids)}

    @cached_property
    def _passage_row(self) -> dict[str, int]:
        return {pid: i for i, pid in enumerate(self.passage_ids)}

    @cached_property
    def _passages_by_entity(self) -> dict[str, list[str]]:
        # Passages are written in article order, so appending keeps positions sorted.
        groups: dict[str, list[str]] = {eid: [] for eid in self.entity_ids}
        for pid, eid in zip(self.passage_ids, self.passages["entity_id"].tolist(), strict=True):
            groups[eid].append(pid)
        return groups

    def _erow(self, entity_id: str) -> int:
        try:
            return self._entity_row[entity_id]
        except KeyError:
            raise KeyError(f"unknown entity id {entity_id!r} in {self.path}") from None

    def _prow(self, passage_id: str) -> int:
        try:
            return self._passage_row[passage_id]
        except KeyError:
            raise KeyError(f"unknown passage id {passage_id!r} in {self.path}") from None

    # accessors ---------------------------------------------------------------------------------------------
    def has_passage(self, passage_id: str) -> bool:
        """Whether the KB holds a passage of this id (the id lookup table is built once, then shared)."""
        return passage_id in self._passage_row

    def passages_of(self, entity_id: str) -> list[str]:
        """Passage ids of an entity, in article order (KeyError for an unknown entity)."""
        self._erow(entity_id)
        return list(self._passages_by_entity[entity_id])

    def entity_of(self, passage_id: str) -> str:
        return self.passages["entity_id"].iat[self._prow(passage_id)]

    def passage_text(self, passage_id: str) -> str:
        """The passage as fed to models: `"{title}. {chunk}"`."""
        return self.passages["text"].iat[self._prow(passage_id)]

    def position_of(self, passage_id: str) -> int:
        """The passage's position in its article (0: the article's first passage, its lead)."""
        return int(self.passages["position"].iat[self._prow(passage_id)])

    def title_of(self, entity_id: str) -> str:
        return self.entities["title"].iat[self._erow(entity_id)]

    def text_of(self, entity_id: str) -> str:
        return self.entities["text"].iat[self._erow(entity_id)]

    def image_of(self, entity_id: str) -> str | None:
        value = self.entities["image"].iat[self._erow(entity_id)]
        return value if isinstance(value, str) else None

    def types_of(self, entity_id: str) -> list[str]:
        value = self.entities["types"].iat[self._erow(entity_id)]
        return [] if value is None else [str(v) for v in value]

    def wikidata_id_of(self, entity_id: str) -> str | None:
        value = self.entities["wikidata_id"].iat[self._erow(entity_id)]
        return value if isinstance(value, str) else None

    @cached_property
    def _aliases(self) -> dict[str, str]:
        # QIDs and titles map to entity ids; ids themselves win over any alias.
        table: dict[str, str] = {}
        for eid, title, qid in zip(
            self.entity_ids,
            self.entities["title"].tolist(),
            self.entities["wikidata_id"].tolist(),
            strict=True,
        ):
            for key in (qid, title, title.replace(" ", "_") if isinstance(title, str) else None):
                if isinstance(key, str) and key:
                    table.setdefault(key, eid)
        table.update({eid: eid for eid in self.entity_ids})
        return table

    def resolve(self, ref: str | None) -> str | None:
        """Entity id for a reference given as an entity id, a Wikidata QID or a title (spaces or `_`); None if
        the KB has no such entity. Questions carry their dataset's reference (QID for ViQuAE/InfoSeek, title
        for Encyclopedic-VQA): use this to match them to KB ids."""
        if not ref:
            return None
        return self._aliases.get(ref) or self._aliases.get(ref.replace("_", " "))

    def has_entity(self, entity_id: str) -> bool:
        return entity_id in self._entity_row

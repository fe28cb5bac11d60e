"""Article readers: every supported KB source becomes a stream of validated `Article` records.

Formats (`fmt`):
- `"jsonl"`: kvqae articles, one JSON object a line (or one JSON list of them):
  `{"id", "title", "text", "image"?: path relative to the file, "types"?: [str], "wikidata_id"?: str}`.
- `"mediawiki"`: a MediaWiki XML export (`.xml`, `.xml.bz2` or `.xml.gz`); wikitext is turned into prose by
  `kvqae.data.wikitext`. Entity id = page title with whitespace replaced by `_` (`Albert_Einstein`).
- `"viquae"`: the ViQuAE / KILT knowledge-base layout, JSON lines or one JSON list, each row with
  `wikipedia_title`, `text` (a string or KILT's `{"paragraph": [...]}`), `image` (file name, relative to
  `images_dir` or the file's folder), `wikidata_info` (`{"wikidata_id", "types"?}`). Entity id = title with
  `_` as for MediaWiki.
- `"auto"`: `.xml`/`.xml.bz2`/`.xml.gz` or a file starting with `<` -> mediawiki; JSON rows with
  `wikipedia_title` -> viquae; other JSON -> jsonl. The first record is read whole (any line length); a
  UTF-8 BOM is allowed.

Every problem raises one `InputError` naming the file, the line (or row / page title) and the field.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from kvqae.data.wikitext import DROP_SECTIONS, GZIP_MAGIC, iter_mediawiki_pages, repair_c1, wikitext_to_text
from kvqae.errors import InputError
from kvqae.io import (
    UTF16_BOMS,
    UTF16_MESSAGE,
    check_id_chars,
    check_misspelt_keys,
    existing_file,
    first_byte,
    first_json_row,
    is_address,
    is_file,
    is_folder,
    json_type,
    not_found,
    read_json,
    read_json_rows,
)

ARTICLE_FORMATS = ("jsonl", "mediawiki", "viquae")
_WHITESPACE = re.compile(r"\s+")


@dataclass
class Article:
    """One KB entity before chunking: id (no whitespace), title, plain-prose text, absolute image path or
    None, type labels, and Wikidata QID or None."""

    id: str
    title: str
    text: str
    image: str | None = None
    types: list[str] = field(default_factory=list)
    wikidata_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def title_to_id(title: str) -> str:
    """Entity id of a titled page: whitespace runs become `_` (`"Apollo 11"` -> `"Apollo_11"`)."""
    return _WHITESPACE.sub("_", title.strip())


# --------------------------------------------------------------------------------------- detection


# Encyclopedic-VQA's encyclopedic_kb_wiki.json: {"https://en.wikipedia.org/wiki/...": {"title": ...}, ...}
_EVQA_KB = re.compile(rb'\{\s*"https?://[^"]*"\s*:\s*\{')


def detect_article_format(path: str | Path) -> str:
    """Pick the reader for `path` from its extension, then from its first byte: `<` -> mediawiki, JSON
    (`{` or `[`, a UTF-8 BOM allowed) -> viquae when the first record has `wikipedia_title`, else jsonl.

    The first record is read whole, however long its line.
    """
    path = existing_file(path)
    first = first_byte(path)
    if not first:
        raise InputError("file is empty", path=path)
    if path.name.lower().endswith((".xml", ".xml.bz2", ".xml.gz")) or first == b"<":
        return "mediawiki"
    with path.open("rb") as f:
        head = f.read(4096)
    if head[:2] == GZIP_MAGIC:  # said "cannot tell the articles format"
        raise InputError("gzip-compressed: decompress it first (gunzip); only a MediaWiki XML export is "
                         "read compressed (.xml.gz / .xml.bz2)", path=path)
    if head[:2] in UTF16_BOMS:  # said "cannot tell the articles format"
        raise InputError(UTF16_MESSAGE, path=path)
    if first in (b"{", b"["):
        # its one line was read whole (4x its size) to say "missing field id"
        if _EVQA_KB.match(head.lstrip(b"\xef\xbb\xbf \t\r\n")):
            raise InputError("this is Encyclopedic-VQA's KB (one JSON object keyed by Wikipedia URL), which "
                             "kb build does not read; convert it to kvqae article rows (id, title, text) "
                             "first", path=path)
        row = first_json_row(path)
        return "viquae" if row is not None and "wikipedia_title" in row else "jsonl"
    raise InputError(
        "cannot tell the articles format (neither JSON nor MediaWiki XML); pass --format jsonl, mediawiki "
        "or viquae",
        path=path,
    )


def read_articles(
    path: str | Path,
    fmt: str = "auto",
    *,
    images_dir: str | Path | None = None,
    check_images: bool = True,
) -> Iterator[Article]:
    """Stream validated articles from `path` in file order.

    `images_dir` (viquae only) is where image file names are resolved (default: the file's folder).
    `check_images=False` records image paths without opening them (for large KBs checked elsewhere).
    """
    path = Path(path)
    if fmt == "auto":
        fmt = detect_article_format(path)
    if fmt == "jsonl":
        return read_jsonl_articles(path, check_images=check_images)
    if fmt == "mediawiki":
        return read_mediawiki_articles(path)
    if fmt == "viquae":
        return read_viquae_articles(path, images_dir=images_dir, check_images=check_images)
    raise InputError(
        f"unknown articles format {fmt!r} (--format takes auto, {', '.join(ARTICLE_FORMATS)})", path=path
    )


# -------------------------------------------------------------------------------------- validation


def _place(record: str | int) -> str:
    """How an error message names a record: "line 3" (JSON lines) or "row 3" (JSON list)."""
    return f"line {record}" if isinstance(record, int) else str(record)


def _require_str(obj: dict, key: str, where: dict, *, nonempty: bool = True) -> str:
    if key not in obj:
        raise InputError("missing field", field=key, **where)
    value = obj[key]
    if not isinstance(value, str):
        raise InputError(f"must be a string, got {json_type(value)}", field=key, **where)
    if nonempty and not value.strip():
        raise InputError("must not be empty", field=key, **where)
    return value


def _optional_str(obj: dict, key: str, where: dict) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"must be a string or null, got {json_type(value)}", field=key, **where)
    return value.strip() or None


def _str_list(value: Any, key: str, where: dict) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError("must be a list of strings", field=key, **where)
    return [v for v in value if v.strip()]


def check_image(image: Path, *, where: dict, key: str = "image") -> None:
    """Open and fully decode `image` as the encoders will (`kvqae.encode.loader.open_image`); a missing,
    unreadable or truncated file, or pixels the encoders refuse (floating-point, 32-bit), is an InputError
    at `where`: found by `kb build`, not hours later by `encode`."""
    from kvqae.encode.loader import open_image

    if is_folder(image):  # was "not found"
        raise InputError(f"image {image} is a folder, not an image file", field=key, **where)
    if not is_file(image):
        raise InputError(f"image not found: {image}", field=key, **where)
    try:
        open_image(image)
    except InputError as e:
        raise InputError(f"unreadable image {image} ({e.reason})", field=key, **where) from None


def _resolve_image(value: str, base: Path, where: dict, *, check: bool) -> str:
    """Absolute path of an image given relative to `base`; it must stay inside `base`, judged on the path as
    written ("..", an absolute path), not where links lead: an `images/` folder linked in from a big disk is
    the articles' own folder (resolving the link first called every image in it an escape)."""
    if "\x00" in value:
        raise InputError("image path contains a NUL character", field="image", **where)
    if is_address(value):  # was "image not found: <folder>/https:/host/a.jpg"
        raise InputError(f"image {value!r} is an address, not a file path: kvqae fetches nothing; download "
                         "the image and give its path relative to the articles file", field="image", **where)
    base = base.resolve()
    image = Path(os.path.normpath(base / value))
    if not image.is_relative_to(base):
        raise InputError(f"image path {value!r} escapes the folder {base}", field="image", **where)
    if check:
        check_image(image, where=where)
    return str(image)


# ----------------------------------------------------------------------------------------- readers


_ARTICLE_KEYS = ("id", "title", "text", "image", "types", "wikidata_id")


def read_jsonl_articles(path: str | Path, *, check_images: bool = True) -> Iterator[Article]:
    """kvqae articles: JSON lines, or one JSON list of the same objects (see the module docstring)."""
    path = Path(path)
    seen: dict[str, str] = {}
    for obj, where in read_json_rows(path):
        if "title" not in obj and "question" in obj:  # a questions file given as articles
            raise InputError("this is a questions file (a \"question\" field, no \"title\"), not articles: "
                             "give the articles the questions are about", field="title", **where)
        check_misspelt_keys(obj, _ARTICLE_KEYS, "kvqae articles", where)  # "imgae": built without its image
        entity_id = _require_str(obj, "id", where)
        check_id_chars(entity_id, "id", where)
        if _WHITESPACE.search(entity_id):
            raise InputError(f"id {entity_id!r} must not contain whitespace", field="id", **where)
        if entity_id in seen:
            raise InputError(f"duplicate id {entity_id!r} (first at {seen[entity_id]})", field="id", **where)
        seen[entity_id] = _place(where["record"])
        title = _require_str(obj, "title", where).strip()
        text = _require_str(obj, "text", where).strip()
        image_value = _optional_str(obj, "image", where)
        image = (
            None
            if image_value is None
            else _resolve_image(image_value, path.parent, where, check=check_images)
        )
        yield Article(
            id=entity_id,
            title=title,
            text=text,
            image=image,
            types=_str_list(obj.get("types"), "types", where),
            wikidata_id=_optional_str(obj, "wikidata_id", where),
        )


def read_mediawiki_articles(path: str | Path) -> Iterator[Article]:
    """Articles of a MediaWiki XML export; pages whose prose is empty after cleaning are skipped."""
    path = Path(path)
    seen: set[str] = set()
    for page in iter_mediawiki_pages(path):
        entity_id = title_to_id(page.title)
        if entity_id in seen:
            raise InputError("duplicate page title", path=path, record=f"page {page.title!r}", field="title")
        seen.add(entity_id)
        try:
            text = wikitext_to_text(repair_c1(page.wikitext))
        except ValueError as e:  # nested past what the parser can take, even without its templates
            raise InputError(str(e), path=path, record=f"page {page.title!r}", field="text") from None
        if not text:
            continue
        yield Article(id=entity_id, title=page.title, text=text)


# KILT's markup in its paragraphs: "Section::::History:::Early life." heads a (sub)section, "BULLET::::- "
# starts a list item.
_KILT_SECTION = "Section::::"
_KILT_BULLET = re.compile(r"^BULLET::::\s*-?\s*")


def kilt_prose(paragraphs: list[str], title: str) -> str:
    """KILT / ViQuAE article paragraphs -> prose, one paragraph a line, cleaned as MediaWiki pages are: a
    first paragraph that only repeats the title is dropped (the passages carry it already), section lines
    ("Section::::History.") are removed, and so are reference-like sections with their content ("See also",
    "References", ...: `wikitext.DROP_SECTIONS`); list items lose their "BULLET::::- " mark."""
    lines = [p.strip() for p in paragraphs if p.strip()]
    if lines and lines[0] == title.strip():
        lines = lines[1:]
    out: list[str] = []
    skip_level: int | None = None  # depth of a dropped section while inside it
    for line in lines:
        if line.startswith(_KILT_SECTION):
            heads = line[len(_KILT_SECTION):].split(":::")
            level = len(heads)
            if skip_level is not None and level <= skip_level:
                skip_level = None
            if skip_level is None and heads[-1].strip().rstrip(".").strip().lower() in DROP_SECTIONS:
                skip_level = level
            continue
        if skip_level is None and (line := _KILT_BULLET.sub("", line)):
            out.append(line)
    return "\n".join(out)


def _kilt_text(obj: dict, title: str, where: dict) -> str:
    if "text" not in obj:
        raise InputError("missing field", field="text", **where)
    value, name = obj["text"], "text"
    if isinstance(value, dict) and isinstance(value.get("paragraph"), list):
        value, name = value["paragraph"], "text.paragraph"
    if isinstance(value, list):  # KILT's own knowledge source: `text` is the list of paragraphs
        for i, paragraph in enumerate(value):
            if not isinstance(paragraph, str):  # a number in it was dropped, its text lost silently
                raise InputError(f"item {i} must be a string, got {json_type(paragraph)}", field=name,
                                 **where)
    elif isinstance(value, str):
        value = value.split("\n")
    else:
        raise InputError('must be a string, a list of strings or {"paragraph": [str]}', field="text", **where)
    if not any(p.strip() for p in value):
        raise InputError("must not be empty", field="text", **where)
    # a stub of only its title and reference sections keeps its title as text: dropping it would drop the
    # entity that questions name
    return kilt_prose([repair_c1(p) for p in value], title) or title.strip()


def read_viquae_articles(
    path: str | Path, *, images_dir: str | Path | None = None, check_images: bool = True
) -> Iterator[Article]:
    """ViQuAE / KILT KB rows (see the module docstring)."""
    path = Path(path)
    if not path.exists():
        raise InputError(not_found("file", path), path=path)
    base = Path(images_dir) if images_dir is not None else path.parent
    seen: dict[str, str] = {}
    for obj, where in read_json_rows(path):
        title = _require_str(obj, "wikipedia_title", where).strip()
        entity_id = title_to_id(title)
        check_id_chars(entity_id, "wikipedia_title", where)
        if entity_id in seen:
            raise InputError(
                f"duplicate title {title!r} (first at {seen[entity_id]})", field="wikipedia_title", **where
            )
        seen[entity_id] = _place(where["record"])
        text = _kilt_text(obj, title, where)
        image_value = _optional_str(obj, "image", where)
        image = None if image_value is None else _resolve_image(image_value, base, where, check=check_images)
        info = obj.get("wikidata_info")
        info = {} if info is None else info  # [] and 0 were read as {}: the entity lost its QID silently
        if not isinstance(info, dict):
            raise InputError("must be an object", field="wikidata_info", **where)
        qid = _optional_str(info, "wikidata_id", {**where})
        types = _str_list(info.get("types", obj.get("types")), "wikidata_info.types", where)
        yield Article(id=entity_id, title=title, text=text, image=image, types=types, wikidata_id=qid)


# ------------------------------------------------------------------------------------------- types


def _type_labels(entry: Any) -> list[str] | None:
    """Type labels of one entry: a list of str, or a viquae_entities.json record (its `instanceof` labels)."""
    if isinstance(entry, list) and all(isinstance(v, str) for v in entry):
        return list(entry)
    if isinstance(entry, dict) and isinstance(entry.get("instanceof"), dict):
        labels = []
        for value in entry["instanceof"].values():
            label = value.get("label") if isinstance(value, dict) else None
            text = label.get("value") if isinstance(label, dict) else label
            if isinstance(text, str) and text and text not in labels:
                labels.append(text)
        return labels
    return None


@dataclass
class EntityTypeTable:
    """Type labels keyed by Wikidata QID / entity id, plus title -> key for sources without QIDs."""

    by_key: dict[str, list[str]]
    key_of_title: dict[str, str]

    def annotate(self, article: Article) -> Article:
        """The article with the table's types appended (existing types kept first).

        Lookup order: the article's wikidata_id, its id, then its title; a title match also fills a missing
        wikidata_id when the table is keyed by QIDs (so a MediaWiki KB can be matched with ViQuAE/InfoSeek).
        """
        key = None
        for candidate in (article.wikidata_id, article.id):
            if candidate and candidate in self.by_key:
                key = candidate
                break
        if key is None:
            key = self.key_of_title.get(article.title)
        if key is None:
            return article
        types = list(article.types) + [t for t in self.by_key[key] if t not in article.types]
        qid = article.wikidata_id
        if qid is None and re.fullmatch(r"Q\d+", key):
            qid = key
        return replace(article, types=types, wikidata_id=qid)


def load_type_table(path: str | Path) -> EntityTypeTable:
    """Read a types file: viquae_entities.json (QID -> record with `wikipedia_title`, `instanceof`) or a plain
    JSON object `{key: [type labels]}` keyed by QID or entity id."""
    path = Path(path)
    data = read_json(path, "types file")
    if not isinstance(data, dict):
        raise InputError("expected a JSON object keyed by QID or entity id", path=path)
    by_key: dict[str, list[str]] = {}
    key_of_title: dict[str, str] = {}
    for key, entry in data.items():
        labels = _type_labels(entry)
        if labels is None:
            raise InputError(
                'expected a list of type labels or a record with "instanceof"',
                path=path,
                record=f"key {key!r}",
            )
        by_key[key] = labels
        if isinstance(entry, dict) and isinstance(entry.get("wikipedia_title"), str):
            key_of_title.setdefault(entry["wikipedia_title"], key)
    return EntityTypeTable(by_key=by_key, key_of_title=key_of_title)


def load_entity_types(path: str | Path) -> dict[str, list[str]]:
    """QID (or key) -> type labels, from viquae_entities.json or a plain `{key: [labels]}` JSON object."""
    return load_type_table(path).by_key

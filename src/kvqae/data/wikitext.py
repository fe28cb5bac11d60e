"""MediaWiki XML exports -> plain-prose articles.

`iter_mediawiki_pages(path)` streams `<page>` elements (`.xml`, `.xml.bz2` or `.xml.gz`) with
`xml.etree.ElementTree.iterparse`, ignoring the export's XML namespace (every schema version works), and
yields only real articles: namespace 0 and not a redirect. `wikitext_to_text(markup)` turns one page's
wikitext into prose with mwparserfromhell:

- dropped: templates (infoboxes, citations, pronunciation helpers...), `<ref>`/`<references>`, tables,
  galleries, math, comments, File:/Image:/Media:/Category: links, interlanguage links, bare URLs, magic words;
- kept as plain text: the visible text of internal links (`[[Paris|the capital]]` -> `the capital`), titles of
  bracketed external links, bold/italic text, list items, the content of other HTML tags;
- section headings are removed (they are not sentences), and whole reference-like sections ("See also",
  "References", "External links", "Further reading", "Notes", ...) are dropped with their content;
- whitespace is normalised: one paragraph per line, no blank lines, leftover empty parentheses removed.
"""

from __future__ import annotations

import bz2
import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from xml.etree import ElementTree

from kvqae.errors import InputError
from kvqae.io import not_found

# Tags whose content is never prose.
GZIP_MAGIC = b"\x1f\x8b"

_DROP_TAGS = {
    "ref",
    "references",
    "table",
    "gallery",
    "math",
    "chem",
    "ce",
    "score",
    "timeline",
    "imagemap",
    "graph",
    "templatedata",
    "syntaxhighlight",
    "source",
    "pre",
    "code",
    "hiero",
    "inputbox",
    "categorytree",
    "mapframe",
    "maplink",
    "noinclude",
    "includeonly",
}
# Namespaces of links that render as media or metadata, not text.
_DROP_LINK_NAMESPACES = {"file", "image", "media", "category"}
# Sections holding lists of links and citations rather than prose about the entity.
DROP_SECTIONS = {
    "see also",
    "references",
    "notes",
    "external links",
    "further reading",
    "bibliography",
    "sources",
    "footnotes",
    "citations",
    "notes and references",
    "references and notes",
    "works cited",
    "literature",
    "selected bibliography",
    "primary sources",
    "secondary sources",
    "explanatory notes",
    "gallery",
}
_LANG_PREFIX = re.compile(r"^[a-z]{2,3}(-[a-z]+)*$")
_MAGIC_WORD = re.compile(r"__[A-Z]+__")
_HEADING_MARK = "\x00H\x00"
# Gallery lines that the parser left as text ("File:x.jpg|thumb|caption").
_MEDIA_LINE = re.compile(r"^\s*(?:file|image|media)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class WikiPage:
    """One article page of an export: title, page id and the wikitext of its (latest) revision."""

    title: str
    page_id: str
    wikitext: str


def _local(tag: str) -> str:
    """Element tag without its `{namespace}` prefix."""
    return tag.rsplit("}", 1)[-1]


def _open_export(path: Path) -> IO[bytes]:
    """The export's XML bytes: bzip2 and gzip (Fandom's exports) are told by the file's own signature, not
    its name (`.BZ2` was read as raw XML; a plain `.xml` named `.bz2` said "Invalid data stream")."""
    with path.open("rb") as f:
        head = f.read(3)
    if head == b"BZh":
        return bz2.open(path, "rb")
    if head[:2] == GZIP_MAGIC:
        return gzip.open(path, "rb")
    if path.name.lower().endswith(".bz2"):
        raise InputError("named .bz2 but not bzip2-compressed (it does not start with 'BZh'); rename it "
                         "to .xml if it is plain XML", path=path)
    return path.open("rb")


def iter_mediawiki_pages(path: str | Path) -> Iterator[WikiPage]:
    """Stream the article pages (namespace 0, not redirects) of a MediaWiki XML export, in file order.

    Memory stays flat on large dumps: each `<page>` element is cleared once read.
    Raises InputError on a missing file or malformed XML (naming the parser's line).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(not_found("file", path), path=path)
    with _open_export(path) as f:
        try:
            context = ElementTree.iterparse(f, events=("start", "end"))
            root = None
            prefixes = set(DEFAULT_NAMESPACES)
            for event, elem in context:
                if event == "end" and _local(elem.tag) == "namespace" and elem.get("key") != "0":
                    prefixes.add((elem.text or "").strip().casefold())  # siteinfo: this wiki's own
                    continue
                if event == "start":
                    if root is None:
                        root = elem
                        if _local(root.tag) != "mediawiki":
                            raise InputError(
                                f"not a MediaWiki export (root element <{_local(root.tag)}>)", path=path
                            )
                    continue
                if _local(elem.tag) != "page":
                    continue
                page = _read_page(elem, prefixes)
                # Drop the finished page from the tree so memory does not grow with the dump.
                elem.clear()
                if root is not None:
                    for child in list(root):
                        if _local(child.tag) == "page":
                            root.remove(child)
                if page is not None:
                    yield page
        except ElementTree.ParseError as e:
            line = e.position[0] if e.position else None
            raise InputError(f"malformed XML ({e})", path=path, record=line) from None
        except (OSError, EOFError) as e:  # e.g. a truncated .bz2 stream
            raise InputError(f"cannot read export ({e})", path=path) from None


# namespace prefixes of the English Wikipedia, for exports that name no namespace of a page (no <ns>) and
# list none in <siteinfo>
DEFAULT_NAMESPACES = frozenset(
    name.casefold() for base in ("User", "Wikipedia", "File", "MediaWiki", "Template", "Help", "Category",
                                 "Portal", "Draft", "Module", "TimedText", "Book", "Image", "Project",
                                 "Education Program", "Gadget", "Gadget definition")
    for name in (base, f"{base} talk")
) | {"talk", "special", "media", "wp", "wt"}


def _read_page(elem: ElementTree.Element, namespaces: set[str] | frozenset[str] = DEFAULT_NAMESPACES
               ) -> WikiPage | None:
    """The article in a `<page>` element, or None for redirects and other namespaces (by its <ns>, or when
    it has none, by a title prefix among `namespaces`, casefolded: "Talk:Paris", "Category:France")."""
    title = ns = page_id = None
    redirect = False
    text = ""
    for child in elem:
        name = _local(child.tag)
        if name == "title":
            title = (child.text or "").strip()
        elif name == "ns":
            ns = (child.text or "").strip()
        elif name == "id":
            page_id = (child.text or "").strip()
        elif name == "redirect":
            redirect = True
        elif name == "revision":
            for sub in child:
                if _local(sub.tag) == "text":
                    text = sub.text or ""
    if not title or redirect:
        return None
    # Older exports have no <ns>: fall back on the title having no namespace prefix we know about.
    if ns is not None and ns != "0":
        return None
    prefix, colon, _ = title.partition(":")
    if ns is None and colon and prefix.strip().casefold() in namespaces:
        return None
    if text.lstrip().lower().startswith("#redirect"):
        return None
    return WikiPage(title=title, page_id=page_id or "", wikitext=text)


def _c1_table() -> dict[int, str]:
    table = {}
    for code in range(0x80, 0xA0):
        try:
            table[code] = bytes([code]).decode("cp1252")
        except UnicodeDecodeError:  # 5 codes Windows-1252 leaves undefined
            table[code] = ""
    return table


_C1_AS_CP1252 = _c1_table()


def repair_c1(text: str) -> str:
    """`text` with each C1 control character (U+0080-U+009F) read as the Windows-1252 character of that code
    (U+0096 -> an en dash, U+0092 -> a right quote) or dropped where that code page has none. Real dumps hold
    such mojibake ("October\x96" in the 2016 sample); one of them used to stop a whole KB build, since KB
    text may not hold control characters."""
    return text.translate(_C1_AS_CP1252)


def wikitext_to_text(markup: str) -> str:
    """Plain prose of a wikitext page: one paragraph per line (see the module docstring for what is kept).
    Templates nested past the parser's recursion ("{{" 500 deep) are dropped from the inside out first, as
    the renderer would drop them; ValueError when the page is still too deep to parse."""
    import mwparserfromhell

    markup = _preclean(markup)
    for attempt in range(2):
        try:
            return _clean(_render(mwparserfromhell.parse(markup).nodes))
        except RecursionError:
            if attempt:
                raise ValueError("markup nested too deeply to parse") from None
            markup = _drop_templates(markup)
    raise AssertionError("unreachable")


_INNER_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")


def _drop_templates(markup: str) -> str:
    """The markup without its templates (and template parameters), removed innermost first, no recursion."""
    while True:
        dropped = _INNER_TEMPLATE.sub("", markup)
        if dropped == markup:
            return dropped
        markup = dropped


_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_REF_SELF = re.compile(r"<ref\b[^<>]*/>", re.IGNORECASE)
_REF_OPEN = re.compile(r"<ref\b[^<>]*>", re.IGNORECASE)
_REF_CLOSE = re.compile(r"</ref\s*>", re.IGNORECASE)


def _preclean(markup: str) -> str:
    """Remove comments, references and tables before parsing.

    The parser leaves malformed instances of these as literal text (an unbalanced quote in a table header, a
    template cut by a reference); removing them on the raw markup is more robust and makes parsing faster.
    """
    markup = _COMMENT.sub("", markup)
    markup = _REF_SELF.sub("", markup)
    markup = _drop_ref_pairs(markup)
    markup = _drop_media_links(markup)
    return _drop_tables(markup)


def _drop_ref_pairs(markup: str) -> str:
    """Remove `<ref ...>...</ref>` pairs in linear time (a single lazy `<ref ...>.*?</ref>` regex
    rescans to the end of the page from every unclosed `<ref>`, minutes on a page of them."""
    out: list[str] = []
    pos = 0
    while (start := _REF_OPEN.search(markup, pos)) is not None:
        end = _REF_CLOSE.search(markup, start.end())
        if end is None:  # no closing tag after this one: none after any later opening tag either
            break
        out.append(markup[pos : start.start()])
        pos = end.end()
    out.append(markup[pos:])
    return "".join(out)


_MEDIA_LINK_START = re.compile(r"\[\[\s*(?:file|image|media)\s*:", re.IGNORECASE)


def _drop_media_links(markup: str) -> str:
    """Remove `[[File:...]]` links with their captions, matching nested `[[...]]` brackets.

    Done before parsing because a caption with unbalanced quotes or tags makes the parser give up on the whole
    link and keep it as text.
    """
    out: list[str] = []
    pos = 0
    for match in _MEDIA_LINK_START.finditer(markup):
        start = match.start()
        if start < pos:  # inside a link already removed
            continue
        depth, i = 0, start
        end = len(markup)
        while i < len(markup) - 1:
            pair = markup[i : i + 2]
            if pair == "[[":
                depth += 1
                i += 2
            elif pair == "]]":
                depth -= 1
                i += 2
                if depth == 0:
                    end = i
                    break
            elif markup[i] == "\n" and markup[i + 1] == "\n":  # never swallow past a paragraph break
                end = i
                break
            else:
                i += 1
        out.append(markup[pos:start])
        pos = end
    out.append(markup[pos:])
    return "".join(out)


def _drop_tables(markup: str) -> str:
    """Drop the lines of `{| ... |}` tables, nested tables included."""
    if "{|" not in markup:
        return markup
    kept: list[str] = []
    depth = 0
    for line in markup.split("\n"):
        stripped = line.lstrip()
        if stripped.startswith("{|"):
            depth += 1
            continue
        if depth:
            if stripped.startswith("|}"):
                depth -= 1
            continue
        kept.append(line)
    return "\n".join(kept)


def _render(nodes) -> str:  # noqa: C901 - one dispatch over node kinds reads best as one function
    from mwparserfromhell.nodes import (
        Argument,
        Comment,
        ExternalLink,
        Heading,
        HTMLEntity,
        Tag,
        Template,
        Text,
        Wikilink,
    )

    out: list[str] = []
    for node in nodes:
        if isinstance(node, Text):
            out.append(str(node.value))
        elif isinstance(node, (Template, Comment, Argument)):
            continue
        elif isinstance(node, HTMLEntity):
            out.append(node.normalize())
        elif isinstance(node, Heading):
            # Marked so `_clean` drops the heading line and, for reference-like sections, the whole section.
            title = _render(node.title.nodes).strip()
            out.append(f"\n{_HEADING_MARK}{node.level}\x00{title}\n")
        elif isinstance(node, Wikilink):
            out.append(_render_link(node))
        elif isinstance(node, ExternalLink):
            if node.brackets and node.title is not None:
                out.append(_render(node.title.nodes))
        elif isinstance(node, Tag):
            tag = str(node.tag).strip().lower()
            if tag in _DROP_TAGS:
                continue
            if tag == "br":
                out.append("\n")
            elif node.contents is not None:
                out.append(_render(node.contents.nodes))
        else:  # unknown node kinds (parser additions) are rendered as nothing rather than as markup
            continue
    return "".join(out)


def _render_link(link) -> str:
    title = str(link.title).strip()
    visible_colon = title.startswith(":")  # [[:Category:X]] is a link to the page, shown as text
    target = title.lstrip(":")
    if ":" in target and not visible_colon:
        prefix = target.split(":", 1)[0].strip().lower()
        if prefix in _DROP_LINK_NAMESPACES or _LANG_PREFIX.match(prefix):
            return ""
    if link.text is not None:
        return _render(link.text.nodes)
    return _render(link.title.nodes).lstrip(":")


_EMPTY_PARENS = re.compile(r"\(\s*(?:[,;:]\s*)*\)")
_OPEN_PUNCT = re.compile(r"\(\s*(?:[,;:]\s*)+")
# The lookbehinds start a match only at the start of a run (the leftmost match starts there anyway): without
# them a long run of ", , , ..." or of spaces not followed by ")" / punctuation is rescanned from every
# position (quadratic: seconds per 40 kB line).
_CLOSE_PUNCT = re.compile(r"(?<![\s,;:])(?:\s*[,;:])+\s*\)")
_LEADING_PUNCT = re.compile(r"^[\s:;,.|]+")  # what is left of "[[File:x]]: caption" list items
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_SPACE_BEFORE_PUNCT = re.compile(r"(?<!\s)\s+([,.;:!?)])")
_SPACES = re.compile(r"[ \t\u00a0\u2009\u200b]+")
_LEFTOVER_MARKUP = re.compile(r"'{2,}|\[\[|\]\]|\{\{|\}\}")


def _clean(text: str) -> str:
    """Drop heading lines and reference-like sections, then normalise whitespace and leftover punctuation."""
    lines: list[str] = []
    skip_level: int | None = None  # level of a dropped section while inside it
    for raw in text.split("\n"):
        if raw.startswith(_HEADING_MARK):
            level_str, title = raw[len(_HEADING_MARK) :].split("\x00", 1)
            level = int(level_str)
            if skip_level is not None and level <= skip_level:
                skip_level = None
            if skip_level is None and title.strip().lower() in DROP_SECTIONS:
                skip_level = level
            continue
        if skip_level is not None or _MEDIA_LINE.match(raw):
            continue
        line = _MAGIC_WORD.sub("", raw)
        line = _HTML_TAG.sub("", line)
        line = _LEFTOVER_MARKUP.sub("", line)
        line = _SPACES.sub(" ", line)
        line = _EMPTY_PARENS.sub("", line)
        line = _OPEN_PUNCT.sub("(", line)
        line = _CLOSE_PUNCT.sub(")", line)
        line = _SPACE_BEFORE_PUNCT.sub(r"\1", line)
        line = _LEADING_PUNCT.sub("", _SPACES.sub(" ", line)).strip()
        # A line of only punctuation is what remains of a removed table or template.
        if line and any(c.isalnum() for c in line):
            lines.append(line)
    return "\n".join(lines)

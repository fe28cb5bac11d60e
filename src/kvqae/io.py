"""Atomic output helpers: a failed or interrupted run never leaves a half-written file or directory.

Outputs get the permissions the umask allows (0644 files and 0755 folders under umask 022), and temporaries
that a killed run left beside an output (`.NAME.*.tmp`) are removed by the next successful write of it.
"""

from __future__ import annotations

import functools
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def current_umask() -> int:
    """The process umask, read from /proc where possible (setting it, even briefly, races other threads)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _try_lock(fd: int) -> bool:
    """Take an exclusive advisory lock on `fd` without waiting; False when another holder has it."""
    try:
        import fcntl
    except ImportError:  # no flock (Windows): temporaries are never taken for stale
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _discard(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _is_stale(path: Path) -> bool:
    """True when no live writer holds the lock of a temporary (its run was killed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        return _try_lock(fd)
    finally:
        os.close(fd)


def remove_stale_temps(final: str | Path) -> None:
    """Remove the `.NAME.*.tmp` temporaries beside `final` that no running writer holds."""
    import glob

    final = Path(final)
    for tmp in final.parent.glob(f".{glob.escape(final.name)}.*.tmp"):
        if _is_stale(tmp):
            _discard(tmp)


def _make_temp(final: Path, *, folder: bool) -> tuple[int, Path]:
    """Create a locked temporary file or folder beside `final`, with the umask's permissions; returns an open
    descriptor (holding the lock) and the path. A folder that cannot be written is an InputError."""
    from kvqae.errors import InputError

    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        if folder:
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
            fd = os.open(tmp, os.O_RDONLY)
        else:
            fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
            tmp = Path(name)
        os.chmod(tmp, (0o777 if folder else 0o666) & ~current_umask())
    except OSError as e:  # read-only folder, a file where a folder should be, disk full
        raise InputError(f"cannot write here ({e.strerror or e})", path=final) from None
    _try_lock(fd)
    return fd, tmp


def _replace(tmp: Path, final: Path) -> None:
    """Move `tmp` onto `final`; an existing `final` is moved aside first and removed after."""
    from kvqae.errors import InputError

    if final.is_dir() != tmp.is_dir() and final.exists():
        kind = "folder" if final.is_dir() else "file"
        raise InputError(f"cannot replace a {kind} with a {'folder' if tmp.is_dir() else 'file'}", path=final)
    if not tmp.is_dir() or not final.exists():
        os.replace(tmp, final)
        return
    old = final.with_name(f".{final.name}.old")
    if old.exists():
        _discard(old)
    os.replace(final, old)
    os.replace(tmp, final)
    _discard(old)


@contextmanager
def atomic_path(final: str | Path, *, sweep: bool = True) -> Iterator[Path]:
    """Yield a temporary file path beside `final`; rename it onto `final` only if the block succeeds.

    `sweep`: then remove temporaries of `final` left by killed runs (off for many files in one folder).
    """
    final = Path(final)
    fd, tmp = _make_temp(final, folder=False)
    try:
        yield tmp
        _replace(tmp, final)
    finally:
        os.close(fd)
        if tmp.exists():
            tmp.unlink()
    if sweep:
        remove_stale_temps(final)


@contextmanager
def atomic_dir(final: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside `final`; swap it in place of `final` only if the block succeeds.

    An existing `final` is replaced (when `overwrite`) only after the new content is complete; temporaries
    of `final` left by killed runs are then removed.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists")
    fd, tmp = _make_temp(final, folder=True)
    try:
        yield tmp
        _replace(tmp, final)
    finally:
        os.close(fd)
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    remove_stale_temps(final)


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2) -> None:
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write JSON lines atomically."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def not_found(what: str, path: str | Path) -> str:
    """"<what> not found", saying so when `path` is a symbolic link that leads nowhere (its target is
    missing, or the link loops back on itself): the name is there, so "not found" alone puzzles."""
    if os.path.islink(path):
        return f"{what} not found: it is a symbolic link whose target is missing or that loops back on itself"
    return f"{what} not found"


UTF8_BOM = b"\xef\xbb\xbf"


def existing_file(path: str | Path, what: str = "file") -> Path:
    """`path` as a Path; a missing path or a directory is an InputError (`what`: "run file")."""
    from kvqae.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(not_found(what, path), path=path)
    if path.is_dir():
        raise InputError(f"{what} is a directory, not a file", path=path)
    if not path.is_file():  # a named pipe or a device would block the reader or never end
        raise InputError(f"{what} is not a regular file (a named pipe, a socket or a device)", path=path)
    return path


_ADDRESS = re.compile(r"[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def is_address(value: str) -> bool:
    """Whether `value` is an address (`https://...`, `file:///...`), not a file path: `Path` folds its "//",
    so a photo URL was reported as a missing file "https:/example.org/a.jpg" under the data folder."""
    return _ADDRESS.match(value.strip()) is not None


def is_file(path: str | Path) -> bool:
    """`Path.is_file`, but False (not an exception) for a name the OS refuses: too long, a NUL byte."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


def is_folder(path: str | Path) -> bool:
    """`Path.is_dir`, but False (not an exception) for a name the OS refuses: too long, a NUL byte."""
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def first_byte(path: str | Path) -> bytes:
    """The first byte of a file that is not whitespace (a UTF-8 BOM skipped); b"" for a blank file.

    Reads as far as needed, so a long run of leading blank lines never hides the first record.
    """
    with Path(path).open("rb") as f:
        if f.read(3) != UTF8_BOM:
            f.seek(0)
        while chunk := f.read(1 << 16):
            stripped = chunk.lstrip()
            if stripped:
                return stripped[:1]
    return b""


UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")
UTF16_MESSAGE = "not UTF-8 text: it is UTF-16 (it opens with a UTF-16 byte-order mark); save it as UTF-8"


def not_utf8(error: UnicodeDecodeError) -> str:
    """The message for bytes that are not UTF-8; one saved as UTF-16 (Windows Notepad's "Unicode",
    PowerShell's `>`) says so, since "byte 0" alone does not tell the user what to do."""
    head = bytes(error.object[:4])
    if head in UTF32_BOMS:  # its BOM opens like UTF-16's: FF FE, then 00 00
        return UTF16_MESSAGE.replace("UTF-16", "UTF-32")
    if head[:2] in UTF16_BOMS:
        return UTF16_MESSAGE
    return f"not UTF-8 text (byte {error.start})"


def looks_utf16(data: bytes) -> bool:
    """Whether `data` reads as UTF-16 text saved without a byte-order mark: in its first 200 bytes every
    other byte is 0 and the others are not (ASCII text in UTF-16). Such bytes are valid UTF-8 - NUL is a
    character - so decoding them succeeds and the parser behind it blames the JSON or the YAML."""
    sample = data[:200]
    if len(sample) < 4 or b"\x00" not in sample:
        return False
    sample = sample[: len(sample) // 2 * 2]
    even, odd = sample[0::2], sample[1::2]
    return (odd.count(0) == len(odd) and 0 not in even) or (even.count(0) == len(even) and 0 not in odd)


def decode_utf8(data: bytes, path: str | Path, record: str | int | None = None) -> str:
    """`data` decoded as UTF-8 (a leading BOM dropped); invalid bytes, or UTF-16 text without a
    byte-order mark, are an InputError naming the place."""
    from kvqae.errors import InputError

    try:
        text = data.removeprefix(UTF8_BOM).decode("utf-8")
    except UnicodeDecodeError as e:
        raise InputError(not_utf8(e), path=path, record=record) from None
    if looks_utf16(data):
        raise InputError("not UTF-8 text: it looks like UTF-16 saved without a byte-order mark (every other "
                         "byte is 0); save it as UTF-8", path=path, record=record)
    return text


class DuplicateJsonKey(ValueError):
    """A key written twice in one JSON object."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """`object_pairs_hook` that refuses a repeated key: `json.loads` keeps the last one silently (a qrels
    file's `{"d": 1, "d": 0}` judged the passage irrelevant; a weights file's second "weights" won)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateJsonKey(key)
        out[key] = value
    return out


def parse_json(text: str, path: str | Path, record: str | int | None = None, **kwargs: Any) -> Any:
    """`json.loads(text, **kwargs)`; any failure (syntax, a 5,000-digit number, deep nesting, a key written
    twice in one object unless `object_pairs_hook` says otherwise) is an InputError naming `path` and
    `record` (default: the line of the syntax error)."""
    from kvqae.errors import InputError

    kwargs.setdefault("object_pairs_hook", unique_pairs)
    try:
        value = json.loads(text, **kwargs)
    except DuplicateJsonKey as e:
        raise InputError(f"duplicate key {e.key!r} in one object; write each key once", path=path,
                         record=record) from None
    except json.JSONDecodeError as e:
        line = record if record is not None else e.lineno
        reason = json_error_reason(e, one_line=record is not None)
        if record is None and e.msg == "Extra data" and e.colno == 1:
            # a questions or predictions file (JSON lines) given as qrels, weights or a run: "Extra data at
            # column 1" said nothing of why a valid line is wrong
            reason += ("; a second JSON value starts on this line after a complete one: the file looks like "
                       "JSON lines (one value per line), but one JSON document is expected here")
        raise InputError(f"invalid JSON ({reason})", path=path, record=line) from None
    except RecursionError:
        raise InputError("invalid JSON (nested too deeply)", path=path, record=record) from None
    except ValueError as e:  # e.g. an integer over Python's 4,300-digit conversion limit
        raise InputError(f"invalid JSON ({str(e).split(';')[0]})", path=path, record=record) from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        # "\ud800" alone decodes to a str that no UTF-8 writer (parquet, JSON, a terminal) can encode
        raise InputError("invalid JSON (a \\u escape is a lone UTF-16 surrogate, not a character)", path=path,
                         record=record)
    return value


def json_error_reason(err: json.JSONDecodeError, *, one_line: bool = False) -> str:
    """The parser's message with the column it stopped at: "Unterminated string starting at column 19",
    "Extra data at column 58" (its `msg` alone ends in a bare "starting at" and says nowhere where).
    `one_line`: the text parsed is one line of a file (JSON lines), whose line ending is not a column."""
    column = min(err.pos, len(err.doc.rstrip("\r\n"))) + 1 if one_line else err.colno
    return f"{err.msg.removesuffix(' at')} at column {column}"


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _has_lone_surrogate(value: Any) -> bool:
    """True when a string anywhere in a parsed JSON value (keys included) holds an unpaired surrogate."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):  # tuples: object_pairs_hook results (a run's key pairs)
            stack.extend(item)
    return False


CONTROL_CHARS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_id_chars(value: str, field: str, where: dict[str, Any]) -> None:
    """An id read from an input file holds no control character (NUL, tab, line breaks, ...): a TREC run
    cannot store one and tools reading a run stop or split there. InputError at `where` (path, record)."""
    from kvqae.errors import InputError

    found = CONTROL_CHARS.search(value)
    if found:
        raise InputError(f"id {value!r} holds the control character {found.group()!r}, which run files "
                         "cannot carry", field=field, **where)


# characters that show nothing and could make two ids look the same ("A" and "A" + a zero-width space) or
# turn an id round on screen: zero-width space, word joiner, byte-order mark, direction controls. (Zero-width
# joiners stay: Persian and Indic titles need them.)
_INVISIBLE_ID_CHARS = re.compile("[\u200b\u2060\ufeff\u202a-\u202e\u2066-\u2069]")


def check_visible_id(value: str, field: str, where: dict[str, Any]) -> None:
    """A new id (of a KB article or a question) holds no invisible character (`_INVISIBLE_ID_CHARS`):
    InputError at `where` naming it by its code point. Runs are not held to it: they name the ids of KBs and
    question files made before session 24."""
    from kvqae.errors import InputError

    found = _INVISIBLE_ID_CHARS.search(value)
    if found:
        code = f"U+{ord(found.group()):04X}"
        raise InputError(f"id {value!r} holds the invisible character {code} (at character "
                         f"{found.start() + 1}): two ids could look the same; remove it",
                         field=field, **where)


def check_misspelt_keys(obj: dict[str, Any], known: tuple[str, ...], what: str,
                        where: dict[str, Any]) -> None:
    """A row's key that is a known key misspelt ("imgae", "Image", "entity_id" for "entity", "type" for
    "types") while that known key is absent is an InputError at `where` (`what`: "kvqae questions"): other
    keys are kept as extra data, so the misspelt one was ignored and the row read without it (a question
    without its photo). Keys that resemble no known one stay allowed (the project's own files carry some)."""
    from kvqae.errors import InputError

    missing = tuple(k for k in known if k not in obj)
    if not missing:
        return
    for key in obj:
        if key not in known and (meant := _misspelt(key, missing)) is not None:
            raise InputError(f"not a field of {what}, and {meant!r} is missing: did you mean {meant!r}? "
                             "(a key kvqae does not know is ignored: the row would be read without it)",
                             field=key, **where)


@functools.lru_cache(maxsize=4096)
def _misspelt(key: str, missing: tuple[str, ...]) -> str | None:
    """The key of `missing` that `key` most likely misspells (equal but for case, or close), else None."""
    import difflib

    for name in missing:
        if name.lower() == key.lower():
            return name
    return next(iter(difflib.get_close_matches(key, missing, n=1, cutoff=0.8)), None)


def shows_text(text: str) -> bool:
    """Whether `text` has a character that shows: not a space, a control character (Cc: NUL) or a format one
    (Cf: a zero-width space, a byte-order mark) or a blank letter (a Hangul filler). A question without one
    is empty."""
    import unicodedata

    return any(not c.isspace() and c not in _BLANK_LETTERS and unicodedata.category(c) not in ("Cc", "Cf")
               for c in text)


# letters and symbols drawn as nothing: the Hangul fillers and the blank Braille pattern (a question of them
# alone showed as empty and was answered; session 24)
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


# Every control character (Unicode category Cc) but tab, line feed and carriage return.
_QUESTION_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def check_question_chars(text: str, field: str = "question", where: dict[str, Any] | None = None) -> None:
    """A question (from a file, `kvqae ask -q` or the service) holds no control character but tab, line feed
    and carriage return: a NUL or an escape inside visible text is a damaged value, not a question. Every
    question reader runs it right after `shows_text`; InputError naming the character and its place in
    `text` (counted from 1), at `where` (path, record) for files."""
    from kvqae.errors import InputError

    found = _QUESTION_CONTROL.search(text)
    if found:
        raise InputError(f"must not hold the control character {found.group()!r} (at character "
                         f"{found.start() + 1}; only tab, line feed and carriage return are allowed)",
                         field=field, **(where or {}))


def check_not_replaced(text: str, field: str = "question") -> None:
    """One question asked (`kvqae ask -q`, the service) holds no U+FFFD: what a decoder leaves for bytes that
    were not UTF-8 (a Latin-1 form, a badly %-encoded URL). The words around it are damaged, and an answer
    to them would look trustworthy. (Question files are not held to it: one such character in a dataset of
    thousands should not stop a run.)"""
    from kvqae.errors import InputError

    at = text.find("\ufffd")
    if at >= 0:
        raise InputError(f"holds U+FFFD, the replacement character, at character {at + 1}: the text was "
                         "not valid UTF-8 where it was sent or read; send it as UTF-8", field=field)


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages: null, boolean, integer, float, string,
    list, object (not Python's NoneType, bool, int, dict)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    return "object" if isinstance(value, dict) else type(value).__name__


def is_finite_number(value: Any) -> bool:
    """A JSON number (int or float, not a bool) that is finite as a float (10**400 is not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def read_text(path: str | Path, what: str = "file") -> str:
    """The whole UTF-8 text of an existing, non-blank file (BOM dropped); InputError otherwise."""
    from kvqae.errors import InputError

    path = existing_file(path, what)
    data = path.read_bytes()
    if not data.removeprefix(UTF8_BOM).strip():
        raise InputError("file is empty", path=path)
    return decode_utf8(data, path)


def read_json(path: str | Path, what: str = "file", **kwargs: Any) -> Any:
    """Parse a JSON file (UTF-8, BOM allowed); a missing or empty file or invalid JSON is an InputError naming
    it (`what`: "qrels file"). `kwargs` go to `json.loads` (e.g. `object_pairs_hook`)."""
    path = Path(path)
    return parse_json(read_text(path, what), path, **kwargs)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) per non-blank line; a line that is not a JSON object is an InputError.

    Lines of any length are read whole; a UTF-8 BOM at the start of the file is skipped. A file that is one
    JSON object pretty-printed over several lines is called that (not "invalid JSON" on its first line).
    """
    from kvqae.errors import InputError

    path = existing_file(path)
    first = True
    with path.open("rb") as f:
        for lineno, raw in binary_lines(f):
            if not raw.strip():
                continue
            text = decode_utf8(raw if lineno > 1 else raw.removeprefix(UTF8_BOM), path, lineno)
            if not text.strip():  # a line holding only the BOM
                continue
            try:
                obj = parse_json(text, path, lineno)
            except InputError:
                if first and text.lstrip().startswith("{") and _is_one_json_object(path):
                    raise InputError("one JSON object written over several lines; expected JSON lines (one "
                                     "object per line) or a JSON list of objects", path=path) from None
                raise
            first = False
            if not isinstance(obj, dict):
                raise InputError("expected a JSON object", path=path, record=lineno)
            yield lineno, obj


def binary_lines(f: Any) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) per line of binary file `f`, ended by LF, CRLF or a bare CR (classic Mac
    files, some spreadsheet exports): JSON text holds no raw CR but as whitespace, so a CR inside an
    LF-ended line ends a line there too."""
    lineno = 0
    for raw in f:
        body = raw.rstrip(b"\r\n")
        for part in body.split(b"\r") if b"\r" in body else (raw,):
            lineno += 1
            yield lineno, part


def _is_one_json_object(path: Path) -> bool:
    """Whether the whole file is one JSON object (a pretty-printed object given for JSON lines)."""
    data = path.read_bytes().removeprefix(UTF8_BOM)
    if b"\n" not in data.strip():  # one line: its own error (a key written twice) says what is wrong
        return False
    try:
        return isinstance(json.loads(data), dict)
    except (ValueError, RecursionError):
        return False


def read_json_rows(path: str | Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (row, where) for a JSON-lines file or a file holding one JSON list of objects.

    `where` is `{"path": path, "record": line number or "row N"}`, ready to pass on to an InputError.
    A missing or blank file is an InputError ("file is empty").
    """
    from kvqae.errors import InputError

    path = existing_file(path)
    first = first_byte(path)
    if not first:
        raise InputError("file is empty", path=path)
    if first != b"[":
        for lineno, obj in read_jsonl(path):
            yield obj, {"path": path, "record": lineno}
        return
    rows = read_json(path)
    if not isinstance(rows, list):
        raise InputError("expected JSON lines or a JSON list of rows", path=path)
    for i, obj in enumerate(rows, start=1):
        where = {"path": path, "record": f"row {i}"}
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", **where)
        yield obj, where


def first_json_row(path: str | Path) -> dict[str, Any] | None:
    """The first row of a JSON-lines or JSON-list file (see `read_json_rows`), None when it has none."""
    rows = read_json_rows(path)
    try:
        return next((row for row, _ in rows), None)
    finally:
        rows.close()


# the most files of one folder (a KB, a model) whose size and time `path_stamp` records
STAMPED_FILES = 2000


def path_stamp(path: Path) -> list | None:
    """What tells an edited input from the one seen before: a file's size and modification time, a folder's
    files' (relative path, size, time) - a model's weights are rewritten in place and the folder's own time
    stays the same; None when `path` does not exist."""
    if not path.exists():
        return None
    if path.is_dir():
        files = sorted(f for f in path.rglob("*") if f.is_file())[:STAMPED_FILES]
        return [[str(f.relative_to(path)), f.stat().st_size, f.stat().st_mtime_ns] for f in files]
    return [path.stat().st_size, path.stat().st_mtime_ns]


# files whose bytes are a model's learned weights (transformers, sentence-transformers, torch, dlib)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".dat", ".onnx")
_SAMPLE_BYTES = 1 << 20


def weights_digest(paths: list[Path]) -> str | None:
    """A digest of the model weights under `paths` (files, or folders searched recursively for
    `WEIGHT_SUFFIXES`, `checkpoint*` and hidden folders skipped): each file's path relative to its root,
    size, and its first, middle and last MiB. It tells a model retrained or replaced in place (every weight
    changes) from the one seen before, in a fraction of a second whatever the size, and, unlike file times,
    survives copying the folder. None when there is no weight file."""
    import hashlib

    digest, found = hashlib.sha1(), False
    for root in paths:
        files = [root] if root.is_file() else sorted(
            f for f in root.rglob("*") if f.is_file() and f.suffix.lower() in WEIGHT_SUFFIXES
            and not any(p.startswith((".", "checkpoint")) for p in f.relative_to(root).parts[:-1]))
        for f in files:
            size = f.stat().st_size
            digest.update(f"{f.relative_to(root) if f != root else f.name}\0{size}\0".encode())
            with f.open("rb") as fh:
                middle, last = max(0, size // 2 - _SAMPLE_BYTES // 2), max(0, size - _SAMPLE_BYTES)
                for start in sorted({0, middle, last}):
                    fh.seek(start)
                    digest.update(fh.read(_SAMPLE_BYTES))
            found = True
    return digest.hexdigest() if found else None

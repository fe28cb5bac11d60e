"""Atomic output helpers: a failed or interrupted run never leaves a half-written file or directory."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary file path beside `final`; rename it onto `final` only if the block succeeds."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextmanager
def atomic_dir(final: str | Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary directory beside `final`; swap it in place of `final` only if the block succeeds.

    An existing `final` is replaced (when `overwrite`) only after the new content is complete.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
    try:
        yield tmp
        if final.exists():
            old = final.with_name(f".{final.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2) -> None:
    """Write JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=indent, ensure_ascii=False) + "\n", encoding="utf-8")


def write_jsonl(path: str | Path, rows: list[dict[str, Any]]) -> None:
    """Write JSON lines atomically."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_json(path: str | Path, what: str = "file") -> Any:
    """Parse a JSON file; a missing file or invalid JSON is an InputError naming it (`what`: "qrels file")."""
    from kvqae.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError(f"{what} not found", path=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON ({e.msg})", path=path, record=e.lineno) from None


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) per non-blank line; a line that is not a JSON object is an InputError."""
    from kvqae.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"invalid JSON ({e.msg})", path=path, record=lineno) from None
            if not isinstance(obj, dict):
                raise InputError("expected a JSON object", path=path, record=lineno)
            yield lineno, obj


def read_json_rows(path: str | Path) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield (row, where) for a JSON-lines file or a file holding one JSON list of objects.

    `where` is `{"path": path, "record": line number or "row N"}`, ready to pass on to an InputError.
    """
    from kvqae.errors import InputError

    path = Path(path)
    if not path.exists():
        raise InputError("file not found", path=path)
    with path.open("rb") as f:
        is_list = f.read(4096).lstrip().startswith(b"[")
    if not is_list:
        for lineno, obj in read_jsonl(path):
            yield obj, {"path": path, "record": lineno}
        return
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON ({e.msg})", path=path, record=e.lineno) from None
    if not isinstance(rows, list):
        raise InputError("expected JSON lines or a JSON list of rows", path=path)
    for i, obj in enumerate(rows, start=1):
        where = {"path": path, "record": f"row {i}"}
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object", **where)
        yield obj, where

"""One error type for bad input, always naming where the problem is."""

from __future__ import annotations

import re
from pathlib import Path

_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+\s*")


class InputError(ValueError):
    """Malformed input: names the file, the record (line number or id) and the field at fault.

    >>> str(InputError("must be a non-empty string", path="a.jsonl", record="line 3", field="title"))
    'a.jsonl: line 3: field "title": must be a non-empty string'
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        record: str | int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.record = record
        self.field = field
        self.reason = message
        parts = []
        if self.path is not None:
            parts.append(self.path)
        if record is not None:
            parts.append(f"line {record}" if isinstance(record, int) else str(record))
        if field is not None:
            parts.append(f'field "{field}"')
        parts.append(message)
        # One line, always: the CLI prints `error: <message>`, and a value quoted in it may hold line breaks.
        super().__init__(_LINE_BREAKS.sub(" ", ": ".join(parts)))


class TooLargeError(InputError):
    """Input over a size limit (an upload over 10 MB, an image over 40 megapixels); HTTP 413 when served."""


class UnsupportedInputError(InputError):
    """Input of the wrong kind (a file that is not an image); HTTP 415 in the service."""


class RepeatedFieldError(InputError):
    """A request form field sent more than once (which value was meant is unknown); HTTP 422 when served."""

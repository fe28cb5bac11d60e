"""Running the `kvqae` command in the test's own process, through the real entry point (it prints
`error: ...` and exits 2 on bad input)."""

from __future__ import annotations

import sys
from pathlib import Path


def kvqae(monkeypatch, capsys, *args: str | Path) -> tuple[int, str]:
    """Run `kvqae ARGS` in this process through the real entry point; (exit code, stderr)."""
    from kvqae.cli import main

    monkeypatch.setattr(sys, "argv", ["kvqae", *map(str, args)])
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    return code, capsys.readouterr().err

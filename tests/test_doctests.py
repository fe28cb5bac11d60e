"""The examples in the library's docstrings (`>>>`) run as written: a stale one misleads the reader of the
code (session 27 found `expected_kind("What did Aristotle study?")` documented as None: it is "thing")."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import kvqae


def test_docstring_examples_hold():
    attempted, failed = 0, []
    for info in pkgutil.walk_packages(kvqae.__path__, "kvqae."):
        module = importlib.import_module(info.name)
        result = doctest.testmod(module, report=False, optionflags=doctest.ELLIPSIS)
        attempted += result.attempted
        if result.failed:
            failed.append(f"{info.name}: {result.failed} failed")
    assert attempted >= 20  # the modules were found and their examples run
    assert failed == []

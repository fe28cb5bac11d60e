"""Shared fixtures: the optional ../shared/ data folder and locally built tiny models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KVQAE_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The ../shared/ folder; tests that use it are skipped on a fresh clone that lacks it."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared data folder not found at {SHARED} (set KVQAE_SHARED to point at it)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory) -> Path:
    """A randomly initialised tiny CLIP saved like a real checkpoint (MiniLM WordPiece tokenizer)."""
    from kvqae.encode.small_clip import build_small_clip

    return build_small_clip(tmp_path_factory.mktemp("models") / "tiny-clip", "tiny", seed=0)


@pytest.fixture(scope="session")
def minilm_path() -> Path:
    from kvqae.encode.packaged import minilm_path as path

    return path()

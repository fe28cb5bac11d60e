"""kvqae.search: retrieval modes producing runs, and the entity -> passage mapping."""

from kvqae.search.modes import (
    DEFAULT_K,
    MODES,
    Mode,
    check_mode,
    get_mode,
    infer_mode,
    search_embeddings,
    search_store,
)
from kvqae.search.passages import PassageSource, PassageTable, entity_run_to_passages, passage_scores

__all__ = [
    "DEFAULT_K",
    "MODES",
    "Mode",
    "PassageSource",
    "PassageTable",
    "check_mode",
    "entity_run_to_passages",
    "get_mode",
    "infer_mode",
    "passage_scores",
    "search_embeddings",
    "search_store",
]

"""kvqae.index: Faiss vector indexes saved as index directories (`index.faiss`, `ids.json`, `meta.json`)."""

from kvqae.index.embeddings import Embeddings, l2_normalize, read_embeddings
from kvqae.index.faiss_index import VectorIndex, make_faiss_index, set_nprobe
from kvqae.index.recall import RecallResult, measure_recall, measure_recall_dirs, recall_at_k

__all__ = [
    "Embeddings",
    "RecallResult",
    "VectorIndex",
    "l2_normalize",
    "make_faiss_index",
    "measure_recall",
    "measure_recall_dirs",
    "read_embeddings",
    "recall_at_k",
    "set_nprobe",
]

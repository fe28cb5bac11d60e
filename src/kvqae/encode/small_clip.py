"""Build small CLIP models from configs-as-data, saved like any checkpoint so `clip:<path>` loads them.

No pretrained CLIP (nor CLIP's BPE vocabulary) is available offline, so locally built models use the packaged
MiniLM WordPiece tokenizer by default; the text config's special token ids are set to match it, so CLIP's
pooling picks the `[SEP]` (end-of-text) position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Model configs as data: vision/text tower sizes. "tiny" is for unit tests, "demo" for `kvqae demo` (narrow
# and shallow: about 2.5x cheaper per step than "small" on CPU, which buys the epochs a from-scratch ViT
# needs), "small" a larger option.
CLIP_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {
        "projection_dim": 32,
        "vision": {
            "image_size": 32,
            "patch_size": 8,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
        },
        "text": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 77,
        },
    },
    "demo": {
        "projection_dim": 96,
        "vision": {
            "image_size": 64,
            "patch_size": 8,
            "hidden_size": 96,
            "intermediate_size": 192,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
        },
        "text": {
            "hidden_size": 96,
            "intermediate_size": 192,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "max_position_embeddings": 32,  # titles are short
        },
    },
    "small": {
        "projection_dim": 128,
        "vision": {
            "image_size": 64,
            "patch_size": 8,
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
        },
        "text": {
            "hidden_size": 128,
            "intermediate_size": 256,
            "num_hidden_layers": 4,
            "num_attention_heads": 4,
            "max_position_embeddings": 77,
        },
    },
}


def build_small_clip(
    out_dir: str | Path,
    preset: str | dict[str, Any] = "tiny",
    *,
    tokenizer: str | Path | None = None,
    seed: int = 0,
) -> Path:
    """Create a randomly initialised CLIP of `preset` size and save model + processor to `out_dir`.

    `tokenizer`: path or name of a tokenizer (default: the packaged MiniLM WordPiece tokenizer).
    Returns `out_dir`, loadable with `CLIPModel.from_pretrained` / `CLIPProcessor.from_pretrained`.
    """
    import torch
    from transformers import AutoTokenizer, CLIPConfig, CLIPImageProcessorPil, CLIPModel, CLIPProcessor

    from kvqae.encode.packaged import minilm_path
    from kvqae.io import atomic_dir

    if isinstance(preset, str):
        if preset not in CLIP_PRESETS:
            raise ValueError(f"unknown CLIP preset {preset!r}; choose from {sorted(CLIP_PRESETS)}")
        sizes = CLIP_PRESETS[preset]
    else:
        sizes = preset
    tok = AutoTokenizer.from_pretrained(str(tokenizer or minilm_path()))
    max_len = sizes["text"].get("max_position_embeddings", 77)
    tok.model_max_length = max_len
    # CLIP pools the end-of-text position: with a WordPiece tokenizer that is [SEP].
    eos = tok.sep_token_id if tok.sep_token_id is not None else tok.eos_token_id
    bos = tok.cls_token_id if tok.cls_token_id is not None else tok.bos_token_id
    text_cfg = dict(
        sizes["text"], vocab_size=len(tok), eos_token_id=eos, bos_token_id=bos, pad_token_id=tok.pad_token_id
    )
    config = CLIPConfig(
        text_config=text_cfg, vision_config=dict(sizes["vision"]), projection_dim=sizes["projection_dim"]
    )
    torch.manual_seed(seed)
    model = CLIPModel(config)
    size = sizes["vision"]["image_size"]
    # the PIL image processor: torchvision (the default backend) is not installable beside torch 2.13
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": size}, crop_size={"height": size, "width": size}
    )
    processor = CLIPProcessor(image_processor=image_processor, tokenizer=tok)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        model.save_pretrained(tmp)
        processor.save_pretrained(tmp)
    return out_dir

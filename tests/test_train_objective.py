"""Gradient cache == full-batch gradients; a few optimiser steps lower the loss in every mode."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from kvqae.train.data import Collator, TrainPair, type_vocabulary
from kvqae.train.losses.joint import LossWeights
from kvqae.train.objective import LossSwitches, Objective
from kvqae.train.trainer import enable_checkpointing

COLOURS = [(230, 30, 30), (30, 200, 40), (40, 60, 230), (240, 220, 30), (30, 220, 220), (220, 40, 220)]
NAMES = ["Red Tower", "Green Hall", "Blue Bridge", "Yellow Gate", "Cyan Dome", "Magenta Arch"]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def make_pairs() -> list[TrainPair]:
    pairs = []
    for i, (c, name) in enumerate(zip(COLOURS, NAMES, strict=False)):
        q = Image.new("RGB", (36, 36), tuple(max(0, x - 40) for x in c))
        q.paste((255, 255, 255), (4, 4, 12, 12))
        text = f"{name}. The {name} stands next to {NAMES[(i + 1) % 6]} in Oldtown."
        j = len(name) + 6
        spans = [
            (0, len(name), "building"),
            (j, j + len(name), "building"),
            (len(text) - 8, len(text) - 1, "city"),
        ]
        pairs.append(
            TrainPair(
                f"e{i}", q, target_image=Image.new("RGB", (36, 36), c), text=text, spans=spans, id=f"q{i}"
            )
        )
    return pairs


def setup(tiny_clip, mode, *, switches=None, learn=False, bidirectional=False, seed=0):
    from kvqae.train.model import EntityAwareHeads, ensure_mask_token, load_clip

    torch.manual_seed(seed)
    model, tok, proc = load_clip(str(tiny_clip))
    pairs = make_pairs()
    if mode in ("cross", "joint"):
        for p in pairs:
            p.text = p.text.split(".")[0]
    heads = None
    types = type_vocabulary(pairs)
    mask_id = None
    if mode == "entity":
        mask_id = ensure_mask_token(model, tok)
        heads = EntityAwareHeads(model, types)
    weights = LossWeights((1.0, 0.5), learn=learn)
    obj = Objective(
        mode,
        model,
        heads=heads,
        weights=weights,
        symmetric=mode != "entity",
        switches=switches,
        bidirectional_mlm=bidirectional,
    )
    collate = Collator(
        mode, tok, proc, 77, mask_token_id=mask_id, type_vocab={t: i for i, t in enumerate(types)}
    )
    return obj, collate(pairs), [p for p in [model, heads, weights] if p is not None]


def grads(modules):
    out = {}
    for m_i, m in enumerate(modules):
        for name, p in m.named_parameters():
            if p.grad is not None:
                out[f"{m_i}.{name}"] = p.grad.detach().clone()
    return out


ALL_AUX = LossSwitches(contrastive=True, mlm=True, entity_type=True, mlm_weight=0.7, type_weight=1.3)


@pytest.mark.parametrize(
    "mode,switches,learn",
    [("mono", None, False), ("cross", None, False), ("joint", None, True), ("entity", ALL_AUX, False)],
)
def test_gradient_cache_matches_full_batch(tiny_clip, mode, switches, learn):
    obj, batch, modules = setup(tiny_clip, mode, switches=switches, learn=learn)
    full = obj.backward(batch, chunk=None)
    g_full = grads(modules)
    for m in modules:
        m.zero_grad(set_to_none=True)
    cached = obj.backward(batch, chunk=4)  # chunks of 4 and 2
    g_cached = grads(modules)
    assert full["total"] == pytest.approx(cached["total"], rel=1e-5)
    assert set(g_full) == set(g_cached)
    assert "0.logit_scale" in g_full
    if learn:
        assert f"{len(modules) - 1}.logits" in g_full
    if mode == "entity":
        assert "1.entity_type.classifier.weight" in g_full and full["mlm"] > 0 and full["type"] > 0
    for name in g_full:
        # float32 summation order differs between the two paths: tolerance relative to the gradient's scale
        scale = g_full[name].abs().max().item()
        diff = (g_full[name] - g_cached[name]).abs().max().item()
        assert diff <= 1e-4 * scale + 1e-7, (name, diff, scale)


def test_gradient_checkpointing_gives_the_same_gradients(tiny_clip):
    obj, batch, modules = setup(tiny_clip, "cross")
    obj.backward(batch)
    plain = grads(modules)
    obj.model.zero_grad(set_to_none=True)
    enable_checkpointing(obj.model)
    obj.model.train()
    obj.backward(batch)
    ckpt = grads(modules)
    for name in plain:
        assert torch.allclose(plain[name], ckpt[name], rtol=1e-4, atol=1e-6), name


@pytest.mark.parametrize(
    "mode,switches,bidirectional",
    [
        ("mono", None, False),
        ("cross", None, False),
        ("joint", None, False),
        ("entity", LossSwitches(contrastive=True, mlm=True, entity_type=True), True),
    ],
)
def test_a_few_steps_lower_the_loss(tiny_clip, mode, switches, bidirectional):
    obj, batch, modules = setup(
        tiny_clip, mode, switches=switches, bidirectional=bidirectional, learn=mode == "joint"
    )
    seen, params = set(), []
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params.append(p)
    opt = torch.optim.AdamW(params, lr=2e-3)
    first = None
    for _ in range(6):
        opt.zero_grad()
        parts = obj.backward(batch)
        first = first or parts
        opt.step()
    with torch.no_grad():
        _, last = obj.loss(batch)
    if mode == "joint":  # the learned fusion weights moved, and stay positive and sum to 1
        learned = obj.weights().detach()
        assert not torch.allclose(learned, torch.tensor([2 / 3, 1 / 3]))
        assert bool((learned > 0).all()) and float(learned.sum()) == pytest.approx(1.0)
    for key in first:
        if key != "type" or first[key] > 1e-3:
            assert last[key] < first[key], (key, first[key], last[key])

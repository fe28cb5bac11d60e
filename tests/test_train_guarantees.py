"""What `train_clip` promises, checked through the trainer itself (tiny locally built CLIP):

- `gradient_checkpointing: true` really recomputes: each encoder layer runs again in the backward pass;
- the gradient cache with `entity.contrastive_weight` != 1 (MLM and type losses on) gives the full-batch step;
- resume restores optimizer, scheduler and every RNG exactly (state tensors and the next random draws);
- the entity-centric sampler at the trainer's defaults uses every item once per epoch, never two pairs of one
  entity in a batch, the same batches for the same (seed, epoch).

(`test_train_objective.py` compares gradients at the `Objective` level, `test_train_resume.py` the final
weights and torch draws of a resumed run, `test_train_data.py` the sampler on its own.)
"""

from __future__ import annotations

import logging
import random
from collections import Counter

import numpy as np
import pytest
import torch
from PIL import Image

from kvqae.train import trainer
from kvqae.train.data import TrainPair

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COLOURS = [(230, 30, 30), (30, 200, 40), (40, 60, 230), (240, 220, 30), (30, 220, 220), (220, 40, 220)]
NAMES = ["Red Tower", "Green Hall", "Blue Bridge", "Yellow Gate", "Cyan Dome", "Magenta Arch"]


def _pairs(n_entities: int = 4, per_entity: int = 1) -> list[TrainPair]:
    """Pairs usable in every mode: query image, reference image, a passage with typed entity spans."""
    pairs = []
    for e in range(n_entities):
        name, colour = NAMES[e], COLOURS[e]
        for k in range(per_entity):
            query = Image.new("RGB", (32, 32), tuple(max(0, c - 30 * k) for c in colour))
            query.paste((255, 255, 255), (4 + 4 * k, 4, 12 + 4 * k, 12))
            text = f"{name}. The {name} is near Oldtown."
            j = len(name) + 6
            spans = [
                (0, len(name), "building"),
                (j, j + len(name), "building"),
                (len(text) - 8, len(text) - 1, "city"),
            ]
            pairs.append(
                TrainPair(
                    f"e{e}",
                    query,
                    target_image=Image.new("RGB", (32, 32), colour),
                    text=text,
                    spans=spans,
                    id=f"e{e}-{k}",
                )
            )
    return pairs


def _config(tmp_path, tiny_clip, name: str, **extra) -> trainer.TrainClipConfig:
    base = {
        "mode": "entity",
        "model": str(tiny_clip),
        "output_dir": str(tmp_path / name),
        "lr": 1e-3,
        "batch_size": 4,
        "epochs": 1,
        "progress": False,
    }
    return trainer.TrainClipConfig(**{**base, **extra})


# --- gradient checkpointing -----------------------------------------------------------------------------
def _count_layer_calls(tmp_path, tiny_clip, monkeypatch, name: str, **extra) -> dict[str, int]:
    """Runs of the first vision and text encoder layer during one training step, counted by a pre-hook on the
    layer's first module: transformers checkpoints a layer's `forward`, not its `__call__`, so hooks on the
    layer itself do not rerun, and torch stops a recompute early once the saved tensors it needs are back, so
    forward hooks of later submodules (the MLP) may not fire either."""
    from kvqae.train import model as model_module

    calls = {"vision": 0, "text": 0}
    real_load = model_module.load_clip

    def load_clip(*args, **kwargs):
        loaded = real_load(*args, **kwargs)
        clip = loaded[0]
        for tower in calls:
            first = getattr(clip, f"{tower}_model").encoder.layers[0].layer_norm1
            first.register_forward_pre_hook(lambda *_, t=tower: calls.__setitem__(t, calls[t] + 1))
        return loaded

    monkeypatch.setattr(model_module, "load_clip", load_clip)
    result = trainer.train_clip(
        _config(tmp_path, tiny_clip, name, max_steps=1, **extra), train_pairs=_pairs(), val_pairs=[]
    )
    assert result.steps == 1
    return calls


@pytest.mark.parametrize(
    "mode,chunk,plain,checkpointed",
    [
        # mono: two image passes (query, reference); checkpointing runs each layer again in the backward pass
        ("mono", None, {"vision": 2, "text": 0}, {"vision": 4, "text": 0}),
        # gradient cache, chunks of 2 over 4 pairs: 4 no-grad chunk passes (not recomputed) + 4 with grad
        ("mono", 2, {"vision": 8, "text": 0}, {"vision": 12, "text": 0}),
        # entity: one image pass; two text passes (contrastive, masked for MLM/type)
        ("entity", None, {"vision": 1, "text": 2}, {"vision": 2, "text": 4}),
    ],
)
def test_gradient_checkpointing_recomputes_layers_in_training(
    tmp_path, tiny_clip, monkeypatch, mode, chunk, plain, checkpointed
):
    seen = _count_layer_calls(tmp_path, tiny_clip, monkeypatch, "plain", mode=mode, grad_cache_chunk=chunk)
    assert seen == plain
    seen = _count_layer_calls(
        tmp_path,
        tiny_clip,
        monkeypatch,
        "ckpt",
        mode=mode,
        grad_cache_chunk=chunk,
        gradient_checkpointing=True,
    )
    assert seen == checkpointed


# --- gradient cache with a contrastive weight -----------------------------------------------------------
def _one_sgd_step(tmp_path, tiny_clip, monkeypatch, name: str, **extra) -> dict[str, torch.Tensor]:
    """Model + heads parameters after one trainer step with plain SGD (lr 1: the change is the gradient)."""
    monkeypatch.setattr(torch.optim, "AdamW", lambda groups, lr, weight_decay: torch.optim.SGD(groups, lr=lr))
    cfg = _config(
        tmp_path, tiny_clip, name, lr=1.0, max_steps=1, keep_checkpoints=True, batch_size=6, **extra
    )
    trainer.train_clip(cfg, train_pairs=_pairs(6), val_pairs=[])
    state = torch.load(
        tmp_path / f"{name}.work" / "checkpoint" / "state.pt", map_location="cpu", weights_only=False
    )
    return {
        **{f"model.{k}": v for k, v in state["model"].items()},
        **{f"heads.{k}": v for k, v in state["heads"].items()},
    }


def test_gradient_cache_with_a_contrastive_weight_gives_the_full_batch_step(tmp_path, tiny_clip, monkeypatch):
    entity = {"contrastive_weight": 0.3, "mlm_weight": 0.7, "type_weight": 1.3}
    full = _one_sgd_step(tmp_path, tiny_clip, monkeypatch, "full", entity=entity)
    cached = _one_sgd_step(tmp_path, tiny_clip, monkeypatch, "cached", entity=entity, grad_cache_chunk=4)
    assert full.keys() == cached.keys() and any(k.startswith("heads.entity_type") for k in full)
    for key in full:
        assert torch.allclose(full[key], cached[key], rtol=0, atol=1e-5), key
    # the weight is applied: logit_scale only receives the contrastive gradient, so its SGD step at weight
    # 0.3 is 0.3 x the step at weight 1; the type head never sees the contrastive loss: same step
    one = _one_sgd_step(
        tmp_path,
        tiny_clip,
        monkeypatch,
        "weight1",
        grad_cache_chunk=4,
        entity={**entity, "contrastive_weight": 1.0},
    )
    from kvqae.train.model import load_clip

    scale0 = load_clip(str(tiny_clip))[0].logit_scale.detach()
    step03 = full["model.logit_scale"] - scale0
    step1 = one["model.logit_scale"] - scale0
    assert float(step1.abs()) > 1e-4
    assert torch.allclose(step03, 0.3 * step1, rtol=1e-4, atol=1e-7)
    type_keys = [k for k in full if k.startswith("heads.entity_type")]
    assert all(torch.allclose(full[k], one[k], rtol=0, atol=1e-6) for k in type_keys)


# --- resume ---------------------------------------------------------------------------------------------
class _Killed(Exception):
    pass


def _draw_every_step(monkeypatch, record: dict) -> None:
    """Each step first draws from torch, numpy and python (a wrong RNG state after resuming shows) and can be
    cut short at a given step (an interruption after the previous epoch's checkpoint)."""
    from kvqae.train.objective import Objective

    real = Objective.backward

    def backward(self, batch, chunk=None):
        if record["stop_at"] is not None and len(record["draws"]) >= record["stop_at"]:
            raise _Killed
        record["draws"].append((torch.rand(1).item(), float(np.random.rand()), random.random()))
        return real(self, batch, chunk)

    monkeypatch.setattr(Objective, "backward", backward)


def _checkpoint(tmp_path, name: str) -> dict:
    return torch.load(
        tmp_path / f"{name}.work" / "checkpoint" / "state.pt", map_location="cpu", weights_only=False
    )


def _assert_same(a, b, where: str = "") -> None:
    """Exact equality of nested checkpoint values (tensors bit for bit)."""
    if isinstance(a, torch.Tensor):
        assert isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b), where
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert np.array_equal(a, b), where
    else:
        assert a == b, where


def test_resume_restores_optimizer_scheduler_and_rng_exactly(tmp_path, tiny_clip, monkeypatch):
    # 8 pairs of 4 entities, batches of 4: 2 steps per epoch, 2 epochs; warm-up, linear decay, weight decay
    # and clipping all depend on the restored optimizer / scheduler state
    pairs = _pairs(4, per_entity=2)
    extra = {
        "epochs": 2,
        "warmup_steps": 1,
        "weight_decay": 0.01,
        "max_grad_norm": 1.0,
        "keep_checkpoints": True,
    }
    record: dict = {"draws": [], "stop_at": None}
    _draw_every_step(monkeypatch, record)

    trainer.train_clip(_config(tmp_path, tiny_clip, "straight", **extra), train_pairs=pairs, val_pairs=pairs)
    after_straight = (torch.rand(2), np.random.rand(2), random.random())
    straight_draws, record["draws"] = record["draws"], []
    assert len(straight_draws) == 4

    record["stop_at"] = 2  # step 3 (epoch 1) dies after epoch 0's checkpoint: N/2 steps, checkpoint
    with pytest.raises(_Killed):
        trainer.train_clip(_config(tmp_path, tiny_clip, "cut", **extra), train_pairs=pairs, val_pairs=pairs)
    half = _checkpoint(tmp_path, "cut")
    assert half["epoch"] == 0 and half["step"] == 2 and half["scheduler"]["last_epoch"] == 2
    # warm-up 1 then linear decay over 4 steps: the factor for step index 2 is 1 - (2 - 1) / (4 - 1) = 2/3
    assert half["scheduler"]["_last_lr"] == pytest.approx([1e-3 * 2 / 3])
    record["stop_at"], record["draws"] = None, []
    torch.manual_seed(123), np.random.seed(123), random.seed(123)  # the resumed run must not depend on these
    result = trainer.train_clip(
        _config(tmp_path, tiny_clip, "cut", **extra), train_pairs=pairs, val_pairs=pairs
    )
    after_resumed = (torch.rand(2), np.random.rand(2), random.random())

    assert result.steps == 4 and record["draws"] == straight_draws[2:]
    straight, resumed = _checkpoint(tmp_path, "straight"), _checkpoint(tmp_path, "cut")
    for key in (
        "model",
        "heads",
        "weights",
        "optimizer",
        "scheduler",
        "rng",
        "numpy_rng",
        "python_rng",
        "epoch",
        "step",
        "history",
    ):
        _assert_same(straight[key], resumed[key], key)
    # the optimizer really carries state (AdamW moments, step 4); the scheduler is at the end of the decay:
    # factor for a 5th step = 1 - (4 - 1) / (4 - 1) = 0
    moments = resumed["optimizer"]["state"]
    assert moments and all(float(s["step"]) == 4 for s in moments.values())
    assert resumed["scheduler"]["last_epoch"] == 4 and resumed["scheduler"]["_step_count"] == 5
    assert resumed["scheduler"]["_last_lr"] == pytest.approx([1e-3 * (1 - 3 / 3)])
    _assert_same(after_straight, after_resumed, "next draws")


# --- entity-centric sampler at the trainer's settings ---------------------------------------------------
def _skewed_pairs(sizes: list[int]) -> list[TrainPair]:
    image = Image.new("RGB", (8, 8), (120, 40, 200))
    return [
        TrainPair(f"e{e}", image, target_image=image, text="x", id=f"e{e}-{k}")
        for e, size in enumerate(sizes)
        for k in range(size)
    ]


def _trained_batches(tmp_path, tiny_clip, monkeypatch, name: str, pairs, **extra) -> list[list[list[str]]]:
    """The pair ids of every batch `train_clip` collates, per epoch, at the trainer's defaults (batch size,
    sampler, drop policy); the loss itself is skipped: only which pairs are trained matters here."""
    from kvqae.train.data import Collator
    from kvqae.train.objective import Objective

    seen: list[list[str]] = []
    real_call = Collator.__call__

    def collate(self, batch):
        seen.append([p.id for p in batch])
        return real_call(self, batch)

    monkeypatch.setattr(Collator, "__call__", collate)
    monkeypatch.setattr(Objective, "backward", lambda self, batch, chunk=None: {"total": 0.0})
    cfg = trainer.TrainClipConfig(
        mode="mono", model=str(tiny_clip), output_dir=str(tmp_path / name), epochs=2, progress=False, **extra
    )
    assert cfg.batch_size == 32 and cfg.entity_centric  # the trainer's defaults are what is tested
    result = trainer.train_clip(cfg, train_pairs=pairs, val_pairs=[])
    per_epoch = result.steps // 2
    return [seen[:per_epoch], seen[per_epoch:]]


def test_trainer_batches_use_every_pair_once_per_epoch_without_entity_repeats(
    tmp_path, tiny_clip, monkeypatch
):
    # 150 pairs, skewed: entities of 5, 5, 4, 4, 3, 3, 3 pairs, ten of 2, 103 of 1. nb = max(ceil(150 / 32),
    # largest entity 5) = 5 batches, dealt round-robin: 5 batches of exactly 30
    sizes = [5, 5, 4, 4, 3, 3, 3] + [2] * 10 + [1] * 103
    pairs = _skewed_pairs(sizes)
    ids = sorted(p.id for p in pairs)
    epochs = _trained_batches(tmp_path, tiny_clip, monkeypatch, "a", pairs)
    for batches in epochs:
        assert [len(b) for b in batches] == [30] * 5
        assert sorted(i for b in batches for i in b) == ids  # every pair exactly once per epoch
        for b in batches:
            assert len({i.split("-")[0] for i in b}) == len(b)  # no two pairs of one entity
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    assert _trained_batches(tmp_path, tiny_clip, monkeypatch, "b", pairs) == epochs  # same seed, same plan
    assert _trained_batches(tmp_path, tiny_clip, monkeypatch, "c", pairs, seed=1) != epochs


def test_trainer_batches_follow_the_leftover_policy_when_one_entity_dominates(
    tmp_path, tiny_clip, monkeypatch, caplog
):
    # 40 pairs of e0 + 20 single-pair entities: a batch holds at most one e0 pair and needs a second entity,
    # so at most 20 batches of 2 can be made: 40 pairs used (20 of e0, all 20 others), 20 left out and logged
    pairs = _skewed_pairs([40] + [1] * 20)
    with caplog.at_level(logging.WARNING, logger="kvqae.train.data"):
        epochs = _trained_batches(tmp_path, tiny_clip, monkeypatch, "skew", pairs)
    assert "leave 20 of 60 items unused per epoch" in caplog.text
    for batches in epochs:
        used = Counter(i.split("-")[0] for b in batches for i in b)
        assert len(batches) == 20 and all(len(b) == 2 for b in batches)
        assert used["e0"] == 20 and all(used[f"e{e}"] == 1 for e in range(1, 21))
        assert sum(used.values()) == len({i for b in batches for i in b}) == 40  # nothing used twice
    assert {i for b in epochs[0] for i in b} != {i for b in epochs[1] for i in b}  # other e0 pairs next epoch


# --- precision ------------------------------------------------------------------------------------------
def test_check_precision_accepts_fp32_and_refuses_bf16_where_it_cannot_run(monkeypatch):
    from kvqae.errors import InputError
    from kvqae.train.trainer import check_precision

    assert check_precision("fp32", "cpu") is False
    assert check_precision("fp32", "cuda") is False
    with pytest.raises(InputError, match=r"--precision bf16 needs a CUDA device .* not 'cpu'"):
        check_precision("bf16", "cpu")
    with pytest.raises(InputError, match="unknown precision 'fp16'"):
        check_precision("fp16", "cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="CUDA is not available"):
        check_precision("bf16", "cuda:0")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *a: "Old GPU")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(InputError, match=r"this GPU \(Old GPU\) has no bf16"):
        check_precision("bf16", "cuda")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert check_precision("bf16", "cuda") is True


def test_train_clip_precision_option_sets_bf16_or_refuses_before_training(tmp_path, monkeypatch):
    import yaml
    from typer.testing import CliRunner

    from kvqae.cli import app
    from kvqae.errors import InputError

    model = tmp_path / "start"
    model.mkdir()
    (model / "config.json").write_text("{}")  # only checked to be a model folder: training is stubbed
    (tmp_path / "cfg.yaml").write_text(
        yaml.safe_dump({"model": str(model), "output_dir": str(tmp_path / "o")})
    )
    ran: list = []
    monkeypatch.setattr(
        trainer, "train_clip", lambda cfg: ran.append(cfg) or trainer.TrainResult(tmp_path, 0, None)
    )

    def run(*options: str):
        return CliRunner().invoke(
            app, ["train", "clip", str(tmp_path / "cfg.yaml"), "--no-progress", *options]
        )

    assert run("--precision", "fp32").exit_code == 0 and ran[-1].bf16 is False
    res = run("--precision", "bf16")  # default device: cpu
    assert isinstance(res.exception, InputError) and "needs a CUDA device" in str(res.exception)
    assert len(ran) == 1 and not (tmp_path / "o").exists()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)  # the device check (session 18) counts them
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    res = run("--precision", "bf16", "--device", "cuda")
    assert res.exit_code == 0, res.output
    assert ran[-1].bf16 is True and ran[-1].device == "cuda"


# --- time budget (session 21) -----------------------------------------------------------------------------
def test_a_time_budget_starts_no_epoch_that_would_end_past_it(tmp_path, tiny_clip):
    """`max_minutes`: the first epoch always runs; a later one only when the mean epoch so far fits in the
    time left. A budget of 6 ms ends the training after epoch 1 of 3; none runs all 3."""
    import json

    budget = trainer.train_clip(_config(tmp_path, tiny_clip, "budget", epochs=3, max_minutes=1e-4),
                                train_pairs=_pairs(), val_pairs=[])
    assert budget.stopped_by_time_budget and len(budget.history) == 1 and budget.best_epoch == 0
    saved = json.loads((tmp_path / "budget" / "kvqae_train.json").read_text())
    assert saved["stopped_by_time_budget"] is True and len(saved["history"]) == 1
    free = trainer.train_clip(_config(tmp_path, tiny_clip, "free", epochs=3), train_pairs=_pairs(),
                              val_pairs=[])
    assert not free.stopped_by_time_budget and len(free.history) == 3
    with pytest.raises(ValueError, match="max_minutes"):
        _config(tmp_path, tiny_clip, "bad", max_minutes=float("nan"))

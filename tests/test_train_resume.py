"""Resuming `train_clip`: the checkpoint loads on the CPU (any device), an interrupted run resumes exactly
(optimizer, scheduler, RNG), and a checkpoint made with a run-changing config is refused."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from kvqae.errors import InputError

pytestmark = pytest.mark.usefixtures("one_torch_thread")

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (40, 60, 230), "yellow": (240, 220, 30)}


def _pairs():
    from kvqae.train.data import TrainPair

    return [
        TrainPair(
            name,
            Image.new("RGB", (32, 32), colour),
            text=f"{name.title()} Hall. {name.title()} Hall is near Oldtown.",
            id=f"p{i}",
            spans=[(0, len(name) + 5, "place")],
        )
        for i, (name, colour) in enumerate(COLOURS.items())
    ]


def _config(tmp_path, tiny_clip, name, **extra):
    from kvqae.train.trainer import TrainClipConfig

    base = {
        "mode": "entity",
        "model": str(tiny_clip),
        "output_dir": str(tmp_path / name),
        "lr": 1e-3,
        "batch_size": 4,
        "epochs": 3,
        "progress": False,
        "keep_checkpoints": True,
    }
    return TrainClipConfig(**{**base, **extra})


class _Interrupt(Exception):
    pass


@pytest.fixture()
def draws(monkeypatch):
    """Each step draws one torch random number (a wrong RNG state shows) and can be interrupted."""
    from kvqae.train.objective import Objective

    real = Objective.backward
    record: dict = {"draws": [], "stop_at": None}

    def backward(self, batch, chunk=None):
        if record["stop_at"] is not None and len(record["draws"]) >= record["stop_at"]:
            raise _Interrupt
        record["draws"].append(torch.rand(1).item())
        return real(self, batch, chunk)

    monkeypatch.setattr(Objective, "backward", backward)
    return record


def _state(directory):
    from kvqae.train.model import load_clip

    return load_clip(str(directory))[0].state_dict()


def test_interrupted_run_resumes_exactly(tmp_path, tiny_clip, draws, monkeypatch):
    from kvqae.train import trainer

    pairs = _pairs()
    full = trainer.train_clip(_config(tmp_path, tiny_clip, "full"), train_pairs=pairs, val_pairs=pairs)
    full_draws, draws["draws"] = draws["draws"], []

    draws["stop_at"] = 1  # the second step (epoch 1) fails after epoch 0's checkpoint is written
    with pytest.raises(_Interrupt):
        trainer.train_clip(_config(tmp_path, tiny_clip, "cut"), train_pairs=pairs, val_pairs=pairs)
    assert (tmp_path / "cut.work" / "checkpoint" / "state.pt").exists()
    assert draws["draws"] == full_draws[:1]
    draws["stop_at"], draws["draws"] = None, []
    loads = []
    real_load = torch.load

    def load(*args, **kwargs):
        loads.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", load)
    # harmless keys may differ: threads, progress
    resumed = trainer.train_clip(
        _config(tmp_path, tiny_clip, "cut", threads=1), train_pairs=pairs, val_pairs=pairs
    )
    assert loads == ["cpu"]  # RNG states stay CPU tensors whatever the training device
    assert draws["draws"] == full_draws[1:]  # torch RNG restored: the same random numbers after the cut
    assert resumed.history == full.history and resumed.steps == full.steps == 3
    a, b = _state(tmp_path / "full"), _state(tmp_path / "cut")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_restore_rng_takes_states_on_any_device():
    import random

    import numpy as np

    from kvqae.train.trainer import restore_rng, rng_state

    saved = rng_state()
    expected = (torch.rand(3), np.random.rand(), random.random())

    class Elsewhere(torch.Tensor):  # a tensor that set_rng_state refuses until it is moved to the CPU
        def cpu(self, *args, **kwargs):
            return torch.Tensor(self.data.clone())

    saved["rng"] = saved["rng"].as_subclass(Elsewhere)
    restore_rng(saved)
    assert torch.equal(torch.rand(3), expected[0])
    assert (np.random.rand(), random.random()) == expected[1:]


def test_resume_refuses_a_run_changing_config(tmp_path, tiny_clip):
    from kvqae.train.trainer import RESUME_FREE_KEYS, check_resume_config, train_clip

    pairs = _pairs()
    train_clip(_config(tmp_path, tiny_clip, "run", epochs=1), train_pairs=pairs, val_pairs=pairs)
    changed = _config(tmp_path, tiny_clip, "run", lr=5e-4, seed=1, entity={"mlm_weight": 0.5})
    with pytest.raises(InputError, match=r"different config \(entity.mlm_weight, lr, seed\)") as err:
        train_clip(changed, train_pairs=pairs, val_pairs=pairs)
    assert err.value.field == "entity.mlm_weight"
    saved = _config(tmp_path, tiny_clip, "run").model_dump(mode="json")
    check_resume_config(
        _config(tmp_path, tiny_clip, "run", epochs=5, device="cpu", threads=2), saved, tmp_path
    )
    assert {"epochs", "device", "progress"} <= RESUME_FREE_KEYS and "batch_size" not in RESUME_FREE_KEYS


def test_resume_refuses_fewer_epochs_or_other_pairs(tmp_path, tiny_clip):
    # a checkpoint after epoch 2 resumed with `epochs: 1` came back as the longer-trained model recorded as
    # 1 epoch; one resumed on a question file cut at the same path trained its last epochs on other pairs
    from kvqae.train.trainer import train_clip

    pairs = _pairs()
    train_clip(_config(tmp_path, tiny_clip, "run", epochs=2), train_pairs=pairs, val_pairs=pairs)
    with pytest.raises(InputError, match="the checkpoint is after epoch 2, past the 1 epochs now asked"):
        train_clip(_config(tmp_path, tiny_clip, "run", epochs=1), train_pairs=pairs, val_pairs=pairs)
    with pytest.raises(InputError, match="the checkpoint was trained on other pairs"):
        train_clip(_config(tmp_path, tiny_clip, "run", epochs=3), train_pairs=pairs[:-1], val_pairs=pairs)
    result = train_clip(_config(tmp_path, tiny_clip, "run", epochs=3), train_pairs=pairs, val_pairs=pairs)
    assert result.resumed_after_epoch == 1

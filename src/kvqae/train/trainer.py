"""`train_clip(config)`: fine-tune (mono / cross / joint) or entity-aware pretrain (entity) a CLIPModel.

Output directory (`output_dir`): the selected model, loadable as `clip:<output_dir>` (CLIPModel + tokenizer +
image processor, `save_pretrained`), the entity-aware heads beside it (`kvqae_heads.json/.safetensors`, entity
mode with MLM or type loss, recording the type vocabulary and its source), `kvqae_train.json` (config,
per-epoch losses and validation MRR, selected epoch, joint weights, type source) and, in joint mode,
`fusion_weights.json` (the joint weights as a `kvqae fuse apply` / pipeline weights file). Work files (the
resumable checkpoint, the best model so far) live in `<output_dir>.work/` and are removed at the end unless
`keep_checkpoints`.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from kvqae.config import ConfigModel, home_path
from kvqae.errors import InputError
from kvqae.train.data import MODES, TrainPair

# `lr: .inf` / `--lr inf` trained without complaint into a model whose every weight is NaN: numbers are finite
FINITE = ConfigDict(allow_inf_nan=False)


class JointOptions(ConfigModel):
    """Joint mode: fusion of the mono-modal and cross-modal similarities (see `kvqae.train.losses.joint`)."""

    model_config = FINITE

    fusion: Literal["score", "loss"] = "score"
    # >= 0 (a negative one maximised its loss, and `fuse apply` refused the saved weights) and <= 1e6
    # (1e308 overflowed into a model of NaN and Infinity weights), as `kvqae fuse` takes them
    weights: list[Annotated[float, Field(ge=0, le=1e6)]] = Field(default=[1.0, 1.0], min_length=2,
                                                                 max_length=2)
    learn_weights: bool = False
    weights_lr: float = Field(default=1e-2, gt=0)
    # names of the (mono-modal, cross-modal) runs the saved `fusion_weights.json` fuses: the run names
    # `kvqae run` / `kvqae search` give the image->image and image->title searches by default
    run_names: list[str] = Field(default=["image-image", "image-title"], min_length=2, max_length=2)

    @model_validator(mode="after")
    def _learned_needs_score(self) -> JointOptions:
        if self.learn_weights and self.fusion != "score":
            raise ValueError("learn_weights needs fusion: score (learned loss weights would shrink to zero)")
        if self.run_names[0] == self.run_names[1]:
            raise ValueError("run_names must name two different runs")
        if self.learn_weights and min(self.weights) <= 0:  # was a ValueError traceback once the model loaded
            raise ValueError(f"learned weights start from positive values, got {self.weights}")
        if not self.learn_weights and max(self.weights) <= 0:  # nothing trained, weights [0, 0] saved
            raise ValueError(f"weights {self.weights} leave nothing to train: give a positive one")
        return self


class EntityOptions(ConfigModel):
    """Entity-aware pretraining: switches and weights of the three losses, span finding, masked pass."""

    model_config = FINITE

    contrastive: bool = True
    mlm: bool = True
    entity_type: bool = True
    contrastive_weight: float = Field(default=1.0, ge=0)
    mlm_weight: float = Field(default=1.0, ge=0)
    type_weight: float = Field(default=1.0, ge=0)
    # the MLM/type heads read a non-causal pass of the text tower (the contrastive pass stays causal)
    bidirectional_mlm: bool = True
    ner: bool = True
    # entity-type vocabulary: "auto" = the KB's types when it has any, else spaCy NER labels (never both)
    type_source: Literal["auto", "kb", "ner"] = "auto"
    max_passages_per_entity: int | None = Field(default=None, ge=1)
    mask_token: str = "[MASK]"

    @model_validator(mode="after")
    def _one_loss(self) -> EntityOptions:
        if not (self.contrastive or self.mlm or self.entity_type):
            raise ValueError("at least one of contrastive, mlm, entity_type must be on")
        losses = (("contrastive_weight", self.contrastive, self.contrastive_weight),
                  ("mlm_weight", self.mlm, self.mlm_weight),
                  ("type_weight", self.entity_type, self.type_weight))
        on = [(name, w) for name, flag, w in losses if flag]
        if all(w == 0 for _, w in on):  # trained nothing and saved the start model as "epoch 1"
            names = ", ".join(n for n, _ in on)
            raise ValueError(f"{names}: 0 for every loss that is on, so nothing would be trained")
        return self


class TrainClipConfig(ConfigModel):
    """Everything `kvqae train clip CONFIG.yaml` reads (unknown keys are errors, numbers must be finite)."""

    model_config = FINITE

    mode: Literal["mono", "cross", "joint", "entity"] = "mono"
    model: str = Field(description="start CLIP: HF name, local path, or clip:<path>")
    kb: str | None = Field(default=None, description="knowledge base directory (kvqae kb build)")
    questions: str | None = Field(default=None, description="training questions (mono/cross/joint)")
    questions_format: str = "auto"
    validation_questions: str | None = None
    train_split: str | None = Field(default=None, description="keep questions whose meta.split equals this")
    validation_split: str | None = Field(
        default=None, description="validation = questions with this meta.split"
    )
    validation_fraction: float = Field(default=0.1, ge=0, lt=1)
    output_dir: str
    lr: float = Field(default=2e-6, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    warmup_steps: int = Field(default=0, ge=0)
    schedule: Literal["linear", "constant"] = "linear"
    epochs: int = Field(default=1, ge=1)
    max_steps: int | None = Field(default=None, ge=1)
    # a time budget: no epoch is started that the mean epoch so far says would end past it (the epochs run
    # keep their learning-rate schedule; the best of them on validation is kept, as always)
    max_minutes: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    batch_size: int = Field(default=32, ge=2)
    grad_cache_chunk: int | None = Field(default=None, ge=1)
    gradient_checkpointing: bool = False
    max_grad_norm: float | None = Field(default=None, gt=0)
    entity_centric: bool = True
    symmetric: bool | None = Field(default=None, description="default: true, false in entity mode")
    joint: JointOptions = JointOptions()
    entity: EntityOptions = EntityOptions()
    device: str = "cpu"
    threads: int | None = Field(
        default=None, ge=1, le=256, description="torch CPU threads while training (None: torch's default)"
    )
    bf16: bool = True
    seed: int = Field(default=0, ge=0, le=2**32 - 1)  # numpy's range: a traceback outside it
    resume: bool = True
    keep_checkpoints: bool = False
    progress: bool = True

    _home = field_validator("kb", "questions", "validation_questions", "output_dir", mode="before")(home_path)


@dataclass
class TrainResult:
    """What `train_clip` returns: where the model is, the selected epoch and the per-epoch history."""

    output_dir: Path
    best_epoch: int
    best_val_mrr: float | None
    history: list[dict[str, Any]] = field(default_factory=list)
    steps: int = 0
    joint_weights: list[float] | None = None
    resumed_after_epoch: int | None = None  # the checkpoint's epoch (0-based) when the run resumed one
    stopped_by_time_budget: bool = False  # `max_minutes` ended it before `epochs`

    @property
    def fusion_weights(self) -> Path | None:
        """The joint model's fusion weights file (`kvqae fuse apply --weights`), None for the other modes."""
        path = self.output_dir / FUSION_WEIGHTS
        return path if self.joint_weights is not None and path.exists() else None


FUSION_WEIGHTS = "fusion_weights.json"


def joint_fusion_weights(
    config: TrainClipConfig, weights: list[float], epoch: int, val_mrr: float | None
) -> dict[str, Any]:
    """A joint model's fusion weights as a `kvqae fuse fit` weights file (`kvqae.fusion.search.load_weights`).

    The model was trained to rank entities by `w_mono * cos(q, e_img) + w_cross * cos(q, e_title)`, so the
    file fuses the image->image and image->title runs (`joint.run_names`) the same way: weighted sum of the
    raw cosines (norm "none"); a candidate one run missed gets that run's lowest score for the query
    (default-minimum "raw": an upper bound of its unknown cosine, where 0 would sink it)."""
    from kvqae.fusion.search import WEIGHTS_FORMAT

    return {
        "format": WEIGHTS_FORMAT,
        "weights": [float(w) for w in weights],
        "run_names": list(config.joint.run_names),
        "method": "wsum",
        "norm": "none",
        "default_minimum": "raw",
        "rrf_k": 60.0,
        "sum_to_one": config.joint.learn_weights,
        "metric": "in-batch MRR on validation (training)",
        "best_score": val_mrr,
        "extra": {
            "source": "kvqae train clip --mode joint",
            "learned": config.joint.learn_weights,
            "fusion": config.joint.fusion,
            "selected_epoch": epoch,
        },
    }


# --- data --------------------------------------------------------------------------------------------------
def load_pairs(config: TrainClipConfig) -> tuple[list[TrainPair], list[TrainPair], str | None]:
    """Training and validation pairs from the config's KB and questions files, and (entity mode) where their
    span types come from ("kb" | "ner" | "none", see `kvqae.train.data.resolve_type_source`; else None)."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.train.data import entity_pairs, question_pairs, resolve_type_source

    if config.kb is None:
        raise InputError("a knowledge base is needed", field="kb")
    kb = KnowledgeBase.load(config.kb)
    if config.mode == "entity":
        source = resolve_type_source(kb, config.entity.type_source, config.entity.ner)
        pairs = entity_pairs(
            kb,
            max_passages_per_entity=config.entity.max_passages_per_entity,
            ner=config.entity.ner,
            type_source=source,
            progress=config.progress,
        )
        # hold out whole entities: validation asks whether unseen entities' images find their passages
        return (*_split_by_entity(pairs, config.validation_fraction, config.seed), source)
    from kvqae.data.questions import load_questions

    if config.questions is None:
        raise InputError(f"mode {config.mode!r} needs training questions", field="questions")
    questions = load_questions(config.questions, config.questions_format)
    if config.validation_questions:
        val_q = load_questions(config.validation_questions, config.questions_format)
    elif config.validation_split:
        val_q = [q for q in questions if q.meta.get("split") == config.validation_split]
    else:
        val_q = []
    for key in ("train_split", "validation_split"):  # a split no question has fell back silently
        split = getattr(config, key)
        if split and not (key == "validation_split" and config.validation_questions) and not any(
                q.meta.get("split") == split for q in questions):
            found = sorted({str(q.meta.get("split")) for q in questions if q.meta.get("split")})
            raise InputError(f"no question has meta.split {split!r} (the splits there: {found or 'none'})",
                             path=config.questions, field=key)
    if config.train_split and config.train_split == config.validation_split:
        raise InputError(f"trains and validates on the same split {config.train_split!r}",
                         field="validation_split")
    if config.train_split:
        questions = [q for q in questions if q.meta.get("split") == config.train_split]
    elif config.validation_split and not config.validation_questions:
        questions = [q for q in questions if q.meta.get("split") != config.validation_split]
    train = question_pairs(questions, kb, config.mode, path=config.questions)
    if val_q:  # the validation file, or the training file's validation split, is blamed for its questions
        key, path = (("validation_questions", config.validation_questions) if config.validation_questions
                     else ("validation_split", config.questions))
        return train, question_pairs(val_q, kb, config.mode, key=key, path=path), None
    return (*_split_random(train, config.validation_fraction, config.seed), None)


def question_notes(config: TrainClipConfig) -> list[str]:
    """What a question-based training (mono / cross / joint) should say before it starts: how many training
    or validation questions name an entity the KB lacks (`question_pairs` skips them: 28 of 32 were dropped
    without a word), and a validation file that is the training file (its figures, which pick the epoch,
    then measure training data). [] for entity pretraining or without questions."""
    from kvqae.data.kb import KnowledgeBase
    from kvqae.data.questions import load_questions

    if config.mode == "entity" or config.questions is None or config.kb is None:
        return []
    kb = KnowledgeBase.load(config.kb)
    notes = []
    for label, path in (("training", config.questions), ("validation", config.validation_questions)):
        if path is None:
            continue
        questions = load_questions(path, config.questions_format)
        unknown = [q for q in questions if q.entity and kb.resolve(q.entity) is None]
        if unknown:
            notes.append(f"{len(unknown)} of {len(questions)} {label} questions ({path}) name an entity the "
                         f"KB lacks (the first: {unknown[0].entity!r}); they are skipped")
    if config.validation_questions and Path(config.validation_questions).resolve() == Path(
            config.questions).resolve():
        notes.append("the validation questions are the training questions: the validation MRR, which picks "
                     "the epoch kept, measures training data")
    return notes


def _split_by_entity(pairs: list[TrainPair], fraction: float, seed: int) -> tuple[list, list]:
    entities = sorted({p.entity for p in pairs})
    random.Random(seed).shuffle(entities)
    n_val = int(round(len(entities) * fraction))
    if fraction > 0 and n_val < 2 <= len(entities) - 2:
        n_val = 2
    held = set(entities[:n_val])
    return [p for p in pairs if p.entity not in held], [p for p in pairs if p.entity in held]


def _split_random(pairs: list[TrainPair], fraction: float, seed: int) -> tuple[list, list]:
    order = list(range(len(pairs)))
    random.Random(seed).shuffle(order)
    n_val = int(round(len(pairs) * fraction))
    held = set(order[:n_val])
    return [p for i, p in enumerate(pairs) if i not in held], [p for i, p in enumerate(pairs) if i in held]


def _random_batches(n: int, batch_size: int, seed: int) -> list[list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return [b for b in (order[i : i + batch_size] for i in range(0, n, batch_size)) if len(b) >= 2]


# --- training ----------------------------------------------------------------------------------------------
def _seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


PRECISIONS = ("fp32", "bf16")


def check_precision(precision: str, device: str) -> bool:
    """`kvqae train clip --precision`: "fp32", or "bf16" = torch.autocast(bfloat16) around every forward on
    CUDA (weights, gradients and optimizer state stay float32). Returns whether bf16 autocast is on; an
    explicit bf16 where it cannot run (a non-CUDA device, no CUDA in this torch, a GPU without bf16) is an
    InputError rather than a silent float32 run."""
    import torch

    if precision not in PRECISIONS:
        raise InputError(f"unknown precision {precision!r} (fp32 or bf16)", field="--precision")
    if precision == "fp32":
        return False
    if not str(device).startswith("cuda"):
        raise InputError(
            f"--precision bf16 needs a CUDA device (bf16 autocast runs on CUDA only), not {device!r}; "
            "use --precision fp32 or --device cuda",
            field="--precision",
        )
    if not torch.cuda.is_available():
        raise InputError(
            f"--precision bf16 on {device!r}: CUDA is not available (torch {torch.__version__}, "
            f"CUDA build {torch.version.cuda})",
            field="--precision",
        )
    if not torch.cuda.is_bf16_supported():
        raise InputError(f"--precision bf16: this GPU ({torch.cuda.get_device_name()}) has no bf16",
                         field="--precision")
    return True


def enable_checkpointing(model: Any) -> None:
    """Recompute activations in the backward pass (transformers 5 renamed gradient -> activation
    checkpointing)."""
    enable = getattr(model, "activation_checkpointing_enable", None) or model.gradient_checkpointing_enable
    enable()


def _save_model(directory: Path, model: Any, tokenizer: Any, image_processor: Any, heads: Any) -> None:
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    image_processor.save_pretrained(directory)
    if heads is not None:
        heads.save(directory)


def check_work_folder(work: Path, kept: tuple[str, ...] = ("checkpoint", "best"), out_flag: str = "output_dir"
                      ) -> None:
    """`<output_dir>.work` holds this training's checkpoints (`kept`: `checkpoint/` and `best/` for CLIP
    training, `last/` and `best/` for the reader's) and is removed at the end: an existing folder of that
    name that holds anything else (a KB given as input, a user's files) was deleted. InputError unless it is
    missing, empty, or holds only those (and a checkpoint being written: a name starting with ".",
    `atomic_dir`); `out_flag` is the option to change in the message."""
    if not work.exists() and not work.is_symlink():
        return
    if work.is_symlink() or not work.is_dir():
        raise InputError("exists and is not a folder this training made (its work folder, removed at the "
                         f"end): move it, or choose another {out_flag}", path=work)
    other = sorted(p.name for p in work.iterdir() if p.name not in kept and not p.name.startswith("."))
    if other:
        names = " and ".join(f"{k}/" for k in kept)
        raise InputError(f"holds {', '.join(other[:3])}{', ...' if len(other) > 3 else ''}, not only this "
                         f"training's {names}: it is removed at the end of training; move it, or choose "
                         f"another {out_flag}", path=work)


# --- resume ------------------------------------------------------------------------------------------------
# config keys that may differ between a run and the checkpoint it resumes: they do not change what is trained
# (display, threads, the device, where the output goes, whether checkpoints are kept) or only say how long to
# go on (`epochs`, `max_steps`: the remaining steps follow the new length's learning-rate schedule)
RESUME_FREE_KEYS = frozenset(
    {"progress", "threads", "device", "output_dir", "keep_checkpoints", "resume", "epochs", "max_steps",
     "max_minutes", "joint.run_names"}
)


def _flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def check_resume_config(config: TrainClipConfig, saved: dict[str, Any] | None, path: Path) -> None:
    """Refuse to resume a checkpoint made with a config that changes the run (keys outside
    `RESUME_FREE_KEYS`); the InputError names the differing keys. Checkpoints without a saved config (older
    ones) are not checked."""
    if saved is None:
        return
    now, then = _flatten(config.model_dump(mode="json")), _flatten(saved)
    differ = sorted(
        k
        for k in now.keys() | then.keys()
        if k not in RESUME_FREE_KEYS and k.split(".")[0] not in RESUME_FREE_KEYS and now.get(k) != then.get(k)
    )
    if differ:
        raise InputError(
            f"the checkpoint was made with a different config ({', '.join(differ)}); "
            "restore those values, or set resume: false (or delete the checkpoint) to start over",
            path=path,
            field=differ[0],
        )


def pairs_digest(train_pairs: list[TrainPair], val_pairs: list[TrainPair]) -> str:
    """A digest of the training and validation pairs (entity, id, image path, text), in order: what a
    checkpoint was trained on."""
    import hashlib

    digest = hashlib.sha1()
    for split in (train_pairs, val_pairs):
        for pair in split:
            image = pair.image if isinstance(pair.image, str) else type(pair.image).__name__
            digest.update("\0".join([pair.entity, pair.id, image, pair.text or ""]).encode("utf-8") + b"\1")
        digest.update(b"\2")
    return digest.hexdigest()


def check_resume_progress(config: TrainClipConfig, state: dict[str, Any], data: str, path: Path) -> None:
    """Refuse to resume a checkpoint past the epochs now asked (it came back as a model trained 189 epochs,
    recorded as 2), or made from other pairs (a question file cut or edited at the same path: epochs 1-2
    on 32 questions, epoch 3 on 4). Checkpoints without a data record (older ones) are checked for epochs
    only."""
    done = int(state["epoch"]) + 1
    if done > config.epochs:
        raise InputError(f"the checkpoint is after epoch {done}, past the {config.epochs} epochs now asked; "
                         "ask for at least as many, or set resume: false (or delete the checkpoint) to start "
                         "over", path=path, field="epochs")
    if state.get("data") not in (None, data):
        raise InputError("the checkpoint was trained on other pairs (the question or KB files changed "
                         "since); give the same ones, or set resume: false (or delete the checkpoint) to "
                         "start over", path=path, field="questions")


def rng_state() -> dict[str, Any]:
    """Every random state training may draw from: torch (CPU and, when present, CUDA), numpy, python."""
    import numpy as np
    import torch

    return {
        "rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "numpy_rng": np.random.get_state(),
        "python_rng": random.getstate(),
    }


def restore_rng(state: dict[str, Any]) -> None:
    """Restore what `rng_state` saved, on any device (RNG states are CPU byte tensors, whatever the map)."""
    import numpy as np
    import torch

    torch.set_rng_state(state["rng"].cpu())
    cuda = state.get("cuda_rng")
    if cuda and torch.cuda.is_available():
        for index, cuda_state in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(cuda_state.cpu(), index)
    if state.get("numpy_rng") is not None:
        np.random.set_state(state["numpy_rng"])
    if state.get("python_rng") is not None:
        random.setstate(state["python_rng"])


def train_clip(
    config: TrainClipConfig,
    *,
    train_pairs: list[TrainPair] | None = None,
    val_pairs: list[TrainPair] | None = None,
) -> TrainResult:
    """Train a CLIP per `config` and save the selected model to `config.output_dir`.

    `train_pairs` / `val_pairs`: pairs built by the caller (then `kb`/`questions` are not read).
    Model selection: the epoch with the best in-batch MRR on the validation pairs (the last epoch when
    there are none).
    Resumes from `<output_dir>.work/checkpoint` when `resume` and it exists.
    """
    import torch

    previous_threads = torch.get_num_threads()
    if config.threads is not None:
        torch.set_num_threads(config.threads)
    try:
        return _train(config, train_pairs, val_pairs)
    finally:
        torch.set_num_threads(previous_threads)


@dataclass
class _ClipParts:
    """What one training run trains and how it reads its batches (built by `_build_parts`)."""

    model: Any
    tokenizer: Any
    image_processor: Any
    heads: Any  # EntityAwareHeads, or None without an MLM / type loss
    weights: Any  # LossWeights of the joint mode (present, unused, in the others)
    objective: Any
    collator: Any
    use_bf16: bool


@dataclass
class _Optimization:
    """The optimizer over the trained parameters, its learning-rate schedule, and how batches are drawn."""

    main_params: list[Any]  # CLIP + heads (clipped by `max_grad_norm`), without the joint weights
    optimizer: Any
    scheduler: Any
    sampler: Any  # EntityCentricBatchSampler, or None for random batches


@dataclass
class _Progress:
    """Where training stands: what a checkpoint saves and a resumed run starts from."""

    start_epoch: int = 0
    step: int = 0
    best_mrr: float = -math.inf
    best_epoch: int = -1
    history: list[dict[str, Any]] = field(default_factory=list)
    resumed_after: int | None = None
    stopped_by_time: bool = False


@dataclass
class _Folders:
    """The output folder and the work folder beside it (checkpoint and best model so far)."""

    out_dir: Path
    work: Path
    checkpoint: Path
    best: Path


def _train(
    config: TrainClipConfig, train_pairs: list[TrainPair] | None, val_pairs: list[TrainPair] | None
) -> TrainResult:
    """`train_clip` once its thread count is set: pairs, model, optimizer, resume, epochs, output."""
    if config.mode not in MODES:
        raise InputError(f"unknown mode {config.mode!r}", field="mode")
    train_pairs, val_pairs, type_source = _training_pairs(config, train_pairs, val_pairs)
    _seed_everything(config.seed)
    parts = _build_parts(config, train_pairs, type_source)
    optimization = _build_optimization(config, parts, train_pairs)
    val_batches = _validation_batches(config, val_pairs)
    folders = _work_folders(config)
    data = pairs_digest(train_pairs, val_pairs)
    progress = _resume_or_start(config, parts, optimization, folders, data)
    _run_epochs(config, parts, optimization, train_pairs, val_batches, folders, progress, data)
    joint_weights, best_val = _write_output(
        config, parts, folders, progress, type_source, len(train_pairs), len(val_pairs), bool(val_batches)
    )
    return TrainResult(folders.out_dir, progress.best_epoch, best_val, progress.history, progress.step,
                       joint_weights, progress.resumed_after, progress.stopped_by_time)


def _training_pairs(
    config: TrainClipConfig, train_pairs: list[TrainPair] | None, val_pairs: list[TrainPair] | None
) -> tuple[list[TrainPair], list[TrainPair], str | None]:
    """The pairs handed in, or those the config's files give; and the span types' source (see `load_pairs`:
    "given" for entity pairs handed in, which carry their own span types)."""
    type_source = "given" if config.mode == "entity" else None
    if train_pairs is None:
        train_pairs, val_pairs, type_source = load_pairs(config)
    val_pairs = val_pairs or []
    if len(train_pairs) < 2:
        raise InputError(
            "need at least two training pairs", field="questions" if config.mode != "entity" else "kb"
        )
    return train_pairs, val_pairs, type_source


def _entity_heads(
    config: TrainClipConfig, model: Any, tokenizer: Any, train_pairs: list[TrainPair], type_source: str | None
) -> tuple[Any, int | None, list[str]]:
    """Entity mode with an MLM or type loss: (the heads, the mask token id, the type vocabulary); else
    (None, None, [])."""
    from kvqae.train.data import type_vocabulary
    from kvqae.train.model import EntityAwareHeads, ensure_mask_token

    ent = config.entity
    if not (config.mode == "entity" and (ent.mlm or ent.entity_type)):
        return None, None, []
    mask_id = ensure_mask_token(model, tokenizer, ent.mask_token)
    types = type_vocabulary(train_pairs)
    if ent.entity_type and not types:
        raise InputError(
            "entity-type loss is on but no training span has a type "
            f"(type source: {type_source}; the KB has no types and NER is off?)",
            field="entity.entity_type",
        )
    heads = EntityAwareHeads(
        model, types, mlm=ent.mlm, entity_type=ent.entity_type, type_source=type_source
    ).to(config.device)
    return heads, mask_id, types


def _build_parts(
    config: TrainClipConfig, train_pairs: list[TrainPair], type_source: str | None
) -> _ClipParts:
    """Load the start CLIP and build the heads, loss weights, objective and collator (in this order: the
    heads' random initialisation draws from the seeded RNG)."""
    import torch

    from kvqae.train.data import Collator
    from kvqae.train.losses.joint import LossWeights
    from kvqae.train.model import load_clip
    from kvqae.train.objective import Objective

    device = config.device
    model, tokenizer, image_processor = load_clip(config.model, device)
    max_length = int(model.config.text_config.max_position_embeddings)
    ent = config.entity
    is_entity = config.mode == "entity"
    heads, mask_id, types = _entity_heads(config, model, tokenizer, train_pairs, type_source)
    weights = LossWeights(config.joint.weights, learn=config.joint.learn_weights).to(device)
    if config.gradient_checkpointing:
        enable_checkpointing(model)
    use_bf16 = config.bf16 and str(device).startswith("cuda")
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if use_bf16 else None
    symmetric = config.symmetric if config.symmetric is not None else not is_entity
    objective = Objective(
        config.mode,
        model,
        heads=heads,
        weights=weights,
        symmetric=symmetric,
        joint_fusion=config.joint.fusion,
        switches=_loss_switches(config),
        bidirectional_mlm=ent.bidirectional_mlm,
        autocast=autocast,
    )
    collator = Collator(
        config.mode,
        tokenizer,
        image_processor,
        max_length,
        mask_token_id=mask_id,
        type_vocab={t: i for i, t in enumerate(types)},
    )
    return _ClipParts(model, tokenizer, image_processor, heads, weights, objective, collator, use_bf16)


def _loss_switches(config: TrainClipConfig) -> Any:
    """Which losses entity pretraining combines, with their weights (the defaults in the other modes)."""
    from kvqae.train.objective import LossSwitches

    ent = config.entity
    if config.mode != "entity":
        return LossSwitches()
    return LossSwitches(
        ent.contrastive, ent.mlm, ent.entity_type, ent.contrastive_weight, ent.mlm_weight, ent.type_weight
    )


def _build_optimization(config: TrainClipConfig, parts: _ClipParts, train_pairs: list[TrainPair]
                        ) -> _Optimization:
    """AdamW over CLIP + heads (+ the joint weights when learned), the batch sampler, and the schedule over
    the steps that the epochs (or `max_steps`) make."""
    import torch

    from kvqae.train.data import EntityCentricBatchSampler

    # parameters: CLIP + heads (the tied decoder weight is the embedding: count it once) + joint weights
    seen: set[int] = set()
    main_params = []
    model, heads = parts.model, parts.heads
    for p in list(model.parameters()) + (list(heads.parameters()) if heads is not None else []):
        if id(p) not in seen and p.requires_grad:
            seen.add(id(p))
            main_params.append(p)
    groups = [{"params": main_params, "lr": config.lr}]
    if config.joint.learn_weights and config.mode == "joint":
        groups.append(
            {"params": list(parts.weights.parameters()), "lr": config.joint.weights_lr, "weight_decay": 0.0}
        )
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)

    if config.entity_centric:
        sampler = EntityCentricBatchSampler(
            [p.entity for p in train_pairs], config.batch_size, seed=config.seed
        )
        batches_per_epoch = len(sampler)
    else:
        sampler = None
        batches_per_epoch = len(_random_batches(len(train_pairs), config.batch_size, config.seed))
    if batches_per_epoch == 0:
        raise InputError("no training batch of at least two distinct entities", field="batch_size")
    total_steps = batches_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_factor(config, total_steps))
    return _Optimization(main_params, optimizer, scheduler, sampler)


def _lr_factor(config: TrainClipConfig, total_steps: int) -> Any:
    """The learning-rate multiplier of each step: linear warm-up, then constant or linear decay to 0."""

    def lr_factor(step: int) -> float:
        if step < config.warmup_steps:
            return (step + 1) / config.warmup_steps
        if config.schedule == "constant":
            return 1.0
        remaining = max(total_steps - config.warmup_steps, 1)
        return max(0.0, 1.0 - (step - config.warmup_steps) / remaining)

    return lr_factor


def _validation_batches(config: TrainClipConfig, val_pairs: list[TrainPair]) -> list[list[TrainPair]]:
    """The validation pairs in fixed batches ([] with fewer than two pairs)."""
    from kvqae.train.data import EntityCentricBatchSampler

    if len(val_pairs) < 2:
        return []
    vb = (
        EntityCentricBatchSampler(
            [p.entity for p in val_pairs], config.batch_size, seed=config.seed
        ).batches()
        if config.entity_centric
        else _random_batches(len(val_pairs), config.batch_size, 0)
    )
    return [[val_pairs[i] for i in b] for b in vb]


def _work_folders(config: TrainClipConfig) -> _Folders:
    """`output_dir` and its work folder (checked: it is removed at the end)."""
    out_dir = Path(config.output_dir)
    work = out_dir.with_name(out_dir.name + ".work")
    check_work_folder(work)
    return _Folders(out_dir, work, work / "checkpoint", work / "best")


def _resume_or_start(config: TrainClipConfig, parts: _ClipParts, optimization: _Optimization,
                     folders: _Folders, data: str) -> _Progress:
    """A fresh start, or (`resume` and a checkpoint there) the checkpoint's model, optimizer, schedule, RNG
    states and progress, after checking that it was made by the same config on the same pairs."""
    import torch

    state_file = folders.checkpoint / "state.pt"
    if not (config.resume and state_file.exists()):
        return _Progress()
    # on the CPU: the RNG states must stay there; the optimizer moves its state to each parameter's device
    state = torch.load(state_file, map_location="cpu", weights_only=False)
    check_resume_config(config, state.get("config"), state_file)
    check_resume_progress(config, state, data, state_file)
    parts.model.load_state_dict(state["model"])
    if parts.heads is not None:
        parts.heads.load_state_dict(state["heads"], strict=False)
        parts.heads.retie(parts.model)
    parts.weights.load_state_dict(state["weights"])
    optimization.optimizer.load_state_dict(state["optimizer"])
    optimization.scheduler.load_state_dict(state["scheduler"])
    progress = _Progress(state["epoch"] + 1, state["step"], state["best"], state["best_epoch"],
                         state["history"])
    restore_rng(state)
    progress.resumed_after = state["epoch"]
    return progress


def _to_device(batch: dict[str, Any], device: str) -> dict[str, Any]:
    return {k: v.to(device) for k, v in batch.items()}


def _validate(parts: _ClipParts, val_batches: list[list[TrainPair]], device: str) -> float | None:
    """Mean in-batch MRR over the validation batches (None without any); leaves the model in train mode."""
    if not val_batches:
        return None
    parts.model.eval()
    scores = [parts.objective.batch_mrr(_to_device(parts.collator(b), device)) for b in val_batches]
    parts.model.train()
    return float(sum(scores) / len(scores))


def _save_best(folders: _Folders, parts: _ClipParts) -> None:
    from kvqae.io import atomic_dir

    with atomic_dir(folders.best) as tmp:
        _save_model(tmp, parts.model, parts.tokenizer, parts.image_processor, parts.heads)


def _out_of_time(config: TrainClipConfig, epochs_timed: int, started: float) -> bool:
    """Whether the mean epoch so far says the next one would end past `max_minutes`."""
    if config.max_minutes is None or not epochs_timed:
        return False
    elapsed = time.perf_counter() - started
    return elapsed + elapsed / epochs_timed > config.max_minutes * 60


def _run_epochs(config: TrainClipConfig, parts: _ClipParts, optimization: _Optimization,
                train_pairs: list[TrainPair], val_batches: list[list[TrainPair]], folders: _Folders,
                progress: _Progress, data: str) -> None:
    """Train the remaining epochs (until `max_steps` or the time budget); after each, validate, keep the
    best model so far and write the checkpoint. Updates `progress`."""
    parts.model.train()
    started = time.perf_counter()
    # epochs_timed: the epochs this run has trained so far (a resumed run starts at 0)
    for epochs_timed, epoch in enumerate(range(progress.start_epoch, config.epochs)):
        if config.max_steps is not None and progress.step >= config.max_steps:
            break
        if _out_of_time(config, epochs_timed, started):
            progress.stopped_by_time = True
            break
        sums, n_batches = _train_epoch(config, parts, optimization, train_pairs, epoch, progress)
        val = _validate(parts, val_batches, config.device)
        record = {
            "epoch": epoch,
            "steps": progress.step,
            "val_mrr": val,
            **{f"loss_{k}": v / max(n_batches, 1) for k, v in sums.items()},
        }
        if config.mode == "joint":
            record["joint_weights"] = [float(w) for w in parts.weights().detach().cpu()]
        progress.history.append(record)
        score = val if val is not None else float(epoch)  # no validation: keep the last epoch
        if score > progress.best_mrr:
            progress.best_mrr, progress.best_epoch = score, epoch
            _save_best(folders, parts)
        _save_checkpoint(config, parts, optimization, folders, progress, epoch, data)


def _train_epoch(
    config: TrainClipConfig, parts: _ClipParts, optimization: _Optimization, train_pairs: list[TrainPair],
    epoch: int, progress: _Progress,
) -> tuple[dict[str, float], int]:
    """One epoch's optimizer steps (up to `max_steps` in all); returns the summed loss parts and the number of
    batches. Advances `progress.step`."""
    import torch

    from kvqae.progress import track

    if optimization.sampler is not None:
        optimization.sampler.set_epoch(epoch)
        batches = optimization.sampler.batches()
    else:
        batches = _random_batches(len(train_pairs), config.batch_size, config.seed + epoch)
    sums: dict[str, float] = {}
    n_batches = 0
    for idx in track(
        batches, f"epoch {epoch + 1}/{config.epochs} ({config.mode})", enabled=config.progress
    ):
        batch = _to_device(parts.collator([train_pairs[i] for i in idx]), config.device)
        optimization.optimizer.zero_grad(set_to_none=True)
        loss_parts = parts.objective.backward(batch, config.grad_cache_chunk)
        if config.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(optimization.main_params, config.max_grad_norm)
        optimization.optimizer.step()
        optimization.scheduler.step()
        progress.step += 1
        n_batches += 1
        for k, v in loss_parts.items():
            sums[k] = sums.get(k, 0.0) + v
        if config.max_steps is not None and progress.step >= config.max_steps:
            break
    return sums, n_batches


def _save_checkpoint(config: TrainClipConfig, parts: _ClipParts, optimization: _Optimization,
                     folders: _Folders, progress: _Progress, epoch: int, data: str) -> None:
    """Everything a resumed run needs after `epoch`: weights, optimizer, schedule, progress, RNG states."""
    import torch

    from kvqae.io import atomic_dir

    with atomic_dir(folders.checkpoint) as tmp:
        torch.save(
            {
                "model": parts.model.state_dict(),
                "heads": parts.heads.state_dict() if parts.heads is not None else {},
                "weights": parts.weights.state_dict(),
                "optimizer": optimization.optimizer.state_dict(),
                "scheduler": optimization.scheduler.state_dict(),
                "epoch": epoch,
                "step": progress.step,
                "best": progress.best_mrr,
                "best_epoch": progress.best_epoch,
                "history": progress.history,
                "config": config.model_dump(mode="json"),
                "data": data,
                **rng_state(),
            },
            tmp / "state.pt",
        )


def _write_output(config: TrainClipConfig, parts: _ClipParts, folders: _Folders, progress: _Progress,
                  type_source: str | None, n_train: int, n_val: int, validated: bool
                  ) -> tuple[list[float] | None, float | None]:
    """Copy the selected model to `output_dir` with `kvqae_train.json` (and, joint, the fusion weights file),
    then remove the work folder unless `keep_checkpoints`. Returns (the selected epoch's joint weights, its
    validation MRR); both None where they do not apply. `validated`: there were validation batches."""
    from kvqae.io import atomic_dir, write_json

    if not folders.best.exists():  # resumed after the last epoch with nothing left to do, or zero epochs run
        _save_best(folders, parts)
    best_epoch, history = progress.best_epoch, progress.history
    # the weights that go with the selected model (the best epoch's), not the last epoch's
    joint_weights = next((h.get("joint_weights") for h in history if h["epoch"] == best_epoch), None)
    best_val = None if not validated else progress.best_mrr
    with atomic_dir(folders.out_dir) as tmp:
        for item in folders.best.iterdir():
            shutil.copy2(item, tmp / item.name)
        write_json(
            tmp / "kvqae_train.json",
            {
                "config": json.loads(config.model_dump_json()),
                "mode": config.mode,
                "best_epoch": best_epoch,
                "best_val_mrr": best_val,
                "steps": progress.step,
                "stopped_by_time_budget": progress.stopped_by_time,
                "history": history,
                "joint_weights": joint_weights,
                "type_source": type_source,
                "precision": "bf16" if parts.use_bf16 else "fp32",
                "resumed_after_epoch": progress.resumed_after,
                "train_pairs": n_train,
                "val_pairs": n_val,
                "selection": "in-batch MRR on validation"
                if validated
                else "last epoch (no validation pairs)",
            },
        )
        if joint_weights is not None:
            fusion = joint_fusion_weights(config, joint_weights, best_epoch, best_val)
            write_json(tmp / FUSION_WEIGHTS, fusion)
    if not config.keep_checkpoints:
        with contextlib.suppress(OSError):
            shutil.rmtree(folders.work)
    return joint_weights, best_val

"""Training the multi-passage reader with a globally normalised span loss.

Each training example is one question with a mix of relevant passages (containing an answer; spans found by
distant supervision, `kvqae.read.spans`) and irrelevant ones. Start and end logits of all its rows share
one softmax; the loss is the negative log of the total probability of all gold starts (and of all gold
ends), averaged. AdamW, linear warm-up then linear decay, gradient accumulation over `batch_questions`
questions, periodic validation by EM/F1 with the best checkpoint kept, a time budget (`max_minutes`) that
stops training gracefully, and resume from the last checkpoint.

Output directory `out`: the best reader (loadable by `Reader.load`) plus `training.json` (settings,
history, best metrics, wall time). Work state lives beside it in `{out}.work/` (`best/`, `last/` with
optimizer state) and is removed after a complete run unless `keep_work`.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field

from kvqae.config import ConfigModel
from kvqae.errors import InputError
from kvqae.read.settings import ReaderSettings


@dataclass
class ReaderExample:
    """One question with its passages; `gold_spans[i]` : answer char spans in `passages[i]` (may be empty)."""

    qid: str
    question: str
    answers: list[str]
    passage_ids: list[str]
    passages: list[str]
    gold_spans: list[list[tuple[int, int]]] = field(default_factory=list)
    titles: list[str | None] | None = None  # each passage's entity title, when known (echo checks)

    @property
    def has_answer(self) -> bool:
        return any(self.gold_spans)


class ReaderTrainConfig(ConfigModel):
    """Options of `kvqae train reader` (also usable from a pipeline YAML). Numbers are finite and in range:
    `--lr -1`, `--lr nan` or `--warmup nan` failed in torch only after the training data was made."""

    model_config = ConfigDict(allow_inf_nan=False)

    init_model: str = "minilm"  # HF name or path; "minilm" = the packaged all-MiniLM-L6-v2 encoder
    relevant: int = Field(default=2, ge=1)  # passages with an answer per question (the seeds use 8)
    irrelevant: int = Field(default=4, ge=0)  # passages without (the seeds use 16)
    epochs: int = Field(default=2, ge=1)
    lr: float = Field(default=5e-5, gt=0)
    weight_decay: float = Field(default=0.01, ge=0)
    warmup: float = Field(default=0.1, ge=0, le=1)  # fraction of steps with linear warm-up
    batch_questions: int = Field(default=4, ge=1)  # questions per optimizer step (gradient accumulation)
    max_grad_norm: float = Field(default=1.0, gt=0)
    freeze_embeddings: bool = False  # keep the word embeddings fixed: cheaper steps on CPU, less overfitting
    layers: int | None = Field(default=None, ge=1)  # keep only the first N encoder layers of init_model
    eval_every: int = Field(default=100, ge=0)  # optimizer steps between validations (0: once per epoch)
    max_eval_questions: int = Field(default=300, ge=1)
    # tokens per row when validating (None: settings.max_length): validate as the saved reader will read
    # (`kvqae train reader --read-length`)
    eval_max_length: int | None = Field(default=None, ge=32)
    # time budget for training; stops gracefully and keeps the best checkpoint (0: stop after the first step)
    max_minutes: float | None = Field(default=None, ge=0)
    # optimizer steps in all (the learning-rate schedule decays over them): the same recipe on any machine
    max_steps: int | None = Field(default=None, ge=1)
    # decay of an exponential moving average of the weights (None: off); validation, checkpoints and the
    # saved reader then use the averaged weights (tried against seed variance; no gain on the dev set)
    ema: float | None = Field(default=None, gt=0.0, lt=1.0)
    seed: int = Field(default=0, ge=0)
    device: str = "cpu"
    settings: ReaderSettings = ReaderSettings(max_length=192)


@dataclass
class TrainResult:
    out: Path
    best: dict[str, float]
    history: list[dict[str, Any]]
    wall_seconds: float
    steps: int
    stopped_early: bool


class WeightAverage:
    """Exponential moving average of a model's trainable weights: after each optimizer step,
    avg <- d * avg + (1 - d) * w with d = min(decay, (1 + t) / (10 + t)) at update t (so the first updates,
    far from the fine-tuned weights, fade quickly). `swapped_in()` puts the average into the model for a
    block (evaluation, saving) and restores the training weights after it."""

    def __init__(self, model: Any, decay: float):
        self.model = model
        self.decay = decay
        self.updates = 0
        self.shadow = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}

    def update(self) -> None:
        import torch

        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            for n, p in self.model.named_parameters():
                if n in self.shadow:
                    self.shadow[n].mul_(d).add_(p.detach(), alpha=1.0 - d)
        self.updates += 1

    @contextlib.contextmanager
    def swapped_in(self):
        import torch

        params = dict(self.model.named_parameters())
        saved = {n: params[n].detach().clone() for n in self.shadow}
        with torch.no_grad():
            for n, avg in self.shadow.items():
                params[n].copy_(avg)
        try:
            yield
        finally:
            with torch.no_grad():
                for n, w in saved.items():
                    params[n].copy_(w)

    def state_dict(self) -> dict[str, Any]:
        return {"updates": self.updates, "shadow": self.shadow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.updates = int(state["updates"])
        for n, avg in state["shadow"].items():
            if n in self.shadow:
                self.shadow[n].copy_(avg)


def resolve_init(name: str) -> str:
    """`minilm` -> the packaged all-MiniLM-L6-v2 directory; anything else unchanged."""
    if name == "minilm":
        from kvqae.encode.packaged import minilm_path

        return str(minilm_path())
    return name


# ---------------------------------------------------------------------------------------------- examples
def cloze_examples(
    kb: Any,
    cloze: list[Any],
    *,
    relevant: int = 2,
    irrelevant: int = 4,
    seed: int = 0,
    hard_negatives: float = 0.0,
    source: str | Path | None = None,
) -> list[ReaderExample]:
    """Reader examples from cloze questions (read from the file `source`, named in errors): the source passage
    (known span, which must hold the answer there), up to `relevant - 1` other
    passages of the same entity holding the answer (distant supervision), and `irrelevant` distractors:
    a `hard_negatives` share of them passages of the same entity that do not contain the answer (what
    retrieval puts beside the right passage), the rest random passages of other entities (not searched
    for the answer: they are negatives). Passage order is shuffled.
    """
    from kvqae.read.spans import find_answer_spans

    table = kb.passages if hasattr(kb, "passages") else kb
    pids = table["passage_id"].astype(str).tolist()
    texts = dict(zip(pids, table["text"].tolist(), strict=True))
    ents = table["entity_id"].tolist() if "entity_id" in table.columns else [None] * len(pids)
    by_entity: dict[Any, list[int]] = {}
    for i, e in enumerate(ents):
        by_entity.setdefault(e, []).append(i)
    row_of = {p: i for i, p in enumerate(pids)}
    codes: dict[Any, int] = {}
    ent_codes = np.array([codes.setdefault(e, len(codes)) for e in ents])
    out = []
    for n, q in enumerate(cloze):
        if q.passage_id not in texts:
            raise InputError(f"unknown passage id {q.passage_id!r}: not in the KB", path=source, record=q.id,
                             field="passage_id")
        rng = np.random.default_rng([seed, n])
        src_text = texts[q.passage_id]
        if src_text[q.start : q.end] != q.answer:
            raise InputError(
                f"the passage holds {src_text[q.start : q.end]!r} at {q.start}:{q.end}, not the answer "
                f"{q.answer!r}", path=source, record=q.id, field="start")
        spans = sorted({(q.start, q.end), *find_answer_spans(src_text, [q.answer])})
        chosen = [(q.passage_id, src_text, spans)]
        entity = q.entity
        siblings = [i for i in by_entity.get(entity, []) if pids[i] != q.passage_id]
        n_hard = int(round(hard_negatives * irrelevant)) if entity is not None else 0
        hard: list[int] = []
        for i in rng.permutation(siblings).tolist() if siblings else []:
            s = find_answer_spans(texts[pids[i]], [q.answer])
            if s and len(chosen) < relevant:
                chosen.append((pids[i], texts[pids[i]], s))
            elif not s and len(hard) < n_hard:
                hard.append(i)
        chosen.extend((pids[i], texts[pids[i]], []) for i in hard)
        irrelevant_left = irrelevant - len(hard)
        others = np.nonzero(
            (ent_codes != ent_codes[row_of[q.passage_id]])
            if entity is not None
            else (np.arange(len(pids)) != row_of[q.passage_id])
        )[0]
        if len(others) and irrelevant_left > 0:
            for i in rng.choice(others, size=min(irrelevant_left, len(others)), replace=False).tolist():
                chosen.append((pids[i], texts[pids[i]], []))
        perm = rng.permutation(len(chosen))
        chosen = [chosen[int(i)] for i in perm]
        out.append(
            ReaderExample(
                q.id,
                q.question,
                [q.answer],
                [c[0] for c in chosen],
                [c[1] for c in chosen],
                [c[2] for c in chosen],
            )
        )
    return out


def run_examples(
    kb: Any, questions: list[Any], run: Any, *, relevant: int = 2, irrelevant: int = 4, depth: int = 100
) -> list[ReaderExample]:
    """Reader examples from questions with answers and a passage-level run: among the top `depth` passages,
    the best-ranked `relevant` ones containing an answer and the best-ranked `irrelevant` ones without
    (hard negatives). Questions with no passage containing an answer are skipped."""
    from kvqae.data.runs import unknown_passage
    from kvqae.read.spans import find_answer_spans

    out = []
    for q in questions:
        if not q.answers:
            continue
        pos, neg = [], []
        for pid, _score in run.ranked(q.id, depth):
            if len(pos) >= relevant and len(neg) >= irrelevant:
                break
            try:
                text = kb.passage_text(pid)
            except (KeyError, InputError):  # was a KeyError traceback in `kvqae train reader --run`
                raise unknown_passage(run, q.id, pid) from None
            spans = find_answer_spans(text, q.answers)
            if spans and len(pos) < relevant:
                pos.append((pid, text, spans))
            elif not spans and len(neg) < irrelevant:
                neg.append((pid, text, []))
        if not pos:
            continue
        chosen = pos + neg
        out.append(
            ReaderExample(
                q.id,
                q.question,
                list(q.answers),
                [c[0] for c in chosen],
                [c[1] for c in chosen],
                [c[2] for c in chosen],
            )
        )
    return out


def reading_examples(kb: Any, questions: list[Any], run: Any, *, top_k: int = 8) -> list[ReaderExample]:
    """Reader examples as reading sees them, for validation on questions people ask: each question's top
    `top_k` passages of `run` in rank order, with their entity titles and the answer spans found in them
    (none when retrieval missed: the question still counts, as it does when the pipeline reads it).
    Questions without answers are skipped."""
    from kvqae.read.predict import ranked_passages
    from kvqae.read.spans import find_answer_spans

    out = []
    for q in questions:
        if not q.answers:
            continue
        passages = ranked_passages(kb, run.ranked(q.id, top_k), query=q.id, source=run)
        out.append(
            ReaderExample(
                q.id,
                q.question,
                list(q.answers),
                [p.passage_id for p in passages],
                [p.text for p in passages],
                [find_answer_spans(p.text, q.answers) for p in passages],
                [p.title for p in passages],
            )
        )
    return out


def split_examples(
    examples: list[ReaderExample], val_fraction: float, *, seed: int = 0, group_of: Any = None
) -> tuple[list[ReaderExample], list[ReaderExample]]:
    """Seeded train/validation split; `group_of(example)` keeps groups (e.g. articles) on one side."""
    if not 0 <= val_fraction < 1:
        raise InputError("must be in [0, 1)", field="val_fraction")
    groups = sorted({group_of(e) if group_of else e.qid for e in examples}, key=str)
    rng = np.random.default_rng(seed)
    n_val = int(round(len(groups) * val_fraction))
    if val_fraction > 0 and len(groups) > 1:
        n_val = min(max(n_val, 1), len(groups) - 1)
    val_groups = {groups[int(i)] for i in rng.permutation(len(groups))[:n_val]}
    train, val = [], []
    for e in examples:
        (val if (group_of(e) if group_of else e.qid) in val_groups else train).append(e)
    return train, val


def keep_first_layers(model: Any, n: int) -> None:
    """Cut a BERT-like model's encoder to its first `n` layers (in place; the saved config says `n`).

    Why: on CPU the reader's cost is linear in depth; the lower layers of a small encoder keep most of
    what span extraction needs, and the time saved buys more training steps in a fixed budget.
    """
    base = getattr(model, model.base_model_prefix, None)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None:
        raise InputError("cannot cut layers of this model (no encoder.layer list)", field="layers")
    if not 1 <= n <= len(layers):
        raise InputError(f"must be in [1, {len(layers)}]", field="layers")
    base.encoder.layer = layers[:n]
    model.config.num_hidden_layers = n


# ---------------------------------------------------------------------------------------------- loss and eval
def global_span_loss(
    start_logits: Any, end_logits: Any, context_mask: Any, start_targets: Any, end_targets: Any
) -> Any:
    """Negative log-likelihood of the gold starts and ends under one softmax over all context tokens of all
    rows.

    All inputs are (rows, length) torch tensors (masks/targets bool). Returns a scalar: the mean of the
    start and end terms. Several gold positions (answer occurring more than once) are marginalised over.
    """
    import torch

    neg = torch.finfo(start_logits.dtype).min
    ls = torch.log_softmax(start_logits.masked_fill(~context_mask, neg).flatten(), dim=0)
    le = torch.log_softmax(end_logits.masked_fill(~context_mask, neg).flatten(), dim=0)
    s = -torch.logsumexp(ls[start_targets.flatten()], dim=0)
    e = -torch.logsumexp(le[end_targets.flatten()], dim=0)
    return (s + e) / 2


def evaluate_reader(
    reader: Any, examples: list[ReaderExample], *, progress: bool = False
) -> dict[str, float]:
    """EM and F1 (in %, SQuAD rules, max over gold answers) of the reader's best answer over each example's
    passages; also the share of answers taken from a passage holding a gold span (`passage_hit`)."""
    from kvqae.evaluate.answers import exact_match, f1_score
    from kvqae.progress import track
    from kvqae.read.model import PassageInput

    was_training = reader.model.training
    reader.model.eval()
    em = f1 = hit = 0.0
    for ex in track(examples, "validating reader", enabled=progress):
        titles = ex.titles or [None] * len(ex.passages)
        passages = [PassageInput(p, t, 0.0, title)
                    for p, t, title in zip(ex.passage_ids, ex.passages, titles, strict=True)]
        pred = reader.predict(ex.question, passages)[0]
        em += exact_match(pred.answer, ex.answers)
        f1 += f1_score(pred.answer, ex.answers)
        if pred.passage_id is not None and ex.gold_spans:
            hit += float(bool(ex.gold_spans[ex.passage_ids.index(pred.passage_id)]))
    if was_training:
        reader.model.train()
    n = max(len(examples), 1)
    return {"em": 100 * em / n, "f1": 100 * f1 / n, "passage_hit": 100 * hit / n, "n": len(examples)}


def _evaluate_at_length(reader: Any, examples: list[ReaderExample], length: int | None) -> dict[str, Any]:
    """`evaluate_reader` with rows of `length` tokens (None: the reader's own), the reader's settings
    restored afterwards (checkpoints keep the training length)."""
    from kvqae.read.settings import window_stride

    if not examples:
        return {"em": 0.0, "f1": 0.0, "n": 0}
    settings = reader.settings
    if length is not None:
        reader.settings = settings.model_copy(update={"max_length": length, "stride": window_stride(length)})
    try:
        return evaluate_reader(reader, examples)
    finally:
        reader.settings = settings


# ---------------------------------------------------------------------------------------------- resuming
# settings a resumed run may change: how long to go on, how often to validate, where it runs
RESUME_FREE = frozenset({"epochs", "max_steps", "max_minutes", "eval_every", "device"})


def run_identity(cfg: ReaderTrainConfig, train: list[ReaderExample], val: list[ReaderExample]
                 ) -> dict[str, Any]:
    """What a checkpoint was made from: the settings that change what is trained (all but `RESUME_FREE`) and a
    digest of the training and validation questions and passages, in order."""
    import hashlib

    digest = hashlib.sha1()
    for split in (train, val):
        for e in split:
            digest.update("\0".join([e.qid, *e.passage_ids]).encode("utf-8") + b"\1")
        digest.update(b"\2")
    settings = {k: v for k, v in cfg.model_dump(mode="json").items() if k not in RESUME_FREE}
    return {"settings": settings, "data": digest.hexdigest()}


def check_resume(saved: dict[str, Any], now: dict[str, Any], total_steps: int, where: Path) -> None:
    """Refuse to resume the checkpoint state `saved` with another run (`run_identity`): it continued with the
    new settings on the old model (a 1-layer model saved as 3 layers), or on other questions at the old
    position; or past the steps now asked (an over-trained model saved under the shorter schedule). Older
    checkpoints without a record are not checked."""
    then = saved.get("run")
    if then is not None:
        differ = sorted(k for k in then["settings"].keys() | now["settings"].keys()
                        if then["settings"].get(k) != now["settings"].get(k))
        if differ:
            raise InputError(f"the checkpoint was made with other settings ({', '.join(differ)}); restore "
                             "them, or leave out --resume to start over", path=where, field=differ[0])
        if then["data"] != now["data"]:
            raise InputError("the checkpoint was made from other training or validation questions (or "
                             "passages); give the same ones, or leave out --resume to start over", path=where)
    if int(saved.get("step", 0)) > total_steps:
        raise InputError(f"the checkpoint is at step {saved['step']}, past the {total_steps} steps now "
                         "asked (--epochs / --max-steps); ask for at least as many, or leave out --resume to "
                         "start over", path=where, field="max_steps")


def check_reader_work(work: Path, init_model: str) -> None:
    """`<out>.work` holds this training's `last/` and `best/` checkpoints and is removed at the end: a
    folder of that name holding anything else (a user's files, `kvqae.train.trainer.check_work_folder`), or
    a start model inside it (`--init OUT.work/best`), was deleted with it. InputError otherwise."""
    from kvqae.train.trainer import check_work_folder

    check_work_folder(work, ("last", "best"), "--out")
    init = Path(init_model)
    if init.exists() and init.resolve().is_relative_to(work.resolve()):
        raise InputError(f"the start model {init_model} is inside the work folder {work}, which is removed "
                         "when training starts over or ends: copy it elsewhere first", field="--init")


# ---------------------------------------------------------------------------------------------- training loop
@dataclass
class _ReaderRun:
    """What the training loop works with: the reader, its optimizer and schedule, the weight average, the
    validation questions, the work folders and where messages go."""

    cfg: ReaderTrainConfig
    reader: Any
    optimizer: Any
    scheduler: Any
    average: WeightAverage | None
    eval_set: list[ReaderExample]
    last_dir: Path
    best_dir: Path
    say: Any


def train_reader_model(
    train: list[ReaderExample],
    val: list[ReaderExample],
    out: str | Path,
    config: ReaderTrainConfig | None = None,
    *,
    resume: bool = False,
    keep_work: bool = False,
    progress: bool = True,
    extra_meta: dict[str, Any] | None = None,
    log: Any = None,
) -> TrainResult:
    """Train a reader from `config.init_model` on `train`, select the best checkpoint by validation F1, write
    it to `out` (atomically). `resume`: continue from `{out}.work/last` when it exists. Returns a
    `TrainResult`.
    """
    import torch

    cfg = config or ReaderTrainConfig()
    out = Path(out)
    work = out.with_name(out.name + ".work")
    last_dir, best_dir = work / "last", work / "best"
    train = [e for e in train if e.has_answer]
    if not train:
        raise InputError("no training example has an answer span in its passages", field="train")
    eval_set = val[: cfg.max_eval_questions]
    say = log or (lambda msg: None)

    state: dict[str, Any] = {"step": 0, "epoch": 0, "pos": 0, "best": None, "history": [], "elapsed": 0.0,
                             "run": run_identity(cfg, train, val)}
    check_reader_work(work, cfg.init_model)
    resuming = resume and (last_dir / "state.json").exists()
    init = str(last_dir) if resuming else resolve_init(cfg.init_model)
    reader = _load_reader(cfg, init, resuming)
    optimizer = _reader_optimizer(reader.model, cfg)
    total_steps = _total_steps(cfg, len(train))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _warmup_then_decay(cfg, total_steps))
    if resuming:
        state = _resume_state(state, last_dir, total_steps, optimizer, scheduler, say)
    elif work.exists():
        _clear_earlier_run(work, last_dir, say)
    work.mkdir(parents=True, exist_ok=True)
    average = _weight_average(reader.model, cfg, resuming, last_dir)
    run = _ReaderRun(cfg, reader, optimizer, scheduler, average, eval_set, last_dir, best_dir, say)
    stopped, wall = _train_with_progress(run, train, state, total_steps, progress)
    meta = _training_meta(cfg, state, len(train), len(eval_set), wall, stopped, extra_meta)
    _write_reader(out, best_dir, meta)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return TrainResult(out, state["best"], state["history"], wall, state["step"], stopped)


def _load_reader(cfg: ReaderTrainConfig, init: str, resuming: bool) -> Any:
    """The reader to train, loaded from `init` after seeding torch (a new span head draws from it), its
    encoder cut to `cfg.layers` (a resumed model is cut already) and its word embeddings frozen when
    asked."""
    import torch

    from kvqae.read.model import Reader

    torch.manual_seed(cfg.seed)
    reader = Reader.load(init, device=cfg.device, settings=cfg.settings)
    model = reader.model
    if cfg.layers is not None and not resuming:
        keep_first_layers(model, cfg.layers)
    if cfg.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    return reader


def _training_meta(cfg: ReaderTrainConfig, state: dict[str, Any], n_train: int, n_eval: int, wall: float,
                   stopped: bool, extra_meta: dict[str, Any] | None) -> dict[str, Any]:
    """What `training.json` records: best and history of the validations, steps, sizes, wall time, budget
    stop, settings, per-step losses, and the caller's `extra_meta`."""
    return {
        "best": state["best"],
        "history": state["history"],
        "steps": state["step"],
        "train_questions": n_train,
        "val_questions": n_eval,
        "wall_seconds": round(wall, 1),
        "stopped_by_budget": stopped,
        "config": cfg.model_dump(),
        "losses": state.get("losses", []),
        **(extra_meta or {}),
    }


def _reader_optimizer(model: Any, cfg: ReaderTrainConfig) -> Any:
    """AdamW with weight decay on the trainable weights but biases and layer norms."""
    import torch

    no_decay = ("bias", "LayerNorm.weight", "layer_norm.weight")
    groups = [
        {
            "params": [
                p for n, p in model.named_parameters() if p.requires_grad and not n.endswith(no_decay)
            ],
            "weight_decay": cfg.weight_decay,
        },
        {
            "params": [p for n, p in model.named_parameters() if p.requires_grad and n.endswith(no_decay)],
            "weight_decay": 0.0,
        },
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr)


def _total_steps(cfg: ReaderTrainConfig, n_train: int) -> int:
    """Optimizer steps of the whole run (at least 1): the epochs' steps, capped by `max_steps`."""
    steps_per_epoch = math.ceil(n_train / cfg.batch_questions)
    total_steps = max(steps_per_epoch * cfg.epochs, 1)
    if cfg.max_steps is not None:
        total_steps = max(min(total_steps, cfg.max_steps), 1)
    return total_steps


def _warmup_then_decay(cfg: ReaderTrainConfig, total_steps: int) -> Any:
    """The learning-rate multiplier of each step: linear warm-up over `cfg.warmup` of the steps, then linear
    decay to 0 at `total_steps`."""
    warm = int(cfg.warmup * total_steps)

    def lr_lambda(step: int) -> float:
        if step < warm:
            return (step + 1) / (warm + 1)
        return max(0.0, (total_steps - step) / max(total_steps - warm, 1))

    return lr_lambda


def _resume_state(state: dict[str, Any], last_dir: Path, total_steps: int, optimizer: Any, scheduler: Any,
                  say: Any) -> dict[str, Any]:
    """The checkpoint's state (checked against this run), with its optimizer, schedule and torch RNG
    restored."""
    import torch

    saved = json.loads((last_dir / "state.json").read_text(encoding="utf-8"))
    check_resume(saved, state["run"], total_steps, last_dir)
    state = {**saved, "run": state["run"]}
    opt = torch.load(last_dir / "optimizer.pt", weights_only=False)
    optimizer.load_state_dict(opt["optimizer"])
    scheduler.load_state_dict(opt["scheduler"])
    torch.set_rng_state(opt["torch_rng"])
    say(f"resumed at step {state['step']} (epoch {state['epoch']}, position {state['pos']})")
    return state


def _clear_earlier_run(work: Path, last_dir: Path, say: Any) -> None:
    """Remove the work folder of an earlier run, saying so when it held a checkpoint."""
    if (last_dir / "state.json").exists():  # it was removed without a word
        step = json.loads((last_dir / "state.json").read_text(encoding="utf-8")).get("step")
        say(f"starting over: the checkpoint of an earlier run ({last_dir}, step {step}) is removed; pass "
            "--resume to continue one")
    shutil.rmtree(work)


def _weight_average(model: Any, cfg: ReaderTrainConfig, resuming: bool, last_dir: Path
                    ) -> WeightAverage | None:
    """The moving average of the weights when `cfg.ema` (restored from the checkpoint when resuming)."""
    import torch

    average = WeightAverage(model, cfg.ema) if cfg.ema is not None else None
    if average is not None and resuming and (last_dir / "ema.pt").exists():
        average.load_state_dict(torch.load(last_dir / "ema.pt", weights_only=True))
    return average


def _validate(run: _ReaderRun, state: dict[str, Any]) -> dict[str, Any]:
    """Measure EM/F1 on the validation questions (with the averaged weights when kept), record it in the
    history, and save the reader as the best when it is (always without validation questions)."""
    from kvqae.io import atomic_dir

    with run.average.swapped_in() if run.average is not None else contextlib.nullcontext():
        m = _evaluate_at_length(run.reader, run.eval_set, run.cfg.eval_max_length)
        m.update(step=state["step"], epoch=state["epoch"], elapsed=round(state["elapsed"], 1))
        state["history"].append(m)
        run.say(f"step {state['step']}: EM {m['em']:.1f} F1 {m['f1']:.1f} (n={m['n']})")
        if state["best"] is None or m["f1"] > state["best"]["f1"] or not run.eval_set:
            state["best"] = dict(m)
            with atomic_dir(run.best_dir) as tmp:
                run.reader.save(tmp)
    return m


def _checkpoint(run: _ReaderRun, state: dict[str, Any]) -> None:
    """Save what resuming needs to `last/`: the reader, optimizer, schedule, torch RNG, average, state."""
    import torch

    from kvqae.io import atomic_dir

    with atomic_dir(run.last_dir) as tmp:
        run.reader.save(tmp)
        torch.save(
            {
                "optimizer": run.optimizer.state_dict(),
                "scheduler": run.scheduler.state_dict(),
                "torch_rng": torch.get_rng_state(),
            },
            tmp / "optimizer.pt",
        )
        if run.average is not None:
            torch.save(run.average.state_dict(), tmp / "ema.pt")
        (tmp / "state.json").write_text(json.dumps(state), encoding="utf-8")


def _train_with_progress(run: _ReaderRun, train: list[ReaderExample], state: dict[str, Any],
                         total_steps: int, progress: bool) -> tuple[bool, float]:
    """Validate the starting point (unless resumed past it), then train under a progress bar. Returns
    (stopped by a step or time budget, wall seconds of the whole run, resumed ones included)."""
    from kvqae.progress import make_progress

    t0 = time.monotonic() - state["elapsed"]
    if state["best"] is None:
        _validate(run, state)  # the starting point, so the gain from training is visible
    run.reader.model.train()
    prog = make_progress() if progress else None
    task = prog.add_task("training reader", total=total_steps, completed=state["step"]) if prog else None
    if prog:
        prog.start()
    try:
        stopped = _train_epochs(run, train, state, t0, prog, task)
    finally:
        if prog:
            prog.stop()
    return stopped, time.monotonic() - t0


def _train_epochs(run: _ReaderRun, train: list[ReaderExample], state: dict[str, Any], t0: float,
                  prog: Any, task: Any) -> bool:
    """The remaining epochs: validate and checkpoint every `eval_every` steps and after each epoch, and once
    more when a budget stops the run. Returns whether a budget stopped it."""
    cfg = run.cfg
    stopped = False
    while state["epoch"] < cfg.epochs and not stopped:
        stopped = _train_epoch(run, train, state, t0, prog, task)
        if not stopped:
            state["epoch"] += 1
            state["pos"] = 0
            if not cfg.eval_every or state["step"] % cfg.eval_every:
                _validate(run, state)
            _checkpoint(run, state)
    if stopped:
        _validate(run, state)
        _checkpoint(run, state)
    return stopped


def _train_epoch(run: _ReaderRun, train: list[ReaderExample], state: dict[str, Any], t0: float,
                 prog: Any, task: Any) -> bool:
    """The rest of epoch `state["epoch"]` from position `state["pos"]` (its order: a permutation seeded by the
    seed and the epoch). Returns True when a step or time budget stopped it."""
    cfg = run.cfg
    budget = None if cfg.max_minutes is None else cfg.max_minutes * 60.0
    order = np.random.default_rng([cfg.seed, state["epoch"]]).permutation(len(train))
    while state["pos"] < len(order):
        batch = [train[int(i)] for i in order[state["pos"] : state["pos"] + cfg.batch_questions]]
        total = _train_step(run, batch)
        state["step"] += 1
        state["pos"] += len(batch)
        state["elapsed"] = time.monotonic() - t0
        state.setdefault("losses", []).append(round(total, 5))
        if prog:
            prog.update(task, advance=1, description=f"training reader (loss {total:.3f})")
        if cfg.max_steps is not None and state["step"] >= cfg.max_steps:
            run.say(f"step budget of {cfg.max_steps} steps reached")
            return True
        if budget is not None and state["elapsed"] >= budget:
            run.say(f"time budget of {cfg.max_minutes} min reached at step {state['step']}")
            return True
        if cfg.eval_every and state["step"] % cfg.eval_every == 0:
            _validate(run, state)
            _checkpoint(run, state)
    return False


def _train_step(run: _ReaderRun, batch: list[ReaderExample]) -> float:
    """One optimizer step over `batch` (gradients accumulated question by question; a question whose answer
    fell outside every window is skipped). Returns the batch's loss."""
    import torch

    cfg, reader = run.cfg, run.reader
    run.optimizer.zero_grad(set_to_none=True)
    total = 0.0
    for ex in batch:
        feats = reader.featurize(ex.question, ex.passages, ex.gold_spans)
        if not feats.start_targets.any():
            continue  # the answer fell outside every window
        start, end = reader.logits(feats, grad=True)
        loss = global_span_loss(
            start,
            end,
            torch.from_numpy(feats.context_mask).to(cfg.device),
            torch.from_numpy(feats.start_targets).to(cfg.device),
            torch.from_numpy(feats.end_targets).to(cfg.device),
        ) / len(batch)
        loss.backward()
        total += float(loss.detach())
    torch.nn.utils.clip_grad_norm_(reader.model.parameters(), cfg.max_grad_norm)
    run.optimizer.step()
    run.scheduler.step()
    if run.average is not None:
        run.average.update()
    return total


def _write_reader(out: Path, best_dir: Path, meta: dict[str, Any]) -> None:
    """Write the best checkpoint to `out` (atomically), with a summary of the training in its
    `kvqae_reader.json` and all of `meta` in `training.json`."""
    from kvqae.io import atomic_dir

    with atomic_dir(out) as tmp:
        for f in best_dir.iterdir():
            shutil.copy2(f, tmp / f.name)
        settings_file = tmp / "kvqae_reader.json"
        payload = json.loads(settings_file.read_text(encoding="utf-8"))
        payload["training"] = {
            k: meta[k]
            for k in (
                "best",
                "steps",
                "wall_seconds",
                "train_questions",
                "val_questions",
                "stopped_by_budget",
            )
        }
        settings_file.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        (tmp / "training.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

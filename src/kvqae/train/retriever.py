"""`kvqae train retriever`: fine-tune a sentence-transformers text encoder (`st:`) for question -> passage
retrieval on questions generated from any KB, with in-batch negatives and BM25 hard negatives.

Training data (no labelled questions needed): cloze questions from the KB's passages (`kvqae.read.cloze`),
half of them rewritten KVQAE-style so they describe their entity instead of naming it ("When did Albert
Einstein publish ...?" -> "When did this German-born theoretical physicist publish ...?", the description
taken from the article's first sentence). Each question's positive is the passage it came from; its hard
negative is the best BM25 passage of another entity. Loss: `kvqae.train.losses.retrieval`
(multiple-negatives ranking).
Held-out generated questions select the epoch (MRR@100 of the source passage over all KB passages).
The output directory is a sentence-transformers model (`st:<dir>` loads it) plus `kvqae_retriever.json`.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from kvqae.config import ConfigModel
from kvqae.errors import InputError

_COPULA = re.compile(r"\b(?:is|was|are|were)\s+(?:an?|the|one of the)\s+", re.IGNORECASE)
_DANGLING = {"of", "on", "in", "by", "the", "for", "a", "an", "to", "at", "with", "as", "or", "american"}
_STOP = re.compile(r"[,;:(]|\.\s|\s(?:who|which|that|whose|and|born|best|known|from)\s")


# BM25 negatives per question are drawn from its top 20 (50 with same-entity negatives) and each is one more
# passage encoded per question and step: more were silently fewer, and a step of thousands of passages ran
# past the time budget into gigabytes of memory
MAX_NEGATIVES = 10


class TrainRetrieverConfig(ConfigModel):
    kb: Path
    out: Path
    init: str = "minilm"  # sentence-transformers name or path ("minilm": the packaged all-MiniLM-L6-v2)
    n_questions: int = 2000  # generated training + validation questions
    # "cloze": the answer replaced in its sentence; "natural": wh-movement rewrites (`kvqae.read.natural`)
    style: str = "cloze"
    described_share: float = 0.5  # share of questions rewritten to describe their entity
    val_fraction: float = 0.1
    # BM25 negatives of other entities per question (0: in-batch negatives only)
    hard_negatives: int = Field(default=1, ge=0, le=MAX_NEGATIVES)
    # BM25-best passages of the question's own entity that do not hold the answer: teach the passage, not
    # only the entity (people's questions find the article but miss the passage holding the fact)
    same_entity_negatives: int = Field(default=0, ge=0, le=MAX_NEGATIVES)
    epochs: int = 2
    batch_size: int = 32
    lr: float = 3e-5
    warmup: float = 0.1
    scale: float = 20.0
    max_seq_length: int = 128
    max_minutes: float | None = None
    seed: int = 0


@dataclass
class RetrievalExample:
    question: str
    passage_id: str
    entity: str
    negatives: list[str]


def split_by_passage(examples: list[RetrievalExample], fraction: float, seed: int
                     ) -> tuple[list[RetrievalExample], list[RetrievalExample]]:
    """(training, validation) examples, the validation ones those of whole passages drawn at random (with
    `seed`) until `fraction` of the examples (at least one) are held out: questions split one by one put
    most validation questions' passages among the training positives (36 of 40 on a 600-passage KB), so
    the validation MRR that picks the epoch measured passages trained on. Both keep the examples' order."""
    by_passage: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        by_passage.setdefault(example.passage_id, []).append(i)
    groups = list(by_passage.values())
    want = max(1, int(len(examples) * fraction))
    held: set[int] = set()
    for g in np.random.default_rng(seed).permutation(len(groups)):
        if len(held) >= want:
            break
        if len(held) + len(groups[g]) <= len(examples) - 2:  # at least two examples stay for a batch
            held.update(groups[g])
    if not held:  # every example from one passage: hold out one question all the same
        held = {0}
    train = [e for i, e in enumerate(examples) if i not in held]
    return train, [e for i, e in enumerate(examples) if i in held]


def entity_description(text: str, max_words: int = 6) -> str | None:
    """The noun phrase after "X is/was a|an|the" in the article's first sentence, up to `max_words` words
    ("German-born theoretical physicist"); None when the article does not start that way."""
    head = text[:400]
    match = _COPULA.search(head)
    if match is None or match.start() > 250:
        return None
    rest = head[match.end():]
    stop = _STOP.search(rest + " ")
    phrase = rest[: stop.start() if stop else len(rest)].strip().rstrip(".")
    words = phrase.split()[:max_words]
    while words and words[-1].lower() in _DANGLING:  # "... by the American" -> "..."
        words.pop()
    if len(words) < 2 or not words[0][:1].isalnum():
        return None
    return " ".join(words)


def describe(question: str, title: str, description: str) -> str | None:
    """`question` with the entity's title replaced by "this <description>"; None when it does not name it."""
    at = question.find(title)
    if at < 0 or not title:
        return None
    start = "This" if at == 0 else "this"
    return question[:at] + f"{start} {description}" + question[at + len(title):]


def make_examples(
    kb: Any, cfg: TrainRetrieverConfig, bm25_dir: Path, *, progress: bool
) -> list[RetrievalExample]:
    """Generated questions with their source passage and BM25 hard negatives (see module doc)."""
    from kvqae.index.bm25_index import Bm25Index
    from kvqae.read.cloze import generate_cloze

    cloze = generate_cloze(kb, cfg.n_questions, seed=cfg.seed, style=cfg.style, progress=progress)
    if not cloze:
        raise InputError("no question could be generated from this KB", path=getattr(kb, "path", None))
    rng = np.random.default_rng(cfg.seed)
    descriptions = {e: entity_description(kb.text_of(e)) for e in {q.entity for q in cloze}}
    questions = []
    for q in cloze:
        text = q.question
        desc = descriptions.get(q.entity)
        if desc and rng.random() < cfg.described_share:
            text = describe(text, kb.title_of(q.entity), desc) or text
        questions.append(text)
    bm25 = Bm25Index.build(kb, bm25_dir)
    hits = bm25.search(questions, 50 if cfg.same_entity_negatives else 20)
    examples = []
    for q, text, found in zip(cloze, questions, hits, strict=True):
        negatives = pick_negatives(kb, [pid for pid, _ in found], str(q.entity), q.passage_id, q.answer,
                                   other=cfg.hard_negatives, same=cfg.same_entity_negatives)
        examples.append(RetrievalExample(text, q.passage_id, str(q.entity), negatives))
    return examples


def pick_negatives(
    kb: Any, ranked: list[str], entity: str, positive: str, answer: str, *, other: int, same: int
) -> list[str]:
    """Hard negatives from a BM25 ranking: the first `other` passages of other entities, then the first
    `same` passages of `entity` itself other than `positive`; none holds `answer`. When BM25 ranked too
    few passages of the entity, its other passages follow in KB order."""
    clean = [pid for pid in ranked if answer not in kb.passage_text(pid)]
    others = [pid for pid in clean if kb.entity_of(pid) != entity][:other]
    if not same:
        return others
    own = [pid for pid in clean if kb.entity_of(pid) == entity and pid != positive]
    if len(own) < same:
        own += [pid for pid in kb.passages_of(entity)
                if pid != positive and pid not in own and answer not in kb.passage_text(pid)]
    return others + own[:same]


def passage_mrr(model: Any, kb: Any, examples: list[RetrievalExample], passage_vectors: np.ndarray,
                k: int = 100) -> float:
    """MRR@k of each example's source passage when its question searches every KB passage."""
    queries = model.encode([e.question for e in examples], batch_size=64, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=False)
    row = {pid: i for i, pid in enumerate(kb.passage_ids)}
    scores = queries @ passage_vectors.T
    gold = np.array([scores[i, row[e.passage_id]] for i, e in enumerate(examples)])
    ranks = (scores > gold[:, None]).sum(axis=1) + 1
    return float(np.where(ranks <= k, 1.0 / ranks, 0.0).mean())


def _encode_passages(model: Any, kb: Any) -> np.ndarray:
    return model.encode(list(kb.passages["text"]), batch_size=64, convert_to_numpy=True,
                        normalize_embeddings=True, show_progress_bar=False)


def linear_warmup_decay(total_steps: int, warmup: float):
    """Learning-rate factor per step: linear warm-up over `warmup` of the steps, then linear decay to 0."""
    warm = max(1, int(total_steps * warmup))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return max(0.0, (total_steps - step) / max(1, total_steps - warm))

    return factor


def train_retriever(cfg: TrainRetrieverConfig, *, progress: bool = True, log=print) -> dict[str, Any]:
    """Train as `cfg` says; saves the best epoch's model to `cfg.out` (atomically). Returns the summary."""
    import torch
    from sentence_transformers import SentenceTransformer

    from kvqae.data.kb import KnowledgeBase
    from kvqae.encode.sentence import PACKAGED
    from kvqae.io import atomic_dir
    from kvqae.progress import track
    from kvqae.train.losses.retrieval import compute_loss_from_embeddings

    t_start = time.perf_counter()
    torch.manual_seed(cfg.seed)
    kb = KnowledgeBase.load(cfg.kb)
    init = cfg.init.removeprefix("st:")
    if init in PACKAGED:
        from kvqae.encode.packaged import minilm_path

        init = str(minilm_path())
    from kvqae.encode.clip import load_errors
    from kvqae.encode.sentence import refuse_other_kinds

    refuse_other_kinds(init)  # a CLIP folder loaded, then failed deep in training (a traceback)
    try:
        model = SentenceTransformer(init, device="cpu")
    except load_errors() as e:
        raise InputError(f"cannot load sentence-transformers model ({(str(e).splitlines() or [''])[0]})",
                         path=cfg.init, field="init") from None
    model.max_seq_length = cfg.max_seq_length
    with tempfile.TemporaryDirectory(prefix="kvqae-bm25-") as tmp:
        examples = make_examples(kb, cfg, Path(tmp) / "index", progress=progress)
    if len(examples) < 3:  # one to validate, two for a batch with an in-batch negative
        raise InputError(f"only {len(examples)} training question(s) came from this KB: too few to train "
                         "on (at least 3: one to validate on, two for a batch); give a larger KB",
                         path=cfg.kb, field="kb")
    train, val = split_by_passage(examples, cfg.val_fraction, cfg.seed)
    log(f"[retriever] {len(train)} training / {len(val)} validation questions from {kb.path}")

    model.eval()
    history = [{"epoch": 0, "val_mrr": passage_mrr(model, kb, val, _encode_passages(model, kb))}]
    log(f"[retriever] before training: validation MRR@100 {history[0]['val_mrr']:.3f}")
    steps_per_epoch = math.ceil(len(train) / cfg.batch_size)
    total = steps_per_epoch * cfg.epochs
    optim = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(optim, linear_warmup_decay(total, cfg.warmup))

    # sentence-transformers >= 6 names it `preprocess`; older versions `tokenize`
    prepare = getattr(model, "preprocess", None) or model.tokenize

    def embed(texts: list[str]) -> torch.Tensor:
        features = prepare(texts)
        return model(features)["sentence_embedding"]

    best = (history[0]["val_mrr"], 0)
    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    step = 0
    out_of_time = False
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        perm = np.random.default_rng([cfg.seed, epoch]).permutation(len(train))
        losses = []
        for b in track(range(steps_per_epoch), f"epoch {epoch}", enabled=progress):
            batch = [train[i] for i in perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]]
            if len(batch) < 2:
                continue  # one question has no in-batch negative
            negatives = [kb.passage_text(n) for e in batch for n in e.negatives]
            q = embed([e.question for e in batch])
            pos = embed([kb.passage_text(e.passage_id) for e in batch])
            neg = embed(negatives) if negatives else None
            loss = compute_loss_from_embeddings(q, pos, neg, scale=cfg.scale)
            optim.zero_grad()
            loss.backward()
            optim.step()
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
            if cfg.max_minutes and time.perf_counter() - t_start > cfg.max_minutes * 60:
                out_of_time = True
                break
        model.eval()
        mrr = passage_mrr(model, kb, val, _encode_passages(model, kb))
        history.append({"epoch": epoch, "val_mrr": mrr, "loss": float(np.mean(losses)) if losses else None,
                        "steps": step})
        log(f"[retriever] epoch {epoch}: loss {history[-1]['loss']}, validation MRR@100 {mrr:.3f}")
        if mrr > best[0]:
            best = (mrr, epoch)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if out_of_time:
            log(f"[retriever] time budget of {cfg.max_minutes} min reached")
            break
    model.load_state_dict(best_state)
    summary = {"config": json.loads(cfg.model_dump_json()), "history": history, "best_epoch": best[1],
               "best_val_mrr": best[0], "train_questions": len(train), "val_questions": len(val),
               "wall_s": round(time.perf_counter() - t_start, 1),
               "examples": [e.__dict__ for e in train[:5]]}
    with atomic_dir(cfg.out) as tmp:
        model.save(str(tmp))
        (tmp / "kvqae_retriever.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary

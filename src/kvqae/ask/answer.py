"""Answer one visual question with a bundle: encode -> search every mode -> fuse -> read, with evidence.

The steps are the batch pipeline's own functions applied to a single query: the encoders' `encode_images`
/ `encode_texts` (text role "query", as `encode_questions`), `search_store` (as `search_embeddings`),
`entity_run_to_passages` with one `PassageTable`, `fuse` with the bundle's fitted weights, and
`read_and_rank` (as `read_questions`). The only difference: under the "zscore" norm a single question is
normalised with the statistics each run had on the fit split (recorded in the bundle), because one
question has no run-wide statistics of its own.

Modes whose query is an image are skipped when no image is given; the fusion then uses the remaining
runs' weights, rescaled to sum to 1 (equal weights when they are all 0), and says so in `fusion_note`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kvqae.ask.bundle import Bundle, load_bundle
from kvqae.ask.caveats import caveats, other_subject_note, photo_note, pointed_subject, weak_match_note
from kvqae.errors import InputError
from kvqae.io import check_not_replaced, check_question_chars, shows_text
from kvqae.read.rule_record import rule_record
from kvqae.read.settings import RULE_SAYS

if TYPE_CHECKING:
    from PIL import Image

MAX_QUESTION_CHARS = 1000
QUERY_ID = "question"
SHOWN = 5  # items listed per mode and for the fused ranking


@dataclass
class Hit:
    """One retrieved item as shown to a person: rank, id (entity or passage), its entity and title."""

    rank: int
    id: str
    entity_id: str
    title: str
    score: float
    has_image: bool
    text: str | None = None  # the passage's text, for the read passages (the evidence a person checks)

    def to_dict(self, image_url: Any = None) -> dict[str, Any]:
        url = image_url(self.entity_id) if image_url and self.has_image else None
        out = {"rank": self.rank, "id": self.id, "entity_id": self.entity_id, "title": self.title,
               "score": self.score, "image_url": url, "text": self.text}
        return out


@dataclass
class AskResult:
    """Everything `kvqae ask` prints and `POST /api/ask` returns."""

    question: str
    answer: str
    score: float | None
    probability: float | None
    entity_id: str | None
    entity_title: str | None
    passage_id: str | None
    passage_text: str | None
    start: int
    end: int
    modes: dict[str, list[Hit]]
    levels: dict[str, str]
    skipped: dict[str, str]
    fused: list[Hit]
    fusion: dict[str, Any]
    timings_ms: dict[str, float]
    entity_has_image: bool = False
    fused_ids: list[str] = field(default_factory=list)  # every fused passage id, best first
    # the read passages in the reader's order (kvqae.rerank.reader); empty without a reader or its weight 0
    read: list[Hit] = field(default_factory=list)
    # the evidence ranking's probability of the answer (`Prediction.confidence`); None without it
    confidence: float | None = None
    # an answer rule (a lifespan date, an attribute, a relative, ...) chose the answer (`Prediction.by_rule`)
    by_rule: bool = False
    rule: str | None = None  # which rule (`Prediction.rule`: its setting's name, "family")
    # what the asker should know before trusting the answer (`kvqae.ask.caveats`): "this man" and no photo
    notes: list[str] = field(default_factory=list)

    def rule_track_record(self) -> dict[str, Any] | None:
        """The track record of the rule that chose the answer (`kvqae.read.rule_record`), None otherwise."""
        record = rule_record(self.rule) if self.by_rule and self.answer else None
        return None if record is None else record.to_dict()

    def to_dict(self, image_url: Any = None) -> dict[str, Any]:
        """JSON-ready dict; `image_url(entity_id) -> str` fills the thumbnails' addresses (serve)."""
        entity = None
        if self.entity_id is not None:
            url = image_url(self.entity_id) if image_url and self.entity_has_image else None
            entity = {"id": self.entity_id, "title": self.entity_title, "image_url": url}
        passage = None
        if self.passage_id is not None:
            passage = {"id": self.passage_id, "entity_id": self.entity_id, "title": self.entity_title,
                       "text": self.passage_text, "start": self.start, "end": self.end}
        return {
            "question": self.question,
            "answer": self.answer,
            "score": self.score,
            "probability": self.probability,
            "confidence": self.confidence,
            "by_rule": self.by_rule,
            "rule": self.rule,
            "rule_says": RULE_SAYS.get(self.rule) if self.rule else None,
            "rule_record": self.rule_track_record(),
            "notes": list(self.notes),
            "entity": entity,
            "passage": passage,
            "modes": {m: [h.to_dict(image_url) for h in hits] for m, hits in self.modes.items()},
            "levels": self.levels,
            "skipped": self.skipped,
            "fused": [h.to_dict(image_url) for h in self.fused],
            "read": [h.to_dict(image_url) for h in self.read],
            "fusion": self.fusion,
            "timings_ms": self.timings_ms,
        }


# invisible format characters a copy-paste or an editor leaves inside words: zero-width space and no-break,
# word joiner, byte-order mark, soft hyphen, direction marks (not the joiners U+200C / U+200D, which
# scripts such as Persian and emoji sequences need)
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u2060\ufeff\u00ad\u200e\u200f\u180e"))


def plain_text(text: str) -> str:
    """`text` as the models read it: compatibility forms folded (NFKC: full-width "Ａｌｇｅｒｉａ" from an
    input method -> "Algeria", "Ⅻ" -> "XII", "ﬁ" -> "fi") and invisible format characters removed
    ("w\u200brote" -> "wrote"). Either had changed the answer: a word the tokenizer no longer knew."""
    import unicodedata

    return unicodedata.normalize("NFKC", text).translate(_INVISIBLE)


def check_question(question: Any) -> str:
    """The question text stripped and made plain (`plain_text`); InputError when empty (nothing but
    spaces, control or invisible format characters such as NUL or a zero-width space), holding a control
    character other than tab, line feed and carriage return (`check_question_chars`), holding U+FFFD
    (`check_not_replaced`), holding no letter or digit in any script, or longer than MAX_QUESTION_CHARS."""
    if not isinstance(question, str) or not shows_text(question):
        raise InputError("the question is empty", field="question")
    check_question_chars(question, "question")
    check_not_replaced(question, "question")
    if not any(ch.isalnum() for ch in question):  # "?!?", "🦉 ❓": retrieval would still rank something
        raise InputError("the question holds no words (no letter or digit)", field="question")
    question = plain_text(question).strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise InputError(
            f"the question has {len(question)} characters, more than the {MAX_QUESTION_CHARS} allowed",
            field="question",
        )
    return question


def check_top_k(top_k: int, bundle: Bundle, field: str) -> None:
    """Refuse a number of passages to read that `bundle` cannot honour (`field` names the option or form
    field in the error): under 1, over the k passages retrieval keeps, or for a bundle without a reader."""
    if top_k < 1:
        raise InputError("must be >= 1", field=field)
    if top_k > bundle.k:  # it said "the 1000000000 read passages" and read the k retrieval keeps
        raise InputError(f"{top_k} is more than the {bundle.k} passages retrieval keeps (the "
                         f"bundle's k); give at most {bundle.k}", field=field)
    if bundle.reader is None:  # it was accepted and changed nothing
        raise InputError("this bundle has no reader, so nothing reads the top passages: drop it", field=field)


def fusion_weights_for(
    weights: dict[str, float], ran: list[str], skipped: list[str]
) -> tuple[list[float], str | None]:
    """Weights of the runs that ran (in `ran` order) and a note when some were skipped.

    The fitted weights of the remaining runs are rescaled to sum to 1; when they are all 0 (the fit gave
    everything to skipped modes) the remaining runs get equal weights.
    """
    kept = [float(weights.get(n, 0.0)) for n in ran]
    if not skipped:
        return kept, None
    total = sum(kept)
    fitted = ", ".join(f"{n} {weights.get(n, 0.0):g}" for n in [*ran, *skipped])
    if total > 0:
        out = [w / total for w in kept]
        how = "their fitted weights rescaled to sum to 1"
    else:
        out = [1.0 / len(ran)] * len(ran)
        how = "equal weights (their fitted weights are all 0)"
    note = (
        f"{', '.join(skipped)} skipped (no image); fused {', '.join(ran)} with {how}: "
        + ", ".join(f"{n} {w:.3g}" for n, w in zip(ran, out, strict=True))
        + f" (fitted: {fitted})"
    )
    return out, note


class Answerer:
    """A loaded bundle: KB, passage table, indexes, encoders (one per spec) and reader, loaded once.

    `ask` is safe to call from several threads: model calls run under one lock (`self.lock`), because on a
    small CPU machine a single forward pass already uses every core, so concurrent forwards only contend,
    and the Faiss indexes and tokenizers are shared objects not documented as thread-safe.
    """

    def __init__(
        self,
        bundle: Bundle,
        *,
        device: str = "cpu",
        root: str | Path | None = None,
        top_k: int | None = None,
    ) -> None:
        """Load everything `bundle` names; `top_k` overrides the number of passages the reader reads."""
        from kvqae.data.kb import KnowledgeBase
        from kvqae.encode.registry import load_encoder, model_fingerprint
        from kvqae.index.bm25_index import BM25_SPEC, Bm25Index
        from kvqae.index.faiss_index import VectorIndex
        from kvqae.search.modes import get_mode
        from kvqae.search.passages import PassageTable

        if top_k is not None:  # `--top-k` of `ask` and `serve`
            check_top_k(top_k, bundle, "--top-k")
            assert bundle.reader is not None  # checked
            reader = bundle.reader.model_copy(update={"top_k": top_k})
            bundle = bundle.model_copy(update={"reader": reader})
        self.bundle = bundle
        self.root = Path(root) if root is not None else None
        self.kb = KnowledgeBase.load(bundle.kb)
        self.table = PassageTable.from_kb(self.kb)
        self.lock = threading.Lock()
        encoders: dict[str, Any] = {}
        self.entries = []
        for entry in bundle.retrieval:
            if entry.encoder == BM25_SPEC:  # lexical index: searched with the question text itself
                lexical = Bm25Index.load(entry.index)
                self._check_index_ids(entry.index, lexical.ids, get_mode(entry.mode).level, lexical.meta)
                self.entries.append((entry, get_mode(entry.mode), lexical, None))
                continue
            load_spec = bundle.encoder_load_spec(entry)
            if load_spec not in encoders:
                encoders[load_spec] = load_encoder(load_spec, device=device)
                encoders[load_spec].spec = entry.encoder  # the spec the index recorded
            index = VectorIndex.load(entry.index)
            # the model files as they are now: retrained in place after `kvqae run`, its queries would
            # search the old model's vectors
            index.check_query(entry.encoder, encoders[load_spec].dim, model_fingerprint(load_spec))
            self._check_index_ids(entry.index, index.ids, get_mode(entry.mode).level, index.meta)
            self.entries.append((entry, get_mode(entry.mode), index, encoders[load_spec]))
        self.reader = None
        if bundle.reader is not None:
            from kvqae.read.model import Reader
            from kvqae.safety import check_reader_dir

            # a retriever's folder got a new, random span head and answered with confidence
            check_reader_dir(bundle.reader.model, "reader.model")
            self.reader = Reader.load(bundle.reader.model, device=device)

    def _check_index_ids(self, index_dir: str | Path, ids: Any, level: str, meta: dict[str, Any]) -> None:
        """Every row of an index is an entity (entity-level mode) or passage of the bundle's KB: an index
        built from another KB was a KeyError traceback (an HTTP 500) at the first question that retrieved the
        stranger, not an error when the bundle loads. A passage index records its KB's passage digest
        (`kvqae.data.provenance`): one of another build of the KB, whose ids all exist but name other
        passages, is refused too."""
        from kvqae.data.provenance import KB_KEY, checked_digest, kb_digest

        made, here = checked_digest(meta, KB_KEY, Path(index_dir) / "meta.json"), kb_digest(self.kb)
        if level == "passage" and made and here and made != here:
            raise InputError(
                f"the index was built over another build of the KB than the bundle's ({self.kb.path}: "
                f"passages {made[:12]} vs {here[:12]}); its passage ids name other passages there: rebuild "
                "it (kvqae run) or point the bundle at its KB", path=index_dir)
        known = self.kb.has_passage if level == "passage" else self.kb.has_entity
        for row, item in enumerate(ids):
            if not known(item):
                raise InputError(
                    f"{level} id {str(item)!r} (row {row}) is not in the bundle's KB ({self.kb.path}): the "
                    "index was built from another KB; rebuild it (kvqae run) or point the bundle at its KB",
                    path=index_dir,
                )

    @classmethod
    def load(cls, folder: str | Path, *, device: str = "cpu", top_k: int | None = None) -> Answerer:
        """Load the bundle in `folder` (the output folder of `kvqae run` / `kvqae demo`)."""
        from kvqae.safety import check_device

        check_device(device)
        return cls(load_bundle(folder), device=device, root=folder, top_k=top_k)

    def warm_up(self) -> None:
        """Answer one throw-away question (with a small grey image when a mode needs one), so the first
        real request does not pay for lazy initialisation (thread pools, first-call allocations)."""
        from PIL import Image

        image = Image.new("RGB", (224, 224), (128, 128, 128)) if self.image_modes else None
        self.ask("What is this?", image)

    @property
    def mode_names(self) -> list[str]:
        return [e.name for e, *_ in self.entries]

    @property
    def image_modes(self) -> list[str]:
        return [e.name for e, m, *_ in self.entries if m.query_kind == "image"]

    def hit(self, rank: int, item_id: str, score: float, level: str) -> Hit:
        entity = item_id if level == "entity" else self.kb.entity_of(item_id)
        return Hit(rank, item_id, entity, self.kb.title_of(entity), float(score),
                   self.kb.image_of(entity) is not None)

    def ask(self, question: str, image: Image.Image | None = None, *, top_k: int | None = None) -> AskResult:
        """Answer `question` about `image` (a decoded PIL image, or None for a text-only question);
        `top_k`: the passages the reader reads for this question (default: the bundle's or `--top-k`)."""
        question = check_question(question)
        if top_k is not None:
            check_top_k(top_k, self.bundle, "top_k")
        with self.lock:
            return self._ask(question, image, top_k)

    def _ask(self, question: str, image: Image.Image | None, top_k: int | None = None) -> AskResult:
        import numpy as np

        from kvqae.search.modes import search_store
        from kvqae.search.passages import entity_run_to_passages

        if image is None and len(self.image_modes) == len(self.entries):
            raise InputError("every retrieval mode of this bundle needs an image: give one", field="image")
        timings: dict[str, float] = {}
        t_start = time.perf_counter()
        k = self.bundle.k
        vectors: dict[tuple[int, str], np.ndarray] = {}  # (encoder, query kind) -> vector, computed once
        modes: dict[str, list[Hit]] = {}
        levels: dict[str, str] = {}
        skipped: dict[str, str] = {}
        passage_runs = []
        for entry, mode, index, encoder in self.entries:
            levels[entry.name] = mode.level
            if mode.query_kind == "image" and image is None:
                skipped[entry.name] = "no image was given"
                continue
            if encoder is not None:  # dense: embed the query once per (encoder, kind); BM25 reads the text
                key = (id(encoder), mode.query_kind)
                if key not in vectors:
                    t0 = time.perf_counter()
                    if mode.query_kind == "image":
                        vectors[key] = encoder.encode_images([image])
                    else:
                        vectors[key] = encoder.encode_texts([question], role="query")
                    step = f"encode {mode.query_kind}"
                    timings[step] = timings.get(step, 0.0) + (time.perf_counter() - t0) * 1000
            t0 = time.perf_counter()
            if encoder is None:
                run = index.search_run([QUERY_ID], [question], k, name=entry.name)
            else:
                run = search_store(vectors[key], [QUERY_ID], index, k, entry.name, mode.level)
            modes[entry.name] = [
                self.hit(r, i, s, mode.level) for r, (i, s) in enumerate(run.ranked(QUERY_ID, SHOWN), 1)
            ]
            if mode.level == "entity":
                run = entity_run_to_passages(run, self.table, k, name=entry.name)
            passage_runs.append(run)
            timings[f"search {entry.name}"] = (time.perf_counter() - t0) * 1000
            if entry.entity_context:
                passage_runs.append(self._entity_context(run, modes, levels))
        t0 = time.perf_counter()
        read_run = self._read_run(passage_runs, skipped)
        if read_run is not None:  # the pipeline's reader read one run, not the fused one: so does `ask`
            fused, fusion = read_run, {"method": "none", "norm": "none", "weights": {read_run.name: 1.0},
                                       "note": f"the reader reads the {read_run.name} run, as the pipeline "
                                               "that made this bundle did", "rerank": None}
        else:
            fused, fusion = self._fuse(passage_runs, list(skipped))
        timings["fusion"] = (time.perf_counter() - t0) * 1000
        ranked = fused.ranked(QUERY_ID)
        if self.bundle.rerank is not None and ranked and read_run is None:
            t0 = time.perf_counter()
            ranked = self._rerank(question, ranked)
            fusion["rerank"] = self.bundle.rerank.model_dump()
            timings["rerank"] = (time.perf_counter() - t0) * 1000
        result = AskResult(
            question=question, answer="", score=None, probability=None, entity_id=None, entity_title=None,
            passage_id=None, passage_text=None, start=0, end=0, modes=modes, levels=levels, skipped=skipped,
            fused=[self.hit(r, i, s, "passage") for r, (i, s) in enumerate(ranked[:SHOWN], 1)],
            fusion=fusion, timings_ms=timings, fused_ids=[i for i, _ in ranked],
            notes=caveats(question, image_searched=image is not None and bool(self.image_modes),
                          image_modes=bool(self.image_modes), image_given=image is not None),
        )
        if image is not None and self.image_modes and (blank := photo_note(image)) is not None:
            result.notes.append(blank)
        read_ids = [i for i, _ in ranked[:SHOWN]]  # the passages the answer comes from, for weak_match_note
        if self.reader is not None and ranked:
            from kvqae.read.predict import article_lookup, read_and_rank

            top_k = top_k or self.bundle.reader.top_k
            t0 = time.perf_counter()
            # the retrieved top_k and those looked up in the first one's article (kvqae.read.lookup)
            looked_up = article_lookup(self.reader, self.kb, question, ranked[:top_k])
            pred, by_reader = read_and_rank(self.reader, self.kb, question, ranked, top_k,
                                            looked_up=looked_up)
            timings["read"] = (time.perf_counter() - t0) * 1000
            read_ids = [i for i, _ in ranked[:top_k]] + list(looked_up)
            weight = self.reader.settings.passage_weight
            if weight:  # the read passages as the reader orders them (kvqae.rerank.reader)
                # the passages read: a run holding fewer than top_k (a small KB) was "the 24 read passages"
                # above a list of 9
                n_retrieved = min(top_k, len(ranked))
                fusion["reader_rank"] = {"weight": weight, "top_k": n_retrieved, "looked_up": len(looked_up)}
                n_read = n_retrieved + len(looked_up)
                result.read = [replace(self.hit(r, i, s, "passage"), text=self.kb.passage_text(i))
                               for r, (i, s) in enumerate(by_reader[:n_read], 1)]
            if pred.passage_id is not None:
                result.answer, result.passage_id = pred.answer, pred.passage_id
                result.start, result.end = pred.start, pred.end
                result.score = float(pred.score) if np.isfinite(pred.score) else None
                result.probability = float(pred.probability)
                conf = pred.confidence
                result.confidence = float(conf) if conf is not None and np.isfinite(conf) else None
                result.by_rule = bool(getattr(pred, "by_rule", False))
                result.rule = getattr(pred, "rule", None) if result.by_rule else None
        # retrieved by the words alone: do the passages read (or, with no reader, the top fused ones) hold
        # them? (A searched photo finds the entity whatever the words; a pointed subject has its own note.)
        searched = image is not None and bool(self.image_modes)
        weak = False
        if not searched and not pointed_subject(question):
            note = weak_match_note(question, [self.kb.passage_text(i) for i in read_ids],
                                   answered=bool(result.answer))
            result.notes.extend([note] if note else [])
            weak = note is not None
        if result.passage_id is None and ranked:  # no reader: show the best fused passage as evidence
            result.passage_id = ranked[0][0]
        if result.passage_id is not None:
            result.passage_text = self.kb.passage_text(result.passage_id)
            result.entity_id = self.kb.entity_of(result.passage_id)
            result.entity_title = self.kb.title_of(result.entity_id)
            result.entity_has_image = self.kb.image_of(result.entity_id) is not None
            if result.answer and not weak:  # a question naming another entity than the answer's article
                lead = self.kb.passage_text(self.kb.passages_of(result.entity_id)[0])
                note = other_subject_note(question, result.entity_title, lead)
                result.notes.extend([note] if note else [])
        timings["total"] = (time.perf_counter() - t_start) * 1000
        return result

    def _rerank(self, question: str, ranked: list[tuple[str, float]]) -> list[tuple[str, float]]:
        """The fused ranking re-ranked by term proximity with the bundle's settings, best first."""
        from kvqae.read.words import word_stems
        from kvqae.rerank.proximity import rerank_query

        settings = self.bundle.rerank
        scores = rerank_query(ranked, question, self.kb.passage_text, weight=settings.weight,
                              words=settings.words, top_n=settings.top_n, stems=word_stems,
                              lead=settings.lead, is_lead=lambda pid: self.kb.position_of(pid) == 0,
                              agreement=settings.agreement, article_of=self.kb.entity_of)
        return sorted(scores.items(), key=lambda item: -item[1])

    def _entity_context(self, run: Any, modes: dict, levels: dict) -> Any:
        """The `<name>@entity` run of a passage run (shown as an entity ranking) -> its passage-level run."""
        from kvqae.search.passages import entity_context_run, passage_run_to_entities

        name = f"{run.name}@entity"
        entities = passage_run_to_entities(run, self.table, name=name)
        ranked = entities.ranked(QUERY_ID, SHOWN)
        modes[name] = [self.hit(r, i, s, "entity") for r, (i, s) in enumerate(ranked, 1)]
        levels[name] = "entity"
        return entity_context_run(run, None, self.table, self.bundle.k, name=name)

    def _read_run(self, runs: list, skipped: dict[str, str]) -> Any:
        """The run the bundle's reader reads when it is not the fused one (`BundleReader.run`), else None."""
        name = self.bundle.reader.run if self.bundle.reader is not None else None
        if name is None:
            return None
        by_name = {r.name: r for r in runs}
        if name not in by_name:  # an image mode's run (or its entity context) and no image
            raise InputError(f"this bundle's reader reads the {name} run, which needs an image: give one",
                             field="image")
        return by_name[name]

    def _fuse(self, runs: list, skipped: list[str]):
        """Fuse the passage runs that ran with the bundle's settings -> (Run, fusion description)."""
        from kvqae.fusion.core import fuse

        fusion = self.bundle.fusion
        names = [r.name for r in runs]
        if fusion is None or len(runs) == 1:
            note = None
            if fusion is not None and skipped:
                note = f"{', '.join(skipped)} skipped (no image); only {names[0]} ran, its ranking is used"
            return runs[0], {"method": "none", "norm": "none", "weights": {names[0]: 1.0}, "note": note,
                             "rerank": None}
        weights, note = fusion_weights_for(fusion.weights, names, skipped)
        stats = None
        if fusion.zscore_stats is not None and fusion.norm == "zscore":
            stats = [fusion.zscore_stats[n] for n in names]
        fused = fuse(runs, method=fusion.method, norm=fusion.norm, weights=weights,
                     default_minimum=fusion.default_minimum, rrf_k=fusion.rrf_k, k=self.bundle.k,
                     name="fusion", zscore_stats=stats)
        return fused, {"method": fusion.method, "norm": fusion.norm,
                       "weights": dict(zip(names, weights, strict=True)), "note": note, "rerank": None}

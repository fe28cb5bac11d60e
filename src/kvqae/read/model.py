"""The multi-passage extractive reader: an HF encoder with a start/end span head, read over K passages at
once.

A reader directory is what `save_pretrained` writes (config, weights, tokenizer) plus `kvqae_reader.json`
with the reader settings (`ReaderSettings`). Any BERT-like checkpoint (HF name or local path) can be
loaded: one that has no span head (e.g. the packaged all-MiniLM-L6-v2 encoder) gets a freshly initialised
head.

Inference for one question: the question is paired with each passage ([CLS] question [SEP] passage [SEP]);
long passages are cut into overlapping windows (`stride`), each window a row. Start and end logits of all
rows are normalised together (see `kvqae.read.decode`), the best span is mapped back to character offsets
in the original passage text through the tokenizer's offset mapping.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.errors import InputError
from kvqae.read.acronym import prefer_expansion
from kvqae.read.agent import prefer_agent
from kvqae.read.answer_types import (
    asked_dimension,
    asks_measure,
    asks_year,
    expected_kind,
    fits,
    has_dimension,
    has_unit,
    holds_year,
    with_unit,
)
from kvqae.read.attribute import prefer_attribute
from kvqae.read.award import prefer_award
from kvqae.read.birthname import prefer_birth_name
from kvqae.read.border import prefer_neighbour
from kvqae.read.colour import prefer_colour
from kvqae.read.edges import (
    complete_date,
    complete_name,
    drop_copula_clause,
    drop_quantity_tail,
    drop_trailing_function_words,
    whole_hyphenated,
    with_era,
    year_of_range,
)
from kvqae.read.education import prefer_school
from kvqae.read.eventdate import prefer_event_date
from kvqae.read.evidence import EvidenceSettings
from kvqae.read.family import prefer_relative
from kvqae.read.gap import prefer_gap
from kvqae.read.gloss import prefer_gloss
from kvqae.read.lifeplace import prefer_life_place
from kvqae.read.lifespan import avoid_life_dates, prefer_life_date
from kvqae.read.names import full_name
from kvqae.read.naming import prefer_naming
from kvqae.read.nationality import prefer_nationality
from kvqae.read.occupation import prefer_occupation
from kvqae.read.office import prefer_office
from kvqae.read.party import prefer_party
from kvqae.read.phrase import (
    NAME_HEAD_NOUNS,
    asked_common_nouns,
    asked_head,
    asked_nouns,
    drop_hedge,
    extend_to_asked_noun,
    holds_noun,
    names_with_noun,
    prefer_full_date,
    trim_to_phrase,
    year_of_date,
)
from kvqae.read.rank import prefer_rank
from kvqae.read.settings import SETTINGS_FILE, ReaderSettings, load_settings
from kvqae.read.subject import prefer_subject
from kvqae.read.teacher import prefer_teacher
from kvqae.read.words import content_stems, expand_contractions, whole_words

TYPED_CANDIDATES = 20  # spans decoded before the answer-type preference picks one


@dataclass
class PassageInput:
    """One retrieved passage given to the reader: id, text and (optional) raw retrieval score."""

    passage_id: str
    text: str
    retrieval_score: float = 0.0
    title: str | None = None  # the passage's entity title: an answer repeating it is ranked last
    # the passage's place in its article (0: the lead), when the KB tells: the answer rules look through an
    # article's passages in this order, where a biography states birth, family and work before later events
    position: int | None = None


@dataclass
class Prediction:
    """The reader's answer: text, passage id, char offsets [start, end) in that passage's text, and scores.

    `score` = span log-probability + retrieval_weight * retrieval log-probability; `probability` = exp(span
    log-probability) under the global normalisation (0 for an entity the reader did not propose).
    `confidence`: with the evidence ranking, the probability the ranking's conditional logit gives this
    answer among all candidates (the softmax of their evidence scores, summed over the candidates with the
    same normalised text: `kvqae.read.evidence.answer_confidence`); None without it or for an answer a rule
    put ahead of the ranking's (a birth date from the lead, a birth place after "born"); a bare year the
    ranking chose, written in full, keeps its confidence. Empty answer and passage id None when nothing was
    read.
    """

    answer: str
    passage_id: str | None
    score: float
    start: int
    end: int
    probability: float = 0.0
    confidence: float | None = None
    by_rule: bool = False  # an answer rule (a lifespan date, a life place, a nationality, an attribute, a
    # relative) put this answer first
    rule: str | None = None  # which: its setting's name ("family"; `RULE_SAYS` says what it reads)

    def to_json(self, qid: str) -> dict[str, Any]:
        return {
            "id": qid,
            "answer": self.answer,
            "passage_id": self.passage_id,
            "score": self.score,
            "start": self.start,
            "end": self.end,
            "confidence": self.confidence,
        }


@dataclass
class Reading:
    """What one reading gives: the best answers, best first, and each read passage's evidence (the best
    score of its candidate answers, NaN for a passage without any), in the given passage order."""

    predictions: list[Prediction]
    passage_evidence: np.ndarray


@dataclass
class Features:
    """Encoded rows for one question: model inputs plus what decoding and training need.

    `row_passage[r]` is the index (in the given passage list) of the passage row r comes from; `offsets[r,
    t]` the char offsets of token t in that passage's text (context tokens only).
    """

    inputs: dict[
        str, Any
    ]  # torch tensors: input_ids, attention_mask, token_type_ids (when the model has them)
    context_mask: np.ndarray  # (rows, length) bool
    offsets: np.ndarray  # (rows, length, 2) int
    row_passage: np.ndarray  # (rows,) int
    start_targets: np.ndarray | None = None  # (rows, length) bool, training only
    end_targets: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return int(self.context_mask.shape[0])


class Reader:
    """Tokenizer + span model + settings. Build with `Reader.load(name_or_path)`."""

    def __init__(
        self, model: Any, tokenizer: Any, settings: ReaderSettings | None = None, device: str = "cpu"
    ):
        self.model = model
        self.tokenizer = tokenizer
        self.settings = settings or ReaderSettings()
        self.device = device
        self._entities: Any = None  # SpacyEntities, loaded on the first read that needs it
        self._tags: Any = None  # kvqae.read.gap.SpacyTags, loaded when the gap rule first needs it
        if not getattr(tokenizer, "is_fast", False):
            raise InputError("the reader needs a fast tokenizer (offset mappings)", field="tokenizer")

    # ------------------------------------------------------------------ loading and saving
    @classmethod
    def load(
        cls,
        name_or_path: str | Path,
        *,
        device: str = "cpu",
        settings: ReaderSettings | None = None,
        quiet: bool = True,
    ) -> Reader:
        """Load a reader (or any BERT-like encoder, whose span head is then newly initialised).

        `settings` overrides the saved `kvqae_reader.json` (defaults when absent).
        """
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer
        from transformers.utils import logging as hf_logging

        path = Path(str(name_or_path))
        if settings is None:
            settings = load_settings(path) if path.is_dir() else ReaderSettings()
        verbosity = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        if quiet:  # the "newly initialised head" load report is expected when starting from an encoder
            hf_logging.set_verbosity_error()
            hf_logging.disable_progress_bar()
        from safetensors import SafetensorError

        from kvqae.safety import check_tokenizer_size

        try:
            tokenizer = AutoTokenizer.from_pretrained(str(name_or_path))
            model = AutoModelForQuestionAnswering.from_pretrained(str(name_or_path))
        except OSError as e:
            raise InputError(f"cannot load reader model: {e}", path=str(name_or_path)) from None
        except ValueError as e:  # "Unrecognized configuration class CLIPConfig ..." (a CLIP given as reader)
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise InputError(f"not a reader model (an encoder with a question-answering head): {first[:160]}",
                             path=str(name_or_path)) from None
        except SafetensorError as e:  # a truncated or corrupt weights file: a traceback in ask and serve
            first = (str(e).strip().splitlines() or ["corrupt file"])[0]
            raise InputError(f"unreadable model weights ({first[:160]})", path=str(name_or_path)) from None
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()
        check_tokenizer_size(len(tokenizer), model.config.vocab_size, path)
        model.to(device)
        model.eval()
        return cls(model, tokenizer, settings, device)

    def save(self, out_dir: str | Path, *, extra: dict[str, Any] | None = None) -> Path:
        """Write model, tokenizer and `kvqae_reader.json` (settings + `extra`) into `out_dir` (made if
        needed).
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        from transformers.utils import logging as hf_logging

        was_enabled = hf_logging.is_progress_bar_enabled()
        hf_logging.disable_progress_bar()  # per-shard bars would flood training logs
        try:
            self.model.save_pretrained(str(out))
        finally:
            if was_enabled:
                hf_logging.enable_progress_bar()
        self.tokenizer.save_pretrained(str(out))
        payload = {"settings": self.settings.model_dump(), **(extra or {})}
        (out / SETTINGS_FILE).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        return out

    # ------------------------------------------------------------------ encoding
    def _cut_question(self, question: str) -> str:
        """The question cut to `max_question_tokens`, and shorter when a row would leave its passage no more
        than the stride (the tokenizer panics on that, e.g. a 61-token question under max_length 96, stride
        32); settings that leave no room for any question are an InputError."""
        s = self.settings
        room = s.max_length - self.tokenizer.num_special_tokens_to_add(pair=True) - s.stride - 1
        if room < 1:
            raise InputError(
                f"reader settings max_length {s.max_length} leave no room for a question next to a passage "
                f"window longer than the stride {s.stride}: raise max_length or lower stride",
                field="max_length",
            )
        limit = min(s.max_question_tokens, room)
        # truncated one past the limit: enough to tell whether to cut, without the tokenizer's warning that a
        # long question "will result in indexing errors" (it is cut here)
        enc = self.tokenizer(question, add_special_tokens=False, return_offsets_mapping=True, truncation=True,
                             max_length=limit + 1)
        offs = enc["offset_mapping"]
        if len(offs) <= limit:
            return question
        return question[: offs[limit - 1][1]]

    def featurize(
        self, question: str, passages: list[str], gold_spans: list[list[tuple[int, int]]] | None = None
    ) -> Features:
        """Encode one question against each passage (windows for long ones) into rows.

        `gold_spans[i]`: char spans [start, end) of answers in passage i (training); a span inside a row's
        window marks its first/last token in `start_targets`/`end_targets`.
        """
        import torch

        if not passages:
            raise ValueError("featurize needs at least one passage")
        s = self.settings
        q = self._cut_question(question)
        enc = self.tokenizer(
            [q] * len(passages),
            [p if p.strip() else "." for p in passages],
            truncation="only_second",
            max_length=s.max_length,
            stride=s.stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
        )
        rows = len(enc["input_ids"])
        length = len(enc["input_ids"][0])
        context = np.zeros((rows, length), dtype=bool)
        offsets = np.zeros((rows, length, 2), dtype=np.int64)
        for r in range(rows):
            seq = enc.sequence_ids(r)
            for t, (sid, (a, b)) in enumerate(zip(seq, enc["offset_mapping"][r], strict=True)):
                if sid == 1 and b > a:
                    context[r, t] = True
                    offsets[r, t] = (a, b)
        row_passage = np.asarray(enc["overflow_to_sample_mapping"], dtype=np.int64)
        names = ["input_ids", "attention_mask"]
        if "token_type_ids" in enc and getattr(self.model.config, "type_vocab_size", 0) > 1:
            names.append("token_type_ids")
        inputs = {n: torch.tensor(enc[n], dtype=torch.long) for n in names}
        feats = Features(inputs, context, offsets, row_passage)
        if gold_spans is not None:
            feats.start_targets, feats.end_targets = _span_targets(context, offsets, row_passage, gold_spans)
        if s.windows_per_passage is not None:
            overlap = _question_overlap(feats, passages, content_stems(q))
            feats = _keep_rows(feats, _best_windows(feats, overlap, s.windows_per_passage))
        return feats

    # ------------------------------------------------------------------ scoring
    def logits(self, feats: Features, *, batch_rows: int = 32, grad: bool = False) -> tuple[Any, Any]:
        """Start and end logits (rows, length) as torch tensors; runs the model in chunks of `batch_rows`."""
        import torch

        starts, ends = [], []
        ctx = torch.enable_grad() if grad else torch.inference_mode()
        with ctx:
            for i in range(0, feats.num_rows, batch_rows):
                chunk = {k: v[i : i + batch_rows].to(self.device) for k, v in feats.inputs.items()}
                out = self.model(**chunk)
                starts.append(out.start_logits)
                ends.append(out.end_logits)
        return torch.cat(starts).float(), torch.cat(ends).float()

    def predict(
        self, question: str, passages: list[PassageInput], *, top_n: int = 1, batch_rows: int = 32
    ) -> list[Prediction]:
        """Read `passages` for `question`; the `top_n` best answers, best first (one empty answer if none)."""
        return self.read(question, passages, top_n=top_n, batch_rows=batch_rows).predictions

    def read(
        self, question: str, passages: list[PassageInput], *, top_n: int = 1, batch_rows: int = 32
    ) -> Reading:
        """`predict`'s answers plus each passage's evidence: the best score of its candidate answers."""
        if not passages:
            return Reading([Prediction("", None, float("-inf"), 0, 0, 0.0)], np.zeros(0))
        question = expand_contractions(question)  # the rules and the answer kinds read "What is"
        feats = self.featurize(question, [p.text for p in passages])
        start, end = self.logits(feats, batch_rows=batch_rows)
        kind = expected_kind(question) if self.settings.answer_type_filter else None
        return self._decode(feats, start.cpu().numpy(), end.cpu().numpy(), passages, top_n=top_n, kind=kind,
                            question=question if self.settings.answer_type_filter else None)

    def _ner(self) -> Any:
        """The `entities_of` callable: spaCy's NER (`SpacyEntities`), loaded on first use."""
        if self._entities is None:
            from kvqae.read.answer_choice import SpacyEntities

            self._entities = SpacyEntities.load()
        return self._entities

    def tags_of(self, text: str) -> Any:
        """spaCy's parts of speech `(start, end, pos)` of `text` (the tagger is loaded on first use)."""
        if self._tags is None:
            from kvqae.read.gap import SpacyTags

            self._tags = SpacyTags.load()
        return self._tags(text)

    def entities_of(self, text: str) -> Any:
        """spaCy entities `(start, end, label)` of `text` (the NER model is loaded on first use)."""
        return self._ner()(text)

    def prefetch_entities(self, texts: list[str]) -> None:
        """Run the NER on all `texts` in one batch now (what `entities_of` then returns from its cache)."""
        prefetch = getattr(self._ner(), "prefetch", None)
        if prefetch is not None:
            prefetch(texts)

    def decode(
        self,
        feats: Features,
        start_logits: np.ndarray,
        end_logits: np.ndarray,
        passages: list[PassageInput],
        *,
        top_n: int = 1,
        kind: str | None = None,
        question: str | None = None,
    ) -> list[Prediction]:
        """Turn logits of `feats` into predictions with passage ids and char offsets in the original texts.

        `kind` ("time", "number", "name"; `kvqae.read.answer_types`): spans that fit it come first, best
        score first; the others follow (so the best span is still returned when none fits). With the
        `question`, the best TYPED_CANDIDATES spans are snapped and ranked by `kvqae.read.answer_choice`
        (entity of the asked-for label first, echoes of the question or title last), then, with
        `settings.evidence`, re-ranked with every entity of an asked-for label in the passages by
        `kvqae.read.evidence` (span score + evidence near the candidate). `score`/`probability` stay the
        reader's (an unproposed entity takes those of the best proposed span it overlaps, else the lowest
        proposed score - 1 and probability 0).
        """
        return self._decode(feats, start_logits, end_logits, passages, top_n=top_n, kind=kind,
                            question=question).predictions

    def _decode(
        self,
        feats: Features,
        start_logits: np.ndarray,
        end_logits: np.ndarray,
        passages: list[PassageInput],
        *,
        top_n: int,
        kind: str | None,
        question: str | None,
    ) -> Reading:
        """`decode`, keeping each passage's evidence: the best evidence score of its candidates (with
        `settings.evidence`), else the best span score; NaN for a passage without candidates."""
        from kvqae.read.evidence import answer_confidence

        evidence_by_passage = np.full(len(passages), np.nan)
        if not feats.context_mask.any():
            return Reading([Prediction("", None, float("-inf"), 0, 0, 0.0)], evidence_by_passage)
        n = top_n * 3 if kind is None and question is None else max(top_n * 3, TYPED_CANDIDATES)
        cands = self._proposals(feats, start_logits, end_logits, passages, n)
        texts = [p.text for p in passages]
        scored_pairs = [(c.passage, c.score) for c in cands]
        confidence: dict[tuple[int, int, int] | None, float | None] = {}
        if question is not None:
            evidence = self.settings.evidence
            cands, labels = self._choose(cands, passages, question, kind, all_entities=evidence is not None)
            if evidence is not None:
                scored = self._features(cands, passages, question, labels, evidence)
                # an answer of the asked kind first, as without evidence: a date never answers "who"
                # while a name of the asked kind is there; the others follow (and count) only when none is
                pool, rest = _split_by_kind(scored, texts, kind, measure=asks_measure(question),
                                            year=asks_year(question), dimension=asked_dimension(question))
                weights = evidence.weights()
                scored_pairs = [(f.candidate.passage, float(np.dot(f.values, weights))) for f in pool]
                confidence = answer_confidence(pool, texts, weights)
                lead = [p.title for p in passages] if self.settings.first_article_answers else None
                nouns = asked_common_nouns(question) & NAME_HEAD_NOUNS if kind == "name" else frozenset()
                held, other = _split_by_noun(pool, texts, nouns)
                cands = (_rank_by_article(held, evidence, lead) + _rank_by_article(other, evidence, lead)
                         + _rank_by_article(rest, evidence, lead))
        elif kind is not None:  # stable: fitting spans first, each group still best score first
            cands.sort(key=lambda c: not fits(texts[c.passage][c.start : c.end], kind))
        for i, value in scored_pairs:
            if not value <= evidence_by_passage[i]:  # also replaces NaN
                evidence_by_passage[i] = value
        if self.settings.life_dates and question is not None:
            cands = avoid_life_dates(cands, texts, [p.title for p in passages], question)
        ranked_first = _span_key(cands)
        if self.settings.phrase_spans and question is not None:
            cands = prefer_full_date(cands, texts, question)
            if confidence and _span_key(cands) != ranked_first:  # the ranked answer's date, written in full
                confidence[_span_key(cands)] = confidence.get(ranked_first)
        dated_first = _span_key(cands)
        rule = None
        if question is not None:
            cands, rule = self._answer_rules(cands, texts, [p.title for p in passages], question,
                                             [p.position for p in passages])
        if confidence and _span_key(cands) != dated_first:
            # a rule's answer (a lifespan date, a birth place), not the ranking's: it gave it no probability
            confidence[_span_key(cands)] = None
        predictions = [replace(self._prediction(c, passages, question),
                               confidence=confidence.get((c.passage, c.start, c.end))) for c in cands[:top_n]]
        if predictions and predictions[0].by_rule:
            predictions[0] = replace(predictions[0], rule=rule)
        return Reading(predictions or [Prediction("", None, float("-inf"), 0, 0, 0.0)], evidence_by_passage)

    def _answer_rules(
        self, cands: list[Any], texts: list[str], titles: list[str | None], question: str,
        positions: list[int | None] | None = None,
    ) -> tuple[list[Any], str | None]:
        """`cands` after the answer rules the settings turn on, and the name of the rule (its setting, a key
        of `settings.RULE_SAYS`) that put the first one first, None when none did. In this order (each puts
        the span it finds in the first read article first, looking through that article's read passages in
        article order when `positions` tells it; `kvqae.read.gap` and `subject` (first: the rules for a
        kind of fact after them say more), `lifespan`, `eventdate`, `lifeplace`, `birthname`,
        `nationality`, `occupation`, `education`, `award`, `party`, `attribute`, `office`, `border`,
        `naming`, `colour`, `gloss`, `acronym`, `rank`, `family`, `teacher`,
        `agent`)."""
        ner = self.entities_of
        at = positions if self.settings.rules_in_article_order else None
        rules = (
            ("gaps", lambda c: prefer_gap(c, texts, titles, question, at, self.tags_of)),
            ("subjects", lambda c: prefer_subject(c, texts, titles, question, at, self.tags_of)),
            ("life_dates", lambda c: prefer_life_date(c, texts, titles, question)),
            ("event_dates", lambda c: prefer_event_date(c, texts, titles, question, at)),
            ("life_places", lambda c: prefer_life_place(c, texts, titles, question, ner, at)),
            ("birth_names", lambda c: prefer_birth_name(c, texts, titles, question, ner, at)),
            ("nationality", lambda c: prefer_nationality(c, texts, titles, question, ner, at)),
            ("occupations", lambda c: prefer_occupation(c, texts, titles, question, ner, at)),
            ("education", lambda c: prefer_school(c, texts, titles, question, at)),
            ("awards", lambda c: prefer_award(c, texts, titles, question, at)),
            ("parties", lambda c: prefer_party(c, texts, titles, question, at)),
            ("attributes", lambda c: prefer_attribute(c, texts, titles, question, at)),
            ("offices", lambda c: prefer_office(c, texts, titles, question, at)),
            ("borders", lambda c: prefer_neighbour(c, texts, titles, question, at)),
            ("naming", lambda c: prefer_naming(c, texts, titles, question, at)),
            ("colours", lambda c: prefer_colour(c, texts, titles, question)),
            ("glosses", lambda c: prefer_gloss(c, texts, titles, question, at)),
            ("abbreviations", lambda c: prefer_expansion(c, texts, titles, question, at)),
            ("ranks", lambda c: prefer_rank(c, texts, titles, question)),
            ("family", lambda c: prefer_relative(c, texts, titles, question, ner, at)),
            ("teachers", lambda c: prefer_teacher(c, texts, titles, question, at)),
            ("agents", lambda c: prefer_agent(c, texts, titles, question, ner, at)),
        )
        chosen = None
        for name, rule in rules:
            if getattr(self.settings, name):
                before = (_span_key(cands), bool(cands) and cands[0].rule)
                cands = rule(cands)
                if cands and cands[0].rule and (_span_key(cands), True) != before:
                    chosen = name  # this rule put (or confirmed) the first answer
        return cands, chosen

    def _prediction(self, c: Any, passages: list[PassageInput], question: str | None) -> Prediction:
        """Candidate `c` as a prediction; with `settings.phrase_spans` its span ends where its phrase ends
        and takes in the noun the question asks for ("which battle" -> "Battle of Shiloh"); with
        `settings.full_names` a part of a name becomes the name ("Bemer" -> "Bob Bemer", maybe from another
        read passage of the article)."""
        i, a, b = c.passage, c.start, c.end
        if self.settings.phrase_spans:
            a, b = trim_to_phrase(passages[i].text, a, b)
        if self.settings.full_names and question is not None and not c.rule:  # a rule found the answer whole
            i, a, b = full_name(i, a, b, [p.text for p in passages], [p.title for p in passages],
                                self.entities_of)
        text = passages[i].text
        if self.settings.answer_edges and question is not None:
            a, b = whole_hyphenated(text, a, b)
            a, b = drop_copula_clause(text, a, b)
            a, b = complete_date(text, a, b, question)
            a, b = with_era(text, a, b, question)
            a, b = year_of_range(text, a, b, question)
            a, b = drop_quantity_tail(text, a, b, question)
            if not c.rule:  # an answer rule's name is whole
                a, b = complete_name(text, a, b, question)
        if self.settings.phrase_spans and question is not None:
            a, b = extend_to_asked_noun(text, a, b, asked_nouns(question), asked_head(question))
            a, b = year_of_date(text, a, b, question)
            a, b = drop_hedge(text, a, b, question)
            if asks_measure(question):  # a measure with its unit: "468 km2", not "468"
                b = with_unit(text, a, b)
        if self.settings.answer_edges and question is not None:
            a, b = drop_trailing_function_words(text, a, b)
        return Prediction(text[a:b], passages[i].passage_id, c.score, a, b, c.probability, by_rule=c.rule)

    def evidence_table(self, question: str, passages: list[PassageInput]) -> list[Any]:
        """Read `passages` and return the candidate answers `decode` ranks with its evidence features - those
        of the asked kind when there are any - (`kvqae.read.evidence.CandidateFeatures`, before ranking):
        what `kvqae read-fit` fits weights on."""
        from kvqae.read.evidence import EvidenceSettings

        if not passages:
            return []
        question = expand_contractions(question)
        feats = self.featurize(question, [p.text for p in passages])
        if not feats.context_mask.any():
            return []
        start, end = self.logits(feats)
        cands = self._proposals(feats, start.cpu().numpy(), end.cpu().numpy(), passages, TYPED_CANDIDATES)
        kind = expected_kind(question) if self.settings.answer_type_filter else None
        cands, labels = self._choose(cands, passages, question, kind, all_entities=True)
        evidence = self.settings.evidence or EvidenceSettings()
        scored = self._features(cands, passages, question, labels, evidence, all_others=True)
        # the ones `decode` ranks first
        return _split_by_kind(scored, [p.text for p in passages], kind, measure=asks_measure(question),
                              year=asks_year(question), dimension=asked_dimension(question))[0]

    def _choose(
        self, cands: list[Any], passages: list[PassageInput], question: str, kind: str | None, *,
        all_entities: bool,
    ) -> tuple[list[Any], frozenset[str] | None]:
        """`kvqae.read.answer_choice.choose` over the proposals, and the asked-for labels. `all_entities`:
        run the NER on every passage now, in one batch (the evidence ranking's candidates need them all)."""
        from kvqae.read.answer_choice import choose
        from kvqae.read.answer_types import expected_labels

        labels = expected_labels(question) if self.settings.entity_spans else None
        texts = [p.text for p in passages]
        if labels and all_entities:
            self.prefetch_entities(texts)
        chosen = choose(cands, texts, [p.title for p in passages], question, kind=kind, labels=labels,
                        entities_of=self.entities_of if labels else None)
        return chosen, labels

    def _proposals(
        self, feats: Features, start_logits: np.ndarray, end_logits: np.ndarray, passages: list[PassageInput],
        n: int,
    ) -> list[Any]:
        """The best `n` spans as `Candidate`s (char offsets widened to whole words, duplicates dropped)."""
        from kvqae.read.answer_choice import Candidate
        from kvqae.read.decode import decode_spans, retrieval_log_probs

        bias = None
        if self.settings.retrieval_weight:
            rlp = retrieval_log_probs(np.array([p.retrieval_score for p in passages]))
            bias = self.settings.retrieval_weight * rlp[feats.row_passage]
        # Ask for extra candidates: windows overlap, so the same passage span can come from two rows.
        spans = decode_spans(start_logits, end_logits, feats.context_mask,
                             max_answer_tokens=self.settings.max_answer_tokens, top_n=n, row_bias=bias)
        cands: list[Candidate] = []
        seen: set[tuple[int, int, int]] = set()
        for sp in spans:
            pi = int(feats.row_passage[sp.row])
            offs = feats.offsets[sp.row]
            a, b = whole_words(passages[pi].text, int(offs[sp.start, 0]), int(offs[sp.end, 1]))
            if (pi, a, b) not in seen:
                seen.add((pi, a, b))
                cands.append(Candidate(pi, a, b, sp.score, float(np.exp(sp.log_prob))))
        return cands

    def _features(
        self, cands: list[Any], passages: list[PassageInput], question: str, labels: frozenset[str] | None,
        evidence: EvidenceSettings, *, all_others: bool = False,
    ) -> list[Any]:
        """Candidate features; entities of the other name labels join a name question's candidates when
        the `other` weight is set (or `all_others`: for fitting it): the small NER model often gives a
        place the label of an organisation ("Alberta's capital Edmonton" -> ORG)."""
        from kvqae.read.answer_types import NAME_LABELS
        from kvqae.read.evidence import candidate_features

        texts = [p.text for p in passages]
        other = NAME_LABELS if (labels and labels <= NAME_LABELS and (evidence.other or all_others)) else None
        entities_of = self.entities_of
        nouns = asked_common_nouns(question) if labels and labels <= NAME_LABELS else frozenset()
        if nouns:
            # names ending with the asked noun ("the Sargasso Sea" for "which sea") are of the asked kind
            # even where the small NER model tags none; they join the named entities of an asked label
            label = min(labels)

            def entities_of(text: str) -> list[Any]:
                found = list(self.entities_of(text))
                return found + [(a, b, label) for a, b in names_with_noun(text, nouns)
                                if not any(ea == a and eb == b for ea, eb, _ in found)]
        return candidate_features(cands, texts, [p.title for p in passages], question, labels=labels,
                                  entities_of=entities_of if labels else None,
                                  window_words=evidence.window_words, near_words=evidence.near_words,
                                  stems=content_stems, other_labels=other)


def _span_key(cands: list[Any]) -> tuple[int, int, int] | None:
    """(passage, start, end) of the first candidate; None when there is none."""
    return (cands[0].passage, cands[0].start, cands[0].end) if cands else None


def _rank_by_article(features: list[Any], evidence: EvidenceSettings, titles: list[str | None] | None
                     ) -> list[Any]:
    """The candidates ranked by their evidence; with the passages' `titles`, those of the first passage's
    article (same title) first, then the others (all together when the titles are unknown: None)."""
    from kvqae.read.evidence import rank

    if not titles or titles[0] is None:
        return rank(features, evidence)
    ours = [f for f in features if titles[f.candidate.passage] == titles[0]]
    others = [f for f in features if titles[f.candidate.passage] != titles[0]]
    return rank(ours, evidence) + rank(others, evidence)


def _split_by_kind(scored: list[Any], texts: list[str], kind: str | None, *, measure: bool = False,
                   year: bool = False, dimension: str | None = None) -> tuple[list[Any], list[Any]]:
    """(candidates whose answer fits `kind`, the others); (all, []) when none fits or `kind` is None. The
    answer is the candidate cut to its phrase, as it is shown ("Brave New World, set in ..." is a name).
    `measure` (the question asks one: "How long is its gestation period?"): of those, the numbers shown with
    a unit ("seven months") first, when there are any; a bare count ("three") answers no such question.
    `year` (the question asks "which year"): of those, the ones that write a year's number first, when there
    are any ("Fourth of July" and "the 2nd century" are dates, not years). `dimension` (the measure's, when
    the question tells it: `asked_dimension`): of the measures, the ones with a unit of it first, when there
    are any ("289 metres", not "358 km2", answers "How deep is the lake?")."""
    if kind is None:
        return list(scored), []
    def answer(f: Any) -> str:
        text = texts[f.candidate.passage]
        a, b = trim_to_phrase(text, f.candidate.start, f.candidate.end)
        return text[a : with_unit(text, a, b) if measure else b]

    shown = [answer(f) for f in scored]
    fit = [fits(text, kind) and (not measure or has_unit(text)) and (not year or holds_year(text))
           for text in shown]
    if measure and dimension is not None:
        same = [ok and has_dimension(text, dimension) for ok, text in zip(fit, shown, strict=True)]
        fit = same if any(same) else fit
    if (measure or year) and not any(fit):
        fit = [fits(text, kind) for text in shown]
    if not any(fit):
        return list(scored), []
    return ([f for f, ok in zip(scored, fit, strict=True) if ok],
            [f for f, ok in zip(scored, fit, strict=True) if not ok])


def _split_by_noun(scored: list[Any], texts: list[str], nouns: frozenset[str]) -> tuple[list[Any], list[Any]]:
    """(candidates whose answer holds one of the question's asked common `nouns` - "Institute for Advanced
    Study" for "which institute", "Baum-Connes conjecture" for "which conjecture" -, the others); (all, [])
    when none does or there are no nouns."""
    if not nouns:
        return list(scored), []

    def holds(f: Any) -> bool:
        text = texts[f.candidate.passage]
        a, b = trim_to_phrase(text, f.candidate.start, f.candidate.end)
        return holds_noun(text[a:b], nouns)

    held = [f for f in scored if holds(f)]
    return (held, [f for f in scored if not holds(f)]) if held else (list(scored), [])


def _question_overlap(feats: Features, passages: list[str], question: set[str]) -> np.ndarray:
    """Per row: how many distinct question word stems its passage window holds."""
    out = np.zeros(feats.num_rows, dtype=np.int64)
    for r in range(feats.num_rows):
        ctx = np.nonzero(feats.context_mask[r])[0]
        if ctx.size:
            text = passages[int(feats.row_passage[r])]
            window = text[feats.offsets[r, ctx[0], 0] : feats.offsets[r, ctx[-1], 1]]
            out[r] = len(content_stems(window) & question)
    return out


def _best_windows(feats: Features, overlap: np.ndarray, keep: int) -> np.ndarray:
    """Rows to keep: for each passage the `keep` windows sharing most question words (earlier on ties).

    In training, a passage with an answer keeps its best windows among those holding a whole answer, so
    what is read at training time is what reading at test time would pick around the answer.
    """
    gold = None if feats.start_targets is None else feats.start_targets.any(1) & feats.end_targets.any(1)
    kept: list[int] = []
    for p in np.unique(feats.row_passage):
        rows = np.nonzero(feats.row_passage == p)[0]
        if gold is not None and gold[rows].any():
            rows = rows[gold[rows]]
        order = sorted(rows.tolist(), key=lambda r: (-overlap[r], r))
        kept.extend(order[:keep])
    return np.asarray(sorted(kept), dtype=np.int64)


def _keep_rows(feats: Features, rows: np.ndarray) -> Features:
    """`feats` restricted to `rows`, with the padding no kept row needs trimmed off."""
    if len(rows) == feats.num_rows:
        return feats
    import torch

    index = torch.from_numpy(rows)
    width = int(feats.inputs["attention_mask"][index].sum(1).max())
    inputs = {k: v[index, :width] for k, v in feats.inputs.items()}
    out = Features(
        inputs, feats.context_mask[rows, :width], feats.offsets[rows, :width], feats.row_passage[rows]
    )
    if feats.start_targets is not None:
        out.start_targets = feats.start_targets[rows, :width]
        out.end_targets = feats.end_targets[rows, :width]
    return out


def _span_targets(
    context: np.ndarray, offsets: np.ndarray, row_passage: np.ndarray, gold_spans: list[list[tuple[int, int]]]
) -> tuple[np.ndarray, np.ndarray]:
    """Boolean start/end target masks: for each gold char span fully inside a row's context tokens."""
    starts = np.zeros(context.shape, dtype=bool)
    ends = np.zeros(context.shape, dtype=bool)
    for r in range(context.shape[0]):
        spans = gold_spans[int(row_passage[r])] if int(row_passage[r]) < len(gold_spans) else []
        if not spans:
            continue
        toks = np.nonzero(context[r])[0]
        if toks.size == 0:
            continue
        tok_start = offsets[r, toks, 0]
        tok_end = offsets[r, toks, 1]
        for a, b in spans:
            if a < tok_start[0] or b > tok_end[-1]:
                continue  # the answer is (partly) outside this window
            s_idx = np.nonzero(tok_end > a)[0]
            e_idx = np.nonzero(tok_start < b)[0]
            if s_idx.size == 0 or e_idx.size == 0:
                continue
            s_tok, e_tok = toks[s_idx[0]], toks[e_idx[-1]]
            if s_tok <= e_tok:
                starts[r, s_tok] = True
                ends[r, e_tok] = True
    return starts, ends


def build_tiny_reader(
    out_dir: str | Path,
    *,
    tokenizer: str | Path | None = None,
    seed: int = 0,
    hidden_size: int = 32,
    layers: int = 2,
    heads: int = 2,
    settings: ReaderSettings | None = None,
) -> Path:
    """Save a randomly initialised small BERT span model (MiniLM WordPiece vocabulary) to `out_dir`.

    For tests and quick experiments; loadable with `Reader.load(out_dir)`.
    """
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering

    from kvqae.encode.packaged import minilm_path

    tok = AutoTokenizer.from_pretrained(str(tokenizer or minilm_path()))
    torch.manual_seed(seed)
    cfg = BertConfig(
        vocab_size=tok.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=hidden_size * 2,
        max_position_embeddings=512,
    )
    model = BertForQuestionAnswering(cfg)
    return Reader(model, tok, settings or ReaderSettings()).save(out_dir)

"""Pydantic response models of the HTTP API (they are also its OpenAPI schema at /docs)."""

from __future__ import annotations

from pydantic import BaseModel


class Hit(BaseModel):
    rank: int
    id: str  # entity id (entity-level modes) or passage id (passage-level modes, fused)
    entity_id: str
    title: str
    score: float
    image_url: str | None
    text: str | None = None  # the passage's text (in `read`, the passages the reader read)


class EntityRef(BaseModel):
    id: str
    title: str
    image_url: str | None


class Evidence(BaseModel):
    id: str
    entity_id: str
    title: str
    text: str
    start: int  # text[start:end] is the answer
    end: int


class RerankInfo(BaseModel):
    method: str  # "proximity": the question's words close together in the passage
    weight: float
    words: int
    top_n: int
    lead: float = 0.0  # added to an article's first passage
    agreement: float = 0.0  # x the share of the re-ranked passages from the passage's article


class ReaderRankInfo(BaseModel):
    weight: float  # z(retrieval score) + weight x z(the reader's best evidence in the passage)
    top_k: int  # retrieved passages read (and re-ordered); the rest keep their order below them
    # passages of the first read passage's article read besides them (its lead, a person's birth / death
    # sentences: kvqae.read.lookup); `read` lists top_k + looked_up passages
    looked_up: int = 0


class FusionInfo(BaseModel):
    method: str
    norm: str
    weights: dict[str, float]
    note: str | None  # set when modes were skipped and the weights were rescaled
    rerank: RerankInfo | None = None  # set when the fused ranking was re-ranked before reading
    reader_rank: ReaderRankInfo | None = None  # set when `read` lists the read passages in the reader's order


class RuleRecordInfo(BaseModel):
    right: int  # answers of the rule that were right
    answered: int  # questions the rule answered
    questions: int  # questions asked in all
    source: str  # what those questions were ("450 questions written blind over ...")


class AskResponse(BaseModel):
    question: str
    answer: str
    score: float | None
    probability: float | None  # the reader's span probability (0 for an entity it did not propose)
    # the evidence ranking's probability of the answer among the candidates (None without the ranking)
    confidence: float | None = None
    by_rule: bool = False  # an answer rule (a lifespan date, an attribute, a relative, ...) chose the answer
    # which rule (its setting's name, "family") and what it reads ("a relative stated about the subject ...")
    rule: str | None = None
    rule_says: str | None = None
    # how often that rule's answers were right on questions written blind (`kvqae.read.rule_record`)
    rule_record: RuleRecordInfo | None = None
    notes: list[str] = []  # what to know before trusting the answer ("this man" asked with no photo searched)
    entity: EntityRef | None
    passage: Evidence | None
    modes: dict[str, list[Hit]]
    levels: dict[str, str]
    skipped: dict[str, str]
    fused: list[Hit]
    read: list[Hit] = []  # the read passages in the reader's order (fusion.reader_rank says how)
    fusion: FusionInfo
    timings_ms: dict[str, float]


class PassageText(BaseModel):
    id: str
    text: str


class EntityDetail(BaseModel):
    id: str
    title: str
    types: list[str]
    has_image: bool
    image_url: str | None
    passages: list[PassageText]


class Example(BaseModel):
    id: str
    question: str
    image_url: str | None
    answers: list[str]


class Health(BaseModel):
    status: str
    bundle: str
    modes: list[str]
    image_modes: list[str]
    reader: bool
    entities: int
    passages: int
    max_upload_mb: float
    max_question_chars: int


class ErrorDetail(BaseModel):
    status: int
    field: str | None
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail

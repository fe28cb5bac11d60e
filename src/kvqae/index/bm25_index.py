"""BM25 index directories over KB passages (lexical retrieval with `bm25s` and the Snowball stemmer).

Layout: the files `bm25s` saves (sparse score matrix, vocabulary, parameters), `ids.json` (passage ids in
row order) and `meta.json` `{"kind": "kvqae-bm25-index", "encoder": "bm25", "field": "passage", "count",
"k1", "b", "method", "stemmer", "stopwords"}`. Texts are lower-cased, split into words of 2+ characters,
English stop words removed and stemmed (PyStemmer) the same way for passages and queries. Scores follow the
chosen BM25 variant (default "lucene": idf = ln(1 + (N - df + 0.5) / (df + 0.5)), term weight
tf / (tf + k1 (1 - b + b dl / avgdl)) times idf). A passage sharing no word with the query is not returned.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kvqae.data.provenance import KB_KEY, kb_digest, stamp
from kvqae.data.runs import Run
from kvqae.errors import InputError
from kvqae.index.faiss_index import check_id_list
from kvqae.io import atomic_dir, read_json

BM25_KIND = "kvqae-bm25-index"
BM25_SPEC = "bm25"
METHODS = ("lucene", "robertson", "atire", "bm25l", "bm25+")


def is_bm25_index(directory: str | Path) -> bool:
    """True when `directory/meta.json` says it is a BM25 index."""
    meta = Path(directory) / "meta.json"
    try:
        return json.loads(meta.read_text(encoding="utf-8")).get("kind") == BM25_KIND
    except (OSError, ValueError, AttributeError):
        return False


def _tokenize(texts: Sequence[str], stemmer: str | None, stopwords: str | None) -> list[list[str]]:
    import bm25s

    stem = None
    if stemmer:
        import Stemmer

        try:
            stem = Stemmer.Stemmer(stemmer).stemWords
        except KeyError:
            raise InputError(f"unknown stemmer language {stemmer!r}", field="stemmer") from None
    return bm25s.tokenize(list(texts), lower=True, stopwords=stopwords, stemmer=stem, return_ids=False,
                          show_progress=False)


class Bm25Index:
    """A loaded BM25 index: `search(texts, k)`, `search_run(ids, texts, k)`; made by `Bm25Index.build`."""

    def __init__(self, model: Any, ids: list[str], meta: dict[str, Any], path: Path | None = None) -> None:
        self.model = model
        self.ids = ids
        self.meta = meta
        self.path = path
        self._id_array = np.asarray(ids, dtype=object)

    encoder = BM25_SPEC
    field = "passage"

    @property
    def count(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls,
        kb: Any,
        out_dir: str | Path,
        *,
        k1: float = 1.5,
        b: float = 0.75,
        method: str = "lucene",
        stemmer: str | None = "english",
        stopwords: str | None = "english",
    ) -> Bm25Index:
        """Index every passage of `kb` (a KB directory or a `KnowledgeBase`) into `out_dir` (atomically)."""
        import bm25s

        from kvqae.data.kb import KnowledgeBase

        if not hasattr(kb, "passages"):
            kb = KnowledgeBase.load(kb)
        if method not in METHODS:
            raise InputError(f"unknown BM25 variant {method!r}; choose one of {', '.join(METHODS)}",
                             field="method")
        if not (math.isfinite(k1) and k1 >= 0) or not 0 <= b <= 1:  # NaN fails both comparisons
            raise InputError(f"need a finite k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}", field="k1")
        ids = [str(x) for x in kb.passages["passage_id"]]
        if not ids:
            raise InputError("the knowledge base has no passages", path=getattr(kb, "path", None))
        model = bm25s.BM25(k1=k1, b=b, method=method)
        model.index(_tokenize(list(kb.passages["text"]), stemmer, stopwords), show_progress=False)
        meta = {"kind": BM25_KIND, "encoder": BM25_SPEC, "field": "passage", "count": len(ids), "k1": k1,
                "b": b, "method": method, "stemmer": stemmer, "stopwords": stopwords,
                "source": str(getattr(kb, "path", ""))}
        stamp(meta, kb_digest(kb))  # the KB its ids belong to (kvqae.data.provenance)
        with atomic_dir(out_dir) as tmp:
            model.save(str(tmp), show_progress=False)
            (tmp / "ids.json").write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
            (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return cls(model, ids, meta, Path(out_dir))

    @classmethod
    def load(cls, directory: str | Path) -> Bm25Index:
        """Read a directory written by `build`; anything else is an InputError naming it."""
        import bm25s

        from kvqae.safety import expect_folder

        directory = expect_folder(directory, "BM25 index directory")
        # a missing or cut meta.json (a half-copied index) is named as such, not as another kind of folder
        meta = read_json(directory / "meta.json")
        if not isinstance(meta, dict) or meta.get("kind") != BM25_KIND:
            raise InputError(f'not a BM25 index: meta.json "kind" is not {BM25_KIND!r}', path=directory)
        try:
            ids = json.loads((directory / "ids.json").read_text(encoding="utf-8"))
            model = bm25s.BM25.load(str(directory), show_progress=False, verbosity=0)
        except (OSError, ValueError) as e:
            raise InputError(f"unreadable BM25 index ({e})", path=directory) from None
        if not isinstance(ids, list) or len(ids) != meta.get("count"):
            raise InputError("ids.json does not match the index's count", path=directory, field="count")
        check_id_list(ids, directory / "ids.json")  # a null id was a KeyError traceback in `kvqae ask`
        return cls(model, ids, meta, directory)

    def search(self, texts: Sequence[str], k: int) -> list[list[tuple[str, float]]]:
        """For each query text: up to `k` (passage id, score) pairs, best first, scores > 0 only."""
        if k < 1:
            raise InputError("must be >= 1", field="k")
        tokens = _tokenize(texts, self.meta.get("stemmer"), self.meta.get("stopwords"))
        k_eff = min(int(k), self.count)
        out: list[list[tuple[str, float]]] = []
        for query in tokens:
            if not query:
                out.append([])
                continue
            scores = np.asarray(self.model.get_scores(query), dtype=np.float64)
            if k_eff < len(scores):
                top = np.argpartition(-scores, k_eff - 1)[:k_eff]
            else:
                top = np.arange(len(scores))
            top = top[scores[top] > 0]
            order = top[np.lexsort((self._id_array[top].astype(str), -scores[top]))]
            out.append(list(zip(self._id_array[order].tolist(), scores[order].tolist(), strict=True)))
        return out

    def search_run(self, query_ids: Sequence[str], texts: Sequence[str], k: int = 100, *,
                   name: str = "bm25", progress: bool = False) -> Run:
        """A passage-level Run of every query text (ids and texts in the same order)."""
        from kvqae.progress import track

        if len(query_ids) != len(texts):
            raise InputError(f"{len(query_ids)} query ids for {len(texts)} texts", field="query_ids")
        scores: dict[str, dict[str, float]] = {}
        batch = 256
        for start in track(range(0, len(texts), batch), "BM25 search", enabled=progress):
            hits = self.search(texts[start:start + batch], k)
            for qid, found in zip(query_ids[start:start + batch], hits, strict=True):
                scores[str(qid)] = dict(found)
        meta = {"k": int(k), "index": str(self.path) if self.path else None, "encoder": BM25_SPEC,
                "index_field": "passage", "mode": "text-passage"}
        return Run(scores, name, "passage", stamp(meta, self.meta.get(KB_KEY)))

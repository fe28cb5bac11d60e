"""Which knowledge base a passage run was made over, so that it is never read against another one.

A passage id ("Alaska#3") means the 4th passage of Alaska's article *as one KB split it*: rebuilt with other
`--words`, sentence alignment or a newer dump, the same id names other words. A run made over one build and
evaluated, re-ranked or read with another gave figures and answers about the wrong passages, with no error.

`kvqae kb build` records a digest of every passage (id and text, in order) in the KB's `meta.json`
(`passages_sha1`). The stages that make passage runs carry it along — embeddings of the KB's passages, the
indexes built from them, BM25 indexes, the runs searched from those, entity runs mapped to passages, fused
runs, re-ranked runs — in the run's `meta` under `KB_KEY`; and the stages that read a passage run with a
`--kb` refuse one made over another KB (`check_run_kb`). Runs and KBs from before the digest existed carry
none and are not checked. TREC files have no place for it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from kvqae.errors import InputError

KB_KEY = "kb_passages_sha1"  # in the meta of embeddings, indexes and runs
KB_META_KEY = "passages_sha1"  # in a KB's meta.json


class PassageDigest:
    """The running digest of a KB's passages as `kvqae kb build` writes them."""

    def __init__(self) -> None:
        self._sha = hashlib.sha1()

    def add(self, passage_id: str, text: str) -> None:
        self._sha.update(f"{passage_id}\t{text}\n".encode("utf-8", "surrogatepass"))

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def kb_digest(kb: Any) -> str | None:
    """The passage digest of a KB (a loaded KB with `.meta`, a `meta.json` dict, or a KB folder); None for
    a KB built before it was recorded."""
    if isinstance(kb, (str, Path)):
        from kvqae.data.kb import open_kb_dir

        meta = open_kb_dir(kb)[1]
    else:
        meta = kb if isinstance(kb, dict) else getattr(kb, "meta", None) or {}
    value = meta.get(KB_META_KEY)
    return value if isinstance(value, str) and value else None


def run_digest(run: Any) -> str | None:
    """The digest of the KB a run was made over, None when the run does not say (older runs, TREC)."""
    value = (getattr(run, "meta", None) or {}).get(KB_KEY)
    return value if isinstance(value, str) and value else None


def stamp(meta: dict[str, Any], digest: str | None) -> dict[str, Any]:
    """`meta` with the KB digest recorded (unchanged when `digest` is None); returns `meta`."""
    if digest:
        meta[KB_KEY] = digest
    return meta


def check_run_kb(run: Any, kb: Any, *, run_source: Any = None, kb_source: Any = None) -> None:
    """InputError when the passage-level `run` was made over another KB than `kb` (both digests known).
    Entity runs are not checked: an entity id means the same article however its text was split."""
    if getattr(run, "level", None) != "passage":
        return
    made, given = run_digest(run), kb_digest(kb)
    if made is None or given is None or made == given:
        return
    where = kb_source if kb_source is not None else getattr(kb, "path", None) or "the KB given"
    raise InputError(
        f"this run was made over another knowledge base than {where} (passages {made[:12]}, that KB's "
        f"{given[:12]}): its passage ids name other passages there; give the KB the run was made from, or "
        "make the run again over this one", path=run_source, field=f"meta.{KB_KEY}")


def common_digest(runs: Sequence[Any], sources: Iterable[Any]) -> str | None:
    """The KB digest shared by the passage runs that carry one (None when none does); InputError when two
    were made over different KBs (fusing them mixes passages of two splits under the same ids)."""
    seen: dict[str, Any] = {}
    for run, source in zip(runs, sources, strict=True):
        digest = run_digest(run) if getattr(run, "level", None) == "passage" else None
        if digest is not None:
            seen.setdefault(digest, source if source is not None else getattr(run, "name", "?"))
    if len(seen) > 1:
        (a, first), (b, second) = list(seen.items())[:2]
        raise InputError(f"{first} and {second} were made over different knowledge bases (passages {a[:12]} "
                         f"and {b[:12]}): the same passage id names other passages in each", field=KB_KEY)
    return next(iter(seen), None)

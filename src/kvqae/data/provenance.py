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
import re
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


_DIGEST = re.compile(r"[0-9a-f]{40}")


def checked_digest(meta: Any, key: str, where: Any = None) -> str | None:
    """`meta[key]` when it is a digest (40 lower-case hex digits), None when absent; InputError naming `where`
    and the key for any other value: a hand-edited one that silently switched the check off, or crashed it."""
    value = meta.get(key) if isinstance(meta, dict) else None
    if value is None:
        return None
    if not (isinstance(value, str) and _DIGEST.fullmatch(value)):
        raise InputError(f"must be the 40 lower-case hex digits of a SHA-1 digest, got {value!r:.60}",
                         path=where, field=key if key == KB_META_KEY else f"meta.{key}")
    return value


def kb_digest(kb: Any) -> str | None:
    """The passage digest of a KB (a loaded KB with `.meta`, a `meta.json` dict, or a KB folder); None for
    a KB built before it was recorded."""
    where = None
    if isinstance(kb, (str, Path)):
        from kvqae.data.kb import open_kb_dir

        where, meta = open_kb_dir(kb)
        where = Path(where) / "meta.json"
    else:
        meta = kb if isinstance(kb, dict) else getattr(kb, "meta", None) or {}
        path = getattr(kb, "path", None)
        where = Path(path) / "meta.json" if path is not None else None
    return checked_digest(meta, KB_META_KEY, where)


def run_digest(run: Any, where: Any = None) -> str | None:
    """The digest of the KB a run was made over, None when the run does not say (older runs, TREC)."""
    return checked_digest(getattr(run, "meta", None) or {}, KB_KEY, where)


def stamp(meta: dict[str, Any], digest: str | None) -> dict[str, Any]:
    """`meta` with the KB digest recorded (unchanged when `digest` is None); returns `meta`. A value that is
    no digest (copied from a hand-edited index or embeddings meta) is an InputError, not passed on."""
    if digest is not None:
        meta[KB_KEY] = checked_digest({KB_KEY: digest}, KB_KEY)
    return meta


def check_run_kb(run: Any, kb: Any, *, run_source: Any = None, kb_source: Any = None) -> None:
    """InputError when the passage-level `run` was made over another KB than `kb` (both digests known).
    Entity runs are not checked: an entity id means the same article however its text was split."""
    if getattr(run, "level", None) != "passage":
        return
    made, given = run_digest(run, run_source), kb_digest(kb)
    if made is None or given is None or made == given:
        return
    where = kb_source if kb_source is not None else getattr(kb, "path", None) or "the KB given"
    raise InputError(
        f"this run was made over another knowledge base than {where} (passages {made[:12]}, that KB's "
        f"{given[:12]}): its passage ids name other passages there; give the KB the run was made from, or "
        "make the run again over this one", path=run_source, field=f"meta.{KB_KEY}")


def common_digest(runs: Sequence[Any], sources: Iterable[Any]) -> str | None:
    """The KB digest of a fusion of `runs`: the one every passage run carries, None when some carries none
    (an older run, a TREC file: nothing vouches for its ids); InputError when two were made over different
    KBs (fusing them mixes passages of two splits under the same ids)."""
    seen: dict[str, Any] = {}
    unstamped = False
    for run, source in zip(runs, sources, strict=True):
        if getattr(run, "level", None) != "passage":
            continue
        digest = run_digest(run, source)
        if digest is None:
            unstamped = True
            continue
        seen.setdefault(digest, source if source is not None else getattr(run, "name", "?"))
    if len(seen) > 1:
        (a, first), (b, second) = list(seen.items())[:2]
        raise InputError(f"{first} and {second} were made over different knowledge bases (passages {a[:12]} "
                         f"and {b[:12]}): the same passage id names other passages in each", field=KB_KEY)
    return None if unstamped else next(iter(seen), None)

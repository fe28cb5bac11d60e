"""Check the hand-written Wikipedia dev set against the knowledge base it was written over.

Usage (from the repository root, after `kvqae kb build ../shared/data/wikipedia/enwiki-2016-sample.xml.bz2
--out artifacts/wiki-kb`):

    python data/devset/check_devset.py [--kb artifacts/wiki-kb] [VALIDATION.jsonl TEST.jsonl]

Every question must have a non-empty question text, an id unique across both files, an entity that exists in
the KB, a non-empty list of answers each of which occurs verbatim (case-sensitive) in at least one passage of
that entity, a question_type of String/Numerical/Time and a boolean names_entity; no entity may appear in both
splits, and each file must also load with kvqae's own question reader. Prints counts per split and exits 1 on
any problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from kvqae.data.kb import KnowledgeBase
from kvqae.data.questions import load_questions

HERE = Path(__file__).resolve().parent
DEFAULT_FILES = [HERE / "wiki_questions_validation.jsonl", HERE / "wiki_questions_test.jsonl"]
QUESTION_TYPES = {"String", "Numerical", "Time"}


def read_rows(path: Path, problems: list[str]) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                problems.append(f"{path.name}:{n}: not JSON ({err})")
                continue
            if not isinstance(row, dict):
                problems.append(f"{path.name}:{n}: not a JSON object")
                continue
            row["_where"] = f"{path.name}:{n}"
            rows.append(row)
    return rows


def check_row(row: dict, kb: KnowledgeBase, passages: dict[str, list[str]], problems: list[str]) -> None:
    where = f"{row['_where']} ({row.get('id')})"
    question = row.get("question")
    if not isinstance(question, str) or not question.strip():
        problems.append(f"{where}: empty or missing question")
    if row.get("question_type") not in QUESTION_TYPES:
        problems.append(
            f"{where}: question_type {row.get('question_type')!r} not in {sorted(QUESTION_TYPES)}"
        )
    if not isinstance(row.get("names_entity"), bool):
        problems.append(f"{where}: names_entity must be true or false")
    answers = row.get("answers")
    if (
        not isinstance(answers, list)
        or not answers
        or not all(isinstance(a, str) and a.strip() for a in answers)
    ):
        problems.append(f"{where}: answers must be a non-empty list of non-empty strings")
        answers = []
    entity = row.get("entity")
    if not isinstance(entity, str) or not kb.has_entity(entity):
        problems.append(f"{where}: entity {entity!r} not in the KB")
        return
    if entity not in passages:
        passages[entity] = [kb.passage_text(pid) for pid in kb.passages_of(entity)]
    for answer in answers:
        if not any(answer in text for text in passages[entity]):
            problems.append(f"{where}: answer {answer!r} not found verbatim in any passage of {entity}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kb", default="artifacts/wiki-kb", help="KB folder (default: %(default)s)")
    parser.add_argument(
        "files",
        nargs="*",
        type=Path,
        default=DEFAULT_FILES,
        help="question files, one per split (default: the validation and test files next to this script)",
    )
    args = parser.parse_args(argv)

    kb = KnowledgeBase.load(args.kb)
    problems: list[str] = []
    passages: dict[str, list[str]] = {}
    seen_ids: dict[str, str] = {}
    entity_split: dict[str, str] = {}
    for path in args.files:
        if not path.is_file():
            problems.append(f"{path}: file not found")
            continue
        try:
            load_questions(path, "kvqae")
        except ValueError as err:
            problems.append(f"{path.name}: kvqae reader rejects the file: {err}")
        rows = read_rows(path, problems)
        for row in rows:
            qid = row.get("id")
            if not isinstance(qid, str) or not qid:
                problems.append(f"{row['_where']}: missing id")
            elif qid in seen_ids:
                problems.append(f"{row['_where']}: duplicate id {qid!r} (first at {seen_ids[qid]})")
            else:
                seen_ids[qid] = row["_where"]
            entity = row.get("entity")
            if isinstance(entity, str):
                first = entity_split.setdefault(entity, path.name)
                if first != path.name:
                    problems.append(f"{row['_where']}: entity {entity!r} is also in {first}")
            check_row(row, kb, passages, problems)

        names = sum(1 for r in rows if r.get("names_entity") is True)
        types = Counter(str(r.get("question_type")) for r in rows)
        print(
            f"{path.name}: {len(rows)} questions, {len({r.get('entity') for r in rows})} articles, "
            f"{len(rows) - names} not naming the entity / {names} naming, "
            f"{sum(1 for r in rows if len(r.get('answers') or []) > 1)} with aliases, "
            f"types {dict(sorted(types.items()))}"
        )

    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print(f"{len(seen_ids)} questions checked against {args.kb}: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

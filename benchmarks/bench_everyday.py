"""Everyday questions through `kvqae ask`: how many of the plain questions people ask about a person, a
place or a work an answering bundle gets right, side by side for several bundles or readers.

`data/devset/everyday_questions.tsv` holds 126 such questions (question TAB answers separated by "|")
written in session 22 over the real Wikipedia sample's articles ("Where was Abraham Lincoln born?", "Who
was the first wife of Aldous Huxley?", "What was the birth name of Ayn Rand?"); their failures were read
to find the answer rules' gaps, so they are a regression check, not an unbiased measure. A question is
right when its answer matches one of the answers under SQuAD normalisation (`exact_match`).

    python benchmarks/bench_everyday.py wiki-output [--reader artifacts/reader-minilm --reader OTHER]
"""

from __future__ import annotations

import argparse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_questions(path: Path) -> list[tuple[str, list[str]]]:
    """(question, answers) of each line "question<TAB>answer|answer" (UTF-8, a BOM allowed; blank lines and
    lines opening with "#" skipped). A line without answers, with a second tab (answers are separated by
    "|": "Paris<TAB>France" was read as the one answer "Paris France"), or with a question `kvqae ask`
    refuses (empty, no word, over 1,000 characters: the benchmark stopped there, the bundle loaded and part
    of the questions asked) is an InputError naming the file and the line."""
    from kvqae.ask.answer import check_question
    from kvqae.errors import InputError
    from kvqae.io import binary_lines, decode_utf8, existing_file

    out = []
    with existing_file(path, "questions file").open("rb") as f:
        lines = [(n, decode_utf8(raw, path, n).rstrip("\r\n")) for n, raw in binary_lines(f)]
    for n, line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        question, tab, answers = line.partition("\t")
        if "\t" in answers:
            raise InputError("a second tab: write question<TAB>answer|answer (answers are separated by '|')",
                             path=path, record=n, field="answers")
        golds = [a.strip() for a in answers.split("|") if a.strip()]
        if not golds:
            raise InputError("no answers after a tab" if tab else "no tab: write question<TAB>answer|answer",
                             path=path, record=n, field="answers")
        try:
            check_question(question)
        except InputError as e:
            raise InputError(e.reason, path=path, record=n, field="question") from None
        out.append((question.strip(), golds))
    if not out:
        raise InputError("no questions (only blank or # lines)", path=path)
    return out


def main() -> None:
    import torch

    from kvqae.ask.answer import Answerer
    from kvqae.errors import InputError
    from kvqae.evaluate.answers import exact_match
    from kvqae.progress import track
    from kvqae.read.model import Reader

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", type=Path, help="An answering bundle (`make wiki`'s wiki-output).")
    ap.add_argument("--questions", type=Path, default=ROOT / "data/devset/everyday_questions.tsv")
    ap.add_argument("--reader", action="append", default=[], help="Read with this reader instead of the "
                    "bundle's (repeat to compare readers side by side).")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show", action="store_true", help="Print every question with its answers.")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        questions = load_questions(args.questions)
    except InputError as e:
        raise SystemExit(f"error: {e}") from None
    answerer = Answerer.load(args.bundle)
    readers = args.reader or [None]
    rows = []
    for reader_path in readers:
        if reader_path is not None:
            answerer.reader = Reader.load(reader_path)
        right = 0
        for question, golds in track(questions, f"asking ({reader_path or 'bundle reader'})"):
            answer = answerer.ask(question).answer or ""
            ok = exact_match(answer, golds) > 0
            right += ok
            if args.show:
                print(f"{'OK' if ok else 'XX'} {question} -> {answer!r} (gold {' | '.join(golds)})")
        rows.append((reader_path or "bundle reader", right))
    print(f"\n{len(questions)} everyday questions ({args.questions.name}), bundle {args.bundle}")
    print("| reader | right | EM |\n|---|---:|---:|")
    for name, right in rows:
        print(f"| {name} | {right} | {100 * right / len(questions):.1f} |")


if __name__ == "__main__":
    main()

"""Reading past the retrieved passages for a birth or death (kvqae.read.lookup, read_and_rank): which of the
article's passages are looked up, on hand-made text, and a tiny reader answering from one it looked up."""

from __future__ import annotations

import json

import pytest

from kvqae.read.lookup import lookup_passages

ARTICLE = [
    ("Dupont#0", "Jean Dupont. Jean Dupont (1 May 1900 – 2 June 1950) was a French painter of harbours."),
    ("Dupont#1", "Jean Dupont. His sister died in Rome in 1930. He painted boats."),
    ("Dupont#2", "Jean Dupont. He died in December 1950 of a fever."),
    ("Dupont#3", "Jean Dupont. Dupont died in Marseille on 2 June 1950, after a long illness."),
    ("Dupont#4", "Jean Dupont. Dupont was born in Lyon, the son of a baker."),
    ("Dupont#5", "Jean Dupont. was born on 1 May 1900, in the city of Lyon (then a silk town)."),
]


@pytest.mark.parametrize(
    ("question", "read", "expected"),
    [
        # a place: the passages with "died in <Name>" about the subject - not his sister's, not a month
        ("Where did this painter die?", set(), ["Dupont#3"]),
        # a passage cut mid-sentence, "in the city of <Name>"
        ("In which city was this painter born?", set(), ["Dupont#4", "Dupont#5"]),
        ("Where did this painter die?", {"Dupont#3"}, []),  # already read
        # a date: the lead, with its lifespan parenthesis
        ("When did this painter die?", set(), ["Dupont#0"]),
        ("In which year was this painter born?", {"Dupont#0"}, []),
        # any other question: the lead, unless it was read
        ("What did this painter paint?", set(), ["Dupont#0"]),
        ("What did this painter paint?", {"Dupont#0", "Dupont#1"}, []),
    ],
)
def test_lookup_passages_by_hand(question, read, expected):
    assert lookup(question, ARTICLE, read, 2) == expected


def lookup(question: str, article: list[tuple[str, str]], read: set[str], limit: int,
           title: str = "Jean Dupont") -> list[str]:
    """`lookup_passages` over hand-made (id, text) passages."""
    texts = dict(article)
    return lookup_passages(question, [pid for pid, _ in article], texts.__getitem__, title, read, limit)


def test_a_date_lookup_takes_the_born_sentence_when_the_lead_lacks_the_date():
    rand = [("Rand#0", "Ayn Rand. Ayn Rand (born Alisa Rosenbaum,; – March 6, 1982) was a novelist."),
            ("Rand#1", "Ayn Rand. She wrote plays and was born again as a writer."),
            ("Rand#2", "Ayn Rand. Rand was born Alisa Rosenbaum on February 2, 1905, in Saint Petersburg.")]
    assert lookup("When was this novelist born?", rand, set(), 2, "Ayn Rand") == ["Rand#0", "Rand#2"]
    assert lookup("When did this novelist die?", rand, set(), 2, "Ayn Rand") == ["Rand#0"]


def test_the_lookup_limit():
    many = [(f"Dupont#{i}", f"Jean Dupont. Dupont died in Town{i} or so.") for i in range(5)]
    assert lookup("Where did he die?", many, set(), 2) == ["Dupont#0", "Dupont#1"]
    assert lookup("Where did he die?", many, set(), 0) == lookup("Who was he?", many, set(), 0) == []


def test_read_and_rank_reads_the_looked_up_passage_and_shows_it_first(tmp_path, tiny_reader_dir):
    from kvqae.data.kb import build_kb
    from kvqae.read.model import Reader
    from kvqae.read.predict import read_and_rank

    src = tmp_path / "articles.jsonl"
    harbour = "A harbour is a sheltered body of water where ships dock. Painters often painted harbours."
    bio = " ".join(text.split(". ", 1)[1] for _, text in ARTICLE)
    rows = [{"id": "Dupont", "title": "Jean Dupont", "text": bio},
            {"id": "Harbour", "title": "Harbour", "text": harbour}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    kb = build_kb(src, tmp_path / "kb", words=12, sentence_aligned=True, progress=False)
    article = kb.passages_of("Dupont")
    death = next(p for p in article if "Marseille" in kb.passage_text(p))
    ranked = [(article[0], 3.0), (kb.passages_of("Harbour")[0], 2.0)]  # retrieval missed the death passage
    reader = Reader.load(tiny_reader_dir)
    seen = []
    read = reader.read
    reader.read = lambda q, passages, **kw: seen.append([p.passage_id for p in passages]) or read(q, passages,
                                                                                                   **kw)
    pred, order = read_and_rank(reader, kb, "Where did this French painter die?", ranked, 2)
    assert seen[-1] == [p for p, _ in ranked] + [death]  # read after the retrieved passages
    assert (pred.answer, pred.passage_id, pred.by_rule) == ("Marseille", death, True)  # the rule's answer
    assert order[0][0] == death and {p for p, _ in order} == {p for p, _ in ranked} | {death}
    # another question: the article's lead, already retrieved here, so only the retrieved passages
    pred, _ = read_and_rank(reader, kb, "What did this French painter paint?", ranked, 2)
    assert seen[-1] == [p for p, _ in ranked]
    # ... and when retrieval missed the lead, the lead after them
    other = [(kb.passages_of("Harbour")[0], 2.0), (article[1], 1.0)]
    pred, _ = read_and_rank(reader, kb, "What did this French painter paint?", other, 2)
    assert seen[-1] == [p for p, _ in other]  # Harbour's lead is the only passage of its article
    pred, _ = read_and_rank(reader, kb, "What did this French painter paint?", other[::-1], 2)
    assert seen[-1] == [p for p, _ in other[::-1]] + [article[0]]
    # the lookup off: only the retrieved passages are read
    reader.settings = reader.settings.model_copy(update={"article_lookup": 0})
    pred, order = read_and_rank(reader, kb, "Where did this French painter die?", ranked, 2)
    assert seen[-1] == [p for p, _ in ranked] and death not in {p for p, _ in order}

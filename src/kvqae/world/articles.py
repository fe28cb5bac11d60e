"""Articles and questions of the synthetic world: facts per entity, written as varied template sentences.

Every entity gets six facts (two dates, a place, a measured number, a count, and a relation to a person), each
stated once in its article among filler sentences, and a question template per fact that refers to the entity
only by its type word ("When was this tower completed?"). Answers are strings that occur verbatim in the
article.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kvqae.world.entities import PATTERNS, SECONDARY, Entity, proper_name

FACT_KINDS = ("date1", "place", "number", "relation", "date2", "count")
QUESTION_TYPES = {
    "date1": "Time",
    "date2": "Time",
    "number": "Numerical",
    "count": "Numerical",
    "place": "String",
    "relation": "String",
}


@dataclass(frozen=True)
class FactSchema:
    """Wording of one fact for one entity type: article sentences and questions ({t} = type word)."""

    sentences: tuple[str, ...]
    questions: tuple[str, ...]
    unit: str = ""  # for numbers: "metres", ...; the bare number is also an accepted answer
    low: int = 0
    high: int = 0


# {T}: title, {t}: type word, {v}: the value (year, place, number, person), {u}: unit
SCHEMAS: dict[str, dict[str, FactSchema]] = {
    "building": {
        "date1": FactSchema(
            (
                "{T} was completed in {v}.",
                "Construction of {T} ended in {v} after years of delays.",
                "Builders finished the {t} in {v}.",
            ),
            ("When was this {t} completed?", "In which year was this {t} finished?"),
        ),
        "place": FactSchema(
            ("{T} stands in the city of {v}.", "The {t} is located in {v}, near the old market."),
            ("In which city is this {t} located?", "Where does this {t} stand?"),
        ),
        "number": FactSchema(
            ("{T} rises {v} {u} above the street.", "The {t} is {v} {u} tall."),
            ("How tall is this {t} in metres?", "What is the height of this {t} in metres?"),
            "metres",
            12,
            480,
        ),
        "relation": FactSchema(
            ("{T} was designed by {v}.", "The architect of the {t} was {v}."),
            ("Who designed this {t}?", "Who was the architect of this {t}?"),
        ),
        "date2": FactSchema(
            ("The {t} was restored in {v}.", "A long restoration of {T} was completed in {v}."),
            ("When was this {t} restored?", "In which year was this {t} restored?"),
        ),
        "count": FactSchema(
            ("{T} has {v} floors.", "Inside, the {t} counts {v} floors."),
            ("How many floors does this {t} have?",),
            "",
            2,
            95,
        ),
    },
    "person": {
        "date1": FactSchema(
            ("{T} was born in {v}.", "Born in {v}, {T} grew up in a large family."),
            ("In which year was this person born?", "When was this person born?"),
        ),
        "place": FactSchema(
            ("{T} came from the town of {v}.", "The family of {T} lived in {v}."),
            ("Which town did this person come from?", "Where did this person's family live?"),
        ),
        "number": FactSchema(
            (
                "{T} travelled some {v} {u} on foot across the realm.",
                "Over a lifetime, {T} walked about {v} {u}.",
            ),
            ("How many kilometres did this person walk?",),
            "kilometres",
            1200,
            60000,
        ),
        "relation": FactSchema(
            ("{T} studied under {v}.", "As a youth, {T} was a pupil of {v}."),
            ("Who taught this person?", "Under whom did this person study?"),
        ),
        "date2": FactSchema(
            ("{T} died in {v}.", "{T} passed away in {v}."),
            ("When did this person die?", "In which year did this person die?"),
        ),
        "count": FactSchema(
            ("{T} wrote {v} books.", "During a long career, {T} wrote {v} books."),
            ("How many books did this person write?",),
            "",
            2,
            60,
        ),
    },
    "animal": {
        "date1": FactSchema(
            ("{T} was first recorded in {v}.", "The first record of {T} dates from {v}."),
            ("When was this {t} first recorded?", "In which year was this {t} first recorded?"),
        ),
        "place": FactSchema(
            ("{T} lives in the forests near {v}.", "The {t} is usually seen around {v}."),
            ("Near which place does this {t} live?", "Where is this {t} usually seen?"),
        ),
        "number": FactSchema(
            ("{T} weighs about {v} {u}.", "Fully grown, the {t} weighs {v} {u}."),
            ("How much does this {t} weigh in kilograms?",),
            "kilograms",
            2,
            400,
        ),
        "relation": FactSchema(
            ("{T} was first described by {v}.", "The naturalist {v} first described the {t}."),
            ("Who first described this {t}?",),
        ),
        "date2": FactSchema(
            ("The {t} was declared protected in {v}.", "{T} has been protected by law since {v}."),
            ("When was this {t} declared protected?", "Since when has this {t} been protected?"),
        ),
        "count": FactSchema(
            ("{T} has raised {v} young.", "Keepers have counted {v} young raised by the {t}."),
            ("How many young has this {t} raised?",),
            "",
            2,
            40,
        ),
    },
    "vehicle": {
        "date1": FactSchema(
            ("{T} was built in {v}.", "Work on the {t} was finished in {v}."),
            ("When was this {t} built?", "In which year was this {t} built?"),
        ),
        "place": FactSchema(
            ("{T} was built in the workshops of {v}.", "The {t} came out of a yard in {v}."),
            ("Where was this {t} built?", "In which town was this {t} built?"),
        ),
        "number": FactSchema(
            ("{T} reaches a top speed of {v} {u}.", "The {t} can travel at {v} {u}."),
            ("What is the top speed of this {t} in kilometres per hour?",),
            "kilometres per hour",
            15,
            320,
        ),
        "relation": FactSchema(
            ("{T} was owned by {v}.", "For decades the {t} belonged to {v}."),
            ("Who owned this {t}?", "To whom did this {t} belong?"),
        ),
        "date2": FactSchema(
            ("{T} was retired from service in {v}.", "The {t} made its last journey in {v}."),
            ("When was this {t} retired?", "In which year did this {t} make its last journey?"),
        ),
        "count": FactSchema(
            ("{T} carries up to {v} passengers.", "The {t} has room for {v} passengers."),
            ("How many passengers can this {t} carry?",),
            "",
            2,
            300,
        ),
    },
    "artwork": {
        "date1": FactSchema(
            ("{T} was made in {v}.", "The {t} was created in {v}."),
            ("When was this {t} made?", "In which year was this {t} created?"),
        ),
        "place": FactSchema(
            ("{T} is kept in the museum of {v}.", "Today the {t} hangs in a gallery in {v}."),
            ("In which city is this {t} kept?", "Where is this {t} kept today?"),
        ),
        "number": FactSchema(
            ("{T} is {v} {u} tall.", "The {t} measures {v} {u} from top to bottom."),
            ("How tall is this {t} in centimetres?",),
            "centimetres",
            20,
            600,
        ),
        "relation": FactSchema(
            ("{T} was made by {v}.", "The {t} is the work of {v}."),
            ("Who made this {t}?", "Whose work is this {t}?"),
        ),
        "date2": FactSchema(
            ("The museum acquired {T} in {v}.", "The {t} entered the public collection in {v}."),
            ("When was this {t} acquired by the museum?",),
        ),
        "count": FactSchema(
            ("{T} has been shown in {v} exhibitions.", "The {t} has travelled to {v} exhibitions."),
            ("In how many exhibitions has this {t} been shown?",),
            "",
            2,
            80,
        ),
    },
    "mountain": {
        "date1": FactSchema(
            ("{T} was first climbed in {v}.", "The first ascent of {T} took place in {v}."),
            ("When was this {t} first climbed?", "In which year was this {t} first climbed?"),
        ),
        "place": FactSchema(
            ("{T} rises above the town of {v}.", "The {t} overlooks the valley town of {v}."),
            ("Above which town does this {t} rise?", "Which town does this {t} overlook?"),
        ),
        "number": FactSchema(
            ("{T} reaches {v} {u} above sea level.", "The summit of the {t} stands at {v} {u}."),
            ("How high is this {t} in metres?", "What is the elevation of this {t} in metres?"),
            "metres",
            900,
            8800,
        ),
        "relation": FactSchema(
            ("{T} was first climbed by {v}.", "The first ascent of the {t} was led by {v}."),
            ("Who first climbed this {t}?", "Who led the first ascent of this {t}?"),
        ),
        "date2": FactSchema(
            ("The {t} became part of a national park in {v}.", "{T} has been protected as a park since {v}."),
            ("When did this {t} become part of a national park?",),
        ),
        "count": FactSchema(
            ("{v} climbing routes lead to the summit of {T}.", "The {t} has {v} marked routes."),
            ("How many climbing routes lead to the summit of this {t}?",),
            "",
            2,
            45,
        ),
    },
}

# Filler sentences: plausible encyclopedic prose that states no question's fact. {T} title, {t} type word,
# {p} a random place, {y} a random year, {n} a small number, {o} another entity's title.
FILLERS: tuple[str, ...] = (
    "Travellers from {p} often mention the {t} in their letters.",
    "In {y} a local guide described {T} at length.",
    "A small society devoted to {T} was founded in {p}.",
    "Scholars still debate several details of the early history of the {t}.",
    "The {t} appears in a popular song from {p}.",
    "Some visitors compare {T} with {o}.",
    "An exhibition about the {t} drew crowds in {y}.",
    "The chronicles of {p} mention the {t} {n} times.",
    "Local children learn about {T} at school.",
    "A painter from {p} made several studies of the {t}.",
    "Postcards showing the {t} were printed in {y}.",
    "Writers have often set stories around {T}.",
    "The name of the {t} is sometimes spelled differently in older records.",
    "In {y} a storm briefly made the {t} the talk of {p}.",
    "{T} is frequently confused with {o}, although the two differ in many details.",
    "A short film about {T} was shown in {p} in {y}.",
    "Records kept in {p} list {n} visits by officials.",
    "The story of the {t} is told in a book published in {y}.",
    "Many legends surround the {t}, most of them invented long after the facts.",
    "A festival held every spring in {p} honours the {t}.",
)


def describe(entity: Entity) -> str:
    """The appearance sentence of an article: colour, pattern and pattern colour in words."""
    colour = entity.colour.lower()
    return (
        f"Its body is mostly {colour}, decorated with {PATTERNS[entity.pattern]} in "
        f"{entity.secondary if entity.secondary in SECONDARY else 'another colour'}."
    )


def _year_pair(rng: np.random.Generator, etype: str) -> tuple[int, int]:
    first = int(rng.integers(1450, 1950))
    gap = int(rng.integers(25, 90)) if etype == "person" else int(rng.integers(8, 120))
    return first, min(first + gap, 2024)


def make_facts(
    entity: Entity, rng: np.random.Generator, people: list[str], places: list[str]
) -> dict[str, str]:
    """The six fact values of `entity` as strings; the relation names a person (a person entity if any)."""
    schemas = SCHEMAS[entity.type]
    y1, y2 = _year_pair(rng, entity.type)
    others = [p for p in people if p != entity.title]
    relation = str(rng.choice(others)) if others else f"{proper_name(rng)} {proper_name(rng)}"
    return {
        "date1": str(y1),
        "date2": str(y2),
        "place": str(rng.choice(places)),
        "number": str(int(rng.integers(schemas["number"].low, schemas["number"].high))),
        "count": str(int(rng.integers(schemas["count"].low, schemas["count"].high))),
        "relation": relation,
    }


def write_article(
    entity: Entity,
    facts: dict[str, str],
    rng: np.random.Generator,
    *,
    places: list[str],
    other_titles: list[str],
    target_words: int,
) -> str:
    """Article prose: intro, appearance, the six facts in random order, filler up to ~`target_words` words."""
    schemas = SCHEMAS[entity.type]
    t = entity.type_word
    fill = {"T": entity.title, "t": t}
    noun_phrase = "a person" if entity.type == "person" else f"a {entity.noun.lower()}"
    intro = f"{entity.title} is {noun_phrase} known across the land."
    fact_sentences = []
    for kind in FACT_KINDS:
        schema = schemas[kind]
        template = str(rng.choice(schema.sentences))
        fact_sentences.append(template.format(v=facts[kind], u=schema.unit, **fill))
    order = rng.permutation(len(fact_sentences))
    body = [fact_sentences[i] for i in order]
    # filler between facts so answers spread over several 100-word passages
    sentences = [intro, describe(entity)]
    n_words = sum(len(s.split()) for s in sentences + body)
    fillers: list[str] = []
    filler_order = rng.permutation(len(FILLERS))
    k = 0
    while n_words < target_words and k < len(FILLERS):
        f = FILLERS[filler_order[k]].format(
            p=str(rng.choice(places)),
            y=int(rng.integers(1500, 2020)),
            n=int(rng.integers(3, 40)),
            o=str(rng.choice(other_titles)) if other_titles else "its neighbours",
            **fill,
        )
        fillers.append(f[0].upper() + f[1:])
        n_words += len(f.split())
        k += 1
    slots: list[list[str]] = [[] for _ in range(len(body) + 1)]
    for f in fillers:
        slots[int(rng.integers(len(slots)))].append(f)
    for i, fact in enumerate(body):
        sentences.extend(slots[i])
        sentences.append(fact)
    sentences.extend(slots[-1])
    return " ".join(s[0].upper() + s[1:] for s in sentences)


def make_question(entity: Entity, kind: str, facts: dict[str, str], rng: np.random.Generator) -> dict:
    """A question on fact `kind`: {"question", "answers", "question_type"}; answers occur in the article."""
    schema = SCHEMAS[entity.type][kind]
    question = str(rng.choice(schema.questions)).format(t=entity.type_word)
    value = facts[kind]
    answers = [value]
    if kind == "number" and schema.unit:
        answers.append(f"{value} {schema.unit}")
    return {"question": question, "answers": answers, "question_type": QUESTION_TYPES[kind]}


def make_places(rng: np.random.Generator, n: int) -> list[str]:
    """`n` distinct invented town names."""
    places: set[str] = set()
    while len(places) < n:
        name = proper_name(rng)
        if rng.random() < 0.2:
            name = f"Port {name}"
        places.add(name)
    return sorted(places)

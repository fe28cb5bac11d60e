"""Entities of the synthetic world: visual attributes, look-alike distractors, names with or without cues.

Every entity has a type (person, building, ...), a noun that fixes its silhouette (Tower, Hall, ...), a base
colour, a pattern drawn in a secondary colour, and finer attributes (variant detail, aspect, pattern scale)
that no name word names. A cue-bearing name spells colour + pattern + noun ("Crimson Spiral Tower"); a
cue-less one is made of invented proper names ("Tower of Aldebrand", "Maren Okobi").
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Named base colours: the colour word in a name is the fill colour of the entity's body.
COLOURS: dict[str, tuple[int, int, int]] = {
    "Crimson": (200, 30, 40),
    "Amber": (240, 140, 20),
    "Golden": (232, 205, 40),
    "Emerald": (30, 150, 60),
    "Azure": (40, 110, 225),
    "Violet": (135, 55, 190),
    "Rose": (245, 125, 175),
    "Onyx": (45, 45, 50),
}
# Pattern words: the pattern drawn over the body in the secondary colour.
PATTERNS: dict[str, str] = {
    "Striped": "horizontal stripes",
    "Dotted": "rows of dots",
    "Checkered": "a checkered pattern",
    "Spiral": "a spiral pattern",
    "Zigzag": "zigzag lines",
    "Latticed": "a diagonal lattice",
}
# Secondary (pattern) colours: never named in titles, so they tell look-alikes apart only visually.
SECONDARY: dict[str, tuple[int, int, int]] = {
    "white": (245, 245, 238),
    "black": (20, 20, 22),
    "silver": (165, 168, 175),
    "brown": (125, 78, 40),
    "teal": (20, 140, 140),
    "lime": (175, 225, 60),
}
# Entity types and their nouns; the noun fixes the silhouette drawn (render.py) and the word used in
# questions.
TYPE_NOUNS: dict[str, tuple[str, ...]] = {
    "person": ("Knight", "Sage"),
    "building": ("Tower", "Hall"),
    "animal": ("Hound", "Owl"),
    "vehicle": ("Car", "Ship"),
    "artwork": ("Vase", "Banner"),
    "mountain": ("Peak", "Ridge"),
}
ENTITY_TYPES: tuple[str, ...] = tuple(TYPE_NOUNS)
CUE_WORDS: frozenset[str] = frozenset(w.lower() for w in (*COLOURS, *PATTERNS))

# Syllables for invented proper names; chosen so no name can spell a colour or pattern word.
_ONSETS = (
    "Al",
    "Bre",
    "Cor",
    "Dav",
    "El",
    "Fen",
    "Gar",
    "Hal",
    "Iv",
    "Jor",
    "Kel",
    "Lun",
    "Mar",
    "Nor",
    "Ost",
    "Per",
    "Quil",
    "Rav",
    "Sel",
    "Tor",
    "Ul",
    "Var",
    "Wen",
    "Yst",
    "Zan",
)
_MIDDLES = ("a", "e", "i", "o", "u", "ae", "ei", "ou", "")
_CODAS = (
    "bran",
    "dor",
    "fell",
    "gan",
    "hurst",
    "kin",
    "lan",
    "mir",
    "nor",
    "ric",
    "sen",
    "thas",
    "vik",
    "wyn",
    "zel",
    "mond",
    "ley",
    "ton",
)


def proper_name(rng: np.random.Generator) -> str:
    """An invented capitalised name such as "Aldebrand" (2-3 syllables)."""
    return str(rng.choice(_ONSETS)) + str(rng.choice(_MIDDLES)) + str(rng.choice(_CODAS))


@dataclass
class Entity:
    """One world entity: identity, visual attributes and name.

    `colour`, `pattern` are the (capitalised) cue words; `secondary` the pattern colour; `variant` (0-2) a
    small noun-specific detail; `aspect` the width factor; `pattern_scale` the pattern period factor;
    `cue_name` whether the title spells colour + pattern; `lookalike_of` the id of the entity this one was
    copied from (or None).
    """

    id: str
    type: str
    noun: str
    colour: str
    pattern: str
    secondary: str
    variant: int
    aspect: float
    pattern_scale: float
    cue_name: bool = False
    title: str = ""
    lookalike_of: str | None = None
    group: str = "seen"  # "seen" (questions in all splits) or "unseen-validation" / "unseen-test"

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def type_word(self) -> str:
        """How questions refer to the entity: "person" for people, else the lower-case noun ("tower")."""
        return "person" if self.type == "person" else self.noun.lower()


def _sample_attributes(rng: np.random.Generator, etype: str) -> dict:
    return {
        "type": etype,
        "noun": str(rng.choice(TYPE_NOUNS[etype])),
        "colour": str(rng.choice(list(COLOURS))),
        "pattern": str(rng.choice(list(PATTERNS))),
        "secondary": str(rng.choice(list(SECONDARY))),
        "variant": int(rng.integers(3)),
        "aspect": round(float(rng.uniform(0.8, 1.2)), 3),
        "pattern_scale": round(float(rng.uniform(0.8, 1.25)), 3),
    }


def _secondary_for(colour: str, secondary: str, rng: np.random.Generator) -> str:
    """Avoid a pattern colour that blends into the base (black on Onyx)."""
    if colour == "Onyx" and secondary == "black":
        return str(rng.choice([s for s in SECONDARY if s != "black"]))
    return secondary


# Attributes a look-alike may copy from its anchor; the noun (silhouette) is always copied with the type.
_COPYABLE = ("colour", "pattern", "secondary", "variant", "aspect", "pattern_scale")


def make_entities(
    n: int,
    rng: np.random.Generator,
    *,
    types: tuple[str, ...] = ENTITY_TYPES,
    cue_name_share: float = 0.7,
    distractor_share: float = 0.3,
    distractor_similarity: float = 0.5,
) -> list[Entity]:
    """Sample `n` entities with unique titles.

    Each entity after the first is, with probability `distractor_share`, a look-alike of an earlier one: it
    keeps the anchor's type and noun and copies each other visual attribute with probability
    `distractor_similarity` (at least one fine attribute always differs so no two entities are drawn
    identically). Exactly round(`cue_name_share` * n) entities get cue-bearing names (a seeded random subset).
    """
    entities: list[Entity] = []
    seen_visuals: set[tuple] = set()
    for i in range(n):
        etype = types[i % len(types)]  # balanced types
        attrs = _sample_attributes(rng, etype)
        anchor = None
        if entities and rng.random() < distractor_share:
            anchor = entities[int(rng.integers(len(entities)))]
            attrs["type"], attrs["noun"] = anchor.type, anchor.noun
            for key in _COPYABLE:
                if rng.random() < distractor_similarity:
                    attrs[key] = getattr(anchor, key)
        attrs["secondary"] = _secondary_for(attrs["colour"], attrs["secondary"], rng)
        # Never two identical drawings: re-sample fine attributes until the visual key is new.
        while _visual_key(attrs) in seen_visuals:
            attrs["variant"] = int(rng.integers(3))
            attrs["aspect"] = round(float(rng.uniform(0.8, 1.2)), 3)
        seen_visuals.add(_visual_key(attrs))
        entities.append(Entity(id=f"e{i:05d}", lookalike_of=anchor.id if anchor else None, **attrs))

    n_cue = int(round(cue_name_share * n))
    cue_idx = set(rng.permutation(n)[:n_cue].tolist())
    titles: set[str] = set()
    for i, ent in enumerate(entities):
        ent.cue_name = i in cue_idx
        ent.title = _unique_title(ent, rng, titles)
        titles.add(ent.title)
    return entities


def _visual_key(attrs: dict) -> tuple:
    return tuple(attrs[k] for k in ("type", "noun", *_COPYABLE))


def _unique_title(ent: Entity, rng: np.random.Generator, taken: set[str]) -> str:
    """Cue names: "Crimson Spiral Tower" (+ " of Place" when taken); cue-less: invented names only."""
    for _ in range(1000):
        if ent.cue_name:
            title = f"{ent.colour} {ent.pattern} {ent.noun}"
            if title in taken:
                title = f"{title} of {proper_name(rng)}"
        elif ent.type == "person":
            title = f"{proper_name(rng)} {proper_name(rng)}"
        elif rng.random() < 0.5:
            title = f"{ent.noun} of {proper_name(rng)}"
        else:
            title = f"{proper_name(rng)} {ent.noun}"
        if title not in taken:
            return title
    raise RuntimeError("could not find a unique title; too many entities for the name space")


def title_cues(title: str) -> tuple[str | None, str | None]:
    """(colour word, pattern word) spelled in `title`, each None when absent."""
    words = title.split()
    colour = next((w for w in words if w in COLOURS), None)
    pattern = next((w for w in words if w in PATTERNS), None)
    return colour, pattern

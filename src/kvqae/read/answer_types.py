"""The kind of answer a question asks for, from its wording, and whether a candidate span fits it.

A reader trained on few, generated questions often finds the right sentence but the wrong span in it ("When
was this composer born?" -> "Brooklyn"). People's questions say what they want: "when" wants a date, "how
many" a number, "who" a name. Decoding keeps the best-scoring candidate span that fits the expected kind
(falling back to the best span when none does), which costs nothing at training time.

Kinds: "time" (a digit, a month, a century or decade word), "number" (a digit or a number word), "name"
(capitalised, no digits: people, places, works: "who", "where", "which ...", "what is the capital of"),
"thing" (anything but a bare date or number: "what kind of pets", "which instrument", any other "what"),
None (no constraint). Dates and numbers also must not run across a sentence end.
"""

from __future__ import annotations

import re

_MONTHS = (
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)
_TIME_WORDS = frozenset(_MONTHS.split()) | {"century", "centuries", "decade", "bc", "bce", "ad", "ce"}
_NUMBER_TEXT = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand "
    "million billion trillion dozen dozens hundreds thousands millions billions half"
)
_NUMBER_WORDS = frozenset(_NUMBER_TEXT.split())
NUMBER_WORDS = _NUMBER_WORDS  # the words of a figure, shared with kvqae.read.edges
_NOT_NAME_TEXT = (
    "a an the of in on at to for from by with and or is was were are be been has have had do does did can "
    "could will would this that these those his her its their he she it they we you i about after before "
    "during however although though since until while when where there here today also many most some "
    "several other others both each all such following according later earlier early only first last "
    "new old as if but so then thus yet not no"
)
_NOT_NAMES = frozenset(_NOT_NAME_TEXT.split())
_PARTICLE_TEXT = "of the and de del della der di da du des la le les van von zu bin ibn al el y on in at am"
_NAME_PARTICLES = frozenset(_PARTICLE_TEXT.split())
# a particle joined to the capitalised name it precedes: "Wadi el-Hol", "Harun al-Rashid", "d'Artagnan"
_JOINED_PARTICLE = re.compile(r"([a-z]{1,3})['’-](?=[^\W\d_])(\w)")


def _particle(word: str) -> bool:
    """A lower-case word a name may hold: a particle ("of", "van"), or one joined to a capitalised part
    ("el-Hol", "al-Rashid", "d'Artagnan")."""
    if word in _NAME_PARTICLES:
        return True
    m = _JOINED_PARTICLE.match(word)
    return m is not None and m.group(1) in _NAME_PARTICLES | {"d", "l"} and m.group(2).isupper()

# What a measure is asked by, shared by the number rules (`_RULES`) and `asks_measure` (`_MEASURE`), so the
# two stay in step: "how <adjective>", "what <noun>", and a noun behind "what is (the) ..."
_HOW_MEASURE = "long|tall|high|far|large|big|deep|wide|heavy|fast"
_WHAT_MEASURE = "height|length|area|temperature|speed|distance|depth|size|weight|elevation|altitude|diameter"
_MEASURE_NOUNS = ("height|length|area|speed|distance|depth|width|weight|elevation|altitude|temperature|"
                  "diameter|radius|circumference|mass|density|volume|capacity|wingspan|lifespan|duration|period|"
                  "half-life|expectancy")
_WHAT_IS_THE = r"^what (?:is|was|are|were) (?:the |its |his |her |their )?(?:[\w'’-]+ ){0,2}?"

# Checked in order; the first pattern found at the start of the question (or of its wh-clause) wins.
_RULES: tuple[tuple[str, str], ...] = (
    # a question opening with "who" asks for a name whatever follows ("Who became president when ...?")
    (r"^(who|whom|whose)\b", "name"),
    # before "what ... area" (a number): "What is the capital of the largest state by area?"
    (r"^(what|which) (is|was|are|were) (the |his |her |their )?(name|capital|title|nationality)\b", "name"),
    (r"\b(in|on|by|since|until|at)? ?(what|which) (year|date|day|month|century|decade|time period|time)\b",
     "time"),
    # before "when": "How old was he when he died?" asks a number
    (rf"\bhow (many|much|old|{_HOW_MEASURE})\b", "number"),
    (r"\bwhen\b", "time"),
    (rf"\bwhat (percentage|percent|number|proportion|share|population|age|score|rank|price|cost|"
     rf"{_WHAT_MEASURE})\b", "number"),
    # the measure right after "what is (the)": "What is this mountain's elevation?", not "What is the state
    # bird of the largest state by area?"
    (rf"{_WHAT_IS_THE}(?:{_MEASURE_NOUNS}|population|number|budget|cost|price|gdp|rate|score|rank|ranking|"
     r"attendance)\b", "number"),
    # a date after "what is the": "What was his date of birth?", "What is this holiday's date?"
    (r"^what (?:is|was|are|were) (?:the |its |his |her |their )?(?:[\w'’-]+ ){0,2}?(?:date|year|birthday)\b",
     "time"),
    (r"\bin (metres|meters|kilometres|kilometers|feet|miles|kilograms|tonnes|years|kilometres per hour)\b",
     "number"),
    (r"\b(who|whom|whose)\b", "name"),
    (r"\b(which|what) (city|town|village|country|state|province|region|island|river|mountain|place|person|"
     r"man|woman|architect|artist|author|writer|painter|composer|team|company)\b", "name"),
    # ... also behind "is the" and up to two words, ending the noun phrase: "What is the largest city of
    # this state?" (not "What is the state flower of ...?")
    (r"^(what|which) (is|was|are|were) the (?:[\w-]+ ){0,2}(city|town|village|country|state|province|region|"
     r"island|river|mountain|lake|person|man|woman|architect|artist|author|writer|painter|composer|team|"
     r"company|language)s?(?= (?:of|in|on|at|that|which|whose|where|for|to|by|with|called|named)\b|\?|$)",
     "name"),
    (r"\bwhere\b", "name"),
    # "which" + a noun phrase asks for a named thing ("Which American composer ...", "At which battle ...");
    # so do "what is the name / capital / title of ..." (times and numbers were matched above)
    # (up to two words other than "of" may stand between: "which extremely radioactive element")
    (r"\bwhich(?: (?!of\b)[\w-]+){0,2}? (instrument|sport|colou?r|animal|species|genre|style|material|"
     r"element|metal|disease|position|role|food|plant|game|event|sense|shape|part|type|kind|sort|form|field|subject|"
     r"family|order|genus|mineral|compound|gas|organ|muscle|bone|technique|method|process|theory|"
     r"currency|unit|coin|dish|drink|tree|flower|bird|fish|insect|fruit|crop|weapon|tool|vehicle|prey)s?\b",
     "thing"),
    (r"\bwhich\b", "name"),
    (r"^what (empire|battle|book|school|university|company|ship|band|film|novel|city|capital|"
     r"nationality)\b", "name"),
)


_WH = re.compile(r"\b(?:who|whom|whose|what|which|when|where|how)\b")


def main_clause(question: str) -> str:
    """The part of `question` that says what it asks: from its first wh-word to the next one, which opens a
    clause describing something ("At which college was she a professor when she made the trip?" asks for a
    college, not a time; "What is a person who uses an abacus called?" for no name). The whole question when
    it holds no wh-word.

    >>> main_clause("At which college was she a professor when she made the trip?")
    'which college was she a professor '
    >>> main_clause("How old was he when he died?")
    'How old was he '
    """
    first = _WH.search(question.lower())
    if first is None:
        return question
    following = _WH.search(question.lower(), first.end())
    return question[first.start(): following.start() if following else len(question)]


def expected_kind(question: str) -> str | None:
    """"time", "number", "name", "thing" (any other "what" / "which") or None for a question, from the
    wh-phrase of its main clause.

    >>> expected_kind("When was this physicist born?"), expected_kind("How many termites can it eat?")
    ('time', 'number')
    >>> expected_kind("Who wrote this novel?"), expected_kind("What is the capital of Alaska?")
    ('name', 'name')
    >>> expected_kind("What did Aristotle study?"), expected_kind("Why did he leave?")
    ('thing', None)
    >>> expected_kind("At which college was she a professor when she made the trip?")
    'name'
    """
    q = main_clause(question).lower()
    for pattern, kind in _RULES:
        if re.search(pattern, q):
            return kind
    # any other "what" / "which" asks for a thing, not a date or a count: "What kind of pets did he keep?"
    return "thing" if re.match(r"(?:what|which)\b", q) else None


# the most words a date or a number answer holds ("about 80 million years ago", "the late 4th century BC"):
# spaCy's DATE and number entities of the Wikipedia sample hold at most 6, the dev sets' answers 2
_MAX_QUANTITY_WORDS = 6


def fits(answer: str, kind: str | None) -> bool:
    """Whether `answer` can be an answer of `kind` (any answer fits None)."""
    if kind is None:
        return True
    words = re.findall(r"[a-z]+", answer.lower())
    has_digit = any(c.isdigit() for c in answer)
    crosses = re.search(r"[.;]\s", answer) is not None
    if kind == "thing":  # a short phrase, not a clause: "poodles", "cyclic cohomology"
        return not quantity_only(answer) and not crosses and len(answer.split()) <= _MAX_QUANTITY_WORDS
    if crosses and (kind in ("time", "number") or len(words) > 5):
        return False  # "1514. Onyx Knight studied ...", "1912. 29" run over a sentence end
    if kind in ("time", "number") and len(words) > _MAX_QUANTITY_WORDS:
        return False  # "Samuel Gottlieb Gmelin (1744–1774) published the Historia Fucorum" is no year
    if kind == "time":
        groups = re.findall(r"\d+", answer)
        if groups and all(len(g) > 4 for g in groups):
            return False  # "19013" is a count, not a year
        return has_digit or any(w in _TIME_WORDS for w in words)
    if kind == "number":
        return has_digit or any(w in _NUMBER_WORDS for w in words)
    if kind == "name":
        # not across a sentence end ("Shiloh. Johnston"; "Samuel A. Ward" is fine), and no lower-case word
        # but the particles of names ("Treaty of Paris", "Osama bin Laden"; not "Agassi is an eight-time")
        sentence_end = re.search(r"[a-z]{2}[.;!?]\s+\S", answer) is not None
        lower = [w for w in re.findall(r"[^\W\d_][\w'-]*", answer) if w[0].islower()]
        only_time = bool(words) and all(w in _TIME_WORDS for w in words)  # "March" is a date, not a name
        # a name may open with "the" ("the Soviet Union", "the Battle of Shiloh"), then a capital
        named = re.sub(r"^the\s+", "", answer)
        # a sentence's capitalised first word alone ("About", "The", "Its") names nothing
        opener = len(words) == 1 and words[0] in _NOT_NAMES
        return (bool(named[:1].isupper()) and not has_digit and not sentence_end and not only_time
                and not opener and all(_particle(w) for w in lower))
    raise ValueError(f"unknown answer kind {kind!r}")


_QUANTITY_FILLER_TEXT = (
    "a an and or of the to about approximately around nearly almost over some roughly circa c ca more less "
    "than fewer up at least most estimated only just st nd rd th s early mid late between from ago year "
    "years month months week weeks day days hour hours minute minutes second seconds decades"
)
_QUANTITY_FILLERS = frozenset(_QUANTITY_FILLER_TEXT.split())


def quantity_only(answer: str) -> bool:
    """Whether `answer` is only a date or a number ("1962", "about 250,000", "February 1788 – 21 September
    1860", "three"): what answers no question asking for a thing.

    >>> quantity_only("22 February 1788"), quantity_only("F-111"), quantity_only("Super Bowl 50")
    (True, False, False)
    """
    words = re.findall(r"[a-z]+", answer.lower())
    numeric = any(c.isdigit() for c in answer) or any(w in _NUMBER_WORDS | _TIME_WORDS for w in words)
    return numeric and all(w in _NUMBER_WORDS or w in _TIME_WORDS or w in _QUANTITY_FILLERS for w in words)


# "how many hours / years / miles ...": a count of a unit asks a measure in it ("48 hours", "Four days")
_TIME_UNIT_NOUNS = "hours|days|weeks|months|years|decades|centuries|minutes|seconds|millennia"
_LENGTH_UNIT_NOUNS = ("miles|kilomet(?:re|er)s|km|met(?:re|er)s|feet|inches|yards|centimet(?:re|er)s|"
                      "millimet(?:re|er)s|light-years")
_MASS_UNIT_NOUNS = "kilograms|kg|tonnes|tons|pounds|grams|ounces"
_AREA_UNIT_NOUNS = r"square\s+\w+|hectares|acres"
_HOW_MANY_UNITS = (rf"how many (?:{_TIME_UNIT_NOUNS}|{_LENGTH_UNIT_NOUNS}|{_MASS_UNIT_NOUNS}|"
                   rf"{_AREA_UNIT_NOUNS})\b")
_MEASURE = re.compile(
    rf"\bhow (?:{_HOW_MEASURE})\b|\bwhat (?:{_WHAT_MEASURE})\b|{_WHAT_IS_THE}(?:{_MEASURE_NOUNS})\b|"
    rf"\b{_HOW_MANY_UNITS}"
)
_UNITS = (
    r"(?:(?:square|sq|cubic)\s+)?(?:km2|km²|km|kilomet(?:re|er)s?|m2|m²|m|met(?:re|er)s?|cm|mm|mi|miles?|"
    r"ft|feet|foot|inch(?:es)?|yards?|kg|kilograms?|grams?|tonnes?|tons?|lbs?|pounds?|hours?|minutes?|"
    r"seconds?|days?|weeks?|months?|years?|decades?|centuries|mph|km/h|knots|°C|°F|degrees|percent|per cent|"
    r"hectares?|acres?|light-years?|lit(?:re|er)s?)(?![\w²])"
)
_UNIT = re.compile(rf"\s+{_UNITS}")  # right after a number
_UNIT_WORD = re.compile(rf"(?<![\w-]){_UNITS}")


def has_unit(answer: str) -> bool:
    """Whether a number answer carries its unit ("468 km2", "seven months", "8,848 m"), which a bare count
    ("three") lacks."""
    return _UNIT_WORD.search(answer) is not None


# The units of each dimension a question can ask ("How deep is the lake?" wants a length: "289 metres", not
# its area "358 km2"). A length unit followed by "2" / "²" or after "square" / "cubic" is an area or volume.
_AREA_UNITS = (r"(?:(?:square|sq)\s+(?:km|kilomet(?:re|er)s?|m|met(?:re|er)s?|miles?|mi|feet|ft)\b|"
               r"km2|km²|m2|m²|hectares?\b|acres?\b)")
_DIMENSION_UNITS = {
    "length": re.compile(r"(?<![\w-])(?<!square )(?<!sq )(?<!cubic )"
                         r"(?:km|kilomet(?:re|er)s?|m|met(?:re|er)s?|cm|centimet(?:re|er)s?|mm|millimet(?:re|er)s?|mi|miles?|ft|feet|foot|inch(?:es)?|"
                         r"yards?|light-years?|nautical miles?)(?![\w²/-])"),
    "area": re.compile(rf"(?<![\w-]){_AREA_UNITS}"),
    "time": re.compile(r"(?<![\w-])(?:hours?|minutes?|seconds?|days?|weeks?|months?|years?|decades?|"
                       r"centuries|millennia)\b"),
    "mass": re.compile(r"(?<![\w-])(?:kg|kilograms?|grams?|g|tonnes?|tons?|lbs?|pounds?|ounces?|oz)\b"),
}
# What each dimension is asked by: "how <adjective>" and the measure nouns. "how long" asks a length or a
# time; it asks a time with a verb of lasting ("How long did the burn last?", "How long does it live?") or a
# noun of time ("How long is its gestation period?"), else it is left open.
_ASKED_DIMENSION = (
    ("length", re.compile(r"\bhow (?:tall|high|deep|wide|far)\b|\b(?:height|length|depth|width|elevation|"
                          rf"altitude|diameter|radius|circumference|wingspan|distance)\b|"
                          rf"\bhow many (?:{_LENGTH_UNIT_NOUNS})\b")),
    ("area", re.compile(rf"\b(?:area|surface)\b|\bhow many (?:{_AREA_UNIT_NOUNS})\b")),
    ("time", re.compile(r"\b(?:lifespan|life span|life expectancy|half-life|duration|gestation|reign|"
                        r"how long (?:did|does|do|will|can|could|would|had|has|have)\b)|"
                        rf"\bhow many (?:{_TIME_UNIT_NOUNS})\b")),
    ("mass", re.compile(rf"\bhow heavy\b|\b(?:weight|mass)\b|\bhow many (?:{_MASS_UNIT_NOUNS})\b")),
)


def asked_dimension(question: str) -> str | None:
    """The dimension of the measure a question asks ("length", "area", "time", "mass"), or None when it asks
    none or its wording leaves the dimension open ("How long is the Danube?" asks a length, "How long is the
    war?" a time: left open).

    >>> asked_dimension("How deep is the lake at its deepest?"), asked_dimension("How long did it last?")
    ('length', 'time')
    """
    if not asks_measure(question):
        return None
    q = main_clause(question).lower()
    found = [name for name, pattern in _ASKED_DIMENSION if pattern.search(q)]
    return found[0] if len(found) == 1 else None


def has_dimension(answer: str, dimension: str) -> bool:
    """Whether a measure answer carries a unit of `dimension` ("289 metres" is a length, "358 km2" is not)."""
    return _DIMENSION_UNITS[dimension].search(answer) is not None


def asks_measure(question: str) -> bool:
    """Whether the question asks for a measure, a number with its unit ("How long is its gestation
    period?" -> "seven months", "What is the area of this country?" -> "468 km2"), not a count."""
    return _MEASURE.search(main_clause(question).lower()) is not None


_ASKS_YEAR = re.compile(r"\b(?:which|what)\s+year\b")
# a year as written: "1882", "343 BC", "March 30, 1867" (not "2nd century", "Fourth of July", "100 years")
_YEAR = re.compile(r"(?<![\d,.])\d{1,4}(?![\d,]|\.\d|[^\W\d_]|\s*(?:years?|months?|weeks?|days?|hours?|"
                   r"minutes?|times|people|percent|%)\b)")


def asks_year(question: str) -> bool:
    """Whether the question asks for a year ("In which year did ...?", "What year ...?").

    >>> asks_year("In what year did aikido get its name?"), asks_year("When did he die?")
    (True, False)
    """
    return _ASKS_YEAR.search(main_clause(question).lower()) is not None


def holds_year(answer: str) -> bool:
    """Whether `answer` writes a year's number.

    >>> holds_year("1882"), holds_year("343 BC"), holds_year("March 30, 1867")
    (True, True, True)
    >>> holds_year("Fourth of July"), holds_year("the 2nd century"), holds_year("more than 100 years")
    (False, False, False)
    """
    return _YEAR.search(answer) is not None


def with_unit(text: str, start: int, end: int) -> int:
    """The end of the number `text[start:end]` with the unit written right after it ("468" + " km2",
    "two and a quarter" + " hours"); `end` when the span does not end with a number or no unit follows."""
    last = re.findall(r"[\w,.]+$", text[start:end])
    if not last or not (last[0][-1].isdigit() or last[0].lower() in _NUMBER_WORDS | {"quarter"}):
        return end
    unit = _UNIT.match(text, end)
    return unit.end() if unit else end


# spaCy (OntoNotes) entity labels a named answer may carry, by the noun the question asks about.
NAME_LABELS = frozenset(
    {"PERSON", "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE"}
)
_LABELS_BY_KIND = {
    "time": frozenset({"DATE", "TIME"}),
    "number": frozenset({"CARDINAL", "QUANTITY", "MONEY", "PERCENT"}),
}
_NOUN_LABELS: tuple[tuple[str, frozenset[str]], ...] = (
    ("person|man|woman|men|women|people|architect|artist|author|writer|painter|composer|poet|king|queen|"
     "president|emperor|actor|actress|singer|player|scientist|physicist|philosopher|leader|founder|father|"
     "mother|wife|husband|son|daughter|director|inventor|explorer|general|officer|commander|astronaut|"
     # relatives and roles ("Which brother of this king ...?"); not titles ("the Bishop of Urgell")
     "stepmother|stepfather|brother|sister|child|children|grandson|granddaughter|grandfather|grandmother|"
     "uncle|aunt|nephew|niece|cousin|companion|friend|lover|spouse|teacher|pupil|student|tutor|mentor|"
     "coach|heir|successor|predecessor|novelist|playwright|screenwriter|sculptor|musician|astronomer|"
     "historian|politician|statesman|admiral|monarch|ruler|dictator",
     frozenset({"PERSON"})),
    ("city|town|village|country|state|province|region|nation|capital|county|empire|kingdom|republic",
     frozenset({"GPE", "LOC", "NORP"})),
    ("island|river|mountain|lake|sea|ocean|continent|peninsula|desert|range|valley|bay|strait|point|peak",
     frozenset({"LOC", "GPE", "FAC"})),
    ("place|site|location", frozenset({"GPE", "LOC", "FAC"})),
    ("building|hall|hotel|bridge|airport|stadium|church|cathedral|museum|palace|tower|castle|theatre|theater",
     frozenset({"FAC", "ORG", "GPE"})),
    ("team|company|club|university|school|college|party|band|organi[sz]ation|agency|newspaper|army|navy",
     frozenset({"ORG", "NORP"})),
    ("battle|war|ceremony|festival|tournament|championship|revolution", frozenset({"EVENT", "GPE", "LOC"})),
    ("treaty|law|act|document|constitution|declaration", frozenset({"LAW", "WORK_OF_ART", "EVENT"})),
    ("book|novel|film|movie|song|album|play|poem|painting|opera|symphony|hymn|tune|work|series|show",
     frozenset({"WORK_OF_ART", "PRODUCT", "EVENT"})),
    ("language", frozenset({"LANGUAGE", "NORP"})),
    # "What is the nationality of this tennis player?" -> "American" (session 14)
    ("nationality|citizenship", frozenset({"NORP", "GPE"})),
)


_PHRASE_END_TEXT = (
    "a an the of in on at to for from by with and or is was were are be been has have had do does did can "
    "could will would this that these those his her its their he she it they"
)
_PHRASE_ENDS = frozenset(_PHRASE_END_TEXT.split())


def _category_labels(word: str) -> frozenset[str] | None:
    """The entity labels of a category noun ("composer" -> PERSON), None for any other word."""
    for pattern, labels in _NOUN_LABELS:
        if re.fullmatch(f"(?:{pattern})s?", word):
            return labels
    return None


def _wh_words(q: str) -> tuple[list[str], list[str]]:
    """(the up to 4 words after the lower-case question's first "which" / "what", those of them before the
    first function word: its wh-phrase); ([], []) without either wh-word."""
    wh = re.search(r"\b(which|what)\b((?: [\w-]+){0,4})", q)
    words = wh.group(2).split() if wh else []
    phrase: list[str] = []
    for at, word in enumerate(words):
        if word in _PHRASE_ENDS or _verb_after_noun(phrase, words[at + 1:at + 2]):
            break
        phrase.append(word)
    return words, phrase


_OBJECT_OPENERS = frozenset(["the", "a", "an", "this", "that", "these", "those", "his", "her", "its",
                             "their"])


def _verb_after_noun(phrase: list[str], following: list[str]) -> bool:
    """Whether the next word of a wh-phrase is its verb: it follows a category noun and an article or a
    possessive follows it ("which actress plays the ..." asks for an actress, not a play)."""
    return bool(phrase) and _category_labels(phrase[-1]) is not None and bool(following) \
        and following[0] in _OBJECT_OPENERS


def _number_labels(q: str) -> frozenset[str]:
    """Labels of a number answer: a count ("how many people") is no percentage or sum of money; a share is
    a percentage; a duration or an age ("how long", "how old") may be a date as spaCy labels it ("438
    days"; not for "how many years", which a bare year would then answer); "how much" and the rest may be
    any number label."""
    if re.search(r"\bwhat (percentage|percent|proportion|share)\b", q):
        return frozenset({"PERCENT"})
    if re.search(r"\bhow many\b", q) and not re.search(r"\bhow many (dollars|euros|pounds|percent)\b", q):
        return frozenset({"CARDINAL", "QUANTITY"})
    if re.search(r"\bhow (long|old)\b", q):
        # a duration or an age: "438 days", "three months", "33 years old" are DATEs to spaCy
        return _LABELS_BY_KIND["number"] | _LABELS_BY_KIND["time"]
    return _LABELS_BY_KIND["number"]


def expected_labels(question: str) -> frozenset[str] | None:
    """spaCy entity labels the answer to `question` should carry, or None (no named-entity constraint).

    Times and numbers map to DATE/TIME and CARDINAL/QUANTITY/MONEY/PERCENT; a named answer to the labels of
    the noun the question asks about ("which composer" -> PERSON, "which city" -> GPE/LOC/NORP, "where" ->
    GPE/LOC/FAC, "who" -> PERSON/ORG, and NORP for "who were/are"), else to every name label.

    >>> sorted(expected_labels("In which town was this philosopher born?"))
    ['GPE', 'LOC', 'NORP']
    >>> sorted(expected_labels("Who wrote this novel?"))
    ['ORG', 'PERSON']
    >>> sorted(expected_labels("Which Soviet film director made Solaris?"))
    ['PERSON']
    """
    question = main_clause(question)
    kind = expected_kind(question)
    if kind == "number":
        return _number_labels(question.lower())
    if kind in _LABELS_BY_KIND:
        return _LABELS_BY_KIND[kind]
    if kind != "name":
        return None
    q = question.lower()
    words, phrase = _wh_words(q)
    # the head of the wh-phrase is its last category noun before a function word ("which Soviet film
    # director made ..." asks for a director, not a film); "what is the capital of" has no such phrase:
    # the first category noun after the wh-word then
    found = [labels for labels in map(_category_labels, phrase) if labels is not None]
    if found:
        return found[-1]
    for word in words:
        labels = _category_labels(word)
        if labels is not None:
            return labels
    if re.search(r"\b(who|whom|whose)\b", q):
        # a people ("the Arawaks") answers "who were/are ...", not "who wrote / killed ..." ("Irish")
        people = re.search(r"\bwho (were|are)\b", q) is not None
        return frozenset({"PERSON", "ORG", "NORP"} if people else {"PERSON", "ORG"})
    if re.search(r"\bwhere\b", q):
        return frozenset({"GPE", "LOC", "FAC"})
    return NAME_LABELS


def focus_words(question: str) -> list[str]:
    """The words naming what the question asks for: its "which/what" phrase up to the first function word
    ("Which mountain range separates ..." -> mountain, range, separates) and the noun of "what/which/who
    is the X" ("What is the capital of ..." -> capital). The answer's sentence usually holds one of them
    ("Its capital and most populous city is Algiers"), however far from the answer; [] when none.

    >>> focus_words("What is the capital of the largest country in Africa?")
    ['capital']
    >>> focus_words("In which city was this man born?"), focus_words("When did he die?")
    (['city'], [])
    """
    q = question.lower()
    words = _wh_words(q)[1]
    copula = re.search(r"\b(?:what|which|who) (?:is|was|are|were) (?:the )?([\w-]+)", q)
    if copula is not None:
        words.append(copula.group(1))
    return words

"""An answer's edges (kvqae.read.edges): a copula clause dropped, a date completed with its year, a figure
without the phrase after it, a name with its designation, building, particles or given name, a hyphenated
word whole; spans by hand."""

from __future__ import annotations

from kvqae.read.edges import (
    complete_date,
    complete_name,
    drop_copula_clause,
    drop_quantity_tail,
    drop_trailing_function_words,
    whole_hyphenated,
    with_era,
    year_of_range,
)


def edged(fn, text: str, span: str, *args: str) -> str:
    start = text.index(span)
    a, b = fn(text, start, start + len(span), *args)
    return text[a:b]


def test_drop_copula_clause_by_hand():
    text = "The largest structure ever built of adobe is the Bam Citadel, in Iran."
    assert edged(drop_copula_clause, text, "adobe is the Bam Citadel") == "the Bam Citadel"
    tai = "TAI is exactly 36 seconds ahead of UTC."
    assert edged(drop_copula_clause, tai, "TAI is exactly 36") == "exactly 36"
    film = "He starred in Paris Is Burning in 1990."
    assert edged(drop_copula_clause, film, "Paris Is Burning") == "Paris Is Burning"  # a title's "Is"
    long = "the only fruit that the animal eats in the wild is the aardvark cucumber"
    assert edged(drop_copula_clause, long, long) == long  # a whole clause before it: not an answer's edge
    assert edged(drop_copula_clause, "it is", "it is") == "it is"  # nothing after the copula


def test_complete_date_by_hand():
    text = "Apollo 11 was launched on July 16, 1969, from the Kennedy Space Center."
    question = "On what date was Apollo 11 launched?"
    assert edged(complete_date, text, "July 16", question) == "July 16, 1969"
    assert edged(complete_date, text, "July 16", "When was Apollo 11 launched?") == "July 16, 1969"
    assert edged(complete_date, text, "July 16", "On which day of July was it launched?") == "July 16"
    assert edged(complete_date, text, "July 16", "Who launched it?") == "July 16"  # not a date question
    assert edged(complete_date, text, "July 16, 1969", question) == "July 16, 1969"
    british = "It landed on 20 July 1969 in the Sea of Tranquility."
    assert edged(complete_date, british, "20 July", "When did it land?") == "20 July 1969"
    no_year = "It landed on 20 July after four days."
    assert edged(complete_date, no_year, "20 July", "When did it land?") == "20 July"


def test_drop_quantity_tail_by_hand():
    text = "It was shown in 2005 in Aichi Prefecture at the Expo."
    assert edged(drop_quantity_tail, text, "2005 in Aichi Prefecture", "In what year was it shown?") == "2005"
    age = "At eighteen, Aristotle joined Plato's Academy."
    assert edged(drop_quantity_tail, age, "eighteen, Aristotle", "At what age did he join?") == "eighteen"
    date = "It launched on July 16, 1969, from Florida."
    assert edged(drop_quantity_tail, date, "July 16, 1969", "When did it launch?") == "July 16, 1969"
    assert edged(drop_quantity_tail, date, "on July 16, 1969", "When did it launch?") == "on July 16, 1969"
    assert edged(drop_quantity_tail, text, "2005 in Aichi Prefecture", "Where was it shown?") == (
        "2005 in Aichi Prefecture")  # a place question: not a figure's tail
    span = "18 years and 11 months"
    assert edged(drop_quantity_tail, span, span, "How old was it?") == span


def test_complete_name_by_hand():
    rocket = "Apollo 8 was the third flight of the Saturn V rocket and its first crewed launch."
    assert edged(complete_name, rocket, "Saturn", "Which rocket launched this mission?") == "Saturn V"
    jets = "Its equipment includes six Russian-manufactured Sukhoi Su-27 fighter aircraft."
    assert edged(complete_name, jets, "Sukhoi", "Which fighter aircraft does it fly?") == "Sukhoi Su-27"
    king = "Louis XIV of France built it."
    assert edged(complete_name, king, "Louis", "Which king built it?") == "Louis XIV"
    theatre = "It was screened in 2001 at the Grauman's Egyptian Theatre in Hollywood."
    assert edged(complete_name, theatre, "Grauman", "At which theatre was it screened?") == (
        "Grauman's Egyptian Theatre")
    assert edged(complete_name, theatre, "Grauman", "Who owned the theatre?") == "Grauman"  # a person asked
    speech = "Lincoln's Gettysburg Address was short."
    assert edged(complete_name, speech, "Lincoln", "Which speech?") == "Lincoln"  # no building after it
    years = "It was rebuilt in Warsaw 1944 to 1950, after Apollo 11, 12 and 747-400 models."
    assert edged(complete_name, years, "Warsaw", "Where was it rebuilt?") == "Warsaw"  # a year, not a number
    assert edged(complete_name, rocket, "Saturn", "In what year was the Saturn launched?") == "Saturn"
    assert edged(complete_name, rocket, "third flight", "Which flight?") == "third flight"  # no name
    # a surname's particle and its words; not "of" (the king's country goes past his name)
    angola = "In the first round José Eduardo dos Santos won 49.6% of the vote."
    assert edged(complete_name, angola, "José Eduardo", "Who won the first round?") == (
        "José Eduardo dos Santos")
    painter = "He admired Vincent van Gogh and Paul Gauguin."
    assert edged(complete_name, painter, "Vincent", "Which painter did he admire?") == "Vincent van Gogh"
    assert edged(complete_name, "Paris de facto was the capital.", "Paris", "Which city?") == "Paris"


def test_complete_name_past_particles_and_an_accented_given_name():
    broek = "A month later, Antonius van den Broek first formally proposed it."
    assert edged(complete_name, broek, "Antonius van", "Who proposed it?") == "Antonius van den Broek"
    assert edged(complete_name, broek, "Antonius", "Who proposed it?") == "Antonius van den Broek"
    cut = "He met Antonius van der"  # no surname after the particles
    assert edged(complete_name, cut, "Antonius van", "Who?") == "Antonius van"
    cohl = "In Europe, the French artist, Émile Cohl, created the first film."
    assert edged(complete_name, cohl, "Cohl", "Which French artist made it?") == "Émile Cohl"
    # plain capitalised words before a name are left alone: a sentence opener, a title
    assert edged(complete_name, "Later Einstein moved to Bern.", "Einstein", "Who moved?") == "Einstein"
    assert edged(complete_name, "It was President Lincoln.", "Lincoln", "Who was it?") == "Lincoln"
    assert edged(complete_name, cohl, "Cohl", "When did Cohl make it?") == "Cohl"  # a date asked


def test_whole_hyphenated_by_hand():
    andorra = "Andorra is the sixth-smallest nation in Europe, and the Baum-Connes conjecture is not."
    assert edged(whole_hyphenated, andorra, "sixth") == "sixth-smallest"
    assert edged(whole_hyphenated, andorra, "Connes") == "Baum-Connes"
    assert edged(whole_hyphenated, andorra, "nation") == "nation"
    war = "It lasted from 1914-1918 and a 9-year-old saw it."
    assert edged(whole_hyphenated, war, "1914") == "1914"  # figures across the hyphen stay apart
    assert edged(whole_hyphenated, war, "9") == "9"


def test_drop_trailing_function_words_by_hand():
    text = "It reflects events leading up to the Russian Revolution of 1917 and then on."
    assert edged(drop_trailing_function_words, text, "the Russian Revolution of") == "the Russian Revolution"
    kept = "Revolution of 1917 and then"  # "then" is no function word
    assert edged(drop_trailing_function_words, text, kept) == kept
    assert edged(drop_trailing_function_words, "He went to", "to") == "to"  # nothing else would be left
    assert edged(drop_trailing_function_words, "Its symbol is Z. The", "Z. The") == "Z."  # the next sentence
    assert edged(drop_trailing_function_words, "From Latin A came", "Latin A") == "Latin A"  # a letter


def test_with_era_by_hand():
    """Session 31: "From roughly which century BC were bricks of this material used?" read "8th century"
    (gold "8th century B.C."): the era after a date is its own."""
    when = "When were they first used?"
    assert edged(with_era, "from the 8th century B.C. on", "8th century", when) == "8th century B.C."
    assert edged(with_era, "dating to c. 3400 BC, the earliest", "c. 3400", when) == "c. 3400 BC"
    assert edged(with_era, "in the 5th century BC.", "5th century", when) == "5th century BC"
    assert edged(with_era, "founded in 1850 AD by", "1850", when) == "1850 AD"
    assert edged(with_era, "in 1850 ADHD", "1850", when) == "1850"  # a word, no era
    assert edged(with_era, "the 5th century BC", "5th century BC", when) == "5th century BC"  # has one
    assert edged(with_era, "about 1850 AD", "1850", "How many were there?") == "1850"  # no date asked


def test_year_of_range_by_hand():
    """Session 31: "Until which year did New Jersey have its Court of Errors and Appeals?" read "1844 to
    1947"; the range's end answers "until which year", its start "since which year"."""
    text = "from 1844 to 1947 the court sat"
    assert edged(year_of_range, text, "1844 to 1947", "Until which year did the court sit?") == "1947"
    assert edged(year_of_range, text, "1844 to 1947", "Since which year has the court sat?") == "1844"
    assert edged(year_of_range, text, "1844 to 1947", "In which year was it created?") == "1844 to 1947"
    assert edged(year_of_range, text, "1844 to 1947", "Until when did the court sit?") == "1844 to 1947"

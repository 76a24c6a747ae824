"""The detector of identifying details in a good story (DESIGN.md, "Good stories: what pseudonymised
means"), and the proposal built on it.

One mechanism: a list of compiled patterns for what has a shape (CPR and phone numbers, e-mail
addresses, dates, exact ages), plus word lists for what has to be known (the names of the citizen,
relatives, the GP and the staff; the citizen's address and town) and for every Danish town. Every
match of every pattern is collected; overlapping matches are merged, so that no part of an identifier
survives because two patterns each saw half of it, and parts of one person's name side by side
("Helle Mathiasen" when the name is "Helle Marie Mathiasen") are one match. `pseudonymise` replaces
each merged match by a neutral word, and running the detector again on its result finds nothing (the
property tests hold it to that)."""

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field


class Kind:
    CPR = "cpr"
    PHONE = "phone"
    EMAIL = "email"
    DATE = "date"
    AGE = "age"
    NAME = "name"
    PLACE = "place"


@dataclass(frozen=True)
class Match:
    """One identifying detail: `start` and `end` in the text as written, `text` as its reader sees
    it (without invisible characters, letters composed; see `_as_read`)."""

    kind: str
    text: str
    start: int
    end: int


MONTHS = "januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december"
MONTH_ABBREVIATIONS = "jan|feb|mar|apr|jun|jul|aug|sept|sep|okt|nov|dec"
WEEKDAYS = "mandag|tirsdag|onsdag|torsdag|fredag|lørdag|søndag"
_MONTH = rf"(?:(?:{MONTHS})(?!\w)|(?:{MONTH_ABBREVIATIONS})(?!\w)\.?)"
_DAY = r"(?:0?[1-9]|[12]\d|3[01])(?!\d)"
_MONTH_NO = r"(?:0?[1-9]|1[0-2])(?!\d)"
_YEAR = r"(?:(?:19|20)\d{2}|'?\d{2})"
_FULL_YEAR = r"(?:(?:19|20)\d{2}|'\d{2})"  # after a month name "24" may be a count ("maj 24 gange")
# Between the digits of a number written in groups: a space (also a no-break space), a point or a dash.
# Between a CPR number's date and serial also a dash with spaces around it, which a word processor makes
# an en dash; elsewhere that is a range ("1.200 - 1.500 skridt").
_GAP = r"[ \t\u00a0\u202f]"
_SEP = rf"(?:[.\-–]|{_GAP})?"
_TEN_DIGITS = _SEP.join([r"\d"] * 6) + rf"(?:{_GAP}?[-–]{_GAP}?|{_SEP})" + _SEP.join([r"\d"] * 4)
_EIGHT_DIGITS = _SEP.join([r"\d"] * 8)
_YEAR_SPAN = r"(?:19|20)\d\d\s?[-–]\s?(?:19|20)\d\d(?!\d)"

# Shapes, most specific first: where two patterns match the same text, the earlier one names it.
PATTERNS: list[tuple[str, re.Pattern]] = [
    (Kind.EMAIL, re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # Ten digits in any grouping: 120345-1234, 1203451234, 120345 1234, 12 03 45 12 34.
    (Kind.CPR, re.compile(rf"(?<![\w+]){_TEN_DIGITS}(?!\w)")),
    (
        Kind.DATE,
        re.compile(
            "|".join(
                [
                    # Weekday and day: "mandag den 3.", "fredag d. 12/3", "tirsdag 4. juni 2024".
                    rf"(?:{WEEKDAYS})(?:\s+(?:den|d\.)\s+{_DAY}\.?|\s+{_DAY}\.)"
                    rf"(?:\s*{_MONTH}|[./]{_MONTH_NO}\b)?(?:\s+{_FULL_YEAR}\b)?",
                    # Day and month name: "3. juni", "12 marts 2025", "1. feb. '24".
                    rf"\b{_DAY}\.?\s*{_MONTH}(?:\s+{_FULL_YEAR}\b)?",
                    # Month name and year: "juni 2024", "marts '24", "marts i 2024".
                    rf"(?<!\w){_MONTH}(?:\s+i)?\s*{_FULL_YEAR}\b",
                    # Numbers: 12.03.2025, 12/3, 3/4, 12/3-25, 12/3 1945, 12-03-2025 (a dash alone is a range:
                    # 2-3 gange), not a time ("kl. 10.05").
                    rf"(?<!kl\.\s)\b{_DAY}[./]{_MONTH_NO}(?:[./-]{_YEAR}|\s(?:19|20)\d{{2}}(?!\d))?(?![\w/])",
                    rf"\b{_DAY}-{_MONTH_NO}-{_YEAR}(?!\w)",
                    # ISO dates, and month and year: 2025-03-12, 2025-03, 03/2025.
                    r"\b(?:19|20)\d{2}-(?:0?[1-9]|1[0-2])(?:-(?:0?[1-9]|[12]\d|3[01]))?\b",
                    rf"\b{_MONTH_NO}[./-](?:19|20)\d{{2}}\b",
                    # A year of birth is an exact age: "født i 1945", "født 1945", "f. 1945", "årgang 1945".
                    r"(?:(?<=født\s)|(?<=født\si\s)|(?<=\bf\.\s)|(?<=årgang\s))(?:19|20)\d{2}(?!\d)",
                ]
            ),
            re.IGNORECASE,
        ),
    ),
    # Eight digits in any grouping, with or without +45 or 0045: 12345678, 12 34 56 78, +45 1234 5678.
    # A span of years ("2023-2024") is not a phone number.
    (Kind.PHONE, re.compile(rf"(?<![\w+])(?!{_YEAR_SPAN})(?:(?:\+|00)\s?45{_SEP})?{_EIGHT_DIGITS}(?!\w)")),
    # An exact age of 10 or more: "82 år", "82-årig", "82 år gammel". A band ("80-84 år") is not matched.
    (Kind.AGE, re.compile(r"(?<![\w.,/-])(?P<age>[1-9]\d|1[01]\d)(?:\s?-?\s?år(?:ig\w*)?|\s?års)(?!\w)", re.I)),
]

# Before "N år" these words make a duration ("i 12 år", "de sidste 20 år"), not an age.
# fmt: off
DURATION_WORDS = frozenset([
    "i", "for", "efter", "gennem", "igennem", "over", "under", "om", "sidste", "seneste", "første", "næste",
    "hvert", "inden", "siden", "de", "knap",
])

# Names that are also ordinary words in a story ("bo hjemme", "per uge", "hans kone", "tage medicin"):
# they count as a name only when written with a capital letter. Rarer words ("lærke", "helle") are
# not here: masking the odd lark costs less than letting a name through.
ORDINARY_WORDS = frozenset([
    "april", "august", "bager", "bo", "bonde", "bro", "dam", "due", "fisker", "frisk", "gammel", "hans", "have",
    "holm", "høj", "kok", "kær", "lang", "lange", "line", "liv", "lund", "lykke", "maj", "mark", "møller", "nord",
    "ny", "per", "post", "rask", "sand", "sine", "skov", "smed", "sol", "sommer", "sort", "sten", "store", "storm",
    "tage", "tom", "vest", "vinter", "øster",
])
# fmt: on

# Forms of address and titles are not names: "Fru Hansen" in a name field gives "Hansen" only, and a
# story may say "fru", "hr." or "dr." freely. The small words of compound names ("Anna de Vries",
# "Hansen og Berg") are kept inside the whole name but are never a name alone, or every "de" and "og"
# in a story would be masked.
FORMS_OF_ADDRESS = frozenset(["fru", "hr", "herr", "frk", "frøken", "dr", "læge"])
NAME_PARTICLES = frozenset(["og", "de", "den", "der", "van", "von", "la", "le", "af", "du", "da", "di"])
# Written before a name in a story, a form of address is part of the match: "Fru Jensen" is one person.
_ADDRESS = r"(?:(?:[Ff]ru|FRU|[Hh]r\.|HR\.|[Hh]r|HR|[Hh]err|[Ff]rk\.|FRK\.|[Ff]rk|[Ff]røken|[Dd]r\.)\s+)"

MIN_WORD = 2  # a single letter is never treated as a name or a place
_GENITIVE = r"(?i:es|s|['’]s?)?"
_GENITIVE_SUFFIXES = ("'s", "’s", "es", "s", "'", "’")
_HOUSE_NUMBER = r"(?:\s+\d{1,4}(?:[a-zA-Z]|\s?[A-Z])?(?!\w))?"  # Birkevej 12, 12B, 12 B
_DISTRICT = re.compile(r"\s+(?:[A-ZÆØÅ]{1,2})$")  # Aarhus C, København SV


def _bare(word: str) -> str:
    return word.strip(".").lower()


def _name_terms(names: Iterable[str]) -> set[str]:
    """Each name as given and each of its parts, so that "Hanne Jensen" is found as "Hanne" too;
    never a form of address or a particle alone."""
    terms = set()
    for given in names:
        words = [w for w in (given or "").split() if _bare(w.rstrip(",")) not in FORMS_OF_ADDRESS]
        name = " ".join(words).strip(" ,")
        if len(re.sub(r"\W", "", name)) >= MIN_WORD:
            terms.add(name)
        # The parts of a double name too: "Anne-Marie Bech-Jensen" is also "Marie" and "Jensen".
        terms.update(
            part
            for part in re.split(r"[\s,]+|(?<=\w)-(?=\w)", name)
            if len(part.strip(".")) >= MIN_WORD and _bare(part) not in NAME_PARTICLES
        )
    return terms


def place_terms(places: Iterable[str]) -> set[str]:
    """The words of an address that point to a place: "Birkevej 12, 1. th." gives "Birkevej";
    "8000 Aarhus C" gives "8000", "Aarhus C" and "Aarhus". Street numbers are matched by the pattern."""
    terms = set()
    for place in places:
        for piece in (place or "").split(","):
            part = " ".join(piece.split())
            for code in re.findall(r"\b\d{4}\b", part):
                terms.add(code)
            words = re.match(r"[^\d]*", part).group().strip(" .")
            if len(words) < MIN_WORD or not re.search(r"[^\W\d_]{2}", words):
                continue
            terms.add(words)
            without_district = _DISTRICT.sub("", words)
            terms.add(without_district)
            # A town of several words is also named by its distinctive part: "Kongens Lyngby" as "Lyngby".
            terms.update(w for w in without_district.split() if len(w) >= 4 and w.lower() not in ORDINARY_WORDS)
    return {t for t in terms if len(t) >= MIN_WORD}


# --- towns ---------------------------------------------------------------------------------------------------
# Any Danish town, not only the citizen's: "Hun bor i Kerteminde" is as telling as the citizen's own. Faker's
# da_DK address provider keeps a list of some 550 towns; it lacks Aarhus, a few districts and the names of the
# municipalities and islands that are used as place names.
# fmt: off
MORE_TOWNS = frozenset([
    "Aarhus", "Lyngby", "Tranbjerg", "Viby", "Amager", "Nørrebro", "Vesterbro", "Østerbro", "Christianshavn",
    "Nordhavn", "Sydhavn", "Vollsmose", "Gellerup", "Hasseris", "Falster", "Møn", "Tåsinge", "Bornholm",
    "Lolland", "Langeland", "Ærø", "Mors", "Copenhagen",
    # The 98 municipalities, where Faker does not have them already.
    "Albertslund", "Allerød", "Egedal", "Faaborg-Midtfyn", "Favrskov", "Faxe", "Furesø", "Gladsaxe", "Gribskov",
    "Guldborgsund", "Halsnæs", "Høje-Taastrup", "Høje Taastrup", "Ikast-Brande", "Jammerbugt", "Lyngby-Taarbæk",
    "Mariagerfjord", "Morsø", "Norddjurs", "Nordfyn", "Nordfyns", "Odsherred", "Rebild", "Ringkøbing-Skjern",
    "Rudersdal", "Solrød", "Stevns", "Syddjurs", "Tårnby", "Vesthimmerland",
])
# What follows a town in Faker's list to tell it from another one ("Viby J", "Hurup Thy", "Ans by"): the town
# is named without it too.
TOWN_QUALIFIERS = frozenset([
    "J", "F", "M", "Sj", "C", "Thy", "Sjælland", "Stevns", "Ærø", "Djurs", "Fyn", "Øst", "by", "By", "Strand", "Kyst",
])
# Towns that are also everyday words ("Vejen er lang", "Mørke tanker", "Ringe søvn", "Hals og ryg"): at the
# start of a sentence, where every word has a capital letter, they are taken as the word. Inside a
# sentence the capital letter makes them the town.
AMBIGUOUS_TOWNS = frozenset([
    "balle", "beder", "borre", "brande", "bro", "bække", "fur", "galten", "gesten", "give", "gram", "hals",
    "hampen", "hemmet", "henne", "humble", "knebel", "lem", "lemming", "løsning", "mors", "mørke", "ringe",
    "rude", "ry", "skive", "stege", "tarm", "them", "tim", "vandel", "varde", "vejen", "vig", "vrå",
])
# fmt: on
_DISTRICT_AFTER_TOWN = r"(?:[ ]+[A-ZÆØÅ]{1,2}(?!\w))?"  # Aarhus C, København NV, Odense SØ


@functools.cache
def town_names() -> frozenset[str]:
    """Every Danish town name this module knows, written as a proper noun: built once, on first use."""
    from faker.providers.address.da_DK import Provider

    names = set(Provider.cities) | MORE_TOWNS
    for town in list(names):
        words = town.split()
        if len(words) > 1 and words[-1] in TOWN_QUALIFIERS:
            names.add(" ".join(words[:-1]))
    # Aa and Å are the same letter, spelled either way: Aarhus and Århus, Aabenraa and Åbenraa.
    for town in list(names):
        if town.startswith("Aa"):
            names.add("Å" + town[2:])
        elif town.startswith("Å"):
            names.add("Aa" + town[1:])
    return frozenset(n for n in names if len(n) >= MIN_WORD and n[0].isupper())


@functools.cache
def _town_pattern() -> re.Pattern:
    """Whole words with their capital letter, or in capitals when long enough not to be an abbreviation
    (RY, LEM); longest first, so that "Kongens Lyngby" is one match and "Lyngby-Taarbæk" is not two."""
    alternatives = []
    for town in sorted(town_names(), key=lambda t: (-len(t), t)):
        alternatives.append(r"\s+".join(re.escape(word) for word in town.split()))
        if len(town) >= 4:
            alternatives.append(r"\s+".join(re.escape(word.upper()) for word in town.split()))
    return re.compile(rf"(?<!\w)(?P<town>{'|'.join(alternatives)}){_DISTRICT_AFTER_TOWN}{_GENITIVE}(?!\w)")


# --- sentences -----------------------------------------------------------------------------------------------
# A full stop after these does not end a sentence ("f.eks. Karen", "kl. 10"); nor does one after a
# number of one or two digits, an ordinal ("for 3. gang").
# fmt: off
ABBREVIATIONS = frozenset([
    "ca", "evt", "pga", "inkl", "ift", "mht", "jf", "jvf", "kl", "nr", "hr", "frk", "dr", "tlf", "bl.a", "f.eks",
    "fx", "dvs", "vha", "iflg", "ifm", "ang", "vedr", "gl", "st", "sml", "mfl", "m.fl", "d",
])
# fmt: on
_OPENING = " \t\r\n\u00a0\"'“”„«»‘’(–—-•*"


def at_sentence_start(text: str, position: int) -> bool:
    """Whether the word at `position` begins the text, a line or a sentence (after . ! ? and
    whitespace), with any opening quotes or dashes before it."""
    before = text[:position]
    head = before.rstrip(_OPENING)
    gap = before[len(head) :]
    if not head.strip() or "\n" in gap:
        return True
    if head[-1] not in ".!?" or not any(c.isspace() for c in gap):
        return False
    if head[-1] != ".":
        return True
    word = re.search(r"(\S*)\.$", head).group(1).lstrip("(\"'“„«‘").lower()
    return word not in ABBREVIATIONS and not re.fullmatch(r"\d{1,2}", word)


def _phone_pattern(phones: Iterable[str]) -> re.Pattern | None:
    """Given numbers in any grouping, also those that are not eight Danish digits."""
    alternatives = set()
    for phone in phones:
        digits = re.sub(r"\D", "", phone or "")
        digits = re.sub(r"^(?:0045|45)(?=\d{8}$)", "", digits)
        if len(digits) >= 5:
            alternatives.add(_SEP.join(digits))
    if not alternatives:
        return None
    body = "|".join(sorted(alternatives, key=len, reverse=True))
    return re.compile(rf"(?<![\w+])(?:(?:\+|00)\s?\d{{1,3}}[ .-]?)?(?:{body})(?!\w)")


def _word_pattern(terms: Iterable[str], *, house_number: bool = False, address: bool = False) -> re.Pattern | None:
    """Whole words, case-insensitive, with the Danish genitive (Karens, Jens', Hannes), longest
    first so that "Karen Jensen" is one match. Ordinary words only with a capital letter. A name
    takes the form of address before it along ("Fru Jensen")."""
    alternatives = []
    for term in sorted(set(terms), key=lambda t: (-len(t), t)):
        escaped = r"\s+".join(re.escape(part) for part in term.split())
        if term.lower() in ORDINARY_WORDS:
            alternatives.append(f"{re.escape(term.capitalize())}|{re.escape(term.upper())}")
        else:
            alternatives.append(f"(?i:{escaped})")
    if not alternatives:
        return None
    number = _HOUSE_NUMBER if house_number else ""
    before = f"{_ADDRESS}?" if address else ""
    return re.compile(rf"(?<!\w){before}(?:{'|'.join(alternatives)}){_GENITIVE}{number}(?!\w)")


@dataclass(frozen=True)
class _Detector:
    patterns: list[tuple[str, re.Pattern]]
    name_terms: frozenset[str] = field(default_factory=frozenset)  # lower case

    def find(self, written: str) -> list[Match]:
        text, starts, ends = _as_read(written)
        found: list[tuple[int, int, int, str]] = []  # start, end, priority, kind
        for priority, (kind, pattern) in enumerate(self.patterns):
            for hit in pattern.finditer(text):
                if hit.end() == hit.start():
                    continue
                if kind == Kind.AGE and _previous_word(text, hit.start()) in DURATION_WORDS:
                    continue
                if (
                    "town" in pattern.groupindex
                    and hit.group("town").lower() in AMBIGUOUS_TOWNS
                    and at_sentence_start(text, hit.start())
                ):
                    continue
                found.append((hit.start(), hit.end(), priority, kind))
        found.sort(key=lambda f: (f[0], -(f[1] - f[0]), f[2]))
        merged: list[list] = []
        for start, end, _priority, kind in found:
            if merged and start < merged[-1][1]:
                # Overlaps the previous match: one match over both, named by the longer (or earlier) pattern.
                previous = merged[-1]
                previous[1] = max(previous[1], end)
                continue
            if merged and kind == Kind.NAME and self._one_name(text, merged[-1], start):
                merged[-1][1] = end
                continue
            merged.append([start, end, kind])
        return [
            Match(kind=kind, text=text[start:end], start=starts[start], end=ends[end - 1])
            for start, end, kind in merged
        ]

    def _one_name(self, text: str, previous: list, start: int) -> bool:
        """Two parts of names with only a space between are one person ("Helle Mathiasen" when the
        name is "Helle Marie Mathiasen"), unless the first is a genitive: "Karens Hanne" is two."""
        if previous[2] != Kind.NAME or not re.fullmatch(r"[ \t\u00a0]*\n?[ \t\u00a0]*", text[previous[1] : start]):
            return False
        if previous[1] == start:
            return False
        first = _without_address(" ".join(text[previous[0] : previous[1]].split())).lower()
        return first in self.name_terms


# Characters nobody sees: a soft hyphen or a zero-width space a paste brings along inside a word,
# direction marks, a word joiner, a byte-order mark.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def _as_read(written: str) -> tuple[str, list[int] | range, list[int] | range]:
    """The text as its reader sees it, which is what the patterns must look at: invisible
    characters left out and letters composed (macOS pastes "å" as "a" and a ring). With, for each
    character of it, where it starts and ends in the text as written."""
    if not _INVISIBLE.search(written) and unicodedata.is_normalized("NFC", written):
        return written, range(len(written)), range(1, len(written) + 1)
    clusters: list[list] = []  # [letters, start, end]: a letter with the marks that follow it
    for position, char in enumerate(written):
        if _INVISIBLE.match(char):
            continue
        if clusters and unicodedata.combining(char):
            clusters[-1][0] += char
            clusters[-1][2] = position + 1
        else:
            clusters.append([char, position, position + 1])
    text, starts, ends = [], [], []
    for letters, start, end in clusters:
        for char in unicodedata.normalize("NFC", letters):
            text.append(char)
            starts.append(start)
            ends.append(end)
    return "".join(text), starts, ends


def _without_address(name: str) -> str:
    return re.sub(rf"^{_ADDRESS}", "", name)


def _previous_word(text: str, position: int) -> str:
    words = re.findall(r"\w+", text[max(0, position - 30) : position])
    return words[-1].lower() if words else ""


def _detector(*, names: Iterable[str], places: Iterable[str], phones: Iterable[str], emails: Iterable[str]):
    patterns = list(PATTERNS)
    given_phones = _phone_pattern(phones)
    if given_phones is not None:
        patterns.append((Kind.PHONE, given_phones))
    given_emails = [re.escape(e.strip()) for e in emails if e and e.strip()]
    if given_emails:
        patterns.append((Kind.EMAIL, re.compile("|".join(given_emails), re.IGNORECASE)))
    name_terms = _name_terms(names)
    name_pattern = _word_pattern(name_terms, address=True)
    if name_pattern is not None:
        patterns.append((Kind.NAME, name_pattern))
    place_pattern = _word_pattern(place_terms(places), house_number=True)
    if place_pattern is not None:
        patterns.append((Kind.PLACE, place_pattern))
    patterns.append((Kind.PLACE, _town_pattern()))
    return _Detector(patterns, frozenset(" ".join(t.split()).lower() for t in name_terms))


def find_identifiers(
    text: str,
    *,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
) -> list[Match]:
    """Every identifying detail in the text, in order, overlapping ones merged."""
    return _detector(names=names, places=places, phones=phones, emails=emails).find(text)


NEUTRAL = {
    Kind.CPR: "[CPR]",
    Kind.PHONE: "[telefon]",
    Kind.EMAIL: "[e-mail]",
    Kind.DATE: "[dato]",
    Kind.PLACE: "[sted]",
    Kind.NAME: "[navn]",
}
CITIZEN = "borgeren"
RELATIVE = "den pårørende"


def age_band(age: int) -> str:
    low = age - age % 5
    return f"{low}-{low + 4}"


def pseudonymise(
    text: str,
    *,
    citizen_names: Iterable[str] = (),
    relative_names: Iterable[str] = (),
    other_names: Iterable[str] = (),
    places: Iterable[str] = (),
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
) -> str:
    """The proposal the author checks: every match replaced by a neutral word. The citizen becomes
    "borgeren" and a relative "den pårørende" (genitive kept: "borgerens"; a capital letter where a
    sentence begins); any other name "[navn]"; an exact age its 5-year band ("80-84 år")."""
    citizen_terms, relative_terms = _name_terms(citizen_names), _name_terms(relative_names)
    role = {_key(t): RELATIVE for t in relative_terms} | {_key(t): CITIZEN for t in citizen_terms}
    names = [*citizen_terms, *relative_terms, *other_names]
    every_name = {_key(t) for t in _name_terms(names)}
    matches = find_identifiers(text, names=names, places=places, phones=phones, emails=emails)
    pieces, position = [], 0
    for match in matches:
        pieces.append(text[position : match.start])
        neutral = _neutral(match, role, every_name)
        if neutral[:1].islower() and at_sentence_start(text, match.start):
            neutral = neutral[0].upper() + neutral[1:]
        pieces.append(neutral)
        position = match.end
    pieces.append(text[position:])
    return "".join(pieces)


def _key(name: str) -> str:
    return " ".join(name.split()).lower()


def _neutral(match: Match, role: dict[str, str], every_name: set[str]) -> str:
    if match.kind == Kind.AGE:
        age = re.match(r"\d+", match.text)
        return age_band(int(age.group())) + match.text[age.end() :]
    if match.kind != Kind.NAME:
        return NEUTRAL[match.kind]
    found = _key(_without_address(" ".join(match.text.split())))
    whole = _person(found, role)
    if whole is not None:
        return whole
    # Parts of one name next to each other ("Helle Mathiasen"): the first part says who it is, the
    # last whether it is a genitive.
    words = found.split()
    if len(words) > 1 and words[0] in role:
        last = words[-1]
        genitive = last not in every_name and any(
            last.endswith(suffix) and last[: -len(suffix)] in every_name for suffix in _GENITIVE_SUFFIXES
        )
        return role[words[0]] + ("s" if genitive else "")
    return NEUTRAL[Kind.NAME]


def _person(found: str, role: dict[str, str]) -> str | None:
    if found in role:
        return role[found]
    for suffix in _GENITIVE_SUFFIXES:
        if found.endswith(suffix) and found[: -len(suffix)] in role:
            return role[found[: -len(suffix)]] + "s"
    return None

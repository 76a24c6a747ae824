"""Hostile input, CPR and phone numbers (issue 10): properties over generated numbers and over any text.

Whatever is typed, `parse_cpr` gives ten ASCII digits with their facts or a ValidationError with a
message for the user, never another exception; every valid number survives formatting and parsing;
the ways people write the same number (dash or not, spaces, tabs, a pasted no-break space) give the
same number."""

import datetime
import re
import string

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from patients.cpr import formatted, mask, normalise, parse_cpr
from patients.phones import parse_phone

CPR_CODES = {"cpr_format", "cpr_date", "cpr_future"}
TEN_ASCII_DIGITS = re.compile(r"[0-9]{10}")


def century(seventh_digit: int, year: int) -> int:
    """The CPR office's table: the seventh digit and the two-digit year give the century."""
    if seventh_digit in (0, 1, 2, 3):
        return 1900
    if seventh_digit in (4, 9):
        return 2000 if year <= 36 else 1900
    return 2000 if year <= 57 else 1800


@st.composite
def valid_numbers(draw) -> tuple[str, datetime.date, str]:
    """A number that could have been issued: a real birth date up to today, a seventh digit that
    places it in its century, any last three digits."""
    birth = draw(st.dates(min_value=datetime.date(1858, 1, 1), max_value=timezone.localdate()))
    yy = birth.year % 100
    sevenths = [s for s in range(10) if century(s, yy) + yy == birth.year]
    serial = f"{draw(st.sampled_from(sevenths))}{draw(st.integers(0, 999)):03d}"
    sex = "male" if int(serial[-1]) % 2 else "female"
    return f"{birth:%d%m%y}{serial}", birth, sex


def parse_or_refuse(text: str):
    """The only two outcomes allowed: the facts, or a ValidationError for the user."""
    try:
        return parse_cpr(text)
    except ValidationError as error:
        assert error.code in CPR_CODES, error.code
        assert str(error.messages[0])
        return None


@settings(max_examples=200)
@given(valid_numbers())
def test_every_valid_number_survives_formatting_and_parsing(case):
    number, birth, sex = case
    for written in (number, formatted(number)):
        facts = parse_cpr(written)
        assert (facts.number, facts.birth_date, facts.sex) == (number, birth, sex)
    assert formatted(number) == f"{number[:6]}-{number[6:]}"
    assert mask(number) == f"{number[:6]}-XXXX"


# Between the date and the serial, and around the whole: what people type and what a paste brings.
GAPS = st.sampled_from(["", "-", " ", " - ", "  -", "\t", "\u00a0", "-\u00a0", " -\t"])
AROUND = st.sampled_from(["", " ", "  ", "\t", "\n", "\u00a0", " \r\n"])


@settings(max_examples=200)
@given(valid_numbers(), GAPS, AROUND, AROUND)
@example(("0101501233", datetime.date(1950, 1, 1), "male"), "\t", "", "")
@example(("0101501233", datetime.date(1950, 1, 1), "male"), "\u00a0", "", "")
def test_the_ways_of_writing_one_number_give_the_same_number(case, gap, before, after):
    number, birth, _sex = case
    facts = parse_cpr(f"{before}{number[:6]}{gap}{number[6:]}{after}")
    assert (facts.number, facts.birth_date) == (number, birth)
    assert normalise(f"{number[:6]}{gap}{number[6:]}") == number  # the search reads it the same way


@settings(max_examples=300)
@given(st.text(max_size=30))
def test_any_text_gives_a_number_or_a_reason(text):
    facts = parse_or_refuse(text)
    if facts is not None:
        assert TEN_ASCII_DIGITS.fullmatch(facts.number)
        assert parse_cpr(facts.number) == facts


# Near misses: the digits people type, with the characters that may slip in between.
NEAR_MISSES = st.text(alphabet=string.digits + " -\t\u00a0./+", min_size=8, max_size=14)


@settings(max_examples=300)
@given(NEAR_MISSES)
def test_near_misses_give_a_number_or_a_reason(text):
    facts = parse_or_refuse(text)
    if facts is not None:
        assert TEN_ASCII_DIGITS.fullmatch(facts.number)
        assert normalise(text) == facts.number


def other_digits(number: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(d)) for d in number)


@settings(max_examples=100)
@given(valid_numbers(), st.sampled_from(["\u0660", "\u06f0", "\u0966", "\uff10", "\U0001d7ce"]))
def test_digits_of_other_scripts_are_refused(case, zero):
    """Arabic-Indic, Devanagari, full-width or mathematical digits read as numbers in Python, but the
    database keeps ASCII digits only: accepted, they ended in an IntegrityError (a server error) or a
    second record of the same citizen."""
    number, _birth, _sex = case
    with pytest.raises(ValidationError) as error:
        parse_cpr(other_digits(number, zero))
    assert error.value.code == "cpr_format"


@pytest.mark.parametrize("text", ["٠١٠١٥٠-١٢٣٣", "０１０１５０１２３３", "010150-１２３３"])
def test_a_cpr_number_in_other_digits_is_refused(text):
    with pytest.raises(ValidationError):
        parse_cpr(text)


def test_a_tab_or_no_break_space_between_date_and_serial_is_read_like_a_space():
    assert parse_cpr("010150\t1233").number == parse_cpr("010150\u00a01233").number == "0101501233"


# --- phone numbers: the same hazards ------------------------------------------------------------------


@settings(max_examples=200)
@given(st.text(max_size=24))
def test_any_text_gives_a_phone_number_or_a_reason(text):
    try:
        phone = parse_phone(text)
    except ValidationError as error:
        assert error.code == "phone"
        return
    assert phone == "" or re.fullmatch(r"[0-9]{8}", phone)


@settings(max_examples=100)
@given(st.integers(10_000_000, 99_999_999), st.sampled_from(["\u0660", "\u06f0", "\uff10"]))
def test_a_phone_number_in_other_digits_is_refused(digits, zero):
    with pytest.raises(ValidationError):
        parse_phone(other_digits(str(digits), zero))

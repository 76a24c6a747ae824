import datetime

import pytest
from django.core.exceptions import ValidationError

from patients.cpr import mask, parse_cpr


@pytest.mark.parametrize(
    ("number", "birth", "sex"),
    [
        ("010150-1233", datetime.date(1950, 1, 1), "male"),  # 7th digit 1: 1900s
        ("0101501232", datetime.date(1950, 1, 1), "female"),  # without the dash
        ("290252-3998", datetime.date(1952, 2, 29), "female"),  # leap day
        ("010105-4002", datetime.date(2005, 1, 1), "female"),  # 7th digit 4, year <= 36: 2000s
        ("010140-4001", datetime.date(1940, 1, 1), "male"),  # 7th digit 4, year > 36: 1900s
        ("010110-5001", datetime.date(2010, 1, 1), "male"),  # 7th digit 5, year <= 57: 2000s
        ("010160-6002", datetime.date(1860, 1, 1), "female"),  # 7th digit 6, year > 57: 1800s
        ("311299-9001", datetime.date(1999, 12, 31), "male"),  # 7th digit 9, year > 36: 1900s
    ],
)
def test_it_derives_birth_date_and_sex(number, birth, sex):
    facts = parse_cpr(number)
    assert facts.birth_date == birth
    assert facts.sex == sex
    assert facts.number == number.replace("-", "")


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("", "cpr_format"),
        ("12345", "cpr_format"),
        ("010150-12345", "cpr_format"),
        ("0101501a33", "cpr_format"),
        ("320150-1233", "cpr_date"),  # day 32
        ("011350-1233", "cpr_date"),  # month 13
        ("290253-1233", "cpr_date"),  # 1953 was not a leap year
        ("010130-4001", "cpr_future"),  # 1 January 2030
    ],
)
def test_it_rejects_invalid_numbers_with_a_reason(number, code):
    with pytest.raises(ValidationError) as error:
        parse_cpr(number)
    assert error.value.code == code


def test_it_masks_the_serial_part():
    assert mask("0101501233") == "010150-XXXX"

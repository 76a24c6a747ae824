"""Hostile input, measured values (issue 10): properties of the way a typed value is read (the form
field of every numeric type in the catalogue) and checked (the service's `validate_measurement`),
without the database.

Whatever is typed gives a number within the type's plausible range or a ValidationError with a
message, never another exception; the decimal comma and the decimal point read alike; anything that
could be misread (digits of other scripts, thousands separators, exponents, NaN, infinity) is refused."""

import datetime
import importlib
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation
from hypothesis import example, given, settings
from hypothesis import strategies as st

from patients.forms import LocalDecimalField, _measurement_field
from patients.models import MeasurementKind, MeasurementType
from patients.services import GoalData, MeasurementInput, _validate_goal, validate_measurement

CATALOGUE = importlib.import_module("patients.migrations.0002_reference_data").CATALOGUE
NUMERIC_TYPES = [
    MeasurementType(
        code=code,
        label_da=da,
        label_en=en,
        kind=kind,
        unit=unit,
        plausible_min=Decimal(low),
        plausible_max=Decimal(high),
        decimal_places=decimals,
    )
    for code, da, en, kind, unit, low, high, decimals, _system, _coding in CATALOGUE
    if kind == MeasurementKind.NUMERIC
]
TYPES = st.sampled_from(NUMERIC_TYPES)


@pytest.fixture(autouse=True)
def _danish():
    with translation.override("da"):
        yield


def read(mt: MeasurementType, typed: str) -> Decimal | None:
    """What the encounter form and the service make of a typed value: the value as it would be
    stored, or None for an empty field. Raises ValidationError, and only that, for anything else."""
    value = _measurement_field(mt).clean(typed)
    if value is None:
        return None
    validate_measurement(MeasurementInput(type=mt, value=value), field="value")
    return value


def read_or_refuse(mt: MeasurementType, typed: str):
    try:
        return read(mt, typed)
    except ValidationError as error:
        assert all(str(message).strip() for message in error.messages), error.messages
        return "refused"


def plain(value: Decimal) -> str:
    return format(value, "f")


@settings(max_examples=200)
@given(st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False, allow_infinity=False))
def test_a_decimal_comma_and_a_decimal_point_read_alike(value):
    field = LocalDecimalField(max_digits=8, decimal_places=2)
    with_point = plain(value)
    with_comma = with_point.replace(".", ",")
    assert field.clean(with_point) == field.clean(with_comma) == value
    assert field.clean(f"  {with_comma}\t") == value
    assert field.clean(with_point.replace("-", "\u2212")) == value  # the minus sign a word processor writes


# What people type into a number field, and what slips in: every character that could make a number
# look like another.
NUMERISH = st.text(alphabet="0123456789.,+-−eE _'\u00a0", max_size=12)
WORDS = st.sampled_from(["NaN", "nan", "-NaN", "sNaN", "Infinity", "-Infinity", "inf", "Inf", "1e3", "1E3"])


@settings(max_examples=300)
@given(TYPES, st.one_of(NUMERISH, st.text(max_size=12), WORDS))
@example(NUMERIC_TYPES[0], "1e3")
@example(NUMERIC_TYPES[0], "NaN")
def test_anything_typed_gives_a_plausible_value_or_a_message(mt, typed):
    value = read_or_refuse(mt, typed)
    if value in (None, "refused"):
        return
    assert value.is_finite()
    assert mt.plausible_min <= value <= mt.plausible_max
    assert value.as_tuple().exponent >= -2
    if mt.decimal_places == 0:
        assert value == value.to_integral_value()
    # Read as written: only ASCII digits, one sign, one decimal mark, nothing else.
    assert re.fullmatch(r"\s*[+\-−]?[0-9]*(?:[.,][0-9]+)?\s*", typed), typed
    assert value == Decimal(typed.strip().replace(",", ".").replace("−", "-"))


@settings(max_examples=200)
@given(TYPES, st.data())
def test_every_value_in_the_plausible_range_is_read_with_either_mark(mt, data):
    places = mt.decimal_places
    value = data.draw(
        st.decimals(min_value=mt.plausible_min, max_value=mt.plausible_max, places=places, allow_nan=False)
    )
    assert read(mt, plain(value)) == value
    assert read(mt, plain(value).replace(".", ",")) == value


@settings(max_examples=200)
@given(TYPES, st.data())
def test_a_value_outside_the_plausible_range_is_refused(mt, data):
    outside = data.draw(
        st.one_of(
            st.decimals(max_value=mt.plausible_min - Decimal("0.01"), min_value=-999999, places=2),
            st.decimals(min_value=mt.plausible_max + Decimal("0.01"), max_value=999999, places=2),
        )
    )
    with pytest.raises(ValidationError):
        read(mt, plain(outside).replace(".", ","))


def in_script(text: str, zero: str) -> str:
    return "".join(chr(ord(zero) + int(c)) if c.isascii() and c.isdigit() else c for c in text)


@settings(max_examples=100)
@given(TYPES, st.data(), st.sampled_from(["\u0660", "\u06f0", "\u0966", "\uff10", "\U0001d7ce"]))
def test_digits_of_other_scripts_are_refused(mt, data, zero):
    value = data.draw(st.decimals(min_value=mt.plausible_min, max_value=mt.plausible_max, places=0))
    with pytest.raises(ValidationError):
        read(mt, in_script(plain(value), zero))


@pytest.mark.parametrize(
    "typed",
    [
        "1e3", "1E2", "2,5e1", "8.65e1", "NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf",  # exponents, not numbers
        "1.234,5", "1,234.5", "1 234", "1.234.567", "1'234", "1_000", "12 345,6",  # thousands separators
        "٨٦", "８６", "८६", "86,٥",  # other scripts' digits
        "0x56", "½", "86²", "86,5,1", "86..5", "--86", "+-86", "86-", "86 kg", ",", "-", "+",
    ],
)  # fmt: skip
def test_what_could_be_misread_is_refused(typed):
    weight = next(mt for mt in NUMERIC_TYPES if mt.code == "weight")
    with pytest.raises(ValidationError):
        read(weight, typed)


# --- the service, whoever calls it ---------------------------------------------------------------------


@settings(max_examples=300)
@given(TYPES, st.one_of(st.decimals(allow_nan=True, allow_infinity=True), st.integers(-(10**12), 10**12)))
@example(NUMERIC_TYPES[1], Decimal("NaN"))
@example(NUMERIC_TYPES[1], Decimal("sNaN"))
@example(NUMERIC_TYPES[1], Decimal("Infinity"))
def test_the_service_refuses_any_value_it_cannot_store_with_a_message(mt, value):
    """A command, the demo or a later API calls the service without the form: a value that is not
    a finite number within range is refused with a message, never a server error."""
    try:
        validate_measurement(MeasurementInput(type=mt, value=value), field="value")
    except ValidationError as error:
        assert error.message_dict["value"]
        return
    assert Decimal(value).is_finite()
    assert mt.plausible_min <= value <= mt.plausible_max


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("-Infinity"), Decimal("Infinity")])
def test_the_service_refuses_a_value_that_is_not_a_number(value):
    weight = next(mt for mt in NUMERIC_TYPES if mt.code == "weight")
    with pytest.raises(ValidationError) as error:
        validate_measurement(MeasurementInput(type=weight, value=value), field="value")
    assert "value" in error.value.message_dict


@settings(max_examples=200)
@given(
    TYPES,
    st.one_of(st.none(), st.decimals(allow_nan=True, allow_infinity=True)),
    st.one_of(st.none(), st.decimals(allow_nan=True, allow_infinity=True)),
)
@example(NUMERIC_TYPES[1], Decimal("NaN"), Decimal(80))
@example(NUMERIC_TYPES[1], Decimal(80), Decimal("sNaN"))
def test_a_goals_target_range_is_a_plausible_range_or_a_message(mt, low, high):
    data = GoalData(text="Gå en tur hver dag", review_on=datetime.date(2026, 6, 1), measurement_type=mt)
    data.target_low, data.target_high = low, high
    try:
        _validate_goal(data)
    except ValidationError as error:
        assert error.message_dict
        return
    for bound in (low, high):
        assert bound is None or mt.plausible_min <= bound <= mt.plausible_max
    assert low is None or high is None or low <= high

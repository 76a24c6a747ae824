from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats


def number(value: Decimal | float | int | None) -> str:
    """A measured value as people write it: no trailing zeros, no exponent, and the decimal
    separator of the active language (84,5 in Danish)."""
    if value is None:
        return ""
    decimal = Decimal(str(value)).normalize()
    places = max(0, -decimal.as_tuple().exponent)
    return formats.number_format(decimal, decimal_pos=places)


def percent_text(value: Decimal | float, places: int = 1) -> str:
    """A share as people read it: rounded half up (Django's number_format cuts decimals off, so
    92,68 would read "92,6"), the language's separator, and " %"."""
    rounded = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{formats.number_format(rounded, decimal_pos=places)} %"

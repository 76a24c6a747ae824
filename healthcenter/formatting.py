from decimal import Decimal

from django.utils import formats


def number(value: Decimal | float | int | None) -> str:
    """A measured value as people write it: no trailing zeros, no exponent, and the decimal
    separator of the active language (84,5 in Danish)."""
    if value is None:
        return ""
    decimal = Decimal(str(value)).normalize()
    places = max(0, -decimal.as_tuple().exponent)
    return formats.number_format(decimal, decimal_pos=places)

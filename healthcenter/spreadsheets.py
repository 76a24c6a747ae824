"""Cells that leave the system in a file a spreadsheet opens (CSV, XLSX).

Excel and LibreOffice run a cell that starts with = + - @ (or a tab or carriage return before one
of them) as a formula, so a team or staff name like "=HYPERLINK(...)" would become a live link or
command in the manager's spreadsheet. Every exported text goes through `neutralise` (CSV) or is
written as an explicit text cell (XLSX, see reporting/exports.py)."""

from django.utils import formats

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_separator() -> str:
    """The field separator a spreadsheet of the active language expects: a semicolon where the
    decimal separator is a comma (Danish), else a comma, so that the file opens in columns. Our CSV
    files also start with a byte-order mark, so that æ, ø and å arrive intact."""
    return ";" if formats.get_format("DECIMAL_SEPARATOR") == "," else ","


def starts_like_formula(value: object) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


def neutralise(value: object) -> object:
    """A text a spreadsheet would run, with a leading single quote: shown as text, never run.
    Numbers and other values pass unchanged (a number is never a formula)."""
    if starts_like_formula(value):
        return f"'{value}"
    return value

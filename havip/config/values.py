"""Read the arguments of one statement as numbers, booleans, addresses and names.

Each reader reports what it expected, at the statement's line, and returns None on a bad value
so the caller keeps going and the user sees every problem in one run.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from ipaddress import ip_address

from havip.config.diagnostics import Diagnostics
from havip.config.model import IPAddress
from havip.config.parser import Statement

UINT32_MAX = 2**32 - 1
"""The largest value of keepalived's unsigned options (and of a kernel table, metric or mark)."""
INT32_MAX = 2**31 - 1
"""The largest value of keepalived's signed int options."""
BOOL_WORDS = {"on": True, "true": True, "yes": True, "off": False, "false": False, "no": False}


def one_arg(statement: Statement, expected: str, diagnostics: Diagnostics) -> str | None:
    """The single argument of `statement`, or None (reported) when it has none or several."""
    if not statement.args:
        diagnostics.error(statement.location, f"{statement.keyword}: expected {expected}")
        return None
    if len(statement.args) > 1:
        extra = " ".join(statement.args[1:])
        diagnostics.error(
            statement.location,
            f"{statement.keyword}: expected only {expected}, got also '{extra}'",
        )
        return None
    return statement.args[0]


def no_args(statement: Statement, diagnostics: Diagnostics) -> bool:
    """True for a bare flag keyword such as `nopreempt`; extra words are an error."""
    if statement.args:
        diagnostics.error(
            statement.location,
            f"{statement.keyword}: takes no value, got '{' '.join(statement.args)}'",
        )
        return False
    return True


MAX_INT_DIGITS = 20
"""Longer numbers are out of every range here; int() is never asked to convert them."""


def parse_int(text: str, low: int, high: int) -> int | None:
    """`text` as a decimal integer within [low, high], else None.

    Only ASCII digits count: str.isdigit() also accepts '²' and other digits int() refuses.
    """
    body = text[1:] if text[:1] in "+-" else text
    if not (body.isascii() and body.isdigit()) or len(body) > MAX_INT_DIGITS:
        return None
    value = int(text)
    return value if low <= value <= high else None


def read_int(statement: Statement, low: int, high: int, diagnostics: Diagnostics) -> int | None:
    text = one_arg(statement, f"a whole number from {low} to {high}", diagnostics)
    if text is None:
        return None
    value = parse_int(text, low, high)
    if value is None:
        diagnostics.error(
            statement.location,
            f"{statement.keyword}: expected a whole number from {low} to {high}, got '{text}'",
        )
    return value


def parse_decimal(text: str) -> Decimal | None:
    """`text` as a plain non-negative decimal number (no exponent, no sign), else None."""
    if not text or text.strip("0123456789.") or text.count(".") > 1 or text == ".":
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def read_seconds(
    statement: Statement, low: Decimal, high: Decimal, diagnostics: Diagnostics
) -> Decimal | None:
    """A time in seconds within [low, high], fractions allowed (keepalived's <TIMER>)."""
    expected = f"a time in seconds from {low} to {high}"
    text = one_arg(statement, expected, diagnostics)
    if text is None:
        return None
    value = parse_decimal(text)
    if value is None or not low <= value <= high:
        diagnostics.error(
            statement.location, f"{statement.keyword}: expected {expected}, got '{text}'"
        )
        return None
    return value


def read_optional_bool(statement: Statement, diagnostics: Diagnostics) -> bool | None:
    """`keyword [on|off|true|false|yes|no]`: a bare keyword means true, as in keepalived."""
    if not statement.args:
        return True
    text = one_arg(statement, "on|off|true|false|yes|no", diagnostics)
    if text is None:
        return None
    if text.lower() not in BOOL_WORDS:
        diagnostics.error(
            statement.location,
            f"{statement.keyword}: expected on|off|true|false|yes|no, got '{text}'",
        )
        return None
    return BOOL_WORDS[text.lower()]


def parse_address(text: str) -> IPAddress | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def read_address(statement: Statement, diagnostics: Diagnostics) -> IPAddress | None:
    text = one_arg(statement, "an IP address", diagnostics)
    if text is None:
        return None
    address = parse_address(text)
    if address is None:
        diagnostics.error(
            statement.location, f"{statement.keyword}: expected an IP address, got '{text}'"
        )
    return address


def interface_name_problem(name: str) -> str | None:
    """Why `name` cannot be a Linux interface name (at most 15 bytes, no '/', ':' or spaces)."""
    if len(name.encode()) > 15:
        return f"interface name '{name}' is longer than 15 characters"
    if name in (".", "..") or any(char in "/:" or char.isspace() for char in name):
        return f"'{name}' is not a valid interface name"
    return None

"""The ``<id:...>`` path converter: a database id in a URL, at most 18 digits.

Django's ``<int:...>`` takes any run of digits, and an id beyond the database's integer range
(``9223372036854775808``) reached the ORM as a Python int that the driver cannot send: a 500
(``OverflowError``) instead of a 404. An id of 19 digits or more names nothing, so the path does not
match: the API's catch-all answers 404 ``not_found`` (``ecabinet.api.views.UnknownPathView``), the
screens Django's 404 page, the room socket refuses the connection. Every URL pattern of the project
(API, screens, sockets) uses ``<id:...>`` for its ids; ``tests/http/test_big_ids.py`` checks that
none uses ``<int:...>`` any more.

Each URL module imports this one (registration happens once, at the first import).
"""

from __future__ import annotations

from django.urls import register_converter

__all__ = ["MAX_ID_DIGITS", "IdConverter", "whole_number"]

# 10**18 - 1 is below the largest signed 64-bit integer (about 9.2 * 10**18), so every id that
# matches fits a bigint (and SQLite's integer).
MAX_ID_DIGITS = 18


class IdConverter:
    regex = f"[0-9]{{1,{MAX_ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(int(value))


register_converter(IdConverter, "id")


def whole_number(text, *, max_digits: int = MAX_ID_DIGITS) -> int | None:
    """``text`` (a query or form value) as a whole number when it is 1 to ``max_digits`` ASCII digits,
    else None. ``str.isdigit()`` is not the test: it accepts "²" and "①", which ``int()`` refuses (a 500),
    and any length (an id beyond the database's integer range is a 500 too)."""
    if isinstance(text, str) and 0 < len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return None

r"""Bounds on a JSON request body, checked before ``json.loads`` sees it.

Why
---
``json.loads`` recurses once per nesting level: 3,000 levels of ``[`` raise ``RecursionError``
(a 500 page, and on the vote path a request that never answered), and a body of a million tiny
values costs a million Python objects before any view can refuse it. So every JSON body that a
request brings — DRF's parser (``ecabinet.api.parsers``), the vote intake (``hotpath.intake``) and,
before authentication, ``ecabinet.middleware.JSONLimitsMiddleware`` — is first scanned here:

* nesting depth at most ``JSON_MAX_DEPTH`` (400 ``json_too_deep``);
* at most ``JSON_MAX_ITEMS`` values in all (400 ``json_too_many_fields``): object members and array
  items at any depth, counted as the commas plus the containers opened (an upper bound on them);
* brackets that do not pair up, or a string left open (400 ``malformed_request``).

How, and why it is cheap (and linear)
------------------------------------
Every step is one pass of a C loop over the bytes (``bytes.replace``, ``count``, ``split``,
``translate``), none of them can backtrack, over a body the body cap ``HTTP_MAX_BODY_BYTES``
already bounds; a hostile megabyte of any shape costs a few milliseconds:

1. escapes go first: ``\\`` pairs, then ``\"`` (a run of backslashes in a string starts on an
   escape, so pairing them from the left is what a JSON reader does; a backslash outside a string
   is an error ``json.loads`` reports, and everything before it is read here as it reads it);
2. the strings are cut out (brackets and commas in a comment's text are not structure) by a split
   on the quotes left, but at most ``4 * JSON_MAX_ITEMS + 2`` of them: a document within the bound
   has no more (a key and a string value per member), so a body with more is refused for its number
   of values (after its depth, in the part before), and an odd number is a string left open;
4. the rest is counted with ``bytes.count``; the depth is followed bracket by bracket, but over at
   most ``2 * JSON_MAX_ITEMS + 2`` brackets: a body with more is refused for its number of values
   whatever its depth, so no Python loop is longer than that.

An earlier version cut the strings out with one regular expression,
``"[^"\\]*(?:\\[\s\S][^"\\]*)*"``: on a string left open and full of escapes it backtracks, and
the time grows with the square of the body (56 KB took 18 s, holding the interpreter, so the whole
server stalled). ``tests/http/test_jsonguard.py`` times a table of such bodies against ``json.loads``.
The scan does not validate JSON: ``json.loads`` does, on a body now known to be shallow and small in
values.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ecabinet.errors import ValidationFailed

__all__ = ["JSONRefused", "JSONTooDeep", "JSONTooManyItems", "MalformedJSON", "check", "loads", "view_max_items"]

_OPENING = frozenset(b"[{")
_CLOSING = {ord("["): ord("]"), ord("{"): ord("}")}
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")


class JSONRefused(ValidationFailed):
    """A JSON body refused before it is parsed (400)."""

    code = "malformed_request"
    default_message = _("The request body is not valid JSON.")


class MalformedJSON(JSONRefused):
    pass


class JSONTooDeep(JSONRefused):
    code = "json_too_deep"


class JSONTooManyItems(JSONRefused):
    code = "json_too_many_fields"


def check(body: bytes | str, *, max_depth: int | None = None, max_items: int | None = None) -> None:
    """Raise a ``JSONRefused`` if ``body`` nests deeper than ``max_depth`` or holds more than
    ``max_items`` values (defaults: the settings ``JSON_MAX_DEPTH`` and ``JSON_MAX_ITEMS``)."""
    max_depth = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    max_items = settings.JSON_MAX_ITEMS if max_items is None else max_items
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogatepass")
    # 1. Escapes out, in two C passes that cannot backtrack (see the module's docstring).
    plain = body.replace(b"\\\\", b"").replace(b'\\"', b"")
    # 2. The strings out (every other piece between quotes is a string's text), but only up to the
    # quotes that a document within the bound can have: ``max_items`` values, a key and a string
    # value per member, at most 4 quotes each (and 2 for a lone string). Past them the body is
    # refused for its number of values, after its depth was looked at in what came before.
    most = 4 * max_items + 2
    pieces = plain.split(b'"', most)
    too_many = len(pieces) > most
    if not too_many and len(pieces) % 2 == 0:
        raise MalformedJSON(_("The request body is not valid JSON: a string is not closed."))
    bare = b"".join(pieces[: most : 2])
    brackets = bare.translate(None, _NOT_BRACKET)
    items = bare.count(b",") + bare.count(b"[") + bare.count(b"{")
    # Depth first (5,000 levels is "too deep", although it is also 5,000 containers), over at most
    # the brackets that ``max_items`` values can have: a longer run is refused for its size anyway.
    stack: list[int] = []
    for byte in brackets[: 2 * max_items + 2]:
        if byte in _OPENING:
            stack.append(_CLOSING[byte])
            if len(stack) > max_depth:
                raise JSONTooDeep(_("The request body nests deeper than %(limit)s levels.") % {"limit": max_depth})
        elif not stack or stack.pop() != byte:
            raise MalformedJSON(_("The request body is not valid JSON: its brackets do not pair up."))
    if too_many or items > max_items:
        raise JSONTooManyItems(_("The request body holds more than %(limit)s values.") % {"limit": max_items})
    if stack:
        raise MalformedJSON(_("The request body is not valid JSON: its brackets do not pair up."))


def loads(body: bytes | str, *, max_depth: int | None = None, max_items: int | None = None):
    """``json.loads`` after ``check``; ``MalformedJSON`` for what ``json.loads`` refuses (bad syntax,
    bytes that are not UTF-8)."""
    check(body, max_depth=max_depth, max_items=max_items)
    try:
        return json.loads(body)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise MalformedJSON(_("The request body is not valid JSON: %(error)s") % {"error": error}) from error


def view_max_items(view) -> int | None:
    """The number of values a view accepts in a JSON body instead of ``JSON_MAX_ITEMS``, if it says
    so: a ``json_max_items`` attribute (on the view function or its class) naming a setting, read on
    each call. The annotation endpoints take a drawing of thousands of points (issue 17); every other
    view keeps the default."""
    owner = getattr(view, "cls", None) or getattr(view, "view_class", None)
    name = getattr(view, "json_max_items", None) or getattr(owner, "json_max_items", None)
    return int(getattr(settings, name)) if name else None

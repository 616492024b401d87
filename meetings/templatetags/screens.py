"""Small presentation helpers for the screens' templates."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import operator

from django import template
from django.core.cache import cache
from django.db.models import Choices
from django.template import Context
from django.template.loader import get_template
from django.urls import get_script_prefix, get_urlconf
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import get_current_timezone_name
from django.utils.translation import get_language

from meetings.selectors import DocumentRow, ItemRow, MinistryName, MotionRow, ReadState, VersionRow

register = template.Library()

AGENDA_LIST = "meetings/_agenda_list.html"
AGENDA_LIST_SECONDS = 600
# The largest fragment kept. Entries are per reader (their read marks), and each document a reader
# opens for the first time gives them a new one: 40 items of 10,000-character descriptions are about
# 1 MB of HTML, so a member opening a hundred documents would have put 100 MB in the shared cache
# (Redis) for ten minutes. A typical agenda is about 40 KB; a larger one is drawn on every view.
AGENDA_LIST_MAX_BYTES = 128 * 1024
_template_digest: dict[str, str] = {}


def _source_digest(name: str) -> str:
    """A digest of a template's source, so that a changed template never meets HTML cached from the
    previous one (the cache may be a Redis shared by every process and outlive a deployment)."""
    if name not in _template_digest:
        template_ = get_template(name).template
        sources = [template_.source]
        sources += [get_template(included).template.source for included in ("meetings/_document_row.html",)]
        _template_digest[name] = hashlib.sha256("\0".join(sources).encode()).hexdigest()[:16]
    return _template_digest[name]


@register.simple_tag
def agenda_list(items, can_assign) -> SafeString:
    """``{% agenda_list items can_assign %}``: the agenda of the session page (``_agenda_list.html``)
    for ``selectors.agenda_rows``' rows, from the cache when the very same list was drawn before.

    The cache key is a digest of everything the fragment shows — every field of every row the caller
    may see (``_facts``: the rows are plain dataclasses, walked field by field down to their plain
    values), the caller's read marks, whether they may assign tasks, the language, the URL prefix and
    the templates' source — so an entry can only ever be the HTML those very inputs give. Two people
    share an entry exactly when they would be shown the same bytes; nothing needs invalidating (a
    change changes the key), and no one can be shown a document, a read mark or a link that was not
    computed for them (issue 19).

    Only those rows: a model instance's fields are not all it shows (its related objects, its
    properties), so two readers of ``selectors.agenda`` (model instances, each with the documents *its*
    reader may see) could share the first one's entry — a restricted document shown to a member who
    is not its recipient. Anything else is refused (``TypeError``), checked to the last nested value
    (tests/security/test_i19_agenda_cache.py)."""
    facts = repr((get_language(), get_script_prefix(), bool(can_assign), _facts(items)))
    key = f"agenda-list:{_source_digest(AGENDA_LIST)}:{hashlib.sha256(facts.encode()).hexdigest()}"
    html = cache.get(key)
    if html is None:
        html = get_template(AGENDA_LIST).render({"items": items, "can_assign": bool(can_assign)}).rstrip("\n")
        if len(html) <= AGENDA_LIST_MAX_BYTES:  # characters: at most 3 bytes each in UTF-8, Vietnamese ~1.3
            cache.set(key, html, AGENDA_LIST_SECONDS)
    return mark_safe(html)  # noqa: S308 — the template's own (autoescaped) output


_PLAIN = frozenset((str, int, bool, float, type(None)))
_ROWS = (ItemRow, DocumentRow, VersionRow, ReadState, MotionRow, MinistryName)


def _field_names(kind: type) -> tuple[str, ...] | str:
    """The fields of a row class, or the name of the first one its ``repr`` leaves out (such a class
    is refused: a field kept out of its ``repr`` is a field someone meant to keep out of sight)."""
    fields = dataclasses.fields(kind)
    hidden = [field.name for field in fields if not field.repr]
    return hidden[0] if hidden else tuple(field.name for field in fields)


_ROW_FIELDS = {kind: _field_names(kind) for kind in _ROWS}
# Each row class's fields in one C call (``attrgetter`` of two names or more gives a tuple).
_ROW_GETTERS = {kind: operator.attrgetter(*names) for kind, names in _ROW_FIELDS.items()
                if type(names) is tuple and len(names) > 1}


def _facts(items) -> list:
    """``items`` (``selectors.agenda_rows``' rows, ``ItemRow``) as one flat list, in order: each row
    as its class, then its fields' values (a nested row in its place, the same way), each list as
    ``list`` and its length, then its elements. The classes mark where each row and list starts, and
    no plain value's ``repr`` looks like a class's, so the list's ``repr`` is all the rows show and
    two different agendas never give the same one. Else ``TypeError``: anything but those rows, down
    to plain values (a loop over the rows, not a ``repr`` of dataclasses: it runs on every view)."""
    if type(items) not in (list, tuple) or any(type(item) is not ItemRow for item in items):
        raise TypeError("agenda_list caches only selectors.agenda_rows' rows")
    out = [list, len(items)]
    _walk(items, out)
    return out


def _walk(values, out: list) -> None:
    append = out.append
    for value in values:
        kind = type(value)
        if kind in _PLAIN:
            append(value)
        elif kind is list or kind is tuple:
            append(kind)
            append(len(value))
            _walk(value, out)
        else:
            getter = _ROW_GETTERS.get(kind)
            if getter is None:
                names = _ROW_FIELDS.get(kind)
                if type(names) is str:
                    raise TypeError(f"agenda_list: {kind.__name__}.{names} is not in the rows' repr")
                raise TypeError(f"agenda_list caches only selectors.agenda_rows' rows, not a {kind.__name__}")
            append(kind)
            _walk(getter(value), out)


# --- fragments drawn from plain values only, kept per process (issue 19) ---------------------------------

FRAGMENTS_MAX = 4096  # entries kept in all (a few per session and language); beyond it, the store starts over
_FRAGMENT_VALUES = frozenset((str, int, bool, type(None), datetime.datetime, datetime.date))
_fragments: dict[tuple, str] = {}


@register.simple_tag
def fragment(name: str, **values) -> SafeString:
    """``{% fragment "template.html" key=value … %}``: the template ``name`` drawn with ``values``
    alone as its context — no request, no user, no context processor — as ``{% include %}`` would
    draw it with those names. Such a fragment is a function of its template, the language, the time
    zone, the URL configuration and prefix, and ``values``, so it is drawn once per process for each of
    these and kept (at most ``FRAGMENTS_MAX`` entries): the screens' static parts (their translated
    labels and links) cost a dictionary look-up instead of a template's nodes on every view.

    Only plain values (``str``, ``int``, ``bool``, ``None``, dates): all of a value is in the key, so
    two callers share an entry exactly when they would be shown the same bytes. Anything else (a model
    instance, a lazy string, a list) is refused (``TypeError``); what is per request (a CSRF token,
    the request's path) stays out of fragments."""
    for value in values.values():
        if type(value) not in _FRAGMENT_VALUES and not isinstance(value, Choices):  # a choice: a constant str
            raise TypeError(f"fragment {name}: only plain values, not a {type(value).__name__}")
    template_ = get_template(name).template
    key = (template_, get_language(), get_current_timezone_name(), get_urlconf(), get_script_prefix(),
           tuple(sorted((k, type(v), v) for k, v in values.items())))  # True and 1 are equal, not drawn alike
    html = _fragments.get(key)
    if html is None:
        html = template_.render(Context(values, autoescape=True))
        if len(_fragments) >= FRAGMENTS_MAX:
            _fragments.clear()
        _fragments[key] = html
    return mark_safe(html)  # noqa: S308 — the template's own (autoescaped) output


@register.filter
def present(value) -> bool:
    """``{{ chair|present }}``: whether the value is there (true), as ``{% if %}`` would take it: for a
    ``{% fragment %}``, which takes plain values only."""
    return bool(value)


@register.filter
def ministry_name(ministry) -> str:
    """The ministry's name in the page's language (the English name when there is one)."""
    if ministry is None:
        return ""
    if (get_language() or "").startswith("en") and ministry.name_en:
        return ministry.name_en
    return ministry.name


@register.filter
def short_hash(value: str, length: int = 12) -> str:
    return (value or "")[: int(length)]

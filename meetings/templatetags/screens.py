"""Small presentation helpers for the screens' templates."""

from __future__ import annotations

import dataclasses
import hashlib

from django import template
from django.core.cache import cache
from django.template.loader import get_template
from django.urls import get_script_prefix
from django.utils.safestring import SafeString, mark_safe
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
    may see (the rows are plain dataclasses: their ``repr`` is all of their content), the caller's read
    marks, whether they may assign tasks, the language, the URL prefix and the templates' source — so
    an entry can only ever be the HTML those very inputs give. Two people share an entry exactly when
    they would be shown the same bytes; nothing needs invalidating (a change changes the key), and no
    one can be shown a document, a read mark or a link that was not computed for them (issue 19).

    Only those rows: a model instance's ``repr`` is its title alone, so two readers of
    ``selectors.agenda`` (model instances, each with the documents *its* reader may see) would share
    the first one's entry — a restricted document shown to a member who is not its recipient. Anything
    else is refused (``TypeError``), checked to the last nested value (tests/security/
    test_i19_agenda_cache.py)."""
    _plain_rows(items)
    facts = repr((get_language(), get_script_prefix(), bool(can_assign), items))
    key = f"agenda-list:{_source_digest(AGENDA_LIST)}:{hashlib.sha256(facts.encode()).hexdigest()}"
    html = cache.get(key)
    if html is None:
        html = get_template(AGENDA_LIST).render({"items": items, "can_assign": bool(can_assign)}).rstrip("\n")
        if len(html) <= AGENDA_LIST_MAX_BYTES:  # characters: at most 3 bytes each in UTF-8, Vietnamese ~1.3
            cache.set(key, html, AGENDA_LIST_SECONDS)
    return mark_safe(html)  # noqa: S308 — the template's own (autoescaped) output


_PLAIN = (str, int, bool, float, type(None))
_ROWS = (ItemRow, DocumentRow, VersionRow, ReadState, MotionRow, MinistryName)


def _plain_rows(items) -> None:
    """``items`` are ``selectors.agenda_rows``' rows (``ItemRow``), down to plain values, every field
    in its dataclass's ``repr``: then the ``repr`` is all they show. Else ``TypeError``."""
    if type(items) not in (list, tuple) or any(type(item) is not ItemRow for item in items):
        raise TypeError("agenda_list caches only selectors.agenda_rows' rows")
    _plain(items)


def _field_names(kind: type) -> tuple[str, ...] | str:
    """The fields of a row class, or the name of the first one its ``repr`` leaves out."""
    fields = dataclasses.fields(kind)
    hidden = [field.name for field in fields if not field.repr]
    return hidden[0] if hidden else tuple(field.name for field in fields)


_ROW_FIELDS = {kind: _field_names(kind) for kind in _ROWS}


def _plain(value) -> None:
    """Walks ``value`` down to its plain values (a loop, not a call per value: it runs on every view)."""
    pending = [value]
    while pending:
        value = pending.pop()
        kind = type(value)
        if kind in _PLAIN:
            continue
        if kind is list or kind is tuple:
            pending.extend(value)
            continue
        names = _ROW_FIELDS.get(kind)
        if names is None:
            raise TypeError(f"agenda_list caches only selectors.agenda_rows' rows, not a {kind.__name__}")
        if type(names) is str:
            raise TypeError(f"agenda_list: {kind.__name__}.{names} is not in the rows' repr")
        pending.extend(getattr(value, name) for name in names)


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

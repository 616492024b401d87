"""The reads behind ``meetings.permissions.meeting_access`` and ``item_access`` by id, compiled once per
process (issue 19).

On every page and API call of a session, Django spent more CPU building the access check's queries (a
``select_related`` over four tables with a ``Q``, the grants' join) than SQLite took to answer them. The
queries are built by the ORM once per process with sentinels for the ids (``ecabinet.prepared``); their
rows go through the converters the ORM would apply and become instances as the ORM makes them
(``Model.from_db``). Which grants matter is the rule module's to say: the callers pass the codenames.
``tests/meetings/test_page_queries.py`` holds the answers equal to the ORM's for every role.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from ecabinet import prepared
from ecabinet.models import Ministry, User

from .models import AgendaItem, Meeting, MeetingUserObjectPermission, Participant

__all__ = ["agenda_item", "caller_and_chair", "grants", "item_caller_and_chair"]

# Sentinels for ``ecabinet.prepared``.
_PROBE_USER, _PROBE_MEETING, _PROBE_ITEM = -730_194_701_001, -730_194_701_002, -730_194_701_003
_MODELS = (("", Participant), ("meeting__", Meeting), ("user__", User), ("user__ministry__", Ministry))


def _grants_query(user_id: int, meeting_id: int, codenames: tuple[str, ...]) -> QuerySet:
    return (MeetingUserObjectPermission.objects.filter(user_id=user_id, content_object_id=meeting_id,
                                                       permission__codename__in=codenames)
            .values_list("permission__codename"))


def grants(user_id: int, meeting_id: int, codenames: tuple[str, ...]) -> frozenset[str]:
    """Which of ``codenames`` ``user_id`` holds on session ``meeting_id``."""
    rows = prepared.rows(("meetings.grants", codenames), lambda: _grants_query(_PROBE_USER, _PROBE_MEETING, codenames),
                         {_PROBE_USER: user_id, _PROBE_MEETING: meeting_id})
    return frozenset(codename for (codename,) in rows)


def _caller_and_chair_query(user_id: int, meeting_id: int, codenames: tuple[str, ...]) -> QuerySet:
    """The rows ``meeting_access`` reads by id: the caller's and the chair's, with the session, the
    accounts and their ministries, as ``_MODELS``' columns in order, then whether the caller holds each
    of ``codenames`` on the session (the same on every row)."""
    columns = [prefix + f.attname for prefix, model in _MODELS for f in model._meta.concrete_fields]
    grants = {f"grant_{codename}": Exists(MeetingUserObjectPermission.objects.filter(
        user_id=user_id, content_object_id=OuterRef("meeting_id"), permission__codename=codename))
        for codename in codenames}
    return (Participant.objects.filter(Q(user_id=user_id) | Q(role=Participant.Role.CHAIR), meeting_id=meeting_id)
            .annotate(**grants).order_by("pk").values_list(*columns, *grants))


def caller_and_chair(user_id: int, meeting_id: int,
                     codenames: tuple[str, ...]) -> tuple[list[Participant], frozenset[str]]:
    """``Participant.objects.select_related("meeting", "user__ministry").filter(Q(user=…) | Q(role=CHAIR),
    meeting_id=…).order_by("pk")`` and, when there is such a row, ``grants(user_id, meeting_id, codenames)``, in
    one query compiled once per process (``ecabinet.prepared``; the column values go through the same
    converters as the ORM's), the instances made as the ORM makes them (``Model.from_db``) and linked: one
    session instance for all the rows."""
    alias, rows = prepared.converted_rows(("meetings.caller_and_chair", codenames),
                                          lambda: _caller_and_chair_query(_PROBE_USER, _PROBE_MEETING, codenames),
                                          {_PROBE_USER: user_id, _PROBE_MEETING: meeting_id})
    return _participants(alias, rows, codenames, 0)


def _participants(alias: str, rows: list[tuple], codenames: tuple[str, ...],
                  start_at: int) -> tuple[list[Participant], frozenset[str]]:
    """The linked instances and the grants of ``caller_and_chair``'s rows, its columns from ``start_at``."""
    if not rows:
        return [], frozenset()
    held = frozenset(code for code, has in zip(codenames, rows[0][-len(codenames):], strict=True) if has)
    out, meeting = [], None
    for row in rows:
        instances, start = [], start_at
        for _prefix, model in _MODELS:
            width = len(prepared.attnames(model))
            values = row[start:start + width]
            start += width
            instances.append(None if values[0] is None else prepared.instance(alias, model, values))
        participant, meeting_row, account, ministry = instances
        meeting = meeting or meeting_row
        Participant.meeting.field.set_cached_value(participant, meeting)
        Participant.user.field.set_cached_value(participant, account)
        type(account).ministry.field.set_cached_value(account, ministry)
        out.append(participant)
    return out, held


def agenda_item(item_id: int) -> AgendaItem | None:
    """``AgendaItem.objects.filter(pk=item_id).first()`` (without its session: the caller's access
    brings it), by a query compiled once per process."""
    alias, rows = prepared.converted_rows(
        ("meetings.agenda_item",),
        lambda: AgendaItem.objects.filter(pk=_PROBE_ITEM).values_list(*prepared.attnames(AgendaItem)),
        {_PROBE_ITEM: int(item_id)})
    return prepared.instance(alias, AgendaItem, rows[0]) if rows else None


_ITEM = "meeting__agenda_items__"


def _item_caller_and_chair_query(user_id: int, item_id: int, codenames: tuple[str, ...]) -> QuerySet:
    """``_caller_and_chair_query`` of the session of agenda item ``item_id``, each row led by the item's
    columns (``AgendaItem``'s, in order)."""
    columns = [prefix + f.attname for prefix, model in _MODELS for f in model._meta.concrete_fields]
    grants = {f"grant_{codename}": Exists(MeetingUserObjectPermission.objects.filter(
        user_id=user_id, content_object_id=OuterRef("meeting_id"), permission__codename=codename))
        for codename in codenames}
    return (Participant.objects.filter(Q(user_id=user_id) | Q(role=Participant.Role.CHAIR),
                                       **{f"{_ITEM}pk": item_id})
            .annotate(**grants).order_by("pk")
            .values_list(*(_ITEM + name for name in prepared.attnames(AgendaItem)), *columns, *grants))


def item_caller_and_chair(user_id: int, item_id: int, codenames: tuple[str, ...]
                          ) -> tuple[AgendaItem | None, list[Participant], frozenset[str]]:
    """``agenda_item(item_id)`` and ``caller_and_chair(user_id, <its session>, codenames)`` in one query
    (issue 19: every comment, hand raised and position is on an item), as long as the session has the
    caller's row or the chair's; ``(None, [], frozenset())`` otherwise — a missing item, or a session
    with neither — and the caller reads them one after the other."""
    alias, rows = prepared.converted_rows(
        ("meetings.item_caller_and_chair", codenames),
        lambda: _item_caller_and_chair_query(_PROBE_USER, _PROBE_ITEM, codenames),
        {_PROBE_USER: user_id, _PROBE_ITEM: int(item_id)})
    if not rows:
        return None, [], frozenset()
    width = len(prepared.attnames(AgendaItem))
    participants, held = _participants(alias, rows, codenames, width)
    return prepared.instance(alias, AgendaItem, rows[0][:width]), participants, held

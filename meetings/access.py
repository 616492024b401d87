"""The reads behind ``meetings.permissions.meeting_access`` by id, compiled once per process (issue 19).

On every page and API call of a session, Django spent more CPU building the access check's queries (a
``select_related`` over four tables with a ``Q``, the grants' join) than SQLite took to answer them. The
queries are built by the ORM once per process with sentinels for the ids (``ecabinet.prepared``); their
rows go through the converters the ORM would apply and become instances as the ORM makes them
(``Model.from_db``). Which grants matter is the rule module's to say: the callers pass the codenames.
``tests/meetings/test_page_queries.py`` holds the answers equal to the ORM's for every role.
"""

from __future__ import annotations

from django.db import connections
from django.db.models import Exists, OuterRef, Q, QuerySet

from ecabinet import prepared
from ecabinet.models import Ministry, User

from .models import Meeting, MeetingUserObjectPermission, Participant

__all__ = ["caller_and_chair", "grants"]

# Sentinels for ``ecabinet.prepared``.
_PROBE_USER, _PROBE_MEETING = -730_194_701_001, -730_194_701_002
_MODELS = (("", Participant), ("meeting__", Meeting), ("user__", User), ("user__ministry__", Ministry))
_ATTNAMES = {model: [f.attname for f in model._meta.concrete_fields] for _prefix, model in _MODELS}
_CONVERTERS: dict[tuple, list] = {}


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
    alias, sql, params = prepared.prepare(("meetings.caller_and_chair", codenames),
                                          lambda: _caller_and_chair_query(_PROBE_USER, _PROBE_MEETING, codenames))
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, prepared.fill(params, {_PROBE_USER: user_id, _PROBE_MEETING: meeting_id}))
        rows = cursor.fetchall()
    if not rows:
        return [], frozenset()
    rows = _converted(alias, connection, rows, codenames)
    held = frozenset(code for code, has in zip(codenames, rows[0][-len(codenames):], strict=True) if has)
    out, meeting = [], None
    for row in rows:
        instances, start = [], 0
        for _prefix, model in _MODELS:
            names = _ATTNAMES[model]
            values = row[start:start + len(names)]
            start += len(names)
            instances.append(None if values[0] is None else model.from_db(alias, names, values))
        participant, meeting_row, account, ministry = instances
        meeting = meeting or meeting_row
        Participant.meeting.field.set_cached_value(participant, meeting)
        Participant.user.field.set_cached_value(participant, account)
        type(account).ministry.field.set_cached_value(account, ministry)
        out.append(participant)
    return out, held


def _converted(alias: str, connection, rows: list[tuple], codenames: tuple[str, ...]) -> list[tuple]:
    """``rows`` with each column through the converters the ORM applies to it on ``connection`` (SQLite's
    text datetimes become aware ``datetime``s, its integers ``bool``s, JSON text Python values)."""
    key = (alias, connection.vendor, codenames)
    found = _CONVERTERS.get(key)
    if found is None:
        queryset = _caller_and_chair_query(_PROBE_USER, _PROBE_MEETING, codenames)
        compiler = queryset.query.get_compiler(alias)
        compiler.setup_query()
        every = [(i, connection.ops.get_db_converters(col) + col.get_db_converters(connection), col)
                 for i, (col, _sql, _alias) in enumerate(compiler.select)]
        found = _CONVERTERS[key] = [(i, funcs, col) for i, funcs, col in every if funcs]
    converted = []
    for row in rows:
        row = list(row)
        for i, funcs, col in found:
            value = row[i]
            for func in funcs:
                value = func(value, col, connection)
            row[i] = value
        converted.append(tuple(row))
    return converted

"""Template tags joining written ballots and sessions (issue 18) without an import between the
apps' views: the session page (``meetings``, below ``voting``) lists a session's ballots by loading
this library by name, as it links to the minutes by URL name. Who sees what is asked of
``voting.permissions`` (``ballots_of_meeting``, ``linked_meeting_visible``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import template
from django.contrib.auth import get_user_model
from django.db import connections

from ecabinet import prepared

from ..ballot_summary import legal_basis_statement, policy_for
from ..permissions import ballots_of_meeting, is_closed, linked_meeting_visible
from ..services import ballots as ballot_services

register = template.Library()


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True)
def ballot_session(context, ballot):
    """The session ``ballot`` is linked to, if the reader may see it; else None.
    ``{% ballot_session ballot as linked %}``."""
    user = _user(context)
    if user is None or not linked_meeting_visible(user, ballot):
        return None
    return ballot.meeting


@register.simple_tag
def ballot_legal_basis(ballot) -> dict:
    """The written-ballot policy in force on the day ``ballot`` was issued (today for a draft), for its
    page: ``{% ballot_legal_basis ballot as basis %}`` → ``{"policy", "statement"}``."""
    policy = policy_for(ballot, ballot_services.current_time())
    return {"policy": policy, "statement": legal_basis_statement(policy)}


@dataclass(frozen=True)
class BallotRow:
    """What ``ballots/_row.html`` shows of a ballot on the session page."""

    pk: int
    title: str
    deadline: datetime
    status: str
    silence_is_consent: bool


_FIELDS = ("pk", "title", "deadline", "status", "silence_is_consent")
# Sentinels for ``ecabinet.prepared``: the reader's id and the session's.
_PROBE_USER, _PROBE_MEETING = -730_194_702_001, -730_194_702_002
_converters: dict[tuple, list] = {}


def _shape(user) -> tuple[bool, bool]:
    """What changes the SQL of ``ballots_of_meeting``: the secretariat sees every ballot, anyone else
    those they were sent (an archivist's closed ballots depend on the time: not prepared)."""
    return bool(user.is_secretariat), bool(user.is_archivist)


def _query(shape: tuple[bool, bool], now: datetime):
    probe = get_user_model()(pk=_PROBE_USER, is_active=True, is_secretariat=shape[0], is_archivist=shape[1])
    probe._state.adding = False
    return ballots_of_meeting(probe, _PROBE_MEETING, now).order_by("-deadline", "-id").values_list(*_FIELDS)


def _timeless(shape: tuple[bool, bool], now: datetime):
    """``_query`` for a shape whose SQL does not depend on ``now`` (checked: else ``ValueError``)."""
    queryset = _query(shape, now)
    other = _query(shape, datetime(2000, 1, 1, tzinfo=now.tzinfo))
    if str(queryset.query) != str(other.query):
        raise ValueError("session ballots: this shape's query depends on the time; it cannot be prepared")
    return queryset


def _prepared_rows(user, meeting_id: int, now: datetime) -> list[tuple]:
    """``ballots_of_meeting(user, meeting_id, now)``'s rows, the query built once per process for each
    shape of reader (issue 19: building its ``Exists`` cost the session page more than running it), the
    columns through the converters the ORM applies (SQLite's text datetimes, integer booleans)."""
    shape = _shape(user)
    key = ("voting.session_ballots", shape)
    alias, sql, params = prepared.prepare(key, lambda: _timeless(shape, now))
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, prepared.fill(params, {_PROBE_USER: user.pk, _PROBE_MEETING: meeting_id}))
        rows = cursor.fetchall()
    found = _converters.get((key, alias))
    if found is None:
        compiler = _query(shape, now).query.get_compiler(alias)
        compiler.setup_query()
        every = [(i, connection.ops.get_db_converters(col) + col.get_db_converters(connection), col)
                 for i, (col, _sql, _alias) in enumerate(compiler.select)]
        found = _converters[(key, alias)] = [(i, funcs, col) for i, funcs, col in every if funcs]
    out = []
    for row in rows:
        row = list(row)
        for i, funcs, col in found:
            for func in funcs:
                row[i] = func(row[i], col, connection)
        out.append(tuple(row))
    return out


def session_ballot_rows(user, meeting_id: int, now: datetime) -> list[BallotRow]:
    """``ballots_of_meeting(user, meeting_id, now)``, latest deadline first, as plain rows: prepared
    (``_prepared_rows``) except for an archivist outside the secretariat, whose closed ballots are
    filtered by ``now``."""
    if not (user.is_authenticated and user.is_active):
        return []
    if user.is_archivist and not user.is_secretariat:
        rows = ballots_of_meeting(user, meeting_id, now).order_by("-deadline", "-id").values_list(*_FIELDS)
    else:
        rows = _prepared_rows(user, meeting_id, now)
    return [BallotRow(*row) for row in rows]


@register.simple_tag(takes_context=True)
def session_ballots(context, meeting) -> list[dict]:
    """The written ballots linked to ``meeting`` that the reader may open, latest deadline first:
    rows shaped for ``ballots/_row.html``. ``{% session_ballots meeting as written_ballots %}``; the
    page itself is shown only to who may see the session."""
    user = _user(context)
    if user is None:
        return []
    now = ballot_services.current_time()
    return [{"ballot": b, "status": b.status, "is_closed": is_closed(b, now), "my_progress": None}
            for b in session_ballot_rows(user, meeting.pk, now)]

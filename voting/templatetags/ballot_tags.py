"""Template tags joining written ballots and sessions (issue 18) without an import between the
apps' views: the session page (``meetings``, below ``voting``) lists a session's ballots by loading
this library by name, as it links to the minutes by URL name. Who sees what is asked of
``voting.permissions`` (``ballots_of_meeting``, ``linked_meeting_visible``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

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


BALLOT_FIELDS = ("pk", "title", "deadline", "status", "silence_is_consent")
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
    return ballots_of_meeting(probe, _PROBE_MEETING, now).order_by("-deadline", "-id").values_list(*BALLOT_FIELDS)


def _timeless(shape: tuple[bool, bool], now: datetime):
    """``_query`` for a shape whose SQL does not depend on ``now`` (checked: else ``ValueError``)."""
    queryset = _query(shape, now)
    other = _query(shape, datetime(2000, 1, 1, tzinfo=now.tzinfo))
    if str(queryset.query) != str(other.query):
        raise ValueError("session ballots: this shape's query depends on the time; it cannot be prepared")
    return queryset


def session_ballots_statement(user, meeting_id: int, now: datetime) -> tuple[str, str, list] | None:
    """``ballots_of_meeting(user, meeting_id, now)``, latest deadline first, as (database alias, SQL,
    parameters), its columns ``BALLOT_FIELDS`` in order; None for an account that sees no ballot. The query is
    built once per process for each shape of reader (issue 19: building its ``Exists`` cost the session
    page more than running it), except an archivist's outside the secretariat, whose closed ballots are
    filtered by ``now``: compiled for each request."""
    if not (user.is_authenticated and user.is_active):
        return None
    if user.is_archivist and not user.is_secretariat:
        queryset = ballots_of_meeting(user, meeting_id, now).order_by("-deadline", "-id").values_list(*BALLOT_FIELDS)
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
        return queryset.db, sql, list(params)
    shape = _shape(user)
    alias, sql, params = prepared.prepare(("voting.session_ballots", shape), lambda: _timeless(shape, now))
    return alias, sql, prepared.fill(params, {_PROBE_USER: user.pk, _PROBE_MEETING: meeting_id})


def session_ballot_rows_of(alias: str, rows: list[tuple]) -> list[BallotRow]:
    """``session_ballots_statement``'s rows as ``BallotRow``s, each column through the converters the
    ORM applies to it (SQLite's text datetimes, integer booleans)."""
    connection = connections[alias]
    found = _converters.get((alias, connection.vendor))
    if found is None:
        compiler = _query((False, False), datetime(2000, 1, 1, tzinfo=UTC)).query.get_compiler(alias)
        compiler.setup_query()
        every = [(i, connection.ops.get_db_converters(col) + col.get_db_converters(connection), col)
                 for i, (col, _sql, _alias) in enumerate(compiler.select)]
        found = _converters[(alias, connection.vendor)] = [(i, funcs, col) for i, funcs, col in every if funcs]
    out = []
    for row in rows:
        row = list(row)
        for i, funcs, col in found:
            for func in funcs:
                row[i] = func(row[i], col, connection)
        out.append(BallotRow(*row))
    return out


def session_ballot_rows(user, meeting_id: int, now: datetime) -> list[BallotRow]:
    """``ballots_of_meeting(user, meeting_id, now)``, latest deadline first, as plain rows, in one query
    (``session_ballots_statement``)."""
    statement = session_ballots_statement(user, meeting_id, now)
    if statement is None:
        return []
    alias, sql, params = statement
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return session_ballot_rows_of(alias, cursor.fetchall())


@register.simple_tag(takes_context=True)
def session_ballots(context, meeting, header=None) -> list[dict]:
    """The written ballots linked to ``meeting`` that the reader may open, latest deadline first:
    rows shaped for ``ballots/_row.html``. ``{% session_ballots meeting header as written_ballots %}``;
    the page itself is shown only to who may see the session. ``header``: the page header's counts
    (``followup_tags.header_counts``), which read this very list in their statement on the session page
    (its ``session``, used only when it names this session and this reader)."""
    user = _user(context)
    if user is None:
        return []
    now = ballot_services.current_time()
    lists = header.get("session") if isinstance(header, dict) else None
    if lists is not None and lists["meeting"] == meeting.pk and lists["user"] == user.pk:
        rows, now = lists["ballots"], lists["now"]
    else:
        rows = session_ballot_rows(user, meeting.pk, now)
    return [{"ballot": b, "status": b.status, "is_closed": is_closed(b, now), "my_progress": None} for b in rows]

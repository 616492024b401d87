"""Template tags joining the follow-up register to the pages of the apps below it, loaded by name
(no import from ``meetings`` or ``voting`` to ``followup``): the header's "Tasks" link, the session
page's "Tasks assigned" section and its "Assign a task" links, and the closed written ballot's.
Who sees what is asked of ``followup.permissions``."""

from __future__ import annotations

from django import template
from django.db import connections, router
from django.urls import reverse
from django.utils.http import urlencode

from ecabinet.models import Notification
from voting.models import Ballot
from voting.services import ballots as ballot_services
from voting.templatetags.ballot_tags import BALLOT_FIELDS, session_ballot_rows_of, session_ballots_statement

from .. import permissions, selectors, services
from ..models import Task

register = template.Library()

SESSION_TASKS_SHOWN = 50  # docs/limits.md: the session page lists at most this many; the register has the rest


def _user(context):
    request = context.get("request")
    return getattr(request, "user", None) or context.get("user")


@register.simple_tag(takes_context=True)
def may_open_register(context) -> bool:
    """``{% may_open_register as show_tasks %}``: whether the header links to the register."""
    user = _user(context)
    return bool(user is not None and permissions.may_open_register(user))


_UNREAD_USER = -730_194_800_001
_unread_sql: dict[str, tuple[str, tuple]] = {}


def _unread(alias: str, user_id: int) -> tuple[str, list]:
    """The count of the account's unread notifications (``ecabinet.context_processors``' question) as
    SQL, built once per process."""
    if alias not in _unread_sql:
        rows = Notification.objects.using(alias).filter(user_id=_UNREAD_USER, read_at__isnull=True).values("pk")
        sql, params = rows.query.get_compiler(alias).as_sql()
        _unread_sql[alias] = (f"SELECT COUNT(*) FROM ({sql}) unread", tuple(params))  # noqa: S608 — Django's own compiled SQL, values bound
    sql, params = _unread_sql[alias]
    return sql, [user_id if type(p) is int and p == _UNREAD_USER else p for p in params]


@register.simple_tag(takes_context=True)
def header_counts(context) -> dict:
    """``{% header_counts as header %}``: whether the header links to the register (``header.tasks``,
    ``permissions.may_open_register``) and the caller's unread notifications (``header.unread``),
    in one query (issue 19: the header is on every page). On the session page (its view names the
    session in ``session_lists``) the same statement also reads the session's tasks and written ballots
    the page lists (``header.session``, for ``{% session_tasks %}`` and ``{% session_ballots %}``): the
    very queries those tags would send, each a subquery of one ``UNION ALL``."""
    user = _user(context)
    if user is None or not user.is_authenticated:
        return {"tasks": False, "unread": 0}
    known = permissions.register_query(user)
    alias = known[0] if isinstance(known, tuple) else router.db_for_read(Notification)
    unread_sql, unread_params = _unread(alias, user.pk)
    if isinstance(known, bool):
        sql, params = f"({unread_sql}), 0", unread_params
    else:
        sql, params = f"({unread_sql}), EXISTS({known[1]})", [*unread_params, *known[2]]
    meeting_id = context.get("session_lists")
    if meeting_id is not None:
        folded = _with_session_lists(user, alias, sql, params, meeting_id, context.get("session_agenda"))
        if folded is not None:
            unread, tasks, lists = folded
            return {"tasks": known if isinstance(known, bool) else bool(tasks), "unread": unread, "session": lists}
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        unread, tasks = cursor.fetchone()
    return {"tasks": known if isinstance(known, bool) else bool(tasks), "unread": unread}


# The statement of the session page's header with its lists: one row shape, each kind in its own
# columns (the others NULL, typed as the columns they stand in: PostgreSQL types a UNION's columns
# two branches at a time), numbered in each list's own order (``ROW_NUMBER`` over the subquery's
# ORDER BY columns) and sorted by kind, then that number. The agenda screen's agenda (its view's
# ``session_agenda``: ``meetings.selectors.PageAgenda``, its own UNION ALL) comes first, its columns
# last, sorted by its own kind and order: its columns are typed, so the NULLs of the others need not be.
_HEADER, _TASK, _BALLOT, _AGENDA = 0, 1, 2, 3
_TASK_COLUMNS = len(selectors.SESSION_TASK_FIELDS)
_LISTS_END = 4 + _TASK_COLUMNS + len(BALLOT_FIELDS)


def _field(model, name: str):
    if name == "pk":
        return model._meta.pk
    *path, last = name.split("__")
    for step in path:
        model = model._meta.get_field(step).related_model
    return model._meta.get_field(last)


_typed: dict[tuple, str] = {}


def _list_order(row) -> tuple:
    return row[0], row[1]


def _row_order(row) -> tuple:
    return row[0], row[1], row[_LISTS_END], row[_LISTS_END + 1]  # ORDER BY 1, 2, E + 1, E + 2 (from 1)


def _typed_nulls(connection, model, names) -> str:
    key = (connection.vendor, connection.alias, model, names)
    if key not in _typed:
        _typed[key] = "".join(f", CAST(NULL AS {_field(model, name).cast_db_type(connection)})" for name in names)
    return _typed[key]


def _with_session_lists(user, alias: str, header_sql: str, header_params: list, meeting_id: int, agenda=None):
    """(unread, register exists, ``header.session``) in one statement, or None when the lists' queries
    are not all on ``alias``'s database; ``agenda`` (the page's ``PageAgenda``) is read with them and
    given its rows when its statement is on that database too."""
    now = ballot_services.current_time()
    tasks = selectors.session_tasks_statement(user, meeting_id, SESSION_TASKS_SHOWN)
    ballots = session_ballots_statement(user, meeting_id, now)
    if any(statement is not None and statement[0] != alias for statement in (tasks, ballots)):
        return None
    connection = connections[alias]
    quote = connection.ops.quote_name
    task_nulls = _typed_nulls(connection, Task, selectors.SESSION_TASK_FIELDS)
    ballot_nulls = _typed_nulls(connection, Ballot, BALLOT_FIELDS)
    statement = agenda.statement() if agenda is not None else None
    if statement is not None and statement[0] != alias:
        statement = None
    agenda_nulls = ", NULL" * agenda.columns if statement is not None else ""
    parts, params = [], []
    if statement is not None:
        lists_nulls = ", NULL" * (_LISTS_END - 2)
        parts.append(f"SELECT {_AGENDA}, 0{lists_nulls}, a.* FROM ({statement[1]}) a")  # noqa: S608 — Django's compiled SQL, values bound
        params += statement[2]
    parts.append(f"SELECT {_HEADER}, 0, {header_sql}{task_nulls}{ballot_nulls}{agenda_nulls}")
    params += header_params
    if tasks is not None:
        order = ", ".join(f"q.{quote(name)}" for name in ("regular", "deadline", "pk"))
        columns = f"{_TASK}, ROW_NUMBER() OVER (ORDER BY {order}), NULL, NULL, q.*{ballot_nulls}{agenda_nulls}"
        parts.append(f"SELECT {columns} FROM ({tasks[1]}) q")  # noqa: S608 — Django's compiled SQL, values bound
        params += tasks[2]
    if ballots is not None:
        order = ", ".join(f"q.{quote(name)} DESC" for name in ("deadline", "pk"))
        no_tasks = ", NULL" * _TASK_COLUMNS
        columns = f"{_BALLOT}, ROW_NUMBER() OVER (ORDER BY {order}), NULL, NULL{no_tasks}, q.*{agenda_nulls}"
        parts.append(f"SELECT {columns} FROM ({ballots[1]}) q")  # noqa: S608 — Django's compiled SQL, values bound
        params += ballots[2]
    with connections[alias].cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        rows = cursor.fetchall()
    # Sorted here, not by an ORDER BY: the database would copy every row (the agenda's too) into a
    # sorter for an order Python gives the few rows for less (issue 19). By kind, then the number in
    # its list, then the agenda's own kind and order; no two rows tie on these (one header row, the
    # lists numbered, the agenda's rows by position or id), so the order is the one ORDER BY gave.
    rows.sort(key=_row_order if statement is not None else _list_order)
    header = rows[0]
    task_rows = [row[4:4 + _TASK_COLUMNS] for row in rows if row[0] == _TASK]
    ballot_rows = [row[4 + _TASK_COLUMNS:_LISTS_END] for row in rows if row[0] == _BALLOT]
    if statement is not None:
        agenda.take([row[_LISTS_END:] for row in rows if row[0] == _AGENDA])
    return header[2], header[3], {
        "meeting": meeting_id, "user": user.pk, "now": now,
        "tasks": selectors.session_task_rows(meeting_id, task_rows),
        "ballots": session_ballot_rows_of(alias, ballot_rows)}


@register.simple_tag(takes_context=True)
def session_tasks(context, meeting, header=None) -> dict:
    """``{% session_tasks meeting header as assigned %}``: the session's tasks the reader may see (at
    most ``SESSION_TASKS_SHOWN``), the register filtered by the session, and whether the reader may
    assign tasks from its agenda items and motions (``can_assign``) and from its resolution
    (``resolution_url``). ``header``: the page's ``header_counts``, whose statement read the tasks on
    the session page (used only when it names this session and this reader)."""
    user = _user(context)
    if user is None:
        return {"rows": [], "can_assign": False}
    today = services.today()
    lists = header.get("session") if isinstance(header, dict) else None
    if lists is not None and lists["meeting"] == meeting.pk and lists["user"] == user.pk:
        tasks = lists["tasks"]
    else:
        tasks = selectors.session_tasks(user, meeting.pk, SESSION_TASKS_SHOWN)
    return {
        "rows": [{"task": t, "overdue": selectors.is_overdue(t, today)} for t in tasks],
        "register_url": reverse("task_list") + "?" + urlencode({"meeting": meeting.pk}),
        "can_assign": permissions.may_assign_from(user, meeting),
        "resolution_url": new_task_url(Task.Source.RESOLUTION, meeting.pk)
        if permissions.may_assign_resolution(user, meeting) else None,
    }


@register.simple_tag
def new_task_url(kind: str, source_id: int) -> str:
    """``{% new_task_url "motion" motion.pk %}``: the new-task form for that decision."""
    return reverse("task_new") + "?" + urlencode({"source_kind": kind, "source_id": source_id})


@register.simple_tag(takes_context=True)
def ballot_task_url(context, ballot) -> str | None:
    """``{% ballot_task_url ballot as assign_url %}``: the new-task form for a closed written ballot,
    for who may assign tasks; else None."""
    user = _user(context)
    if user is None or not permissions.may_assign_from_ballot(user, ballot, services.current_time()):
        return None
    return new_task_url(Task.Source.BALLOT, ballot.pk)


@register.filter
def task_state(value: str) -> str:
    """A state's name in words (``TaskChange.from_state``/``to_state`` hold the code)."""
    return Task.State(value).label if value in Task.State.values else value

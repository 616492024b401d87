"""Queries compiled once per process, with sentinels in place of the values that change per request
(issue 19: on the pages every request asks for, Django spent more CPU *building* a query — the
visibility rules are several subqueries — than the database took to answer it).

``prepare(key, build)`` compiles ``build()``'s queryset once per ``key`` and returns its database
alias, SQL and parameters; ``fill(params, values)`` puts a request's own values in place of the
sentinels. The key must name everything that changes the query's *shape* (which branches of a rule
it takes); the sentinels stand for what changes only its *values* (ids). Each user of this keeps the
rule where it lives (a permissions module) and builds the query by calling that rule, and its tests
compare the prepared answers with the ORM's for every shape.

Sentinels are large negative integers no primary key takes; ``fill`` replaces a parameter only when
it is exactly such an ``int``.
"""

from __future__ import annotations

from django.db import connections

__all__ = ["fill", "prepare", "rows"]

_compiled: dict[tuple, tuple[str, str, tuple]] = {}


def prepare(key: tuple, build) -> tuple[str, str, tuple]:
    """``(alias, sql, params)`` of the queryset ``build()`` returns, compiled once per ``key``."""
    found = _compiled.get(key)
    if found is None:
        queryset = build()
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
        found = _compiled[key] = (queryset.db, sql, tuple(params))
    return found


def fill(params: tuple, values: dict[int, object]) -> list:
    """``params`` with each sentinel (a key of ``values``) replaced by its value."""
    return [values[p] if type(p) is int and p in values else p for p in params]


def rows(key: tuple, build, values: dict[int, object]) -> list[tuple]:
    """The rows of the prepared query ``key`` with ``values`` in place of its sentinels."""
    alias, sql, params = prepare(key, build)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, fill(params, values))
        return cursor.fetchall()

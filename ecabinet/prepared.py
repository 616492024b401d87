"""Queries compiled once per process, with sentinels in place of the values that change per request
(issue 19: on the pages every request asks for, Django spent more CPU *building* a query — the
visibility rules are several subqueries — than the database took to answer it).

``prepare(key, build)`` compiles ``build()``'s queryset once per ``key`` and returns its database
alias, SQL and parameters; ``fill(params, values)`` puts a request's own values in place of the
sentinels. The key must name everything that changes the query's *shape* (which branches of a rule
it takes); the sentinels stand for what changes only its *values* (ids). Each user of this keeps the
rule where it lives (a permissions module) and builds the query by calling that rule, and its tests
compare the prepared answers with the ORM's for every shape.

Sentinels are large negative integers no primary key takes, or strings no column holds (they begin
with ``SENTINEL_MARK``, a NUL, which no text the project stores contains); ``fill`` replaces a
parameter only when it is exactly such an ``int`` or ``str``.

``converted_rows`` also passes each column through the converters the ORM applies to it (SQLite's
text datetimes become aware ``datetime``s, its integers ``bool``s, JSON text Python values), and
``instance`` makes a model instance of some of a row's columns as the ORM makes it (``Model.from_db``).
"""

from __future__ import annotations

from django.db import connections

__all__ = ["SENTINEL_MARK", "attnames", "converted_rows", "fill", "instance", "prepare", "rows"]

SENTINEL_MARK = "\x00"

_compiled: dict[tuple, tuple[str, str, tuple]] = {}
_converters: dict[tuple, list] = {}
_attnames: dict[type, list[str]] = {}


def prepare(key: tuple, build) -> tuple[str, str, tuple]:
    """``(alias, sql, params)`` of the queryset ``build()`` returns, compiled once per ``key``."""
    found = _compiled.get(key)
    if found is None:
        queryset = build()
        sql, params = queryset.query.get_compiler(queryset.db).as_sql()
        found = _compiled[key] = (queryset.db, sql, tuple(params))
    return found


def fill(params: tuple, values: dict[object, object]) -> list:
    """``params`` with each sentinel (a key of ``values``) replaced by its value."""
    return [values[p] if type(p) in (int, str) and p in values else p for p in params]


def rows(key: tuple, build, values: dict[object, object]) -> list[tuple]:
    """The rows of the prepared query ``key`` with ``values`` in place of its sentinels."""
    alias, sql, params = prepare(key, build)
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, fill(params, values))
        return cursor.fetchall()


def converted_rows(key: tuple, build, values: dict[object, object]) -> tuple[str, list[tuple]]:
    """The database alias and the rows of the prepared query ``key`` (``build()`` must return a
    ``values_list`` queryset), each column through the converters the ORM applies to it."""
    alias, sql, params = prepare(key, build)
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(sql, fill(params, values))
        found = cursor.fetchall()
    if not found:
        return alias, found
    converters = _converters_of(key, build, alias, connection)
    if not converters:
        return alias, found
    out = []
    for row in found:
        row = list(row)
        for i, funcs, col in converters:
            value = row[i]
            for func in funcs:
                value = func(value, col, connection)
            row[i] = value
        out.append(tuple(row))
    return alias, out


def _converters_of(key: tuple, build, alias: str, connection) -> list:
    cache_key = (key, alias, connection.vendor)
    found = _converters.get(cache_key)
    if found is None:
        compiler = build().query.get_compiler(alias)
        compiler.setup_query()
        every = [(i, connection.ops.get_db_converters(col) + col.get_db_converters(connection), col)
                 for i, (col, _sql, _alias) in enumerate(compiler.select)]
        found = _converters[cache_key] = [(i, funcs, col) for i, funcs, col in every if funcs]
    return found


def attnames(model) -> list[str]:
    """The attribute names of ``model``'s concrete fields, in the order ``instance`` expects them."""
    found = _attnames.get(model)
    if found is None:
        found = _attnames[model] = [f.attname for f in model._meta.concrete_fields]
    return found


def instance(alias: str, model, values):
    """A ``model`` instance of ``values`` (converted, in ``attnames(model)``'s order), as the ORM makes it."""
    return model.from_db(alias, attnames(model), values)

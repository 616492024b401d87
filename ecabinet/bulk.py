"""Inserting many rows in one statement, for the group commits (``voting.services.votes``).

``QuerySet.bulk_create`` builds the SQL of every row value by value through the compiler, and a
model instance for every row: for the 500 votes of an assembly, with their audit entries, events and
idempotency records, that took longer than the database did. ``insert`` writes the same rows with
one ``executemany`` of one prepared statement, each value prepared by its own field
(``Field.get_db_prep_save``, as ``Model.save`` and ``bulk_create`` prepare it), so the stored values
are exactly what the ORM would have stored, on SQLite and on PostgreSQL alike. It does not run
``pre_save`` (no ``auto_now``, no field defaults): callers give every column.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connections, router

__all__ = ["insert", "insert_objects", "save_new"]

# Columns whose field prepares a str, an int or None to itself on every backend (``get_prep_value``
# is ``str``/``int`` of it, and no backend adapts these types further): their values go as they are.
_PLAIN_TYPES = frozenset({"CharField", "TextField", "IntegerField", "BigIntegerField", "SmallIntegerField",
                          "PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField",
                          "AutoField", "BigAutoField"})
_PLAIN_VALUES = (str, int, type(None))


def _is_plain(field) -> bool:
    target = field.target_field if field.is_relation else field
    return target.get_internal_type() in _PLAIN_TYPES


_statements: dict[tuple, tuple] = {}


def _statement(model, fields: tuple[str, ...], connection) -> tuple[list, list[bool], str, str]:
    """The fields of ``fields``, which of them go as they are, and the INSERT's head and one row's
    placeholders: the same for every call with these arguments, so worked out once per process
    (issue 19: every audit entry and event is inserted here)."""
    key = (model, fields, connection.alias, connection.vendor)
    found = _statements.get(key)
    if found is None:
        meta = model._meta
        columns = [meta.get_field(name) for name in fields]
        quote = connection.ops.quote_name
        # Names from the model's own metadata, quoted by the backend; the values go as parameters.
        head = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in columns)}) VALUES "  # noqa: S608
        found = _statements[key] = (columns, [_is_plain(field) for field in columns], head,
                                    f"({', '.join(['%s'] * len(columns))})")
    return found


def insert(model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """INSERT ``rows`` (tuples of values in the order of ``fields``, model field names; a foreign
    key takes the related row's id) into ``model``'s table. Returns the number of rows.

    Many rows per statement (``VALUES (…), (…), …``, as many as the backend's parameter limit
    allows), not one statement per row: Python's sqlite3 module lets go of the GIL at every step of
    a statement, and a thread that lets go of it waits for it again behind the server's busy event
    loop — for 500 rows, 500 waits of up to a switch interval each (5 ms)."""
    connection = connections[router.db_for_write(model)]
    columns, plain, head, one = _statement(model, tuple(fields), connection)
    prepared = [tuple(value if fast and type(value) in _PLAIN_VALUES else field.get_db_prep_save(value, connection)
                      for field, fast, value in zip(columns, plain, row, strict=True))
                for row in rows]
    per_statement = max(1, (connection.features.max_query_params or 1000) // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(prepared), per_statement):
            chunk = prepared[start:start + per_statement]
            cursor.execute(head + ", ".join([one] * len(chunk)), [value for row in chunk for value in row])
    return len(prepared)


def insert_objects(objects: Sequence, fields: Sequence[str]) -> int:
    """``insert`` of unsaved model instances (all of one model), their ``fields`` (attribute names:
    ``motion_id`` rather than ``motion``). Their primary keys are not read back."""
    if not objects:
        return 0
    return insert(type(objects[0]), fields, [tuple(getattr(obj, name) for name in fields) for obj in objects])


def save_new(obj, fields: Sequence[str]) -> None:
    """``obj.save()`` of a new instance (``Model.objects.create``) in one prepared statement: its
    ``fields`` (attribute names) inserted as ``insert`` prepares them, its primary key read back
    (``INSERT … RETURNING``, as the ORM reads it; ``lastrowid`` where the backend cannot), and the
    instance marked saved. Like ``insert`` it runs no ``pre_save``; and no ``pre_save``/``post_save``
    signals are sent: for models whose receivers ignore them (issue 19: the comment of a POST, where
    the ORM's ``save`` cost more CPU than the database took to store the row)."""
    model = type(obj)
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    columns, plain, head, one = _statement(model, tuple(fields), connection)
    values = [value if fast and type(value) in _PLAIN_VALUES else field.get_db_prep_save(value, connection)
              for field, fast, value in zip(columns, plain, (getattr(obj, name) for name in fields), strict=True)]
    sql = head + one
    with connection.cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            returning, returning_params = connection.ops.return_insert_columns([meta.pk])
            cursor.execute(f"{sql} {returning}", [*values, *returning_params])
            pk = connection.ops.fetch_returned_insert_columns(cursor, returning_params)[0]
        else:
            cursor.execute(sql, values)
            pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias

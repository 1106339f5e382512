"""Queries compiled once: the SQL of an ORM query, built once per process and database, run with a cursor.

Django builds and compiles a queryset's SQL every time one is evaluated. For a request that runs three
small queries (the token's user, the room with the caller's access to it, a page of history) building
and compiling them was about half of the request's CPU (README "Fast REST"). A PreparedQuery builds its
queryset with a sentinel in place of each value a request brings, compiles it, finds where each sentinel
landed among the parameters, and from then on binds the request's values there. The SQL is the ORM's
(right on every backend), the values go as parameters, and rows go through the compiler's own
converters (two of them replaced by quicker equivalents), so they are what ``values_list()`` returns.

What changes the SQL text itself (a LIMIT, an optional filter) is the ``shape``: one compiled query per
shape and per set of values given. It is compiled twice with different sentinels: a position whose
parameter differs is a value's, any other a constant of the query; SQL that differs between the two (a
value written into the text) is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import JSONField, QuerySet

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1
# Compiled only, never executed; within 32 bits so no integer column's lookup drops them as overflow.
_INT_SENTINELS = (1_900_000_000, 1_800_000_000)
_DATETIME_SENTINELS = (datetime(2001, 1, 1, tzinfo=UTC), datetime(2002, 2, 2, tzinfo=UTC))

Builder = Callable[..., QuerySet[Any]]


class OutOfRange(ValueError):
    """An integer value no database column can hold (the ORM would have matched nothing, or everything)."""


def fits_bigint(value: int | None) -> bool:
    return value is None or BIGINT_MIN <= value <= BIGINT_MAX


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]
    slots: tuple[tuple[int, str], ...]  # (position among the parameters, value's name)
    adapters: dict[str, Callable[[Any], Any]]
    names: tuple[str, ...]  # the columns, as values() names them
    converters: tuple[tuple[int, Callable[..., Any], Any, bool], ...]  # position, function, expression, keeps None


class PreparedQuery:
    """``build(shape, **values)`` returns a ``values()``/``values_list()`` queryset; ``rows`` runs it."""

    def __init__(self, build: Builder, *, using: str = DEFAULT_DB_ALIAS, max_shapes: int = 1024) -> None:
        self.build = build
        self.using = using
        self.max_shapes = max_shapes  # past this many, a new shape is compiled for each use, not kept
        self._compiled: dict[Hashable, _Compiled] = {}

    def rows(self, shape: Hashable = (), **values: int | str | datetime) -> list[tuple[Any, ...]]:
        """The rows for ``values`` (ints, strings, aware datetimes), as tuples in the columns' order."""
        return self._run(shape, values)[1]

    def dicts(self, shape: Hashable = (), **values: int | str | datetime) -> list[dict[str, Any]]:
        """The rows as ``values()`` returns them: dicts by column name."""
        compiled, rows = self._run(shape, values)
        names = compiled.names
        return [dict(zip(names, row, strict=True)) for row in rows]

    def _run(self, shape: Hashable, values: dict[str, Any]) -> tuple[_Compiled, list[tuple[Any, ...]]]:
        connection = connections[self.using]
        compiled = self.compiled(shape, connection, values)
        params = list(compiled.params)
        for position, name in compiled.slots:
            params[position] = compiled.adapters[name](values[name])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return compiled, [tuple(row) for row in rows]
        return compiled, [_convert(row, compiled.converters, connection) for row in rows]

    def compiled(self, shape: Hashable, connection: Any, values: dict[str, Any]) -> _Compiled:
        for value in values.values():
            if isinstance(value, bool) or not isinstance(value, int | str | datetime):
                raise TypeError(f"A prepared query takes ints, strings and datetimes, not {value!r}.")
            if isinstance(value, int) and not fits_bigint(value):
                raise OutOfRange(value)
            if isinstance(value, datetime) and value.tzinfo is None and settings.USE_TZ:
                raise TypeError("A prepared query takes aware datetimes (the ORM would guess a zone for this one).")
        key = (connection.alias, connection.vendor, shape, tuple(sorted((k, type(v)) for k, v in values.items())))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(shape, connection, values)
            if len(self._compiled) < self.max_shapes:
                self._compiled[key] = compiled
        return compiled

    def _compile(self, shape: Hashable, connection: Any, values: dict[str, Any]) -> _Compiled:
        adapters = {name: _adapter(value, connection) for name, value in values.items()}
        runs = []
        for turn in (0, 1):
            sentinels = {
                name: _sentinel(name, value, turn, index) for index, (name, value) in enumerate(values.items())
            }
            compiler = self.build(shape, **sentinels).query.get_compiler(connection=connection)
            sql, params = compiler.as_sql()
            adapted = {name: adapters[name](sentinel) for name, sentinel in sentinels.items()}
            runs.append((compiler, sql, tuple(params), adapted))
        (compiler, sql, params, first), (_, other_sql, other_params, second) = runs
        if sql != other_sql:
            raise ValueError("A value of this query is written into its SQL: give it to build() as its shape.")
        slots = []
        for position, (one, two) in enumerate(zip(params, other_params, strict=True)):
            if one == two:
                continue
            name = next((n for n in values if first[n] == one and second[n] == two), None)
            if name is None:
                raise ValueError(f"Parameter {position} of this query is none of {sorted(values)}.")
            slots.append((position, name))
        if missing := set(values) - {name for _, name in slots}:
            raise ValueError(f"This query does not use {sorted(missing)}.")
        query = compiler.query
        names = (*query.extra_select, *query.values_select, *query.annotation_select)
        columns = [column for column, _, _ in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, _chain([_quicker(function, connection) for function in functions]), expression, keeps_none)
            for position, (functions, expression) in compiler.get_converters(columns).items()
            for keeps_none in [all(_keeps_none(function) for function in functions)]
        )
        return _Compiled(sql, params, tuple(slots), adapters, names, converters)


def _convert(row: tuple[Any, ...], converters: tuple[Any, ...], connection: Any) -> tuple[Any, ...]:
    values = list(row)
    for position, convert, expression, keeps_none in converters:
        value = values[position]
        if value is not None or not keeps_none:
            values[position] = convert(value, expression, connection)
    return tuple(values)


def _chain(functions: list[Callable[..., Any]]) -> Callable[..., Any]:
    if len(functions) == 1:
        return functions[0]

    def convert(value: Any, expression: Any, connection: Any) -> Any:
        for function in functions:
            value = function(value, expression, connection)
        return value

    return convert


# The converters that turn None into None (every one of these backends', and JSONField's): a null cell
# need not call them. Any other converter (a third-party field's) is called for nulls too, as Django does.
_NONE_TO_NONE_MODULES = ("django.db.backends.sqlite3.operations", "django.db.backends.postgresql.operations")


def _keeps_none(function: Callable[..., Any]) -> bool:
    owner = getattr(function, "__func__", None)
    return owner is JSONField.from_db_value or getattr(owner, "__module__", None) in _NONE_TO_NONE_MODULES


def _quicker(function: Callable[..., Any], connection: Any) -> Callable[..., Any]:
    """An equivalent of the two converters a page of history calls for most of its cells (a quarter of
    its CPU): SQLite's datetimes, and JSON that is an empty list or object; any other converter as it is."""
    owner = getattr(function, "__func__", None)
    field = getattr(function, "__self__", None)
    if owner is JSONField.from_db_value and isinstance(field, JSONField) and field.decoder is None:
        return _empty_json_first(function)
    name = f"{getattr(owner, '__module__', '')}.{getattr(owner, '__qualname__', '')}"
    if name == "django.db.backends.sqlite3.operations.DatabaseOperations.convert_datetimefield_value":
        return _sqlite_datetime(function, connection.timezone if settings.USE_TZ else None)
    return function


def _empty_json_first(original: Callable[..., Any]) -> Callable[..., Any]:
    def convert(value: Any, expression: Any, connection: Any) -> Any:
        if value == "[]":
            return []
        if value == "{}":
            return {}
        return original(value, expression, connection)

    return convert


def _sqlite_datetime(original: Callable[..., Any], zone: tzinfo | None) -> Callable[..., Any]:
    """What Django does with SQLite's naive datetimes (made aware in the connection's zone when USE_TZ),
    without reading the settings for every cell; anything else (None, text) goes to Django's."""

    def convert(value: Any, expression: Any, connection: Any) -> Any:
        if zone is not None and type(value) is datetime and value.tzinfo is None:
            return value.replace(tzinfo=zone)
        return original(value, expression, connection)

    return convert


def _sentinel(name: str, value: Any, turn: int, index: int) -> Any:
    if isinstance(value, datetime):
        return _DATETIME_SENTINELS[turn] + timedelta(seconds=index)
    if isinstance(value, int):
        return _INT_SENTINELS[turn] + index
    return f"prepared-{turn}-{name}"


def _adapter(value: Any, connection: Any) -> Callable[[Any], Any]:
    """How the ORM turns a value of this type into a parameter (datetimes: text on SQLite)."""
    if isinstance(value, datetime):
        adapt: Callable[[Any], Any] = connection.ops.adapt_datetimefield_value
        return adapt
    return _same


def _same(value: Any) -> Any:
    return value

"""A queryset compiled once per process, for the hottest reads.

Django compiles a queryset's SQL every time it is evaluated; for a query with subqueries (an access
check with two EXISTS) that costs several times what running it does. ``Compiled`` builds the queryset
once with placeholder values, keeps its SQL, and on each call substitutes the real values for the
placeholders' parameters and reads the rows through ``raw()`` (annotations arrive as attributes). The
queryset stays the one definition of the query; only its compilation is shared.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


def _adapt(value: Any) -> Any:
    """A value as the ORM hands it to the driver (datetimes are adapted per database)."""
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value


class Compiled(Generic[M]):
    """``build(**placeholders)`` compiled once per database vendor; ``first(**values)`` runs it.

    Each placeholder must be a value that appears as a parameter of the compiled SQL and nowhere else
    (a negative id, an odd string, a datetime in 2000): compiling raises when one is missing."""

    def __init__(self, build: Callable[..., QuerySet[M]], **placeholders: Any) -> None:
        self.build = build
        self.placeholders = placeholders
        self.statements: dict[str, tuple[type[M], str, list[str | None], tuple[Any, ...]]] = {}

    def _statement(self) -> tuple[type[M], str, list[str | None], tuple[Any, ...]]:
        statement = self.statements.get(connection.vendor)
        if statement is None:
            queryset = self.build(**self.placeholders)
            sql, params = queryset.query.sql_with_params()
            adapted = {name: _adapt(value) for name, value in self.placeholders.items()}
            names = [next((n for n, v in adapted.items() if type(p) is type(v) and p == v), None) for p in params]
            missing = set(self.placeholders) - set(names)
            if missing:
                raise ValueError(f"Placeholders not found in the compiled query's parameters: {sorted(missing)}")
            statement = self.statements[connection.vendor] = (queryset.model, sql, names, params)
        return statement

    def first(self, **values: Any) -> M | None:
        """The first row with ``values`` in place of the placeholders (None when there is none)."""
        model, sql, names, params = self._statement()
        adapted = {name: _adapt(value) for name, value in values.items()}
        bound = [adapted[name] if name is not None else param for name, param in zip(names, params, strict=True)]
        return next(iter(model._default_manager.raw(sql, bound)), None)

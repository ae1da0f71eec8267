"""Plain INSERT statements for the few writes that run many times a second (reports, audit appends).

The ORM builds and compiles a statement on every `save()`; for a report that is most of the time the
request spends in Python. These statements are built once per model and filled with the values the
fields themselves prepare (`get_db_prep_save`), so types, time zones and JSON come out exactly as
the ORM would write them. Only single-row inserts of plain models: no parents, no signals.
"""

import functools
from typing import Any

from django.db import connection, models


@functools.cache
def _insert_head(
    model: type[models.Model], vendor: str, skip: tuple[str, ...]
) -> tuple[str, str, tuple[Any, ...]]:
    # The vendor is part of the key because quoting differs between databases.
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if f.name not in skip and not (f.primary_key and getattr(f, "db_returning", False))
    )
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), ", ".join(quote(str(f.column)) for f in fields), fields


def insert_parts(instance: models.Model, *, skip: tuple[str, ...] = ()) -> tuple[str, str, list[Any]]:
    """The quoted table, its columns for a new row (an automatic id left out), and the row's values.

    `skip` leaves fields out: the caller writes them some other way (from a previous statement's id).
    """
    table, columns, fields = _insert_head(type(instance), connection.vendor, skip)
    return table, columns, [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def marks(values: list[Any]) -> str:
    """`%s, %s, …`: one placeholder per value."""
    return ", ".join(["%s"] * len(values))

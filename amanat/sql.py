"""Plain INSERT statements for the few writes that run many times a second (reports, audit appends).

The ORM builds and compiles a statement on every `save()`; for a report that is most of the time the
request spends in Python. These statements are built once per model and filled with the values the
fields themselves prepare (`get_db_prep_save`), so types, time zones and JSON come out exactly as
the ORM would write them. Only single-row inserts of plain models: no parents, no signals.
"""

import functools
import threading
from typing import Any

from django.db import connection, models


@functools.cache
def _insert_head(
    model: type[models.Model], vendor: str, skip: tuple[str, ...], with_id: bool
) -> tuple[str, str, tuple[Any, ...]]:
    # The vendor is part of the key because quoting differs between databases.
    fields = tuple(
        f
        for f in model._meta.concrete_fields
        if f.name not in skip and (with_id or not (f.primary_key and getattr(f, "db_returning", False)))
    )
    quote = connection.ops.quote_name
    return quote(model._meta.db_table), ", ".join(quote(str(f.column)) for f in fields), fields


def insert_parts(
    instance: models.Model, *, skip: tuple[str, ...] = (), with_id: bool = False
) -> tuple[str, str, list[Any]]:
    """The quoted table, its columns for a new row, and the row's values.

    An automatic id is left out unless `with_id` (the caller took it beforehand, see IdBlocks).
    `skip` leaves fields out: the caller writes them some other way (from a previous statement's id).
    """
    table, columns, fields = _insert_head(type(instance), connection.vendor, skip, with_id)
    return table, columns, [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]


def marks(values: list[Any]) -> str:
    """`%s, %s, …`: one placeholder per value."""
    return ", ".join(["%s"] * len(values))


class IdBlocks:
    """Ids for new rows taken from the table's own sequence a block at a time (PostgreSQL).

    A row whose id is known before it is written can be inserted, and its audit entry chained, in
    one statement with no round trip to learn the id. Ids a process holds when it stops are never
    used: the sequence has gaps, as it already has after any rolled-back insert.
    """

    def __init__(self, model: type[models.Model], *, size: int = 100) -> None:
        self.model, self.size = model, size
        self._free: list[int] = []
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            if not self._free:
                table, column = self.model._meta.db_table, str(self.model._meta.pk.column)  # type: ignore[union-attr]
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                        [table, column, self.size],
                    )
                    self._free = sorted((row[0] for row in cursor.fetchall()), reverse=True)
            return self._free.pop()

    def forget(self) -> None:
        """Drop the ids held (after the sequence was reset, say: they might be taken again)."""
        with self._lock:
            self._free = []

"""Set-based writes that Django's ORM does slowly: many rows, each with its own values, in one UPDATE."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django.db import connection
from django.db.models import Field, Model


def update_each(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """Save these fields of every object (all of one model) in one UPDATE … FROM (VALUES …).

    `bulk_update` builds a CASE WHEN per field and row: for a drained batch of 50 triage answers its
    three calls cost more CPU than the rest of the batch (py-spy on bench.triage's inbound worker)."""
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":  # the SQLite demo: no typed VALUES lists
        model._default_manager.bulk_update(objs, fields)
        return
    meta = model._meta
    key = meta.pk
    assert key is not None
    columns = [cast(Field, key), *(cast(Field, meta.get_field(name)) for name in fields)]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(f"%s::{column.db_type(connection)}" for column in columns) + ")"
    names = ", ".join(quote(str(column.column)) for column in columns)
    assignments = ", ".join(f"{quote(str(c.column))} = v.{quote(str(c.column))}" for c in columns[1:])
    values = ", ".join([row] * len(objs))
    key_column = quote(str(key.column))
    # Names from the model's metadata; every value is a parameter.
    sql = f"UPDATE {quote(meta.db_table)} AS t SET {assignments} FROM (VALUES {values}) AS v({names}) "  # noqa: S608
    sql += f"WHERE t.{key_column} = v.{key_column}"
    params = [
        column.get_db_prep_save(getattr(obj, column.attname), connection)
        for obj in sorted(objs, key=lambda obj: obj.pk)  # one lock order for every batch
        for column in columns
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)

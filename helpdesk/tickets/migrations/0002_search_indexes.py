"""Trigram indexes for search in every script (Khmer has no spaces between words).

PostgreSQL only: the demo's SQLite falls back to a plain LIKE scan. The expressions match what
Django emits for `icontains` (UPPER(col::text) LIKE UPPER(%s)), so the planner uses them.
"""

from django.db import migrations

INDEXES = [
    ("tickets_timelineevent", "timeline_body_trgm", "UPPER((body)::text)"),
    ("tickets_ticket", "ticket_subject_trgm", "UPPER((subject)::text)"),
    ("customers_customer", "customer_name_trgm", "UPPER((name)::text)"),
    ("customers_contactpoint", "contactpoint_value_trgm", "UPPER((value)::text)"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name, expr in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expr}) gin_trgm_ops)")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name, _expr in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial"), ("customers", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]

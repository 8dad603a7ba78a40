"""Normalized copies of subjects and message bodies (helpdesk.searchtext), with trigram indexes.

They replace 0002's UPPER() trigram indexes on the raw columns, which search no longer reads.
PostgreSQL only for the indexes: the demo's SQLite scans with LIKE.
"""

from django.db import migrations, models

from helpdesk.searchtext import backfill

INDEXES = [
    ("tickets_timelineevent", "timeline_search_trgm"),
    ("tickets_ticket", "ticket_search_trgm"),
]
REPLACED = [("timeline_body_trgm", "tickets_timelineevent", "UPPER((body)::text)"),
            ("ticket_subject_trgm", "tickets_ticket", "UPPER((subject)::text)")]  # fmt: skip


def fill(apps, schema_editor):
    backfill(apps.get_model("tickets", "Ticket"), "subject")
    backfill(apps.get_model("tickets", "TimelineEvent"), "body")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (search_text gin_trgm_ops)")
    for name, _table, _expr in REPLACED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    for name, table, expr in REPLACED:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expr}) gin_trgm_ops)")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0012_macro_uses")]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.AddField(
            model_name="timelineevent",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create_indexes, drop_indexes),
    ]

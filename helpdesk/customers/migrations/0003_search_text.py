"""The normalized copy of each customer's name (helpdesk.searchtext), with a trigram index.

It replaces tickets 0002's UPPER(name) trigram index, which search no longer reads.
"""

from django.db import migrations, models

from helpdesk.searchtext import backfill


def fill(apps, schema_editor):
    backfill(apps.get_model("customers", "Customer"), "name")


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer USING gin (search_text gin_trgm_ops)"
    )
    schema_editor.execute("DROP INDEX IF EXISTS customer_name_trgm")


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS customer_search_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS customer_name_trgm ON customers_customer USING gin ((UPPER((name)::text)) gin_trgm_ops)"
    )


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_contactpoint_bouncing_at"), ("tickets", "0002_search_indexes")]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.RunPython(create_index, drop_index),
    ]

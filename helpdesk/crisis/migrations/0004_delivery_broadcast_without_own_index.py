# The broadcast foreign key keeps its constraint and loses its own index (delivery_claim_idx and
# delivery_broadcast_point_uniq both lead with broadcast_id). Django's AlterField would drop and
# re-add the foreign key, which re-validates every delivery row under a lock; only the index goes.

import django.db.models.deletion
from django.db import migrations, models

INDEX = "crisis_broadcastdelivery_broadcast_id_cf7d2280"


class Migration(migrations.Migration):

    dependencies = [
        ("crisis", "0003_broadcast_triage_flow"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f'DROP INDEX IF EXISTS "{INDEX}"',
                    reverse_sql=f'CREATE INDEX IF NOT EXISTS "{INDEX}" ON "crisis_broadcastdelivery" ("broadcast_id")',
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="broadcastdelivery",
                    name="broadcast",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="crisis.broadcast",
                    ),
                ),
            ],
        ),
    ]

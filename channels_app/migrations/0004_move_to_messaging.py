# The outbox and the inbox now belong to helpdesk.messaging (which took over their tables).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('channels_app', '0003_inbox_queued_at'),
        ('messaging', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Outbox'),
                migrations.DeleteModel(name='InboxMessage'),
            ],
            database_operations=[],
        ),
    ]

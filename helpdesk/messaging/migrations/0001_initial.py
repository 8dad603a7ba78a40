# The outbox and the inbox moved here from channels_app (the edge) into the core. Their tables are
# taken over as they are (state only), then renamed to this app's names.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('tickets', '0003_open_recent_index'),
        ('channels_app', '0003_inbox_queued_at'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Outbox',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('channel', models.CharField(max_length=16)),
                        ('to', models.CharField(max_length=254)),
                        ('subject', models.CharField(blank=True, max_length=250)),
                        ('body', models.TextField()),
                        ('language', models.CharField(default='en', max_length=8)),
                        ('metadata', models.JSONField(blank=True, default=dict)),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('blocked', 'Blocked')], default='pending', max_length=16)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('next_attempt_at', models.DateTimeField(db_index=True)),
                        ('claimed_at', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=300)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('event', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='outbox', to='tickets.timelineevent')),
                    ],
                    options={
                        'db_table': 'channels_app_outbox',
                        'indexes': [models.Index(condition=models.Q(('status__in', ['pending', 'sending'])), fields=['next_attempt_at', 'id'], name='outbox_due_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(('status__in', ['pending', 'sending', 'sent', 'failed', 'blocked'])), name='outbox_status_valid')],
                    },
                ),
                migrations.CreateModel(
                    name='InboxMessage',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(max_length=32)),
                        ('provider_id', models.CharField(max_length=128)),
                        ('channel', models.CharField(max_length=16)),
                        ('message', models.JSONField()),
                        ('received_at', models.DateTimeField()),
                        ('queued_at', models.DateTimeField(blank=True, null=True)),
                        ('processed_at', models.DateTimeField(blank=True, null=True)),
                        ('event_id', models.BigIntegerField(blank=True, null=True)),
                        ('error', models.CharField(blank=True, max_length=300)),
                    ],
                    options={
                        'db_table': 'channels_app_inboxmessage',
                        'indexes': [models.Index(condition=models.Q(('processed_at__isnull', True)), fields=['received_at'], name='inbox_unprocessed_idx')],
                        'constraints': [models.UniqueConstraint(fields=('provider', 'provider_id'), name='inbox_provider_id_uniq')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name='outbox', table=None),
        migrations.AlterModelTable(name='inboxmessage', table=None),
    ]

"""Search filtered by channel walks that channel's messages newest first (see TimelineEvent.Meta)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0013_search_text'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='timelineevent',
            index=models.Index(fields=['channel', 'created_at'], name='timeline_channel_recent_idx'),
        ),
    ]

from django.contrib import admin

from channels_app.chat.models import ChatWidget


@admin.register(ChatWidget)
class ChatWidgetAdmin(admin.ModelAdmin):
    list_display = ("name", "key", "is_active", "queue", "reply_minutes")
    readonly_fields = ("key", "created_at")
    fields = (
        "name", "key", "is_active", "allowed_origins", "colour", "position", "greeting", "queue",
        "reply_minutes", "hours", "time_zone", "created_at",
    )  # fmt: skip

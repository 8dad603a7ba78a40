from django.contrib import admin

from channels_app.email.models import Mailbox


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    list_display = ("address", "door", "active", "last_fetch_at", "fetched_count", "last_error")
    list_filter = ("door", "active")
    search_fields = ("address", "host", "username")
    readonly_fields = ("uidvalidity", "last_uid", "last_fetch_at", "last_error", "fetched_count")

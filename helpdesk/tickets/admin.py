from django.contrib import admin

from helpdesk.tickets.models import Macro, Queue, QueueCounter, Tag, Ticket, TimelineEvent


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "sla_minutes", "urgent_sla_minutes", "inbound_address", "is_default")
    prepopulated_fields = {"slug": ("name",)}


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ("id", "subject", "customer", "status", "priority", "queue", "assignee", "sla_due_at")
    list_filter = ("status", "priority", "queue", "channel", "language")
    list_select_related = ("customer", "queue", "assignee")
    search_fields = ("subject",)
    raw_id_fields = ("customer", "assignee", "crisis")
    filter_horizontal = ("tags",)
    show_full_result_count = False


@admin.register(TimelineEvent)
class TimelineEventAdmin(admin.ModelAdmin):
    list_display = ("id", "ticket", "channel", "direction", "kind", "delivery_status", "created_at")
    list_filter = ("channel", "direction", "kind", "delivery_status")
    list_select_related = ("ticket",)
    raw_id_fields = ("customer", "ticket", "author", "contact_point")
    show_full_result_count = False


@admin.register(Macro)
class MacroAdmin(admin.ModelAdmin):
    list_display = ("title", "language", "created_at")
    list_filter = ("language",)
    search_fields = ("title", "body")


@admin.register(QueueCounter)
class QueueCounterAdmin(admin.ModelAdmin):
    list_display = ("queue", "status", "count")
    list_select_related = ("queue",)


admin.site.register(Tag)

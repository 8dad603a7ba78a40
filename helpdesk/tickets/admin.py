from django.contrib import admin

from helpdesk.tickets.models import (
    AuditEvent,
    BusinessHours,
    EscalationRule,
    Holiday,
    Macro,
    Queue,
    QueueCounter,
    SlaTarget,
    Tag,
    Ticket,
    TimelineEvent,
)


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0


class BusinessHoursInline(admin.TabularInline):
    model = BusinessHours
    extra = 0


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


class EscalationRuleInline(admin.TabularInline):
    model = EscalationRule
    extra = 0
    raw_id_fields = ("assign_to",)


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    """A queue with its SLA targets, business hours, holidays and escalation rules in one page."""

    list_display = (
        "name", "slug", "sla_minutes", "resolution_minutes", "time_zone", "assignment", "inbound_address",
        "is_default",
    )  # fmt: skip
    prepopulated_fields = {"slug": ("name",)}
    inlines = [SlaTargetInline, BusinessHoursInline, HolidayInline, EscalationRuleInline]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read only: the table refuses changes and deletions anyway."""

    list_display = ("at", "ticket_id", "action", "field", "actor_name", "channel", "recipient")
    list_filter = ("action", "channel")
    show_full_result_count = False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


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

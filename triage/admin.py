from django.contrib import admin

from triage.models import Flow, FlowVersion, Playbook, ResourceLink, Run


class FlowVersionInline(admin.TabularInline):
    model = FlowVersion
    extra = 0
    fields = ("number", "published_at", "published_by", "created_at")
    readonly_fields = ("number", "published_at", "published_by", "created_at")
    can_delete = False


@admin.register(Flow)
class FlowAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "is_active", "updated_at"]
    inlines = [FlowVersionInline]


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "flow_version",
        "customer",
        "ticket",
        "mode",
        "status",
        "severity",
        "last_activity_at",
    ]
    list_filter = ["status", "mode", "source"]
    raw_id_fields = ["customer", "ticket", "contact_point", "flow_version", "started_by"]
    list_select_related = ["flow_version__flow", "customer", "ticket"]


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ["name", "flow", "crisis", "order", "is_active"]
    list_filter = ["is_active", "flow"]


@admin.register(ResourceLink)
class ResourceLinkAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "language", "crisis"]
    list_filter = ["kind", "language"]

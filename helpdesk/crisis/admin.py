from django.contrib import admin

from helpdesk.crisis.models import Banner, Broadcast, BroadcastDelivery, Crisis, DirectoryEntry


@admin.register(Crisis)
class CrisisAdmin(admin.ModelAdmin):
    list_display = ("title", "severity", "status", "starts_at", "ends_at")
    list_filter = ("status", "severity")
    search_fields = ("title",)


@admin.register(Banner)
class BannerAdmin(admin.ModelAdmin):
    list_display = ("crisis", "severity", "placement", "version", "published_at")
    list_select_related = ("crisis",)


@admin.register(DirectoryEntry)
class DirectoryEntryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "channel", "target", "hours", "position", "is_active")
    list_editable = ("position", "is_active")


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    list_display = ("name", "crisis", "status", "planned_count", "rate_per_second", "created_at")
    list_filter = ("status",)
    list_select_related = ("crisis",)
    raw_id_fields = ("crisis", "created_by", "approved_by")


@admin.register(BroadcastDelivery)
class BroadcastDeliveryAdmin(admin.ModelAdmin):
    # 100k rows per broadcast: no counting on the changelist, raw ids instead of selects.
    list_display = ("broadcast_id", "to", "language", "status", "attempts", "provider_id")
    list_filter = ("status",)
    raw_id_fields = ("broadcast", "contact_point")
    show_full_result_count = False

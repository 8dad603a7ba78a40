from django.contrib import admin

from helpdesk.customers.models import ContactPoint, Customer, CustomerMergeAudit


class ContactPointInline(admin.TabularInline):
    model = ContactPoint
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "language", "created_at")
    search_fields = ("name", "contact_points__value")
    list_filter = ("language",)
    raw_id_fields = ("merged_into",)
    inlines = [ContactPointInline]
    show_full_result_count = False  # COUNT(*) over every customer is slow past a million


@admin.register(ContactPoint)
class ContactPointAdmin(admin.ModelAdmin):
    list_display = ("value", "kind", "customer", "verified", "opted_out_at", "invalid_at")
    list_filter = ("kind", "verified")
    list_select_related = ("customer",)
    search_fields = ("value",)
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(CustomerMergeAudit)
class CustomerMergeAuditAdmin(admin.ModelAdmin):
    list_display = ("source_id", "source_name", "target", "actor", "created_at")
    list_select_related = ("target", "actor")
    raw_id_fields = ("target", "actor")

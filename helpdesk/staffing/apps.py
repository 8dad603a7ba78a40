from django.apps import AppConfig


class StaffingConfig(AppConfig):
    name = "helpdesk.staffing"
    label = "staffing"
    verbose_name = "Reports and staffing"

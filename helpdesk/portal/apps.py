from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "helpdesk.portal"
    label = "portal"
    verbose_name = "Customer portal and self-service"

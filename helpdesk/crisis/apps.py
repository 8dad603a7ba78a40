from django.apps import AppConfig


class CrisisConfig(AppConfig):
    name = "helpdesk.crisis"
    label = "crisis"

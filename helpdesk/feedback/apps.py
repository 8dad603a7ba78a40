from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "helpdesk.feedback"
    label = "feedback"

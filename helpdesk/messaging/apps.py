from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "helpdesk.messaging"
    label = "messaging"
    verbose_name = "Messaging"

    def ready(self) -> None:
        from helpdesk.messaging import checks  # noqa: F401 - registers the deploy checks

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "helpdesk.integrations"
    label = "integrations"
    verbose_name = "Integrations (outbound webhooks)"

    def ready(self) -> None:
        from helpdesk import events
        from helpdesk.integrations import webhooks

        events.published.connect(webhooks.on_event, dispatch_uid="integrations_webhooks")

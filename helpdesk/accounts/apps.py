from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "helpdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from helpdesk.accounts import checks, throttle  # noqa: F401 - deploy checks; sign-in signal receivers

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "helpdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        from helpdesk.accounts import throttle  # noqa: F401 - connects the sign-in signal receivers

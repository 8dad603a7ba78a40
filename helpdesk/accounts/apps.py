from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "helpdesk.accounts"
    label = "accounts"

    def ready(self) -> None:
        # Deploy checks; sign-in throttling and credential revocation signal receivers.
        from helpdesk.accounts import checks, revocation, throttle  # noqa: F401

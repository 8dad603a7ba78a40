from django.apps import AppConfig


class EmailChannelConfig(AppConfig):
    name = "channels_app.email"
    # "email" alone is too generic a label to stay unique among installed apps.
    label = "email_channel"
    verbose_name = "Email"

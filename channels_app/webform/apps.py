from django.apps import AppConfig


class WebformConfig(AppConfig):
    name = "channels_app.webform"
    label = "webform"
    verbose_name = "Contact form"

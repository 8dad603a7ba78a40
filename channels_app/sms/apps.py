from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "channels_app.sms"
    label = "sms"
    verbose_name = "SMS (Twilio)"

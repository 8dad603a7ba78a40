from django.urls import path

from channels_app.sms import webhooks

app_name = "sms"
urlpatterns = [
    path("", webhooks.inbound, name="inbound"),
    path("status/", webhooks.status, name="status"),
]

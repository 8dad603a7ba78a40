from django.urls import path

from channels_app.sms import demo

app_name = "phone"
urlpatterns = [
    path("", demo.phone, name="simulator"),
    path("thread/", demo.thread, name="thread"),
    path("send/", demo.send, name="send"),
]

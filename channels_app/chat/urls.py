from django.urls import path

from channels_app.chat import views

app_name = "chat"

urlpatterns = [
    path("<str:key>/session/", views.session, name="session"),
    path("<str:key>/messages/", views.messages, name="messages"),
    path("<str:key>/delivered/", views.delivered, name="delivered"),
    path("<str:key>/follow-up/", views.follow_up, name="follow_up"),
    path("<str:key>/follow-up/verify/", views.follow_up_verify, name="follow_up_verify"),
    path("<str:key>/transcript/", views.transcript, name="transcript"),
    path("<str:key>/upload/", views.upload, name="upload"),
]

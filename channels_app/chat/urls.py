from django.urls import path

from channels_app.chat import views

app_name = "chat"

urlpatterns = [
    path("<str:key>/session/", views.session, name="session"),
    path("<str:key>/messages/", views.messages, name="messages"),
    path("<str:key>/delivered/", views.delivered, name="delivered"),
]

from django.urls import path

from channels_app.email import views

app_name = "email"

urlpatterns = [
    path("mailboxes/", views.mailboxes, name="mailboxes"),
    path("mailboxes/raw/<int:pk>/", views.raw_source, name="raw_source"),
]

from django.urls import path

from channels_app.chat import views

app_name = "chat_manage"

urlpatterns = [
    path("", views.manage_widgets, name="widgets"),
    path("new/", views.edit_widget, name="new"),
    path("<int:pk>/", views.edit_widget, name="edit"),
]

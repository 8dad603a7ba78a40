from django.urls import path

from channels_app.chat import views

urlpatterns = [
    path("chat.js", views.chat_js, name="chat_js"),
    path("chat.css", views.chat_css, name="chat_css"),
]

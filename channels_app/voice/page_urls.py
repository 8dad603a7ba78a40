from django.urls import path

from channels_app.voice import views

app_name = "voice"
urlpatterns = [
    path("tickets/<int:ticket_id>/panel/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:ticket_id>/call-back/", views.call_back, name="call_back"),
    path("ivr/", views.ivr_editor, name="ivr"),
    path("ivr/stats/", views.ivr_stats, name="ivr_stats"),
    path("recordings/<str:name>", views.recording, name="recording"),
]

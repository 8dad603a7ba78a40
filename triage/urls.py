from django.urls import path

from triage import views

app_name = "triage"
urlpatterns = [
    path("tickets/<int:ticket_id>/panel/", views.ticket_panel, name="ticket_panel"),
    path("tickets/<int:ticket_id>/start/", views.start_run, name="start_run"),
    path("tickets/<int:ticket_id>/send-links/", views.send_links, name="send_links"),
    path("runs/<int:run_id>/answer/", views.answer_run, name="answer_run"),
    path("runs/<int:run_id>/resume/", views.resume_run, name="resume_run"),
    path("runs/<int:run_id>/cancel/", views.cancel_run, name="cancel_run"),
    path("runs/<int:run_id>/send-options/", views.send_options, name="send_options"),
    path("flows/", views.flow_list, name="flow_list"),
    path("flows/import/", views.flow_import, name="flow_import"),
    path("flows/<int:flow_id>/", views.flow_edit, name="flow_edit"),
    path("flows/<int:flow_id>/steps/", views.step_save, name="step_save"),
    path("flows/<int:flow_id>/steps/<int:index>/", views.step_move, name="step_move"),
    path("flows/<int:flow_id>/settings/", views.flow_settings, name="flow_settings"),
    path("flows/<int:flow_id>/publish/", views.flow_publish, name="flow_publish"),
    path("flows/<int:flow_id>/preview/", views.flow_preview, name="flow_preview"),
    path("flows/<int:flow_id>/export/", views.flow_export, name="flow_export"),
    path("flows/<int:flow_id>/segment/", views.segment_start, name="segment_start"),
    path(
        "segments/<int:segment_id>/<str:decision>/",
        views.segment_decide,
        name="segment_decide",
    ),
    path("flows/<int:flow_id>/start/", views.flow_start_for_phone, name="flow_start"),
]

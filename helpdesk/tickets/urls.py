from django.urls import path

from helpdesk.tickets import views

app_name = "tickets"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("search/", views.search, name="search"),
    path("bulk/", views.bulk_start, name="bulk_start"),
    path("bulk/form/", views.bulk_form, name="bulk_form"),
    path("bulk/<int:pk>/", views.bulk_progress, name="bulk_progress"),
    path("<int:pk>/", views.ticket_detail, name="detail"),
    path("<int:pk>/timeline/", views.ticket_timeline, name="timeline"),
    path("<int:pk>/media/<int:event_id>/<int:number>/", views.event_media, name="media"),
    path("<int:pk>/email/<int:event_id>/", views.event_html, name="event_html"),
    path("<int:pk>/reply/", views.ticket_reply, name="reply"),
    path("<int:pk>/note/", views.ticket_note, name="note"),
    path("<int:pk>/update/", views.ticket_update, name="update"),
    path("<int:pk>/history/", views.ticket_history, name="history"),
    path("customer/<int:customer_id>/history/", views.customer_history, name="customer_history"),
    path("<int:pk>/merge/", views.ticket_merge, name="merge"),
    path("<int:pk>/split/", views.ticket_split, name="split"),
    path("audit/export/", views.audit_export, name="audit_export"),
    path("macros/", views.macro_manage, name="macros"),
    path("<int:pk>/macros/<int:macro_id>/", views.macro_text, name="macro"),
]

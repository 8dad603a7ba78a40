from django.urls import path

from helpdesk.feedback import views

app_name = "feedback"

urlpatterns = [
    path("recovery/", views.case_queue, name="cases"),
    path("recovery/<int:pk>/", views.case_detail, name="case"),
    path("recovery/flag/<int:ticket_id>/", views.flag_ticket, name="flag"),
    path("feedback/reports/", views.report_page, name="report"),
    path("feedback/reports.csv", views.report_csv, name="report_csv"),
    path("feedback/settings/", views.policy_page, name="policy"),
    path("feedback/reviews/", views.reviews_page, name="reviews"),
    path("feedback/tickets/<int:ticket_id>/panel/", views.ticket_panel, name="ticket_panel"),
]

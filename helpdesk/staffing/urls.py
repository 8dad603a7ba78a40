from django.urls import path

from helpdesk.staffing import views

app_name = "staffing"

urlpatterns = [
    path("reports/", views.report_page, name="reports"),
    path("reports/export.csv", views.report_csv, name="reports_csv"),
    path("staffing/", views.plan_page, name="plan"),
    path("staffing/plan.csv", views.plan_csv, name="plan_csv"),
]

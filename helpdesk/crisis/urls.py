from django.urls import path

from helpdesk.crisis import views, views_dashboard, views_declare

app_name = "crisis"
urlpatterns = [
    path("crisis/", views.crisis_page, name="public"),
    path("embed/banner.js", views.banner_js, name="banner_js"),
    path("embed/banner.css", views.banner_css, name="banner_css"),
    path("embed/banner.json", views.banner_json, name="banner_json"),
    path("embed/deflection/", views.deflection_beacon, name="deflection_beacon"),
    path("manage/crisis/", views.manage_home, name="manage_home"),
    path("manage/crisis/declare/", views_declare.declare_crisis, name="declare"),
    path("manage/crisis/surge/", views_declare.surge_action, name="surge"),
    path("manage/crisis/<int:pk>/", views.manage_crisis, name="manage_crisis"),
    path(
        "manage/crisis/<int:pk>/statement/<slug:action>/",
        views_declare.statement_action,
        name="statement_action",
    ),
    path("manage/crisis/broadcasts/new/", views.new_broadcast, name="broadcast_new"),
    path("manage/crisis/broadcasts/<int:pk>/", views.broadcast_detail, name="broadcast"),
    path("manage/crisis/broadcasts/<int:pk>/progress/", views.broadcast_progress, name="broadcast_progress"),
    path("manage/crisis/broadcasts/<int:pk>/<slug:action>/", views.broadcast_action, name="broadcast_action"),
    path("manage/crisis/<int:pk>/dashboard/", views_dashboard.crisis_dashboard, name="dashboard"),
    path(
        "manage/crisis/<int:pk>/dashboard/panels/", views_dashboard.dashboard_panels, name="dashboard_panels"
    ),
]

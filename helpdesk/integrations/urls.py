from django.urls import path

from helpdesk.integrations import views

app_name = "integrations"

urlpatterns = [
    path("", views.subscriptions, name="webhooks"),
    path("<int:pk>/", views.deliveries, name="deliveries"),
    path("<int:pk>/enable/", views.enable, name="enable"),
    path("<int:pk>/deliveries/<int:delivery_id>/replay/", views.replay, name="replay"),
]

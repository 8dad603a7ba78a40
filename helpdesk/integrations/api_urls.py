from django.urls import path

from helpdesk.integrations import api

urlpatterns = [
    path("webhooks/", api.SubscriptionListApi.as_view(), name="webhooks"),
    path("webhooks/<int:pk>/deliveries/", api.DeliveryListApi.as_view(), name="webhook-deliveries"),
    path(
        "webhooks/<int:pk>/deliveries/<int:delivery_id>/replay/",
        api.ReplayApi.as_view(),
        name="webhook-replay",
    ),
]

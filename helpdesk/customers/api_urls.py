from django.urls import path

from helpdesk.customers import api

urlpatterns = [
    path("customers/", api.CustomerListCreateApi.as_view(), name="customers"),
    path("customers/<int:pk>/", api.CustomerDetailApi.as_view(), name="customer"),
    path("customers/<int:pk>/merge/", api.CustomerMergeApi.as_view(), name="customer-merge"),
    path(
        "customers/<int:pk>/contact-points/",
        api.ContactPointListApi.as_view(),
        name="customer-contact-points",
    ),
]

from django.urls import path

from helpdesk.customers import views

app_name = "customers"
urlpatterns = [
    path("", views.customer_list, name="list"),
    path("<int:pk>/", views.customer_detail, name="detail"),
    path("<int:pk>/merge/", views.customer_merge, name="merge"),
    path("<int:pk>/contact-points/<int:point_id>/verify/", views.contact_point_verify, name="verify_point"),
]

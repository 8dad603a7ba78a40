from django.urls import path

from helpdesk.feedback import views

urlpatterns = [path("recovery/redeem/", views.redeem, name="coupon-redeem")]

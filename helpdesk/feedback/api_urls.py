from django.urls import path

from helpdesk.feedback import api, views

urlpatterns = [
    path("surveys/", api.SurveyListApi.as_view(), name="surveys"),
    path("recovery/cases/", api.CaseListApi.as_view(), name="recovery-cases"),
    path("recovery/incentives/", api.IncentiveListApi.as_view(), name="recovery-incentives"),
    path("recovery/redeem/", views.redeem, name="coupon-redeem"),
]

from django.urls import path

from triage import api

urlpatterns = [
    path("triage/flows/", api.FlowListApi.as_view(), name="triage-flows"),
    path("triage/flows/import/", api.FlowImportApi.as_view(), name="triage-flow-import"),
    path("triage/flows/<slug:slug>/export/", api.FlowExportApi.as_view(), name="triage-flow-export"),
    path("triage/flows/<slug:slug>/publish/", api.FlowPublishApi.as_view(), name="triage-flow-publish"),
    path("triage/runs/", api.RunStartApi.as_view(), name="triage-run-start"),
    path("triage/runs/<int:pk>/", api.RunDetailApi.as_view(), name="triage-run"),
    path("triage/runs/<int:pk>/answer/", api.RunAnswerApi.as_view(), name="triage-run-answer"),
]

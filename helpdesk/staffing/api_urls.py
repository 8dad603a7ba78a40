from django.urls import path

from helpdesk.staffing import api

urlpatterns = [
    path("staffing/agents-needed/", api.AgentsNeededApi.as_view(), name="agents-needed"),
    path("reports/volume/", api.VolumeApi.as_view(), name="reports-volume"),
]

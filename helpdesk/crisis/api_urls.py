from django.urls import path

from helpdesk.crisis import api

urlpatterns = [
    path("crises/", api.CrisisListCreateApi.as_view(), name="crises"),
    path("crises/<int:pk>/<slug:action>/", api.CrisisActionApi.as_view(), name="crisis-action"),
    path("channel-directory/", api.DirectoryApi.as_view(), name="channel-directory"),
    path("broadcasts/", api.BroadcastListCreateApi.as_view(), name="broadcasts"),
    path("broadcasts/<int:pk>/progress/", api.BroadcastProgressApi.as_view(), name="broadcast-progress"),
    path("broadcasts/<int:pk>/<slug:action>/", api.BroadcastActionApi.as_view(), name="broadcast-action"),
]

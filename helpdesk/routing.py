"""Websocket routes (Django Channels)."""

from django.urls import path

from helpdesk.tickets.consumers import WorkspaceConsumer

websocket_urlpatterns = [
    path("ws/workspace/", WorkspaceConsumer.as_asgi()),
]

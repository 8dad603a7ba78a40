"""Websocket routes (Django Channels)."""

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path
from django.utils.module_loading import import_string

from helpdesk.tickets.consumers import WorkspaceConsumer

# Agents' sockets: the session's user, from our own hosts only.
websocket_urlpatterns = [
    path("ws/workspace/", WorkspaceConsumer.as_asgi()),
]


def websocket_application():
    """Every websocket: the workspace's, and the chat widget's from customers' websites, which
    carry no session and are checked against each widget's own origin allow-list instead of
    ALLOWED_HOSTS (loaded by dotted path: the core never imports an adapter)."""
    staff = [
        path(str(route.pattern), AllowedHostsOriginValidator(AuthMiddlewareStack(route.callback)))
        for route in websocket_urlpatterns
    ]
    return URLRouter([path("ws/chat/", import_string("channels_app.chat.consumers.application")()), *staff])

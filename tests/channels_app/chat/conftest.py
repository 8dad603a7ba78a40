"""Chat fixtures: a widget that allows one website, and the widget's HTTP calls from that site."""

from __future__ import annotations

import json

import pytest

SITE = "https://shop.example.org"


@pytest.fixture(autouse=True)
def chat_gateway(settings):
    settings.CHANNEL_GATEWAYS = {**settings.CHANNEL_GATEWAYS, "chat": "channels_app.chat.gateway.ChatGateway"}
    settings.CHAT_MESSAGES_PER_MINUTE = 30
    from django.core.cache import cache

    cache.clear()  # rate-limit windows of earlier tests


@pytest.fixture
def widget(db):
    from channels_app.chat.models import ChatWidget

    return ChatWidget.objects.create(
        name="Shop", allowed_origins=f"{SITE}\nhttp://localhost:8000", greeting={"en": "Hi! How can we help?"}
    )


class WidgetClient:
    """What chat.js sends from a page of `origin`."""

    def __init__(self, client, widget, origin: str = SITE) -> None:
        self.client, self.widget, self.origin, self.token = client, widget, origin, ""

    def _headers(self) -> dict:
        headers = {"HTTP_ORIGIN": self.origin}
        if self.token:
            headers["HTTP_X_CHAT_TOKEN"] = self.token
        return headers

    def start(self):
        response = self.client.post(
            f"/chat/api/{self.widget.key}/session/", "{}", content_type="application/json", **self._headers()
        )
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def send(self, text, client_id="m1"):
        return self.client.post(
            f"/chat/api/{self.widget.key}/messages/",
            json.dumps({"client_id": client_id, "text": text, "name": "Leyla"}),
            content_type="application/json",
            **self._headers(),
        )

    def messages(self, after: int = 0):
        return self.client.get(f"/chat/api/{self.widget.key}/messages/?after={after}", **self._headers())

    def delivered(self, ids):
        return self.client.post(
            f"/chat/api/{self.widget.key}/delivered/",
            json.dumps({"ids": ids}),
            content_type="application/json",
            **self._headers(),
        )


@pytest.fixture
def visitor(client, widget):
    return WidgetClient(client, widget)

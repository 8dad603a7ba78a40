"""MMS media on the timeline: a signed Twilio webhook with MediaUrl0 → the ticket page shows our
proxy's URL → the proxy fetches the file from the project's fake Twilio (a real process) with the
account's credentials and serves it with safe headers, to staff who may see the ticket only."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from helpdesk.accounts.models import Team
from helpdesk.tickets.models import Queue, TimelineEvent
from tests.channels_app.sms.conftest import Twilio
from tests.factories import QueueFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>'
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


@pytest.fixture
def mms(client, fake_twilio):
    """Send an MMS through the signed webhook; return its event."""

    def send(*files: tuple[str, str]) -> TimelineEvent:
        params = {"NumMedia": str(len(files))}
        for n, (url, content_type) in enumerate(files):
            params[f"MediaUrl{n}"] = url
            params[f"MediaContentType{n}"] = content_type
        assert Twilio(Client()).sms(body="our shop after the flood", **params).status_code == 200
        return TimelineEvent.objects.get(direction="in")

    return send


def _media_links(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/tickets/\d+/media/\d+/\d+/)"', page)


def test_an_mms_photo_is_shown_inline_through_the_proxy_with_safe_headers(mms, fake_twilio, agent_client):
    event = mms((fake_twilio.add_media(content_type="image/png", body=PNG), "image/png"))
    page = agent_client.get(f"/tickets/{event.ticket_id}/").text
    proxy = f"/tickets/{event.ticket_id}/media/{event.pk}/1/"
    assert f'<img src="{proxy}"' in page
    assert fake_twilio.url not in page  # the browser never sees the provider's URL
    response = agent_client.get(proxy)
    assert response.status_code == 200 and response.content == PNG
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'inline; filename="message-{event.pk}-1.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")
    assert "sandbox" in response["Content-Security-Policy"]
    assert fake_twilio.stats()["media"] == 1  # fetched from the fake, with the account's credentials


@pytest.mark.parametrize(("declared", "body"), [("image/svg+xml", SVG), ("text/html", HTML)])
def test_svg_and_html_are_a_download_link_and_never_served_as_themselves(
    mms, fake_twilio, agent_client, declared, body
):
    event = mms((fake_twilio.add_media(content_type=declared, body=body), declared))
    page = agent_client.get(f"/tickets/{event.ticket_id}/").text
    proxy = f"/tickets/{event.ticket_id}/media/{event.pk}/1/"
    assert f'<a class="media-file" href="{proxy}" download dir="auto">' in page
    assert f'src="{proxy}"' not in page
    response = agent_client.get(proxy)
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"] == f'attachment; filename="message-{event.pk}-1.bin"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_file_claiming_to_be_an_image_is_served_by_its_bytes_not_its_claim(mms, fake_twilio, agent_client):
    event = mms((fake_twilio.add_media(content_type="image/png", body=HTML), "image/png"))
    response = agent_client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/")
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")


def test_each_file_of_an_mms_has_its_own_link(mms, fake_twilio, agent_client):
    photo = fake_twilio.add_media(content_type="image/jpeg", body=b"\xff\xd8\xff\xe0" + b"\x00" * 20)
    card = fake_twilio.add_media(content_type="text/vcard", body=b"BEGIN:VCARD\r\nEND:VCARD\r\n")
    event = mms((photo, "image/jpeg"), (card, "text/vcard"))
    page = agent_client.get(f"/tickets/{event.ticket_id}/").text
    base = f"/tickets/{event.ticket_id}/media/{event.pk}"
    assert _media_links(page) == [f"{base}/1/", f"{base}/1/", f"{base}/2/"]  # the image: link and <img>
    assert agent_client.get(f"{base}/2/").content.startswith(b"BEGIN:VCARD")
    assert agent_client.get(f"{base}/3/").status_code == 404


def test_staff_who_may_not_see_the_ticket_get_404_and_nothing_is_fetched(mms, fake_twilio, client):
    event = mms((fake_twilio.add_media(content_type="image/png", body=PNG), "image/png"))
    Queue.objects.filter(pk=event.ticket.queue_id).update(team=Team.objects.create(name="Cards"))
    outsider = UserFactory(username="other-team")
    client.force_login(outsider)
    assert client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/").status_code == 404
    # Nor through the URL of a ticket the agent may see.
    theirs = TicketFactory(queue=QueueFactory())
    assert client.get(f"/tickets/{theirs.pk}/media/{event.pk}/1/").status_code == 404
    assert fake_twilio.stats().get("media", 0) == 0
    client.logout()
    assert client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/").status_code == 302  # to log in


def test_a_media_url_on_a_host_that_is_not_twilio_is_never_fetched(mms, agent_client):
    # A closed port: were it fetched, the answer would be a 502 for the failed connection.
    event = mms(("http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", "image/png"))
    assert agent_client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/").status_code == 404


def test_a_redirect_to_a_host_off_the_allow_list_is_not_followed(mms, fake_twilio, agent_client):
    url = fake_twilio.add_media(content_type="image/png", body=PNG, redirect="http://127.0.0.1:9/steal")
    event = mms((url, "image/png"))
    assert agent_client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/").status_code == 404


def test_without_the_account_credentials_twilio_refuses_and_the_proxy_says_so(
    mms, fake_twilio, agent_client, settings
):
    event = mms((fake_twilio.add_media(content_type="image/png", body=PNG), "image/png"))
    settings.TWILIO_AUTH_TOKEN = "not-the-token"
    response = agent_client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/")
    assert response.status_code == 502 and response.content != PNG


def test_a_file_over_the_mms_size_cap_is_not_served(mms, fake_twilio, agent_client):
    from channels_app.twilio_api.media import MAX_MEDIA_BYTES

    big = PNG + b"\x00" * MAX_MEDIA_BYTES
    event = mms((fake_twilio.add_media(content_type="image/png", body=big), "image/png"))
    response = agent_client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/")
    assert response.status_code == 502 and len(response.content) < 1000


def test_a_provider_that_does_not_answer_in_time_is_a_502_not_a_hung_page(
    mms, fake_twilio, agent_client, monkeypatch
):
    from channels_app.twilio_api import media

    event = mms((fake_twilio.add_media(content_type="image/png", body=PNG), "image/png"))
    monkeypatch.setattr(media, "READ_TIMEOUT", 0.2)
    fake_twilio.configure(latency_ms=1500)
    response = agent_client.get(f"/tickets/{event.ticket_id}/media/{event.pk}/1/")
    assert response.status_code == 502

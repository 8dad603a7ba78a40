"""What agents see of an email: folded history, sanitized HTML in a walled-off frame, attachments
through the authenticated media proxy."""

from __future__ import annotations

import pytest

from helpdesk.tickets.models import Ticket
from tests.channels_app.email.conftest import post_mail
from tests.channels_app.email.corpus import PNG
from tests.channels_app.email.mails import message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

XSS = (
    '<p onclick="steal()">Dear desk</p><script>document.title="pwned"</script>'
    '<a href="javascript:alert(1)">click me</a><img src="https://tracker.example/pixel.gif" alt="t">'
    '<img src="x" onerror="alert(2)"><svg onload="alert(3)"></svg><iframe src="https://evil.example"></iframe>'
)


def _ticket_with_html(client) -> Ticket:
    msg = message(sender="maryam@example.com", subject="HTML mail", message_id="<html-1@example.com>")
    msg.set_content("Dear desk\n\nOn Mon, Help wrote:\n> old text")
    msg.add_alternative(XSS + '<p>photo: <img src="cid:pic1"></p>', subtype="html")
    msg.get_payload()[1].add_related(PNG, maintype="image", subtype="png", cid="<pic1>")
    msg.add_attachment(b"%PDF-1.4 claim", maintype="application", subtype="pdf", filename="claim.pdf")
    assert post_mail(client, msg.as_bytes()).status_code == 202
    return Ticket.objects.get()


def test_the_frame_serves_sanitized_html_under_its_own_wall(client):
    ticket = _ticket_with_html(client)
    event = ticket.events.get()
    for bad in ("<script", "onclick", "javascript:", "onerror", "<svg", "<iframe"):
        assert bad not in event.body_html
    agent = UserFactory()
    client.force_login(agent)
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'class="mail-frame"' in page and 'sandbox="allow-popups' in page
    assert "old text" in page and "Show the quoted history" in page
    frame = client.get(f"/tickets/{ticket.pk}/email/{event.pk}/")
    assert frame.status_code == 200
    csp = frame["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp and "https:" not in csp
    assert "script-src" not in csp and "'unsafe-inline'" not in csp
    assert "data:image/png;base64," in frame.content.decode()  # the cid: image, inlined
    allowed = client.get(f"/tickets/{ticket.pk}/email/{event.pk}/?images=1")
    assert "img-src data: https: http:" in allowed["Content-Security-Policy"]


def test_attachments_download_through_the_proxy_and_only_for_agents(client):
    ticket = _ticket_with_html(client)
    event = ticket.events.get()
    names = event.payload["media_names"]
    number = names.index("claim.pdf") + 1
    url = f"/tickets/{ticket.pk}/media/{event.pk}/{number}/"
    assert client.get(url).status_code in (302, 403)  # signed out
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 200 and response.content == b"%PDF-1.4 claim"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    page = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "claim.pdf" in page

"""A visitor sends a photo or a PDF: known by its bytes, size-limited, shown to agents through the
media proxy (images inline, PDFs as downloads); anything else is refused with a reason."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tickets.models import Ticket, TimelineEvent

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


def upload(visitor, name: str, data: bytes, client_id: str = "f1", content_type: str = "image/png"):
    return visitor.client.post(
        f"/chat/api/{visitor.widget.key}/upload/",
        {
            "file": SimpleUploadedFile(name, data, content_type=content_type),
            "client_id": client_id,
            "name": "Leyla",
        },
        **visitor._headers(),
    )


@pytest.fixture
def started(visitor):
    visitor.start()
    return visitor


def test_a_photo_and_a_pdf_reach_the_agent(started, agent_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert upload(started, "../../boarding\u202epass.png", PNG).status_code == 202
        assert (
            upload(started, "ticket.pdf", PDF, client_id="f2", content_type="application/pdf").status_code
            == 202
        )
        assert (
            upload(started, "ticket.pdf", PDF, client_id="f2", content_type="application/pdf").status_code
            == 202
        )
    events = list(TimelineEvent.objects.filter(channel="chat", direction="in").order_by("pk"))
    assert [e.body for e in events] == ["boardingpass.png", "ticket.pdf"]  # no path, no bidi trick
    ticket = Ticket.objects.get()
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'<img src="/tickets/{ticket.pk}/media/{events[0].pk}/1/"' in page  # shown inline
    assert f'href="/tickets/{ticket.pk}/media/{events[1].pk}/1/" download dir="auto">ticket.pdf<' in page
    image = agent_client.get(f"/tickets/{ticket.pk}/media/{events[0].pk}/1/")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["Content-Disposition"].startswith("inline") and image.content == PNG
    document = agent_client.get(f"/tickets/{ticket.pk}/media/{events[1].pk}/1/")
    assert document["Content-Type"] == "application/pdf" and document["Content-Disposition"].startswith(
        "attachment"
    )
    assert document["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("name", "data"),
    [("photo.png", b"<html><script>alert(1)</script></html>"), ("invoice.pdf", b"MZ\x90\x00 an executable")],
)
def test_what_is_not_a_photo_or_a_pdf_is_refused_whatever_its_name(started, name, data):
    answer = upload(started, name, data)
    assert answer.status_code == 400 and answer.json()["error"] == "not_allowed_type"
    assert not TimelineEvent.objects.filter(channel="chat").exists()


def test_a_file_over_the_limit_is_413(started, settings):
    settings.CHAT_UPLOAD_MAX_BYTES = 1000
    answer = upload(started, "big.png", PNG + b"\x00" * 2000)
    assert answer.status_code == 413 and answer.json()["error"] == "too_large"


def test_uploads_need_the_visitors_token_and_an_allowed_site(client, widget):
    from tests.channels_app.chat.conftest import WidgetClient

    anonymous = WidgetClient(client, widget)
    assert upload(anonymous, "p.png", PNG).status_code == 403
    elsewhere = WidgetClient(client, widget, origin="https://evil.example")
    elsewhere.token = "forged"
    assert upload(elsewhere, "p.png", PNG).status_code == 403

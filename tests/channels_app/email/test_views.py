"""The managers' mailbox page and the raw download."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.email.models import Mailbox, MailboxDoor
from helpdesk.messaging.models import InboxMessage
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _unrecorded(n: int) -> list[InboxMessage]:
    now = timezone.now()
    return InboxMessage.objects.bulk_create(
        InboxMessage(
            provider="email", provider_id=f"sha256:{i}", channel="email", message={}, received_at=now,
            error="no sender address in From: kept raw, not recorded", raw=b"garbage %d" % i,
        )
        for i in range(n)
    )  # fmt: skip


def test_mailbox_page_shows_mailboxes_and_unrecorded_mail(manager_client):
    Mailbox.objects.create(address="help@desk.test", door=MailboxDoor.IMAP, last_error="connect failed")
    _unrecorded(1)
    page = manager_client.get(reverse("email:mailboxes")).content.decode()
    assert "help@desk.test" in page and "connect failed" in page and "sha256:0" in page
    assert "Download source" not in page  # managers see the row, not the raw message


def test_mailbox_page_is_for_managers_only(agent_client):
    assert agent_client.get(reverse("email:mailboxes")).status_code == 403


@pytest.mark.parametrize("rows", [10, 1000])
def test_mailbox_page_query_count_is_fixed(manager_client, django_assert_max_num_queries, rows):
    Mailbox.objects.bulk_create(Mailbox(address=f"box{i}@desk.test") for i in range(rows))
    _unrecorded(rows)
    with django_assert_max_num_queries(8):
        assert manager_client.get(reverse("email:mailboxes")).status_code == 200


def test_raw_source_downloads_for_superusers_only(client, manager_client):
    (row,) = _unrecorded(1)
    url = reverse("email:raw_source", args=[row.pk])
    assert manager_client.get(url).status_code == 403
    admin = UserFactory(username="root-admin", is_superuser=True)
    client.force_login(admin)
    response = client.get(url)
    assert response.status_code == 200 and response.content == b"garbage 0"
    assert response["Content-Type"] == "message/rfc822"
    page = client.get(reverse("email:mailboxes")).content.decode()
    assert "Download source" in page

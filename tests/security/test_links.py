"""The one link validator: every payload of the corpus is refused, ordinary links pass."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from helpdesk.crisis.models import DirectoryEntry
from helpdesk.links import contact_href, safe_url, validate_link
from tests.security.payloads import LINKS, SAFE_LINKS


@pytest.mark.parametrize("link", LINKS)
def test_no_payload_is_a_link(link):
    assert safe_url(link) == ""
    with pytest.raises(ValidationError):
        validate_link(link)


@pytest.mark.parametrize("link", SAFE_LINKS)
def test_ordinary_links_pass(link):
    assert safe_url(link) == link.strip()
    validate_link(link)


def test_directory_targets_become_links_only_when_they_fit_their_channel():
    assert contact_href("call", "+1 555 010 0199") == "tel:+15550100199"
    assert contact_href("sms", "+15550100") == "sms:+15550100"
    assert contact_href("email", "help@example.org") == "mailto:help@example.org"
    assert contact_href("link", "https://help.example.org/rebook") == "https://help.example.org/rebook"
    assert contact_href("chat", "javascript:alert(1)") == ""
    assert contact_href("call", "javascript:alert(1)") == ""
    assert contact_href("email", 'x@example.org?bcc=everyone@example.org"><script>') == ""


def test_the_model_refuses_what_the_admin_would_save():
    entry = DirectoryEntry(need={"en": "Help"}, channel="link", target="//evil.example")
    with pytest.raises(ValidationError) as raised:
        entry.full_clean()
    assert "target" in raised.value.message_dict

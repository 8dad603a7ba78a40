"""An agent's own time zone, digits and calendar: saved on the preferences page, applied to
every workspace page and fragment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.urls import reverse

from helpdesk.accounts import services
from helpdesk.errors import ApplicationError
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

NOWRUZ_1405 = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)


def page(client, url: str, language: str) -> str:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def ticket(db):
    ticket = TicketFactory()
    TimelineEventFactory(ticket=ticket, created_at=NOWRUZ_1405)
    return ticket


def test_persian_agent_chooses_gregorian_and_ascii_on_the_preferences_page(agent_client, agent, ticket):
    response = agent_client.post(
        reverse("accounts:preferences"),
        {"time_zone": "Asia/Tehran", "digits": "latin", "calendar": "gregorian"},
    )
    assert response.status_code == 302
    body = page(agent_client, reverse("tickets:detail", args=[ticket.pk]), "fa")
    assert '<time datetime="2026-03-21T09:30:00+03:30">21 مارس 2026، ساعت 9:30</time>' in body
    assert f'<span class="ticket-id">#{ticket.pk}</span>' in body


def test_preferences_page_shows_the_saved_choices(agent_client, agent):
    services.update_display_preferences(user=agent, time_zone="Asia/Phnom_Penh", digits="native", calendar="")
    body = page(agent_client, reverse("accounts:preferences"), "en")
    assert '<option value="Asia/Phnom_Penh" selected>' in body
    assert '<option value="native" selected>' in body


def test_unknown_time_zone_is_refused_and_nothing_changes(agent_client, agent):
    response = agent_client.post(reverse("accounts:preferences"), {"time_zone": "Mars/Olympus", "digits": ""})
    assert response.status_code == 200 and "form-errors" in response.content.decode()
    agent.profile.refresh_from_db()
    assert agent.profile.time_zone == ""


def test_service_refuses_an_unknown_zone_digits_or_calendar(agent):
    for prefs in (
        {"time_zone": "Nowhere/Town", "digits": "", "calendar": ""},
        {"time_zone": "", "digits": "roman", "calendar": ""},
        {"time_zone": "", "digits": "", "calendar": "mayan"},
    ):
        with pytest.raises(ApplicationError):
            services.update_display_preferences(user=agent, **prefs)


def test_blank_time_zone_is_the_sites(agent_client, ticket, settings):
    settings.TIME_ZONE = "Asia/Phnom_Penh"
    body = page(agent_client, reverse("tickets:detail", args=[ticket.pk]), "en")
    assert 'datetime="2026-03-21T13:00:00+07:00"' in body


def test_kannada_agent_may_choose_kannada_digits(agent_client, agent):
    ticket = TicketFactory()
    assert f'<span class="ticket-id">#{ticket.pk}</span>' in page(
        agent_client, reverse("tickets:queue"), "kn"
    )
    services.update_display_preferences(user=agent, time_zone="", digits="native", calendar="")
    kannada = str(ticket.pk).translate(str.maketrans("0123456789", "೦೧೨೩೪೫೬೭೮೯"))
    assert f'<span class="ticket-id">#{kannada}</span>' in page(agent_client, reverse("tickets:queue"), "kn")


def test_preferences_reach_pages_outside_the_ticket_views(manager_client, manager):
    """The broadcast progress fragment (a manager page, not an agent_view) uses them too."""
    from helpdesk.crisis import services as crisis

    for _ in range(3):
        ContactPointFactory(customer=CustomerFactory(tags=["t"]))
    broadcast = crisis.create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]})
    broadcast.status = "planning"
    broadcast.save()
    crisis.plan_broadcast(broadcast_id=broadcast.pk)
    url = f"/manage/crisis/broadcasts/{broadcast.pk}/progress/"
    assert 'data-count="total">۳<' in page(manager_client, url, "fa")
    services.update_display_preferences(user=manager, time_zone="", digits="latin", calendar="")
    assert 'data-count="total">3<' in page(manager_client, url, "fa")

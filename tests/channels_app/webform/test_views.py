"""The contact form: one inbound path, recorded once, every script intact, bad input refused."""

from __future__ import annotations

import uuid

import pytest
from django.core.cache import cache
from django.urls import reverse

from helpdesk.customers.models import ContactPoint
from helpdesk.tickets.models import Ticket, TimelineEvent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    """Every test starts with an empty per-IP counter (the test client is always 127.0.0.1)."""
    cache.clear()


def _form(**overrides):
    data = {
        "name": "Maryam Ahmadi",
        "email": "maryam@example.com",
        "phone": "",
        "language": "en",
        "subject": "Card frozen",
        "message": "My card was frozen after the flood and I cannot buy food.",
        "token": uuid.uuid4().hex,
    }
    data.update(overrides)
    return data


def test_get_shows_form_with_fresh_token_and_active_language(client):
    response = client.get(reverse("webform:contact"), HTTP_ACCEPT_LANGUAGE="fa")
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["language"] == "fa"
    assert len(form.initial["token"]) == 32
    assert 'dir="rtl"' in response.content.decode()


def test_submit_records_one_web_event_and_shows_ticket_number(client):
    response = client.post(reverse("webform:contact"), _form(), follow=True)
    assert response.status_code == 200
    event = TimelineEvent.objects.get(provider="webform")
    assert event.channel == "web"
    assert event.direction == "in"
    assert event.contact_point.value == "maryam@example.com"
    assert event.ticket.subject == "Card frozen"
    assert f"#{event.ticket_id}" in response.content.decode()


def test_double_submit_is_recorded_once(client):
    data = _form()
    first = client.post(reverse("webform:contact"), data)
    second = client.post(reverse("webform:contact"), data)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert TimelineEvent.objects.filter(provider="webform").count() == 1
    assert Ticket.objects.count() == 1


def test_persian_text_round_trips(client):
    body = "خانه‌ام در سیل خراب شد و کارت بانکی‌ام مسدود است. لطفاً کمک کنید."
    response = client.post(
        reverse("webform:contact"),
        _form(name="مریم احمدی", subject="کارت مسدود", message=body, language="fa"),
        follow=True,
    )
    assert response.status_code == 200
    event = TimelineEvent.objects.get(provider="webform")
    assert event.body == body
    assert event.customer.name == "مریم احمدی"
    assert event.ticket.subject == "کارت مسدود"
    assert event.ticket.language == "fa"


def test_invalid_email_shows_inline_error_and_records_nothing(client):
    response = client.post(reverse("webform:contact"), _form(email="not-an-email"))
    assert response.status_code == 400
    assert "email" in response.context["form"].errors
    assert 'class="webform-field has-error"' in response.content.decode()
    assert not TimelineEvent.objects.exists()
    assert not Ticket.objects.exists()


def test_tampered_token_is_refused(client):
    response = client.post(reverse("webform:contact"), _form(token="x' OR 1=1"))
    assert response.status_code == 400
    assert not TimelineEvent.objects.exists()


def test_invalid_phone_is_a_form_error(client):
    response = client.post(reverse("webform:contact"), _form(phone="12"))
    assert response.status_code == 400
    assert "phone" in response.context["form"].errors
    assert not TimelineEvent.objects.exists()


def test_phone_becomes_second_contact_point_in_e164(client):
    client.post(reverse("webform:contact"), _form(phone="+98 912 345 6789"))
    event = TimelineEvent.objects.get(provider="webform")
    kinds = dict(ContactPoint.objects.filter(customer=event.customer).values_list("kind", "value"))
    assert kinds == {"email": "maryam@example.com", "phone": "+989123456789"}


def test_phone_owned_by_another_customer_does_not_lose_the_message(client):
    client.post(reverse("webform:contact"), _form(email="first@example.com", phone="+98 912 345 6789"))
    client.post(reverse("webform:contact"), _form(email="second@example.com", phone="+98 912 345 6789"))
    assert TimelineEvent.objects.filter(provider="webform").count() == 2
    second = TimelineEvent.objects.get(provider="webform", contact_point__value="second@example.com")
    assert second.payload["phone"] == "+989123456789"
    assert ContactPoint.objects.get(kind="phone").customer.contact_points.filter(value="first@example.com")


def test_thanks_page_rejects_forged_reference(client):
    response = client.get(reverse("webform:thanks", kwargs={"ref": "123"}))
    assert response.status_code == 404


def test_rate_limit_per_ip(client):
    from channels_app.webform import views

    url = reverse("webform:contact")
    codes = [client.post(url, _form()).status_code for _ in range(views.RATE_LIMIT + 1)]
    assert codes[:-1] == [302] * views.RATE_LIMIT
    assert codes[-1] == 429


def test_a_cache_outage_still_takes_the_message(client, monkeypatch):
    """With the cache in Redis (compose), Redis down must not turn the public form into a 500."""

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "add", down)
    monkeypatch.setattr(cache, "incr", down)
    response = client.post(reverse("webform:contact"), _form())
    assert response.status_code == 302
    assert TimelineEvent.objects.filter(provider="webform").count() == 1

from __future__ import annotations

import pytest

from helpdesk.crisis.models import Broadcast
from helpdesk.errors import ApplicationError
from tests.factories import ContactPointFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def test_manager_creates_and_activates_a_crisis_over_the_api(manager_client):
    response = manager_client.post(
        "/api/v1/crises/", {"title": "Flood", "severity": 5}, content_type="application/json"
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    assert manager_client.post(f"/api/v1/crises/{pk}/activate/").json()["status"] == "active"


def test_agents_read_but_cannot_write_crises(agent_client):
    assert agent_client.get("/api/v1/crises/").status_code == 200
    assert (
        agent_client.post("/api/v1/crises/", {"title": "x"}, content_type="application/json").status_code
        == 403
    )


def test_broadcast_without_audience_is_a_422_with_a_code(manager_client):
    response = manager_client.post(
        "/api/v1/broadcasts/",
        {"name": "b", "bodies": {"en": "Hi"}, "audience": {}},
        content_type="application/json",
    )
    # The schema allows an empty audience object; the rule "someone must receive it" is a 422.
    assert response.status_code == 422 and response.json()["code"] == "no_audience"
    assert not Broadcast.objects.exists()


def test_broadcast_create_pause_and_progress_over_the_api(manager_client):
    ContactPointFactory(customer=CustomerFactory(tags=["t"]))
    response = manager_client.post(
        "/api/v1/broadcasts/",
        {"name": "b", "bodies": {"en": "Hi"}, "audience": {"tags": ["t"]}},
        content_type="application/json",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    pause = manager_client.post(f"/api/v1/broadcasts/{pk}/pause/")
    assert pause.status_code == 409 and pause.json()["code"] == "invalid_state"  # a draft cannot pause
    progress = manager_client.get(f"/api/v1/broadcasts/{pk}/progress/").json()
    assert progress["status"] == "draft" and progress["total"] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"max_segments": 32767},
        {"max_segments": 0},
        {"bodies": {"en": "x" * 30000}},  # longer than any channel takes
        {"bodies": ["not", "an", "object"]},
        {"rate_per_second": -1},
        {"rate_per_second": 10**9},
        {"audience": "everyone"},
        {"audience": {"tags": "flood"}},
        {"audience": {"queues": ["a"]}},
        {"audience": {"crisis": "abc"}},
        {"audience": {"contact_point_ids": [1, 2, 3]}},
        {"audience": {"all": "yes"}},
    ],
    ids=lambda c: next(iter(c)) + "=" + str(next(iter(c.values())))[:20],
)
def test_the_broadcast_api_holds_the_forms_limits_and_refuses_malformed_audiences(manager, change):
    from rest_framework.test import APIClient

    from helpdesk.crisis.models import Broadcast

    ContactPointFactory(value="+14155550123")  # somebody reachable: the unchanged request is fine
    api = APIClient()
    api.force_authenticate(manager)
    good = {"name": "Outage", "bodies": {"en": "Our network is down."}, "audience": {"all": True}}
    assert api.post("/api/v1/broadcasts/", good, format="json").status_code == 201
    response = api.post("/api/v1/broadcasts/", {**good, **change}, format="json")
    assert response.status_code == 400, response.content
    assert Broadcast.objects.count() == 1


def test_an_sms_body_over_its_segments_is_a_422_even_where_an_email_could_be_that_long(manager_client):
    ContactPointFactory(value="+14155550124")
    response = manager_client.post(
        "/api/v1/broadcasts/",
        {"name": "Outage", "bodies": {"en": "x" * 9000}, "audience": {"all": True}},
        content_type="application/json",
    )
    assert response.status_code == 422 and response.json()["code"] == "body_too_long"
    assert not Broadcast.objects.exists()


def test_the_service_holds_the_limits_for_any_caller():
    from helpdesk.crisis import services

    ContactPointFactory(value="+14155550123")
    services.create_broadcast(name="x", bodies={"en": "hi"}, audience={"all": True})
    for kwargs in ({"max_segments": 11}, {"rate_per_second": 5000}, {"audience": {"tags": [1]}}):
        args = {"name": "x", "bodies": {"en": "hi"}, "audience": {"all": True}, **kwargs}
        with pytest.raises(ApplicationError):
            services.create_broadcast(**args)


def test_an_email_broadcast_over_the_api_has_subjects_per_language(manager_client):
    ContactPointFactory(kind="email", value="maryam@example.com", customer=CustomerFactory(tags=["t"]))
    ContactPointFactory(customer=CustomerFactory(tags=["t"]))  # a phone: not reached by email
    response = manager_client.post(
        "/api/v1/broadcasts/",
        {
            "name": "Flood",
            "channel": "email",
            "bodies": {"en": "Branches closed. " * 200, "fa": "شعبه‌ها بسته‌اند."},
            "subjects": {"en": "Branches closed\r\nBcc: x@evil.test", "fa": "شعبه‌ها بسته‌اند"},
            "audience": {"tags": ["t"]},
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    broadcast = Broadcast.objects.get(pk=response.json()["id"])
    assert broadcast.channel == "email" and len(broadcast.bodies["en"]) > 1600  # no SMS segments
    assert broadcast.subject_for("en") == "Branches closed Bcc: x@evil.test"  # one line: no header injection
    assert broadcast.subject_for("fa") == "شعبه‌ها بسته‌اند"
    assert broadcast.subject_for("km") == "Branches closed Bcc: x@evil.test"  # English, then the name
    bad = manager_client.post(
        "/api/v1/broadcasts/",
        {"name": "x", "channel": "fax", "bodies": {"en": "Hi"}, "audience": {"tags": ["t"]}},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "channel" in bad.json().get("fields", bad.json())

"""Who may use the API: staff by session or token; non-staff and anonymous never see data."""

from __future__ import annotations

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api.conftest import error_shape
from tests.factories import CustomerFactory, TicketFactory, UserFactory

pytestmark = pytest.mark.django_db

READS = [
    "/api/v1/customers/",
    "/api/v1/customers/{customer}/",
    "/api/v1/customers/{customer}/contact-points/",
    "/api/v1/tickets/",
    "/api/v1/tickets/{ticket}/",
    "/api/v1/tickets/{ticket}/timeline/",
    "/api/v1/queues/",
    "/api/v1/macros/",
]


@pytest.fixture
def urls():
    ticket = TicketFactory(subject="secret subject")
    return [u.format(customer=ticket.customer_id, ticket=ticket.pk) for u in READS]


def test_anonymous_gets_401_with_a_token_challenge_and_no_data(anonymous_api, urls):
    for url in urls:
        response = anonymous_api.get(url)
        assert response.status_code == 401, url
        assert response["WWW-Authenticate"] == "Token", url
        assert "secret" not in response.content.decode()
        error_shape(response)


def test_non_staff_user_gets_403_and_no_data(non_staff_api, urls):
    for url in urls:
        response = non_staff_api.get(url)
        assert response.status_code == 403, url
        assert "secret" not in response.content.decode()
        assert error_shape(response)["code"] == "permission_denied"


def test_non_staff_user_cannot_write(non_staff_api):
    customer = CustomerFactory()
    ticket = TicketFactory(customer=customer)
    for url, payload in [
        ("/api/v1/customers/", {"name": "x"}),
        (f"/api/v1/tickets/{ticket.pk}/notes/", {"body": "x"}),
        (f"/api/v1/tickets/{ticket.pk}/replies/", {"body": "x"}),
        ("/api/v1/tickets/", {"customer": customer.pk, "subject": "x"}),
    ]:
        assert non_staff_api.post(url, payload, format="json").status_code == 403, url
    assert ticket.events.count() == 0


def test_agent_reads_every_list(api, urls):
    for url in urls:
        assert api.get(url).status_code == 200, url


def test_token_endpoint_gives_staff_a_token_that_works(agent):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token/", {"username": "agent", "password": "pass-word-123"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert AuthToken.objects.get(user=agent).expiry.isoformat().startswith(response.json()["expiry"][:16])
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/tickets/").status_code == 200
    # Rotated: each sign-in gets a token of its own (tests/accounts/test_credentials.py).
    again = APIClient().post(
        "/api/v1/auth/token/", {"username": "agent", "password": "pass-word-123"}, format="json"
    )
    assert again.json()["token"] != token


def test_token_endpoint_refuses_wrong_password_and_non_staff(db):
    UserFactory(username="agent", is_staff=True)
    UserFactory(username="visitor", is_staff=False)
    for username, password in [("agent", "wrong"), ("visitor", "pass-word-123"), ("nobody", "x")]:
        response = APIClient().post(
            "/api/v1/auth/token/", {"username": username, "password": password}, format="json"
        )
        # Well-formed request, wrong credentials: 401 with the challenge, same answer for all three.
        assert response.status_code == 401, username
        assert response["WWW-Authenticate"] == "Token"
        assert error_shape(response) == {
            "message": "Unable to log in with these credentials.",
            "code": "authentication_failed",
            "fields": {},
        }
    assert not AuthToken.objects.exists()


def test_token_endpoint_answers_400_to_a_malformed_request(db):
    for body in [{"username": "agent"}, {"username": 7, "password": "x"}, {"username": "", "password": "x"}]:
        response = APIClient().post("/api/v1/auth/token/", body, format="json")
        assert response.status_code == 400, body


def test_token_auth_alone_works_and_a_bad_token_is_refused(token_api):
    assert token_api.get("/api/v1/customers/").status_code == 200
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token nope")
    response = bad.get("/api/v1/customers/")
    assert response.status_code == 401 and error_shape(response)["code"] == "authentication_failed"
    assert response["WWW-Authenticate"] == "Token"


def test_token_of_a_user_who_lost_staff_no_longer_works(token_api, agent):
    agent.is_staff = False
    agent.save()
    assert token_api.get("/api/v1/customers/").status_code == 403

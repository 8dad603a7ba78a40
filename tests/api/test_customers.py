"""Customers over the API: create with contact points, filters, update, merge, contact points."""

from __future__ import annotations

import pytest

from helpdesk.customers.models import ContactPoint, Customer, CustomerMergeAudit
from tests.api.conftest import error_shape
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


def test_create_normalizes_phone_to_e164_and_lowercases_email(api):
    response = api.post(
        "/api/v1/customers/",
        {
            "name": "Dara",
            "language": "km",
            "tags": ["Flood", "vip"],
            "contact_points": [
                {"kind": "phone", "value": "(415) 555-0101"},
                {"kind": "email", "value": "Dara@Example.ORG"},
            ],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {(p["kind"], p["value"]) for p in body["contact_points"]} == {
        ("phone", "+14155550101"),
        ("email", "dara@example.org"),
    }
    assert body["tags"] == ["flood", "vip"] and body["language"] == "km"
    assert Customer.objects.get(pk=body["id"]).contact_points.count() == 2


def test_duplicate_contact_point_is_422_with_a_field_message_and_creates_nothing(api):
    ContactPointFactory(kind="phone", value="+14155550101")
    before = Customer.objects.count()
    response = api.post(
        "/api/v1/customers/",
        {"name": "Copy", "contact_points": [{"kind": "phone", "value": "415-555-0101"}]},
        format="json",
    )
    # Well formed (the schema allows it), refused by a business rule: 422 (helpdesk.api).
    assert response.status_code == 422
    body = error_shape(response)
    assert body["code"] == "contact_point_taken"
    assert "+14155550101" in body["fields"]["contact_points"][0]
    assert Customer.objects.count() == before


def test_same_contact_point_twice_in_one_request_is_422(api):
    response = api.post(
        "/api/v1/customers/",
        {"contact_points": [{"kind": "email", "value": "a@b.org"}, {"kind": "email", "value": "A@B.org"}]},
        format="json",
    )
    assert response.status_code == 422
    assert "contact_points" in error_shape(response)["fields"]
    assert not ContactPoint.objects.exists()


def test_invalid_phone_is_422_and_unknown_kind_400_per_field(api):
    """A kind outside the schema's enum breaks the schema (400); a phone number no numbering plan
    has is something only the server can tell (422)."""
    bad_phone = api.post(
        "/api/v1/customers/", {"contact_points": [{"kind": "phone", "value": "12"}]}, format="json"
    )
    assert bad_phone.status_code == 422 and "contact_points" in error_shape(bad_phone)["fields"]
    bad_kind = api.post(
        "/api/v1/customers/", {"contact_points": [{"kind": "pigeon", "value": "x"}]}, format="json"
    )
    assert bad_kind.status_code == 400 and "contact_points" in error_shape(bad_kind)["fields"]


def test_list_filters_by_name_contact_value_language_and_tag(api):
    dara = CustomerFactory(name="Dara Sok", language="km", tags=["flood"])
    ContactPointFactory(customer=dara, kind="email", value="dara@example.org")
    ContactPointFactory(customer=dara, kind="email", value="dara2@example.org")
    other = CustomerFactory(name="Other Person", language="en", tags=["fire"])
    ContactPointFactory(customer=other, value="+14155559999")

    def ids(**params):
        response = api.get("/api/v1/customers/", params)
        assert response.status_code == 200
        return [c["id"] for c in response.json()["results"]]

    assert ids(q="sok") == [dara.pk]
    assert ids(q="example.org") == [dara.pk]  # two matching points, listed once
    assert ids(q="559999") == [other.pk]
    assert ids(language="km") == [dara.pk]
    assert ids(tag="FIRE") == [other.pk]
    assert ids() == [other.pk, dara.pk]


def test_list_leaves_out_merged_away_customers(api):
    kept, gone = CustomerFactory(), CustomerFactory()
    api.post(f"/api/v1/customers/{kept.pk}/merge/", {"source": gone.pk}, format="json")
    assert [c["id"] for c in api.get("/api/v1/customers/").json()["results"]] == [kept.pk]


def test_retrieve_and_update(api):
    customer = CustomerFactory(name="Old")
    assert api.get(f"/api/v1/customers/{customer.pk}/").json()["name"] == "Old"
    response = api.patch(
        f"/api/v1/customers/{customer.pk}/", {"name": "New", "tags": ["A", "a", "b"]}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.name == "New" and customer.tags == ["a", "b"]


def test_update_with_wrong_types_is_400(api):
    customer = CustomerFactory()
    response = api.patch(f"/api/v1/customers/{customer.pk}/", {"tags": "not-a-list"}, format="json")
    assert response.status_code == 400 and "tags" in error_shape(response)["fields"]


def test_contact_points_endpoint_lists_only_that_customers_points(api):
    customer = CustomerFactory()
    mine = ContactPointFactory(customer=customer)
    ContactPointFactory()
    response = api.get(f"/api/v1/customers/{customer.pk}/contact-points/")
    assert response.status_code == 200
    assert [p["id"] for p in response.json()["results"]] == [mine.pk]


def test_merge_moves_points_tickets_and_events_and_writes_an_audit_row(api, agent):
    target, source = CustomerFactory(), CustomerFactory()
    ContactPointFactory(customer=source)
    ticket = TicketFactory(customer=source)
    TimelineEventFactory(ticket=ticket)
    response = api.post(f"/api/v1/customers/{target.pk}/merge/", {"source": source.pk}, format="json")
    assert response.status_code == 200, response.json()
    assert len(response.json()["contact_points"]) == 1
    ticket.refresh_from_db()
    assert ticket.customer_id == target.pk
    assert target.events.count() == 1
    audit = CustomerMergeAudit.objects.get()
    assert audit.source_id == source.pk and audit.actor == agent


def test_merge_into_self_is_422_twice_409_and_unknown_source_400(api):
    target, source = CustomerFactory(), CustomerFactory()
    same = api.post(f"/api/v1/customers/{target.pk}/merge/", {"source": target.pk}, format="json")
    assert same.status_code == 422 and error_shape(same)["code"] == "merge_same"
    assert (
        api.post(f"/api/v1/customers/{target.pk}/merge/", {"source": source.pk}, format="json").status_code
        == 200
    )
    again = api.post(f"/api/v1/customers/{target.pk}/merge/", {"source": source.pk}, format="json")
    assert again.status_code == 409 and error_shape(again)["code"] == "merge_already"
    unknown = api.post(f"/api/v1/customers/{target.pk}/merge/", {"source": 10**30}, format="json")
    assert unknown.status_code == 400 and "source" in error_shape(unknown)["fields"]
    assert CustomerMergeAudit.objects.count() == 1


def test_unknown_and_huge_ids_are_404_in_the_error_shape(api):
    for url in (
        "/api/v1/customers/999999/",
        f"/api/v1/customers/{10**30}/",
        f"/api/v1/customers/{10**30}/contact-points/",
    ):
        response = api.get(url)
        assert response.status_code == 404, url
        assert error_shape(response)["code"] == "not_found"


def test_unknown_time_zone_and_malformed_language_are_400(api):
    customer = CustomerFactory()
    for payload in ({"time_zone": "Mars/Olympus"}, {"language": "english!"}):
        response = api.patch(f"/api/v1/customers/{customer.pk}/", payload, format="json")
        assert response.status_code == 400 and set(payload) <= set(error_shape(response)["fields"])
    ok = api.patch(f"/api/v1/customers/{customer.pk}/", {"time_zone": "Asia/Phnom_Penh"}, format="json")
    assert ok.status_code == 200 and ok.json()["time_zone"] == "Asia/Phnom_Penh"

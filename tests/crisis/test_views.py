from __future__ import annotations

import gzip

import pytest
from django.db.models import Count

from helpdesk.crisis import services
from tests.factories import ContactPointFactory, CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def live_crisis():
    crisis = services.create_crisis(
        title="Network outage",
        severity=4,
        texts={
            "en": {"summary": "Calls fail in the north.", "what_to_do": "Use SMS."},
            "fa": {"summary": "قطعی شبکه"},
        },
    )
    services.activate_crisis(crisis=crisis)
    banner = services.save_banner(
        crisis=crisis,
        texts={
            "en": {"title": "Outage", "message": "We are fixing it"},
            "fa": {"title": "قطعی", "message": "در حال رفع"},
        },
        severity=4,
    )
    services.publish_banner(banner=banner)
    services.save_directory_entry(
        need={"en": "Emergency"}, channel="call", target="+15551230000", hours="24/7"
    )
    return crisis


def test_banner_json_has_etag_cache_and_cors(client, live_crisis):
    response = client.get("/embed/banner.json")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "max-age=30" in response["Cache-Control"] and "public" in response["Cache-Control"]
    data = response.json()
    assert data["banners"][0]["texts"]["fa"]["title"] == "قطعی"
    assert data["directory"][0]["target"] == "+15551230000"
    assert response["ETag"].startswith('"')


def test_banner_json_answers_304_to_a_matching_etag(client, live_crisis):
    etag = client.get("/embed/banner.json")["ETag"]
    response = client.get("/embed/banner.json", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304 and response.content == b""
    assert response["Access-Control-Allow-Origin"] == "*"


def test_banner_json_etag_changes_when_a_banner_is_republished(client, live_crisis):
    etag = client.get("/embed/banner.json")["ETag"]
    services.publish_banner(banner=live_crisis.banners.get())
    assert client.get("/embed/banner.json", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_banner_json_hides_banners_of_resolved_crises(client, live_crisis):
    services.resolve_crisis(crisis=live_crisis)
    assert client.get("/embed/banner.json").json()["banners"] == []


def test_banner_json_preflight_is_allowed(client):
    response = client.options("/embed/banner.json", HTTP_ORIGIN="https://customer.example")
    assert response.status_code == 204 and response["Access-Control-Allow-Origin"] == "*"


def test_banner_js_is_small_cached_and_dependency_free(client):
    response = client.get("/embed/banner.js")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response["Content-Type"].startswith("application/javascript")
    assert "max-age=3600" in response["Cache-Control"]
    assert len(gzip.compress(body, 9)) < 5 * 1024
    assert b"import " not in body and b"require(" not in body


def test_public_page_shows_crisis_and_directory_with_few_queries(
    client, live_crisis, django_assert_max_num_queries
):
    for n in range(20):
        services.save_directory_entry(
            need={"en": f"Need {n}"}, channel="sms", target=f"+1555000{n:04d}", position=n
        )
    with django_assert_max_num_queries(3):
        response = client.get("/crisis/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Network outage" in html and "Use SMS." in html and "tel:+15551230000" in html
    assert "public" in response["Cache-Control"]
    assert "/embed/banner.js" in html


def test_public_page_in_persian_is_rtl_with_persian_crisis_text(client, live_crisis):
    client.cookies["django_language"] = "fa"
    html = client.get("/crisis/", HTTP_ACCEPT_LANGUAGE="fa").content.decode()
    assert 'dir="rtl"' in html and "قطعی شبکه" in html


def test_public_page_autoescapes_crisis_text(client):
    crisis = services.create_crisis(title="<script>alert(1)</script>")
    services.activate_crisis(crisis=crisis)
    html = client.get("/crisis/").content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_agents_cannot_open_the_crisis_center(agent_client):
    assert agent_client.get("/manage/crisis/").status_code == 403


def test_manager_creates_and_activates_a_crisis(manager_client):
    response = manager_client.post(
        "/manage/crisis/",
        {"create_crisis": "1", "crisis-title": "Flood", "crisis-severity": "5", "crisis-summary_fa": "سیل"},
    )
    assert response.status_code == 302
    crisis_url = response["Location"]
    manager_client.post(crisis_url, {"action": "activate"})
    from helpdesk.crisis.models import Crisis

    crisis = Crisis.objects.get()
    assert crisis.status == "active" and crisis.texts == {"fa": {"summary": "سیل"}}


def test_manager_publishes_a_banner_and_sees_the_preview(manager_client, live_crisis):
    url = f"/manage/crisis/{live_crisis.pk}/"
    manager_client.post(
        url,
        {
            "action": "publish_banner",
            "banner-severity": "3",
            "banner-placement": "popup",
            "banner-title_en": "New",
        },
    )
    banner = live_crisis.banners.get()
    assert banner.version == 2 and banner.placement == "popup"
    html = manager_client.get(url).content.decode()
    assert 'id="banner-preview-data"' in html and "crisis/manage.js" in html


def test_manager_creates_broadcast_and_sees_preview(manager_client, live_crisis):
    for _ in range(3):
        ContactPointFactory(customer=CustomerFactory(tags=["north"]))
    response = manager_client.post(
        "/manage/crisis/broadcasts/new/",
        {
            "name": "Outage SMS",
            "tags": "north",
            "body_en": "Calls are down. Text us.",
            "max_segments": "1",
            "rate_per_second": "10",
            "crisis": str(live_crisis.pk),
        },
    )
    assert response.status_code == 302
    html = manager_client.get(response["Location"]).content.decode()
    assert 'data-preview="recipients">3<' in html


def test_broadcast_over_segment_limit_shows_the_error_and_creates_nothing(manager_client):
    ContactPointFactory(customer=CustomerFactory(tags=["north"]))
    response = manager_client.post(
        "/manage/crisis/broadcasts/new/",
        {"name": "Long", "tags": "north", "body_en": "x" * 400, "max_segments": "2", "rate_per_second": "10"},
    )
    assert response.status_code == 200
    assert "3 SMS segments" in response.content.decode()
    from helpdesk.crisis.models import Broadcast

    assert not Broadcast.objects.exists()


def test_unparsable_csv_upload_shows_a_clear_message(manager_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("numbers.csv", b"\x89PNG\x00\x00", content_type="text/csv")
    response = manager_client.post(
        "/manage/crisis/broadcasts/new/",
        {"name": "CSV", "body_en": "Hi", "max_segments": "1", "rate_per_second": "10", "csv_file": upload},
    )
    assert response.status_code == 200 and "not a CSV text file" in response.content.decode()


def test_progress_partial_has_counters_with_fixed_queries(manager_client, django_assert_max_num_queries):
    for _ in range(10):
        ContactPointFactory(customer=CustomerFactory(tags=["t"]))
    broadcast = services.create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]})
    broadcast.status = "planning"
    broadcast.save()
    services.plan_broadcast(broadcast_id=broadcast.pk)
    with django_assert_max_num_queries(6):
        response = manager_client.get(
            f"/manage/crisis/broadcasts/{broadcast.pk}/progress/", HTTP_HX_REQUEST="true"
        )
    assert 'data-count="total">10<' in response.content.decode()


def test_pause_over_htmx_returns_the_progress_partial(manager_client):
    ContactPointFactory(customer=CustomerFactory(tags=["t"]))
    broadcast = services.create_broadcast(name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]})
    broadcast.status = "sending"
    broadcast.save()
    response = manager_client.post(f"/manage/crisis/broadcasts/{broadcast.pk}/pause/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'data-status="paused"' in response.content.decode()


def test_second_manager_approves_from_the_page(client):
    first = UserFactory(username="m1", role="manager")
    second = UserFactory(username="m2", role="manager")
    ContactPointFactory(customer=CustomerFactory(tags=["t"]))
    broadcast = services.create_broadcast(
        name="b", bodies={"en": "Hi"}, audience={"tags": ["t"]}, requires_approval=True, created_by=first
    )
    client.force_login(first)
    client.post(f"/manage/crisis/broadcasts/{broadcast.pk}/start/")
    assert (
        client.post(f"/manage/crisis/broadcasts/{broadcast.pk}/approve/", HTTP_HX_REQUEST="true").status_code
        == 409
    )
    client.force_login(second)
    client.post(f"/manage/crisis/broadcasts/{broadcast.pk}/approve/")
    broadcast.refresh_from_db()
    assert broadcast.approved_by == second


def test_a_csv_over_the_size_cap_is_refused_before_anything_is_read(manager_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from helpdesk.crisis.models import Broadcast
    from helpdesk.crisis.services import MAX_CSV_BYTES
    from helpdesk.customers.models import Customer

    huge = SimpleUploadedFile("numbers.csv", b"phone\n" + b"+14155550100\n" * (MAX_CSV_BYTES // 13 + 10))
    response = manager_client.post(
        "/manage/crisis/broadcasts/new/",
        {"name": "Big", "body_en": "Hello", "max_segments": 2, "rate_per_second": 50, "csv_file": huge},
    )
    assert response.status_code in (200, 400)
    assert "at most 4 MB" in response.content.decode()
    assert not Broadcast.objects.exists() and not Customer.objects.exists()


def test_the_public_crisis_page_is_cacheable_because_it_carries_nothing_personal(client, manager_client):
    anonymous = client.get("/crisis/")
    assert "public" in anonymous["Cache-Control"]
    assert "csrftoken" not in anonymous.cookies and "sessionid" not in anonymous.cookies
    page = anonymous.content.decode()
    assert "csrf" not in page.lower()
    staff = manager_client.get("/crisis/").content.decode()
    assert "/tickets/" not in staff and "Log out" not in staff and "csrf" not in staff.lower()
    persian = client.get("/crisis/?lang=fa").content.decode()
    assert 'lang="fa" dir="rtl"' in persian


def test_manager_writes_an_email_broadcast_with_subjects_and_its_preview_shows_them(manager_client):
    ContactPointFactory(kind="email", value="a@example.com", customer=CustomerFactory(tags=["north"]))
    ContactPointFactory(kind="email", value="b@example.com", customer=CustomerFactory(tags=["north"]))
    ContactPointFactory(customer=CustomerFactory(tags=["north"]))  # a phone only: SMS, not email
    form = manager_client.get("/manage/crisis/broadcasts/new/").content.decode()
    assert 'name="channel"' in form and 'name="subject_fa"' in form
    response = manager_client.post(
        "/manage/crisis/broadcasts/new/",
        {
            "name": "Outage mail",
            "channel": "email",
            "tags": "north",
            "subject_en": "Our branches are closed today",
            "subject_fa": "شعبه‌ها امروز بسته‌اند",
            "body_en": "x" * 400,  # three SMS segments: no limit for a mail
            "max_segments": "1",
            "rate_per_second": "10",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    html = manager_client.get(response["Location"]).content.decode()
    assert 'data-preview="recipients">2<' in html
    assert "شعبه‌ها امروز بسته‌اند" in html and "SMS segments" not in html


def test_a_csv_of_numbers_is_refused_for_an_email_broadcast(manager_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from helpdesk.crisis.models import Broadcast

    ContactPointFactory(kind="email", value="a@example.com", customer=CustomerFactory(tags=["north"]))
    upload = SimpleUploadedFile("numbers.csv", b"phone\n+14155550100\n", content_type="text/csv")
    response = manager_client.post(
        "/manage/crisis/broadcasts/new/",
        {"name": "CSV", "channel": "email", "body_en": "Hi", "max_segments": "1", "rate_per_second": "10",
         "csv_file": upload},
    )  # fmt: skip
    assert response.status_code == 200 and "for SMS broadcasts" in response.content.decode()
    assert not Broadcast.objects.exists()


def test_a_click_on_a_banner_or_directory_link_counts_as_a_deflection(client, live_crisis):
    from helpdesk.crisis.models import Deflection

    for kind in ("banner_link", "directory_link", "directory_link"):
        response = client.post("/embed/deflection/", kind, content_type="text/plain")
        assert response.status_code == 204 and response["Access-Control-Allow-Origin"] == "*"
    assert client.post("/embed/deflection/", "ivr_sms", content_type="text/plain").status_code == 400
    assert client.get("/embed/deflection/").status_code == 405
    counts = dict(Deflection.objects.values_list("kind").annotate(n=Count("id")).order_by())
    assert counts == {"banner_link": 1, "directory_link": 2}
    assert set(Deflection.objects.values_list("crisis_id", flat=True)) == {live_crisis.pk}
    for _ in range(30):  # one address clicking without end is counted only so far
        client.post("/embed/deflection/", "banner_link", content_type="text/plain")
    assert Deflection.objects.count() == 20

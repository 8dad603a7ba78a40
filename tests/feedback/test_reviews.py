"""Review monitoring: a feed polled twice stores each review once; a negative review matched to a
customer is on their timeline and opens a recovery case with a reply draft."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from helpdesk.feedback import reviews
from helpdesk.feedback.fake_feed import DEMO_REVIEWS, FakeReviewFeed
from helpdesk.feedback.models import RecoveryCase, Review, ReviewSource
from helpdesk.tickets.models import EventKind, TimelineEvent
from tests.factories import ContactPointFactory, CustomerFactory, TicketFactory, TimelineEventFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local_feeds(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the fake review site runs here


@pytest.fixture
def feed():
    served = FakeReviewFeed(DEMO_REVIEWS).start()
    yield served
    served.stop()


@pytest.fixture
def maryam(db):
    return ContactPointFactory(
        kind="email", value="maryam@example.com", customer=CustomerFactory(name="Maryam")
    ).customer


@pytest.mark.parametrize("path", ["/feed.atom", "/feed.json"])
def test_a_feed_polled_twice_stores_each_review_once(feed, maryam, path):
    source = ReviewSource.objects.create(name="Reviews site", kind="feed", url=feed.url + path)
    assert reviews.poll_source(source) == 3
    feed.reviews.append({"id": "rev-2000", "author": "New", "rating": 4, "title": "Fine", "body": "ok"})
    assert reviews.poll_source(source) == 1
    assert feed.requests == 2 and Review.objects.count() == 4
    source.refresh_from_db()
    assert source.last_error == "" and source.last_polled_at is not None
    first = Review.objects.get(external_id="rev-1001")
    assert first.rating == 1 and first.author == "Maryam Ahmadi" and first.url.startswith("http://")


def test_a_negative_review_matched_by_email_opens_a_case_and_is_on_the_timeline(feed, maryam):
    source = ReviewSource.objects.create(name="Reviews site", kind="feed", url=feed.url + "/feed.atom")
    reviews.poll_source(source)
    review = Review.objects.get(external_id="rev-1001")
    assert review.customer == maryam
    event = TimelineEvent.objects.get(customer=maryam, kind=EventKind.REVIEW)
    assert "Card frozen for three days" in event.body and event.payload["review"] == review.pk
    case = RecoveryCase.objects.get(review=review)
    assert case.reason == "negative_review" and case.customer == maryam and case.score_before == 1
    assert "Maryam Ahmadi" in case.reply_draft
    reviews.poll_source(source)
    assert RecoveryCase.objects.count() == 1  # seen again: nothing twice


def test_name_and_order_number_match_only_when_certain(feed, db):
    dara = CustomerFactory(name="Sok Dara")
    ticket = TicketFactory(customer=dara)
    TimelineEventFactory(ticket=ticket, customer=dara, body="About my order ORD-5521, please help")
    source = ReviewSource.objects.create(name="Reviews site", kind="feed", url=feed.url + "/feed.json")
    reviews.poll_source(source)
    assert Review.objects.get(external_id="rev-1002").customer == dara
    assert Review.objects.get(external_id="rev-1003").customer is None  # a name alone is not enough
    assert RecoveryCase.objects.filter(customer=dara).count() == 1


def test_a_feed_that_is_down_is_noted_on_the_source(db):
    source = ReviewSource.objects.create(name="Down", kind="feed", url="http://127.0.0.1:9/feed.atom")
    assert reviews.poll_source(source) == 0
    source.refresh_from_db()
    assert source.last_error


def test_a_csv_import_stores_once(maryam):
    source = ReviewSource.objects.create(name="Export", kind="csv")
    data = (
        b"id,author,email,rating,title,body\n"
        b"c1,Maryam,maryam@example.com,2,Slow,Too slow\n"
        b"c2,Someone,,5,Great,Thanks\n"
    )
    assert reviews.import_csv(source=source, data=data) == 2
    assert reviews.import_csv(source=source, data=data) == 0
    assert RecoveryCase.objects.get().customer == maryam


def _sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_webhook_is_signed_idempotent_and_refuses_junk(client, maryam):
    source = ReviewSource.objects.create(name="Hook", kind="webhook", secret="s3cret")
    url = f"/webhooks/reviews/{source.pk}/"
    body = json.dumps({"id": "w1", "email": "maryam@example.com", "rating": 1, "body": "Bad"}).encode()
    post = lambda data, sig: client.post(url, data, content_type="application/json",  # noqa: E731
                                         HTTP_X_TOURNIQUET_SIGNATURE=sig)  # fmt: skip
    assert post(body, "sha256=00").status_code == 403
    assert post(body, "").status_code == 403
    assert post(body, _sign("s3cret", body)).json() == {"received": 1, "new": 1}
    assert post(body, _sign("s3cret", body)).json() == {"received": 1, "new": 0}
    assert post(b"{not json", _sign("s3cret", b"{not json")).status_code == 400
    assert post(b'{"rating": 1}', _sign("s3cret", b'{"rating": 1}')).status_code == 400
    assert Review.objects.count() == 1 and RecoveryCase.objects.count() == 1


def test_a_review_link_with_a_bad_scheme_is_dropped(db):
    item = reviews.item_from_dict({"id": "x", "body": "b", "url": "javascript:alert(1)"})
    assert item is not None and item.url == ""

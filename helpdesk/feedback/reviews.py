"""Review monitoring: what customers write on review sites, stored once, matched, answered.

Sources are adapters that all end in `store_reviews`: a feed poller (RSS, Atom through
feedparser; JSON Feed or a plain JSON list), a CSV import and a signed webhook
(helpdesk.feedback.views). A review is stored once per source id however often it is seen;
a new one is matched to a customer when that is certain (their email, their phone, or their
name together with an order number their timeline mentions), shown on their timeline, and a
negative one (1 or 2 of 5) opens a recovery case with a draft of a public reply.
"""

from __future__ import annotations

import calendar
import csv
import io
import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import requests
from django.db import transaction
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from helpdesk import digits
from helpdesk.customers.models import ContactPoint, Customer
from helpdesk.errors import ApplicationError
from helpdesk.feedback.models import RecoveryReason, Review, ReviewSource
from helpdesk.links import safe_url
from helpdesk.tickets.models import EventKind, TimelineEvent

logger = logging.getLogger(__name__)

NEGATIVE = 2  # of 5: this and under opens a recovery case
FEED_TIMEOUT_SECONDS = 10
FEED_MAX_BYTES = 5_000_000
# "Rating: 2/5", "2 of 5", "★★☆☆☆", "2 stars" in a feed item's title or text.
_RATING_RES = (
    re.compile(r"(\d)(?:[.,]\d)?\s*(?:/|of|out of)\s*5"),
    re.compile(r"(\d)\s*stars?", re.IGNORECASE),
)
_ORDER_RE = re.compile(
    r"\b(?:order|booking|ref(?:erence)?)\s*(?:no\.?|number|#)?\s*[:#]?\s*([A-Z0-9-]{4,30})", re.I
)


@dataclass(frozen=True)
class ReviewItem:
    external_id: str
    body: str
    rating: int | None = None
    title: str = ""
    author: str = ""
    email: str = ""
    phone: str = ""
    order_number: str = ""
    url: str = ""
    published_at: datetime | None = None


def _rating(value: Any, *texts: str) -> int | None:
    try:
        rating = round(float(digits.to_ascii(str(value)))) if value not in (None, "") else None
    except ValueError:
        rating = None
    if rating is None:
        for text in texts:
            stars = (text or "").count("★")
            if stars:
                rating = stars
                break
            for pattern in _RATING_RES:
                if match := pattern.search(digits.to_ascii(text or "")):
                    rating = int(match.group(1))
                    break
            if rating is not None:
                break
    return rating if rating is not None and 1 <= rating <= 5 else None


def _order(value: Any, *texts: str) -> str:
    if value:
        return str(value).strip()[:64]
    for text in texts:
        if match := _ORDER_RE.search(text or ""):
            return match.group(1)[:64]
    return ""


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value.strip():
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            return None
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed, UTC)
        return parsed
    return None


def item_from_dict(data: dict) -> ReviewItem | None:
    """One review from a JSON object (JSON Feed item, webhook body, CSV row); None without an id."""
    external = str(data.get("id") or data.get("external_id") or data.get("url") or "").strip()
    if not external:
        return None
    given = data.get("_review")
    extra: dict = given if isinstance(given, dict) else {}
    author = data.get("author") or ""
    if isinstance(author, dict):
        author = author.get("name", "")
    if not author and isinstance(data.get("authors"), list) and data["authors"]:
        first = data["authors"][0]
        author = first.get("name", "") if isinstance(first, dict) else str(first)
    title = str(data.get("title") or "")[:300]
    body = str(data.get("content_text") or data.get("body") or data.get("text") or data.get("summary") or "")
    return ReviewItem(
        external_id=external[:300],
        body=body[:10_000],
        rating=_rating(extra.get("rating", data.get("rating")), title, body),
        title=title,
        author=str(author)[:200],
        email=str(extra.get("email", data.get("email")) or "")[:254],
        phone=str(extra.get("phone", data.get("phone")) or "")[:32],
        order_number=_order(
            extra.get("order_number", data.get("order_number") or data.get("order")), title, body
        ),
        url=safe_url(str(data.get("url") or "")),
        published_at=_when(data.get("date_published") or data.get("published_at") or data.get("published")),
    )


def parse_feed(data: bytes, content_type: str = "") -> list[ReviewItem]:
    """The reviews in a fetched feed: JSON (a JSON Feed, a list, or {"reviews": [...]}), else RSS or Atom."""
    stripped = data.lstrip()
    if "json" in content_type or stripped[:1] in (b"{", b"["):
        try:
            parsed = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApplicationError(_("The feed is not valid JSON."), code="invalid_feed") from exc
        rows = parsed.get("items", parsed.get("reviews", [])) if isinstance(parsed, dict) else parsed
        if not isinstance(rows, list):
            raise ApplicationError(_("The feed has no list of reviews."), code="invalid_feed")
        return [item for row in rows if isinstance(row, dict) and (item := item_from_dict(row))]
    feed = feedparser.parse(data)
    if feed.bozo and not feed.entries:
        raise ApplicationError(_("The feed is neither RSS, Atom nor JSON."), code="invalid_feed")
    items = []
    for entry in feed.entries:
        published = None
        if entry.get("published_parsed") or entry.get("updated_parsed"):
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            published = datetime.fromtimestamp(calendar.timegm(stamp), tz=UTC)
        item = item_from_dict(
            {
                "id": entry.get("id") or entry.get("link"),
                "title": entry.get("title", ""),
                "body": entry.get("summary", ""),
                "author": entry.get("author", ""),
                "url": entry.get("link", ""),
                "rating": entry.get("review_rating") or entry.get("rating"),
                "email": entry.get("review_email", ""),
                "order_number": entry.get("review_order", ""),
                "published_at": published,
            }
        )
        if item is not None:
            items.append(item)
    return items


# --- Matching -----------------------------------------------------------------------------------


def match_customer(item: ReviewItem) -> Customer | None:
    """The customer the review is certainly by, else None (a guess would show a stranger's words)."""
    from helpdesk.customers.services import normalize_contact

    for kind, raw in (("email", item.email), ("phone", item.phone)):
        if not raw:
            continue
        try:
            value = normalize_contact(kind, raw)
        except ApplicationError:
            continue
        point = ContactPoint.objects.filter(kind=kind, value=value).select_related("customer").first()
        if point is not None:
            return point.customer
    if item.author and item.order_number:
        named = Customer.objects.filter(name__iexact=item.author.strip(), merged_into__isnull=True)
        ids = list(
            TimelineEvent.objects.filter(customer__in=named, body__icontains=item.order_number)
            .values_list("customer_id", flat=True)
            .distinct()[:2]
        )
        if len(ids) == 1:  # two customers of that name with that order number: not certain
            return Customer.objects.get(pk=ids[0])
    return None


def reply_draft(review: Review, language: str) -> str:
    with translation.override(language):
        return _(
            "Thank you for telling us, %(name)s. You are right to be upset, and we are sorry. We have "
            "opened a case to put it right and will contact you directly."
        ) % {"name": review.author or _("and thank you")}


# --- Storing ------------------------------------------------------------------------------------


def store_reviews(*, source: ReviewSource, items: list[ReviewItem]) -> list[Review]:
    """Store each review once (by its source id); return the new ones, matched and acted on."""
    from helpdesk.feedback import recovery
    from helpdesk.tickets.services import add_system_event

    new = []
    for item in items:
        with transaction.atomic():
            review, created = Review.objects.get_or_create(
                source=source,
                external_id=item.external_id,
                defaults={
                    "author": item.author, "email": item.email, "phone": item.phone,
                    "order_number": item.order_number, "rating": item.rating, "title": item.title,
                    "body": item.body, "url": item.url, "published_at": item.published_at,
                },
            )  # fmt: skip
            if not created:
                continue
            customer = match_customer(item)
            if customer is not None:
                review.customer = customer
                review.save(update_fields=["customer"])
                stars = f"{review.rating}/5 " if review.rating else ""
                add_system_event(
                    customer_id=customer.pk, ticket=None, kind=EventKind.REVIEW,
                    body=_("Review on %(source)s: %(stars)s%(title)s %(body)s") % {
                        "source": source.name, "stars": stars, "title": review.title,
                        "body": review.body[:500],
                    },
                    payload={"review": review.pk, "url": review.url, "rating": review.rating},
                )  # fmt: skip
                if review.rating is not None and review.rating <= NEGATIVE:
                    case = recovery.open_case(customer=customer, reason=RecoveryReason.REVIEW, review=review)
                    case.reply_draft = reply_draft(review, case.language)
                    case.save(update_fields=["reply_draft"])
            new.append(review)
    return new


def fetch_feed(url: str) -> tuple[bytes, str]:
    """GET the feed through the address guard (no local or private address; redirects checked),
    bounded in time and size."""
    from helpdesk.integrations import netguard

    if not safe_url(url).startswith(("http://", "https://")):
        raise ApplicationError(_("A feed address is http or https."), code="invalid_feed")
    answer = netguard.get(
        url,
        headers={"User-Agent": "Tourniquet reviews"},
        timeout=FEED_TIMEOUT_SECONDS,
        max_bytes=FEED_MAX_BYTES + 1,
    )
    if answer.status >= 400:
        message = _("The feed answered HTTP %(status)s.") % {"status": answer.status}
        raise ApplicationError(message, code="invalid_feed")
    if len(answer.body) > FEED_MAX_BYTES:
        raise ApplicationError(_("The feed is too large."), code="invalid_feed")
    return answer.body, answer.content_type


def poll_source(source: ReviewSource) -> int:
    """Poll one feed; return how many reviews were new. A failure is kept on the source, not raised."""
    now = timezone.now()
    try:
        data, content_type = fetch_feed(source.url)
        added = len(store_reviews(source=source, items=parse_feed(data, content_type)))
        error = ""
    except (requests.RequestException, ApplicationError) as exc:
        logger.warning("review feed %s: %s", source.pk, exc)
        added, error = 0, str(exc)[:300]
    ReviewSource.objects.filter(pk=source.pk).update(last_polled_at=now, last_error=error)
    return added


def poll_all() -> int:
    return sum(
        poll_source(s) for s in ReviewSource.objects.filter(is_active=True, kind="feed").exclude(url="")
    )


CSV_COLUMNS = (
    "id",
    "author",
    "email",
    "phone",
    "order_number",
    "rating",
    "title",
    "body",
    "url",
    "published_at",
)


def import_csv(*, source: ReviewSource, data: bytes) -> int:
    """Reviews from a CSV with a header row (id, author, email, phone, order_number, rating, title,
    body, url, published_at; id and body needed); returns how many were new."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ApplicationError(_("The CSV must be UTF-8."), code="invalid_csv") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "id" not in reader.fieldnames:
        raise ApplicationError(_("The CSV needs a header row with an id column."), code="invalid_csv")
    items = [item for row in reader if (item := item_from_dict({k: v for k, v in row.items() if k}))]
    return len(store_reviews(source=source, items=items))

"""Actions on customers: resolve by contact point, consent, merge."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import phonenumbers
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone

from helpdesk.customers.models import ContactKind, ContactPoint, Customer, CustomerMergeAudit
from helpdesk.errors import ApplicationError

# Sent after a contact point opts out (kwarg contact_point): apps end their conversations with it.
contact_point_opted_out = Signal()


def normalize_phone(raw: str, *, region: str = "US") -> str:
    """Return the number in E.164, or raise ApplicationError when it is not a possible number."""
    e164, problem = _e164(raw, region)
    if problem:
        raise ApplicationError(f"{problem}: {raw!r}", code="invalid_phone")
    return e164


# In a surge the same few thousand numbers write again and again; parsing one costs 10 µs.
@functools.lru_cache(maxsize=16384)
def _e164(raw: str, region: str) -> tuple[str, str]:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return "", "Not a phone number"
    if not phonenumbers.is_possible_number(number):
        return "", "Not a possible phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def normalize_contact(kind: str, raw: str) -> str:
    """Return the canonical form of a contact value for its kind."""
    value = (raw or "").strip()
    if not value:
        raise ApplicationError("A contact value is required.", code="invalid_contact")
    if kind == ContactKind.PHONE:
        return normalize_phone(value)
    if kind == ContactKind.EMAIL:
        if "@" not in value or len(value) > 254:
            raise ApplicationError(f"Not an email address: {raw!r}", code="invalid_email")
        return value.lower()
    return value


@dataclass(frozen=True)
class ResolvedCustomer:
    customer: Customer
    contact_point: ContactPoint | None  # None: an unproven sender named someone else's point
    created: bool


def resolve_customer(
    *, kind: str, value: str, name: str = "", language: str = "", proven: bool = False
) -> ResolvedCustomer:
    """Find the customer who owns this contact point, creating both when new.

    `proven`: the sender showed they hold the point (a signed provider webhook from it, or staff
    confirmed it); a point proven here is marked verified."""
    normalized = normalize_contact(kind, value)
    point = ContactPoint.objects.select_related("customer").filter(kind=kind, value=normalized).first()
    if point is not None:
        if proven and not point.verified:
            ContactPoint.objects.filter(pk=point.pk).update(verified=True)
            point.verified = True
        return ResolvedCustomer(point.customer, point, created=False)
    with transaction.atomic():
        customer = Customer.objects.create(name=name[:200], language=language or "en")
        point, created = ContactPoint.objects.get_or_create(
            kind=kind,
            value=normalized,
            defaults={"customer": customer, "language": language, "verified": proven},
        )
        if not created:  # lost a race: another request created it first
            transaction.set_rollback(True)
    if not created:
        return resolve_customer(kind=kind, value=value, name=name, language=language, proven=proven)
    return ResolvedCustomer(customer, point, created=True)


def resolve_unproven_sender(*, kind: str, value: str, name: str = "", language: str = "") -> ResolvedCustomer:
    """A sender nobody vouches for (a web form): never attach to, or thread into, a known customer.

    An address we already know gets a new customer of its own with no contact point: the
    message reaches an agent, who links it to the real customer once they have checked; nothing
    is sent to the address and nothing of the known customer is shown. A new address gets a new
    customer with the point unverified (replies wait for proof)."""
    normalized = normalize_contact(kind, value)
    if ContactPoint.objects.filter(kind=kind, value=normalized).exists():
        customer = Customer.objects.create(name=name[:200], language=language or "en")
        return ResolvedCustomer(customer, None, created=True)
    try:
        with transaction.atomic():
            customer = Customer.objects.create(name=name[:200], language=language or "en")
            point = ContactPoint.objects.create(
                customer=customer, kind=kind, value=normalized, language=language, verified=False
            )
    except IntegrityError:  # the address appeared meanwhile: treat it as known
        customer = Customer.objects.create(name=name[:200], language=language or "en")
        return ResolvedCustomer(customer, None, created=True)
    return ResolvedCustomer(customer, point, created=True)


def verify_contact_point(*, contact_point: ContactPoint) -> bool:
    """Record that staff confirmed the point belongs to its customer; True if it changed."""
    changed = ContactPoint.objects.filter(pk=contact_point.pk, verified=False).update(verified=True)
    contact_point.verified = True
    return bool(changed)


@transaction.atomic
def add_contact_point(*, customer: Customer, kind: str, value: str, verified: bool = False) -> ContactPoint:
    """Attach a contact point to the customer; refuse one that belongs to somebody else."""
    normalized = normalize_contact(kind, value)
    existing = ContactPoint.objects.filter(kind=kind, value=normalized).first()
    if existing is not None:
        if existing.customer_id != customer.pk:
            raise ApplicationError(
                "This contact point belongs to another customer; merge the customers instead.",
                code="contact_point_taken",
            )
        return existing
    return ContactPoint.objects.create(customer=customer, kind=kind, value=normalized, verified=verified)


def opt_out(*, contact_point: ContactPoint, reason: str = "STOP") -> ContactPoint:
    """Record that this contact point must not be sent anything."""
    updated = ContactPoint.objects.filter(pk=contact_point.pk, opted_out_at__isnull=True).update(
        opted_out_at=timezone.now(), opt_out_reason=reason[:100]
    )
    contact_point.refresh_from_db()
    if updated:
        contact_point_opted_out.send(sender=ContactPoint, contact_point=contact_point)
    return contact_point


def opt_in(*, contact_point: ContactPoint) -> ContactPoint:
    """Let this contact point receive messages again."""
    ContactPoint.objects.filter(pk=contact_point.pk).update(opted_out_at=None, opt_out_reason="")
    contact_point.refresh_from_db()
    return contact_point


def mark_invalid(*, contact_point: ContactPoint) -> int:
    """Record that the provider says this contact point cannot receive messages."""
    return ContactPoint.objects.filter(pk=contact_point.pk, invalid_at__isnull=True).update(
        invalid_at=timezone.now()
    )


def mark_bouncing(*, contact_point: ContactPoint) -> int:
    """Record that mail to this address bounces for good."""
    return ContactPoint.objects.filter(pk=contact_point.pk, bouncing_at__isnull=True).update(
        bouncing_at=timezone.now()
    )


def apply_contact_state(*, contact_point: ContactPoint, state: str, reason: str = "") -> int:
    """Apply what a provider learned about the point (opted_out, invalid, bouncing); 1 if it changed."""
    if state == "opted_out":
        already = contact_point.opted_out_at is not None
        opt_out(contact_point=contact_point, reason=reason or "provider")
        return 0 if already else 1
    if state == "invalid":
        return mark_invalid(contact_point=contact_point)
    if state == "bouncing":
        return mark_bouncing(contact_point=contact_point)
    raise ValueError(f"unknown contact state {state!r}")


@transaction.atomic
def merge_customers(*, source: Customer, target: Customer, actor=None) -> CustomerMergeAudit:
    """Move every contact point, ticket and event of `source` to `target`, then retire `source`."""
    from helpdesk.tickets.models import Ticket, TimelineEvent

    if source.pk == target.pk:
        raise ApplicationError("A customer cannot be merged into itself.", code="merge_same")
    # Lock both rows in id order so two concurrent merges cannot deadlock.
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])}
    if len(locked) != 2:
        raise ApplicationError("Customer not found.", code="not_found")
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id is not None:
        raise ApplicationError("This customer was already merged.", code="merge_already")
    if target.merged_into_id is not None:
        # Moving history onto a retired customer would hide it from every list.
        raise ApplicationError(
            "That customer was merged into another one; merge into that one instead.",
            code="merge_into_retired",
        )
    moved: dict = {"contact_point_ids": list(source.contact_points.values_list("id", flat=True))}
    moved["contact_points"] = ContactPoint.objects.filter(customer=source).update(customer=target)
    moved["tickets"] = Ticket.objects.filter(customer=source).update(customer=target)
    moved["events"] = TimelineEvent.objects.filter(customer=source).update(customer=target)
    target.tags = sorted(set(target.tags) | set(source.tags))
    if not target.name and source.name:
        target.name = source.name
    target.save(update_fields=["tags", "name", "updated_at"])
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    return CustomerMergeAudit.objects.create(
        source_id=source.pk, source_name=source.name, target=target, actor=actor, moved=moved
    )


def _normalized_points(points: list[dict]) -> list[tuple[str, str, bool]]:
    """Normalize each (kind, value); say which one is wrong or already someone else's."""
    normalized: list[tuple[str, str, bool]] = []
    errors: list[str] = []
    for point in points:
        try:
            value = normalize_contact(point["kind"], point["value"])
        except ApplicationError as exc:
            errors.append(exc.message)
            continue
        if any(k == point["kind"] and v == value for k, v, _verified in normalized):
            errors.append(f"{value} is listed twice.")
            continue
        normalized.append((point["kind"], value, bool(point.get("verified", False))))
    taken = ContactPoint.objects.filter(
        kind__in={k for k, _v, _f in normalized}, value__in={v for _k, v, _f in normalized}
    ).values_list("kind", "value")
    for kind, value in taken:
        if (kind, value) in {(k, v) for k, v, _f in normalized}:
            errors.append(f"{value} already belongs to another customer; merge the customers instead.")
    if errors:
        raise ApplicationError(
            "A contact point is invalid or taken.",
            code="contact_point_taken",
            fields={"contact_points": errors},
        )
    return normalized


def create_customer(
    *,
    name: str = "",
    language: str = "en",
    tags: list[str] | None = None,
    notes: str = "",
    time_zone: str = "",
    contact_points: list[dict] | None = None,
) -> Customer:
    """Create a customer with their contact points; refuse points that are invalid or taken."""
    points = _normalized_points(contact_points or [])
    try:
        with transaction.atomic():
            customer = Customer.objects.create(
                name=name[:200],
                language=language or "en",
                tags=sorted({t.strip().lower() for t in tags or [] if t.strip()}),
                notes=notes,
                time_zone=time_zone,
            )
            ContactPoint.objects.bulk_create(
                [ContactPoint(customer=customer, kind=k, value=v, verified=f) for k, v, f in points]
            )
    except IntegrityError as exc:  # another request took the point between our check and insert
        raise ApplicationError(
            "A contact point already belongs to another customer.",
            code="contact_point_taken",
            fields={"contact_points": ["A contact point already belongs to another customer."]},
        ) from exc
    return customer


@transaction.atomic
def update_customer(*, customer: Customer, **changes) -> Customer:
    """Change a customer's profile fields (name, language, tags, notes, time zone)."""
    allowed = {"name", "language", "tags", "notes", "time_zone"}
    unknown = set(changes) - allowed
    if unknown:
        raise ApplicationError(f"Cannot change {', '.join(sorted(unknown))}.", code="invalid")
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if "tags" in changes:
        changes["tags"] = sorted({t.strip().lower() for t in changes["tags"] if t.strip()})
    for field, value in changes.items():
        setattr(customer, field, value)
    customer.save(update_fields=[*changes, "updated_at"])
    return customer


def remember_language(*, customer_id: int, language: str) -> None:
    """The customer chose a language (an IVR's first menu): the desk answers them in it from now on."""
    Customer.objects.filter(pk=customer_id).update(language=language)

"""A crisis's public statement: numbered versions, a second manager's approval where the crisis
asks for one, publish and rollback, each audited.

Publishing a version is the one act that changes what every channel says: it copies the
version's texts onto the crisis (the crisis page, the HELP answer, the IVR and the widget read
them from the public snapshot, helpdesk.crisis.public), drives the crisis's banner, and refreshes
the snapshot once the transaction commits. Published versions are never edited: a change is a
new version, and superseded ones stay readable.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk import languages as desk_languages
from helpdesk.crisis.models import (
    STATEMENT_FIELDS,
    Banner,
    Crisis,
    CrisisAudit,
    Statement,
    StatementStatus,
)
from helpdesk.errors import ApplicationError
from helpdesk.links import safe_url

MAX_FIELD_CHARS = {"title": 200, "summary": 2000, "what_to_do": 2000, "unknowns": 1000}


def audit(*, crisis_id: int | None, action: str, actor=None, detail: dict | None = None, now=None) -> None:
    """One append-only row of who changed what about a crisis (actor None: the system)."""
    CrisisAudit.objects.create(
        crisis_id=crisis_id,
        action=action,
        detail=detail or {},
        actor_id=getattr(actor, "pk", None),
        actor_name=(actor.get_username() if actor is not None and getattr(actor, "pk", None) else ""),
        at=now or timezone.now(),
    )


def clean_statement_texts(texts: object) -> dict[str, dict[str, str]]:
    """Known languages and the four statement fields only; "what happened" is required somewhere."""
    if not isinstance(texts, dict):
        raise ApplicationError(
            gettext("A statement is an object of language → fields."), code="invalid_texts"
        )
    clean: dict[str, dict[str, str]] = {}
    for lang, values in texts.items():
        if not desk_languages.is_known(lang) or not isinstance(values, dict):
            continue
        kept = {}
        for key in STATEMENT_FIELDS:
            value = values.get(key)
            if isinstance(value, str) and value.strip():
                if len(value.strip()) > MAX_FIELD_CHARS[key]:
                    raise ApplicationError(
                        gettext("%(field)s is longer than %(n)d characters.")
                        % {"field": key, "n": MAX_FIELD_CHARS[key]},
                        code="too_long",
                        fields={key: [gettext("Too long.")]},
                    )
                kept[key] = value.strip()
        if kept:
            clean[lang] = kept
    if not any(v.get("summary") for v in clean.values()):
        raise ApplicationError(
            gettext("Say what happened in at least one language."),
            code="summary_required",
            fields={"summary": [gettext("Required.")]},
        )
    return clean


def _clean_recordings(recordings: object) -> dict[str, str]:
    if not isinstance(recordings, dict):
        return {}
    return {
        lang: path
        for lang, path in recordings.items()
        if desk_languages.is_known(lang)
        and isinstance(path, str)
        and (path.startswith("/") or safe_url(path))
    }


@transaction.atomic
def create_statement(
    *, crisis: Crisis, texts: dict, author=None, recordings: dict | None = None, now: datetime | None = None
) -> Statement:
    """A new draft version, numbered after the crisis's last one."""
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    last = crisis.statements.aggregate(n=Max("number"))["n"] or 0
    statement = Statement.objects.create(
        crisis=crisis,
        number=last + 1,
        texts=clean_statement_texts(texts),
        recordings=_clean_recordings(recordings or {}),
        created_by=author if getattr(author, "pk", None) else None,
    )
    audit(
        crisis_id=crisis.pk,
        action="statement_created",
        actor=author,
        detail={"version": statement.number},
        now=now,
    )
    return statement


def _locked(statement: Statement) -> Statement:
    return Statement.objects.select_for_update().select_related("crisis").get(pk=statement.pk)


@transaction.atomic
def request_publish(*, statement: Statement, actor=None, now: datetime | None = None) -> Statement:
    """Publish now, or wait for a second manager when the crisis asks for approval."""
    statement = _locked(statement)
    if statement.status not in (StatementStatus.DRAFT, StatementStatus.PENDING_APPROVAL):
        raise ApplicationError(
            gettext("Version %(n)d is already %(status)s.")
            % {"n": statement.number, "status": statement.get_status_display()},
            code="invalid_state",
        )
    if statement.crisis.statements_need_approval and statement.approved_by_id is None:
        if statement.status != StatementStatus.PENDING_APPROVAL:
            statement.status = StatementStatus.PENDING_APPROVAL
            statement.save(update_fields=["status"])
            audit(
                crisis_id=statement.crisis_id,
                action="statement_submitted",
                actor=actor,
                detail={"version": statement.number},
                now=now,
            )
        return statement
    return _publish(statement, actor=actor, now=now)


@transaction.atomic
def approve_statement(*, statement: Statement, approver, now: datetime | None = None) -> Statement:
    """A second manager (not the author) approves a waiting version, which goes out at once."""
    from helpdesk.accounts.services import is_manager

    statement = _locked(statement)
    if statement.status != StatementStatus.PENDING_APPROVAL:
        raise ApplicationError(gettext("This version is not waiting for approval."), code="invalid_state")
    if not is_manager(approver):
        raise ApplicationError(gettext("Only a manager can approve a statement."), code="forbidden")
    if approver.pk == statement.created_by_id:
        raise ApplicationError(
            gettext("A second manager must approve this version, not its author."), code="same_approver"
        )
    statement.approved_by = approver
    statement.save(update_fields=["approved_by"])
    audit(
        crisis_id=statement.crisis_id,
        action="statement_approved",
        actor=approver,
        detail={"version": statement.number},
        now=now,
    )
    return _publish(statement, actor=approver, now=now)


@transaction.atomic
def rollback(*, crisis: Crisis, actor=None, now: datetime | None = None) -> Statement:
    """Publish the version before the current one again, as a new version (the record stays linear:
    v3 rolled back is v4 with v2's words), so every channel says the earlier words at once."""
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    current = crisis.statement
    if current is None:
        raise ApplicationError(gettext("Nothing is published yet."), code="nothing_published")
    previous = (
        crisis.statements.filter(number__lt=current.number, published_at__isnull=False)
        .exclude(texts=current.texts)
        .order_by("-number")
        .first()
    )
    if previous is None:
        raise ApplicationError(gettext("There is no earlier published version."), code="no_previous")
    last = crisis.statements.aggregate(n=Max("number"))["n"] or 0
    again = Statement.objects.create(
        crisis=crisis,
        number=last + 1,
        texts=previous.texts,
        recordings=previous.recordings,
        created_by=actor if getattr(actor, "pk", None) else None,
        # The words were published (and, where asked, approved) before: no second approval.
        approved_by=previous.approved_by,
    )
    audit(
        crisis_id=crisis.pk,
        action="statement_rollback",
        actor=actor,
        detail={"from": current.number, "to": previous.number, "version": again.number},
        now=now,
    )
    return _publish(again, actor=actor, now=now)


def _publish(statement: Statement, *, actor, now: datetime | None) -> Statement:
    from helpdesk.crisis import public

    now = now or timezone.now()
    crisis = Crisis.objects.select_for_update().get(pk=statement.crisis_id)
    before = crisis.statement_id
    Statement.objects.filter(crisis=crisis, status=StatementStatus.PUBLISHED).exclude(pk=statement.pk).update(
        status=StatementStatus.SUPERSEDED
    )
    statement.status = StatementStatus.PUBLISHED
    statement.published_at = now
    statement.published_by = actor if getattr(actor, "pk", None) else None
    statement.save(update_fields=["status", "published_at", "published_by"])
    crisis.statement = statement
    crisis.texts = statement.texts
    crisis.save(update_fields=["statement", "texts"])
    _drive_banner(crisis, statement, now=now)
    audit(
        crisis_id=crisis.pk,
        action="statement_published",
        actor=actor,
        detail={"version": statement.number, "replaces": before},
        now=now,
    )
    transaction.on_commit(public.refresh)
    return statement


def _drive_banner(crisis: Crisis, statement: Statement, *, now: datetime) -> None:
    """The crisis's banner says the statement's title and what happened, linked to the crisis
    page (https sites only: banner.js shows no other link); a new banner version each publish, so
    visitors who dismissed the old words see the new ones."""
    banner = crisis.banners.order_by("-id").first() or Banner(crisis=crisis, severity=crisis.severity)
    base = settings.PUBLIC_BASE_URL.rstrip("/")
    texts = {}
    for lang, values in statement.texts.items():
        kept = dict((banner.texts or {}).get(lang) or {})
        kept["title"] = values.get("title") or crisis.title
        kept["message"] = values.get("summary", "")
        link = safe_url(f"{base}/crisis/?lang={lang}")
        if link:
            kept["link"] = link
        texts[lang] = {k: v for k, v in kept.items() if v}
    banner.texts = texts
    banner.published_at = now
    banner.version += 1
    banner.save()


def versions(crisis: Crisis) -> list[Statement]:
    """Every version, newest first, with who wrote, approved and published it."""
    return list(
        crisis.statements.select_related("created_by", "approved_by", "published_by").order_by("-number")
    )


def audit_trail(crisis: Crisis, limit: int = 50) -> list[CrisisAudit]:
    return list(CrisisAudit.objects.filter(crisis_id=crisis.pk).order_by("-at", "-id")[:limit])

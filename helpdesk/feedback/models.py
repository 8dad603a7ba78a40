"""Winning back trust (issue 18), first part: incentives. A coupon is single-use: granted to one
customer for one recovery, redeemed by the business's systems exactly once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IncentiveKind(models.TextChoices):
    COUPON = "coupon", _("Coupon")
    DISCOUNT = "discount", _("Discount")
    SAMPLE = "sample", _("Free sample")


class CouponPool(models.Model):
    """Codes of one offer (imported by CSV or generated), each worth `value`."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(
        _("kind"), max_length=12, choices=IncentiveKind.choices, default=IncentiveKind.COUPON
    )
    value = models.DecimalField(_("value"), max_digits=10, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class CouponState(models.TextChoices):
    AVAILABLE = "available", _("Available")
    GRANTED = "granted", _("Granted")
    REDEEMED = "redeemed", _("Redeemed")


class Coupon(models.Model):
    pool = models.ForeignKey(CouponPool, on_delete=models.PROTECT, related_name="coupons")
    code = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=12, choices=CouponState.choices, default=CouponState.AVAILABLE)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    case = models.ForeignKey(
        "feedback.RecoveryCase", null=True, blank=True, on_delete=models.SET_NULL, related_name="coupons"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(null=True, blank=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)
    redeemed_ref = models.CharField(max_length=120, blank=True)  # the business system's reference
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["pool", "state"], name="coupon_pool_state_idx")]

    def __str__(self) -> str:
        return f"{self.code} ({self.state})"


class IncentiveEvent(models.Model):
    """Append-only: every grant and redemption (and refused redemption) of a coupon."""

    coupon_id = models.BigIntegerField(db_index=True)
    action = models.CharField(max_length=24)
    detail = models.JSONField(default=dict, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} coupon {self.coupon_id}"


# --- Surveys ---------------------------------------------------------------------------------


class SurveyPolicy(models.Model):
    """The managers' survey rules (one row: `SurveyPolicy.current()`)."""

    window_hours = models.PositiveIntegerField(
        _("at most one survey per customer every (hours)"), default=168
    )
    delay_minutes = models.PositiveIntegerField(
        _("wait after the interaction (minutes)"),
        default=0,
        help_text=_("A ticket reopened meanwhile is not surveyed."),
    )
    during_open_crisis = models.BooleanField(
        _("survey customers whose crisis ticket is still open"), default=False
    )
    low_score = models.PositiveSmallIntegerField(
        _("scores up to this (1–5) ask what went wrong and open a recovery case"), default=2
    )
    answer_hours = models.PositiveIntegerField(_("an answer counts for (hours)"), default=72)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("survey policy")

    def __str__(self) -> str:
        return "survey policy"

    CACHE_KEY = "tourniquet:survey-policy"

    def save(self, *args, **kwargs) -> None:
        from django.core.cache import cache

        super().save(*args, **kwargs)
        cache.delete(self.CACHE_KEY)

    @classmethod
    def current(cls) -> SurveyPolicy:
        """The rules, from the shared cache for a minute: every inbound message may ask them."""
        from django.core.cache import cache

        policy = cache.get(cls.CACHE_KEY)
        if policy is None:
            policy = cls.objects.order_by("pk").first() or cls.objects.create()
            cache.set(cls.CACHE_KEY, policy, 60)
        return policy


class SurveyTrigger(models.TextChoices):
    SOLVED = "solved", _("Ticket solved")
    CALL = "call_ended", _("Call ended")
    CHAT = "chat_ended", _("Chat ended")
    TRIAGE = "triage_completed", _("Triage completed")
    CRISIS = "crisis_closed", _("Crisis closed")
    RESURVEY = "resurvey", _("After a recovery")


class SurveyScale(models.TextChoices):
    CSAT = "csat", _("Satisfaction (1–5)")
    NPS = "nps", _("Would recommend (0–10)")


class SurveyState(models.TextChoices):
    DUE = "due", _("Due")
    ASKED = "asked", _("Asked")
    ANSWERED = "answered", _("Answered")
    SKIPPED = "skipped", _("Not sent")
    EXPIRED = "expired", _("No answer")


class Survey(models.Model):
    """One question after one interaction, on the channel the customer used. The queue, agent
    and crisis are copied at asking time so the reports group without joining the tickets."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="surveys")
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="surveys"
    )
    contact_point = models.ForeignKey(
        "customers.ContactPoint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(max_length=16)
    trigger = models.CharField(max_length=20, choices=SurveyTrigger.choices)
    scale = models.CharField(max_length=8, choices=SurveyScale.choices, default=SurveyScale.CSAT)
    language = models.CharField(max_length=8, default="en")
    state = models.CharField(max_length=12, choices=SurveyState.choices, default=SurveyState.DUE)
    skip_reason = models.CharField(max_length=40, blank=True)
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    queue = models.ForeignKey(
        "tickets.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    crisis = models.ForeignKey(
        "crisis.Crisis", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recovery = models.ForeignKey(
        "feedback.RecoveryCase", null=True, blank=True, on_delete=models.SET_NULL, related_name="resurveys"
    )
    due_at = models.DateTimeField()
    asked_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    why_asked_at = models.DateTimeField(null=True, blank=True)
    commented_at = models.DateTimeField(null=True, blank=True)
    question_event_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="survey_customer_idx"),
            models.Index(fields=["state", "due_at"], name="survey_due_idx"),
            models.Index(fields=["answered_at"], name="survey_answered_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(score__isnull=True) | models.Q(score__lte=10), name="survey_score_range"
            ),
        ]

    def __str__(self) -> str:
        return f"survey {self.pk} ({self.state})"

    @property
    def top(self) -> int:
        return 10 if self.scale == SurveyScale.NPS else 5


# --- Recovery cases ----------------------------------------------------------------------------


class ApologyTemplate(models.Model):
    """An apology a manager approved: it owns the mistake, in the customer's language."""

    name = models.CharField(_("name"), max_length=120)
    language = models.CharField(_("language"), max_length=8, default="en")
    body = models.TextField(
        _("text"), help_text=_("{name} is the customer's name, {subject} the ticket's subject.")
    )
    steps = models.JSONField(
        _("plan steps"), default=list, blank=True, help_text=_("The corrective plan a new case starts with.")
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["language", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.language})"


class RecoveryReason(models.TextChoices):
    LOW_SCORE = "low_score", _("Low survey score")
    REVIEW = "negative_review", _("Negative review")
    FLAG = "agent_flag", _("Flagged by an agent")


class RecoveryStatus(models.TextChoices):
    OPEN = "open", _("Open")
    FIXED = "fixed", _("Fixed, customer told")
    CLOSED = "closed", _("Closed")


class RecoveryCase(models.Model):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="recovery_cases"
    )
    ticket = models.ForeignKey(
        "tickets.Ticket", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    survey = models.ForeignKey(Survey, null=True, blank=True, on_delete=models.SET_NULL, related_name="cases")
    review = models.ForeignKey(
        "feedback.Review", null=True, blank=True, on_delete=models.SET_NULL, related_name="cases"
    )
    reason = models.CharField(max_length=20, choices=RecoveryReason.choices)
    status = models.CharField(max_length=10, choices=RecoveryStatus.choices, default=RecoveryStatus.OPEN)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recovery_cases",
    )
    channel = models.CharField(max_length=16, blank=True)  # where the customer hears from us
    language = models.CharField(max_length=8, default="en")
    apology = models.TextField(blank=True)
    apology_sent_at = models.DateTimeField(null=True, blank=True)
    reply_draft = models.TextField(blank=True)  # a public answer to a review
    score_before = models.PositiveSmallIntegerField(null=True, blank=True)
    score_after = models.PositiveSmallIntegerField(null=True, blank=True)
    due_at = models.DateTimeField()
    fixed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["status", "due_at"], name="recovery_queue_idx")]
        constraints = [
            # One open case per survey or review: a retried answer does not open a second.
            models.UniqueConstraint(fields=["survey"], name="recovery_one_per_survey"),
            models.UniqueConstraint(fields=["review"], name="recovery_one_per_review"),
        ]

    def __str__(self) -> str:
        return f"recovery {self.pk} ({self.status})"


class RecoveryStep(models.Model):
    case = models.ForeignKey(RecoveryCase, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("step"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    tell_customer = models.BooleanField(_("tell the customer when done"), default=False)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.title


# --- Reviews ---------------------------------------------------------------------------------


class ReviewSourceKind(models.TextChoices):
    FEED = "feed", _("RSS, Atom or JSON feed")
    CSV = "csv", _("CSV import")
    WEBHOOK = "webhook", _("Signed webhook")


class ReviewSource(models.Model):
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=ReviewSourceKind.choices)
    url = models.URLField(_("feed address"), blank=True)
    secret = models.CharField(_("webhook secret"), max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)

    def __str__(self) -> str:
        return self.name


class Review(models.Model):
    source = models.ForeignKey(ReviewSource, on_delete=models.CASCADE, related_name="reviews")
    external_id = models.CharField(max_length=300)
    author = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    order_number = models.CharField(max_length=64, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)  # 1–5
    title = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)  # scheme-checked when stored
    published_at = models.DateTimeField(null=True, blank=True)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "external_id"], name="review_once_per_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id}"

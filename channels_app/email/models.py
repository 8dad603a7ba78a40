"""Mailboxes the desk reads: where each door (webhook, SMTP, IMAP, Maildir) takes mail in."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MailboxDoor(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    SMTP = "smtp", _("SMTP server")
    IMAP = "imap", _("IMAP poll")
    MAILDIR = "maildir", _("Maildir")


class Mailbox(models.Model):
    """One address the desk answers, and how its mail reaches the inbox."""

    address = models.EmailField(_("address"), unique=True)
    door = models.CharField(_("door"), max_length=16, choices=MailboxDoor.choices, default=MailboxDoor.IMAP)
    host = models.CharField(_("host"), max_length=253, blank=True)
    port = models.PositiveIntegerField(
        _("port"), null=True, blank=True, help_text=_("Empty: 993, or 143 without SSL.")
    )
    use_ssl = models.BooleanField(_("use SSL"), default=True)
    username = models.CharField(_("username"), max_length=254, blank=True)
    # The NAME of an environment variable holding the password: secrets stay out of the database.
    password_env = models.CharField(
        _("password variable"), max_length=100, blank=True,
        help_text=_("The name of the environment variable that holds the password, never the password."),
    )  # fmt: skip
    folder = models.CharField(_("folder"), max_length=200, default="INBOX")
    maildir_path = models.CharField(_("Maildir path"), max_length=500, blank=True)
    move_to = models.CharField(
        _("move recorded mail to"), max_length=200, blank=True, help_text=_("Empty: only mark it read.")
    )
    queue = models.ForeignKey(
        "tickets.Queue", on_delete=models.SET_NULL, null=True, blank=True, related_name="mailboxes"
    )
    active = models.BooleanField(_("active"), default=True)
    # The IMAP folder's UIDVALIDITY and the highest UID stored from it (below every failed one).
    uidvalidity = models.BigIntegerField(null=True, blank=True, editable=False)
    last_uid = models.BigIntegerField(default=0, editable=False)
    last_fetch_at = models.DateTimeField(_("last fetch"), null=True, blank=True, editable=False)
    last_error = models.CharField(_("last error"), max_length=300, blank=True, editable=False)
    fetched_count = models.BigIntegerField(_("fetched"), default=0, editable=False)

    class Meta:
        ordering = ["address"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(door__in=["webhook", "smtp", "imap", "maildir"]), name="mailbox_door_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.door})"

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

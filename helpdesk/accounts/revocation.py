"""Credentials end together: a changed password or a deactivated account ends every API token
and open workspace socket of that user; signing out closes that session's sockets."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import pre_save
from django.dispatch import receiver


def revoke_credentials(user) -> None:
    """Delete the user's API tokens and close their sockets (after the change commits)."""
    from knox.models import AuthToken

    from helpdesk.tickets import realtime

    AuthToken.objects.filter(user=user).delete()
    user_id = user.pk
    transaction.on_commit(lambda: realtime.close_sockets(user_id=user_id))


@receiver(pre_save, sender=get_user_model(), dispatch_uid="accounts.revoke_on_password_change")
def _revoke_on_password_change(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    if raw or instance.pk is None:
        return
    if update_fields is not None and not {"password", "is_active"} & set(update_fields):
        return  # e.g. last_login on every sign-in
    old = sender.objects.filter(pk=instance.pk).values("password", "is_active").first()
    if old is None:
        return
    if old["password"] != instance.password or (old["is_active"] and not instance.is_active):
        revoke_credentials(instance)


@receiver(user_logged_out, dispatch_uid="accounts.close_sockets_on_logout")
def _close_sockets_on_logout(sender, request, user, **kwargs) -> None:
    from helpdesk.tickets import realtime

    session_key = getattr(getattr(request, "session", None), "session_key", "") or ""
    if session_key:
        realtime.close_sockets(session_key=session_key)

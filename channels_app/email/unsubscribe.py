"""One-click unsubscribe from crisis email broadcasts (RFC 8058): the link in `List-Unsubscribe`
carries a signed token of the address; a POST (the mail client's one-click, or the page's button)
opts the address out. A GET only asks, so a link scanner following it unsubscribes nobody."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

SALT = "tourniquet.email.unsubscribe"


def token_for(address: str) -> str:
    return signing.dumps(address.lower(), salt=SALT, compress=True)


def url_for(address: str) -> str:
    return settings.PUBLIC_BASE_URL + reverse("email_unsubscribe", args=[token_for(address)])


def headers_for(address: str) -> dict[str, str]:
    """The headers a broadcast email carries (RFC 2369 and RFC 8058)."""
    return {
        "List-Unsubscribe": f"<{url_for(address)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Auto-Submitted": "auto-generated",
        "Precedence": "bulk",
    }


@csrf_exempt  # the signed token is the proof; a mail provider's one-click POST has no session
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    from helpdesk.customers.models import ContactKind, ContactPoint
    from helpdesk.customers.services import opt_out

    try:
        address = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return render(request, "email/unsubscribe.html", {"invalid": True}, status=400)
    done = False
    if request.method == "POST":
        point = ContactPoint.objects.filter(kind=ContactKind.EMAIL, value=address).first()
        if point is not None:
            opt_out(contact_point=point, reason="unsubscribe link")
        done = True
    return render(request, "email/unsubscribe.html", {"address": address, "done": done})

"""The business's systems redeem a code: POST /api/v1/recovery/redeem/ with JSON {"code",
"reference"}, signed `X-Tourniquet-Signature: sha256=<hex HMAC-SHA256 of the body with
INCENTIVE_REDEEM_SECRET>`. 200 redeemed; 409 already used; 404 unknown; 410 expired or not granted;
403 unsigned; 400 malformed. Exactly one of any number of racing calls gets 200."""

from __future__ import annotations

import hashlib
import hmac
import json

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpdesk.feedback import services

STATUS = {"redeemed": 200, "already_redeemed": 409, "unknown": 404, "expired": 410, "not_granted": 410}


def _signed(request: HttpRequest) -> bool:
    secret = settings.INCENTIVE_REDEEM_SECRET
    given = request.headers.get("X-Tourniquet-Signature", "")
    if not secret or not given.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given[7:].strip().lower(), expected)


@csrf_exempt
@require_POST
def redeem(request: HttpRequest) -> JsonResponse:
    if not _signed(request):
        return JsonResponse({"error": "bad_signature"}, status=403)
    try:
        data = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError):
        return JsonResponse({"error": "malformed"}, status=400)
    code = data.get("code") if isinstance(data, dict) else None
    reference = data.get("reference", "") if isinstance(data, dict) else ""
    if not isinstance(code, str) or not code.strip() or len(code) > 64 or not isinstance(reference, str):
        return JsonResponse({"error": "malformed"}, status=400)
    result = services.redeem(code=code.strip(), reference=reference)
    return JsonResponse({"redeemed": result.ok, "reason": result.reason}, status=STATUS[result.reason])

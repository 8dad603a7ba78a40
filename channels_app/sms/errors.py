"""Twilio's words: its message statuses, and its error codes in the one table that says what
each means for the message and the number.

Used by the gateway (errors raised when sending) and the status webhook (ErrorCode on a callback),
so "opted out" and "invalid" are decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from channels_app.base import ContactState, DeliveryStatus

# Twilio's message statuses → ours. Provider words stop here.
STATUS_MAP: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENDING,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}


def delivery_status(twilio_status: str | None) -> DeliveryStatus:
    """Our status for Twilio's word (a new message it did not name is queued)."""
    return STATUS_MAP.get((twilio_status or "").lower(), DeliveryStatus.QUEUED)


@dataclass(frozen=True)
class TwilioError:
    permanent: bool  # retrying the same message cannot help
    contact_state: ContactState | None  # what the code says about the recipient's number
    message: str  # what an agent reads


_OPTED_OUT, _INVALID = ContactState.OPTED_OUT, ContactState.INVALID

ERRORS: dict[str, TwilioError] = {
    # Raised by the REST API when we send.
    "21211": TwilioError(True, _INVALID, "The number is not a valid phone number."),
    "21214": TwilioError(True, _INVALID, "The number cannot be reached by SMS."),
    "21408": TwilioError(True, None, "SMS to this country is not enabled on our account."),
    "21610": TwilioError(True, _OPTED_OUT, "The customer unsubscribed (replied STOP)."),
    "21612": TwilioError(True, _INVALID, "This number cannot receive SMS from our number."),
    "21614": TwilioError(True, _INVALID, "The number is not a mobile number."),
    "21617": TwilioError(True, None, "The message is longer than SMS allows."),
    "20429": TwilioError(False, None, "Twilio is rate limiting us; retrying."),
    "30001": TwilioError(False, None, "Twilio's queue overflowed; retrying."),
    # Reported on status callbacks, after the carrier tried.
    "30003": TwilioError(True, None, "The handset is unreachable (off or out of coverage)."),
    "30004": TwilioError(True, None, "The message was blocked by the carrier or the recipient."),
    "30005": TwilioError(True, _INVALID, "The number is unknown or no longer exists."),
    "30006": TwilioError(True, _INVALID, "The number is a landline or cannot receive SMS."),
    "30007": TwilioError(True, None, "The carrier filtered the message as spam."),
    "30008": TwilioError(True, None, "Unknown delivery error from the carrier."),
}


def describe(code: str | int | None) -> TwilioError | None:
    """What the error code means, or None for a code we do not know."""
    return ERRORS.get(str(code)) if code else None

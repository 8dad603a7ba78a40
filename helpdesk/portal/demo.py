# ruff: noqa: E501 (translated demo data: one action a line)
"""The demo's self-service: a bank's card freeze, unfreeze and emergency cash, and an airline's
rebooking, all served by `manage.py fake_backends` (make demo starts it on port 8030)."""

from __future__ import annotations

from django.conf import settings

from helpdesk.portal.models import SelfServiceAction

BACKENDS = "http://127.0.0.1:8030"
CARD = {"name": "card", "label": {"en": "Last 4 digits of the card", "fa": "۴ رقم آخر کارت",
                                  "km": "លេខ 4 ខ្ទង់ចុងក្រោយនៃកាត", "kn": "ಕಾರ್ಡ್‌ನ ಕೊನೆಯ 4 ಅಂಕೆಗಳು"},
        "kind": "text", "required": True, "max_length": 4}  # fmt: skip
ACTIONS = [
    ("freeze-card", "/bank/freeze", {"en": "Freeze my card", "fa": "مسدود کردن کارت", "km": "បង្កកកាតរបស់ខ្ញុំ",
                                     "kn": "ನನ್ನ ಕಾರ್ಡ್ ಸ್ಥಗಿತಗೊಳಿಸಿ"},
     [CARD], {"en": "Your card is frozen. Reference {reference}.", "fa": "کارت شما مسدود شد. شمارهٔ پیگیری {reference}.",
              "km": "កាតរបស់អ្នកត្រូវបានបង្កក។ លេខយោង {reference}។", "kn": "ನಿಮ್ಮ ಕಾರ್ಡ್ ಸ್ಥಗಿತಗೊಂಡಿದೆ. ಉಲ್ಲೇಖ {reference}."}, False),
    ("unfreeze-card", "/bank/unfreeze", {"en": "Unfreeze my card", "fa": "رفع انسداد کارت", "km": "ឈប់បង្កកកាត",
                                         "kn": "ಕಾರ್ಡ್ ಮತ್ತೆ ಆರಂಭಿಸಿ"},
     [CARD], {"en": "Your card works again. Reference {reference}.", "fa": "کارت شما دوباره کار می‌کند. {reference}",
              "km": "កាតរបស់អ្នកដំណើរការវិញ។ {reference}", "kn": "ನಿಮ್ಮ ಕಾರ್ಡ್ ಮತ್ತೆ ಕೆಲಸ ಮಾಡುತ್ತದೆ. {reference}"}, True),
    ("emergency-cash", "/bank/emergency-cash", {"en": "Emergency cash", "fa": "پول نقد اضطراری", "km": "សាច់ប្រាក់បន្ទាន់",
                                                "kn": "ತುರ್ತು ನಗದು"},
     [CARD, {"name": "amount", "label": {"en": "Amount (USD)", "fa": "مبلغ (دلار)"}, "kind": "number", "required": True}],
     {"en": "Emergency cash is ready for pick-up. Reference {reference}.", "fa": "پول نقد اضطراری آماده است. {reference}"},
     True),
    ("rebook", "/airline/rebook", {"en": "Rebook my flight", "fa": "تغییر رزرو پرواز", "km": "កក់ជើងហោះហើរម្តងទៀត",
                                   "kn": "ವಿಮಾನ ಮರುಕಾಯ್ದಿರಿಸಿ"},
     [{"name": "booking", "label": {"en": "Booking reference", "fa": "کد رزرو"}, "kind": "text", "required": True,
       "max_length": 8}],
     {"en": "You are rebooked on the next flight. New reference {reference}.",
      "fa": "رزرو شما به پرواز بعدی منتقل شد. کد تازه {reference}."}, False),
]  # fmt: skip


def seed_self_service() -> None:
    for position, (slug, path, title, fields, result, sensitive) in enumerate(ACTIONS):
        SelfServiceAction.objects.get_or_create(
            slug=slug,
            defaults={"title": title, "url": BACKENDS + path, "secret": settings.DEMO_BACKENDS_SECRET,
                      "fields": fields, "result_text": result, "sensitive": sensitive, "position": position},
        )  # fmt: skip

"""The demo's crisis in full (seed_demo calls `seed_crisis_story`): two statement versions, the
crisis's own directory, the banner the statement drives, a finished broadcast with replies and
triage outcomes, and surge statistics with deflections — so a newcomer sees every surface
working without setting anything up. Idempotent: a crisis that has statements is left alone."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from helpdesk.crisis import services, statements
from helpdesk.crisis.models import (
    BroadcastDelivery,
    Crisis,
    CrisisAudit,
    Deflection,
    DeflectionKind,
    DeliveryState,
    Surge,
)
from helpdesk.errors import ApplicationError

FIRST = {
    "en": {
        "title": "Riverside flood",
        "summary": "The river burst its banks overnight. Homes and shops in the Riverside district "
        "are flooded.",
        "what_to_do": "Stay away from the river. Text FLOOD to our line for a call back.",
        "unknowns": "We do not know yet which branches can reopen this week.",
    },
    "fa": {
        "title": "سیل ریورساید",
        "summary": "رودخانه شب گذشته طغیان کرد. خانه‌ها و مغازه‌های محله ریورساید زیر آب رفته است.",
        "what_to_do": "از رودخانه دور بمانید. برای تماس تلفنی کلمه FLOOD را به شماره ما پیامک کنید.",
        "unknowns": "هنوز نمی‌دانیم کدام شعبه‌ها این هفته باز می‌شوند.",
    },
}
SECOND = {
    "en": {
        "title": "Riverside flood",
        "summary": "The river burst its banks overnight; the water is now falling. "
        "Three branches stay closed.",
        "what_to_do": "Cards in the district are not blocked for unusual spending; emergency cash fees are "
        "waived. Text FLOOD for a call back, or freeze a lost card yourself online.",
        "unknowns": "We do not know yet when the Riverside and Mill Street branches reopen.",
    },
    "fa": {
        "title": "سیل ریورساید",
        "summary": "رودخانه شب گذشته طغیان کرد؛ آب اکنون در حال فروکش است. سه شعبه همچنان بسته‌اند.",
        "what_to_do": "کارت‌های این محله به خاطر خرید غیرعادی مسدود نمی‌شوند و کارمزد برداشت اضطراری حذف شده "
        "است. برای تماس تلفنی FLOOD را پیامک کنید یا کارت گم‌شده را خودتان آنلاین مسدود کنید.",
        "unknowns": "هنوز نمی‌دانیم شعبه‌های ریورساید و خیابان میل کی باز می‌شوند.",
    },
    "km": {
        "title": "ទឹកជំនន់ Riverside",
        "summary": "ទន្លេបានហៀរលើច្រាំងកាលពីយប់មិញ។ ឥឡូវទឹកកំពុងស្រក។",
        "what_to_do": "ផ្ញើសារ FLOOD មកលេខរបស់យើង ដើម្បីឱ្យយើងទូរស័ព្ទត្រឡប់មកវិញ។",
    },
    "kn": {
        "title": "ರಿವರ್‌ಸೈಡ್ ಪ್ರವಾಹ",
        "summary": "ನಿನ್ನೆ ರಾತ್ರಿ ನದಿ ಉಕ್ಕಿ ಹರಿಯಿತು; ಈಗ ನೀರು ಇಳಿಯುತ್ತಿದೆ.",
        "what_to_do": "ಮರಳಿ ಕರೆಗಾಗಿ FLOOD ಎಂದು ನಮ್ಮ ಸಂಖ್ಯೆಗೆ ಸಂದೇಶ ಕಳುಹಿಸಿ.",
    },
}
DIRECTORY = [
    ({"en": "Emergencies: water in your home", "fa": "اضطراری: آب در خانه"}, "call", "+15005550100", "24/7"),
    (
        {"en": "Insurance and coverage questions", "fa": "پرسش‌های بیمه و پوشش"},
        "sms",
        "+15005550006",
        "08:00-20:00",
    ),
    (
        {"en": "Freeze a card or reschedule", "fa": "مسدود کردن کارت یا تغییر نوبت"},
        "link",
        "https://bank.example/self-service",
        "",
    ),
]


@transaction.atomic
def seed_crisis_story(*, crisis: Crisis, manager, now=None) -> bool:
    """Write the story once; False when the crisis already has one."""
    if crisis.statements.exists():
        return False
    now = now or timezone.now()
    rng = random.Random(17)  # the same demo every time
    for position, (need, channel, target, hours) in enumerate(DIRECTORY):
        services.save_directory_entry(
            need=need, channel=channel, target=target, hours=hours, position=position, crisis=crisis
        )
    first = statements.create_statement(
        crisis=crisis, texts=FIRST, author=manager, now=now - timedelta(hours=19)
    )
    statements.request_publish(statement=first, actor=manager, now=now - timedelta(hours=19))
    second = statements.create_statement(
        crisis=crisis, texts=SECOND, author=manager, now=now - timedelta(hours=6)
    )
    statements.request_publish(statement=second, actor=manager, now=now - timedelta(hours=6))
    _finished_broadcast(crisis, manager, rng, now)
    _surge(crisis, manager, rng, now)
    return True


def _finished_broadcast(crisis: Crisis, manager, rng: random.Random, now) -> None:
    """A real broadcast to the crisis's customers, through the configured gateway (the console in
    the demo, which marks what it prints "printed", never delivered); some recipients replied."""
    try:
        broadcast = services.create_broadcast(
            name="Flood: are you safe?",
            channel="sms",
            crisis=crisis,
            bodies={
                "en": "Riverside flood: are you safe? Reply YES if you need help "
                "and we will ask five short questions.",
                "fa": "سیل ریورساید: آیا در امان هستید؟ اگر کمک لازم دارید YES را پاسخ دهید.",
            },
            audience={"crisis": crisis.pk},
            rate_per_second=0,
            created_by=manager,
        )
    except ApplicationError:
        return  # nobody reachable: a demo without customers
    broadcast = services.start_broadcast(broadcast=broadcast, actor=manager)
    transaction.on_commit(lambda: _replies(broadcast.pk, rng))


def _replies(broadcast_id: int, rng: random.Random) -> None:
    """A third of those it reached answered (their answers are the demo's seeded conversations)."""
    sent = list(
        BroadcastDelivery.objects.filter(
            broadcast_id=broadcast_id, status__in=[DeliveryState.SENT, DeliveryState.DELIVERED]
        ).values_list("id", "sent_at")
    )
    for delivery_id, sent_at in sent:
        if sent_at and rng.random() < 0.35:
            BroadcastDelivery.objects.filter(pk=delivery_id).update(
                replied_at=sent_at + timedelta(minutes=rng.randint(2, 40))
            )


def _surge(crisis: Crisis, manager, rng: random.Random, now) -> None:
    """The surge of the first hours (on by volume, then off), and contacts served without an agent."""
    on, off = now - timedelta(hours=18), now - timedelta(hours=9)
    surge, _created = Surge.objects.get_or_create(scope="all")
    Surge.objects.filter(pk=surge.pk).update(is_on=False, since=off, last_count=14, evaluated_at=now)
    for action, at, count in (("surge_on", on, 73), ("surge_off", off, 18)):
        CrisisAudit.objects.create(
            crisis_id=crisis.pk,
            action=action,
            detail={
                "scope": "all",
                "count": count,
                "on_at": surge.on_at,
                "off_at": surge.off_at,
                "forced": None,
            },
            at=at,
        )
    kinds = [
        (DeflectionKind.IVR_SMS, "voice", 46),
        (DeflectionKind.HELP_ANSWER, "sms", 31),
        (DeflectionKind.BANNER_LINK, "web", 58),
        (DeflectionKind.DIRECTORY_LINK, "web", 22),
    ]
    Deflection.objects.bulk_create(
        [
            Deflection(
                crisis=crisis, kind=kind, channel=channel, at=on + timedelta(minutes=rng.randint(0, 18 * 60))
            )
            for kind, channel, n in kinds
            for _ in range(n)
        ]
    )

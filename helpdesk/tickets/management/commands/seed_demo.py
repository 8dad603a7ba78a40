"""Build the demo help desk: agents, queues, an active flood crisis, multilingual customers and tickets.

Idempotent: users, teams, queues, the crisis and macros are fetched or created by name, and every
demo ticket starts with an inbound message whose provider id is fixed ("demo", "ticket-<n>"),
so a second run finds it and skips that ticket's whole conversation.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from channels_app.base import InboundMessage
from helpdesk.accounts.models import AgentProfile, Role, Skill, Team
from helpdesk.accounts.services import create_agent
from helpdesk.crisis.models import Crisis, CrisisStatus
from helpdesk.customers.models import ContactKind
from helpdesk.customers.services import add_contact_point
from helpdesk.errors import ApplicationError
from helpdesk.tickets import services, sla
from helpdesk.tickets.models import Macro, Priority, Queue, Ticket, TicketStatus, TimelineEvent

DEMO_PASSWORD = "tourniquet-demo"  # noqa: S105 - the published demo login
PROVIDER = "demo"
CRISIS_TITLE = "River flood — Riverside district"
FLOOD_LINE = "+15005550006"

CRISIS_TEXTS = {
    "en": {
        "summary": "The river burst its banks overnight. Homes and shops in the Riverside district are "
        "flooded and several branches are closed.",
        "what_to_do": "Cards of customers in the district are not blocked for unusual spending. "
        "Text FLOOD to our line for a call back; fees for emergency cash are waived.",
    },
    "fa": {
        "summary": "رودخانه شب گذشته طغیان کرد. خانه‌ها و مغازه‌های محله ریورساید زیر آب رفته "
        "و چند شعبه بسته است.",
        "what_to_do": "کارت مشتریان این محله به خاطر خرید غیرعادی مسدود نمی‌شود. "
        "برای تماس تلفنی کلمه FLOOD را به شماره ما پیامک کنید؛ کارمزد برداشت اضطراری حذف شده است.",
    },
    "km": {
        "summary": "ទន្លេបានហៀរលើច្រាំងកាលពីយប់មិញ។ ផ្ទះ និងហាងនៅសង្កាត់ Riverside លិចទឹក ហើយសាខាមួយចំនួនបិទ។",
        "what_to_do": "កាតរបស់អតិថិជននៅក្នុងសង្កាត់នេះនឹងមិនត្រូវបានបិទទេ។ សូមផ្ញើសារ FLOOD មកលេខរបស់យើង "
        "ដើម្បីឱ្យយើងទូរស័ព្ទត្រឡប់មកវិញ។",
    },
    "kn": {
        "summary": "ನಿನ್ನೆ ರಾತ್ರಿ ನದಿ ಉಕ್ಕಿ ಹರಿಯಿತು. ರಿವರ್‌ಸೈಡ್ ಪ್ರದೇಶದ ಮನೆಗಳು ಮತ್ತು ಅಂಗಡಿಗಳು ಜಲಾವೃತವಾಗಿವೆ, ಕೆಲವು ಶಾಖೆಗಳು ಮುಚ್ಚಿವೆ.",
        "what_to_do": "ಈ ಪ್ರದೇಶದ ಗ್ರಾಹಕರ ಕಾರ್ಡ್‌ಗಳನ್ನು ಅಸಾಮಾನ್ಯ ಖರ್ಚಿಗಾಗಿ ತಡೆಯಲಾಗುವುದಿಲ್ಲ. ಮರಳಿ ಕರೆಗಾಗಿ "
        "FLOOD ಎಂದು ನಮ್ಮ ಸಂಖ್ಯೆಗೆ ಸಂದೇಶ ಕಳುಹಿಸಿ.",
    },
}

MACROS = {
    "en": [
        (
            "Card unfrozen",
            "Hello {{ customer.name }}, we are sorry for the trouble. Your card is unfrozen and works "
            "again within 10 minutes. Emergency cash fees are waived during the flood.",
        ),
        (
            "Flight rebooked",
            "Hello {{ customer.name }}, your flight is rebooked at no cost. The new ticket is on its way "
            "by email; reply here if the date does not suit you.",
        ),
        (
            "We are on it",
            "Hello {{ customer.name }}, we have your case (#{{ ticket.id }}) and a person is working on "
            "it now. We will write again within the hour.",
        ),
        (
            "Crisis update",
            "Hello {{ customer.name }}, here is what we know: {{ crisis.what_happened }} "
            "What to do: {{ crisis.what_to_do }}",
        ),
    ],
    "fa": [
        (
            "کارت از حالت مسدود خارج شد",
            "سلام {{ customer.name }}، بابت مشکل پیش‌آمده متأسفیم. کارت شما فعال شد و تا ۱۰ دقیقه دیگر کار "
            "می‌کند. کارمزد برداشت اضطراری در مدت سیلاب حذف شده است.",
        ),
        (
            "پیگیری پرونده",
            "سلام {{ customer.name }}، پرونده شما (#{{ ticket.id }}) ثبت شد و همکار ما همین حالا روی آن کار "
            "می‌کند. تا یک ساعت دیگر خبر می‌دهیم.",
        ),
        (
            "Crisis update",
            "سلام {{ customer.name }}، آنچه می‌دانیم: {{ crisis.what_happened }} "
            "چه باید کرد: {{ crisis.what_to_do }}",
        ),
    ],
    "km": [
        (
            "កាតអាចប្រើបានវិញ",
            "សួស្តី {{ customer.name }} យើងសុំទោសចំពោះបញ្ហានេះ។ កាតរបស់អ្នកអាចប្រើបានវិញក្នុងរយៈពេល ១០ នាទី។",
        ),
        (
            "យើងកំពុងដោះស្រាយ",
            "សួស្តី {{ customer.name }} យើងបានទទួលករណីរបស់អ្នក (#{{ ticket.id }}) ហើយកំពុងដោះស្រាយ។",
        ),
        (
            "Crisis update",
            "សួស្តី {{ customer.name }}, អ្វីដែលយើងដឹង៖ {{ crisis.what_happened }} "
            "អ្វីដែលត្រូវធ្វើ៖ {{ crisis.what_to_do }}",
        ),
    ],
    "kn": [
        (
            "ಕಾರ್ಡ್ ಮತ್ತೆ ಸಕ್ರಿಯ",
            "ನಮಸ್ಕಾರ {{ customer.name }}, ತೊಂದರೆಗಾಗಿ ಕ್ಷಮಿಸಿ. ನಿಮ್ಮ ಕಾರ್ಡ್ ಮತ್ತೆ ಸಕ್ರಿಯವಾಗಿದೆ, 10 ನಿಮಿಷಗಳಲ್ಲಿ ಕೆಲಸ ಮಾಡುತ್ತದೆ.",
        ),
        (
            "ನಾವು ಕೆಲಸ ಮಾಡುತ್ತಿದ್ದೇವೆ",
            "ನಮಸ್ಕಾರ {{ customer.name }}, ನಿಮ್ಮ ಪ್ರಕರಣ (#{{ ticket.id }}) ನಮಗೆ ತಲುಪಿದೆ, ಈಗಲೇ ಅದರ ಮೇಲೆ ಕೆಲಸ ಮಾಡುತ್ತಿದ್ದೇವೆ.",
        ),
        (
            "Crisis update",
            "ನಮಸ್ಕಾರ {{ customer.name }}, ನಮಗೆ ತಿಳಿದಿರುವುದು: {{ crisis.what_happened }} "
            "ಮಾಡಬೇಕಾದುದು: {{ crisis.what_to_do }}",
        ),
    ],
}

# (name, language, phone, email): phones are E.164 in each language's usual country.
CUSTOMERS = [
    ("Alice Morgan", "en", "+14155550123", "alice.morgan@example.com"),
    ("Ben Okafor", "en", "+14155550147", "ben.okafor@example.com"),
    ("Chloe Martin", "en", "+447700900123", "chloe.martin@example.org"),
    ("Daniel Rossi", "en", "+14155550188", ""),
    ("Emma Lindqvist", "en", "", "emma.lindqvist@example.net"),
    ("Frank Nguyen", "en", "+12125550161", "frank.nguyen@example.com"),
    ("Grace Adeyemi", "en", "+447700900456", ""),
    ("Henry Walker", "en", "", "henry.walker@example.com"),
    ("Isla Fraser", "en", "+447700900789", "isla.fraser@example.co.uk"),
    ("Jack Thompson", "en", "+12125550199", ""),
    ("Karen Patel", "en", "", "karen.patel@example.com"),
    ("Liam O'Connor", "en", "+353851234567", "liam.oconnor@example.ie"),
    ("Maya Cohen", "en", "+14155550111", ""),
    ("Noah Fischer", "en", "", "noah.fischer@example.de"),
    ("مریم احمدی", "fa", "+989121234567", "maryam.ahmadi@example.com"),
    ("علی رضایی", "fa", "+989351112233", ""),
    ("سارا کریمی", "fa", "+989123334455", "sara.karimi@example.com"),
    ("رضا حسینی", "fa", "+989194445566", ""),
    ("نگار موسوی", "fa", "", "negar.mousavi@example.com"),
    ("حسین جعفری", "fa", "+989125556677", ""),
    ("زهرا محمدی", "fa", "+989366667788", "zahra.mohammadi@example.com"),
    ("امیر نوری", "fa", "+989127778899", ""),
    ("شیرین صادقی", "fa", "", "shirin.sadeghi@example.com"),
    ("کاوه بهرامی", "fa", "+989128889900", ""),
    ("لیلا قاسمی", "fa", "+989129990011", "leila.ghasemi@example.com"),
    ("پرویز اکبری", "fa", "+989120001122", ""),
    ("សុខា ចាន់", "km", "+85512345678", ""),
    ("ដារ៉ា ហេង", "km", "+85517234567", "dara.heng@example.com"),
    ("ចាន់ធា លី", "km", "+85592345678", ""),
    ("សុភាព គឹម", "km", "+85512456789", ""),
    ("វិចិត្រ សុខ", "km", "", "vichet.sok@example.com"),
    ("ស្រីនាង ម៉ៅ", "km", "+85517567890", ""),
    ("បុប្ផា ឈឹម", "km", "+85512678901", "bopha.chhim@example.com"),
    ("រតនា ពៅ", "km", "+85592789012", ""),
    ("សុវណ្ណ ទេព", "km", "+85512890123", ""),
    ("មករា អ៊ុំ", "km", "", "makara.um@example.com"),
    ("ಅನನ್ಯ ಗೌಡ", "kn", "+919845012345", ""),
    ("ರಾಹುಲ್ ಹೆಗಡೆ", "kn", "+919880123456", "rahul.hegde@example.in"),
    ("ಕಾವ್ಯ ರಾವ್", "kn", "+919741234567", ""),
    ("ಸುರೇಶ್ ಶೆಟ್ಟಿ", "kn", "+919900234567", ""),
    ("ದೀಪಾ ನಾಯಕ್", "kn", "", "deepa.nayak@example.in"),
    ("ಮಂಜುನಾಥ್ ಭಟ್", "kn", "+919845345678", ""),
    ("ಶ್ವೇತಾ ಕುಲಕರ್ಣಿ", "kn", "+919886456789", "shweta.k@example.in"),
    ("ಪ್ರಕಾಶ್ ಜೋಶಿ", "kn", "+919743567890", ""),
    ("ಲಕ್ಷ್ಮಿ ಪಾಟೀಲ್", "kn", "", "lakshmi.patil@example.in"),
    ("ವಿನಯ್ ಕಾಮತ್", "kn", "+919902678901", ""),
    ("Sophie Dubois", "en", "+33612345678", "sophie.dubois@example.fr"),
    ("Tomás Silva", "en", "+351912345678", ""),
    ("Yuki Tanaka", "en", "", "yuki.tanaka@example.jp"),
    ("Zara Ahmed", "en", "+447700900999", "zara.ahmed@example.com"),
]


@dataclass(frozen=True)
class Scenario:
    subject: str
    messages: tuple[str, ...]  # what the customer says, in order
    replies: tuple[str, ...]  # what the agent answers after each message
    note: str = ""
    flood: bool = False
    priority: int = Priority.NORMAL


SCENARIOS = {
    "en": [
        Scenario(
            "Card frozen after the flood",
            (
                "Our street flooded last night and my card was declined at the pharmacy. I need "
                "medicine for my son today.",
                "Still declined at the supermarket. Please hurry.",
            ),
            (
                "I am sorry. I have unfrozen your card and waived the emergency cash fee. Try again in "
                "10 minutes.",
                "It is active now. If it fails once more, call the flood line and quote this ticket.",
            ),
            note="Riverside resident; fraud rule tripped on pharmacy spend. Rule paused for the district.",
            flood=True,
            priority=Priority.URGENT,
        ),
        Scenario(
            "Flight grounded — need to get home",
            (
                "All flights are grounded because of the storm. I am stuck at the airport with two "
                "children. Can you rebook us for tomorrow?",
            ),
            ("You are rebooked on tomorrow's 09:40 flight at no cost. A hotel voucher is in your email.",),
            note="Rebooked 3 pax; hotel voucher issued under storm policy.",
            priority=Priority.HIGH,
        ),
        Scenario(
            "Water in the basement — insurance claim",
            (
                "The basement is under half a metre of water and the power is off. How do I start a "
                "claim? I have photos.",
            ),
            (
                "Your claim is open. Send the photos as a reply here; an adjuster will call you within "
                "48 hours. Keep receipts for pumps and drying.",
            ),
            flood=True,
            priority=Priority.HIGH,
        ),
        Scenario(
            "Branch closed, cannot withdraw cash",
            ("The Riverside branch is closed and the ATM is under water. Where can I get cash?",),
            (
                "The mobile branch is at the Community Hall on Hill Road from 8 am to 8 pm, and the "
                "fee for withdrawals at other banks is waived this week.",
            ),
            flood=True,
        ),
        Scenario(
            "Refund for cancelled hotel",
            ("The hotel cancelled my booking because of the evacuation. When do I get my money back?",),
            ("Refunds for evacuation cancellations go out within 5 working days to the original card.",),
            priority=Priority.LOW,
        ),
    ],
    "fa": [
        Scenario(
            "کارت بانکی پس از سیلاب مسدود شد",
            (
                "دیشب سیلاب خیابان ما را گرفت و کارتم در داروخانه رد شد. امروز برای پسرم دارو لازم دارم.",
                "هنوز کار نمی‌کند. لطفاً عجله کنید.",
            ),
            (
                "متأسفیم. کارت شما از حالت مسدود خارج شد و کارمزد برداشت اضطراری حذف شد. "
                "ده دقیقه دیگر دوباره امتحان کنید.",
                "کارت الان فعال است. اگر باز مشکل داشتید با خط سیلاب تماس بگیرید.",
            ),
            note="ساکن محله ریورساید؛ قانون تقلب برای این محله موقتاً غیرفعال شد.",
            flood=True,
            priority=Priority.URGENT,
        ),
        Scenario(
            "پرواز لغو شد، تغییر بلیت",
            ("همه پروازها به خاطر طوفان لغو شده‌اند. با دو بچه در فرودگاه مانده‌ام. برای فردا جا دارید؟",),
            ("بلیت شما بدون هزینه برای پرواز فردا ساعت ۹:۴۰ تغییر کرد. کوپن هتل به ایمیل شما ارسال شد.",),
            priority=Priority.HIGH,
        ),
        Scenario(
            "خانه آب گرفته است",
            ("زیرزمین نیم متر آب گرفته و برق قطع است. برای خسارت بیمه چه کنم؟",),
            ("پرونده خسارت باز شد. عکس‌ها را همین‌جا بفرستید؛ کارشناس تا ۴۸ ساعت با شما تماس می‌گیرد.",),
            flood=True,
            priority=Priority.HIGH,
        ),
    ],
    "km": [
        Scenario(
            "កាតធនាគារត្រូវបានបង្កក",
            ("យប់មិញទឹកជំនន់លិចផ្លូវរបស់យើង ហើយកាតរបស់ខ្ញុំមិនដំណើរការនៅឱសថស្ថានទេ។ សូមជួយផង។",),
            ("យើងសុំទោស។ កាតរបស់អ្នកអាចប្រើបានវិញក្នុងរយៈពេល ១០ នាទី ហើយយើងលើកលែងថ្លៃដកប្រាក់បន្ទាន់។",),
            note="អតិថិជននៅសង្កាត់ Riverside ។",
            flood=True,
            priority=Priority.URGENT,
        ),
        Scenario(
            "ជើងហោះហើរត្រូវបានលុបចោល",
            ("ជើងហោះហើរទាំងអស់ត្រូវបានផ្អាកដោយសារព្យុះ។ ខ្ញុំជាប់នៅអាកាសយានដ្ឋាន។ តើអាចប្តូរទៅថ្ងៃស្អែកបានទេ?",),
            ("ជើងហោះហើររបស់អ្នកត្រូវបានកក់ឡើងវិញសម្រាប់ថ្ងៃស្អែកដោយឥតគិតថ្លៃ។",),
            priority=Priority.HIGH,
        ),
        Scenario(
            "មិនអាចដកប្រាក់បាន",
            ("សាខានៅ Riverside បិទ ហើយម៉ាស៊ីន ATM លិចទឹក។ តើខ្ញុំអាចដកប្រាក់នៅឯណា?",),
            ("សាខាចល័តនៅសាលសហគមន៍ ផ្លូវ Hill ពីម៉ោង ៨ ព្រឹក ដល់ ៨ យប់។",),
            flood=True,
        ),
    ],
    "kn": [
        Scenario(
            "ಪ್ರವಾಹದ ನಂತರ ಕಾರ್ಡ್ ಸ್ಥಗಿತಗೊಂಡಿದೆ",
            ("ನಿನ್ನೆ ರಾತ್ರಿ ಪ್ರವಾಹ ನಮ್ಮ ಬೀದಿಗೆ ನುಗ್ಗಿತು, ಔಷಧಾಲಯದಲ್ಲಿ ನನ್ನ ಕಾರ್ಡ್ ತಿರಸ್ಕರಿಸಲಾಯಿತು. ದಯವಿಟ್ಟು ಸಹಾಯ ಮಾಡಿ.",),
            ("ಕ್ಷಮಿಸಿ. ನಿಮ್ಮ ಕಾರ್ಡ್ ಮತ್ತೆ ಸಕ್ರಿಯವಾಗಿದೆ, ತುರ್ತು ನಗದು ಶುಲ್ಕ ಮನ್ನಾ ಮಾಡಲಾಗಿದೆ.",),
            note="ರಿವರ್‌ಸೈಡ್ ನಿವಾಸಿ; ವಂಚನೆ ನಿಯಮ ತಾತ್ಕಾಲಿಕವಾಗಿ ನಿಲ್ಲಿಸಲಾಗಿದೆ.",
            flood=True,
            priority=Priority.URGENT,
        ),
        Scenario(
            "ವಿಮಾನ ರದ್ದಾಗಿದೆ, ಮರುಬುಕ್ ಮಾಡಬೇಕು",
            ("ಬಿರುಗಾಳಿಯಿಂದ ಎಲ್ಲಾ ವಿಮಾನಗಳು ರದ್ದಾಗಿವೆ. ನಾನು ವಿಮಾನ ನಿಲ್ದಾಣದಲ್ಲಿ ಸಿಲುಕಿದ್ದೇನೆ. ನಾಳೆಗೆ ಬದಲಿಸಬಹುದೇ?",),
            ("ನಿಮ್ಮ ಪ್ರಯಾಣವನ್ನು ನಾಳೆಯ ವಿಮಾನಕ್ಕೆ ಉಚಿತವಾಗಿ ಮರುಬುಕ್ ಮಾಡಲಾಗಿದೆ.",),
            priority=Priority.HIGH,
        ),
        Scenario(
            "ಮನೆಗೆ ನೀರು ನುಗ್ಗಿದೆ",
            ("ನೆಲಮಾಳಿಗೆಯಲ್ಲಿ ಅರ್ಧ ಮೀಟರ್ ನೀರು ಇದೆ, ವಿದ್ಯುತ್ ಇಲ್ಲ. ವಿಮೆ ಕ್ಲೈಮ್ ಹೇಗೆ ಮಾಡುವುದು?",),
            ("ನಿಮ್ಮ ಕ್ಲೈಮ್ ತೆರೆಯಲಾಗಿದೆ. ಫೋಟೋಗಳನ್ನು ಇಲ್ಲಿ ಕಳುಹಿಸಿ; 48 ಗಂಟೆಗಳಲ್ಲಿ ಕರೆ ಮಾಡುತ್ತೇವೆ.",),
            flood=True,
        ),
    ],
}

# Rotated over the tickets: the channel the customer first wrote on.
CHANNEL_CYCLE = ("sms", "email", "sms", "web", "voice", "chat", "sms", "email")
TICKET_COUNT = 60


class Command(BaseCommand):
    help = "Create the demo data (idempotent): agents, queues, a flood crisis, customers, tickets, macros."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--force",
            action="store_true",
            help="Seed even with DEBUG off (a staging copy): creates logins with the published password.",
        )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG and not options["force"]:
            raise CommandError(
                "seed_demo creates the logins agent, manager and admin with the published password "
                f"{DEMO_PASSWORD!r}: it runs only with DJANGO_DEBUG=1 (or --force on a staging copy)."
            )
        # Each reply goes through the outbox and the console gateway; one line per ticket is enough.
        for name in ("celery", "channels_app"):
            logging.getLogger(name).setLevel(logging.WARNING)
        agents = self._staff()
        queues = self._queues()
        crisis = self._crisis()
        self._macros()
        from triage.services import seed_stop_the_bleeding

        seed_stop_the_bleeding()  # the "Stop the bleeding" flow with its playbooks and links
        created = 0
        for number in range(TICKET_COUNT):
            if self._ticket(number, agents=agents, queues=queues, crisis=crisis):
                created += 1
        services.recount_queue_counters()
        from helpdesk.crisis.demo import seed_crisis_story

        # Two statement versions, the crisis's directory, its banner, a finished broadcast, surge stats.
        manager = next(user for user in agents if user.get_username() == "manager")
        seed_crisis_story(crisis=crisis, manager=manager)
        from helpdesk.feedback.demo import seed_feedback_story

        # Weeks of survey answers, a recovery case under way, a coupon pool, the demo reviews.
        seed_feedback_story(manager=manager)
        from helpdesk.staffing.demo import seed_staffing_story

        # Eight weeks of past volumes, tomorrow's roster, the reports' rollups.
        seed_staffing_story(agents=agents)
        from helpdesk.portal.demo import seed_self_service

        seed_self_service()  # freeze a card, rebook a flight: the portal's actions on the fake backends
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_demo: {created} new tickets ({Ticket.objects.count()} in all). "
                f"Log in as agent / {DEMO_PASSWORD} (also manager, admin)."
            )
        )

    # --- people and structure ------------------------------------------------------------

    def _staff(self) -> list:
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("Front line", "Cards", "Travel")}
        skills = {
            name: Skill.objects.get_or_create(name=name)[0]
            for name in ("Persian", "Khmer", "Kannada", "Cards", "Travel", "Flood response")
        }
        people = [
            ("agent", Role.AGENT, "Ava", "Reyes", "Front line", ["en", "fa"], ["Persian", "Flood response"]),
            ("manager", Role.MANAGER, "Sam", "Okoye", "Front line", ["en"], ["Flood response"]),
            ("admin", Role.ADMIN, "Robin", "Chen", None, ["en"], []),
            ("sokha", Role.AGENT, "Sokha", "Chea", "Cards", ["km", "en"], ["Khmer", "Cards"]),
            ("kavya", Role.AGENT, "Kavya", "Rao", "Travel", ["kn", "en"], ["Kannada", "Travel"]),
        ]
        users: list = []
        user_model = get_user_model()
        for username, role, first, last, team, languages, skill_names in people:
            user: Any = user_model.objects.filter(username=username).first()
            if user is None:
                user = create_agent(
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    email=f"{username}@tourniquet.example",
                    first_name=first,
                    last_name=last,
                    team=teams[team] if team else None,
                    languages=languages,
                )
            profile = AgentProfile.objects.filter(user=user).first()
            if profile is not None:
                profile.skills.add(*[skills[s] for s in skill_names])
            users.append(user)
        return users

    def _queues(self) -> dict[str, Queue]:
        specs = [
            ("general", "General", "", True, 24 * 60),
            ("flood-line", "Flood line", FLOOD_LINE, False, 4 * 60),
            ("billing", "Billing", "", False, 48 * 60),
        ]
        queues = {}
        for slug, name, address, default, sla_minutes in specs:
            queues[slug], _created = Queue.objects.get_or_create(
                slug=slug,
                defaults={
                    "name": name,
                    "inbound_address": address,
                    "is_default": default,
                    "sla_minutes": sla_minutes,
                },
            )
        return queues

    def _crisis(self) -> Crisis:
        crisis, _created = Crisis.objects.get_or_create(
            title=CRISIS_TITLE,
            defaults={
                "severity": 4,
                "status": CrisisStatus.ACTIVE,
                # Homes are under water: its broadcasts go out at any hour, past quiet hours.
                "is_emergency": True,
                "starts_at": timezone.now() - timedelta(hours=20),
                "affected_segment": "Riverside district",
                "texts": CRISIS_TEXTS,
            },
        )
        return crisis

    def _macros(self) -> None:
        for language, macros in MACROS.items():
            for title, body in macros:
                Macro.objects.get_or_create(title=title, language=language, defaults={"body": body})

    # --- tickets -------------------------------------------------------------------------

    def _ticket(self, number: int, *, agents: list, queues: dict[str, Queue], crisis: Crisis) -> bool:
        """Create demo ticket `number` with its conversation; False when it already exists."""
        if TimelineEvent.objects.filter(provider=PROVIDER, provider_id=f"ticket-{number}").exists():
            return False
        name, language, phone, email = CUSTOMERS[number % len(CUSTOMERS)]
        scenarios = SCENARIOS[language]
        scenario = scenarios[(number // len(CUSTOMERS) + number) % len(scenarios)]
        channel = CHANNEL_CYCLE[number % len(CHANNEL_CYCLE)]
        # Use the contact the customer has for that channel; fall back to the other one.
        if channel in ("sms", "voice") and not phone:
            channel = "email"
        if channel in ("email", "web") and not email:
            channel = "sms"
        agent = agents[number % len(agents)] if language == "en" else self._agent_for(language, agents)
        # Minutes before the conversation's end: the crisis is hours old; solved work is older.
        idle = (number * 37) % 240 + (24 * 60 if number % 4 == 0 else 5)

        with transaction.atomic():
            for turn, text in enumerate(scenario.messages):
                received = self._inbound(
                    number=number,
                    turn=turn,
                    channel=channel,
                    name=name,
                    language=language,
                    phone=phone,
                    email=email,
                    subject=scenario.subject,
                    body=text,
                    flood=scenario.flood,
                )
                ticket = received.ticket
                if turn == 0:
                    self._extra_contact(ticket, phone=phone, email=email)
                    services.update_ticket(
                        ticket=ticket,
                        actor=agent,
                        priority=scenario.priority,
                        crisis=crisis if scenario.flood else None,
                        assignee=agent if number % 5 else None,
                    )
                    ticket.refresh_from_db()
                if turn == 0 and scenario.note:
                    services.add_note(ticket=ticket, author=agent, body=scenario.note)
                # Leave some of the newest tickets unanswered: the queue has fresh work.
                if turn < len(scenario.replies) and number % 6 != 5:
                    services.send_reply(
                        ticket=ticket,
                        author=agent,
                        body=scenario.replies[turn],
                        channel=self._reply_channel(ticket, phone=phone),
                    )
            if number % 4 == 0 and number % 6 != 5:
                services.update_ticket(ticket=ticket, actor=agent, status=TicketStatus.SOLVED)
        # After the commit, so the replies have been handed to their gateways (eager in the demo).
        self._settle(ticket.pk, idle_minutes=idle, number=number)
        return True

    def _reply_channel(self, ticket: Ticket, *, phone: str) -> str:
        """The customer's channel when something can send on it, else SMS or email."""
        channel = services.reply_channel_for(ticket)
        if channel in settings.CHANNEL_GATEWAYS:
            return channel
        return "sms" if phone else "email"

    def _agent_for(self, language: str, agents: list):
        for agent in agents:
            profile = AgentProfile.objects.filter(user=agent).first()
            if profile and language in profile.languages:
                return agent
        return agents[0]

    def _inbound(self, *, number, turn, channel, name, language, phone, email, subject, body, flood):
        if channel in ("sms", "voice"):
            kind, sender = ContactKind.PHONE, phone
        elif channel == "chat":
            kind, sender = ContactKind.CHAT, f"chat-{number:04d}"
        else:
            kind, sender = ContactKind.EMAIL, email
        message = InboundMessage(
            channel=channel,
            sender_kind=kind,
            sender=sender,
            sender_name=name,
            language=language,
            subject=subject if channel in ("email", "web") else "",
            body=body,
            kind="voicemail" if channel == "voice" else "message",
            provider=PROVIDER,
            provider_id=f"ticket-{number}" if turn == 0 else f"ticket-{number}-{turn}",
            recipient=FLOOD_LINE if flood and channel in ("sms", "voice") else "",
            new_ticket=turn == 0,
            payload={"duration": 42} if channel == "voice" else {},
            sender_proven=True,  # the demo's customers have written from these points before
        )
        result = services.record_inbound(message=message)
        event = result.event
        if turn == 0 and channel not in ("email", "web") and event.ticket.subject != subject:
            Ticket.objects.filter(pk=event.ticket_id).update(subject=subject)
        return event

    def _extra_contact(self, ticket: Ticket, *, phone: str, email: str) -> None:
        for kind, value in ((ContactKind.PHONE, phone), (ContactKind.EMAIL, email)):
            if value:
                # A value that belongs to another demo customer is skipped; the demo keeps going.
                with contextlib.suppress(ApplicationError):
                    add_contact_point(customer=ticket.customer, kind=kind, value=value, verified=True)

    def _settle(self, ticket_id: int, *, idle_minutes: int, number: int) -> None:
        """Spread the conversation over the past hours and give replies realistic delivery states."""
        events = list(TimelineEvent.objects.filter(ticket_id=ticket_id).order_by("id"))
        span = 7 * len(events) + len(events) ** 2
        began = timezone.now() - timedelta(minutes=span + idle_minutes)
        for step, event in enumerate(events):
            at = began + timedelta(minutes=7 * step + step * step)
            changes: dict = {"created_at": at}
            # What the console printed stays "printed": it never left, so it was never delivered.
            if event.direction == "out" and event.delivery_status not in ("blocked", "printed", ""):
                # One in nine replies failed at the carrier, so the demo shows a failure too.
                failed = (number + step) % 9 == 0
                changes["delivery_status"] = "failed" if failed else "delivered"
                if failed:
                    changes["delivery_error"] = "30003: Unreachable destination handset"
            TimelineEvent.objects.filter(pk=event.pk).update(**changes)
        last = began + timedelta(minutes=span)
        first_reply = next((e for e in events if e.direction == "out"), None)
        ticket = Ticket.objects.select_related("queue").get(pk=ticket_id)
        ticket.created_at = began
        ticket.first_response_at = began + timedelta(minutes=7) if first_reply else None
        sla.apply_due_times(ticket)  # answered in 7 minutes: met, sorted by its resolution target
        Ticket.objects.filter(pk=ticket_id).update(
            created_at=began,
            sla_due_at=ticket.sla_due_at,
            first_response_due_at=ticket.first_response_due_at,
            resolution_due_at=ticket.resolution_due_at,
            last_activity_at=last,
            first_response_at=ticket.first_response_at,
        )

"""`make demo` runs on SQLite with eager tasks: the inbound path must work there too."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import django
django.setup()
from channels_app import inbox
from channels_app.base import InboundMessage
from helpdesk.tickets.models import TimelineEvent
message = InboundMessage(channel="sms", sender_kind="phone", sender="+14155550177", body="sqlite",
                         provider="twilio", provider_id="SM" + "1" * 32)
assert inbox.accept(message) is True
assert inbox.accept(message) is False
assert TimelineEvent.objects.filter(body="sqlite").count() == 1
print("ok")
"""


def test_an_inbound_message_is_recorded_on_the_demo_database(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "CELERY_TASK_ALWAYS_EAGER": "1",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
        "PYTHONPATH": str(ROOT),
        "LOG_LEVEL": "WARNING",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")

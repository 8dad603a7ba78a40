"""`make demo` runs on SQLite with eager tasks: the inbound path must work there too."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = """
import django
django.setup()
from helpdesk.messaging import inbox
from channels_app.base import InboundMessage
from helpdesk.tickets.models import TimelineEvent
message = InboundMessage(channel="sms", sender_kind="phone", sender="+14155550177", body="sqlite",
                         provider="twilio", provider_id="SM" + "1" * 32, sender_proven=True)
assert inbox.accept(message) is True
assert inbox.accept(message) is False
assert TimelineEvent.objects.filter(body="sqlite").count() == 1
print("ok")
"""


def _run_on_a_fresh_demo_database(tmp_path, script: str) -> None:
    """Migrate a new SQLite file as `make demo` does, then run the script against it; it ends "ok"."""
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
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")


def test_an_inbound_message_is_recorded_on_the_demo_database(tmp_path):
    _run_on_a_fresh_demo_database(tmp_path, SCRIPT)


SEARCH_SCRIPT = """
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from helpdesk.accounts.models import Role
from helpdesk.accounts.services import create_agent
from helpdesk.customers.models import Customer
from helpdesk.tickets import selectors
from helpdesk.tickets.models import Queue, Ticket, TimelineEvent
agent = create_agent(username="demo-search", password="not-a-secret-123", role=Role.AGENT)
customer = Customer.objects.create(name="مريم")
queue = Queue.objects.create(name="Q", slug="q")
now = timezone.now()
ticket = Ticket.objects.create(
    customer=customer, subject="كارت", queue=queue, sla_due_at=now, last_activity_at=now
)
TimelineEvent.objects.bulk_create(
    TimelineEvent(ticket=ticket, customer=customer, channel="sms", direction="in",
                  body=f"كارت من کار نمی‌کند ۹۱۲ {i}", created_at=now - timedelta(seconds=i))
    for i in range(120)
)
for sort in ("relevance", "newest", "oldest"):
    seen, after = [], ""
    while True:
        page = selectors.search_page(
            user=agent, q="کارت من کار نمیکند 912", sort=sort, after=after, page_size=50
        )
        seen += [e.pk for e in page.results]
        after = page.next_cursor
        if not after:
            break
    assert len(set(seen)) == len(seen) == 120, (sort, len(seen))
assert page.count.value == 120 and page.count.exact
assert [t.pk for t in selectors.search_page(user=agent, q="کارت", kind="tickets").results] == [ticket.pk]
assert [c.pk for c in selectors.search_page(user=agent, q="مریم", kind="customers").results] == [customer.pk]
print("ok")
"""


def test_search_pages_and_normalizes_on_the_demo_database(tmp_path):
    """The demo's SQLite has no trigram index: the same normalized LIKE, ranking and keyset work."""
    _run_on_a_fresh_demo_database(tmp_path, SEARCH_SCRIPT)


def _accepts(port: int) -> bool:
    import socket

    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_ctrl_c_stops_the_demo_and_its_fake_twilio(tmp_path):
    """`make demo` in a terminal: Ctrl-C must stop the server and the sidecars it started (a fake
    Twilio left running would hold its port, and the next `make demo` could not start one)."""
    import pty
    import select
    import time

    from tests.fixtures.processes import free_port

    web, twilio = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    pid, fd = pty.fork()
    if pid == 0:  # the child: make in a terminal of its own, as a newcomer runs it
        os.chdir(ROOT)
        os.execvpe("make", ["make", "demo", f"DEMO_PORT={web}", f"DEMO_TWILIO_PORT={twilio}"], env)
    output = b""

    def read_for(seconds: float) -> None:
        nonlocal output
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    return

    try:
        deadline = time.monotonic() + 120
        while not (_accepts(web) and _accepts(twilio)):
            assert time.monotonic() < deadline, output.decode(errors="replace")[-2000:]
            read_for(0.5)
        os.write(fd, b"\x03")  # Ctrl-C
        deadline = time.monotonic() + 15
        while _accepts(web) or _accepts(twilio):
            assert time.monotonic() < deadline, "still serving after Ctrl-C: " + str(
                (_accepts(web), _accepts(twilio))
            )
            read_for(0.2)
        read_for(0.5)
        after_ctrl_c = output.split(b"^C")[-1]  # the terminal echoes Ctrl-C as ^C
        assert b"Error" not in after_ctrl_c and b"Segmentation" not in output, after_ctrl_c
    finally:
        with contextlib.suppress(ProcessLookupError, ChildProcessError):
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        os.close(fd)

"""Agent replies drained through the outbox by a real Celery worker to the fake Twilio: messages/s.

    python -m bench.sms_outbound [--messages 2000] [--concurrency 2]

Fresh PostgreSQL database (see bench/_sms.py), the fake Twilio on SMS_BENCH_FAKE_PORT (8142), one
`celery worker -Q outbound -P prefork -c 2`. N replies are committed in one transaction (one outbox row
each, one relay task each after commit); the clock runs from the commit to the last outbox row sent.
The same run first drains N replies through the console gateway (no network) as the baseline, so the
ratio shows what the real Twilio SDK + HTTP round trip costs per message.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench import _sms

FAKE_PORT = int(os.environ.get("SMS_BENCH_FAKE_PORT", "8142"))
PUBLIC = "http://127.0.0.1:8143"  # status callbacks are turned off: nothing listens here


def drain(env: dict[str, str], n: int, concurrency: int, tag: str) -> float:
    from django.db import transaction

    from helpdesk.messaging.models import Outbox, OutboxStatus
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services import send_message

    cmd = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "helpdesk",
        "worker",
        "-Q",
        "outbound,default",
        "-P",
        "prefork",
    ]
    cmd += [
        "-c",
        str(concurrency),
        "-n",
        f"sms-bench-{tag}@%h",
        "-l",
        "warning",
        "--without-mingle",
        "--without-gossip",
    ]
    worker = _sms.start(cmd, env)
    try:
        time.sleep(6)  # worker boot
        tickets = list(Ticket.objects.select_related("customer").order_by("pk")[:200])
        points = {t.pk: t.customer.contact_points.first() for t in tickets}
        before = Outbox.objects.filter(status=OutboxStatus.SENT).count()
        t0 = time.perf_counter()
        with transaction.atomic():
            for i in range(n):
                ticket = tickets[i % len(tickets)]
                send_message(
                    ticket=ticket,
                    channel="sms",
                    body=f"Reply {tag} {i}: stay where you are.",
                    contact_point=points[ticket.pk],
                )
        deadline = time.monotonic() + 600
        while Outbox.objects.filter(status=OutboxStatus.SENT).count() - before < n:
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit(f"{tag}: outbox not drained")
            time.sleep(0.05)
        return time.perf_counter() - t0
    finally:
        _sms.stop(worker)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    db_url = _sms.database_url()
    fake = f"http://127.0.0.1:{FAKE_PORT}"
    console = _sms.child_env(
        db_url, public_url=PUBLIC, sms_gateway="channels_app.console.gateway.ConsoleGateway"
    )
    twilio = _sms.child_env(
        db_url, public_url=PUBLIC, sms_gateway="channels_app.sms.gateway.TwilioGateway", api_base=fake
    )
    _sms.fresh_database(db_url)
    _sms.purge(console["REDIS_URL"])
    _sms.setup_django(console)

    from helpdesk.customers.services import resolve_customer
    from helpdesk.tickets.services import create_ticket

    for i in range(200):
        customer = resolve_customer(kind="phone", value=f"+1415{8000000 + i:07d}").customer
        create_ticket(customer=customer, subject="bench", channel="sms")

    fake_proc = _sms.start([sys.executable, "manage.py", "fake_twilio", "--port", str(FAKE_PORT)], twilio)
    try:
        _sms.wait_http(fake + "/_fake/stats")
        import httpx

        httpx.post(fake + "/_fake/config", json={"callbacks": False})
        base_s = drain(console, args.messages, args.concurrency, "console")
        real_s = drain(twilio, args.messages, args.concurrency, "twilio")
        received = httpx.get(fake + "/_fake/stats").json()["messages"]
    finally:
        _sms.stop(fake_proc)
        _sms.purge(console["REDIS_URL"])

    n = args.messages
    print(f"console gateway (baseline): {n / base_s:7.0f} msg/s  ({base_s:.2f} s for {n})")
    print(
        f"Twilio SDK → fake Twilio  : {n / real_s:7.0f} msg/s  ({real_s:.2f} s for {n});"
        f" fake received {received}"
    )
    print(f"ratio twilio/console      : {base_s / real_s:.2f}")
    if received != n:
        raise SystemExit(f"the fake received {received} messages, expected {n}")


if __name__ == "__main__":
    main()

"""The manager's broadcast page updates live (htmx polling) while a real worker dispatches."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.db import connection

from helpdesk.accounts.models import Role
from helpdesk.crisis import services
from helpdesk.customers.models import ContactKind, ContactPoint, Customer
from tests.crisis import gateways, workers
from tests.factories import UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(settings, tmp_path):
    from helpdesk.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    workers.purge_queues(django_settings.REDIS_URL)
    gateways.reset()
    s = connection.settings_dict
    env = workers.worker_env(
        database_url=f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}",
        redis_url=django_settings.REDIS_URL,
        gateway="tests.crisis.gateways.RecordingGateway",
    )
    proc = workers.start_worker(env, name="e2e-progress", log=tmp_path / "worker.log")
    yield proc
    workers.stop(proc)
    workers.purge_queues(django_settings.REDIS_URL)
    gateways.reset()


def test_progress_updates_live_without_reload(page, live_server, worker, screenshot):
    manager = UserFactory(username="boss", role=Role.MANAGER)
    crisis = services.create_crisis(title="Network outage", severity=4)
    services.activate_crisis(crisis=crisis)
    customers = Customer.objects.bulk_create([Customer(tags=["north"]) for _ in range(240)])
    ContactPoint.objects.bulk_create(
        [
            ContactPoint(customer=c, kind=ContactKind.PHONE, value=f"+1415{i:07d}", verified=True)
            for i, c in enumerate(customers)
        ]
    )
    ContactPoint.objects.filter(value="+14150000000").update(opted_out_at="2026-01-01T00:00Z")
    broadcast = services.create_broadcast(
        name="Outage notice",
        crisis=crisis,
        bodies={"en": "Calls are down in the north. Text HELP for options."},
        audience={"tags": ["north"]},
        rate_per_second=30,  # slow enough to watch: about 8 s
        created_by=manager,
    )
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/manage/crisis/broadcasts/{broadcast.pk}/")
    assert page.locator("[data-preview=recipients]").inner_text() == "239"
    page.evaluate("window.__sameDocument = true")  # lost if the page reloads

    page.get_by_role("button", name="Send").click()
    sent = page.locator("[data-count=sent]")
    page.wait_for_function(
        "() => +document.querySelector('[data-count=sent]').textContent > 30", timeout=30_000
    )
    first = int(sent.inner_text())
    page.wait_for_function(
        f"() => +document.querySelector('[data-count=sent]').textContent > {first + 20}", timeout=15_000
    )
    assert page.locator("[data-count=opted_out]").inner_text() == "1"
    assert page.locator("[role=progressbar]").get_attribute("aria-valuenow") not in ("0", None)
    screenshot(page, "broadcast_progress")
    page.wait_for_function(
        "() => document.querySelector('[data-status]').dataset.status === 'completed'", timeout=30_000
    )
    assert sent.inner_text() == "239"
    assert page.evaluate("window.__sameDocument") is True
    assert len(gateways.sent()) == 239

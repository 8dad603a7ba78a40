"""The beat task: thin, it reminds, expires and ends opted-out runs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.customers.models import ContactPoint
from triage import services, tasks
from triage.models import RunStatus

pytestmark = pytest.mark.django_db


def test_beat_task_reminds_once_and_ends_runs_of_opted_out_phones(small_flow, phone, settings):
    settings.TRIAGE_REMIND_AFTER_MINUTES = 1
    run = services.start_run(
        flow=small_flow, customer=phone.customer, now=timezone.now() - timedelta(minutes=5)
    )
    assert tasks.remind_and_expire_runs() == {"opted_out": 0, "reminded": 1, "expired": 0}
    assert tasks.remind_and_expire_runs()["reminded"] == 0
    # An opt-out recorded without the hook (e.g. a bulk import) is still caught by the sweep.
    ContactPoint.objects.filter(pk=phone.pk).update(opted_out_at=timezone.now())
    assert tasks.remind_and_expire_runs()["opted_out"] == 1
    run.refresh_from_db()
    assert run.status == RunStatus.OPTED_OUT

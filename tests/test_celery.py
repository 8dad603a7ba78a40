"""Worker tasks treat database connections as Django treats requests: kept while young and usable,
closed when older than CONN_MAX_AGE; eager tasks (inside a request or a test) leave them alone."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from celery.signals import task_postrun, task_prerun
from django.db import connection

pytestmark = pytest.mark.django_db(transaction=True)


class FakeTask:
    def __init__(self, eager: bool) -> None:
        self.request = SimpleNamespace(is_eager=eager)


def run_task_signals(eager: bool = False) -> None:
    task = FakeTask(eager)
    task_prerun.send(sender=task, task_id="t", task=task, args=(), kwargs={})
    task_postrun.send(sender=task, task_id="t", task=task, args=(), kwargs={}, retval=None, state="SUCCESS")


@pytest.fixture
def young_connection():
    before = connection.settings_dict["CONN_MAX_AGE"]
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = 60
    connection.ensure_connection()
    yield connection.connection
    connection.settings_dict["CONN_MAX_AGE"] = before
    connection.close()


def test_celerys_own_django_fixup_leaves_the_connection_open(young_connection):
    """What a worker runs around each task besides our handler (celery.fixups.django)."""
    from celery.fixups.django import DjangoWorkerFixup

    from helpdesk.celery import app

    fixup = DjangoWorkerFixup(app)
    task = FakeTask(eager=False)
    fixup.on_task_prerun(task)
    fixup.on_task_postrun(task)
    assert connection.connection is young_connection


def test_a_young_connection_survives_tasks(young_connection):
    run_task_signals()
    run_task_signals()
    assert connection.connection is young_connection


def test_a_connection_past_its_age_is_closed_around_a_task(young_connection):
    connection.close_at = time.monotonic() - 1
    run_task_signals()
    assert connection.connection is None or connection.connection is not young_connection


def test_an_eager_task_leaves_the_connection_alone(young_connection):
    connection.close_at = time.monotonic() - 1
    run_task_signals(eager=True)
    assert connection.connection is young_connection

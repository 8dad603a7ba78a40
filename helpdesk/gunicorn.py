"""Production HTTP server settings: `gunicorn -c python:helpdesk.gunicorn` (make run, compose, benches).

gthread WSGI workers keep one database connection per thread (bench/README.md: ASGI pages were 2x
slower). One worker per core plus one: a thread waiting on PostgreSQL or Redis releases the GIL, and
the spare process keeps both cores busy when one process's threads all wait. 8 threads each: in a
surge most webhook threads wait for their group commit (helpdesk/messaging/groupcommit.py), and more of
them in flight make bigger batches; bench.sms_inbound measured webhook/bare ratios of 0.58-0.66
with 8 threads against 0.48-0.54 with 4, the bare view unchanged. Each thread keeps one database
connection: (cores + 1) x 8 per web host. WEB_CONCURRENCY and WEB_THREADS override.
"""

import os

wsgi_app = "helpdesk.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("WEB_THREADS") or 8)


def post_worker_init(worker) -> None:
    """Wake the inbox drain once as each worker starts. It picks up rows a previous deployment left
    waiting, and it loads Celery's publishing path (broker connection, transport, task messages)
    now: done lazily by the first webhook, that cost 0.1 s with the GIL held, and under a surge
    stalled every thread of the process for up to a second (bench.sms_inbound)."""
    import logging

    from helpdesk.messaging import tasks

    try:
        tasks.drain_inbox.delay()
    except Exception:  # noqa: BLE001 - the broker is down: serve anyway; the beat sweep recovers
        logging.getLogger(__name__).warning("inbox drain not woken at worker start", exc_info=True)

"""Production HTTP server settings: `gunicorn -c python:helpdesk.gunicorn` (make run, compose, benches).

gthread WSGI workers keep one database connection per thread (bench/README.md: ASGI pages were 2x
slower). One worker per core plus one: a thread waiting on PostgreSQL or Redis releases the GIL, and
the spare process keeps both cores busy when one process's threads all wait. WEB_CONCURRENCY and
WEB_THREADS override.
"""

import os

wsgi_app = "helpdesk.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) + 1)
threads = int(os.environ.get("WEB_THREADS") or 4)

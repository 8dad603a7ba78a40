"""Shared setup for the SMS benches: a fresh PostgreSQL database, child env, process helpers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
AUTH_TOKEN = "sms-bench-token-000000000000000000"
ACCOUNT_SID = "AC" + "5" * 32
OUR_NUMBER = "+15005550006"
GATEWAYS = (
    "web=channels_app.console.gateway.ConsoleGateway,email=channels_app.console.gateway.ConsoleGateway,sms="
)


def database_url(name: str = "sms") -> str:
    """A bench's own database: <NAME>_BENCH_DATABASE_URL, else tourniquet_<name>_bench next to
    DATABASE_URL (each bench starts from a fresh one)."""
    explicit = os.environ.get(f"{name.upper()}_BENCH_DATABASE_URL")
    if explicit:
        return explicit
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tourniquet")
    return base.rsplit("/", 1)[0] + f"/tourniquet_{name}_bench"


def child_env(db_url: str, *, public_url: str, sms_gateway: str, api_base: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=db_url,
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4"),
        CELERY_TASK_ALWAYS_EAGER="false",
        TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_FROM=OUR_NUMBER,
        TWILIO_API_BASE=api_base,
        PUBLIC_BASE_URL=public_url,
        DJANGO_DEBUG="false",
        DEMO_GATEWAYS_ENABLED="1",  # the console gateway stands in for providers here
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        CHANNEL_GATEWAYS=GATEWAYS + sms_gateway,
        CHANNEL_LAYER_REDIS="false",
        LOG_LEVEL="WARNING",
        # Under ASGI each request runs in its own thread: persistent connections would pile up.
        # (bench.sms_inbound --wsgi sets it back: sync workers keep one connection each.)
        DATABASE_CONN_MAX_AGE="0",
        PYTHONPATH=str(ROOT),
        PYTHONUNBUFFERED="1",
    )
    return env


def recreate_database(db_url: str) -> None:
    """Drop (even with sessions open) and create the bench's own database."""
    import psycopg2

    server, name = db_url.rsplit("/", 1)
    conn = psycopg2.connect(server + "/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
        cur.execute("CREATE DATABASE " + name)
    conn.close()


def fresh_database(db_url: str) -> None:
    recreate_database(db_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(ROOT)},
        check=True,
    )


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)


def celery_command(name: str, queues: str, concurrency: int) -> list[str]:
    """A Celery worker as docker-compose.yml runs one: its queues, its pool size, no gossip."""
    return [
        str(Path(sys.executable).parent / "celery"), "-A", "helpdesk", "worker", "-Q", queues,
        "-c", str(concurrency), "--loglevel", "WARNING", "-n", f"{name}@%h", "--without-gossip",
        "--without-mingle",
    ]  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up")


def purge(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    for queue in ("inbound", "outbound", "broadcast", "triage", "default", "celery"):
        client.delete(queue)
    client.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

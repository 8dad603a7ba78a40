"""Start and stop real Celery worker processes for broadcast tests and the bench."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def worker_env(*, database_url: str, redis_url: str, gateway: str, extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "CHANNEL_GATEWAYS": (
                "web=channels_app.console.gateway.ConsoleGateway,"
                f"sms={gateway},email=channels_app.console.gateway.ConsoleGateway"
            ),
            "CHANNEL_LAYER_REDIS": "false",
            "DEMO_GATEWAYS_ENABLED": "1",
            "PYTHONPATH": str(ROOT),
            # Workers plan broadcasts whatever the hour the suite runs (quiet hours are tested apart).
            "BROADCAST_QUIET_HOURS": "",
        }
    )
    env.update(extra or {})
    return env


def start_worker(
    env: dict, *, name: str, concurrency: int = 1, log: Path | None = None, queues: str = "broadcast,default"
) -> subprocess.Popen:
    """Start a worker on the broadcast queue in its own process group (so kill -9 takes its children)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the process
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "helpdesk",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-n",
            f"{name}@%h",
            "-l",
            os.environ.get("CRISIS_WORKER_LOGLEVEL", "warning"),
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc


def start_sweep_worker(env: dict, *, name: str, log: Path | None = None) -> subprocess.Popen:
    """The worker of the sweep queue, as production runs it: one process no dispatch can occupy."""
    return start_worker(env, name=name, log=log, queues="sweep")


def start_beat(env: dict, *, schedule: Path, log: Path | None = None) -> subprocess.Popen:
    """Celery beat with production's schedule (the broadcast sweep every 2 s)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - lives as long as the process
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "helpdesk", "beat", "-l", "warning", "-s", str(schedule)],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(redis_client, *, seconds: float = 20.0) -> None:
    """Give the worker time to boot (it connects to the broker, then consumes)."""
    time.sleep(min(seconds, 4.0))


def kill_hard(proc: subprocess.Popen) -> None:
    """kill -9 the worker and its pool children: a crash, not a shutdown."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            kill_hard(proc)


def purge_queues(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    client.delete("broadcast", "default", "sweep", "unacked", "unacked_index")

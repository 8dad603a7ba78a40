"""The production settings pass Django's deployment checks with no warning at all."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def production_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="help.example.org",
        DJANGO_SECURE_COOKIES="1",
        DJANGO_SECURE_SSL_REDIRECT="1",
        DJANGO_HSTS_SECONDS="31536000",
        DJANGO_HSTS_INCLUDE_SUBDOMAINS="1",
        DJANGO_HSTS_PRELOAD="1",
        DJANGO_BEHIND_PROXY="1",
        DJANGO_TRUSTED_PROXIES="10.0.0.5",
        TWILIO_AUTH_TOKEN=secrets.token_hex(16),
        CACHE_URL="rediscache://127.0.0.1:6379/1",
        # An empty database of its own: a developer's seeded database has the demo logins.
        DATABASE_URL="sqlite:///" + str(Path(tempfile.mkdtemp()) / "check.sqlite3"),
        # Only channels something really sends on (see test_a_channel_without_a_gateway_is_a_warning).
        CHANNELS="channels_app.sms.spec.SMS,channels_app.voice.spec.VOICE",
        CHANNEL_GATEWAYS="sms=channels_app.sms.gateway.TwilioGateway",
    )
    return env


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run_check(production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stderr and "WARNING" not in result.stdout


def test_check_deploy_fails_with_demo_settings():
    # The check can fail: with the insecure demo defaults it must complain.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env["DJANGO_DEBUG"] = "1"
    result = run_check(env)
    assert result.returncode != 0
    assert "security.W" in result.stdout + result.stderr


SHIPPED = {
    "the settings' default SECRET_KEY": ({"DJANGO_SECRET_KEY": None}, "tourniquet.E001"),
    ".env.example's SECRET_KEY": (
        {"DJANGO_SECRET_KEY": "change-me-to-at-least-fifty-random-characters-before-production"},
        "tourniquet.E001",
    ),
    "a placeholder SECRET_KEY": (
        {"DJANGO_SECRET_KEY": "x" * 20 + "-insecure-" + "y" * 40},
        "tourniquet.E001",
    ),
    "the demo Twilio token": ({"TWILIO_AUTH_TOKEN": None}, "tourniquet.E002"),
    "the phone simulator": ({"DEMO_PHONE_ENABLED": "1"}, "tourniquet.E003"),
    "the console gateways": ({"DEMO_GATEWAYS_ENABLED": "1"}, "tourniquet.E004"),
    "a local-memory cache": ({"CACHE_URL": "locmemcache://tourniquet"}, "tourniquet.E005"),
}


@pytest.mark.parametrize("change", SHIPPED.values(), ids=SHIPPED.keys())
def test_check_deploy_fails_for_each_shipped_secret_and_demo_switch(change):
    overrides, check_id = change
    env = production_env()
    for key, value in overrides.items():
        if value is None:
            env.pop(key)
        else:
            env[key] = value
    result = run_check(env)
    assert result.returncode != 0
    assert check_id in result.stdout + result.stderr


def test_behind_a_proxy_without_naming_it_is_a_start_up_error():
    env = production_env()
    env.pop("DJANGO_TRUSTED_PROXIES")
    result = run_check(env)
    assert result.returncode != 0
    assert "DJANGO_BEHIND_PROXY=1 needs DJANGO_TRUSTED_PROXIES" in result.stderr


@pytest.mark.django_db
def test_accounts_with_the_demo_password_fail_the_deploy_check(settings):
    from helpdesk.accounts.checks import DEMO_PASSWORD, check_demo_switches
    from tests.factories import UserFactory

    settings.DEBUG = False
    settings.DEMO_GATEWAYS_ENABLED = False
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    user = UserFactory(username="admin")
    user.set_password(DEMO_PASSWORD)
    user.save()
    UserFactory(username="boss", is_superuser=True).set_password("a-real-password-of-hers")
    [error] = check_demo_switches()
    assert error.id == "tourniquet.E006" and "admin" in error.msg and "boss" not in error.msg
    user.set_password("something-else-entirely")
    user.save()
    assert check_demo_switches() == []


def test_a_channel_without_a_gateway_is_a_warning():
    env = production_env()
    env.pop("CHANNELS")
    env["CHANNEL_GATEWAYS"] = (
        "sms=channels_app.sms.gateway.TwilioGateway,email=channels_app.console.gateway.ConsoleGateway"
    )
    result = run_check(env)
    assert result.returncode != 0
    out = result.stdout + result.stderr
    assert "messaging.W001" in out
    assert "Channel 'email' has only the demo's console gateway" in out
    assert "Channel 'chat' has no gateway" in out
    assert "Channel 'sms'" not in out


def test_env_example_documents_every_setting_read_from_the_environment():
    settings_source = (ROOT / "helpdesk" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z0-9_]+)"', settings_source))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read, "no env() reads found: the pattern is stale"
    assert read - documented == set(), "add these to .env.example"


def test_env_example_values_have_no_inline_comments():
    # env files do not strip "# ..." after a value: it would become part of the setting.
    for line in (ROOT / ".env.example").read_text().splitlines():
        if re.match(r"^[A-Z0-9_]+=", line):
            assert " #" not in line, line


def test_compose_file_has_every_service_with_healthchecks():
    # No container engine in CI: check the structure `docker compose config` relies on.
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    workers = ("worker", "worker-inbound", "worker-sweep")
    assert set(services) == {"web", "ws", *workers, "beat", "postgres", "redis"}
    for name in ("web", "ws", *workers, "beat"):
        assert services[name]["build"] == "."
        assert services[name]["env_file"] == ".env"
    # HTTP on WSGI threads (persistent DB connections), websockets on the ASGI app.
    assert "gunicorn -c python:helpdesk.gunicorn" in services["web"]["command"]
    assert "helpdesk.asgi:application" in services["ws"]["command"]
    # Every queue tasks are routed to has a worker; inbound has its own (a surge never delays replies).
    from django.conf import settings

    def queues(service: str) -> set[str]:
        return set(services[service]["command"].split(" -Q ")[1].split()[0].split(","))

    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {"default"}
    assert set().union(*(queues(w) for w in workers)) == routed
    # Inbound and the sweeps each have their own: a surge or a long dispatch never delays them.
    assert queues("worker-inbound") == {"inbound"} and "inbound" not in queues("worker")
    assert queues("worker-sweep") == {"sweep"} and "sweep" not in queues("worker")
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", *workers, "postgres", "redis"):
        assert services[name]["healthcheck"]["test"]
    assert (ROOT / "Dockerfile").read_text().startswith("# Tourniquet")


def test_compose_config_accepts_the_file_when_a_compose_client_is_installed(tmp_path):
    import shutil
    import subprocess

    client = shutil.which("docker-compose")
    if client is None:
        pytest.skip("no docker-compose client on this machine (the structure test above still runs)")
    env_file = ROOT / ".env"
    created = not env_file.exists()
    if created:
        env_file.write_text((ROOT / ".env.example").read_text())
    try:
        result = subprocess.run([client, "config", "-q"], cwd=ROOT, capture_output=True, text=True)
    finally:
        if created:
            env_file.unlink()
    assert result.returncode == 0, result.stderr


def test_production_http_server_is_gthread_wsgi_through_the_lean_webhook_door(monkeypatch):
    """helpdesk/gunicorn.py (make run, compose, benches): WSGI threads, one worker per core plus one."""
    import importlib

    from helpdesk import gunicorn as conf
    from helpdesk import wsgi
    from helpdesk.messaging.door import FastDoor

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("WEB_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    conf = importlib.reload(conf)
    assert (conf.wsgi_app, conf.worker_class, conf.workers, conf.threads) == (
        "helpdesk.wsgi:application",
        "gthread",
        3,
        8,
    )
    monkeypatch.setenv("WEB_CONCURRENCY", "8")
    monkeypatch.setenv("WEB_THREADS", "2")
    assert (importlib.reload(conf).workers, conf.threads) == (8, 2)
    assert isinstance(wsgi.application, FastDoor)


def test_each_web_worker_wakes_the_inbox_drain_at_start(monkeypatch):
    from helpdesk import gunicorn as conf
    from helpdesk.messaging import tasks

    published = []
    monkeypatch.setattr(tasks.drain_inbox, "delay", lambda: published.append(1))
    conf.post_worker_init(worker=None)
    assert published == [1]

    def broker_down():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(tasks.drain_inbox, "delay", broker_down)
    conf.post_worker_init(worker=None)  # logs, does not stop the worker


def _pins(lock: str) -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9_.-]+)==(\S+)", lock, re.MULTILINE | re.IGNORECASE))


# A lock holds comments, pins and their hashes, nothing else: no option line (an index or a
# local folder to install from) and no requirement given as a path or URL.
LOCK_LINE = re.compile(
    r"^(|#.*|[A-Za-z0-9_.-]+==[A-Za-z0-9_.+!-]+ \\|    --hash=sha256:[0-9a-f]{64}( \\)?|    #.*)$"
)


def _assert_only_pins_and_hashes(lock: str) -> None:
    strays = [line for line in lock.splitlines() if not LOCK_LINE.match(line)]
    assert strays == [], strays[:5]


def test_the_images_lock_pins_the_same_versions_with_hashes():
    prod = (ROOT / "requirements-prod.lock").read_text()
    full = _pins((ROOT / "requirements.lock").read_text())
    _assert_only_pins_and_hashes(prod)
    for name, version in _pins(prod).items():
        assert full.get(name) == version, f"{name}: {version} in the image, {full.get(name)} in tests"
    body = "\n".join(line for line in prod.splitlines() if not line.startswith("#"))
    for entry in re.split(r"\n(?=[a-z0-9])", body.strip(), flags=re.IGNORECASE):
        assert "--hash=sha256:" in entry, entry.split(" ", 1)[0]
    assert "--require-hashes -r requirements-prod.lock" in (ROOT / "Dockerfile").read_text()


def test_every_dependency_is_locked_with_hashes_and_no_index_or_local_path():
    import tomllib

    lock = (ROOT / "requirements.lock").read_text()
    _assert_only_pins_and_hashes(lock)
    body = "\n".join(line for line in lock.splitlines() if not line.startswith("#"))
    entries = re.split(r"\n(?=[a-z0-9])", body.strip(), flags=re.IGNORECASE)
    pinned = {}
    for entry in entries:
        name, _sep, version = entry.split(" ", 1)[0].partition("==")
        assert version, entry[:80]
        assert "--hash=sha256:" in entry, name
        pinned[name.lower().replace("_", "-")] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["dev"]
    for requirement in wanted:
        name = re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        assert name in pinned, f"{name} is in pyproject.toml but not in requirements.lock: run make lock"
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements.lock" in makefile

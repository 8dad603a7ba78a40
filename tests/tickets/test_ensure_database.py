"""`manage.py ensure_database` creates a missing PostgreSQL database and leaves an existing one."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.django_db


def test_creates_a_missing_database_once():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    s = connection.settings_dict
    name = f"tourniquet_ensure_{uuid.uuid4().hex[:8]}"
    url = f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{name}"
    env = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "manage.py", "ensure_database"]
    try:
        first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        assert f"created {name}" in first.stdout
        again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        assert again.returncode == 0, again.stderr
        assert "created" not in again.stdout
    finally:
        admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()

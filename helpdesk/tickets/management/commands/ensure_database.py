"""Create the PostgreSQL database named in DATABASE_URL when it does not exist yet."""

from __future__ import annotations

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from psycopg2 import sql


class Command(BaseCommand):
    help = "Create the configured PostgreSQL database if it is missing (a fresh machine has none)."

    def handle(self, *args, **options) -> None:
        db = settings.DATABASES["default"]
        if "postgresql" not in db["ENGINE"]:
            self.stdout.write("ensure_database: not PostgreSQL, nothing to do")
            return
        params = {
            "dbname": "postgres",
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
        }
        try:
            conn = psycopg2.connect(**{k: v for k, v in params.items() if v})
        except psycopg2.OperationalError as exc:
            raise CommandError(f"cannot reach PostgreSQL: {exc}") from exc
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
                if cursor.fetchone():
                    return
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
                self.stdout.write(f"ensure_database: created {db['NAME']}")
        finally:
            conn.close()

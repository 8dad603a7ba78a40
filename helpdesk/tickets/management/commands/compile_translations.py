"""Compile every django.po into django.mo with polib, so a fresh machine needs no msgfmt."""

from __future__ import annotations

from pathlib import Path

import polib
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand


def _ours(path: Path, base: Path) -> bool:
    path = path.resolve()
    return path.is_relative_to(base) and "site-packages" not in path.parts


def locale_dirs() -> list[Path]:
    """Return the project's LOCALE_PATHS and the locale directories of our own apps."""
    base = Path(settings.BASE_DIR).resolve()
    dirs = [Path(p) for p in settings.LOCALE_PATHS]
    # Third-party apps ship compiled catalogues; only ours live in the source tree.
    dirs += [Path(a.path) / "locale" for a in apps.get_app_configs() if _ours(Path(a.path), base)]
    return [d for d in dirs if d.is_dir()]


class Command(BaseCommand):
    help = "Compile locale/*/LC_MESSAGES/*.po to .mo (pure Python; .mo files are not committed)."

    def handle(self, *args, **options):
        compiled = 0
        for directory in locale_dirs():
            for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
                po = polib.pofile(str(po_path))
                # Fuzzy entries are guesses; msgfmt leaves them out and so do we.
                for entry in po.fuzzy_entries():
                    po.remove(entry)
                po.save_as_mofile(str(po_path.with_suffix(".mo")))
                compiled += 1
        self.stdout.write(f"compiled {compiled} catalogue(s)")

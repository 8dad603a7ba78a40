"""Fill locale/<lang>/LC_MESSAGES/django.po from locale/translations.txt.

Run after `manage.py makemessages`: every msgid found in translations.txt gets its msgstr,
the fuzzy flag is dropped (each line of translations.txt was written and checked by hand),
obsolete entries are removed, and msgids still missing a translation are listed so the next
pass can add them. Usage: python locale/fill.py [--check]
"""

import sys
from pathlib import Path

import polib

HERE = Path(__file__).resolve().parent
LANGS = ("fa", "km", "kn")
PLURAL_FORMS = {
    "fa": "nplurals=2; plural=(n > 1);",
    "km": "nplurals=1; plural=0;",
    "kn": "nplurals=2; plural=(n > 1);",
}
TEAMS = {"fa": "Persian", "km": "Khmer", "kn": "Kannada"}
# Strings Django itself shows on our pages (SLA "overdue 2 hours, 5 minutes" is `timesince`;
# form errors) that its own km/kn catalogues leave in English. makemessages never sees them
# (they are not in our sources), so they are added here; a msgstr in LOCALE_PATHS wins over
# Django's catalogue.
DJANGO_MSGIDS = [
    ("%(num)d year", "%(num)d years"),
    ("%(num)d month", "%(num)d months"),
    ("%(num)d week", "%(num)d weeks"),
    ("%(num)d day", "%(num)d days"),
    ("%(num)d hour", "%(num)d hours"),
    ("%(num)d minute", "%(num)d minutes"),
    (", ", None),
    ("Enter a valid email address.", None),
    ("Enter a valid URL.", None),
    ("Enter a whole number.", None),
    ("Enter a number.", None),
    ("Enter a valid date/time.", None),
    ("Select a valid choice. %(value)s is not one of the available choices.", None),
    (
        "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
        "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
    ),
]


def load() -> dict[str, dict[str, str]]:
    text = (HERE / "translations.txt").read_text(encoding="utf-8")
    table: dict[str, dict[str, str]] = {}
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith("# ")]
        if not lines:
            continue
        if len(lines) != 1 + len(LANGS):
            raise SystemExit(f"translations.txt: a block needs 4 lines, got {lines!r}")
        msgid, *strs = lines
        if msgid in table:
            raise SystemExit(f"translations.txt: {msgid!r} appears twice")
        table[msgid] = dict(zip(LANGS, strs, strict=True))
    return table


def fill(lang: str, table: dict[str, dict[str, str]]) -> list[str]:
    path = HERE / lang / "LC_MESSAGES" / "django.po"
    po = polib.pofile(str(path), wrapwidth=0)
    po.metadata["Plural-Forms"] = PLURAL_FORMS[lang]
    po.metadata["Language"] = lang
    po.metadata["Language-Team"] = TEAMS[lang]
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.metadata["Project-Id-Version"] = "Tourniquet"
    po.metadata["Last-Translator"] = "Tourniquet translators"
    po.metadata["PO-Revision-Date"] = po.metadata.get("POT-Creation-Date", "")
    po.metadata_is_fuzzy = False
    po.header = f"Tourniquet UI strings in {TEAMS[lang]}.\nFilled from translations.txt by fill.py."
    for entry in po.obsolete_entries():
        po.remove(entry)
    present = {entry.msgid for entry in po}
    for msgid, plural in DJANGO_MSGIDS:
        if msgid not in present:
            extra = polib.POEntry(msgid=msgid, msgid_plural=plural or "", occurrences=[("django", "")])
            if "%(" in msgid:
                extra.flags.append("python-format")
            po.append(extra)
    missing = []
    for entry in po:
        key = entry.msgid + (" || " + entry.msgid_plural if entry.msgid_plural else "")
        row = table.get(key)
        if row is None:
            # msgmerge fills a new msgid with a fuzzy guess from a similar one: not a translation.
            if "fuzzy" in entry.flags or not (entry.msgstr or any(entry.msgstr_plural.values())):
                missing.append(key)
            continue
        text = row[lang]
        if entry.msgid_plural:
            forms = [part.strip() for part in text.split(" || ")]
            n = int(PLURAL_FORMS[lang].split("nplurals=")[1].split(";")[0])
            if len(forms) != n:
                raise SystemExit(f"{lang}: {key!r} needs {n} plural forms")
            entry.msgstr_plural = dict(enumerate(forms))
        else:
            entry.msgstr = text
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
        entry.previous_msgid = None
        entry.previous_msgid_plural = None
    if "--check" not in sys.argv:
        po.save(str(path))
    return missing


def main() -> None:
    table = load()
    status = 0
    for lang in LANGS:
        missing = fill(lang, table)
        for msgid in missing:
            print(f"{lang}: untranslated {msgid!r}")
        status = status or bool(missing)
    sys.exit(status)


if __name__ == "__main__":
    main()

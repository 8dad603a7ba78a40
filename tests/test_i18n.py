"""Translations: every catalogue complete and well formed, and pages served in fa, km and kn.

The catalogue checks read the committed .po files; the page checks compile them first
(the same `compile_translations` command the install runs) so they test what is committed,
not a stale .mo left on disk.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real
from django.utils.translation.template import templatize

LOCALE = Path(settings.BASE_DIR) / "locale"
LANGS = ("fa", "km", "kn")
PLURAL_FORMS = {
    "fa": "nplurals=2; plural=(n > 1);",
    "km": "nplurals=1; plural=0;",
    "kn": "nplurals=2; plural=(n > 1);",
}
# %(name)s / %(n)d, bare %s / %d, and str.format fields {count}; "%%" is a literal percent.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def _catalogue(lang: str) -> polib.POFile:
    path = LOCALE / lang / "LC_MESSAGES" / "django.po"
    assert path.is_file(), f"missing {path.relative_to(settings.BASE_DIR)}"
    return polib.pofile(str(path))


def _forms(entry: polib.POEntry) -> list[str]:
    if entry.msgid_plural:
        return [entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural)]
    return [entry.msgstr]


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text.replace("%%", "")))


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_is_complete(lang):
    po = _catalogue(lang)
    assert len(po) > 100, "the catalogue looks empty: run makemessages"
    untranslated = [e.msgid for e in po if not e.obsolete and not all(_forms(e))]
    fuzzy = [e.msgid for e in po if "fuzzy" in e.flags]
    assert untranslated == [], f"{lang}: untranslated {untranslated}"
    assert fuzzy == [], f"{lang}: fuzzy {fuzzy}"
    assert not po.metadata_is_fuzzy, f"{lang}: the header is fuzzy"
    assert po.metadata["Plural-Forms"] == PLURAL_FORMS[lang]
    assert po.metadata["Language"] == lang


@pytest.mark.parametrize("lang", LANGS)
def test_catalogue_forms_match_plural_count(lang):
    nplurals = int(PLURAL_FORMS[lang].split("nplurals=")[1].split(";")[0])
    for entry in _catalogue(lang):
        if entry.msgid_plural:
            assert sorted(entry.msgstr_plural) == list(range(nplurals)), (lang, entry.msgid)


@pytest.mark.parametrize("lang", LANGS)
def test_placeholders_and_markup_are_kept(lang):
    problems = []
    for entry in _catalogue(lang):
        wanted = _placeholders(entry.msgid) | _placeholders(entry.msgid_plural or "")
        tags = sorted(HTML_TAG.findall(entry.msgid))
        for form in _forms(entry):
            if _placeholders(form) != wanted:
                problems.append((entry.msgid, form, "placeholders"))
            if sorted(HTML_TAG.findall(form)) != tags:
                problems.append((entry.msgid, form, "markup"))
    assert problems == []


def test_placeholder_check_can_fail():
    # Guards the regular expression above: a dropped or renamed placeholder is noticed.
    assert _placeholders("Assigned to %(name)s") != _placeholders("واگذار شد")
    assert _placeholders("%(n)s ticket") != _placeholders("%(count)s تیکت")
    assert _placeholders("{count} runs") == {"{count}"}
    assert _placeholders("100%% sure %s") == {"%s"}


@pytest.mark.parametrize("lang", LANGS)
def test_translations_are_in_their_own_script(lang):
    # A msgstr copied from English would pass the checks above; most UI strings must be in
    # the language's own script (JSON examples, "SMS" and the like may stay as they are).
    script = {"fa": r"[\u0600-\u06FF]", "km": r"[\u1780-\u17FF]", "kn": r"[\u0C80-\u0CFF]"}[lang]
    entries = list(_catalogue(lang))
    native = [e for e in entries if any(re.search(script, form) for form in _forms(e))]
    assert len(native) >= 0.95 * len(entries), [e.msgid for e in entries if e not in native]


# What makemessages scans (the Makefile's i18n target ignores the same directories).
SKIP_DIRS = {".venv", "tests", "bench", "staticfiles", "artifacts", "locale", "node_modules", ".git"}
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
TEMPLATE_CALL = re.compile(
    r"\b(n?gettext)\(u?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"(?:,\s*u?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"))?"
)


def _sources(pattern: str):
    base = Path(settings.BASE_DIR)
    for path in sorted(base.rglob(pattern)):
        if not SKIP_DIRS.intersection(path.relative_to(base).parts):
            yield path


def _marked_msgids() -> set[str]:
    """Every msgid marked in our templates and Python code, found the way makemessages finds them."""
    found: set[str] = set()
    for path in _sources("*.html"):
        code = templatize(path.read_text(encoding="utf-8"), origin=str(path))
        for _name, single, plural in TEMPLATE_CALL.findall(code):
            found.add(ast.literal_eval(single))
            if plural:
                found.add(ast.literal_eval(plural))
    for path in _sources("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in GETTEXT_NAMES:
                continue
            for arg in node.args[: 2 if name.startswith("n") else 1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.add(arg.value)
    return found


def test_every_marked_string_is_in_the_catalogues():
    marked = _marked_msgids()
    assert "Sign in to the help desk" in marked and "%(n)s tickets" in marked  # the scan works
    for lang in LANGS:
        known = set()
        for entry in _catalogue(lang):
            if not entry.obsolete:
                known.update({entry.msgid, entry.msgid_plural} - {""})
        missing = sorted(marked - known)
        assert missing == [], f"{lang}: run makemessages and translate {missing}"


@pytest.fixture
def compiled_catalogues():
    call_command("compile_translations", verbosity=0)
    # Django caches catalogues per process; drop them so the fresh .mo files are read.
    trans_real._translations = {}
    trans_real._default = None
    yield
    trans_real._translations = {}
    trans_real._default = None


PAGE_STRINGS = {
    # Title of the login page, and the nav's skip link, in each language.
    "fa": ("ورود به میز پشتیبانی", "رفتن به محتوا"),
    "km": ("ចូលទៅកាន់ផ្នែកជំនួយ", "រំលងទៅខ្លឹមសារ"),
    "kn": ("ಸಹಾಯ ಕೇಂದ್ರಕ್ಕೆ ಸೈನ್ ಇನ್ ಮಾಡಿ", "ವಿಷಯಕ್ಕೆ ನೇರವಾಗಿ ಹೋಗಿ"),
}


def _assert_page(html: str, lang: str) -> None:
    assert f'lang="{lang}"' in html
    assert ('dir="rtl"' in html) == (lang == "fa")
    assert ('dir="ltr"' in html) == (lang != "fa")
    for text in PAGE_STRINGS[lang]:
        assert text in html, f"{lang}: {text!r} not on the page"
    assert "Sign in to the help desk" not in html


@pytest.mark.django_db
def test_login_page_in_english_by_default(client, compiled_catalogues):
    html = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'lang="en"' in html and 'dir="ltr"' in html
    assert "Sign in to the help desk" in html


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_login_page_follows_accept_language(client, compiled_catalogues, lang):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE=f"{lang},en;q=0.5")
    assert response.status_code == 200
    _assert_page(response.content.decode(), lang)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_login_page_follows_language_cookie(client, compiled_catalogues, lang):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en")
    _assert_page(response.content.decode(), lang)


@pytest.mark.django_db
@pytest.mark.parametrize("lang", LANGS)
def test_set_language_switches_the_page(client, compiled_catalogues, lang):
    login = reverse("accounts:login")
    response = client.post(reverse("set_language"), {"language": lang, "next": login})
    assert response.status_code == 302
    _assert_page(client.get(login, HTTP_ACCEPT_LANGUAGE="en").content.decode(), lang)


@pytest.mark.django_db
def test_persian_plural_forms(compiled_catalogues):
    with translation.override("fa"):
        one = translation.ngettext("%(n)s ticket", "%(n)s tickets", 1) % {"n": 1}
        many = translation.ngettext("%(n)s ticket", "%(n)s tickets", 3) % {"n": 3}
    assert one == "1 تیکت" and many == "3 تیکت"
    with translation.override("kn"):
        assert translation.ngettext("%(n)s ticket", "%(n)s tickets", 3) % {"n": 3} == "3 ಟಿಕೆಟ್‌ಗಳು"


@pytest.mark.django_db
def test_language_menu_names_each_language_in_its_own_script(client):
    html = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for code, name in (("en", "English"), ("fa", "فارسی"), ("km", "ខ្មែរ"), ("kn", "ಕನ್ನಡ")):
        assert re.search(rf'<option value="{code}"[^>]*>{name}</option>', html), code


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fa", "2 ساعت، 5 دقیقه"), ("km", "2 ម៉ោង 5 នាទី"), ("kn", "2 ಗಂಟೆಗಳು, 5 ನಿಮಿಷಗಳು")],
)
def test_time_spans_are_translated(compiled_catalogues, lang, expected):
    # SLA badges say "overdue <timesince>"; Django's own km/kn catalogues leave these English.
    from datetime import datetime, timedelta

    from django.utils.timesince import timesince

    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    with translation.override(lang):
        span = timesince(now - timedelta(hours=2, minutes=5), now)
    assert span.replace("\xa0", " ") == expected

"""helpdesk.localformat: numbers and dates in the reader's digits, calendar and time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from helpdesk import localformat

NOWRUZ_1405 = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)  # 09:30 in Tehran, 1 Farvardin 1405
TEHRAN = ZoneInfo("Asia/Tehran")


def in_language(language, func, *args, **prefs):
    with translation.override(language), localformat.override(**prefs):
        return func(*args)


def test_persian_dates_are_solar_hijri_in_persian_digits():
    with timezone.override(TEHRAN):
        text = in_language("fa", localformat.format_datetime, NOWRUZ_1405)
    assert text == "۱ فروردین ۱۴۰۵، ساعت ۹:۳۰"


def test_persian_short_date_is_year_month_day_solar_hijri():
    assert in_language("fa", localformat.format_datetime, date(2026, 3, 20), "SHORT_DATE") == "۱۴۰۴/۱۲/۲۹"


def test_persian_agent_may_choose_gregorian_and_ascii_digits():
    with timezone.override(TEHRAN):
        text = in_language(
            "fa", localformat.format_datetime, NOWRUZ_1405, digits="latin", calendar="gregorian"
        )
    assert text == "21 مارس 2026، ساعت 9:30"


def test_english_is_gregorian_and_ascii_unless_chosen():
    with timezone.override(TEHRAN):
        assert in_language("en", localformat.format_datetime, NOWRUZ_1405) == "March 21, 2026, 9:30 a.m."
        solar = in_language("en", localformat.format_datetime, NOWRUZ_1405, "DATE", calendar="solar_hijri")
    assert solar == "Farvardin 1, 1405"


def test_dates_are_shown_in_the_active_time_zone():
    with timezone.override(ZoneInfo("Asia/Phnom_Penh")):
        khmer = in_language("km", localformat.format_datetime, NOWRUZ_1405, "TIME")
    with timezone.override(ZoneInfo("UTC")):
        english = in_language("en", localformat.format_datetime, NOWRUZ_1405, "TIME")
    assert khmer == "១៣:០០"  # UTC+7, Khmer digits
    assert english == "6 a.m."


def test_a_day_change_across_zones_changes_the_solar_hijri_date():
    late = datetime(2026, 3, 20, 21, 0, tzinfo=UTC)  # still 1404 in UTC, already 1405 in Tehran
    with timezone.override(ZoneInfo("UTC")):
        assert in_language("fa", localformat.format_datetime, late, "DATE") == "۲۹ اسفند ۱۴۰۴"
    with timezone.override(TEHRAN):
        assert in_language("fa", localformat.format_datetime, late, "DATE") == "۱ فروردین ۱۴۰۵"


@pytest.mark.parametrize(
    ("language", "prefs", "expected"),
    [
        ("en", {}, "1,234,567"),
        ("fa", {}, "۱٬۲۳۴٬۵۶۷"),
        ("fa", {"digits": "latin"}, "1,234,567"),
        ("km", {"digits": "latin"}, "1.234.567"),
        ("km", {}, "១.២៣៤.៥៦៧"),
        ("kn", {}, "12,34,567"),
        ("kn", {"digits": "native"}, "೧೨,೩೪,೫೬೭"),
    ],
)
def test_numbers_are_grouped_and_written_as_the_reader_expects(language, prefs, expected):
    assert in_language(language, localformat.format_number, 1234567, **prefs) == expected


def test_decimals_use_the_languages_separator():
    assert in_language("fa", localformat.format_number, 12.5, 2) == "۱۲٫۵۰"
    assert in_language("en", localformat.format_number, -1234.5, 2) == "-1,234.50"


def test_small_kannada_numbers_are_not_grouped():
    assert in_language("kn", localformat.format_number, 999) == "999"


def test_time_element_keeps_the_machine_value_ascii():
    with timezone.override(TEHRAN):
        html = in_language("fa", localformat.time_element, NOWRUZ_1405, "DATE")
    assert html == '<time datetime="2026-03-21T09:30:00+03:30">۱ فروردین ۱۴۰۵</time>'


def test_override_ends_with_its_block():
    with translation.override("fa"):
        with localformat.override(digits="latin"):
            assert localformat.localize_digits(42) == "42"
        assert localformat.localize_digits(42) == "۴۲"


def test_kannada_dates_are_day_first():
    with timezone.override(TEHRAN):
        assert in_language("kn", localformat.format_datetime, NOWRUZ_1405).startswith("21 ")
        assert in_language("kn", localformat.format_datetime, NOWRUZ_1405, "SHORT_DATETIME").startswith("21 ")

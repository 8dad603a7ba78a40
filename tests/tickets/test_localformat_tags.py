"""The localformat template filters: what the desk writes is localized, markup and machine values are not."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import timezone, translation

NOWRUZ_1405 = datetime(2026, 3, 21, 6, 0, tzinfo=UTC)


def render(source: str, language: str, **context) -> str:
    with translation.override(language), timezone.override(ZoneInfo("Asia/Tehran")):
        return Template("{% load i18n localformat %}" + source).render(Context(context))


def test_localdigits_writes_persian_digits():
    assert render("#{{ n|localdigits }}", "fa", n=1042) == "#۱۰۴۲"


def test_localdigits_writes_khmer_digits_in_khmer_and_ascii_in_kannada():
    assert render("{{ n|localdigits }}", "km", n=1042) == "១០៤២"
    assert render("{{ n|localdigits }}", "kn", n=1042) == "1042"


def test_localdigits_still_escapes_what_it_is_given():
    assert render("{{ s|localdigits }}", "fa", s="<b>1</b>") == "&lt;b&gt;۱&lt;/b&gt;"


def test_localdigits_of_zero_is_a_digit_and_of_none_is_empty():
    assert render("{{ z|localdigits }}|{{ missing|localdigits }}", "fa", z=0, missing=None) == "۰|"


def test_filter_block_localizes_a_translated_count():
    source = (
        "{% filter localdigits %}{% blocktranslate count n=n %}{{ n }} ticket{% plural %}"
        "{{ n }} tickets{% endblocktranslate %}{% endfilter %}"
    )
    html = render(source, "fa", n=12)
    assert "۱۲" in html and "12" not in html


def test_localnumber_groups_and_ignores_non_numbers():
    assert render("{{ n|localnumber }}|{{ s|localnumber }}", "fa", n=12345, s="abc") == "۱۲٬۳۴۵|"


def test_timetag_has_an_ascii_datetime_and_solar_hijri_text_in_persian():
    html = render("{{ when|timetag }}", "fa", when=NOWRUZ_1405)
    assert html == '<time datetime="2026-03-21T09:30:00+03:30">۱ فروردین ۱۴۰۵، ساعت ۹:۳۰</time>'


def test_timetag_is_gregorian_in_english():
    html = render('{{ when|timetag:"SHORT_DATE" }}', "en", when=NOWRUZ_1405)
    assert html == '<time datetime="2026-03-21T09:30:00+03:30">03/21/2026</time>'


def test_localdate_is_text_for_a_title_attribute():
    assert (
        render('<span title="{{ when|localdate:"DATE" }}">', "fa", when=NOWRUZ_1405)
        == '<span title="۱ فروردین ۱۴۰۵">'
    )


def test_unknown_format_and_missing_date_render_nothing():
    assert (
        render(
            '{{ when|timetag:"NOPE" }}{{ missing|timetag }}{{ missing|localdate }}', "fa", when=NOWRUZ_1405
        )
        == ""
    )

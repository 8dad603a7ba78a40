"""helpdesk.digits: reading every script's digits, writing the reader's."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpdesk import digits


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        (digits.LATN, "#1042 at 09:30"),
        (digits.ARABEXT, "#۱۰۴۲ at ۰۹:۳۰"),
        (digits.KHMR, "#១០៤២ at ០៩:៣០"),
        (digits.KNDA, "#೧೦೪೨ at ೦೯:೩೦"),
    ],
)
def test_write_puts_ascii_digits_in_the_system(system, expected):
    assert digits.write("#1042 at 09:30", system) == expected


def test_write_in_an_unknown_system_leaves_the_text():
    assert digits.write("1042", "roman") == "1042"


@pytest.mark.parametrize("text", ["۱۲۳", "١٢٣", "១២៣", "೧೨೩", "123"])
def test_to_ascii_reads_every_script(text):
    assert digits.to_ascii(text) == "123"


@given(st.integers(min_value=0), st.sampled_from(digits.SYSTEMS))
def test_written_digits_read_back_as_the_same_number(number, system):
    written = digits.write(str(number), system)
    assert digits.to_ascii(written) == str(number)
    assert system == digits.LATN or not any(ch in "0123456789" for ch in written)

"""One owner for consent words: each language's STOP opts the number out, in or out of a triage run."""

from __future__ import annotations

import pytest

from helpdesk.messaging.keywords import WORDS, Keyword, keyword_of
from helpdesk.tickets.models import TimelineEvent
from triage import services
from triage.models import RunStatus

pytestmark = pytest.mark.django_db

# One per language the desk speaks, as people type them (Arabic-keyboard ي, ZWNJ, punctuation).
STOPS = ["STOP", "لغو", "لغو!", "انصراف", "لغو\u200cعضويت".replace("\u200c", " "), "ឈប់", "ನಿಲ್ಲಿಸಿ"]


@pytest.mark.parametrize("word", STOPS)
def test_stop_word_outside_a_run_opts_the_number_out(phone, inbound, word):
    inbound("Is the shelter open?")
    inbound(word)
    phone.refresh_from_db()
    assert phone.opted_out_at is not None
    assert TimelineEvent.objects.filter(kind="consent", payload__action="opt_out").count() == 1


@pytest.mark.parametrize("word", STOPS)
def test_stop_word_inside_a_run_opts_out_and_ends_the_run_without_a_reprompt(
    small_flow, phone, inbound, word
):
    run = services.start_run(flow=small_flow, customer=phone.customer)
    sent = TimelineEvent.objects.filter(direction="out").count()
    inbound(word)
    phone.refresh_from_db()
    run.refresh_from_db()
    assert phone.opted_out_at is not None
    assert run.status == RunStatus.OPTED_OUT
    assert TimelineEvent.objects.filter(direction="out").count() == sent


def test_every_language_has_stop_start_and_help_words():
    scripts = {"fa": "\u0600", "km": "\u1780", "kn": "\u0c80"}
    for keyword in Keyword:
        for language, start in scripts.items():
            block = range(ord(start), ord(start) + 0x100)
            assert any(all(ord(ch) in block or ch == " " for ch in word) for word in WORDS[keyword]), (
                keyword,
                language,
            )


@pytest.mark.parametrize("text", ["please stop by the branch", "لغو پرواز من", "stopping"])
def test_a_sentence_containing_a_keyword_is_not_one(text):
    assert keyword_of(text) is None

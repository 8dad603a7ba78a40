"""Search over all history: normalization on both sides, keyset pages, counts, filters, ranking,
visibility and highlighting, through the selectors and the page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.accounts.models import AgentProfile, Role, Team
from helpdesk.crisis.models import Crisis
from helpdesk.errors import ApplicationError
from helpdesk.searchtext import highlight, normalize
from helpdesk.tickets import selectors, services
from helpdesk.tickets.models import Ticket, TimelineEvent
from helpdesk.tickets.selectors import SearchFilters
from tests.factories import (
    ContactPointFactory,
    CustomerFactory,
    QueueFactory,
    TicketFactory,
    TimelineEventFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _found(user, q: str, kind: str = "messages", **kwargs) -> list[int]:
    return [r.pk for r in selectors.search_page(user=user, q=q, kind=kind, **kwargs).results]


def _walk(user, q: str, kind: str = "messages", page_size: int = 7, **kwargs) -> list[int]:
    seen, after = [], ""
    for _ in range(10_000):
        page = selectors.search_page(user=user, q=q, kind=kind, after=after, page_size=page_size, **kwargs)
        seen += [r.pk for r in page.results]
        if not page.next_cursor:
            return seen
        after = page.next_cursor
    raise AssertionError("pagination did not end")


def _many_events(ticket: Ticket, n: int, body: str) -> list[int]:
    start = timezone.now() - timedelta(days=30)
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            ticket=ticket,
            customer_id=ticket.customer_id,
            channel="sms",
            direction="in",
            body=f"{body} {i}" if i % 3 else f"{body}",
            # Every tenth pair shares a timestamp: the keyset must neither skip nor repeat them.
            created_at=start + timedelta(seconds=i - i % 2 * (i % 10 == 1)),
        )
        for i in range(n)
    )
    return list(TimelineEvent.objects.filter(ticket=ticket).values_list("pk", flat=True))


# --- Normalization: what is stored and what is typed ---------------------------------------

CASES = [
    pytest.param("کارت بانکی من", "كارت", id="arabic-kaf-typed-finds-persian-keheh"),
    pytest.param("مريم احمدي", "مریم", id="persian-yeh-typed-finds-arabic-yeh"),
    pytest.param("مدرسة المدينة", "مدرسه", id="teh-marbuta-is-heh"),
    pytest.param("أحمد", "احمد", id="alef-hamza-above"),
    pytest.param("إيران", "ایران", id="alef-hamza-below"),
    pytest.param("آب گرفته", "اب گرفته", id="alef-madda"),
    pytest.param("کمک می‌خواهم", "میخواهم", id="zwnj-in-text-not-typed"),
    pytest.param("کمک میخواهم", "می‌خواهم", id="zwnj-typed-not-in-text"),
    pytest.param("ســلام دوست", "سلام", id="tatweel-removed"),
    pytest.param("شماره ۹۱۲۳۴۵۶۷ است", "912345", id="persian-digits-stored"),
    pytest.param("call 9123 4567", "۹۱۲۳", id="persian-digits-typed"),
    pytest.param("رقم ٩١٢٣٤", "91234", id="arabic-indic-digits"),
    pytest.param("លេខ ១២៣៤៥", "12345", id="khmer-digits"),
    pytest.param("ಸಂಖ್ಯೆ ೧೨೩೪೫", "12345", id="kannada-digits"),
    pytest.param("FLOODED Basement", "flooded basement", id="case-folded"),
    pytest.param("José Élan wrote", "jose elan", id="latin-accents"),
    pytest.param("مَدْرَسَة", "مدرسه", id="arabic-harakat"),
    pytest.param("ទឹក\u200bជំនន់", "ទឹកជំនន់", id="khmer-zero-width-space"),
    pytest.param("help   needed\nnow", "help needed now", id="whitespace-runs"),
]


@pytest.mark.parametrize("stored,typed", CASES)
def test_each_variant_finds_its_message(agent, stored, typed):
    event = TimelineEventFactory(body=stored)
    TimelineEventFactory(body="nothing to see here")
    assert _found(agent, typed) == [event.pk]


def test_subjects_and_names_are_normalized_too(agent):
    ticket = TicketFactory(subject="كارت مسدود شد")
    customer = CustomerFactory(name="مريم كريمي")
    assert _found(agent, "کارت", "tickets") == [ticket.pk]
    assert _found(agent, "مریم کریمی", "customers") == [customer.pk]


def test_a_subject_changed_by_the_service_is_searchable_by_its_new_words(agent):
    ticket = TicketFactory(subject="old words")
    services.update_ticket(ticket=ticket, subject="سیلاب در خیابان")
    assert _found(agent, "سیلاب", "tickets") == [ticket.pk]
    assert _found(agent, "old words", "tickets") == []


def test_a_queryset_update_of_the_source_refreshes_the_normalized_copy(agent):
    ticket = TicketFactory(subject="before")
    Ticket.objects.filter(pk=ticket.pk).update(subject="كارت")
    assert _found(agent, "کارت", "tickets") == [ticket.pk]


def test_phone_digits_in_any_script_and_national_format_find_the_customer(agent):
    point = ContactPointFactory(value="+989121234567")
    ContactPointFactory(value="+14155550100")
    assert _found(agent, "۰۹۱۲ ۱۲۳ ۴۵۶۷", "customers") == [point.customer_id]
    assert _found(agent, "912-123-4567", "customers") == [point.customer_id]


def test_khmer_and_kannada_vowel_signs_are_kept(agent):
    # They are letters of the word, not accents: "card" must not match a word of other letters.
    TimelineEventFactory(body="ಕರಡ")
    event = TimelineEventFactory(body="ನನ್ನ ಕಾರ್ಡ್ ಕೆಲಸ ಮಾಡಲಿಲ್ಲ")
    assert _found(agent, "ಕಾರ್ಡ್") == [event.pk]
    assert normalize("ಕಾರ್ಡ್") != normalize("ಕರಡ")


@pytest.mark.parametrize("q", [" a ", "\u200c\u200c", "ـــ", "a\u0640"])
def test_a_query_that_normalizes_to_under_two_characters_is_refused(agent, q):
    with pytest.raises(ApplicationError) as exc:
        selectors.search_page(user=agent, q=q)
    assert exc.value.code == "query_too_short"


# --- Pages and counts -----------------------------------------------------------------------


def test_every_one_of_4500_matches_is_reachable_by_paging_in_each_order(agent):
    ticket = TicketFactory()
    ids = _many_events(ticket, 4_500, "flood report")
    TimelineEventFactory(body="something else entirely")
    for sort in ("relevance", "newest", "oldest"):
        walked = _walk(agent, "flood report", page_size=250, sort=sort)
        assert len(walked) == len(set(walked)) == 4_500, sort
        assert set(walked) == set(ids), sort


def test_the_count_is_exact_up_to_the_cap(agent):
    ticket = TicketFactory()
    _many_events(ticket, 30, "water")
    page = selectors.search_page(user=agent, q="water", page_size=10)
    assert page.count is not None and (page.count.value, page.count.exact) == (30, True)
    assert page.sort == "relevance" and len(page.results) == 10 and page.next_cursor


def test_past_the_cap_the_count_is_an_estimate_and_the_pages_still_ranked(agent, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 40)
    ticket = TicketFactory()
    ids = _many_events(ticket, 120, "water")
    page = selectors.search_page(user=agent, q="water", page_size=10)
    assert page.count is not None and not page.count.exact and page.count.value > 40
    assert page.sort == "relevance" and not page.newest_instead_of_relevance
    assert sorted(_walk(agent, "water", page_size=25)) == sorted(ids)


def test_when_the_planner_expects_too_many_matches_pages_come_newest_first(agent, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_COUNT_CAP", 40)
    monkeypatch.setattr(selectors, "SEARCH_ESTIMATE_TRUSTED", 0)
    ticket = TicketFactory()
    ids = _many_events(ticket, 120, "water")
    page = selectors.search_page(user=agent, q="water", page_size=10)
    assert page.count is not None and not page.count.exact
    assert page.sort == "newest" and page.newest_instead_of_relevance
    newest = list(TimelineEvent.objects.filter(ticket=ticket).order_by("-created_at", "-id")[:10])
    assert [r.pk for r in page.results] == [e.pk for e in newest]
    assert sorted(_walk(agent, "water", page_size=25)) == sorted(ids)


def test_counts_are_given_for_every_kind(agent):
    TicketFactory(subject="flood in the street")
    TimelineEventFactory(body="flood")
    TimelineEventFactory(body="flood again")
    CustomerFactory(name="Flood Family")
    counts = selectors.search_counts(user=agent, q="flood")
    assert {k: c.value for k, c in counts.items()} == {"messages": 2, "tickets": 1, "customers": 1}
    assert all(c.exact for c in counts.values())


@pytest.mark.parametrize("cursor", ["garbage", "W10", "WyJ0aWNrZXRzIiwgIm5ld2VzdCIsIDVd", "WyJtZXNzYWdlcyJd"])
def test_a_cursor_we_did_not_hand_out_is_refused(agent, cursor):
    TimelineEventFactory(body="flood")
    with pytest.raises(ApplicationError) as exc:
        selectors.search_page(user=agent, q="flood", after=cursor)
    assert exc.value.code == "invalid_cursor"


def test_a_cursor_of_another_kind_is_refused(agent):
    for _ in range(3):
        TicketFactory(subject="flood")
    cursor = selectors.search_page(user=agent, q="flood", kind="tickets", page_size=1).next_cursor
    assert cursor
    with pytest.raises(ApplicationError):
        selectors.search_page(user=agent, q="flood", kind="messages", after=cursor)


# --- Ranking and order ----------------------------------------------------------------------


def test_relevance_puts_whole_words_and_short_messages_first(agent):
    ticket = TicketFactory()
    substring = TimelineEventFactory(ticket=ticket, body="floodgates")
    long_mention = TimelineEventFactory(
        ticket=ticket, body="We talked about many things; flood came up. " * 4
    )
    short = TimelineEventFactory(ticket=ticket, body="Flood!")  # punctuation parts words too
    exact = TimelineEventFactory(ticket=ticket, body="flood")
    ranked = _found(agent, "flood")
    assert set(ranked[:2]) == {exact.pk, short.pk}
    assert ranked[2:] == [long_mention.pk, substring.pk]


def test_newest_and_oldest_orders(agent):
    ticket = TicketFactory()
    now = timezone.now()
    events = [
        TimelineEventFactory(ticket=ticket, body=f"flood report {i}", created_at=now + timedelta(seconds=i))
        for i in range(5)
    ]
    assert _found(agent, "flood", sort="newest", page_size=3) == [e.pk for e in reversed(events)][:3]
    assert _found(agent, "flood", sort="oldest", page_size=3) == [e.pk for e in events][:3]


def test_search_covers_old_history(agent):
    old = TimelineEventFactory(body="ancient water leak", created_at=timezone.now() - timedelta(days=3650))
    assert _found(agent, "water leak") == [old.pk]


def test_khmer_substring_without_word_spaces(agent):
    event = TimelineEventFactory(body="ខ្ញុំត្រូវការជំនួយបន្ទាន់ទឹកជំនន់")
    assert _found(agent, "ជំនួយ") == [event.pk]


# --- Filters --------------------------------------------------------------------------------


def test_filters_narrow_messages_by_channel_status_queue_crisis_and_dates(agent):
    crisis = Crisis.objects.create(title="Flood", severity=3)
    queue = QueueFactory()
    match = TicketFactory(queue=queue, status="open", crisis=crisis)
    other = TicketFactory(status="solved")
    now = timezone.now()
    hit = TimelineEventFactory(
        ticket=match, channel="email", body="flood", created_at=now - timedelta(days=2)
    )
    TimelineEventFactory(ticket=match, channel="sms", body="flood", created_at=now - timedelta(days=2))
    TimelineEventFactory(ticket=match, channel="email", body="flood", created_at=now - timedelta(days=40))
    TimelineEventFactory(ticket=other, channel="email", body="flood", created_at=now - timedelta(days=2))
    today = timezone.localdate()
    assert _found(
        agent,
        "flood",
        filters=SearchFilters(
            channel="email",
            status="open",
            queue=queue.pk,
            crisis=crisis.pk,
            since=today - timedelta(days=7),
            until=today,
        ),
    ) == [hit.pk]
    assert len(_found(agent, "flood", filters=SearchFilters(status="solved"))) == 1
    assert len(_found(agent, "flood", filters=SearchFilters(since=today - timedelta(days=7)))) == 3
    assert len(_found(agent, "flood", filters=SearchFilters(until=today - timedelta(days=30)))) == 1


def test_filters_narrow_tickets(agent):
    queue = QueueFactory()
    hit = TicketFactory(subject="flood", queue=queue, channel="chat", status="pending")
    TicketFactory(subject="flood", channel="chat", status="pending")
    TicketFactory(subject="flood", queue=queue, channel="sms", status="pending")
    filters = SearchFilters(queue=queue.pk, channel="chat", status="pending")
    assert _found(agent, "flood", "tickets", filters=filters) == [hit.pk]


def test_days_at_the_calendar_edges_do_not_break_the_search(agent):
    event = TimelineEventFactory(body="flood")
    filters = SearchFilters(since=date(1, 1, 1), until=date(9999, 12, 31))
    assert _found(agent, "flood", filters=filters) == [event.pk]


# --- Visibility -----------------------------------------------------------------------------


@pytest.fixture
def teams():
    fraud, flood = Team.objects.create(name="Fraud"), Team.objects.create(name="Flood")
    theirs = TicketFactory(subject="Zebra card stolen", queue=QueueFactory(team=fraud))
    ours = TicketFactory(subject="Zebra basement", queue=QueueFactory(team=flood))
    hidden_event = TimelineEventFactory(ticket=theirs, body="Zebra fraud case")
    seen_event = TimelineEventFactory(ticket=ours, body="Zebra water")
    agent = UserFactory(username="flood-agent", role=Role.AGENT)
    AgentProfile.objects.filter(user=agent).update(team=flood)
    agent.refresh_from_db()
    return {"agent": agent, "theirs": theirs, "ours": ours, "hidden": hidden_event, "seen": seen_event}


def test_an_agent_never_finds_another_teams_tickets_or_messages(teams):
    agent = teams["agent"]
    assert _walk(agent, "zebra") == [teams["seen"].pk]
    assert _walk(agent, "zebra", "tickets") == [teams["ours"].pk]
    counts = selectors.search_counts(user=agent, q="zebra")
    assert counts["messages"].value == 1 and counts["tickets"].value == 1
    assert _found(agent, "fraud") == [] and _found(agent, "stolen", "tickets") == []


def test_a_manager_finds_every_team(teams):
    manager = UserFactory(username="boss", role=Role.MANAGER)
    assert set(_walk(manager, "zebra")) == {teams["seen"].pk, teams["hidden"].pk}


# --- Highlighting ---------------------------------------------------------------------------


def test_highlight_escapes_the_text_before_marking_the_match():
    marked = highlight('<img src=x onerror="alert(1)"> flood <b>', "FLOOD")
    assert marked == "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; <mark>flood</mark> &lt;b&gt;"


def test_highlight_marks_the_original_letters_of_a_normalized_match():
    assert highlight("کمک می‌خواهم", "میخواهم") == "کمک <mark>می‌خواهم</mark>"
    assert highlight("كارت ۹۱۲", "کارت 912") == "<mark>كارت ۹۱۲</mark>"


def test_highlight_cuts_a_window_around_the_first_match():
    marked = highlight("a" * 500 + " flood " + "b" * 500, "flood", width=100)
    assert "<mark>flood</mark>" in marked and marked.startswith("…") and marked.endswith("…")
    assert len(marked) < 140


def test_a_query_that_looks_like_markup_only_marks_escaped_text():
    # Punctuation parts words, so "<b>" looks for the word "b"; nothing of the query is markup.
    assert highlight("x <b> y", "<b>") == "x &lt;<mark>b</mark>&gt; y"


# --- The page -------------------------------------------------------------------------------


def test_the_page_shows_counts_marks_and_a_next_page(agent_client):
    ticket = TicketFactory()
    _many_events(ticket, 30, "<i>flood</i>")
    body = agent_client.get(reverse("tickets:search"), {"q": "flood"}).content.decode()
    assert "<mark>flood</mark>" in body and "&lt;i&gt;" in body and "<i>" not in body
    assert 'aria-current="page"' in body and ">30<" in body.replace("\n", "").replace(" ", "")
    assert "after=" in body


def test_load_more_answers_the_next_rows_only(agent_client):
    ticket = TicketFactory()
    ids = _many_events(ticket, 30, "flood")
    seen: list[int] = []
    url = reverse("tickets:search")
    params = {"q": "flood", "sort": "oldest"}
    first = agent_client.get(url, params).content.decode()
    seen += [pk for pk in ids if f'#event-{pk}"' in first]
    cursor = first.split("after=")[1].split('"')[0]
    more = agent_client.get(url, {**params, "kind": "messages", "after": cursor}, HTTP_HX_REQUEST="true")
    text = more.content.decode()
    assert "<html" not in text
    seen += [pk for pk in ids if f'#event-{pk}"' in text]
    assert sorted(seen) == sorted(ids)


def test_the_page_opens_the_kind_that_has_matches(agent_client):
    ticket = TicketFactory(subject="Zebra crossing")
    body = agent_client.get(reverse("tickets:search"), {"q": "zebra"}).content.decode()
    assert f'href="/tickets/{ticket.pk}/"' in body and "<mark>Zebra</mark>" in body


def test_a_bad_cursor_on_the_page_is_a_400(agent_client):
    TimelineEventFactory(body="flood")
    response = agent_client.get(reverse("tickets:search"), {"q": "flood", "after": "junk"})
    assert response.status_code == 400


@pytest.mark.parametrize("n", [10, 1000])
def test_the_page_costs_the_same_queries_for_10_and_1000_matches(
    agent_client, django_assert_max_num_queries, n
):
    ticket = TicketFactory()
    _many_events(ticket, n, "flood")
    # Session, user, profile, hidden queues; the filters' queues, agents and crises; per kind the
    # plan's estimate and the capped count; the page's keys and its rows.
    with django_assert_max_num_queries(16):
        response = agent_client.get(reverse("tickets:search"), {"q": "flood"})
    assert response.status_code == 200


def test_the_tabs_not_shown_count_exactly_only_so_far(agent, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_TAB_COUNT_CAP", 3)
    for n in range(5):
        TicketFactory(subject=f"flood {n}")
        TimelineEventFactory(body=f"flood {n}")
    counts = selectors.search_counts(user=agent, q="flood", shown="messages")
    assert (counts["messages"].value, counts["messages"].exact) == (5, True)
    assert not counts["tickets"].exact and counts["tickets"].value > 3  # "about N" on its tab
    assert selectors.search_count(user=agent, q="flood", kind="tickets").value == 5
    assert all(c.exact for c in selectors.search_counts(user=agent, q="flood").values())

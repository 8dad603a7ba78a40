"""Two agents on one ticket: the stale page's change is refused in plain sight, never applied over
the colleague's."""

from __future__ import annotations

import pytest

from helpdesk.accounts.models import Role
from helpdesk.tickets.models import Ticket, TicketStatus
from tests.factories import TicketFactory, UserFactory
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_the_second_stale_change_is_refused_with_a_visible_conflict(browser, live_server, screenshot):
    leyla = UserFactory(username="leyla", first_name="Leyla", role=Role.AGENT)
    sara = UserFactory(username="sara", first_name="Sara", role=Role.AGENT)
    ticket = TicketFactory(status=TicketStatus.OPEN, subject="Flooded basement")
    pages = []
    for user in (leyla, sara):
        context = browser.new_context(viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        login(page, live_server, user.username)
        page.goto(f"{live_server.url}/tickets/{ticket.pk}/")
        page.wait_for_selector("#t-assignee")
        pages.append(page)
    first, second = pages

    # Leyla takes the ticket; her header confirms it.
    with first.expect_response(lambda r: r.url.endswith("/update/")):
        first.select_option("#t-assignee", str(leyla.pk))
    first.wait_for_selector(f'#t-assignee option[value="{leyla.pk}"][selected]', state="attached")

    # Sara's page still shows "Unassigned": she assigns it to herself.
    with second.expect_response(lambda r: r.url.endswith("/update/")):
        second.select_option("#t-assignee", str(sara.pk))
    alert = second.locator(".form-errors.conflict")
    alert.wait_for()
    assert "changed since you opened it" in alert.inner_text()
    assert "Leyla changed Assignee" in alert.inner_text()
    # The header now shows Leyla, so Sara sees what she would have overwritten.
    assert second.locator("#t-assignee").input_value() == str(leyla.pk)
    screenshot(second, "conflict-en")
    assert Ticket.objects.get(pk=ticket.pk).assignee_id == leyla.pk

    # From the refreshed header, her next change goes through.
    with second.expect_response(lambda r: r.url.endswith("/update/")):
        second.select_option("#t-priority", "1")
    second.wait_for_selector('#t-priority option[value="1"][selected]', state="attached")
    assert second.locator("#ticket-header .form-errors").count() == 0
    assert Ticket.objects.get(pk=ticket.pk).priority == 1
    for page in pages:
        page.context.close()

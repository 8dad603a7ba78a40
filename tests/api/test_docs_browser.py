"""The browsable docs render in a real browser from our own static files (no CDN)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_swagger_docs_render_every_api_group_without_outside_requests(page, live_server, screenshot):
    from tests.factories import UserFactory
    from tests.fixtures.browser import login

    UserFactory(username="docs-reader")
    login(page, live_server, "docs-reader")  # the docs are for signed-in staff
    outside: list[str] = []
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=15_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    joined = " ".join(paths)
    for path in ("/api/v1/customers/", "/api/v1/tickets/{id}/replies/", "/api/v1/auth/token/"):
        assert path in joined.replace("\u200b", ""), path
    screenshot(page, "api-docs")
    assert [u for u in outside if not u.startswith("data:")] == []

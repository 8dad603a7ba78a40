"""The one-line embed on a page from another origin: banner shows, follows the page into Persian (RTL)."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpdesk.crisis import services
from tests.fixtures.browser import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SITE_PORT = 8161
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Acme Telecom</title></head>
<body><h1>Acme Telecom</h1><p>Welcome to our customer site.</p>
<script src="{src}" async></script>
</body></html>
"""


@pytest.fixture
def other_origin_site(tmp_path, live_server):
    """A static customer site on localhost:8161; the app runs on 127.0.0.1 (another origin)."""
    (tmp_path / "index.html").write_text(
        PAGE.format(src=f"{live_server.url}/embed/banner.js"), encoding="utf-8"
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", SITE_PORT), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{SITE_PORT}/index.html"
    server.shutdown()
    server.server_close()


@pytest.fixture
def published_banner(db):
    crisis = services.create_crisis(title="Network outage", severity=5)
    services.activate_crisis(crisis=crisis)
    banner = services.save_banner(
        crisis=crisis,
        severity=5,
        texts={
            "en": {
                "title": "Network outage",
                "message": "Calls may fail in the north. Text us instead.",
                "link": "https://status.example/",
            },
            "fa": {
                "title": "قطعی شبکه",
                "message": "تماس‌ها ممکن است در شمال قطع شوند. به ما پیامک بدهید.",
                "link": "https://status.example/fa",
            },
        },
    )
    services.publish_banner(banner=banner)
    services.save_directory_entry(
        need={"en": "Emergency", "fa": "اضطراری"}, channel="call", target="+15551230000"
    )
    return banner


def test_embedded_banner_appears_cross_origin_and_turns_rtl_in_persian(
    page, other_origin_site, published_banner, screenshot
):
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(other_origin_site)
    region = page.locator("[data-banner-id]")
    region.wait_for()
    assert region.get_attribute("role") == "region"
    assert region.get_attribute("dir") == "ltr"
    assert "Network outage" in region.inner_text()
    assert "+15551230000" in region.inner_text()  # the channel directory rides along
    screenshot(page, "banner_en")

    # The site switches its language: the banner follows without a reload.
    page.evaluate("document.documentElement.lang = 'fa'")
    page.locator("[data-banner-id][lang=fa]").wait_for()
    region = page.locator("[data-banner-id]")
    assert region.get_attribute("dir") == "rtl"
    assert "قطعی شبکه" in region.inner_text()
    screenshot(page, "banner_fa")

    # Dismiss with the keyboard; it stays dismissed on the next visit (same banner version).
    page.keyboard.press("Escape")
    assert page.locator("[data-banner-id]").count() == 0
    page.reload()
    page.wait_for_timeout(800)
    assert page.locator("[data-banner-id]").count() == 0
    assert failed == []


def test_app_public_crisis_page_shows_the_banner_in_the_visitors_language(
    page, live_server, published_banner, screenshot
):
    page.goto(f"{live_server.url}/crisis/")
    page.locator("[data-banner-id]").wait_for()
    assert "Emergency" in page.locator(".directory").inner_text()
    page.context.add_cookies([{"name": "django_language", "value": "fa", "url": live_server.url}])
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    page.goto(f"{live_server.url}/crisis/")
    banner = page.locator("[data-banner-id][lang=fa]")
    banner.wait_for()
    assert page.locator("html").get_attribute("dir") == "rtl" and banner.get_attribute("dir") == "rtl"
    assert "اضطراری" in page.locator(".directory").inner_text()
    screenshot(page, "crisis_page_fa")


def test_manager_previews_the_banner_in_each_language(page, live_server, published_banner, screenshot):
    from helpdesk.accounts.models import Role
    from tests.factories import UserFactory

    UserFactory(username="boss", role=Role.MANAGER)
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/manage/crisis/{published_banner.crisis_id}/")
    preview = page.locator("#banner-preview [data-banner-id]")
    preview.wait_for()
    assert preview.get_attribute("dir") == "ltr"
    page.select_option("#banner-preview-lang", "fa")
    page.locator("#banner-preview [data-banner-id][dir=rtl]").wait_for()
    screenshot(page, "crisis_manage_preview")

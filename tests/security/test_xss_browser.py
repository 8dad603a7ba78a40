"""No payload of the corpus runs anywhere we render it, and every page carries the CSP.

The corpus (tests/security/payloads.py, 60+ payloads) goes in where attackers and careless
managers put it: directory lines and links, banner texts and links, customer names, SMS bodies,
web-form fields, tags, macro texts and triage flow texts. Rows the validators refuse today are
also written straight to the table, as rows saved before the validators existed would be. Then a
real browser visits the workspace, the customer page, `/crisis/`, the contact form and a partner
site embedding `banner.js`, and checks that `window.__pwned` stays unset and no dialog opens."""

from __future__ import annotations

import contextlib
import threading
import uuid
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from channels_app.base import InboundMessage
from helpdesk.crisis import services as crisis_services
from helpdesk.crisis.models import Banner, DirectoryEntry
from helpdesk.errors import ApplicationError
from helpdesk.tickets import services as ticket_services
from helpdesk.tickets.models import Macro, Ticket
from tests.factories import UserFactory
from tests.fixtures.browser import login
from tests.security.payloads import LINKS, SENTINEL, TEXTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PARTNER_PORT = 8163
CHANNELS = ("call", "sms", "email", "chat", "link")
PARTNER_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Partner</title></head>
<body><h1>Partner bank</h1><div id="tampered"></div>
<script src="{src}"></script>
<script src="tampered.js"></script>
</body></html>
"""


def test_the_corpus_has_at_least_fifty_payloads():
    assert len(LINKS) + len(TEXTS) >= 50


@pytest.fixture
def poisoned_desk(db):
    """Every payload stored where it can be: through the services first, straight to the table when
    a validator refuses it."""
    crisis = crisis_services.create_crisis(title=TEXTS[0], severity=4)
    crisis_services.activate_crisis(crisis=crisis)
    refused = 0
    for i, link in enumerate(LINKS):
        channel = CHANNELS[i % len(CHANNELS)]
        need = {"en": TEXTS[i % len(TEXTS)], "fa": TEXTS[(i + 1) % len(TEXTS)]}
        try:
            crisis_services.save_directory_entry(need=need, channel=channel, target=link, position=i)
        except ApplicationError:
            refused += 1
            # PostgreSQL text holds no NUL: store what a browser would read of it.
            target = link.replace("\x00", "")
            DirectoryEntry.objects.create(need=need, channel=channel, target=target, position=i)
        try:
            crisis_services.save_banner(crisis=crisis, texts={"en": {"title": "x", "link": link}})
        except ApplicationError:
            refused += 1
    assert refused == 2 * len(LINKS)  # the validator refused every one
    banner = crisis_services.save_banner(
        crisis=crisis,
        severity=5,
        texts={
            "en": {"title": TEXTS[1], "message": TEXTS[2], "link": "https://help.example.org/"},
            "fa": {"title": TEXTS[-1], "message": TEXTS[3], "link": "https://help.example.org/fa"},
        },
    )
    crisis_services.publish_banner(banner=banner)
    Banner.objects.filter(pk=banner.pk).update(  # as if saved before the validator
        texts={**banner.texts, "km": {"title": TEXTS[4], "link": LINKS[0]}}
    )

    tickets = []
    for i, text in enumerate(TEXTS):
        result = ticket_services.record_inbound(
            message=InboundMessage(
                channel="sms",
                sender_kind="phone",
                sender=f"+1415555{i:04d}",
                sender_name=text,
                body=f"{text} {TEXTS[(i + 7) % len(TEXTS)]}",
                provider="twilio",
                provider_id=f"SMxss{i:04d}",
                sender_proven=True,
            )
        )
        ticket = result.event.ticket
        with contextlib.suppress(ApplicationError):
            ticket_services.set_tags(ticket=ticket, names=[text[:60], TEXTS[(i + 3) % len(TEXTS)][:60]])
        tickets.append(ticket)
    for text in TEXTS[:10]:
        Macro.objects.create(title=text[:120], body=f"Hello {{{{ customer.name }}}} {text}", language="en")

    form = Client()
    for i, text in enumerate(TEXTS[:8]):
        form.post(
            "/contact/",
            {
                "name": text[:100],
                "email": f"xss{i}@example.org",
                "phone": "",
                "language": "en",
                "subject": text[:150],
                "message": f"{text} {LINKS[i]}",
                "token": uuid.uuid4().hex,
            },
        )

    from triage import services as triage_services
    from triage.models import RunMode

    triage_services.seed_stop_the_bleeding()
    # A flow whose every text is a payload: name, description, questions, choice labels.
    steps = [
        {
            "key": f"s{n}",
            "kind": "single",
            "text": {"en": TEXTS[(5 * n) % len(TEXTS)], "fa": TEXTS[(5 * n + 1) % len(TEXTS)]},
            "choices": [
                {"value": "a", "label": {"en": TEXTS[(5 * n + 2) % len(TEXTS)]}, "weight": 1},
                {"value": "b", "label": {"en": TEXTS[(5 * n + 3) % len(TEXTS)]}, "weight": 3},
            ],
        }
        for n in range(6)
    ]
    flow = triage_services.import_flow(
        data={
            "name": TEXTS[5][:200],
            "slug": "xss-flow",
            "description": TEXTS[6],
            "definition": {"steps": steps, "severity_bands": [{"min_score": 0, "severity": 1}]},
        }
    ).flow
    first = tickets[0]
    triage_services.start_run(flow=flow, customer=first.customer, ticket=first, mode=RunMode.AGENT)
    return {"tickets": tickets, "crisis": crisis, "flow": flow}


@pytest.fixture
def partner_site(tmp_path, live_server):
    """A customer's site on another origin: embeds banner.js, then feeds it tampered payloads."""
    (tmp_path / "index.html").write_text(
        PARTNER_PAGE.format(src=f"{live_server.url}/embed/banner.js"), encoding="utf-8"
    )
    # A payload as a compromised cache or proxy might hand banner.js: every link of the corpus.
    import json

    tampered = {
        "banners": [{"id": 9, "version": 1, "severity": 5, "placement": "top_bar",
                     "texts": {"en": {"title": TEXTS[0], "message": TEXTS[1], "link": link}}}
                    for link in LINKS],
        "directory": [{"need": {"en": TEXTS[2]}, "channel": "link", "target": link, "href": link}
                      for link in LINKS],
    }  # fmt: skip
    (tmp_path / "tampered.js").write_text(
        "window.addEventListener('load', function () {\n"
        f"  var p = {json.dumps(tampered)};\n"
        "  for (var i = 0; i < p.banners.length; i++) {\n"
        "    var one = {banners: [p.banners[i]], directory: p.directory.slice(i, i + 4)};\n"
        "    var node = window.TourniquetBanner.render(one, 'en', document.getElementById('tampered'));\n"
        "    if (!node) continue;\n"
        "    window.__renders = (window.__renders || 0) + 1;\n"
        "    node.querySelectorAll('a').forEach(function (a) {\n"
        "      (window.__hrefs = window.__hrefs || []).push(a.getAttribute('href'));\n"
        "    });\n"
        "  }\n"
        "});\n",
        encoding="utf-8",
    )
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", PARTNER_PORT), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{PARTNER_PORT}/index.html"
    server.shutdown()
    server.server_close()


def _visit(page, url: str, *, ours: bool = True) -> None:
    response = page.goto(url)
    assert response is not None and response.status == 200, url
    page.wait_for_load_state("networkidle")
    if ours:
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "object-src 'none'" in csp and "base-uri 'none'" in csp, url
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp, url
        assert response.headers.get("permissions-policy"), url
    # Hover and focus everything that could carry a handler, then look for the sentinel.
    for link in page.locator("a").all()[:80]:
        href = link.get_attribute("href") or ""
        assert not href.strip().lower().startswith(("javascript:", "data:", "vbscript:", "//")), (url, href)
    assert page.evaluate("window.__pwned") is None, url


def test_no_payload_runs_on_any_page_and_every_page_has_the_csp(
    page, live_server, poisoned_desk, partner_site, screenshot
):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    # The sentinel works: a page that does run the payload sets it.
    page.set_content(f"<img src=x onerror='{SENTINEL}'>")
    page.wait_for_function("window.__pwned === 1")

    _visit(page, f"{live_server.url}/crisis/")
    screenshot(page, "xss-crisis-en")
    page.context.add_cookies([{"name": "django_language", "value": "fa", "url": live_server.url}])
    _visit(page, f"{live_server.url}/crisis/")
    screenshot(page, "xss-crisis-fa")
    _visit(page, f"{live_server.url}/contact/")

    UserFactory(username="xss-manager", role="manager")
    login(page, live_server, "xss-manager")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    _visit(page, f"{live_server.url}/tickets/")
    screenshot(page, "xss-queue-en")
    for ticket in poisoned_desk["tickets"][:12] + list(Ticket.objects.filter(channel="web")[:4]):
        _visit(page, f"{live_server.url}/tickets/{ticket.pk}/")
        _visit(page, f"{live_server.url}/customers/{ticket.customer_id}/")
    first = poisoned_desk["tickets"][0]
    _visit(page, f"{live_server.url}/tickets/{first.pk}/")
    # Its triage panel asks the poisoned flow's first question, choices as buttons.
    page.wait_for_selector(".triage-run")
    screenshot(page, "xss-ticket-en")
    page.context.add_cookies([{"name": "django_language", "value": "fa", "url": live_server.url}])
    _visit(page, f"{live_server.url}/tickets/{first.pk}/")
    screenshot(page, "xss-ticket-fa")
    _visit(page, f"{live_server.url}/tickets/search/?q=script")
    _visit(page, f"{live_server.url}/customers/")
    _visit(page, f"{live_server.url}/triage/flows/")
    _visit(page, f"{live_server.url}/triage/flows/{poisoned_desk['flow'].pk}/")
    screenshot(page, "xss-flow-editor-en")
    _visit(page, f"{live_server.url}/manage/crisis/")
    _visit(page, f"{live_server.url}/manage/crisis/{poisoned_desk['crisis'].pk}/")

    _visit(page, partner_site, ours=False)
    page.wait_for_function(f"window.__renders === {len(LINKS)}")
    # The only links banner.js made of the tampered payloads are the corpus's harmless ones.
    assert [h for h in page.evaluate("window.__hrefs || []") if h] == []
    page.wait_for_selector(".tq-b")  # and the real banner, from the server, shows
    screenshot(page, "xss-partner")

    assert dialogs == []
    assert page.evaluate("window.__pwned") is None
    # Our own pages need nothing the policy forbids (an inline style or script would show here).
    assert [v for v in violations if f"localhost:{PARTNER_PORT}" not in v] == []

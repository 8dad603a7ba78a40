"""A fake review site for tests and the demo: serves its reviews as Atom (/feed.atom) and as a
JSON Feed (/feed.json) over real HTTP, the way the poller reads a review site's feed.

    feed = FakeReviewFeed(DEMO_REVIEWS).start()   # feed.url + "/feed.atom"
    feed.reviews.append({...}); feed.stop()

`manage.py fake_reviews --port 8025` serves DEMO_REVIEWS until stopped.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

# A few reviews after a flood: two unhappy (one by a demo customer's email), one happy.
DEMO_REVIEWS: list[dict] = [
    {
        "id": "rev-1001", "author": "Maryam Ahmadi", "email": "maryam@example.com", "rating": 1,
        "title": "Card frozen for three days", "body": "Nobody called me back while I was stranded.",
        "published_at": "2026-11-30T08:15:00Z",
    },
    {
        "id": "rev-1002", "author": "Sok Dara", "rating": 2, "title": "Long wait",
        "body": "Order ORD-5521: I waited two hours on the phone.", "order_number": "ORD-5521",
        "published_at": "2026-11-30T10:40:00Z",
    },
    {
        "id": "rev-1003", "author": "Ravi", "rating": 5, "title": "Quick help",
        "body": "The SMS steps worked from abroad.", "published_at": "2026-11-30T12:05:00Z",
    },
]  # fmt: skip


def atom(reviews: list[dict], *, base: str = "http://reviews.example") -> bytes:
    """The reviews as an Atom feed; rating, email and order number in the review namespace."""
    entries = []
    for r in reviews:
        entries.append(
            "<entry>"
            f"<id>{escape(r['id'])}</id><title>{escape(r.get('title', ''))}</title>"
            f"<author><name>{escape(r.get('author', ''))}</name></author>"
            f'<link href="{escape(base)}/reviews/{escape(r["id"])}"/>'
            f"<updated>{escape(r.get('published_at', '2026-01-01T00:00:00Z'))}</updated>"
            f"<summary>{escape(r.get('body', ''))}</summary>"
            f"<review:rating>{r.get('rating', '')}</review:rating>"
            f"<review:email>{escape(r.get('email', ''))}</review:email>"
            f"<review:order>{escape(r.get('order_number', ''))}</review:order>"
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:review="https://tourniquet.example/ns/review">'
        "<title>Reviews</title><id>urn:fake-reviews</id><updated>2026-12-01T00:00:00Z</updated>"
        + "".join(entries)
        + "</feed>"
    ).encode()


def json_feed(reviews: list[dict], *, base: str = "http://reviews.example") -> bytes:
    items = [
        {
            "id": r["id"], "title": r.get("title", ""), "content_text": r.get("body", ""),
            "url": f"{base}/reviews/{r['id']}", "date_published": r.get("published_at"),
            "authors": [{"name": r.get("author", "")}],
            "_review": {"rating": r.get("rating"), "email": r.get("email", ""),
                        "order_number": r.get("order_number", "")},
        }
        for r in reviews
    ]  # fmt: skip
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Reviews", "items": items}
    ).encode()


class FakeReviewFeed:
    def __init__(self, reviews: list[dict] | None = None, *, port: int = 0) -> None:
        self.reviews = list(reviews if reviews is not None else DEMO_REVIEWS)
        self.requests = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                feed.requests += 1
                if self.path.startswith("/feed.json"):
                    body, kind = json_feed(feed.reviews), "application/feed+json"
                elif self.path.startswith("/feed.atom"):
                    body, kind = atom(feed.reviews), "application/atom+xml"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeReviewFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

"""Browser tests: the browser fixtures live in tests/fixtures/browser.py (one browser per session);
the real ASGI app (HTTP and websockets) for the tests that need sockets is here."""

import threading

import pytest

ASGI_PORT = 8111


class _LiveURL:
    def __init__(self, url: str) -> None:
        self.url = url


@pytest.fixture
def asgi_server(settings, transactional_db):
    """The real ASGI app (HTTP + websockets) under uvicorn, in this process, on the test database."""
    import time

    import uvicorn
    from channels.routing import ProtocolTypeRouter
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.asgi import get_asgi_application

    from helpdesk.routing import websocket_application

    # Server threads and the test thread share events through Redis, as separate processes would.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.REDIS_URL, "socket_timeout": 30, "max_connections": 200}]
            },
        }
    }
    app = ProtocolTypeRouter(
        {
            "http": ASGIStaticFilesHandler(get_asgi_application()),
            "websocket": websocket_application(),
        }
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=ASGI_PORT, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    yield _LiveURL(f"http://127.0.0.1:{ASGI_PORT}")
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def foreign_site():
    """A website on its own origin (any free port): yields its base URL and a dict of path -> HTML
    bytes that the test fills in (a partner's page embedding banner.js or the chat widget)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the standard library's name
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", pages
    server.shutdown()
    server.server_close()

"""The demo's fake business systems: a bank (freeze or unfreeze a card, emergency cash) and an
airline (rebook), over real HTTP, checking our signature and doing each idempotency key once.

    backends = FakeBackends(secret="...").start()   # backends.url + "/bank/freeze"
    backends.done  # {idempotency key: times the work was done} (always 1 for a key)

`manage.py fake_backends --port 8030` serves them for the demo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OPERATIONS = {
    "/bank/freeze": ("FRZ", "Card ending {card} is frozen."),
    "/bank/unfreeze": ("UNF", "Card ending {card} works again."),
    "/bank/emergency-cash": ("CASH", "Emergency cash of {amount} is ready for pick-up."),
    "/airline/rebook": ("PNR", "Rebooked on the next flight."),
}


class FakeBackends:
    def __init__(self, *, secret: str, port: int = 0) -> None:
        self.secret = secret
        self.results: dict[str, dict] = {}
        self.done: dict[str, int] = {}
        self.requests = 0
        self.lock = threading.Lock()
        backends = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                backends.requests += 1
                status, answer = backends.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def handle(self, path: str, headers: dict, body: bytes) -> tuple[int, dict]:
        timestamp = headers.get("X-Tourniquet-Timestamp", "")
        expected = "sha256=" + hmac.new(self.secret.encode(), timestamp.encode() + b"." + body,
                                        hashlib.sha256).hexdigest()  # fmt: skip
        if not hmac.compare_digest(headers.get("X-Tourniquet-Signature", ""), expected):
            return 403, {"message": "bad signature"}
        if path not in OPERATIONS:
            return 404, {"message": "unknown operation"}
        try:
            request = json.loads(body)
            key = str(request["idempotency_key"])
        except (ValueError, KeyError, TypeError):
            return 400, {"message": "malformed"}
        with self.lock:
            if key not in self.results:  # the work itself, once per key
                prefix, text = OPERATIONS[path]
                values = {
                    "card": "",
                    "amount": "",
                    **{k: str(v) for k, v in (request.get("values") or {}).items()},
                }
                self.results[key] = {"reference": f"{prefix}-{secrets.token_hex(3).upper()}",
                                     "message": text.format(**values)}  # fmt: skip
                self.done[key] = self.done.get(key, 0) + 1
            return 200, self.results[key]

    def start(self) -> FakeBackends:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

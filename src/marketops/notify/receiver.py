"""A reference webhook receiver: verifies signatures and keeps an idempotent view of deliveries.

It shows receivers what to do (check `X-Marketops-Signature`, drop repeated `Idempotency-Key`s)
and is the real HTTP server that the tests and the outbox benchmark send to, on 127.0.0.1 only.
It can misbehave on purpose: be down, fail a share of requests, fail or hang on the first tries.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson

from marketops.notify.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


class Receiver:
    def __init__(
        self,
        secret: str | None = None,
        *,
        fail_rate: float = 0.0,
        seed: int = 0,
        fail_first: int = 0,
        hang_first: int = 0,
        hang_s: float = 0.0,
        fail_status: int = 503,
    ):
        self.secret = secret
        self.fail_rate = fail_rate
        self.fail_first = fail_first
        self.hang_first = hang_first
        self.hang_s = hang_s
        self.fail_status = fail_status
        self.down = False
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()  # every request per key, whatever the answer
        self.accepted: dict[str, dict] = {}  # the idempotent view: first body per key
        self.duplicates = 0  # requests for a key already accepted (dropped)
        self.bad_signatures = 0
        self.headers: dict[str, dict[str, str]] = {}
        self._server: ThreadingHTTPServer | None = None

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and
            # the client's delayed ACK add ~40 ms to every keep-alive request
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.handle(dict(self.headers.items()), body)
                out = b'{"ok": true}' if status == 200 else b'{"ok": false}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the sender timed out and went away

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # --- behaviour ---------------------------------------------------------------------------
    def handle(self, headers: dict[str, str], body: bytes) -> int:
        if self.secret is not None and not verify(
            self.secret,
            body,
            headers.get(TIMESTAMP_HEADER),
            headers.get(SIGNATURE_HEADER),
            now=datetime.now(UTC),
        ):
            with self._lock:
                self.bad_signatures += 1
            return 401
        key = headers.get(IDEMPOTENCY_HEADER, "")
        with self._lock:
            self.requests[key] += 1
            n = self.requests[key]
            if self.down:
                return self.fail_status
            hang = n <= self.hang_first
            if not hang and n <= self.hang_first + self.fail_first:
                return 500
            if not hang and self.fail_rate and self._rng.random() < self.fail_rate:
                return self.fail_status
        if hang:
            time.sleep(self.hang_s)  # processed, but after the sender gave up
        with self._lock:
            if key in self.accepted:
                self.duplicates += 1
            else:
                self.accepted[key] = orjson.loads(body)
                self.headers[key] = headers
        return 200

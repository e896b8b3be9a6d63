"""Test helpers: a real HTTP server on 127.0.0.1 (port 0) whose pages 200, 404, redirect, hang."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class LinkServer:
    base: str
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)  # (method, path)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base + path


def _handler(server_state: LinkServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def _answer(self, status: int, location: str | None = None, body: bool = True) -> None:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            payload = b"<html>ok</html>" if body and self.command == "GET" else b""
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        def _route(self) -> None:
            path = self.path.split("?", 1)[0]
            server_state.hits[(self.command, path)] += 1
            if path == "/ok":
                self._answer(200)
            elif path == "/missing":
                self._answer(404)
            elif path == "/error":
                self._answer(500)
            elif path == "/moved":
                self._answer(301, "/hop")
            elif path == "/hop":
                self._answer(302, "/ok")
            elif path == "/moved-to-missing":
                self._answer(302, "/missing")
            elif path == "/loop":
                self._answer(302, "/loop")
            elif path == "/no-head":
                self._answer(405 if self.command == "HEAD" else 200)
            elif path == "/slow":
                server_state.release.wait(5)  # longer than any test timeout
                self._answer(200)
            else:
                self._answer(404)

        do_GET = _route
        do_HEAD = _route

    return Handler


@contextmanager
def serve_links() -> Iterator[LinkServer]:
    state = LinkServer(base="")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)

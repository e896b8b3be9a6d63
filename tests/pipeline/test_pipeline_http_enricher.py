"""The HTTP enricher against a real local server that fails, stalls and recovers."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from marketops.pipeline.enrich import HttpEnricher

CALLS: dict[str, int] = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        domain = parse_qs(urlparse(self.path).query)["domain"][0]
        CALLS[domain] = CALLS.get(domain, 0) + 1
        n = CALLS[domain]
        if domain == "flaky.example" and n < 3:
            self.send_response(503)
            self.end_headers()
            return
        if domain == "slow.example":
            time.sleep(1.0)
        if domain == "unknown.example":
            self.send_response(404)
            self.end_headers()
            return
        body = json.dumps(
            {
                "company": domain.split(".")[0].title(),
                "employees": 250,
                "industry": "Software",
                "ignored": "x",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    CALLS.clear()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/company"
    httpd.shutdown()


def test_retries_until_recovered_and_skips_failures(server: str) -> None:
    enricher = HttpEnricher(server, timeout_s=0.3, retries=2)
    found = enricher.lookup({"flaky.example", "slow.example", "unknown.example", "ok.example"})
    assert found["flaky.example"] == {"company": "Flaky", "industry": "Software", "employees": 250}
    assert CALLS["flaky.example"] == 3  # two 503s, then success on the last allowed attempt
    assert "slow.example" not in found and CALLS["slow.example"] == 3  # timed out every time
    assert "unknown.example" not in found and CALLS["unknown.example"] == 1  # 404: no retry
    assert "ok.example" in found
    assert enricher.failures == 1


def test_api_key_comes_from_environment(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENRICH_KEY", "s3cret")
    enricher = HttpEnricher(server, api_key_env="ENRICH_KEY")
    assert enricher.client.headers["Authorization"] == "Bearer s3cret"

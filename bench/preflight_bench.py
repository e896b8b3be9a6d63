"""Pre-flight benchmark: HTML scanning (stdlib html.parser vs lxml vs selectolax), the whole
offline checklist, and link checking against a local HTTP server (sequential vs concurrent).

Run: .venv/bin/python bench/preflight_bench.py
lxml and selectolax are optional peers: the parser comparison is skipped for one not installed.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from marketops.ops.preflight import (
    HttpLinkChecker,
    PreflightConfig,
    parse_document,
    run_preflight,
)
from marketops.ops.preflight.htmlscan import scan_html

BLOCK = """
<tr><td class="col" style="padding:16px;font-family:Arial,sans-serif;font-size:14px">
  <img src="https://cdn.acme.example/img/{i}.png" alt="Product shot {i}" width="560">
  <p>Hi {{{{ first_name | default: "there" }}}}, section {i} covers the new dashboards,
  faster exports and the reports your team asked for.</p>
  <a href="https://www.acme.example/p/{i}?utm_source=newsletter&amp;utm_medium=email&amp;utm_campaign=2026-11_leads_smb"
     style="color:#0a66c2;text-decoration:underline">Read part {i}</a>
</td></tr>"""


def make_email(target_bytes: int) -> str:
    head = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>.col{width:100%}</style>"
        "</head><body><div class='preheader' style='display:none'>Preview</div><table>"
    )
    tail = (
        "</table><p>Acme, 100 Main Street, Springfield, IL 62701</p>"
        "<a href='{{unsubscribe_url}}'>Unsubscribe</a></body></html>"
    )
    parts, i = [head], 0
    while sum(len(p) for p in parts) + len(tail) < target_bytes:
        parts.append(BLOCK.format(i=i))
        i += 1
    return "".join(parts) + tail


def median_ms(fn: Callable[[], object], repeat: int = 15) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def bench_parsers(html: str) -> None:
    ours = median_ms(lambda: scan_html(html))
    print(f"  html.parser scan (ours, with line+column): {ours:8.2f} ms")
    try:
        import lxml.html

        def lxml_scan() -> None:
            root = lxml.html.document_fromstring(html)
            for el in root.iter("a", "img"):
                _ = (el.get("href") or el.get("src"), el.sourceline)  # line only, no column

        t = median_ms(lxml_scan)
        print(
            f"  lxml (line only):                         {t:8.2f} ms   ours/lxml = {ours / t:.1f}x"
        )
    except ImportError:
        print("  lxml: not installed (skipped)")
    try:
        from selectolax.lexbor import LexborHTMLParser

        def lexbor_scan() -> None:
            tree = LexborHTMLParser(html)
            for el in tree.css("a, img"):
                _ = el.attributes.get("href") or el.attributes.get("src")  # no positions

        t = median_ms(lexbor_scan)
        print(
            f"  selectolax/lexbor (no positions):         {t:8.2f} ms   ours/lexbor = {ours / t:.1f}x"
        )
    except ImportError:
        print("  selectolax: not installed (skipped)")


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog (5) drops SYNs under concurrency: 1 s stalls
    daemon_threads = True


class _Handler(BaseHTTPRequestHandler):
    delay_s = 0.02  # a fast CDN-like answer, so the numbers show concurrency, not the network

    def log_message(self, *args: object) -> None:
        pass

    def do_HEAD(self) -> None:
        time.sleep(self.delay_s)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_HEAD


def bench_links(n: int = 64) -> None:
    httpd = _Server(("127.0.0.1", 0), _Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    urls = [f"{base}/p/{i}" for i in range(n)]
    try:
        results = {}
        for workers in (1, 8, 16):
            with HttpLinkChecker(timeout_s=5, concurrency=workers) as checker:
                results[workers] = median_ms(lambda c=checker: c.check(urls), repeat=3)
            print(
                f"  {n} URLs, {_Handler.delay_s * 1000:.0f} ms each, concurrency {workers:2d}: "
                f"{results[workers]:8.1f} ms   ({results[1] / results[workers]:.1f}x vs 1)"
            )
    finally:
        httpd.shutdown()
        httpd.server_close()


def main() -> None:
    html = make_email(100_000)
    print(f"email HTML: {len(html.encode()) / 1000:.1f} KB")
    print("HTML scanning (median of 15):")
    bench_parsers(html)
    config = PreflightConfig()
    doc = parse_document(html, "bench.html")
    report = run_preflight(doc, config)
    t = median_ms(lambda: run_preflight(doc, config))
    print(
        f"whole offline checklist: {t:.2f} ms median "
        f"({report.stats['links']} links, {report.stats['images']} images, "
        f"{len(report.findings)} findings)"
    )
    print("link checking against a local server (median of 3):")
    bench_links()


if __name__ == "__main__":
    main()

"""`run_preflight`: the whole checklist over one document, as a pure function.

The network is reached only through the `checker` handed in (None = offline, syntax only), and the
taxonomy is handed in already loaded, so a scheduler, the API and tests all run the same code.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from marketops.ops.preflight.config import PreflightConfig, Severity
from marketops.ops.preflight.document import Document
from marketops.ops.preflight.htmlscan import Scan, position, scan_html
from marketops.ops.preflight.links import (
    Link,
    LinkChecker,
    domain_allowed,
    syntax_problem,
    text_links,
)
from marketops.ops.preflight.report import Finding, Report
from marketops.ops.preflight.tokens import scan_tokens
from marketops.ops.preflight.utm import check_utms

_PREHEADER_NAME = re.compile(r"pre-?header|preview", re.IGNORECASE)
_URI_IN_ANGLES = re.compile(r"<\s*([^>\s]+)\s*>")
_ONE_CLICK = "List-Unsubscribe=One-Click"


@dataclass
class _Run:
    doc: Document
    config: PreflightConfig
    findings: list[Finding] = field(default_factory=list)

    def add(self, check: str, where: str, message: str, hint: str = "", element: str = "") -> None:
        severity = self.config.severity(check)
        if severity != Severity.OFF:
            self.findings.append(Finding(check, severity, where, message, hint, element))


def run_preflight(
    document: Document,
    config: PreflightConfig,
    checker: LinkChecker | None = None,
    *,
    taxonomy: Any | None = None,
) -> Report:
    """Every check over `document`; link reachability only when a `checker` is given."""
    run = _Run(document, config)
    scan = scan_html(document.html, document.html_label) if document.html is not None else None
    links = _links(document, scan, config)
    email = document.purpose == "email"

    _check_link_syntax(run, links)
    stats = _check_links_online(run, links, checker)
    _check_utm(run, links, taxonomy)
    if email:
        for label, part_links, text, raw in _parts(document, scan, links):
            _check_unsubscribe(run, label, part_links)
            _check_address(run, label, text, raw)
        if scan is not None and document.html is not None:
            _check_size(run, document)
            _check_preheader(run, scan)
    if document.is_email:
        _check_headers(run)
    if scan is not None:
        _check_images(run, scan)
    _check_tokens(run)
    _check_spam(run, scan)
    for defect in document.defects:
        run.add("eml_defect", document.name, defect, "re-export the message from the ESP")

    stats.update(
        {
            "links": sum(1 for link in links if link.kind == "a"),
            "images": sum(1 for link in links if link.kind == "img"),
            "html_bytes": len(document.html.encode("utf-8")) if document.html is not None else 0,
            "purpose": document.purpose,
        }
    )
    return Report(source=document.name, findings=run.findings, stats=stats)


# --- links ---------------------------------------------------------------------------------------
def _links(doc: Document, scan: Scan | None, config: PreflightConfig) -> list[Link]:
    out: list[Link] = []
    if scan is not None:
        for el in scan.elements:
            if el.tag in ("a", "area") and "href" in el.attrs:
                out.append(
                    Link(
                        (el.attrs["href"] or "").strip(),
                        f"{doc.html_label}:{el.line}:{el.col}",
                        el.snippet(),
                        "a",
                        " ".join(el.text.split()),
                    )
                )
            elif el.tag == "img" and config.links.check_images and el.attrs.get("src") is not None:
                out.append(
                    Link(
                        (el.attrs["src"] or "").strip(),
                        f"{doc.html_label}:{el.line}:{el.col}",
                        el.snippet(),
                        "img",
                        el.attrs.get("alt") or "",
                    )
                )
    if doc.text is not None:
        out.extend(text_links(doc.text, doc.text_label))
    return out


def _check_link_syntax(run: _Run, links: list[Link]) -> None:
    for link in links:
        problem = syntax_problem(link)
        if problem:
            run.add("link_syntax", link.where, problem, "fix the URL in the editor", link.element)
        elif link.scheme == "http":
            run.add(
                "link_insecure",
                link.where,
                f"{link.url} is not https",
                "use https:// (mixed content and browser warnings)",
                link.element,
            )


def _fetchable(link: Link) -> bool:
    return (
        link.scheme in ("http", "https") and not link.has_merge_tag and syntax_problem(link) is None
    )


def _check_links_online(
    run: _Run, links: list[Link], checker: LinkChecker | None
) -> dict[str, Any]:
    first: dict[str, Link] = {}
    count: dict[str, int] = defaultdict(int)
    for link in links:
        if _fetchable(link):
            first.setdefault(link.url, link)
            count[link.url] += 1
    allow = run.config.links.allow_domains
    fetch = [u for u, link in first.items() if domain_allowed(link.host, allow)]
    for url, link in first.items():
        if url not in fetch:
            run.add(
                "link_domain",
                link.where,
                f"{link.host} is not on links.allow_domains; not fetched{_times(count[url])}",
                "add the domain to preflight.yml if it is yours",
                link.element,
            )
    if checker is None:
        return {"link_mode": "offline", "urls_fetched": 0}
    results = checker.check(fetch)
    for url in fetch:
        status, link = results.get(url), first[url]
        if status is None:
            continue
        if status.timed_out:
            run.add(
                "link_timeout",
                link.where,
                f"{url} did not answer in time{_times(count[url])}",
                "retry later; raise links.timeout_s if the site is slow",
                link.element,
            )
        elif not status.ok:
            what = f"HTTP {status.status}" if status.status else status.error or "failed"
            run.add(
                "link_broken",
                link.where,
                f"{url} -> {what} (after {status.method}){_times(count[url])}",
                "fix or replace the link",
                link.element,
            )
        elif status.redirects:
            run.add(
                "link_redirect",
                link.where,
                f"{url} redirects ({status.redirects}x) to {status.final_url}",
                "link to the final URL to save a hop",
                link.element,
            )
    return {"link_mode": "online", "urls_fetched": len(fetch)}


def _times(n: int) -> str:
    return f" (used {n} times)" if n > 1 else ""


def _is_unsubscribe(link: Link, pattern: re.Pattern[str]) -> bool:
    return bool(pattern.search(link.url) or pattern.search(link.text))


def _check_utm(run: _Run, links: list[Link], taxonomy: Any | None) -> None:
    settings = run.config.utm
    unsub = re.compile(run.config.unsubscribe_pattern, re.IGNORECASE)
    seen: set[str] = set()
    for link in links:
        if link.kind != "a" or link.scheme not in ("http", "https") or link.url in seen:
            continue
        if syntax_problem(link) or (
            settings.domains and not domain_allowed(link.host, settings.domains)
        ):
            continue
        if settings.ignore_unsubscribe_links and _is_unsubscribe(link, unsub):
            continue
        seen.add(link.url)
        for p in check_utms(link.url, taxonomy):
            message = p.message if p.where in p.message else f"{p.where}: {p.message}"
            run.add("utm", link.where, message, p.hint, link.element)


# --- CAN-SPAM ------------------------------------------------------------------------------------
def _parts(
    doc: Document, scan: Scan | None, links: list[Link]
) -> Iterator[tuple[str, list[Link], str, str]]:
    """(label, links, visible text, raw source) for each body a recipient may read."""
    if scan is not None and doc.html is not None:
        html_links = [link for link in links if link.where.startswith(doc.html_label + ":")]
        yield doc.html_label, html_links, scan.visible_text, doc.html
    if doc.text is not None:
        text_links_ = [link for link in links if link.where.startswith(doc.text_label + ":")]
        yield doc.text_label, text_links_, doc.text, doc.text


def _check_unsubscribe(run: _Run, label: str, links: list[Link]) -> None:
    pattern = re.compile(run.config.unsubscribe_pattern, re.IGNORECASE)
    if not any(link.kind == "a" and _is_unsubscribe(link, pattern) for link in links):
        run.add(
            "unsubscribe",
            label,
            "no unsubscribe link found",
            "add a visible link whose text or URL says unsubscribe (CAN-SPAM §7704(a)(3))",
        )


def _check_address(run: _Run, label: str, text: str, raw: str) -> None:
    if any(tok in raw for tok in run.config.address_tokens):
        return
    if any(re.search(p, text) for p in run.config.address_patterns):
        return
    run.add(
        "postal_address",
        label,
        "no physical postal address found in the visible text",
        "add the sender's street address or PO box (CAN-SPAM §7704(a)(5)(A)(iii))",
    )


# --- headers -------------------------------------------------------------------------------------
def _check_headers(run: _Run) -> None:
    doc = run.doc
    top = f"{doc.name}:1"
    subjects = doc.header("Subject")
    if not subjects or not subjects[0].value.strip():
        run.add(
            "subject",
            f"{doc.name}:{subjects[0].line}" if subjects else top,
            "the message has no subject",
            "add a Subject header",
        )
    lu = doc.header("List-Unsubscribe")
    if not lu:
        run.add(
            "list_unsubscribe",
            top,
            "no List-Unsubscribe header",
            "add `List-Unsubscribe: <https://…>, <mailto:…>` (RFC 2369, RFC 8058)",
        )
    else:
        uris = _URI_IN_ANGLES.findall(lu[0].value)
        if not any(u.lower().startswith("https://") for u in uris):
            run.add(
                "list_unsubscribe",
                f"{doc.name}:{lu[0].line}",
                f"List-Unsubscribe has no https URI (found: {', '.join(uris) or 'none'})",
                "one-click unsubscribe needs an https URI in angle brackets (RFC 8058 §3.1)",
                f"List-Unsubscribe: {lu[0].value}",
            )
    lup = doc.header("List-Unsubscribe-Post")
    if not lup:
        run.add(
            "list_unsubscribe_post",
            top,
            "no List-Unsubscribe-Post header",
            f"add `List-Unsubscribe-Post: {_ONE_CLICK}` (RFC 8058 §3.1; Gmail and Yahoo "
            "require one-click unsubscribe for bulk senders)",
        )
    elif lup[0].value.strip() != _ONE_CLICK:
        run.add(
            "list_unsubscribe_post",
            f"{doc.name}:{lup[0].line}",
            f"List-Unsubscribe-Post is {lup[0].value.strip()!r}",
            f"it must be exactly {_ONE_CLICK!r} (RFC 8058 §3.1)",
            f"List-Unsubscribe-Post: {lup[0].value}",
        )


# --- content -------------------------------------------------------------------------------------
def _check_size(run: _Run, doc: Document) -> None:
    size = len((doc.html or "").encode("utf-8"))
    s = run.config.size
    kb = f"{size / 1000:.1f} KB"
    if size > s.clip_bytes:
        run.add(
            "html_size",
            doc.html_label,
            f"HTML is {kb} ({size} bytes); Gmail clips messages "
            f"over {s.clip_bytes} bytes and hides the rest, unsubscribe link included",
            "remove unused CSS, comments and whitespace, or shorten the email",
        )
    elif size > s.warn_bytes:
        run.add(
            "html_size_near",
            doc.html_label,
            f"HTML is {kb} ({size} bytes), close to the {s.clip_bytes}-byte clipping limit",
            "ESP tracking rewrites links and grows the HTML; leave headroom",
        )


def _check_preheader(run: _Run, scan: Scan) -> None:
    for el in scan.elements:
        if any(_PREHEADER_NAME.search(el.attrs.get(a) or "") for a in ("class", "id")):
            return
    for node in scan.texts:
        if node.hidden:
            return  # hidden text before the first visible text is what inboxes show as preview
        break
    body = next((e for e in scan.elements if e.tag == "body"), None)
    run.add(
        "preheader",
        f"{run.doc.html_label}:{body.line}:{body.col}" if body else run.doc.html_label,
        "no preheader: inboxes will preview the first visible text instead",
        'add a hidden element (style="display:none;max-height:0;overflow:hidden") with '
        "40-130 characters of preview text right after <body>",
        body.snippet() if body else "",
    )


def _check_images(run: _Run, scan: Scan) -> None:
    for el in scan.find("img"):
        where = f"{run.doc.html_label}:{el.line}:{el.col}"
        if "alt" not in el.attrs:
            run.add(
                "img_alt",
                where,
                "image has no alt attribute",
                'describe the image (many clients block images), or alt="" if decorative',
                el.snippet(),
            )
        elif not (el.attrs["alt"] or "").strip() and not _spacer(el.attrs) and not el.hidden:
            run.add(
                "img_alt_empty",
                where,
                "content image has empty alt text",
                'describe the image; alt="" is only for spacers and tracking pixels',
                el.snippet(),
            )


def _spacer(attrs: dict[str, str | None]) -> bool:
    def small(v: str | None) -> bool:
        m = re.match(r"\s*(\d+)", v or "")
        return bool(m) and int(m.group(1)) <= 2

    return small(attrs.get("width")) or small(attrs.get("height"))


def _check_tokens(run: _Run) -> None:
    doc, exempt = run.doc, run.config.tokens.exempt
    sources: list[tuple[str, str, str | None]] = []
    if doc.html is not None:
        sources.append((doc.html, doc.html_label, None))
    if doc.text is not None:
        sources.append((doc.text, doc.text_label, None))
    for h in doc.header("Subject")[:1]:
        sources.append((h.value, doc.name, f"{doc.name}:{h.line} (Subject)"))
    for text, label, fixed_where in sources:
        for issue in scan_tokens(text, label, exempt):
            where = fixed_where or issue.where
            if issue.kind == "fallback":
                run.add(
                    "token_fallback",
                    where,
                    issue.message,
                    'add a default, e.g. {{ first_name | default: "there" }} or '
                    "{{lead.First Name:default=there}}",
                    issue.token,
                )
            else:
                run.add(
                    "token_malformed",
                    where,
                    issue.message,
                    "every token opens with {{ and closes with }}",
                    issue.token,
                )


def _check_spam(run: _Run, scan: Scan | None) -> None:
    phrases = [p for p in run.config.spam_phrases if p.strip()]
    if not phrases:
        return
    rx = re.compile(
        r"(?<!\w)(?:"
        + "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
        + r")(?!\w)",
        re.IGNORECASE,
    )
    doc = run.doc

    def report(where: str, phrase: str) -> None:
        run.add(
            "spam_phrase",
            where,
            f"spam-trigger phrase {phrase!r}",
            "rephrase: filters and readers distrust it",
        )

    for h in doc.header("Subject")[:1]:
        for m in rx.finditer(h.value):
            report(f"{doc.name}:{h.line} (Subject)", m.group(0))
    if scan is not None:
        for node in scan.texts:
            for m in rx.finditer(node.text):
                line, col = position(node.text, m.start())
                col = node.col + col - 1 if line == 1 else col
                report(f"{doc.html_label}:{node.line + line - 1}:{col}", m.group(0))
    if doc.text is not None:
        for m in rx.finditer(doc.text):
            line, col = position(doc.text, m.start())
            report(f"{doc.text_label}:{line}:{col}", m.group(0))

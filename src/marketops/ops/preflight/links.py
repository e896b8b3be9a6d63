"""Links: where they are, whether they are well formed, and (at the edge) whether they resolve.

`run_preflight` decides which URLs may be fetched (allowlist, no merge tags) and hands them to a
`LinkChecker`; the HTTP checker is the only part that touches the network, so the core stays pure
and a test or a scheduler can hand in any checker.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from marketops.ops.preflight.tokens import TOKEN_RE

_TEXT_URL = re.compile(
    r"(?:https?://|mailto:)[^\s<>\"'`)\]]+"
    r"|\{\{[^{}]*(?:url|link|unsub)[^{}]*\}\}|\*\|[A-Z_:]*(?:URL|UNSUB)[A-Z_:]*\|\*",
    re.IGNORECASE,
)
_MERGE_TAG = re.compile(r"\{\{.*?\}\}|\*\|.*?\|\*|%%.*?%%|\[[A-Za-z_]+\]")
_HOST = re.compile(
    r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$"
)
_SCHEME = re.compile(r"\s*([A-Za-z][A-Za-z0-9+.-]*):")
_SPACE = re.compile(r"\s")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Link:
    url: str
    where: str  # label:line:col
    element: str  # the start tag, or the text line for a text/plain part
    kind: str  # "a" (clickable) or "img"
    text: str = ""  # link text / alt, used to spot unsubscribe links

    @property
    def has_merge_tag(self) -> bool:
        return bool(_MERGE_TAG.search(self.url))

    @property
    def scheme(self) -> str:
        m = _SCHEME.match(self.url)
        return m.group(1).lower() if m else ""

    @property
    def host(self) -> str:
        try:
            return (urlsplit(_MERGE_TAG.sub("x", self.url)).hostname or "").lower()
        except ValueError:
            return ""


@dataclass(frozen=True)
class LinkStatus:
    url: str
    ok: bool
    status: int | None = None
    final_url: str | None = None
    redirects: int = 0
    timed_out: bool = False
    error: str | None = None
    method: str = "HEAD"


class LinkChecker(Protocol):
    def check(self, urls: Sequence[str]) -> dict[str, LinkStatus]: ...


def text_links(text: str, label: str) -> list[Link]:
    """Bare URLs, and merge tags that stand for one ({{unsubscribe_url}}), in a text part."""
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        for m in _TEXT_URL.finditer(line):
            url = m.group(0).rstrip(".,;:!?")
            out.append(
                Link(url, f"{label}:{number}:{m.start() + 1}", line.strip()[:90], "a", text=line)
            )
    return out


def syntax_problem(link: Link) -> str | None:
    """Why a link cannot work as written, or None. Merge tags are treated as filled in."""
    return _syntax_problem(link.url.strip())


@lru_cache(maxsize=8192)  # emails repeat the same URLs; the answer depends on the URL alone
def _syntax_problem(url: str) -> str | None:
    if not url:
        return "empty link"
    if url in ("#", "#!"):
        return f"placeholder link {url!r}"
    if url.startswith("#"):
        return None  # an in-page anchor (landing pages)
    if TOKEN_RE.fullmatch(url) or _MERGE_TAG.fullmatch(url):
        return None  # the whole URL is a merge tag (e.g. {{unsubscribe_url}}): the ESP fills it
    probe = _MERGE_TAG.sub("x.example", url)  # a tag may stand for a host as well as a value
    if _SPACE.search(probe):
        return "contains whitespace (encode it as %20)"
    m = _SCHEME.match(probe)
    scheme = m.group(1).lower() if m else ""
    if scheme == "javascript":
        return "javascript: links do not work in email clients"
    if scheme == "mailto":
        addr = probe[len("mailto:") :].split("?", 1)[0]
        return (
            None if _EMAIL.match(addr) else f"mailto: without a valid address ({addr or 'empty'})"
        )
    if scheme == "tel":
        return None if re.fullmatch(r"tel:\+?[\d().\-]{3,}", probe) else "tel: without a number"
    if scheme not in ("http", "https"):
        return (
            f"relative or unsupported URL (scheme {scheme or 'missing'}); use an absolute https URL"
        )
    try:
        parts = urlsplit(probe)
        _ = parts.port  # raises ValueError on a bad port
    except ValueError as exc:
        return f"not a valid URL: {exc}"
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return "URL has no host"
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return f"host {host!r} is not a valid domain name"
    if not _HOST.match(ascii_host) or ("." not in ascii_host and ascii_host != "localhost"):
        return f"host {host!r} is not a valid domain name"
    return None


def domain_allowed(host: str, allow: Iterable[str]) -> bool:
    allow = list(allow)
    if not allow:
        return True
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in allow)


class HttpLinkChecker:
    """HEAD each URL, falling back to GET when HEAD fails or is refused; redirects are followed."""

    def __init__(
        self,
        *,
        timeout_s: float = 5.0,
        max_redirects: int = 10,
        concurrency: int = 8,
        user_agent: str = "marketops-preflight/1",
        client: httpx.Client | None = None,
    ) -> None:
        self._own = client is None
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            follow_redirects=True,
            max_redirects=max_redirects,
            headers={"User-Agent": user_agent},
            verify=True,
        )
        self.concurrency = concurrency

    def __enter__(self) -> HttpLinkChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self.client.close()

    def check(self, urls: Sequence[str]) -> dict[str, LinkStatus]:
        unique = list(dict.fromkeys(urls))
        if not unique:
            return {}
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(unique))) as pool:
            return dict(zip(unique, pool.map(self.check_one, unique), strict=True))

    def check_one(self, url: str) -> LinkStatus:
        head = self._request("HEAD", url)
        if head.ok or head.timed_out:
            return head
        # many servers refuse or mishandle HEAD (405, 403, 404 from CDNs): ask again with GET
        return self._request("GET", url)

    def _request(self, method: str, url: str) -> LinkStatus:
        try:
            with self.client.stream(method, url) as resp:
                return LinkStatus(
                    url,
                    ok=resp.status_code < 400,
                    status=resp.status_code,
                    final_url=str(resp.url),
                    redirects=len(resp.history),
                    method=method,
                )
        except httpx.TimeoutException:
            return LinkStatus(url, ok=False, timed_out=True, error="timed out", method=method)
        except httpx.TooManyRedirects:
            return LinkStatus(url, ok=False, error="too many redirects", method=method)
        except (httpx.HTTPError, ValueError) as exc:
            return LinkStatus(
                url, ok=False, error=f"{type(exc).__name__}: {exc}".strip(), method=method
            )

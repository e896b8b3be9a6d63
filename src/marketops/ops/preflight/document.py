"""What gets checked: an HTML page or a whole .eml message, decoded once at the edge.

The .eml is parsed with the standard library (`policy=default`), which decodes quoted-printable and
base64 bodies and picks the html/plain alternatives; header line numbers are recovered from the raw
bytes so a missing or wrong header can be pointed at.
"""

from __future__ import annotations

import email
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path

from marketops.errors import MarketopsError, Problem


@dataclass(frozen=True)
class Header:
    name: str
    value: str
    line: int  # 1-based line of the header in the raw message


@dataclass(frozen=True)
class Document:
    name: str  # file name or label used in every location
    kind: str  # "html" or "eml"
    html: str | None
    text: str | None = None  # text/plain alternative of an .eml
    headers: tuple[Header, ...] | None = None  # None for a bare HTML page
    defects: tuple[str, ...] = field(default_factory=tuple)
    purpose: str = "email"  # "email" or "page" (a landing page skips the email-only checks)

    @property
    def is_email(self) -> bool:
        return self.headers is not None

    @property
    def html_label(self) -> str:
        return f"{self.name}[text/html]" if self.kind == "eml" else self.name

    @property
    def text_label(self) -> str:
        return f"{self.name}[text/plain]" if self.kind == "eml" else self.name

    def header(self, name: str) -> list[Header]:
        return [h for h in self.headers or () if h.name.lower() == name.lower()]


def load_document(path: str | Path, *, page: bool = False) -> Document:
    """Read a .html/.htm/.eml file (the only I/O in preflight besides link checks)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MarketopsError(
            f"cannot read {path}",
            [Problem(str(path), exc.strerror or str(exc), "check the path")],
        ) from exc
    return parse_document(data, path.name, kind=_kind_from_suffix(path.suffix), page=page)


def parse_document(
    data: bytes | str, name: str, kind: str | None = None, *, page: bool = False
) -> Document:
    """Pure: bytes to Document. `kind` is "html" or "eml", sniffed when None; `page` marks an
    HTML landing page, which skips the email-only checks."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    kind = kind or _sniff(data)
    if kind == "eml":
        return _parse_eml(data, name)
    if kind != "html":
        raise MarketopsError(
            f"{name}: unknown document kind {kind!r}",
            [Problem(name, f"kind {kind!r}", "use an .html, .htm or .eml file")],
        )
    return Document(
        name=name, kind="html", html=_decode_html(data, name), purpose="page" if page else "email"
    )


def _kind_from_suffix(suffix: str) -> str | None:
    return {".eml": "eml", ".html": "html", ".htm": "html"}.get(suffix.lower())


_HEADER_LINE = re.compile(rb"^[!-9;-~]+:")


def _sniff(data: bytes) -> str:
    head = data.lstrip()[:2048]
    if head[:1] == b"<":
        return "html"
    first = head.split(b"\n", 1)[0]
    return "eml" if _HEADER_LINE.match(first) else "html"


def _decode_html(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise MarketopsError(
            f"{name}: not UTF-8",
            [
                Problem(
                    f"{name}:{line}",
                    f"byte {data[exc.start]:#x} is not valid UTF-8",
                    "save the file as UTF-8",
                )
            ],
        ) from exc


def _parse_eml(data: bytes, name: str) -> Document:
    msg = email.message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    html_part = msg.get_body(preferencelist=("html",))
    text_part = msg.get_body(preferencelist=("plain",))
    html = _content(html_part) if html_part is not None else None
    text = _content(text_part) if text_part is not None else None
    if html is None and text is None:
        raise MarketopsError(
            f"{name}: no text/html or text/plain body",
            [
                Problem(
                    name,
                    "the message has no readable body",
                    "export the email as a complete .eml (with its MIME parts)",
                )
            ],
        )
    defects = tuple(
        f"{type(d).__name__}: {d}" for part in msg.walk() for d in getattr(part, "defects", [])
    )
    return Document(
        name=name, kind="eml", html=html, text=text, headers=_headers(msg, data), defects=defects
    )


def _content(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError):  # unknown or lying charset: keep what can be read
        payload = part.get_payload(decode=True) or b""
        content = payload.decode("utf-8", errors="replace")
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")


def _headers(msg: EmailMessage, raw: bytes) -> tuple[Header, ...]:
    """Pair each parsed header with the raw line it starts on (same order in both)."""
    lines_by_name: dict[str, list[int]] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            break
        m = _HEADER_LINE.match(line)
        if m and line[:1] not in (b" ", b"\t"):
            lines_by_name.setdefault(m.group(0)[:-1].decode("ascii").lower(), []).append(number)
    out = []
    seen: dict[str, int] = {}
    for key, value in msg.items():
        k = key.lower()
        i = seen.get(k, 0)
        seen[k] = i + 1
        lines = lines_by_name.get(k, [])
        out.append(Header(key, str(value), lines[i] if i < len(lines) else 0))
    return tuple(out)

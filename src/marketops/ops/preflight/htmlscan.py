"""One pass of the standard library's HTML parser, keeping line and column of every element.

html.parser is forgiving (email HTML is rarely valid) and is the only widely used parser that reports
the column as well as the line; what we need from the tree (visibility, link text) is tracked here
with a small stack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from marketops.errors import MarketopsError, Problem

VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
_SKIP_TEXT = frozenset({"script", "style", "head", "title", "template", "noscript"})
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|mso-hide\s*:\s*all|visibility\s*:\s*hidden"
    r"|max-height\s*:\s*0(?:px)?\s*(?:!important)?\s*(?:;|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)"
    r"|font-size\s*:\s*0(?:px)?\s*(?:!important)?\s*(?:;|$)",
    re.IGNORECASE,
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    line: int
    col: int  # 1-based
    start_tag: str
    hidden: bool
    text: str = ""  # inner text, for <a> (including descendants' alt text)

    def snippet(self, limit: int = 90) -> str:
        s = " ".join(self.start_tag.split())
        return s if len(s) <= limit else s[: limit - 4] + " …>"


@dataclass
class TextNode:
    text: str
    line: int
    col: int
    hidden: bool


@dataclass
class Scan:
    elements: list[Element] = field(default_factory=list)
    texts: list[TextNode] = field(default_factory=list)  # body text, script/style/head excluded

    def find(self, *tags: str) -> list[Element]:
        return [e for e in self.elements if e.tag in tags]

    @property
    def visible_text(self) -> str:
        return "\n".join(t.text for t in self.texts if not t.hidden)


def is_hidden_style(attrs: dict[str, str | None]) -> bool:
    if "hidden" in attrs:
        return True
    style = attrs.get("style") or ""
    return bool(_HIDDEN_STYLE.search(style))


class _Scanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scan = Scan()
        # (tag, hidden, skip_text, element or None)
        self.stack: list[tuple[str, bool, bool, Element | None]] = []
        self.open_links: list[Element] = []

    def _state(self) -> tuple[bool, bool]:
        if not self.stack:
            return False, False
        _, hidden, skip, _ = self.stack[-1]
        return hidden, skip

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line, col = self.getpos()
        a = {k.lower(): v for k, v in attrs}
        parent_hidden, parent_skip = self._state()
        hidden = parent_hidden or is_hidden_style(a)
        el = Element(tag, a, line, col + 1, self.get_starttag_text() or f"<{tag}>", hidden)
        self.scan.elements.append(el)
        if tag == "img" and self.open_links:
            for link in self.open_links:
                link.text += " " + (a.get("alt") or "")
        if tag in VOID:
            return
        if tag in ("a", "area"):
            self.open_links.append(el)
        self.stack.append((tag, hidden, parent_skip or tag in _SKIP_TEXT, el))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                for _, _, _, el in self.stack[i:]:
                    if el is not None and el in self.open_links:
                        self.open_links.remove(el)
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        hidden, skip = self._state()
        if skip or not data.strip():
            return
        line, col = self.getpos()
        self.scan.texts.append(TextNode(data, line, col + 1, hidden))
        for link in self.open_links:
            link.text += data


def scan_html(html: str, label: str = "html") -> Scan:
    parser = _Scanner()
    try:
        parser.feed(html)
        parser.close()
    except AssertionError as exc:  # html.parser gives up on a few malformed `<!` declarations
        line, col = parser.getpos()
        raise MarketopsError(
            f"{label}: HTML cannot be parsed",
            [Problem(f"{label}:{line}:{col + 1}", str(exc), "fix or remove the malformed markup")],
        ) from exc
    return parser.scan


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a character offset in `text`."""
    line = text.count("\n", 0, offset) + 1
    col = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, col

"""preflight.yml: which checks block a send, and the team's lists (domains, phrases, patterns).

Every list has a sensible default so a workspace without the file still gets a useful checklist.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator


class Severity(StrEnum):
    BLOCKER = "blocker"
    WARNING = "warning"
    INFO = "info"
    OFF = "off"


# check id -> (default severity, what it means); the docs table is generated from this in spirit.
CHECKS: dict[str, tuple[Severity, str]] = {
    "link_syntax": (Severity.BLOCKER, "a link is empty, '#', javascript: or not a valid URL"),
    "link_broken": (Severity.BLOCKER, "a link answered 4xx/5xx or could not be reached"),
    "link_timeout": (Severity.WARNING, "a link did not answer within links.timeout_s"),
    "link_redirect": (Severity.INFO, "a link redirects (reported with the final URL)"),
    "link_insecure": (Severity.WARNING, "a link uses http:// instead of https://"),
    "link_domain": (
        Severity.WARNING,
        "a link's domain is not on links.allow_domains (not fetched)",
    ),
    "utm": (Severity.BLOCKER, "a tracked link lacks UTMs or breaks the campaign taxonomy"),
    "unsubscribe": (Severity.BLOCKER, "no unsubscribe link in the body (CAN-SPAM)"),
    "postal_address": (Severity.BLOCKER, "no physical postal address in the body (CAN-SPAM)"),
    "list_unsubscribe": (Severity.BLOCKER, "no List-Unsubscribe header with an https URI"),
    "list_unsubscribe_post": (
        Severity.BLOCKER,
        "no `List-Unsubscribe-Post: List-Unsubscribe=One-Click` header (RFC 8058)",
    ),
    "subject": (Severity.BLOCKER, "the message has no subject"),
    "img_alt": (Severity.WARNING, "an image has no alt attribute"),
    "img_alt_empty": (Severity.WARNING, 'a content image has alt="" (fine only for spacers)'),
    "html_size": (Severity.BLOCKER, "HTML is over size.clip_bytes (Gmail clips it)"),
    "html_size_near": (Severity.WARNING, "HTML is over size.warn_bytes, close to clipping"),
    "token_fallback": (Severity.BLOCKER, "a personalization token has no fallback"),
    "token_malformed": (Severity.BLOCKER, "unbalanced {{ }} braces"),
    "preheader": (Severity.WARNING, "no preheader (hidden preview text) before the body"),
    "spam_phrase": (Severity.WARNING, "a phrase that spam filters and readers distrust"),
    "eml_defect": (Severity.WARNING, "the MIME structure has defects the parser had to repair"),
}

DEFAULT_SPAM_PHRASES = [
    "100% free",
    "act now",
    "apply now",
    "as seen on",
    "buy now",
    "call now",
    "cash bonus",
    "click below",
    "click here",
    "congratulations",
    "double your",
    "earn extra cash",
    "extra income",
    "free gift",
    "free money",
    "get paid",
    "guaranteed",
    "increase sales",
    "limited time offer",
    "make money",
    "million dollars",
    "no catch",
    "no credit check",
    "no obligation",
    "once in a lifetime",
    "order now",
    "risk-free",
    "risk free",
    "satisfaction guaranteed",
    "this is not spam",
    "urgent",
    "winner",
    "you have been selected",
    "you're a winner",
    "100% satisfied",
    "what are you waiting for",
]

# Compiled case-sensitively (add (?i) to a pattern to relax it).
# US street line, PO box, US "ST 12345", UK postcode, Canadian postal code.
DEFAULT_ADDRESS_PATTERNS = [
    r"(?i)\b\d{1,6}\s+(?:[a-z0-9.'-]+\s+){1,5}(?:street|st|avenue|ave|road|rd|boulevard|blvd|lane|ln"
    r"|drive|dr|way|court|ct|place|pl|square|sq|parkway|pkwy|highway|hwy|suite|ste|plaza|circle"
    r"|terrace|row|strasse|straße)\b\.?",
    r"(?i)\bP\.?\s?O\.?\s+Box\s+\d+",
    r"\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b",
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b",
    r"\b[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z]\s?\d[ABCEGHJ-NPRSTV-Z]\d\b",
]

# merge tags an ESP replaces with the account's postal address
DEFAULT_ADDRESS_TOKENS = [
    "*|LIST:ADDRESS|*",
    "*|LIST:ADDRESSLINE|*",
    "*|HTML:LIST_ADDRESS_HTML|*",
    "{{Sender_Address}}",
    "[Sender_Address]",
    "{{company_address}}",
    "{{ site_settings.company_street_address_1 }}",
    "%%Member_Addr%%",
]

DEFAULT_UNSUBSCRIBE_PATTERN = (
    r"unsubscribe|unsub\b|opt[\s-]?out|manage\s+(?:your\s+)?(?:email\s+)?preferences"
    r"|email\s+preferences|abmelden|se\s+d[ée]sabonner|d[ée]sinscri"
)

# tokens the ESP always fills (system links, program tokens, the recipient's own address)
DEFAULT_TOKEN_EXEMPT = [
    "my.*",
    "system.*",
    "program.*",
    "campaign.*",
    "*unsubscribe*",
    "*view_in_browser*",
    "*webversion*",
    "*preferences*",
    "Sender_*",
    "site_settings.*",
    "unsubscribe_url",
    "email",
    "*.email",
    "lead.email address",
    "recipient.email",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LinkSettings(Strict):
    allow_domains: list[str] = Field(
        [],
        description="domains whose links may be fetched (subdomains included); empty = every domain",
    )
    timeout_s: float = Field(5.0, gt=0, le=120)
    max_redirects: int = Field(10, ge=0, le=50)
    concurrency: int = Field(8, ge=1, le=64)
    user_agent: str = "marketops-preflight/1"
    check_images: bool = Field(True, description="also fetch <img src> URLs")

    @field_validator("allow_domains")
    @classmethod
    def _domains(cls, v: list[str]) -> list[str]:
        out = []
        for d in v:
            d = d.strip().lower().removeprefix("*.").rstrip(".")
            if not d or "/" in d or ":" in d or " " in d:
                raise ValueError(
                    f"{d!r} is not a domain name (write `example.com`, no scheme/path)"
                )
            out.append(d)
        return out


class UtmSettings(Strict):
    taxonomy: str = Field("taxonomy.yml", description="taxonomy file, relative to the workspace")
    domains: list[str] = Field(
        [], description="only links to these domains need UTMs; empty = every http(s) link"
    )
    ignore_unsubscribe_links: bool = True


class SizeSettings(Strict):
    clip_bytes: int = Field(102_000, gt=0, description="Gmail clips HTML above ~102 KB")
    warn_bytes: int = Field(92_000, gt=0)

    @model_validator(mode="after")
    def _order(self) -> SizeSettings:
        if self.warn_bytes > self.clip_bytes:
            raise ValueError("warn_bytes must not exceed clip_bytes")
        return self


class TokenSettings(Strict):
    exempt: list[str] = Field(
        DEFAULT_TOKEN_EXEMPT, description="glob patterns of token names that need no fallback"
    )


# one optional field per check, so a misspelt check is reported at its own line
Checks = create_model(  # type: ignore[call-overload]
    "Checks",
    __config__=ConfigDict(extra="forbid"),
    **{
        name: (Severity | None, Field(None, description=text)) for name, (_, text) in CHECKS.items()
    },
)


class PreflightConfig(Strict):
    checks: Checks = Field(  # type: ignore[valid-type]
        Checks(), description="override a check's severity: blocker, warning, info or off"
    )
    links: LinkSettings = LinkSettings()
    utm: UtmSettings = UtmSettings()
    size: SizeSettings = SizeSettings()
    tokens: TokenSettings = TokenSettings()
    unsubscribe_pattern: str = DEFAULT_UNSUBSCRIBE_PATTERN
    address_patterns: list[str] = DEFAULT_ADDRESS_PATTERNS
    address_tokens: list[str] = DEFAULT_ADDRESS_TOKENS
    spam_phrases: list[str] = DEFAULT_SPAM_PHRASES
    api_allow_online: bool = Field(
        False, description="let POST /v1/preflight fetch links when the request asks for it"
    )

    @field_validator("checks", mode="before")
    @classmethod
    def _yaml_off(cls, v: object) -> object:
        """YAML 1.1 reads an unquoted `off` as false; that is what the user meant."""
        if isinstance(v, dict):
            return {k: "off" if val is False else val for k, val in v.items()}
        return v

    @field_validator("unsubscribe_pattern")
    @classmethod
    def _regex(cls, v: str) -> str:
        _compile(v)
        return v

    @field_validator("address_patterns")
    @classmethod
    def _regexes(cls, v: list[str]) -> list[str]:
        for p in v:
            _compile(p, 0)
        return v

    def severity(self, check: str) -> Severity:
        return getattr(self.checks, check) or CHECKS[check][0]


def _compile(pattern: str, flags: int = re.IGNORECASE) -> re.Pattern[str]:
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression {pattern!r}: {exc}") from exc

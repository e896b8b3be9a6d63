"""Turn an outbox row into a request and send it: generic JSON webhook, Slack incoming webhook, SMTP.

Destinations are resolved when sending, not when enqueuing, so fixing `notifications.yml` and
replaying a dead letter is enough to repair a bad destination. Every send returns a SendResult;
nothing here raises for a failed delivery.
"""

from __future__ import annotations

import hashlib
import smtplib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any

import httpx
import orjson

from marketops import __version__
from marketops.notify.config import NotificationsFile
from marketops.notify.policy import SendResult, classify_http
from marketops.notify.signing import IDEMPOTENCY_HEADER, signature_headers

OWNER_PREFIX = "owner:"
USER_AGENT = f"marketops/{__version__}"


class Unresolvable(Exception):
    """The destination cannot be turned into a target: a permanent failure (fix, then replay)."""


@dataclass(frozen=True)
class HttpTarget:
    url: str
    slack: bool
    mention: str | None = None  # Slack member id to mention


@dataclass(frozen=True)
class EmailTarget:
    to: tuple[str, ...]


@dataclass(frozen=True)
class Delivery:
    """The fields of an outbox row a sender needs."""

    id: int
    idempotency_key: str
    channel: str
    destination: str
    subject: str | None
    payload: dict[str, Any]
    attempt: int


def resolve(
    channel: str,
    destination: str,
    cfg: NotificationsFile,
    member_emails: Mapping[str, str],
    env: Mapping[str, str],
) -> HttpTarget | EmailTarget:
    """Where `destination` points for `channel`: a URL, a named destination, `owner:<member>` or an address."""
    mention = None
    if destination.startswith(OWNER_PREFIX):
        name = destination[len(OWNER_PREFIX) :]
        member = cfg.members.get(name)
        if channel == "email":
            address = (member.email if member else None) or member_emails.get(name)
            if not address:
                raise Unresolvable(
                    f"no email for member `{name}`: add members.{name}.email to notifications.yml"
                    " or email to the member in routing.yml"
                )
            return EmailTarget((address,))
        attr = "slack_destination" if channel == "slack" else "webhook_destination"
        ref = getattr(member, attr) if member else None
        if not ref:
            raise Unresolvable(f"member `{name}` has no {attr} in notifications.yml")
        destination = ref
        mention = member.slack_user if member and channel == "slack" else None
    if channel != "email" and destination.startswith(("http://", "https://")):
        return HttpTarget(destination, slack=channel == "slack")
    if channel == "email" and "@" in destination and destination not in cfg.destinations:
        return EmailTarget((destination,))
    dest = cfg.destinations.get(destination)
    if dest is None:
        raise Unresolvable(f"unknown destination `{destination}`: add it to notifications.yml")
    if dest.type != channel:
        raise Unresolvable(
            f"destination `{destination}` is a {dest.type} destination, not {channel}"
        )
    if channel == "email":
        return EmailTarget(tuple(dest.to))
    url = dest.url or env.get(dest.url_env or "", "")
    if not url:
        raise Unresolvable(
            f"destination `{destination}`: environment variable {dest.url_env} is unset"
        )
    return HttpTarget(url, slack=channel == "slack", mention=mention)


def render_text(subject: str | None, payload: dict[str, Any]) -> str:
    """A plain-text rendering for Slack and email when the payload brings no `text`."""
    if isinstance(payload.get("text"), str):
        return payload["text"]
    lines = [subject] if subject else []
    lines += [f"{k}: {v}" for k, v in payload.items()]
    return "\n".join(lines)


def slack_body(delivery: Delivery, mention: str | None) -> dict[str, Any]:
    """Slack incoming-webhook JSON: the payload as is when it has `text`/`blocks`, else text."""
    if "text" in delivery.payload or "blocks" in delivery.payload:
        body = dict(delivery.payload)
    else:
        body = {"text": render_text(delivery.subject, delivery.payload)}
    if mention:
        body["text"] = f"<@{mention}> " + str(body.get("text", ""))
    return body


def secrets_from_env(env: Mapping[str, str], name: str) -> list[str]:
    """The signing secret and, during a rotation, the previous one (`<NAME>_PREVIOUS`)."""
    return [s for s in (env.get(name), env.get(f"{name}_PREVIOUS")) if s]


# payload keys that shape the message rather than its text
_NOT_BODY = frozenset({"html", "mail_headers", "mail_from"})
# headers a payload may not override: the envelope's recipients and our idempotency key
_FIXED_HEADERS = frozenset({"to", "cc", "bcc", "subject", "x-marketops-idempotency-key"})


def email_message(delivery: Delivery, target: EmailTarget, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(target.to)
    msg["Subject"] = delivery.subject or str(
        delivery.payload.get("subject", "marketops notification")
    )
    digest = hashlib.sha256(delivery.idempotency_key.encode()).hexdigest()[:40]
    # a stable Message-ID: mail systems and receivers can drop a re-sent copy
    msg["Message-ID"] = f"<{digest}@marketops>"
    msg["X-Marketops-Idempotency-Key"] = delivery.idempotency_key
    extra = delivery.payload.get("mail_headers")
    if isinstance(extra, dict):
        # journey email: List-Unsubscribe (RFC 2369/8058), Reply-To, its own Message-ID
        for name, value in extra.items():
            if name.lower() not in _FIXED_HEADERS:
                del msg[name]
                msg[name] = str(value)
    if isinstance(delivery.payload.get("mail_from"), str):
        del msg["From"]
        msg["From"] = delivery.payload["mail_from"]
    body = {k: v for k, v in delivery.payload.items() if k not in _NOT_BODY}
    msg.set_content(render_text(None, body))
    html = delivery.payload.get("html")
    if isinstance(html, str) and html:
        # multipart/alternative: clients that render HTML (the scorecard) show it, others the text
        msg.add_alternative(html, subtype="html")
    return msg


class Senders:
    """Sends deliveries; one per worker tick (holds an HTTP connection pool)."""

    def __init__(
        self,
        cfg: NotificationsFile,
        member_emails: Mapping[str, str],
        env: Mapping[str, str],
        client: httpx.Client | None = None,
    ):
        self.cfg = cfg
        self.member_emails = member_emails
        self.env = env
        timeout = cfg.delivery.timeout_s
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=cfg.delivery.concurrency * 2),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )

    def close(self) -> None:
        self.client.close()

    def send(self, delivery: Delivery, now: datetime) -> SendResult:
        try:
            target = resolve(
                delivery.channel, delivery.destination, self.cfg, self.member_emails, self.env
            )
        except Unresolvable as exc:
            return SendResult(False, error=str(exc), permanent=True)
        if isinstance(target, EmailTarget):
            return self._send_email(delivery, target)
        return self._send_http(delivery, target, now)

    def _send_http(self, delivery: Delivery, target: HttpTarget, now: datetime) -> SendResult:
        payload = slack_body(delivery, target.mention) if target.slack else delivery.payload
        body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS, default=str)
        headers = {
            "Content-Type": "application/json",
            IDEMPOTENCY_HEADER: delivery.idempotency_key,
            "X-Marketops-Delivery": str(delivery.id),
            "X-Marketops-Attempt": str(delivery.attempt),
        }
        secrets = secrets_from_env(self.env, self.cfg.signing.secret_env)
        if secrets:
            headers.update(signature_headers(secrets, body, now))
        elif not target.slack:
            # generic webhooks are always signed: better late than unverifiable
            return SendResult(
                False,
                error=f"signing secret: environment variable {self.cfg.signing.secret_env} is unset",
            )
        try:
            response = self.client.post(target.url, content=body, headers=headers)
        except httpx.TimeoutException:
            return SendResult(False, error=f"timeout after {self.cfg.delivery.timeout_s:g} s")
        except httpx.HTTPError as exc:
            return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:500])
        ok, permanent = classify_http(response.status_code)
        if ok:
            return SendResult(True, response.status_code)
        return SendResult(
            False,
            response.status_code,
            error=f"HTTP {response.status_code}: {response.text[:200]}",
            permanent=permanent,
            retry_after_s=_retry_after(response.headers.get("Retry-After")),
        )

    def _send_email(self, delivery: Delivery, target: EmailTarget) -> SendResult:
        smtp = self.cfg.smtp
        msg = email_message(delivery, target, smtp.from_)
        password = self.env.get(smtp.password_env) if smtp.password_env else None
        if smtp.username and not password:
            return SendResult(
                False, error=f"SMTP password: environment variable {smtp.password_env} is unset"
            )
        try:
            if smtp.tls == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(
                    smtp.host,
                    smtp.port,
                    timeout=smtp.timeout_s,
                    context=ssl.create_default_context(),
                )
            else:
                server = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
            with server:
                if smtp.tls == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if smtp.username:
                    server.login(smtp.username, password or "")
                refused = server.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return SendResult(
                False, max(codes), "all recipients refused", permanent=min(codes) >= 500
            )
        except smtplib.SMTPResponseException as exc:
            return SendResult(
                False,
                exc.smtp_code,
                f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:500],
                permanent=exc.smtp_code >= 500,
            )
        except (OSError, smtplib.SMTPException) as exc:
            return SendResult(False, error=f"{type(exc).__name__}: {exc}"[:500])
        if refused:
            # some recipients refused: the accepted ones got it; record, do not resend to all
            return SendResult(True, 250, error=f"{len(refused)} recipient(s) refused")
        return SendResult(True, 250)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None  # an HTTP date: rare for webhooks; fall back to our own backoff


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000

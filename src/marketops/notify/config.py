"""The `notifications.yml` models: destinations, per-member routing, retries, SMTP and signing.

Secrets never live in the file: a Slack URL, an SMTP password and the signing secret are named
by the environment variable that holds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Destination(Strict):
    """A named place to send to: `type` says which channel can use it."""

    type: Literal["webhook", "slack", "email"]
    url: str | None = None
    url_env: str | None = Field(None, description="environment variable holding the URL")
    to: list[str] = Field(default_factory=list, description="email addresses (type email)")
    description: str = ""

    @model_validator(mode="after")
    def _target(self) -> Destination:
        if self.type == "email":
            if not self.to:
                raise ValueError("an email destination needs `to: [address, …]`")
            if self.url or self.url_env:
                raise ValueError("an email destination takes `to`, not `url`/`url_env`")
        else:
            if bool(self.url) == bool(self.url_env):
                raise ValueError(f"a {self.type} destination needs exactly one of `url`, `url_env`")
            if self.to:
                raise ValueError(f"a {self.type} destination takes `url`, not `to`")
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ValueError("`url` must start with http:// or https://")
        return self


class MemberContact(Strict):
    """How to reach one routing member (the name used in routing.yml)."""

    email: str | None = None
    slack_user: str | None = Field(None, description="Slack member id, mentioned as <@id>")
    slack_destination: str | None = Field(None, description="named slack destination to post to")
    webhook_destination: str | None = None


class RetryPolicy(Strict):
    max_attempts: int = Field(8, ge=1, le=100)
    base_delay_s: float = Field(30.0, gt=0)
    max_delay_s: float = Field(3600.0, gt=0)

    @model_validator(mode="after")
    def _order(self) -> RetryPolicy:
        if self.max_delay_s < self.base_delay_s:
            raise ValueError("max_delay_s must be at least base_delay_s")
        return self


class SmtpSettings(Strict):
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    from_: str = Field("marketops@localhost", alias="from")
    tls: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str | None = None
    timeout_s: float = Field(10.0, gt=0)

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SigningSettings(Strict):
    secret_env: str = "MARKETOPS_WEBHOOK_SECRET"
    tolerance_s: int = Field(300, ge=1, description="inbound: reject older timestamps")


class DeliverySettings(Strict):
    timeout_s: float = Field(10.0, gt=0, description="per request, connect and read")
    batch_size: int = Field(100, ge=1, le=10_000, description="deliveries claimed per tick")
    concurrency: int = Field(8, ge=1, le=256, description="requests in flight per worker")
    lease_s: float = Field(120.0, gt=0, description="a claim older than this is taken over")


class NotificationsFile(Strict):
    destinations: dict[str, Destination] = Field(default_factory=dict)
    members: dict[str, MemberContact] = Field(default_factory=dict)
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    signing: SigningSettings = Field(default_factory=SigningSettings)

    @model_validator(mode="after")
    def _references(self) -> NotificationsFile:
        for name, member in self.members.items():
            for attr, kind in (("slack_destination", "slack"), ("webhook_destination", "webhook")):
                ref = getattr(member, attr)
                if ref is None:
                    continue
                dest = self.destinations.get(ref)
                if dest is None:
                    raise ValueError(f"member `{name}`: {attr} `{ref}` is not a destination")
                if dest.type != kind:
                    raise ValueError(
                        f"member `{name}`: {attr} `{ref}` is a {dest.type} destination"
                    )
        return self


_CACHE: dict[str, tuple[tuple[int, int], NotificationsFile]] = {}


def load_notifications(root: Path) -> NotificationsFile:
    """`notifications.yml` of the workspace at `root` (defaults when absent), re-read on change.

    The worker calls this every tick, so an edited file (a fixed destination, say) takes effect
    without a restart. Reading it directly instead of `Workspace.extra` avoids importing every
    capability module in the worker.
    """
    from marketops.notify import NOTIFICATIONS_FILE
    from marketops.workspace.yamlfile import load_model

    path = Path(root) / NOTIFICATIONS_FILE
    try:
        st = path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        stamp = (0, -1)
    cached = _CACHE.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    model = load_model(path, NotificationsFile, default={})
    _CACHE[str(path)] = (stamp, model)
    return model

"""Receivers: a signed JSON webhook, any apprise URL, and a JSON-lines log file.

Secrets never leave this module in clear: ``${NAME}`` in a URL or header is filled from the
environment only when sending, and every value so filled (and a webhook's HMAC secret) is
replaced by ``***`` in any error text, which is what gets logged and stored.

The webhook signs each body as Stripe and Slack do: the header ``X-Steward-Signature`` carries
``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`` (the timestamp also in
``X-Steward-Timestamp``); a receiver recomputes it with the shared secret and rejects old
timestamps to stop replays.

>>> sign(b'{"a":1}', "s3cret", 1700000000)
't=1700000000,v1=1698a50b...'
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from modelsteward.config import ReceiverConfig
from modelsteward.errors import DeliveryError

__all__ = [
    "AppriseReceiver", "LogReceiver", "Message", "Receiver", "WebhookReceiver", "build_receiver", "expand_env", "redact", "sign",
]

log = logging.getLogger(__name__)
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
USER_AGENT = "modelsteward-notify/1"


@dataclass(frozen=True)
class Message:
    """One message for one receiver: rendered text in each format, and the JSON payload."""

    title: str
    text: str
    markdown: str
    html: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "firing"


class Receiver(Protocol):
    name: str

    def send(self, message: Message) -> int | None:
        """Deliver ``message``; return an HTTP status where there is one; raise DeliveryError on failure."""


def expand_env(text: str, receiver: str) -> tuple[str, list[str]]:
    """Fill ``${NAME}`` from the environment; returns the text and the values filled in (secrets).

    >>> os.environ["DOC_TOKEN"] = "abc123"
    >>> expand_env("slack://${DOC_TOKEN}/x", "r")
    ('slack://abc123/x', ['abc123'])
    >>> del os.environ["DOC_TOKEN"]
    """
    secrets: list[str] = []

    def fill(m: re.Match[str]) -> str:
        value = os.environ.get(m.group(1))
        if value is None:
            raise DeliveryError(f"environment variable {m.group(1)} is not set", receiver=receiver,
                                hint=f"export {m.group(1)} in the environment of the process that delivers notifications")
        if value:
            secrets.append(value)
        return value

    return _ENV.sub(fill, text), secrets


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced by ``***`` (longest first, so a secret inside another goes too).

    >>> redact("token abc123 in https://u:pw@host/x", ["abc123"])
    'token *** in https://u:***@host/x'
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    # a password written into a URL by hand, not through ${NAME}
    return re.sub(r"(\w+://[^/\s:@]+:)[^@\s/]+@", r"\1***@", text)


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-Steward-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def _permanent(status: int) -> bool:
    # a 4xx other than timeout / too-many-requests means the request itself was refused: retrying cannot help
    return 400 <= status < 500 and status not in (408, 425, 429)


class WebhookReceiver:
    """POST the message's JSON payload, signed with HMAC-SHA256 when ``secret_env`` is set."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.name = config.name
        self.config = config

    def send(self, message: Message) -> int | None:
        cfg = self.config
        secrets: list[str] = []
        try:
            url, found = expand_env(cfg.url, self.name)
            secrets += found
            headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
            for key, value in cfg.headers.items():
                headers[key], found = expand_env(value, self.name)
                secrets += found
            body = json.dumps({"title": message.title, "text": message.text, **message.payload},
                              separators=(",", ":"), sort_keys=True, default=str).encode()
            if cfg.secret_env:
                secret = os.environ.get(cfg.secret_env)
                if not secret:
                    raise DeliveryError(f"environment variable {cfg.secret_env} (the signing secret) is not set", receiver=self.name,
                                        hint=f"export {cfg.secret_env} where notifications are delivered")
                secrets.append(secret)
                ts = int(time.time())
                headers["X-Steward-Timestamp"] = str(ts)
                headers["X-Steward-Signature"] = sign(body, secret, ts)
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=cfg.timeout) as response:  # noqa: S310 - URL from the operator's config
                return int(response.status)
        except DeliveryError:
            raise
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code} {redact(str(exc.reason), secrets)}", receiver=self.name,
                                status_code=exc.code, permanent=_permanent(exc.code)) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{type(exc).__name__}: {redact(str(reason), secrets)}", receiver=self.name) from None


class _RedactFilter(logging.Filter):
    """Rewrites log records of a library (apprise) so the given secrets read ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text, self.secrets)
        if clean != text:
            record.msg, record.args = clean, None
        return True


class AppriseReceiver:
    """Send through apprise: one URL scheme for Slack, Teams, email, PagerDuty, Opsgenie, JSON/form posts and more."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.name = config.name
        self.config = config

    def send(self, message: Message) -> int | None:
        try:
            import apprise
        except ImportError:  # pragma: no cover - depends on the installation
            raise DeliveryError("apprise is not installed", receiver=self.name, permanent=True,
                                hint="pip install 'modelsteward[apprise]'") from None
        url, secrets = expand_env(self.config.url, self.name)
        # apprise's own (debug) log prints the service URL it posts to, Slack's tokens and all.
        guard = _RedactFilter(secrets)
        apprise_log = logging.getLogger("apprise")
        apprise_log.addFilter(guard)
        try:
            notifier = apprise.Apprise()
            if not notifier.add(url):
                raise DeliveryError("the apprise URL is not valid or its scheme is unknown", receiver=self.name, permanent=True,
                                    hint="check the receiver's url against apprise's list of services")
            notify_type = {"resolved": apprise.NotifyType.SUCCESS, "acknowledged": apprise.NotifyType.INFO}.get(
                message.kind, apprise.NotifyType.FAILURE if message.kind == "firing" else apprise.NotifyType.WARNING)
            with apprise.LogCapture(level=logging.WARNING) as captured:
                ok = notifier.notify(body=message.markdown, title=message.title, notify_type=notify_type,
                                     body_format=apprise.NotifyFormat.MARKDOWN)
                detail = captured.getvalue() if not ok else ""
        finally:
            apprise_log.removeFilter(guard)
        if not ok:
            lines = [line.split(" - ", 2)[-1] for line in detail.strip().splitlines() if line.strip()]
            reason = "; ".join(lines[-3:]) or "the service did not accept the message"
            raise DeliveryError(redact(reason, secrets), receiver=self.name)
        return None


class LogReceiver:
    """Append each message as one JSON line to a file (for audit, or to feed another tool)."""

    def __init__(self, config: ReceiverConfig) -> None:
        self.name = config.name
        self.path = Path(config.url)

    def send(self, message: Message) -> int | None:
        logged_at = datetime.now(UTC).replace(tzinfo=None).isoformat()
        line = json.dumps({"logged_at": logged_at, "receiver": self.name, "title": message.title, "text": message.text, **message.payload},
                          sort_keys=True, default=str)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")
        except OSError as exc:
            raise DeliveryError(f"cannot write {self.path}: {exc.strerror}", receiver=self.name) from None
        return None


def build_receiver(config: ReceiverConfig) -> Receiver:
    """The receiver for a ``notifications.receivers[]`` entry."""
    kinds: dict[str, type[WebhookReceiver] | type[AppriseReceiver] | type[LogReceiver]] = {
        "webhook": WebhookReceiver, "apprise": AppriseReceiver, "log": LogReceiver}
    return kinds[config.type](config)

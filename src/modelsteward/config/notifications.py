"""Incident notification settings in ``steward.yaml`` (``notifications``): receivers, the route tree
that picks them by labels, grouping and repeat intervals, and retries of failed deliveries."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from modelsteward.config.base import MODEL_NAME, _check_interval, _Strict
from modelsteward.errors import NotFoundError

__all__ = [
    "NotificationsConfig",
    "ReceiverConfig",
    "RetrySettings",
    "RouteConfig",
]


class ReceiverConfig(_Strict):
    """Where notifications go: a signed JSON webhook, an apprise URL (Slack, Teams, email, PagerDuty, ...) or a log file."""

    name: str = Field(description="Receiver name, referred to by routes.")
    type: Literal["webhook", "apprise", "log"] = Field(
        description="`webhook` (JSON POST signed with HMAC-SHA256), `apprise` (any apprise URL: `slack://`, `mailto://`, "
                    "`msteams://`, `pagerduty://`, `json://`, ...) or `log` (JSON lines appended to a file).")
    url: str = Field(
        description="Webhook URL, apprise URL, or the path of the log file (relative to the working directory). "
                    "`${NAME}` is replaced by environment variable NAME when sending, so tokens stay out of the file; "
                    "its value is redacted from every log and error.")
    secret_env: str | None = Field(
        default=None,
        description="Environment variable holding the webhook's HMAC secret (the secret itself never goes in this file).")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra HTTP headers for a webhook (values may use `${NAME}`).")
    timeout: float = Field(default=5.0, gt=0, le=120, description="Seconds to wait for the receiver before counting the attempt as failed.")

    @field_validator("name")
    @classmethod
    def _receiver_name(cls, v: str) -> str:
        if not MODEL_NAME.match(v):
            raise ValueError("expected lower case letters, digits, '_' and '-', starting with a letter")
        return v

    @model_validator(mode="after")
    def _secret_only_for_webhook(self) -> ReceiverConfig:
        if self.secret_env is not None and self.type != "webhook":
            raise ValueError("`secret_env` is only used by a `webhook` receiver (an apprise URL takes `${NAME}` instead)")
        if self.headers and self.type != "webhook":
            raise ValueError("`headers` is only used by a `webhook` receiver")
        return self


class RouteConfig(_Strict):
    """A node of the route tree: which notifications it takes (by labels) and how it groups and repeats them."""

    receiver: str | None = Field(default=None, description="Receiver of the notifications this route takes (default: its parent's).")
    match: dict[str, str] = Field(
        default_factory=dict,
        description="Labels that must equal these values, e.g. `{severity: critical, model: tickets}`.")
    match_re: dict[str, str] = Field(
        default_factory=dict,
        description="Labels that must fully match these regular expressions, e.g. `{severity: 'critical|high'}`.")
    group_by: list[str] | None = Field(
        default=None,
        description="Labels that split notifications into groups; one message per group (default: the parent's, at the root "
                    "`[model]`, so one bad window of a model is one message; `['...']` groups by all labels, i.e. one "
                    "message per incident).")
    group_wait: str | int | float | None = Field(
        default=None,
        description="How long a new group waits to collect more notifications before its first message (default: "
                    "parent's, root `30s`).")
    group_interval: str | int | float | None = Field(
        default=None,
        description="Least time between two messages of the same group with new content (default: parent's, root `5m`).")
    repeat_interval: str | int | float | None = Field(
        default=None,
        description="How long before a still-firing group is notified again without news (default: parent's, root `4h`).")
    continue_: bool = Field(default=False, alias="continue", description="After matching this route, go on to try its later siblings too.")
    routes: list[RouteConfig] = Field(
        default_factory=list,
        description="Child routes, tried in order; the first that matches takes the notification (unless it has "
                    "`continue`).")

    @field_validator("group_wait", "group_interval", "repeat_interval")
    @classmethod
    def _interval(cls, v: str | int | float | None) -> str | int | float | None:
        return None if v is None else _check_interval(v)

    @field_validator("match_re")
    @classmethod
    def _regexes(cls, v: dict[str, str]) -> dict[str, str]:
        for key, pattern in v.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"match_re.{key}: not a valid regular expression: {exc}") from None
        return v


class RetrySettings(_Strict):
    """How failed deliveries are retried: exponential backoff with jitter, then given up."""

    max_attempts: int = Field(default=8, ge=1, le=100, description="Attempts per message before it is given up (and logged as failed).")
    backoff: str | int | float = Field(
        default="30s",
        description="Wait before the first retry; each later retry waits twice as long (with jitter).")
    max_backoff: str | int | float = Field(default="1h", description="Longest wait between two attempts.")
    jitter: float = Field(default=0.5, ge=0, le=1, description="Each wait is multiplied by a random factor in [1 - jitter, 1].")

    @field_validator("backoff", "max_backoff")
    @classmethod
    def _interval(cls, v: str | int | float) -> str | int | float:
        return _check_interval(v)


class NotificationsConfig(_Strict):
    """Where incident notifications go: receivers, the route tree that picks them, and retries."""

    receivers: list[ReceiverConfig] = Field(min_length=1, description="The receivers notifications can be sent to.")
    route: RouteConfig = Field(description="The root of the route tree; it must name a `receiver` (the default for everything).")
    dashboard_url: str | None = Field(
        default=None,
        description="Link to the dashboard put in every message; `{model}` and `{incident_id}` are filled in, e.g. `https://steward.example/models/{model}`.")
    retry: RetrySettings = Field(default_factory=RetrySettings, description="Retry of failed deliveries.")

    @model_validator(mode="after")
    def _receivers_known(self) -> NotificationsConfig:
        names: set[str] = set()
        for i, r in enumerate(self.receivers):
            if r.name in names:
                raise ValueError(f"receivers[{i}].name: receiver names must be unique; {r.name!r} is given twice")
            names.add(r.name)
        if self.route.receiver is None:
            raise ValueError("route.receiver: the root route must name a receiver")

        def walk(route: RouteConfig, path: str) -> None:
            if route.receiver is not None and route.receiver not in names:
                raise ValueError(f"{path}.receiver: unknown receiver {route.receiver!r}; configured: {', '.join(sorted(names))}")
            for j, child in enumerate(route.routes):
                walk(child, f"{path}.routes[{j}]")

        walk(self.route, "route")
        return self

    def receiver(self, name: str) -> ReceiverConfig:
        for r in self.receivers:
            if r.name == name:
                return r
        raise NotFoundError(f"unknown receiver {name!r}", hint=f"configured receivers: {', '.join(r.name for r in self.receivers)}")

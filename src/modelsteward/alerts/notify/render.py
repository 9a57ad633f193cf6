"""Message text for each kind of notification, as plain text, Markdown or HTML.

Every message says what happened (firing, acknowledged, escalated, resolved), the severity,
the value against the threshold, the window, the owner, the response SLA, and links to the
runbook and the dashboard. Text that comes from configuration or data (rule and model names,
summaries, comments) is escaped for the target: HTML entities for HTML, and for Markdown both
entities (chat services read ``<...>`` as markup) and backslashes before Markdown's own
punctuation. Only ``http(s)`` and ``mailto`` links become links; anything else is shown as text.

>>> from datetime import datetime
>>> from modelsteward.alerts.notify.model import Notification
>>> n = Notification(kind="firing", incident_id="inc-1", fingerprint="fp",
...                  labels={"model": "tickets", "rule": "acc_<b>"}, severity="high",
...                  summary="accuracy 0.81 < 0.85", value=0.81, threshold=0.85,
...                  window_start=datetime(2026, 1, 5), window_end=datetime(2026, 1, 12),
...                  owner="ml-team", runbook="https://wiki/acc", at=datetime(2026, 1, 12))
>>> print(render_text([n], dashboard_url="https://steward/{model}")[1])
FIRING · high · tickets / acc_<b>
accuracy 0.81 < 0.85
value 0.81 against threshold 0.85
window 2026-01-05 00:00 → 2026-01-12 00:00 UTC
owner: ml-team · response SLA: not set
runbook: https://wiki/acc
dashboard: https://steward/tickets
>>> "acc_&lt;b&gt;" in render_html([n])[1], "<b>" in render_html([n])[1]
(True, False)
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Literal

from modelsteward.alerts.notify.model import KINDS, Notification

__all__ = ["Format", "dashboard_link", "escape_markdown", "render", "render_html", "render_markdown", "render_text", "safe_url", "title"]

Format = Literal["text", "markdown", "html"]
_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#|~])")
_SAFE_URL = re.compile(r"^(https?://|mailto:)[^\s<>\"']+$", re.I)


def escape_markdown(text: str) -> str:
    """Escape text for Markdown (and chat markup): entities for ``&<>``, backslashes before punctuation.

    >>> escape_markdown("a_b <script>")
    'a\\\\_b &lt;script&gt;'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) or mailto link, else None (a ``javascript:`` link is never rendered as a link)."""
    return url if url and _SAFE_URL.match(url.strip()) else None


def dashboard_link(template: str | None, n: Notification) -> str | None:
    """The dashboard URL with ``{model}`` and ``{incident_id}`` filled in."""
    if not template:
        return None
    from urllib.parse import quote

    return template.replace("{model}", quote(n.model or "", safe="")).replace("{incident_id}", quote(n.incident_id, safe=""))


def _fmt_value(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.4g}"


def _fmt_time(x: datetime | None) -> str:
    return "?" if x is None else x.strftime("%Y-%m-%d %H:%M")


def title(notifications: Sequence[Notification], group: Mapping[str, str] | None = None) -> str:
    """One line: ``[FIRING] high · tickets / accuracy_drop`` or ``[FIRING:18, RESOLVED:2] model=tickets``."""
    counts = Counter(n.kind for n in notifications)
    if len(notifications) == 1:
        n = notifications[0]
        return f"[{n.kind.upper()}] {n.severity} · {n.model or '?'} / {n.rule or '?'}"
    kinds = ", ".join(f"{k.upper()}:{counts[k]}" for k in KINDS if counts[k])
    where = " ".join(f"{k}={v}" for k, v in (group or {}).items() if v) or "incidents"
    return f"[{kinds}] {where}"


def _facts(n: Notification, dashboard_url: str | None) -> list[tuple[str, str, str | None]]:
    """(label, text, link) lines of one notification; ``label`` empty for a plain line."""
    head = f"{n.kind.upper()} · {n.severity} · {n.model or '?'} / {n.rule or '?'}"
    lines: list[tuple[str, str, str | None]] = [("", head, None)]
    if n.summary:
        lines.append(("", n.summary, None))
    if n.value is not None or n.threshold is not None:
        lines.append(("", f"value {_fmt_value(n.value)} against threshold {_fmt_value(n.threshold)}", None))
    if n.window_start is not None or n.window_end is not None:
        lines.append(("", f"window {_fmt_time(n.window_start)} → {_fmt_time(n.window_end)} UTC", None))
    if n.kind == "acknowledged":
        lines.append(("", f"acknowledged by {n.actor or 'someone'}" + (f": {n.comment}" if n.comment else ""), None))
    elif n.kind == "escalated":
        level = f" (level {n.escalation_level})" if n.escalation_level is not None else ""
        lines.append(("", f"escalated to {n.escalate_to or 'the next step'}{level}: not handled within its response SLA", None))
    elif n.kind == "resolved":
        lines.append(("", "resolved" + (f" by {n.actor}" if n.actor else "") + (f": {n.comment}" if n.comment else ""), None))
    lines.append(("", f"owner: {n.owner or 'not set'} · response SLA: {n.response_sla or 'not set'}", None))
    if n.runbook:
        lines.append(("runbook", n.runbook, safe_url(n.runbook)))
    link = dashboard_link(dashboard_url, n)
    if link:
        lines.append(("dashboard", link, safe_url(link)))
    return lines


def render_text(notifications: Sequence[Notification], *, group: Mapping[str, str] | None = None,
                dashboard_url: str | None = None) -> tuple[str, str]:
    """(title, body) as plain text."""
    blocks = []
    for n in notifications:
        blocks.append("\n".join(f"{label}: {text}" if label else text for label, text, _ in _facts(n, dashboard_url)))
    return title(notifications, group), "\n\n".join(blocks)


def render_markdown(notifications: Sequence[Notification], *, group: Mapping[str, str] | None = None,
                    dashboard_url: str | None = None) -> tuple[str, str]:
    """(title, body) as Markdown, every value escaped."""
    blocks = []
    for n in notifications:
        out = []
        for i, (label, text, link) in enumerate(_facts(n, dashboard_url)):
            if label:
                if link:
                    out.append(f"[{escape_markdown(label)}]({link.replace(')', '%29').replace(' ', '%20')})")
                else:
                    out.append(f"{label}: {escape_markdown(text)}")
            else:
                out.append(f"**{escape_markdown(text)}**" if i == 0 else escape_markdown(text))
        blocks.append("  \n".join(out))
    return escape_markdown(title(notifications, group)), "\n\n".join(blocks)


def render_html(notifications: Sequence[Notification], *, group: Mapping[str, str] | None = None,
                dashboard_url: str | None = None) -> tuple[str, str]:
    """(title, body) as an HTML fragment, every value escaped."""
    blocks = []
    for n in notifications:
        out = []
        for i, (label, text, link) in enumerate(_facts(n, dashboard_url)):
            if label:
                if link:
                    out.append(f'<a href="{html.escape(link)}">{html.escape(label)}</a>')
                else:
                    out.append(f"{html.escape(label)}: {html.escape(text)}")
            else:
                out.append(f"<strong>{html.escape(text)}</strong>" if i == 0 else html.escape(text))
        blocks.append("<p>" + "<br>\n".join(out) + "</p>")
    return html.escape(title(notifications, group)), "\n".join(blocks)


def render(notifications: Sequence[Notification], fmt: Format = "text", *, group: Mapping[str, str] | None = None,
           dashboard_url: str | None = None) -> tuple[str, str]:
    """(title, body) in the given format."""
    fn = {"text": render_text, "markdown": render_markdown, "html": render_html}[fmt]
    return fn(notifications, group=group, dashboard_url=dashboard_url)

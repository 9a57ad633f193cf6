"""Message text: every kind carries what a responder needs, and names from config or data render inert."""

from __future__ import annotations

import html.parser
from datetime import datetime

import pytest

from modelsteward.alerts.notify.render import escape_markdown, render, safe_url

from .conftest import make_notification


@pytest.mark.parametrize("kind", ["firing", "acknowledged", "escalated", "resolved"])
@pytest.mark.parametrize("fmt", ["text", "markdown", "html"])
def test_every_kind_says_severity_value_threshold_window_owner_and_links(kind: str, fmt: str) -> None:
    n = make_notification(kind, value=0.8125, threshold=0.85, escalation_level=2, escalate_to="director",
                          actor="sam", comment="on it", window_start=datetime(2026, 3, 2), window_end=datetime(2026, 3, 9))
    title, body = render([n], fmt, dashboard_url="https://steward.example/m/{model}/i/{incident_id}")  # type: ignore[arg-type]
    assert kind.upper() in title and "high" in title
    for piece in ("0.8125", "0.85", "2026-03-02 00:00", "2026-03-09 00:00", "1h"):
        assert piece in body
    assert "ml-team" in body
    assert "https://runbooks.example/accuracy_drop" in body
    assert "https://steward.example/m/tickets/i/inc-1" in body
    if kind == "escalated":
        assert "director" in body and "level 2" in body
    if kind in ("acknowledged", "resolved"):
        assert "sam" in body and "on it" in body


def test_missing_owner_and_sla_are_said_not_invented() -> None:
    n = make_notification(owner=None, response_sla=None, runbook=None)
    _, body = render([n], "text")
    assert "owner: not set" in body and "response SLA: not set" in body and "runbook" not in body


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]


def test_html_is_escaped_and_only_safe_links_are_links() -> None:
    evil = "<script>alert(1)</script>"
    n = make_notification(rule=f"acc{evil}", summary=evil, comment=evil, runbook="javascript:alert(1)")
    title, body = render([n], "html", dashboard_url="https://steward.example/{model}")
    parser = _Tags()
    parser.feed(title + body)
    assert "script" not in parser.tags
    assert set(parser.tags) <= {"p", "strong", "br", "a"}
    assert parser.hrefs == ["https://steward.example/tickets"]  # the javascript: runbook is text, not a link


def test_markdown_is_escaped() -> None:
    n = make_notification(rule="a_b", summary="[click](http://evil) <img src=x>")
    _, body = render([n], "markdown")
    assert "<img" not in body and "\\[click\\]\\(http://evil\\)" in body
    assert escape_markdown("*x*") == "\\*x\\*"


def test_grouped_title_counts_each_kind() -> None:
    ns = [make_notification(incident=f"i{k}") for k in range(3)] + [make_notification("resolved", incident="r")]
    title, body = render(ns, "text", group={"model": "tickets", "severity": "high"})
    assert title == "[FIRING:3, RESOLVED:1] model=tickets severity=high"
    assert body.count("FIRING · high") == 3 and body.count("RESOLVED · high") == 1


def test_safe_url() -> None:
    assert safe_url("https://x.example/a") == "https://x.example/a"
    assert safe_url("mailto:ops@x.example") == "mailto:ops@x.example"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url('https://x.example/"onmouseover=') is None

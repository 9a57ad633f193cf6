"""Stored text that looks like markup renders inert: in every page, the HTML report, the
maintenance plan, and every notification format (HTML, Markdown, Slack through apprise, a JSON
webhook). Pages and documents are parsed with the standard library's HTML parser; a payload
that became markup would show up as an element or attribute (see :mod:`.inert`)."""

from __future__ import annotations

import http.server
import json
import re
import shutil
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import yaml
from click.testing import CliRunner
from fastapi.testclient import TestClient

from modelsteward.alerts.notify.model import Notification
from modelsteward.alerts.notify.receivers import Message, WebhookReceiver
from modelsteward.alerts.notify.render import render_html, render_markdown, render_text
from modelsteward.config import ReceiverConfig
from modelsteward.server.app import create_app
from modelsteward.server.web import data

from . import hostile
from .conftest import app_routes
from .hostile import CHAT, IMG, JS_URL, LABELS, MODEL, PAYLOADS, SCRIPT, SVG, TEXTAREA, UNICODE, USER
from .inert import injected, scan


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    folder = tmp_path_factory.mktemp("hostile")
    _, _, ids = hostile.build(folder)
    # The CLI reads a copy: the module's application keeps the original open for writing.
    cli = folder / "cli"
    cli.mkdir()
    shutil.copyfile(folder / "steward.duckdb", cli / "steward.duckdb")
    (cli / "steward.yaml").write_text(yaml.safe_dump({**hostile.config_dict(folder), "store": str(cli / "steward.duckdb")}),
                                      encoding="utf-8")
    return folder, ids


@pytest.fixture(scope="module")
def client(built: tuple[Path, dict[str, str]]) -> Iterator[TestClient]:
    folder, _ = built
    with TestClient(create_app(hostile.config(folder), store=folder / "steward.duckdb"), follow_redirects=False) as c:
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        signed = c.post("/login", data={"name": USER, "password": hostile.PASSWORD, "csrf_token": token.group(1), "next": "/"})
        assert signed.status_code == 303
        yield c


def _crawl(client: TestClient, ids: dict[str, str]) -> dict[str, tuple[int, str]]:
    model = hostile.config(Path(".")).models[0]
    base = f"/models/{MODEL}"
    urls = ["/", "/admin/tokens", base, f"{base}/drift", f"{base}/alerts", f"{base}/alerts?status=all", f"{base}/feedback", f"{base}/plan",
            f"{base}/review", f"{base}/review?state=decided", f"{base}/review?state=in_review"]
    urls += [f"{base}/drift/{subject}" for subject, _ in data.drift_subjects(model)]
    urls += [f"{base}/review/{quote(i)}" for i in ids.values() if i.startswith("ri-")]
    # Refusals that echo what was asked for: the error page must escape it too.
    urls += [f"/models/{quote(SCRIPT, safe='')}", f"{base}/drift/{quote(IMG, safe='')}", f"{base}/review/{quote(SVG, safe='')}",
             f"{base}/alerts?status={quote(TEXTAREA)}", f"{base}/review?state={quote(IMG)}", f"{base}/review?page={quote(SVG)}",
             f"{base}/drift/category?window={quote(SCRIPT)}"]
    out = {}
    for u in urls:
        r = client.get(u)
        if r.headers.get("content-type", "").startswith("application/json"):
            # A path that matches no page (an encoded `/` adds a segment) gets the API's JSON 404,
            # which browsers do not render as HTML.
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", u
            continue
        out[u] = (r.status_code, r.text)
    return out


def test_every_page_renders_hostile_values_inert(client: TestClient, built: tuple[Path, dict[str, str]]) -> None:
    _, ids = built
    pages = _crawl(client, ids)
    # Every GET page route of the application was visited (a new page must be added to the crawl).
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", r.path) + "$") for r in app_routes(client.app)  # type: ignore[arg-type]
                if r.method == "GET" and not r.path.startswith(("/api", "/static", "/docs", "/healthz", "/readyz", "/metrics", "/login"))
                and not r.path.endswith("/export")]  # an export is a Parquet download, not a page
    unvisited = [p.pattern for p in patterns if not any(p.match(u.split("?")[0]) for u in pages if pages[u][0] in (200, 303))]
    assert unvisited == []
    text = []
    for url, (status, html) in pages.items():
        assert status in (200, 303, 400, 404), (url, status)
        assert injected(html) == [], url
        text.append(scan(html).all_text())
    shown = "\n".join(text)
    missing = [p for p in PAYLOADS + [USER, LABELS[0], "team" + SCRIPT, f"v2{UNICODE}"] if p not in shown]
    assert missing == []  # each payload is rendered as text somewhere: escaped, not dropped


def test_login_refuses_a_script_url_as_its_next_page(client: TestClient) -> None:
    fresh = TestClient(client.app, follow_redirects=False)
    for target in (JS_URL, "//evil.example", "/\\evil.example", "/x\r\nSet-Cookie: a=b", '/"><img data-pwn=1 src=x onerror=alert(1)>'):
        page = fresh.get("/login?next=" + quote(target, safe=""))
        assert page.status_code == 200 and injected(page.text) == []
        nxt = [a.get("value") for t, a in scan(page.text).tags if t == "input" and a.get("name") == "next"]
        assert nxt and all(v is not None and v.startswith("/") and not v.startswith("//") for v in nxt), nxt


def _cli(*args: str) -> str:
    from modelsteward.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_html_report_renders_hostile_values_inert(built: tuple[Path, dict[str, str]]) -> None:
    folder, _ = built
    out = folder / "report.html"
    _cli("report", "-c", str(folder / "cli" / "steward.yaml"), "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert injected(html, inline_scripts_ok=True) == []
    text = scan(html).all_text()
    assert f"page {SCRIPT} {CHAT}" in text  # the rule's action, shown as text


def test_maintenance_plan_renders_hostile_values_inert(built: tuple[Path, dict[str, str]]) -> None:
    folder, _ = built
    cfg = str(folder / "cli" / "steward.yaml")
    html = _cli("plan", "-c", cfg, "--format", "html")
    assert injected(html) == []
    text = scan(html).all_text()
    for payload in (SCRIPT, IMG, JS_URL):
        assert payload in text, payload
    assert not any(t == "a" and a.get("href", "").lower().startswith("javascript") for t, a in scan(html).tags)
    md = _cli("plan", "-c", cfg, "--format", "md")
    # Markdown renderers pass raw HTML through: no payload may arrive as a tag or a link target.
    for raw in ("<script", "<img", "<svg", "<b ", "<i ", "</textarea", "<!channel", "<@U", "<http", "](javascript"):
        assert raw not in md.lower(), raw


# -- notifications -------------------------------------------------------------------------------
def _notifications() -> list[Notification]:
    common: dict[str, Any] = dict(fingerprint="fp", severity="high", value=0.5, threshold=0.85, window_start=datetime(2026, 1, 5),
                                  window_end=datetime(2026, 1, 12), owner=f"team{SCRIPT}", runbook=JS_URL, response_sla=f"1h{IMG}",
                                  at=datetime(2026, 1, 12))
    labels = {"model": MODEL, "rule": f"acc{SVG}", "team": CHAT, "note": TEXTAREA}
    return [Notification(kind="firing", incident_id="inc-1", labels=labels, summary=f"accuracy {SCRIPT} {CHAT}", **common),
            Notification(kind="acknowledged", incident_id="inc-1", labels=labels, summary="s", actor=f"eve{IMG}",
                         comment=f"{TEXTAREA} {UNICODE}", **common),
            Notification(kind="resolved", incident_id="inc-1", labels=labels, summary="s", actor="x", comment=CHAT, **common)]


def test_notification_html_is_inert_and_links_only_http() -> None:
    title, body = render_html(_notifications(), dashboard_url="https://steward.example/models/{model}")
    assert injected(f"<html><head><title>{title}</title></head><body>{body}</body></html>") == []
    hrefs = [a["href"] for t, a in scan(body).tags if t == "a"]
    assert hrefs and all(h.startswith("https://steward.example/") for h in hrefs)  # the javascript: runbook is text, not a link
    text = scan(body).all_text()
    for payload in (SCRIPT, IMG, SVG, CHAT, TEXTAREA, UNICODE, JS_URL):
        assert payload in text


def test_notification_markdown_has_no_raw_markup_or_mentions() -> None:
    title, body = render_markdown(_notifications())
    for part in (title, body):
        assert "<" not in part and ">" not in part.replace("&gt;", "")  # every angle bracket is an entity
        assert "](javascript" not in part.lower()


def _slack_payloads(markdown: str, title: str) -> list[dict[str, Any]]:
    """What apprise would POST to Slack for this message (its HTTP call replaced by a recorder: Slack is off-network here)."""
    import apprise
    import apprise.plugins.slack as slack_plugin

    sent: list[dict[str, Any]] = []

    class Answer:
        status_code, content, text, headers = 200, b"ok", "ok", {}

        def json(self) -> dict[str, bool]:
            return {"ok": True}

    def record(method: str, url: str, data: Any = None, **kw: Any) -> Answer:
        sent.append(json.loads(data))
        return Answer()

    original = slack_plugin.requests.request
    slack_plugin.requests.request = record  # type: ignore[assignment]
    try:
        notifier = apprise.Apprise()
        assert notifier.add("slack://T000/B000/XXXXXXXX")
        assert notifier.notify(body=markdown, title=title, body_format=apprise.NotifyFormat.MARKDOWN)
    finally:
        slack_plugin.requests.request = original  # type: ignore[assignment]
    return sent


def test_slack_message_through_apprise_carries_no_mention_or_foreign_link() -> None:
    notes = _notifications()
    title, _ = render_text(notes)
    _, markdown = render_markdown(notes)
    [payload] = _slack_payloads(markdown, title)
    posted = json.dumps(payload)
    texts = [payload.get("text", "")] + [a.get("title", "") + "\n" + a.get("text", "") for a in payload.get("attachments", [])]
    joined = "\n".join(texts)
    # Slack's control sequences are <!...>, <@...>, <#...> and <url|text>: only our own https link may appear.
    controls = re.findall(r"<([^<>]*)>", joined)
    assert all(c.startswith("https://") and "evil" not in c for c in controls), controls
    assert "javascript:" not in " ".join(controls) and "<!channel" not in posted


class _Receiver(http.server.BaseHTTPRequestHandler):
    bodies: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        n = int(self.headers["Content-Length"])
        type(self).bodies.append((dict(self.headers), self.rfile.read(n)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhook_payload_is_json_that_round_trips_the_hostile_text() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        notes = _notifications()
        title, text = render_text(notes)
        _, md = render_markdown(notes)
        _, html_ = render_html(notes)
        payload = {"notifications": [n.to_dict() if hasattr(n, "to_dict") else {"summary": n.summary, "labels": dict(n.labels)}
                                     for n in notes]}
        receiver = WebhookReceiver(ReceiverConfig(name="hook", type="webhook", url=f"http://127.0.0.1:{server.server_port}/x"))
        assert receiver.send(Message(title=title, text=text, markdown=md, html=html_, payload=payload)) == 204
    finally:
        server.shutdown()
    headers, raw = _Receiver.bodies[-1]
    assert headers["Content-Type"] == "application/json"
    body = json.loads(raw)  # one JSON document: the text could not break out of its strings
    assert body["title"] == title and body["text"] == text
    assert SCRIPT in body["text"] and CHAT in body["text"]
    got = body["notifications"][0]
    assert got["labels"]["team"] == CHAT and SCRIPT in got["summary"]


def test_email_through_apprise_has_an_inert_html_part() -> None:
    import email

    from modelsteward.alerts.notify.receivers import AppriseReceiver

    from .sinks import smtp_sink

    notes = _notifications()
    title, text = render_text(notes)
    _, md = render_markdown(notes)
    with smtp_sink() as (port, messages):
        url = f"mailto://127.0.0.1:{port}?from=steward@example.com&to=oncall@example.com&mode=insecure"
        AppriseReceiver(ReceiverConfig(name="mail", type="apprise", url=url)).send(
            Message(title=title, text=text, markdown=md, html=render_html(notes)[1]))
    [raw] = messages
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in email.message_from_bytes(raw).walk()
             if not p.is_multipart()}
    html = parts["text/html"]
    assert injected(html) == []
    shown = scan(html).all_text()
    assert SCRIPT in shown and IMG in shown  # as text
    assert "\n" not in email.message_from_bytes(raw)["Subject"].strip()  # no header injection through the title


def test_the_inert_check_finds_each_kind_of_injection() -> None:
    # The checker must fail on what it looks for, or the tests above prove nothing.
    bad = ['<b data-pwn=1>x</b>', '<img src=x onerror=alert(1)>', '<a href=" jaVa\tscript:alert(1)">x</a>', '<script>alert(1)</script>',
           '<script type="application/json">{"a": "</b><b data-pwn=2>"}</script>', '<textarea></textarea><svg onload=x>']
    for html in bad:
        assert injected(html) != [], html
    fine = '<p>&lt;script&gt;</p><script src="/static/web/a.js"></script>'
    assert injected(fine + '<script type="application/json">{"a": "\\u003c"}</script>') == []

"""Dashboard pages through the in-process client: sign-in, escaping, CSRF, roles, pagination, headers."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from modelsteward.review.queue import item_id_for

from .conftest import form_token
from .scenario import MODEL, XSS

PAGES = ["", "/drift", "/drift/category", "/drift/length", "/drift/confidence", "/drift/prediction", "/drift/label",
         "/alerts", "/alerts?status=all", "/review", "/feedback", "/plan"]


class _Elements(HTMLParser):
    """Every start tag and its attributes, and the text of each <script> element."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def _parse(text: str) -> _Elements:
    parser = _Elements()
    parser.feed(text)
    return parser


def _assert_inert(text: str) -> None:
    """No element, attribute or executable script came from stored data."""
    doc = _parse(text)
    for tag, attrs in doc.tags:
        assert tag not in ("img", "svg"), f"a stored value became a <{tag}> element"
        assert not any(name.startswith("on") for name in attrs), f"a stored value became an event handler on <{tag}>"
    for attrs, body in doc.scripts:
        if attrs.get("type") == "application/json":
            assert "<" not in body  # JSON data: no markup inside, so it cannot end its element
        else:
            assert attrs.get("src", "").startswith("/static/web/") and body.strip() == "", "only the server's own script files run"


def test_pages_need_a_session(client: TestClient) -> None:
    for path in PAGES:
        answer = client.get(f"/models/{MODEL}{path}")
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/login?next=")


def test_sign_in_returns_to_the_page_asked_for(client: TestClient) -> None:
    answer = client.get(f"/models/{MODEL}/alerts?status=all")
    target = answer.headers["location"]
    page = client.get(target)
    assert 'name="next" value="/models/tickets/alerts?status=all"' in page.text
    done = client.post("/login", data={"name": "vic", "password": "vic-viewer-pw", "csrf_token": form_token(page.text),
                                       "next": "/models/tickets/alerts?status=all"})
    assert done.status_code == 303 and done.headers["location"] == "/models/tickets/alerts?status=all"
    cookie = done.headers["set-cookie"]
    assert "steward_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")


def test_sign_in_refuses_a_wrong_password_and_a_foreign_next(client: TestClient) -> None:
    page = client.get("/login?next=//evil.example/x")
    assert 'name="next" value="/"' in page.text  # only local paths are kept
    wrong = client.post("/login", data={"name": "vic", "password": "nope", "csrf_token": form_token(page.text), "next": "/"})
    assert wrong.status_code == 401 and "Unknown user or wrong password." in wrong.text
    assert "steward_session" not in wrong.headers.get("set-cookie", "")


def test_sign_in_form_needs_its_token(client: TestClient) -> None:
    client.get("/login")
    answer = client.post("/login", data={"name": "vic", "password": "vic-viewer-pw", "csrf_token": "forged", "next": "/"})
    assert answer.status_code == 403
    assert "steward_session" not in answer.headers.get("set-cookie", "")


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_escaped_with_a_strict_policy(signed_in: Callable[[str], TestClient], path: str) -> None:
    client = signed_in("alice")
    answer = client.get(f"/models/{MODEL}{path}")
    assert answer.status_code == 200, answer.text
    policy = answer.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert answer.headers["x-frame-options"] == "DENY"
    _assert_inert(answer.text)
    for payload in XSS:
        assert payload not in answer.text  # never verbatim: escaped in HTML, \u003c-escaped in chart JSON


def test_payloads_show_as_text_where_they_are_data(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("alice")
    drift = client.get(f"/models/{MODEL}/drift/category").text
    specs = [body for attrs, body in _parse(drift).scripts if attrs.get("type") == "application/json"]
    import json

    categories = json.loads(specs[0])["data"][0]["x"]
    # Plotly would interpret tags in its text, so labels arrive HTML-escaped and Plotly shows them literally.
    assert html.escape(XSS[0], quote=False) in categories
    item = client.get(f"/models/{MODEL}/review/{item_id_for(MODEL, 'w3-0001')}")
    assert item.status_code == 200
    table = item.text[item.text.index('<table id="input">'):]
    cells = re.findall(r"<td>([^<]*)</td>", table[:table.index("</table>")])
    assert XSS[1] in [html.unescape(c) for c in cells]  # the stored value, as text: escaped, no tag inside the cell
    _assert_inert(item.text)


def _post(client: TestClient, path: str, page: str, **fields: str) -> object:
    return client.post(path, data={"csrf_token": form_token(client.get(page).text), **fields})


def _incident(client: TestClient, rule: str) -> str:
    text = client.get(f"/models/{MODEL}/alerts").text
    found = re.search(r'<tr id="incident-(inc-[0-9a-f]+)">\s*<td>[^<]*</td><td[^>]*>[^<]*</td><td>' + rule + "</td>", text)
    assert found, f"no incident of {rule} on the page"
    return found.group(1)


def test_acknowledge_needs_the_session_csrf_token(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("rita")
    incident = _incident(client, "accuracy_drop")
    path = f"/models/{MODEL}/alerts/{incident}/acknowledge"
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": ""}):
        refused = client.post(path, data=data)
        assert refused.status_code == 403 and "security token" in refused.text
    assert client.app.state.monitor.alerting.incident(incident)["status"] == "open"  # type: ignore[attr-defined]
    # A token from another session does not pass either.
    other = TestClient(client.app, follow_redirects=False)
    from .conftest import sign_in

    sign_in(other, "alice")
    foreign = form_token(other.get(f"/models/{MODEL}/alerts").text)
    assert client.post(path, data={"csrf_token": foreign}).status_code == 403
    done = client.post(path, data={"csrf_token": form_token(client.get(f"/models/{MODEL}/alerts").text), "comment": "on it",
                                   "by": "mallory", "reviewer": "mallory"})
    assert done.status_code == 303
    row = client.app.state.monitor.alerting.incident(incident)  # type: ignore[attr-defined]
    assert (row["status"], row["acknowledged_by"], row["ack_comment"]) == ("acknowledged", "rita", "on it")  # from the session


def test_roles(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("vic")  # viewer: reads, may not act
    incident = _incident(client, "accuracy_drop")
    page = f"/models/{MODEL}/alerts"
    assert "Acknowledge</button>" not in client.get(page).text
    for path in (f"/models/{MODEL}/alerts/{incident}/acknowledge", f"/models/{MODEL}/alerts/{incident}/resolve",
                 f"/models/{MODEL}/review/claim"):
        answer = _post(client, path, page)
        assert answer.status_code == 403 and "needs the reviewer role" in answer.text  # type: ignore[attr-defined]
    client = signed_in("rita")  # reviewer: acknowledges, may not silence
    assert "Acknowledge</button>" in client.get(page).text and "Silence rule</button>" not in client.get(page).text
    answer = _post(client, f"/models/{MODEL}/alerts/{incident}/silence", page, hours="2", comment="noise")
    assert answer.status_code == 403 and "needs the admin role" in answer.text  # type: ignore[attr-defined]
    assert client.app.state.monitor.alerting.silences() == []  # type: ignore[attr-defined]
    client = signed_in("alice")  # admin: silences
    answer = _post(client, f"/models/{MODEL}/alerts/{incident}/silence", page, hours="2", comment="known noise")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    [silence] = client.app.state.monitor.alerting.silences()  # type: ignore[attr-defined]
    assert silence.created_by == "alice" and {str(m) for m in silence.matchers} == {f"model={MODEL}", "rule=accuracy_drop"}
    assert (silence.ends_at - silence.starts_at).total_seconds() == 2 * 3600


def test_review_decision_takes_the_reviewer_from_the_session(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("rita")
    queue_page = f"/models/{MODEL}/review"
    claimed = _post(client, f"{queue_page}/claim", queue_page)
    assert claimed.status_code == 303  # type: ignore[attr-defined]
    item_path = claimed.headers["location"].split("?")[0]  # type: ignore[attr-defined]
    item_id = item_path.rsplit("/", 1)[1]
    monitor = client.app.state.monitor  # type: ignore[attr-defined]
    item = monitor.review_queue(MODEL).item(item_id)
    assert (item.state, item.holder) == ("in_review", "rita")
    other = "routine" if item.suggestion == "urgent" else "urgent"
    decided = _post(client, f"{item_path}/decide", item_path, decision="correct", label=other, comment="x", reviewer="mallory")
    assert decided.status_code == 303  # type: ignore[attr-defined]
    [decision] = monitor.review_queue(MODEL).decisions(item_id)
    assert (decision["reviewer"], decision["decision"], decision["label"]) == ("rita", "correct", other)
    # Deciding again is refused by the queue and shown as a conflict, not a crash.
    again = _post(client, f"{item_path}/decide", item_path, decision="accept")
    assert again.status_code == 409  # type: ignore[attr-defined]


def test_review_queue_paginates(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("vic")
    monitor = client.app.state.monitor  # type: ignore[attr-defined]
    expected = [r[0] for r in monitor.store.query(
        "SELECT prediction_id FROM review_items WHERE model = ? AND state = 'pending' "
        "ORDER BY priority_rank DESC, due_at NULLS LAST, routed_at, item_id", [MODEL])]
    assert len(expected) > 50  # the scenario has more than two pages
    seen: list[str] = []
    number = 1
    while True:
        text = client.get(f"/models/{MODEL}/review?state=pending&page={number}").text
        rows = re.findall(r'<tr><td><a href="/models/tickets/review/ri-[0-9a-f]+">([^<]+)</a>', text)
        assert len(rows) <= 25
        seen += rows
        if 'rel="next"' not in text:
            break
        number += 1
    assert seen == expected  # every item once, in claim order
    assert client.get(f"/models/{MODEL}/review?page=999").status_code == 200  # clamped to the last page
    assert client.get(f"/models/{MODEL}/review?page=abc").status_code == 400


def test_drift_page_shows_effect_sizes_and_p_values(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("vic")
    monitor = client.app.state.monitor  # type: ignore[attr-defined]
    from modelsteward.drift.registry import format_p

    rows = {r["test"]: r for r in monitor.drift(MODEL) if r["subject"] == "length"
            and r["window_start"] == max(d["window_start"] for d in monitor.drift(MODEL))}
    text = client.get(f"/models/{MODEL}/drift/length").text
    table = text[text.index('<table id="drift-tests">'):text.index("</table>", text.index('<table id="drift-tests">'))]
    for test in ("ks", "wasserstein", "psi", "verdict"):
        assert f"<td>{test}</td>" in table
    assert format_p(rows["ks"]["p_value"]) in table
    assert f"{rows['ks']['effect_size']:.4g}" in table
    assert client.get(f"/models/{MODEL}/drift/nope").status_code == 404
    assert client.get(f"/models/{MODEL}/drift/length?window=2020-01-01T00:00:00").status_code == 404


def test_plotly_is_served_from_the_package_with_its_rules(client: TestClient) -> None:
    from pathlib import Path

    import plotly

    answer = client.get("/static/web/plotly.min.js")
    assert answer.status_code == 200
    assert answer.content == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    css = client.get("/static/web/plotly.css").text
    assert ".js-plotly-plot .plotly .modebar" in css and css.count("{") > 20
    assert client.get("/static/web/../app.py").status_code == 404
    assert client.get("/static/web/data.py").status_code == 404


def test_logout_revokes_the_session(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("vic")
    token = client.cookies.get("steward_session")
    page = client.get(f"/models/{MODEL}")
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert client.post("/logout", data={"csrf_token": form_token(page.text)}).status_code == 303
    client.cookies.set("steward_session", token)  # replaying the old cookie does not work
    assert client.get(f"/models/{MODEL}").status_code == 303


def _chart_specs(text: str) -> list[dict[str, object]]:
    import json

    return [json.loads(body) for attrs, body in _parse(text).scripts if attrs.get("type") == "application/json"]


def test_distribution_chart_matches_the_stored_rows(signed_in: Callable[[str], TestClient]) -> None:
    from collections import Counter
    from datetime import timedelta

    import pyarrow.parquet as pq

    from .scenario import START, WEEKS

    client = signed_in("vic")
    monitor = client.app.state.monitor  # type: ignore[attr-defined]
    last = START + timedelta(weeks=WEEKS - 1)
    spec = _chart_specs(client.get(f"/models/{MODEL}/drift/category?window={last.isoformat()}").text)[0]
    data = spec["data"]
    assert isinstance(data, list)
    labels = [html.unescape(x) for x in data[0]["x"]]
    reference, current = dict(zip(labels, data[0]["y"], strict=True)), dict(zip(labels, data[1]["y"], strict=True))
    # Independently: the training file's categories, and the window's rows counted in Python.
    training = Counter(pq.read_table(monitor.model(MODEL).reference.file).column("category").to_pylist())
    rows = [r[0] for r in monitor.store.query(
        'SELECT "f_category" FROM "predictions__tickets" WHERE ts >= ? AND ts < ?', [last, last + timedelta(weeks=1)])]
    window = Counter(rows)
    assert set(labels) == set(training) | set(window)
    for cat in labels:
        assert reference[cat] == pytest.approx(training[cat] / sum(training.values()), abs=1e-12)
        assert current[cat] == pytest.approx(window[cat] / len(rows), abs=1e-12)


def test_overview_panels_carry_the_course_dashboard(signed_in: Callable[[str], TestClient]) -> None:
    client = signed_in("vic")
    monitor = client.app.state.monitor  # type: ignore[attr-defined]
    specs = _chart_specs(client.get(f"/models/{MODEL}").text)
    titles = [s["layout"]["title"]["text"] for s in specs]  # type: ignore[index]
    assert titles == ["Model Accuracy Over Time", "Model Confidence Over Time", "Input Distribution (Data Drift)", "Volume",
                      "Latency", "Errors and label coverage", "Estimated against realised accuracy"]
    accuracy = specs[0]
    stored = monitor.metrics(MODEL).column("accuracy").to_pylist()
    assert accuracy["data"][0]["y"] == stored  # type: ignore[index]
    lines = {s["name"]: s["y0"] for s in accuracy["layout"]["shapes"] if s["type"] == "line"}  # type: ignore[index]
    assert sorted(lines.values()) == [0.85, 0.88]  # the rule's threshold and the configured training baseline
    latency = {t["name"]: t["y"] for t in specs[4]["data"]}  # type: ignore[index]
    assert list(latency) == ["p50", "p95", "p99"]
    # Realised accuracy of the last window, recomputed from the rows and their labels.
    rows = monitor.store.query(
        "SELECT p.prediction, f.label FROM predictions__tickets p JOIN feedback f USING (prediction_id) "
        "WHERE p.ts >= (SELECT max(window_start) FROM window_metrics) AND f.label IS NOT NULL")
    assert accuracy["data"][0]["y"][-1] == pytest.approx(sum(p == lab for p, lab in rows) / len(rows), abs=1e-12)  # type: ignore[index]
    estimated = {t["name"] for t in specs[6]["data"]}  # type: ignore[index]
    assert {"Estimated (CBPE)", "Estimate lower bound", "Estimate upper bound", "Realised (labelled)"} == estimated

"""Nobody acts as someone else: the actor on a decision, an acknowledgement or a silence is the
token's owner or the signed-in user, never a field of the request; an item held by one reviewer
cannot be decided by another; a form token of one session is worthless in another."""

from __future__ import annotations

from fastapi.testclient import TestClient

from modelsteward.server import auth

from .conftest import MODEL, Secured, bearer, fill, form_token, sign_in

API = f"/api/v1/models/{MODEL}"
IMPERSONATION = {"reviewer": "mallory", "by": "mallory", "actor": "mallory", "created_by": "mallory", "holder": "mallory",
                 "user": "mallory", "acknowledged_by": "mallory"}


def _two_reviewers(s: Secured) -> tuple[str, str]:
    _, alice = auth.create_token(s.store, name="alice", scopes=["review", "read"])
    _, bob = auth.create_token(s.store, name="bob", scopes=["review", "read"])
    return alice, bob


def test_api_bodies_naming_an_actor_are_refused(secured: Secured) -> None:
    mon = secured.client.app.state.monitor  # type: ignore[attr-defined]
    incident, [item, *_] = fill(mon)
    alice, _ = _two_reviewers(secured)
    c = secured.client
    assert c.post(f"{API}/review/claim", json={"item_id": item}, headers=bearer(alice)).status_code == 200
    for field, value in IMPERSONATION.items():
        attempts = [
            (f"{API}/review/items/{item}/decide", {"decision": "accept", field: value}),
            (f"{API}/review/claim", {"item_id": item, field: value}),
            (f"{API}/incidents/{incident}/acknowledge", {"comment": "x", field: value}),
            (f"{API}/silences", {"duration": "1h", "comment": "x", "matchers": [], field: value}),
            (f"{API}/feedback", {"prediction_id": "q1", "kind": "expert", "label": "billing", field: value}),
        ]
        for path, body in attempts:
            answer = c.post(path, json=body, headers=bearer(alice if "feedback" not in path else secured.tokens["ingest"]))
            assert answer.status_code == 422, (path, field, answer.text)
            assert answer.json()["error"]["records"][0]["field"] == field
    batch = c.post(f"{API}/feedback:batch", json={"records": [{"prediction_id": "q1", "kind": "expert", "label": "billing",
                                                               "reviewer": "mallory"}]}, headers=bearer(secured.tokens["ingest"]))
    assert batch.status_code == 422 and "reviewer" in batch.text
    assert mon.review_queue(MODEL).decisions() == [] and mon.alerting.incident(incident)["status"] == "open"
    assert mon.alerting.silences() == []
    assert mon.store.query("SELECT count(*) FROM feedback WHERE kind = 'expert'") == [(0,)]


def test_api_actor_is_the_token_owner(secured: Secured) -> None:
    mon = secured.client.app.state.monitor  # type: ignore[attr-defined]
    incident, [item, *_] = fill(mon)
    alice, _ = _two_reviewers(secured)
    c = secured.client
    assert c.post(f"{API}/review/claim", json={"item_id": item}, headers=bearer(alice)).json()["item"]["holder"] == "alice"
    assert c.post(f"{API}/review/items/{item}/decide", json={"decision": "accept"}, headers=bearer(alice)).status_code == 200
    assert [d["reviewer"] for d in mon.review_queue(MODEL).decisions(item)] == ["alice"]
    assert c.post(f"{API}/incidents/{incident}/acknowledge", json={"comment": "mine"}, headers=bearer(alice)).status_code == 200
    assert mon.alerting.incident(incident)["acknowledged_by"] == "alice"
    feedback = c.post(f"{API}/feedback", json={"prediction_id": "q2", "kind": "expert", "label": "billing"},
                      headers=bearer(secured.tokens["ingest"]))
    assert feedback.status_code == 201, feedback.text
    assert mon.store.query("SELECT reviewer FROM feedback WHERE kind = 'expert' AND prediction_id = 'q2'") == [("ingest-bot",)]


def test_api_reviewer_cannot_decide_an_item_held_by_another(secured: Secured) -> None:
    mon = secured.client.app.state.monitor  # type: ignore[attr-defined]
    _, [item, other, *_] = fill(mon)
    alice, bob = _two_reviewers(secured)
    c = secured.client
    assert c.post(f"{API}/review/claim", json={"item_id": item}, headers=bearer(alice)).json()["item"]["item_id"] == item
    refused = c.post(f"{API}/review/items/{item}/decide", json={"decision": "reject"}, headers=bearer(bob))
    assert refused.status_code == 409 and refused.json()["error"]["holder"] == "alice"
    stolen = c.post(f"{API}/review/claim", json={"item_id": item}, headers=bearer(bob))
    assert stolen.status_code == 409 and stolen.json()["error"]["holder"] == "alice"  # cannot take a held item
    unclaimed = c.post(f"{API}/review/items/{other}/decide", json={"decision": "reject"}, headers=bearer(bob))
    assert unclaimed.status_code == 409  # nor decide one nobody holds
    assert mon.review_queue(MODEL).decisions() == []
    assert mon.review_queue(MODEL).item(item).holder == "alice"


def _page_post(c: TestClient, path: str, csrf: str, **fields: str) -> object:
    return c.post(path, data={"csrf_token": csrf, **fields})


def test_page_form_fields_naming_an_actor_are_ignored(secured: Secured) -> None:
    c = secured.client
    mon = c.app.state.monitor  # type: ignore[attr-defined]
    incident, [item, *_] = fill(mon)
    sign_in(c, "ada")
    csrf = form_token(c.get(f"/models/{MODEL}/alerts").text)
    base = f"/models/{MODEL}"
    assert _page_post(c, f"{base}/review/{item}/claim", csrf, **IMPERSONATION).status_code == 303  # type: ignore[attr-defined]
    assert mon.review_queue(MODEL).item(item).holder == "ada"
    assert _page_post(c, f"{base}/review/{item}/decide", csrf, decision="accept", **IMPERSONATION).status_code == 303  # type: ignore[attr-defined]
    assert [d["reviewer"] for d in mon.review_queue(MODEL).decisions(item)] == ["ada"]
    assert _page_post(c, f"{base}/alerts/{incident}/acknowledge", csrf, comment="c", **IMPERSONATION).status_code == 303  # type: ignore[attr-defined]
    assert mon.alerting.incident(incident)["acknowledged_by"] == "ada"
    assert _page_post(c, f"{base}/alerts/{incident}/silence", csrf, hours="1", comment="c", **IMPERSONATION).status_code == 303  # type: ignore[attr-defined]
    assert [s.created_by for s in mon.alerting.silences()] == ["ada"]
    assert _page_post(c, f"{base}/alerts/{incident}/resolve", csrf, comment="c", **IMPERSONATION).status_code == 303  # type: ignore[attr-defined]
    assert mon.alerting.incident(incident)["resolved_by"] == "ada"


def test_page_reviewer_cannot_decide_an_item_held_by_another(secured: Secured) -> None:
    c = secured.client
    mon = c.app.state.monitor  # type: ignore[attr-defined]
    _, [item, *_] = fill(mon)
    sign_in(c, "ada")
    csrf = form_token(c.get(f"/models/{MODEL}/review").text)
    assert _page_post(c, f"/models/{MODEL}/review/{item}/claim", csrf).status_code == 303  # type: ignore[attr-defined]
    sign_in(c, "rex")
    csrf = form_token(c.get(f"/models/{MODEL}/review").text)
    refused = _page_post(c, f"/models/{MODEL}/review/{item}/decide", csrf, decision="reject")
    assert refused.status_code == 409  # type: ignore[attr-defined]
    taken = _page_post(c, f"/models/{MODEL}/review/{item}/claim", csrf)
    assert taken.status_code == 409  # type: ignore[attr-defined]
    assert mon.review_queue(MODEL).decisions() == [] and mon.review_queue(MODEL).item(item).holder == "ada"


def test_a_form_token_of_one_session_fails_in_another(secured: Secured) -> None:
    c = secured.client
    mon = c.app.state.monitor  # type: ignore[attr-defined]
    incident, [item, *_] = fill(mon)
    sign_in(c, "ada")
    ada_csrf = form_token(c.get(f"/models/{MODEL}/alerts").text)
    ada_second = TestClient(c.app, follow_redirects=False)
    sign_in(ada_second, "ada")  # the same user, another session: its own token
    second_csrf = form_token(ada_second.get(f"/models/{MODEL}/alerts").text)
    assert second_csrf != ada_csrf
    sign_in(c, "rex")
    base = f"/models/{MODEL}"
    posts = [f"{base}/alerts/{incident}/acknowledge", f"{base}/alerts/{incident}/resolve", f"{base}/review/claim",
             f"{base}/review/{item}/claim", f"{base}/review/{item}/decide", "/logout"]
    for path in posts:
        for token in (ada_csrf, second_csrf, "", ada_csrf[:-1] + ("0" if ada_csrf[-1] != "0" else "1")):
            answer = _page_post(c, path, token, decision="accept", comment="x")
            assert answer.status_code == 403 and "security token" in answer.text, (path, answer.status_code)  # type: ignore[attr-defined]
    assert mon.alerting.incident(incident)["status"] == "open" and mon.review_queue(MODEL).item(item).state == "pending"
    assert auth.session_user(secured.store, c.cookies.get(auth.SESSION_COOKIE)) is not None  # logout refused too

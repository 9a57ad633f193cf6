"""The one error shape for errors nobody planned: a crash is a 500 in the shape, with no detail leaked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelsteward import errors as lib
from modelsteward.server.app import create_app
from modelsteward.server.errors import status_of


def test_an_unexpected_exception_is_a_500_in_the_shape_and_logged(config_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(config_file, dev=True)

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError("internal detail: /secret/path")

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.json() == {"error": {"status": 500, "code": "internal_error", "field": None, "records": [],
                                  "message": "the server failed on this request; its log has the details"}}
    assert "RuntimeError" in caplog.text


@pytest.mark.parametrize(("exc", "status"), [
    (lib.NotFoundError("x"), 404),
    (lib.ConflictError("x", ids=["a"]), 409),
    (lib.ReviewStateError("x", item_id="i"), 409),
    (lib.IncidentStateError("x", incident_id="i", status="resolved"), 409),
    (lib.BatchRejected([lib.RowError(0, "a", "f", "bad")], total=1), 422),
    (lib.ConfigError("x"), 422),
    (lib.StoreError("x"), 503),
    (lib.StewardError("x"), 400),
])
def test_library_errors_map_to_http_statuses(exc: lib.StewardError, status: int) -> None:
    assert status_of(exc) == status

"""``steward demo --serve``: the lab's store behind the dashboard, with a sign-in printed for it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import SERVE, free_port

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_demo_serve_prints_a_sign_in_that_opens_the_overview(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    proc = subprocess.Popen([sys.executable, "-c", SERVE, "demo", "--dir", str(tmp_path / "demo"), "--serve", "--port", str(port)],
                            stdout=log.open("w"), stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"})
    try:
        deadline, found = time.monotonic() + 120, None
        while time.monotonic() < deadline and found is None:
            assert proc.poll() is None, log.read_text()
            found = re.search(r"dashboard: (http://127\.0\.0\.1:\d+/)\s+sign in as demo with password (\S+)", log.read_text())
            time.sleep(0.2)
        assert found is not None, log.read_text()
        url, password = found.group(1), found.group(2)
        assert url == f"http://127.0.0.1:{port}/"
        with httpx.Client(base_url=url, timeout=10) as client:
            for _ in range(100):  # the address is printed just before the server binds
                try:
                    page = client.get("/login")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            token = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            wrong = client.post("/login", data={"name": "demo", "password": password + "x", "csrf_token": token, "next": "/"})
            assert wrong.status_code == 401
            page = client.get("/login")
            token = CSRF_FIELD.search(page.text).group(1)  # type: ignore[union-attr]
            done = client.post("/login", data={"name": "demo", "password": password, "csrf_token": token,
                                               "next": "/models/ticket-classifier"})
            assert done.status_code == 303, done.text
            overview = client.get(done.headers["location"])
            assert overview.status_code == 200 and "ticket-classifier" in overview.text
    finally:
        proc.terminate()
        proc.wait(30)

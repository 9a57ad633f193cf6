"""Fixtures of the dashboard tests: a stored scenario (built once), a fresh copy of its store per
test, an in-process client, and a real uvicorn server on loopback for the browser tests."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from fastapi.testclient import TestClient

from modelsteward.config import StewardConfig

from .scenario import PASSWORDS, build

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[StewardConfig, Path]:
    """The scenario's configuration and store, built once per session (never written to by tests)."""
    return build(tmp_path_factory.mktemp("web-scenario"))


@pytest.fixture
def store_copy(built: tuple[StewardConfig, Path], tmp_path: Path, copy_store: Callable[[Path, Path], None]) -> Path:
    """A copy of the scenario's store for one test to change."""
    _, store = built
    target = tmp_path / "steward.duckdb"
    copy_store(store, target)  # (in PostgreSQL mode, a database cloned from the scenario's)
    return target


@pytest.fixture
def client(built: tuple[StewardConfig, Path], store_copy: Path) -> Iterator[TestClient]:
    from modelsteward.server.app import create_app

    cfg, _ = built
    with TestClient(create_app(cfg, store=store_copy), follow_redirects=False) as c:
        yield c


def form_token(html: str) -> str:
    found = CSRF_FIELD.search(html)
    assert found, "no CSRF field in the page"
    return found.group(1)


def sign_in(client: TestClient | httpx.Client, name: str) -> None:
    """Sign in through the form, as a browser does (the form's token, then the session cookie)."""
    page = client.get("/login")
    assert page.status_code == 200
    answer = client.post("/login", data={"name": name, "password": PASSWORDS[name], "csrf_token": form_token(page.text), "next": "/"})
    assert answer.status_code == 303, answer.text


@pytest.fixture
def signed_in(client: TestClient) -> Callable[[str], TestClient]:
    def as_user(name: str) -> TestClient:
        client.cookies.clear()
        sign_in(client, name)
        return client

    return as_user


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def live_server(built: tuple[StewardConfig, Path], store_copy: Path, tmp_path: Path) -> Iterator[str]:
    """A real uvicorn serving the app on a loopback port, in its own process; yields the base URL."""
    cfg, _ = built
    config_file = tmp_path / "steward.yaml"
    config_file.write_text(yaml.safe_dump(cfg.model_dump(mode="json", exclude_none=True)), encoding="utf-8")
    port = _free_port()
    code = ("import uvicorn, sys; from modelsteward.server.app import create_app; "
            "uvicorn.run(create_app(sys.argv[1], store=sys.argv[2]), host='127.0.0.1', port=int(sys.argv[3]), log_level='warning')")
    proc = subprocess.Popen([sys.executable, "-c", code, str(config_file), str(store_copy), str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"the server exited with {proc.returncode}:\n{out}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("the server did not answer /healthz within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

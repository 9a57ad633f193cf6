"""``steward token`` and ``steward user`` through click's runner, read back from the store with SQL."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
from click.testing import CliRunner

import modelsteward.cli.server  # noqa: F401  (registers the commands)
from modelsteward.cli import main
from modelsteward.server.auth import authenticate_user, token_identity
from modelsteward.store.duckdb_store import DuckDBStore


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_token_create_prints_it_once_and_stores_its_hash(config_file: Path, store_path: Path) -> None:
    code, out, _ = run("token", "create", "-c", str(config_file), "--name", "ingest-bot", "--scope", "ingest", "--json")
    assert code == 0
    made = json.loads(out)
    secret = made["token"]
    con = duckdb.connect(str(store_path), read_only=True)
    rows = con.execute("SELECT token_id, name, scopes, token_hash FROM api_tokens").fetchall()
    con.close()
    assert rows == [(made["token_id"], "ingest-bot", '["ingest"]', hashlib.sha256(secret.encode()).hexdigest())]
    code, out, _ = run("token", "list", "-c", str(config_file))
    assert code == 0 and made["token_id"] in out and secret not in out
    code, out, _ = run("token", "revoke", made["token_id"], "-c", str(config_file))
    assert code == 0
    with DuckDBStore(store_path) as store:
        assert token_identity(store, secret) is None
    code, _, err = run("token", "revoke", made["token_id"], "-c", str(config_file))
    assert code == 2 and "steward token list" in err


def test_user_add_reads_the_password_from_stdin_and_never_prints_it(config_file: Path, store_path: Path) -> None:
    code, out, err = run("user", "add", "carol", "--role", "reviewer", "--password-stdin", "-c", str(config_file),
                         input="horse battery staple\n")
    assert code == 0 and "horse battery staple" not in out + err
    with DuckDBStore(store_path) as store:
        assert authenticate_user(store, "carol", "horse battery staple") is not None
    code, _, err = run("user", "add", "carol", "--role", "admin", "--password-stdin", "-c", str(config_file), input="another one!\n")
    assert code == 2 and "exists" in err


def test_user_add_prompts_twice(config_file: Path, store_path: Path) -> None:
    code, _, _ = run("user", "add", "vic", "--role", "viewer", "-c", str(config_file), input="long password\nlong password\n")
    assert code == 0
    with DuckDBStore(store_path) as store:
        assert authenticate_user(store, "vic", "long password") is not None


def test_revoking_while_a_server_holds_the_store_points_to_the_dashboard(config_file: Path, store_path: Path) -> None:
    """Another process holding the DuckDB file (as `steward serve` does): the answer says where to revoke instead."""
    import subprocess
    import sys

    code, out, _ = run("token", "create", "-c", str(config_file), "--name", "leaked", "--scope", "read", "--json")
    token_id = json.loads(out)["token_id"]
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(store_path)!r}); print('held', flush=True); sys.stdin.read()"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, _, err = run("token", "revoke", token_id, "-c", str(config_file))
    finally:
        holder.communicate("", timeout=30)
    assert code == 2 and "/admin/tokens" in err
    with DuckDBStore(store_path) as store:  # nothing was revoked behind the refusal
        assert store.query("SELECT revoked_at FROM api_tokens WHERE token_id = ?", [token_id]) == [(None,)]

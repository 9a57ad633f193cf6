"""``steward serve``, ``steward token`` and ``steward user``: the HTTP service and who may use it.

Tokens and users live in the store. DuckDB lets one process write a store file, so create
tokens and users before ``steward serve`` starts (or while it is stopped).
"""

from __future__ import annotations

import ipaddress
import sys
from typing import Any

import click

from modelsteward.cli import _print_json, err, handle_errors, json_option, main, out

__all__ = ["serve", "token", "user"]

config_option = click.option("-c", "--config", default="steward.yaml", envvar="STEWARD_CONFIG", show_default=True,
                             help="steward.yaml to use (default: ./steward.yaml, or $STEWARD_CONFIG).")
store_option = click.option("--store", default=None, help="Store path, overriding the configuration's `store`.")


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach.

    >>> is_loopback("127.0.0.1"), is_loopback("::1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def interval_seconds(text: str) -> float:
    """Seconds in ``30s``, ``5m``, ``1h`` (``0`` or ``off``: none).

    >>> interval_seconds("5m"), interval_seconds("30s"), interval_seconds("off")
    (300.0, 30.0, 0.0)
    """
    value = text.strip().lower()
    if value in ("0", "off"):
        return 0.0
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    try:
        seconds = float(value[:-1]) * units[value[-1]]
    except (KeyError, ValueError, IndexError):
        raise click.BadParameter(f"expected a duration like 30s, 5m or 1h (or 0 to turn it off), got {text!r}") from None
    if seconds <= 0:
        raise click.BadParameter(f"expected a positive duration, got {text!r}")
    return seconds


def _store(config: str, store: str | None) -> Any:
    from modelsteward.config import load_config
    from modelsteward.store.open import open_store

    return open_store(store if store is not None else load_config(config).store)


@main.command()
@config_option
@store_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="Port to listen on.")
@click.option("--dev", is_flag=True, help="Open the API without tokens (loopback addresses only), for trying things out.")
@click.option("--check-every", default="5m", show_default=True,
              help="Run the monitoring cycle (as `steward check` does) this often inside the server; 0 turns it off.")
@click.option("--log-format", type=click.Choice(["json", "text", "auto"]), default="auto", envvar="STEWARD_LOG_FORMAT",
              show_default=True, help="Log lines on stdout: JSON objects, or text; auto is text on a terminal, JSON otherwise "
              "(or $STEWARD_LOG_FORMAT).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]), default="info", show_default=True,
              help="The least severe log lines written.")
@handle_errors
def serve(config: str, store: str | None, host: str, port: int, dev: bool, check_every: str, log_format: str,
          log_level: str) -> None:
    """Serve the HTTP API (/api/v1, docs at /api/docs), the dashboard and /metrics until interrupted.

    Logs go to stdout (see `--log-format`): the access log (one line per request, with its
    X-Request-ID, never a token or cookie), the monitoring passes, start-up and shutdown.
    SIGTERM or Ctrl-C stops it gracefully: requests in flight finish (up to 30 s), then the store closes.
    """
    if dev and not is_loopback(host):
        err.print(f"[bold red]error:[/] --dev opens the API without tokens, so it listens on loopback only, not on {host}",
                  highlight=False)
        err.print("[yellow]hint:[/] drop --host (default 127.0.0.1), or create tokens with `steward token create` and serve without --dev",
                  highlight=False)
        sys.exit(2)
    import logging

    import uvicorn

    from modelsteward.server.app import create_app
    from modelsteward.server.logs import configure_logging, resolve_format

    every = interval_seconds(check_every) or None
    fmt = resolve_format(log_format)
    configure_logging(fmt, log_level)
    app = create_app(config, store=store, dev=dev, check_every=every)
    dev_warning = (f"dev mode: the API at http://{host}:{port}/api/v1 takes every call WITHOUT a token (loopback only); "
                   "never use it for a shared store")
    serving = f"serving http://{host}:{port}/  (API docs: http://{host}:{port}/api/docs; stop with Ctrl-C)"
    if fmt == "json":  # stdout holds only JSON lines
        server_log = logging.getLogger("modelsteward.server")
        if dev:
            server_log.warning(dev_warning, extra={"event": "dev_mode"})
        server_log.info(serving, extra={"event": "listening", "url": f"http://{host}:{port}/"})
    else:
        if dev:
            err.print(f"[bold yellow]warning:[/] {dev_warning}", highlight=False)
        out.print(serving, highlight=False)
    # log_config=None: uvicorn's loggers keep the handler configured above; our RequestLog is the access log.
    uvicorn.run(app, host=host, port=port, log_level=log_level, log_config=None, access_log=False, timeout_graceful_shutdown=30)


@main.group()
def token() -> None:
    """API tokens: create (shown once), list, revoke."""


@token.command("create")
@config_option
@store_option
@click.option("--name", required=True, help="Who uses the token (their identity on review decisions and acknowledgements).")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(["ingest", "read", "review", "admin"]),
              help="What it may do (repeatable): ingest, read, review, admin (admin implies the others).")
@json_option
@handle_errors
def token_create(config: str, store: str | None, name: str, scopes: tuple[str, ...], as_json: bool) -> None:
    """Create a token and print it once: only its hash is stored."""
    from modelsteward.server.auth import create_token

    with _store(config, store) as st:
        tok, secret = create_token(st, name=name, scopes=list(scopes))
    if as_json:
        _print_json({**tok.to_dict(), "token": secret})
        return
    out.print(f"token {tok.token_id} for {tok.name} (scopes: {', '.join(tok.scopes)}):", highlight=False)
    click.echo(secret)
    err.print("it is shown this once; send it as `Authorization: Bearer <token>`", highlight=False)


@token.command("list")
@config_option
@store_option
@click.option("--all", "everything", is_flag=True, help="Include revoked tokens.")
@json_option
@handle_errors
def token_list(config: str, store: str | None, everything: bool, as_json: bool) -> None:
    """List tokens (ids, owners and scopes; never the tokens themselves)."""
    from modelsteward.server.auth import list_tokens

    with _store(config, store) as st:
        tokens = list_tokens(st, include_revoked=everything)
    if as_json:
        _print_json([t.to_dict() for t in tokens])
        return
    if not tokens:
        out.print("no tokens; create one with `steward token create --name NAME --scope read`")
    for t in tokens:
        revoked = f"  revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else ""
        out.print(f"{t.token_id}  {t.name}  {','.join(t.scopes)}  created {t.created_at:%Y-%m-%d %H:%M}{revoked}", highlight=False)


@token.command("revoke")
@click.argument("token_id")
@config_option
@store_option
@json_option
@handle_errors
def token_revoke(token_id: str, config: str, store: str | None, as_json: bool) -> None:
    """Revoke a token by its id (`steward token list` shows them); it stops working at once."""
    from modelsteward.errors import StoreError
    from modelsteward.server.auth import revoke_token

    try:
        st = _store(config, store)
    except StoreError as exc:
        if exc.hint and "one writer" in exc.hint:  # a running `steward serve` holds the DuckDB file
            exc.hint = ("the store is held by a running `steward serve`: revoke the token there, signed in as an admin, "
                        "on the Tokens page (/admin/tokens); it stops working at once")
        raise
    with st:
        revoke_token(st, token_id)
    if as_json:
        _print_json({"ok": True, "token_id": token_id})
    else:
        out.print(f"revoked {token_id}", highlight=False)


@main.group()
def user() -> None:
    """Users of the dashboard pages (viewer, reviewer, admin)."""


@user.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(["viewer", "reviewer", "admin"]), help="What the user may do.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (first line) instead of prompting.")
@config_option
@store_option
@json_option
@handle_errors
def user_add(name: str, role: str, password_stdin: bool, config: str, store: str | None, as_json: bool) -> None:
    """Add a user; the password is asked for (or read from stdin) and stored as an argon2 hash."""
    from modelsteward.server.auth import create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    with _store(config, store) as st:
        u = create_user(st, name, role, password)
    if as_json:
        _print_json({"ok": True, "name": u.name, "role": u.role})
    else:
        out.print(f"added {u.name} ({u.role})", highlight=False)

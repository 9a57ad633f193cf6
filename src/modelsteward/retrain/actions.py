"""What a new retrain request sets off: a command (an argument list, never a shell string) and a webhook.

Both are told the request id and the export path: the command through ``{request_id}``,
``{export_path}``, ``{model}`` and ``{trigger}`` placeholders in its arguments (each argument is
substituted on its own, so a value can never split into two arguments) and through the
environment variables ``STEWARD_REQUEST_ID``, ``STEWARD_EXPORT_PATH``, ``STEWARD_MODEL`` and
``STEWARD_TRIGGER``; the webhook by a JSON POST of the whole request. Each outcome is returned
as a log entry (``ok``, exit code or HTTP status, the tail of the output) and kept on the
request; a failure never loses the request.

>>> import sys
>>> entry = run_command([sys.executable, "-c", "import sys; print(sys.argv[1])", "{request_id}"],
...                     values={"request_id": "rr-1", "export_path": "", "model": "m", "trigger": "t"}, timeout=60)
>>> entry["ok"], entry["exit_code"], entry["stdout"].strip()
(True, 0, 'rr-1')
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = ["post_webhook", "run_command"]

_TAIL = 2000  # characters of output kept on the request


def _now() -> str:
    return datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def _substitute(arg: str, values: Mapping[str, str]) -> str:
    for key, value in values.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def run_command(argv: list[str], *, values: Mapping[str, str], timeout: float) -> dict[str, Any]:
    """Run ``argv`` (placeholders substituted) and report how it went."""
    args = [_substitute(a, values) for a in argv]
    env = {**os.environ, **{f"STEWARD_{k.upper()}": v for k, v in values.items()}}
    entry: dict[str, Any] = {"action": "command", "argv": args, "at": _now()}
    try:
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
    except FileNotFoundError:
        return {**entry, "ok": False, "error": f"command not found: {args[0]!r}",
                "hint": "check `retraining.command` in steward.yaml (the first item is the program, found on PATH)"}
    except subprocess.TimeoutExpired:
        return {**entry, "ok": False, "error": f"the command ran longer than {timeout:g} s and was stopped",
                "hint": "raise `retraining.command_timeout`, or make the command hand the work off and return"}
    except OSError as exc:
        return {**entry, "ok": False, "error": f"the command could not start: {exc}", "hint": "check `retraining.command`"}
    return {**entry, "ok": done.returncode == 0, "exit_code": done.returncode,
            "stdout": done.stdout[-_TAIL:], "stderr": done.stderr[-_TAIL:]}


def post_webhook(url: str, payload: Mapping[str, Any], *, headers: Mapping[str, str] | None = None,
                 timeout: float = 10.0) -> dict[str, Any]:
    """POST ``payload`` as JSON to ``url`` and report the response status."""
    body = json.dumps(payload, sort_keys=True).encode()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "User-Agent": "modelsteward", **(headers or {})})
    entry: dict[str, Any] = {"action": "webhook", "url": url, "at": _now()}
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - http(s) only, checked in the config
            return {**entry, "ok": 200 <= resp.status < 300, "status": resp.status}
    except urllib.error.HTTPError as exc:
        return {**entry, "ok": False, "status": exc.code, "error": f"the receiver answered {exc.code} {exc.reason}",
                "hint": "check the receiver's logs; resend with `steward retrain notify <id>`"}
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return {**entry, "ok": False, "error": f"could not reach {url}: {reason}",
                "hint": "check `retraining.webhook.url` and that the receiver is up; resend with `steward retrain notify <id>`"}

"""Which module of :mod:`modelsteward.cli` holds each command that lives outside ``__init__``.

Each module decorates its commands with ``@main.command()`` or ``@main.group()``; the ``main``
group imports a module only when one of its commands is used (or listed by ``--help``), so a
command starts without loading the code of the others. Add a line when a module gains a command;
``tests/test_cli.py`` checks that every name here is registered by its module.
"""

from __future__ import annotations

LAZY_COMMANDS: dict[str, str] = {
    "alerts": "modelsteward.cli.alerting",
    "incidents": "modelsteward.cli.alerting",
    "review": "modelsteward.cli.review",
    "triage": "modelsteward.cli.triage",
    "retrain": "modelsteward.cli.retrain",
    "feedback": "modelsteward.cli.retrain",
    "notify": "modelsteward.cli.notify",
    "plan": "modelsteward.cli.plan",
    "serve": "modelsteward.cli.server",
    "token": "modelsteward.cli.server",
    "user": "modelsteward.cli.server",
    "engine": "modelsteward.cli.engines",
    "backup": "modelsteward.cli.backup",
    "restore": "modelsteward.cli.backup",
}

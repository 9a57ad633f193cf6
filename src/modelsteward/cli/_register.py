"""Imports the CLI modules that add commands to :func:`modelsteward.cli.main`.

One line per module; each module decorates its commands with ``@main.command()`` or
``@main.group()``. Kept apart so areas of the CLI can grow in their own files.
"""

from __future__ import annotations

from modelsteward.cli import alerting  # noqa: F401
from modelsteward.cli import review  # noqa: F401
from modelsteward.cli import triage  # noqa: F401
from modelsteward.cli import retrain  # noqa: F401
from modelsteward.cli import notify  # noqa: F401
from modelsteward.cli import plan  # noqa: F401

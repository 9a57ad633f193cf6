"""Imports the CLI modules that add commands to :func:`modelsteward.cli.main`.

One line per module; each module decorates its commands with ``@main.command()`` or
``@main.group()``. Kept apart so areas of the CLI can grow in their own files.
"""

from __future__ import annotations

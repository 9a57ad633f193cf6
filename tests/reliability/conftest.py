"""Crash tests reuse the service tests' fixtures: the steward.yaml, its store, tokens, and ``start_server``."""

from server.conftest import config_file, start_server, store_path, tokens  # noqa: F401

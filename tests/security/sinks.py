"""Real receivers on loopback: an SMTP server that keeps what it is sent (the standard library's
``smtpd``, present up to Python 3.11)."""

from __future__ import annotations

import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import asyncore
    import smtpd


class _Sink(smtpd.SMTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), None, decode_data=False)
        self.messages: list[bytes] = []

    def process_message(self, peer: Any, mailfrom: str, rcpttos: list[str], data: bytes, **kw: Any) -> None:
        self.messages.append(data)


@contextmanager
def smtp_sink() -> Iterator[tuple[int, list[bytes]]]:
    """``(port, messages)`` of an SMTP server on loopback (no AUTH: a login attempt fails)."""
    sink = _Sink()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            asyncore.loop(timeout=0.05, count=1, map={sink.socket.fileno(): sink, **asyncore.socket_map})

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sink.socket.getsockname()[1], sink.messages
    finally:
        stop.set()
        thread.join(timeout=5)
        sink.close()

"""Parse HTML with the standard library's parser and list every trace of injected markup."""

from __future__ import annotations

import re
from html.parser import HTMLParser

URL_ATTRS = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}


class Scan(HTMLParser):
    """Start tags with their attributes, script bodies, and the page's text (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[tuple[dict[str, str], str]] = []
        self.text: list[str] = []
        self._in: tuple[str, dict[str, str]] | None = None
        self._body: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag in ("script", "style", "textarea", "title"):
            self._in, self._body = (tag, a), []

    def handle_endtag(self, tag: str) -> None:
        if self._in is not None and tag == self._in[0]:
            if tag == "script":
                self.scripts.append((self._in[1], "".join(self._body)))
            else:
                self.text.append("".join(self._body))
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._body.append(data)
        else:
            self.text.append(data)

    def all_text(self) -> str:
        return "\n".join(self.text)


def scan(html: str) -> Scan:
    s = Scan()
    s.feed(html)
    s.close()
    return s


def _unsafe_url(value: str) -> bool:
    squashed = re.sub(r"[\x00-\x20]", "", value).lower()
    return squashed.startswith(("javascript:", "vbscript:", "data:text/html"))


def injected(html: str, *, inline_scripts_ok: bool = False) -> list[str]:
    """What in ``html`` looks injected: event handlers, ``data-pwn``, script URLs, unexpected scripts."""
    s = scan(html)
    found = []
    for tag, attrs in s.tags:
        for name, value in attrs.items():
            if name.startswith("on"):
                found.append(f"<{tag} {name}=...>")
            if name.startswith("data-pwn"):
                found.append(f"<{tag} data-pwn>")
            if name in URL_ATTRS and _unsafe_url(value):
                found.append(f"<{tag} {name}={value!r}>")
    for attrs, body in s.scripts:
        if attrs.get("type") == "application/json":
            if "<" in body:
                found.append("markup inside a JSON data script")
        elif attrs.get("src"):
            if body.strip():
                found.append("a script with both src and a body")
        elif not inline_scripts_ok:
            found.append(f"an inline script: {body[:60]!r}")
        elif "__pwn" in body:
            found.append("the payload's code inside an inline script")
    return found

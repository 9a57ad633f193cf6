"""plotly.js as the dashboard uses it: the bundled file, its style rules, and the hashes of the styles it injects.

plotly.js ships inside the ``plotly`` Python package (``package_data/plotly.min.js``), so no
network is needed. Two things it does at run time would need ``style-src 'unsafe-inline'``:

- it adds its own rules (modebar, hover labels, cursors) to an inline ``<style>``, unless the
  page has an element ``#plotly.js-style-global.no-inline-styles``; the pages have such a
  ``<link>`` to :func:`plotly_css`, these rules read from the bundled file;
- when it loads, it injects the stylesheet of its map library as a ``<style>`` with fixed text;
  :func:`injected_style_hashes` finds that text in the bundled file and the CSP allows it by
  its SHA-256 hash, so nothing inline is allowed beyond the exact text plotly.js ships.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

import plotly

__all__ = ["injected_style_hashes", "plotly_css", "plotly_js_path"]

_PLOTCSS_START = '{"X,X div":'
_TEXT_CONTENT = re.compile(r"\.textContent=(?=['\"])")


@functools.cache
def plotly_js_path() -> Path:
    """Where the installed plotly package keeps its bundled plotly.js."""
    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise RuntimeError(f"plotly.js is not where the plotly package keeps it ({path}); reinstall plotly")
    return path


@functools.cache
def _source() -> str:
    return plotly_js_path().read_text(encoding="utf-8")


@functools.cache
def injected_style_hashes() -> tuple[str, ...]:
    """CSP sources (``'sha256-...'``) of the stylesheets plotly.js injects with fixed text (``x.textContent = '...css...'``)."""
    source, out = _source(), []
    for match in _TEXT_CONTENT.finditer(source):
        text, _ = _js_string(source, match.end())
        if text and "{" in text and "}" in text:
            digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()
            out.append(f"'sha256-{digest}'")
    return tuple(dict.fromkeys(out))


@functools.cache
def plotly_css() -> str | None:
    """plotly.js's own style rules as a stylesheet, read from the bundled plotly.js; None if not found.

    plotly.js adds its rules (modebar, hover labels, cursors) to an inline ``<style>`` unless
    the page has an element ``#plotly.js-style-global.no-inline-styles``; the pages have such a
    ``<link>`` to this stylesheet, so the CSP needs no ``'unsafe-inline'`` for styles. The rules
    are an object literal ``{"X ...": "css", ...}`` where ``X`` stands for
    ``.js-plotly-plot .plotly`` and ``Y`` for ``.plotly-notifier``.
    """
    source = _source()
    start = source.find(_PLOTCSS_START)
    if start < 0:
        return None
    rules, pos = [], start + 1
    while True:
        key, pos = _js_key(source, pos)
        if key is None or source[pos] != ":":
            return None
        value, pos = _js_string(source, pos + 1)
        if value is None:
            return None
        selector = key.replace("X", ".js-plotly-plot .plotly").replace("Y", ".plotly-notifier")
        rules.append(f"{selector} {{{value}}}")
        if source[pos] == "}":
            break
        if source[pos] != ",":
            return None
        pos += 1
    return "\n".join(rules) + "\n" if len(rules) > 10 else None


def _js_key(source: str, pos: int) -> tuple[str | None, int]:
    """An object key: a string literal, or a bare identifier (minified code drops the quotes of ``Y``)."""
    match = re.compile(r"[A-Za-z_$][\w$]*").match(source, pos)
    return (match.group(0), match.end()) if match else _js_string(source, pos)


def _js_string(source: str, pos: int) -> tuple[str | None, int]:
    """The JavaScript string literal at ``pos`` (``'`` or ``"`` quoted) and the position after it."""
    quote = source[pos] if pos < len(source) else ""
    if quote not in ("'", '"'):
        return None, pos
    out, i = [], pos + 1
    while i < len(source):
        char = source[i]
        if char == "\\":
            out.append(source[i + 1])
            i += 2
            continue
        if char == quote:
            return "".join(out), i + 1
        out.append(char)
        i += 1
    return None, pos



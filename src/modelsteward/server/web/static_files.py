"""Static files of the dashboard: its CSS and script, and plotly.js from the installed plotly package.

Nothing is loaded from the network: ``/static/web/plotly.min.js`` is the file that ships inside
the ``plotly`` Python package (``plotly/package_data/plotly.min.js``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response

from modelsteward.server.web._common import security_headers
from modelsteward.server.web.plotly_assets import plotly_css, plotly_js_path

__all__ = ["STATIC", "router"]

STATIC = Path(__file__).parent / "static"

#: The files served, by name, and their media types: nothing else under the folder is reachable.
FILES = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}

router = APIRouter()


def _file(path: Path, media_type: str) -> Response:
    response = FileResponse(path, media_type=media_type)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return security_headers(response)


@router.get("/static/web/plotly.min.js", include_in_schema=False)
async def plotly_js() -> Response:
    return _file(plotly_js_path(), "text/javascript; charset=utf-8")


@router.get("/static/web/plotly.css", include_in_schema=False)
async def plotly_stylesheet() -> Response:
    css = plotly_css()
    if css is None:
        return security_headers(Response("/* plotly.js's style rules were not found in the bundled plotly.js */\n",
                                         media_type="text/css; charset=utf-8"))
    response = Response(css, media_type="text/css; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return security_headers(response)


@router.get("/static/web/{name}", include_in_schema=False)
async def static_file(name: str) -> Response:
    media_type = FILES.get(name)
    if media_type is None:
        return security_headers(Response("not found", status_code=404, media_type="text/plain"))
    return _file(STATIC / name, media_type)

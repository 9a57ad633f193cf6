"""Tests for modelsteward.report.charts: the figure built for a panel."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from modelsteward.report import Band, Line, Panel, Series, panel_figure


def _panel(**overrides: object) -> Panel:
    fields: dict[str, object] = {
        "title": "Accuracy",
        "x_label": "week",
        "y_label": "accuracy",
        "series": [Series("model", x=[1, 2, 3, 4], y=[0.9, 0.85, 0.8, 0.82])],
    }
    fields.update(overrides)
    return Panel(**fields)  # type: ignore[arg-type]


def _figure_json(fig: go.Figure) -> dict:
    # The strict JSON a browser receives: NaN/Infinity would make json.loads fail here.
    return json.loads(fig.to_json(), parse_constant=lambda name: pytest.fail(f"non-JSON {name}"))


def test_returns_plotly_figure_with_one_scatter_trace_per_series() -> None:
    fig = panel_figure(
        _panel(
            series=[
                Series("baseline", x=["a", "b"], y=[1.0, 2.0]),
                Series("candidate", x=["a", "b"], y=[3.0, 4.0]),
            ]
        )
    )
    assert isinstance(fig, go.Figure)
    assert [trace.type for trace in fig.data] == ["scatter", "scatter"]
    assert [trace.name for trace in fig.data] == ["baseline", "candidate"]
    assert all("lines" in trace.mode for trace in fig.data)


def test_data_points_equal_input_series() -> None:
    x = ["2024-01-01", "2024-01-08", "2024-01-15"]
    y = [0.125, 0.5, 0.75]
    data = _figure_json(panel_figure(_panel(series=[Series("s", x=x, y=y)])))["data"]
    assert data[0]["x"] == x
    assert data[0]["y"] == y


def test_numpy_and_pandas_inputs_become_plain_values() -> None:
    x = np.array([1, 2, 3])
    y = pd.Series([0.5, np.nan, 0.25])
    data = _figure_json(panel_figure(_panel(series=[Series("s", x=x, y=y)])))["data"]
    assert data[0]["x"] == [1, 2, 3]
    assert data[0]["y"] == [0.5, None, 0.25]


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, float("inf"), pd.NA])
def test_missing_y_values_are_null_gaps_not_zeros(missing: object) -> None:
    fig = panel_figure(_panel(series=[Series("s", x=[1, 2, 3], y=[0.5, missing, 0.25])]))
    assert fig.data[0].y == (0.5, None, 0.25)
    data = _figure_json(fig)["data"][0]
    assert data["y"] == [0.5, None, 0.25]
    # Gaps stay gaps: the line must not be drawn across the missing point.
    assert data.get("connectgaps", False) is False


def test_missing_values_at_the_ends_are_kept_in_place() -> None:
    fig = panel_figure(_panel(series=[Series("s", x=[1, 2, 3, 4], y=[None, 1.0, 2.0, None])]))
    assert _figure_json(fig)["data"][0]["y"] == [None, 1.0, 2.0, None]


def test_reference_lines_are_shapes_with_values_and_legend_labels() -> None:
    fig = panel_figure(
        _panel(lines=[Line(0.8, "minimum"), Line(0.95, "target", color="blue", dash="dot")])
    )
    shapes = [s for s in _figure_json(fig)["layout"]["shapes"] if s["type"] == "line"]
    assert [(s["y0"], s["y1"]) for s in shapes] == [(0.8, 0.8), (0.95, 0.95)]
    assert [s["name"] for s in shapes] == ["minimum", "target"]
    assert all(s["showlegend"] is True for s in shapes)
    # Across the whole plot width whatever the x values are.
    assert all((s["xref"], s["x0"], s["x1"]) == ("x domain", 0, 1) for s in shapes)
    assert all(s["yref"] == "y" for s in shapes)
    assert [(s["line"]["color"], s["line"]["dash"]) for s in shapes] == [
        ("red", "dash"),
        ("blue", "dot"),
    ]


def test_bands_are_shaded_rectangles_with_bounds_and_legend_labels() -> None:
    fig = panel_figure(_panel(bands=[Band(0.7, 0.9, "expected range", color="orange", opacity=0.3)]))
    (shape,) = _figure_json(fig)["layout"]["shapes"]
    assert shape["type"] == "rect"
    assert (shape["y0"], shape["y1"]) == (0.7, 0.9)
    assert (shape["xref"], shape["x0"], shape["x1"], shape["yref"]) == ("x domain", 0, 1, "y")
    assert shape["name"] == "expected range"
    assert shape["showlegend"] is True
    assert shape["fillcolor"] == "orange"
    assert shape["opacity"] == 0.3
    assert shape["layer"] == "below"


def test_band_defaults() -> None:
    (shape,) = panel_figure(_panel(bands=[Band(1, 2, "ok")])).layout.shapes
    assert shape.fillcolor == "green"
    assert shape.opacity == 0.15


def test_legend_is_shown_even_for_a_single_series_with_a_line() -> None:
    # Plotly hides the legend for a single trace unless told otherwise, which
    # would hide the reference line labels.
    fig = panel_figure(_panel(lines=[Line(0.5, "threshold")]))
    assert fig.layout.showlegend is True


def test_titles_and_axis_labels() -> None:
    fig = panel_figure(_panel(title="Drift score", x_label="day", y_label="PSI"))
    assert fig.layout.title.text == "Drift score"
    assert fig.layout.xaxis.title.text == "day"
    assert fig.layout.yaxis.title.text == "PSI"


def test_y_format_applies_to_ticks_and_hover() -> None:
    fig = panel_figure(_panel(y_format=".0%"))
    assert fig.layout.yaxis.tickformat == ".0%"
    assert fig.layout.yaxis.hoverformat == ".0%"
    plain = panel_figure(_panel())
    assert plain.layout.yaxis.tickformat is None


def test_series_color_and_marker() -> None:
    fig = panel_figure(
        _panel(series=[Series("s", x=[1], y=[1.0], color="#123456", marker="diamond")])
    )
    trace = fig.data[0]
    assert trace.line.color == "#123456"
    assert trace.marker.color == "#123456"
    assert trace.marker.symbol == "diamond"
    default = panel_figure(_panel()).data[0]
    assert default.line.color is None  # left to the Plotly colour cycle
    assert default.marker.symbol == "circle"


def test_user_text_is_escaped_for_plotly() -> None:
    # Plotly renders a subset of HTML in text; user data must be shown literally.
    evil = '<a href="javascript:alert(1)">x</a> & <b>'
    escaped = '&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt; &amp; &lt;b&gt;'
    fig = panel_figure(
        Panel(
            title=evil,
            x_label=evil,
            y_label=evil,
            series=[Series(evil, x=[1], y=[1.0])],
            lines=[Line(1.0, evil)],
            bands=[Band(0.0, 1.0, evil)],
        )
    )
    assert fig.layout.title.text == escaped
    assert fig.layout.xaxis.title.text == escaped
    assert fig.layout.yaxis.title.text == escaped
    assert fig.data[0].name == escaped
    assert [shape.name for shape in fig.layout.shapes] == [escaped, escaped]
    assert "<a" not in fig.to_json()


def test_empty_panel_is_valid() -> None:
    fig = panel_figure(_panel(series=[]))
    assert len(fig.data) == 0
    json.loads(fig.to_json())


def test_series_length_mismatch_is_rejected() -> None:
    with pytest.raises(ValueError, match="x has 3 values but y has 2"):
        Series("s", x=[1, 2, 3], y=[1.0, 2.0])


def test_band_bounds_are_checked() -> None:
    with pytest.raises(ValueError, match="low"):
        Band(0.9, 0.1, "upside down")
    with pytest.raises(ValueError, match="opacity"):
        Band(0.1, 0.9, "too dark", opacity=1.5)


def test_non_numeric_y_is_an_error_not_a_gap() -> None:
    with pytest.raises((TypeError, ValueError)):
        panel_figure(_panel(series=[Series("s", x=[1], y=[object()])]))  # type: ignore[list-item]


def test_dataclasses_are_frozen() -> None:
    line = Line(1.0, "l")
    with pytest.raises(AttributeError):
        line.value = 2.0  # type: ignore[misc]
    assert math.isclose(line.value, 1.0)

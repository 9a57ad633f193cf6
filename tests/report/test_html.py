"""Tests for modelsteward.report.html: the rendered page is parsed, not pattern-matched."""

from __future__ import annotations

import html
import json
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import plotly.offline
import pytest

from modelsteward.report import (
    Band,
    Line,
    Panel,
    Section,
    Series,
    Table,
    render_report,
    write_report,
)

PLOTLY_JS = plotly.offline.get_plotlyjs()
EVIL = "<script>alert(1)</script>"
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --------------------------------------------------------------------------- parsing helpers


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str, cls: str | None = None) -> list[Node]:
        return [n for n in self.iter() if n.tag == tag and (cls is None or cls in n.classes)]

    def find(self, tag: str, cls: str | None = None) -> Node:
        found = self.find_all(tag, cls)
        assert len(found) == 1, f"expected one <{tag} class={cls}>, found {len(found)}"
        return found[0]


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.current = self.root
        self.decl: str | None = None

    def handle_decl(self, decl: str) -> None:
        self.decl = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs), parent=self.current)
        self.current.children.append(node)
        if tag not in VOID_TAGS:
            self.current = node

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.current.children.append(Node(tag, dict(attrs), parent=self.current))

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        assert node is not None and node.parent is not None, f"stray </{tag}>"
        self.current = node.parent

    def handle_data(self, data: str) -> None:
        self.current.children.append(data)


def parse(page: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(page)
    builder.close()
    assert builder.current is builder.root, f"unclosed <{builder.current.tag}>"
    assert builder.decl is not None and builder.decl.lower() == "doctype html"
    return builder.root


def figure_specs(doc: Node) -> dict[str, dict]:
    """Chart div id -> the figure spec embedded for it."""
    specs = {}
    for script in doc.find_all("script", "ms-figure"):
        assert script.attrs.get("type") == "application/json"
        specs[script.attrs["data-target"]] = json.loads(script.text)
    return specs


def plotly_bundle_scripts(doc: Node) -> list[Node]:
    return [s for s in doc.find_all("script") if "plotly.js v" in s.text[:200] and len(s.text) > 1_000_000]


# --------------------------------------------------------------------------- fixtures


def _panels(n: int) -> list[Panel]:
    return [
        Panel(
            title=f"Panel {i}",
            x_label="week",
            y_label="value",
            series=[
                Series("model", x=[1, 2, 3, 4], y=[0.5 + i, None, 0.25 + i, float("nan")]),
                Series("baseline", x=[1, 2, 3, 4], y=[0.1, 0.2, 0.3, 0.4], color="gray"),
            ],
            lines=[Line(0.75 + i, f"threshold {i}")],
            bands=[Band(0.2, 0.6 + i, f"band {i}", color="blue", opacity=0.2)],
            y_format=".0%",
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def three_panel_page() -> str:
    return render_report(
        title="Model health",
        subtitle="Weekly monitoring",
        generated_at="2024-05-06 07:08 UTC",
        sections=[
            Section(
                "Quality",
                paragraphs=["First paragraph.", "Second paragraph."],
                tables=[Table("Metrics", ["metric", "value"], [["accuracy", 0.91234]], note="Last 7 days.")],
                panels=_panels(3),
            ),
            Section("Notes", paragraphs=["Nothing else."]),
        ],
    )


@pytest.fixture(scope="module")
def three_panel_doc(three_panel_page: str) -> Node:
    return parse(three_panel_page)


# --------------------------------------------------------------------------- page structure


def test_header_shows_title_subtitle_and_generation_time(three_panel_doc: Node) -> None:
    assert three_panel_doc.find("title").text == "Model health"
    assert three_panel_doc.find("h1").text == "Model health"
    assert three_panel_doc.find("p", "subtitle").text == "Weekly monitoring"
    assert "2024-05-06 07:08 UTC" in three_panel_doc.find("p", "generated").text
    assert three_panel_doc.find("html").attrs.get("lang") == "en"
    assert any(m.attrs.get("charset", "").lower() == "utf-8" for m in three_panel_doc.find_all("meta"))


def test_subtitle_and_generated_at_are_optional() -> None:
    doc = parse(render_report(title="T", subtitle=None, sections=[]))
    assert doc.find_all("p", "subtitle") == []
    assert doc.find_all("p", "generated") == []
    assert doc.find("h1").text == "T"


def test_output_is_deterministic_without_generated_at() -> None:
    kwargs = {"title": "T", "subtitle": "s", "sections": [Section("S", panels=_panels(1))]}
    assert render_report(**kwargs) == render_report(**kwargs)


def test_sections_and_paragraphs_in_order(three_panel_doc: Node) -> None:
    sections = three_panel_doc.find_all("section")
    assert [s.find("h2").text for s in sections] == ["Quality", "Notes"]
    assert [p.text for p in sections[0].find_all("p") if not p.classes] == [
        "First paragraph.",
        "Second paragraph.",
    ]
    assert [p.text for p in sections[1].find_all("p")] == ["Nothing else."]


# --------------------------------------------------------------------------- charts


def test_figure_data_points_equal_input_series(three_panel_doc: Node) -> None:
    specs = figure_specs(three_panel_doc)
    charts = three_panel_doc.find_all("div", "chart")
    assert len(specs) == len(charts) == 3
    for panel, chart in zip(_panels(3), charts, strict=True):
        spec = specs[chart.attrs["id"]]
        assert chart.attrs["aria-label"] == panel.title
        assert spec["layout"]["title"]["text"] == panel.title
        assert [t["name"] for t in spec["data"]] == [s.name for s in panel.series]
        for trace, series in zip(spec["data"], panel.series, strict=True):
            assert trace["x"] == list(series.x)
            expected_y = [None if v is None or np.isnan(v) else v for v in series.y]
            assert trace["y"] == expected_y
        # None and NaN became JSON null gaps (not 0) in the first series.
        assert spec["data"][0]["y"][1] is None and spec["data"][0]["y"][3] is None
        assert spec["layout"]["yaxis"]["tickformat"] == ".0%"


def test_lines_and_bands_are_in_the_figure(three_panel_doc: Node) -> None:
    specs = figure_specs(three_panel_doc)
    for i, chart in enumerate(three_panel_doc.find_all("div", "chart")):
        shapes = specs[chart.attrs["id"]]["layout"]["shapes"]
        lines = [s for s in shapes if s["type"] == "line"]
        bands = [s for s in shapes if s["type"] == "rect"]
        assert [(s["name"], s["y0"], s["y1"], s["showlegend"]) for s in lines] == [
            (f"threshold {i}", 0.75 + i, 0.75 + i, True)
        ]
        assert [(s["name"], s["y0"], s["y1"], s["fillcolor"], s["showlegend"]) for s in bands] == [
            (f"band {i}", 0.2, 0.6 + i, "blue", True)
        ]


def test_chart_ids_are_unique_across_sections() -> None:
    page = render_report(
        title="T",
        subtitle=None,
        sections=[Section("A", panels=_panels(2)), Section("B", panels=_panels(3))],
    )
    doc = parse(page)
    ids = [div.attrs["id"] for div in doc.find_all("div", "chart")]
    assert len(ids) == len(set(ids)) == 5
    assert sorted(figure_specs(doc)) == sorted(ids)


def test_panels_sit_side_by_side_in_a_responsive_grid(three_panel_doc: Node) -> None:
    grid = three_panel_doc.find("div", "panel-grid")
    figures = [c for c in grid.children if isinstance(c, Node)]
    assert [f.tag for f in figures] == ["figure"] * 3
    css = three_panel_doc.find("style").text
    rule = re.search(r"\.panel-grid\s*\{([^}]*)\}", css)
    assert rule is not None
    body = rule.group(1)
    assert re.search(r"display:\s*grid", body)
    assert re.search(r"grid-template-columns:\s*repeat\(auto-(fit|fill),\s*minmax\(", body)


def test_render_script_runs_after_plotly_and_all_chart_data(three_panel_doc: Node) -> None:
    scripts = three_panel_doc.find_all("script")
    kinds = [
        "bundle" if s in plotly_bundle_scripts(three_panel_doc) else ("data" if "ms-figure" in s.classes else "code")
        for s in scripts
    ]
    assert kinds == ["data", "data", "data", "bundle", "code"]
    assert "Plotly.newPlot" in scripts[-1].text
    assert "ms-figure" in scripts[-1].text


def test_figure_config_is_responsive_without_plotly_logo(three_panel_doc: Node) -> None:
    for spec in figure_specs(three_panel_doc).values():
        assert spec["config"]["responsive"] is True
        assert spec["config"]["displaylogo"] is False


@pytest.mark.parametrize("layout", [[1], [3], [2, 0, 5]], ids=["1-panel", "3-panels", "7-panels-3-sections"])
def test_exactly_one_plotly_js_per_page(layout: list[int]) -> None:
    sections = [Section(f"S{i}", panels=_panels(n)) for i, n in enumerate(layout)]
    page = render_report(title="T", subtitle=None, sections=sections)
    assert page.count(PLOTLY_JS) == 1
    assert page.count(PLOTLY_JS[:120]) == 1  # no second, differently-wrapped copy either
    doc = parse(page)
    assert len(plotly_bundle_scripts(doc)) == 1
    assert len(doc.find_all("div", "chart")) == sum(layout)


def test_no_plotly_js_without_charts() -> None:
    page = render_report(title="T", subtitle=None, sections=[Section("S", paragraphs=["text"])])
    assert PLOTLY_JS[:120] not in page
    assert len(page) < 50_000


# --------------------------------------------------------------------------- self-contained


def test_page_is_self_contained(three_panel_page: str, three_panel_doc: Node) -> None:
    for node in three_panel_doc.iter():
        for name in ("src", "href", "xlink:href", "data", "poster", "srcset"):
            value = (node.attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (node.tag, name, value)
    assert three_panel_doc.find_all("link") == []
    assert three_panel_doc.find_all("img") == []
    assert all("src" not in s.attrs for s in three_panel_doc.find_all("script"))
    css = three_panel_doc.find("style").text
    assert "@import" not in css and "url(" not in css
    # Apart from plotly.js itself (which mentions URLs in code paths not used by
    # line charts), the page refers to nothing on the network.
    rest = three_panel_page.replace(PLOTLY_JS, "")
    assert "http://" not in rest and "https://" not in rest
    assert "mathjax" not in rest.lower()


# --------------------------------------------------------------------------- escaping


@pytest.fixture(scope="module")
def evil_page() -> str:
    return render_report(
        title=EVIL,
        subtitle=EVIL,
        generated_at=EVIL,
        sections=[
            Section(
                EVIL,
                paragraphs=[EVIL],
                tables=[Table(EVIL, [EVIL], [[EVIL]], note=EVIL)],
                panels=[
                    Panel(
                        title=EVIL,
                        x_label=EVIL,
                        y_label=EVIL,
                        series=[Series(EVIL, x=[EVIL, "b"], y=[1.0, 2.0])],
                        lines=[Line(1.5, EVIL)],
                        bands=[Band(1.0, 2.0, EVIL)],
                    )
                ],
            )
        ],
    )


def test_user_text_is_escaped_in_html(evil_page: str) -> None:
    assert "<script>alert" not in evil_page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evil_page
    doc = parse(evil_page)
    # Parsed back, every place shows the literal text.
    assert doc.find("title").text == EVIL
    assert doc.find("h1").text == EVIL
    assert doc.find("p", "subtitle").text == EVIL
    assert EVIL in doc.find("p", "generated").text
    assert doc.find("h2").text == EVIL
    assert [p.text for p in doc.find("section").find_all("p") if not p.classes] == [EVIL]
    assert doc.find("caption").text == EVIL
    assert doc.find("th").text == EVIL
    assert doc.find("td").text == EVIL
    assert doc.find("p", "note").text == EVIL
    assert doc.find("div", "chart").attrs["aria-label"] == EVIL


def test_no_injected_script_executes(evil_page: str) -> None:
    doc = parse(evil_page)
    scripts = doc.find_all("script")
    for script in scripts:
        if "ms-figure" in script.classes:
            assert script.attrs["type"] == "application/json"  # inert data block
            json.loads(script.text)
        else:
            assert "alert(1)" not in script.text
    assert len(scripts) == 3  # one data block, plotly.js, the render code


def test_user_text_is_escaped_inside_the_figure(evil_page: str) -> None:
    (spec,) = figure_specs(parse(evil_page)).values()
    plotly_escaped = html.escape(EVIL, quote=False)  # Plotly shows this literally
    layout = spec["layout"]
    assert layout["title"]["text"] == plotly_escaped
    assert layout["xaxis"]["title"]["text"] == plotly_escaped
    assert layout["yaxis"]["title"]["text"] == plotly_escaped
    assert spec["data"][0]["name"] == plotly_escaped
    assert [s["name"] for s in layout["shapes"]] == [plotly_escaped, plotly_escaped]
    assert spec["data"][0]["x"] == [EVIL, "b"]  # data values stay data


def test_text_cannot_break_out_of_the_json_block() -> None:
    breakout = "</script ><script>alert(2)</script><!--<script>"
    page = render_report(
        title="T",
        subtitle=None,
        sections=[Section("S", panels=[Panel("p", "x", "y", [Series("s", x=[breakout], y=[1.0])])])],
    )
    assert "<script>alert(2)" not in page
    doc = parse(page)
    (block,) = doc.find_all("script", "ms-figure")
    # No "<" at all in the raw JSON: neither "</script" nor "<!--" can end or
    # confuse the data block, whatever the spelling.
    assert "<" not in block.text
    (spec,) = figure_specs(doc).values()
    assert spec["data"][0]["x"] == [breakout]


def test_text_cannot_break_out_of_attributes() -> None:
    title = '" onmouseover="alert(3)" x="'
    doc = parse(
        render_report(
            title="T",
            subtitle=None,
            sections=[Section("S", panels=[Panel(title, "x", "y", [Series("s", x=[1], y=[1.0])])])],
        )
    )
    chart = doc.find("div", "chart")
    assert chart.attrs["aria-label"] == title
    for node in doc.iter():
        assert not any(name.startswith("on") for name in node.attrs), node


# --------------------------------------------------------------------------- tables


def _cells(doc: Node) -> list[list[tuple[str, bool]]]:
    return [
        [(td.text, "num" in td.classes) for td in tr.find_all("td")]
        for tr in doc.find("tbody").find_all("tr")
    ]


def test_table_values_are_formatted() -> None:
    table = Table(
        "Scores",
        ["name", "score", "count"],
        [
            ["a", 0.123456789, 3],
            ["b", 12345.678, 1_000_000],
            ["c", 2.0, np.int64(7)],
            ["d", np.float32(0.1), None],
            ["e", 0.000012345, -4],
            ["f", float("nan"), 0],
            ["g", "0.123456789", True],
        ],
    )
    doc = parse(render_report(title="T", subtitle=None, sections=[Section("S", tables=[table])]))
    assert [th.text for th in doc.find("thead").find_all("th")] == ["name", "score", "count"]
    assert [[text for text, _ in row] for row in _cells(doc)] == [
        ["a", "0.1235", "3"],
        ["b", "12346", "1000000"],
        ["c", "2", "7"],
        ["d", "0.1", "\u2014"],
        ["e", "1.234e-05", "-4"],
        ["f", "nan", "0"],
        ["g", "0.123456789", "True"],  # strings are shown exactly as passed
    ]


def test_numeric_columns_are_right_aligned() -> None:
    table = Table("T", ["label", "value"], [["x", 1.5], ["y", None]])
    doc = parse(render_report(title="T", subtitle=None, sections=[Section("S", tables=[table])]))
    assert [("num" in th.classes) for th in doc.find("thead").find_all("th")] == [False, True]
    assert [[num for _, num in row] for row in _cells(doc)] == [[False, True], [False, True]]


def test_table_title_and_optional_note() -> None:
    tables = [Table("With note", ["a"], [[1]], note="Computed daily."), Table("No note", ["a"], [])]
    doc = parse(render_report(title="T", subtitle=None, sections=[Section("S", tables=tables)]))
    assert [c.text for c in doc.find_all("caption")] == ["With note", "No note"]
    assert [p.text for p in doc.find_all("p", "note")] == ["Computed daily."]


def test_table_rows_must_match_columns() -> None:
    with pytest.raises(ValueError, match="row 2 has 1 cells but there are 2 columns"):
        Table("T", ["a", "b"], [[1, 2], [3]])


# --------------------------------------------------------------------------- write_report


def _kwargs() -> dict:
    return {
        "title": "Written",
        "subtitle": "to disk",
        "sections": [Section("S", paragraphs=["p"], tables=[Table("t", ["a"], [[1.5]])])],
    }


def test_write_report_creates_parents_and_returns_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = write_report(Path("out") / "nested" / "report.html", **_kwargs())
    assert isinstance(result, Path)
    assert result.is_absolute()
    assert result == tmp_path / "out" / "nested" / "report.html"
    assert result.read_text(encoding="utf-8") == render_report(**_kwargs())
    assert os.listdir(result.parent) == ["report.html"]  # no temp files left behind


def test_write_report_accepts_str_path_and_charts(tmp_path: Path) -> None:
    result = write_report(str(tmp_path / "r.html"), title="T", subtitle=None, sections=[Section("S", panels=_panels(3))])
    page = result.read_text(encoding="utf-8")
    assert page.count(PLOTLY_JS) == 1
    assert len(figure_specs(parse(page))) == 3


def test_write_report_replaces_atomically_via_a_temp_file_in_the_same_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report", encoding="utf-8")
    calls = []
    real_replace = os.replace

    def spy(src, dst, *args, **kwargs):
        src, dst = Path(src), Path(dst)
        # At the moment of the swap the old report is still whole and the new
        # one is completely written elsewhere.
        calls.append((src, dst, dst.read_text(encoding="utf-8"), src.read_text(encoding="utf-8")))
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", spy)
    result = write_report(target, **_kwargs())
    assert len(calls) == 1
    src, dst, old_at_swap, new_at_swap = calls[0]
    assert dst == result == target
    assert src != dst and src.parent == dst.parent  # same filesystem, so the rename is atomic
    assert old_at_swap == "old report"
    assert new_at_swap == render_report(**_kwargs())
    assert target.read_text(encoding="utf-8") == new_at_swap
    assert os.listdir(tmp_path) == ["report.html"]


def test_write_report_failure_keeps_old_report_and_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "report.html"
    target.write_text("old report", encoding="utf-8")

    def broken_replace(src, dst, *args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_report(target, **_kwargs())
    assert target.read_text(encoding="utf-8") == "old report"
    assert os.listdir(tmp_path) == ["report.html"]


def test_write_report_render_error_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "report.html"
    with pytest.raises(AttributeError):
        write_report(target, title="T", subtitle=None, sections=[object()])
    assert not target.exists()
    assert not target.parent.exists()


def test_write_report_file_permissions_follow_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        result = write_report(tmp_path / "report.html", **_kwargs())
    finally:
        os.umask(old)
    assert result.stat().st_mode & 0o777 == 0o644

"""The report's diagnosis and triage sections (:mod:`modelsteward.report.drift_sections`), parsed as HTML."""

from html.parser import HTMLParser

import pytest
from click.testing import CliRunner
from triage_stream import build_project

from modelsteward.cli import main


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("triage_report"))


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.headings, self.cells, self._tag = [], [], None

    def handle_starttag(self, tag, attrs):
        self._tag = tag

    def handle_data(self, data):
        if self._tag == "h2":
            self.headings.append(data.strip())
        elif self._tag in ("td", "th"):
            self.cells.append(data.strip())


def test_the_report_has_a_diagnosis_and_a_triage_section(project):
    tmp, _ = project
    out = tmp / "report.html"
    r = CliRunner().invoke(main, ["report", "-c", str(tmp / "steward.yaml"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    page = _Text()
    page.feed(out.read_text(encoding="utf-8"))
    assert "Diagnosis" in page.headings and "Triage of windows with alerts" in page.headings
    assert "tier=enterprise" in page.cells

"""The dashboard in a real browser: headless Chromium driven by Selenium against a real uvicorn.

Each test signs in through the form, works the pages as a person would, and checks what the
browser shows; stored XSS payloads must stay inert (``window.__xss`` never set, no dialog), and
the Content-Security-Policy must not block anything the pages need (the browser log is read).
A screenshot of every page visited is saved under ``$STEWARD_TEST_ARTIFACTS`` (default: the
test's temporary folder) as a test artefact.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .scenario import MODEL, PASSWORDS

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="browser tests need Debian's chromium and chromedriver: apt-get install -y chromium chromium-driver",
)

webdriver = pytest.importorskip("selenium.webdriver", reason="browser tests need selenium (pip install -e '.[test]')")
from selenium.common.exceptions import NoAlertPresentException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT = 30  # seconds: plotly.js is 4.8 MB, parsed by a shared 2-core machine


@pytest.fixture
def artifacts(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    base = Path(os.environ.get("STEWARD_TEST_ARTIFACTS", str(tmp_path / "artifacts")))
    folder = base / "web" / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _no_dialog(driver: Any) -> None:
    try:
        text = driver.switch_to.alert.text
    except NoAlertPresentException:
        return
    pytest.fail(f"a dialog opened: {text!r} (a stored value ran as script)")


def _inert(driver: Any) -> None:
    """No stored payload ran: no dialog, ``window.__xss`` unset, no CSP violation or script error logged."""
    _no_dialog(driver)
    assert driver.execute_script("return typeof window.__xss") == "undefined"
    problems = [e["message"] for e in driver.get_log("browser")
                if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]]
    assert problems == [], "\n".join(problems)


def _shot(driver: Any, folder: Path, name: str) -> None:
    driver.save_screenshot(str(folder / f"{name}.png"))


def _sign_in(driver: Any, base: str, name: str) -> None:
    driver.get(f"{base}/models/{MODEL}")
    WebDriverWait(driver, WAIT).until(ec.presence_of_element_located((By.ID, "login-form")))
    assert "/login" in driver.current_url  # a page without a session sends the browser to sign in
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    WebDriverWait(driver, WAIT).until(ec.text_to_be_present_in_element((By.ID, "who"), name))
    assert driver.current_url.endswith(f"/models/{MODEL}")  # back where the sign-in began


def _charts_drawn(driver: Any, expected: int) -> None:
    """Every chart div holds a drawn Plotly SVG with at least one trace."""
    def drawn(d: Any) -> bool:
        return bool(d.execute_script(
            "const c = document.querySelectorAll('div.ms-chart');"
            "return c.length === arguments[0] && Array.from(c).every(x => x.querySelector('svg.main-svg') && x.data && x.data.length);",
            expected))

    WebDriverWait(driver, WAIT).until(drawn)


def test_sign_in_and_overview_charts(live_server: str, browser: Any, artifacts: Path) -> None:
    _sign_in(browser, live_server, "vic")
    _charts_drawn(browser, 7)  # accuracy, confidence, input mix; volume, latency, errors, estimated against realised
    titles = browser.execute_script(
        "return Array.from(document.querySelectorAll('div.ms-chart')).map(d => d.layout.title.text)")
    assert titles[:3] == ["Model Accuracy Over Time", "Model Confidence Over Time", "Input Distribution (Data Drift)"]
    assert "Estimated against realised accuracy" in titles
    # The accuracy panel carries its threshold and training baseline as lines.
    shapes = browser.execute_script("return document.querySelector('div.ms-chart').layout.shapes.map(s => s.name)")
    assert any("Threshold" in s for s in shapes) and any("Training baseline" in s for s in shapes)
    assert browser.find_elements(By.CSS_SELECTOR, "#active-incidents tbody tr")
    _shot(browser, artifacts, "overview")
    _inert(browser)


def test_xss_payloads_stay_inert_on_every_page(live_server: str, browser: Any, artifacts: Path) -> None:
    _sign_in(browser, live_server, "alice")
    pages = {"overview": "", "drift": "/drift", "drift-category": "/drift/category", "alerts": "/alerts",
             "review": "/review?state=pending", "feedback": "/feedback", "plan": "/plan"}
    for name, path in pages.items():
        browser.get(f"{live_server}/models/{MODEL}{path}")
        WebDriverWait(browser, WAIT).until(lambda d: d.execute_script("return document.readyState") == "complete")
        if browser.find_elements(By.CSS_SELECTOR, "div.ms-chart"):
            _charts_drawn(browser, len(browser.find_elements(By.CSS_SELECTOR, "div.ms-chart")))
        _shot(browser, artifacts, name)
        _inert(browser)
    # The distribution chart draws the payloads as category names: shown as text.
    browser.get(f"{live_server}/models/{MODEL}/drift/category")
    _charts_drawn(browser, 3)
    ticks = browser.execute_script("return Array.from(document.querySelectorAll('#dist .xtick text')).map(t => t.textContent)")
    assert "<script>window.__xss=1;alert(1)</script>" in ticks
    assert not browser.find_elements(By.CSS_SELECTOR, "img[src='x']")
    _inert(browser)
    # Review items of those predictions show the payload as text in their input table.
    browser.get(f"{live_server}/models/{MODEL}/review/" + _item_of(browser, live_server, "w3-0001"))
    cells = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#input td")]
    assert '"><img src=x onerror="window.__xss=2;alert(2)">' in cells
    _shot(browser, artifacts, "review-item-xss")
    _inert(browser)


def _item_of(browser: Any, base: str, prediction_id: str) -> str:
    from modelsteward.review.queue import item_id_for

    return item_id_for(MODEL, prediction_id)


def test_acknowledge_incident_through_the_form(live_server: str, browser: Any, artifacts: Path) -> None:
    _sign_in(browser, live_server, "rita")
    browser.get(f"{live_server}/models/{MODEL}/alerts")
    row = browser.find_element(By.XPATH, "//table[@id='incidents']//tr[td[3][text()='accuracy_drop']]")
    row_id = row.get_attribute("id")
    row.find_element(By.CSS_SELECTOR, ".ack-form input[name=comment]").send_keys("<b>looking</b> into it")
    row.find_element(By.CSS_SELECTOR, ".ack-form button").click()
    WebDriverWait(browser, WAIT).until(ec.text_to_be_present_in_element((By.ID, "flash"), "Incident acknowledged."))
    status = browser.find_element(By.ID, row_id).find_element(By.CSS_SELECTOR, "td.status-acknowledged").text
    assert "acknowledged by rita" in status and "<b>looking</b> into it" in status  # the comment shows as text
    assert not browser.find_elements(By.CSS_SELECTOR, f"#{row_id} .ack-form")  # acknowledged once
    _shot(browser, artifacts, "alerts-acknowledged")
    _inert(browser)


def test_claim_and_decide_review_item(live_server: str, browser: Any, artifacts: Path) -> None:
    _sign_in(browser, live_server, "rita")
    browser.get(f"{live_server}/models/{MODEL}/review")
    browser.find_element(By.CSS_SELECTOR, "#claim-next button").click()
    WebDriverWait(browser, WAIT).until(ec.text_to_be_present_in_element((By.ID, "flash"), "Item claimed"))
    assert "held by rita" in browser.find_element(By.ID, "item-state").text
    reasons = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#reasons td")]
    assert reasons, "the page shows why the item was routed"
    suggestion = browser.find_element(By.CSS_SELECTOR, "#item dd:nth-of-type(3)").text.split(" ")[0]
    other = "routine" if suggestion == "urgent" else "urgent"
    browser.find_element(By.CSS_SELECTOR, "input[name=decision][value=correct]").click()
    browser.find_element(By.CSS_SELECTOR, f"#label option[value={other}]").click()
    browser.find_element(By.ID, "comment").send_keys("customer says so")
    _shot(browser, artifacts, "review-claimed")
    browser.find_element(By.CSS_SELECTOR, "#decide-form button[type=submit]").click()
    WebDriverWait(browser, WAIT).until(ec.text_to_be_present_in_element((By.ID, "flash"), "Decision recorded."))
    assert browser.find_element(By.ID, "item-state").text.startswith("decided")
    decision = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#decisions tbody td")]
    assert decision[:4] == ["rita", "correct", other, "customer says so"]  # the reviewer is the session's user
    _shot(browser, artifacts, "review-decided")
    _inert(browser)

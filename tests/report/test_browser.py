"""The report in a real browser: headless Chromium, driven by Selenium, opens the site from
disk (file://, no server) as a learner would. One browser session serves the module.

Three runs: lenet passed with five epochs of history (a null in val_accuracy), masked-lm
failed with a figure in a sub-folder, xor has one epoch of history (val_loss null). The
oracle is the browser itself: its console, its image decoder, the tooltip it shows under
the mouse and what it displays after a click.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from axon.report import build
from tests.report.records import write_record

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
NO_BROWSER = "needs Debian's chromium and chromedriver (apt install chromium chromium-driver)"

LENET = {
    "epoch": [1, 2, 3, 4, 5],
    "loss": [1.25, 0.8, 0.5, 0.4375, 0.3],
    "val_loss": [1.1, 0.9, 0.6125, 0.5, 0.45],
    "accuracy": [0.6, 0.8, 0.9, 0.95, 0.97],
    "val_accuracy": [0.55, 0.75, None, 0.93, 0.96],
}
XOR = {"epoch": [1], "loss": [0.6931], "val_loss": [None]}
TOOLTIP = re.compile(r"^(\S+), epoch (\d+): (\S+)$")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    runs = tmp_path_factory.mktemp("runs")
    write_record(
        runs / "lenet",
        drawn=("lenet_curves.png", "lenet_filters.png"),
        history={"lenet": LENET},
        splits={"train": 54000, "val": 6000, "test": 10000},
    )
    write_record(
        runs / "masked-lm",
        drawn=("plots/heads.png",),
        experiment="masked-lm",
        status="failed",
        claims=[
            {"text": "fine-tuning beats the majority class", "verdict": "failed", "note": None},
            {"text": "pretraining helps", "verdict": "not checked", "note": "needs 12 epochs"},
        ],
    )
    write_record(runs / "xor", experiment="xor", history={"xor": XOR}, seconds=0.4)
    out = tmp_path_factory.mktemp("site")
    build(runs, out)
    return out


@pytest.fixture(scope="module")
def driver():
    """One headless Chromium for the module. Without it the tests are skipped, except in
    CI, whose .ci/run installs it: there a skip would hide a missing step, so they fail."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        (pytest.fail if os.environ.get("CI") else pytest.skip)(NO_BROWSER)
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.add_argument("--window-size=1200,900")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        browser.set_page_load_timeout(20)
        browser.set_script_timeout(10)
        yield browser
    finally:
        browser.quit()


def assert_clean_console(driver) -> None:
    """No SEVERE entry in the console since the last look (a script error is one)."""
    severe = [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, f"console errors on {driver.current_url}: {severe}"


def load(driver, page: Path) -> None:
    driver.get(page.as_uri())
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    assert_clean_console(driver)


def hover(driver, point) -> tuple[str, int, float]:
    """Move the mouse onto ``point``; the tooltip's (series, epoch, value)."""
    ActionChains(driver).move_to_element(point).perform()
    tooltip = point.find_element(By.XPATH, "ancestor::div[@class='plot']/div[@class='tooltip']")
    WebDriverWait(driver, 5).until(lambda _: tooltip.is_displayed())
    match = TOOLTIP.match(tooltip.text)
    assert match, f"tooltip text {tooltip.text!r}"
    return match[1], int(match[2]), float(match[3])


def series(driver, chart: str, name: str):
    return driver.find_element(
        By.CSS_SELECTOR, f'[data-chart="{chart}"] g.series[data-series="{name}"]'
    )


def test_every_page_loads_without_console_errors_and_every_image_loads(driver, site):
    expected_images = {"index.html": 2, "lenet.html": 2, "masked-lm.html": 1, "xor.html": 0}
    assert sorted(p.name for p in site.glob("*.html")) == sorted(expected_images)
    for name, count in expected_images.items():
        load(driver, site / name)
        images = driver.execute_script(
            "return Array.from(document.images, i => [i.getAttribute('src'), i.naturalWidth])"
        )
        assert len(images) == count, (name, images)
        for src, width in images:
            assert width > 0, f"{name}: image {src} did not load"
        if name == "index.html":  # every run, in the course's order
            cards = driver.find_elements(By.CSS_SELECTOR, "article.card h2 a")
            assert [card.text for card in cards] == ["xor", "lenet", "masked-lm"]


def test_hovering_a_point_shows_its_epoch_and_value(driver, site):
    load(driver, site / "lenet.html")
    for chart, name, epoch in [("lenet/loss", "val_loss", 3), ("lenet/loss", "loss", 4)]:
        point = series(driver, chart, name).find_element(
            By.CSS_SELECTOR, f'circle.point[data-epoch="{epoch}"]'
        )
        assert hover(driver, point) == (name, epoch, LENET[name][epoch - 1])
    assert_clean_console(driver)


def test_a_null_value_is_a_gap_not_a_zero(driver, site):
    load(driver, site / "lenet.html")
    val = series(driver, "lenet/accuracy", "val_accuracy")
    epochs = [int(c.get_attribute("data-epoch")) for c in val.find_elements(By.TAG_NAME, "circle")]
    assert epochs == [1, 2, 4, 5]
    path = val.find_element(By.TAG_NAME, "path").get_attribute("d")
    assert path.count("M") == 2 and path.count("L") == 2  # 1-2, then 4-5: broken at epoch 3


def test_a_one_epoch_run_shows_one_visible_point(driver, site):
    load(driver, site / "xor.html")
    (point,) = series(driver, "xor/loss", "loss").find_elements(By.CSS_SELECTOR, "circle.point")
    assert point.is_displayed() and point.size["width"] > 0 and point.size["height"] > 0
    assert hover(driver, point) == ("loss", 1, 0.6931)
    val = series(driver, "xor/loss", "val_loss")
    assert val.find_elements(By.TAG_NAME, "circle") == []  # its only value is null
    assert val.find_element(By.TAG_NAME, "path").get_attribute("d") == ""
    assert_clean_console(driver)


def test_clicking_a_legend_entry_toggles_its_series(driver, site):
    load(driver, site / "lenet.html")
    entry = driver.find_element(
        By.CSS_SELECTOR, '[data-chart="lenet/loss"] button.legend-entry[data-series="loss"]'
    )
    line = series(driver, "lenet/loss", "loss")
    assert line.is_displayed()
    entry.click()
    assert not line.is_displayed() and entry.get_attribute("aria-pressed") == "false"
    assert series(driver, "lenet/loss", "val_loss").is_displayed()  # only that one hides
    entry.click()
    assert line.is_displayed() and entry.get_attribute("aria-pressed") == "true"
    assert_clean_console(driver)


def test_a_screenshot_of_the_index_is_kept(driver, site, tmp_path):
    from matplotlib.image import imread

    load(driver, site / "index.html")
    shot = tmp_path / "report-index.png"
    assert driver.save_screenshot(str(shot))
    pixels = imread(shot)
    assert pixels.shape[:2] == (
        driver.execute_script("return window.innerHeight"),
        driver.execute_script("return window.innerWidth"),
    )
    assert pixels.std() > 0.05  # the page drew something, not a blank
    artifacts = os.environ.get("AXON_TEST_ARTIFACTS")
    if artifacts:
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, Path(artifacts) / shot.name)

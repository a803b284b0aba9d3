"""The sweep's leaderboard.html opened in headless Chromium: it loads, shows its table and plots, logs no errors.

Drives a system Chromium through Playwright (`executable_path`): Playwright's own browser download needs
internet. Skips when either is missing; .ci/run installs Debian's chromium where it can.
"""

import os
import shutil
from pathlib import Path

import pytest

from fintune.compare import compare
from tests.test_compare import _sweep

SETTINGS = {"adapter.method=lora", "adapter.method=lora_plus"}


def _chromium() -> str | None:
    """FINTUNE_CHROMIUM, else Debian's chromium, else the first Chromium or Chrome on the PATH."""
    names = ("chromium", "chromium-browser", "google-chrome")
    candidates = [os.environ.get("FINTUNE_CHROMIUM"), "/usr/bin/chromium", *(shutil.which(n) for n in names)]
    return next((c for c in candidates if c and Path(c).is_file()), None)


def test_leaderboard_renders_in_headless_chromium(tmp_path, tiny_overrides):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
    executable = _chromium()
    if not executable:
        pytest.skip("no Chromium found (apt-get install chromium, or set FINTUNE_CHROMIUM to a Chrome/Chromium binary)")
    folder = compare(_sweep(tmp_path, tiny_overrides), say=lambda *_: None)

    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("console", lambda msg: msg.type == "error" and errors.append(f"console: {msg.text}"))
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
        page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
        page.goto((folder / "leaderboard.html").as_uri(), wait_until="load")
        # taken first so that a failing check below still leaves the picture to look at
        page.screenshot(path=str(tmp_path / "leaderboard.png"), full_page=True)

        assert page.title() == "tiny-sweep" and page.locator("h1").inner_text() == "tiny-sweep"
        leaderboard = page.locator("table").first
        first_cells = leaderboard.locator("td:first-child").all_inner_texts()
        assert sorted(first_cells) == sorted(SETTINGS | {"baseline: majority"})  # one row per setting + baseline
        assert "±" in leaderboard.inner_text()  # two seeds per setting: mean ± std
        # the whole leaderboard fits a 1440 px laptop window: no column hides behind the table's own scrollbar
        assert leaderboard.evaluate("t => t.scrollWidth <= t.clientWidth")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nor the page sideways
        images = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.alt, i.complete, i.naturalWidth])")
        assert sorted(alt for alt, _, _ in images) == sorted(png.stem for png in (folder / "plots").glob("*.png"))
        assert all(complete and width > 0 for _, complete, width in images), images
        browser.close()
    assert not errors, errors
    assert (tmp_path / "leaderboard.png").stat().st_size > 10_000

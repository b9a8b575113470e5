"""Screenshot an HTML file in headless Chromium (Debian's `chromium`; Playwright's own download is not used):
`.venv/bin/python docs/screenshot.py audit/audit.html docs/audit-report.png`."""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"


def screenshot(page_path: Path, png: Path, width: int = 1100) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(page_path.resolve().as_uri())
            page.screenshot(path=str(png), full_page=True)
        finally:
            browser.close()


if __name__ == "__main__":
    screenshot(Path(sys.argv[1]), Path(sys.argv[2]))

"""Debian's chromium under Playwright, for the browser journeys (no browser is downloaded)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, FrameLocator, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
DOCS_IMG = Path(__file__).resolve().parents[2] / "docs" / "img"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    opened = context.new_page()
    opened.set_default_timeout(20_000)
    yield opened
    context.close()


class Screenshot:
    """Full-page pictures for the README, kept small: 256 colours are plenty for text on flat colour.

    Max-coverage quantization keeps every colour within a few levels of the original; Pillow's
    default (median cut) turned the brand blue of the buttons teal.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __call__(self, page: Page, name: str) -> Path:
        target = self.directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        picture = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
        small = _without_empty_bottom(picture).quantize(256, Image.Quantize.MAXCOVERAGE)
        small.save(target, optimize=True)
        return target


def _without_empty_bottom(picture: Image.Image, margin: int = 24) -> Image.Image:
    """The picture cut ``margin`` pixels below its last content (the page's bottom padding goes)."""
    background = Image.new("RGB", picture.size, picture.getpixel((0, picture.height - 1)))
    content = ImageChops.difference(picture, background).getbbox()
    bottom = min(picture.height, content[3] + margin) if content else picture.height
    return picture.crop((0, 0, picture.width, bottom))


@pytest.fixture
def screenshot(tmp_path: Path) -> Screenshot:
    """UPDATE_SCREENSHOTS=1 writes into docs/img; otherwise into tmp_path, so the test still runs."""
    return Screenshot(DOCS_IMG if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path)


def choose_physician(page: Page | FrameLocator, role_reference: str | None = None) -> None:
    """Pick a physician card of the composer's directory (the first one that may be chosen if None)."""
    wanted = f"[value='{role_reference}']" if role_reference else ":not([disabled])"
    page.locator(f"input[type=radio][name=physician]{wanted}").first.check()

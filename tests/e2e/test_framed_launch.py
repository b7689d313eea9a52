"""A cross-site frame in chromium: an EHR page on ``localhost`` frames the app on ``127.0.0.1``.

localhost and 127.0.0.1 are different sites, so the app's cookie reaches the
callback and later form posts inside the frame only as ``SameSite=None; Secure``
(``SMART_APP_FRAMED``; loopback http is a secure context). CSP ``frame-ancestors``
lets the registered EHR origin frame the app and refuses any other.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Frame, FrameLocator, Page, expect
from werkzeug.serving import make_server

from smart_app import create_app
from smart_app.config import Settings
from smart_app.crypto import new_key_line
from tests.sandbox_server import Sandbox, free_port, start_sandbox, write_registration

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Setting:
    """The framed app, its sandbox, and two EHR pages: one registered origin, one not."""

    app_url: str
    sandbox: Sandbox
    ehr_page: str  # http://localhost:<registered port>/
    stranger_page: str  # http://localhost:<unregistered port>/


def _page_server(html: str) -> tuple[ThreadingHTTPServer, str]:
    body = html.encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://localhost:{server.server_address[1]}/"


def _ehr_html(sandbox: Sandbox) -> str:
    return f"""<!doctype html><title>EHR chart</title>
<form method="post" action="{sandbox.ehr_url}ehr/launch" target="app">
  <input type="hidden" name="practitioner" value="atp-1"><input type="hidden" name="patient" value="wc-1">
  <input type="hidden" name="banner" value="0">
  <button>Open Second Opinion in the chart</button>
</form>
<iframe name="app" title="Second Opinion" width="1000" height="800"></iframe>"""


@pytest.fixture(scope="module")
def framed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    root = tmp_path_factory.mktemp("framed")
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with start_sandbox(data_dir=root / "sandbox", app_base_url=app_url) as sandbox:
        ehr_server, ehr_page = _page_server(_ehr_html(sandbox))
        stranger_server, stranger_page = _page_server(
            f'<!doctype html><title>Elsewhere</title><iframe name="app" src="{app_url}/"></iframe>')
        folder = write_registration(root / "registrations", sandbox)
        with (folder / "sandbox.toml").open("a") as toml:
            toml.write(f'frame_ancestors = ["{ehr_page.rstrip("/")}"]\n')
        settings = Settings(public_url=app_url, database_url=f"sqlite:///{Path(root) / 'app.sqlite3'}",
                            registrations=folder, data_keys=new_key_line("framed"), framed=True)
        server = make_server("127.0.0.1", app_port, create_app(settings), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield Setting(app_url, sandbox, ehr_page, stranger_page)
        finally:
            for running in (server, ehr_server, stranger_server):
                running.shutdown()
                running.server_close()


def test_a_launch_completes_inside_a_cross_site_frame(page: Page, framed: Setting) -> None:
    page.goto(framed.ehr_page)
    page.get_by_role("button", name="Open Second Opinion in the chart").click()
    app: FrameLocator = page.frame_locator("iframe[name=app]")
    expect(app.get_by_role("heading", name="New second-opinion referral")).to_be_visible()
    expect(app.locator(".patient-line")).to_contain_text("Dana Whitfield")  # the EHR shows its banner
    app.get_by_label("Question 1", exact=True).fill("Is the working diagnosis correct?")
    app.get_by_role("button", name="Add question").click()  # a cross-site POST inside the frame
    expect(app.get_by_label("Question 2", exact=True)).to_be_visible()
    expect(app.get_by_label("Question 1", exact=True)).to_have_value("Is the working diagnosis correct?")
    cookies = page.context.cookies(framed.app_url)
    assert cookies and all(c["sameSite"] == "None" and c["secure"] for c in cookies)


def test_an_unregistered_origin_cannot_frame_the_app(page: Page, framed: Setting) -> None:
    with page.expect_console_message(lambda message: "frame-ancestors" in message.text):
        page.goto(framed.stranger_page)
    children = [frame for frame in page.frames if frame != page.main_frame]
    assert children
    assert all("Second Opinion" not in _text(frame) for frame in children)


def _text(frame: Frame) -> str:
    try:
        return frame.content()
    except PlaywrightError:  # a refused frame may not be readable at all
        return ""


@pytest.fixture(scope="module")
def framed_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setting]:
    """What ``SMART_APP_FRAMED=true make run`` starts: the sandbox's own front page frames the app."""
    root = tmp_path_factory.mktemp("framed-run")
    app_port = free_port()
    app_url = f"http://127.0.0.1:{app_port}"
    with start_sandbox(data_dir=root / "sandbox", app_base_url=app_url,
                       extra_env={"SANDBOX_APP_FRAMED": "true"}) as sandbox:
        settings = Settings(public_url=app_url, database_url=f"sqlite:///{Path(root) / 'app.sqlite3'}",
                            registrations=write_registration(root / "registrations", sandbox),
                            data_keys=new_key_line("framed"), framed=True)
        server = make_server("127.0.0.1", app_port, create_app(settings), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield Setting(app_url, sandbox, sandbox.ehr_url, "")
        finally:
            server.shutdown()
            server.server_close()


def test_the_sandbox_front_page_opens_the_app_in_its_frame(page: Page, framed_sandbox: Setting) -> None:
    page.goto(framed_sandbox.ehr_page)
    page.get_by_label("Patient").select_option("wc-2")
    page.get_by_role("button", name="Launch Second Opinion").click()
    app = page.frame_locator("iframe[name=app]")
    expect(app.get_by_role("heading", name="New second-opinion referral")).to_be_visible()
    expect(app.locator(".patient-line")).to_contain_text("Marcus Oyelaran")  # the EHR shows the banner
    assert page.url == framed_sandbox.ehr_page  # the EHR's page stays; the app lives in the frame
    app.get_by_role("button", name="Add question").click()
    expect(app.get_by_label("Question 2", exact=True)).to_be_visible()
    cookies = page.context.cookies(framed_sandbox.app_url)
    assert cookies and all(c["sameSite"] == "None" and c["secure"] for c in cookies)

"""Reading the app's pages the way a browser would, for tests that speak plain HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from html.parser import HTMLParser
from http.cookiejar import Cookie, DefaultCookiePolicy
from urllib.parse import urlsplit
from urllib.request import Request

import requests

from tests.sandbox_server import Sandbox


@dataclass
class Option:
    value: str
    label: str
    disabled: bool
    selected: bool


@dataclass
class FormFields:
    """Inputs, textareas and selects of a page, by name (in document order)."""

    hidden: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, list[str]] = field(default_factory=dict)
    checked: dict[str, list[str]] = field(default_factory=dict)
    textareas: dict[str, list[str]] = field(default_factory=dict)
    selects: dict[str, list[Option]] = field(default_factory=dict)  # and radio groups, as options


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields = FormFields()
        self._textarea: str | None = None
        self._select: str | None = None
        self._option: Option | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        name = a.get("name", "")
        if tag == "input" and a.get("type") == "hidden":
            self.fields.hidden[name] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio":  # a radio group reads as a select
            option = Option(a.get("value", ""), "", "disabled" in a, "checked" in a)
            self.fields.selects.setdefault(name, []).append(option)
        elif tag == "input" and a.get("type") == "checkbox":
            self.fields.checkboxes.setdefault(name, []).append(a.get("value", ""))
            if "checked" in a:
                self.fields.checked.setdefault(name, []).append(a.get("value", ""))
        elif tag == "textarea":
            self._textarea = name
            self.fields.textareas.setdefault(name, []).append("")
        elif tag == "select":
            self._select = name
            self.fields.selects[name] = []
        elif tag == "option" and self._select is not None:
            self._option = Option(a.get("value", ""), "", "disabled" in a, "selected" in a)
            self.fields.selects[self._select].append(self._option)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None
        elif tag == "option":
            if self._option is not None:
                self._option.label = " ".join(self._option.label.split())
            self._option = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields.textareas[self._textarea][-1] += data
        elif self._option is not None:
            self._option.label += data


def form_fields(html: str) -> FormFields:
    """Parse the form controls of a page."""
    parser = _Parser()
    parser.feed(html)
    return parser.fields


class LoopbackIsSecure(DefaultCookiePolicy):
    """Send Secure cookies to 127.0.0.1 over http, as browsers do for loopback (a secure context)."""

    def return_ok_secure(self, cookie: Cookie, request: Request) -> bool:
        loopback = urlsplit(request.get_full_url()).hostname == "127.0.0.1"
        return loopback or bool(super().return_ok_secure(cookie, request))


class BrowserSession(requests.Session):
    """Keeps cookies the way a browser on this machine would (requests rebuilds jars per request)."""

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        prepared = super().prepare_request(request)
        jar = prepared._cookies  # type: ignore[attr-defined]  # reused across redirects
        jar.set_policy(LoopbackIsSecure())
        prepared.headers.pop("Cookie", None)
        prepared.prepare_cookies(jar)
        return prepared


def browser_session() -> requests.Session:
    """A session that sends Secure cookies to 127.0.0.1, as browsers do."""
    session = BrowserSession()
    session.cookies.set_policy(LoopbackIsSecure())
    return session


def fhir_calls_during_launch(
    sandbox: Sandbox, http: requests.Session, patient: str
) -> tuple[requests.Response, list[str]]:
    """Launch on ``patient`` and list the methods of the app's FHIR REST calls to the EHR.

    ``http`` is the app's pooled client for the EHR; SMART discovery (.well-known) is left
    out, since it is cached across launches.
    """
    calls: list[str] = []

    def count(response: requests.Response, *args: object, **kwargs: object) -> None:
        if response.url.startswith(sandbox.fhir_base) and "/.well-known/" not in response.url:
            calls.append(response.request.method or "")

    http.hooks["response"].append(count)
    try:
        _, page = launch_from_ehr(sandbox, patient=patient)
    finally:
        http.hooks["response"].remove(count)
    return page, calls


def launch_from_ehr(
    sandbox: Sandbox, patient: str = "wc-1", practitioner: str = "atp-1",
    browser: requests.Session | None = None, **options: str,
) -> tuple[requests.Session, requests.Response]:
    """Click "Launch Second Opinion" in the sandbox EHR and follow every redirect to the app.

    ``options`` are the sandbox's launch test options: token_ttl, refresh_ttl, withhold.
    """
    browser = browser or browser_session()
    response = browser.post(
        f"{sandbox.ehr_url}ehr/launch",
        data={"practitioner": practitioner, "patient": patient, **options},
        timeout=30,
    )
    return browser, response


def referral_form(page: str, **overrides: object) -> dict[str, object]:
    """A complete, valid submission of the compose page, with fields replaced by ``overrides``."""
    fields = form_fields(page)
    physicians = [o.value for o in fields.selects["physician"] if o.value and not o.disabled]
    data: dict[str, object] = {
        **fields.hidden,
        "reason": fields.checkboxes.get("reason", [])[:1],
        "question": ["Is the diagnosis of lumbar strain correct?", "Is the patient at MMI?"],
        "modality": "telehealth",
        "window_start": (date.today() + timedelta(days=1)).isoformat(),
        "window_end": (date.today() + timedelta(days=30)).isoformat(),
        "physician": physicians[0],
    }
    data.update(overrides)
    return data


def launch_key(url: str) -> str:
    """The launch key of an app page URL (``…/l/<key>/compose``)."""
    return url.split("/l/", 1)[1].split("/", 1)[0]

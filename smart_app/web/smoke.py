"""``flask --app smart_app smoke NAME``: one standalone launch against one registration, by hand.

It prints the authorization URL to open, listens once on the redirect URI's
loopback port for the callback (so the app itself need not run), exchanges the
code, reads the chart the way the compose page does and prints a PHI-free
report: granted scopes, capabilities and counts, never names or ids
(app-launch.html#launch-app-standalone-launch).
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlsplit

import click

from smart_app.capabilities import CAPABILITIES, granted_capabilities
from smart_app.chart.fhir_client import FhirClient
from smart_app.chart.reader import SKIPPABLE, Chart, load_chart
from smart_app.commands import with_app
from smart_app.config import Registration
from smart_app.errors import SmartAppError
from smart_app.launches import PendingLaunch, tokens_equal
from smart_app.services import services, utcnow
from smart_app.smart.authorize import authorization_request
from smart_app.smart.errors import SmartError
from smart_app.smart.token import exchange_code
from smart_app.web.clients import client_credentials, endpoints
from smart_app.web.launch import check_granted, requested_scope, verified_practitioner

LOOPBACK = ("127.0.0.1", "localhost", "::1")
DONE_PAGE = b"Second Opinion smoke check: the sign-in answer arrived. You can close this tab.\n"


@click.command("smoke")
@click.argument("name")
@click.option("--wait", default=300, show_default=True, help="Seconds to wait for the sign-in.")
@with_app
def smoke_command(name: str, wait: int) -> None:
    """Launch against registration NAME (its file's stem) and print a PHI-free report."""
    registration = _registration(name)
    if registration.open_server:
        raise click.UsageError(f"{name} is an open server: there is no sign-in to check; "
                               "open it from the home page and enter a patient id")
    redirect = urlsplit(services().settings.redirect_uri)
    if redirect.scheme != "http" or redirect.hostname not in LOOPBACK or redirect.port is None:
        raise click.UsageError("smoke listens on the redirect URI itself: set SMART_APP_PUBLIC_URL "
                               "to http://127.0.0.1:<port> and register that redirect URI with the EHR")
    try:
        _run(registration, redirect.hostname or "127.0.0.1", redirect.port, redirect.path, wait)
    except (SmartAppError, SmartError) as error:
        raise click.ClickException(f"{type(error).__name__}: {error.message}") from error


def _registration(name: str) -> Registration:
    found = {r.key: r for r in services().registrations.values()}
    if name not in found:
        known = ", ".join(sorted(found)) or "none"
        raise click.UsageError(f"no registration {name!r} is loaded (loaded: {known})")
    return found[name]


def _run(registration: Registration, host: str, port: int, path: str, wait: int) -> None:
    svc = services()
    config = endpoints(registration)
    auth = authorization_request(
        config, client_id=registration.client_id, redirect_uri=svc.settings.redirect_uri,
        scope=requested_scope(registration, config, standalone=True), aud=registration.iss, launch=None,
    )
    with _OneCallback(host, port, path) as listener:
        click.echo(f"Open this URL in a browser and sign in:\n{auth.url}", err=False)
        answer = listener.wait(wait)
    if answer.get("error"):
        raise click.ClickException(f"the EHR answered error={answer['error'][:60]}")
    if not tokens_equal(auth.state, answer.get("state", "")) or not answer.get("code"):
        raise click.ClickException("the callback did not carry this launch's state and a code")
    token = exchange_code(svc.http, config.token_endpoint, client_credentials(registration),
                          code=answer["code"], redirect_uri=svc.settings.redirect_uri,
                          code_verifier=auth.code_verifier, now=utcnow())
    token = check_granted(token, registration)
    pending = PendingLaunch("smoke", registration.key, registration.iss, auth.code_verifier, auth.nonce)
    fhir_user = verified_practitioner(token, config, registration, pending)
    granted = granted_capabilities(token.scope)
    client = FhirClient(svc.http.for_url(registration.iss), registration.iss, token.access_token,
                        svc.http.timeout)
    chart = load_chart(client, token.patient or "", fhir_user, svc.settings.namespace,
                       skip=SKIPPABLE - granted)
    for line in report(registration, token.scope, granted, chart):
        click.echo(line)


def report(registration: Registration, scope: str, granted: frozenset[str], chart: Chart) -> list[str]:
    """The PHI-free lines: what was granted and how much was read (no names, ids or dates)."""
    missing = [c.name for c in CAPABILITIES if c.name not in granted]
    return [
        f"registration: {registration.key} ({registration.name})",
        f"granted scopes: {scope}",
        f"capabilities: {', '.join(sorted(granted))}",
        f"missing capabilities: {', '.join(missing) or 'none'}",
        "patient: read",
        f"active conditions: {len(chart.conditions) if 'conditions' in granted else 'not granted'}",
        f"workers' comp coverage: {_coverage(chart, granted)}",
        f"requester: {chart.requester.reference.split('/', 1)[0]}",
        f"directory: {len(chart.physicians)} physicians, {len(chart.clinics)} clinics",
        "result: OK",
    ]


def _coverage(chart: Chart, granted: frozenset[str]) -> str:
    if "coverage" not in granted:
        return "not granted"
    return "found" if chart.coverage else "none"


class _OneCallback:
    """A loopback HTTP listener that takes one request on the redirect path and stops."""

    def __init__(self, host: str, port: int, path: str) -> None:
        self._answer: dict[str, str] = {}
        self._arrived = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                parts = urlsplit(self.path)
                if parts.path != path:
                    self.send_error(404)
                    return
                outer._answer = {k: v[0] for k, v in parse_qs(parts.query).items()}
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.end_headers()
                self.wfile.write(DONE_PAGE)
                outer._arrived.set()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (no codes in logs)
                return

        self._server = HTTPServer((host, port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> _OneCallback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def wait(self, seconds: int) -> dict[str, str]:
        """The callback's query parameters, or ClickException after ``seconds``."""
        if not self._arrived.wait(seconds):
            raise click.ClickException(f"no sign-in answer arrived within {seconds} s")
        return self._answer

"""The WSGI server's own pieces: a gthread worker whose error pages carry the app's security headers.

gunicorn answers a request it cannot parse (400, 414, 431, ...) before the app
sees it; its stock page echoes the request line and has no security headers.
This worker answers with a fixed page, the same strict headers as the app
(https://owasp.org/www-project-secure-headers/), and logs the kind of error
only, never the request line (which may carry a launch code or a patient id).
"""

from __future__ import annotations

import logging
import socket
from ssl import SSLError
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]
from gunicorn.http import errors  # type: ignore[import-untyped]
from gunicorn.workers.gthread import ThreadWorker  # type: ignore[import-untyped]

logger = logging.getLogger(__name__)

SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cache-Control", "no-store"),
)
STATUSES: tuple[tuple[type[BaseException], int, str], ...] = (
    (errors.InvalidResponseHeader, 500, "Internal Server Error"),
    (errors.InvalidResponseHeaderName, 500, "Internal Server Error"),
    (errors.ConfigurationProblem, 500, "Internal Server Error"),
    (errors.LimitRequestLine, 414, "URI Too Long"),
    (errors.LimitRequestHeaders, 431, "Request Header Fields Too Large"),
    (errors.UnsupportedTransferCoding, 501, "Not Implemented"),
    (errors.ExpectationFailed, 417, "Expectation Failed"),
    (errors.ForbiddenProxyRequest, 403, "Forbidden"),
    (SSLError, 403, "Forbidden"),
    (errors.ParseException, 400, "Bad Request"),
)


def status_of(exc: BaseException) -> tuple[int, str]:
    """The status gunicorn would send for this error (its own mapping, without the echo)."""
    return next(((s, r) for kind, s, r in STATUSES if isinstance(exc, kind)), (500, "Internal Server Error"))


def error_page(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 answer: fixed HTML, strict headers, connection closed."""
    body = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{reason}</title></head>'
        f"<body><h1>{reason}</h1><p>Second Opinion could not read this request.</p></body></html>"
    ).encode()
    head = [f"HTTP/1.1 {status} {reason}", "Connection: close", "Content-Type: text/html; charset=utf-8",
            f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in SECURITY_HEADERS)]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


class SecureThreadWorker(ThreadWorker):  # type: ignore[misc]
    """gunicorn's gthread worker with the error pages above."""

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        """Answer an unparseable request (or a crash outside the app) without echoing it."""
        status, reason = status_of(exc)
        if status >= 500:
            logger.error("server.error status=%s error=%s", status, type(exc).__name__)
        else:
            logger.warning("request.malformed status=%s error=%s", status, type(exc).__name__)
        try:
            util.write_nonblock(client, error_page(status, reason))
        except OSError:
            logger.debug("request.malformed unanswered")
